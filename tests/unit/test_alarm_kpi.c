/*
 * test_alarm_kpi.c - the alarm KPIs (alarm/kpi.h) from made-up journal
 * records with exact expectations: a flood of 100 alarms in 60 s, the
 * flood threshold (10 in 10 minutes is none, 11 is one), alarms per 10
 * minutes, time to acknowledge, the top lists, standing and stale alarms,
 * what is shelved and out of service at the end, and the bucket bound.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "alarm/kpi.h"

#define S 1000000000LL
#define MIN (60 * S)
/* a 10-minute boundary */
#define T0 (1800000000LL / 600 * 600 * S)

static journal_rec rec(const char *id, alarm_event ev, alarm_state from,
                       alarm_state to, int64_t ts)
{
    journal_rec r;
    memset(&r, 0, sizeof r);
    snprintf(r.id, sizeof r.id, "%s", id);
    r.event = ev;
    r.from_state = from;
    r.to.state = to;
    r.ts_ns = ts;
    r.priority = MAP_PRIO_LOW;
    return r;
}

static journal_rec activation(const char *id, int64_t ts, map_priority p)
{
    journal_rec r = rec(id, ALARM_EV_ACTIVE, ALARM_NORMAL, ALARM_ACTIVE_UNACK,
                        ts);
    r.to.active_ns = ts;
    r.priority = p;
    return r;
}

static void test_flood_of_100_in_a_minute(void **st)
{
    (void)st;
    kpi *k = kpi_new(T0, T0 + 3600 * S);
    assert_non_null(k);
    char id[32];
    for (int i = 0; i < 100; i++) {
        snprintf(id, sizeof id, "plc.t%d.high", i);
        journal_rec r = activation(id, T0 + 10 * S + i * 600000000LL,
                                   (map_priority)(i % MAP_PRIO_N));
        assert_int_equal(kpi_add(k, &r), 0);
    }
    const kpi_report *r = kpi_finish(k);
    assert_non_null(r);
    assert_int_equal(r->annunciated, 100);
    assert_int_equal(r->n_floods, 1);
    assert_int_equal(r->n_floods_listed, 1);
    assert_int_equal(r->floods[0].alarms, 100);
    assert_int_equal(r->floods[0].peak, 100);
    assert_int_equal(r->floods[0].start_ns, T0 + 10 * S);
    assert_int_equal(r->floods[0].end_ns, T0 + 10 * S + 99 * 600000000LL);
    assert_false(r->floods[0].ongoing);
    assert_int_equal(r->flood_ns, 99 * 600000000LL);
    assert_int_equal(r->per_10min_max, 100);
    assert_int_equal(r->flood_buckets, 1);
    assert_true(fabs(r->per_10min - 100.0 / 6) < 1e-9);
    assert_int_equal(r->n_buckets, 6);
    assert_int_equal(r->bucket0_ns, T0);
    assert_int_equal(r->buckets[0], 100);
    for (int b = 1; b < 6; b++)
        assert_int_equal(r->buckets[b], 0);
    for (int p = 0; p < MAP_PRIO_N; p++)
        assert_int_equal(r->by_priority[p], 25);
    assert_int_equal(r->n_frequent, KPI_TOP);
    assert_int_equal(r->frequent[0].count, 1);
    assert_string_equal(r->frequent[0].id, "plc.t0.high");  /* ties by id */
    assert_int_equal(r->active, 100);
    assert_int_equal(r->unacked, 100);
    assert_int_equal(r->n_standing, KPI_TOP);
    /* the oldest activation stands longest */
    assert_string_equal(r->standing[0].id, "plc.t0.high");
    assert_int_equal(r->standing[0].since_ns, T0 + 10 * S);
    assert_int_equal(r->standing[0].for_ns, 3590 * S);
    assert_int_equal(r->stale, 0);
    kpi_free(k);
}

/* Exactly 10 in 10 minutes is no flood; the 11th makes one, and one that
 * is still a flood at the end of the range says so. */
static void test_flood_threshold(void **st)
{
    (void)st;
    kpi *k = kpi_new(T0, T0 + 20 * MIN);
    for (int i = 0; i < 10; i++) {
        journal_rec r = activation("a", T0 + i * MIN, MAP_PRIO_HIGH);
        assert_int_equal(kpi_add(k, &r), 0);
    }
    /* the first leaves the window exactly when the 11th comes */
    journal_rec r = activation("a", T0 + 10 * MIN, MAP_PRIO_HIGH);
    assert_int_equal(kpi_add(k, &r), 0);
    const kpi_report *rp = kpi_finish(k);
    assert_int_equal(rp->n_floods, 0);
    assert_int_equal(rp->frequent[0].count, 11);
    assert_int_equal(rp->n_frequent, 1);
    kpi_free(k);

    k = kpi_new(T0, T0 + 20 * MIN);
    for (int i = 0; i < 11; i++) {
        r = activation("a", T0 + 15 * MIN + i * S, MAP_PRIO_HIGH);
        assert_int_equal(kpi_add(k, &r), 0);
    }
    rp = kpi_finish(k);
    assert_int_equal(rp->n_floods, 1);
    assert_int_equal(rp->floods[0].alarms, 11);
    assert_int_equal(rp->floods[0].start_ns, T0 + 15 * MIN);
    assert_true(rp->floods[0].ongoing);
    /* 11 in the bucket 10..20 min */
    assert_int_equal(rp->flood_buckets, 1);
    kpi_free(k);
}

static void test_acks_tops_and_end_state(void **st)
{
    (void)st;
    kpi *k = kpi_new(T0, T0 + 3600 * S);
    /* seeded: b active since a day and a half, c shelved, d out of
     * service, e active since 2 minutes before from */
    journal_rec r = activation("b", T0 - 36 * 3600 * S, MAP_PRIO_HIGH);
    assert_int_equal(kpi_seed(k, &r), 0);
    r = rec("c", ALARM_EV_SHELVE, ALARM_ACTIVE_UNACK, ALARM_ACTIVE_ACK,
            T0 - MIN);
    r.to.flags = ALARM_SHELVED;
    assert_int_equal(kpi_seed(k, &r), 0);
    r = rec("d", ALARM_EV_DISABLE, ALARM_NORMAL, ALARM_NORMAL, T0 - MIN);
    r.to.flags = ALARM_OUT_OF_SERVICE;
    assert_int_equal(kpi_seed(k, &r), 0);
    r = activation("e", T0 - 2 * MIN, MAP_PRIO_LOW);
    assert_int_equal(kpi_seed(k, &r), 0);
    /* acks: e after 2 min 30 s (active before the range), f after 30 s,
     * g cleared first and acked 90 s after its activation, h by a shelve
     * after 10 s, i by a reset after 60 s */
    r = rec("e", ALARM_EV_ACK, ALARM_ACTIVE_UNACK, ALARM_ACTIVE_ACK,
            T0 + 30 * S);
    r.to.active_ns = T0 - 2 * MIN;
    assert_int_equal(kpi_add(k, &r), 0);
    r = activation("f", T0 + 100 * S, MAP_PRIO_MEDIUM);
    assert_int_equal(kpi_add(k, &r), 0);
    r = rec("f", ALARM_EV_ACK, ALARM_ACTIVE_UNACK, ALARM_ACTIVE_ACK,
            T0 + 130 * S);
    r.to.active_ns = T0 + 100 * S;
    assert_int_equal(kpi_add(k, &r), 0);
    r = activation("g", T0 + 200 * S, MAP_PRIO_LOW);
    assert_int_equal(kpi_add(k, &r), 0);
    r = rec("g", ALARM_EV_CLEAR, ALARM_ACTIVE_UNACK, ALARM_CLEARED_UNACK,
            T0 + 250 * S);
    r.to.active_ns = T0 + 200 * S;
    assert_int_equal(kpi_add(k, &r), 0);
    r = rec("g", ALARM_EV_ACK, ALARM_CLEARED_UNACK, ALARM_NORMAL,
            T0 + 290 * S);
    assert_int_equal(kpi_add(k, &r), 0);        /* active_ns 0 once normal */
    r = activation("h", T0 + 300 * S, MAP_PRIO_LOW);
    assert_int_equal(kpi_add(k, &r), 0);
    r = rec("h", ALARM_EV_SHELVE, ALARM_ACTIVE_UNACK, ALARM_ACTIVE_ACK,
            T0 + 310 * S);
    r.to.active_ns = T0 + 300 * S;
    r.to.flags = ALARM_SHELVED;
    assert_int_equal(kpi_add(k, &r), 0);
    r = activation("i", T0 + 400 * S, MAP_PRIO_CRITICAL);
    assert_int_equal(kpi_add(k, &r), 0);
    r = rec("i", ALARM_EV_RESET, ALARM_ACTIVE_UNACK, ALARM_NORMAL,
            T0 + 460 * S);
    assert_int_equal(kpi_add(k, &r), 0);
    /* an ack of an acked alarm (a comment-like record) is not timed */
    r = rec("f", ALARM_EV_COMMENT, ALARM_ACTIVE_ACK, ALARM_ACTIVE_ACK,
            T0 + 500 * S);
    r.to.active_ns = T0 + 100 * S;
    assert_int_equal(kpi_add(k, &r), 0);
    /* an activation while shelved is not annunciated */
    r = activation("c", T0 + 600 * S, MAP_PRIO_LOW);
    r.to.flags = ALARM_SHELVED;
    assert_int_equal(kpi_add(k, &r), 0);
    /* chattering: j 3 times, k once */
    for (int n = 0; n < 3; n++) {
        r = rec("j", ALARM_EV_CHATTER, ALARM_ACTIVE_UNACK, ALARM_ACTIVE_UNACK,
                T0 + (700 + n) * S);
        assert_int_equal(kpi_add(k, &r), 0);
    }
    r = rec("k", ALARM_EV_CHATTER, ALARM_ACTIVE_UNACK, ALARM_ACTIVE_UNACK,
            T0 + 800 * S);
    assert_int_equal(kpi_add(k, &r), 0);
    r = rec("d", ALARM_EV_DISABLE, ALARM_NORMAL, ALARM_NORMAL, T0 + 900 * S);
    r.to.flags = ALARM_OUT_OF_SERVICE;
    assert_int_equal(kpi_add(k, &r), 0);

    const kpi_report *rp = kpi_finish(k);
    assert_int_equal(rp->acks, 5);
    /* 10, 30, 60, 90, 150 s: nearest rank p50 = 60, p90 = 150 */
    assert_true(rp->ack_p50_s == 60.0);
    assert_true(rp->ack_p90_s == 150.0);
    assert_int_equal(rp->annunciated, 4);       /* f g h i */
    assert_int_equal(rp->unannunciated, 1);     /* c while shelved */
    assert_int_equal(rp->by_priority[MAP_PRIO_CRITICAL], 1);
    assert_int_equal(rp->by_priority[MAP_PRIO_MEDIUM], 1);
    assert_int_equal(rp->by_priority[MAP_PRIO_LOW], 2);
    assert_int_equal(rp->n_chattering, 2);
    assert_string_equal(rp->chattering[0].id, "j");
    assert_int_equal(rp->chattering[0].count, 3);
    assert_string_equal(rp->chattering[1].id, "k");
    assert_int_equal(rp->shelve_actions, 1);
    assert_int_equal(rp->disable_actions, 1);
    /* at the end: b (standing 37 h: stale), e, f, h, c active; shelved c
     * and h; d out of service */
    assert_int_equal(rp->shelved, 2);
    assert_int_equal(rp->out_of_service, 1);
    assert_int_equal(rp->stale, 1);
    assert_string_equal(rp->standing[0].id, "b");
    assert_int_equal(rp->standing[0].for_ns, 37 * 3600 * S);
    assert_string_equal(rp->standing[1].id, "e");
    assert_int_equal(rp->n_floods, 0);
    kpi_free(k);
}

static void test_long_range_has_no_bucket_list(void **st)
{
    (void)st;
    kpi *k = kpi_new(T0, T0 + 100LL * 86400 * S);
    journal_rec r = activation("a", T0 + 50LL * 86400 * S, MAP_PRIO_LOW);
    assert_int_equal(kpi_add(k, &r), 0);
    const kpi_report *rp = kpi_finish(k);
    assert_null(rp->buckets);
    assert_int_equal(rp->n_buckets, 14400);
    assert_int_equal(rp->per_10min_max, 1);
    assert_true(isnan(rp->ack_p50_s));
    kpi_free(k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flood_of_100_in_a_minute),
        cmocka_unit_test(test_flood_threshold),
        cmocka_unit_test(test_acks_tops_and_end_state),
        cmocka_unit_test(test_long_range_has_no_bucket_list),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
