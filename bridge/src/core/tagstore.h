/*
 * tagstore.h - the current value of every tag, and the stream of changes.
 *
 * Tags are numbered station-wide: PLC p's tag t has index base(p) + t.
 * Pollers (one thread per PLC) publish the samples of their own PLC's tags;
 * the store keeps the last reported sample of each tag and decides what is
 * news: a first value, a quality change, every poll of a tag whose poll
 * group has `mode: sample`, or a value change beyond the tag's deadband (compared with the last reported value, so a slow drift is
 * reported once it adds up to the deadband).  News goes into one bounded
 * change queue that a single consumer thread drains in batches; the notify
 * callback tells it there is something to drain (later:
 * lws_cancel_service()).  If the consumer falls behind by more than the
 * queue's capacity the oldest changes are dropped and counted, never the
 * pollers blocked: the newest change of a tag is its current state, which
 * every consumer needs, while a stale backlog is worth less the older it
 * is.  (The history and InfluxDB queues downstream refuse the newest
 * instead: see their headers.)  The queue grows on demand (core/ring.h),
 * so it costs memory only while the consumer is behind.
 *
 * Threads: tag_store_publish on poller threads, tag_store_drain on the one
 * consumer thread, tag_store_get from anywhere.  Samples are copied in and
 * out; no pointer into the store escapes.
 */
#ifndef LB_TAGSTORE_H
#define LB_TAGSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/plcmap.h"
#include "core/val.h"

typedef struct tag_store tag_store;

typedef struct {
    uint32_t tag;        /* station-wide index */
    val_sample s;
} tag_change;

typedef struct {
    uint64_t published;  /* samples handed in by pollers */
    uint64_t changes;    /* samples that were news */
    uint64_t dropped;    /* changes lost to a full queue */
    size_t queued;       /* changes waiting now */
    size_t queue_bytes;  /* memory the queue holds now */
} tag_store_stats;

#define TAG_QUEUE_DEFAULT 65536  /* changes queued at most, by default */
#define TAG_QUEUE_MIN 1024       /* what the queue starts with */

/* queue_cap: changes the queue holds (0: TAG_QUEUE_DEFAULT).  The station
 * must outlive the store.  NULL on allocation failure. */
tag_store *tag_store_new(const map_station *st, size_t queue_cap);
void tag_store_free(tag_store *ts);

size_t tag_store_count(const tag_store *ts);
uint32_t tag_store_base(const tag_store *ts, size_t plc_index);
/* The map entry of a tag index, and the index of a "<plc>.<tag>" id (-1). */
const map_tag *tag_store_tag(const tag_store *ts, uint32_t idx);
const map_plc *tag_store_plc(const tag_store *ts, uint32_t idx);
long tag_store_find(const tag_store *ts, const char *full_id);

/* Poller thread: n samples for tags idx[0..n) (all of one PLC).  Queues the
 * news and calls the notify callback when the queue was empty. */
void tag_store_publish(tag_store *ts, const uint32_t *idx,
                       const val_sample *s, size_t n);

/* Poller thread: a reply that is byte for byte the previous one confirms
 * tags idx[0..n) (all of one PLC) at ts_ns without decoding them again:
 * they stay as they are, only their freshness moves on.  Returns false,
 * confirming nothing for sure, when any of them is not currently good or
 * is in `mode: sample`: then the caller publishes the samples in full. */
bool tag_store_refresh(tag_store *ts, const uint32_t *idx, size_t n,
                       int64_t ts_ns);

/* Poller thread: every tag of PLC plc_index failed with the same quality
 * (Q_COMM, or Q_DEVICE with exc), at ts_ns. */
void tag_store_fail_plc(tag_store *ts, size_t plc_index, val_quality q,
                        uint8_t exc, int64_t ts_ns);

/* Any thread: marks GOOD samples older than max_age_ns (per tag: see
 * tag_store_set_max_age) as STALE at now_ns; returns how many. */
size_t tag_store_mark_stale(tag_store *ts, int64_t now_ns);
void tag_store_set_max_age(tag_store *ts, uint32_t idx, int64_t max_age_ns);

/* The callback runs on a poller thread; it must be quick and thread-safe. */
void tag_store_set_notify(tag_store *ts, void (*fn)(void *), void *ctx);

/* Consumer thread: moves up to max queued changes into out, oldest first.
 * Returns how many. */
size_t tag_store_drain(tag_store *ts, tag_change *out, size_t max);

/* Any thread: a copy of the current sample (Q_INIT before the first poll).
 * -1 for an index out of range. */
int tag_store_get(tag_store *ts, uint32_t idx, val_sample *out);

/* Any thread: what a heartbeat writes: the current sample, and for a good
 * one the time of the latest response that confirmed it (a value within
 * the deadband of the recorded one confirms it, as a deadband means).  -1
 * for an index out of range. */
int tag_store_get_last(tag_store *ts, uint32_t idx, val_sample *out);

void tag_store_get_stats(tag_store *ts, tag_store_stats *out);

/* A reload (cli/reload.c): PLC plc of ts takes over the current samples
 * of PLC from_plc of from, a PLC polled the same way
 * (map_plc_same_polling: the same tags in the same order), for every tag
 * ts has no sample of yet; what its poller has published into ts since
 * the hand-over is newer and stays.  Nothing is queued (a value carried
 * over is not news: it was handed out from `from`).  Any thread; locks
 * from's PLC, then ts's.  Returns how many samples were taken over. */
size_t tag_store_adopt(tag_store *ts, size_t plc, tag_store *from,
                       size_t from_plc);

#endif
