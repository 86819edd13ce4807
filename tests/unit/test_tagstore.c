/*
 * test_tagstore.c - change detection, deadbands, qualities, staleness and
 * the bounded change queue of the tag store.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "core/tagstore.h"

static map_tag tags_a[3], tags_b[1];
static map_group groups_b[1];
static map_plc plcs[2];
static map_station station;

static void setup_station(void)
{
    memset(tags_a, 0, sizeof tags_a);
    memset(tags_b, 0, sizeof tags_b);
    tags_a[0] = (map_tag){.id = "level", .full_id = "a.level", .type = MAP_F32,
                          .deadband = 0.5, .scale = 1};
    tags_a[1] = (map_tag){.id = "count", .full_id = "a.count", .type = MAP_U32,
                          .scale = 1};
    tags_a[2] = (map_tag){.id = "run", .full_id = "a.run", .type = MAP_BOOL,
                          .scale = 1};
    tags_b[0] = (map_tag){.id = "x", .full_id = "b.x", .type = MAP_U16,
                          .scale = 1};
    plcs[0] = (map_plc){.id = "a", .tags = tags_a, .n_tags = 3};
    groups_b[0] = (map_group){.name = "fast", .period_ns = 1000, .sample = true};
    plcs[1] = (map_plc){.id = "b", .tags = tags_b, .n_tags = 1,
                        .groups = groups_b, .n_groups = 1};
    station = (map_station){.id = "s", .plcs = plcs, .n_plcs = 2};
}

static val_sample real(double d, int64_t ts)
{
    return (val_sample){.v = {.kind = VAL_REAL, .d = d}, .q = Q_GOOD,
                        .ts_ns = ts};
}

static val_sample integer(int64_t i, int64_t ts)
{
    return (val_sample){.v = {.kind = VAL_INT, .i = i}, .q = Q_GOOD,
                        .ts_ns = ts};
}

static int notified;
static void on_notify(void *ctx)
{
    (void)ctx;
    notified++;
}

static void publish1(tag_store *ts, uint32_t idx, val_sample s)
{
    tag_store_publish(ts, &idx, &s, 1);
}

/* A reload's hand-over: a new store takes a kept PLC's values from the
 * old one, quietly, and never over what its poller already published. */
static void test_adopt(void **state)
{
    (void)state;
    setup_station();
    tag_store *old = tag_store_new(&station, 64);
    /* the new station has the PLCs the other way round */
    map_plc swapped[2] = {plcs[1], plcs[0]};
    map_station st2 = {.id = "s", .plcs = swapped, .n_plcs = 2};
    tag_store *ts = tag_store_new(&st2, 64);
    assert_non_null(old);
    assert_non_null(ts);
    publish1(old, 0, real(1.0, 10));
    publish1(old, 1, integer(5, 10));
    /* a.run never polled in the old store; b.x in neither */
    publish1(ts, 2, integer(7, 20));  /* a.count: the poller was faster */
    tag_change c[8];
    assert_int_equal(tag_store_drain(ts, c, 8), 1);
    assert_int_equal(tag_store_adopt(ts, 1, old, 0), 1);
    val_sample s;
    tag_store_get(ts, 1, &s);         /* a.level carried over */
    assert_int_equal(s.q, Q_GOOD);
    assert_true(s.v.d == 1.0 && s.ts_ns == 10);
    tag_store_get(ts, 2, &s);         /* a.count kept its newer value */
    assert_int_equal(s.v.i, 7);
    tag_store_get(ts, 3, &s);         /* a.run still without a sample */
    assert_int_equal(s.q, Q_INIT);
    assert_int_equal(tag_store_drain(ts, c, 8), 0);   /* not news */
    /* the same value again is not news either: the deadband compares
     * with what was carried over */
    publish1(ts, 1, real(1.2, 30));
    assert_int_equal(tag_store_drain(ts, c, 8), 0);
    /* PLCs of different sizes are not the same PLC */
    assert_int_equal(tag_store_adopt(ts, 0, old, 0), 0);
    tag_store_free(ts);
    tag_store_free(old);
}

static void test_indexes(void **state)
{
    (void)state;
    setup_station();
    tag_store *ts = tag_store_new(&station, 8);
    assert_non_null(ts);
    assert_int_equal(tag_store_count(ts), 4);
    assert_int_equal(tag_store_base(ts, 0), 0);
    assert_int_equal(tag_store_base(ts, 1), 3);
    assert_int_equal(tag_store_find(ts, "b.x"), 3);
    assert_int_equal(tag_store_find(ts, "a.count"), 1);
    assert_int_equal(tag_store_find(ts, "nope"), -1);
    assert_string_equal(tag_store_plc(ts, 3)->id, "b");
    val_sample s;
    assert_int_equal(tag_store_get(ts, 2, &s), 0);
    assert_int_equal(s.q, Q_INIT);
    assert_int_equal(tag_store_get(ts, 4, &s), -1);
    tag_store_free(ts);
    tag_store_free(NULL);
}

static void test_deadband(void **state)
{
    (void)state;
    setup_station();
    tag_store *ts = tag_store_new(&station, 64);
    tag_change out[16];
    publish1(ts, 0, real(10.0, 1));   /* first value: news */
    publish1(ts, 0, real(10.4, 2));   /* 0.4 < 0.5: not news */
    publish1(ts, 0, real(10.49, 3));  /* still within 0.5 of 10.0 */
    publish1(ts, 0, real(10.5, 4));   /* reaches the deadband: news */
    publish1(ts, 0, real(10.5, 5));   /* same: not news */
    publish1(ts, 0, real(10.1, 6));   /* 0.4 back: not news */
    publish1(ts, 0, real(9.9, 7));    /* 0.6 from 10.5: news */
    size_t n = tag_store_drain(ts, out, 16);
    assert_int_equal(n, 3);
    assert_true(out[0].s.v.d == 10.0 && out[0].s.ts_ns == 1);
    assert_true(out[1].s.v.d == 10.5 && out[1].s.ts_ns == 4);
    assert_true(out[2].s.v.d == 9.9 && out[2].s.ts_ns == 7);
    val_sample cur;
    tag_store_get(ts, 0, &cur);
    assert_true(cur.v.d == 9.9);
    /* Without a deadband every change is news, and only changes. */
    publish1(ts, 1, integer(5, 1));
    publish1(ts, 1, integer(5, 2));
    publish1(ts, 1, integer(6, 3));
    n = tag_store_drain(ts, out, 16);
    assert_int_equal(n, 2);
    assert_int_equal(out[1].s.v.i, 6);
    assert_int_equal(out[1].tag, 1);
    tag_store_stats st;
    tag_store_get_stats(ts, &st);
    assert_int_equal(st.published, 10);
    assert_int_equal(st.changes, 5);
    assert_int_equal(st.dropped, 0);
    tag_store_free(ts);
}

static void test_quality_changes(void **state)
{
    (void)state;
    setup_station();
    tag_store *ts = tag_store_new(&station, 64);
    tag_change out[16];
    publish1(ts, 0, real(10.0, 1));
    tag_store_drain(ts, out, 16);
    /* A failure is news once, however long it lasts, and carries no value. */
    tag_store_fail_plc(ts, 0, Q_COMM, 0, 100);
    tag_store_fail_plc(ts, 0, Q_COMM, 0, 200);
    size_t n = tag_store_drain(ts, out, 16);
    assert_int_equal(n, 3);  /* all three tags of PLC a, once */
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(out[i].s.q, Q_COMM);
        assert_int_equal(out[i].s.v.kind, VAL_NONE);
        assert_int_equal(out[i].s.ts_ns, 100);
        assert_true(out[i].tag < 3);
    }
    /* Exception codes: a different code is a different condition. */
    tag_store_fail_plc(ts, 0, Q_DEVICE, 2, 300);
    tag_store_fail_plc(ts, 0, Q_DEVICE, 2, 301);
    tag_store_fail_plc(ts, 0, Q_DEVICE, 4, 302);
    n = tag_store_drain(ts, out, 16);
    assert_int_equal(n, 6);
    assert_int_equal(out[0].s.exc, 2);
    assert_int_equal(out[5].s.exc, 4);
    /* Recovery: the same value as before the outage is news again. */
    publish1(ts, 0, real(10.0, 400));
    n = tag_store_drain(ts, out, 16);
    assert_int_equal(n, 1);
    assert_int_equal(out[0].s.q, Q_GOOD);
    /* PLC b was untouched. */
    val_sample b;
    tag_store_get(ts, 3, &b);
    assert_int_equal(b.q, Q_INIT);
    tag_store_free(ts);
}

static void test_stale(void **state)
{
    (void)state;
    setup_station();
    tag_store *ts = tag_store_new(&station, 64);
    tag_change out[16];
    tag_store_set_max_age(ts, 0, 1000);
    publish1(ts, 0, real(1.0, 10000));
    publish1(ts, 0, real(1.1, 10500)); /* within deadband, but refreshes */
    tag_store_drain(ts, out, 16);
    assert_int_equal(tag_store_mark_stale(ts, 11500), 0);
    assert_int_equal(tag_store_mark_stale(ts, 11501), 1);
    assert_int_equal(tag_store_mark_stale(ts, 12000), 0); /* once */
    size_t n = tag_store_drain(ts, out, 16);
    assert_int_equal(n, 1);
    assert_int_equal(out[0].s.q, Q_STALE);
    assert_true(out[0].s.v.kind == VAL_REAL && out[0].s.v.d == 1.0);
    assert_int_equal(out[0].s.ts_ns, 11501);
    publish1(ts, 0, real(1.0, 13000));
    n = tag_store_drain(ts, out, 16);
    assert_int_equal(n, 1);
    assert_int_equal(out[0].s.q, Q_GOOD);
    /* Tags without a max age never go stale. */
    publish1(ts, 1, integer(1, 1));
    assert_int_equal(tag_store_mark_stale(ts, 1000000000), 1); /* tag 0 */
    val_sample c;
    tag_store_get(ts, 1, &c);
    assert_int_equal(c.q, Q_GOOD);
    tag_store_get(ts, 0, &c);
    assert_int_equal(c.q, Q_STALE);
    tag_store_free(ts);
}

static void test_queue_bound_and_notify(void **state)
{
    (void)state;
    setup_station();
    tag_store *ts = tag_store_new(&station, 4);
    tag_store_set_notify(ts, on_notify, NULL);
    notified = 0;
    for (int i = 0; i < 6; i++)
        publish1(ts, 1, integer(i, i));
    assert_int_equal(notified, 1); /* only when the queue was empty */
    tag_change out[8];
    size_t n = tag_store_drain(ts, out, 8);
    assert_int_equal(n, 4);
    assert_int_equal(out[0].s.v.i, 2); /* the two oldest were dropped */
    assert_int_equal(out[3].s.v.i, 5);
    tag_store_stats st;
    tag_store_get_stats(ts, &st);
    assert_int_equal(st.dropped, 2);
    assert_int_equal(st.queued, 0);
    publish1(ts, 1, integer(100, 7));
    assert_int_equal(notified, 2);
    /* Partial drains keep order. */
    publish1(ts, 1, integer(101, 8));
    publish1(ts, 1, integer(102, 9));
    assert_int_equal(tag_store_drain(ts, out, 2), 2);
    assert_int_equal(out[0].s.v.i, 100);
    assert_int_equal(tag_store_drain(ts, out, 2), 1);
    assert_int_equal(out[0].s.v.i, 102);
    tag_store_free(ts);
}

static val_sample text(const char *t, int64_t ts)
{
    val_sample s = {.v = {.kind = VAL_STR}, .q = Q_GOOD, .ts_ns = ts};
    snprintf(s.v.s, sizeof s.v.s, "%s", t);
    return s;
}

static void test_strings_and_bools(void **state)
{
    (void)state;
    setup_station();
    tag_store *ts = tag_store_new(&station, 16);
    tag_change out[8];
    /* Strings: news only when the text changes, compared byte for byte,
     * and copied into the store (the caller's buffer is reused). */
    val_sample s = text("MV HAIHE 7", 1);
    publish1(ts, 1, s);
    memset(s.v.s, 'X', VAL_STR_MAX);          /* the poller's scratch */
    publish1(ts, 1, text("MV HAIHE 7", 2));   /* same text: not news */
    publish1(ts, 1, text("MV HAIHE 8", 3));   /* one byte: news */
    publish1(ts, 1, text("MV HAIHE 8 ", 4));  /* a trailing space: news */
    char full[VAL_STR_MAX + 1];
    memset(full, 'a', VAL_STR_MAX);
    full[VAL_STR_MAX] = '\0';
    publish1(ts, 1, text(full, 5));           /* the longest string */
    assert_int_equal(tag_store_drain(ts, out, 8), 4);
    assert_int_equal(out[0].s.v.kind, VAL_STR);
    assert_string_equal(out[0].s.v.s, "MV HAIHE 7");
    assert_int_equal(out[0].s.ts_ns, 1);
    assert_string_equal(out[1].s.v.s, "MV HAIHE 8");
    assert_string_equal(out[2].s.v.s, "MV HAIHE 8 ");
    assert_int_equal(strlen(out[3].s.v.s), VAL_STR_MAX);
    val_sample cur;
    tag_store_get(ts, 1, &cur);
    assert_string_equal(cur.v.s, full);
    /* Bools: true, true again (not news), false, then true. */
    val_sample b = {.v = {.kind = VAL_BOOL, .b = true}, .q = Q_GOOD,
                    .ts_ns = 10};
    publish1(ts, 2, b);
    b.ts_ns = 11;
    publish1(ts, 2, b);
    b.v.b = false;
    b.ts_ns = 12;
    publish1(ts, 2, b);
    b.v.b = true;
    b.ts_ns = 13;
    publish1(ts, 2, b);
    assert_int_equal(tag_store_drain(ts, out, 8), 3);
    assert_true(out[0].s.v.b);
    assert_int_equal(out[0].s.ts_ns, 10);
    assert_false(out[1].s.v.b);
    assert_int_equal(out[1].s.ts_ns, 12);
    assert_true(out[2].s.v.b);
    assert_int_equal(out[2].tag, 2);
    /* A bool that turns into an integer of the same truth is news: the
     * kind is part of the value. */
    val_sample i1 = {.v = {.kind = VAL_INT, .i = 1}, .q = Q_GOOD, .ts_ns = 14};
    publish1(ts, 2, i1);
    assert_int_equal(tag_store_drain(ts, out, 8), 1);
    assert_int_equal(out[0].s.v.kind, VAL_INT);
    tag_store_free(ts);
}

static void test_sample_mode_and_last(void **state)
{
    (void)state;
    setup_station();
    tag_store *ts = tag_store_new(&station, 64);
    tag_change out[16];
    /* PLC b's group is `mode: sample`: every poll is news, even unchanged. */
    publish1(ts, 3, integer(7, 1));
    publish1(ts, 3, integer(7, 2));
    publish1(ts, 3, integer(7, 2)); /* the same response twice: once */
    assert_int_equal(tag_store_drain(ts, out, 16), 2);
    /* PLC a is change-only; the heartbeat sample is the recorded value,
     * confirmed at the latest response within the deadband. */
    publish1(ts, 0, real(5.0, 10));
    publish1(ts, 0, real(5.2, 20));  /* within the deadband */
    assert_int_equal(tag_store_drain(ts, out, 16), 1);
    val_sample cur, last;
    tag_store_get(ts, 0, &cur);
    tag_store_get_last(ts, 0, &last);
    assert_true(cur.v.d == 5.0 && cur.ts_ns == 10);
    assert_true(last.v.d == 5.0 && last.ts_ns == 20);
    assert_int_equal(last.q, Q_GOOD);
    /* A failure is repeated as it is, with its own time. */
    tag_store_fail_plc(ts, 0, Q_COMM, 0, 30);
    publish1(ts, 0, real(5.0, 40)); /* recovery: news, so cur moves */
    tag_store_fail_plc(ts, 0, Q_COMM, 0, 50);
    tag_store_get_last(ts, 0, &last);
    assert_int_equal(last.q, Q_COMM);
    assert_int_equal(last.ts_ns, 50);
    assert_int_equal(tag_store_get_last(ts, 99, &last), -1);
    tag_store_free(ts);
}

static void test_refresh(void **state)
{
    (void)state;
    setup_station();
    tag_store *ts = tag_store_new(&station, 64);
    tag_change out[16];
    uint32_t a[2] = {0, 1};
    tag_store_set_max_age(ts, 0, 1000);
    /* Nothing known yet: a refresh cannot stand for a first value. */
    assert_false(tag_store_refresh(ts, a, 2, 5));
    publish1(ts, 0, real(1.0, 10));
    publish1(ts, 1, integer(7, 10));
    tag_store_drain(ts, out, 16);
    /* Tag 2 of the same PLC is not good yet: the tags are checked one by
     * one, and these two may be confirmed. */
    assert_true(tag_store_refresh(ts, a, 2, 800));
    val_sample b2 = {.v = {.kind = VAL_BOOL, .b = true}, .q = Q_GOOD,
                     .ts_ns = 10};
    publish1(ts, 2, b2);
    tag_store_drain(ts, out, 16);
    /* Now the whole PLC is good (the shortcut that checks no slot). */
    assert_true(tag_store_refresh(ts, a, 2, 900));
    assert_int_equal(tag_store_drain(ts, out, 16), 0);
    assert_int_equal(tag_store_mark_stale(ts, 1800), 0); /* 900 + 1000 */
    val_sample last;
    tag_store_get_last(ts, 0, &last);
    assert_int_equal(last.ts_ns, 900);
    /* A stale or failed tag needs the full path to become good again. */
    assert_int_equal(tag_store_mark_stale(ts, 2000), 1);
    assert_false(tag_store_refresh(ts, a, 2, 2100));
    tag_store_fail_plc(ts, 0, Q_COMM, 0, 2200);
    assert_false(tag_store_refresh(ts, a, 2, 2300));
    /* Tags in `mode: sample` always take the full path. */
    uint32_t b[1] = {3};
    publish1(ts, 3, integer(1, 10));
    assert_false(tag_store_refresh(ts, b, 1, 20));
    assert_true(tag_store_refresh(ts, b, 0, 20));
    tag_store_free(ts);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_adopt),
        cmocka_unit_test(test_indexes),
        cmocka_unit_test(test_deadband),
        cmocka_unit_test(test_quality_changes),
        cmocka_unit_test(test_stale),
        cmocka_unit_test(test_queue_bound_and_notify),
        cmocka_unit_test(test_strings_and_bools),
        cmocka_unit_test(test_sample_mode_and_last),
        cmocka_unit_test(test_refresh),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
