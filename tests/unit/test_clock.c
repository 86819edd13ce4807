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
    /* clk_mono_ns is CLOCK_MONOTONIC itself, not the wall clock (which can
     * jump): it agrees with clock_gettime(CLOCK_MONOTONIC) to within a
     * millisecond and is decades away from CLOCK_REALTIME. */
    struct timespec m, r;
    clock_gettime(CLOCK_MONOTONIC, &m);
    uint64_t mine = clk_mono_ns();
    clock_gettime(CLOCK_REALTIME, &r);
    int64_t mono = (int64_t)m.tv_sec * S + m.tv_nsec;
    int64_t real = (int64_t)r.tv_sec * S + r.tv_nsec;
    assert_true((int64_t)mine >= mono && (int64_t)mine - mono < S / 1000);
    assert_true(real - (int64_t)mine > 365LL * 86400 * S ||
                (int64_t)mine - real > 365LL * 86400 * S);
    int64_t wall = clk_real_ns();
    assert_true(wall >= real && wall - real < S / 1000);
    /* It never goes backwards, and it advances with time slept. */
    uint64_t prev = clk_mono_ns();
    for (int i = 0; i < 100000; i++) {
        uint64_t now = clk_mono_ns();
        assert_true(now >= prev);
        prev = now;
    }
    struct timespec nap = {0, 5000000};
    uint64_t before = clk_mono_ns();
    nanosleep(&nap, NULL);
    assert_true(clk_mono_ns() - before >= 5000000u);
}

static void test_parse_duration(void **st)
{
    (void)st;
    uint64_t ns;
    struct { const char *s; uint64_t ns; } ok[] = {
        {"100us", 100000}, {"500ms", 500000000}, {"1.5s", 1500000000},
        {"1m", 60000000000ull}, {"2h", 7200000000000ull},
        {"0.0000000015s", 2}, {"0s", 0},
    };
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        assert_int_equal(clk_parse_duration(ok[i].s, &ns), 0);
        assert_int_equal(ns, ok[i].ns);
    }
    const char *bad[] = {"", "5", "s", "-1s", "1.s", ".5s", "1d", "1 s",
                         "99999999999999999999h", "1e3s", "5ms ", NULL};
    for (size_t i = 0; bad[i]; i++)
        assert_int_equal(clk_parse_duration(bad[i], &ns), -1);
    assert_int_equal(clk_parse_duration(NULL, &ns), -1);
}

static void test_parse_time(void **st)
{
    (void)st;
    const int64_t now = 1764000000LL * S + 123456789;
    int64_t t;
    assert_int_equal(clk_parse_time("now", now, &t), 0);
    assert_int_equal(t, now);
    assert_int_equal(clk_parse_time("-90s", now, &t), 0);
    assert_int_equal(t, now - 90 * S);
    assert_int_equal(clk_parse_time("-2h", now, &t), 0);
    assert_int_equal(t, now - 7200 * S);
    assert_int_equal(clk_parse_time("-7d", now, &t), 0);
    assert_int_equal(t, now - 7 * 86400 * S);
    assert_int_equal(clk_parse_time("-1.5h", now, &t), 0);
    assert_int_equal(t, now - 5400 * S);
    assert_int_equal(clk_parse_time("2026-11-24", now, &t), 0);
    assert_int_equal(t, 1795478400LL * S);
    assert_int_equal(clk_parse_time("2026-11-24T10:00:00Z", now, &t), 0);
    assert_int_equal(t, 1795514400LL * S);
    assert_int_equal(clk_parse_time("2026-11-24T10:00:00.250+08:00", now, &t),
                     0);
    assert_int_equal(t, (1795514400LL - 8 * 3600) * S + 250000000);
    assert_int_equal(clk_parse_time("2026-11-24T10:00:00-05:30", now, &t), 0);
    assert_int_equal(t, (1795514400LL + 5 * 3600 + 1800) * S);
    const char *bad[] = {"", "yesterday", "-", "-2", "-2x", "+2h",
                         "2026-11-24T10:00:00",        /* no zone */
                         "2026-11-24T10:00",           /* no seconds */
                         "2026-13-01", "2026-11-24Z", "2026-11-24T10:00:00.Z",
                         "2026-11-24T10:00:00+8:00", "2026-11-24T10:00:00+08",
                         "2026-11-24T10:00:00+24:00", "2026-11-24T10:00:00Zx",
                         " 2026-11-24", "-1e9d", NULL};
    for (size_t i = 0; bad[i]; i++) {
        if (clk_parse_time(bad[i], now, &t) != -1)
            fail_msg("accepted '%s'", bad[i]);
    }
}

/* Found by the HTTP argument fuzzer: times beyond int64 nanoseconds
 * overflowed (undefined; in practice a wrapped, wrong instant) and
 * "-311111d" converted a double past 2^64 to an integer.  The edges of
 * what int64 ns hold are accepted exactly, one step past them refused. */
static void test_parse_time_range(void **st)
{
    (void)st;
    const int64_t now = 1764000000LL * S;
    int64_t t;
    assert_int_equal(clk_parse_time("1677-09-21T00:12:44Z", now, &t), 0);
    assert_int_equal(t, -9223372036LL * S);
    assert_int_equal(clk_parse_time("1677-09-21T00:12:43.145224192Z", now,
                                    &t), 0);
    assert_int_equal(t, INT64_MIN);
    assert_int_equal(clk_parse_time("2262-04-11T23:47:16.854775807Z", now,
                                    &t), 0);
    assert_int_equal(t, INT64_MAX);
    assert_int_equal(clk_parse_time("-106751d", now, &t), 0);
    assert_int_equal(t, now - 106751LL * 86400 * S);
    const char *bad[] = {"1677-09-21T00:12:43.145Z",
                         "1677-09-21T00:12:43.145224191Z",
                         "2262-04-11T23:47:16.854775808Z",
                         "2262-04-11T23:47:17Z", "2262-04-12",
                         "0000-01-01", "9999-12-31T23:59:59Z",
                         "2262-04-11T23:47:16-00:01",
                         "-106752d", "-311111d", "-1000000d", NULL};
    for (size_t i = 0; bad[i]; i++) {
        if (clk_parse_time(bad[i], now, &t) != -1)
            fail_msg("accepted '%s' as %lld", bad[i], (long long)t);
    }
    /* "now" at the very edge stays exact; relative times may not go
     * past it. */
    assert_int_equal(clk_parse_time("now", INT64_MIN, &t), 0);
    assert_int_equal(t, INT64_MIN);
    assert_int_equal(clk_parse_time("-1us", INT64_MIN, &t), -1);
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
        cmocka_unit_test(test_parse_duration),
        cmocka_unit_test(test_parse_time),
        cmocka_unit_test(test_parse_time_range),
        cmocka_unit_test(test_sleep_until),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
