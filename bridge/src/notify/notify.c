/*
 * notify.c - the delivery thread (notify.h).
 *
 * The loop: take what is queued; route it and write its rows (before any
 * attempt); deliver every group that is due, one message each, writing
 * each result before the next; sleep until the next row is due or an
 * event arrives.  Events that cannot be written (a failing disk) are held
 * and written again before anything else, so the order stays and nothing
 * is attempted that is not on disk.
 */
#include "notify/notify.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/backoff.h"
#include "core/clock.h"
#include "core/ring.h"
#include "notify/message.h"
#include "notify/rota.h"
#include "notify/route.h"

#define NOTIFY_QUEUE_DEFAULT 4096
/* Events routed per transaction: each may make ROUTE_ROWS_MAX rows, all
 * of which must fit the row buffer. */
#define NOTIFY_TAKE 16
#define NOTIFY_GROUP_MAX 100      /* notifications in one message */
#define NOTIFY_RETRY_MIN_NS 2000000000ull
#define NOTIFY_RETRY_MAX_NS 300000000000ull
#define NOTIFY_IDLE_NS 60000000000ll   /* wake at least this often */

struct notify {
    const map_station *st;
    const map_notify *nf;
    const acklink *acklink;       /* NULL: messages carry no links */
    void (*log)(void *, notify_level, const char *);
    void *log_ctx;
    nj *j;
    rota *rota;
    chan_secrets *secrets;        /* per channel */
    backoff *retry;               /* per channel; the thread's */

    pthread_mutex_t mu;           /* q, stop, queued */
    pthread_cond_t wake;
    ring q;                       /* nj_alarm */
    bool stop, started;
    pthread_t th;

    /* the thread's own */
    nj_alarm *held;               /* taken but not yet written */
    size_t n_held;
    nj_row *rows, *batch;
    nj_stop *stops;               /* of held: NOTIFY_TAKE */
    /* An attempt whose result could not be written (a failing disk): it
     * is written before anything else is sent, so a message that went
     * out is never sent again for want of its mark. */
    nj_row *um;
    size_t n_um;
    bool um_ok;
    char um_answer[sizeof(((chan_result *)0)->answer)];
    int64_t um_done, um_next;

    atomic_uint_fast64_t submitted, dropped, sent, failed, nobody;
    struct notify_chan_health *health;   /* per channel */
};

/* A channel's attempts, for its own alarm (notify_channel_health): the
 * thread writes, the consumer thread reads. */
struct notify_chan_health {
    atomic_uint_fast64_t attempts, ok;
    atomic_uint_fast32_t failing;        /* failed in a row since the last
                                            success */
};
static void notify_count(notify *n, size_t ci, bool ok);

static void notify_say(notify *n, notify_level lv, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void notify_say(notify *n, notify_level lv, const char *fmt, ...)
{
    if (!n->log)
        return;
    char msg[1400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    n->log(n->log_ctx, lv, msg);
}

static void notify_warn_cb(void *ctx, const char *msg)
{
    notify_say(ctx, NOTIFY_WARN, "%s", msg);
}

notify *notify_open(const notify_opts *o, char *err, size_t errlen)
{
    notify *n = calloc(1, sizeof *n);
    if (!n) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    n->st = o->st;
    n->nf = &o->st->notify;
    n->acklink = o->acklink;
    n->log = o->log;
    n->log_ctx = o->log_ctx;
    pthread_mutex_init(&n->mu, NULL);
    pthread_cond_init(&n->wake, NULL);
    size_t nc = n->nf->n_channels ? n->nf->n_channels : 1;
    size_t cap = o->queue_cap ? o->queue_cap : NOTIFY_QUEUE_DEFAULT;
    n->secrets = calloc(nc, sizeof *n->secrets);
    n->retry = calloc(nc, sizeof *n->retry);
    n->held = calloc(NOTIFY_TAKE, sizeof *n->held);
    n->rows = calloc(NOTIFY_TAKE * ROUTE_ROWS_MAX, sizeof *n->rows);
    n->batch = calloc(NOTIFY_GROUP_MAX, sizeof *n->batch);
    n->um = calloc(NOTIFY_GROUP_MAX, sizeof *n->um);
    n->stops = calloc(NOTIFY_TAKE, sizeof *n->stops);
    n->health = calloc(nc, sizeof *n->health);
    if (!n->secrets || !n->retry || !n->held || !n->rows || !n->batch ||
        !n->um || !n->stops || !n->health ||
        ring_init(&n->q, sizeof(nj_alarm), 16, cap) < 0 ||
        !(n->rota = rota_new(n->nf))) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < n->nf->n_channels; i++) {
        backoff_init(&n->retry[i], NOTIFY_RETRY_MIN_NS, NOTIFY_RETRY_MAX_NS,
                     (uint64_t)(uintptr_t)n + i);
        if (chan_resolve(&n->nf->channels[i], &n->secrets[i], err,
                         errlen) < 0)
            goto fail;
    }
    n->j = nj_open(n->nf->journal, notify_warn_cb, n, err, errlen);
    if (!n->j)
        goto fail;
    return n;
fail:
    notify_close(n);
    return NULL;
}

static const map_channel *notify_channel(const notify *n, const char *id,
                                         size_t *idx)
{
    for (size_t i = 0; i < n->nf->n_channels; i++)
        if (strcmp(n->nf->channels[i].id, id) == 0) {
            *idx = i;
            return &n->nf->channels[i];
        }
    return NULL;
}

/* Who an acknowledge link acknowledges as (notify_send's rule). */
static const char *notify_link_to(const map_station *st, const map_channel *c,
                                  const char *recipient,
                                  const map_person *mention)
{
    const map_notify *nf = &st->notify;
    if (c->type == MAP_CH_EMAIL) {
        for (size_t i = 0; i < nf->n_people; i++)
            if (nf->people[i].email &&
                strcmp(nf->people[i].email, recipient) == 0)
                return nf->people[i].id;
        return recipient;
    }
    return mention ? mention->id : c->id;
}

/* links[i]: rows[i]'s acknowledge link (an activation's), malloc'd; NULL
 * for the others and when there is no key or public_url. */
static void notify_links(const map_station *st, const map_channel *c,
                         const char *recipient, const map_person *mention,
                         const acklink *k, const nj_row *rows, size_t n,
                         int64_t now_ns, char **links)
{
    const char *base = st->notify.public_url;
    for (size_t i = 0; i < n; i++)
        links[i] = NULL;
    if (!k || !base)
        return;
    size_t bl = strlen(base);
    while (bl && base[bl - 1] == '/')
        bl--;
    const char *to = notify_link_to(st, c, recipient, mention);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(rows[i].a.event, "active") != 0)
            continue;
        acklink_claim cl = {.notification = (uint64_t)rows[i].id,
                            .expires_s = now_ns / 1000000000LL +
                                         ACKLINK_DEFAULT_TTL_S};
        /* an id or recipient too long to sign gets no link (ids are
         * far shorter in any real map) */
        size_t na = strlen(rows[i].a.alarm), nt = strlen(to);
        if (na >= sizeof cl.alarm || nt >= sizeof cl.to)
            continue;
        memcpy(cl.alarm, rows[i].a.alarm, na + 1);
        memcpy(cl.to, to, nt + 1);
        char token[ACKLINK_TOKEN_MAX];
        if (acklink_make(k, &cl, token, sizeof token) < 0)
            continue;
        size_t len = bl + 7 + strlen(token) + 1;
        if ((links[i] = malloc(len)))
            snprintf(links[i], len, "%.*s/#/ack/%s", (int)bl, base, token);
    }
}

void notify_send(const map_station *st, const map_channel *c,
                 const chan_secrets *s, const char *recipient,
                 const map_person *mention, const acklink *k,
                 const nj_row *rows, size_t n, int64_t now_ns,
                 chan_result *out)
{
    memset(out, 0, sizeof *out);
    char **links = calloc(n ? n : 1, sizeof *links);
    if (!links) {
        snprintf(out->answer, sizeof out->answer, "out of memory");
        return;
    }
    notify_links(st, c, recipient, mention, k, rows, n, now_ns, links);
    const char *const *lk = (const char *const *)links;
    if (c->type == MAP_CH_EMAIL) {
        const char *to[1] = {recipient};
        char *mail = nmsg_email(st, c->from, to, 1, rows, n, lk, now_ns);
        if (!mail)
            snprintf(out->answer, sizeof out->answer, "out of memory");
        else
            chan_email(c, s, to, 1, mail, out);
        free(mail);
    } else if (c->type == MAP_CH_WEBHOOK) {
        char *body = nmsg_webhook(st, rows, n, lk, now_ns);
        if (!body)
            snprintf(out->answer, sizeof out->answer, "out of memory");
        else
            chan_webhook(c, s, body, out);
        free(body);
    } else if (c->type == MAP_CH_WECOM || c->type == MAP_CH_DINGTALK) {
        char *body = nmsg_robot(st, c->type, mention, rows, n, lk);
        if (!body)
            snprintf(out->answer, sizeof out->answer, "out of memory");
        else
            chan_robot(c, s, body, now_ns / 1000000, out);
        free(body);
    } else {
        /* config refuses mqtt; a row naming it is from a newer map */
        snprintf(out->answer, sizeof out->answer, "channel type %s is not "
                 "delivered by this version", map_channel_type_name(c->type));
    }
    for (size_t i = 0; i < n; i++)
        free(links[i]);
    free(links);
}

/* A row's line in the log: a message due, or an escalation step. */
static void notify_say_row(notify *n, const nj_row *r, int64_t now)
{
    if (r->step)
        notify_say(n, NOTIFY_INFO, "%s %s: escalation to level %d due in "
                   "%.0f s unless acknowledged", r->a.alarm, r->a.event,
                   r->level, (double)(r->next_ns - now) / 1e9);
    else
        notify_say(n, NOTIFY_INFO, "%s %s: to %s%s%s%s, due in %.0f s",
                   r->a.alarm, r->a.event, r->channel,
                   r->recipient[0] ? " " : "", r->recipient,
                   r->level >= 2 ? " (escalated)" : "",
                   (double)(r->next_ns - now) / 1e9);
}

/* Routes the held events and writes their rows, the stops among them
 * (cancelled escalations, acknowledgement messages) and the cursor: 0,
 * or -1 (held kept for the next try). */
static int notify_write_held(notify *n)
{
    if (!n->n_held)
        return 0;
    size_t nr = 0, ns = 0;
    int64_t now = clk_real_ns();
    for (size_t i = 0; i < n->n_held; i++) {
        const nj_alarm *a = &n->held[i];
        route_info info;
        size_t nr0 = nr;
        nr += route_event(n->nf, n->rota, a, now, n->rows + nr,
                          ROUTE_ROWS_MAX, &info);
        if (info.nobody_on_call) {
            atomic_fetch_add(&n->nobody, 1);
            notify_say(n, NOTIFY_WARN, "%s %s: route %ld notifies oncall, "
                       "but nobody with an email is on call at level 1 now",
                       a->alarm, a->event, info.route + 1);
        }
        if (info.own_skipped && nr == nr0)
            notify_say(n, NOTIFY_WARN, "%s %s: route %ld names only the "
                       "channel that is failing: nobody is told", a->alarm,
                       a->event, info.route + 1);
        if (a->stop) {
            nj_stop *s = &n->stops[ns++];
            memset(s, 0, sizeof *s);
            s->a = *a;
            s->tell = strcmp(a->event, "ack") == 0;
            if (s->tell)
                nmsg_ack_text(a, s->a.msg_en, sizeof s->a.msg_en,
                              s->a.msg_zh, sizeof s->a.msg_zh);
            s->created_ns = now;
            s->next_ns = now + (int64_t)n->nf->group_wait_ns;
        }
    }
    const nj_alarm *last = &n->held[n->n_held - 1];
    char err[512];
    if (nj_add(n->j, n->rows, nr, n->stops, ns, last->rec_seq, last->ts_ns,
               err, sizeof err) < 0) {
        notify_say(n, NOTIFY_ERROR, "journal: %s (%zu events held, "
                   "retried)", err, n->n_held);
        return -1;
    }
    for (size_t i = 0; i < nr; i++)
        notify_say_row(n, &n->rows[i], now);
    /* Acknowledgements only: every return to normal is a stop too, and
     * most have nothing to stop. */
    for (size_t i = 0; i < ns; i++)
        if (n->stops[i].tell)
            notify_say(n, NOTIFY_INFO, "%s acknowledged by %s: its "
                       "escalation and unsent pages stopped, told to "
                       "everyone notified of it", n->stops[i].a.alarm,
                       n->stops[i].a.by[0] ? n->stops[i].a.by : "?");
    n->n_held = 0;
    return 0;
}

/* The escalation steps due now: each turned into the mail to its level's
 * person on call now and the next step, in one transaction with the
 * step's end.  Called only when every event handed in is on disk, so an
 * acknowledgement that arrived first has cancelled its steps. */
static void notify_escalate(notify *n)
{
    nj_row steps[NOTIFY_TAKE], rows[2];
    int64_t now = clk_real_ns();
    size_t k = nj_steps_due(n->j, now, steps, NOTIFY_TAKE);
    for (size_t i = 0; i < k; i++) {
        route_info info;
        size_t nr = route_step(n->nf, n->rota, &steps[i], now, rows, 2,
                               &info);
        char err[512];
        int rc = nj_step_done(n->j, &steps[i], rows, nr, err, sizeof err);
        if (rc < 0) {
            notify_say(n, NOTIFY_ERROR, "journal: %s (escalation of %s "
                       "retried)", err, steps[i].a.alarm);
            return;
        }
        if (rc == 0)
            continue;
        if (info.nobody_on_call) {
            atomic_fetch_add(&n->nobody, 1);
            notify_say(n, NOTIFY_WARN, "%s: escalation to level %d, but "
                       "nobody with an email is on call at that level now",
                       steps[i].a.alarm, steps[i].level);
        }
        for (size_t r = 0; r < nr; r++)
            notify_say_row(n, &rows[r], now);
    }
}

/* Takes what is queued into held (up to its room). */
static void notify_take(notify *n)
{
    pthread_mutex_lock(&n->mu);
    n->n_held += ring_pop(&n->q, n->held + n->n_held,
                          NOTIFY_TAKE - n->n_held);
    pthread_mutex_unlock(&n->mu);
}

/* The held result of the last attempt written: 0, or -1 (still held). */
static int notify_write_mark(notify *n)
{
    char err[512];
    if (!n->n_um)
        return 0;
    if (nj_mark(n->j, n->um, n->n_um, n->um_ok, n->um_answer, n->um_done,
                n->um_next, err, sizeof err) < 0) {
        notify_say(n, NOTIFY_ERROR, "journal: %s (the result of the last "
                   "attempt is held; nothing more is sent until it is "
                   "written)", err);
        return -1;
    }
    n->n_um = 0;
    return 0;
}

/* One due group, if there is one: sent and its result written.  true
 * when a group was tried. */
static bool notify_deliver_one(notify *n)
{
    if (notify_write_mark(n) < 0)
        return false;
    int64_t now = clk_real_ns();
    size_t k = nj_batch(n->j, now, n->batch, NOTIFY_GROUP_MAX);
    if (!k)
        return false;
    size_t ci = 0;
    const map_channel *c = notify_channel(n, n->batch[0].channel, &ci);
    chan_result res;
    if (c) {
        /* a robot names the person on call now */
        long p = n->nf->n_oncall
                     ? rota_who(n->rota, n->nf->oncall[0].level,
                                now / 1000000000)
                     : -1;
        notify_send(n->st, c, &n->secrets[ci], n->batch[0].recipient,
                    p >= 0 ? &n->nf->people[p] : NULL, n->acklink, n->batch,
                    k, now, &res);
    } else {
        memset(&res, 0, sizeof res);
        snprintf(res.answer, sizeof res.answer, "channel '%s' is no longer "
                 "in the map", n->batch[0].channel);
    }
    int64_t done = clk_real_ns(), next = done;
    if (res.ok) {
        if (c)
            backoff_reset(&n->retry[ci]);
        notify_count(n, c ? ci : SIZE_MAX, true);
        atomic_fetch_add(&n->sent, 1);
        notify_say(n, NOTIFY_INFO, "sent %zu notification%s to %s%s%s: %s",
                   k, k == 1 ? "" : "s", n->batch[0].channel,
                   n->batch[0].recipient[0] ? " " : "", n->batch[0].recipient,
                   res.answer);
    } else {
        next = done + (int64_t)(c ? backoff_next(&n->retry[ci])
                                  : NOTIFY_RETRY_MAX_NS);
        notify_count(n, c ? ci : SIZE_MAX, false);
        atomic_fetch_add(&n->failed, 1);
        notify_say(n, NOTIFY_WARN, "%s%s%s: attempt %d at %zu notification%s "
                   "failed: %s; retry in %.0f s", n->batch[0].channel,
                   n->batch[0].recipient[0] ? " " : "", n->batch[0].recipient,
                   n->batch[0].attempts + 1, k, k == 1 ? "" : "s", res.answer,
                   (double)(next - done) / 1e9);
    }
    memcpy(n->um, n->batch, k * sizeof *n->um);
    n->n_um = k;
    n->um_ok = res.ok;
    snprintf(n->um_answer, sizeof n->um_answer, "%s", res.answer);
    n->um_done = done;
    n->um_next = next;
    notify_write_mark(n);
    return true;
}

static void *notify_main(void *arg)
{
    notify *n = arg;
    pthread_setname_np(pthread_self(), "notify");
    for (;;) {
        pthread_mutex_lock(&n->mu);
        bool stop = n->stop;
        pthread_mutex_unlock(&n->mu);
        if (stop)
            break;
        notify_take(n);
        bool written = notify_write_held(n) == 0;
        /* Delivery only once every event taken is on disk: what goes
         * out is what a restart knows of. */
        bool first = true;
        while (written) {
            pthread_mutex_lock(&n->mu);
            stop = n->stop;
            bool more = ring_len(&n->q) > 0;
            pthread_mutex_unlock(&n->mu);
            if (stop || more)
                break;
            if (first)
                notify_escalate(n);
            first = false;
            if (!notify_deliver_one(n))
                break;
        }
        int64_t due = 0, now = clk_real_ns();
        int64_t until = now + NOTIFY_IDLE_NS;
        if (!written || n->n_um)
            until = now + 1000000000ll;   /* the disk: try again soon */
        else if (nj_next_due(n->j, &due) && due < until)
            until = due;
        /* A due row that nj_batch did not hand out (the file failing to
         * read), or a step that fell due since notify_escalate, must not
         * make this a busy loop: the next turn takes it. */
        if (until <= now) {
            pthread_mutex_lock(&n->mu);
            bool more = ring_len(&n->q) > 0;
            pthread_mutex_unlock(&n->mu);
            if (!more && nj_batch(n->j, now, n->batch, 1) == 0)
                until = now + 1000000000ll;
        }
        pthread_mutex_lock(&n->mu);
        if (!n->stop && !ring_len(&n->q) && until > now) {
            struct timespec ts = {.tv_sec = until / 1000000000,
                                  .tv_nsec = until % 1000000000};
            pthread_cond_timedwait(&n->wake, &n->mu, &ts);
        }
        pthread_mutex_unlock(&n->mu);
    }
    /* What was handed in (and the last result) reaches the journal: it
     * is delivered after the restart. */
    notify_write_mark(n);
    notify_take(n);
    notify_write_held(n);
    return NULL;
}

int notify_start(notify *n)
{
    char err[256];
    /* Rows waiting for a later retry are due now (notify.h). */
    if (nj_mark_due_now(n->j, clk_real_ns(), err, sizeof err) < 0)
        notify_say(n, NOTIFY_WARN, "journal: %s", err);
    int e = pthread_create(&n->th, NULL, notify_main, n);
    if (e) {
        errno = e;
        return -1;
    }
    n->started = true;
    return 0;
}

void notify_close(notify *n)
{
    if (!n)
        return;
    if (n->started) {
        pthread_mutex_lock(&n->mu);
        n->stop = true;
        pthread_cond_signal(&n->wake);
        pthread_mutex_unlock(&n->mu);
        pthread_join(n->th, NULL);
    }
    nj_close(n->j);
    rota_free(n->rota);
    if (n->secrets)
        for (size_t i = 0; i < n->nf->n_channels; i++)
            chan_secrets_free(&n->secrets[i]);
    free(n->secrets);
    free(n->retry);
    free(n->held);
    free(n->rows);
    free(n->batch);
    free(n->um);
    free(n->stops);
    free(n->health);
    ring_free(&n->q);
    pthread_cond_destroy(&n->wake);
    pthread_mutex_destroy(&n->mu);
    free(n);
}

int notify_submit(notify *n, const nj_alarm *a)
{
    pthread_mutex_lock(&n->mu);
    int rc = ring_push(&n->q, a);
    if (rc == 0)
        pthread_cond_signal(&n->wake);
    pthread_mutex_unlock(&n->mu);
    atomic_fetch_add(rc == 0 ? &n->submitted : &n->dropped, 1);
    return rc;
}

int notify_cursor(notify *n, uint64_t *seq, int64_t *ts, char *err,
                  size_t errlen)
{
    return nj_cursor(n->j, seq, ts, err, errlen);
}

int notify_set_cursor(notify *n, uint64_t seq, int64_t ts, char *err,
                      size_t errlen)
{
    return nj_add(n->j, NULL, 0, NULL, 0, seq, ts, err, errlen);
}

void notify_get_stats(notify *n, notify_stats *out)
{
    out->submitted = atomic_load(&n->submitted);
    out->dropped = atomic_load(&n->dropped);
    out->sent = atomic_load(&n->sent);
    out->failed = atomic_load(&n->failed);
    out->nobody = atomic_load(&n->nobody);
    pthread_mutex_lock(&n->mu);
    out->queued = ring_len(&n->q);
    pthread_mutex_unlock(&n->mu);
}

/* ---- a channel's health (its own alarm) --------------------------------- */

/* ci SIZE_MAX: a channel no longer in the map, which has no alarm. */
static void notify_count(notify *n, size_t ci, bool ok)
{
    if (ci >= n->nf->n_channels)
        return;
    struct notify_chan_health *h = &n->health[ci];
    if (ok) {
        atomic_store(&h->failing, 0);
        atomic_fetch_add(&h->ok, 1);
    } else {
        atomic_fetch_add(&h->failing, 1);
    }
    atomic_fetch_add(&h->attempts, 1);
}

void notify_channel_health(notify *n, size_t idx, notify_health *out)
{
    memset(out, 0, sizeof *out);
    if (!n || idx >= n->nf->n_channels)
        return;
    const struct notify_chan_health *h = &n->health[idx];
    out->attempts = atomic_load(&h->attempts);
    out->ok = atomic_load(&h->ok);
    out->failing = (uint32_t)atomic_load(&h->failing);
}

alarm_cond notify_health_cond(const notify_health *h, unsigned after)
{
    if (after && h->failing >= after)
        return ALARM_COND_TRUE;
    /* Failures fewer than `after` since the start say nothing: those
     * before the restart are not known here. */
    return h->ok ? ALARM_COND_FALSE : ALARM_COND_UNKNOWN;
}
