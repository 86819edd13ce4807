/*
 * fuzz.h - what the fuzz targets share: the libFuzzer entry points and a
 * check that reports a broken invariant as a crash (so libFuzzer keeps
 * the input), with the reason on stderr.
 *
 * Every target is also built without libFuzzer, linked with replay.c,
 * so that `ctest` runs each committed corpus (seeds and the inputs that
 * found bugs) in every build, the sanitizer builds included.
 */
#ifndef LB_FUZZ_H
#define LB_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FUZZ_CHECK(cond, ...)                                                \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fprintf(stderr, "%s:%d: invariant broken: %s: ", __FILE__,       \
                    __LINE__, #cond);                                        \
            fprintf(stderr, __VA_ARGS__);                                    \
            fputc('\n', stderr);                                             \
            abort();                                                         \
        }                                                                    \
    } while (0)

/* Whether s is strict UTF-8 (RFC 3629), for the targets whose output goes
 * into JSON.  Written again here on purpose, not core/utf8.c: the oracle
 * must not share the code it checks. */
static inline bool fuzz_utf8_ok(const char *s)
{
    const unsigned char *u = (const unsigned char *)s;
    while (*u) {
        unsigned c = *u, k;
        uint32_t cp, min;
        if (c < 0x80) {
            u++;
            continue;
        }
        if ((c & 0xE0) == 0xC0) { k = 1; cp = c & 0x1F; min = 0x80; }
        else if ((c & 0xF0) == 0xE0) { k = 2; cp = c & 0x0F; min = 0x800; }
        else if ((c & 0xF8) == 0xF0) { k = 3; cp = c & 0x07; min = 0x10000; }
        else return false;
        for (unsigned j = 1; j <= k; j++) {
            if ((u[j] & 0xC0) != 0x80)
                return false;
            cp = cp << 6 | (u[j] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        u += k + 1;
    }
    return true;
}

/* The source tree (CMake passes it), for targets that load the demo
 * station. */
#ifndef LB_SOURCE_DIR
#define LB_SOURCE_DIR "."
#endif

#endif
