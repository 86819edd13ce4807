/*
 * kpi.c - alarm-system performance figures from journal records (see
 * kpi.h).
 *
 * One pass over the records.  Each alarm has an entry (found by id in an
 * open-addressing table) with its latest status, its annunciations and
 * chatterings; the annunciation times of the whole range are kept in one
 * array whose head follows the trailing 10-minute window, which is all
 * the flood detection needs; the 10-minute buckets are counted as the
 * records pass (they arrive in time order).
 */
#include "alarm/kpi.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *id;                  /* NULL: an empty slot */
    map_priority priority;
    alarm_status st;           /* as of its latest record */
    uint32_t annunciated, chatters;
} kpi_entry;

struct kpi {
    kpi_report r;
    kpi_entry *tab;
    size_t cap, n;
    int64_t *times;            /* annunciation times, in order */
    size_t n_times, times_cap, head;
    bool in_flood;
    kpi_flood cur;
    double *acks;
    size_t acks_cap;
    int64_t last_ts;           /* records' time never goes back here */
    int64_t bucket;            /* the bucket being counted, its count */
    uint32_t bucket_n;
    bool any_bucket;
    bool failed;
};

static uint64_t kpi_hash(const char *s)
{
    uint64_t x = 1469598103934665603ULL;
    for (; *s; s++) {
        x ^= (unsigned char)*s;
        x *= 1099511628211ULL;
    }
    return x;
}

static kpi_entry *kpi_slot(kpi_entry *tab, size_t cap, const char *id)
{
    size_t i = (size_t)kpi_hash(id) & (cap - 1);
    while (tab[i].id && strcmp(tab[i].id, id) != 0)
        i = (i + 1) & (cap - 1);
    return &tab[i];
}

/* The entry of id, made on first sight; NULL out of memory. */
static kpi_entry *kpi_entry_of(kpi *k, const journal_rec *r)
{
    if ((k->n + 1) * 2 > k->cap) {
        size_t nc = k->cap ? k->cap * 2 : 256;
        kpi_entry *t = calloc(nc, sizeof *t);
        if (!t)
            return NULL;
        for (size_t i = 0; i < k->cap; i++)
            if (k->tab[i].id)
                *kpi_slot(t, nc, k->tab[i].id) = k->tab[i];
        free(k->tab);
        k->tab = t;
        k->cap = nc;
    }
    kpi_entry *e = kpi_slot(k->tab, k->cap, r->id);
    if (!e->id) {
        if (!(e->id = strdup(r->id)))
            return NULL;
        k->n++;
        e->st = r->to;
    }
    e->priority = r->priority;
    return e;
}

kpi *kpi_new(int64_t from_ns, int64_t to_ns)
{
    kpi *k = calloc(1, sizeof *k);
    if (!k)
        return NULL;
    k->r.from_ns = from_ns;
    k->r.to_ns = to_ns > from_ns ? to_ns : from_ns + 1;
    k->r.ack_p50_s = k->r.ack_p90_s = NAN;
    k->last_ts = from_ns;
    /* buckets aligned to the epoch, as a wall clock shows them */
    int64_t b0 = from_ns - (from_ns % KPI_WINDOW_NS +
                            (from_ns % KPI_WINDOW_NS < 0 ? KPI_WINDOW_NS : 0));
    k->r.bucket0_ns = b0;
    uint64_t nb = (uint64_t)((k->r.to_ns - 1 - b0) / KPI_WINDOW_NS) + 1;
    k->r.n_buckets = (size_t)nb;
    if (nb <= KPI_BUCKETS_MAX &&
        !(k->r.buckets = calloc((size_t)nb, sizeof *k->r.buckets))) {
        free(k);
        return NULL;
    }
    return k;
}

void kpi_free(kpi *k)
{
    if (!k)
        return;
    for (size_t i = 0; i < k->cap; i++)
        free(k->tab[i].id);
    free(k->tab);
    free(k->times);
    free(k->acks);
    free(k->r.buckets);
    free(k->r.floods);
    free(k);
}

int kpi_seed(kpi *k, const journal_rec *r)
{
    kpi_entry *e = kpi_entry_of(k, r);
    if (!e)
        return -1;
    e->st = r->to;
    return 0;
}

static int kpi_push_flood(kpi *k)
{
    k->r.n_floods++;
    k->r.flood_ns += k->cur.end_ns - k->cur.start_ns;
    if (k->r.n_floods_listed >= KPI_FLOODS_MAX)
        return 0;
    kpi_flood *f = realloc(k->r.floods,
                           (k->r.n_floods_listed + 1) * sizeof *f);
    if (!f)
        return -1;
    k->r.floods = f;
    f[k->r.n_floods_listed++] = k->cur;
    return 0;
}

/* The bucket holding t is counted from now on; the finished ones count
 * towards the maximum and the flood buckets. */
static void kpi_bucket_close(kpi *k)
{
    if (!k->any_bucket)
        return;
    if (k->bucket_n > k->r.per_10min_max)
        k->r.per_10min_max = k->bucket_n;
    if (k->bucket_n > KPI_FLOOD_COUNT)
        k->r.flood_buckets++;
}

static int kpi_annunciate(kpi *k, int64_t t)
{
    int64_t b = (t - k->r.bucket0_ns) / KPI_WINDOW_NS;
    if (!k->any_bucket || b != k->bucket) {
        kpi_bucket_close(k);
        k->any_bucket = true;
        k->bucket = b;
        k->bucket_n = 0;
    }
    k->bucket_n++;
    if (k->r.buckets && b >= 0 && (size_t)b < k->r.n_buckets)
        k->r.buckets[b]++;
    if (k->n_times == k->times_cap) {
        size_t nc = k->times_cap ? k->times_cap * 2 : 256;
        int64_t *x = realloc(k->times, nc * sizeof *x);
        if (!x)
            return -1;
        k->times = x;
        k->times_cap = nc;
    }
    k->times[k->n_times++] = t;
    while (k->times[k->head] <= t - KPI_WINDOW_NS)
        k->head++;
    uint32_t in_window = (uint32_t)(k->n_times - k->head);
    if (in_window > KPI_FLOOD_COUNT) {
        if (!k->in_flood) {
            k->in_flood = true;
            k->cur = (kpi_flood){.start_ns = k->times[k->head],
                                 .alarms = in_window, .peak = in_window};
        } else {
            k->cur.alarms++;
            if (in_window > k->cur.peak)
                k->cur.peak = in_window;
        }
        k->cur.end_ns = t;
    } else if (k->in_flood) {
        k->in_flood = false;
        if (kpi_push_flood(k) < 0)
            return -1;
    }
    return 0;
}

static int kpi_ack_time(kpi *k, double s)
{
    if (k->r.acks == k->acks_cap) {
        size_t nc = k->acks_cap ? k->acks_cap * 2 : 64;
        double *x = realloc(k->acks, nc * sizeof *x);
        if (!x)
            return -1;
        k->acks = x;
        k->acks_cap = nc;
    }
    k->acks[k->r.acks++] = s;
    return 0;
}

#define KPI_HIDDEN (ALARM_SHELVED | ALARM_OUT_OF_SERVICE | ALARM_SUPP_DESIGN | \
                    ALARM_SUPP_MODE)

int kpi_add(kpi *k, const journal_rec *r)
{
    kpi_entry *e = kpi_entry_of(k, r);
    if (!e)
        return -1;
    int64_t t = r->ts_ns > k->last_ts ? r->ts_ns : k->last_ts;
    k->last_ts = t;
    alarm_status prev = e->st;
    e->st = r->to;
    switch (r->event) {
    case ALARM_EV_ACTIVE:
        if (r->to.flags & KPI_HIDDEN) {
            k->r.unannunciated++;
            break;
        }
        e->annunciated++;
        k->r.annunciated++;
        k->r.by_priority[r->priority]++;
        if (kpi_annunciate(k, t) < 0)
            return -1;
        break;
    case ALARM_EV_CHATTER:
        e->chatters++;
        break;
    case ALARM_EV_SHELVE:
        k->r.shelve_actions++;
        /* shelving is the operator's answer too */
        __attribute__((fallthrough));
    case ALARM_EV_ACK:
    case ALARM_EV_RESET:
        if (r->from_state == ALARM_ACTIVE_UNACK ||
            r->from_state == ALARM_CLEARED_UNACK) {
            int64_t act = prev.active_ns ? prev.active_ns : r->to.active_ns;
            if (act > 0 && r->ts_ns >= act &&
                kpi_ack_time(k, (double)(r->ts_ns - act) / 1e9) < 0)
                return -1;
        }
        break;
    case ALARM_EV_DISABLE:
        k->r.disable_actions++;
        break;
    default:
        break;
    }
    return 0;
}

static int kpi_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Nearest rank. */
static double kpi_quantile(const double *v, size_t n, double q)
{
    size_t i = (size_t)ceil(q * (double)n);
    return v[i ? i - 1 : 0];
}

/* The top KPI_TOP by count (then id), into out; returns how many. */
static int kpi_cmp_top(const void *a, const void *b)
{
    const kpi_alarm *x = a, *y = b;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    if (x->for_ns != y->for_ns)
        return x->for_ns > y->for_ns ? -1 : 1;
    return strcmp(x->id, y->id);
}

static void kpi_top_add(kpi_alarm *top, size_t *n, const kpi_alarm *a)
{
    if (*n < KPI_TOP) {
        top[(*n)++] = *a;
    } else if (kpi_cmp_top(a, &top[KPI_TOP - 1]) < 0) {
        top[KPI_TOP - 1] = *a;
    } else {
        return;
    }
    qsort(top, *n, sizeof *top, kpi_cmp_top);
}

static void kpi_alarm_of(kpi_alarm *out, const kpi_entry *e, uint32_t count)
{
    memset(out, 0, sizeof *out);
    snprintf(out->id, sizeof out->id, "%s", e->id);
    out->priority = e->priority;
    out->count = count;
}

const kpi_report *kpi_finish(kpi *k)
{
    kpi_report *r = &k->r;
    kpi_bucket_close(k);
    if (k->in_flood) {
        k->in_flood = false;
        /* still one if the window at the end holds more than 10 */
        size_t h = k->head;
        while (h < k->n_times && k->times[h] <= r->to_ns - KPI_WINDOW_NS)
            h++;
        k->cur.ongoing = k->n_times - h > KPI_FLOOD_COUNT;
        if (kpi_push_flood(k) < 0)
            return NULL;
    }
    double windows = (double)(r->to_ns - r->from_ns) / (double)KPI_WINDOW_NS;
    r->per_10min = windows > 0 ? (double)r->annunciated / windows : 0;
    if (r->acks) {
        qsort(k->acks, r->acks, sizeof *k->acks, kpi_cmp_double);
        r->ack_p50_s = kpi_quantile(k->acks, r->acks, 0.5);
        r->ack_p90_s = kpi_quantile(k->acks, r->acks, 0.9);
    }
    r->n_frequent = r->n_chattering = r->n_standing = 0;
    r->active = r->unacked = r->shelved = r->out_of_service = r->stale = 0;
    for (size_t i = 0; i < k->cap; i++) {
        const kpi_entry *e = &k->tab[i];
        if (!e->id)
            continue;
        kpi_alarm a;
        if (e->annunciated) {
            kpi_alarm_of(&a, e, e->annunciated);
            kpi_top_add(r->frequent, &r->n_frequent, &a);
        }
        if (e->chatters) {
            kpi_alarm_of(&a, e, e->chatters);
            kpi_top_add(r->chattering, &r->n_chattering, &a);
        }
        const alarm_status *s = &e->st;
        bool active = s->state == ALARM_ACTIVE_UNACK ||
                      s->state == ALARM_ACTIVE_ACK;
        r->active += active;
        r->unacked += s->state == ALARM_ACTIVE_UNACK ||
                      s->state == ALARM_CLEARED_UNACK;
        r->shelved += (s->flags & ALARM_SHELVED) != 0;
        r->out_of_service += (s->flags & ALARM_OUT_OF_SERVICE) != 0;
        if (active && s->active_ns > 0 && s->active_ns < r->to_ns) {
            kpi_alarm_of(&a, e, 0);
            a.since_ns = s->active_ns;
            a.for_ns = r->to_ns - s->active_ns;
            r->stale += a.for_ns > KPI_STALE_NS;
            kpi_top_add(r->standing, &r->n_standing, &a);
        }
    }
    return r;
}
