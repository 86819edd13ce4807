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
#include "notify/mqtt.h"
#include "notify/rota.h"
#include "notify/route.h"

#define NOTIFY_QUEUE_DEFAULT 4096
/* Events routed per transaction: each may make ROUTE_ROWS_MAX rows, all
 * of which must fit the row buffer. */
#define NOTIFY_TAKE 16
#define NOTIFY_GROUP_MAX NOTIFY_MSG_ROWS_MAX   /* in one message */
#define NOTIFY_RETRY_MIN_NS 2000000000ull
#define NOTIFY_RETRY_MAX_NS 300000000000ull
#define NOTIFY_IDLE_NS 60000000000ll   /* wake at least this often */
/* A flood, for one channel and recipient: more than this many
 * activations in NOTIFY_FLOOD_NS.  Then its messages go out at most once
 * per group.interval, each a summary of what arrived meanwhile. */
#define NOTIFY_FLOOD_COUNT 10
#define NOTIFY_FLOOD_NS 600000000000ll

/* A channel's rate limit: the times of its last `cap` attempts. */
typedef struct {
    int64_t *t;
    unsigned cap, n, next;    /* when full, t[next] is the oldest */
    int64_t said;             /* the hold last logged */
} notify_rate;

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
    notify_rate *rate;            /* per channel; the thread's */

    pthread_mutex_t mu;           /* q, stop, behind, refused, summary */
    pthread_cond_t wake;
    /* The newest retained summary (notify_set_summary) and its number;
     * summary_seen: the number the thread last looked at. */
    char *summary;
    uint64_t summary_gen, summary_seen;
    ring q;                       /* nj_alarm */
    bool stop, started;
    bool behind;                  /* the queue overflowed: replay */
    uint64_t refused;             /* events refused while behind */
    long (*replay)(void *, uint64_t, int64_t,
                   void (*)(void *, const nj_alarm *), void *, char *,
                   size_t);
    void *replay_ctx;
    int64_t prune_at;             /* the thread's: next retention pass */
    /* the thread's: the last event taken (seq order; the cursor at
     * start), and a replay that could not hold what it read */
    uint64_t seen_seq;
    int64_t seen_ts;
    bool replay_short;
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

    atomic_uint_fast64_t submitted, dropped, sent, failed, nobody, held_back;
    atomic_uint_fast64_t deferred, replayed;
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
    n->replay = o->replay;
    n->replay_ctx = o->replay_ctx;
    n->log = o->log;
    n->log_ctx = o->log_ctx;
    pthread_mutex_init(&n->mu, NULL);
    pthread_cond_init(&n->wake, NULL);
    size_t nc = n->nf->n_channels ? n->nf->n_channels : 1;
    size_t cap = o->queue_cap ? o->queue_cap : NOTIFY_QUEUE_DEFAULT;
    n->secrets = calloc(nc, sizeof *n->secrets);
    n->retry = calloc(nc, sizeof *n->retry);
    n->rate = calloc(nc, sizeof *n->rate);
    n->held = calloc(NOTIFY_TAKE, sizeof *n->held);
    n->rows = calloc(NOTIFY_TAKE * ROUTE_ROWS_MAX, sizeof *n->rows);
    n->batch = calloc(NOTIFY_GROUP_MAX, sizeof *n->batch);
    n->um = calloc(NOTIFY_GROUP_MAX, sizeof *n->um);
    n->stops = calloc(NOTIFY_TAKE, sizeof *n->stops);
    n->health = calloc(nc, sizeof *n->health);
    if (!n->secrets || !n->retry || !n->rate || !n->held || !n->rows ||
        !n->batch || !n->um || !n->stops || !n->health ||
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
        if (n->nf->channels[i].type == MAP_CH_MQTT &&
            !(n->secrets[i].mqtt = nmqtt_new(n->st, &n->nf->channels[i],
                                             &n->secrets[i], NULL, err,
                                             errlen)))
            goto fail;
    }
    n->j = nj_open(n->nf->journal, notify_warn_cb, n, err, errlen);
    if (!n->j)
        goto fail;
    /* A rate limit counts the attempts of before a restart too: a robot
     * does. */
    for (size_t i = 0; i < n->nf->n_channels; i++) {
        const map_channel *c = &n->nf->channels[i];
        notify_rate *r = &n->rate[i];
        if (!c->rate_messages)
            continue;
        if (!(r->t = calloc(c->rate_messages, sizeof *r->t))) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
        r->cap = c->rate_messages;
        size_t k = nj_recent_attempts(n->j, c->id, r->t, r->cap);
        for (size_t a = 0, b = k ? k - 1 : 0; a < b; a++, b--) {
            int64_t x = r->t[a];
            r->t[a] = r->t[b];
            r->t[b] = x;
        }
        r->n = (unsigned)k;
        r->next = (unsigned)(k % r->cap);
    }
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
        if (strcmp(rows[i].a.event, "active") != 0 &&
            strcmp(rows[i].a.event, "repeat") != 0)
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

/* body published on c's topic, not retained: through the channel's kept
 * connection, or (notify test) one made for it. */
static void notify_mqtt_send(const map_station *st, const map_channel *c,
                             const chan_secrets *s, const char *body,
                             chan_result *out)
{
    if (s->mqtt) {
        nmqtt_publish(s->mqtt, c->topic, body, false, out);
        return;
    }
    nmqtt *m = nmqtt_new(st, c, s, "-test", out->answer, sizeof out->answer);
    if (m)
        nmqtt_publish(m, c->topic, body, false, out);
    nmqtt_free(m);
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
        char *body = c->action_card
                         ? nmsg_dingtalk_card(st, mention, rows, n, lk)
                         : nmsg_robot(st, c->type, mention, rows, n, lk);
        if (!body)
            snprintf(out->answer, sizeof out->answer, "out of memory");
        else
            chan_robot(c, s, body, now_ns / 1000000, out);
        free(body);
    } else if (c->type == MAP_CH_MQTT) {
        char *body = nmsg_webhook(st, rows, n, lk, now_ns);
        if (!body)
            snprintf(out->answer, sizeof out->answer, "out of memory");
        else
            notify_mqtt_send(st, c, s, body, out);
        free(body);
    } else {
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
    if (r->step && r->repeat)
        notify_say(n, NOTIFY_INFO, "%s %s: reminder %d due in %.0f s "
                   "unless acknowledged or cleared", r->a.alarm, r->a.event,
                   r->repeat, (double)(r->next_ns - now) / 1e9);
    else if (r->step)
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
        bool clear = strcmp(a->event, "clear") == 0;
        if (a->stop || clear) {
            nj_stop *s = &n->stops[ns++];
            memset(s, 0, sizeof *s);
            s->a = *a;
            s->repeats_only = !a->stop;
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

/* A due reminder: the activation again to everyone it was sent to, and
 * the next reminder's step, with the step's end. */
static void notify_remind(notify *n, const nj_row *step, int64_t now)
{
    nj_row next;
    size_t nn = route_repeat_next(n->nf, step, now, &next);
    char err[512];
    int copies = 0;
    int rc = nj_repeat_done(n->j, step, nn ? &next : NULL, now, &copies, err,
                            sizeof err);
    if (rc < 0)
        notify_say(n, NOTIFY_ERROR, "journal: %s (reminder of %s retried)",
                   err, step->a.alarm);
    else if (rc > 0)
        notify_say(n, NOTIFY_INFO, "%s: still active and not acknowledged: "
                   "reminder %d to %d recipient%s%s", step->a.alarm,
                   step->repeat, copies, copies == 1 ? "" : "s",
                   nn ? "" : " (the last: its route no longer repeats)");
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
        if (steps[i].repeat) {
            notify_remind(n, &steps[i], now);
            continue;
        }
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

/* a into held, unless it was taken already (a replay and the queue
 * may both have it): 1 taken, 0 skipped. */
static int notify_hold(notify *n, const nj_alarm *a)
{
    if (a->rec_seq <= n->seen_seq)
        return 0;
    n->held[n->n_held++] = *a;
    n->seen_seq = a->rec_seq;
    n->seen_ts = a->ts_ns;
    return 1;
}

/* Takes what is queued into held (up to its room). */
static void notify_take(notify *n)
{
    nj_alarm got[NOTIFY_TAKE];
    pthread_mutex_lock(&n->mu);
    size_t k = ring_pop(&n->q, got, NOTIFY_TAKE - n->n_held);
    pthread_mutex_unlock(&n->mu);
    for (size_t i = 0; i < k; i++)
        notify_hold(n, &got[i]);
}

/* A replayed record: held, and held written whenever it is full. */
static void notify_replay_emit(void *ctx, const nj_alarm *a)
{
    notify *n = ctx;
    if (n->replay_short)
        return;   /* the next pass reads it again */
    if (n->n_held == NOTIFY_TAKE && notify_write_held(n) < 0) {
        n->replay_short = true;
        return;
    }
    atomic_fetch_add(&n->replayed, notify_hold(n, a));
}

/* Behind, and the queue written: what was refused, from the alarm
 * journal; no longer behind when nothing was refused meanwhile. */
static void notify_replay(notify *n)
{
    pthread_mutex_lock(&n->mu);
    bool go = n->behind && ring_len(&n->q) == 0;
    uint64_t gen = n->refused;
    pthread_mutex_unlock(&n->mu);
    if (!go || n->n_held)
        return;
    char err[512];
    uint64_t before = atomic_load(&n->replayed);
    n->replay_short = false;
    if (n->replay(n->replay_ctx, n->seen_seq, n->seen_ts, notify_replay_emit,
                  n, err, sizeof err) < 0) {
        notify_say(n, NOTIFY_ERROR, "the queue overflowed and the alarm "
                   "journal cannot be read back: %s (retried)", err);
        return;
    }
    if (notify_write_held(n) < 0 || n->replay_short)
        return;
    pthread_mutex_lock(&n->mu);
    bool done = n->refused == gen;
    if (done)
        n->behind = false;
    pthread_mutex_unlock(&n->mu);
    notify_say(n, NOTIFY_INFO, "the queue overflowed: %llu events read "
               "back from the alarm journal%s",
               (unsigned long long)(atomic_load(&n->replayed) - before),
               done ? ", caught up" : ", more to read");
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

static void notify_rate_note(notify_rate *r, int64_t t)
{
    if (!r->cap)
        return;
    r->t[r->next] = t;
    r->next = (r->next + 1) % r->cap;
    if (r->n < r->cap)
        r->n++;
}

/* Channel ci has just delivered: its back-off starts again, and when it
 * had been failing, the rows waiting out that back-off (other
 * recipients', or messages behind a summary) are due now instead of
 * minutes later. */
static void notify_works_again(notify *n, size_t ci, int64_t now)
{
    backoff_reset(&n->retry[ci]);
    if (!atomic_load(&n->health[ci].failing))
        return;
    char err[512];
    if (nj_mark_due_now(n->j, n->nf->channels[ci].id, now, err,
                        sizeof err) < 0)
        notify_say(n, NOTIFY_WARN, "journal: %s", err);
}

/* When the group of (channel ci, recipient) due at now may go: now, or
 * later when the channel's rate limit is reached (until the oldest
 * attempt in its window leaves it) or the pair is in a flood (more than
 * NOTIFY_FLOOD_COUNT activations in NOTIFY_FLOOD_NS: group.interval after
 * its last message). */
static int64_t notify_hold_until(notify *n, size_t ci, const nj_row *first,
                                 int64_t now, bool *by_rate)
{
    const map_channel *c = &n->nf->channels[ci];
    int64_t until = now;
    *by_rate = false;
    uint64_t acts;
    int64_t last;
    if (n->nf->group_interval_ns &&
        nj_pair_recent(n->j, first->channel, first->recipient,
                       now - NOTIFY_FLOOD_NS, NOTIFY_FLOOD_COUNT + 1, &acts,
                       &last) == 0 &&
        acts > NOTIFY_FLOOD_COUNT) {
        if (last && last + (int64_t)n->nf->group_interval_ns > until)
            until = last + (int64_t)n->nf->group_interval_ns;
    }
    const notify_rate *r = &n->rate[ci];
    if (r->cap && r->n == r->cap &&
        r->t[r->next] + (int64_t)c->rate_per_ns > until) {
        until = r->t[r->next] + (int64_t)c->rate_per_ns;
        *by_rate = true;
    }
    return until;
}

/* One due group, if there is one: sent and its result written (or held
 * back: a rate limit, a flood).  true when a group was looked at. */
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
    bool by_rate = false;
    int64_t hold = c ? notify_hold_until(n, ci, &n->batch[0], now, &by_rate)
                     : now;
    if (hold > now) {
        char err[512];
        if (nj_defer(n->j, n->batch[0].channel, n->batch[0].recipient, hold,
                     err, sizeof err) < 0) {
            notify_say(n, NOTIFY_ERROR, "journal: %s", err);
            return false;
        }
        if (n->rate[ci].said != hold)
            notify_say(n, NOTIFY_INFO, "%s%s%s: %s: %zu notification%s held "
                       "back %.1f s, to go out as one message", c->id,
                       n->batch[0].recipient[0] ? " " : "",
                       n->batch[0].recipient,
                       by_rate ? "its rate limit is reached"
                               : "a flood (more than 10 alarms in 10 "
                                 "minutes): one message per group.interval",
                       k, k == 1 ? "" : "s", (double)(hold - now) / 1e9);
        n->rate[ci].said = hold;
        atomic_fetch_add(&n->held_back, 1);
        return true;
    }
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
    if (c)
        notify_rate_note(&n->rate[ci], done);
    if (res.ok) {
        if (c)
            notify_works_again(n, ci, done);
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

/* The journal's retention, at start and then daily. */
static void notify_prune(notify *n)
{
    int64_t now = clk_real_ns();
    if (!n->nf->retention_ns || now < n->prune_at)
        return;
    n->prune_at = now + 86400000000000ll;
    char err[512];
    long k = nj_prune(n->j, now - (int64_t)n->nf->retention_ns, err,
                      sizeof err);
    if (k < 0)
        notify_say(n, NOTIFY_WARN, "journal retention: %s (tried again "
                   "tomorrow)", err);
    else if (k > 0)
        notify_say(n, NOTIFY_INFO, "journal retention: %ld rows older than "
                   "%.0f days deleted", k,
                   (double)n->nf->retention_ns / 86400e9);
}

/* The thread, each turn: every mqtt channel's connection kept alive
 * (a broken one noticed), and the newest summary published where it is
 * due (mqtt.h).  until, or sooner: a kept connection's next keep-alive
 * look, a held-back summary's retry. */
static int64_t notify_mqtt_turn(notify *n, int64_t until)
{
    pthread_mutex_lock(&n->mu);
    uint64_t gen = n->summary_gen;
    bool have = n->summary != NULL;
    n->summary_seen = gen;
    pthread_mutex_unlock(&n->mu);
    char *json = NULL;
    for (size_t i = 0; i < n->nf->n_channels; i++) {
        nmqtt *m = n->secrets[i].mqtt;
        if (!m)
            continue;
        nmqtt_service(m);
        int64_t now = clk_real_ns();
        if (have && nmqtt_summary_due(m, gen, now)) {
            if (!json) {
                pthread_mutex_lock(&n->mu);
                gen = n->summary_gen;
                json = n->summary ? strdup(n->summary) : NULL;
                pthread_mutex_unlock(&n->mu);
            }
            if (json) {
                chan_result res;
                nmqtt_summary(m, json, gen, now, &n->retry[i], &res);
                if (res.ok)
                    notify_works_again(n, i, now);
                if (res.ok)
                    notify_say(n, NOTIFY_INFO, "%s: summary of active "
                               "alarms retained on %s: %s", n->nf->channels[i].id,
                               n->nf->channels[i].summary_topic, res.answer);
                else
                    notify_say(n, NOTIFY_WARN, "%s: summary of active "
                               "alarms failed: %s; retry in %.0f s",
                               n->nf->channels[i].id, res.answer,
                               (double)(nmqtt_summary_retry_at(m) - now) /
                                   1e9);
            }
        }
        int64_t r = nmqtt_summary_retry_at(m);
        if (r && r < until)
            until = r;
        int64_t ka = now + NMQTT_KEEPALIVE_S / 4 * 1000000000ll;
        if (ka < until)
            until = ka;
    }
    free(json);
    return until;
}

static void *notify_main(void *arg)
{
    notify *n = arg;
    pthread_setname_np(pthread_self(), "notify");
    for (;;) {
        notify_prune(n);
        pthread_mutex_lock(&n->mu);
        bool stop = n->stop;
        pthread_mutex_unlock(&n->mu);
        if (stop)
            break;
        notify_take(n);
        bool written = notify_write_held(n) == 0;
        if (written && n->replay) {
            notify_replay(n);
            written = n->n_held == 0;
        }
        /* Delivery only once every event taken is on disk: what goes
         * out is what a restart knows of.  One group goes out per turn
         * even while events keep coming (a flood must not starve
         * delivery); steps are looked at only once the queue is empty, so
         * an acknowledgement that came first has cancelled its own. */
        bool first = true;
        while (written) {
            pthread_mutex_lock(&n->mu);
            stop = n->stop;
            bool more = ring_len(&n->q) > 0;
            pthread_mutex_unlock(&n->mu);
            if (stop || (more && !first))
                break;
            if (first && !more)
                notify_escalate(n);
            first = false;
            if (!notify_deliver_one(n))
                break;
        }
        int64_t due = 0, now = clk_real_ns();
        int64_t until = now + NOTIFY_IDLE_NS;
        pthread_mutex_lock(&n->mu);
        bool behind = n->behind;
        pthread_mutex_unlock(&n->mu);
        if (!written || n->n_um)
            until = now + 1000000000ll;   /* the disk: try again soon */
        else if (behind)
            until = now + 10000000ll;     /* more was refused: read on */
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
        until = notify_mqtt_turn(n, until);
        pthread_mutex_lock(&n->mu);
        if (!n->stop && !ring_len(&n->q) && until > now &&
            n->summary_seen == n->summary_gen) {
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
    /* Events at or below the cursor are in the journal already. */
    if (nj_cursor(n->j, &n->seen_seq, &n->seen_ts, err, sizeof err) < 0)
        notify_say(n, NOTIFY_WARN, "journal: %s", err);
    /* Rows waiting for a later retry are due now (notify.h). */
    if (nj_mark_due_now(n->j, NULL, clk_real_ns(), err, sizeof err) < 0)
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
        for (size_t i = 0; i < n->nf->n_channels; i++) {
            nmqtt_free(n->secrets[i].mqtt);
            chan_secrets_free(&n->secrets[i]);
        }
    free(n->summary);
    free(n->secrets);
    free(n->retry);
    if (n->rate)
        for (size_t i = 0; i < n->nf->n_channels; i++)
            free(n->rate[i].t);
    free(n->rate);
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
    int rc = n->behind ? -1 : ring_push(&n->q, a);
    if (rc < 0 && n->replay) {
        n->behind = true;
        n->refused++;
        rc = 1;
    }
    pthread_cond_signal(&n->wake);
    pthread_mutex_unlock(&n->mu);
    atomic_fetch_add(rc == 0   ? &n->submitted
                     : rc == 1 ? &n->deferred
                               : &n->dropped, 1);
    return rc;
}

void notify_set_summary(notify *n, char *json)
{
    pthread_mutex_lock(&n->mu);
    free(n->summary);
    n->summary = json;
    n->summary_gen++;
    pthread_cond_signal(&n->wake);
    pthread_mutex_unlock(&n->mu);
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
    out->deferred = atomic_load(&n->deferred);
    out->replayed = atomic_load(&n->replayed);
    out->sent = atomic_load(&n->sent);
    out->failed = atomic_load(&n->failed);
    out->nobody = atomic_load(&n->nobody);
    out->held_back = atomic_load(&n->held_back);
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
