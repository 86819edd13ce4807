/*
 * poller.c - one PLC's poll loop (see poller.h).
 *
 * Threads: everything here runs on the poller's own thread (or the caller's
 * thread for poll_cycle/poll_once when no thread runs), except
 * poll_get_stats, which copies the statistics under st_mu.
 */
#include "acquire/poller.h"

#include <errno.h>
#include <modbus.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>

#include "core/clock.h"
#include "acquire/decode.h"
#include "acquire/plan.h"
#include "acquire/sched.h"

#define POLL_BACKOFF_MIN_NS 250000000ull    /* first retry after 125-250 ms */
#define POLL_BACKOFF_MAX_NS 5000000000ull   /* never wait more than 5 s */
#define POLL_SLEEP_SLICE_NS 50000000ull     /* stop is noticed within 50 ms */

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
    val_sample *samples;      /* scratch for one cycle: n_tags entries */
    uint32_t *idx;
    uint16_t regs[MAP_MAX_REGS];
    uint8_t bits[MAP_MAX_BITS];

    modbus_t *mb;
    bool connected;
    bool ever_connected;
    bool failed_reported;     /* tags already marked comm-failure */
    unsigned failures;        /* consecutive connect failures */
    uint64_t next_connect_ns;
    uint64_t rng;

    pthread_t thread;
    bool running;
    atomic_bool stop;

    pthread_mutex_t st_mu;
    poll_stats stats;
};

static uint64_t poll_rand(poll_plc *p)
{
    /* xorshift64*: jitter only, not security. */
    p->rng ^= p->rng >> 12;
    p->rng ^= p->rng << 25;
    p->rng ^= p->rng >> 27;
    return p->rng * 2685821657736338717ull;
}

static void poll_set_error(poll_plc *p, const char *what, int err)
{
    char buf[96];
    const char *why = modbus_strerror(err);
    snprintf(buf, sizeof buf, "%s", why ? why : "unknown error");
    pthread_mutex_lock(&p->st_mu);
    snprintf(p->stats.last_error, sizeof p->stats.last_error, "%s: %s", what,
             buf);
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
    p->rng = 0x9e3779b97f4a7c15ull ^ ((uint64_t)plc_index << 32) ^
             clk_mono_ns();
    pthread_mutex_init(&p->st_mu, NULL);
    p->n_plans = p->plc->n_groups;
    p->plans = calloc(p->n_plans ? p->n_plans : 1, sizeof *p->plans);
    size_t nt = p->plc->n_tags ? p->plc->n_tags : 1;
    p->samples = calloc(nt, sizeof *p->samples);
    p->idx = calloc(nt, sizeof *p->idx);
    if (!p->plans || !p->samples || !p->idx)
        goto fail;
    p->last = calloc(p->n_plans ? p->n_plans : 1, sizeof *p->last);
    if (!p->last)
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
    return NULL;
}

static void poll_disconnect(poll_plc *p)
{
    if (p->mb) {
        modbus_close(p->mb);
        modbus_free(p->mb);
        p->mb = NULL;
    }
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
    pthread_mutex_destroy(&p->st_mu);
    free(p);
}

const map_plc *poll_map(const poll_plc *p) { return p->plc; }

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

static int poll_connect(poll_plc *p)
{
    char port[8];
    snprintf(port, sizeof port, "%d", p->plc->port);
    p->mb = modbus_new_tcp_pi(p->plc->host, port);
    if (!p->mb) {
        poll_set_error(p, "connect", errno);
        return -1;
    }
    uint64_t to = p->plc->timeout_ns;
    modbus_set_response_timeout(p->mb, (uint32_t)(to / 1000000000ull),
                                (uint32_t)(to % 1000000000ull / 1000));
    /* Recovery stays MODBUS_ERROR_RECOVERY_NONE (the default): we decide. */
    modbus_set_error_recovery(p->mb, MODBUS_ERROR_RECOVERY_NONE);
    if (modbus_set_slave(p->mb, p->plc->unit) == -1 ||
        modbus_connect(p->mb) == -1) {
        int err = errno;
        poll_set_error(p, "connect", err);
        modbus_free(p->mb);
        p->mb = NULL;
        return -1;
    }
    /* libmodbus waits with select(): a descriptor >= FD_SETSIZE would
     * overflow its fd_set. */
    if (modbus_get_socket(p->mb) >= FD_SETSIZE) {
        poll_set_error(p, "connect", EMFILE);
        modbus_close(p->mb);
        modbus_free(p->mb);
        p->mb = NULL;
        return -1;
    }
    p->connected = true;
    p->failed_reported = false;
    pthread_mutex_lock(&p->st_mu);
    p->stats.connected = true;
    p->stats.connects++;
    if (p->ever_connected || p->failures > 0)
        p->stats.reconnects++;
    pthread_mutex_unlock(&p->st_mu);
    p->ever_connected = true;
    p->failures = 0;
    return 0;
}

/* Connects if the back-off allows (or force).  0 when connected. */
static int poll_ensure_connected(poll_plc *p, bool force)
{
    if (p->connected)
        return 0;
    uint64_t now = clk_mono_ns();
    if (!force && now < p->next_connect_ns)
        return -1;
    if (poll_connect(p) == 0)
        return 0;
    pthread_mutex_lock(&p->st_mu);
    p->stats.err_conn++;
    pthread_mutex_unlock(&p->st_mu);
    unsigned shift = p->failures < 10 ? p->failures : 10;
    uint64_t delay = POLL_BACKOFF_MIN_NS << shift;
    if (delay > POLL_BACKOFF_MAX_NS)
        delay = POLL_BACKOFF_MAX_NS;
    /* Equal jitter: half fixed, half random, so PLCs that failed together
     * do not all retry in the same instant. */
    delay = delay / 2 + poll_rand(p) % (delay / 2 + 1);
    p->next_connect_ns = clk_mono_ns() + delay;
    p->failures++;
    poll_fail_all(p);
    return -1;
}

static int poll_read(poll_plc *p, const plan_req *r)
{
    switch (r->table) {
    case MAP_COIL:
        return modbus_read_bits(p->mb, r->start, r->count, p->bits);
    case MAP_DISCRETE:
        return modbus_read_input_bits(p->mb, r->start, r->count, p->bits);
    case MAP_INPUT:
        return modbus_read_input_registers(p->mb, r->start, r->count,
                                           p->regs);
    case MAP_HOLDING:
        return modbus_read_registers(p->mb, r->start, r->count, p->regs);
    }
    errno = EINVAL;
    return -1;
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

    size_t n = 0;
    int rc_all = 0;
    for (size_t r = 0; r < pl->n_reqs; r++) {
        const plan_req *rq = &pl->reqs[r];
        uint64_t t0 = clk_mono_ns();
        int rc = poll_read(p, rq);
        int err = errno;
        uint64_t t1 = clk_mono_ns();
        int64_t now = clk_real_ns();

        pthread_mutex_lock(&p->st_mu);
        p->stats.requests++;
        dhist_add(&p->stats.response_us, (t1 - t0) / 1000);
        if (rc == rq->count) {
            p->stats.registers += (uint64_t)rc;
            p->stats.last_ok_ns = now;
        }
        pthread_mutex_unlock(&p->st_mu);

        if (rc == rq->count) {
            poll_last *l = &p->last[g][r];
            const void *raw = map_table_is_bits(rq->table)
                                  ? (const void *)p->bits
                                  : (const void *)p->regs;
            if (l->gen == p->gen && memcmp(l->raw, raw, l->len) == 0 &&
                tag_store_refresh(p->ts, l->gidx, rq->n_tags, now))
                continue;       /* the same reply: nothing to decode */
            uint64_t bad = 0;
            for (size_t k = 0; k < rq->n_tags; k++) {
                size_t ti = pl->tags[rq->first + k];
                const map_tag *t = &p->plc->tags[ti];
                val_sample *s = &p->samples[n];
                dec_status ds;
                if (map_table_is_bits(t->table))
                    ds = dec_bit(t, p->bits[t->address - rq->start], &s->v);
                else
                    ds = dec_registers(t, &p->regs[t->address - rq->start],
                                       &s->v);
                s->q = ds == DEC_OK ? Q_GOOD : Q_DECODE;
                s->exc = 0;
                s->ts_ns = now;
                bad += ds != DEC_OK;
                p->idx[n++] = p->base + (uint32_t)ti;
            }
            if (bad) {
                pthread_mutex_lock(&p->st_mu);
                p->stats.err_decode += bad;
                pthread_mutex_unlock(&p->st_mu);
            }
            /* Published per request: the scratch stays small and hot in
             * cache, and values reach consumers one round trip sooner. */
            tag_store_publish(p->ts, p->idx, p->samples, n);
            n = 0;
            if (bad == 0) {
                memcpy(l->raw, raw, l->len);
                l->gen = p->gen;
            } else {
                l->gen = 0;
            }
            continue;
        }

        rc_all = -1;
        if (rc >= 0)
            err = EMBMDATA;     /* a short read: treat as malformed */
        if (err > MODBUS_ENOBASE &&
            err <= MODBUS_ENOBASE + MODBUS_EXCEPTION_GATEWAY_TARGET) {
            /* The device answered: the link is fine, these tags are not. */
            uint8_t exc = (uint8_t)(err - MODBUS_ENOBASE);
            p->last[g][r].gen = 0;
            pthread_mutex_lock(&p->st_mu);
            p->stats.err_exception++;
            p->stats.last_exception = exc;
            snprintf(p->stats.last_error, sizeof p->stats.last_error,
                     "%s %u..%u: exception %u (%s)", map_table_name(rq->table),
                     rq->start, rq->start + rq->count - 1, exc,
                     modbus_strerror(err));
            pthread_mutex_unlock(&p->st_mu);
            for (size_t k = 0; k < rq->n_tags; k++) {
                size_t ti = pl->tags[rq->first + k];
                val_sample *s = &p->samples[n];
                memset(&s->v, 0, sizeof s->v);
                s->q = Q_DEVICE;
                s->exc = exc;
                s->ts_ns = now;
                p->idx[n++] = p->base + (uint32_t)ti;
            }
            tag_store_publish(p->ts, p->idx, p->samples, n);
            n = 0;
            continue;
        }

        /* The link is in doubt: drop it so a late reply cannot be taken
         * for the answer to the next request. */
        pthread_mutex_lock(&p->st_mu);
        if (err == ETIMEDOUT)
            p->stats.err_timeout++;
        else if (err >= MODBUS_ENOBASE)
            p->stats.err_malformed++;
        else
            p->stats.err_conn++;
        pthread_mutex_unlock(&p->st_mu);
        char what[64];
        snprintf(what, sizeof what, "%s %u..%u", map_table_name(rq->table),
                 rq->start, rq->start + rq->count - 1);
        poll_set_error(p, what, err);
        poll_disconnect(p);
        /* Retry promptly once: a single dropped connection should cost one
         * cycle, not a back-off. */
        p->next_connect_ns = clk_mono_ns() + POLL_BACKOFF_MIN_NS / 2;
        poll_fail_all(p);
        return -1;
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

/* Sleeps until deadline in slices so that a stop request is seen. */
static bool poll_sleep_until(poll_plc *p, uint64_t deadline)
{
    for (;;) {
        if (atomic_load(&p->stop))
            return false;
        uint64_t now = clk_mono_ns();
        if (now >= deadline)
            return true;
        uint64_t until = deadline - now > POLL_SLEEP_SLICE_NS
                             ? now + POLL_SLEEP_SLICE_NS
                             : deadline;
        clk_sleep_until(until);
    }
}

static void *poll_thread(void *arg)
{
    poll_plc *p = arg;
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
        uint64_t missed = sched_done(&s, g, clk_mono_ns());
        pthread_mutex_lock(&p->st_mu);
        dhist_add(&p->stats.lateness_us, (start - deadline) / 1000);
        p->stats.cycles++;
        p->stats.deadline_misses += missed;
        pthread_mutex_unlock(&p->st_mu);
    }
    return NULL;
}

int poll_start(poll_plc *p)
{
    if (p->running)
        return 0;
    atomic_store(&p->stop, false);
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
    atomic_store(&p->stop, true);
    pthread_join(p->thread, NULL);
    p->running = false;
}
