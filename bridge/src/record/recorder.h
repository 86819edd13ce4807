/*
 * recorder.h - from the change stream to the time-series destinations
 * (embedded history, InfluxDB).
 *
 * The recorder is the dispatch module's first subscriber: it receives every
 * batch of changes on the consumer thread, and a heartbeat timer there adds
 * a sample of every tag once per station `heartbeat` interval (so flat
 * lines are visible and a query finds a recent value).  It hands copies to
 * the history and the InfluxDB writer, whose submit functions only queue:
 * nothing here touches the disk or the network.  Either destination may be
 * absent.
 */
#ifndef LB_RECORDER_H
#define LB_RECORDER_H

#include <stddef.h>
#include <stdint.h>

#include "config/plcmap.h"
#include "core/dispatch.h"
#include "core/tagstore.h"
#include "record/history.h"
#include "record/influx.h"

typedef struct recorder recorder;

typedef struct {
    uint64_t changes;        /* changes received from the dispatcher */
    uint64_t heartbeats;     /* heartbeat samples added */
    uint64_t hist_refused;   /* samples the history queue did not take */
    uint64_t influx_refused; /* points the influx queue did not take */
} rec_stats;

/* hist and influx may be NULL; all must outlive the recorder.  NULL when
 * out of memory. */
recorder *rec_new(const map_station *st, tag_store *ts, hist_db *hist,
                  influx_writer *influx);
void rec_free(recorder *r);

/* A reload (cli/reload.c): rec takes old's place in d (subscription and
 * heartbeat timer, same order), with its statistics; the InfluxDB series
 * keys (influx_point.key) of rec start after old's, so that a tag index
 * that now names another tag is never taken for the old one's series by
 * the writer's quality map.  Consumer thread, outside dispatch_run_due. */
void rec_take_over(recorder *rec, recorder *old, dispatch *d);

/* Subscribes the recorder to d and, when the station has a heartbeat and
 * a destination, adds the heartbeat timer.  Call before any other
 * subscriber: the time series come first.  0, or -1 out of memory. */
int rec_attach(recorder *r, dispatch *d);

/* Consumer thread: the subscriber itself (forwards n changes), and the
 * heartbeat (every tag's latest sample), for callers that drive them
 * without a dispatcher (benchmarks). */
void rec_on_changes(void *r, const tag_change *c, size_t n);
void rec_on_heartbeat(void *r, uint64_t now_mono_ns);

void rec_get_stats(const recorder *r, rec_stats *out);

#endif
