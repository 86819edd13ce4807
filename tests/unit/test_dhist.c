/*
 * test_dhist.c - the latency histogram's buckets and quantiles.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "core/dhist.h"

static void test_small_values_exact(void **state)
{
    (void)state;
    dhist h;
    memset(&h, 0, sizeof h);
    assert_int_equal(dhist_quantile(&h, 0.5), 0);
    for (uint64_t v = 0; v < 31; v++)
        dhist_add(&h, v);
    assert_int_equal(h.n, 31);
    assert_int_equal(dhist_quantile(&h, 0.0), 0);
    assert_int_equal(dhist_quantile(&h, 0.5), 15);
    assert_int_equal(dhist_quantile(&h, 1.0), 30);
    assert_int_equal(h.max_us, 30);
}

static void test_relative_error(void **state)
{
    (void)state;
    /* For any single value, the reported quantile is >= the value and
     * within 1/16 above it (or capped at the maximum seen). */
    for (uint64_t v = 32; v < 5000000; v = v * 13 / 11 + 1) {
        dhist h;
        memset(&h, 0, sizeof h);
        dhist_add(&h, v);
        dhist_add(&h, v * 100);
        uint64_t q = dhist_quantile(&h, 0.0);
        assert_true(q >= v);
        assert_true(q <= v + v / 16 + 1);
    }
}

static void test_percentiles_and_merge(void **state)
{
    (void)state;
    dhist a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    for (int i = 0; i < 990; i++)
        dhist_add(&a, 10);
    for (int i = 0; i < 10; i++)
        dhist_add(&b, 1000);
    dhist_merge(&a, &b);
    assert_int_equal(a.n, 1000);
    assert_int_equal(dhist_quantile(&a, 0.5), 10);
    assert_int_equal(dhist_quantile(&a, 0.98), 10);
    uint64_t p999 = dhist_quantile(&a, 0.999);
    assert_true(p999 >= 1000 && p999 <= 1000);  /* capped at max */
    /* Huge values land in the last bucket without overflow. */
    dhist_add(&a, UINT64_MAX / 2);
    assert_int_equal(dhist_quantile(&a, 1.0), UINT64_MAX / 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small_values_exact),
        cmocka_unit_test(test_relative_error),
        cmocka_unit_test(test_percentiles_and_merge),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
