/*
 * notify.h - the delivery thread: alarm events in, notifications out,
 * every one through the notification journal (njournal.h).
 *
 * Flow.  The consumer thread hands each alarm event worth telling (an
 * activation, a clear; committed to the alarm journal already) to
 * notify_submit, which copies it into a bounded queue and wakes the
 * thread ("notify" in top -H).  The thread routes the events (route.h),
 * writes their rows and the cursor in one transaction, and only then
 * delivers: each due group (one channel, one recipient, everything that
 * arrived within group.wait) goes out as one message, and the result is
 * written before the next group is looked at.
 *
 * Failures.  A channel that fails is retried with back-off (core/
 * backoff.h: 2 s doubling to 5 min, jitter) per channel; each attempt is
 * a row in the journal's attempt table with the channel's answer, and
 * logged.  At start, rows waiting for a later retry are due at once: a
 * restart is the operator's way to say "try now".
 *
 * Nothing slow runs anywhere but on this thread: SMTP, HTTP and MQTT
 * block it (up to each channel's timeout), never the service thread.
 * An mqtt channel's connection is the thread's own (mqtt.h), kept
 * between messages; the retained summary of active alarms reaches it
 * through notify_set_summary.
 *
 * Queue.  At most queue_cap events wait (default 4096, about 1 KiB each).
 * When it is full the thread is *behind*: notify_submit refuses every
 * event (counted as deferred) until the thread, its queue written,
 * has read what it missed from the alarm journal itself (opts.replay,
 * hook.h's notify_hook_replay: every record is committed there before
 * it is handed in), and nothing was refused while it read.  Events are
 * taken in seq order and one at or below the last taken is skipped, so
 * a record both read and handed in is routed once.  An overflow loses
 * nothing and reorders nothing; without opts.replay the refused events
 * are dropped (counted) and routed at the next start's catch-up only if
 * no later event has moved the cursor past them.
 */
#ifndef LB_NOTIFY_NOTIFY_H
#define LB_NOTIFY_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alarm/engine.h"
#include "auth/acklink.h"
#include "config/plcmap.h"
#include "notify/channel.h"
#include "notify/njournal.h"

typedef struct notify notify;

typedef enum { NOTIFY_INFO, NOTIFY_WARN, NOTIFY_ERROR } notify_level;

typedef struct {
    const map_station *st;    /* st->notify.enabled; outlives the notify */
    /* Every attempt and every failure, on the notify thread (or the
     * caller's, from notify_open).  NULL: not said. */
    void (*log)(void *ctx, notify_level lv, const char *msg);
    void *log_ctx;
    size_t queue_cap;         /* default 4096 */
    /* Signs the acknowledge link each activation's message carries
     * (with notify.public_url); NULL: no links.  Outlives the notify. */
    const acklink *acklink;
    /* Hands emit every record after after_seq (its time after_ts) that
     * is to be notified, in seq order, from the alarm journal; the number
     * read, or -1 with err.  Called on the notify thread after the queue
     * overflowed.  NULL: refused events are dropped. */
    long (*replay)(void *ctx, uint64_t after_seq, int64_t after_ts,
                   void (*emit)(void *ectx, const nj_alarm *a), void *ectx,
                   char *err, size_t errlen);
    void *replay_ctx;
} notify_opts;

/* Opens the journal, builds the rota (the zone must be set: rota.h) and
 * resolves every channel's secrets.  The thread is not started yet.
 * NULL with the reason in err. */
notify *notify_open(const notify_opts *o, char *err, size_t errlen);
/* Starts the thread.  0, or -1 with errno. */
int notify_start(notify *n);
/* Stops the thread (an attempt under way finishes first: at most a
 * channel's timeout), writes what is queued to the journal, closes.
 * NULL is a no-op. */
void notify_close(notify *n);

/* Any thread: a copy of a queued.  0; 1 when the thread is behind (the
 * queue overflowed): refused, it reads the event from the alarm journal
 * (counted as deferred); -1 when refused without opts.replay (counted as
 * dropped). */
int notify_submit(notify *n, const nj_alarm *a);

/* Before notify_start: the cursor of the journal (njournal.h): 1 with
 * *seq and *ts, 0 for a new journal, -1 with err. */
int notify_cursor(notify *n, uint64_t *seq, int64_t *ts, char *err,
                  size_t errlen);
/* Before notify_start: moves the cursor without rows (a new journal
 * starts after the alarm journal's newest record).  0, or -1 with err. */
int notify_set_cursor(notify *n, uint64_t seq, int64_t ts, char *err,
                      size_t errlen);

typedef struct {
    uint64_t submitted, dropped;   /* events handed in, refused */
    uint64_t deferred, replayed;   /* refused while behind; read back */
    uint64_t sent, failed;         /* messages delivered, attempts failed */
    uint64_t nobody;               /* oncall routed, nobody on call */
    uint64_t held_back;            /* groups held by a rate limit, flood */
    size_t queued;
} notify_stats;
void notify_get_stats(notify *n, notify_stats *out);

/* Any thread (the consumer's: hook.h): json, malloc'd, becomes the
 * newest retained summary of active alarms for every mqtt channel, and
 * the thread is woken to publish it.  The notify owns it from here; an
 * older one not yet published is freed (only the newest matters).  The
 * thread publishes it (mqtt.h) on each channel's summary_topic, retained,
 * until the broker confirms it, at the channel's back-off after a
 * failure, and again after each (re)connect. */
void notify_set_summary(notify *n, char *json);

/* A channel's own alarm, `notify.<id>.failing`.  The thread counts each
 * channel's attempts in atomics and never touches the alarm engine; the
 * consumer thread reads them (notify_channel_health, any thread) and
 * hands notify_health_cond to the engine (alarm_set_external).  idx is
 * the channel's index in notify.channels; zeros for another. */
typedef struct {
    uint64_t attempts;        /* since notify_open */
    uint64_t ok;              /* ... of them successful */
    uint32_t failing;         /* failed in a row since the last success */
} notify_health;
void notify_channel_health(notify *n, size_t idx, notify_health *out);
/* The alarm's condition: true once the last `after` attempts in a row
 * failed, false once an attempt since the start succeeded and fewer
 * than `after` failed after it, unknown before (nothing tried yet, or
 * fewer failures than `after` and no success since the start: the
 * attempts before a restart are not known, so an alarm restored active
 * stays active until the channel succeeds).  Pure. */
alarm_cond notify_health_cond(const notify_health *h, unsigned after);

/* One message for rows[0..n) (one channel, one recipient; "" for a
 * webhook, a robot or mqtt) through c, formatted (message.h) and sent
 * (channel.h), the answer in out.  mention: whom a robot's message names
 * (the person on call now; NULL: nobody).  k (NULL: none) signs an
 * acknowledge link for each activation, valid 24 h, for the person the
 * message goes to: the person whose address the recipient is, else the
 * one a robot names, else the channel's id; the link is
 * notify.public_url + "#/ack/" + the token, so without public_url there
 * is none.  Blocks up to the channel's timeout; the thread and `lockbridge
 * notify test` both send through this. */
void notify_send(const map_station *st, const map_channel *c,
                 const chan_secrets *s, const char *recipient,
                 const map_person *mention, const acklink *k,
                 const nj_row *rows, size_t n, int64_t now_ns,
                 chan_result *out);

#endif
