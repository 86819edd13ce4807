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

/* The source tree (CMake passes it), for targets that load the demo
 * station. */
#ifndef LB_SOURCE_DIR
#define LB_SOURCE_DIR "."
#endif

#endif
