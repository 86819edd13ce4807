/*
 * test_backoff.c - the shared back-off: doubling from min to max, every
 * delay within [step/2, step], reset, and jitter that spreads clients.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/backoff.h"

#define MS 1000000ull

static void test_doubling_and_bounds(void **state)
{
    (void)state;
    backoff b;
    backoff_init(&b, 250 * MS, 5000 * MS, 42);
    uint64_t steps[] = {250, 500, 1000, 2000, 4000, 5000, 5000, 5000};
    for (size_t i = 0; i < sizeof steps / sizeof *steps; i++) {
        uint64_t d = backoff_next(&b);
        assert_int_equal(b.step_ns, steps[i] * MS);
        assert_true(d >= steps[i] * MS / 2);
        assert_true(d <= steps[i] * MS);
    }
    backoff_reset(&b);
    uint64_t d = backoff_next(&b);
    assert_int_equal(b.step_ns, 250 * MS);
    assert_true(d >= 125 * MS && d <= 250 * MS);
}

static void test_max_below_min_and_overflow(void **state)
{
    (void)state;
    backoff b;
    backoff_init(&b, 10 * MS, 1 * MS, 1);
    assert_int_equal(b.max_ns, 10 * MS);
    backoff_init(&b, 1, UINT64_MAX, 1);
    for (int i = 0; i < 200; i++)
        backoff_next(&b);                 /* doubling must not wrap */
    assert_int_equal(b.step_ns, UINT64_MAX);
}

static void test_jitter_spreads(void **state)
{
    (void)state;
    /* Eight clients failing together: their first retries differ. */
    uint64_t first[8];
    for (int c = 0; c < 8; c++) {
        backoff b;
        backoff_init(&b, 1000 * MS, 60000 * MS, (uint64_t)c * 7919 + 1);
        first[c] = backoff_next(&b);
    }
    int distinct = 0;
    for (int i = 0; i < 8; i++) {
        int seen = 0;
        for (int j = 0; j < i; j++)
            seen |= first[j] == first[i];
        distinct += !seen;
    }
    assert_true(distinct >= 7);
    backoff b;
    backoff_init(&b, 1, 2, 3);
    assert_int_equal(backoff_jitter(&b, 5, 5), 5);
    for (int i = 0; i < 1000; i++) {
        uint64_t v = backoff_jitter(&b, 10, 20);
        assert_true(v >= 10 && v < 20);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_doubling_and_bounds),
        cmocka_unit_test(test_max_below_min_and_overflow),
        cmocka_unit_test(test_jitter_spreads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
