/*
 * cmd_run.c - `lockbridge run`, the daemon: setup, the consumer loop, and
 * an orderly shutdown.
 *
 * Setup opens the destinations the station asks for (refusing to run
 * half-configured), wires the dispatcher (recorder first, then
 * --log-changes, then the summary timer), and starts one poller per
 * enabled PLC.  The main thread then becomes the consumer thread and runs
 * dispatch_loop() until SIGINT/SIGTERM, whose handler wakes it at once.
 * Shutdown stops the pollers first (each returns within about a second
 * whatever its PLC does), hands the last changes out, then lets the
 * history flush and the InfluxDB writer write or spool what is queued.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/run.h"
#include "config/secret.h"
#include "core/clock.h"
#include "core/fsutil.h"
#include "core/log.h"

/* Set by the SIGINT/SIGTERM handler, on whichever thread the signal
 * lands: lock-free, so safe there and race-free for the loop. */
static atomic_int run_stop;
static dispatch *run_dispatch;   /* for the signal handler's wake-up */

static void run_on_signal(int sig)
{
    (void)sig;
    atomic_store(&run_stop, 1);
    if (run_dispatch)
        dispatch_wake(run_dispatch);   /* async-signal-safe: one write */
}

static int run_precision(const char *name, lp_precision *out)
{
    static const struct { const char *n; lp_precision p; } tab[] = {
        {"ns", LP_NS}, {"us", LP_US}, {"u", LP_US}, {"ms", LP_MS}, {"s", LP_S},
    };
    if (!name) {
        *out = LP_NS;
        return 0;
    }
    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
        if (strcmp(tab[i].n, name) == 0) {
            *out = tab[i].p;
            return 0;
        }
    return -1;
}

static int run_open_history(run_ctx *r)
{
    char err[256];
    const map_station *st = r->st;
    hist_opts ho = {
        .path = st->history.path,
        .raw_days = st->history.raw_days,
        .rollup_1m_days = st->history.rollup_1m_days,
        .rollup_1h_days = st->history.rollup_1h_days,
    };
    r->hist = hist_open(&ho, err, sizeof err);
    if (!r->hist) {
        log_error("history", "%s", err);
        return -1;
    }
    log_info("history", "recording to %s (raw %d days, 1-minute rollups "
             "%d days, 1-hour rollups %d days)", ho.path, ho.raw_days,
             ho.rollup_1m_days, ho.rollup_1h_days);
    return 0;
}

static int run_open_influx(run_ctx *r)
{
    char err[256];
    const map_station *st = r->st;
    const map_influx *mi = &st->influx;
    influx_opts io = {
        .url = mi->url, .database = mi->database, .rp = mi->rp,
        .username = mi->username, .org = mi->org, .bucket = mi->bucket,
        .station = st->id, .batch_points = mi->batch_points,
        .batch_age_ns = mi->batch_age_ns, .gzip = mi->gzip,
        .timeout_ns = mi->timeout_ns, .spool_dir = mi->spool_dir,
        .spool_max_bytes = mi->spool_max_bytes,
    };
    if (run_precision(mi->precision, &io.precision) == -1) {
        log_error("influx", "precision '%s' is not ns, us, ms or s",
                  mi->precision);
        return -1;
    }
    char why[PATH_MAX + 256];  /* the message names the file */
    if (secret_resolve("password", mi->password_env, mi->password_file,
                       &r->secrets[0], why, sizeof why) == -1 ||
        secret_resolve("token", mi->token_env, mi->token_file,
                       &r->secrets[1], why, sizeof why) == -1) {
        log_error("influx", "%s", why);
        return -1;
    }
    io.password = r->secrets[0];
    io.token = r->secrets[1];
    r->influx = influx_open(&io, err, sizeof err);
    if (!r->influx) {
        log_error("influx", "%s", err);
        return -1;
    }
    log_info("influx", "writing to %s (%s %s), spool %s", mi->url,
             mi->bucket ? "bucket" : "database",
             mi->bucket ? mi->bucket : mi->database, mi->spool_dir);
    return 0;
}

/* Everything before the loop.  -1 (already logged) when the daemon must
 * not run. */
static int run_setup(run_ctx *r)
{
    const map_station *st = r->st;
    size_t np = st->n_plcs ? st->n_plcs : 1;
    r->ts = tag_store_new(st, 0);
    r->pollers = calloc(np, sizeof *r->pollers);
    r->prev = calloc(np, sizeof *r->prev);
    if (!r->ts || !r->pollers || !r->prev || !(r->d = dispatch_new(st, r->ts))) {
        log_error("main", "out of memory");
        return -1;
    }
    /* The state directory first, with a clear message when it cannot be
     * made; the writers then create their own files and directories. */
    if (st->history.enabled || st->influx.enabled) {
        char *failed = NULL;
        if (fs_mkdirs(st->data_dir, 0750, &failed) < 0) {
            int e = errno;
            log_error("main", "data_dir %s: cannot create %s: %s",
                      st->data_dir, failed ? failed : st->data_dir,
                      strerror(e));
            free(failed);
            return -1;
        }
    }
    if (st->history.enabled && run_open_history(r) < 0)
        return -1;
    if (st->influx.enabled && run_open_influx(r) < 0)
        return -1;
    if (!(r->rec = rec_new(st, r->ts, r->hist, r->influx)) ||
        rec_attach(r->rec, r->d) < 0 ||
        (r->o->log_changes &&
         dispatch_subscribe(r->d, "log-changes", run_log_changes, r) < 0) ||
        (r->o->summary_s > 0 &&
         dispatch_every(r->d, "summary", (uint64_t)(r->o->summary_s * 1e9),
                        run_summary, r) < 0)) {
        log_error("main", "out of memory");
        return -1;
    }
    r->last_summary_ns = clk_mono_ns();
    for (size_t p = 0; p < st->n_plcs; p++) {
        const map_plc *plc = &st->plcs[p];
        if (!plc->enabled) {
            log_info(plc->id, "disabled in the map, not polled");
            continue;
        }
        r->pollers[p] = poll_new(st, p, r->ts);
        if (!r->pollers[p] || poll_start(r->pollers[p]) == -1) {
            log_error(plc->id, "cannot start poller: %s", strerror(errno));
            return -1;
        }
        log_info(plc->id, "polling %s:%d unit %d, %zu tags, %zu groups",
                 plc->host, plc->port, plc->unit, plc->n_tags, plc->n_groups);
    }
    return 0;
}

/* Pollers first, then the last changes, so every sample polled reaches
 * the destinations, which then flush (history) or spool (influx). */
static void run_teardown(run_ctx *r)
{
    if (r->pollers)
        for (size_t p = 0; p < r->st->n_plcs; p++) {
            poll_free(r->pollers[p]);
            r->pollers[p] = NULL;
        }
    if (r->d && r->rec) {
        dispatch_flush(r->d);
        /* Say where the last samples went: written, or spooled for the
         * next start. */
        if (r->influx)
            influx_flush(r->influx, 2000000000ull);
        if (r->hist && hist_flush(r->hist) == -1) {
            /* hist_close retries briefly, then drops what is left */
            hist_stats hs;
            hist_get_stats(r->hist, &hs);
            log_error("history", "%zu samples not written (%s): they are "
                      "lost unless the last attempt at exit succeeds",
                      hs.queued, hs.last_error);
        }
        run_sink_summary(r);
    }
    run_dispatch = NULL;
    dispatch_free(r->d);
    rec_free(r->rec);
    hist_close(r->hist);
    influx_close(r->influx);
    free(r->secrets[0]);
    free(r->secrets[1]);
    free(r->pollers);
    free(r->prev);
    tag_store_free(r->ts);
}

int cmd_run(const cli_opts *o)
{
    map_station *st = cli_load(o->config);
    if (!st)
        return CLI_EXIT_CONFIG;
    log_set_level(o->level);
    run_ctx r = {.o = o, .st = st};
    int rc = 0;
    if (run_setup(&r) < 0) {
        rc = CLI_EXIT_FAIL;
        goto out;
    }
    log_info("main", "lockbridge %s running station %s (%zu PLCs); Ctrl-C "
             "stops", LB_VERSION, st->id, st->n_plcs);
    run_dispatch = r.d;
    struct sigaction sa = {.sa_handler = run_on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    if (dispatch_loop(r.d, &run_stop) < 0) {
        log_error("main", "cannot run the consumer loop: %s", strerror(errno));
        rc = CLI_EXIT_FAIL;
    }
    log_info("main", "stopping");
out:
    run_teardown(&r);
    map_free(st);
    return rc;
}
