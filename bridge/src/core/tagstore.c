/*
 * tagstore.c - current values and the change queue (see tagstore.h).
 *
 * Locking: each PLC's slots have their own mutex, taken by that PLC's
 * poller while it publishes and briefly by readers; the change queue has one
 * mutex, always taken after a PLC mutex (never the other way round), so the
 * order is fixed and pollers of different PLCs only meet at the queue.
 */
#include "core/tagstore.h"

#include "core/ring.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    /* Ordered so that publishing an unchanged number touches one cache
     * line: these fields, then cur's time, quality and value. */
    uint32_t plc;
    bool sample_mode;      /* the tag's poll group writes every poll */
    val_sample cur;        /* last reported sample */
    int64_t max_age_ns;    /* 0: never stale */
    const map_tag *tag;
} tag_slot;

struct tag_store {
    const map_station *st;
    size_t n;
    tag_slot *slots;
    /* Last good response per tag, reported or not: apart from the slots so
     * that confirming an unchanged reply writes 8 bytes a tag, not a
     * cache line (tag_store_refresh). */
    int64_t *seen;
    uint32_t *base;            /* per PLC */
    size_t *not_good;          /* per PLC: tags whose current sample is not
                                  good (all of them at first) */
    bool *has_sample;          /* per PLC: any tag in `mode: sample` */
    pthread_mutex_t *plc_mu;   /* per PLC */

    pthread_mutex_t q_mu;
    ring q;                    /* of tag_change; drops the oldest when full */
    /* Counted without q_mu: every poller publishes on every request, and
     * one shared lock there would make the pollers queue behind each
     * other even when nothing changed. */
    atomic_uint_fast64_t published;
    uint64_t changes, dropped;
    void (*notify)(void *);
    void *notify_ctx;
};

/* The memory of a store, whether or not tag_store_new got as far as its
 * mutexes (tag_store_free destroys those first). */
static void tag_store_release(tag_store *ts)
{
    free(ts->slots);
    free(ts->base);
    free(ts->seen);
    free(ts->not_good);
    free(ts->has_sample);
    free(ts->plc_mu);
    ring_free(&ts->q);
    free(ts);
}

tag_store *tag_store_new(const map_station *st, size_t queue_cap)
{
    tag_store *ts = calloc(1, sizeof *ts);
    if (!ts)
        return NULL;
    ts->st = st;
    for (size_t p = 0; p < st->n_plcs; p++)
        ts->n += st->plcs[p].n_tags;
    /* Cache-line aligned, so each slot's hot fields share one line. */
    size_t bytes = (ts->n ? ts->n : 1) * sizeof *ts->slots;
    bytes = (bytes + 63) / 64 * 64;
    ts->slots = aligned_alloc(64, bytes);
    if (ts->slots)
        memset(ts->slots, 0, bytes);
    ts->base = calloc(st->n_plcs ? st->n_plcs : 1, sizeof *ts->base);
    ts->seen = calloc(ts->n ? ts->n : 1, sizeof *ts->seen);
    ts->not_good = calloc(st->n_plcs ? st->n_plcs : 1, sizeof *ts->not_good);
    ts->has_sample = calloc(st->n_plcs ? st->n_plcs : 1,
                            sizeof *ts->has_sample);
    ts->plc_mu = calloc(st->n_plcs ? st->n_plcs : 1, sizeof *ts->plc_mu);
    size_t cap = queue_cap ? queue_cap : TAG_QUEUE_DEFAULT;
    int qrc = ring_init(&ts->q, sizeof(tag_change),
                        cap < TAG_QUEUE_MIN ? cap : TAG_QUEUE_MIN, cap);
    if (!ts->slots || !ts->base || !ts->plc_mu || qrc < 0 || !ts->seen ||
        !ts->not_good || !ts->has_sample) {
        tag_store_release(ts);
        return NULL;
    }
    uint32_t i = 0;
    for (size_t p = 0; p < st->n_plcs; p++) {
        ts->base[p] = i;
        ts->not_good[p] = st->plcs[p].n_tags;   /* all Q_INIT */
        pthread_mutex_init(&ts->plc_mu[p], NULL);
        for (size_t t = 0; t < st->plcs[p].n_tags; t++, i++) {
            const map_plc *plc = &st->plcs[p];
            ts->slots[i].tag = &plc->tags[t];
            ts->slots[i].plc = (uint32_t)p;
            ts->slots[i].sample_mode =
                plc->tags[t].group >= 0 &&
                (size_t)plc->tags[t].group < plc->n_groups &&
                plc->groups[plc->tags[t].group].sample;
            ts->has_sample[p] |= ts->slots[i].sample_mode;
        }
    }
    pthread_mutex_init(&ts->q_mu, NULL);
    return ts;
}

void tag_store_free(tag_store *ts)
{
    if (!ts)
        return;
    for (size_t p = 0; p < ts->st->n_plcs; p++)
        pthread_mutex_destroy(&ts->plc_mu[p]);
    pthread_mutex_destroy(&ts->q_mu);
    tag_store_release(ts);
}

size_t tag_store_count(const tag_store *ts) { return ts->n; }

uint32_t tag_store_base(const tag_store *ts, size_t plc_index)
{
    return ts->base[plc_index];
}

const map_tag *tag_store_tag(const tag_store *ts, uint32_t idx)
{
    return idx < ts->n ? ts->slots[idx].tag : NULL;
}

const map_plc *tag_store_plc(const tag_store *ts, uint32_t idx)
{
    return idx < ts->n ? &ts->st->plcs[ts->slots[idx].plc] : NULL;
}

long tag_store_find(const tag_store *ts, const char *full_id)
{
    /* Linear: used at start-up and by tools, never per sample. */
    for (size_t i = 0; i < ts->n; i++)
        if (strcmp(ts->slots[i].tag->full_id, full_id) == 0)
            return (long)i;
    return -1;
}

void tag_store_set_notify(tag_store *ts, void (*fn)(void *), void *ctx)
{
    pthread_mutex_lock(&ts->q_mu);
    ts->notify = fn;
    ts->notify_ctx = ctx;
    pthread_mutex_unlock(&ts->q_mu);
}

void tag_store_set_max_age(tag_store *ts, uint32_t idx, int64_t max_age_ns)
{
    if (idx >= ts->n)
        return;
    pthread_mutex_lock(&ts->plc_mu[ts->slots[idx].plc]);
    ts->slots[idx].max_age_ns = max_age_ns;
    pthread_mutex_unlock(&ts->plc_mu[ts->slots[idx].plc]);
}

/* Is s news compared with the last reported sample? */
static bool tag_is_news(const tag_slot *sl, const val_sample *s)
{
    const val_sample *c = &sl->cur;
    if (c->q != s->q || c->exc != s->exc)
        return true;
    if (sl->sample_mode && s->q == Q_GOOD && s->ts_ns != c->ts_ns)
        return true;                /* `mode: sample`: every poll counts */
    if (s->q != Q_GOOD)
        return false;               /* the same failure goes on: not news */
    if (val_equal(&c->v, &s->v))
        return false;
    double a, b;
    if (sl->tag->deadband > 0 && val_as_double(&c->v, &a) &&
        val_as_double(&s->v, &b) && c->v.kind == s->v.kind)
        return fabs(b - a) >= sl->tag->deadband;
    return true;
}

/* Queue one change; q_mu held.  Returns true when the queue was empty. */
static bool tag_queue_push(tag_store *ts, uint32_t idx, const val_sample *s)
{
    bool was_empty = ring_len(&ts->q) == 0;
    tag_change c = {.tag = idx, .s = *s};
    /* The consumer is behind: lose the oldest, keep the newest. */
    if (ring_push_evict(&ts->q, &c, NULL) == 1)
        ts->dropped++;
    ts->changes++;
    return was_empty;
}

/* Both publish paths: plc_mu of the PLC is held by the caller. */
static void tag_apply(tag_store *ts, uint32_t idx, const val_sample *s,
                      bool *q_locked, bool *wake)
{
    tag_slot *sl = &ts->slots[idx];
    if (s->q == Q_GOOD)
        ts->seen[idx] = s->ts_ns;
    if (!tag_is_news(sl, s))
        return;
    if ((sl->cur.q == Q_GOOD) != (s->q == Q_GOOD)) {
        if (s->q == Q_GOOD)
            ts->not_good[sl->plc]--;
        else
            ts->not_good[sl->plc]++;
    }
    sl->cur = *s;
    if (!*q_locked) {
        pthread_mutex_lock(&ts->q_mu);
        *q_locked = true;
    }
    if (tag_queue_push(ts, idx, s))
        *wake = true;
}

static void tag_finish(tag_store *ts, bool q_locked, bool wake, size_t n)
{
    void (*fn)(void *) = NULL;
    void *ctx = NULL;
    atomic_fetch_add_explicit(&ts->published, n, memory_order_relaxed);
    if (!q_locked)
        return;                   /* nothing was queued: no one to wake */
    if (wake) {
        fn = ts->notify;
        ctx = ts->notify_ctx;
    }
    pthread_mutex_unlock(&ts->q_mu);
    if (fn)
        fn(ctx);
}

void tag_store_publish(tag_store *ts, const uint32_t *idx,
                       const val_sample *s, size_t n)
{
    if (n == 0)
        return;
    uint32_t plc = ts->slots[idx[0]].plc;
    bool q_locked = false, wake = false;
    pthread_mutex_lock(&ts->plc_mu[plc]);
    for (size_t i = 0; i < n; i++)
        if (idx[i] < ts->n)
            tag_apply(ts, idx[i], &s[i], &q_locked, &wake);
    pthread_mutex_unlock(&ts->plc_mu[plc]);
    /* q_mu is still held if anything was queued: plc_mu -> q_mu order is
     * kept because plc_mu was taken first. */
    tag_finish(ts, q_locked, wake, n);
}

bool tag_store_refresh(tag_store *ts, const uint32_t *idx, size_t n,
                       int64_t ts_ns)
{
    if (n == 0)
        return true;
    if (idx[0] >= ts->n)
        return false;
    uint32_t plc = ts->slots[idx[0]].plc;
    bool ok = true;
    pthread_mutex_lock(&ts->plc_mu[plc]);
    if (ts->not_good[plc] == 0 && !ts->has_sample[plc]) {
        /* Every tag of the PLC is good: no slot needs to be looked at. */
        for (size_t i = 0; i < n; i++)
            if (idx[i] < ts->n)
                ts->seen[idx[i]] = ts_ns;
    } else {
        for (size_t i = 0; i < n; i++) {
            tag_slot *sl = idx[i] < ts->n ? &ts->slots[idx[i]] : NULL;
            if (!sl || sl->cur.q != Q_GOOD || sl->sample_mode) {
                ok = false;
                break;
            }
            ts->seen[idx[i]] = ts_ns;
        }
    }
    pthread_mutex_unlock(&ts->plc_mu[plc]);
    if (ok)
        atomic_fetch_add_explicit(&ts->published, n, memory_order_relaxed);
    return ok;
}

void tag_store_fail_plc(tag_store *ts, size_t plc_index, val_quality q,
                        uint8_t exc, int64_t ts_ns)
{
    val_sample s = {.q = q, .exc = exc, .ts_ns = ts_ns};
    uint32_t b = ts->base[plc_index];
    size_t n = ts->st->plcs[plc_index].n_tags;
    bool q_locked = false, wake = false;
    pthread_mutex_lock(&ts->plc_mu[plc_index]);
    for (size_t i = 0; i < n; i++)
        tag_apply(ts, b + (uint32_t)i, &s, &q_locked, &wake);
    pthread_mutex_unlock(&ts->plc_mu[plc_index]);
    tag_finish(ts, q_locked, wake, n);
}

size_t tag_store_mark_stale(tag_store *ts, int64_t now_ns)
{
    size_t marked = 0;
    for (size_t p = 0; p < ts->st->n_plcs; p++) {
        bool q_locked = false, wake = false;
        size_t n = ts->st->plcs[p].n_tags;
        pthread_mutex_lock(&ts->plc_mu[p]);
        for (size_t i = 0; i < n; i++) {
            uint32_t idx = ts->base[p] + (uint32_t)i;
            tag_slot *sl = &ts->slots[idx];
            if (sl->cur.q != Q_GOOD || sl->max_age_ns <= 0 ||
                now_ns - ts->seen[idx] <= sl->max_age_ns)
                continue;
            val_sample s = sl->cur;      /* the last value, now stale */
            s.q = Q_STALE;
            s.ts_ns = now_ns;
            tag_apply(ts, idx, &s, &q_locked, &wake);
            marked++;
        }
        pthread_mutex_unlock(&ts->plc_mu[p]);
        if (q_locked || wake)
            tag_finish(ts, q_locked, wake, 0);
    }
    return marked;
}

size_t tag_store_drain(tag_store *ts, tag_change *out, size_t max)
{
    pthread_mutex_lock(&ts->q_mu);
    size_t n = ring_pop(&ts->q, out, max);
    pthread_mutex_unlock(&ts->q_mu);
    return n;
}

int tag_store_get(tag_store *ts, uint32_t idx, val_sample *out)
{
    if (idx >= ts->n)
        return -1;
    uint32_t plc = ts->slots[idx].plc;
    pthread_mutex_lock(&ts->plc_mu[plc]);
    *out = ts->slots[idx].cur;
    pthread_mutex_unlock(&ts->plc_mu[plc]);
    return 0;
}

int tag_store_get_last(tag_store *ts, uint32_t idx, val_sample *out)
{
    if (idx >= ts->n)
        return -1;
    uint32_t plc = ts->slots[idx].plc;
    pthread_mutex_lock(&ts->plc_mu[plc]);
    const tag_slot *sl = &ts->slots[idx];
    *out = sl->cur;
    /* Within the deadband the recorded value stands for the polled one
     * (that is what a deadband means), confirmed at the last response. */
    if (sl->cur.q == Q_GOOD && ts->seen[idx] > sl->cur.ts_ns)
        out->ts_ns = ts->seen[idx];
    pthread_mutex_unlock(&ts->plc_mu[plc]);
    return 0;
}

void tag_store_get_stats(tag_store *ts, tag_store_stats *out)
{
    pthread_mutex_lock(&ts->q_mu);
    out->published = atomic_load_explicit(&ts->published,
                                          memory_order_relaxed);
    out->changes = ts->changes;
    out->dropped = ts->dropped;
    out->queued = ring_len(&ts->q);
    out->queue_bytes = ring_bytes(&ts->q);
    pthread_mutex_unlock(&ts->q_mu);
}

size_t tag_store_adopt(tag_store *ts, size_t plc, tag_store *from,
                       size_t from_plc)
{
    size_t n = ts->st->plcs[plc].n_tags, taken = 0;
    if (from->st->plcs[from_plc].n_tags != n)
        return 0;
    uint32_t b = ts->base[plc], fb = from->base[from_plc];
    pthread_mutex_lock(&from->plc_mu[from_plc]);
    pthread_mutex_lock(&ts->plc_mu[plc]);
    for (size_t i = 0; i < n; i++) {
        tag_slot *sl = &ts->slots[b + i];
        const tag_slot *fs = &from->slots[fb + i];
        if (sl->cur.q != Q_INIT || fs->cur.q == Q_INIT)
            continue;
        sl->cur = fs->cur;
        ts->seen[b + i] = from->seen[fb + i];
        if (sl->cur.q == Q_GOOD)
            ts->not_good[plc]--;
        taken++;
    }
    pthread_mutex_unlock(&ts->plc_mu[plc]);
    pthread_mutex_unlock(&from->plc_mu[from_plc]);
    return taken;
}
