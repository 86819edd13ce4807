/*
 * test_ring.c - the bounded growing FIFO: order across wrap and growth,
 * both policies at the bound, and memory given back after a crisis.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "core/ring.h"

static void test_order_across_growth_and_wrap(void **state)
{
    (void)state;
    ring r;
    assert_int_equal(ring_init(&r, sizeof(uint32_t), 4, 1000), 0);
    assert_int_equal(ring_bytes(&r), 4 * sizeof(uint32_t));
    uint32_t next_in = 0, next_out = 0, out[7];
    /* Interleave pushes and pops so the head wraps while the ring grows. */
    for (int round = 0; round < 200; round++) {
        for (int k = 0; k < 5; k++, next_in++)
            assert_int_equal(ring_push(&r, &next_in), 0);
        size_t n = ring_pop(&r, out, 3);
        assert_int_equal(n, 3);
        for (size_t i = 0; i < n; i++)
            assert_int_equal(out[i], next_out++);
    }
    assert_int_equal(ring_len(&r), next_in - next_out);
    assert_true(r.cap >= ring_len(&r) && r.cap <= 1000);
    uint32_t *at = ring_at(&r, 0);
    assert_non_null(at);
    assert_int_equal(*at, next_out);
    assert_null(ring_at(&r, ring_len(&r)));
    while (ring_len(&r)) {
        size_t n = ring_pop(&r, out, 7);
        for (size_t i = 0; i < n; i++)
            assert_int_equal(out[i], next_out++);
    }
    assert_int_equal(next_out, next_in);
    ring_free(&r);
}

static void test_refuse_newest_at_bound(void **state)
{
    (void)state;
    ring r;
    assert_int_equal(ring_init(&r, sizeof(int), 2, 10), 0);
    for (int i = 0; i < 10; i++)
        assert_int_equal(ring_push(&r, &i), 0);
    assert_true(ring_full(&r));
    int x = 99;
    assert_int_equal(ring_push(&r, &x), -1);
    assert_int_equal(ring_len(&r), 10);
    assert_int_equal(r.cap, 10);          /* grew to the bound, not past it */
    int out[10];
    assert_int_equal(ring_peek(&r, out, 10), 10);
    for (int i = 0; i < 10; i++)
        assert_int_equal(out[i], i);      /* the oldest were kept */
    assert_int_equal(ring_len(&r), 10);   /* peek removes nothing */
    ring_free(&r);
}

static void test_evict_oldest_at_bound(void **state)
{
    (void)state;
    ring r;
    assert_int_equal(ring_init(&r, sizeof(int), 1, 3), 0);
    int old = -1;
    for (int i = 0; i < 3; i++)
        assert_int_equal(ring_push_evict(&r, &i, &old), 0);
    assert_int_equal(old, -1);
    int x = 3;
    assert_int_equal(ring_push_evict(&r, &x, &old), 1);
    assert_int_equal(old, 0);
    x = 4;
    assert_int_equal(ring_push_evict(&r, &x, NULL), 1);
    int out[3];
    assert_int_equal(ring_pop(&r, out, 3), 3);
    assert_int_equal(out[0], 2);
    assert_int_equal(out[1], 3);
    assert_int_equal(out[2], 4);
    ring_free(&r);
}

static void test_shrinks_after_crisis(void **state)
{
    (void)state;
    ring r;
    assert_int_equal(ring_init(&r, 64, 16, 100000), 0);
    unsigned char e[64];
    memset(e, 7, sizeof e);
    for (int i = 0; i < 50000; i++)
        assert_int_equal(ring_push(&r, e), 0);
    assert_true(ring_bytes(&r) >= 50000u * 64u);
    ring_drop(&r, 49999);
    assert_true(ring_bytes(&r) >= 50000u * 64u);  /* not empty yet */
    ring_drop(&r, 1);
    assert_int_equal(ring_len(&r), 0);
    assert_int_equal(ring_bytes(&r), 16 * 64);    /* given back */
    /* A queue that only ever needs a little more than min keeps its
     * buffer: no allocation on every drain. */
    for (int i = 0; i < 40; i++)
        assert_int_equal(ring_push(&r, e), 0);
    size_t grown = ring_bytes(&r);
    ring_drop(&r, 40);
    assert_int_equal(ring_bytes(&r), grown);
    ring_free(&r);
    ring_free(&r);                                /* twice: harmless */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order_across_growth_and_wrap),
        cmocka_unit_test(test_refuse_newest_at_bound),
        cmocka_unit_test(test_evict_oldest_at_bound),
        cmocka_unit_test(test_shrinks_after_crisis),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
