/*
 * journal.c - the alarm journal (see journal.h).
 *
 * Threads.  journal_submit() and journal_take() run on the consumer
 * thread and only copy records into and out of two rings (core/ring.h)
 * under j->mu.  The journal thread owns the only write connection: it
 * moves up to JOURNAL_BATCH queued records into its batch, commits the
 * batch in one transaction with j->mu released, and on success moves it
 * to the committed ring and calls the notify callback (outside the lock).
 * It does not wait to gather a batch: while one commit's fsync runs, the
 * next records queue up and go together, so the batch grows with the rate
 * by itself and a lone record is on disk within one fsync.
 *
 * Sequence numbers are the file's rowids, assigned by the thread from the
 * newest row found at open, in submission order: seq order is the order
 * the engine emitted the records in.  A failed transaction is rolled back
 * whole, the batch keeps its records (their seq is assigned again on the
 * retry), and nothing after it is committed before it: order is kept
 * through any failure.
 */
#include "alarm/journal.h"

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/backoff.h"
#include "core/clock.h"
#include "core/fmode.h"
#include "core/ring.h"
#include "core/sqlutil.h"

#define NS_PER_S 1000000000LL
#define JOURNAL_RING_MIN 64
#define JOURNAL_RETRY_MIN_NS (100 * 1000000ull)
#define JOURNAL_RETRY_MAX_NS (5 * 1000000000ull)
#define JOURNAL_CLOSE_GRACE_NS (2 * 1000000000ull)
#define JOURNAL_VERSION 1
/* The retention: how often, and how many rows one slice deletes (a slice
 * is one short transaction: commits wait at most that long). */
#define JOURNAL_PRUNE_EVERY_NS (3600 * 1000000000ull)
#define JOURNAL_PRUNE_SLICE 5000

static const char *const JOURNAL_SCHEMA =
    "CREATE TABLE IF NOT EXISTS journal("
    "  seq INTEGER PRIMARY KEY, ts INTEGER NOT NULL, alarm TEXT NOT NULL,"
    "  event TEXT NOT NULL, from_state TEXT NOT NULL,"
    "  from_flags INTEGER NOT NULL, state TEXT NOT NULL,"
    "  flags INTEGER NOT NULL, priority TEXT NOT NULL, area TEXT NOT NULL,"
    "  value REAL, who TEXT, comment TEXT,"
    "  changed_ns INTEGER NOT NULL, active_ns INTEGER NOT NULL,"
    "  acked_ns INTEGER NOT NULL, acked_by TEXT NOT NULL,"
    "  shelved_ns INTEGER NOT NULL, shelved_until_ns INTEGER NOT NULL,"
    "  shelved_by TEXT NOT NULL, shelve_reason TEXT NOT NULL,"
    "  oos_ns INTEGER NOT NULL, oos_by TEXT NOT NULL,"
    "  activations INTEGER NOT NULL, chatter_count INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS journal_alarm ON journal(alarm, seq);"
    "CREATE INDEX IF NOT EXISTS journal_ts ON journal(ts);";

/* The columns every read selects, in the order journal_row reads them. */
#define JOURNAL_COLS                                                        \
    "seq, ts, alarm, event, from_state, from_flags, state, flags, "         \
    "priority, area, value, who, comment, changed_ns, active_ns, "          \
    "acked_ns, acked_by, shelved_ns, shelved_until_ns, shelved_by, "        \
    "shelve_reason, oos_ns, oos_by, activations, chatter_count"

struct journal {
    char *path;
    size_t cap;

    pthread_t thread;
    bool started;
    pthread_mutex_t mu;
    pthread_cond_t wake;       /* the thread: records queued, stop */
    pthread_cond_t done;       /* journal_flush waits on it */

    /* ---- guarded by mu ---- */
    ring q;                    /* journal_rec, submitted, oldest first */
    ring committed;            /* journal_rec, committed, not yet taken */
    size_t n_batch;            /* records in the thread's batch */
    bool stop;
    bool exited;               /* the thread has given up or ended */
    bool notifying;            /* the thread is calling notify (unlocked) */
    void (*notify)(void *);
    void *notify_ctx;
    journal_stats st;

    /* ---- the journal thread only (and journal_open before it) ---- */
    sqlite3 *db;
    sqlite3_stmt *ins;
    journal_rec *batch;
    backoff bo;
    uint64_t retention_ns;     /* 0: none */
    uint64_t prune_at;         /* monotonic: the next pass is due */
};

/* ---- records ------------------------------------------------------------ */

static void journal_copy(char *dst, size_t len, const char *src)
{
    /* Cut at a UTF-8 character boundary, so a cut text stays valid. */
    size_t n = src ? strlen(src) : 0;
    if (n >= len) {
        n = len - 1;
        while (n > 0 && ((unsigned char)src[n] & 0xc0) == 0x80)
            n--;
    }
    if (n)
        memcpy(dst, src, n);
    dst[n] = '\0';
}

void journal_rec_from(journal_rec *out, const alarm_record *r,
                      const map_alarm *def)
{
    out->seq = 0;
    out->alarm = r->alarm;
    journal_copy(out->id, sizeof out->id, r->id);
    out->event = r->event;
    out->from_state = r->from_state;
    out->from_flags = r->from_flags;
    out->to = r->to;
    out->ts_ns = r->ts_ns;
    journal_copy(out->who, sizeof out->who, r->who);
    journal_copy(out->comment, sizeof out->comment, r->comment);
    out->priority = def ? def->priority : MAP_PRIO_MEDIUM;
    journal_copy(out->area, sizeof out->area, def ? def->area : NULL);
}

int journal_state_parse(const char *s, alarm_state *out)
{
    for (int k = ALARM_NORMAL; k <= ALARM_CLEARED_UNACK; k++)
        if (strcmp(s, alarm_state_name((alarm_state)k)) == 0) {
            *out = (alarm_state)k;
            return 0;
        }
    return -1;
}

int journal_event_parse(const char *s, alarm_event *out)
{
    for (int k = ALARM_EV_ACTIVE; k <= ALARM_EV_COMMENT; k++)
        if (strcmp(s, alarm_event_name((alarm_event)k)) == 0) {
            *out = (alarm_event)k;
            return 0;
        }
    return -1;
}

static int journal_prio_parse(const char *s, map_priority *out)
{
    for (int k = 0; k < MAP_PRIO_N; k++)
        if (strcmp(s, map_priority_name((map_priority)k)) == 0) {
            *out = (map_priority)k;
            return 0;
        }
    return -1;
}

/* ---- writing -------------------------------------------------------------- */

static void bind_text(sqlite3_stmt *st, int col, const char *s, bool null_empty)
{
    if (null_empty && !s[0])
        sqlite3_bind_null(st, col);
    else
        sqlite3_bind_text(st, col, s, -1, SQLITE_STATIC);
}

/* Journal thread: one row. */
static int journal_insert(journal *j, const journal_rec *r)
{
    sqlite3_stmt *st = j->ins;
    const alarm_status *s = &r->to;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)r->seq);
    sqlite3_bind_int64(st, 2, r->ts_ns);
    bind_text(st, 3, r->id, false);
    sqlite3_bind_text(st, 4, alarm_event_name(r->event), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, alarm_state_name(r->from_state), -1,
                      SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, r->from_flags);
    sqlite3_bind_text(st, 7, alarm_state_name(s->state), -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 8, s->flags);
    sqlite3_bind_text(st, 9, map_priority_name(r->priority), -1,
                      SQLITE_STATIC);
    bind_text(st, 10, r->area, false);
    if (s->has_value)
        sqlite3_bind_double(st, 11, s->value);
    else
        sqlite3_bind_null(st, 11);
    bind_text(st, 12, r->who, true);
    bind_text(st, 13, r->comment, true);
    sqlite3_bind_int64(st, 14, s->changed_ns);
    sqlite3_bind_int64(st, 15, s->active_ns);
    sqlite3_bind_int64(st, 16, s->acked_ns);
    bind_text(st, 17, s->acked_by, false);
    sqlite3_bind_int64(st, 18, s->shelved_ns);
    sqlite3_bind_int64(st, 19, s->shelved_until_ns);
    bind_text(st, 20, s->shelved_by, false);
    bind_text(st, 21, s->shelve_reason, false);
    sqlite3_bind_int64(st, 22, s->oos_ns);
    bind_text(st, 23, s->oos_by, false);
    sqlite3_bind_int64(st, 24, s->activations);
    sqlite3_bind_int64(st, 25, s->chatter_count);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* Journal thread: the batch in one transaction, numbered from first_seq.
 * On failure nothing of it is in the file and msg says why. */
static int journal_commit(journal *j, journal_rec *b, size_t n,
                          uint64_t first_seq, char *msg, size_t msglen)
{
    if (sqlite3_exec(j->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        b[i].seq = first_seq + i;
        if (journal_insert(j, &b[i]) < 0)
            goto fail;
    }
    if (sqlite3_exec(j->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        goto fail;
    return 0;
fail:
    snprintf(msg, msglen, "commit: %s", sqlite3_errmsg(j->db));
    sqlite3_exec(j->db, "ROLLBACK", NULL, NULL, NULL);
    for (size_t i = 0; i < n; i++)
        b[i].seq = 0;
    return -1;
}

static struct timespec journal_abs_after(uint64_t ns)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    uint64_t x = (uint64_t)t.tv_nsec + ns;
    t.tv_sec += (time_t)(x / NS_PER_S);
    t.tv_nsec = (long)(x % NS_PER_S);
    return t;
}

/* Journal thread, mu not held: one retention pass.  Rows before the cut
 * go, slice by slice of the primary key, except each alarm's newest row,
 * which restore reads.  Time inside the engine never goes back, so seq
 * order is time order and the cut is a seq.  A failure leaves the rows
 * for the next pass (a full disk may refuse even a delete's journal):
 * the retention never stands in the way of a commit: a pass cut short by
 * one (*more) is taken up again a second later.  The rows deleted. */
static uint64_t journal_prune(journal *j, bool *more)
{
    *more = false;
    int64_t cut_ts = clk_real_ns() - (int64_t)j->retention_ns;
    sqlite3_stmt *st = NULL;
    uint64_t cut = 0, gone = 0;
    if (sqlite3_prepare_v2(j->db, "SELECT coalesce(max(seq), 0) FROM journal"
                           " WHERE ts < ?1", -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, cut_ts);
        if (sqlite3_step(st) == SQLITE_ROW)
            cut = (uint64_t)sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    st = NULL;
    if (cut == 0 ||
        sqlite3_exec(j->db, "CREATE TEMP TABLE IF NOT EXISTS keep(seq INTEGER"
                     " PRIMARY KEY); DELETE FROM keep; INSERT INTO keep "
                     "SELECT max(seq) FROM journal GROUP BY alarm;", NULL,
                     NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(j->db, "DELETE FROM journal WHERE seq > ?1 AND "
                           "seq <= ?2 AND seq NOT IN (SELECT seq FROM keep)",
                           -1, &st, NULL) != SQLITE_OK) {
        sqlite3_finalize(st);
        return 0;
    }
    for (uint64_t lo = 0; lo < cut; lo += JOURNAL_PRUNE_SLICE) {
        uint64_t hi = lo + JOURNAL_PRUNE_SLICE < cut ? lo + JOURNAL_PRUNE_SLICE
                                                    : cut;
        sqlite3_bind_int64(st, 1, (sqlite3_int64)lo);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)hi);
        int rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc != SQLITE_DONE)
            break;
        gone += (uint64_t)sqlite3_changes(j->db);
        /* commits go first: a slice is as long as they ever wait */
        pthread_mutex_lock(&j->mu);
        bool busy = j->stop || ring_len(&j->q) > 0 || j->n_batch > 0;
        pthread_mutex_unlock(&j->mu);
        if (busy) {
            *more = hi < cut;
            break;
        }
    }
    sqlite3_finalize(st);
    sqlite3_exec(j->db, "DELETE FROM keep", NULL, NULL, NULL);
    return gone;
}

static void *journal_main(void *arg)
{
    journal *j = arg;
    pthread_setname_np(pthread_self(), "alarm-journal");
    uint64_t retry_at = 0, give_up = 0;
    pthread_mutex_lock(&j->mu);
    for (;;) {
        while (!j->stop && j->n_batch == 0 && ring_len(&j->q) == 0) {
            if (!j->retention_ns) {
                pthread_cond_wait(&j->wake, &j->mu);
                continue;
            }
            uint64_t t = clk_mono_ns();
            if (t >= j->prune_at) {
                /* idle and due: a pass, a slice at a time */
                pthread_mutex_unlock(&j->mu);
                bool more;
                uint64_t gone = journal_prune(j, &more);
                pthread_mutex_lock(&j->mu);
                j->prune_at = clk_mono_ns() + (more ? NS_PER_S
                                                    : JOURNAL_PRUNE_EVERY_NS);
                j->st.pruned += gone;
                if (!more)
                    j->st.prunes++;
                continue;
            }
            struct timespec ts = journal_abs_after(j->prune_at - t);
            pthread_cond_timedwait(&j->wake, &j->mu, &ts);
        }
        uint64_t now = clk_mono_ns();
        bool have = j->n_batch > 0 || ring_len(&j->q) > 0;
        if (j->stop && give_up == 0) {
            /* closing: one attempt at once, then the usual pace for a
             * short while */
            give_up = now + JOURNAL_CLOSE_GRACE_NS;
            retry_at = 0;
        }
        if (!have || (j->stop && retry_at && now >= give_up))
            break;
        if (now < retry_at) {
            uint64_t until = retry_at;
            if (j->stop && give_up < until)
                until = give_up;
            struct timespec ts = journal_abs_after(until - now);
            pthread_cond_timedwait(&j->wake, &j->mu, &ts);
            continue;
        }
        if (j->n_batch == 0)
            j->n_batch = ring_pop(&j->q, j->batch, JOURNAL_BATCH);
        size_t n = j->n_batch;
        uint64_t first = j->st.last_seq + 1;
        pthread_mutex_unlock(&j->mu);

        char msg[160];
        bool ok = journal_commit(j, j->batch, n, first, msg, sizeof msg) == 0;
        if (ok)
            backoff_reset(&j->bo);
        else
            retry_at = clk_mono_ns() + backoff_next(&j->bo);

        pthread_mutex_lock(&j->mu);
        void (*fn)(void *) = NULL;
        void *ctx = NULL;
        if (ok) {
            for (size_t i = 0; i < n; i++)
                ring_push(&j->committed, &j->batch[i]);  /* room: the bound */
            j->n_batch = 0;
            j->st.last_seq += n;
            j->st.committed += n;
            j->st.commits++;
            j->st.last_error[0] = '\0';
            retry_at = 0;
            fn = j->notify;
            ctx = j->notify_ctx;
        } else {
            j->st.failed_commits++;
            snprintf(j->st.last_error, sizeof j->st.last_error, "%s", msg);
        }
        pthread_cond_broadcast(&j->done);
        if (fn) {
            j->notifying = true;
            pthread_mutex_unlock(&j->mu);
            fn(ctx);
            pthread_mutex_lock(&j->mu);
            j->notifying = false;
            pthread_cond_broadcast(&j->done);
        }
    }
    j->exited = true;
    pthread_cond_broadcast(&j->done);
    pthread_mutex_unlock(&j->mu);
    return NULL;
}

/* ---- lifecycle ------------------------------------------------------------ */

static void journal_destroy(journal *j)
{
    sqlite3_finalize(j->ins);
    sqlite3_close(j->db);
    ring_free(&j->q);
    ring_free(&j->committed);
    free(j->batch);
    free(j->path);
    pthread_cond_destroy(&j->wake);
    pthread_cond_destroy(&j->done);
    pthread_mutex_destroy(&j->mu);
    free(j);
}

journal *journal_open(const journal_opts *o, char *err, size_t errlen)
{
    journal *j = calloc(1, sizeof *j);
    if (!j) {
        snprintf(err, errlen, "%s: out of memory", o->path);
        return NULL;
    }
    pthread_mutex_init(&j->mu, NULL);
    /* the retry waits are timed on the monotonic clock */
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&j->wake, &ca);
    pthread_condattr_destroy(&ca);
    pthread_cond_init(&j->done, NULL);
    j->cap = o->queue_cap ? o->queue_cap : JOURNAL_QUEUE_DEFAULT;
    size_t min = j->cap < JOURNAL_RING_MIN ? j->cap : JOURNAL_RING_MIN;
    if (!(j->path = strdup(o->path)) ||
        !(j->batch = malloc(JOURNAL_BATCH * sizeof *j->batch)) ||
        ring_init(&j->q, sizeof(journal_rec), min, j->cap) < 0 ||
        ring_init(&j->committed, sizeof(journal_rec), min, j->cap) < 0) {
        snprintf(err, errlen, "%s: out of memory", o->path);
        goto fail;
    }
    j->db = sqlutil_open_path(o->path, JOURNAL_SCHEMA, JOURNAL_VERSION,
                              o->warn, o->warn_ctx, err, errlen);
    if (!j->db)
        goto fail;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(j->db, "SELECT coalesce(max(seq), 0) FROM journal",
                           -1, &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_finalize(st);
        sqlutil_fail(j->db, o->path, err, errlen);
        goto fail;
    }
    j->st.last_seq = (uint64_t)sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    if (sqlite3_prepare_v3(j->db, "INSERT INTO journal(" JOURNAL_COLS ")"
                           " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
                           " ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", -1,
                           SQLITE_PREPARE_PERSISTENT, &j->ins, NULL)
        != SQLITE_OK) {
        sqlutil_fail(j->db, o->path, err, errlen);
        goto fail;
    }
    j->retention_ns = o->retention_ns;
    j->prune_at = clk_mono_ns();    /* the first pass once idle */
    backoff_init(&j->bo, JOURNAL_RETRY_MIN_NS, JOURNAL_RETRY_MAX_NS,
                 (uint64_t)(uintptr_t)j ^ clk_mono_ns());
    if (pthread_create(&j->thread, NULL, journal_main, j) != 0) {
        snprintf(err, errlen, "%s: cannot start its thread: %s", o->path,
                 strerror(errno));
        goto fail;
    }
    j->started = true;
    return j;
fail:
    journal_destroy(j);
    return NULL;
}

void journal_close(journal *j)
{
    if (!j)
        return;
    pthread_mutex_lock(&j->mu);
    j->stop = true;
    pthread_cond_broadcast(&j->wake);
    pthread_mutex_unlock(&j->mu);
    if (j->started)
        pthread_join(j->thread, NULL);
    journal_destroy(j);
}

void journal_set_notify(journal *j, void (*fn)(void *ctx), void *ctx)
{
    pthread_mutex_lock(&j->mu);
    /* once this returns the old callback is not running and will not run
     * again: its context may go */
    while (j->notifying)
        pthread_cond_wait(&j->done, &j->mu);
    j->notify = fn;
    j->notify_ctx = ctx;
    pthread_mutex_unlock(&j->mu);
}

/* mu held. */
static size_t journal_held(const journal *j)
{
    return ring_len(&j->q) + j->n_batch + ring_len(&j->committed);
}

int journal_submit(journal *j, const journal_rec *r)
{
    pthread_mutex_lock(&j->mu);
    int rc = -1;
    if (journal_held(j) < j->cap && ring_push(&j->q, r) == 0) {
        rc = 0;
        j->st.submitted++;
        pthread_cond_signal(&j->wake);
    } else {
        j->st.refused++;
    }
    pthread_mutex_unlock(&j->mu);
    return rc;
}

size_t journal_room(journal *j)
{
    pthread_mutex_lock(&j->mu);
    size_t held = journal_held(j);
    size_t room = held < j->cap ? j->cap - held : 0;
    pthread_mutex_unlock(&j->mu);
    return room;
}

size_t journal_take(journal *j, journal_rec *out, size_t max)
{
    pthread_mutex_lock(&j->mu);
    size_t n = ring_pop(&j->committed, out, max);
    pthread_mutex_unlock(&j->mu);
    return n;
}

int journal_flush(journal *j)
{
    pthread_mutex_lock(&j->mu);
    uint64_t target = j->st.submitted, fails = j->st.failed_commits;
    int rc = 0;
    while (j->st.committed < target) {
        if (j->st.failed_commits != fails || j->exited) {
            rc = -1;
            break;
        }
        pthread_cond_wait(&j->done, &j->mu);
    }
    pthread_mutex_unlock(&j->mu);
    return rc;
}

void journal_get_stats(journal *j, journal_stats *out)
{
    pthread_mutex_lock(&j->mu);
    *out = j->st;
    out->queued = ring_len(&j->q) + j->n_batch;
    out->uncollected = ring_len(&j->committed);
    pthread_mutex_unlock(&j->mu);
}

/* ---- reading -------------------------------------------------------------- */

static void col_text(sqlite3_stmt *st, int c, char *dst, size_t len)
{
    journal_copy(dst, len, (const char *)sqlite3_column_text(st, c));
}

/* One row (JOURNAL_COLS) into r; -1 for names this lockbridge does not
 * know (a newer one wrote them). */
static int journal_row(sqlite3_stmt *st, journal_rec *r)
{
    memset(r, 0, sizeof *r);
    r->alarm = UINT32_MAX;
    r->seq = (uint64_t)sqlite3_column_int64(st, 0);
    r->ts_ns = sqlite3_column_int64(st, 1);
    col_text(st, 2, r->id, sizeof r->id);
    const char *ev = (const char *)sqlite3_column_text(st, 3);
    const char *fs = (const char *)sqlite3_column_text(st, 4);
    const char *ts = (const char *)sqlite3_column_text(st, 6);
    const char *pr = (const char *)sqlite3_column_text(st, 8);
    if (!ev || !fs || !ts || !pr || journal_event_parse(ev, &r->event) < 0 ||
        journal_state_parse(fs, &r->from_state) < 0 ||
        journal_state_parse(ts, &r->to.state) < 0 ||
        journal_prio_parse(pr, &r->priority) < 0)
        return -1;
    r->from_flags = (uint32_t)sqlite3_column_int64(st, 5);
    alarm_status *s = &r->to;
    s->flags = (uint32_t)sqlite3_column_int64(st, 7);
    col_text(st, 9, r->area, sizeof r->area);
    s->has_value = sqlite3_column_type(st, 10) != SQLITE_NULL;
    s->value = s->has_value ? sqlite3_column_double(st, 10) : 0;
    col_text(st, 11, r->who, sizeof r->who);
    col_text(st, 12, r->comment, sizeof r->comment);
    s->changed_ns = sqlite3_column_int64(st, 13);
    s->active_ns = sqlite3_column_int64(st, 14);
    s->acked_ns = sqlite3_column_int64(st, 15);
    col_text(st, 16, s->acked_by, sizeof s->acked_by);
    s->shelved_ns = sqlite3_column_int64(st, 17);
    s->shelved_until_ns = sqlite3_column_int64(st, 18);
    col_text(st, 19, s->shelved_by, sizeof s->shelved_by);
    col_text(st, 20, s->shelve_reason, sizeof s->shelve_reason);
    s->oos_ns = sqlite3_column_int64(st, 21);
    col_text(st, 22, s->oos_by, sizeof s->oos_by);
    s->activations = (uint32_t)sqlite3_column_int64(st, 23);
    s->chatter_count = (uint32_t)sqlite3_column_int64(st, 24);
    return 0;
}

/* A read-only connection, or *db NULL and 0 when there is no file yet. */
static int journal_open_ro(const char *path, sqlite3 **db, char *err,
                           size_t errlen)
{
    *db = NULL;
    if (access(path, F_OK) < 0) {
        if (errno == ENOENT)
            return 0;
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (sqlite3_open_v2(path, db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        sqlutil_fail(*db, path, err, errlen);
        sqlite3_close(*db);
        *db = NULL;
        return -1;
    }
    sqlite3_busy_timeout(*db, 5000);
    return 0;
}

/* Steps st, calling cb per row.  0, or -1 with err. */
static int journal_each_row(sqlite3 *db, sqlite3_stmt *st, const char *path,
                            journal_cb cb, void *ctx, char *err,
                            size_t errlen)
{
    journal_rec *r = malloc(sizeof *r);
    if (!r) {
        snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (journal_row(st, r) < 0) {
            snprintf(err, errlen, "%s: row %lld holds a state, event or "
                     "priority this lockbridge does not know",
                     path, (long long)sqlite3_column_int64(st, 0));
            free(r);
            return -1;
        }
        if (cb(ctx, r) != 0) {
            rc = SQLITE_DONE;
            break;
        }
    }
    free(r);
    if (rc != SQLITE_DONE)
        return sqlutil_fail(db, path, err, errlen);
    return 0;
}

/* A query's parameters: ?1 and ?2 the range, ?3 the alarm (when it names
 * one), ?4 p4 (the limit, or the seq to read above). */
static void journal_bind_query(sqlite3_stmt *st, const journal_query *q,
                               int64_t p4)
{
    sqlite3_bind_int64(st, 1, q->from_ns);
    sqlite3_bind_int64(st, 2, q->to_ns);
    if (q->id)
        sqlite3_bind_text(st, 3, q->id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, p4);
}

int journal_read(const char *path, const journal_query *q, journal_cb cb,
                 void *ctx, bool *truncated, char *err, size_t errlen)
{
    sqlite3 *db;
    sqlite3_stmt *st = NULL;
    int rc = -1;
    if (truncated)
        *truncated = false;
    if (journal_open_ro(path, &db, err, errlen) < 0)
        return -1;
    if (!db)
        return 0;
    const char *where = q->id ? " WHERE ts >= ?1 AND ts < ?2 AND alarm = ?3"
                              : " WHERE ts >= ?1 AND ts < ?2";
    char sql[512];
    /* With a limit: the seq just below the newest `limit` rows, if there is
     * one, bounds the rows read; nothing the size of the range is held. */
    int64_t above = 0;
    if (q->limit) {
        snprintf(sql, sizeof sql, "SELECT seq FROM journal%s ORDER BY seq "
                 "DESC LIMIT 1 OFFSET ?4", where);
        if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
            goto sqlfail;
        journal_bind_query(st, q, (int64_t)q->limit);
        int s = sqlite3_step(st);
        if (s == SQLITE_ROW) {
            above = sqlite3_column_int64(st, 0);
            if (truncated)
                *truncated = true;
        } else if (s != SQLITE_DONE) {
            goto sqlfail;
        }
        sqlite3_finalize(st);
        st = NULL;
    }
    snprintf(sql, sizeof sql, "SELECT " JOURNAL_COLS " FROM journal%s AND "
             "seq > ?4 ORDER BY seq", where);
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        goto sqlfail;
    journal_bind_query(st, q, above);
    rc = journal_each_row(db, st, path, cb, ctx, err, errlen);
    goto out;
sqlfail:
    sqlutil_fail(db, path, err, errlen);
out:
    sqlite3_finalize(st);
    sqlite3_close(db);
    return rc;
}

int journal_last(const char *path, int64_t before_ns, journal_cb cb,
                 void *ctx, char *err, size_t errlen)
{
    sqlite3 *db;
    sqlite3_stmt *st = NULL;
    if (journal_open_ro(path, &db, err, errlen) < 0)
        return -1;
    if (!db)
        return 0;
    int rc = -1;
    /* max(seq) per alarm walks journal_alarm, one entry per row: a
     * journal of a million rows answers in a fraction of a second, and
     * this runs once at start (and per KPI query). */
    if (sqlite3_prepare_v2(db, "SELECT " JOURNAL_COLS " FROM journal WHERE "
                           "seq IN (SELECT max(seq) FROM journal WHERE "
                           "ts < ?1 GROUP BY alarm) ORDER BY seq", -1, &st,
                           NULL) != SQLITE_OK) {
        sqlutil_fail(db, path, err, errlen);
    } else {
        sqlite3_bind_int64(st, 1, before_ns);
        rc = journal_each_row(db, st, path, cb, ctx, err, errlen);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return rc;
}
