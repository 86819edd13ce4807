/*
 * poller.c - one PLC's poll loop (see poller.h).
 *
 * Threads: everything here runs on the poller's own thread (or the caller's
 * thread for poll_cycle/poll_once when no thread runs), except
 * poll_get_stats, which copies the statistics under st_mu, and poll_stop,
 * which wakes the thread (stop_cv for its sleep between cycles, the stop
 * eventfd for a pending connect or reply) and joins it.
 */
#include "acquire/poller.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "acquire/decode.h"
#include "acquire/mbtcp.h"
#include "acquire/plan.h"
#include "acquire/sched.h"
#include "core/backoff.h"
#include "core/clock.h"

#define POLL_BACKOFF_MIN_NS 250000000ull    /* first retry after 125-250 ms */
#define POLL_BACKOFF_MAX_NS 5000000000ull   /* never wait more than 5 s */
/* After a link that worked fails: one prompt retry, no back-off, so a
 * single dropped connection costs about one cycle. */
#define POLL_RETRY_NS (POLL_BACKOFF_MIN_NS / 2)

/* The last good reply to one request, so that an identical reply (most of
 * a plant's registers most of the time) is confirmed without decoding and
 * comparing every tag again. */
typedef struct {
    uint8_t *raw;             /* the reply's registers or bits */
    size_t len;               /* bytes */
    uint32_t *gidx;           /* station-wide index of each tag decoded */
    uint64_t gen;             /* p->gen when raw was kept; 0: nothing kept */
} poll_last;

struct poll_plc {
    const map_station *st;
    const map_plc *plc;
    size_t plc_index;
    tag_store *ts;
    uint32_t base;

    plan **plans;             /* one per poll group */
    size_t n_plans;
    poll_last **last;         /* per group, per request */
    uint64_t gen;             /* bumped whenever the tags may have been
                                 marked bad: kept replies are then void */
    val_sample *samples;      /* scratch for one request: n_tags entries */
    uint32_t *idx;
    uint16_t regs[MAP_MAX_REGS];
    uint8_t bits[MAP_MAX_BITS];

    mbtcp *mb;
    int stop_fd;              /* eventfd, readable once poll_stop is called */
    bool connected;
    bool ever_connected;
    bool retrying;            /* a connect failed since the last success */
    bool failed_reported;     /* tags already marked comm-failure */
    uint64_t next_connect_ns;
    backoff bo;

    pthread_t thread;
    bool running;
    atomic_bool stop;
    pthread_mutex_t stop_mu;  /* with stop_cv (CLOCK_MONOTONIC): the sleep */
    pthread_cond_t stop_cv;   /* between cycles, ended at once by a stop */

    pthread_mutex_t st_mu;
    poll_stats stats;

    /* poll_rebind: what to publish as from the next cycle on, under
     * stop_mu; the thread applies it and signals bind_cv. */
    bool bind_pending;
    bool thread_done;         /* the thread has returned (stop_mu) */
    const map_station *bind_st;
    size_t bind_index;
    tag_store *bind_ts;
    pthread_cond_t bind_cv;
};

static void poll_set_error(poll_plc *p, const char *what, const char *why)
{
    pthread_mutex_lock(&p->st_mu);
    snprintf(p->stats.last_error, sizeof p->stats.last_error, "%s: %s", what,
             why);
    pthread_mutex_unlock(&p->st_mu);
}

poll_plc *poll_new(const map_station *st, size_t plc_index, tag_store *ts)
{
    /* The scheduler holds what the map allows; refuse anything else here,
     * where the caller can report it, not in the thread. */
    if (st->plcs[plc_index].n_groups > SCHED_MAX_GROUPS) {
        errno = E2BIG;
        return NULL;
    }
    poll_plc *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->st = st;
    p->plc = &st->plcs[plc_index];
    p->plc_index = plc_index;
    p->ts = ts;
    p->base = tag_store_base(ts, plc_index);
    p->stop_fd = -1;
    pthread_mutex_init(&p->st_mu, NULL);
    pthread_mutex_init(&p->stop_mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    /* Deadlines are monotonic; so is the sleep that waits for them. */
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->stop_cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_cond_init(&p->bind_cv, NULL);
    backoff_init(&p->bo, POLL_BACKOFF_MIN_NS, POLL_BACKOFF_MAX_NS,
                 ((uint64_t)plc_index << 32) ^ clk_mono_ns() ^
                     (uint64_t)(uintptr_t)p);
    int err = ENOMEM;
    p->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (p->stop_fd < 0) {
        err = errno;
        goto fail;
    }
    p->mb = mbtcp_new(p->plc->host, p->plc->port, p->plc->unit,
                      p->plc->timeout_ns, p->stop_fd);
    p->n_plans = p->plc->n_groups;
    p->plans = calloc(p->n_plans ? p->n_plans : 1, sizeof *p->plans);
    size_t nt = p->plc->n_tags ? p->plc->n_tags : 1;
    p->samples = calloc(nt, sizeof *p->samples);
    p->idx = calloc(nt, sizeof *p->idx);
    p->last = calloc(p->n_plans ? p->n_plans : 1, sizeof *p->last);
    if (!p->mb || !p->plans || !p->samples || !p->idx || !p->last)
        goto fail;
    p->gen = 1;
    for (size_t g = 0; g < p->n_plans; g++) {
        plan *pl = p->plans[g] = plan_build(p->plc, (int)g);
        if (!pl)
            goto fail;
        p->last[g] = calloc(pl->n_reqs ? pl->n_reqs : 1, sizeof **p->last);
        if (!p->last[g])
            goto fail;
        for (size_t r = 0; r < pl->n_reqs; r++) {
            poll_last *l = &p->last[g][r];
            const plan_req *rq = &pl->reqs[r];
            l->len = map_table_is_bits(rq->table) ? rq->count
                                                  : rq->count * 2u;
            l->raw = malloc(l->len ? l->len : 1);
            l->gidx = malloc((rq->n_tags ? rq->n_tags : 1) *
                             sizeof *l->gidx);
            if (!l->raw || !l->gidx)
                goto fail;
            for (size_t k = 0; k < rq->n_tags; k++)
                l->gidx[k] = p->base + (uint32_t)pl->tags[rq->first + k];
        }
    }
    return p;
fail:
    poll_free(p);
    errno = err;
    return NULL;
}

static void poll_disconnect(poll_plc *p)
{
    if (p->mb)
        mbtcp_close(p->mb);
    if (p->connected) {
        p->connected = false;
        pthread_mutex_lock(&p->st_mu);
        p->stats.connected = false;
        pthread_mutex_unlock(&p->st_mu);
    }
}

void poll_free(poll_plc *p)
{
    if (!p)
        return;
    poll_stop(p);
    poll_disconnect(p);
    mbtcp_free(p->mb);
    if (p->stop_fd >= 0)
        close(p->stop_fd);
    for (size_t g = 0; p->last && g < p->n_plans; g++) {
        for (size_t r = 0; p->last[g] && p->plans[g] &&
                           r < p->plans[g]->n_reqs; r++) {
            free(p->last[g][r].raw);
            free(p->last[g][r].gidx);
        }
        free(p->last[g]);
    }
    free(p->last);
    if (p->plans)
        for (size_t g = 0; g < p->n_plans; g++)
            plan_free(p->plans[g]);
    free(p->plans);
    free(p->samples);
    free(p->idx);
    pthread_cond_destroy(&p->stop_cv);
    pthread_cond_destroy(&p->bind_cv);
    pthread_mutex_destroy(&p->stop_mu);
    pthread_mutex_destroy(&p->st_mu);
    free(p);
}

const map_plc *poll_map(const poll_plc *p) { return p->plc; }

const uint64_t POLL_LE_US[POLL_LE_N] = {
    500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000,
    1000000, 2500000, 5000000, 10000000};

void poll_buckets_add(poll_buckets *b, uint64_t us)
{
    for (size_t i = 0; i < POLL_LE_N; i++)
        if (us <= POLL_LE_US[i])
            b->le[i]++;
    b->count++;
    b->sum_us += us;
}

void poll_get_stats(poll_plc *p, poll_stats *out)
{
    pthread_mutex_lock(&p->st_mu);
    *out = p->stats;
    pthread_mutex_unlock(&p->st_mu);
}

/* Marks every tag comm-failure once per outage. */
static void poll_fail_all(poll_plc *p)
{
    p->gen++;
    if (p->failed_reported)
        return;
    p->failed_reported = true;
    tag_store_fail_plc(p->ts, p->plc_index, Q_COMM, 0, clk_real_ns());
}

static mbtcp_rc poll_connect(poll_plc *p)
{
    mbtcp_rc rc = mbtcp_connect(p->mb);
    if (rc != MBTCP_OK) {
        if (rc != MBTCP_STOPPED)
            poll_set_error(p, "connect", mbtcp_error(p->mb));
        return rc;
    }
    p->connected = true;
    p->failed_reported = false;
    pthread_mutex_lock(&p->st_mu);
    p->stats.connected = true;
    p->stats.connects++;
    if (p->ever_connected || p->retrying)
        p->stats.reconnects++;
    pthread_mutex_unlock(&p->st_mu);
    p->ever_connected = true;
    p->retrying = false;
    backoff_reset(&p->bo);
    return MBTCP_OK;
}

/* Connects if the back-off allows (or force).  0 when connected. */
static int poll_ensure_connected(poll_plc *p, bool force)
{
    if (mbtcp_connected(p->mb))
        return 0;
    if (!force && clk_mono_ns() < p->next_connect_ns)
        return -1;
    mbtcp_rc rc = poll_connect(p);
    if (rc == MBTCP_OK)
        return 0;
    if (rc == MBTCP_STOPPED)
        return -1;          /* shutting down: the PLC did nothing wrong */
    pthread_mutex_lock(&p->st_mu);
    p->stats.err_conn++;
    pthread_mutex_unlock(&p->st_mu);
    p->retrying = true;
    p->next_connect_ns = clk_mono_ns() + backoff_next(&p->bo);
    poll_fail_all(p);
    return -1;
}

static mbtcp_rc poll_request(poll_plc *p, const plan_req *r)
{
    switch (r->table) {
    case MAP_COIL:
        return mbtcp_read_bits(p->mb, MBTCP_FC_COILS, r->start, r->count,
                               p->bits);
    case MAP_DISCRETE:
        return mbtcp_read_bits(p->mb, MBTCP_FC_DISCRETE, r->start, r->count,
                               p->bits);
    case MAP_INPUT:
        return mbtcp_read_regs(p->mb, MBTCP_FC_INPUT, r->start, r->count,
                               p->regs);
    case MAP_HOLDING:
        return mbtcp_read_regs(p->mb, MBTCP_FC_HOLDING, r->start, r->count,
                               p->regs);
    }
    return MBTCP_INVALID;
}

/* A good reply to request r of group g (in p->regs or p->bits): confirm an
 * unchanged reply cheaply, or decode and publish its tags. */
static void poll_on_reply(poll_plc *p, int g, size_t r, int64_t now)
{
    const plan *pl = p->plans[g];
    const plan_req *rq = &pl->reqs[r];
    poll_last *l = &p->last[g][r];
    const void *raw = map_table_is_bits(rq->table) ? (const void *)p->bits
                                                   : (const void *)p->regs;
    if (l->gen == p->gen && memcmp(l->raw, raw, l->len) == 0 &&
        tag_store_refresh(p->ts, l->gidx, rq->n_tags, now))
        return;             /* the same reply: nothing to decode */
    uint64_t bad = 0;
    for (size_t k = 0; k < rq->n_tags; k++) {
        size_t ti = pl->tags[rq->first + k];
        const map_tag *t = &p->plc->tags[ti];
        val_sample *s = &p->samples[k];
        dec_status ds;
        if (map_table_is_bits(t->table))
            ds = dec_bit(t, p->bits[t->address - rq->start], &s->v);
        else
            ds = dec_registers(t, &p->regs[t->address - rq->start], &s->v);
        s->q = ds == DEC_OK ? Q_GOOD : Q_DECODE;
        s->exc = 0;
        s->ts_ns = now;
        bad += ds != DEC_OK;
        p->idx[k] = p->base + (uint32_t)ti;
    }
    if (bad) {
        pthread_mutex_lock(&p->st_mu);
        p->stats.err_decode += bad;
        pthread_mutex_unlock(&p->st_mu);
    }
    /* Published per request: the scratch stays small and hot in cache, and
     * values reach consumers one round trip sooner. */
    tag_store_publish(p->ts, p->idx, p->samples, rq->n_tags);
    if (bad == 0) {
        memcpy(l->raw, raw, l->len);
        l->gen = p->gen;
    } else {
        l->gen = 0;
    }
}

/* An exception reply to request r of group g: the device answered, so the
 * link is fine and stays; only that request's tags are device-error. */
static void poll_on_exception(poll_plc *p, int g, size_t r, int64_t now)
{
    const plan *pl = p->plans[g];
    const plan_req *rq = &pl->reqs[r];
    uint8_t exc = mbtcp_exception(p->mb);
    p->last[g][r].gen = 0;
    pthread_mutex_lock(&p->st_mu);
    p->stats.err_exception++;
    p->stats.last_exception = exc;
    snprintf(p->stats.last_error, sizeof p->stats.last_error,
             "%s %u..%u: %s", map_table_name(rq->table), rq->start,
             rq->start + rq->count - 1, mbtcp_error(p->mb));
    pthread_mutex_unlock(&p->st_mu);
    for (size_t k = 0; k < rq->n_tags; k++) {
        val_sample *s = &p->samples[k];
        memset(&s->v, 0, sizeof s->v);
        s->q = Q_DEVICE;
        s->exc = exc;
        s->ts_ns = now;
        p->idx[k] = p->base + (uint32_t)pl->tags[rq->first + k];
    }
    tag_store_publish(p->ts, p->idx, p->samples, rq->n_tags);
}

/* A timeout, a broken link or a reply that is not the answer: the link is
 * in doubt.  mbtcp has closed it already, so a late or stray reply cannot
 * be taken for the answer to the next request; every tag of the PLC is
 * comm-failure until a reply is good again. */
static void poll_on_link_failure(poll_plc *p, const plan_req *rq,
                                 mbtcp_rc rc)
{
    pthread_mutex_lock(&p->st_mu);
    if (rc == MBTCP_TIMEOUT)
        p->stats.err_timeout++;
    else if (rc == MBTCP_MALFORMED || rc == MBTCP_INVALID)
        p->stats.err_malformed++;
    else
        p->stats.err_conn++;
    pthread_mutex_unlock(&p->st_mu);
    char what[64];
    snprintf(what, sizeof what, "%s %u..%u", map_table_name(rq->table),
             rq->start, rq->start + rq->count - 1);
    poll_set_error(p, what, mbtcp_error(p->mb));
    poll_disconnect(p);
    /* No back-off yet: the link worked until now, so the first reconnect
     * comes promptly; if that fails, back-off takes over. */
    p->next_connect_ns = clk_mono_ns() + POLL_RETRY_NS;
    poll_fail_all(p);
}

int poll_cycle(poll_plc *p, int g)
{
    if (g < 0 || (size_t)g >= p->n_plans)
        return -1;
    const plan *pl = p->plans[g];
    if (pl->n_reqs == 0)
        return 0;
    if (poll_ensure_connected(p, !p->running) == -1)
        return -1;

    int rc_all = 0;
    for (size_t r = 0; r < pl->n_reqs; r++) {
        const plan_req *rq = &pl->reqs[r];
        uint64_t t0 = clk_mono_ns();
        mbtcp_rc rc = poll_request(p, rq);
        uint64_t t1 = clk_mono_ns();
        int64_t now = clk_real_ns();
        if (rc == MBTCP_STOPPED) {
            /* poll_stop abandoned the request: not the PLC's failure, so
             * neither counted nor marked on its tags. */
            poll_disconnect(p);
            return -1;
        }

        pthread_mutex_lock(&p->st_mu);
        p->stats.requests++;
        dhist_add(&p->stats.response_us, (t1 - t0) / 1000);
        poll_buckets_add(&p->stats.response_b, (t1 - t0) / 1000);
        if (rc == MBTCP_OK) {
            p->stats.registers += rq->count;
            p->stats.last_ok_ns = now;
        }
        pthread_mutex_unlock(&p->st_mu);

        if (rc == MBTCP_OK) {
            poll_on_reply(p, g, r, now);
        } else if (rc == MBTCP_EXCEPTION) {
            poll_on_exception(p, g, r, now);
            rc_all = -1;
        } else {
            poll_on_link_failure(p, rq, rc);
            return -1;
        }
    }
    return rc_all;
}

int poll_once(poll_plc *p)
{
    int rc = 0;
    for (size_t g = 0; g < p->n_plans; g++)
        if (poll_cycle(p, (int)g) == -1)
            rc = -1;
    return rc;
}

/* The rebind asked for, on the poller's thread between cycles (or on the
 * caller's when no thread runs); stop_mu held.  The kept replies are
 * void (p->gen): their tags' states are the new store's to judge. */
static void poll_bind_apply(poll_plc *p)
{
    if (!p->bind_pending)
        return;
    p->st = p->bind_st;
    p->plc = &p->st->plcs[p->bind_index];
    p->plc_index = p->bind_index;
    p->ts = p->bind_ts;
    p->base = tag_store_base(p->ts, p->plc_index);
    for (size_t g = 0; g < p->n_plans; g++) {
        const plan *pl = p->plans[g];
        for (size_t r = 0; r < pl->n_reqs; r++) {
            const plan_req *rq = &pl->reqs[r];
            for (size_t k = 0; k < rq->n_tags; k++)
                p->last[g][r].gidx[k] =
                    p->base + (uint32_t)pl->tags[rq->first + k];
        }
    }
    p->gen++;
    p->bind_pending = false;
    pthread_cond_broadcast(&p->bind_cv);
}

void poll_rebind(poll_plc *p, const map_station *st, size_t plc_index,
                 tag_store *ts)
{
    pthread_mutex_lock(&p->stop_mu);
    p->bind_st = st;
    p->bind_index = plc_index;
    p->bind_ts = ts;
    p->bind_pending = true;
    if (!p->running)
        poll_bind_apply(p);
    else
        pthread_cond_broadcast(&p->stop_cv);   /* a sleeping thread now */
    pthread_mutex_unlock(&p->stop_mu);
}

void poll_rebind_wait(poll_plc *p)
{
    pthread_mutex_lock(&p->stop_mu);
    while (p->bind_pending && p->running && !p->thread_done)
        pthread_cond_wait(&p->bind_cv, &p->stop_mu);
    /* a thread that stopped meanwhile left it to us */
    poll_bind_apply(p);
    pthread_mutex_unlock(&p->stop_mu);
}

/* Sleeps until the monotonic deadline, or until poll_stop: false then.
 * A condition variable on CLOCK_MONOTONIC wakes as precisely as
 * clock_nanosleep (both are hrtimers with the thread's timer slack) and,
 * unlike it, can be woken at once. */
static bool poll_sleep_until(poll_plc *p, uint64_t deadline)
{
    struct timespec ts = {.tv_sec = (time_t)(deadline / 1000000000u),
                          .tv_nsec = (long)(deadline % 1000000000u)};
    pthread_mutex_lock(&p->stop_mu);
    /* a rebind is applied here, before the cycle it is for */
    poll_bind_apply(p);
    while (!atomic_load(&p->stop) && clk_mono_ns() < deadline) {
        if (pthread_cond_timedwait(&p->stop_cv, &p->stop_mu, &ts) ==
            ETIMEDOUT)
            break;
        poll_bind_apply(p);
    }
    poll_bind_apply(p);
    bool go = !atomic_load(&p->stop);
    pthread_mutex_unlock(&p->stop_mu);
    return go;
}

static void *poll_loop(poll_plc *p)
{
    /* "poll upper_gate" in top -H; Linux keeps 15 characters. */
    char name[16];
    snprintf(name, sizeof name, "poll %s", p->plc->id);
    pthread_setname_np(pthread_self(), name);

    uint64_t periods[SCHED_MAX_GROUPS];
    size_t ng = p->n_plans; /* <= SCHED_MAX_GROUPS: poll_new checked */
    for (size_t g = 0; g < ng; g++)
        periods[g] = p->plc->groups[g].period_ns;
    /* Stagger the PLCs across the first period: if every poller woke at
     * the same instant, on a machine with fewer cores than PLCs the last
     * ones would start late every cycle. */
    uint64_t phase = 0;
    if (ng > 0 && p->st->n_plcs > 1)
        phase = periods[0] / p->st->n_plcs * p->plc_index;
    sched s;
    if (sched_init(&s, periods, ng, clk_mono_ns() + phase) == -1)
        return NULL;
    uint64_t deadline;
    int g;
    while ((g = sched_next(&s, &deadline)) >= 0) {
        if (!poll_sleep_until(p, deadline))
            break;
        uint64_t start = clk_mono_ns();
        poll_cycle(p, g);
        if (atomic_load(&p->stop))
            break;
        uint64_t missed = sched_done(&s, g, clk_mono_ns());
        pthread_mutex_lock(&p->st_mu);
        dhist_add(&p->stats.lateness_us, (start - deadline) / 1000);
        poll_buckets_add(&p->stats.lateness_b, (start - deadline) / 1000);
        p->stats.cycles++;
        p->stats.deadline_misses += missed;
        pthread_mutex_unlock(&p->st_mu);
    }
    return NULL;
}

/* The loop, and then word to a poll_rebind_wait that the thread is gone
 * (it stops by poll_stop, or when its schedule cannot be set up). */
static void *poll_thread(void *arg)
{
    poll_plc *p = arg;
    poll_loop(p);
    pthread_mutex_lock(&p->stop_mu);
    p->thread_done = true;
    pthread_cond_broadcast(&p->bind_cv);
    pthread_mutex_unlock(&p->stop_mu);
    return NULL;
}

int poll_start(poll_plc *p)
{
    if (p->running)
        return 0;
    atomic_store(&p->stop, false);
    p->thread_done = false;
    p->running = true;
    int rc = pthread_create(&p->thread, NULL, poll_thread, p);
    if (rc != 0) {
        p->running = false;
        errno = rc;
        return -1;
    }
    return 0;
}

void poll_stop(poll_plc *p)
{
    if (!p->running)
        return;
    pthread_mutex_lock(&p->stop_mu);
    atomic_store(&p->stop, true);
    pthread_cond_broadcast(&p->stop_cv);
    pthread_mutex_unlock(&p->stop_mu);
    /* A connect or reply being waited for is abandoned at once.  EAGAIN
     * cannot happen (the counter is far from its maximum); any other
     * failure leaves only the wait's own deadline to end it. */
    uint64_t one = 1;
    if (write(p->stop_fd, &one, sizeof one) != sizeof one)
        (void)0;
    pthread_join(p->thread, NULL);
    p->running = false;
    /* Drained, so that poll_cycle and a later poll_start wait again. */
    uint64_t v;
    if (read(p->stop_fd, &v, sizeof v) != sizeof v)
        (void)0;
}
