/*
 * lp_encode.c - lb-lp-encode: lineproto.c as a filter, for tests that check
 * the encoder against real databases (tests/integration/).
 *
 * Each input line describes one point as space-separated tokens; every
 * name and string is hex-encoded so that any byte can be described:
 *
 *   PREC TS MEAS_HEX [t:KEY_HEX:VAL_HEX]... FIELD...
 *   FIELD = f:KEY_HEX:BITS   (the double's 64 bits, 16 hex digits)
 *         | i:KEY_HEX:DEC | u:KEY_HEX:DEC | b:KEY_HEX:0|1
 *         | s:KEY_HEX:VAL_HEX
 *
 * PREC is ns, us, ms or s; TS is in ns.  For each point one output line:
 * the encoded line, or "ERR" when the encoder refuses the point.  Exit
 * status 2 on malformed input.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "record/lineproto.h"

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Decodes n hex digits at s into a new string; NULL if malformed. */
static char *unhex(const char *s, size_t n)
{
    if (n % 2)
        return NULL;
    char *out = malloc(n / 2 + 1);
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i += 2) {
        int hi = hexval(s[i]), lo = hexval(s[i + 1]);
        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
            free(out);
            return NULL;
        }
        out[i / 2] = (char)(hi * 16 + lo);
    }
    out[n / 2] = '\0';
    return out;
}

/* Encodes one described point; 1 encoded, 0 refused, -1 bad input. */
static int encode(lp_buf *b, char *line)
{
    char *save = NULL;
    char *prec = strtok_r(line, " ", &save);
    char *tss = strtok_r(NULL, " ", &save);
    char *meas = strtok_r(NULL, " ", &save);
    if (!prec || !tss || !meas)
        return -1;
    lp_precision p;
    if (!strcmp(prec, "ns")) p = LP_NS;
    else if (!strcmp(prec, "us")) p = LP_US;
    else if (!strcmp(prec, "ms")) p = LP_MS;
    else if (!strcmp(prec, "s")) p = LP_S;
    else return -1;
    char *end;
    errno = 0;
    long long ts = strtoll(tss, &end, 10);
    if (errno || *end)
        return -1;
    char *m = unhex(meas, strlen(meas));
    if (!m)
        return -1;
    int rc = lp_begin(b, m) < 0 ? 0 : 1;
    free(m);
    char *tok;
    while ((tok = strtok_r(NULL, " ", &save)) != NULL) {
        char *c1 = strchr(tok, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c1 || !c2 || c1 != tok + 1)
            return -1;
        char *key = unhex(c1 + 1, (size_t)(c2 - c1 - 1));
        if (!key)
            return -1;
        const char *arg = c2 + 1;
        int bad = 0, r = 0;
        errno = 0;
        switch (tok[0]) {
        case 't':
        case 's': {
            char *val = unhex(arg, strlen(arg));
            if (!val) {
                bad = 1;
                break;
            }
            r = tok[0] == 't' ? lp_tag(b, key, val)
                              : lp_field_string(b, key, val);
            free(val);
            break;
        }
        case 'f': {
            unsigned long long bits = strtoull(arg, &end, 16);
            if (errno || *end || strlen(arg) != 16) {
                bad = 1;
                break;
            }
            double d;
            memcpy(&d, &bits, sizeof d);
            r = lp_field_float(b, key, d);
            break;
        }
        case 'i': {
            long long v = strtoll(arg, &end, 10);
            bad = errno || *end;
            if (!bad)
                r = lp_field_int(b, key, v);
            break;
        }
        case 'u': {
            unsigned long long v = strtoull(arg, &end, 10);
            bad = errno || *end || arg[0] == '-';
            if (!bad)
                r = lp_field_uint(b, key, v);
            break;
        }
        case 'b':
            bad = strcmp(arg, "0") && strcmp(arg, "1");
            if (!bad)
                r = lp_field_bool(b, key, arg[0] == '1');
            break;
        default:
            bad = 1;
        }
        free(key);
        if (bad)
            return -1;
        if (rc && r < 0)
            rc = 0;
    }
    if (rc && lp_end(b, ts, p) < 0)
        rc = 0;
    if (!rc)
        lp_abort(b);
    return rc;
}

int main(void)
{
    lp_buf b;
    lp_buf_init(&b);
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int status = 0;
    while ((n = getline(&line, &cap, stdin)) >= 0) {
        if (n > 0 && line[n - 1] == '\n')
            line[--n] = '\0';
        if (n == 0)
            continue;
        lp_buf_reset(&b);
        int rc = encode(&b, line);
        if (rc < 0) {
            fprintf(stderr, "lb-lp-encode: malformed input line\n");
            status = 2;
            break;
        }
        if (rc == 0)
            fputs("ERR\n", stdout);
        else
            fwrite(b.data, 1, b.len, stdout);
    }
    free(line);
    lp_buf_free(&b);
    return status;
}
