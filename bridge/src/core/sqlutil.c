/*
 * sqlutil.c - opening the state directory's SQLite files (see sqlutil.h).
 *
 * synchronous=FULL for all: the audit log must be on disk before the
 * action it records takes effect, a token is shown only once, so a power
 * cut must not lose it after it was printed, and an alarm transition is
 * journalled before it is shown.  The writes are few (a login, a flush a
 * minute, a batch of alarm records per transaction), so the fsyncs cost
 * nothing that matters.
 */
#include "core/sqlutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fsutil.h"

int sqlutil_fail(sqlite3 *db, const char *what, char *err, size_t errlen)
{
    if (err && errlen)
        snprintf(err, errlen, "%s: %s", what,
                 db ? sqlite3_errmsg(db) : "out of memory");
    return -1;
}

int sqlutil_exec(sqlite3 *db, const char *sql, const char *what, char *err,
                 size_t errlen)
{
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return sqlutil_fail(db, what, err, errlen);
    return 0;
}

static int sqlutil_int(sqlite3 *db, const char *sql, int *out)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return -1;
    int rc = sqlite3_step(st) == SQLITE_ROW ? 0 : -1;
    if (rc == 0)
        *out = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return rc;
}

sqlite3 *sqlutil_open(const char *dir, const char *name, const char *schema,
                      int version, fmode_warn_fn warn, void *ctx, char *err,
                      size_t errlen)
{
    char *path = fs_join(dir, name);
    char side[4096];
    sqlite3 *db = NULL;
    if (!path) {
        snprintf(err, errlen, "%s: out of memory", name);
        return NULL;
    }
    if (fmode_file(path, true, warn, ctx, err, errlen) < 0)
        goto fail;
    static const char *const sides[] = {"-wal", "-shm", "-journal"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(side, sizeof side, "%s%s", path, sides[i]);
        if (fmode_file(side, false, warn, ctx, err, errlen) < 0)
            goto fail;
    }
    /* NOMUTEX: the handle serialises every use of a connection under its
     * disk lock, so SQLite's own mutex would only be paid for. */
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE |
                        SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL)
        != SQLITE_OK) {
        sqlutil_fail(db, path, err, errlen);
        goto fail;
    }
    sqlite3_busy_timeout(db, 5000);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "PRAGMA journal_mode=WAL", -1, &st, NULL)
        != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW ||
        strcmp((const char *)sqlite3_column_text(st, 0), "wal") != 0) {
        sqlite3_finalize(st);
        sqlutil_fail(db, path, err, errlen);
        goto fail;
    }
    sqlite3_finalize(st);
    int have = -1;
    if (sqlutil_exec(db, "PRAGMA synchronous=FULL", path, err, errlen) < 0)
        goto fail;
    if (sqlutil_int(db, "PRAGMA user_version", &have) < 0) {
        sqlutil_fail(db, path, err, errlen);
        goto fail;
    }
    if (have > version) {
        snprintf(err, errlen, "%s: written by a newer lockbridge (schema "
                 "%d, this one knows %d)", path, have, version);
        goto fail;
    }
    if (have != version) {
        char sql[64];
        snprintf(sql, sizeof sql, "PRAGMA user_version=%d", version);
        if (sqlutil_exec(db, "BEGIN IMMEDIATE", path, err, errlen) < 0)
            goto fail;
        if (sqlutil_exec(db, schema, path, err, errlen) < 0 ||
            sqlutil_exec(db, sql, path, err, errlen) < 0 ||
            sqlutil_exec(db, "COMMIT", path, err, errlen) < 0) {
            sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
            goto fail;
        }
    }
    free(path);
    return db;
fail:
    sqlite3_close(db);
    free(path);
    return NULL;
}

sqlite3 *sqlutil_open_path(const char *path, const char *schema, int version,
                           fmode_warn_fn warn, void *ctx, char *err,
                           size_t errlen)
{
    char *dir = NULL, *name = NULL;
    sqlite3 *db = NULL;
    if (fs_split(path, &dir, &name) < 0) {
        snprintf(err, errlen, "%s: out of memory", path);
        return NULL;
    }
    if (!name[0])
        snprintf(err, errlen, "%s: not a file name", path);
    else if (fmode_dir(dir, warn, ctx, err, errlen) == 0)
        db = sqlutil_open(dir, name, schema, version, warn, ctx, err, errlen);
    free(dir);
    free(name);
    return db;
}
