/*
 * test_clock.c - RFC 3339 time stamps of known instants, and that sleeping
 * until a monotonic deadline never wakes early.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "core/clock.h"

#define S 1000000000LL

static void fmt_is(int64_t ns, const char *want)
{
    char buf[32];
    memset(buf, 'x', sizeof buf);
    clk_format_rfc3339(ns, buf, sizeof buf);
    assert_string_equal(buf, want);
}

static void test_epoch(void **st)
{
    (void)st;
    fmt_is(0, "1970-01-01T00:00:00.000Z");
    fmt_is(1, "1970-01-01T00:00:00.000Z");
    fmt_is(1000000, "1970-01-01T00:00:00.001Z");
}

static void test_known_instants(void **st)
{
    (void)st;
    /* The example in clock.h. */
    fmt_is(1795519309 * S + 123000000, "2026-11-24T11:21:49.123Z");
    /* Leap day of a leap year, last millisecond of the day. */
    fmt_is(1709251199 * S + 999000000, "2024-02-29T23:59:59.999Z");
    /* The day after 29 February 2000 (a leap year by the 400 rule). */
    fmt_is(951868800 * S, "2000-03-01T00:00:00.000Z");
}

static void test_millis_truncate(void **st)
{
    (void)st;
    /* .999999999 s stays in the same second: truncated, never rounded up. */
    fmt_is(1709251199 * S + 999999999, "2024-02-29T23:59:59.999Z");
    fmt_is(1709251199 * S + 1999999, "2024-02-29T23:59:59.001Z");
}

static void test_before_epoch(void **st)
{
    (void)st;
    fmt_is(-1, "1969-12-31T23:59:59.999Z");
    fmt_is(-S, "1969-12-31T23:59:59.000Z");
    fmt_is(-2208988800LL * S + 500000000, "1900-01-01T00:00:00.500Z");
}

static void test_small_buffer(void **st)
{
    (void)st;
    char buf[25];
    clk_format_rfc3339(1709251199 * S, buf, sizeof buf);
    assert_string_equal(buf, "2024-02-29T23:59:59.000Z");
    char small[11];
    clk_format_rfc3339(1709251199 * S, small, sizeof small);
    assert_string_equal(small, "2024-02-29");
    clk_format_rfc3339(0, NULL, 0); /* must not touch the buffer */
}

static void test_extreme_values(void **st)
{
    (void)st;
    char buf[32];
    /* No undefined behaviour at the ends of the range, whatever the text. */
    clk_format_rfc3339(INT64_MIN, buf, sizeof buf);
    assert_int_equal(strlen(buf), 24);
    clk_format_rfc3339(INT64_MAX, buf, sizeof buf);
    assert_int_equal(strlen(buf), 24);
    assert_string_equal(buf, "2262-04-11T23:47:16.854Z");
}

static void test_real_matches_time(void **st)
{
    (void)st;
    time_t before = time(NULL);
    int64_t r = clk_real_ns();
    time_t after = time(NULL);
    assert_true(r / S >= (int64_t)before - 1);
    assert_true(r / S <= (int64_t)after + 1);
}

static void test_mono_monotonic(void **st)
{
    (void)st;
    uint64_t prev = clk_mono_ns();
    for (int i = 0; i < 100000; i++) {
        uint64_t now = clk_mono_ns();
        assert_true(now >= prev);
        prev = now;
    }
}

static void test_sleep_until(void **st)
{
    (void)st;
    for (int i = 0; i < 20; i++) {
        uint64_t deadline = clk_mono_ns() + 2000000; /* 2 ms */
        clk_sleep_until(deadline);
        assert_true(clk_mono_ns() >= deadline);
    }
    /* A deadline in the past returns at once. */
    uint64_t t0 = clk_mono_ns();
    clk_sleep_until(t0 - 1000000);
    assert_true(clk_mono_ns() - t0 < 500000000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_epoch),
        cmocka_unit_test(test_known_instants),
        cmocka_unit_test(test_millis_truncate),
        cmocka_unit_test(test_before_epoch),
        cmocka_unit_test(test_small_buffer),
        cmocka_unit_test(test_extreme_values),
        cmocka_unit_test(test_real_matches_time),
        cmocka_unit_test(test_mono_monotonic),
        cmocka_unit_test(test_sleep_until),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
