/*
 * recorder.h - from the tag store's change stream to the time-series
 * destinations (embedded history, InfluxDB).
 *
 * The recorder runs on the bridge's one consumer thread: rec_pump() drains
 * the tag store's change queue in batches, adds a heartbeat sample of every
 * tag once per station `heartbeat` interval (so flat lines are visible and
 * a query finds a recent value), and hands copies to the history and the
 * InfluxDB writer, whose submit functions only queue: nothing here touches
 * the disk or the network.  Either destination may be absent.
 */
#ifndef LB_RECORDER_H
#define LB_RECORDER_H

#include <stddef.h>
#include <stdint.h>

#include "record/history.h"
#include "record/influx.h"
#include "config/plcmap.h"
#include "core/tagstore.h"

typedef struct recorder recorder;

typedef struct {
    uint64_t changes;        /* changes drained from the store */
    uint64_t heartbeats;     /* heartbeat samples added */
    uint64_t hist_refused;   /* samples the history queue did not take */
    uint64_t influx_refused; /* points the influx queue did not take */
} rec_stats;

/* hist and influx may be NULL; all must outlive the recorder. */
recorder *rec_new(const map_station *st, tag_store *ts, hist_db *hist,
                  influx_writer *influx);
void rec_free(recorder *r);

/* Consumer thread: forwards what is queued and, when due at now_mono_ns,
 * a heartbeat.  Optional sink for each change (logging), may be NULL.
 * Returns the number of changes forwarded. */
size_t rec_pump(recorder *r, uint64_t now_mono_ns,
                void (*each)(void *ctx, const tag_change *c), void *ctx);

void rec_get_stats(const recorder *r, rec_stats *out);

#endif
