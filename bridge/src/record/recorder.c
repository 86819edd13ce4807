/*
 * recorder.c - change stream to history and InfluxDB (see recorder.h).
 *
 * Threads: everything here runs on the consumer thread.
 */
#include "record/recorder.h"

#include <stdlib.h>

#define REC_BATCH 4096

struct recorder {
    const map_station *st;
    tag_store *ts;
    hist_db *hist;
    influx_writer *influx;
    uint64_t heartbeat_ns;
    uint64_t next_heartbeat;
    tag_change *batch;
    hist_sample *hs;
    influx_point *ip;
    rec_stats stats;
};

recorder *rec_new(const map_station *st, tag_store *ts, hist_db *hist,
                  influx_writer *influx)
{
    recorder *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->st = st;
    r->ts = ts;
    r->hist = hist;
    r->influx = influx;
    r->heartbeat_ns = st->heartbeat_ns;
    r->batch = calloc(REC_BATCH, sizeof *r->batch);
    r->hs = calloc(REC_BATCH, sizeof *r->hs);
    r->ip = calloc(REC_BATCH, sizeof *r->ip);
    if (!r->batch || !r->hs || !r->ip) {
        rec_free(r);
        return NULL;
    }
    return r;
}

void rec_free(recorder *r)
{
    if (!r)
        return;
    free(r->batch);
    free(r->hs);
    free(r->ip);
    free(r);
}

/* Hands n changes (in r->batch) to both destinations. */
static void rec_forward(recorder *r, size_t n, bool heartbeat)
{
    for (size_t i = 0; i < n; i++) {
        const map_tag *t = tag_store_tag(r->ts, r->batch[i].tag);
        const map_plc *p = tag_store_plc(r->ts, r->batch[i].tag);
        r->hs[i] = (hist_sample){.tag = t->full_id, .s = r->batch[i].s};
        r->ip[i] = (influx_point){.plc = p->id, .field = t->id,
                                  .key = r->batch[i].tag + 1,
                                  .s = r->batch[i].s, .heartbeat = heartbeat};
    }
    if (r->hist)
        r->stats.hist_refused += n - hist_submit(r->hist, r->hs, n);
    if (r->influx)
        r->stats.influx_refused += n - influx_submit(r->influx, r->ip, n);
}

static void rec_heartbeat(recorder *r)
{
    size_t total = tag_store_count(r->ts), n = 0;
    for (uint32_t i = 0; i < total; i++) {
        val_sample s;
        tag_store_get_last(r->ts, i, &s);
        if (s.q == Q_INIT)
            continue;                 /* never polled: nothing to repeat */
        if (!tag_store_plc(r->ts, i)->enabled)
            continue;
        r->batch[n].tag = i;
        r->batch[n].s = s;
        if (++n == REC_BATCH) {
            rec_forward(r, n, true);
            r->stats.heartbeats += n;
            n = 0;
        }
    }
    rec_forward(r, n, true);
    r->stats.heartbeats += n;
}

size_t rec_pump(recorder *r, uint64_t now_mono_ns,
                void (*each)(void *ctx, const tag_change *c), void *ctx)
{
    size_t total = 0, n;
    while ((n = tag_store_drain(r->ts, r->batch, REC_BATCH)) > 0) {
        if (each)
            for (size_t i = 0; i < n; i++)
                each(ctx, &r->batch[i]);
        rec_forward(r, n, false);
        total += n;
        r->stats.changes += n;
    }
    if (r->heartbeat_ns && (r->hist || r->influx)) {
        if (r->next_heartbeat == 0) {
            r->next_heartbeat = now_mono_ns + r->heartbeat_ns;
        } else if (now_mono_ns >= r->next_heartbeat) {
            rec_heartbeat(r);
            /* From now, not from the missed deadline: a heartbeat is a
             * floor on how often a tag is written, not a clock. */
            r->next_heartbeat = now_mono_ns + r->heartbeat_ns;
        }
    }
    return total;
}

void rec_get_stats(const recorder *r, rec_stats *out) { *out = r->stats; }
