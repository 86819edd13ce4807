/*
 * influx.c - the InfluxDB writer: queue, line encoding, batching, HTTP and
 * store-and-forward (see influx.h for the behaviour and the schema).
 *
 * Threads.  influx_submit, influx_flush and influx_get_stats run on any
 * thread (the consumer thread, in the bridge) and touch only the fields
 * marked "under mu".  The writer has two threads of its own:
 *   - the encoder ("influx-encode") takes points from the queue, turns them
 *     into line protocol (the batch being built, the quality map) and cuts
 *     batches by size and age;
 *   - the sender ("influx-send") owns the curl handle, the spool and all
 *     retry state: it posts each batch, spools it when the database cannot
 *     take it, and drains the spool.
 * They meet in a one-batch slot under mu, so the next batch is encoded
 * while the last one is in flight.  Each field below is marked with the
 * only thread that touches it, or "under mu".
 *
 * Order is the invariant that everything else serves: a batch is posted
 * directly only while the spool is empty and no retry is pending; otherwise
 * it is appended to the spool behind older ones, and the spool is drained
 * oldest first.  A failed batch goes to the spool at once.  When the spool
 * cannot take it either (the disk is full), the sender keeps that one batch
 * in memory and tries again (spool or database, whichever its turn allows)
 * after a back-off of 100 ms doubling to 5 s, and takes no new batch
 * meanwhile: new points wait, in order, in the queue, which refuses the
 * newest once it is full (influx.h says why).  So memory holds at most the
 * queue's bound plus about three batches (held, in the slot, being
 * encoded).
 *
 * Responses follow the InfluxDB 1.x/2.x write API documentation
 * (https://docs.influxdata.com/influxdb/v1/tools/api/#write-http-endpoint,
 * https://docs.influxdata.com/influxdb/v2/api/#operation/PostWrite):
 * 204 success; 400 malformed line protocol ("unable to parse '<line>':
 * <reason>", with "partial write:" in front when the other lines were
 * written); 401/403 credentials; 404 database or bucket not found;
 * 413 request too large; 429 and 503 with Retry-After; 5xx server errors.
 */
#include "record/influx.h"

#include "core/backoff.h"
#include "core/clock.h"
#include "core/ring.h"
#include "record/spool.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <zlib.h>

#define NS_PER_MS 1000000ull
#define NS_PER_S 1000000000ull
#define INFLUX_CHUNK 1024            /* points taken from the queue at once */
#define INFLUX_DOWN_AGE (100 * NS_PER_MS) /* batch age while spooling */
#define INFLUX_CLOSE_GRACE (2 * NS_PER_S)
#define INFLUX_DISK_RETRY_MIN (100 * NS_PER_MS) /* after a refused spool */
#define INFLUX_DISK_RETRY_MAX (5 * NS_PER_S)    /* write, doubling to */
#define INFLUX_BODY_MAX 16384        /* response body kept for messages */
#define INFLUX_Q_UNKNOWN (-1)

/* The quality code written in `<tag>_q` (influx.h); Q_INIT is never
 * submitted by the bridge, but if it is, it gets a code of its own. */
static int quality_code(val_quality q)
{
    switch (q) {
    case Q_GOOD: return 0;
    case Q_STALE: return 1;
    case Q_COMM: return 2;
    case Q_DEVICE: return 3;
    case Q_DECODE: return 4;
    case Q_INIT: break;
    }
    return 5;
}

/* Last quality seen per (plc, tag), so `_q` is written on changes only. */
typedef struct {
    char *plc;
    char *field;
    uint64_t hash;
    int q;                           /* val_quality or INFLUX_Q_UNKNOWN */
} qentry;

typedef enum { SEND_DONE, SEND_RETRY } send_result;

/* Where an error comes from, which decides what clears it: a successful
 * write clears the database's, a successful spool write (or pop) the
 * spool's; rejected data is a past event that nothing repairs, so its
 * message stays until a newer error replaces it. */
typedef enum {
    INFLUX_ERR_DB,
    INFLUX_ERR_SPOOL,
    INFLUX_ERR_DATA,
    INFLUX_ERR_KINDS
} influx_err_kind;

struct influx_writer {
    /* Immutable once the threads run. */
    influx_opts o;                   /* strings point into owned copies */
    char *strs[13];
    char *write_url;
    char *quarantine_path;
    uint64_t auth_retry_ns;

    pthread_t encoder;
    bool encoder_started;
    pthread_mutex_t mu;
    pthread_cond_t wake;             /* encoder: points, stop, flush */
    pthread_cond_t done;             /* flushers: points processed */

    /* Under mu. */
    ring q;                          /* influx_point, oldest first */
    bool stop;
    uint64_t flush_req;
    uint64_t accepted;               /* points taken into the queue */
    uint64_t processed;              /* of those: written, spooled or lost */
    uint64_t in_batch;               /* points the encoder took from q and
                                        has not shipped */
    uint64_t sender_count;           /* queue points of the batch the sender
                                        has: in flight, or held after a
                                        failed spool write */
    struct {
        char msg[sizeof ((influx_stats *)0)->last_error];
        uint64_t seq;                /* 0: not in effect */
    } err[INFLUX_ERR_KINDS];
    uint64_t err_seq;
    influx_stats st;

    /* The handoff from the encoder to the sender, under mu: one encoded
     * batch waits while the previous one is in flight, so encoding
     * overlaps the database's work instead of adding to it. */
    pthread_t sender;
    bool sender_started;
    pthread_cond_t slot_cv;          /* slot filled or emptied, closing */
    lp_buf slot;
    uint64_t slot_pts;               /* points encoded in it */
    uint64_t slot_count;             /* queue points it accounts for */
    bool slot_full;
    bool sender_stop;                /* no more batches will come */
    bool down;                       /* the sender is spooling or holding a
                                        batch: cut batches often (little
                                        in memory) */
    bool closing;
    uint64_t close_deadline;

    /* Encoder thread only. */
    influx_point *chunk;
    uint64_t flush_seen;
    lp_buf batch;                    /* the batch being built */
    uint64_t batch_pts;
    uint64_t batch_start;
    bool line_open;
    const char *line_plc;
    int64_t line_ts;
    int line_fields;
    uint64_t line_pts;
    qentry *qm;
    size_t qm_cap, qm_len;
    int *qk;                         /* last quality by influx_point.key */
    size_t qk_cap;

    /* Sender thread only (set up by influx_open before it starts). */
    lp_buf sbatch;                   /* the batch being sent */
    CURL *curl;
    struct curl_slist *headers;
    char curl_err[CURL_ERROR_SIZE];
    spool *sp;
    uint64_t spool_dropped_seen;
    bool snd_closing;                /* copies of closing and */
    uint64_t snd_deadline;           /* close_deadline, taken under mu */
    uint64_t next_try;               /* monotonic: no post before this */
    backoff db_bo;                   /* retries of the database */
    lp_buf held;                     /* refused by the spool: retried */
    uint64_t held_pts;
    bool holding;
    uint64_t disk_retry;             /* monotonic: next try of held */
    backoff disk_bo;                 /* retries of the spool */
    lp_buf pending;                  /* rest of the spool head to resend */
    lp_buf rest;                     /* scratch: lines still to retry */
    z_stream z;
    bool z_ready;
    unsigned char *zbuf;
    size_t zcap;
    char body[INFLUX_BODY_MAX + 1];
    size_t body_len;
    uint64_t retry_after_ns;
};

/* ---- small helpers ----------------------------------------------------- */

static uint64_t fnv(uint64_t h, const char *s)
{
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

/* mu held: last_error is the newest error still in effect. */
static void influx_show_error(influx_writer *w)
{
    int best = -1;
    for (int k = 0; k < INFLUX_ERR_KINDS; k++)
        if (w->err[k].seq && (best < 0 || w->err[k].seq > w->err[best].seq))
            best = k;
    snprintf(w->st.last_error, sizeof w->st.last_error, "%s",
             best < 0 ? "" : w->err[best].msg);
}

static void influx_set_error(influx_writer *w, influx_err_kind kind,
                             const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Called with mu held. */
static void influx_set_error(influx_writer *w, influx_err_kind kind,
                             const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->err[kind].msg, sizeof w->err[kind].msg, fmt, ap);
    va_end(ap);
    w->err[kind].seq = ++w->err_seq;
    influx_show_error(w);
}

/* Called with mu held: the condition behind kind's error is over. */
static void influx_clear_error(influx_writer *w, influx_err_kind kind)
{
    if (!w->err[kind].seq)
        return;
    w->err[kind].seq = 0;
    influx_show_error(w);
}

/* Called with mu held. */
static void influx_update_queued(influx_writer *w)
{
    w->st.queued = ring_len(&w->q) + w->in_batch +
                   (w->slot_full ? w->slot_count : 0) + w->sender_count;
}

/* ---- quality map (encoder thread) -------------------------------------- */

static int *qmap_slot(influx_writer *w, const char *plc, const char *field);

/* The last quality seen of a point's series: by its key when it has one (an
 * array index: no hashing on the hot path), else by name. */
static int *qmap_point(influx_writer *w, const influx_point *p)
{
    if (p->key == 0)
        return qmap_slot(w, p->plc, p->field);
    if (p->key >= w->qk_cap) {
        size_t cap = w->qk_cap ? w->qk_cap : 1024;
        while (cap <= p->key)
            cap *= 2;
        int *n = realloc(w->qk, cap * sizeof *n);
        if (!n)
            return NULL;
        for (size_t i = w->qk_cap; i < cap; i++)
            n[i] = INFLUX_Q_UNKNOWN;
        w->qk = n;
        w->qk_cap = cap;
    }
    return &w->qk[p->key];
}

static int *qmap_slot(influx_writer *w, const char *plc, const char *field)
{
    if (w->qm_len * 2 >= w->qm_cap) {
        size_t cap = w->qm_cap ? w->qm_cap * 2 : 256;
        qentry *n = calloc(cap, sizeof *n);
        if (!n)
            return NULL;
        for (size_t i = 0; i < w->qm_cap; i++) {
            if (!w->qm[i].plc)
                continue;
            size_t j = w->qm[i].hash & (cap - 1);
            while (n[j].plc)
                j = (j + 1) & (cap - 1);
            n[j] = w->qm[i];
        }
        free(w->qm);
        w->qm = n;
        w->qm_cap = cap;
    }
    uint64_t h = fnv(fnv(14695981039346656037ull, plc) * 31u, field);
    size_t j = h & (w->qm_cap - 1);
    while (w->qm[j].plc) {
        if (w->qm[j].hash == h && strcmp(w->qm[j].plc, plc) == 0 &&
            strcmp(w->qm[j].field, field) == 0)
            return &w->qm[j].q;
        j = (j + 1) & (w->qm_cap - 1);
    }
    char *p = strdup(plc), *f = strdup(field);
    if (!p || !f) {
        free(p);
        free(f);
        return NULL;
    }
    w->qm[j] = (qentry){.plc = p, .field = f, .hash = h, .q = INFLUX_Q_UNKNOWN};
    w->qm_len++;
    return &w->qm[j].q;
}

static void qmap_free(influx_writer *w)
{
    for (size_t i = 0; i < w->qm_cap; i++) {
        free(w->qm[i].plc);
        free(w->qm[i].field);
    }
    free(w->qm);
    free(w->qk);
}

/* ---- encoding (encoder thread) ----------------------------------------- */

/* Points lost to an encoding failure (a name the encoder refuses, or no
 * memory, a tag id too long for the `_q` key buffer). */
static void line_lost(influx_writer *w)
{
    lp_abort(&w->batch);                     /* idempotent */
    pthread_mutex_lock(&w->mu);
    w->st.dropped += w->line_pts;
    influx_set_error(w, INFLUX_ERR_DATA,
                     "line protocol: cannot encode a line of PLC '%s'",
                     w->line_plc);
    pthread_mutex_unlock(&w->mu);
    w->batch_pts -= w->line_pts;
    w->line_open = false;
}

static void end_line(influx_writer *w)
{
    if (!w->line_open)
        return;
    w->line_open = false;
    if (w->line_fields == 0) {               /* only non-finite values */
        lp_abort(&w->batch);
        return;
    }
    if (lp_end(&w->batch, w->line_ts, w->o.precision) < 0) {
        w->line_open = true;
        line_lost(w);
    }
}

static int value_field(influx_writer *w, const char *key, const val *v)
{
    lp_buf *b = &w->batch;
    switch (v->kind) {
    case VAL_BOOL:
        return lp_field_bool(b, key, v->b);
    case VAL_INT:
        return lp_field_int(b, key, v->i);
    case VAL_UINT:
        /* 1.x has no `u` type: beyond int64 the value goes as a float. */
        if (v->u <= (uint64_t)INT64_MAX)
            return lp_field_int(b, key, (int64_t)v->u);
        return lp_field_float(b, key, (double)v->u);
    case VAL_REAL:
        if (!isfinite(v->d))
            return 1;                        /* line protocol has no NaN */
        return lp_field_float(b, key, v->d);
    case VAL_STR:
        return lp_field_string(b, key, v->s);
    case VAL_NONE:
        break;
    }
    return 1;
}

static void encode_point(influx_writer *w, const influx_point *p)
{
    if (!w->line_open || p->s.ts_ns != w->line_ts ||
        (p->plc != w->line_plc && strcmp(p->plc, w->line_plc) != 0)) {
        end_line(w);
        w->line_open = true;
        w->line_plc = p->plc;
        w->line_ts = p->s.ts_ns;
        w->line_fields = 0;
        w->line_pts = 0;
        /* Tags in lexical key order, as InfluxDB recommends. */
        if (lp_begin(&w->batch, p->plc) < 0 ||
            lp_tag(&w->batch, "plc", p->plc) < 0 ||
            (w->o.station && lp_tag(&w->batch, "station", w->o.station) < 0)) {
            w->line_pts = 1;
            w->batch_pts++;
            line_lost(w);
            return;
        }
    }
    w->line_pts++;
    w->batch_pts++;
    bool good = p->s.q == Q_GOOD;
    int *last = qmap_point(w, p);
    bool want_q = !good || !last || *last != Q_GOOD || p->heartbeat;
    if (last)
        *last = (int)p->s.q;
    if (good) {
        int rc = value_field(w, p->field, &p->s.v);
        if (rc < 0) {
            line_lost(w);
            return;
        }
        w->line_fields += rc == 0;
    }
    if (want_q) {
        char key[512];
        int n = snprintf(key, sizeof key, "%s_q", p->field);
        if (n < 0 || (size_t)n >= sizeof key ||
            lp_field_int(&w->batch, key, quality_code(p->s.q)) < 0) {
            line_lost(w);                    /* lp dropped the line */
            return;
        }
        w->line_fields++;
    }
}

/* Points in a piece of encoded line protocol: per line, the number of
 * distinct tag ids among its fields (`x` and `x_q` are one point).  Used
 * by the sender when a batch is split or trimmed and its stored count no
 * longer holds; these helpers touch no state. */
typedef struct {
    const char *p;
    size_t n;
} span;

static int span_cmp(const void *a, const void *b)
{
    const span *x = a, *y = b;
    size_t n = x->n < y->n ? x->n : y->n;
    int c = memcmp(x->p, y->p, n);
    return c ? c : (x->n > y->n) - (x->n < y->n);
}

static uint64_t line_points(const char *s, const char *end)
{
    /* Skip measurement and tags: up to the first unescaped space. */
    while (s < end && *s != ' ') {
        if (*s == '\\' && s + 1 < end)
            s++;
        s++;
    }
    s++;
    span keys[256];
    size_t nk = 0;
    uint64_t extra = 0;
    while (s < end && *s != ' ') {
        const char *k = s;
        while (s < end && *s != '=') {
            if (*s == '\\' && s + 1 < end)
                s++;
            s++;
        }
        size_t kn = (size_t)(s - k);
        if (kn >= 2 && k[kn - 2] == '_' && k[kn - 1] == 'q')
            kn -= 2;
        if (nk < sizeof keys / sizeof *keys)
            keys[nk++] = (span){k, kn};
        else
            extra++;                         /* beyond 256: assume distinct */
        s++;
        if (s < end && *s == '"') {
            for (s++; s < end && *s != '"'; s++)
                if (*s == '\\' && s + 1 < end)
                    s++;
            s++;
        } else {
            while (s < end && *s != ',' && *s != ' ')
                s++;
        }
        if (s < end && *s == ',')
            s++;
    }
    if (nk > 1)
        qsort(keys, nk, sizeof *keys, span_cmp);
    uint64_t n = nk ? 1 : 0;
    for (size_t i = 1; i < nk; i++)
        n += span_cmp(&keys[i - 1], &keys[i]) != 0;
    return n + extra;
}

static uint64_t count_points(const char *data, size_t len)
{
    uint64_t n = 0;
    const char *end = data + len;
    while (data < end) {
        const char *nl = memchr(data, '\n', (size_t)(end - data));
        if (!nl)
            nl = end;
        if (nl > data)
            n += line_points(data, nl);
        data = nl + 1;
    }
    return n;
}

static size_t count_lines(const char *data, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += data[i] == '\n';
    if (len > 0 && data[len - 1] != '\n')
        n++;
    return n;
}

static int buf_append(lp_buf *b, const char *data, size_t len)
{
    if (len) {
        if (lp_buf_reserve(b, len) < 0)
            return -1;
        memcpy(b->data + b->len, data, len);
        b->len += len;
    }
    b->mark = b->len;
    return 0;
}

/* ---- HTTP (sender thread, from here to the batches) ---------------------- */

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    influx_writer *w = ud;
    size_t len = size * n;
    size_t room = INFLUX_BODY_MAX - w->body_len;
    size_t take = len < room ? len : room;
    memcpy(w->body + w->body_len, p, take);
    w->body_len += take;
    w->body[w->body_len] = '\0';
    return len;
}

/* Retry-After in its delay-seconds form (RFC 9110 section 10.2.3); the
 * HTTP-date form is ignored and the computed backoff applies. */
static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    influx_writer *w = ud;
    size_t len = size * n;
    static const char name[] = "retry-after:";
    if (len > sizeof name - 1 && strncasecmp(p, name, sizeof name - 1) == 0) {
        char v[32];
        size_t vl = len - (sizeof name - 1);
        if (vl >= sizeof v)
            vl = sizeof v - 1;
        memcpy(v, p + sizeof name - 1, vl);
        v[vl] = '\0';
        char *s = v, *end;
        while (*s == ' ' || *s == '\t')
            s++;
        errno = 0;
        unsigned long secs = strtoul(s, &end, 10);
        while (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n')
            end++;
        if (!errno && end != s && *end == '\0' && *s != '-' && secs <= 86400)
            w->retry_after_ns = (uint64_t)secs * NS_PER_S;
    }
    return len;
}

static int gzip_body(influx_writer *w, const char *data, size_t len,
                     size_t *out_len)
{
    if (!w->z_ready) {
        /* windowBits 15 + 16: a gzip wrapper (RFC 1952), which is what
         * Content-Encoding: gzip means. Level 1: speed over size. */
        if (deflateInit2(&w->z, 1, Z_DEFLATED, 15 + 16, 8,
                         Z_DEFAULT_STRATEGY) != Z_OK)
            return -1;
        w->z_ready = true;
    } else if (deflateReset(&w->z) != Z_OK) {
        return -1;
    }
    size_t need = deflateBound(&w->z, (uLong)len) + 64;
    if (need > w->zcap) {
        unsigned char *p = realloc(w->zbuf, need);
        if (!p)
            return -1;
        w->zbuf = p;
        w->zcap = need;
    }
    w->z.next_in = (Bytef *)data;
    w->z.avail_in = (uInt)len;
    w->z.next_out = w->zbuf;
    w->z.avail_out = (uInt)w->zcap;
    if (deflate(&w->z, Z_FINISH) != Z_STREAM_END)
        return -1;
    *out_len = w->z.total_out;
    return 0;
}

/* One POST.  The HTTP status, or 0 for a network error (curl_err says). */
static long http_post(influx_writer *w, const char *data, size_t len)
{
    const char *body = data;
    size_t blen = len;
    w->body_len = 0;
    w->body[0] = '\0';
    w->retry_after_ns = 0;
    w->curl_err[0] = '\0';
    if (w->o.gzip && len <= 0xffffffffu) {
        if (gzip_body(w, data, len, &blen) < 0) {
            snprintf(w->curl_err, sizeof w->curl_err, "gzip failed");
            return 0;
        }
        body = (const char *)w->zbuf;
    }
    uint64_t timeout = w->o.timeout_ns;
    if (w->snd_closing) {
        uint64_t now = clk_mono_ns();
        uint64_t left = w->snd_deadline > now ? w->snd_deadline - now : 0;
        if (left < 100 * NS_PER_MS)
            left = 100 * NS_PER_MS;
        if (left < timeout)
            timeout = left;
    }
    long ms = (long)(timeout / NS_PER_MS);
    curl_easy_setopt(w->curl, CURLOPT_TIMEOUT_MS, ms > 0 ? ms : 1L);
    curl_easy_setopt(w->curl, CURLOPT_CONNECTTIMEOUT_MS,
                     ms > 5000 ? 5000L : (ms > 0 ? ms : 1L));
    curl_easy_setopt(w->curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(w->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)blen);
    CURLcode rc = curl_easy_perform(w->curl);
    if (rc != CURLE_OK) {
        if (!w->curl_err[0])
            snprintf(w->curl_err, sizeof w->curl_err, "%s",
                     curl_easy_strerror(rc));
        return 0;
    }
    long status = 0;
    curl_easy_getinfo(w->curl, CURLINFO_RESPONSE_CODE, &status);
    return status;
}

/* The error text of a response: "error" (1.x) or "message" (2.x) of the
 * JSON body, else the body itself.  Malloc'd; never NULL unless OOM. */
static char *response_error(influx_writer *w)
{
    cJSON *j = cJSON_Parse(w->body);
    const cJSON *e = NULL;
    if (j) {
        e = cJSON_GetObjectItemCaseSensitive(j, "error");
        if (!cJSON_IsString(e))
            e = cJSON_GetObjectItemCaseSensitive(j, "message");
    }
    char *s = strdup(cJSON_IsString(e) ? e->valuestring : w->body);
    cJSON_Delete(j);
    return s;
}

/* For messages on one line of last_error / the quarantine comment. */
static void flatten(char *s)
{
    for (; *s; s++)
        if (*s == '\n' || *s == '\r')
            *s = ' ';
}

/* ---- failure bookkeeping ----------------------------------------------- */

/* Called with mu held: the database accepted points (all of a batch, or
 * the rest of a partial write), which is what last_success_ns means. */
static void note_written(influx_writer *w, uint64_t points)
{
    w->st.written += points;
    w->st.last_success_ns = clk_real_ns();
}

static void note_success(influx_writer *w, uint64_t points)
{
    backoff_reset(&w->db_bo);
    w->next_try = 0;
    pthread_mutex_lock(&w->mu);
    note_written(w, points);
    w->st.batches++;
    w->st.auth_failed = false;
    influx_clear_error(w, INFLUX_ERR_DB);
    pthread_mutex_unlock(&w->mu);
}

/* A failure that is retried later: 429, 5xx, network, and the rest. */
static void note_retry(influx_writer *w, long status, const char *msg)
{
    /* Equal jitter (core/backoff.h), from backoff_min_ns doubling to
     * backoff_max_ns; Retry-After, when longer, wins. */
    uint64_t delay = backoff_next(&w->db_bo);
    if (w->retry_after_ns > delay)
        delay = w->retry_after_ns;
    w->next_try = clk_mono_ns() + delay;
    pthread_mutex_lock(&w->mu);
    w->st.retries++;
    if (status == 0)
        influx_set_error(w, INFLUX_ERR_DB, "network: %s", msg);
    else
        influx_set_error(w, INFLUX_ERR_DB, "HTTP %ld: %s", status, msg);
    pthread_mutex_unlock(&w->mu);
}

/* Credentials or names are wrong: retrying faster would not help, so
 * every auth_retry_ns +- 20 %. */
static void note_auth(influx_writer *w, long status, const char *msg)
{
    uint64_t a = w->auth_retry_ns;
    w->next_try = clk_mono_ns() +
                  backoff_jitter(&w->db_bo, a - a / 5, a + a / 5 + 1);
    pthread_mutex_lock(&w->mu);
    w->st.retries++;
    w->st.auth_failed = true;
    influx_set_error(w, INFLUX_ERR_DB, "HTTP %ld: %s: %s", status,
                     status == 404 ? "database or bucket not found"
                                   : "authorization failed",
                     msg);
    pthread_mutex_unlock(&w->mu);
}

/* Appends lines to the quarantine file, after a comment saying when and
 * why; returns how many lines were set aside. */
static size_t quarantine(influx_writer *w, const char *const *lines,
                         const size_t *lens, size_t n, long status,
                         const char *why)
{
    char when[32], head[400];
    clk_format_rfc3339(clk_real_ns(), when, sizeof when);
    int hn = snprintf(head, sizeof head, "# %s HTTP %ld: %s\n", when, status,
                      why);
    if (hn < 0)
        return 0;
    if ((size_t)hn >= sizeof head) {
        hn = sizeof head - 1;
        head[hn - 1] = '\n';
    }
    int fd = open(w->quarantine_path,
                  O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    bool ok = fd >= 0 && write(fd, head, (size_t)hn) == hn;
    for (size_t i = 0; ok && i < n; i++) {
        ok = write(fd, lines[i], lens[i]) == (ssize_t)lens[i];
        if (ok && (lens[i] == 0 || lines[i][lens[i] - 1] != '\n'))
            ok = write(fd, "\n", 1) == 1;
    }
    if (fd >= 0) {
        if (ok)
            fdatasync(fd);
        close(fd);
    }
    pthread_mutex_lock(&w->mu);
    w->st.quarantined += n;
    if (!ok)
        influx_set_error(w, INFLUX_ERR_DATA, "quarantine %s: %s",
                         w->quarantine_path,
                  strerror(errno));
    pthread_mutex_unlock(&w->mu);
    return n;
}

static send_result send_lines(influx_writer *w, const char *data, size_t len,
                              uint64_t points, lp_buf *rest, int depth);

/* A 400: find the lines the database named, quarantine them, and resend
 * the rest when the database rejected the whole request. */
static send_result bad_request(influx_writer *w, const char *data, size_t len,
                               uint64_t points, lp_buf *rest, int depth,
                               const char *msg)
{
    bool partial = strstr(msg, "partial write") != NULL;
    size_t nl = count_lines(data, len);
    const char **lines = calloc(nl ? nl : 1, sizeof *lines);
    size_t *lens = calloc(nl ? nl : 1, sizeof *lens);
    bool *bad = calloc(nl ? nl : 1, sizeof *bad);
    size_t nbad = 0;
    send_result res = SEND_DONE;
    char *why = strdup(msg);
    if (!lines || !lens || !bad || !why)
        goto whole;
    flatten(why);
    size_t k = 0;
    for (const char *p = data, *end = data + len; p < end && k < nl; k++) {
        const char *e = memchr(p, '\n', (size_t)(end - p));
        lines[k] = p;
        lens[k] = e ? (size_t)(e - p) : (size_t)(end - p);
        p += lens[k] + 1;
    }
    /* 1.x joins one "unable to parse '<line>': <reason>" per bad line with
     * newlines; the line ends at the last "': " before the next one. */
    static const char tag[] = "unable to parse '";
    for (const char *s = strstr(msg, tag); s; ) {
        s += sizeof tag - 1;
        const char *next = strstr(s, tag);
        const char *stop = next ? next : s + strlen(s);
        const char *q = NULL;
        for (const char *t = s; t + 3 <= stop; t++)
            if (t[0] == '\'' && t[1] == ':' && t[2] == ' ')
                q = t;
        if (q) {
            size_t ln = (size_t)(q - s);
            for (size_t i = 0; i < nl; i++)
                if (!bad[i] && lens[i] == ln && memcmp(lines[i], s, ln) == 0) {
                    bad[i] = true;
                    nbad++;
                    break;
                }
        }
        s = next;
    }
    if (nbad == 0)
        goto whole;
    const char **bl = calloc(nbad, sizeof *bl);
    size_t *bn = calloc(nbad, sizeof *bn);
    if (!bl || !bn) {
        free(bl);
        free(bn);
        goto whole;
    }
    size_t j = 0;
    uint64_t bad_pts = 0;
    for (size_t i = 0; i < nl; i++)
        if (bad[i]) {
            bl[j] = lines[i];
            bn[j++] = lens[i];
            bad_pts += line_points(lines[i], lines[i] + lens[i]);
        }
    quarantine(w, bl, bn, nbad, 400, why);
    free(bl);
    free(bn);
    if (partial) {
        /* The database wrote the other lines. */
        pthread_mutex_lock(&w->mu);
        w->st.partial_writes++;
        note_written(w, points > bad_pts ? points - bad_pts : 0);
        influx_set_error(w, INFLUX_ERR_DATA, "HTTP 400: %s", why);
        pthread_mutex_unlock(&w->mu);
    } else {
        pthread_mutex_lock(&w->mu);
        influx_set_error(w, INFLUX_ERR_DATA, "HTTP 400: %s", why);
        pthread_mutex_unlock(&w->mu);
        if (nbad < nl) {
            /* 2.x rejects the whole request for one bad line: send the
             * others again, without the bad ones. */
            lp_buf good;
            lp_buf_init(&good);
            for (size_t i = 0; i < nl; i++)
                if (!bad[i] && (buf_append(&good, lines[i], lens[i]) < 0 ||
                                buf_append(&good, "\n", 1) < 0))
                    break;
            res = send_lines(w, good.data, good.len,
                             points > bad_pts ? points - bad_pts : 0, rest,
                             depth + 1);
            lp_buf_free(&good);
        }
    }
    goto out;
whole:
    if (partial) {
        /* Written except for lines we cannot tell: count, do not retry. */
        pthread_mutex_lock(&w->mu);
        w->st.partial_writes++;
        note_written(w, points);
        influx_set_error(w, INFLUX_ERR_DATA, "HTTP 400: %s", why ? why : msg);
        pthread_mutex_unlock(&w->mu);
    } else {
        const char *one[1] = {data};
        size_t onel[1] = {len};
        size_t n = quarantine(w, one, onel, 1, 400, why ? why : msg);
        pthread_mutex_lock(&w->mu);
        w->st.quarantined += nl - n;         /* counted in lines */
        influx_set_error(w, INFLUX_ERR_DATA, "HTTP 400: %s", why ? why : msg);
        pthread_mutex_unlock(&w->mu);
    }
out:
    free(lines);
    free(lens);
    free(bad);
    free(why);
    return res;
}

/* Sends complete lines; the result says whether something is left to
 * retry, and then `rest` holds exactly those lines (in order). */
static send_result send_lines(influx_writer *w, const char *data, size_t len,
                              uint64_t points, lp_buf *rest, int depth)
{
    if (len == 0)
        return SEND_DONE;
    long status = http_post(w, data, len);
    pthread_mutex_lock(&w->mu);
    w->st.last_status = (int)status;
    pthread_mutex_unlock(&w->mu);
    if (status == 0) {
        note_retry(w, 0, w->curl_err);
        goto retry;
    }
    char *msg = response_error(w);
    if (!msg)
        goto retry;
    flatten(msg);
    send_result res = SEND_DONE;
    if (status >= 200 && status < 300) {
        note_success(w, points);
        if (strstr(msg, "partial write")) {      /* 1.x: 204 + error body */
            pthread_mutex_lock(&w->mu);
            w->st.partial_writes++;
            influx_set_error(w, INFLUX_ERR_DATA, "HTTP %ld: %s", status, msg);
            pthread_mutex_unlock(&w->mu);
        }
    } else if (status == 400) {
        res = bad_request(w, data, len, points, rest, depth, msg);
        free(msg);
        return res;                              /* rest already filled */
    } else if (status == 401 || status == 403 || status == 404) {
        note_auth(w, status, msg);
        res = SEND_RETRY;
    } else if (status == 413) {
        /* Too large: halve at a line boundary until it fits; a single
         * line that is still too large can never be written. */
        size_t nl = count_lines(data, len);
        if (nl <= 1) {
            const char *one[1] = {data};
            size_t onel[1] = {len};
            quarantine(w, one, onel, 1, 413, msg);
        } else {
            size_t half = nl / 2, cut = 0;
            for (size_t i = 0, seen = 0; i < len; i++)
                if (data[i] == '\n' && ++seen == half) {
                    cut = i + 1;
                    break;
                }
            free(msg);
            if (send_lines(w, data, cut, count_points(data, cut), rest,
                           depth + 1) == SEND_RETRY) {
                buf_append(rest, data + cut, len - cut);
                return SEND_RETRY;
            }
            return send_lines(w, data + cut, len - cut,
                              count_points(data + cut, len - cut), rest,
                              depth + 1);
        }
    } else {
        note_retry(w, status, msg[0] ? msg : "unexpected response");
        res = SEND_RETRY;
    }
    free(msg);
    if (res == SEND_DONE)
        return SEND_DONE;
retry:
    buf_append(rest, data, len);
    return SEND_RETRY;
}

/* ---- spool ------------------------------------------------------------- */

/* Copies the spool's counters into the stats; called after spool calls. */
static void influx_sync_spool_stats(influx_writer *w)
{
    spool_stats ss;
    spool_get_stats(w->sp, &ss);
    pthread_mutex_lock(&w->mu);
    w->st.spooled_points = ss.points;
    w->st.spooled_bytes = ss.bytes;
    w->st.dropped += ss.dropped_points - w->spool_dropped_seen;
    w->st.spool_corrupt = ss.corrupt_records;
    pthread_mutex_unlock(&w->mu);
    w->spool_dropped_seen = ss.dropped_points;
}

/* Older data is waiting on disk (or the rest of its head record). */
static bool influx_spool_busy(influx_writer *w)
{
    spool_stats ss;
    spool_get_stats(w->sp, &ss);
    return ss.records > 0 || w->pending.len > 0;
}

/* A spool call succeeded: the disk takes writes again. */
static void influx_spool_ok(influx_writer *w)
{
    backoff_reset(&w->disk_bo);
    pthread_mutex_lock(&w->mu);
    influx_clear_error(w, INFLUX_ERR_SPOOL);
    pthread_mutex_unlock(&w->mu);
}

static void influx_spool_error(influx_writer *w, int e, const char *what)
{
    pthread_mutex_lock(&w->mu);
    influx_set_error(w, INFLUX_ERR_SPOOL, "spool %s: %s%s", w->o.spool_dir,
                     strerror(e), what);
    pthread_mutex_unlock(&w->mu);
}

/* Appends *b (points) to the spool: true when that is done.  When the
 * spool refuses it (a full disk) the batch moves into w->held, to be tried
 * again after the disk back-off, and the result is false; once the close
 * grace is over it is lost instead (counted in dropped), and the result is
 * true. */
static bool influx_to_spool(influx_writer *w, lp_buf *b, uint64_t points,
                            bool past_grace)
{
    if (b->len == 0)
        return true;
    uint32_t p32 = points > UINT32_MAX ? UINT32_MAX : (uint32_t)points;
    bool ok = spool_append(w->sp, b->data, b->len, p32) == 0;
    int e = errno;
    if (ok) {
        influx_spool_ok(w);
    } else if (past_grace) {
        char what[64];
        snprintf(what, sizeof what, " (%" PRIu64 " points lost at exit)",
                 points);
        influx_spool_error(w, e, what);
        pthread_mutex_lock(&w->mu);
        w->st.dropped += points;
        pthread_mutex_unlock(&w->mu);
    } else {
        influx_spool_error(w, e, "");
        lp_buf t = w->held;
        w->held = *b;
        *b = t;
        w->held_pts = points;
        w->holding = true;
        w->disk_retry = clk_mono_ns() + backoff_next(&w->disk_bo);
    }
    influx_sync_spool_stats(w);
    return ok || past_grace;
}

/* Sends the oldest spooled batch (or what is left of it). */
static void influx_drain_one(influx_writer *w)
{
    const char *data;
    size_t len;
    uint32_t points;
    int rc = spool_peek(w->sp, &data, &len, &points);
    if (rc < 0) {
        influx_spool_error(w, errno, "");
        w->next_try = clk_mono_ns() + w->o.backoff_min_ns;
        return;
    }
    if (rc == 0) {
        lp_buf_reset(&w->pending);
        influx_sync_spool_stats(w);
        return;
    }
    uint64_t pts = points;
    if (w->pending.len > 0) {
        data = w->pending.data;
        len = w->pending.len;
        pts = count_points(data, len);
    }
    lp_buf_reset(&w->rest);
    if (send_lines(w, data, len, pts, &w->rest, 0) == SEND_DONE) {
        lp_buf_reset(&w->pending);
        /* A pop whose position cannot be saved (full disk) still moves
         * on; only a restart before the next pop would send it again. */
        if (spool_pop(w->sp) < 0)
            influx_spool_error(w, errno, " (saving the read position)");
        else
            influx_spool_ok(w);
    } else if (w->rest.len != len) {
        /* Part of it went through (413 halves, 400 remainder): keep the
         * rest in memory and the record in the spool until it is done, so
         * a crash replays the record rather than losing the rest. */
        lp_buf t = w->pending;
        w->pending = w->rest;
        w->rest = t;
    }
    influx_sync_spool_stats(w);
}

/* ---- batches ----------------------------------------------------------- */

/* Encoder thread: hands the current batch to the sender, waiting while
 * the previous one is still in the slot. */
static void ship_batch(influx_writer *w)
{
    end_line(w);
    pthread_mutex_lock(&w->mu);
    while (w->slot_full)
        pthread_cond_wait(&w->slot_cv, &w->mu);
    lp_buf t = w->slot;
    w->slot = w->batch;
    w->batch = t;
    w->slot_pts = w->batch_pts;
    w->slot_count = w->in_batch;
    w->slot_full = true;
    w->in_batch = 0;
    influx_update_queued(w);
    pthread_cond_broadcast(&w->slot_cv);
    pthread_mutex_unlock(&w->mu);
    lp_buf_reset(&w->batch);
    w->batch_pts = 0;
    w->line_open = false;
}

/* Sender thread: writes the batch in w->sbatch to the database, or to the
 * spool while the database is down, older data is waiting, or the close
 * grace is over.  false when the spool refused it too: it is then held
 * (influx_to_spool). */
static bool influx_send_batch(influx_writer *w, uint64_t pts, bool past_grace)
{
    if (w->sbatch.len == 0)
        return true;
    uint64_t now = clk_mono_ns();
    if (influx_spool_busy(w) || now < w->next_try || past_grace)
        return influx_to_spool(w, &w->sbatch, pts, past_grace);
    lp_buf_reset(&w->rest);
    if (send_lines(w, w->sbatch.data, w->sbatch.len, pts, &w->rest, 0) ==
        SEND_DONE)
        return true;
    uint64_t rest_pts = w->rest.len == w->sbatch.len
                            ? pts : count_points(w->rest.data, w->rest.len);
    return influx_to_spool(w, &w->rest, rest_pts, past_grace);
}

static void *influx_sender_main(void *arg)
{
    influx_writer *w = arg;
    pthread_setname_np(pthread_self(), "influx-send");
    bool spool_waiting = influx_spool_busy(w);
    pthread_mutex_lock(&w->mu);
    for (;;) {
        /* While it holds a batch the sender takes no new one: order. */
        if (w->holding || (!w->slot_full && !w->sender_stop)) {
            uint64_t at = UINT64_MAX;
            if (w->holding) {
                at = w->disk_retry;
                if (w->closing && w->close_deadline < at)
                    at = w->close_deadline;
            }
            /* Wake when the spool may be drained again. */
            if (spool_waiting && !w->closing && w->next_try < at)
                at = w->next_try;
            if (at == UINT64_MAX) {
                pthread_cond_wait(&w->slot_cv, &w->mu);
            } else if (clk_mono_ns() < at) {
                struct timespec ts = {
                    .tv_sec = (time_t)(at / NS_PER_S),
                    .tv_nsec = (long)(at % NS_PER_S),
                };
                pthread_cond_timedwait(&w->slot_cv, &w->mu, &ts);
            }
        }
        uint64_t now = clk_mono_ns();
        bool took = false, retry = false;
        uint64_t pts = 0;
        if (w->holding) {
            retry = now >= w->disk_retry ||
                    (w->closing && now >= w->close_deadline);
        } else if (w->slot_full) {
            lp_buf t = w->sbatch;
            w->sbatch = w->slot;
            w->slot = t;
            pts = w->slot_pts;
            w->sender_count = w->slot_count;
            w->slot_full = false;
            took = true;
            pthread_cond_broadcast(&w->slot_cv);   /* the encoder may wait */
        } else if (w->sender_stop) {
            break;
        }
        w->snd_closing = w->closing;
        w->snd_deadline = w->close_deadline;
        bool past_grace = w->closing && now >= w->close_deadline;
        pthread_mutex_unlock(&w->mu);

        bool resolved = false;
        if (took) {
            resolved = influx_send_batch(w, pts, past_grace);
        } else if (retry) {
            lp_buf t = w->sbatch;
            w->sbatch = w->held;
            w->held = t;
            w->holding = false;
            resolved = influx_send_batch(w, w->held_pts, past_grace);
        }
        lp_buf_reset(&w->sbatch);
        /* Drain between batches (it also frees disk space for a batch
         * held); on close the spool simply stays. */
        if (!w->snd_closing && influx_spool_busy(w) &&
            clk_mono_ns() >= w->next_try)
            influx_drain_one(w);
        spool_waiting = influx_spool_busy(w);

        pthread_mutex_lock(&w->mu);
        w->down = spool_waiting || w->holding;
        if (resolved) {
            w->processed += w->sender_count;
            w->sender_count = 0;
            /* a held batch written after all: nothing waits for the
             * spool any more */
            if (retry)
                influx_clear_error(w, INFLUX_ERR_SPOOL);
        }
        if (took || retry) {
            influx_update_queued(w);
            pthread_cond_broadcast(&w->done);
        }
    }
    pthread_cond_broadcast(&w->done);
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

static void *influx_encoder_main(void *arg)
{
    influx_writer *w = arg;
    pthread_setname_np(pthread_self(), "influx-encode");
    pthread_mutex_lock(&w->mu);
    for (;;) {
        uint64_t now = clk_mono_ns();
        uint64_t age = w->o.batch_age_ns;
        if (w->down && age > INFLUX_DOWN_AGE)
            age = INFLUX_DOWN_AGE;               /* little in memory */
        uint64_t deadline = UINT64_MAX;
        if (w->batch_pts > 0 || w->in_batch > 0)
            deadline = w->batch_start + age;
        while (ring_len(&w->q) == 0 && !w->stop &&
               w->flush_req == w->flush_seen && now < deadline) {
            if (deadline == UINT64_MAX) {
                pthread_cond_wait(&w->wake, &w->mu);
            } else {
                struct timespec ts = {
                    .tv_sec = (time_t)(deadline / NS_PER_S),
                    .tv_nsec = (long)(deadline % NS_PER_S),
                };
                pthread_cond_timedwait(&w->wake, &w->mu, &ts);
            }
            now = clk_mono_ns();
        }
        if (w->stop && !w->closing) {
            w->closing = true;
            w->close_deadline = now + INFLUX_CLOSE_GRACE;
            /* a sender holding a batch must hear of the deadline */
            pthread_cond_broadcast(&w->slot_cv);
        }
        size_t n = ring_pop(&w->q, w->chunk, INFLUX_CHUNK);
        if (n > 0 && w->in_batch == 0)
            w->batch_start = now;
        w->in_batch += n;
        /* A flush covers what was queued when it was asked for: cut once
         * the queue has been emptied. */
        bool flush = w->flush_req != w->flush_seen && ring_len(&w->q) == 0;
        if (flush)
            w->flush_seen = w->flush_req;
        bool closing = w->closing;
        bool more = ring_len(&w->q) > 0;
        pthread_mutex_unlock(&w->mu);

        for (size_t i = 0; i < n; i++) {
            encode_point(w, &w->chunk[i]);
            if (w->batch_pts >= w->o.batch_points) {
                /* The batch is cut between lines: points after this one,
                 * even of the same line, start the next batch. */
                uint64_t left = n - i - 1;
                pthread_mutex_lock(&w->mu);
                w->in_batch -= left;
                pthread_mutex_unlock(&w->mu);
                ship_batch(w);
                pthread_mutex_lock(&w->mu);
                w->in_batch += left;
                w->batch_start = clk_mono_ns();
                pthread_mutex_unlock(&w->mu);
            }
        }
        now = clk_mono_ns();
        bool have = w->batch_pts > 0 || w->in_batch > 0;
        if (have && (flush || (closing && !more) ||
                     now >= w->batch_start + age))
            ship_batch(w);
        else if (!have && flush) {
            pthread_mutex_lock(&w->mu);
            pthread_cond_broadcast(&w->done);
            pthread_mutex_unlock(&w->mu);
        }

        pthread_mutex_lock(&w->mu);
        influx_update_queued(w);
        if (w->closing && ring_len(&w->q) == 0 && w->in_batch == 0)
            break;
    }
    /* Everything is in the slot or sent: let the sender finish and stop. */
    w->sender_stop = true;
    pthread_cond_broadcast(&w->slot_cv);
    pthread_cond_broadcast(&w->done);
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* ---- public API -------------------------------------------------------- */

static char *url_escape(CURL *c, const char *s)
{
    return curl_easy_escape(c, s, 0);
}

/* The write URL with every parameter escaped. */
static char *build_url(influx_writer *w, char *err, size_t errlen)
{
    const influx_opts *o = &w->o;
    size_t ul = strlen(o->url);
    while (ul > 0 && o->url[ul - 1] == '/')
        ul--;
    bool v2 = o->org && o->bucket;
    static const char *const p1[] = {"ns", "u", "ms", "s"};
    static const char *const p2[] = {"ns", "us", "ms", "s"};
    const char *prec = (v2 ? p2 : p1)[o->precision];
    char *a = url_escape(w->curl, v2 ? o->org : o->database);
    char *b = url_escape(w->curl, v2 ? o->bucket : (o->rp ? o->rp : ""));
    char *out = NULL;
    if (!a || !b) {
        snprintf(err, errlen, "influx: out of memory");
        goto done;
    }
    int n;
    /* the tenant and consistency are digits, a colon and a few words
     * (config checks them): nothing to escape */
    char path[96] = "/write";
    if (o->tenant)
        snprintf(path, sizeof path, "/insert/%s/influx/write", o->tenant);
    char cons[48] = "";
    if (o->consistency)
        snprintf(cons, sizeof cons, "&consistency=%s", o->consistency);
    if (v2)
        n = asprintf(&out, "%.*s/api/v2/write?org=%s&bucket=%s&precision=%s",
                     (int)ul, o->url, a, b, prec);
    else if (o->rp && o->rp[0])
        n = asprintf(&out, "%.*s%s?db=%s&rp=%s&precision=%s%s", (int)ul,
                     o->url, path, a, b, prec, cons);
    else
        n = asprintf(&out, "%.*s%s?db=%s&precision=%s%s", (int)ul, o->url,
                     path, a, prec, cons);
    if (n < 0) {
        out = NULL;
        snprintf(err, errlen, "influx: out of memory");
    }
done:
    curl_free(a);
    curl_free(b);
    return out;
}

static int setup_curl(influx_writer *w, char *err, size_t errlen)
{
    const influx_opts *o = &w->o;
    w->curl = curl_easy_init();
    if (!w->curl) {
        snprintf(err, errlen, "influx: curl_easy_init failed");
        return -1;
    }
    w->write_url = build_url(w, err, errlen);
    if (!w->write_url)
        return -1;
    char *auth = NULL;
    struct curl_slist *h = NULL, *t;
#define ADD(s)                                                               \
    do {                                                                     \
        t = curl_slist_append(h, (s));                                       \
        if (!t)                                                              \
            goto oom;                                                        \
        h = t;                                                               \
    } while (0)
    ADD("Content-Type: text/plain; charset=utf-8");
    ADD("Expect:");                              /* no 100-continue wait */
    if (o->gzip)
        ADD("Content-Encoding: gzip");
    if (o->token && o->token[0]) {
        if (asprintf(&auth, "Authorization: Token %s", o->token) < 0) {
            auth = NULL;
            goto oom;
        }
        ADD(auth);
        free(auth);
        auth = NULL;
    }
#undef ADD
    w->headers = h;
    CURL *c = w->curl;
    curl_easy_setopt(c, CURLOPT_URL, w->write_url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, w->headers);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);   /* threads: no SIGALRM */
    curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, w->curl_err);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, w);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, w);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "lockbridge");
    if (o->username && o->username[0]) {
        curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(c, CURLOPT_USERNAME, o->username);
        curl_easy_setopt(c, CURLOPT_PASSWORD, o->password ? o->password : "");
    }
    return 0;
oom:
    free(auth);
    curl_slist_free_all(h);
    snprintf(err, errlen, "influx: out of memory");
    return -1;
}

static void influx_free(influx_writer *w)
{
    if (w->curl)
        curl_easy_cleanup(w->curl);
    curl_slist_free_all(w->headers);
    spool_close(w->sp);
    if (w->z_ready)
        deflateEnd(&w->z);
    free(w->zbuf);
    lp_buf_free(&w->batch);
    lp_buf_free(&w->slot);
    lp_buf_free(&w->sbatch);
    lp_buf_free(&w->held);
    lp_buf_free(&w->pending);
    lp_buf_free(&w->rest);
    qmap_free(w);
    ring_free(&w->q);
    free(w->chunk);
    free(w->write_url);
    free(w->quarantine_path);
    for (size_t i = 0; i < sizeof w->strs / sizeof *w->strs; i++)
        free(w->strs[i]);
    pthread_cond_destroy(&w->wake);
    pthread_cond_destroy(&w->done);
    pthread_cond_destroy(&w->slot_cv);
    pthread_mutex_destroy(&w->mu);
    free(w);
    curl_global_cleanup();
}

/* The options alone, before anything is allocated: 0, or -1 with the
 * reason in err. */
static int influx_validate(const influx_opts *o, char *err, size_t errlen)
{
    if (!o->url || !o->url[0]) {
        snprintf(err, errlen, "influx: url is required");
        return -1;
    }
    if (strncmp(o->url, "http://", 7) != 0 &&
        strncmp(o->url, "https://", 8) != 0) {
        snprintf(err, errlen, "influx: url '%s' must start with http:// or "
                 "https://", o->url);
        return -1;
    }
    bool v2 = (o->org && o->org[0]) || (o->bucket && o->bucket[0]);
    if (v2 && !(o->org && o->org[0] && o->bucket && o->bucket[0])) {
        snprintf(err, errlen, "influx: org and bucket go together (2.x)");
        return -1;
    }
    if (!v2 && !(o->database && o->database[0])) {
        snprintf(err, errlen, "influx: database (1.x) or org and bucket "
                 "(2.x) is required");
        return -1;
    }
    if (!o->spool_dir || !o->spool_dir[0]) {
        snprintf(err, errlen, "influx: spool_dir is required");
        return -1;
    }
    if ((unsigned)o->precision > LP_S) {
        snprintf(err, errlen, "influx: invalid precision");
        return -1;
    }
    return 0;
}

/* A writer with valid options copied and defaults filled in, its memory
 * allocated, nothing started.  NULL with the reason in err. */
static influx_writer *influx_new(const influx_opts *o, char *err,
                                 size_t errlen)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(err, errlen, "influx: curl_global_init failed");
        return NULL;
    }
    influx_writer *w = calloc(1, sizeof *w);
    if (!w) {
        curl_global_cleanup();
        snprintf(err, errlen, "influx: out of memory");
        return NULL;
    }
    pthread_mutex_init(&w->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->wake, &ca);
    pthread_cond_init(&w->done, &ca);
    pthread_cond_init(&w->slot_cv, &ca);
    pthread_condattr_destroy(&ca);
    lp_buf_init(&w->slot);
    lp_buf_init(&w->sbatch);
    lp_buf_init(&w->batch);
    lp_buf_init(&w->held);
    lp_buf_init(&w->pending);
    lp_buf_init(&w->rest);

    bool v2 = o->org && o->org[0];
    w->o = *o;
    const char **fields[] = {&w->o.url, &w->o.database, &w->o.rp,
                             &w->o.username, &w->o.password, &w->o.org,
                             &w->o.bucket, &w->o.token, &w->o.station,
                             &w->o.spool_dir, &w->o.tenant,
                             &w->o.consistency};
    for (size_t i = 0; i < sizeof fields / sizeof *fields; i++) {
        if (!*fields[i] || (!v2 && (fields[i] == &w->o.org ||
                                    fields[i] == &w->o.bucket))) {
            *fields[i] = NULL;
            continue;
        }
        if (!(w->strs[i] = strdup(*fields[i])))
            goto oom;
        *fields[i] = w->strs[i];
    }
    if (!w->o.batch_points)
        w->o.batch_points = 5000;
    if (!w->o.batch_age_ns)
        w->o.batch_age_ns = NS_PER_S;
    if (!w->o.timeout_ns)
        w->o.timeout_ns = 10 * NS_PER_S;
    if (!w->o.spool_max_bytes)
        w->o.spool_max_bytes = 1ull << 30;
    if (!w->o.queue_cap)
        w->o.queue_cap = 1000000;
    if (!w->o.backoff_min_ns)
        w->o.backoff_min_ns = NS_PER_S;
    if (!w->o.backoff_max_ns)
        w->o.backoff_max_ns = 60 * NS_PER_S;
    if (w->o.backoff_max_ns < w->o.backoff_min_ns)
        w->o.backoff_max_ns = w->o.backoff_min_ns;
    w->auth_retry_ns = w->o.backoff_max_ns / 2;
    if (w->auth_retry_ns < w->o.backoff_min_ns)
        w->auth_retry_ns = w->o.backoff_min_ns;
    uint64_t seed = clk_mono_ns() ^ (uint64_t)(uintptr_t)w;
    backoff_init(&w->db_bo, w->o.backoff_min_ns, w->o.backoff_max_ns, seed);
    backoff_init(&w->disk_bo, INFLUX_DISK_RETRY_MIN, INFLUX_DISK_RETRY_MAX,
                 seed + 1);

    w->chunk = calloc(INFLUX_CHUNK, sizeof *w->chunk);
    if (!w->chunk ||
        ring_init(&w->q, sizeof(influx_point), INFLUX_CHUNK,
                  w->o.queue_cap) < 0 ||
        asprintf(&w->quarantine_path, "%s/quarantine.lp", w->o.spool_dir) < 0) {
        w->quarantine_path = NULL;
        goto oom;
    }
    return w;
oom:
    snprintf(err, errlen, "influx: out of memory");
    influx_free(w);
    return NULL;
}

/* Connects the pieces that touch the outside (curl, the spool, replaying
 * what an earlier run left) and starts both threads.  0, or -1 with the
 * reason in err (nothing is left running). */
static int influx_start(influx_writer *w, char *err, size_t errlen)
{
    if (setup_curl(w, err, errlen) < 0)
        return -1;
    w->sp = spool_open(w->o.spool_dir, w->o.spool_max_bytes, err, errlen);
    if (!w->sp)
        return -1;
    influx_sync_spool_stats(w);
    w->down = influx_spool_busy(w);      /* a spool left by an earlier run */
    int rc = pthread_create(&w->sender, NULL, influx_sender_main, w);
    if (rc != 0) {
        snprintf(err, errlen, "influx: pthread_create: %s", strerror(rc));
        return -1;
    }
    w->sender_started = true;
    rc = pthread_create(&w->encoder, NULL, influx_encoder_main, w);
    if (rc != 0) {
        snprintf(err, errlen, "influx: pthread_create: %s", strerror(rc));
        pthread_mutex_lock(&w->mu);
        w->sender_stop = true;
        pthread_cond_broadcast(&w->slot_cv);
        pthread_mutex_unlock(&w->mu);
        pthread_join(w->sender, NULL);
        w->sender_started = false;
        return -1;
    }
    w->encoder_started = true;
    return 0;
}

influx_writer *influx_open(const influx_opts *o, char *err, size_t errlen)
{
    if (influx_validate(o, err, errlen) < 0)
        return NULL;
    influx_writer *w = influx_new(o, err, errlen);
    if (!w)
        return NULL;
    if (influx_start(w, err, errlen) < 0) {
        influx_free(w);
        return NULL;
    }
    return w;
}

void influx_close(influx_writer *w)
{
    if (!w)
        return;
    if (w->encoder_started) {
        pthread_mutex_lock(&w->mu);
        w->stop = true;
        pthread_cond_signal(&w->wake);
        pthread_mutex_unlock(&w->mu);
        pthread_join(w->encoder, NULL);
    }
    if (w->sender_started)
        pthread_join(w->sender, NULL);
    influx_free(w);
}

size_t influx_submit(influx_writer *w, const influx_point *p, size_t n)
{
    size_t i = 0;
    pthread_mutex_lock(&w->mu);
    w->st.submitted += n;
    /* At the bound the newest are refused (influx.h says why). */
    while (i < n && ring_push(&w->q, &p[i]) == 0)
        i++;
    w->accepted += i;
    w->st.dropped += n - i;
    influx_update_queued(w);
    if (i > 0)
        pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->mu);
    return i;
}

int influx_flush(influx_writer *w, uint64_t timeout_ns)
{
    uint64_t deadline = clk_mono_ns() + timeout_ns;
    struct timespec ts = {
        .tv_sec = (time_t)(deadline / NS_PER_S),
        .tv_nsec = (long)(deadline % NS_PER_S),
    };
    pthread_mutex_lock(&w->mu);
    uint64_t target = w->accepted;
    w->flush_req++;
    pthread_cond_signal(&w->wake);
    int rc = 0;
    while (w->processed < target && rc == 0 && !w->closing)
        rc = pthread_cond_timedwait(&w->done, &w->mu, &ts);
    int out = w->processed >= target && w->st.spooled_points == 0 ? 0 : -1;
    pthread_mutex_unlock(&w->mu);
    return out;
}

void influx_get_stats(influx_writer *w, influx_stats *out)
{
    pthread_mutex_lock(&w->mu);
    *out = w->st;
    out->queue_bytes = ring_bytes(&w->q);
    out->queue_max_bytes = w->o.queue_cap * sizeof(influx_point);
    pthread_mutex_unlock(&w->mu);
}
