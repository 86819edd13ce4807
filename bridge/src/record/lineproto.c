/*
 * lineproto.c - InfluxDB line protocol encoder (see lineproto.h).
 *
 * Everything here is on the hot path of the InfluxDB writer, so names are
 * escaped with a byte-class table and numbers are formatted without printf:
 * integers two digits at a time from a pair table, doubles by scaling with
 * exact powers of ten (15 digits in double arithmetic, 16 and 17 digits in
 * exact 128-bit integer arithmetic).  Only doubles outside about
 * [1.5e-8, 1.3e36] fall back to snprintf + strtod.
 *
 * Escaping rules are those of the InfluxDB 1.x line protocol reference
 * ("Special characters"): measurement: `,` and space; tag keys, tag values
 * and field keys: `,`, `=` and space; string field values: `"` and `\`.
 * Backslashes are never escaped in names, so a name whose backslash is
 * last or sits before `,`, space, `=`, `"` or `\` cannot be written so that
 * InfluxDB reads it back (it pairs or unescapes such backslashes; see
 * telegraf issue #3004): such names are refused like newlines are.  So
 * is a measurement starting with `#`, which would make the line a comment.
 */
#include "record/lineproto.h"

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef unsigned __int128 u128;

/* ---- buffer ------------------------------------------------------------- */

void lp_buf_init(lp_buf *b)
{
    memset(b, 0, sizeof *b);
}

void lp_buf_free(lp_buf *b)
{
    if (!b)
        return;
    free(b->data);
    memset(b, 0, sizeof *b);
}

void lp_buf_reset(lp_buf *b)
{
    b->len = 0;
    b->mark = 0;
    b->fields = 0;
}

int lp_buf_reserve(lp_buf *b, size_t n)
{
    if (b->cap - b->len >= n)
        return 0;
    if (n > SIZE_MAX / 2 - b->len)
        return -1;
    size_t cap = b->cap ? b->cap * 2 : 4096;
    if (cap < b->len + n)
        cap = b->len + n;
    char *d = realloc(b->data, cap);
    if (!d)
        return -1;
    b->data = d;
    b->cap = cap;
    return 0;
}

void lp_abort(lp_buf *b)
{
    b->len = b->mark;
    b->fields = 0;
}

static int fail(lp_buf *b)
{
    lp_abort(b);
    return -1;
}

/* ---- escaping ----------------------------------------------------------- */

enum {
    C_MEAS = 1,  /* escaped in measurements */
    C_KEY = 2,   /* escaped in tag keys, tag values, field keys */
    C_STR = 4,   /* escaped in string field values */
    C_NL = 8,    /* newline: refused in names */
    C_BSL = 16,  /* backslash */
    C_AFTER = 32 /* may not follow a backslash in a name */
};

static const unsigned char cls[256] = {
    ['\n'] = C_NL,
    [','] = C_MEAS | C_KEY | C_AFTER,
    [' '] = C_MEAS | C_KEY | C_AFTER,
    ['='] = C_KEY | C_AFTER,
    ['"'] = C_STR | C_AFTER,
    ['\\'] = C_STR | C_BSL | C_AFTER,
};

/* Appends name s escaped for a position whose special characters are
 * `mask`; -1 for an empty name or one that cannot be represented. */
static int put_name(lp_buf *b, const char *s, unsigned mask)
{
    size_t n = strlen(s);
    if (n == 0 || lp_buf_reserve(b, 2 * n + 40) < 0)
        return -1;
    const unsigned char *u = (const unsigned char *)s;
    char *p = b->data + b->len;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = u[i];
        unsigned t = cls[c];
        if (t == 0) {
            *p++ = (char)c;
            continue;
        }
        if (t & C_NL)
            return -1;
        if ((t & C_BSL) && (u[i + 1] == 0 || (cls[u[i + 1]] & C_AFTER)))
            return -1;
        if (t & mask)
            *p++ = '\\';
        *p++ = (char)c;
    }
    b->len = (size_t)(p - b->data);
    return 0;
}

/* ---- numbers ------------------------------------------------------------ */

static const char pairs[201] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

static int u64_len(uint64_t v)
{
    int n = 1;
    for (;;) {
        if (v < 10) return n;
        if (v < 100) return n + 1;
        if (v < 1000) return n + 2;
        if (v < 10000) return n + 3;
        v /= 10000;
        n += 4;
    }
}

/* Writes v's decimal digits at out (no terminator); returns the count. */
static int put_u64(uint64_t v, char *out)
{
    int n = u64_len(v);
    char *p = out + n;
    while (v >= 100) {
        unsigned r = (unsigned)(v % 100);
        v /= 100;
        p -= 2;
        memcpy(p, pairs + 2 * r, 2);
    }
    if (v >= 10) {
        p -= 2;
        memcpy(p, pairs + 2 * v, 2);
    } else {
        *--p = (char)('0' + v);
    }
    return n;
}

int lp_format_int(int64_t v, char *buf)
{
    if (v < 0) {
        buf[0] = '-';
        int n = put_u64((uint64_t)0 - (uint64_t)v, buf + 1) + 1;
        buf[n] = '\0';
        return n;
    }
    int n = put_u64((uint64_t)v, buf);
    buf[n] = '\0';
    return n;
}

/* Exact powers of ten: as doubles up to 1e22 (the last one a double holds
 * exactly) and as 128-bit integers up to 1e38. */
static const double p10d[23] = {
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

#define LP_T19 ((u128)10000000000000000000ULL)
static const u128 p10t[39] = {
    1ULL, 10ULL, 100ULL, 1000ULL, 10000ULL, 100000ULL, 1000000ULL,
    10000000ULL, 100000000ULL, 1000000000ULL, 10000000000ULL,
    100000000000ULL, 1000000000000ULL, 10000000000000ULL,
    100000000000000ULL, 1000000000000000ULL, 10000000000000000ULL,
    100000000000000000ULL, 1000000000000000000ULL, LP_T19,
    LP_T19 * 10, LP_T19 * 100, LP_T19 * 1000, LP_T19 * 10000,
    LP_T19 * 100000, LP_T19 * 1000000, LP_T19 * 10000000,
    LP_T19 * 100000000, LP_T19 * 1000000000, LP_T19 * 10000000000ULL,
    LP_T19 * 100000000000ULL, LP_T19 * 1000000000000ULL,
    LP_T19 * 10000000000000ULL, LP_T19 * 100000000000000ULL,
    LP_T19 * 1000000000000000ULL, LP_T19 * 10000000000000000ULL,
    LP_T19 * 100000000000000000ULL, LP_T19 * 1000000000000000000ULL,
    LP_T19 * LP_T19};
#define p10q(k) (p10t[(k)])

/* Writes m * 10^x (m > 0, no trailing zeros) in plain notation when the
 * leading digit's exponent is in [-5, 15], otherwise as d.ddde+XX. */
static int put_decimal(uint64_t m, int x, char *out)
{
    char dig[24];
    int n = put_u64(m, dig);
    int d = n - 1 + x;  /* exponent of the leading digit */
    char *p = out;
    if (d >= 0 && d < 16) {
        if (n <= d + 1) {
            memcpy(p, dig, (size_t)n);
            p += n;
            memset(p, '0', (size_t)(d + 1 - n));
            p += d + 1 - n;
        } else {
            memcpy(p, dig, (size_t)d + 1);
            p += d + 1;
            *p++ = '.';
            memcpy(p, dig + d + 1, (size_t)(n - d - 1));
            p += n - d - 1;
        }
    } else if (d < 0 && d >= -5) {
        *p++ = '0';
        *p++ = '.';
        memset(p, '0', (size_t)(-d - 1));
        p += -d - 1;
        memcpy(p, dig, (size_t)n);
        p += n;
    } else {
        *p++ = dig[0];
        if (n > 1) {
            *p++ = '.';
            memcpy(p, dig + 1, (size_t)n - 1);
            p += n - 1;
        }
        *p++ = 'e';
        *p++ = d < 0 ? '-' : '+';
        unsigned a = (unsigned)(d < 0 ? -d : d);
        if (a < 10)
            *p++ = '0';   /* two exponent digits at least, as printf does */
        p += put_u64(a, p);
    }
    *p = '\0';
    return (int)(p - out);
}

static void strip_zeros(uint64_t *m, int *x)
{
    if (*m % 100000000 == 0) { *m /= 100000000; *x += 8; }
    if (*m % 10000 == 0) { *m /= 10000; *x += 4; }
    if (*m % 100 == 0) { *m /= 100; *x += 2; }
    if (*m % 10 == 0) { *m /= 10; *x += 1; }
}

/* Is the decimal q * 10^-s (q < 2^53, |s| <= 22) read back as v?  Both
 * operands are exact doubles and IEEE multiplication/division round
 * correctly, exactly as strtod does. */
static int back15(uint64_t q, int s, double v)
{
    double d = (double)q;
    return (s >= 0 ? d / p10d[s] : d * p10d[-s]) == v;
}

/* 16 or 17 significant digits for v = f * 2^e, leading exponent E, in exact
 * integer arithmetic: the nearest p-digit decimals below and above v are
 * q and q+1 (units of 10^-s); one is accepted if it lies inside v's rounding
 * interval (half the gap to each neighbouring double; ties go to the even
 * mantissa, which is how strtod rounds).  Returns 0 if out of range or no
 * p-digit decimal reads back as v. */
static int exact_digits(uint64_t f, int e, int E, int p, int lower_half,
                        uint64_t *mout, int *xout)
{
    int s = p - 1 - E;
    u128 q, below, above, lim_lo, lim_hi;
    if (s >= 0) {
        if (s > 22)
            return 0;
        u128 n = (u128)f * p10q(s);
        if (e >= 0) {
            /* v is an integer; scaled it is exact. */
            if (e > 60 || (n << e) >> e != n)
                return 0;
            *mout = (uint64_t)(n << e);
            *xout = -s;
            return 1;
        }
        if (-e > 120)
            return 0;
        int sh = -e;
        q = n >> sh;
        u128 r = n & (((u128)1 << sh) - 1);
        below = r;                       /* (x - q) * 2^sh */
        above = ((u128)1 << sh) - r;     /* (q + 1 - x) * 2^sh */
        /* Half gap in the same units: 10^s * 2^e / 2 * 2^sh = 10^s / 2;
         * compare 4 * distance with 2 * 10^s (or 10^s below a power of
         * two, where the gap to the next lower double is halved). */
        lim_hi = 2 * p10q(s);
        lim_lo = lower_half ? p10q(s) : lim_hi;
    } else {
        int k = -s;
        if (k > 38 || e < 0 || e > 72)
            return 0;
        u128 n = (u128)f << e;
        u128 t = p10q(k);
        q = n / t;
        u128 r = n % t;
        below = r;                       /* (x - q) * 10^k */
        above = t - r;
        lim_hi = (u128)1 << (e + 1);     /* 4 * 2^e / 2 */
        lim_lo = lower_half ? (u128)1 << e : lim_hi;
    }
    int even = (f & 1) == 0;
    u128 b4 = below * 4, a4 = above * 4;
    int ok_lo = even ? b4 <= lim_lo : b4 < lim_lo;
    int ok_hi = even ? a4 <= lim_hi : a4 < lim_hi;
    if (!ok_lo && !ok_hi)
        return 0;
    /* Of two candidates take the nearer one (below on a tie). */
    u128 m = (ok_lo && (!ok_hi || below <= above)) ? q : q + 1;
    if (m == 0 || m >> 64)
        return 0;
    *mout = (uint64_t)m;
    *xout = -s;
    return 1;
}

/* Rare cases (v > 0): let printf round to 15, 16, 17 digits and keep the
 * first that strtod reads back (17 always does).  Subnormals carry fewer
 * bits, so for them shorter decimals are tried too.  Just above a power of
 * two the rounding interval is wider than below it, so there the next
 * decimal up may read back when the nearest does not. */
static int format_slow(double v, char *buf, bool subnormal, bool pow2)
{
    char tmp[40];
    uint64_t m = 0;
    int x = 0;
    for (int p = subnormal ? 1 : 15; p <= 17; p++) {
        snprintf(tmp, sizeof tmp, "%.*e", p - 1, v);
        /* tmp is d.ddddde[+-]XX: collect the digits and the exponent. */
        const char *c = tmp;
        m = 0;
        for (; *c && *c != 'e'; c++)
            if (*c >= '0' && *c <= '9')
                m = m * 10 + (uint64_t)(*c - '0');
        x = (int)strtol(c + 1, NULL, 10) - (p - 1);
        if (strtod(tmp, NULL) == v || p == 17)
            break;
        if (pow2) {
            snprintf(tmp, sizeof tmp, "%" PRIu64 "e%d", m + 1, x);
            if (strtod(tmp, NULL) == v) {
                m++;
                break;
            }
        }
    }
    strip_zeros(&m, &x);
    return put_decimal(m, x, buf);
}

int lp_format_double(double v, char *buf)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    char *out = buf;
    if (bits >> 63) {
        *out++ = '-';
        v = -v;
        bits &= ~(1ULL << 63);
    }
    if (bits == 0) {
        /* "-0" for negative zero: strtod and InfluxDB both read it back as
         * -0.0. */
        out[0] = '0';
        out[1] = '\0';
        return (int)(out - buf) + 1;
    }
    int bexp = (int)(bits >> 52);
    int ex2 = bexp - 1023;  /* floor(log2 v) for normal numbers */
    if (bexp == 0 || ex2 < -26 || ex2 > 120)
        return (int)(out - buf) +
               format_slow(v, out, bexp == 0, (bits << 12) == 0);
    uint64_t f = (bits & ((1ULL << 52) - 1)) | (1ULL << 52);
    int e = ex2 - 52;       /* v = f * 2^e */

    /* E = floor(log10 v): an estimate from the binary exponent (1233/4096
     * is just under log10(2)), then one exact comparison with 10^(E+1). */
    int E = (ex2 * 1233) >> 12;
    int j = E + 1, ge;
    if (j >= 0)
        ge = e >= 0 ? ((u128)f << e) >= p10q(j)
                    : (u128)f >= (p10q(j) << -e);
    else
        ge = (u128)f * p10q(-j) >= ((u128)1 << -e);
    if (ge)
        E++;

    uint64_t m;
    int x;
    /* 15 digits: the product v * 10^s is within 0.11 of the exact one, so
     * if a 15-digit decimal reads back as v, rounding finds it.  Any
     * shorter decimal that reads back is that one with zeros stripped. */
    int s = 14 - E;
    if (s >= -22 && s <= 22) {
        double y = s >= 0 ? v * p10d[s] : v / p10d[-s];
        uint64_t q = (uint64_t)(y + 0.5);
        if (back15(q, s, v)) {
            m = q;
            x = -s;
            strip_zeros(&m, &x);
            return (int)(out - buf) + put_decimal(m, x, out);
        }
    }
    int lower_half = f == (1ULL << 52);
    for (int p = 16; p <= 17; p++)
        if (exact_digits(f, e, E, p, lower_half, &m, &x)) {
            strip_zeros(&m, &x);
            return (int)(out - buf) + put_decimal(m, x, out);
        }
    return (int)(out - buf) + format_slow(v, out, false, lower_half);
}

const char *lp_precision_name(lp_precision p)
{
    switch (p) {
    case LP_NS: return "ns";
    case LP_US: return "u";
    case LP_MS: return "ms";
    case LP_S: return "s";
    }
    return "ns";
}

/* ---- lines -------------------------------------------------------------- */

int lp_begin(lp_buf *b, const char *measurement)
{
    lp_abort(b);  /* an unfinished line is dropped */
    /* A line starting with '#' is a comment, and "\#" is not unescaped. */
    if (measurement[0] == '#' || put_name(b, measurement, C_MEAS) < 0)
        return fail(b);
    return 0;
}

int lp_tag(lp_buf *b, const char *key, const char *value)
{
    if (b->fields || b->len == b->mark)
        return fail(b);
    if (lp_buf_reserve(b, 1) < 0)
        return fail(b);
    b->data[b->len++] = ',';
    if (put_name(b, key, C_KEY) < 0)
        return fail(b);
    b->data[b->len++] = '=';
    if (put_name(b, value, C_KEY) < 0)
        return fail(b);
    return 0;
}

/* Writes the separator, the escaped key and '='; leaves room for 40 more
 * bytes (put_name reserves them). */
static int field_key(lp_buf *b, const char *key)
{
    if (b->len == b->mark || lp_buf_reserve(b, 1) < 0)
        return -1;
    b->data[b->len++] = b->fields ? ',' : ' ';
    if (put_name(b, key, C_KEY) < 0)
        return -1;
    b->data[b->len++] = '=';
    b->fields++;
    return 0;
}

int lp_field_float(lp_buf *b, const char *key, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    if ((bits & 0x7ff0000000000000ULL) == 0x7ff0000000000000ULL)
        return fail(b);   /* NaN or infinity: line protocol has neither */
    if (field_key(b, key) < 0)
        return fail(b);
    b->len += (size_t)lp_format_double(v, b->data + b->len);
    return 0;
}

int lp_field_int(lp_buf *b, const char *key, int64_t v)
{
    if (field_key(b, key) < 0)
        return fail(b);
    b->len += (size_t)lp_format_int(v, b->data + b->len);
    b->data[b->len++] = 'i';
    return 0;
}

int lp_field_uint(lp_buf *b, const char *key, uint64_t v)
{
    if (field_key(b, key) < 0)
        return fail(b);
    b->len += (size_t)put_u64(v, b->data + b->len);
    b->data[b->len++] = 'u';
    return 0;
}

int lp_field_bool(lp_buf *b, const char *key, bool v)
{
    if (field_key(b, key) < 0)
        return fail(b);
    memcpy(b->data + b->len, v ? "true" : "false", v ? 4 : 5);
    b->len += v ? 4 : 5;
    return 0;
}

int lp_field_string(lp_buf *b, const char *key, const char *v)
{
    if (field_key(b, key) < 0)
        return fail(b);
    size_t n = strlen(v);
    if (lp_buf_reserve(b, 2 * n + 2) < 0)
        return fail(b);
    char *p = b->data + b->len;
    *p++ = '"';
    const unsigned char *u = (const unsigned char *)v;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = u[i];
        unsigned t = cls[c];
        if (t & C_STR) {
            *p++ = '\\';
            *p++ = (char)c;
        } else if (t & C_NL) {
            /* Not representable in line protocol; see lineproto.h. */
            *p++ = '\\';
            *p++ = 'n';
        } else {
            *p++ = (char)c;
        }
    }
    *p++ = '"';
    b->len = (size_t)(p - b->data);
    return 0;
}

/* Floor division: a timestamp before 1970 truncates toward the past, so
 * every precision keeps the order of points. */
static int64_t floor_div(int64_t a, int64_t d)
{
    int64_t q = a / d;
    if (a % d != 0 && a < 0)
        q--;
    return q;
}

int lp_end(lp_buf *b, int64_t ts_ns, lp_precision p)
{
    if (b->fields == 0 || lp_buf_reserve(b, 24) < 0)
        return fail(b);
    int64_t t;
    switch (p) {
    case LP_NS: t = ts_ns; break;
    case LP_US: t = floor_div(ts_ns, 1000); break;
    case LP_MS: t = floor_div(ts_ns, 1000000); break;
    case LP_S: t = floor_div(ts_ns, 1000000000); break;
    default: return fail(b);
    }
    b->data[b->len++] = ' ';
    b->len += (size_t)lp_format_int(t, b->data + b->len);
    b->data[b->len++] = '\n';
    b->mark = b->len;
    b->fields = 0;
    return 0;
}
