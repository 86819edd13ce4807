/*
 * test_notify_escalate.c - escalation steps and acknowledgements in the
 * notification journal (notify/njournal.h) and routing (notify/route.h).
 *
 * Times are a stub clock: plain numbers of nanoseconds handed in.
 * - An activation routed to oncall with escalate_after makes a step for
 *   level 2, due escalate_after after the alarm; a clear, a route
 *   without escalate_after or without oncall make none.
 * - A due step becomes the mail to the person on call at that level at
 *   the time it is due (a hand-over between the alarm and the step
 *   decides), and the step for level 3 escalate_after later; the last
 *   level makes no further step; a step is taken once.
 * - Steps survive closing the journal without any mark (kill -9).
 * - An acknowledgement (nj_stop) cancels the steps and the unsent
 *   escalated rows of the activations before it, and with tell adds one
 *   "acknowledged by" row for each channel and recipient that was sent
 *   the activation (not those whose row is still pending); the cancel is
 *   on disk with it (after a reopen nothing is due); a stop of an earlier
 *   record leaves a later activation's steps alone; a shelve (no tell)
 *   only cancels, the level-1 page still in group.wait too, not the
 *   webhook's row (level 0).
 * - Repeats: an activation on a route with `repeat` makes reminder 1's
 *   step, due `repeat` after the alarm; when it is due everyone who was
 *   sent the activation gets an event "repeat" row (once), and reminder
 *   2's step is due `repeat` later; an acknowledgement cancels the
 *   reminders not sent and the next step, a clear the next step only.
 * - A version-1 journal (before repeat_no) is upgraded at open with its
 *   rows and their unique key kept.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include "config/plcmap.h"
#include "notify/message.h"
#include "notify/njournal.h"
#include "notify/rota.h"
#include "notify/route.h"
#include "support/nfix.h"

#define S 1000000000ll
#define MIN (60 * S)

static const char map_text_[] =
    "station: {id: lock1, name: {en: Lock 1}, timezone: UTC}\n"
    "notify:\n"
    "  people:\n"
    "    - {id: wang, email: wang@example.com}\n"
    "    - {id: li, email: li@example.com}\n"
    "    - {id: zhao, email: zhao@example.com}\n"
    "  channels:\n"
    "    - {id: mail, type: email, url: \"smtp://127.0.0.1:25\","
    " from: lb@lock1.example}\n"
    "    - {id: hook, type: webhook, url: \"http://127.0.0.1:9/a\"}\n"
    "  oncall:\n"
    "    - level: 1\n"
    "      rota: [{days: daily, from: \"00:00\", to: \"24:00\","
    " person: wang}]\n"
    "    - level: 2\n"
    "      rota:\n"
    "        - {days: daily, from: \"08:00\", to: \"09:15\", person: li}\n"
    "        - {days: daily, from: \"09:15\", to: \"08:00\", person: zhao}\n"
    "    - level: 3\n"
    "      rota: [{days: daily, from: \"00:00\", to: \"24:00\","
    " person: li}]\n"
    "  routes:\n"
    "    - {priority: critical, notify: [oncall, hook],"
    " escalate_after: 10m}\n"
    "    - {priority: high, notify: [oncall]}\n"
    "    - {priority: medium, notify: [hook], escalate_after: 10m}\n"
    "    - {priority: low, notify: [oncall, hook], repeat: 30m}\n"
    "  group: {wait: 30s}\n"
    "plcs:\n"
    "  - {id: p, host: 127.0.0.1, tags: [{id: t, table: holding,"
    " address: 0, type: u16}]}\n";

/* Each test's own station, rota and directory (the prestate is the
 * map's text). */
static int setup(void **state)
{
    return (*state = nfix_new("e.yaml", *state)) ? 0 : -1;
}

static nj_alarm event(uint64_t seq, const char *ev, const char *prio,
                      int64_t ts)
{
    nj_alarm a;
    memset(&a, 0, sizeof a);
    a.rec_seq = seq;
    snprintf(a.alarm, sizeof a.alarm, "hpu.temp.high");
    snprintf(a.event, sizeof a.event, "%s", ev);
    snprintf(a.state, sizeof a.state, "active-unack");
    snprintf(a.priority, sizeof a.priority, "%s", prio);
    snprintf(a.area, sizeof a.area, "head");
    snprintf(a.msg_en, sizeof a.msg_en, "Oil 61.5 °C");
    a.ts_ns = ts;
    a.active_ns = ts;
    return a;
}

static nj_stop ack(uint64_t seq, const char *who, int64_t ts, bool tell)
{
    nj_stop s;
    memset(&s, 0, sizeof s);
    s.a = event(seq, tell ? "ack" : "shelve", "critical", ts);
    snprintf(s.a.by, sizeof s.a.by, "%s", who);
    if (tell)
        nmsg_ack_text(&s.a, s.a.msg_en, sizeof s.a.msg_en, s.a.msg_zh,
                      sizeof s.a.msg_zh);
    s.tell = tell;
    s.created_ns = ts;
    s.next_ns = ts;
    return s;
}

/* The activation seq at `ts`, routed and added. */
static void add_activation(nfix *f, nj *j, uint64_t seq, int64_t ts)
{
    nj_row rows[ROUTE_ROWS_MAX];
    nj_alarm a = event(seq, "active", "critical", ts);
    size_t k = route_event(&f->st->notify, f->r, &a, ts, rows,
                           ROUTE_ROWS_MAX, NULL);
    char err[256];
    assert_int_equal(nj_add(j, rows, k, NULL, 0, seq, ts, err, sizeof err),
                     0);
}

/* A new journal with activation 1 at 09:00 in it. */
static nj *open_with_activation(nfix *f)
{
    char err[256];
    nj *j = nj_open(f->path, NULL, NULL, err, sizeof err);
    assert_non_null(j);
    add_activation(f, j, 1, nfix_at(9, 0));
    return j;
}

/* Every due batch at now, sent. */
static size_t send_due(nj *j, int64_t now)
{
    nj_row b[8];
    size_t k, total = 0;
    char err[256];
    while ((k = nj_batch(j, now, b, 8)) > 0) {
        assert_int_equal(nj_mark(j, b, k, true, "250 OK", now, now, err,
                                 sizeof err), 0);
        total += k;
    }
    return total;
}

static void test_route_makes_a_step(void **state)
{
    nfix *f = *state;
    const map_notify *nf = &f->st->notify;
    nj_row rows[ROUTE_ROWS_MAX];
    nj_alarm a = event(1, "active", "critical", nfix_at(9, 0));
    size_t n = route_event(nf, f->r, &a, nfix_at(9, 0) + S, rows, ROUTE_ROWS_MAX,
                           NULL);
    assert_int_equal(n, 3);
    assert_string_equal(rows[0].channel, "hook");
    assert_false(rows[0].step);
    assert_string_equal(rows[1].recipient, "wang@example.com");
    assert_int_equal(rows[1].level, 1);
    assert_false(rows[1].step);
    assert_true(rows[2].step);
    assert_string_equal(rows[2].channel, "mail");
    assert_string_equal(rows[2].recipient, "");
    assert_int_equal(rows[2].level, 2);
    assert_true(rows[2].next_ns == nfix_at(9, 10));   /* from the alarm */

    a = event(2, "clear", "critical", nfix_at(9, 1));
    assert_int_equal(route_event(nf, f->r, &a, nfix_at(9, 1), rows,
                                 ROUTE_ROWS_MAX, NULL), 0);
    a = event(3, "ack", "critical", nfix_at(9, 1));
    assert_int_equal(route_event(nf, f->r, &a, nfix_at(9, 1), rows,
                                 ROUTE_ROWS_MAX, NULL), 0);
    a = event(4, "active", "high", nfix_at(9, 1));       /* no escalate_after */
    n = route_event(nf, f->r, &a, nfix_at(9, 1), rows, ROUTE_ROWS_MAX, NULL);
    assert_int_equal(n, 1);
    assert_false(rows[0].step);
    a = event(5, "active", "medium", nfix_at(9, 1));     /* no oncall */
    n = route_event(nf, f->r, &a, nfix_at(9, 1), rows, ROUTE_ROWS_MAX, NULL);
    assert_int_equal(n, 1);
    assert_false(rows[0].step);
}

static void test_steps_fire_by_the_rota_then(void **state)
{
    nfix *f = *state;
    const map_notify *nf = &f->st->notify;
    char err[256];
    nj *j = open_with_activation(f);
    nj_row steps[4], rows[2];
    assert_int_equal(nj_steps_due(j, nfix_at(9, 10) - 1, steps, 4), 0);
    int64_t due;
    assert_int_equal(nj_next_due(j, &due), 1);
    assert_true(due == nfix_at(9, 0) + 30 * S);        /* level 1's group.wait */
    assert_int_equal(send_due(j, nfix_at(9, 1)), 2);   /* hook, wang */
    assert_int_equal(nj_next_due(j, &due), 1);
    assert_true(due == nfix_at(9, 10));                /* the step */

    /* kill -9 with the step waiting: still there */
    nj_close(j);
    j = nj_open(f->path, NULL, NULL, err, sizeof err);
    assert_non_null(j);
    assert_int_equal(nj_steps_due(j, nfix_at(9, 10), steps, 4), 1);
    assert_true(steps[0].step);
    assert_int_equal(steps[0].level, 2);
    assert_true(steps[0].next_ns == nfix_at(9, 10));

    /* due at 09:10: li is on call at level 2 then */
    size_t n = route_step(nf, f->r, &steps[0], nfix_at(9, 10), rows, 2, NULL);
    assert_int_equal(n, 2);
    assert_false(rows[0].step);
    assert_string_equal(rows[0].channel, "mail");
    assert_string_equal(rows[0].recipient, "li@example.com");
    assert_int_equal(rows[0].level, 2);
    assert_true(rows[0].next_ns == nfix_at(9, 10));    /* at once */
    assert_string_equal(rows[0].a.event, "active");
    assert_true(rows[1].step);
    assert_int_equal(rows[1].level, 3);
    assert_true(rows[1].next_ns == nfix_at(9, 20));
    /* the same step taken at 09:16 (the bridge was down): zhao, and the
     * next level still 10 minutes after the step was due */
    nj_row late[2];
    n = route_step(nf, f->r, &steps[0], nfix_at(9, 16), late, 2, NULL);
    assert_int_equal(n, 2);
    assert_string_equal(late[0].recipient, "zhao@example.com");
    assert_true(late[1].next_ns == nfix_at(9, 20));

    assert_int_equal(nj_step_done(j, &steps[0], rows, n, err, sizeof err),
                     1);
    assert_int_equal(nj_step_done(j, &steps[0], rows, n, err, sizeof err),
                     0);                          /* taken once */
    nj_row b[4];
    assert_int_equal(nj_batch(j, nfix_at(9, 10), b, 4), 1);
    assert_string_equal(b[0].recipient, "li@example.com");
    assert_int_equal(b[0].level, 2);
    assert_int_equal(send_due(j, nfix_at(9, 10)), 1);

    /* level 3, the last: no step after it */
    assert_int_equal(nj_steps_due(j, nfix_at(9, 20), steps, 4), 1);
    assert_int_equal(steps[0].level, 3);
    n = route_step(nf, f->r, &steps[0], nfix_at(9, 20), rows, 2, NULL);
    assert_int_equal(n, 1);
    assert_string_equal(rows[0].recipient, "li@example.com");
    assert_int_equal(rows[0].level, 3);
    assert_int_equal(nj_step_done(j, &steps[0], rows, n, err, sizeof err),
                     1);
    assert_int_equal(nj_steps_due(j, INT64_MAX, steps, 4), 0);
    nj_close(j);
}

static void test_ack_cancels_and_tells(void **state)
{
    nfix *f = *state;
    const map_notify *nf = &f->st->notify;
    char err[256];
    nj *j = open_with_activation(f);
    send_due(j, nfix_at(9, 1));
    /* level 2 made, but not sent yet when the ack comes */
    nj_row steps[4], rows[2];
    assert_int_equal(nj_steps_due(j, nfix_at(9, 10), steps, 4), 1);
    size_t n = route_step(nf, f->r, &steps[0], nfix_at(9, 10), rows, 2, NULL);
    assert_int_equal(nj_step_done(j, &steps[0], rows, n, err, sizeof err),
                     1);

    nj_stop s = ack(2, "wang", nfix_at(9, 11), true);
    assert_string_equal(s.a.msg_en,
                        "acknowledged by wang at 2026-01-14 09:11:00 UTC");
    assert_string_equal(s.a.msg_zh, "wang 于 2026-01-14 09:11:00 UTC 确认");
    assert_int_equal(nj_add(j, NULL, 0, &s, 1, 2, nfix_at(9, 11), err,
                            sizeof err), 0);
    /* committed, then kill -9: nothing of the escalation is left */
    nj_close(j);
    j = nj_open(f->path, NULL, NULL, err, sizeof err);
    assert_non_null(j);
    assert_int_equal(nj_steps_due(j, INT64_MAX, steps, 4), 0);
    nj_row b[8];
    size_t k = 0;
    nj_row all[8];
    while ((n = nj_batch(j, INT64_MAX, b, 8)) > 0) {
        for (size_t i = 0; i < n; i++)
            all[k++] = b[i];
        assert_int_equal(nj_mark(j, b, n, true, "ok", nfix_at(9, 12), nfix_at(9, 12),
                                 err, sizeof err), 0);
    }
    /* the hook and wang, who were sent the activation; not li, whose
     * escalated row was cancelled unsent */
    assert_int_equal(k, 2);
    for (size_t i = 0; i < k; i++) {
        assert_string_equal(all[i].a.event, "ack");
        assert_int_equal((int)all[i].a.rec_seq, 2);
        assert_string_equal(all[i].a.msg_en, s.a.msg_en);
        assert_string_equal(all[i].a.priority, "critical");
        assert_true(all[i].next_ns == nfix_at(9, 11));
    }
    assert_string_equal(all[0].channel, "hook");
    assert_string_equal(all[1].recipient, "wang@example.com");
    assert_int_equal(all[1].level, 1);
    nj_counts c;
    assert_int_equal(nj_counts_get(j, &c), 0);
    assert_int_equal((int)c.pending, 0);
    assert_int_equal((int)c.sent, 4);
    nj_close(j);
}

static void test_stop_order(void **state)
{
    nfix *f = *state;
    char err[256];
    nj *j = nj_open(f->path, NULL, NULL, err, sizeof err);
    assert_non_null(j);
    add_activation(f, j, 10, nfix_at(9, 0));
    /* a shelve recorded before the activation (seq 9; caught up late)
     * leaves it escalating */
    nj_stop s = ack(9, "li", nfix_at(8, 59), false);
    assert_int_equal(nj_add(j, NULL, 0, &s, 1, 10, nfix_at(9, 0), err,
                            sizeof err), 0);
    nj_row steps[4];
    assert_int_equal(nj_steps_due(j, INT64_MAX, steps, 4), 1);
    /* a shelve after it, while wang's page waits out group.wait: the step
     * and the page cancelled, nobody told; the webhook (level 0) still
     * gets the activation */
    s = ack(11, "li", nfix_at(9, 0) + 2 * S, false);
    assert_int_equal(nj_add(j, NULL, 0, &s, 1, 11, nfix_at(9, 0) + 2 * S, err,
                            sizeof err), 0);
    assert_int_equal(nj_steps_due(j, INT64_MAX, steps, 4), 0);
    nj_row b[4];
    assert_int_equal(nj_batch(j, INT64_MAX, b, 4), 1);
    assert_string_equal(b[0].channel, "hook");
    assert_string_equal(b[0].a.event, "active");
    assert_int_equal(send_due(j, INT64_MAX), 1);
    nj_close(j);
}

/* The activation (low: the route that repeats) at 09:00, sent at 09:01. */
static nj *open_repeating(nfix *f, uint64_t seq)
{
    char err[256];
    nj *j = nj_open(f->path, NULL, NULL, err, sizeof err);
    assert_non_null(j);
    nj_row rows[ROUTE_ROWS_MAX];
    nj_alarm a = event(seq, "active", "low", nfix_at(9, 0));
    size_t k = route_event(&f->st->notify, f->r, &a, nfix_at(9, 0), rows,
                           ROUTE_ROWS_MAX, NULL);
    assert_int_equal(k, 3);               /* hook, wang, reminder 1 */
    assert_true(rows[2].step);
    assert_int_equal(rows[2].repeat, 1);
    assert_true(rows[2].next_ns == nfix_at(9, 30));
    assert_int_equal(nj_add(j, rows, k, NULL, 0, seq, nfix_at(9, 0), err,
                            sizeof err), 0);
    assert_int_equal(send_due(j, nfix_at(9, 1)), 2);
    return j;
}

/* The reminder due at now, done; returns its copies. */
static int remind(nfix *f, nj *j, int64_t now, int expect_no)
{
    nj_row steps[4], next;
    char err[256];
    assert_int_equal(nj_steps_due(j, now - 1, steps, 4), 0);
    assert_int_equal(nj_steps_due(j, now, steps, 4), 1);
    assert_int_equal(steps[0].repeat, expect_no);
    assert_int_equal(route_repeat_next(&f->st->notify, &steps[0], now, &next),
                     1);
    assert_int_equal(next.repeat, expect_no + 1);
    assert_true(next.next_ns == now + 30 * MIN);
    int copies = -1;
    assert_int_equal(nj_repeat_done(j, &steps[0], &next, now, &copies, err,
                                    sizeof err), 1);
    int again = -1;
    assert_int_equal(nj_repeat_done(j, &steps[0], &next, now, &again, err,
                                    sizeof err), 0);   /* taken once */
    return copies;
}

static void test_repeats(void **state)
{
    nfix *f = *state;
    char err[256];
    nj *j = open_repeating(f, 1);
    assert_int_equal(remind(f, j, nfix_at(9, 30), 1), 2);
    nj_row b[8];
    size_t n = nj_batch(j, nfix_at(9, 30), b, 8);
    assert_int_equal(n, 1);
    assert_string_equal(b[0].channel, "hook");
    assert_string_equal(b[0].a.event, "repeat");
    assert_int_equal(b[0].repeat, 1);
    assert_int_equal((int)b[0].a.rec_seq, 1);
    assert_string_equal(b[0].a.msg_en, "Oil 61.5 °C");
    assert_int_equal(send_due(j, nfix_at(9, 30)), 2);   /* hook, wang */

    /* kill -9: reminder 2 still due at 10:00 */
    nj_close(j);
    j = nj_open(f->path, NULL, NULL, err, sizeof err);
    assert_non_null(j);
    assert_int_equal(remind(f, j, nfix_at(10, 0), 2), 2);
    /* acknowledged before reminder 2 went out: it and reminder 3 are
     * cancelled, and hook and wang are told */
    nj_stop s = ack(2, "wang", nfix_at(10, 0) + S, true);
    assert_int_equal(nj_add(j, NULL, 0, &s, 1, 2, nfix_at(10, 0) + S, err,
                            sizeof err), 0);
    nj_row steps[4];
    assert_int_equal(nj_steps_due(j, INT64_MAX, steps, 4), 0);
    n = nj_batch(j, INT64_MAX, b, 8);
    assert_int_equal(n, 1);
    assert_string_equal(b[0].a.event, "ack");
    assert_int_equal(send_due(j, INT64_MAX), 2);
    nj_close(j);
}

static void test_clear_ends_repeats(void **state)
{
    nfix *f = *state;
    char err[256];
    nj *j = open_repeating(f, 1);
    /* cleared, not acknowledged: no more reminders */
    nj_stop s;
    memset(&s, 0, sizeof s);
    s.a = event(2, "clear", "low", nfix_at(9, 20));
    s.repeats_only = true;
    assert_int_equal(nj_add(j, NULL, 0, &s, 1, 2, nfix_at(9, 20), err,
                            sizeof err), 0);
    nj_row steps[4];
    assert_int_equal(nj_steps_due(j, INT64_MAX, steps, 4), 0);
    assert_int_equal(send_due(j, INT64_MAX), 0);
    nj_close(j);
}

/* A journal of schema 1 (before reminders), one row sent, one pending,
 * in nfix's state directory. */
static void write_v1(const nfix *f)
{
    char dir[128];
    snprintf(dir, sizeof dir, "%s/state", f->dir);
    assert_int_equal(mkdir(dir, 0700), 0);
    const char *path = f->path;
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
        "CREATE TABLE notification(id INTEGER PRIMARY KEY, rec_seq INTEGER"
        " NOT NULL, alarm TEXT NOT NULL, event TEXT NOT NULL, state TEXT,"
        " priority TEXT, area TEXT, msg_en TEXT, msg_zh TEXT, value REAL,"
        " ts_ns INTEGER, active_ns INTEGER, channel TEXT NOT NULL, recipient"
        " TEXT NOT NULL, level INTEGER NOT NULL, created_ns INTEGER NOT NULL,"
        " next_ns INTEGER NOT NULL, status TEXT NOT NULL, attempts INTEGER"
        " NOT NULL DEFAULT 0, last_error TEXT, delivered_ns INTEGER,"
        " UNIQUE(rec_seq, channel, recipient, level));"
        "CREATE TABLE attempt(id INTEGER PRIMARY KEY, ts_ns INTEGER NOT NULL,"
        " channel TEXT NOT NULL, recipient TEXT, rows INTEGER NOT NULL, ok"
        " INTEGER NOT NULL, answer TEXT);"
        "CREATE TABLE meta(key TEXT PRIMARY KEY, value INTEGER);"
        "INSERT INTO notification(id, rec_seq, alarm, event, channel,"
        " recipient, level, created_ns, next_ns, status, attempts) VALUES"
        " (7, 1, 'hpu.temp.high', 'active', 'hook', '', 0, 1, 1, 'sent', 1),"
        " (8, 1, 'hpu.temp.high', 'active', 'mail', 'wang@example.com', 1,"
        " 1, 2, 'pending', 0);"
        "INSERT INTO meta VALUES ('cursor_seq', 1), ('cursor_ts', 1);"
        "PRAGMA user_version=1;", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

static void test_upgrade_from_v1(void **state)
{
    nfix *f = *state;
    char err[256];
    write_v1(f);
    nj *j = nj_open(f->path, NULL, NULL, err, sizeof err);
    assert_non_null(j);
    uint64_t seq = 0;
    int64_t ts = 0;
    assert_int_equal(nj_cursor(j, &seq, &ts, err, sizeof err), 1);
    assert_int_equal((int)seq, 1);
    nj_row b[4];
    assert_int_equal(nj_batch(j, 2, b, 4), 1);       /* the pending one */
    assert_int_equal((int)b[0].id, 8);
    assert_int_equal(b[0].repeat, 0);
    /* the old key still holds: the same event adds nothing */
    nj_row rows[ROUTE_ROWS_MAX];
    nj_alarm a = event(1, "active", "critical", 1);
    size_t k = route_event(&f->st->notify, f->r, &a, 1, rows, ROUTE_ROWS_MAX,
                           NULL);
    assert_int_equal(nj_add(j, rows, k, NULL, 0, 1, 1, err, sizeof err), 0);
    nj_counts c;
    assert_int_equal(nj_counts_get(j, &c), 0);
    assert_int_equal((int)c.pending, 1);
    assert_int_equal((int)c.sent, 1);
    nj_close(j);
    /* and it opens again as version 2 */
    j = nj_open(f->path, NULL, NULL, err, sizeof err);
    assert_non_null(j);
    nj_close(j);
}

#define WITH_MAP(t)                                                      \
    cmocka_unit_test_prestate_setup_teardown(t, setup, nfix_teardown,    \
                                             (void *)map_text_)

int main(void)
{
    const struct CMUnitTest tests[] = {
        WITH_MAP(test_route_makes_a_step),
        WITH_MAP(test_steps_fire_by_the_rota_then),
        WITH_MAP(test_ack_cancels_and_tells),
        WITH_MAP(test_stop_order),
        WITH_MAP(test_repeats),
        WITH_MAP(test_clear_ends_repeats),
        WITH_MAP(test_upgrade_from_v1),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
