/*
 * njread.h - the notification journal (njournal.h) read from another
 * thread: the dashboard's notifications page (GET /api/notifications, on
 * the web worker) sees what was sent to whom, when, and every attempt
 * with the channel's answer.
 *
 * Each call opens the file read-only on a connection of its own (WAL:
 * the notify thread writes meanwhile) and closes it.  A journal that
 * does not exist yet is empty, not an error.
 */
#ifndef LB_NOTIFY_NJREAD_H
#define LB_NOTIFY_NJREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A notification row as the page shows it; strings are "" when NULL. */
typedef struct {
    int64_t id;
    const char *alarm, *event, *state, *priority, *area, *msg_en, *msg_zh;
    const char *channel, *recipient, *status, *last_error;
    int level, attempts;
    int64_t ts_ns;             /* the alarm event's time */
    int64_t created_ns;        /* routed */
    int64_t next_ns;           /* due (pending), or when it was due */
    int64_t delivered_ns;      /* 0: not delivered */
} njr_row;

typedef struct {
    int64_t id, ts_ns;
    const char *channel, *recipient, *answer;
    int rows;
    bool ok;
} njr_attempt;

/* The rows routed in [from_ns, to_ns) and the attempts made in it, each
 * newest first, at most limit of each (*more: there were more); the
 * callbacks' pointers live until they return.  0, or -1 with "path:
 * reason". */
int njr_read(const char *path, int64_t from_ns, int64_t to_ns, size_t limit,
             int (*row)(void *ctx, const njr_row *r),
             int (*attempt)(void *ctx, const njr_attempt *a), void *ctx,
             bool *more, char *err, size_t errlen);

#endif
