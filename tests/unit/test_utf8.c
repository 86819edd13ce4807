/*
 * test_utf8.c - core/utf8: strict UTF-8 (RFC 3629).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/utf8.h"

static bool ok(const char *s)
{
    return utf8_valid(s, strlen(s));
}

static void test_valid_and_not(void **state)
{
    (void)state;
    assert_true(ok(""));
    assert_true(ok("plain ascii"));
    assert_true(ok("\xe6\xb2\xb9\xe6\xb8\xa9 \xc2\xb0" "C"));   /* 油温 °C */
    assert_true(ok("\xf0\x9f\x9a\xa2"));                       /* U+1F6A2 */
    assert_true(ok("\xf4\x8f\xbf\xbf"));                       /* U+10FFFF */
    assert_false(ok("\xc0\xaf"));             /* overlong '/' */
    assert_false(ok("\xe0\x80\xaf"));         /* overlong, 3 bytes */
    assert_false(ok("\xed\xa0\x80"));         /* surrogate U+D800 */
    assert_false(ok("\xf4\x90\x80\x80"));     /* above U+10FFFF */
    assert_false(ok("\xe6\xb2"));             /* cut short */
    assert_false(ok("\x80"));                 /* lone continuation */
    assert_false(ok("\xff"));
    assert_false(ok("a\xe6" "b"));            /* continuation missing */
    /* NUL is a character here, and a length cuts sequences short */
    assert_true(utf8_valid("a\0b", 3));
    assert_false(utf8_valid("\xe6\xb2\xb9", 2));
}

static void test_seq_and_put(void **state)
{
    (void)state;
    const unsigned char s[] = "\xe6\xb2\xb9";
    uint32_t cp = 0;
    assert_int_equal(utf8_seq(s, s + 3, &cp), 3);
    assert_int_equal(cp, 0x6CB9);
    assert_int_equal(utf8_seq(s, s + 2, &cp), 0);
    assert_int_equal(utf8_seq(s, s, NULL), 0);
    /* every code point round-trips, surrogates excepted */
    unsigned char buf[4];
    for (uint32_t c = 0; c <= 0x10FFFF; c += (c < 0x3000 ? 1 : 97)) {
        if (c >= 0xD800 && c <= 0xDFFF)
            continue;
        size_t n = utf8_put(c, buf);
        uint32_t back = 0;
        assert_int_equal(utf8_seq(buf, buf + n, &back), n);
        assert_int_equal(back, c);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_and_not),
        cmocka_unit_test(test_seq_and_put),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
