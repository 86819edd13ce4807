/*
 * test_notify_journal.c - the notification journal (notify/njournal.h)
 * with routing (notify/route.h) and the messages (notify/message.h).
 *
 * Times are a stub clock: plain numbers of nanoseconds handed in.
 * - Routing: first match wins (priority, area), a clear only with
 *   on_clear, oncall to the person on call at the event's time, an email
 *   channel's `to` one row each, group.wait in next_ns.
 * - Grouping: rows of one (channel, recipient) that arrive within the
 *   first one's wait go out as one batch; another recipient is another
 *   batch; nothing is handed out before it is due.
 * - Resume: the journal closed without marks (kill -9 before or during
 *   delivery) hands out exactly the same rows after reopening; after a
 *   mark, nothing; a failed attempt keeps the rows with its error until
 *   the retry time, and nj_mark_due_now makes them due; adding the same
 *   event twice (catch-up after a crash) adds nothing; the cursor.
 * - Messages: the webhook body (every documented field), the mail's
 *   headers and subject, a flood in one WeCom message cut under 4,096
 *   bytes with the mention kept, DingTalk's title and at.atMobiles.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "config/plcmap.h"
#include "notify/message.h"
#include "notify/njournal.h"
#include "notify/rota.h"
#include "notify/route.h"
#include "support/nfix.h"

#define S 1000000000ll

static const char map_text_[] =
    "station: {id: lock1, name: {en: Lock 1, zh: 一号船闸}, timezone: UTC}\n"
    "notify:\n"
    "  people:\n"
    "    - {id: wang, email: wang@example.com}\n"
    "    - {id: li, email: li@example.com}\n"
    "  channels:\n"
    "    - {id: mail, type: email, url: \"smtp://127.0.0.1:25\","
    " from: lb@lock1.example, to: [duty@lock1.example]}\n"
    "    - {id: hook, type: webhook, url: \"http://127.0.0.1:9/a\"}\n"
    "  oncall:\n"
    "    - level: 1\n"
    "      rota:\n"
    "        - {days: daily, from: \"08:00\", to: \"20:00\", person: wang}\n"
    "        - {days: daily, from: \"20:00\", to: \"08:00\", person: li}\n"
    "  routes:\n"
    "    - {priority: critical, area: [head], notify: [oncall, hook, mail],"
    " on_clear: true}\n"
    "    - {priority: [critical, high], notify: [hook]}\n"
    "  group: {wait: 30s}\n"
    "  public_url: https://lock1.example/\n"
    "plcs:\n"
    "  - {id: p, host: 127.0.0.1, tags: [{id: t, table: holding,"
    " address: 0, type: u16}]}\n";

typedef nfix fixture;

static int setup(void **state)
{
    *state = nfix_new("n.yaml", map_text_);
    return *state ? 0 : -1;
}

static int64_t at(int hh, int mm)
{
    return nfix_at(hh, mm);
}

static nj_alarm event(uint64_t seq, const char *id, const char *ev,
                      const char *prio, const char *area, int64_t ts)
{
    nj_alarm a;
    memset(&a, 0, sizeof a);
    a.rec_seq = seq;
    snprintf(a.alarm, sizeof a.alarm, "%s", id);
    snprintf(a.event, sizeof a.event, "%s", ev);
    snprintf(a.state, sizeof a.state, "%s",
             strcmp(ev, "clear") ? "active-unack" : "cleared-unack");
    snprintf(a.priority, sizeof a.priority, "%s", prio);
    snprintf(a.area, sizeof a.area, "%s", area);
    snprintf(a.msg_en, sizeof a.msg_en, "Oil 61.5 °C");
    snprintf(a.msg_zh, sizeof a.msg_zh, "油温高 61.5 °C");
    a.has_value = true;
    a.value = 61.5;
    a.ts_ns = ts;
    a.active_ns = ts;
    return a;
}

static void test_route(void **state)
{
    fixture *f = *state;
    const map_notify *nf = &f->st->notify;
    nj_row rows[ROUTE_ROWS_MAX];
    route_info info;
    /* critical in head: oncall (wang by day), hook, mail's `to` */
    nj_alarm a = event(1, "p.t.high", "active", "critical", "head",
                       at(9, 0));
    size_t n = route_event(nf, f->r, &a, at(9, 0), rows, ROUTE_ROWS_MAX,
                           &info);
    assert_int_equal(info.route, 0);
    assert_int_equal(n, 3);
    assert_string_equal(rows[0].channel, "hook");
    assert_string_equal(rows[0].recipient, "");
    assert_int_equal(rows[0].level, 0);
    assert_string_equal(rows[1].channel, "mail");
    assert_string_equal(rows[1].recipient, "duty@lock1.example");
    assert_string_equal(rows[2].channel, "mail");
    assert_string_equal(rows[2].recipient, "wang@example.com");
    assert_int_equal(rows[2].level, 1);
    assert_true(rows[2].next_ns == at(9, 0) + 30 * S);
    /* at night li; a clear goes out too (on_clear) */
    a = event(2, "p.t.high", "clear", "critical", "head", at(21, 0));
    n = route_event(nf, f->r, &a, at(21, 0), rows, ROUTE_ROWS_MAX, &info);
    assert_int_equal(n, 3);
    assert_string_equal(rows[2].recipient, "li@example.com");
    /* critical elsewhere: the second route, no clear there */
    a = event(3, "p.t.high", "active", "critical", "yard", at(9, 0));
    assert_int_equal(route_event(nf, f->r, &a, at(9, 0), rows,
                                 ROUTE_ROWS_MAX, &info), 1);
    assert_int_equal(info.route, 1);
    a = event(4, "p.t.high", "clear", "critical", "yard", at(9, 0));
    assert_int_equal(route_event(nf, f->r, &a, at(9, 0), rows,
                                 ROUTE_ROWS_MAX, &info), 0);
    /* medium: no route */
    a = event(5, "p.t.high", "active", "medium", "head", at(9, 0));
    assert_int_equal(route_event(nf, f->r, &a, at(9, 0), rows,
                                 ROUTE_ROWS_MAX, &info), 0);
    assert_int_equal(info.route, -1);
}

/* A channel's own alarm (notify.<ch>.failing) goes to the route's other
 * channels, never to <ch> itself, nor to oncall when its mail would go
 * through <ch> (the first email channel); with nothing left, no row and
 * own_skipped says why. */
static void test_route_own(void **state)
{
    fixture *f = *state;
    const map_notify *nf = &f->st->notify;
    nj_row rows[ROUTE_ROWS_MAX];
    route_info info;
    /* the first route: oncall, hook, mail; hook is left out */
    nj_alarm a = event(1, "notify.hook.failing", "active", "critical",
                       "head", at(9, 0));
    size_t n = route_event(nf, f->r, &a, at(9, 0), rows, ROUTE_ROWS_MAX,
                           &info);
    assert_int_equal(info.route, 0);
    assert_int_equal(info.own_skipped, 1);
    assert_int_equal(n, 2);
    assert_string_equal(rows[0].channel, "mail");
    assert_string_equal(rows[0].recipient, "duty@lock1.example");
    assert_string_equal(rows[1].channel, "mail");
    assert_string_equal(rows[1].recipient, "wang@example.com");
    assert_int_equal(rows[1].level, 1);
    /* mail failing: neither its `to` nor oncall (through mail); hook */
    a = event(2, "notify.mail.failing", "active", "critical", "head",
              at(9, 0));
    n = route_event(nf, f->r, &a, at(9, 0), rows, ROUTE_ROWS_MAX, &info);
    assert_int_equal(info.own_skipped, 2);
    assert_false(info.nobody_on_call);
    assert_int_equal(n, 1);
    assert_string_equal(rows[0].channel, "hook");
    /* the second route names only hook: nobody is left */
    a = event(3, "notify.hook.failing", "active", "high", "station",
              at(9, 0));
    n = route_event(nf, f->r, &a, at(9, 0), rows, ROUTE_ROWS_MAX, &info);
    assert_int_equal(info.route, 1);
    assert_int_equal(info.own_skipped, 1);
    assert_int_equal(n, 0);
    /* ... and its clear the same (first route, on_clear) */
    a = event(4, "notify.hook.failing", "clear", "critical", "head",
              at(9, 0));
    n = route_event(nf, f->r, &a, at(9, 0), rows, ROUTE_ROWS_MAX, &info);
    assert_int_equal(n, 2);
    assert_string_equal(rows[0].channel, "mail");
    /* only the exact id is a channel's own */
    static const char *const others[] = {"notify.hook.failing2",
                                         "notify.hoo.failing", "hook",
                                         "xnotify.hook.failing",
                                         "notify.hook"};
    for (size_t i = 0; i < sizeof others / sizeof *others; i++) {
        a = event(5, others[i], "active", "high", "station", at(9, 0));
        n = route_event(nf, f->r, &a, at(9, 0), rows, ROUTE_ROWS_MAX, &info);
        assert_int_equal(info.own_skipped, 0);
        assert_int_equal(n, 1);
        assert_string_equal(rows[0].channel, "hook");
    }
}

/* Adds the rows of events a[0..n) created at their own times. */
static void add_events(fixture *f, nj *j, const nj_alarm *a, size_t n)
{
    char err[256];
    for (size_t i = 0; i < n; i++) {
        nj_row rows[ROUTE_ROWS_MAX];
        size_t k = route_event(&f->st->notify, f->r, &a[i], a[i].ts_ns, rows,
                               ROUTE_ROWS_MAX, NULL);
        assert_int_equal(nj_add(j, rows, k, NULL, 0, a[i].rec_seq,
                                a[i].ts_ns, err, sizeof err), 0);
    }
}

static void test_group_and_resume(void **state)
{
    fixture *f = *state;
    char err[256];
    nj *j = nj_open(f->path, NULL, NULL, err, sizeof err);
    assert_non_null(j);
    uint64_t seq = 0;
    int64_t ts = 0;
    assert_int_equal(nj_cursor(j, &seq, &ts, err, sizeof err), 0);
    /* three high alarms 0 s, 10 s and 29 s after 09:00: one webhook
     * message; a fourth at 31 s would start... no: it joins too, as long
     * as the batch has not gone (Alertmanager's group_wait) */
    nj_alarm ev[3] = {
        event(10, "p.a.high", "active", "high", "yard", at(9, 0)),
        event(11, "p.b.high", "active", "high", "yard", at(9, 0) + 10 * S),
        event(12, "p.c.high", "active", "critical", "head",
              at(9, 0) + 29 * S),
    };
    add_events(f, j, ev, 3);
    assert_int_equal(nj_cursor(j, &seq, &ts, err, sizeof err), 1);
    assert_int_equal(seq, 12);
    assert_true(ts == at(9, 0) + 29 * S);
    int64_t due = 0;
    assert_int_equal(nj_next_due(j, &due), 1);
    assert_true(due == at(9, 0) + 30 * S);
    nj_row b[16];
    assert_int_equal(nj_batch(j, at(9, 0) + 30 * S - 1, b, 16), 0);
    size_t n = nj_batch(j, at(9, 0) + 30 * S, b, 16);
    assert_int_equal(n, 3);   /* hook: a, b, c */
    assert_string_equal(b[0].channel, "hook");
    assert_string_equal(b[0].a.alarm, "p.a.high");
    assert_string_equal(b[2].a.alarm, "p.c.high");
    assert_string_equal(b[2].a.msg_zh, "油温高 61.5 °C");
    assert_true(b[2].a.has_value && b[2].a.value == 61.5);

    /* kill -9 before the mark: the same rows again after a restart */
    nj_close(j);
    j = nj_open(f->path, NULL, NULL, err, sizeof err);
    assert_non_null(j);
    nj_row again[16];
    assert_int_equal(nj_batch(j, at(9, 1), again, 16), 3);
    for (size_t i = 0; i < 3; i++)
        assert_true(again[i].id == b[i].id);
    /* delivered: never handed out again, after a restart neither */
    assert_int_equal(nj_mark(j, b, 3, true, "HTTP 200", at(9, 1), at(9, 1),
                             err, sizeof err), 0);
    nj_close(j);
    j = nj_open(f->path, NULL, NULL, err, sizeof err);
    assert_non_null(j);
    /* next: the mail rows of p.c.high (critical in head), duty first */
    n = nj_batch(j, at(9, 1), b, 16);
    assert_int_equal(n, 1);
    assert_string_equal(b[0].channel, "mail");
    assert_string_equal(b[0].recipient, "duty@lock1.example");
    /* a failure keeps it, with its error, until the retry */
    assert_int_equal(nj_mark(j, b, 1, false, "Couldn't connect to server",
                             at(9, 1), at(9, 5), err, sizeof err), 0);
    n = nj_batch(j, at(9, 1), b, 16);
    assert_int_equal(n, 1);
    assert_string_equal(b[0].recipient, "wang@example.com");
    assert_int_equal(nj_mark(j, b, 1, true, "250 OK", at(9, 1), at(9, 1),
                             err, sizeof err), 0);
    assert_int_equal(nj_batch(j, at(9, 2), b, 16), 0);
    assert_int_equal(nj_next_due(j, &due), 1);
    assert_true(due == at(9, 5));
    /* another channel working again changes nothing for it; its own
     * channel working again, or a restart, makes it due at once */
    assert_int_equal(nj_mark_due_now(j, "hook", at(9, 2), err, sizeof err),
                     0);
    assert_int_equal(nj_batch(j, at(9, 2), b, 16), 0);
    assert_int_equal(nj_mark_due_now(j, NULL, at(9, 2), err, sizeof err), 0);
    n = nj_batch(j, at(9, 2), b, 16);
    assert_int_equal(n, 1);
    assert_string_equal(b[0].recipient, "duty@lock1.example");
    assert_int_equal(b[0].attempts, 1);
    /* the same event routed again (catch-up): nothing new */
    add_events(f, j, ev + 2, 1);
    assert_int_equal(nj_batch(j, at(9, 2), b, 16), 1);
    assert_int_equal(nj_mark(j, b, 1, true, "250 OK", at(9, 2), at(9, 2),
                             err, sizeof err), 0);
    nj_counts c;
    assert_int_equal(nj_counts_get(j, &c), 0);
    assert_int_equal(c.pending, 0);
    assert_int_equal(c.sent, 5);
    assert_int_equal(c.attempts, 4);
    assert_int_equal(c.failed_attempts, 1);
    assert_int_equal(nj_next_due(j, &due), 0);
    nj_close(j);
}

/* Two recipients of one channel are two groups; a row of one cannot hold
 * back the other. */
static void test_groups_per_recipient(void **state)
{
    fixture *f = *state;
    char err[256], path[128];
    snprintf(path, sizeof path, "%s/g.db", f->dir);
    nj *j = nj_open(path, NULL, NULL, err, sizeof err);
    assert_non_null(j);
    nj_alarm a = event(1, "p.t.high", "active", "critical", "head",
                       at(9, 0));
    add_events(f, j, &a, 1);
    nj_row b[16];
    const char *seen[3];
    for (int i = 0; i < 3; i++) {
        size_t n = nj_batch(j, at(9, 1), b, 16);
        assert_int_equal(n, 1);
        seen[i] = b[0].recipient[0] ? (b[0].recipient[0] == 'd' ? "duty"
                                                                 : "wang")
                                    : "hook";
        assert_int_equal(nj_mark(j, b, 1, true, "ok", at(9, 1), at(9, 1),
                                 err, sizeof err), 0);
    }
    assert_string_equal(seen[0], "hook");
    assert_string_equal(seen[1], "duty");
    assert_string_equal(seen[2], "wang");
    assert_int_equal(nj_batch(j, at(9, 1), b, 16), 0);
    nj_close(j);
}

static void test_messages(void **state)
{
    fixture *f = *state;
    nj_row rows[2];
    memset(rows, 0, sizeof rows);
    rows[0].id = 7;
    rows[0].a = event(3, "p.t.high", "active", "high", "head", at(9, 0));
    rows[1].id = 8;
    rows[1].a = event(4, "p.u.high", "clear", "critical", "head", at(9, 1));
    rows[1].a.has_value = false;
    char *body = nmsg_webhook(f->st, rows, 2, NULL, at(9, 2));
    assert_non_null(body);
    cJSON *j = cJSON_Parse(body);
    assert_non_null(j);
    assert_int_equal(cJSON_GetObjectItem(j, "version")->valueint, 1);
    cJSON *st = cJSON_GetObjectItem(j, "station");
    assert_string_equal(cJSON_GetObjectItem(st, "id")->valuestring, "lock1");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(st, "name"),
                                            "zh")->valuestring, "一号船闸");
    assert_string_equal(cJSON_GetObjectItem(j, "sent")->valuestring,
                        "2026-01-14T09:02:00.000Z");
    assert_string_equal(cJSON_GetObjectItem(j, "url")->valuestring,
                        "https://lock1.example/");
    cJSON *al = cJSON_GetObjectItem(j, "alarms");
    assert_int_equal(cJSON_GetArraySize(al), 2);
    cJSON *a0 = cJSON_GetArrayItem(al, 0), *a1 = cJSON_GetArrayItem(al, 1);
    assert_string_equal(cJSON_GetObjectItem(a0, "id")->valuestring,
                        "p.t.high");
    assert_int_equal(cJSON_GetObjectItem(a0, "notification")->valueint, 7);
    assert_int_equal(cJSON_GetObjectItem(a0, "seq")->valueint, 3);
    assert_string_equal(cJSON_GetObjectItem(a0, "event")->valuestring,
                        "active");
    assert_string_equal(cJSON_GetObjectItem(a0, "state")->valuestring,
                        "active-unack");
    assert_string_equal(cJSON_GetObjectItem(a0, "priority")->valuestring,
                        "high");
    assert_string_equal(cJSON_GetObjectItem(a0, "area")->valuestring, "head");
    cJSON *m = cJSON_GetObjectItem(a0, "message");
    assert_string_equal(cJSON_GetObjectItem(m, "en")->valuestring,
                        "Oil 61.5 °C");
    assert_string_equal(cJSON_GetObjectItem(m, "zh")->valuestring,
                        "油温高 61.5 °C");
    assert_true(cJSON_GetObjectItem(a0, "value")->valuedouble == 61.5);
    assert_string_equal(cJSON_GetObjectItem(a0, "time")->valuestring,
                        "2026-01-14T09:00:00.000Z");
    assert_string_equal(cJSON_GetObjectItem(a0, "active_since")->valuestring,
                        "2026-01-14T09:00:00.000Z");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(a1, "value")));
    assert_string_equal(cJSON_GetObjectItem(a1, "event")->valuestring,
                        "clear");
    cJSON_Delete(j);
    free(body);

    char subject[256];
    nmsg_subject(f->st, rows, 1, subject, sizeof subject);
    assert_string_equal(subject, "[HIGH 高] Lock 1: p.t.high active - Oil "
                        "61.5 °C");
    nmsg_subject(f->st, rows, 2, subject, sizeof subject);
    assert_string_equal(subject, "[CRITICAL 紧急] Lock 1: 2 alarms - "
                        "p.t.high active, ...");
    const char *to[1] = {"wang@example.com"};
    char *mail = nmsg_email(f->st, "lb@lock1.example", to, 1, rows, 2, NULL,
                            at(9, 2));
    assert_non_null(mail);
    assert_non_null(strstr(mail, "From: lb@lock1.example\r\n"
                                 "To: wang@example.com\r\nSubject: "
                                 "=?UTF-8?B?"));
    assert_non_null(strstr(mail, "Date: Wed, 14 Jan 2026 09:02:00 +0000"));
    assert_non_null(strstr(mail, "Content-Type: multipart/alternative;"));
    assert_non_null(strstr(mail, "Content-Type: text/plain; charset=UTF-8"));
    assert_non_null(strstr(mail, "Content-Type: text/html; charset=UTF-8"));
    /* no line longer than RFC 5322's 78 */
    for (const char *p = mail; *p;) {
        size_t l = strcspn(p, "\r\n");
        assert_true(l <= 78);
        p += l;
        while (*p == '\r' || *p == '\n')
            p++;
    }
    free(mail);
}

/* A flood in one robot message: cut to WeCom's 4,096 bytes, the count of
 * what was left out said, the mention kept at the end. */
static void test_robot_limit(void **state)
{
    fixture *f = *state;
    static nj_row rows[100];
    memset(rows, 0, sizeof rows);
    for (int i = 0; i < 100; i++) {
        char id[32];
        snprintf(id, sizeof id, "p.t%d.high", i);
        rows[i].a = event((uint64_t)i + 1, id, "active", "high", "head",
                          at(9, 0));
    }
    map_person wang = {.id = "wang", .wecom = "wangli",
                       .phone = "+8613800000000"};
    char *body = nmsg_robot(f->st, MAP_CH_WECOM, &wang, rows, 100, NULL);
    assert_non_null(body);
    cJSON *j = cJSON_Parse(body);
    assert_non_null(j);
    assert_string_equal(cJSON_GetObjectItem(j, "msgtype")->valuestring,
                        "markdown");
    const char *c = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "markdown"),
                                        "content")->valuestring;
    assert_true(strlen(c) < NMSG_WECOM_MAX);
    assert_non_null(strstr(c, "p.t0.high active 报警"));
    assert_null(strstr(c, "p.t99.high"));
    assert_non_null(strstr(c, " more / 另有 "));
    size_t cl = strlen(c);
    assert_true(cl > 9 && strcmp(c + cl - 9, "<@wangli>") == 0);
    cJSON_Delete(j);
    free(body);
    body = nmsg_robot(f->st, MAP_CH_DINGTALK, &wang, rows, 2, NULL);
    j = cJSON_Parse(body);
    assert_non_null(j);
    cJSON *mob = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "at"),
                                     "atMobiles");
    assert_int_equal(cJSON_GetArraySize(mob), 1);
    assert_string_equal(cJSON_GetArrayItem(mob, 0)->valuestring,
                        "+8613800000000");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(j,
                        "markdown"), "title")->valuestring,
                        "[HIGH 高] Lock 1: 2 alarms - p.t0.high active, ...");
    cJSON_Delete(j);
    free(body);
}

/* A flood's summary: the count by priority, the most urgent first, the
 * rest behind the link to the alarm list. */
static void test_summary(void **state)
{
    fixture *f = *state;
    static nj_row rows[30];
    memset(rows, 0, sizeof rows);
    for (int i = 0; i < 30; i++) {
        char id[32];
        snprintf(id, sizeof id, "p.t%d.x", i);
        rows[i].a = event((uint64_t)i + 1, id, "active",
                          i >= 25 ? "critical" : "high", "head", at(9, 0));
    }
    char *body = nmsg_robot(f->st, MAP_CH_WECOM, NULL, rows, 30, NULL);
    cJSON *j = cJSON_Parse(body);
    assert_non_null(j);
    const char *c = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "markdown"),
                                        "content")->valuestring;
    assert_non_null(strstr(c, "**30 new alarm events: 5 critical, 25 high** "
                              "/ **30 条新报警事件：紧急 5，高 25**"));
    const char *crit = strstr(c, "p.t25.x"), *high = strstr(c, "p.t0.x");
    assert_non_null(crit);
    assert_non_null(high);
    assert_true(crit < high);                  /* the critical ones first */
    assert_non_null(strstr(c, "p.t4.x"));
    assert_null(strstr(c, "p.t5.x"));          /* 10 listed: 5 + 5 */
    assert_non_null(strstr(c, "... and 20 more / 另有 20 条: "
                              "https://lock1.example/#/alarms"));
    cJSON_Delete(j);
    free(body);
    /* ten are a plain message, in the order they came */
    body = nmsg_robot(f->st, MAP_CH_WECOM, NULL, rows + 20, 10, NULL);
    assert_null(strstr(body, "new alarm events"));
    assert_null(strstr(body, " more / "));
    assert_true(strstr(body, "p.t20.x") < strstr(body, "p.t25.x"));
    free(body);
}

/* DingTalk's actionCard: a button that acknowledges, one per alarm, the
 * list when there are more than fit. */
static void test_action_card(void **state)
{
    fixture *f = *state;
    nj_row rows[8];
    memset(rows, 0, sizeof rows);
    const char *links[8];
    char lk[8][64];
    for (int i = 0; i < 8; i++) {
        char id[32];
        snprintf(id, sizeof id, "p.t%d.high", i);
        rows[i].a = event((uint64_t)i + 1, id, "active", "high", "head",
                          at(9, 0));
        snprintf(lk[i], sizeof lk[i], "https://lock1.example/#/ack/T%d", i);
        links[i] = lk[i];
    }
    map_person wang = {.id = "wang", .phone = "+8613800000000"};
    char *body = nmsg_dingtalk_card(f->st, &wang, rows, 1, links);
    cJSON *j = cJSON_Parse(body);
    assert_non_null(j);
    assert_string_equal(cJSON_GetObjectItem(j, "msgtype")->valuestring,
                        "actionCard");
    cJSON *card = cJSON_GetObjectItem(j, "actionCard");
    assert_string_equal(cJSON_GetObjectItem(card, "title")->valuestring,
                        "[HIGH 高] Lock 1: p.t0.high active - Oil 61.5 °C");
    assert_non_null(strstr(cJSON_GetObjectItem(card, "text")->valuestring,
                           "p.t0.high active 报警"));
    assert_string_equal(cJSON_GetObjectItem(card, "singleURL")->valuestring,
                        lk[0]);
    cJSON_Delete(j);
    free(body);

    body = nmsg_dingtalk_card(f->st, &wang, rows, 3, links);
    j = cJSON_Parse(body);
    cJSON *btns = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "actionCard"),
                                      "btns");
    assert_int_equal(cJSON_GetArraySize(btns), 3);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(btns, 2),
                        "actionURL")->valuestring, lk[2]);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(btns, 2),
                        "title")->valuestring, "Acknowledge 确认 p.t2.high");
    cJSON_Delete(j);
    free(body);

    body = nmsg_dingtalk_card(f->st, &wang, rows, 8, links);
    j = cJSON_Parse(body);
    btns = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "actionCard"), "btns");
    assert_int_equal(cJSON_GetArraySize(btns), NMSG_CARD_BUTTONS);
    cJSON *last = cJSON_GetArrayItem(btns, NMSG_CARD_BUTTONS - 1);
    assert_string_equal(cJSON_GetObjectItem(last, "title")->valuestring,
                        "All 8 alarms 全部 8 条");
    assert_string_equal(cJSON_GetObjectItem(last, "actionURL")->valuestring,
                        "https://lock1.example/#/alarms");
    cJSON_Delete(j);
    free(body);

    /* no link: the alarm list is the button */
    body = nmsg_dingtalk_card(f->st, &wang, rows, 2, NULL);
    j = cJSON_Parse(body);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(j,
                        "actionCard"), "singleURL")->valuestring,
                        "https://lock1.example/#/alarms");
    cJSON_Delete(j);
    free(body);
}

/* Retention: what was sent before the cutoff goes, with its attempts;
 * what is pending stays whatever its age. */
static void test_prune(void **state)
{
    fixture *f = *state;
    char err[256], path[160];
    snprintf(path, sizeof path, "%s/state/prune.db", f->dir);
    nj *j = nj_open(path, NULL, NULL, err, sizeof err);
    assert_non_null(j);
    nj_alarm ev[3] = {
        event(1, "p.a.high", "active", "high", "yard", at(9, 0)),
        event(2, "p.b.high", "active", "high", "yard", at(9, 0) + S),
        event(3, "p.c.high", "active", "high", "yard", at(11, 0)),
    };
    add_events(f, j, ev, 2);
    nj_row b[16];
    size_t n = nj_batch(j, at(9, 1), b, 16);
    assert_int_equal(n, 2);
    assert_int_equal(nj_mark(j, b, n, true, "200", at(9, 1), at(9, 1), err,
                             sizeof err), 0);
    add_events(f, j, ev + 2, 1);
    nj_counts c;
    assert_int_equal(nj_counts_get(j, &c), 0);
    uint64_t pending = c.pending;
    assert_true(c.sent >= 2 && pending >= 1);
    assert_int_equal(nj_prune(j, at(10, 0), err, sizeof err),
                     (long)(c.sent + 1));           /* the rows, the attempt */
    assert_int_equal(nj_counts_get(j, &c), 0);
    assert_int_equal((int)c.sent, 0);
    assert_int_equal((int)c.attempts, 0);
    assert_true(c.pending == pending);
    /* a pending row older than the cutoff stays too */
    assert_int_equal(nj_prune(j, at(12, 0), err, sizeof err), 0);
    assert_int_equal(nj_counts_get(j, &c), 0);
    assert_true(c.pending == pending);
    nj_close(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_robot_limit),
        cmocka_unit_test(test_summary),
        cmocka_unit_test(test_prune),
        cmocka_unit_test(test_action_card),
        cmocka_unit_test(test_route),
        cmocka_unit_test(test_route_own),
        cmocka_unit_test(test_group_and_resume),
        cmocka_unit_test(test_groups_per_recipient),
        cmocka_unit_test(test_messages),
    };
    return cmocka_run_group_tests(tests, setup, nfix_teardown);
}
