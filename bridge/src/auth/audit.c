/*
 * audit.c - the audit log in audit.db (see audit.h), and reading it back
 * (auth_audit_each), which needs no handle: the command line reads the
 * log beside a running daemon, through a read-only connection of its own.
 */
#include "auth/audit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/sqlutil.h"
#include "core/fsutil.h"

#define AUDIT_SCHEMA_VERSION 1

static const char audit_schema[] =
    "CREATE TABLE IF NOT EXISTS audit ("
    "  id INTEGER PRIMARY KEY,"         /* write order within one ns */
    "  ts INTEGER NOT NULL,"            /* ns since the epoch, UTC */
    "  user TEXT NOT NULL,"
    "  action TEXT NOT NULL,"
    "  detail TEXT NOT NULL,"
    "  address TEXT NOT NULL,"
    "  result TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS audit_ts ON audit (ts);";

struct audit_log {
    sqlite3 *db;
};

audit_log *audit_open(const char *dir, fmode_warn_fn warn, void *ctx,
                      char *err, size_t errlen)
{
    audit_log *l = calloc(1, sizeof *l);
    if (!l) {
        snprintf(err, errlen, "audit.db: out of memory");
        return NULL;
    }
    l->db = sqlutil_open(dir, "audit.db", audit_schema, AUDIT_SCHEMA_VERSION,
                         warn, ctx, err, errlen);
    if (!l->db) {
        free(l);
        return NULL;
    }
    return l;
}

void audit_close(audit_log *l)
{
    if (!l)
        return;
    sqlite3_close(l->db);
    free(l);
}

/* The length of s cut to fit max bytes, not inside a UTF-8 character. */
static int audit_cut(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n <= max)
        return (int)n;
    n = max;
    while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
        n--;
    return (int)n;
}

int audit_add(audit_log *l, int64_t ts_ns, const char *user,
              const char *action, const char *detail, const char *address,
              const char *result, char *err, size_t errlen)
{
    auth_audit_row r;
    const char *f[5] = {user, action, detail, address, result};
    const size_t max[5] = {sizeof r.user - 1, sizeof r.action - 1,
                           sizeof r.detail - 1, sizeof r.address - 1,
                           sizeof r.result - 1};
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(l->db, "INSERT INTO audit (ts, user, action, "
                           "detail, address, result) VALUES (?1, ?2, ?3, "
                           "?4, ?5, ?6)", -1, &st, NULL) != SQLITE_OK)
        return sqlutil_fail(l->db, "audit.db", err, errlen);
    sqlite3_bind_int64(st, 1, ts_ns);
    for (int i = 0; i < 5; i++) {
        const char *s = f[i] ? f[i] : "";
        sqlite3_bind_text(st, i + 2, s, audit_cut(s, max[i]), SQLITE_STATIC);
    }
    if (sqlite3_step(st) != SQLITE_DONE) {
        sqlutil_fail(l->db, "audit.db", err, errlen);
        sqlite3_finalize(st);
        return -1;
    }
    sqlite3_finalize(st);
    return 0;
}

static void audit_text(sqlite3_stmt *st, int col, char *out, size_t len)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    snprintf(out, len, "%s", t ? (const char *)t : "");
}

/* limit 0: every record of the range; else the newest limit of them, and
 * *truncated whether the range held more. */
static int audit_query(const char *state_dir, int64_t from_ns, int64_t to_ns,
                       size_t limit, bool *truncated,
                       int (*cb)(void *, const auth_audit_row *), void *ctx,
                       char *err, size_t errlen)
{
    char *path = fs_join(state_dir, "audit.db");
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int rc = -1;
    if (!path) {
        snprintf(err, errlen, "audit.db: out of memory");
        return -1;
    }
    struct stat sb;
    if (stat(path, &sb) < 0) {
        if (errno == ENOENT)
            rc = 0;                 /* nothing recorded yet */
        else
            snprintf(err, errlen, "%s: %s", path, strerror(errno));
        goto out;
    }
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        sqlutil_fail(db, path, err, errlen);
        goto out;
    }
    sqlite3_busy_timeout(db, 5000);
    const char *sql = limit == 0
        ? "SELECT ts, user, action, detail, address, result FROM audit"
          " WHERE ts >= ?1 AND ts < ?2 ORDER BY ts, id"
        : "SELECT ts, user, action, detail, address, result FROM"
          " (SELECT * FROM audit WHERE ts >= ?1 AND ts < ?2"
          "  ORDER BY ts DESC, id DESC LIMIT ?3) ORDER BY ts, id";
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        /* A file made but never given its table (a first open that
         * failed) holds no records either. */
        if (strstr(sqlite3_errmsg(db), "no such table"))
            rc = 0;
        else
            sqlutil_fail(db, path, err, errlen);
        goto out;
    }
    sqlite3_bind_int64(st, 1, from_ns);
    sqlite3_bind_int64(st, 2, to_ns);
    int s;
    if (limit) {
        sqlite3_bind_int64(st, 3, (sqlite3_int64)limit);
        sqlite3_stmt *c = NULL;
        if (sqlite3_prepare_v2(db, "SELECT count(*) > ?3 FROM audit"
                               " WHERE ts >= ?1 AND ts < ?2", -1, &c,
                               NULL) != SQLITE_OK) {
            sqlutil_fail(db, path, err, errlen);
            goto out;
        }
        sqlite3_bind_int64(c, 1, from_ns);
        sqlite3_bind_int64(c, 2, to_ns);
        sqlite3_bind_int64(c, 3, (sqlite3_int64)limit);
        s = sqlite3_step(c);
        *truncated = s == SQLITE_ROW && sqlite3_column_int(c, 0);
        sqlite3_finalize(c);
        if (s != SQLITE_ROW) {
            sqlutil_fail(db, path, err, errlen);
            goto out;
        }
    }
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        auth_audit_row r;
        r.ts_ns = sqlite3_column_int64(st, 0);
        audit_text(st, 1, r.user, sizeof r.user);
        audit_text(st, 2, r.action, sizeof r.action);
        audit_text(st, 3, r.detail, sizeof r.detail);
        audit_text(st, 4, r.address, sizeof r.address);
        audit_text(st, 5, r.result, sizeof r.result);
        if (cb(ctx, &r)) {
            s = SQLITE_DONE;
            break;
        }
    }
    if (s != SQLITE_DONE) {
        sqlutil_fail(db, path, err, errlen);
        goto out;
    }
    rc = 0;
out:
    sqlite3_finalize(st);
    sqlite3_close(db);
    free(path);
    return rc;
}

int auth_audit_each(const char *state_dir, int64_t from_ns, int64_t to_ns,
                    int (*cb)(void *, const auth_audit_row *), void *ctx,
                    char *err, size_t errlen)
{
    return audit_query(state_dir, from_ns, to_ns, 0, NULL, cb, ctx, err,
                       errlen);
}

int auth_audit_newest(const char *state_dir, int64_t from_ns, int64_t to_ns,
                      size_t limit, bool *truncated,
                      int (*cb)(void *, const auth_audit_row *), void *ctx,
                      char *err, size_t errlen)
{
    *truncated = false;
    if (limit == 0) {
        snprintf(err, errlen, "audit: a limit of 0 records");
        return -1;
    }
    return audit_query(state_dir, from_ns, to_ns, limit, truncated, cb, ctx,
                       err, errlen);
}
