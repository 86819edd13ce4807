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
    tag_change *beat;        /* heartbeat scratch */
    hist_sample *hs;
    influx_point *ip;
    uint32_t key_base;       /* influx_point.key = key_base + index + 1 */
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
    r->beat = calloc(REC_BATCH, sizeof *r->beat);
    r->hs = calloc(REC_BATCH, sizeof *r->hs);
    r->ip = calloc(REC_BATCH, sizeof *r->ip);
    if (!r->beat || !r->hs || !r->ip) {
        rec_free(r);
        return NULL;
    }
    return r;
}

void rec_free(recorder *r)
{
    if (!r)
        return;
    free(r->beat);
    free(r->hs);
    free(r->ip);
    free(r);
}

/* Hands n <= REC_BATCH changes to both destinations. */
static void rec_forward(recorder *r, const tag_change *c, size_t n,
                        bool heartbeat)
{
    for (size_t i = 0; i < n; i++) {
        const map_tag *t = tag_store_tag(r->ts, c[i].tag);
        const map_plc *p = tag_store_plc(r->ts, c[i].tag);
        r->hs[i] = (hist_sample){.tag = t->full_id, .s = c[i].s};
        r->ip[i] = (influx_point){.plc = p->id, .field = t->id,
                                  .key = r->key_base + c[i].tag + 1, .s = c[i].s,
                                  .heartbeat = heartbeat};
    }
    if (r->hist)
        r->stats.hist_refused += n - hist_submit(r->hist, r->hs, n);
    if (r->influx)
        r->stats.influx_refused += n - influx_submit(r->influx, r->ip, n);
}

void rec_on_changes(void *ctx, const tag_change *c, size_t n)
{
    recorder *r = ctx;
    r->stats.changes += n;
    for (size_t off = 0; off < n; off += REC_BATCH) {
        size_t k = n - off < REC_BATCH ? n - off : REC_BATCH;
        rec_forward(r, c + off, k, false);
    }
}

void rec_on_heartbeat(void *ctx, uint64_t now_mono_ns)
{
    recorder *r = ctx;
    (void)now_mono_ns;
    size_t total = tag_store_count(r->ts), n = 0;
    for (uint32_t i = 0; i < total; i++) {
        val_sample s;
        tag_store_get_last(r->ts, i, &s);
        if (s.q == Q_INIT)
            continue;                 /* never polled: nothing to repeat */
        if (!tag_store_plc(r->ts, i)->enabled)
            continue;
        r->beat[n].tag = i;
        r->beat[n].s = s;
        if (++n == REC_BATCH) {
            rec_forward(r, r->beat, n, true);
            r->stats.heartbeats += n;
            n = 0;
        }
    }
    rec_forward(r, r->beat, n, true);
    r->stats.heartbeats += n;
}

int rec_attach(recorder *r, dispatch *d)
{
    if (dispatch_subscribe(d, "recorder", rec_on_changes, r) < 0)
        return -1;
    if (r->st->heartbeat_ns && (r->hist || r->influx) &&
        dispatch_every(d, "heartbeat", r->st->heartbeat_ns, rec_on_heartbeat,
                       r) < 0)
        return -1;
    return 0;
}

void rec_take_over(recorder *rec, recorder *old, dispatch *d)
{
    rec->stats = old->stats;
    rec->key_base = old->key_base + (uint32_t)tag_store_count(old->ts);
    dispatch_retarget(d, old, rec);
}

void rec_get_stats(const recorder *r, rec_stats *out) { *out = r->stats; }
