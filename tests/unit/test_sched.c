/*
 * test_sched.c - poll-group deadlines driven by a stub clock: no drift,
 * missed deadlines counted exactly and skipped in O(1), ties to the lowest
 * index, several groups interleaving in deadline order, and as many groups
 * as a map allows (more refused, never silently dropped).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "acquire/sched.h"

#define MS 1000000ull
#define S 1000000000ull

/* The stub clock: tests own "now" and pass it in. */
static uint64_t now;

/* xorshift64: deterministic jitter independent of libc's rand(). */
static uint64_t rng = 88172645463325252ull;
static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void test_empty(void **st)
{
    (void)st;
    sched s;
    sched_init(&s, NULL, 0, 5);
    uint64_t d = 77;
    assert_int_equal(sched_next(&s, &d), -1);
    assert_int_equal(d, 77);
}

static void test_init(void **st)
{
    (void)st;
    sched s;
    uint64_t p[3] = {100 * MS, 2 * S, 0};
    sched_init(&s, p, 3, 12345);
    assert_int_equal(s.n, 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(s.g[i].next_ns, 12345);
        assert_int_equal(s.g[i].missed, 0);
        assert_int_equal(s.g[i].runs, 0);
    }
    assert_int_equal(s.g[0].period_ns, 100 * MS);
    assert_int_equal(s.g[2].period_ns, 1); /* zero period never divides by 0 */
}

/* As many groups as a map may give a PLC: all kept, and all run.  The
 * scheduler used to keep 16 and drop the rest without a word, so a PLC with
 * 18 groups had two groups' tags never polled by the daemon. */
static void test_map_limit_all_run(void **st)
{
    (void)st;
    assert_int_equal(SCHED_MAX_GROUPS, MAP_GROUPS_MAX);
    sched s;
    uint64_t p[MAP_GROUPS_MAX];
    for (int i = 0; i < MAP_GROUPS_MAX; i++)
        p[i] = (100 + 10 * (uint64_t)i) * MS;
    assert_int_equal(sched_init(&s, p, MAP_GROUPS_MAX, 7), 0);
    assert_int_equal(s.n, MAP_GROUPS_MAX);
    assert_int_equal(s.g[MAP_GROUPS_MAX - 1].period_ns, 730 * MS);
    assert_int_equal(s.g[MAP_GROUPS_MAX - 1].next_ns, 7);

    /* 18 groups of 100, 110, ... 270 ms: in the first period every one of
     * them runs once, in index order (all due at 7). */
    assert_int_equal(sched_init(&s, p, 18, 7), 0);
    assert_int_equal(s.n, 18);
    for (int i = 0; i < 18; i++) {
        uint64_t d;
        assert_int_equal(sched_next(&s, &d), i);
        assert_int_equal(d, 7);
        assert_int_equal(sched_done(&s, i, 8), 0);
    }
    /* Then group 0 at 107 ms, the rest later, every one on its own grid. */
    uint64_t d;
    assert_int_equal(sched_next(&s, &d), 0);
    assert_int_equal(d, 7 + 100 * MS);
    assert_int_equal(s.g[17].next_ns, 7 + 270 * MS);
    for (int i = 0; i < 18; i++)
        assert_int_equal(s.g[i].runs, 1);
}

/* Beyond the limit: refused with E2BIG, never truncated, and the schedule
 * is left empty rather than holding a subset of the groups. */
static void test_beyond_limit_refused(void **st)
{
    (void)st;
    sched s;
    uint64_t many[MAP_GROUPS_MAX + 1];
    for (int i = 0; i < MAP_GROUPS_MAX + 1; i++)
        many[i] = S;
    assert_int_equal(sched_init(&s, many, 2, 0), 0);
    assert_int_equal(s.n, 2);
    errno = 0;
    assert_int_equal(sched_init(&s, many, MAP_GROUPS_MAX + 1, 0), -1);
    assert_int_equal(errno, E2BIG);
    assert_int_equal(s.n, 0);
    assert_int_equal(sched_next(&s, NULL), -1);
}

/* A poll that finishes within its period: next deadline is one period on,
 * nothing missed; finishing exactly on the next deadline is not a miss. */
static void test_on_time(void **st)
{
    (void)st;
    sched s;
    uint64_t p = 100 * MS;
    sched_init(&s, &p, 1, 1000 * MS);
    uint64_t d;
    assert_int_equal(sched_next(&s, &d), 0);
    assert_int_equal(d, 1000 * MS);

    assert_int_equal(sched_done(&s, 0, 1000 * MS + 5 * MS), 0);
    assert_int_equal(s.g[0].next_ns, 1100 * MS);

    /* Ends exactly on the next deadline: still due, not missed. */
    assert_int_equal(sched_done(&s, 0, 1200 * MS), 0);
    assert_int_equal(s.g[0].next_ns, 1200 * MS);
    assert_int_equal(s.g[0].missed, 0);
    assert_int_equal(s.g[0].runs, 2);

    /* Finishing before its own deadline (called early) still advances by
     * exactly one period. */
    assert_int_equal(sched_done(&s, 0, 1100 * MS), 0);
    assert_int_equal(s.g[0].next_ns, 1300 * MS);
}

/* Overruns of 1, 2 and 10 periods miss exactly that many deadlines. */
static void test_overrun_counts(void **st)
{
    (void)st;
    const uint64_t P = 100 * MS, T0 = 10 * S;
    struct { uint64_t took; uint64_t missed; uint64_t next; } c[] = {
        {P - 1, 0, T0 + P},             /* within the period */
        {P, 0, T0 + P},                 /* ends on the next deadline */
        {P + 1, 1, T0 + 2 * P},         /* overran 1 period by 1 ns */
        {2 * P, 1, T0 + 2 * P},         /* ends on deadline 2: 1 missed */
        {2 * P + 1, 2, T0 + 3 * P},     /* overran 2 periods */
        {10 * P + 1, 10, T0 + 11 * P},  /* overran 10 periods */
        {10 * P + P / 2, 10, T0 + 11 * P},
        {11 * P, 10, T0 + 11 * P},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        sched s;
        sched_init(&s, &P, 1, T0);
        assert_int_equal(sched_done(&s, 0, T0 + c[i].took), c[i].missed);
        assert_int_equal(s.g[0].missed, c[i].missed);
        assert_int_equal(s.g[0].next_ns, c[i].next);
        assert_int_equal(s.g[0].runs, 1);
        /* The next poll, on time, misses nothing more. */
        assert_int_equal(sched_done(&s, 0, s.g[0].next_ns + 1), 0);
        assert_int_equal(s.g[0].missed, c[i].missed);
        assert_int_equal(s.g[0].next_ns, c[i].next + P);
    }
}

/* A 1 us group after a 1 s stall: one call, a million misses, and it must
 * be fast (a per-deadline loop would take 10^12 iterations here). */
static void test_long_stall_is_o1(void **st)
{
    (void)st;
    sched s;
    uint64_t p = 1;
    sched_init(&s, &p, 1, 0);
    assert_int_equal(sched_done(&s, 0, 1000 * S), 1000 * S - 1);
    assert_int_equal(s.g[0].next_ns, 1000 * S);
    uint64_t us = 1000;
    sched_init(&s, &us, 1, 5);
    assert_int_equal(sched_done(&s, 0, 5 + S + 1), 1000000);
    assert_int_equal(s.g[0].next_ns, 5 + S + us);
}

/* A million cycles with random completion times inside the period: every
 * deadline is exactly start + k * period, nothing missed. */
static void test_no_drift(void **st)
{
    (void)st;
    sched s;
    const uint64_t P = 10 * MS, T0 = 123456789;
    sched_init(&s, &P, 1, T0);
    for (uint64_t k = 0; k < 1000000; k++) {
        uint64_t d;
        assert_int_equal(sched_next(&s, &d), 0);
        if (d != T0 + k * P)
            fail_msg("cycle %llu: deadline %llu", (unsigned long long)k,
                     (unsigned long long)d);
        now = d + 1 + rnd() % (P - 1); /* woke late, then polled */
        if (sched_done(&s, 0, now) != 0)
            fail_msg("cycle %llu missed", (unsigned long long)k);
    }
    assert_int_equal(s.g[0].next_ns, T0 + 1000000 * P);
    assert_int_equal(s.g[0].missed, 0);
    assert_int_equal(s.g[0].runs, 1000000);
}

/* Random overruns: deadlines stay on the start + k * period grid and the
 * miss count equals the grid points skipped. */
static void test_random_overruns(void **st)
{
    (void)st;
    sched s;
    const uint64_t P = 7 * MS, T0 = 999;
    sched_init(&s, &P, 1, T0);
    uint64_t expect_missed = 0;
    for (int i = 0; i < 100000; i++) {
        uint64_t d = s.g[0].next_ns;
        now = d + rnd() % (5 * P);
        /* The first grid point at or after now, after d. */
        uint64_t k = (now - T0 + P - 1) / P;
        uint64_t next = T0 + k * P;
        if (next <= d)
            next = d + P;
        uint64_t want = (next - d) / P - 1;
        assert_int_equal(sched_done(&s, 0, now), want);
        expect_missed += want;
        assert_int_equal(s.g[0].next_ns, next);
        assert_int_equal((s.g[0].next_ns - T0) % P, 0);
    }
    assert_int_equal(s.g[0].missed, expect_missed);
}

static void test_ties_lowest_index(void **st)
{
    (void)st;
    sched s;
    uint64_t p[4] = {S, S, S, S};
    sched_init(&s, p, 4, 100);
    uint64_t d;
    assert_int_equal(sched_next(&s, &d), 0);
    assert_int_equal(d, 100);
    sched_done(&s, 0, 100);
    assert_int_equal(sched_next(&s, &d), 1);
    sched_done(&s, 1, 100);
    assert_int_equal(sched_next(&s, &d), 2);
    sched_done(&s, 2, 100);
    assert_int_equal(sched_next(&s, &d), 3);
    assert_int_equal(d, 100);
    sched_done(&s, 3, 100);
    /* All at 100 + S again: lowest index first. */
    assert_int_equal(sched_next(&s, &d), 0);
    assert_int_equal(d, 100 + S);
    /* Deadline pointer is optional. */
    assert_int_equal(sched_next(&s, NULL), 0);
}

/* fast = 100 ms, slow = 250 ms: the sequence of (group, deadline) over one
 * second is the merge of both grids, ties going to the fast group. */
static void test_two_groups_interleave(void **st)
{
    (void)st;
    sched s;
    uint64_t p[2] = {100 * MS, 250 * MS};
    sched_init(&s, p, 2, 0);
    static const struct { int g; uint64_t at; } want[] = {
        {0, 0}, {1, 0}, {0, 100}, {0, 200}, {1, 250}, {0, 300}, {0, 400},
        {0, 500}, {1, 500}, {0, 600}, {0, 700}, {1, 750}, {0, 800},
        {0, 900}, {0, 1000}, {1, 1000},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        uint64_t d;
        int g = sched_next(&s, &d);
        assert_int_equal(g, want[i].g);
        assert_int_equal(d, want[i].at * MS);
        assert_int_equal(sched_done(&s, g, d + 3 * MS), 0);
    }
    assert_int_equal(s.g[0].runs, 11);
    assert_int_equal(s.g[1].runs, 5);
}

/* A slow group's overrun delays the fast one: the fast group's misses are
 * counted when it next runs, and the slow one keeps its own grid. */
static void test_overrun_affects_only_late_group(void **st)
{
    (void)st;
    sched s;
    uint64_t p[2] = {100 * MS, 1 * S};
    sched_init(&s, p, 2, 0);
    uint64_t d;
    assert_int_equal(sched_next(&s, &d), 0);
    sched_done(&s, 0, 10 * MS);
    assert_int_equal(sched_next(&s, &d), 1);
    assert_int_equal(sched_done(&s, 1, 350 * MS), 0); /* slow poll took 350 ms */
    assert_int_equal(s.g[1].next_ns, 1 * S);
    assert_int_equal(sched_next(&s, &d), 0);
    assert_int_equal(d, 100 * MS);              /* late: it is now 350 ms */
    assert_int_equal(sched_done(&s, 0, 360 * MS), 2); /* 200 and 300 missed */
    assert_int_equal(s.g[0].next_ns, 400 * MS);
    assert_int_equal(s.g[0].missed, 2);
    assert_int_equal(s.g[1].missed, 0);
}

static void test_bad_group(void **st)
{
    (void)st;
    sched s;
    uint64_t p = S;
    sched_init(&s, &p, 1, 0);
    assert_int_equal(sched_done(&s, 1, 5 * S), 0);
    assert_int_equal(sched_done(&s, -1, 5 * S), 0);
    assert_int_equal(s.g[0].runs, 0);
    assert_int_equal(s.g[0].next_ns, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_init),
        cmocka_unit_test(test_map_limit_all_run),
        cmocka_unit_test(test_beyond_limit_refused),
        cmocka_unit_test(test_on_time),
        cmocka_unit_test(test_overrun_counts),
        cmocka_unit_test(test_long_stall_is_o1),
        cmocka_unit_test(test_no_drift),
        cmocka_unit_test(test_random_overruns),
        cmocka_unit_test(test_ties_lowest_index),
        cmocka_unit_test(test_two_groups_interleave),
        cmocka_unit_test(test_overrun_affects_only_late_group),
        cmocka_unit_test(test_bad_group),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
