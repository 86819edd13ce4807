/*
 * test_notify_hook.c - the alarm board's records into the notify thread
 * (notify/hook.h): which records make notifications, their copies, and
 * the catch-up at start.
 *
 * - notify_hook_wants: activations and clears; not a shelved, suppressed
 *   or out-of-service activation; the records that stop an escalation
 *   (notify_hook_stops: ack, shelve, disable, reset, back to normal), not
 *   an unshelve or a comment.
 * - The catch-up: a new notify journal starts at the alarm journal's
 *   newest record (nothing of the past is sent); records the alarm
 *   journal committed while the notify journal did not see them (a crash
 *   between the two) are handed in at the next start, with the messages
 *   filled in, once: after the thread has written them, a second start
 *   hands in nothing.  The thread writes what it was handed even when the
 *   channel is down (the rows wait, pending, with the error).
 * - An overflow: with a queue of 2, 20 records handed in while the
 *   thread is not running; the thread reads the 18 it was refused back
 *   from the alarm journal (notify_hook_replay): 20 rows, in order, none
 *   dropped, none twice; the next record is queued again as usual.
 * - The mqtt channels' summary (notify_summary_json): exactly what the
 *   board shows, not what the engine has not committed yet: nothing
 *   before the activation's record is on disk, then active-unack with
 *   the alarm's fields, active-ack after the ack, an empty list after
 *   the clear; the whole document with its station and time.
 * - DingTalk's URL signature against an independently computed vector.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "alarm/board.h"
#include "alarm/journal.h"
#include "config/plcmap.h"
#include "notify/channel.h"
#include "notify/hook.h"
#include "notify/njournal.h"
#include "notify/notify.h"
#include "notify/rota.h"
#include "support/tmpdir.h"

#define T0 1800000000000000000LL
#define S 1000000000LL

static char dir[64];
static char map_text_[2048];

/* The map, its journals in data. */
static void map_for(const char *data)
{
    /* a webhook nobody listens on: port 9 (discard) on loopback */
    snprintf(map_text_, sizeof map_text_,
             "station: {id: t, timezone: UTC}\n"
             "data_dir: %s\n"
             "chattering: off\n"
             "notify:\n"
             "  channels: [{id: hook, type: webhook,"
             " url: \"http://127.0.0.1:9/a\", timeout: 1s}]\n"
             "  routes: [{priority: high, notify: [hook], on_clear: true}]\n"
             "  group: {wait: 0s}\n"
             "plcs:\n"
             "  - id: hpu\n"
             "    host: 127.0.0.1\n"
             "    tags:\n"
             "      - {id: temp, table: input, address: 0, type: f32,\n"
             "         alarms: [{id: high, above: 60, priority: high,"
             " area: head, message: {en: \"Oil {value}\","
             " zh: \"油温 {value}\"}}]}\n", data);
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/lbtest-nhook-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    map_for(dir);
    char err[64];
    return rota_set_zone("UTC", err, sizeof err);
}

static int teardown(void **state)
{
    (void)state;
    tmpdir_remove(dir);
    return 0;
}

static void test_wants(void **state)
{
    (void)state;
    journal_rec r;
    memset(&r, 0, sizeof r);
    r.event = ALARM_EV_ACTIVE;
    r.to.state = ALARM_ACTIVE_UNACK;
    assert_true(notify_hook_wants(&r));
    r.to.flags = ALARM_SHELVED;
    assert_false(notify_hook_wants(&r));
    r.to.flags = ALARM_SUPP_DESIGN;
    assert_false(notify_hook_wants(&r));
    r.to.flags = ALARM_SUPP_MODE;
    assert_false(notify_hook_wants(&r));
    r.to.flags = ALARM_OUT_OF_SERVICE;
    assert_false(notify_hook_wants(&r));
    r.to.flags = 0;
    r.event = ALARM_EV_CLEAR;
    assert_true(notify_hook_wants(&r));
    r.to.state = ALARM_CLEARED_UNACK;
    assert_false(notify_hook_stops(&r));   /* still to be acknowledged */
    r.to.state = ALARM_NORMAL;
    assert_true(notify_hook_stops(&r));
    r.to.state = ALARM_ACTIVE_ACK;
    alarm_event stops[] = {ALARM_EV_ACK, ALARM_EV_SHELVE, ALARM_EV_DISABLE,
                           ALARM_EV_RESET};
    for (size_t i = 0; i < sizeof stops / sizeof stops[0]; i++) {
        r.event = stops[i];
        assert_true(notify_hook_stops(&r));
        assert_true(notify_hook_wants(&r));
    }
    r.to.state = ALARM_ACTIVE_UNACK;
    r.event = ALARM_EV_UNSHELVE;
    assert_false(notify_hook_wants(&r));
    r.event = ALARM_EV_COMMENT;
    assert_false(notify_hook_wants(&r));
    r.event = ALARM_EV_ACTIVE;
    assert_false(notify_hook_stops(&r));
}

static tag_change change(double v, int64_t ts)
{
    tag_change c = {.tag = 0};
    c.s.ts_ns = ts;
    c.s.q = Q_GOOD;
    c.s.v.kind = VAL_REAL;
    c.s.v.d = v;
    return c;
}

/* The station's alarms as `run` has them: journal, board restored. */
typedef struct {
    map_station *st;
    journal *j;
    board *b;
} alarms;

static void alarms_open(alarms *a)
{
    map_errors errs = {0};
    a->st = map_load_buffer("m", map_text_, strlen(map_text_), &errs);
    if (!a->st)
        fail_msg("map: %s", errs.n ? errs.msgs[0] : "?");
    map_errors_free(&errs);
    char err[256];
    journal_opts jo = {.path = a->st->alarm_journal.path};
    a->j = journal_open(&jo, err, sizeof err);
    assert_non_null(a->j);
    a->b = board_new(a->st, a->j, NULL, NULL);
    assert_non_null(a->b);
    assert_true(board_restore(a->b, a->st->alarm_journal.path, NULL, NULL,
                              err, sizeof err) >= 0);
}

static void alarms_feed(alarms *a, double v, int64_t ts)
{
    tag_change c = change(v, ts);
    board_feed(a->b, &c, 1);
    board_collect(a->b);
    assert_int_equal(journal_flush(a->j), 0);
    board_collect(a->b);
}

static void alarms_close(alarms *a)
{
    board_free(a->b);
    journal_close(a->j);
    map_free(a->st);
}

static notify *notify_up(alarms *a, long *caught)
{
    char err[512];
    notify_opts no = {.st = a->st};
    notify *n = notify_open(&no, err, sizeof err);
    if (!n)
        fail_msg("notify_open: %s", err);
    *caught = notify_catch_up(n, a->st->alarm_journal.path,
                              board_engine(a->b), err, sizeof err);
    if (*caught < 0)
        fail_msg("catch up: %s", err);
    return n;
}

static void test_catch_up(void **state)
{
    (void)state;
    alarms a;
    alarms_open(&a);
    /* before notify: an activation that must not be sent later */
    alarms_feed(&a, 61, T0);
    long caught;
    notify *n = notify_up(&a, &caught);
    assert_int_equal(caught, 0);
    notify_stats ns;
    notify_get_stats(n, &ns);
    assert_int_equal(ns.queued, 0);
    notify_close(n);   /* never started: a crash before routing */

    /* committed while notify was down: a clear, an activation, an ack
     * (handed in: it stops escalations; it tells nobody, since nothing
     * of the activation was sent) */
    alarms_feed(&a, 50, T0 + 1 * S);
    alarms_feed(&a, 62, T0 + 2 * S);
    alarm_action act = {.who = "li", .ts_ns = T0 + 3 * S};
    long idx = alarm_find(board_engine(a.b), "hpu.temp.high");
    assert_true(idx >= 0);
    assert_int_equal(board_act(a.b, ALARM_OP_ACK, (size_t)idx, &act, 0,
                               NULL), ALARM_OK);
    board_collect(a.b);
    assert_int_equal(journal_flush(a.j), 0);
    board_collect(a.b);

    n = notify_up(&a, &caught);
    assert_int_equal(caught, 3);
    assert_int_equal(notify_start(n), 0);
    /* the thread routes them; the webhook is down, so they wait */
    char path[128], err[256];
    snprintf(path, sizeof path, "%s/notify.db", dir);
    nj_counts c = {0};
    for (int i = 0; i < 100 && c.failed_attempts < 1; i++) {
        usleep(50000);
        nj *j = nj_open(path, NULL, NULL, err, sizeof err);
        assert_non_null(j);
        assert_int_equal(nj_counts_get(j, &c), 0);
        nj_close(j);
    }
    notify_close(n);
    nj *j = nj_open(path, NULL, NULL, err, sizeof err);
    assert_non_null(j);
    assert_int_equal(nj_counts_get(j, &c), 0);
    assert_int_equal(c.pending, 2);
    assert_int_equal(c.sent, 0);
    assert_true(c.failed_attempts >= 1);
    nj_row rows[4];
    assert_int_equal(nj_batch(j, INT64_MAX, rows, 4), 2);
    assert_string_equal(rows[0].a.alarm, "hpu.temp.high");
    assert_string_equal(rows[0].a.event, "clear");
    assert_string_equal(rows[0].a.msg_en, "Oil 50");
    assert_string_equal(rows[0].a.msg_zh, "油温 50");
    assert_string_equal(rows[1].a.event, "active");
    assert_string_equal(rows[1].a.priority, "high");
    assert_string_equal(rows[1].a.area, "head");
    assert_true(rows[1].a.ts_ns == T0 + 2 * S);
    assert_true(rows[1].a.has_value && rows[1].a.value == 62);
    nj_close(j);

    /* a second start: nothing again */
    n = notify_up(&a, &caught);
    assert_int_equal(caught, 0);
    notify_close(n);
    alarms_close(&a);
}

/* The notify journal's pending rows, waiting up to 5 s for want. */
static uint64_t pending_rows(uint64_t want)
{
    char path[128], err[256];
    snprintf(path, sizeof path, "%s/notify.db", dir);
    nj_counts c = {0};
    for (int i = 0; i < 100; i++) {
        nj *j = nj_open(path, NULL, NULL, err, sizeof err);
        assert_non_null(j);
        assert_int_equal(nj_counts_get(j, &c), 0);
        nj_close(j);
        if (c.pending >= want)
            break;
        usleep(50000);
    }
    return c.pending;
}

static int row_by_ts(const void *x, const void *y)
{
    const nj_row *a = x, *b = y;
    return (a->a.ts_ns > b->a.ts_ns) - (a->a.ts_ns < b->a.ts_ns);
}

static void test_overflow(void **state)
{
    (void)state;
    /* a directory of its own: the journals of test_catch_up are not it */
    tmpdir_remove(dir);
    assert_int_equal(mkdir(dir, 0700), 0);
    alarms a;
    alarms_open(&a);
    char err[512];
    notify_replay_src src = {.journal_path = a.st->alarm_journal.path,
                             .e = board_engine(a.b)};
    notify_opts no = {.st = a.st, .queue_cap = 2,
                      .replay = notify_hook_replay, .replay_ctx = &src};
    notify *n = notify_open(&no, err, sizeof err);
    if (!n)
        fail_msg("notify_open: %s", err);
    assert_int_equal(notify_catch_up(n, a.st->alarm_journal.path,
                                     board_engine(a.b), err, sizeof err), 0);
    notify_hook h = {.n = n, .b = a.b};
    assert_int_equal(board_listen(a.b, notify_hook_listener, &h), 0);
    /* 10 activations and 10 clears while the thread does not take any */
    for (int i = 0; i < 20; i++)
        alarms_feed(&a, i % 2 ? 50 : 61, T0 + i * S);
    notify_stats ns;
    notify_get_stats(n, &ns);
    assert_int_equal((int)ns.submitted, 2);
    assert_int_equal((int)ns.deferred, 18);
    assert_int_equal((int)ns.dropped + (int)h.dropped, 0);
    assert_int_equal(notify_start(n), 0);
    assert_int_equal((int)pending_rows(20), 20);
    notify_get_stats(n, &ns);
    assert_int_equal((int)ns.replayed, 18);
    /* caught up: the next one is queued again */
    alarms_feed(&a, 61, T0 + 20 * S);
    assert_int_equal((int)pending_rows(21), 21);
    notify_get_stats(n, &ns);
    assert_int_equal((int)ns.submitted, 3);
    assert_int_equal((int)ns.deferred, 18);
    notify_close(n);

    char path[128];
    snprintf(path, sizeof path, "%s/notify.db", dir);
    nj *j = nj_open(path, NULL, NULL, err, sizeof err);
    assert_non_null(j);
    nj_row rows[32];
    size_t k = nj_batch(j, INT64_MAX, rows, 32);
    assert_int_equal(k, 21);
    /* The batch is in retry order: the failed attempts' back-off decides
     * it (the last one was tried later, maybe the others twice by then).
     * Each event once is the point, so compare in event time order. */
    qsort(rows, k, sizeof rows[0], row_by_ts);
    for (size_t i = 0; i < k; i++) {
        assert_string_equal(rows[i].a.event, i % 2 ? "clear" : "active");
        assert_true(rows[i].a.ts_ns == T0 + (int64_t)i * S);
    }
    nj_close(j);
    alarms_close(&a);
}

/* The summary's alarms (list) as the board shows them, after each step. */
static void test_summary(void **state)
{
    (void)state;
    char data[128];
    snprintf(data, sizeof data, "%s/summary", dir);
    assert_int_equal(mkdir(data, 0700), 0);
    map_for(data);
    alarms a;
    alarms_open(&a);
    char *list, *doc = notify_summary_json(a.st, a.b, T0 + 10 * S, &list);
    assert_non_null(doc);
    assert_string_equal(list, "[]");
    assert_string_equal(doc, "{\"version\":1,\"station\":{\"id\":\"t\","
                        "\"name\":{\"en\":\"t\",\"zh\":\"t\"}},\"sent\":"
                        "\"2027-01-15T08:00:10.000Z\",\"alarms\":[]}");
    free(doc);
    free(list);

    /* the engine is active, its record not yet committed: not shown */
    tag_change c = change(61.5, T0);
    board_feed(a.b, &c, 1);
    board_collect(a.b);
    doc = notify_summary_json(a.st, a.b, T0, &list);
    assert_string_equal(list, "[]");
    free(doc);
    free(list);
    assert_int_equal(journal_flush(a.j), 0);
    board_collect(a.b);
    doc = notify_summary_json(a.st, a.b, T0, &list);
    assert_string_equal(list,
        "[{\"id\":\"hpu.temp.high\",\"state\":\"active-unack\","
        "\"priority\":\"high\",\"area\":\"head\",\"message\":{\"en\":"
        "\"Oil 61.5\",\"zh\":\"油温 61.5\"},\"value\":61.5,"
        "\"active_since\":\"2027-01-15T08:00:00.000Z\",\"shelved\":false,"
        "\"suppressed\":false,\"out_of_service\":false}]");
    free(doc);
    free(list);

    alarm_action act = {.who = "li", .ts_ns = T0 + 1 * S};
    long idx = alarm_find(board_engine(a.b), "hpu.temp.high");
    assert_int_equal(board_act(a.b, ALARM_OP_ACK, (size_t)idx, &act, 0,
                               NULL), ALARM_OK);
    board_collect(a.b);
    assert_int_equal(journal_flush(a.j), 0);
    board_collect(a.b);
    doc = notify_summary_json(a.st, a.b, T0, &list);
    assert_non_null(strstr(list, "\"state\":\"active-ack\""));
    free(doc);
    free(list);

    alarms_feed(&a, 50, T0 + 2 * S);
    doc = notify_summary_json(a.st, a.b, T0, &list);
    assert_string_equal(list, "[]");
    free(doc);
    free(list);
    alarms_close(&a);
    map_for(dir);
}

/* DingTalk's signature: the vector computed independently (Python's
 * hmac, base64 and urllib.parse.quote). */
/* A channel's own alarm's condition from its counts (notify.h): unknown
 * until a success or `after` failures in a row since the start (the
 * attempts before a restart are not known), true from the after-th
 * failure in a row, false from the next success. */
static void test_health_cond(void **state)
{
    (void)state;
    notify_health h = {0};
    assert_int_equal(notify_health_cond(&h, 3), ALARM_COND_UNKNOWN);
    h = (notify_health){.attempts = 2, .ok = 0, .failing = 2};
    assert_int_equal(notify_health_cond(&h, 3), ALARM_COND_UNKNOWN);
    h = (notify_health){.attempts = 3, .ok = 0, .failing = 3};
    assert_int_equal(notify_health_cond(&h, 3), ALARM_COND_TRUE);
    h = (notify_health){.attempts = 9, .ok = 1, .failing = 8};
    assert_int_equal(notify_health_cond(&h, 3), ALARM_COND_TRUE);
    h = (notify_health){.attempts = 10, .ok = 2, .failing = 0};
    assert_int_equal(notify_health_cond(&h, 3), ALARM_COND_FALSE);
    h = (notify_health){.attempts = 12, .ok = 2, .failing = 2};
    assert_int_equal(notify_health_cond(&h, 3), ALARM_COND_FALSE);
    h = (notify_health){.attempts = 1, .ok = 0, .failing = 1};
    assert_int_equal(notify_health_cond(&h, 1), ALARM_COND_TRUE);
}

static void test_dingtalk_sign(void **state)
{
    (void)state;
    char sign[128];
    assert_int_equal(chan_dingtalk_sign("SEC0123456789abcdef",
                                        1700000000000LL, sign, sizeof sign),
                     0);
    assert_string_equal(sign, "TSZbRFUuvaSQaRKUpF970OPCb2%2FLcQAP3wOvwZIzBZk"
                              "%3D");
    assert_int_equal(chan_dingtalk_sign("x", 1, sign, 8), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wants),
        cmocka_unit_test(test_dingtalk_sign),
        cmocka_unit_test(test_health_cond),
        cmocka_unit_test(test_catch_up),
        cmocka_unit_test(test_overflow),
        cmocka_unit_test(test_summary),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
