/*
 * fuzz_acklink.c - acknowledge link tokens (auth/acklink.h), arbitrary
 * bytes, against one fixed key.
 *
 * The input is taken three ways.  As a token: acklink_verify never reads
 * out of bounds and, when it accepts (OK or EXPIRED), gives an alarm id
 * and a recipient that are NUL-terminated, non-empty and within their
 * limits.  As a claim (the first byte splits the rest into alarm id and
 * recipient): a token acklink_make writes for it verifies OK with the
 * same fields.  And that token with one byte changed (position and new
 * byte from the input) is refused, unless the change left it the same
 * string: nobody can alter a link and keep it valid.
 */
#include "fuzz/fuzz.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth/acklink.h"

static acklink *key;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    char dir[] = "/tmp/lb-fuzz-acklink-XXXXXX";
    char err[256];
    if (!mkdtemp(dir) ||
        !(key = acklink_open(dir, false, NULL, NULL, err, sizeof err))) {
        fprintf(stderr, "fuzz_acklink: %s\n", err);
        abort();
    }
    /* the key is in memory now: leave nothing behind in /tmp */
    char path[sizeof dir + 16];
    snprintf(path, sizeof path, "%s/acklink.key", dir);
    unlink(path);
    rmdir(dir);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!key)
        LLVMFuzzerInitialize(NULL, NULL);
    /* as a token */
    char tok[ACKLINK_TOKEN_MAX + 8];
    size_t n = size < sizeof tok - 1 ? size : sizeof tok - 1;
    memcpy(tok, data, n);
    tok[n] = '\0';
    acklink_claim c;
    acklink_check r = acklink_verify(key, tok, 0, &c);
    if (r != ACKLINK_BAD) {
        size_t na = strnlen(c.alarm, sizeof c.alarm);
        size_t nt = strnlen(c.to, sizeof c.to);
        FUZZ_CHECK(na > 0 && na < sizeof c.alarm && nt > 0 &&
                   nt < sizeof c.to, "accepted a claim with bad fields");
    }
    /* as a claim */
    if (size < 3)
        return 0;
    size_t split = 1 + data[0] % (size - 1);
    acklink_claim m = {.expires_s = 1000, .notification = size};
    size_t na = split - 1 < ACKLINK_ID_MAX - 1 ? split - 1 : ACKLINK_ID_MAX - 1;
    size_t nt = size - split < ACKLINK_TO_MAX - 1 ? size - split
                                                  : ACKLINK_TO_MAX - 1;
    memcpy(m.alarm, data + 1, na);
    memcpy(m.to, data + split, nt);
    char made[ACKLINK_TOKEN_MAX];
    if (acklink_make(key, &m, made, sizeof made) < 0) {
        /* refused: an empty field, or a NUL in one */
        FUZZ_CHECK(!m.alarm[0] || !m.to[0] || strlen(m.alarm) != na ||
                   strlen(m.to) != nt || na == 0 || nt == 0,
                   "refused a good claim");
        return 0;
    }
    acklink_claim back;
    FUZZ_CHECK(acklink_verify(key, made, 999, &back) == ACKLINK_OK,
               "its own token refused");
    FUZZ_CHECK(strcmp(back.alarm, m.alarm) == 0 &&
                   strcmp(back.to, m.to) == 0 && back.expires_s == 1000 &&
                   back.notification == size &&
                   memcmp(back.nonce, m.nonce, ACKLINK_NONCE) == 0,
               "the round trip changed the claim");
    FUZZ_CHECK(acklink_verify(key, made, 1001, &back) == ACKLINK_EXPIRED,
               "not expired after its expiry");
    /* one byte changed */
    size_t len = strlen(made);
    size_t at = (size_t)data[size - 1] * 7 % len;
    char was = made[at];
    made[at] = (char)(data[size / 2] | 1);
    if (made[at] != was)
        FUZZ_CHECK(acklink_verify(key, made, 999, &back) == ACKLINK_BAD,
                   "a changed token accepted: byte %zu", at);
    return 0;
}
