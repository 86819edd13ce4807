/*
 * test_lineproto.c - the line-protocol encoder: exact lines for escaping,
 * every field type, precisions and errors; number formatting checked for
 * round trip and shortness over millions of doubles; and a property test
 * that parses 100,000 random encoded lines back with a small line-protocol
 * parser (tests/support/lpparse.c, InfluxDB's unescaping rules; the fuzzer
 * uses it too) and requires every part to come back exactly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "record/lineproto.h"
#include "support/lpparse.h"

/* ---- helpers ------------------------------------------------------------ */

static void buf_is(const lp_buf *b, const char *want)
{
    assert_int_equal(b->len, strlen(want));
    assert_memory_equal(b->data, want, b->len);
}

static uint64_t rng_state = 0x243f6a8885a308d3ULL;
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static const double p10[23] = {
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* A finite double from one of the families the encoder meets or that
 * stress it: random bit patterns, k/10^n, raw*0.1, raw*0.01, tiny and huge
 * exponents, subnormals, powers of two, zeros. */
static double rnd_double(int family)
{
    uint64_t r = rnd();
    double v;
    switch (family % 8) {
    case 0:
        do {
            r = rnd();
            memcpy(&v, &r, sizeof v);
        } while (!isfinite(v));
        return v;
    case 1: return (double)(int64_t)(r % 2000000001) / p10[rnd() % 23] *
                   ((r >> 62) ? 1 : -1);
    case 2: return 0.1 * (double)(int64_t)(r % 200001 - 100000);
    case 3: return 0.01 * (double)(int64_t)(r % 200001 - 100000);
    case 4: return ldexp((double)(r >> 11), (int)(rnd() % 2000) - 1100);
    case 5:
        r &= 0x800fffffffffffffULL;  /* subnormal (or zero) */
        memcpy(&v, &r, sizeof v);
        return v;
    case 6: return (double)(int64_t)r / p10[rnd() % 23];
    default:
        /* Powers of two, whose lower neighbour is only half as far. */
        if (r % 4 == 0)
            return (r & 4) ? -0.0 : 0.0;
        return ldexp(1.0, (int)(rnd() % 2098) - 1074) * ((r & 8) ? -1 : 1);
    }
}

/* Significant digits in a formatted number (integer-form zeros at the end
 * are not significant). */
static int count_digits(const char *s)
{
    char t[64];
    snprintf(t, sizeof t, "%s", s);
    char *e = strchr(t, 'e');
    if (e)
        *e = '\0';
    if (!strchr(t, '.')) {
        size_t L = strlen(t);
        while (L > 1 && t[L - 1] == '0')
            t[--L] = '\0';
    }
    int n = 0, lead = 1;
    for (const char *c = t; *c; c++) {
        if (*c < '0' || *c > '9')
            continue;
        if (lead && *c == '0')
            continue;
        lead = 0;
        n++;
    }
    return n;
}

/* Fewest significant digits that read back as v (the reference): for
 * each p, printf's nearest p-digit decimal and its two neighbours (below a
 * power of two the nearest can fall outside while the next one up is
 * inside). */
static int shortest_digits(double v)
{
    char t[64], u[64];
    for (int p = 1; p <= 17; p++) {
        snprintf(t, sizeof t, "%.*e", p - 1, fabs(v));
        unsigned long long m = 0;
        const char *c = t;
        for (; *c != 'e'; c++)
            if (*c != '.')
                m = m * 10 + (unsigned long long)(*c - '0');
        long ex = strtol(c + 1, NULL, 10) - (p - 1);
        for (int d = -1; d <= 1; d++) {
            snprintf(u, sizeof u, "%llue%ld", m + (unsigned long long)d, ex);
            if (strtod(u, NULL) == fabs(v))
                return count_digits(u);
        }
    }
    return 99;
}

/* ---- exact lines -------------------------------------------------------- */

static void test_typical_line(void **st)
{
    (void)st;
    lp_buf b;
    lp_buf_init(&b);
    assert_int_equal(lp_begin(&b, "upper_gate"), 0);
    assert_int_equal(lp_tag(&b, "plc", "upper_gate"), 0);
    assert_int_equal(lp_tag(&b, "station", "lock1"), 0);
    assert_int_equal(lp_field_float(&b, "level", 12.345), 0);
    assert_int_equal(lp_field_int(&b, "count", -42), 0);
    assert_int_equal(lp_field_uint(&b, "total", 42), 0);
    assert_int_equal(lp_field_bool(&b, "open", true), 0);
    assert_int_equal(lp_field_bool(&b, "closed", false), 0);
    assert_int_equal(lp_field_string(&b, "state", "ok"), 0);
    assert_int_equal(lp_end(&b, 1700000000000000000LL, LP_NS), 0);
    buf_is(&b, "upper_gate,plc=upper_gate,station=lock1 level=12.345,"
               "count=-42i,total=42u,open=true,closed=false,state=\"ok\" "
               "1700000000000000000\n");
    assert_int_equal(b.mark, b.len);
    assert_int_equal(b.fields, 0);
    lp_buf_free(&b);
    lp_buf_free(&b);   /* twice: a freed buffer is empty */
    lp_buf_free(NULL);
}

static void test_escaping(void **st)
{
    (void)st;
    lp_buf b;
    lp_buf_init(&b);
    /* Measurement: comma and space; '=' and quotes as they are. */
    assert_int_equal(lp_begin(&b, "my meas,x=\"y\""), 0);
    /* Tag keys and values: comma, equals sign, space. */
    assert_int_equal(lp_tag(&b, "a b", "c,d=e"), 0);
    assert_int_equal(lp_tag(&b, "k=\"q\"", "v w"), 0);
    /* Field keys: the same three. */
    assert_int_equal(lp_field_int(&b, "f=1, x", 1), 0);
    /* String values: double quote and backslash; newline as \n. */
    assert_int_equal(lp_field_string(&b, "s", "say \"hi\" \\ bye\nend"), 0);
    assert_int_equal(lp_field_string(&b, "e", ""), 0);
    assert_int_equal(lp_end(&b, 1, LP_NS), 0);
    buf_is(&b, "my\\ meas\\,x=\"y\",a\\ b=c\\,d\\=e,k\\=\"q\"=v\\ w "
               "f\\=1\\,\\ x=1i,s=\"say \\\"hi\\\" \\\\ bye\\nend\",e=\"\" 1\n");
    lp_buf_free(&b);
}

static void test_unicode_and_backslashes(void **st)
{
    (void)st;
    lp_buf b;
    lp_buf_init(&b);
    assert_int_equal(lp_begin(&b, "Schleuse Ä"), 0);
    assert_int_equal(lp_tag(&b, "Ort", "日本 lock"), 0);
    /* A backslash before an ordinary character needs no escape. */
    assert_int_equal(lp_tag(&b, "path", "C:\\temp"), 0);
    assert_int_equal(lp_field_string(&b, "ü", "€ \\n"), 0);
    assert_int_equal(lp_end(&b, 5, LP_NS), 0);
    buf_is(&b, "Schleuse\\ Ä,Ort=日本\\ lock,path=C:\\temp ü=\"€ \\\\n\" 5\n");
    lp_buf_free(&b);
}

/* One float field encoded into a line. */
static void float_is(double v, const char *want)
{
    char buf[32], line[96];
    int n = lp_format_double(v, buf);
    assert_string_equal(buf, want);
    assert_int_equal(n, strlen(want));
    lp_buf b;
    lp_buf_init(&b);
    assert_int_equal(lp_begin(&b, "m"), 0);
    assert_int_equal(lp_field_float(&b, "v", v), 0);
    assert_int_equal(lp_end(&b, 0, LP_NS), 0);
    snprintf(line, sizeof line, "m v=%s 0\n", want);
    buf_is(&b, line);
    lp_buf_free(&b);
}

static void test_float_formats(void **st)
{
    (void)st;
    float_is(12.345, "12.345");
    float_is(0.1 * 3, "0.30000000000000004");
    float_is(0.1 * 123, "12.3");
    float_is(0.01 * 7, "0.07");
    float_is(100, "100");
    float_is(-2.5, "-2.5");
    float_is(0.0, "0");
    float_is(-0.0, "-0");
    float_is(1e15, "1000000000000000");
    float_is(1e16, "1e+16");
    float_is(123456789012345680.0, "1.2345678901234568e+17");
    float_is(9007199254740993.0, "9007199254740992");
    float_is(1.5e-5, "0.000015");
    float_is(1e-7, "1e-07");
    float_is(1e300, "1e+300");
    float_is(-1.25e-300, "-1.25e-300");
    float_is(5e-324, "5e-324");
    float_is(2.2250738585072014e-308, "2.2250738585072014e-308");
    float_is(DBL_MAX, "1.7976931348623157e+308");
    float_is(1.0 / 3, "0.3333333333333333");
    float_is(2.0 / 3, "0.6666666666666666");
    float_is(0.1 + 0.2, "0.30000000000000004");
    float_is(9.5367431640625e-7, "9.5367431640625e-07");
    float_is(2251799813685248.5, "2251799813685248.5");
}

static void test_int_formats(void **st)
{
    (void)st;
    static const struct { int64_t v; const char *s; } t[] = {
        {0, "0"}, {7, "7"}, {10, "10"}, {99, "99"}, {100, "100"},
        {-1, "-1"}, {-10, "-10"}, {1234567890123, "1234567890123"},
        {INT64_MAX, "9223372036854775807"},
        {INT64_MIN, "-9223372036854775808"},
    };
    for (size_t k = 0; k < sizeof t / sizeof t[0]; k++) {
        char buf[21];
        assert_int_equal(lp_format_int(t[k].v, buf), strlen(t[k].s));
        assert_string_equal(buf, t[k].s);
    }
    lp_buf b;
    lp_buf_init(&b);
    assert_int_equal(lp_begin(&b, "m"), 0);
    assert_int_equal(lp_field_int(&b, "a", INT64_MIN), 0);
    assert_int_equal(lp_field_uint(&b, "b", UINT64_MAX), 0);
    assert_int_equal(lp_field_uint(&b, "c", 0), 0);
    assert_int_equal(lp_end(&b, -1, LP_NS), 0);
    buf_is(&b, "m a=-9223372036854775808i,b=18446744073709551615u,c=0u -1\n");
    lp_buf_free(&b);
}

static void ts_is(int64_t ns, lp_precision p, const char *want)
{
    lp_buf b;
    char line[64];
    lp_buf_init(&b);
    assert_int_equal(lp_begin(&b, "m"), 0);
    assert_int_equal(lp_field_bool(&b, "x", true), 0);
    assert_int_equal(lp_end(&b, ns, p), 0);
    snprintf(line, sizeof line, "m x=true %s\n", want);
    buf_is(&b, line);
    lp_buf_free(&b);
}

static void test_precision(void **st)
{
    (void)st;
    ts_is(1700000000123456789LL, LP_NS, "1700000000123456789");
    ts_is(1700000000123456789LL, LP_US, "1700000000123456");
    ts_is(1700000000123456789LL, LP_MS, "1700000000123");
    ts_is(1700000000123456789LL, LP_S, "1700000000");
    ts_is(0, LP_S, "0");
    /* Before 1970 the time truncates toward the past. */
    ts_is(-1, LP_NS, "-1");
    ts_is(-1, LP_US, "-1");
    ts_is(-1, LP_MS, "-1");
    ts_is(-1, LP_S, "-1");
    ts_is(-1000, LP_US, "-1");
    ts_is(-1001, LP_US, "-2");
    ts_is(-2000000, LP_MS, "-2");
    ts_is(-1500000000LL, LP_S, "-2");
    ts_is(INT64_MIN, LP_NS, "-9223372036854775808");
    ts_is(INT64_MIN, LP_S, "-9223372037");
    ts_is(INT64_MAX, LP_MS, "9223372036854");
    assert_string_equal(lp_precision_name(LP_NS), "ns");
    assert_string_equal(lp_precision_name(LP_US), "u");
    assert_string_equal(lp_precision_name(LP_MS), "ms");
    assert_string_equal(lp_precision_name(LP_S), "s");
}

#define FIRST "m,t=1 f=1i 1\n"

/* A buffer holding one complete line and the start of another. */
static void start(lp_buf *b)
{
    lp_buf_init(b);
    assert_int_equal(lp_begin(b, "m"), 0);
    assert_int_equal(lp_tag(b, "t", "1"), 0);
    assert_int_equal(lp_field_int(b, "f", 1), 0);
    assert_int_equal(lp_end(b, 1, LP_NS), 0);
    assert_int_equal(lp_begin(b, "next"), 0);
}

static void refused(lp_buf *b, int rc)
{
    assert_int_equal(rc, -1);
    buf_is(b, FIRST);
    assert_int_equal(b->mark, strlen(FIRST));
    assert_int_equal(b->fields, 0);
    /* The buffer goes on working. */
    assert_int_equal(lp_begin(b, "n"), 0);
    assert_int_equal(lp_field_bool(b, "ok", false), 0);
    assert_int_equal(lp_end(b, 2, LP_NS), 0);
    buf_is(b, FIRST "n ok=false 2\n");
    lp_buf_free(b);
}

static void test_errors(void **st)
{
    (void)st;
    lp_buf b;
    start(&b); refused(&b, lp_begin(&b, ""));
    start(&b); refused(&b, lp_begin(&b, "a\nb"));
    start(&b); refused(&b, lp_begin(&b, "#comment"));
    start(&b); refused(&b, lp_tag(&b, "", "v"));
    start(&b); refused(&b, lp_tag(&b, "k", ""));
    start(&b); refused(&b, lp_tag(&b, "k\n", "v"));
    start(&b); refused(&b, lp_tag(&b, "k", "v\n"));
    start(&b); refused(&b, lp_field_int(&b, "", 1));
    start(&b); refused(&b, lp_field_string(&b, "a\nb", "x"));
    start(&b); refused(&b, lp_field_float(&b, "f", NAN));
    start(&b); refused(&b, lp_field_float(&b, "f", -NAN));
    start(&b); refused(&b, lp_field_float(&b, "f", INFINITY));
    start(&b); refused(&b, lp_field_float(&b, "f", -INFINITY));
    start(&b); refused(&b, lp_end(&b, 5, LP_NS));          /* no field */
    start(&b); refused(&b, lp_end(&b, 5, (lp_precision)9));
    /* Backslashes InfluxDB would pair with the next character. */
    start(&b); refused(&b, lp_begin(&b, "end\\"));
    start(&b); refused(&b, lp_tag(&b, "k", "a\\,b"));
    start(&b); refused(&b, lp_tag(&b, "k", "a\\ b"));
    start(&b); refused(&b, lp_tag(&b, "k\\=", "v"));
    start(&b); refused(&b, lp_tag(&b, "k", "a\\\\b"));
    start(&b); refused(&b, lp_field_bool(&b, "x\\\"", true));
    /* Tags go before fields. */
    start(&b);
    assert_int_equal(lp_field_int(&b, "f", 2), 0);
    refused(&b, lp_tag(&b, "late", "tag"));
    /* A float error after good fields drops the whole line. */
    start(&b);
    assert_int_equal(lp_tag(&b, "k", "v"), 0);
    assert_int_equal(lp_field_int(&b, "f", 2), 0);
    refused(&b, lp_field_float(&b, "g", NAN));
    /* Fields without lp_begin. */
    lp_buf_init(&b);
    assert_int_equal(lp_field_int(&b, "f", 1), -1);
    assert_int_equal(lp_tag(&b, "k", "v"), -1);
    assert_int_equal(b.len, 0);
    lp_buf_free(&b);
}

static void test_multiple_lines_and_abort(void **st)
{
    (void)st;
    lp_buf b;
    lp_buf_init(&b);
    for (int k = 0; k < 3; k++) {
        assert_int_equal(lp_begin(&b, "lock"), 0);
        assert_int_equal(lp_tag(&b, "plc", k == 1 ? "lower gate" : "pumps"), 0);
        assert_int_equal(lp_field_float(&b, "level", 0.5 * k), 0);
        assert_int_equal(lp_end(&b, 1000000000LL * k, LP_S), 0);
    }
    const char *three = "lock,plc=pumps level=0 0\n"
                        "lock,plc=lower\\ gate level=0.5 1\n"
                        "lock,plc=pumps level=1 2\n";
    buf_is(&b, three);
    /* Abort in the middle of a line: back to the three complete lines. */
    assert_int_equal(lp_begin(&b, "half"), 0);
    assert_int_equal(lp_tag(&b, "a", "b"), 0);
    assert_int_equal(lp_field_int(&b, "c", 3), 0);
    lp_abort(&b);
    buf_is(&b, three);
    lp_abort(&b);   /* nothing more to drop */
    buf_is(&b, three);
    /* lp_begin drops an unfinished line too. */
    assert_int_equal(lp_begin(&b, "unfinished"), 0);
    assert_int_equal(lp_field_int(&b, "c", 3), 0);
    assert_int_equal(lp_begin(&b, "done"), 0);
    assert_int_equal(lp_field_int(&b, "c", 4), 0);
    assert_int_equal(lp_end(&b, 9, LP_NS), 0);
    size_t cap = b.cap;
    char want[256];
    snprintf(want, sizeof want, "%sdone c=4i 9\n", three);
    buf_is(&b, want);
    lp_buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, cap);
    assert_int_equal(lp_begin(&b, "x"), 0);
    assert_int_equal(lp_field_int(&b, "y", 1), 0);
    assert_int_equal(lp_end(&b, 1, LP_NS), 0);
    buf_is(&b, "x y=1i 1\n");
    lp_buf_free(&b);
}

static void test_long_names_grow_buffer(void **st)
{
    (void)st;
    size_t n = 100000;
    char *name = malloc(n + 1), *want = malloc(2 * n + 64);
    assert_non_null(name);
    assert_non_null(want);
    for (size_t k = 0; k < n; k++)
        name[k] = (k % 3 == 0) ? ' ' : 'x';
    name[n] = '\0';
    lp_buf b;
    lp_buf_init(&b);
    assert_int_equal(lp_begin(&b, name), 0);
    assert_int_equal(lp_field_string(&b, name, name), 0);
    assert_int_equal(lp_end(&b, 3, LP_NS), 0);
    /* Too long for the test parser's fields: compare by hand instead. */
    size_t len = 0;
    for (size_t k = 0; k < n; k++) {
        if (name[k] == ' ')
            want[len++] = '\\';
        want[len++] = name[k];
    }
    assert_memory_equal(b.data, want, len);
    assert_int_equal(b.data[len], ' ');
    assert_memory_equal(b.data + len + 1, want, len);
    assert_memory_equal(b.data + 2 * len + 1, "=\"", 2);
    assert_memory_equal(b.data + 2 * len + 3, name, n);
    assert_int_equal(b.len, 2 * len + 3 + n + 4);
    assert_memory_equal(b.data + 2 * len + 3 + n, "\" 3\n", 4);
    free(name);
    free(want);
    lp_buf_free(&b);
}

/* ---- number formatting over millions of values -------------------------- */

static void test_double_round_trip(void **st)
{
    (void)st;
    char buf[32];
    long checked_short = 0;
    for (long k = 0; k < 4000000; k++) {
        double v = rnd_double((int)(k % 8));
        int n = lp_format_double(v, buf);
        assert_int_equal(n, strlen(buf));
        assert_true(n < 32);
        char *end;
        double back = strtod(buf, &end);
        assert_ptr_equal(end, buf + n);
        if (memcmp(&back, &v, sizeof v) != 0)
            fail_msg("%a formatted as %s reads back as %a", v, buf, back);
        /* Only digits, sign, point, exponent: a line-protocol float. */
        assert_int_equal(strspn(buf, "0123456789.-+e"), n);
        if (k % 40 == 0 && v != 0) {
            checked_short++;
            if (count_digits(buf) != shortest_digits(v))
                fail_msg("%a formatted as %s: %d digits, shortest is %d",
                         v, buf, count_digits(buf), shortest_digits(v));
        }
    }
    assert_true(checked_short >= 80000);
    /* Every power of two and its neighbours, with shortness. */
    for (int e2 = -1074; e2 <= 1023; e2++) {
        double p2 = ldexp(1.0, e2);
        double vs[3] = {p2, nextafter(p2, 0), nextafter(p2, INFINITY)};
        for (int k = 0; k < 3; k++) {
            if (vs[k] == 0 || !isfinite(vs[k]))
                continue;
            int n = lp_format_double(vs[k], buf);
            double back = strtod(buf, NULL);
            if (memcmp(&back, &vs[k], sizeof back) != 0 ||
                count_digits(buf) != shortest_digits(vs[k]))
                fail_msg("%a formatted as %s (%d chars)", vs[k], buf, n);
        }
    }
}

/* ---- property test: encode, parse back, compare ------------------------- */

/* Characters names and strings are made of; weighted toward the ones
 * line protocol treats specially. */
static const char *const pieces[] = {
    "a", "b", "Z", "0", "9", "_", "-", ".", ",", " ", "=", "\"", "'",
    "#", "\t", "é", "日", "€", "\xf0\x9f\x9a\xa2", "i", "u", "t", "e",
    "\\", "\\x", "\n"};

static void rnd_text(char *out, size_t cap, bool allow_empty)
{
    size_t n = allow_empty ? rnd() % 12 : 1 + rnd() % 12, len = 0;
    out[0] = '\0';
    for (size_t k = 0; k < n; k++) {
        /* Backslashes and newlines are rarer, so most lines are valid. */
        size_t np = sizeof pieces / sizeof pieces[0];
        const char *p = pieces[rnd() % (rnd() % 8 ? np - 3 : np)];
        size_t pl = strlen(p);
        if (len + pl + 1 >= cap)
            break;
        memcpy(out + len, p, pl + 1);
        len += pl;
    }
}

static int64_t floor_div(int64_t a, int64_t d)
{
    int64_t q = a / d;
    return (a % d != 0 && a < 0) ? q - 1 : q;
}

static void test_property_round_trip(void **st)
{
    (void)st;
    lp_buf b;
    lp_buf_init(&b);
    lpp_line *want = calloc(100, sizeof *want);
    bool *ok = calloc(100, sizeof *ok);
    lpp_line *got = malloc(sizeof *got);
    assert_non_null(want);
    assert_non_null(ok);
    assert_non_null(got);
    long valid = 0, invalid = 0;
    for (int round = 0; round < 1000; round++) {
        lp_buf_reset(&b);
        for (int k = 0; k < 100; k++) {
            lpp_line *w = &want[k];
            memset(w, 0, sizeof *w);
            bool good = true;
            size_t before = b.len;
            rnd_text(w->meas, 64, false);
            good &= lpp_name_ok(w->meas) && w->meas[0] != '#';
            int rc = lp_begin(&b, w->meas);
            w->ntags = (int)(rnd() % 4);
            for (int t = 0; t < w->ntags; t++) {
                rnd_text(w->tk[t], 64, false);
                rnd_text(w->tv[t], 64, false);
                good &= lpp_name_ok(w->tk[t]) && lpp_name_ok(w->tv[t]);
                if (rc == 0)
                    rc = lp_tag(&b, w->tk[t], w->tv[t]);
            }
            w->nfields = 1 + (int)(rnd() % 5);
            for (int f = 0; f < w->nfields; f++) {
                lpp_field *pf = &w->fld[f];
                rnd_text(pf->key, 64, false);
                good &= lpp_name_ok(pf->key);
                pf->type = (int)(rnd() % 5);
                int r = 0;
                switch (pf->type) {
                case LPP_FLOAT:
                    pf->f = rnd_double((int)(rnd() % 8));
                    r = lp_field_float(&b, pf->key, pf->f);
                    break;
                case LPP_INT:
                    pf->i = (int64_t)rnd() >> (rnd() % 64);
                    r = lp_field_int(&b, pf->key, pf->i);
                    break;
                case LPP_UINT:
                    pf->u = rnd() >> (rnd() % 64);
                    r = lp_field_uint(&b, pf->key, pf->u);
                    break;
                case LPP_BOOL:
                    pf->b = rnd() & 1;
                    r = lp_field_bool(&b, pf->key, pf->b);
                    break;
                default:
                    rnd_text(pf->s, 64, true);
                    r = lp_field_string(&b, pf->key, pf->s);
                }
                if (rc == 0)
                    rc = r;
            }
            int64_t ts = (int64_t)rnd();
            lp_precision p = (lp_precision)(rnd() % 4);
            static const int64_t unit[] = {1, 1000, 1000000, 1000000000};
            w->ts = floor_div(ts, unit[p]);
            if (rc == 0)
                rc = lp_end(&b, ts, p);
            ok[k] = good;
            if (good) {
                assert_int_equal(rc, 0);
                valid++;
            } else {
                assert_int_equal(rc, -1);
                assert_int_equal(b.len, before);
                invalid++;
            }
        }
        /* Parse the whole buffer back, line by line. */
        assert_int_equal(lp_buf_reserve(&b, 1), 0);
        b.data[b.len] = '\0';
        const char *s = b.data;
        for (int k = 0; k < 100; k++) {
            if (!ok[k])
                continue;
            const char *line = s;
            s = lpp_parse_line(s, got);
            if (!s)
                fail_msg("unparsable line: %.*s", (int)strcspn(line, "\n"),
                         line);
            const lpp_line *w = &want[k];
            assert_string_equal(got->meas, w->meas);
            assert_int_equal(got->ntags, w->ntags);
            for (int t = 0; t < w->ntags; t++) {
                assert_string_equal(got->tk[t], w->tk[t]);
                assert_string_equal(got->tv[t], w->tv[t]);
            }
            assert_int_equal(got->nfields, w->nfields);
            for (int f = 0; f < w->nfields; f++) {
                const lpp_field *g = &got->fld[f], *e = &w->fld[f];
                assert_string_equal(g->key, e->key);
                assert_int_equal(g->type, e->type);
                switch (e->type) {
                case LPP_FLOAT:
                    /* Bit for bit, negative zero included. */
                    assert_memory_equal(&g->f, &e->f, sizeof e->f);
                    break;
                case LPP_INT: assert_int_equal(g->i, e->i); break;
                case LPP_UINT: assert_int_equal(g->u, e->u); break;
                case LPP_BOOL: assert_int_equal(g->b, e->b); break;
                default: assert_string_equal(g->s, e->s);
                }
            }
            assert_int_equal(got->ts, w->ts);
        }
        assert_ptr_equal(s, b.data + b.len);
    }
    assert_int_equal(valid + invalid, 100000);
    /* Both kinds really occurred. */
    assert_true(valid > 50000);
    assert_true(invalid > 1000);
    free(want);
    free(ok);
    free(got);
    lp_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_typical_line),
        cmocka_unit_test(test_escaping),
        cmocka_unit_test(test_unicode_and_backslashes),
        cmocka_unit_test(test_float_formats),
        cmocka_unit_test(test_int_formats),
        cmocka_unit_test(test_precision),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_multiple_lines_and_abort),
        cmocka_unit_test(test_long_names_grow_buffer),
        cmocka_unit_test(test_double_round_trip),
        cmocka_unit_test(test_property_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
