/*
 * test_alarm_journal.c - the alarm journal (alarm/journal.h) and the board
 * that shows only what it has committed (alarm/board.h).
 *
 * The journal: records come back in submission order, numbered, exactly
 * once, after commit; the file and its directory are private; reading a
 * range (oldest first, the newest N, one alarm) and the last record of
 * each alarm at a time; the queue's bound; a full disk (a small tmpfs,
 * support/fullfs.h) loses nothing and keeps the order.
 *
 * The board: a transition is not shown before its record is committed;
 * an action's ticket is published only after commit; a new board restored
 * from the file shows exactly what the old one showed, and an alarm the
 * map no longer has is reported once; with the journal's queue full on a
 * full disk the board merges and refuses actions, and once there is room
 * the journal again holds every alarm's exact status.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "alarm/board.h"
#include "alarm/journal.h"
#include "config/plcmap.h"
#include "support/fullfs.h"
#include "support/tmpdir.h"

#define S 1000000000LL
#define T0 1800000000000000000LL

static char dir[64];
static char path[160];
static char fulldir[96];

static int setup(void **st)
{
    (void)st;
    if (tmpdir_make(dir, sizeof dir, "lb-journal-test.") < 0)
        return -1;
    /* a directory journal_open has to make */
    snprintf(path, sizeof path, "%s/state/alarms.db", dir);
    return 0;
}

static int teardown(void **st)
{
    (void)st;
    return tmpdir_remove(dir);
}

static int setup_full(void **st)
{
    if (setup(st) < 0)
        return -1;
    snprintf(fulldir, sizeof fulldir, "%s/full", dir);
    snprintf(path, sizeof path, "%s/alarms.db", fulldir);
    return fullfs_setup(fulldir, 1 << 20);
}

static int teardown_full(void **st)
{
    fullfs_umount(fulldir);
    return teardown(st);
}

static journal *open_journal(size_t cap)
{
    char err[256] = "";
    journal_opts o = {.path = path, .queue_cap = cap};
    journal *j = journal_open(&o, err, sizeof err);
    if (!j)
        fail_msg("journal_open: %s", err);
    return j;
}

/* Record k of a made-up sequence: alarm k % 10, every field derived from
 * k, so that what comes back can be checked field by field. */
static void make_rec(journal_rec *r, unsigned k)
{
    memset(r, 0, sizeof *r);
    r->alarm = k % 10;
    snprintf(r->id, sizeof r->id, "plc%u.tag.high", k % 10);
    r->event = (alarm_event)(k % (ALARM_EV_COMMENT + 1));
    r->from_state = (alarm_state)(k % 4);
    r->from_flags = k & 0x7f;
    r->to.state = (alarm_state)((k + 1) % 4);
    r->to.flags = (k * 7) & 0x7f;
    r->ts_ns = T0 + (int64_t)k * S;
    r->to.changed_ns = r->ts_ns;
    r->to.active_ns = k % 3 ? r->ts_ns - S : 0;
    r->to.acked_ns = k;
    snprintf(r->to.acked_by, sizeof r->to.acked_by, k % 2 ? "li" : "");
    r->to.shelved_until_ns = (int64_t)k * 3;
    snprintf(r->to.shelve_reason, sizeof r->to.shelve_reason, "r%u", k);
    r->to.has_value = k % 5 != 0;
    r->to.value = r->to.has_value ? k * 0.5 : 0;
    r->to.activations = k;
    r->to.chatter_count = k / 100;
    if (k % 4 == 0)
        snprintf(r->who, sizeof r->who, "zhang");
    if (k % 6 == 0)
        snprintf(r->comment, sizeof r->comment, "comment %u 水位", k);
    r->priority = (map_priority)(k % MAP_PRIO_N);
    snprintf(r->area, sizeof r->area, "area%u", k % 3);
}

static void assert_rec(const journal_rec *got, unsigned k, uint64_t seq)
{
    journal_rec w;
    make_rec(&w, k);
    assert_int_equal(got->seq, seq);
    assert_string_equal(got->id, w.id);
    assert_int_equal(got->event, w.event);
    assert_int_equal(got->from_state, w.from_state);
    assert_int_equal(got->from_flags, w.from_flags);
    assert_int_equal(got->to.state, w.to.state);
    assert_int_equal(got->to.flags, w.to.flags);
    assert_int_equal(got->ts_ns, w.ts_ns);
    assert_int_equal(got->to.changed_ns, w.to.changed_ns);
    assert_int_equal(got->to.active_ns, w.to.active_ns);
    assert_int_equal(got->to.acked_ns, w.to.acked_ns);
    assert_string_equal(got->to.acked_by, w.to.acked_by);
    assert_int_equal(got->to.shelved_until_ns, w.to.shelved_until_ns);
    assert_string_equal(got->to.shelve_reason, w.to.shelve_reason);
    assert_int_equal(got->to.has_value, w.to.has_value);
    assert_true(got->to.value == w.to.value);
    assert_int_equal(got->to.activations, w.to.activations);
    assert_int_equal(got->to.chatter_count, w.to.chatter_count);
    assert_string_equal(got->who, w.who);
    assert_string_equal(got->comment, w.comment);
    assert_int_equal(got->priority, w.priority);
    assert_string_equal(got->area, w.area);
}

typedef struct {
    journal_rec *v;
    size_t n;
} recs;

static int collect(void *ctx, const journal_rec *r)
{
    recs *x = ctx;
    x->v = realloc(x->v, (x->n + 1) * sizeof *x->v);
    assert_non_null(x->v);
    x->v[x->n++] = *r;
    return 0;
}

static void take_all(journal *j, recs *out)
{
    journal_rec buf[64];
    size_t n;
    while ((n = journal_take(j, buf, 64)) > 0)
        for (size_t i = 0; i < n; i++)
            collect(out, &buf[i]);
}

static unsigned notified;
static void on_commit(void *ctx)
{
    (void)ctx;
    __atomic_add_fetch(&notified, 1, __ATOMIC_SEQ_CST);
}

static void test_commit_in_order_and_read_back(void **st)
{
    (void)st;
    journal *j = open_journal(4096);
    notified = 0;
    journal_set_notify(j, on_commit, NULL);
    journal_rec r;
    for (unsigned k = 0; k < 1000; k++) {
        make_rec(&r, k);
        assert_int_equal(journal_submit(j, &r), 0);
    }
    assert_int_equal(journal_flush(j), 0);
    assert_true(__atomic_load_n(&notified, __ATOMIC_SEQ_CST) >= 1);
    recs got = {0};
    take_all(j, &got);
    assert_int_equal(got.n, 1000);
    for (unsigned k = 0; k < 1000; k++) {
        assert_rec(&got.v[k], k, k + 1);
        assert_int_equal(got.v[k].alarm, k % 10);
    }
    journal_stats js;
    journal_get_stats(j, &js);
    assert_int_equal(js.submitted, 1000);
    assert_int_equal(js.committed, 1000);
    assert_int_equal(js.last_seq, 1000);
    assert_int_equal(js.queued, 0);
    assert_int_equal(js.uncollected, 0);
    assert_true(js.commits >= 4);      /* at most JOURNAL_BATCH a commit */
    assert_string_equal(js.last_error, "");
    journal_close(j);

    /* private: 0700 directory, 0600 file */
    struct stat sb;
    char sdir[160];
    snprintf(sdir, sizeof sdir, "%s/state", dir);
    assert_int_equal(stat(sdir, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0700);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);

    /* the whole range, oldest first, from another connection */
    char err[256];
    free(got.v);
    got = (recs){0};
    bool more = true;
    journal_query q = {.from_ns = INT64_MIN, .to_ns = INT64_MAX};
    assert_int_equal(journal_read(path, &q, collect, &got, &more, err,
                                  sizeof err), 0);
    assert_false(more);
    assert_int_equal(got.n, 1000);
    for (unsigned k = 0; k < 1000; k++) {
        assert_rec(&got.v[k], k, k + 1);
        assert_int_equal(got.v[k].alarm, UINT32_MAX);
    }
    /* the newest 10 of a range, still oldest first */
    free(got.v);
    got = (recs){0};
    q = (journal_query){.from_ns = T0 + 100 * S, .to_ns = T0 + 200 * S,
                        .limit = 10};
    assert_int_equal(journal_read(path, &q, collect, &got, &more, err,
                                  sizeof err), 0);
    assert_true(more);
    assert_int_equal(got.n, 10);
    for (unsigned k = 0; k < 10; k++)
        assert_rec(&got.v[k], 190 + k, 191 + k);
    /* one alarm */
    free(got.v);
    got = (recs){0};
    q = (journal_query){.from_ns = T0, .to_ns = T0 + 100 * S,
                        .id = "plc3.tag.high", .limit = 1000};
    assert_int_equal(journal_read(path, &q, collect, &got, &more, err,
                                  sizeof err), 0);
    assert_false(more);
    assert_int_equal(got.n, 10);
    for (unsigned k = 0; k < 10; k++)
        assert_rec(&got.v[k], 3 + 10 * k, 4 + 10 * k);
    /* the last record of each alarm, at the end and at a time */
    free(got.v);
    got = (recs){0};
    assert_int_equal(journal_last(path, INT64_MAX, collect, &got, err,
                                  sizeof err), 0);
    assert_int_equal(got.n, 10);
    for (unsigned k = 0; k < 10; k++)
        assert_rec(&got.v[k], 990 + k, 991 + k);
    free(got.v);
    got = (recs){0};
    assert_int_equal(journal_last(path, T0 + 505 * S, collect, &got, err,
                                  sizeof err), 0);
    assert_int_equal(got.n, 10);
    for (unsigned k = 0; k < 10; k++)
        assert_rec(&got.v[k], 495 + k, 496 + k);   /* 495..504 */
    free(got.v);

    /* reopened, the numbering goes on */
    j = open_journal(0);
    make_rec(&r, 1000);
    assert_int_equal(journal_submit(j, &r), 0);
    assert_int_equal(journal_flush(j), 0);
    got = (recs){0};
    take_all(j, &got);
    assert_int_equal(got.n, 1);
    assert_rec(&got.v[0], 1000, 1001);
    free(got.v);
    journal_close(j);

    /* no file yet: no records, no error */
    char none[200];
    snprintf(none, sizeof none, "%s/none.db", dir);
    got = (recs){0};
    assert_int_equal(journal_last(none, INT64_MAX, collect, &got, err,
                                  sizeof err), 0);
    assert_int_equal(journal_read(none, &q, collect, &got, NULL, err,
                                  sizeof err), 0);
    assert_int_equal(got.n, 0);
    assert_int_equal(access(none, F_OK), -1);
}

/* Queued, in the batch and committed-but-not-taken count together. */
static void test_bound(void **st)
{
    (void)st;
    journal *j = open_journal(16);
    journal_rec r;
    make_rec(&r, 1);
    for (int k = 0; k < 16; k++)
        assert_int_equal(journal_submit(j, &r), 0);
    assert_int_equal(journal_submit(j, &r), -1);
    assert_int_equal(journal_room(j), 0);
    assert_int_equal(journal_flush(j), 0);
    assert_int_equal(journal_submit(j, &r), -1);   /* not taken yet */
    journal_rec buf[5];
    assert_int_equal(journal_take(j, buf, 5), 5);
    assert_int_equal(journal_room(j), 5);
    journal_stats js;
    journal_get_stats(j, &js);
    assert_int_equal(js.refused, 2);
    assert_int_equal(js.uncollected, 11);
    journal_close(j);
}

static void test_open_errors(void **st)
{
    (void)st;
    char err[256] = "";
    char file[200];
    snprintf(file, sizeof file, "%s/plain", dir);
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    for (int k = 0; k < 4096; k++)
        fputc('x', f);
    fclose(f);
    /* a directory where a file sits */
    snprintf(path, sizeof path, "%s/plain/alarms.db", dir);
    journal_opts o = {.path = path};
    assert_null(journal_open(&o, err, sizeof err));
    assert_non_null(strstr(err, "plain"));
    /* a file that is no database */
    o.path = file;
    assert_null(journal_open(&o, err, sizeof err));
    assert_non_null(strstr(err, file));
}

static void test_full_disk_loses_nothing(void **st)
{
    (void)st;
    journal *j = open_journal(4096);
    journal_rec r;
    for (unsigned k = 0; k < 50; k++) {
        make_rec(&r, k);
        assert_int_equal(journal_submit(j, &r), 0);
    }
    assert_int_equal(journal_flush(j), 0);
    assert_int_equal(fullfs_fill(fulldir), 0);
    /* each record with a long comment, so that a commit needs new pages */
    for (unsigned k = 50; k < 250; k++) {
        make_rec(&r, k);
        assert_int_equal(journal_submit(j, &r), 0);
    }
    assert_int_equal(journal_flush(j), -1);
    journal_stats js;
    journal_get_stats(j, &js);
    assert_true(js.failed_commits >= 1);
    assert_non_null(strstr(js.last_error, "full"));
    assert_int_equal(js.committed, 50);
    assert_int_equal(js.queued, 200);
    recs got = {0};
    take_all(j, &got);
    assert_int_equal(got.n, 50);      /* nothing uncommitted handed back */
    assert_int_equal(fullfs_unfill(fulldir), 0);
    assert_int_equal(journal_flush(j), 0);
    take_all(j, &got);
    assert_int_equal(got.n, 250);
    for (unsigned k = 0; k < 250; k++)
        assert_rec(&got.v[k], k, k + 1);
    journal_get_stats(j, &js);
    assert_string_equal(js.last_error, "");
    journal_close(j);
    free(got.v);
    got = (recs){0};
    char err[256];
    journal_query q = {.from_ns = INT64_MIN, .to_ns = INT64_MAX};
    assert_int_equal(journal_read(path, &q, collect, &got, NULL, err,
                                  sizeof err), 0);
    assert_int_equal(got.n, 250);     /* each exactly once */
    for (unsigned k = 0; k < 250; k++)
        assert_rec(&got.v[k], k, k + 1);
    free(got.v);
}

/* ---- the board ------------------------------------------------------------ */

static const char MAP[] =
    "station: {id: t}\n"
    "plcs:\n"
    "  - id: hpu\n"
    "    host: 127.0.0.1\n"
    "    tags:\n"
    "      - {id: temp, table: input, address: 0, type: f32,\n"
    "         alarms: [{id: high, above: 60, priority: high, area: head},\n"
    "                  {id: low, below: 5, latch: true}]}\n"
    "      - {id: level, table: input, address: 2, type: f32,\n"
    "         alarms: [{id: high, above: 3}]}\n"
    "chattering: off\n";

static const char MAP_SMALLER[] =
    "station: {id: t}\n"
    "plcs:\n"
    "  - id: hpu\n"
    "    host: 127.0.0.1\n"
    "    tags:\n"
    "      - {id: temp, table: input, address: 0, type: f32,\n"
    "         alarms: [{id: high, above: 60, priority: high, area: head}]}\n"
    "      - {id: level, table: input, address: 2, type: f32}\n"
    "chattering: off\n";

static map_station *load_map(const char *text)
{
    map_errors errs = {0};
    map_station *s = map_load_buffer("map", text, strlen(text), &errs);
    if (!s)
        fail_msg("map: %s", errs.n ? errs.msgs[0] : "?");
    map_errors_free(&errs);
    return s;
}

static tag_change change(uint32_t tag, double v, int64_t ts)
{
    tag_change c = {.tag = tag};
    c.s.ts_ns = ts;
    c.s.q = Q_GOOD;
    c.s.v.kind = VAL_REAL;
    c.s.v.d = v;
    return c;
}

static size_t heard;
static journal_rec heard_last;
static void listener(void *ctx, const journal_rec *r, size_t n)
{
    (void)ctx;
    heard += n;
    heard_last = r[n - 1];
}

static void assert_status_equal(const alarm_status *a, const alarm_status *b)
{
    assert_int_equal(a->state, b->state);
    assert_int_equal(a->flags, b->flags);
    assert_int_equal(a->changed_ns, b->changed_ns);
    assert_int_equal(a->active_ns, b->active_ns);
    assert_int_equal(a->acked_ns, b->acked_ns);
    assert_string_equal(a->acked_by, b->acked_by);
    assert_int_equal(a->shelved_ns, b->shelved_ns);
    assert_int_equal(a->shelved_until_ns, b->shelved_until_ns);
    assert_string_equal(a->shelved_by, b->shelved_by);
    assert_string_equal(a->shelve_reason, b->shelve_reason);
    assert_int_equal(a->oos_ns, b->oos_ns);
    assert_string_equal(a->oos_by, b->oos_by);
    assert_int_equal(a->has_value, b->has_value);
    assert_true(a->value == b->value);
    assert_int_equal(a->activations, b->activations);
    assert_int_equal(a->chatter_count, b->chatter_count);
}

static char gone_ids[4][64];
static int n_gone;
static void on_gone(void *ctx, const char *id)
{
    (void)ctx;
    snprintf(gone_ids[n_gone++ & 3], sizeof gone_ids[0], "%s", id);
}

static void test_board_shows_only_committed(void **st)
{
    (void)st;
    map_station *m = load_map(MAP);
    journal *j = open_journal(0);
    board *b = board_new(m, j, NULL, NULL);
    assert_non_null(b);
    char err[256];
    assert_int_equal(board_restore(b, path, NULL, NULL, err, sizeof err), 0);
    assert_int_equal(board_listen(b, listener, NULL), 0);
    heard = 0;
    long high = alarm_find(board_engine(b), "hpu.temp.high");
    long low = alarm_find(board_engine(b), "hpu.temp.low");
    long lvl = alarm_find(board_engine(b), "hpu.level.high");
    assert_true(high >= 0 && low >= 0 && lvl >= 0);

    tag_change c[2] = {change(0, 61, T0), change(1, 1, T0)};
    board_feed(b, c, 2);
    /* the engine has it; nothing is shown before the commit */
    assert_int_equal(alarm_get(board_engine(b), (size_t)high)->state,
                     ALARM_ACTIVE_UNACK);
    assert_int_equal(board_shown(b, (size_t)high)->state, ALARM_NORMAL);
    board_collect(b);
    assert_int_equal(journal_flush(j), 0);
    assert_int_equal(board_shown(b, (size_t)high)->state, ALARM_NORMAL);
    assert_int_equal(heard, 0);
    board_collect(b);
    assert_int_equal(board_shown(b, (size_t)high)->state, ALARM_ACTIVE_UNACK);
    assert_int_equal(heard, 1);
    assert_string_equal(heard_last.id, "hpu.temp.high");
    assert_int_equal(heard_last.alarm, (uint32_t)high);
    assert_int_equal(heard_last.priority, MAP_PRIO_HIGH);
    assert_string_equal(heard_last.area, "head");
    assert_int_equal(heard_last.seq, 1);

    /* an action's ticket is published only once its record is committed */
    alarm_action a = {.who = "li", .ts_ns = T0 + 2 * S, .text = "seen"};
    uint64_t ticket = 0;
    assert_true(board_can_act(b, 1));
    assert_int_equal(board_check(b, ALARM_OP_ACK, (size_t)high, &a, 0),
                     ALARM_OK);
    assert_int_equal(board_check(b, ALARM_OP_ACK, (size_t)lvl, &a, 0),
                     ALARM_E_NOT_UNACKED);
    assert_int_equal(board_act(b, ALARM_OP_ACK, (size_t)high, &a, 0, &ticket),
                     ALARM_OK);
    assert_int_equal(ticket, 2);
    assert_true(board_published(b) < ticket);
    assert_int_equal(board_act(b, ALARM_OP_ACK, (size_t)lvl, &a, 0, NULL),
                     ALARM_E_NOT_UNACKED);
    assert_int_equal(journal_flush(j), 0);
    board_collect(b);
    assert_true(board_published(b) >= ticket);
    assert_int_equal(board_shown(b, (size_t)high)->state, ALARM_ACTIVE_ACK);
    assert_string_equal(board_shown(b, (size_t)high)->acked_by, "li");
    assert_string_equal(heard_last.who, "li");
    assert_string_equal(heard_last.comment, "seen");

    /* more: a latch, a shelve with expiry, an alarm out of service */
    c[0] = change(0, 2, T0 + 3 * S);
    board_feed(b, c, 1);
    c[0] = change(0, 20, T0 + 4 * S);
    board_feed(b, c, 1);
    a.ts_ns = T0 + 5 * S;
    a.text = "maintenance";
    assert_int_equal(board_act(b, ALARM_OP_SHELVE, (size_t)low, &a,
                               T0 + 3600 * S, NULL), ALARM_OK);
    assert_int_equal(board_act(b, ALARM_OP_DISABLE, (size_t)lvl, &a, 0, NULL),
                     ALARM_OK);
    assert_int_equal(journal_flush(j), 0);
    board_collect(b);
    board_counts bc;
    board_get_counts(b, &bc);
    assert_int_equal(bc.active, 1);       /* low latched; high cleared */
    assert_int_equal(bc.unacked, 0);      /* high acked, low shelved */
    assert_int_equal(bc.shelved, 1);
    assert_int_equal(bc.out_of_service, 1);
    assert_int_equal(bc.records, heard);
    size_t n = board_count(b);
    alarm_status *want = calloc(n, sizeof *want);
    for (size_t i = 0; i < n; i++) {
        want[i] = *alarm_get(board_engine(b), i);
        assert_status_equal(board_shown(b, i), &want[i]);
    }
    board_free(b);
    journal_close(j);

    /* restarted: the same, restored from the file */
    j = open_journal(0);
    b = board_new(m, j, NULL, NULL);
    /* the three with records (the comm alarm has none) */
    assert_int_equal(board_restore(b, path, NULL, NULL, err, sizeof err), 3);
    for (size_t i = 0; i < n; i++) {
        assert_status_equal(board_shown(b, i), &want[i]);
        assert_status_equal(alarm_get(board_engine(b), i), &want[i]);
    }
    board_free(b);
    journal_close(j);
    map_free(m);

    /* a map without hpu.temp.low and hpu.level.high: each reported once,
     * the rest restored */
    m = load_map(MAP_SMALLER);
    j = open_journal(0);
    b = board_new(m, j, NULL, NULL);
    n_gone = 0;
    assert_int_equal(board_restore(b, path, on_gone, NULL, err, sizeof err),
                     1);
    assert_int_equal(n_gone, 2);
    assert_string_equal(gone_ids[0], "hpu.temp.low");
    assert_string_equal(gone_ids[1], "hpu.level.high");
    long h2 = alarm_find(board_engine(b), "hpu.temp.high");
    assert_status_equal(board_shown(b, (size_t)h2), &want[high]);
    board_free(b);
    journal_close(j);
    map_free(m);
    free(want);
}

/* A journal of 100 records on a full disk: the board merges, refuses
 * actions, and once the disk has room the journal holds every alarm's
 * exact status again. */
static void test_board_merges_on_full_journal(void **st)
{
    (void)st;
    map_station *m = load_map(MAP);
    journal *j = open_journal(100);
    board *b = board_new(m, j, NULL, NULL);
    char err[256];
    assert_int_equal(board_restore(b, path, NULL, NULL, err, sizeof err), 0);
    tag_change c = change(0, 61, T0);
    board_feed(b, &c, 1);
    assert_int_equal(journal_flush(j), 0);
    board_collect(b);
    assert_int_equal(fullfs_fill(fulldir), 0);
    /* 300 transitions of two alarms: far more than 100 */
    for (int k = 1; k <= 150; k++) {
        c = change(0, k % 2 ? 50 : 61, T0 + k * S);
        board_feed(b, &c, 1);
        c = change(1, k % 2 ? 4 : 1, T0 + k * S);
        board_feed(b, &c, 1);
        board_collect(b);
    }
    board_counts bc;
    board_get_counts(b, &bc);
    assert_true(bc.merging);
    assert_true(bc.merged > 0);
    assert_false(board_can_act(b, 1));
    /* nothing shown that is not on disk: still the first activation */
    long high = alarm_find(board_engine(b), "hpu.temp.high");
    assert_int_equal(board_shown(b, (size_t)high)->changed_ns, T0);
    assert_int_equal(fullfs_unfill(fulldir), 0);
    for (int tries = 0; tries < 100; tries++) {
        assert_int_equal(journal_flush(j), 0);
        board_collect(b);
        board_get_counts(b, &bc);
        journal_stats js;
        journal_get_stats(j, &js);
        if (!bc.merging && js.queued == 0 && js.uncollected == 0)
            break;
    }
    assert_false(bc.merging);
    assert_true(board_can_act(b, 1));
    size_t n = board_count(b);
    for (size_t i = 0; i < n; i++)
        assert_status_equal(board_shown(b, i), alarm_get(board_engine(b), i));
    alarm_status *want = calloc(n, sizeof *want);
    for (size_t i = 0; i < n; i++)
        want[i] = *alarm_get(board_engine(b), i);
    board_free(b);
    journal_close(j);
    j = open_journal(0);
    b = board_new(m, j, NULL, NULL);
    assert_int_equal(board_restore(b, path, NULL, NULL, err, sizeof err), 2);
    for (size_t i = 0; i < n; i++)
        assert_status_equal(board_shown(b, i), &want[i]);
    board_free(b);
    journal_close(j);
    map_free(m);
    free(want);
}

/* A journal written while chattering was on, restored under a map with
 * chattering off: the alarm's chattering ends at the first tick, recorded,
 * and it clears again (it would otherwise hold active for good). */
static const char MAP_CHAT[] =
    "station: {id: t}\n"
    "plcs:\n"
    "  - id: hpu\n"
    "    host: 127.0.0.1\n"
    "    tags:\n"
    "      - {id: temp, table: input, address: 0, type: f32,\n"
    "         alarms: [{id: high, above: 60, priority: high, area: head}]}\n"
    "chattering: {count: 2, window: 60s}\n";

static void test_restore_chattering_into_a_map_without(void **st)
{
    (void)st;
    map_station *m = load_map(MAP_CHAT);
    journal *j = open_journal(0);
    board *b = board_new(m, j, NULL, NULL);
    char err[256];
    assert_int_equal(board_restore(b, path, NULL, NULL, err, sizeof err), 0);
    for (int k = 0; k < 4; k++) {
        tag_change c = change(0, k % 2 ? 50 : 61, T0 + k * S);
        board_feed(b, &c, 1);
    }
    long high = alarm_find(board_engine(b), "hpu.temp.high");
    assert_true(alarm_get(board_engine(b), (size_t)high)->flags &
                ALARM_CHATTERING);
    assert_int_equal(journal_flush(j), 0);
    board_free(b);
    journal_close(j);
    map_free(m);

    m = load_map(MAP_SMALLER);          /* chattering: off */
    j = open_journal(0);
    b = board_new(m, j, NULL, NULL);
    assert_true(board_restore(b, path, NULL, NULL, err, sizeof err) >= 1);
    high = alarm_find(board_engine(b), "hpu.temp.high");
    assert_true(board_shown(b, (size_t)high)->flags & ALARM_CHATTERING);
    board_tick(b, T0 + 10 * S);
    assert_int_equal(journal_flush(j), 0);
    board_collect(b);
    const alarm_status *s = board_shown(b, (size_t)high);
    assert_false(s->flags & ALARM_CHATTERING);
    tag_change c = change(0, 50, T0 + 11 * S);
    board_feed(b, &c, 1);
    assert_int_equal(journal_flush(j), 0);
    board_collect(b);
    assert_int_equal(board_shown(b, (size_t)high)->state,
                     ALARM_CLEARED_UNACK);
    board_free(b);
    journal_close(j);
    map_free(m);
}

/* The retention: records older than it go at the first idle moment,
 * each alarm's newest stays whatever its age (restore reads it). */
static void test_retention_keeps_each_alarms_newest(void **st)
{
    (void)st;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    int64_t t = (int64_t)now.tv_sec * S, day = 86400 * S;
    /* alarm, age: 0 twice long ago; 1 long ago and lately; 2 lately */
    const struct { unsigned alarm; int64_t ts; } w[] = {
        {0, t - 10 * day}, {0, t - 9 * day}, {1, t - 8 * day},
        {1, t - 3600 * S}, {2, t - 3600 * S},
    };
    journal *j = open_journal(64);
    for (size_t i = 0; i < 5; i++) {
        journal_rec r;
        make_rec(&r, w[i].alarm);
        r.ts_ns = w[i].ts;
        assert_int_equal(journal_submit(j, &r), 0);
    }
    assert_int_equal(journal_flush(j), 0);
    journal_close(j);

    char err[256] = "";
    journal_opts o = {.path = path, .queue_cap = 64,
                      .retention_ns = (uint64_t)(2 * day)};
    j = journal_open(&o, err, sizeof err);
    assert_non_null(j);
    journal_stats js;
    for (int i = 0; i < 500; i++) {
        journal_get_stats(j, &js);
        if (js.prunes)
            break;
        usleep(10000);
    }
    assert_int_equal(js.prunes, 1);
    assert_int_equal(js.pruned, 2);
    recs all = {0};
    journal_query q = {.from_ns = 0, .to_ns = INT64_MAX};
    assert_int_equal(journal_read(path, &q, collect, &all, NULL, err,
                                  sizeof err), 0);
    assert_int_equal(all.n, 3);
    assert_int_equal(all.v[0].seq, 2);   /* alarm 0's newest, 9 days old */
    assert_int_equal(all.v[1].seq, 4);
    assert_int_equal(all.v[2].seq, 5);
    free(all.v);
    /* new records still commit, numbered on */
    journal_rec r;
    make_rec(&r, 3);
    r.ts_ns = t;
    assert_int_equal(journal_submit(j, &r), 0);
    assert_int_equal(journal_flush(j), 0);
    journal_get_stats(j, &js);
    assert_int_equal(js.last_seq, 6);
    journal_close(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_commit_in_order_and_read_back,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_bound, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retention_keeps_each_alarms_newest,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_disk_loses_nothing,
                                        setup_full, teardown_full),
        cmocka_unit_test_setup_teardown(test_board_shows_only_committed,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_board_merges_on_full_journal,
                                        setup_full, teardown_full),
        cmocka_unit_test_setup_teardown(
            test_restore_chattering_into_a_map_without, setup, teardown),
    };
    /* Before any thread: the full-disk cases mount their file system in
     * a namespace of this process's own.  A failure is kept, and fails
     * those cases only (fullfs_setup says why). */
    char why[256];
    (void)fullfs_isolate(why, sizeof why);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
