/*
 * dispatch.c - the consumer thread's work (see dispatch.h).
 *
 * Changes are drained in batches of DISPATCH_BATCH into one buffer owned
 * here and handed to every subscriber in turn before the next batch is
 * drained, so a subscriber sees every change exactly once and in queue
 * order, and the buffer stays hot in cache.  Staleness is an internal timer
 * whose period is a quarter of the shortest allowed age (at least 10 ms,
 * at most 1 s): a value turns stale at most a quarter of its allowance
 * late, and a station of thousands of tags is not rescanned on every
 * wake-up.
 */
#include "core/dispatch.h"

#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"

#define DISPATCH_BATCH 4096
#define DISPATCH_STALE_MIN_NS 10000000ull      /* 10 ms */
#define DISPATCH_STALE_MAX_NS 1000000000ull    /* 1 s */
#define DISPATCH_STOP_POLL_MS 250              /* *stop without a wake */

typedef struct {
    char *name;
    dispatch_batch_fn fn;
    void *ctx;
    uint64_t cpu_ns, calls;
} dispatch_sub;

typedef struct {
    char *name;
    dispatch_timer_fn fn;
    void *ctx;
    uint64_t cpu_ns, calls;
} dispatch_hook;

typedef struct {
    char *name;
    uint64_t period_ns;      /* 0: an owner-set timer (dispatch_timer) */
    uint64_t next_ns;        /* 0 until the first run; UINT64_MAX unset */
    dispatch_timer_fn fn;
    void *ctx;
    uint64_t cpu_ns, calls;
} dispatch_tmr;

struct dispatch {
    const map_station *st;
    tag_store *ts;
    tag_change *batch;
    dispatch_sub *subs;
    size_t n_subs;
    dispatch_tmr *timers;
    size_t n_timers;
    dispatch_hook *hooks;       /* dispatch_on_wake */
    size_t n_hooks;
    uint64_t stale_period_ns;   /* 0: no tag can go stale */
    uint64_t stale_next_ns;
    bool started;
    uint64_t last_now;
    void (*wake)(void *);       /* dispatch_set_waker's, for a new store */
    void *wake_ctx;
    dispatch_timer_fn later;    /* dispatch_later */
    void *later_ctx;
    atomic_int efd;             /* dispatch_loop's eventfd, -1 before it */
    dispatch_stats stats;
};

/* Each part's cost, measured around it: monotonic time, which the vDSO
 * reads in tens of nanoseconds, where the thread's CPU clock is a system
 * call of a microsecond or more (a VM's) and would cost the thread more
 * than several of its parts.  The parts run for microseconds without
 * blocking, so the two hardly differ unless the thread is preempted. */
static uint64_t dispatch_cpu_now(void)
{
    return clk_mono_ns();
}

static char *dispatch_strdup(const char *s)
{
    return strdup(s ? s : "?");
}

/* Each tag's allowed age in the store, and the staleness timer's period
 * from the shortest. */
static void dispatch_staleness(dispatch *d)
{
    const map_station *st = d->st;
    tag_store *ts = d->ts;
    d->stale_period_ns = 0;
    uint64_t shortest = 0;
    for (size_t p = 0; p < st->n_plcs; p++) {
        const map_plc *plc = &st->plcs[p];
        uint32_t b = tag_store_base(ts, p);
        for (size_t t = 0; t < plc->n_tags; t++) {
            /* Stale once three polls in a row have not refreshed it: one
             * late poll is jitter, three are a problem. */
            const map_tag *tg = &plc->tags[t];
            if (tg->group < 0 || (size_t)tg->group >= plc->n_groups)
                continue;
            uint64_t age = 3 * plc->groups[tg->group].period_ns +
                           plc->timeout_ns;
            tag_store_set_max_age(ts, b + (uint32_t)t, (int64_t)age);
            if (plc->enabled && (shortest == 0 || age < shortest))
                shortest = age;
        }
    }
    if (shortest) {
        uint64_t per = shortest / 4;
        if (per < DISPATCH_STALE_MIN_NS)
            per = DISPATCH_STALE_MIN_NS;
        if (per > DISPATCH_STALE_MAX_NS)
            per = DISPATCH_STALE_MAX_NS;
        d->stale_period_ns = per;
    }
}

dispatch *dispatch_new(const map_station *st, tag_store *ts)
{
    dispatch *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->st = st;
    d->ts = ts;
    atomic_init(&d->efd, -1);
    d->batch = malloc(DISPATCH_BATCH * sizeof *d->batch);
    if (!d->batch) {
        free(d);
        return NULL;
    }
    dispatch_staleness(d);
    return d;
}

void dispatch_free(dispatch *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->n_subs; i++)
        free(d->subs[i].name);
    for (size_t i = 0; i < d->n_timers; i++)
        free(d->timers[i].name);
    for (size_t i = 0; i < d->n_hooks; i++)
        free(d->hooks[i].name);
    free(d->hooks);
    free(d->subs);
    free(d->timers);
    free(d->batch);
    int fd = atomic_load(&d->efd);
    if (fd >= 0)
        close(fd);
    free(d);
}

int dispatch_subscribe(dispatch *d, const char *name, dispatch_batch_fn fn,
                       void *ctx)
{
    dispatch_sub *n = realloc(d->subs, (d->n_subs + 1) * sizeof *n);
    if (!n)
        return -1;
    d->subs = n;
    char *copy = dispatch_strdup(name);
    if (!copy)
        return -1;
    d->subs[d->n_subs++] = (dispatch_sub){copy, fn, ctx, 0, 0};
    return 0;
}

/* Adds a timer of either kind (period_ns 0: owner-set); its index, or -1
 * out of memory. */
static int dispatch_add_timer(dispatch *d, const char *name,
                              uint64_t period_ns, uint64_t next_ns,
                              dispatch_timer_fn fn, void *ctx)
{
    dispatch_tmr *n = realloc(d->timers, (d->n_timers + 1) * sizeof *n);
    if (!n)
        return -1;
    d->timers = n;
    char *copy = dispatch_strdup(name);
    if (!copy)
        return -1;
    d->timers[d->n_timers] = (dispatch_tmr){
        .name = copy, .period_ns = period_ns, .fn = fn, .ctx = ctx,
        .next_ns = next_ns};
    return (int)d->n_timers++;
}

int dispatch_every(dispatch *d, const char *name, uint64_t period_ns,
                   dispatch_timer_fn fn, void *ctx)
{
    if (period_ns == 0) {
        errno = EINVAL;
        return -1;
    }
    /* Added before the first run: dispatch_run_due starts it then. */
    uint64_t next = d->started ? d->last_now + period_ns : 0;
    return dispatch_add_timer(d, name, period_ns, next, fn, ctx) < 0 ? -1 : 0;
}

int dispatch_timer(dispatch *d, const char *name, dispatch_timer_fn fn,
                   void *ctx)
{
    return dispatch_add_timer(d, name, 0, UINT64_MAX, fn, ctx);
}

void dispatch_timer_set(dispatch *d, int timer, uint64_t due_mono_ns)
{
    if (timer < 0 || (size_t)timer >= d->n_timers ||
        d->timers[timer].period_ns)
        return;
    /* 0 means "not started" to the periodic timers: a deadline that early
     * is simply due. */
    d->timers[timer].next_ns = due_mono_ns ? due_mono_ns : 1;
}

int dispatch_on_wake(dispatch *d, const char *name, dispatch_timer_fn fn,
                     void *ctx)
{
    dispatch_hook *n = realloc(d->hooks, (d->n_hooks + 1) * sizeof *n);
    if (!n)
        return -1;
    d->hooks = n;
    char *copy = dispatch_strdup(name);
    if (!copy)
        return -1;
    d->hooks[d->n_hooks++] = (dispatch_hook){copy, fn, ctx, 0, 0};
    return 0;
}

void dispatch_set_waker(dispatch *d, void (*wake)(void *ctx), void *ctx)
{
    d->wake = wake;
    d->wake_ctx = ctx;
    tag_store_set_notify(d->ts, wake, ctx);
}

void dispatch_set_station(dispatch *d, const map_station *st, tag_store *ts)
{
    tag_store_set_notify(d->ts, NULL, NULL);
    d->st = st;
    d->ts = ts;
    dispatch_staleness(d);
    d->stale_next_ns = d->last_now + d->stale_period_ns;
    tag_store_set_notify(ts, d->wake, d->wake_ctx);
    /* what arrived before the notify was set has woken nobody */
    if (d->wake)
        d->wake(d->wake_ctx);
}

size_t dispatch_retarget(dispatch *d, void *old_ctx, void *new_ctx)
{
    size_t n = 0;
    for (size_t i = 0; i < d->n_subs; i++)
        if (d->subs[i].ctx == old_ctx) {
            d->subs[i].ctx = new_ctx;
            n++;
        }
    for (size_t i = 0; i < d->n_timers; i++)
        if (d->timers[i].ctx == old_ctx) {
            d->timers[i].ctx = new_ctx;
            n++;
        }
    for (size_t i = 0; i < d->n_hooks; i++)
        if (d->hooks[i].ctx == old_ctx) {
            d->hooks[i].ctx = new_ctx;
            n++;
        }
    return n;
}

void dispatch_later(dispatch *d, dispatch_timer_fn fn, void *ctx)
{
    d->later = fn;
    d->later_ctx = ctx;
}

/* Every queued change to every subscriber, batch by batch. */
static size_t dispatch_drain(dispatch *d)
{
    size_t total = 0, n;
    while ((n = tag_store_drain(d->ts, d->batch, DISPATCH_BATCH)) > 0) {
        for (size_t i = 0; i < d->n_subs; i++) {
            uint64_t t0 = dispatch_cpu_now();
            d->subs[i].fn(d->subs[i].ctx, d->batch, n);
            d->subs[i].cpu_ns += dispatch_cpu_now() - t0;
            d->subs[i].calls++;
        }
        d->stats.batches++;
        total += n;
    }
    d->stats.changes += total;
    return total;
}

size_t dispatch_run_due(dispatch *d, uint64_t now_mono_ns, int64_t now_real_ns)
{
    d->stats.wakeups++;
    if (!d->started) {
        d->started = true;
        for (size_t i = 0; i < d->n_timers; i++)
            if (d->timers[i].next_ns == 0 && d->timers[i].period_ns)
                d->timers[i].next_ns = now_mono_ns + d->timers[i].period_ns;
        d->stale_next_ns = now_mono_ns + d->stale_period_ns;
    }
    d->last_now = now_mono_ns;
    /* Staleness first: a value that went stale reaches the subscribers in
     * the same pass as the changes around it. */
    if (d->stale_period_ns && now_mono_ns >= d->stale_next_ns) {
        d->stats.stale_marked += tag_store_mark_stale(d->ts, now_real_ns);
        d->stale_next_ns = now_mono_ns + d->stale_period_ns;
    }
    size_t n = dispatch_drain(d);
    for (size_t i = 0; i < d->n_timers; i++) {
        dispatch_tmr *t = &d->timers[i];
        if (now_mono_ns < t->next_ns)
            continue;
        /* An owner-set timer is unset before it runs, so that fn can set
         * it again. */
        t->next_ns = t->period_ns ? now_mono_ns + t->period_ns : UINT64_MAX;
        uint64_t t0 = dispatch_cpu_now();
        t->fn(t->ctx, now_mono_ns);
        d->stats.timer_runs++;
        t = &d->timers[i];      /* fn may have added one: it may have moved */
        t->cpu_ns += dispatch_cpu_now() - t0;
        t->calls++;
        if (t->period_ns)
            t->next_ns = now_mono_ns + t->period_ns;
        /* A timer may have produced changes (a heartbeat does not, but a
         * later one might): they go out in this pass too. */
        n += dispatch_drain(d);
    }
    for (size_t i = 0; i < d->n_hooks; i++) {
        uint64_t t0 = dispatch_cpu_now();
        d->hooks[i].fn(d->hooks[i].ctx, now_mono_ns);
        d->hooks[i].cpu_ns += dispatch_cpu_now() - t0;
        d->hooks[i].calls++;
    }
    if (d->later) {
        dispatch_timer_fn fn = d->later;
        d->later = NULL;
        fn(d->later_ctx, now_mono_ns);
    }
    return n;
}

uint64_t dispatch_next_deadline(const dispatch *d)
{
    uint64_t next = UINT64_MAX;
    if (!d->started)
        return 0;
    if (d->stale_period_ns)
        next = d->stale_next_ns;
    for (size_t i = 0; i < d->n_timers; i++)
        if (d->timers[i].next_ns < next)
            next = d->timers[i].next_ns;
    return next;
}

static void dispatch_loop_waker(void *ctx)
{
    dispatch_wake(ctx);
}

void dispatch_wake(dispatch *d)
{
    int fd = atomic_load(&d->efd);
    if (fd < 0)
        return;
    uint64_t one = 1;
    /* A full counter (EAGAIN) means a wake-up is pending anyway. */
    ssize_t rc = write(fd, &one, sizeof one);
    (void)rc;
}

int dispatch_loop(dispatch *d, const atomic_int *stop)
{
    /* Kept open until dispatch_free, so a late dispatch_wake (a signal
     * during shutdown) never writes to a descriptor reused by then. */
    int fd = atomic_load(&d->efd);
    if (fd < 0) {
        fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (fd < 0)
            return -1;
        atomic_store(&d->efd, fd);
    }
    dispatch_set_waker(d, dispatch_loop_waker, d);
    while (!atomic_load(stop)) {
        uint64_t now = clk_mono_ns();
        dispatch_run_due(d, now, clk_real_ns());
        if (atomic_load(stop))
            break;
        uint64_t next = dispatch_next_deadline(d);
        now = clk_mono_ns();
        int ms = DISPATCH_STOP_POLL_MS;
        if (next <= now)
            ms = 0;
        else if (next - now < (uint64_t)ms * 1000000ull)
            ms = (int)((next - now + 999999) / 1000000);
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (poll(&pfd, 1, ms) > 0) {
            uint64_t v;
            ssize_t rc = read(fd, &v, sizeof v);
            (void)rc;
        }
    }
    dispatch_set_waker(d, NULL, NULL);
    return 0;
}

size_t dispatch_flush(dispatch *d)
{
    return dispatch_drain(d);
}

void dispatch_get_stats(const dispatch *d, dispatch_stats *out)
{
    *out = d->stats;
}

static void dispatch_part_add(dispatch_part *out, size_t max, size_t *n,
                              const char *name, uint64_t ns, uint64_t calls)
{
    for (size_t i = 0; i < *n && i < max; i++)
        if (strcmp(out[i].name, name) == 0) {
            out[i].cpu_ns += ns;
            out[i].calls += calls;
            return;
        }
    if (*n < max)
        out[*n] = (dispatch_part){name, ns, calls};
    (*n)++;
}

size_t dispatch_get_parts(const dispatch *d, dispatch_part *out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < d->n_subs; i++)
        dispatch_part_add(out, max, &n, d->subs[i].name, d->subs[i].cpu_ns,
                          d->subs[i].calls);
    for (size_t i = 0; i < d->n_timers; i++)
        dispatch_part_add(out, max, &n, d->timers[i].name,
                          d->timers[i].cpu_ns, d->timers[i].calls);
    for (size_t i = 0; i < d->n_hooks; i++)
        dispatch_part_add(out, max, &n, d->hooks[i].name, d->hooks[i].cpu_ns,
                          d->hooks[i].calls);
    return n;
}
