/*
 * test_val.c - quality names, equality, and the JSON/text forms of values:
 * exact 64-bit integers, doubles that read back bit for bit in as few
 * digits as possible, escaped strings, and snprintf-style lengths.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/val.h"

static val mk_int(int64_t i) { val v = {.kind = VAL_INT}; v.i = i; return v; }
static val mk_uint(uint64_t u) { val v = {.kind = VAL_UINT}; v.u = u; return v; }
static val mk_real(double d) { val v = {.kind = VAL_REAL}; v.d = d; return v; }
static val mk_bool(bool b) { val v = {.kind = VAL_BOOL}; v.b = b; return v; }
static val mk_str(const char *s)
{
    val v = {.kind = VAL_STR};
    snprintf(v.s, sizeof v.s, "%s", s);
    return v;
}

static void json_is(val v, const char *want)
{
    char buf[512];
    int n = val_to_json(&v, buf, sizeof buf);
    assert_string_equal(buf, want);
    assert_int_equal(n, strlen(want));
}

static void text_is(val v, const char *want)
{
    char buf[512];
    int n = val_to_text(&v, buf, sizeof buf);
    assert_string_equal(buf, want);
    assert_int_equal(n, strlen(want));
}

static void test_quality_names(void **st)
{
    (void)st;
    assert_string_equal(val_quality_name(Q_INIT), "init");
    assert_string_equal(val_quality_name(Q_GOOD), "good");
    assert_string_equal(val_quality_name(Q_STALE), "stale");
    assert_string_equal(val_quality_name(Q_COMM), "comm-failure");
    assert_string_equal(val_quality_name(Q_DEVICE), "device-error");
    assert_string_equal(val_quality_name(Q_DECODE), "decode-error");
}

static void test_json_scalars(void **st)
{
    (void)st;
    json_is((val){.kind = VAL_NONE}, "null");
    json_is(mk_bool(true), "true");
    json_is(mk_bool(false), "false");
    json_is(mk_int(0), "0");
    json_is(mk_int(-42), "-42");
    json_is(mk_int(INT64_MAX), "9223372036854775807");
    json_is(mk_int(INT64_MIN), "-9223372036854775808");
    json_is(mk_uint(UINT64_MAX), "18446744073709551615");
    json_is(mk_uint(9223372036854775808u), "9223372036854775808");
}

static void test_json_reals(void **st)
{
    (void)st;
    json_is(mk_real(0.0), "0");
    json_is(mk_real(-0.0), "-0");
    json_is(mk_real(12.5), "12.5");
    json_is(mk_real(100.0), "100");
    json_is(mk_real(0.1), "0.1");              /* 15 digits suffice */
    json_is(mk_real(0.1 + 0.2), "0.30000000000000004"); /* needs 17 */
    json_is(mk_real(1.0 / 3.0), "0.3333333333333333");  /* needs 16 */
    json_is(mk_real(1e21), "1e+21");
    json_is(mk_real(-1.5e-7), "-1.5e-07");
    json_is(mk_real(DBL_MAX), "1.7976931348623157e+308");
    json_is(mk_real(4.9406564584124654e-324), "4.94065645841247e-324");
    json_is(mk_real((double)123.456f), "123.45600128173828");
    /* Cannot come from decode, but must never produce invalid JSON. */
    json_is(mk_real(NAN), "null");
    json_is(mk_real(INFINITY), "null");
    json_is(mk_real(-INFINITY), "null");
}

/* Random finite doubles: the JSON reads back to the same bits, and no
 * shorter precision would have done. */
static void test_json_real_roundtrip(void **st)
{
    (void)st;
    srand(12345);
    int checked = 0;
    for (int i = 0; i < 200000; i++) {
        uint64_t bits = 0;
        for (int k = 0; k < 4; k++)
            bits = bits << 16 | (uint64_t)(rand() & 0xFFFF);
        double d;
        memcpy(&d, &bits, sizeof d);
        if (!isfinite(d))
            continue;
        if (i % 3 == 0)
            d = (double)(rand() % 100000) / 100.0; /* typical plant values */
        val v = mk_real(d);
        char buf[64];
        int n = val_to_json(&v, buf, sizeof buf);
        assert_int_equal(n, strlen(buf));
        char *end;
        double back = strtod(buf, &end);
        assert_int_equal(*end, '\0');
        assert_memory_equal(&back, &d, sizeof d);
        /* Shortest: with one digit fewer (down to 15) it would not read back. */
        char shorter[64];
        int digits = 0;
        for (int prec = 15; prec <= 17; prec++) {
            snprintf(shorter, sizeof shorter, "%.*g", prec, d);
            if (strcmp(shorter, buf) == 0) {
                digits = prec;
                break;
            }
        }
        assert_true(digits >= 15);
        if (digits > 15) {
            snprintf(shorter, sizeof shorter, "%.*g", digits - 1, d);
            assert_true(strtod(shorter, NULL) != d);
        }
        checked++;
    }
    assert_true(checked > 150000);
}

static void test_json_strings(void **st)
{
    (void)st;
    json_is(mk_str(""), "\"\"");
    json_is(mk_str("ABC"), "\"ABC\"");
    json_is(mk_str("a\"b\\c/d"), "\"a\\\"b\\\\c/d\"");
    json_is(mk_str("x\ny\tz\r\x01\x1f"), "\"x\\u000ay\\u0009z\\u000d\\u0001\\u001f\"");
    json_is(mk_str("\x7f"), "\"\x7f\"");
    json_is(mk_str("上闸首 ok"), "\"上闸首 ok\"");
    /* The longest string a val holds, every byte escaped. */
    val v = {.kind = VAL_STR};
    memset(v.s, '\x02', VAL_STR_MAX);
    v.s[VAL_STR_MAX] = '\0';
    char buf[512];
    int n = val_to_json(&v, buf, sizeof buf);
    assert_int_equal(n, 2 + 6 * VAL_STR_MAX);
    assert_int_equal(strlen(buf), n);
    assert_memory_equal(buf, "\"\\u0002\\u0002", 13);
}

static void test_json_truncation(void **st)
{
    (void)st;
    val v = mk_str("hello\"world");
    char buf[6];
    memset(buf, 'x', sizeof buf);
    int n = val_to_json(&v, buf, sizeof buf);
    assert_int_equal(n, 14);
    assert_string_equal(buf, "\"hell");

    v = mk_int(-1234567);
    n = val_to_json(&v, buf, sizeof buf);
    assert_int_equal(n, 8);
    assert_string_equal(buf, "-1234");

    /* Length query with no buffer, like snprintf(NULL, 0, ...). */
    assert_int_equal(val_to_json(&v, NULL, 0), 8);
    v = mk_real(0.1);
    assert_int_equal(val_to_json(&v, NULL, 0), 3);
    char one[1] = {'x'};
    assert_int_equal(val_to_json(&v, one, 1), 3);
    assert_int_equal(one[0], '\0');
}

static void test_text(void **st)
{
    (void)st;
    text_is((val){.kind = VAL_NONE}, "");
    text_is(mk_real(12.5), "12.5");
    text_is(mk_real(0.1), "0.1");
    text_is(mk_bool(true), "true");
    text_is(mk_bool(false), "false");
    text_is(mk_int(-7), "-7");
    text_is(mk_uint(UINT64_MAX), "18446744073709551615");
    text_is(mk_str("ABC \"q\""), "ABC \"q\"");
    text_is(mk_real(NAN), "nan");
    text_is(mk_real(-INFINITY), "-inf");
    val v = mk_str("abcdef");
    char buf[4];
    assert_int_equal(val_to_text(&v, buf, sizeof buf), 6);
    assert_string_equal(buf, "abc");
}

static void test_equal(void **st)
{
    (void)st;
    val a = mk_int(5), b = mk_int(5), c = mk_int(6);
    assert_true(val_equal(&a, &b));
    assert_false(val_equal(&a, &c));
    val r = mk_real(5.0);
    assert_false(val_equal(&a, &r)); /* different kinds */
    val r2 = mk_real(5.0 + 1e-15 * 5);
    assert_false(val_equal(&r, &r2)); /* exact comparison */
    val r3 = mk_real(5.0);
    assert_true(val_equal(&r, &r3));
    val n1 = {.kind = VAL_NONE}, n2 = {.kind = VAL_NONE};
    assert_true(val_equal(&n1, &n2));
    val s1 = mk_str("abc"), s2 = mk_str("abc"), s3 = mk_str("abd");
    assert_true(val_equal(&s1, &s2));
    assert_false(val_equal(&s1, &s3));
    val t = mk_bool(true), f = mk_bool(false), t2 = mk_bool(true);
    assert_true(val_equal(&t, &t2));
    assert_false(val_equal(&t, &f));
    val u1 = mk_uint(UINT64_MAX), u2 = mk_uint(UINT64_MAX), u3 = mk_uint(UINT64_MAX - 1);
    assert_true(val_equal(&u1, &u2));
    assert_false(val_equal(&u1, &u3));
}

static void test_as_double(void **st)
{
    (void)st;
    double d = -1;
    val v = mk_bool(true);
    assert_true(val_as_double(&v, &d));
    assert_true(d == 1.0);
    v = mk_bool(false);
    assert_true(val_as_double(&v, &d));
    assert_true(d == 0.0);
    v = mk_int(-3);
    assert_true(val_as_double(&v, &d));
    assert_true(d == -3.0);
    v = mk_uint(UINT64_MAX);
    assert_true(val_as_double(&v, &d));
    assert_true(d == 18446744073709551616.0);
    v = mk_real(2.25);
    assert_true(val_as_double(&v, &d));
    assert_true(d == 2.25);
    d = 99;
    v = mk_str("1");
    assert_false(val_as_double(&v, &d));
    v = (val){.kind = VAL_NONE};
    assert_false(val_as_double(&v, &d));
    assert_true(d == 99);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quality_names),
        cmocka_unit_test(test_json_scalars),
        cmocka_unit_test(test_json_reals),
        cmocka_unit_test(test_json_real_roundtrip),
        cmocka_unit_test(test_json_strings),
        cmocka_unit_test(test_json_truncation),
        cmocka_unit_test(test_text),
        cmocka_unit_test(test_equal),
        cmocka_unit_test(test_as_double),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
