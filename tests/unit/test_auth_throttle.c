/*
 * test_auth_throttle.c - login throttling (auth/throttle.c) with a stub
 * clock: times are passed in, so the 15-minute window and the waits are
 * exact.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "auth/throttle.h"

#define S 1000000000LL
#define T0 (1764000000LL * S)

/* Five failures within the window start a 30 s wait; the first four
 * start none.  The wait is counted down to the second, rounded up. */
static void test_five_failures(void **state)
{
    (void)state;
    throttle *t = throttle_new(0);
    assert_non_null(t);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(throttle_wait(t, "u:alice", T0 + i * S), 0);
        assert_int_equal(throttle_fail(t, "u:alice", T0 + i * S), 0);
    }
    assert_int_equal(throttle_fail(t, "u:alice", T0 + 4 * S), 30);
    assert_int_equal(throttle_wait(t, "u:alice", T0 + 4 * S), 30);
    assert_int_equal(throttle_wait(t, "u:alice", T0 + 4 * S + 1), 30);
    assert_int_equal(throttle_wait(t, "u:alice", T0 + 33 * S + 1), 1);
    assert_int_equal(throttle_wait(t, "u:alice", T0 + 34 * S), 0);
    /* Another key is untouched. */
    assert_int_equal(throttle_wait(t, "u:bob", T0 + 5 * S), 0);
    assert_int_equal(throttle_count(t), 1);
    throttle_free(t);
    throttle_free(NULL);
}

/* Each failure after a wait doubles it: 30, 60, 120, 240, 480, 900 (the
 * cap); the cap is as long as the window, so a failure after waiting it
 * out starts afresh (no wait; four more, then 30 s). */
static void test_growing_wait(void **state)
{
    (void)state;
    throttle *t = throttle_new(0);
    int64_t now = T0;
    for (int i = 0; i < 4; i++)
        throttle_fail(t, "a:10.0.0.9", now += S);
    static const unsigned want[] = {30, 60, 120, 240, 480, 900, 0, 0, 0, 0,
                                    30};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        unsigned w = throttle_fail(t, "a:10.0.0.9", now += S);
        if (w != want[i])
            fail_msg("failure %zu after the first four: wait %u, want %u",
                     i + 1, w, want[i]);
        assert_int_equal(throttle_wait(t, "a:10.0.0.9", now), w);
        now += (int64_t)w * S;          /* waits it out, fails again */
        assert_int_equal(throttle_wait(t, "a:10.0.0.9", now), 0);
    }
    throttle_free(t);
}

/* 15 minutes without a failure forget everything: a failure then starts
 * no wait, and five more start 30 s again, not the doubled value. */
static void test_window_forgets(void **state)
{
    (void)state;
    throttle *t = throttle_new(0);
    for (int i = 0; i < 6; i++)
        throttle_fail(t, "u:alice", T0 + i * 100 * S);   /* 30 then 60 */
    int64_t last = T0 + 500 * S;
    assert_int_equal(throttle_wait(t, "u:alice", last + 59 * S), 1);
    /* The window: failures older than 15 min no longer count... */
    int64_t later = last + 15 * 60 * S;
    assert_int_equal(throttle_wait(t, "u:alice", later), 0);
    throttle_prune(t, later - 1);
    assert_int_equal(throttle_count(t), 1);
    throttle_prune(t, later);
    assert_int_equal(throttle_count(t), 0);
    for (int i = 0; i < 6; i++)
        throttle_fail(t, "u:alice", T0 + i * 100 * S);
    assert_int_equal(throttle_fail(t, "u:alice", later), 0);
    for (int i = 1; i < 4; i++)
        assert_int_equal(throttle_fail(t, "u:alice", later + i * S), 0);
    assert_int_equal(throttle_fail(t, "u:alice", later + 4 * S), 30);
    throttle_free(t);
}

/* Failures spread thinner than 5 per 15 minutes never throttle (five
 * take 4 x 226 s = 904 s). */
static void test_spread_failures(void **state)
{
    (void)state;
    throttle *t = throttle_new(0);
    for (int i = 0; i < 100; i++)
        assert_int_equal(throttle_fail(t, "u:x", T0 + i * 226 * S), 0);
    throttle_free(t);
}

/* A success forgets the key's failures. */
static void test_success_resets(void **state)
{
    (void)state;
    throttle *t = throttle_new(0);
    for (int i = 0; i < 4; i++)
        throttle_fail(t, "u:alice", T0 + i * S);
    throttle_ok(t, "u:alice");
    throttle_ok(t, "u:nobody");
    assert_int_equal(throttle_fail(t, "u:alice", T0 + 5 * S), 0);
    assert_int_equal(throttle_count(t), 1);
    throttle_free(t);
}

/* A window of its own (auth.throttle_window): 2 min counts failures for
 * 2 min, and the waits double from 30 s up to 2 min, not 15 (a failure
 * after waiting that out starts afresh); a 4.5 s window (shorter than the
 * first wait) makes the wait 5 s, the window rounded up, and after it the
 * next failure starts afresh. */
static void test_window_option(void **state)
{
    (void)state;
    throttle *t = throttle_new(120 * S);
    int64_t now = T0;
    for (int i = 0; i < 4; i++)
        assert_int_equal(throttle_fail(t, "u:alice", now += S), 0);
    static const unsigned want[] = {30, 60, 120, 0};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        assert_int_equal(throttle_fail(t, "u:alice", now += S), want[i]);
        now += (int64_t)want[i] * S;
    }
    /* Four failures spread over more than the window start nothing. */
    throttle_prune(t, now + 121 * S);
    assert_int_equal(throttle_count(t), 0);
    for (int i = 0; i < 8; i++)
        assert_int_equal(throttle_fail(t, "u:bob", now + i * 31 * S), 0);
    throttle_free(t);

    t = throttle_new(4500000000LL);
    now = T0;
    for (int i = 0; i < 4; i++)
        assert_int_equal(throttle_fail(t, "a:192.0.2.1", now += 100000000),
                         0);
    assert_int_equal(throttle_fail(t, "a:192.0.2.1", now += 100000000), 5);
    assert_int_equal(throttle_wait(t, "a:192.0.2.1", now + 4 * S), 1);
    now += 5 * S;
    assert_int_equal(throttle_wait(t, "a:192.0.2.1", now), 0);
    assert_int_equal(throttle_fail(t, "a:192.0.2.1", now), 0);
    throttle_free(t);
}

/* Beyond THROTTLE_KEYS_MAX keys the one failed longest ago goes; memory
 * stays bounded however many addresses try. */
static void test_bounded(void **state)
{
    (void)state;
    throttle *t = throttle_new(0);
    char key[32];
    for (int i = 0; i < THROTTLE_KEYS_MAX + 50; i++) {
        snprintf(key, sizeof key, "a:10.%d.%d.%d", i >> 16, (i >> 8) & 255,
                 i & 255);
        throttle_fail(t, key, T0 + i);
    }
    assert_int_equal(throttle_count(t), THROTTLE_KEYS_MAX);
    throttle_free(t);
}

static void test_address_keys(void **state)
{
    (void)state;
    static const char *const v[][2] = {
        {"192.0.2.7", "192.0.2.7"},
        {"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"},
        {"2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"},
        {"::ffff:192.0.2.7", "192.0.2.7"},
        {"::1", "::/64"},
        {"not an address", "not an address"},
        {"", ""},
    };
    char out[THROTTLE_KEY_MAX];
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        throttle_address_key(v[i][0], out, sizeof out);
        assert_string_equal(out, v[i][1]);
    }
    throttle_address_key(NULL, out, sizeof out);
    assert_string_equal(out, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_five_failures),
        cmocka_unit_test(test_growing_wait),
        cmocka_unit_test(test_window_forgets),
        cmocka_unit_test(test_spread_failures),
        cmocka_unit_test(test_window_option),
        cmocka_unit_test(test_success_resets),
        cmocka_unit_test(test_bounded),
        cmocka_unit_test(test_address_keys),
    };
    return cmocka_run_group_tests_name("auth_throttle", tests, NULL, NULL);
}
