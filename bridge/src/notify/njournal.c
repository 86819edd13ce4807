/*
 * njournal.c - the notification journal in SQLite (njournal.h).
 *
 * Every write is one transaction (BEGIN IMMEDIATE ... COMMIT, one fsync
 * with synchronous=FULL): a row is on disk before its attempt starts and
 * its result before the next batch is looked at.
 */
#include "notify/njournal.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/sqlutil.h"

#define NJ_VERSION 2
/* Version 2 adds repeat_no (a reminder's number) to the row and its
 * unique key.  SQLite cannot change a table's constraints, so the script
 * (run only when user_version is not 2, in one transaction) makes the
 * version-1 table when there is none, copies it into the version-2 one
 * and swaps them: a new file and a version-1 file end up the same. */
#define NJ_SCHEMA                                                            \
    "CREATE TABLE IF NOT EXISTS notification("                               \
    " id INTEGER PRIMARY KEY, rec_seq INTEGER NOT NULL, alarm TEXT NOT NULL," \
    " event TEXT NOT NULL, state TEXT, priority TEXT, area TEXT,"            \
    " msg_en TEXT, msg_zh TEXT, value REAL, ts_ns INTEGER,"                  \
    " active_ns INTEGER, channel TEXT NOT NULL, recipient TEXT NOT NULL,"    \
    " level INTEGER NOT NULL, created_ns INTEGER NOT NULL,"                  \
    " next_ns INTEGER NOT NULL, status TEXT NOT NULL,"                       \
    " attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT,"                 \
    " delivered_ns INTEGER,"                                                 \
    " UNIQUE(rec_seq, channel, recipient, level));"                          \
    "CREATE TABLE notification_v2("                                          \
    " id INTEGER PRIMARY KEY, rec_seq INTEGER NOT NULL, alarm TEXT NOT NULL," \
    " event TEXT NOT NULL, state TEXT, priority TEXT, area TEXT,"            \
    " msg_en TEXT, msg_zh TEXT, value REAL, ts_ns INTEGER,"                  \
    " active_ns INTEGER, channel TEXT NOT NULL, recipient TEXT NOT NULL,"    \
    " level INTEGER NOT NULL, created_ns INTEGER NOT NULL,"                  \
    " next_ns INTEGER NOT NULL, status TEXT NOT NULL,"                       \
    " attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT,"                 \
    " delivered_ns INTEGER, repeat_no INTEGER NOT NULL DEFAULT 0,"           \
    " UNIQUE(rec_seq, channel, recipient, level, repeat_no));"               \
    "INSERT INTO notification_v2(id, rec_seq, alarm, event, state, priority," \
    " area, msg_en, msg_zh, value, ts_ns, active_ns, channel, recipient,"    \
    " level, created_ns, next_ns, status, attempts, last_error,"             \
    " delivered_ns) SELECT id, rec_seq, alarm, event, state, priority, area," \
    " msg_en, msg_zh, value, ts_ns, active_ns, channel, recipient, level,"   \
    " created_ns, next_ns, status, attempts, last_error, delivered_ns FROM"  \
    " notification;"                                                         \
    "DROP TABLE notification;"                                               \
    "ALTER TABLE notification_v2 RENAME TO notification;"                    \
    "CREATE INDEX IF NOT EXISTS notification_pending"                        \
    " ON notification(status, next_ns);"                                     \
    "CREATE INDEX IF NOT EXISTS notification_pair"                           \
    " ON notification(channel, recipient, created_ns);"                      \
    "CREATE INDEX IF NOT EXISTS notification_batch"                          \
    " ON notification(status, channel, recipient, next_ns, id);"             \
    "CREATE TABLE IF NOT EXISTS attempt(id INTEGER PRIMARY KEY,"             \
    " ts_ns INTEGER NOT NULL, channel TEXT NOT NULL, recipient TEXT,"        \
    " rows INTEGER NOT NULL, ok INTEGER NOT NULL, answer TEXT);"             \
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value INTEGER);"  \
    "CREATE INDEX IF NOT EXISTS attempt_pair"                                \
    " ON attempt(channel, recipient, ok, ts_ns);"

#define NJ_ROW_COLS                                                          \
    "id, rec_seq, alarm, event, state, priority, area, msg_en, msg_zh,"      \
    " value, ts_ns, active_ns, channel, recipient, level, created_ns,"       \
    " next_ns, attempts, repeat_no"

struct nj {
    sqlite3 *db;
    char *path;
    sqlite3_stmt *ins, *cursor, *mark_ok, *mark_fail, *attempt;
    sqlite3_stmt *cancel, *tell, *step_done, *cancel_repeats, *repeat;
};

static int nj_prepare(nj *j, sqlite3_stmt **st, const char *sql, char *err,
                      size_t errlen)
{
    if (sqlite3_prepare_v3(j->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st,
                           NULL) != SQLITE_OK)
        return sqlutil_fail(j->db, j->path, err, errlen);
    return 0;
}

nj *nj_open(const char *path, fmode_warn_fn warn, void *ctx, char *err,
            size_t errlen)
{
    nj *j = calloc(1, sizeof *j);
    if (!j || !(j->path = strdup(path))) {
        snprintf(err, errlen, "%s: out of memory", path);
        goto fail;
    }
    j->db = sqlutil_open_path(path, NJ_SCHEMA, NJ_VERSION, warn, ctx, err,
                              errlen);
    if (!j->db ||
        nj_prepare(j, &j->ins, "INSERT OR IGNORE INTO notification(rec_seq,"
                   " alarm, event, state, priority, area, msg_en, msg_zh,"
                   " value, ts_ns, active_ns, channel, recipient, level,"
                   " created_ns, next_ns, status, repeat_no) VALUES (?, ?, ?,"
                   " ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", err,
                   errlen) < 0 ||
        /* An escalation ends: its steps (reminders too), every page of
         * a person on call that has not gone out yet (still in
         * group.wait, or escalated) and every reminder not sent: nobody
         * is called for what is acknowledged. */
        nj_prepare(j, &j->cancel, "UPDATE notification SET status ="
                   " 'cancelled' WHERE alarm = ?1 AND rec_seq < ?2 AND"
                   " (status = 'step' OR (status = 'pending' AND ((event ="
                   " 'active' AND level >= 1) OR event = 'repeat')))", err,
                   errlen) < 0 ||
        /* Everyone the last activation before the stop reached, once
         * per channel and recipient. */
        nj_prepare(j, &j->tell, "INSERT OR IGNORE INTO notification("
                   "rec_seq, alarm, event, state, priority, area, msg_en,"
                   " msg_zh, value, ts_ns, active_ns, channel, recipient,"
                   " level, created_ns, next_ns, status) SELECT ?1, alarm,"
                   " ?3, ?4, priority, area, ?5, ?6, NULL, ?7, active_ns,"
                   " channel, recipient, min(level), ?8, ?9, 'pending' FROM"
                   " notification WHERE alarm = ?2 AND event = 'active' AND"
                   " status = 'sent' AND rec_seq = (SELECT max(rec_seq) FROM"
                   " notification WHERE alarm = ?2 AND event = 'active' AND"
                   " rec_seq < ?1) GROUP BY channel, recipient", err,
                   errlen) < 0 ||
        /* A clear ends the reminders (the alarm is no longer active),
         * not the escalation: cleared-unack is still to be
         * acknowledged. */
        nj_prepare(j, &j->cancel_repeats, "UPDATE notification SET status ="
                   " 'cancelled' WHERE alarm = ?1 AND rec_seq < ?2 AND"
                   " ((status = 'step' AND repeat_no > 0) OR (status ="
                   " 'pending' AND event = 'repeat'))", err, errlen) < 0 ||
        /* Reminder N of an activation: everyone it was sent to (the
         * escalated levels too), once per channel and recipient. */
        nj_prepare(j, &j->repeat, "INSERT OR IGNORE INTO notification("
                   "rec_seq, alarm, event, state, priority, area, msg_en,"
                   " msg_zh, value, ts_ns, active_ns, channel, recipient,"
                   " level, created_ns, next_ns, status, repeat_no) SELECT"
                   " rec_seq, alarm, 'repeat', state, priority, area, msg_en,"
                   " msg_zh, value, ts_ns, active_ns, channel, recipient,"
                   " min(level), ?3, ?3, 'pending', ?2 FROM notification"
                   " WHERE rec_seq = ?1 AND event = 'active' AND status ="
                   " 'sent' GROUP BY channel, recipient", err, errlen) < 0 ||
        nj_prepare(j, &j->step_done, "UPDATE notification SET status ="
                   " 'done', delivered_ns = ? WHERE id = ? AND status ="
                   " 'step'", err, errlen) < 0 ||
        nj_prepare(j, &j->cursor, "INSERT OR REPLACE INTO meta(key, value)"
                   " VALUES (?, ?)", err, errlen) < 0 ||
        nj_prepare(j, &j->mark_ok, "UPDATE notification SET status = 'sent',"
                   " attempts = attempts + 1, delivered_ns = ?, last_error ="
                   " NULL WHERE id = ? AND status = 'pending'", err,
                   errlen) < 0 ||
        nj_prepare(j, &j->mark_fail, "UPDATE notification SET attempts ="
                   " attempts + 1, last_error = ?, next_ns = ? WHERE id = ?"
                   " AND status = 'pending'", err, errlen) < 0 ||
        nj_prepare(j, &j->attempt, "INSERT INTO attempt(ts_ns, channel,"
                   " recipient, rows, ok, answer) VALUES (?, ?, ?, ?, ?, ?)",
                   err, errlen) < 0)
        goto fail;
    return j;
fail:
    nj_close(j);
    return NULL;
}

void nj_close(nj *j)
{
    if (!j)
        return;
    sqlite3_finalize(j->ins);
    sqlite3_finalize(j->cursor);
    sqlite3_finalize(j->mark_ok);
    sqlite3_finalize(j->mark_fail);
    sqlite3_finalize(j->attempt);
    sqlite3_finalize(j->cancel);
    sqlite3_finalize(j->tell);
    sqlite3_finalize(j->step_done);
    sqlite3_finalize(j->cancel_repeats);
    sqlite3_finalize(j->repeat);
    sqlite3_close(j->db);
    free(j->path);
    free(j);
}

/* Steps a prepared write and resets it: 0, or -1. */
static int nj_step(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

static int nj_meta(nj *j, const char *key, int64_t v)
{
    sqlite3_bind_text(j->cursor, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(j->cursor, 2, v);
    return nj_step(j->cursor);
}

/* Runs body between BEGIN IMMEDIATE and COMMIT, rolling back when it
 * fails. */
static int nj_commit(nj *j, int body_rc, char *err, size_t errlen)
{
    if (body_rc < 0) {
        sqlutil_fail(j->db, j->path, err, errlen);
        sqlite3_exec(j->db, "ROLLBACK", NULL, NULL, NULL);
        return -1;
    }
    if (sqlutil_exec(j->db, "COMMIT", j->path, err, errlen) < 0) {
        sqlite3_exec(j->db, "ROLLBACK", NULL, NULL, NULL);
        return -1;
    }
    return 0;
}

/* Inside a transaction: rows[0..n) inserted (or left as they are).  0,
 * or -1. */
static int nj_insert(nj *j, const nj_row *rows, size_t n)
{
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const nj_row *r = &rows[i];
        sqlite3_stmt *st = j->ins;
        sqlite3_bind_int64(st, 1, (int64_t)r->a.rec_seq);
        sqlite3_bind_text(st, 2, r->a.alarm, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, r->a.event, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, r->a.state, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, r->a.priority, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 6, r->a.area, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 7, r->a.msg_en, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 8, r->a.msg_zh, -1, SQLITE_STATIC);
        if (r->a.has_value)
            sqlite3_bind_double(st, 9, r->a.value);
        sqlite3_bind_int64(st, 10, r->a.ts_ns);
        sqlite3_bind_int64(st, 11, r->a.active_ns);
        sqlite3_bind_text(st, 12, r->channel, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 13, r->recipient, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 14, r->level);
        sqlite3_bind_int64(st, 15, r->created_ns);
        sqlite3_bind_int64(st, 16, r->next_ns);
        sqlite3_bind_text(st, 17, r->step ? "step" : "pending", -1,
                          SQLITE_STATIC);
        sqlite3_bind_int(st, 18, r->repeat);
        rc = nj_step(st);
    }
    return rc;
}

/* Inside a transaction: one stop's rows and cancels.  0, or -1. */
static int nj_stop_one(nj *j, const nj_stop *s)
{
    if (s->repeats_only) {
        sqlite3_bind_text(j->cancel_repeats, 1, s->a.alarm, -1,
                          SQLITE_STATIC);
        sqlite3_bind_int64(j->cancel_repeats, 2, (int64_t)s->a.rec_seq);
        return nj_step(j->cancel_repeats);
    }
    int rc = 0;
    if (s->tell) {
        sqlite3_stmt *st = j->tell;
        sqlite3_bind_int64(st, 1, (int64_t)s->a.rec_seq);
        sqlite3_bind_text(st, 2, s->a.alarm, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, s->a.event, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, s->a.state, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, s->a.msg_en, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 6, s->a.msg_zh, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 7, s->a.ts_ns);
        sqlite3_bind_int64(st, 8, s->created_ns);
        sqlite3_bind_int64(st, 9, s->next_ns);
        rc = nj_step(st);
    }
    if (rc == 0) {
        sqlite3_bind_text(j->cancel, 1, s->a.alarm, -1, SQLITE_STATIC);
        sqlite3_bind_int64(j->cancel, 2, (int64_t)s->a.rec_seq);
        rc = nj_step(j->cancel);
    }
    return rc;
}

int nj_add(nj *j, const nj_row *rows, size_t n, const nj_stop *stops,
           size_t n_stops, uint64_t cursor_seq, int64_t cursor_ts,
           char *err, size_t errlen)
{
    if (sqlutil_exec(j->db, "BEGIN IMMEDIATE", j->path, err, errlen) < 0)
        return -1;
    int rc = nj_insert(j, rows, n);
    for (size_t i = 0; i < n_stops && rc == 0; i++)
        rc = nj_stop_one(j, &stops[i]);
    if (rc == 0)
        rc = nj_meta(j, "cursor_seq", (int64_t)cursor_seq);
    if (rc == 0)
        rc = nj_meta(j, "cursor_ts", cursor_ts);
    return nj_commit(j, rc, err, errlen);
}

int nj_step_done(nj *j, const nj_row *step, const nj_row *rows, size_t n,
                 char *err, size_t errlen)
{
    if (sqlutil_exec(j->db, "BEGIN IMMEDIATE", j->path, err, errlen) < 0)
        return -1;
    sqlite3_bind_int64(j->step_done, 1, step->next_ns);
    sqlite3_bind_int64(j->step_done, 2, step->id);
    int rc = nj_step(j->step_done);
    bool was_step = rc == 0 && sqlite3_changes(j->db) == 1;
    if (rc == 0 && was_step)
        rc = nj_insert(j, rows, n);
    if (nj_commit(j, rc, err, errlen) < 0)
        return -1;
    return was_step ? 1 : 0;
}

int nj_repeat_done(nj *j, const nj_row *step, const nj_row *next,
                   int64_t now, int *copies, char *err, size_t errlen)
{
    if (sqlutil_exec(j->db, "BEGIN IMMEDIATE", j->path, err, errlen) < 0)
        return -1;
    sqlite3_bind_int64(j->step_done, 1, step->next_ns);
    sqlite3_bind_int64(j->step_done, 2, step->id);
    int rc = nj_step(j->step_done);
    bool was_step = rc == 0 && sqlite3_changes(j->db) == 1;
    *copies = 0;
    if (rc == 0 && was_step) {
        sqlite3_bind_int64(j->repeat, 1, (int64_t)step->a.rec_seq);
        sqlite3_bind_int(j->repeat, 2, step->repeat);
        sqlite3_bind_int64(j->repeat, 3, now);
        rc = nj_step(j->repeat);
        *copies = rc == 0 ? sqlite3_changes(j->db) : 0;
    }
    if (rc == 0 && was_step && next)
        rc = nj_insert(j, next, 1);
    if (nj_commit(j, rc, err, errlen) < 0)
        return -1;
    return was_step ? 1 : 0;
}

int nj_cursor(nj *j, uint64_t *seq, int64_t *ts, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(j->db, "SELECT key, value FROM meta WHERE key IN"
                           " ('cursor_seq', 'cursor_ts')", -1, &st, NULL)
        != SQLITE_OK)
        return sqlutil_fail(j->db, j->path, err, errlen);
    int found = 0, rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *k = (const char *)sqlite3_column_text(st, 0);
        if (k && strcmp(k, "cursor_seq") == 0) {
            *seq = (uint64_t)sqlite3_column_int64(st, 1);
            found = 1;
        } else {
            *ts = sqlite3_column_int64(st, 1);
        }
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return sqlutil_fail(j->db, j->path, err, errlen);
    return found;
}

int nj_next_due(nj *j, int64_t *when)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(j->db, "SELECT min(next_ns) FROM notification"
                           " WHERE status IN ('pending', 'step')", -1, &st,
                           NULL)
        != SQLITE_OK)
        return 0;
    int found = 0;
    if (sqlite3_step(st) == SQLITE_ROW &&
        sqlite3_column_type(st, 0) != SQLITE_NULL) {
        *when = sqlite3_column_int64(st, 0);
        found = 1;
    }
    sqlite3_finalize(st);
    return found;
}

static void nj_text(sqlite3_stmt *st, int col, char *out, size_t len)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    snprintf(out, len, "%s", t ? (const char *)t : "");
}

/* The rows of st (selecting NJ_ROW_COLS), at most max, into out. */
static size_t nj_read_rows(sqlite3_stmt *st, nj_row *out, size_t max)
{
    size_t n = 0;
    while (n < max && sqlite3_step(st) == SQLITE_ROW) {
        nj_row *r = &out[n++];
        memset(r, 0, sizeof *r);
        r->id = sqlite3_column_int64(st, 0);
        r->a.rec_seq = (uint64_t)sqlite3_column_int64(st, 1);
        nj_text(st, 2, r->a.alarm, sizeof r->a.alarm);
        nj_text(st, 3, r->a.event, sizeof r->a.event);
        nj_text(st, 4, r->a.state, sizeof r->a.state);
        nj_text(st, 5, r->a.priority, sizeof r->a.priority);
        nj_text(st, 6, r->a.area, sizeof r->a.area);
        nj_text(st, 7, r->a.msg_en, sizeof r->a.msg_en);
        nj_text(st, 8, r->a.msg_zh, sizeof r->a.msg_zh);
        r->a.has_value = sqlite3_column_type(st, 9) != SQLITE_NULL;
        r->a.value = sqlite3_column_double(st, 9);
        r->a.ts_ns = sqlite3_column_int64(st, 10);
        r->a.active_ns = sqlite3_column_int64(st, 11);
        nj_text(st, 12, r->channel, sizeof r->channel);
        nj_text(st, 13, r->recipient, sizeof r->recipient);
        r->level = sqlite3_column_int(st, 14);
        r->created_ns = sqlite3_column_int64(st, 15);
        r->next_ns = sqlite3_column_int64(st, 16);
        r->attempts = sqlite3_column_int(st, 17);
        r->repeat = sqlite3_column_int(st, 18);
    }
    return n;
}

size_t nj_steps_due(nj *j, int64_t now, nj_row *out, size_t max)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(j->db, "SELECT " NJ_ROW_COLS " FROM notification"
                           " WHERE status = 'step' AND next_ns"
                           " <= ?1 ORDER BY next_ns, id LIMIT ?2", -1, &st,
                           NULL) != SQLITE_OK)
        return 0;
    sqlite3_bind_int64(st, 1, now);
    sqlite3_bind_int64(st, 2, (int64_t)max);
    size_t n = nj_read_rows(st, out, max);
    sqlite3_finalize(st);
    for (size_t i = 0; i < n; i++)
        out[i].step = true;
    return n;
}

size_t nj_batch(nj *j, int64_t now, nj_row *out, size_t max)
{
    sqlite3_stmt *st;
    /* The pair whose earliest pending row is due first, then all of its
     * pending rows: the group. */
    if (sqlite3_prepare_v2(j->db, "SELECT " NJ_ROW_COLS " FROM notification"
                           " WHERE status = 'pending' AND (channel,"
                           " recipient) = (SELECT channel, recipient FROM"
                           " notification WHERE status = 'pending' AND"
                           " next_ns <= ?1 ORDER BY next_ns, id LIMIT 1)"
                           " ORDER BY next_ns, id LIMIT ?2", -1, &st, NULL)
        != SQLITE_OK)
        return 0;
    sqlite3_bind_int64(st, 1, now);
    sqlite3_bind_int64(st, 2, (int64_t)max);
    size_t n = nj_read_rows(st, out, max);
    sqlite3_finalize(st);
    return n;
}

int nj_mark(nj *j, const nj_row *rows, size_t n, bool ok,
            const char *answer, int64_t now, int64_t next_ns, char *err,
            size_t errlen)
{
    if (n == 0)
        return 0;
    if (sqlutil_exec(j->db, "BEGIN IMMEDIATE", j->path, err, errlen) < 0)
        return -1;
    sqlite3_stmt *a = j->attempt;
    sqlite3_bind_int64(a, 1, now);
    sqlite3_bind_text(a, 2, rows[0].channel, -1, SQLITE_STATIC);
    sqlite3_bind_text(a, 3, rows[0].recipient, -1, SQLITE_STATIC);
    sqlite3_bind_int64(a, 4, (int64_t)n);
    sqlite3_bind_int(a, 5, ok);
    sqlite3_bind_text(a, 6, answer ? answer : "", -1, SQLITE_STATIC);
    int rc = nj_step(a);
    for (size_t i = 0; i < n && rc == 0; i++) {
        sqlite3_stmt *st = ok ? j->mark_ok : j->mark_fail;
        if (ok) {
            sqlite3_bind_int64(st, 1, now);
            sqlite3_bind_int64(st, 2, rows[i].id);
        } else {
            sqlite3_bind_text(st, 1, answer ? answer : "", -1, SQLITE_STATIC);
            sqlite3_bind_int64(st, 2, next_ns);
            sqlite3_bind_int64(st, 3, rows[i].id);
        }
        rc = nj_step(st);
    }
    return nj_commit(j, rc, err, errlen);
}

int nj_counts_get(nj *j, nj_counts *out)
{
    memset(out, 0, sizeof *out);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(j->db, "SELECT (SELECT count(*) FROM notification"
                           " WHERE status = 'pending'), (SELECT count(*) FROM"
                           " notification WHERE status = 'sent'), (SELECT"
                           " count(*) FROM attempt), (SELECT count(*) FROM"
                           " attempt WHERE ok = 0)", -1, &st, NULL)
        != SQLITE_OK)
        return -1;
    int rc = -1;
    if (sqlite3_step(st) == SQLITE_ROW) {
        out->pending = (uint64_t)sqlite3_column_int64(st, 0);
        out->sent = (uint64_t)sqlite3_column_int64(st, 1);
        out->attempts = (uint64_t)sqlite3_column_int64(st, 2);
        out->failed_attempts = (uint64_t)sqlite3_column_int64(st, 3);
        rc = 0;
    }
    sqlite3_finalize(st);
    return rc;
}

int nj_defer(nj *j, const char *channel, const char *recipient,
             int64_t until, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(j->db, "UPDATE notification SET next_ns = ?3"
                           " WHERE status = 'pending' AND channel = ?1 AND"
                           " (?2 IS NULL OR recipient = ?2) AND next_ns < ?3",
                           -1, &st, NULL) != SQLITE_OK)
        return sqlutil_fail(j->db, j->path, err, errlen);
    sqlite3_bind_text(st, 1, channel, -1, SQLITE_STATIC);
    if (recipient)
        sqlite3_bind_text(st, 2, recipient, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, until);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return sqlutil_fail(j->db, j->path, err, errlen);
    return 0;
}

int nj_pair_recent(nj *j, const char *channel, const char *recipient,
                   int64_t since, uint64_t cap, uint64_t *activations,
                   int64_t *last_sent)
{
    sqlite3_stmt *st;
    *activations = 0;
    *last_sent = 0;
    /* counted up to the flood's threshold and one: a flood of 40,000
     * must not make each message count 40,000 rows */
    if (sqlite3_prepare_v2(j->db, "SELECT (SELECT count(*) FROM (SELECT 1"
                           " FROM notification WHERE channel = ?1 AND"
                           " recipient = ?2 AND created_ns >= ?3 AND event ="
                           " 'active' LIMIT ?4)), (SELECT"
                           " max(ts_ns) FROM attempt WHERE channel = ?1 AND"
                           " recipient = ?2 AND ok = 1)", -1, &st, NULL)
        != SQLITE_OK)
        return -1;
    sqlite3_bind_text(st, 1, channel, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, recipient, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, since);
    sqlite3_bind_int64(st, 4, (int64_t)cap);
    int rc = -1;
    if (sqlite3_step(st) == SQLITE_ROW) {
        *activations = (uint64_t)sqlite3_column_int64(st, 0);
        *last_sent = sqlite3_column_int64(st, 1);
        rc = 0;
    }
    sqlite3_finalize(st);
    return rc;
}

size_t nj_recent_attempts(nj *j, const char *channel, int64_t *out,
                          size_t max)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(j->db, "SELECT ts_ns FROM attempt WHERE channel ="
                           " ?1 ORDER BY id DESC LIMIT ?2", -1, &st, NULL)
        != SQLITE_OK)
        return 0;
    sqlite3_bind_text(st, 1, channel, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (int64_t)max);
    size_t n = 0;
    while (n < max && sqlite3_step(st) == SQLITE_ROW)
        out[n++] = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

long nj_prune(nj *j, int64_t before, char *err, size_t errlen)
{
    /* In slices: a first prune of a large file must not hold the
     * journal's lock for long while deliveries wait. */
    static const char *const sql[2] = {
        "DELETE FROM notification WHERE id IN (SELECT id FROM notification"
        " WHERE created_ns < ?1 AND status IN ('sent', 'done', 'cancelled')"
        " LIMIT 5000)",
        "DELETE FROM attempt WHERE id IN (SELECT id FROM attempt WHERE"
        " ts_ns < ?1 LIMIT 5000)"};
    long total = 0;
    for (int t = 0; t < 2; t++) {
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(j->db, sql[t], -1, &st, NULL) != SQLITE_OK)
            return sqlutil_fail(j->db, j->path, err, errlen);
        int changed;
        do {
            sqlite3_bind_int64(st, 1, before);
            int rc = sqlite3_step(st);
            sqlite3_reset(st);
            if (rc != SQLITE_DONE) {
                sqlutil_fail(j->db, j->path, err, errlen);
                sqlite3_finalize(st);
                return -1;
            }
            changed = sqlite3_changes(j->db);
            total += changed;
        } while (changed > 0);
        sqlite3_finalize(st);
    }
    return total;
}

int nj_mark_due_now(nj *j, const char *channel, int64_t now, char *err,
                    size_t errlen)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(j->db, "UPDATE notification SET next_ns = ?1"
                           " WHERE status = 'pending' AND attempts > 0 AND"
                           " next_ns > ?1 AND (?2 IS NULL OR channel = ?2)",
                           -1, &st, NULL) != SQLITE_OK)
        return sqlutil_fail(j->db, j->path, err, errlen);
    sqlite3_bind_int64(st, 1, now);
    if (channel)
        sqlite3_bind_text(st, 2, channel, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : sqlutil_fail(j->db, j->path, err, errlen);
}
