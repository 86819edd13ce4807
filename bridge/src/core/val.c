/*
 * val.c - polled values: quality names, comparison and text/JSON output.
 *
 * JSON output is what browsers and `lockbridge read --json` see, so numbers
 * must survive a round trip exactly: integers are printed as integers (all
 * 64 bits), doubles with the fewest significant digits (15, 16 or 17) that
 * parse back to the same double.  NaN and infinities never reach here
 * (decode rejects them) but would become null rather than invalid JSON.
 */
#include "core/val.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *val_quality_name(val_quality q)
{
    switch (q) {
    case Q_INIT: return "init";
    case Q_GOOD: return "good";
    case Q_STALE: return "stale";
    case Q_COMM: return "comm-failure";
    case Q_DEVICE: return "device-error";
    case Q_DECODE: return "decode-error";
    }
    return "unknown";
}

bool val_as_double(const val *v, double *out)
{
    switch (v->kind) {
    case VAL_BOOL: *out = v->b ? 1.0 : 0.0; return true;
    case VAL_INT: *out = (double)v->i; return true;
    case VAL_UINT: *out = (double)v->u; return true;
    case VAL_REAL: *out = v->d; return true;
    case VAL_NONE:
    case VAL_STR:
        break;
    }
    return false;
}

bool val_equal(const val *a, const val *b)
{
    if (a->kind != b->kind)
        return false;
    switch (a->kind) {
    case VAL_NONE: return true;
    case VAL_BOOL: return a->b == b->b;
    case VAL_INT: return a->i == b->i;
    case VAL_UINT: return a->u == b->u;
    case VAL_REAL: return a->d == b->d;
    case VAL_STR: return strcmp(a->s, b->s) == 0;
    }
    return false;
}

/* Shortest of %.15g/%.16g/%.17g that reads back as the same double; 17
 * significant digits always do (IEEE 754 binary64), fewer usually do and
 * read better ("0.1", not "0.10000000000000001"). */
static int fmt_double(double d, char *tmp, size_t len)
{
    int n = 0;
    for (int prec = 15; prec <= 17; prec++) {
        n = snprintf(tmp, len, "%.*g", prec, d);
        if (strtod(tmp, NULL) == d)
            break;
    }
    return n;
}

/* Appends one byte if it fits, always counting it, so that the caller gets
 * the snprintf-style needed length. */
static void put(char *buf, size_t len, size_t *pos, char c)
{
    if (*pos + 1 < len)
        buf[*pos] = c;
    (*pos)++;
}

static void put_str(char *buf, size_t len, size_t *pos, const char *s)
{
    while (*s)
        put(buf, len, pos, *s++);
}

static void terminate(char *buf, size_t len, size_t pos)
{
    if (len > 0)
        buf[pos < len ? pos : len - 1] = '\0';
}

/* Number or bool text shared by JSON and plain text; returns false for
 * kinds that the callers format themselves. */
static bool fmt_scalar(const val *v, char *tmp, size_t len)
{
    switch (v->kind) {
    case VAL_BOOL:
        snprintf(tmp, len, "%s", v->b ? "true" : "false");
        return true;
    case VAL_INT:
        snprintf(tmp, len, "%" PRId64, v->i);
        return true;
    case VAL_UINT:
        snprintf(tmp, len, "%" PRIu64, v->u);
        return true;
    case VAL_REAL:
        if (!isfinite(v->d))
            return false;
        fmt_double(v->d, tmp, len);
        return true;
    case VAL_NONE:
    case VAL_STR:
        break;
    }
    return false;
}

int val_to_json(const val *v, char *buf, size_t len)
{
    char tmp[64];
    size_t pos = 0;

    if (v->kind == VAL_STR) {
        put(buf, len, &pos, '"');
        for (const unsigned char *p = (const unsigned char *)v->s; *p; p++) {
            /* RFC 8259 section 7: quote, backslash and U+0000..U+001F
             * must be escaped; everything else (UTF-8) passes through. */
            if (*p == '"' || *p == '\\') {
                put(buf, len, &pos, '\\');
                put(buf, len, &pos, (char)*p);
            } else if (*p < 0x20) {
                char esc[8];
                snprintf(esc, sizeof esc, "\\u%04x", *p);
                put_str(buf, len, &pos, esc);
            } else {
                put(buf, len, &pos, (char)*p);
            }
        }
        put(buf, len, &pos, '"');
    } else if (fmt_scalar(v, tmp, sizeof tmp)) {
        put_str(buf, len, &pos, tmp);
    } else {
        put_str(buf, len, &pos, "null");
    }
    terminate(buf, len, pos);
    return (int)pos;
}

int val_to_text(const val *v, char *buf, size_t len)
{
    char tmp[64];
    size_t pos = 0;

    if (v->kind == VAL_STR)
        put_str(buf, len, &pos, v->s);
    else if (fmt_scalar(v, tmp, sizeof tmp))
        put_str(buf, len, &pos, tmp);
    else if (v->kind == VAL_REAL)
        put_str(buf, len, &pos, isnan(v->d) ? "nan" : v->d > 0 ? "inf" : "-inf");
    /* VAL_NONE prints as nothing: the quality next to it says why. */
    terminate(buf, len, pos);
    return (int)pos;
}
