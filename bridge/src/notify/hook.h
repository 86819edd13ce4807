/*
 * hook.h - the alarm board's committed records into the delivery thread:
 * which records are worth a notification, their copies (with the
 * messages in both languages filled in while the engine is at hand), the
 * board listener, and the catch-up at start.
 *
 * Threads: notify_hook_listener runs on the consumer thread (board
 * listeners do); notify_catch_up on the main thread before the pollers
 * and the notify thread start; notify_hook_replay on the notify thread
 * (notify.h's opts.replay).  Only copies cross to the notify thread.
 * notify_hook_alarm reads of the engine only what alarm_engine_new
 * fixed (the definitions, their tags and messages: alarm_find,
 * alarm_message), never a status, so the notify thread may call it
 * while the consumer thread runs the engine.
 */
#ifndef LB_NOTIFY_HOOK_H
#define LB_NOTIFY_HOOK_H

#include <stdbool.h>
#include <stddef.h>

#include "alarm/board.h"
#include "alarm/journal.h"
#include "notify/notify.h"

/* A record that ends the escalation and repeats of the alarm's
 * activation: an acknowledgement, a shelve, a disable (out of service),
 * a reset, or any record that leaves the alarm normal. */
bool notify_hook_stops(const journal_rec *r);

/* An activation (not shelved, not suppressed, not out of service), a
 * clear, or a record that stops (notify_hook_stops). */
bool notify_hook_wants(const journal_rec *r);

/* r as a notification tells it; the messages from e (r->alarm is the
 * engine's index, or UINT32_MAX: looked up by id); stop and by set. */
void notify_hook_alarm(nj_alarm *out, const journal_rec *r,
                       const alarm_engine *e);

typedef struct {
    notify *n;
    const board *b;
    uint64_t dropped;         /* consumer thread: refused by a full queue */
    /* The retained summary of the mqtt channels (notify/README.md): made
     * only when summary is set (notify_hook_mqtt).  The consumer
     * thread's. */
    const map_station *st;
    bool summary;
    char *last;               /* the last one's alarms, to see a change */
} notify_hook;

/* Whether st's notify section has an mqtt channel (so a summary). */
bool notify_hook_mqtt(const map_station *st);

/* A board_listener (alarm/board.h); ctx is a notify_hook.  Hands each
 * record worth it to the thread, then, with h->summary, the summary
 * when the batch changed it (notify_hook_summary). */
void notify_hook_listener(void *ctx, const journal_rec *recs, size_t n);

/* The summary of every alarm that is not normal as b shows it (the
 * committed status, board_shown), in the engine's (the map's) order:
 * {version, station, sent, alarms: [{id, state, priority, area,
 * message{en,zh}, value, active_since, shelved, suppressed,
 * out_of_service}]}, malloc'd (NULL: out of memory).  If list is not
 * NULL it gets the alarms' array alone, malloc'd, to compare.  Reads
 * the board: the consumer thread (or main before it runs). */
char *notify_summary_json(const map_station *st, const board *b,
                          int64_t now_ns, char **list);

/* The summary handed to the thread (notify_set_summary) if it differs
 * from the last one handed in, or force.  The consumer thread; at start
 * (force) on main, after board_restore, before notify_start. */
void notify_hook_summary(notify_hook *h, bool force);
/* Frees what the hook keeps; the hook is no longer a listener. */
void notify_hook_done(notify_hook *h);

/* The alarm journal's records after the notify journal's cursor (all
 * committed before a crash but not routed) handed to n; a new notify
 * journal starts at the alarm journal's newest record instead (its past
 * is not news).  The number handed in, or -1 with err. */
long notify_catch_up(notify *n, const char *journal_path,
                     const alarm_engine *e, char *err, size_t errlen);

/* Where notify_hook_replay reads: the alarm journal's file and the
 * engine the messages come from; both outlive the notify.  A reload
 * (cli/reload.c) stores a new engine while the notify thread may read
 * it, hence atomic; a replaced engine is kept until exit. */
typedef struct {
    const char *journal_path;
    _Atomic(const alarm_engine *) e;
} notify_replay_src;

/* notify.h's opts.replay (ctx: a notify_replay_src): the alarm
 * journal's records after after_seq (read from after_ts on) that
 * notify_hook_wants, as notify_hook_alarm tells them, to emit in seq
 * order.  The number handed to emit, or -1 with err. */
long notify_hook_replay(void *ctx, uint64_t after_seq, int64_t after_ts,
                        void (*emit)(void *ectx, const nj_alarm *a),
                        void *ectx, char *err, size_t errlen);

#endif
