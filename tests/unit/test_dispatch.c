/*
 * test_dispatch.c - the consumer thread's module with a stub clock: every
 * change reaches every subscriber once, in queue order, recorder first;
 * timers and staleness run at their deadlines and say when the next one
 * is; the waker is the tag store's notify; the plain loop ends at once on
 * dispatch_wake.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/dispatch.h"

#define MS 1000000ull

static map_tag tags_a[3];
static map_group groups_a[2];
static map_plc plcs[1];
static map_station station;

/* One PLC: two groups (100 ms and 2 s), timeout 500 ms. */
static void setup_station(void)
{
    memset(tags_a, 0, sizeof tags_a);
    groups_a[0] = (map_group){.name = "fast", .period_ns = 100 * MS};
    groups_a[1] = (map_group){.name = "slow", .period_ns = 2000 * MS};
    tags_a[0] = (map_tag){.id = "x", .full_id = "a.x", .type = MAP_U16,
                          .scale = 1, .group = 0};
    tags_a[1] = (map_tag){.id = "y", .full_id = "a.y", .type = MAP_U16,
                          .scale = 1, .group = 0};
    tags_a[2] = (map_tag){.id = "z", .full_id = "a.z", .type = MAP_U16,
                          .scale = 1, .group = 1};
    plcs[0] = (map_plc){.id = "a", .tags = tags_a, .n_tags = 3,
                        .groups = groups_a, .n_groups = 2, .enabled = true,
                        .timeout_ns = 500 * MS};
    station = (map_station){.id = "s", .plcs = plcs, .n_plcs = 1};
}

static void publish(tag_store *ts, uint32_t idx, int64_t v, int64_t ts_ns)
{
    val_sample s = {.v = {.kind = VAL_INT, .i = v}, .q = Q_GOOD,
                    .ts_ns = ts_ns};
    tag_store_publish(ts, &idx, &s, 1);
}

/* What the subscribers saw, in order. */
typedef struct {
    int who;
    uint32_t tag;
    int64_t v;
    val_quality q;
} seen_t;
static seen_t seen[40000];
static size_t n_seen, batches[3];

static void sub(int who, const tag_change *c, size_t n)
{
    batches[who]++;
    for (size_t i = 0; i < n && n_seen < sizeof seen / sizeof *seen; i++)
        seen[n_seen++] = (seen_t){who, c[i].tag, c[i].s.v.i, c[i].s.q};
}
static void sub1(void *ctx, const tag_change *c, size_t n)
{
    (void)ctx;
    sub(1, c, n);
}
static void sub2(void *ctx, const tag_change *c, size_t n)
{
    (void)ctx;
    sub(2, c, n);
}

static void reset_seen(void)
{
    n_seen = 0;
    memset(batches, 0, sizeof batches);
}

static void test_every_change_in_order_first_subscriber_first(void **state)
{
    (void)state;
    setup_station();
    reset_seen();
    tag_store *ts = tag_store_new(&station, 65536);
    dispatch *d = dispatch_new(&station, ts);
    assert_non_null(d);
    assert_int_equal(dispatch_subscribe(d, "recorder", sub1, NULL), 0);
    assert_int_equal(dispatch_subscribe(d, "web", sub2, NULL), 0);
    /* 10,000 changes: more than one batch. */
    for (int i = 0; i < 10000; i++)
        publish(ts, (uint32_t)(i % 2), i, 1000 + i);
    assert_int_equal(dispatch_run_due(d, 1, 1000), 10000);
    assert_int_equal(n_seen, 20000);
    assert_true(batches[1] >= 3);
    assert_int_equal(batches[1], batches[2]);
    /* Within a batch subscriber 1 sees it all before subscriber 2; across
     * both, each sees 0..9999 in order exactly once. */
    int64_t next[3] = {0, 0, 0};
    int last_who = 0;
    size_t switches = 0;
    for (size_t i = 0; i < n_seen; i++) {
        assert_int_equal(seen[i].v, next[seen[i].who]++);
        assert_int_equal(seen[i].tag, (uint32_t)(seen[i].v % 2));
        if (seen[i].who != last_who)
            switches++;
        last_who = seen[i].who;
    }
    assert_int_equal(next[1], 10000);
    assert_int_equal(next[2], 10000);
    assert_int_equal(switches, 2 * batches[1]);  /* ->1, ->2 per batch */
    assert_int_equal(seen[0].who, 1);
    /* Nothing queued: nothing handed out. */
    assert_int_equal(dispatch_run_due(d, 2, 1001), 0);
    dispatch_stats s;
    dispatch_get_stats(d, &s);
    assert_int_equal(s.changes, 10000);
    assert_int_equal(s.batches, batches[1]);
    dispatch_free(d);
    tag_store_free(ts);
}

static int fired[2];
static uint64_t fired_at[2][8];
static void timer0(void *ctx, uint64_t now)
{
    (void)ctx;
    fired_at[0][fired[0]++ & 7] = now;
}
static void timer1(void *ctx, uint64_t now)
{
    (void)ctx;
    fired_at[1][fired[1]++ & 7] = now;
}

static void test_timers_and_next_deadline(void **state)
{
    (void)state;
    setup_station();
    memset(fired, 0, sizeof fired);
    tag_store *ts = tag_store_new(&station, 16);
    dispatch *d = dispatch_new(&station, ts);
    assert_int_equal(dispatch_every(d, "summary", 5000 * MS, timer0, NULL), 0);
    assert_int_equal(dispatch_every(d, "heartbeat", 60000 * MS, timer1, NULL),
                     0);
    assert_int_equal(dispatch_every(d, "zero", 0, timer1, NULL), -1);
    uint64_t t0 = 1000 * MS;
    dispatch_run_due(d, t0, 0);
    assert_int_equal(fired[0], 0);
    /* Staleness is checked every quarter of the shortest allowance
     * (3 x 100 ms + 500 ms = 800 ms -> 200 ms): that is the next deadline. */
    assert_int_equal(dispatch_next_deadline(d), t0 + 200 * MS);
    dispatch_run_due(d, t0 + 4999 * MS, 0);
    assert_int_equal(fired[0], 0);
    dispatch_run_due(d, t0 + 5000 * MS, 0);
    assert_int_equal(fired[0], 1);
    assert_int_equal(fired_at[0][0], t0 + 5000 * MS);
    /* A late run does not burst: the next is a period after this one. */
    dispatch_run_due(d, t0 + 17000 * MS, 0);
    assert_int_equal(fired[0], 2);
    dispatch_run_due(d, t0 + 17100 * MS, 0);
    assert_int_equal(fired[0], 2);
    assert_int_equal(dispatch_next_deadline(d), t0 + 17200 * MS);
    dispatch_run_due(d, t0 + 22000 * MS, 0);
    assert_int_equal(fired[0], 3);
    assert_int_equal(fired[1], 0);
    dispatch_run_due(d, t0 + 60000 * MS, 0);
    assert_int_equal(fired[1], 1);
    dispatch_free(d);
    tag_store_free(ts);
}

/* An owner-set timer: unset at first, runs once at its deadline, again
 * only when set again (from inside its own run too); wake hooks run at
 * every pass, after the subscribers. */
static dispatch *moved_d;
static int moved_timer;
static uint64_t moved_rearm;
static void moved(void *ctx, uint64_t now)
{
    (void)ctx;
    fired_at[0][fired[0]++ & 7] = now;
    if (moved_rearm) {
        dispatch_timer_set(moved_d, moved_timer, moved_rearm);
        moved_rearm = 0;
    }
}
static int hook_runs, hook_saw;
static void hook(void *ctx, uint64_t now)
{
    (void)ctx;
    (void)now;
    hook_runs++;
    hook_saw = n_seen;
}

static void test_owner_timer_and_wake_hook(void **state)
{
    (void)state;
    setup_station();
    reset_seen();
    memset(fired, 0, sizeof fired);
    hook_runs = 0;
    tag_store *ts = tag_store_new(&station, 16);
    dispatch *d = dispatch_new(&station, ts);
    moved_d = d;
    dispatch_subscribe(d, "recorder", sub1, NULL);
    moved_timer = dispatch_timer(d, "alarms", moved, NULL);
    assert_true(moved_timer >= 0);
    assert_int_equal(dispatch_on_wake(d, "journal", hook, NULL), 0);
    uint64_t t0 = 1000 * MS;
    dispatch_run_due(d, t0, 0);
    assert_int_equal(hook_runs, 1);
    /* unset: only staleness is due */
    assert_int_equal(dispatch_next_deadline(d), t0 + 200 * MS);
    dispatch_timer_set(d, moved_timer, t0 + 50 * MS);
    assert_int_equal(dispatch_next_deadline(d), t0 + 50 * MS);
    dispatch_run_due(d, t0 + 49 * MS, 0);
    assert_int_equal(fired[0], 0);
    moved_rearm = t0 + 70 * MS;
    dispatch_run_due(d, t0 + 60 * MS, 0);
    assert_int_equal(fired[0], 1);
    assert_int_equal(dispatch_next_deadline(d), t0 + 70 * MS);
    dispatch_run_due(d, t0 + 80 * MS, 0);
    assert_int_equal(fired[0], 2);
    assert_int_equal(fired_at[0][1], t0 + 80 * MS);
    dispatch_run_due(d, t0 + 150 * MS, 0);
    assert_int_equal(fired[0], 2);          /* not set again: no run */
    /* the hook runs after the subscribers have had the pass's changes */
    publish(ts, 0, 9, 1);
    dispatch_run_due(d, t0 + 160 * MS, 0);
    assert_int_equal(n_seen, 1);
    assert_int_equal(hook_saw, 1);
    assert_int_equal(hook_runs, 6);
    /* each part's calls (and CPU time) by name */
    dispatch_part parts[4];
    assert_int_equal(dispatch_get_parts(d, parts, 4), 3);
    assert_string_equal(parts[0].name, "recorder");
    assert_int_equal(parts[0].calls, 1);
    assert_string_equal(parts[1].name, "alarms");
    assert_int_equal(parts[1].calls, 2);
    assert_string_equal(parts[2].name, "journal");
    assert_int_equal(parts[2].calls, 6);
    assert_int_equal(dispatch_get_parts(d, parts, 1), 3);
    dispatch_free(d);
    tag_store_free(ts);
}

/* A reload's moves: subscribers retargeted in place, the dispatcher on a
 * new store (its waker with it), and work deferred to the end of a
 * pass. */
static int ctx_a, ctx_b, later_runs, later_saw;
static void *sub_ctx_seen;
static void sub_ctx(void *ctx, const tag_change *c, size_t n)
{
    (void)c;
    (void)n;
    sub_ctx_seen = ctx;
}
static void later_fn(void *ctx, uint64_t now)
{
    (void)now;
    later_runs++;
    later_saw = (int)n_seen;
    (void)ctx;
}
static int woken;
static void waker(void *ctx)
{
    (void)ctx;
    woken++;
}

static void test_reload_moves(void **state)
{
    (void)state;
    setup_station();
    reset_seen();
    tag_store *ts = tag_store_new(&station, 16);
    dispatch *d = dispatch_new(&station, ts);
    dispatch_subscribe(d, "recorder", sub1, NULL);
    dispatch_subscribe(d, "board", sub_ctx, &ctx_a);
    dispatch_set_waker(d, waker, NULL);
    assert_int_equal(dispatch_retarget(d, &ctx_a, &ctx_b), 1);
    publish(ts, 0, 1, 1);
    dispatch_run_due(d, 1000 * MS, 0);
    assert_ptr_equal(sub_ctx_seen, &ctx_b);
    dispatch_part parts[4];
    assert_int_equal(dispatch_get_parts(d, parts, 4), 2);
    assert_string_equal(parts[1].name, "board");   /* in its place */

    /* deferred: after the pass, once */
    later_runs = 0;
    dispatch_later(d, later_fn, NULL);
    publish(ts, 0, 2, 2);
    dispatch_run_due(d, 1010 * MS, 0);
    assert_int_equal(later_runs, 1);
    assert_int_equal(later_saw, 2);                /* the pass came first */
    dispatch_run_due(d, 1020 * MS, 0);
    assert_int_equal(later_runs, 1);

    /* a new store: its changes come through, the old one wakes no one */
    tag_store *ts2 = tag_store_new(&station, 16);
    woken = 0;
    dispatch_set_station(d, &station, ts2);
    assert_true(woken >= 1);                       /* a pass to catch up */
    int w = woken;
    publish(ts, 0, 3, 3);
    assert_int_equal(woken, w);
    publish(ts2, 1, 4, 4);
    assert_int_equal(woken, w + 1);
    size_t before = n_seen;
    dispatch_run_due(d, 1030 * MS, 0);
    assert_int_equal(n_seen, before + 1);
    assert_int_equal(seen[n_seen - 1].tag, 1);
    assert_int_equal(seen[n_seen - 1].v, 4);
    dispatch_free(d);
    tag_store_free(ts2);
    tag_store_free(ts);
}

static void test_staleness_from_the_map(void **state)
{
    (void)state;
    setup_station();
    reset_seen();
    tag_store *ts = tag_store_new(&station, 16);
    dispatch *d = dispatch_new(&station, ts);
    dispatch_subscribe(d, "recorder", sub1, NULL);
    int64_t real0 = 1700000000LL * 1000000000LL;
    publish(ts, 0, 5, real0);               /* fast group: 800 ms allowed */
    publish(ts, 2, 6, real0);               /* slow group: 6.5 s allowed */
    uint64_t m = 1;
    dispatch_run_due(d, m, real0);
    assert_int_equal(n_seen, 2);
    dispatch_run_due(d, m + 400 * MS, real0 + 800 * (int64_t)MS);
    assert_int_equal(n_seen, 2);            /* exactly at the allowance */
    dispatch_run_due(d, m + 600 * MS, real0 + 801 * (int64_t)MS);
    assert_int_equal(n_seen, 3);
    assert_int_equal(seen[2].tag, 0);
    assert_int_equal(seen[2].q, Q_STALE);
    assert_int_equal(seen[2].v, 5);         /* the last value, now stale */
    dispatch_run_due(d, m + 800 * MS, real0 + 6500 * (int64_t)MS);
    assert_int_equal(n_seen, 3);
    dispatch_run_due(d, m + 1000 * MS, real0 + 6501 * (int64_t)MS);
    assert_int_equal(n_seen, 4);
    assert_int_equal(seen[3].tag, 2);
    assert_int_equal(seen[3].q, Q_STALE);
    dispatch_stats s;
    dispatch_get_stats(d, &s);
    assert_int_equal(s.stale_marked, 2);
    dispatch_free(d);
    tag_store_free(ts);
}

static void test_waker_is_the_store_notify(void **state)
{
    (void)state;
    setup_station();
    woken = 0;
    tag_store *ts = tag_store_new(&station, 16);
    dispatch *d = dispatch_new(&station, ts);
    dispatch_set_waker(d, waker, NULL);
    publish(ts, 0, 1, 10);
    publish(ts, 1, 2, 10);                  /* queue not empty: no wake */
    assert_int_equal(woken, 1);
    dispatch_run_due(d, 1, 10);
    publish(ts, 0, 3, 20);
    assert_int_equal(woken, 2);
    dispatch_free(d);
    tag_store_free(ts);
}

typedef struct {
    dispatch *d;
    atomic_int stop;
    int rc;
} loop_arg;

static int loop_got;          /* set on the loop's thread, read atomically */
static int64_t loop_value;

static void loop_sub(void *ctx, const tag_change *c, size_t n)
{
    (void)ctx;
    loop_value = c[n - 1].s.v.i;
    __atomic_store_n(&loop_got, 1, __ATOMIC_RELEASE);
}

static void *loop_thread(void *arg)
{
    loop_arg *a = arg;
    a->rc = dispatch_loop(a->d, &a->stop);
    return NULL;
}

static void test_plain_loop_wakes_and_stops(void **state)
{
    (void)state;
    setup_station();
    reset_seen();
    tag_store *ts = tag_store_new(&station, 16);
    dispatch *d = dispatch_new(&station, ts);
    dispatch_subscribe(d, "recorder", loop_sub, NULL);
    loop_arg a = {.d = d, .rc = -2};
    atomic_init(&a.stop, 0);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, loop_thread, &a), 0);
    struct timespec pause = {0, 20 * 1000000};
    nanosleep(&pause, NULL);
    publish(ts, 0, 42, clk_real_ns());
    /* The loop is woken by the publish, not by its 250 ms fallback: wait
     * at most 2 s for it, though it takes microseconds. */
    for (int i = 0; i < 2000 && !__atomic_load_n(&loop_got, __ATOMIC_ACQUIRE);
         i++) {
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
    }
    uint64_t t0 = clk_mono_ns();
    atomic_store(&a.stop, 1);
    dispatch_wake(d);
    pthread_join(th, NULL);
    uint64_t took = clk_mono_ns() - t0;
    assert_int_equal(a.rc, 0);
    assert_int_equal(loop_got, 1);
    assert_int_equal(loop_value, 42);
    /* dispatch_wake ends the wait at once, not at the 250 ms fallback. */
    assert_true(took < 200 * MS);
    dispatch_free(d);
    tag_store_free(ts);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_change_in_order_first_subscriber_first),
        cmocka_unit_test(test_timers_and_next_deadline),
        cmocka_unit_test(test_owner_timer_and_wake_hook),
        cmocka_unit_test(test_staleness_from_the_map),
        cmocka_unit_test(test_reload_moves),
        cmocka_unit_test(test_waker_is_the_store_notify),
        cmocka_unit_test(test_plain_loop_wakes_and_stops),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
