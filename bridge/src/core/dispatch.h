/*
 * dispatch.h - the bridge's consumer thread: wake-up, change batches,
 * staleness, timers and subscribers.
 *
 * Pollers publish samples into the tag store from their own threads; one
 * consumer thread takes the news out.  This module is that thread's work:
 * it owns the wake-up (the tag store's notify), drains the change queue in
 * batches and hands each batch to its subscribers in the order they
 * subscribed (the recorder first, then the alarm engine, then the
 * dashboard's WebSocket broadcast), marks values stale when
 * their poll group has not refreshed them, and runs periodic work
 * (heartbeats, summaries) on timers.  Subscribers and timers run on the
 * consumer thread and must not block: whatever touches a disk or the
 * network hands copies to a thread of its own.
 *
 * It runs under any event loop.  The outer loop gives it a wake-up
 * (dispatch_set_waker: the tag store calls it, from a poller thread, when
 * the queue goes from empty to not empty), calls dispatch_run_due() when
 * woken or when dispatch_next_deadline() has passed, and sleeps otherwise.
 * The dashboard issue runs it on the libwebsockets service thread:
 * lws_cancel_service() as the waker, LWS_CALLBACK_EVENT_WAIT_CANCELLED
 * calling dispatch_run_due(), an lws_sul timer at the next deadline.
 * dispatch_loop() is the plain loop (an eventfd and poll()) that
 * `lockbridge run` and the tests use today.
 *
 * Threads of `lockbridge run`, and which module runs on which:
 *
 *   thread            count      modules (what it does there)
 *   ---------------   --------   -------------------------------------------
 *   main / consumer   1          cli (setup, shutdown), dispatch (this),
 *                                recorder, log-changes, summaries, the
 *                                alarm engine and board (what is shown);
 *                                with the dashboard on, the libwebsockets
 *                                service thread: web (HTTP, WebSocket
 *                                broadcast, alarm actions)
 *   web-worker        1          web: history queries, CSV exports, the
 *                                alarm journal and KPIs, audit records
 *   poll <plc>        1 per PLC  poller, mbtcp, plan, sched, decode;
 *                                tag_store_publish/refresh/fail_plc
 *   hist-writer       1          history: SQLite commits, rollups, retention
 *   alarm-journal     1          journal: the alarm records' commits
 *   influx-encode     1          influx: queue -> line-protocol batches
 *   influx-send       1          influx: HTTP posts, spool (disk)
 *   any thread                   tag_store_get, *_get_stats, log_msg,
 *                                dispatch_wake
 *
 * Every function here runs on the consumer thread except dispatch_wake(),
 * which any thread (and a signal handler) may call.
 */
#ifndef LB_DISPATCH_H
#define LB_DISPATCH_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "config/plcmap.h"
#include "core/tagstore.h"

typedef struct dispatch dispatch;

/* A subscriber: receives every change, in batches, in queue order. */
typedef void (*dispatch_batch_fn)(void *ctx, const tag_change *c, size_t n);
/* A timer: now_mono_ns is the monotonic time of this run. */
typedef void (*dispatch_timer_fn)(void *ctx, uint64_t now_mono_ns);

typedef struct {
    uint64_t wakeups;        /* dispatch_run_due calls */
    uint64_t batches;        /* batches handed to the subscribers */
    uint64_t changes;        /* changes handed to the subscribers */
    uint64_t stale_marked;   /* samples this module marked stale */
    uint64_t timer_runs;
} dispatch_stats;

/* Staleness comes from the map: a value is stale once three polls of its
 * group in a row (plus the PLC's timeout) have not refreshed it.  The
 * station and the store must outlive the dispatcher.  NULL when out of
 * memory. */
dispatch *dispatch_new(const map_station *st, tag_store *ts);
void dispatch_free(dispatch *d);

/* Adds a subscriber (name for logs and statistics, copied).  Batches go to
 * subscribers in the order they were added.  0, or -1 out of memory. */
int dispatch_subscribe(dispatch *d, const char *name, dispatch_batch_fn fn,
                       void *ctx);

/* Runs fn every period_ns, first period_ns after the first
 * dispatch_run_due, then period_ns after each run ends (a timer is a floor
 * on how often something happens, not a clock: a late run does not cause
 * a burst).  0, or -1 for a zero period or out of memory. */
int dispatch_every(dispatch *d, const char *name, uint64_t period_ns,
                   dispatch_timer_fn fn, void *ctx);

/* A timer whose deadline its owner moves: fn runs once the monotonic time
 * reaches the deadline last given to dispatch_timer_set, then not again
 * until it is set again (fn may set it).  It starts unset.  For work whose
 * next time only its owner knows (the alarm engine's next delay, shelve
 * expiry or chattering window).  The handle (>= 0), or -1 out of memory. */
int dispatch_timer(dispatch *d, const char *name, dispatch_timer_fn fn,
                   void *ctx);
/* due_mono_ns UINT64_MAX: unset.  Consumer thread; a caller outside
 * dispatch_run_due (an HTTP handler) wakes the loop afterwards so that it
 * sees the new deadline. */
void dispatch_timer_set(dispatch *d, int timer, uint64_t due_mono_ns);

/* fn runs at every dispatch_run_due, after the changes and the timers:
 * where a module's own thread hands results back to the consumer thread
 * and wakes it (the alarm journal's commits).  0, or -1 out of memory. */
int dispatch_on_wake(dispatch *d, const char *name, dispatch_timer_fn fn,
                     void *ctx);

/* The outer loop's wake-up, installed as the tag store's notify.  It runs
 * on poller threads: quick and thread-safe (lws_cancel_service is). */
void dispatch_set_waker(dispatch *d, void (*wake)(void *ctx), void *ctx);

/* A reload (cli/reload.c), consumer thread, outside dispatch_run_due
 * (dispatch_later): from now on the changes come from ts, staleness is
 * judged by st's poll groups, and the waker moves to ts.  What is still
 * queued in the old store must have been handed out first
 * (dispatch_flush). */
void dispatch_set_station(dispatch *d, const map_station *st, tag_store *ts);

/* A reload: every subscriber, timer and wake hook whose ctx is old_ctx
 * gets new_ctx instead, in its place (a new recorder or alarm board takes
 * over the old one's subscriptions in the same order and with the same
 * timer handles).  Returns how many. */
size_t dispatch_retarget(dispatch *d, void *old_ctx, void *new_ctx);

/* fn runs once at the end of the next dispatch_run_due, after every
 * subscriber, timer and hook, where it may call dispatch_flush,
 * dispatch_set_station and dispatch_retarget (a SIGHUP's reload, asked
 * for by a wake hook).  A second call before then replaces the first. */
void dispatch_later(dispatch *d, dispatch_timer_fn fn, void *ctx);

/* Drains every queued change to the subscribers, then runs every timer
 * (and the staleness check) whose deadline is not after now_mono_ns, then
 * the wake hooks;
 * now_real_ns is the wall-clock time staleness is judged against.  Returns
 * the number of changes handed out. */
size_t dispatch_run_due(dispatch *d, uint64_t now_mono_ns, int64_t now_real_ns);

/* The monotonic time at which dispatch_run_due has timer work, UINT64_MAX
 * when there is none.  Changes wake the loop through the waker instead. */
uint64_t dispatch_next_deadline(const dispatch *d);

/* The plain event loop: installs its own waker (an eventfd), then runs
 * what is due whenever woken or a deadline passes, until *stop is set and
 * dispatch_wake() has been called (or within 250 ms of *stop being set
 * without it).  *stop is an atomic, not a volatile sig_atomic_t: a signal
 * may be handled on any thread of the process, and a lock-free atomic is
 * both safe in a handler and race-free across threads.  Returns 0, or -1
 * when the eventfd cannot be made. */
int dispatch_loop(dispatch *d, const atomic_int *stop);

/* Wakes dispatch_loop.  Any thread; async-signal-safe (one write(2)), so
 * a SIGTERM handler can end the loop at once. */
void dispatch_wake(dispatch *d);

/* After the pollers have stopped: hands out whatever is still queued.
 * Returns the number of changes. */
size_t dispatch_flush(dispatch *d);

void dispatch_get_stats(const dispatch *d, dispatch_stats *out);

/* The consumer thread's time spent in each part (subscribers, timers and
 * wake hooks, summed by name: "alarms" is the engine's subscriber, timer
 * and journal hook), so that what one module costs the thread is
 * measured where it runs, not guessed from the process.  Measured on the
 * monotonic clock around each call (cheap; the same as CPU time unless
 * the thread is preempted inside a part).  Fills up to max
 * parts in the order they were added; returns how many there are. */
typedef struct {
    const char *name;          /* valid while the dispatcher lives */
    uint64_t cpu_ns;
    uint64_t calls;
} dispatch_part;
size_t dispatch_get_parts(const dispatch *d, dispatch_part *out, size_t max);

#endif
