/*
 * njread.c - reading the notification journal (njread.h).
 */
#include "notify/njread.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <sys/stat.h>

static const char *njr_text(sqlite3_stmt *st, int col)
{
    const unsigned char *s = sqlite3_column_text(st, col);
    return s ? (const char *)s : "";
}

static int njr_fail(sqlite3 *db, const char *path, char *err, size_t errlen)
{
    snprintf(err, errlen, "%s: %s", path, db ? sqlite3_errmsg(db)
                                            : "cannot open");
    return -1;
}

int njr_read(const char *path, int64_t from_ns, int64_t to_ns, size_t limit,
             int (*row)(void *ctx, const njr_row *r),
             int (*attempt)(void *ctx, const njr_attempt *a), void *ctx,
             bool *more, char *err, size_t errlen)
{
    *more = false;
    struct stat sb;
    if (stat(path, &sb) < 0 && errno == ENOENT)
        return 0;               /* nothing notified yet */
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        njr_fail(db, path, err, errlen);
        sqlite3_close(db);
        return -1;
    }
    sqlite3_busy_timeout(db, 5000);
    sqlite3_stmt *st = NULL;
    int rc = -1;
    /* limit + 1: whether there were more */
    if (sqlite3_prepare_v2(db, "SELECT id, alarm, event, state, priority, "
                           "area, msg_en, msg_zh, channel, recipient, status,"
                           " last_error, level, attempts, ts_ns, created_ns,"
                           " next_ns, delivered_ns FROM notification WHERE "
                           "created_ns >= ?1 AND created_ns < ?2 ORDER BY "
                           "id DESC LIMIT ?3", -1, &st, NULL) != SQLITE_OK)
        goto out;
    sqlite3_bind_int64(st, 1, from_ns);
    sqlite3_bind_int64(st, 2, to_ns);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)limit + 1);
    size_t n = 0;
    int s;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        if (n++ == limit) {
            *more = true;
            break;
        }
        njr_row r = {
            .id = sqlite3_column_int64(st, 0),
            .alarm = njr_text(st, 1), .event = njr_text(st, 2),
            .state = njr_text(st, 3), .priority = njr_text(st, 4),
            .area = njr_text(st, 5), .msg_en = njr_text(st, 6),
            .msg_zh = njr_text(st, 7), .channel = njr_text(st, 8),
            .recipient = njr_text(st, 9), .status = njr_text(st, 10),
            .last_error = njr_text(st, 11),
            .level = sqlite3_column_int(st, 12),
            .attempts = sqlite3_column_int(st, 13),
            .ts_ns = sqlite3_column_int64(st, 14),
            .created_ns = sqlite3_column_int64(st, 15),
            .next_ns = sqlite3_column_int64(st, 16),
            .delivered_ns = sqlite3_column_int64(st, 17),
        };
        if (row(ctx, &r) < 0) {
            rc = 0;
            goto out;
        }
    }
    if (s != SQLITE_ROW && s != SQLITE_DONE)
        goto out;
    sqlite3_finalize(st);
    if (sqlite3_prepare_v2(db, "SELECT id, ts_ns, channel, recipient, answer,"
                           " rows, ok FROM attempt WHERE ts_ns >= ?1 AND "
                           "ts_ns < ?2 ORDER BY id DESC LIMIT ?3", -1, &st,
                           NULL) != SQLITE_OK)
        goto out;
    sqlite3_bind_int64(st, 1, from_ns);
    sqlite3_bind_int64(st, 2, to_ns);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)limit + 1);
    n = 0;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        if (n++ == limit) {
            *more = true;
            break;
        }
        njr_attempt a = {
            .id = sqlite3_column_int64(st, 0),
            .ts_ns = sqlite3_column_int64(st, 1),
            .channel = njr_text(st, 2), .recipient = njr_text(st, 3),
            .answer = njr_text(st, 4), .rows = sqlite3_column_int(st, 5),
            .ok = sqlite3_column_int(st, 6) != 0,
        };
        if (attempt(ctx, &a) < 0)
            break;
    }
    if (s == SQLITE_ROW || s == SQLITE_DONE)
        rc = 0;
out:
    if (rc < 0)
        njr_fail(db, path, err, errlen);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return rc;
}
