/*
 * board.h - the station's alarms as the bridge runs them: the engine fed
 * from the change stream, each of its records journalled before it
 * counts, the alarms as they are shown, and the operators' actions.
 *
 * What is shown.  The engine's own state runs ahead of the disk: a record
 * is emitted, then journalled.  The board therefore keeps a second status
 * per alarm, the shown one: the status of its last committed record,
 * updated only when the journal hands that record back (board_collect).
 * Everything that reaches a person (the HTTP API, the WebSocket, the log)
 * reads the shown status, or the records the listeners receive after
 * commit, so nothing is shown that a crash could take back, and a restart
 * (board_restore) shows exactly what was shown before it.
 *
 * Actions (ack, shelve, ...) act on the engine at once (its state is the
 * truth for what is valid), and return a ticket: the count of records
 * submitted so far.  Once board_published() reaches it, the action's
 * records are on disk and shown; the web answers the operator then.
 *
 * A full disk.  While commits fail the journal holds records up to its
 * bound.  Beyond it, the board stops submitting and marks the alarms whose
 * records it could not hand in; once there is room again it submits one
 * record per marked alarm carrying the alarm's status as it is then (event
 * the last one seen), oldest change first.  Intermediate transitions of an
 * alarm are then merged (counted in board_counts.merged and said in the
 * log), but the state a restart restores, and everything shown, is never
 * lost.  Actions are refused meanwhile (board_can_act): an operator's
 * acknowledgement is never merged away.
 *
 * Threads: everything here runs on the consumer thread (the lws service
 * thread), except that the journal's commits arrive from its own thread
 * through the journal and a wake-up.  The station map and the journal
 * must outlive the board.
 */
#ifndef LB_ALARM_BOARD_H
#define LB_ALARM_BOARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alarm/engine.h"
#include "alarm/journal.h"
#include "config/plcmap.h"
#include "core/dispatch.h"
#include "core/tagstore.h"

typedef struct board board;

/* wake: called after an action, from the consumer thread, so that the
 * loop looks at the engine's timer again (lws_cancel_service,
 * dispatch_wake); NULL when the caller drives ticks itself. */
board *board_new(const map_station *st, journal *j, void (*wake)(void *),
                 void *wake_ctx);
void board_free(board *b);

/* Before the first change: the journal's last record of each alarm (the
 * file at path) back into the engine and the shown statuses.  gone(ctx,
 * id) is called once for each alarm of the journal that the map no
 * longer has (it stays as it was in the file, and is not restored).  The
 * number restored, or -1 with err (the file cannot be read). */
long board_restore(board *b, const char *path,
                   void (*gone)(void *ctx, const char *id), void *ctx,
                   char *err, size_t errlen);

/* Subscribes the engine to d (call after the recorder: the time series
 * first), adds the timer at the engine's next deadline (alarm_tick on
 * wall-clock time, the timeline of the Modbus response times) and the
 * wake hook that takes committed records in.  0, or -1 out of memory. */
int board_attach(board *b, dispatch *d);

/* A reload (cli/reload.c), consumer thread, outside dispatch_run_due: b,
 * new and restored from the journal, takes old's place in the
 * dispatcher (subscription, timer, wake hook, in the same order), its
 * listeners and its ticket count (board_published goes on from old's).
 * Every record of old must have been committed and taken in first
 * (journal_flush, board_collect); -1 when some still wait for room in
 * the journal, and nothing is changed.  old then only answers queries
 * (a thread may still read its engine's definitions) until freed. */
int board_take_over(board *b, board *old);

/* A reload that could not restore a new board: b stays subscribed (the
 * dispatcher's changes are now of another station) but evaluates nothing
 * more; its committed records still come in. */
void board_park(board *b);

/* Called after each batch of committed records is taken in, with the
 * records (oldest first; recs[i].alarm is the engine's index); the shown
 * statuses are already updated.  At most BOARD_LISTENERS.  0, or -1. */
#define BOARD_LISTENERS 4
typedef void (*board_listener)(void *ctx, const journal_rec *recs, size_t n);
int board_listen(board *b, board_listener fn, void *ctx);

/* What board_attach wires, for callers that drive the board themselves
 * (tests, benchmarks): a batch of changes, time passing, and taking
 * committed records in. */
void board_feed(void *b, const tag_change *c, size_t n);
void board_tick(board *b, int64_t now_real_ns);
void board_collect(board *b);
/* An external alarm's condition (alarm_set_external) at now_real_ns,
 * and the timer moved to the engine's next deadline: the notify
 * channels' own alarms.  Consumer thread.  0, or -1 (not external). */
int board_set_external(board *b, size_t idx, alarm_cond cond,
                       int64_t now_real_ns);

const alarm_engine *board_engine(const board *b);
size_t board_count(const board *b);
/* The shown status of alarm idx (< board_count). */
const alarm_status *board_shown(const board *b, size_t idx);

/* Whether the journal can take the records of an action on n alarms now:
 * false while records are being merged or the queue is nearly at its
 * bound (a disk full for a long time). */
bool board_can_act(board *b, size_t n);

/* Whether the action would be taken now (alarm_check). */
alarm_err board_check(const board *b, alarm_op op, size_t idx,
                      const alarm_action *a, int64_t until_ns);

/* One action (alarm/engine.h: who, when, text); until_ns for
 * ALARM_OP_SHELVE (0: one-shot).  On ALARM_OK *ticket (may be NULL) is
 * the ticket of its last record. */
alarm_err board_act(board *b, alarm_op op, size_t idx, const alarm_action *a,
                    int64_t until_ns, uint64_t *ticket);

/* Tickets of records taken in after commit, i.e. shown. */
uint64_t board_published(const board *b);

typedef struct {
    size_t active;             /* active-unack or active-ack */
    size_t unacked;            /* active-unack or cleared-unack */
    size_t shelved;
    size_t out_of_service;
    size_t suppressed;         /* not normal, suppressed by design or mode */
    uint64_t records;          /* records published since start */
    uint64_t merged;           /* records merged for a full journal */
    bool merging;              /* alarms are waiting to be journalled */
} board_counts;

/* From the shown statuses. */
void board_get_counts(const board *b, board_counts *out);

#endif
