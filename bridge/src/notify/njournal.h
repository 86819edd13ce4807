/*
 * njournal.h - the notification journal: every notification written
 * before it is attempted and marked with its result after, so that a
 * restart (kill -9 included) resumes exactly where the last one stopped.
 *
 * The file (notify.journal, default <data_dir>/notify.db) is SQLite in
 * WAL mode with synchronous=FULL, 0600 in a 0700 directory, like the
 * alarm journal (core/sqlutil.h).  One row per alarm event, channel,
 * recipient and level (the unique key): a mail to two people on call is
 * two rows, a webhook one; level 0 is a channel named by the route, level
 * 1 the first on-call level (escalation, issue 10 step 2, adds rows of
 * level 2 and up).  Each row carries what its message says (the alarm's
 * id, event, state, priority, area, both messages, value and times), so
 * delivery after a restart needs nothing but the row.
 *
 * Life of a row: `pending` from nj_add, with next_ns = when it may first
 * go (its creation + group.wait); each attempt increments `attempts` and
 * sets `last_error`, or `delivered_ns` and status `sent`; an `attempt`
 * row records each try (channel, recipient, how many notifications it
 * carried, ok, the channel's answer).  A notification is confirmed when
 * its row says sent: that is never sent again.  A crash between a
 * channel's answer and the mark sends that one message a second time
 * (at least once; no channel here can take a message back).
 *
 * Grouping.  nj_batch hands out, for the (channel, recipient) whose
 * earliest pending row is due, every pending row of that pair: alarms that
 * arrived while the first waited its group.wait go out in one message.
 *
 * The cursor.  The highest alarm-journal seq whose notifications are in
 * this file (nj_add stores it in the same transaction), so that at start
 * the records committed to the alarm journal but not yet routed (a crash
 * in between) are routed then, and none twice (rows are INSERT OR
 * IGNORE on their key).
 *
 * Escalation.  A routed activation that names oncall, on a route with
 * escalate_after, also gets a row of status `step` for the next level,
 * due escalate_after after the alarm: when it is due the thread finds
 * the person on call then and adds their row and the step after
 * (nj_step_done).  A stop (an acknowledgement, ...; nj_stop) cancels the
 * steps in the transaction that moves the cursor past it, so after a
 * crash a step is either still due or cancelled, never lost or sent
 * after the acknowledgement that cancelled it.  Statuses: pending, sent,
 * step, done (a step taken), cancelled.
 *
 * Repeats.  An activation on a route with `repeat` also gets a step of
 * repeat_no 1 (channel and recipient "", level 0), due `repeat` after
 * the alarm: when it is due, everyone the activation was sent to (the
 * escalated levels too) gets a row of event `repeat` and that number,
 * and the next reminder's step is added (nj_repeat_done).  A stop cancels
 * reminders as it cancels escalation steps; a clear cancels reminders
 * only (nj_stop.repeats_only).
 *
 * Schema (user_version 2; a version-1 file is upgraded at open):
 *   notification(id INTEGER PRIMARY KEY, rec_seq, alarm, event, state,
 *     priority, area, msg_en, msg_zh, value, ts_ns, active_ns, channel,
 *     recipient, level, created_ns, next_ns, status, attempts, last_error,
 *     delivered_ns, repeat_no,
 *     UNIQUE(rec_seq, channel, recipient, level, repeat_no))
 *   attempt(id INTEGER PRIMARY KEY, ts_ns, channel, recipient, rows, ok,
 *     answer)
 *   meta(key PRIMARY KEY, value): cursor_seq, cursor_ts
 *
 * One owner: the notify thread (or the CLI); not thread-safe.
 */
#ifndef LB_NOTIFY_NJOURNAL_H
#define LB_NOTIFY_NJOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/fmode.h"

typedef struct nj nj;

#define NJ_ID_MAX 200
#define NJ_TEXT_MAX 256
#define NJ_ADDR_MAX 256

/* An alarm event as a notification tells it: plain data. */
typedef struct {
    uint64_t rec_seq;          /* the alarm journal's seq of the record */
    char alarm[NJ_ID_MAX];
    char event[24];            /* alarm_event_name: "active", "clear" */
    char state[24];            /* alarm_state_name after the event */
    char priority[12];         /* map_priority_name */
    char area[72];
    char msg_en[NJ_TEXT_MAX], msg_zh[NJ_TEXT_MAX];
    bool has_value;
    double value;
    int64_t ts_ns;             /* the record's time */
    int64_t active_ns;         /* when it became active; 0: not known */
    /* Not in the file: what the thread does with the event.  stop: an
     * acknowledgement, shelve, disable, reset or return to normal, which
     * ends the escalation of the alarm's activation (nj_add's stops);
     * by: who acted ("" when the engine did). */
    bool stop;
    char by[72];
} nj_alarm;

typedef struct {
    int64_t id;                /* 0 until added */
    nj_alarm a;
    char channel[72];
    char recipient[NJ_ADDR_MAX];  /* an address; "" for a webhook */
    int level;
    int64_t created_ns, next_ns;
    int attempts;
    /* An escalation step (status 'step'): not a message but the moment
     * level `level` is due; its recipient ("") is found when it is
     * (nj_steps_due, nj_step_done), through `channel`. */
    bool step;
    /* 0: the event's own notification; N: its Nth reminder (an event
     * `repeat` row, or the step that makes them). */
    int repeat;
} nj_row;

/* What an alarm event that ends an escalation does (nj_add): every step
 * and every unsent page of a person on call (level 1 and up: in its
 * group.wait, or escalated) of the alarm's activations before it is
 * cancelled (level 0, the channels a route names, still goes out); with tell, a row of a (an event
 * "ack", its messages the caller's "acknowledged by ...") goes to each
 * channel and recipient that was sent the alarm's last activation, due
 * at next_ns. */
typedef struct {
    nj_alarm a;
    bool tell;
    /* a clear: only the reminder steps of the alarm's activations
     * before it are cancelled (escalation goes on: it is still to be
     * acknowledged); tell is not looked at */
    bool repeats_only;
    int64_t created_ns, next_ns;
} nj_stop;

/* Opens (creating) the file; its directory is made 0700.  NULL with
 * "path: reason" in err. */
nj *nj_open(const char *path, fmode_warn_fn warn, void *ctx, char *err,
            size_t errlen);
void nj_close(nj *j);

/* The rows (may be 0 of them), pending (or steps), the stops (in
 * order, after the rows) and the cursor moved to seq/ts, in one
 * transaction: an acknowledgement and the cursor past it are on disk
 * together, so a restart neither loses it nor sends what it cancelled.
 * Rows whose key is there already are left as they are.  0, or -1 with
 * err (nothing written). */
int nj_add(nj *j, const nj_row *rows, size_t n, const nj_stop *stops,
           size_t n_stops, uint64_t cursor_seq, int64_t cursor_ts,
           char *err, size_t errlen);

/* The escalation steps due at now (at most max, earliest first). */
size_t nj_steps_due(nj *j, int64_t now, nj_row *out, size_t max);

/* A step done: marked so (unless a stop cancelled it meanwhile: then
 * nothing is written and 0 returned) and rows[0..n) (its message, the
 * next step) added, in one transaction.  1 when done, 0 when it was no
 * longer a step, -1 with err. */
int nj_step_done(nj *j, const nj_row *step, const nj_row *rows, size_t n,
                 char *err, size_t errlen);

/* A reminder step done: marked so (unless cancelled meanwhile: then
 * nothing is written and 0 returned), a row of event `repeat` and
 * number step->repeat, due at now, for each channel and recipient the
 * activation step->a.rec_seq was sent to (*copies of them), and next (the
 * following reminder's step; NULL: none), in one transaction.  1 when
 * done, 0 when it was no longer a step, -1 with err. */
int nj_repeat_done(nj *j, const nj_row *step, const nj_row *next,
                   int64_t now, int *copies, char *err, size_t errlen);

/* The cursor: 1 with *seq, *ts; 0 when none was ever stored (a new
 * file); -1 with err. */
int nj_cursor(nj *j, uint64_t *seq, int64_t *ts, char *err, size_t errlen);

/* The earliest next_ns of a pending row or a step: 1 with *when, 0 when
 * none. */
int nj_next_due(nj *j, int64_t *when);

/* The pending rows (at most max, earliest due first, then oldest) of
 * the (channel, recipient) whose earliest pending row is due at now; 0
 * when none is. */
size_t nj_batch(nj *j, int64_t now, nj_row *out, size_t max);

/* An attempt at rows[0..n) (one message): recorded with the channel's
 * answer; on ok the rows are sent (delivered_ns = now), else they stay
 * pending until next_ns with the answer as last_error.  0, or -1 with
 * err. */
int nj_mark(nj *j, const nj_row *rows, size_t n, bool ok,
            const char *answer, int64_t now, int64_t next_ns, char *err,
            size_t errlen);

/* Every pending row of channel (NULL: of every channel) waiting for a
 * later retry is due at now: a restart tries at once, and so does a
 * channel that has just worked again.  0, or -1 with err. */
int nj_mark_due_now(nj *j, const char *channel, int64_t now, char *err,
                    size_t errlen);

/* The pending rows of channel (and recipient; NULL: every recipient)
 * due before until are due at until instead: held back by a rate limit
 * or a flood's group.interval, they go out together then.  0, or -1 with
 * err. */
int nj_defer(nj *j, const char *channel, const char *recipient,
             int64_t until, char *err, size_t errlen);

/* For (channel, recipient): how many activation rows were created since
 * `since` (counted up to cap), and when a message last went out (0:
 * never).  0, or -1. */
int nj_pair_recent(nj *j, const char *channel, const char *recipient,
                   int64_t since, uint64_t cap, uint64_t *activations,
                   int64_t *last_sent);

/* The times of the channel's last attempts (at most max, newest first),
 * for a rate limit that outlives a restart.  How many. */
size_t nj_recent_attempts(nj *j, const char *channel, int64_t *out,
                          size_t max);

/* Retention: rows sent, done or cancelled created before `before`, and
 * attempts made before it, deleted (pending rows and steps are kept
 * whatever their age).  The number deleted, or -1 with err. */
long nj_prune(nj *j, int64_t before, char *err, size_t errlen);

typedef struct {
    uint64_t pending, sent, attempts, failed_attempts;
} nj_counts;
int nj_counts_get(nj *j, nj_counts *out);

#endif
