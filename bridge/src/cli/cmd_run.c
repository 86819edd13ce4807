/*
 * cmd_run.c - `lockbridge run`, the daemon: setup, the consumer loop, and
 * an orderly shutdown.
 *
 * Setup opens the destinations the station asks for (refusing to run
 * half-configured), opens the alarm journal and restores every alarm from
 * it, wires the dispatcher (recorder first, then --log-changes, the alarm
 * engine, the summary timer, the WebSocket broadcast), and starts one
 * poller per enabled PLC.  The main thread then becomes the consumer
 * thread and runs dispatch_loop() (or the web server's loop) until
 * SIGINT/SIGTERM, whose handler wakes it at once.  Shutdown stops the
 * pollers first (each returns within about a second whatever its PLC
 * does), hands the last changes out (to the engine too), waits for the
 * journal to commit their records, then lets the history flush and the
 * InfluxDB writer write or spool what is queued.
 */
#include <curl/curl.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth/acklink.h"
#include "cli/run.h"
#include "cli/sdnotify.h"
#include "config/secret.h"
#include "core/clock.h"
#include "core/fsutil.h"
#include "core/log.h"
#include "notify/rota.h"

/* Set by the SIGINT/SIGTERM handler, on whichever thread the signal
 * lands: lock-free, so safe there and race-free for the loop. */
static atomic_int run_stop;
static atomic_int run_hup;       /* SIGHUP: read the maps again */
static dispatch *run_dispatch;   /* for the signal handler's wake-up */
static web *run_web;

static void run_on_signal(int sig)
{
    atomic_store(sig == SIGHUP ? &run_hup : &run_stop, 1);
    /* Both wake-ups are one write(2) to a pipe or eventfd; web_wake is
     * lws_cancel_service(), which does no more than that. */
    if (run_web)
        web_wake(run_web);
    else if (run_dispatch)
        dispatch_wake(run_dispatch);
}

/* The built dashboard next to the executable (build/dashboard), or where
 * `cmake --install` puts it (../share/lockbridge/dashboard); NULL when
 * neither exists (the API is served all the same). */
static char *run_web_root(void)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return NULL;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (!slash)
        return NULL;
    *slash = '\0';
    static const char *const rel[] = {"dashboard",
                                      "../share/lockbridge/dashboard"};
    for (size_t i = 0; i < sizeof rel / sizeof *rel; i++) {
        char *p = NULL;
        struct stat sb;
        if (asprintf(&p, "%s/%s/index.html", exe, rel[i]) < 0)
            return NULL;
        if (stat(p, &sb) == 0 && S_ISREG(sb.st_mode)) {
            *strrchr(p, '/') = '\0';
            return p;
        }
        free(p);
    }
    return NULL;
}

/* ---- reload ------------------------------------------------------------- */

static void run_reload_later(void *ctx, uint64_t now_mono_ns)
{
    (void)now_mono_ns;
    run_reload(ctx, "SIGHUP", NULL, NULL, 0);
}

/* Every wake-up: a SIGHUP's flag, turned into a reload once the
 * dispatcher's pass is over (dispatch_later). */
static void run_reload_check(void *ctx, uint64_t now_mono_ns)
{
    (void)now_mono_ns;
    run_ctx *r = ctx;
    if (atomic_exchange(&run_hup, 0))
        dispatch_later(r->d, run_reload_later, r);
}

/* POST /api/reload (web_opts.reload), on the service thread. */
static unsigned run_reload_web(void *ctx, const char *who, strbuf *out,
                               char *why, size_t whylen)
{
    return run_reload(ctx, who, out, why, whylen);
}

/* auth's warnings (a mode tightened, a users file with bad lines): any
 * thread. */
static void run_auth_warn(void *ctx, const char *msg)
{
    (void)ctx;
    log_warn("auth", "%s", msg);
}

static int run_open_auth(run_ctx *r)
{
    const map_auth *ma = &r->st->auth;
    char err[256];
    auth_opts ao = {
        .users_path = ma->users,
        .state_dir = r->st->data_dir,
        .session_idle_ns = ma->session_idle_ns,
        .session_max_ns = ma->session_max_ns,
        .token_session_ns = ma->token_session_ns,
        .throttle_window_ns = ma->throttle_window_ns,
        .warn = run_auth_warn,
    };
    r->auth = auth_open(&ao, err, sizeof err);
    if (!r->auth) {
        log_error("auth", "%s", err);
        return -1;
    }
    size_t n = auth_user_count(r->auth);
    if (n == 0)
        log_warn("auth", "no users yet: nobody can log in or act until one "
                 "is added (lockbridge user add NAME --role admin -c %s)",
                 r->o->config);
    else
        log_info("auth", "%zu users in %s", n, ma->users);
    return 0;
}

/* ---- alarms ------------------------------------------------------------ */

static void run_journal_warn(void *ctx, const char *msg)
{
    (void)ctx;
    log_warn("alarm", "%s", msg);
}

static void run_alarm_gone(void *ctx, const char *id)
{
    run_ctx *r = ctx;
    log_warn("alarm", "%s is in the journal but no longer in the map: not "
             "restored (its records stay in %s)", id,
             r->st->alarm_journal.path);
}

/* The board's wake-up after an action (consumer thread): whichever loop
 * runs. */
void run_alarm_wake(void *ctx)
{
    run_ctx *r = ctx;
    if (r->web)
        web_wake(r->web);
    else
        dispatch_wake(r->d);
}

/* The journal's wake-up after a commit (its own thread): bound to the
 * loop once that exists, so it reads nothing main may still write. */
static void run_journal_wake_web(void *ctx)
{
    web_wake(ctx);
}

static void run_journal_wake_loop(void *ctx)
{
    dispatch_wake(ctx);
}

/* The journal, the engine restored from it, and its place among the
 * subscribers (after the recorder and --log-changes). */
static int run_open_alarms(run_ctx *r)
{
    const map_station *st = r->st;
    char err[512];
    journal_opts jo = {.path = st->alarm_journal.path,
                       .warn = run_journal_warn,
                       .retention_ns = st->alarm_journal.retention_ns};
    r->journal = journal_open(&jo, err, sizeof err);
    if (!r->journal) {
        log_error("alarm", "journal %s", err);
        return -1;
    }
    r->alarms = board_new(st, r->journal, run_alarm_wake, r);
    if (!r->alarms) {
        log_error("alarm", "out of memory");
        return -1;
    }
    long n = board_restore(r->alarms, st->alarm_journal.path, run_alarm_gone,
                           r, err, sizeof err);
    if (n < 0) {
        log_error("alarm", "cannot restore from the journal: %s", err);
        return -1;
    }
    board_counts bc;
    board_get_counts(r->alarms, &bc);
    log_info("alarm", "%zu alarms, journal %s: %ld restored (%zu active, "
             "%zu unacknowledged, %zu shelved, %zu out of service)",
             board_count(r->alarms), st->alarm_journal.path, n, bc.active,
             bc.unacked, bc.shelved, bc.out_of_service);
    if (board_attach(r->alarms, r->d) < 0 ||
        board_listen(r->alarms, run_log_alarms, r) < 0) {
        log_error("main", "out of memory");
        return -1;
    }
    return 0;
}

/* ---- notifications ------------------------------------------------------ */

/* The notify thread's lines (and notify_open's, on main). */
static void run_notify_log(void *ctx, notify_level lv, const char *msg)
{
    (void)ctx;
    log_msg(lv == NOTIFY_ERROR ? LOG_ERROR
            : lv == NOTIFY_WARN ? LOG_WARN : LOG_INFO, "notify", "%s", msg);
}

/* Once a second (consumer thread): each channel's count of failed
 * attempts, which the notify thread keeps, into its own alarm.  The
 * notify thread never touches the engine. */
static void run_channel_alarms(void *ctx, uint64_t now_mono_ns)
{
    (void)now_mono_ns;
    run_ctx *r = ctx;
    const map_notify *nf = &r->st->notify;
    int64_t now = clk_real_ns();
    for (size_t i = 0; i < nf->n_channels; i++) {
        if (r->chan_alarm[i] < 0)
            continue;
        notify_health h;
        notify_channel_health(r->notify, i, &h);
        board_set_external(r->alarms, (size_t)r->chan_alarm[i],
                           notify_health_cond(&h, nf->channels[i].fail_after),
                           now);
    }
}

/* The delivery thread, after the alarms are restored: what the alarm
 * journal committed but a crash kept from the notify journal is routed
 * first, then the board's committed records follow as they come. */
static int run_open_notify(run_ctx *r)
{
    const map_station *st = r->st;
    char err[1400];
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        log_error("notify", "curl_global_init failed");
        return -1;
    }
    r->notify_src = (notify_replay_src){
        .journal_path = st->alarm_journal.path,
        .e = board_engine(r->alarms)};
    notify_opts no = {.st = st, .log = run_notify_log,
                      .acklink = r->acklink, .replay = notify_hook_replay,
                      .replay_ctx = &r->notify_src};
    r->notify = notify_open(&no, err, sizeof err);
    if (!r->notify) {
        log_error("notify", "%s", err);
        return -1;
    }
    long caught = notify_catch_up(r->notify, st->alarm_journal.path,
                                  board_engine(r->alarms), err, sizeof err);
    if (caught < 0) {
        log_error("notify", "cannot catch up from the alarm journal: %s",
                  err);
        return -1;
    }
    r->notify_hook = (notify_hook){.n = r->notify, .b = r->alarms,
                                   .st = st,
                                   .summary = notify_hook_mqtt(st)};
    /* The mqtt channels' retained summary of what the restored board
     * shows, so that after a restart the broker holds the truth. */
    if (r->notify_hook.summary)
        notify_hook_summary(&r->notify_hook, true);
    if (board_listen(r->alarms, notify_hook_listener, &r->notify_hook) < 0) {
        log_error("main", "out of memory");
        return -1;
    }
    if (notify_start(r->notify) < 0) {
        log_error("notify", "cannot start the notify thread: %s",
                  strerror(errno));
        return -1;
    }
    const map_notify *nf = &st->notify;
    r->chan_alarm = calloc(nf->n_channels ? nf->n_channels : 1,
                           sizeof *r->chan_alarm);
    if (!r->chan_alarm ||
        dispatch_every(r->d, "notify", 1000000000ull, run_channel_alarms,
                       r) < 0) {
        log_error("main", "out of memory");
        return -1;
    }
    for (size_t i = 0; i < nf->n_channels; i++)
        r->chan_alarm[i] =
            nf->channels[i].fail_alarm.enabled
                ? alarm_find(board_engine(r->alarms),
                             nf->channels[i].fail_alarm.full_id)
                : -1;
    log_info("notify", "%zu channels, %zu on-call levels, %zu routes, "
             "journal %s, time zone %s%s%ld alarm events caught up",
             nf->n_channels, nf->n_oncall, nf->n_routes, nf->journal,
             nf->timezone ? nf->timezone : "of the system", ", ", caught);
    return 0;
}

static int run_open_web(run_ctx *r)
{
    const map_web *mw = &r->st->web;
    char err[256];
    char *root = mw->root ? strdup(mw->root) : run_web_root();
    web_opts wo = {
        .listen = r->o->web ? r->o->web : mw->listen,
        .root = root,
        .origins = (const char *const *)mw->origins,
        .n_origins = mw->n_origins,
        .rate_hz = mw->rate_hz,
        .stuck_ns = mw->stuck_after_ns,
        .tls_cert = mw->tls_cert,
        .tls_key = mw->tls_key,
        .insecure = mw->insecure,
        .metrics = mw->metrics.access,
        .version = LB_VERSION,
        .reload = run_reload_web,
        .reload_ctx = r,
    };
    if (secret_resolve("web.metrics token", mw->metrics.token_env,
                       mw->metrics.token_file, &r->metrics_token, err,
                       sizeof err) < 0) {
        log_error("web", "%s", err);
        free(root);
        return -1;
    }
    wo.metrics_token = r->metrics_token;
    /* Anonymous viewers by default only on loopback: a dashboard that
     * other machines reach shows nothing until someone logs in, unless
     * the map says anonymous: viewer. */
    const map_auth *ma = &r->st->auth;
    bool loop = map_listen_is_loopback(wo.listen);
    wo.anonymous = ma->anonymous_set
                       ? (ma->anonymous == MAP_ANON_NONE ? AUTH_NONE
                                                         : AUTH_VIEWER)
                       : (loop ? AUTH_VIEWER : AUTH_NONE);
    web_sources src = {.hist = r->hist, .influx = r->influx,
                       .pollers = r->pollers, .config = r->o->config,
                       .auth = r->auth, .state_dir = r->st->data_dir,
                       .alarms = r->alarms,
                       .journal_path = r->st->alarm_journal.path,
                       .acklink = r->acklink, .notify = r->notify};
    r->web = web_new(&wo, r->st, r->ts, r->d, &src, err, sizeof err);
    if (!r->web) {
        /* web_new's messages start "web: " for callers without a log
         * prefix; here the prefix says it already. */
        log_error("web", "%s", strncmp(err, "web: ", 5) == 0 ? err + 5 : err);
        free(root);
        return -1;
    }
    if (root)
        log_info("web", "dashboard on %s://%s/ (files from %s)",
                 web_scheme(r->web), web_address(r->web), root);
    else
        log_warn("web", "serving the API on %s://%s/ but no built "
                 "dashboard was found (./run build builds it; or set "
                 "web.root)", web_scheme(r->web), web_address(r->web));
    if (!mw->tls_cert && !map_listen_is_loopback(wo.listen))
        log_warn("web", "%s is reachable from other machines over plain "
                 "HTTP (web.insecure): logins and data travel unencrypted; "
                 "give web.tls {cert, key}", web_address(r->web));
    free(root);
    return 0;
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
        .rollup_10m_days = st->history.rollup_10m_days,
        .rollup_1h_days = st->history.rollup_1h_days,
    };
    r->hist = hist_open(&ho, err, sizeof err);
    if (!r->hist) {
        log_error("history", "%s", err);
        return -1;
    }
    log_info("history", "recording to %s (raw %d days, 1-minute rollups "
             "%d days, 10-minute %d days, 1-hour %d days)", ho.path,
             ho.raw_days, ho.rollup_1m_days, ho.rollup_10m_days,
             ho.rollup_1h_days);
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
        .tenant = mi->tenant, .consistency = mi->consistency,
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
    if (st->history.enabled || st->influx.enabled || st->web.enabled) {
        char *failed = NULL;
        /* 0700: it holds users, sessions and the audit log (issue 8). */
        if (fs_mkdirs(st->data_dir, 0700, &failed) < 0) {
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
         dispatch_subscribe(r->d, "log-changes", run_log_changes, r) < 0)) {
        log_error("main", "out of memory");
        return -1;
    }
    if (run_open_alarms(r) < 0)
        return -1;
    bool web_on = r->o->web ? strcmp(r->o->web, "off") != 0 : st->web.enabled;
    /* Acknowledge links (auth/acklink.h): the key and the used links in
     * the state directory, next to the users; made by notifications,
     * used on the dashboard's page, so only with both alarms and the
     * dashboard. */
    if (r->alarms && web_on) {
        char err[512];
        r->acklink = acklink_open(st->data_dir, true, run_auth_warn, NULL,
                                  err, sizeof err);
        if (!r->acklink) {
            log_error("auth", "acknowledge links: %s", err);
            return -1;
        }
    }
    if (st->notify.enabled && run_open_notify(r) < 0)
        return -1;
    if (r->o->summary_s > 0 &&
        dispatch_every(r->d, "summary", (uint64_t)(r->o->summary_s * 1e9),
                       run_summary, r) < 0) {
        log_error("main", "out of memory");
        return -1;
    }
    r->last_summary_ns = clk_mono_ns();
    if (dispatch_on_wake(r->d, "reload", run_reload_check, r) < 0) {
        log_error("main", "out of memory");
        return -1;
    }
    /* The web server subscribes after the recorder: the time series come
     * first in every batch. */
    if (web_on && (run_open_auth(r) < 0 || run_open_web(r) < 0))
        return -1;
    if (r->web)
        journal_set_notify(r->journal, run_journal_wake_web, r->web);
    else
        journal_set_notify(r->journal, run_journal_wake_loop, r->d);
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
        /* The last changes' alarm records, committed and logged. */
        if (r->alarms) {
            if (journal_flush(r->journal) == -1) {
                journal_stats js;
                journal_get_stats(r->journal, &js);
                log_error("alarm", "%zu alarm records not journalled (%s): "
                          "they are lost unless the last attempt at exit "
                          "succeeds", js.queued, js.last_error);
            }
            board_collect(r->alarms);
        }
        /* ... and their notifications journalled, to go out after the
         * restart if not before */
        notify_close(r->notify);
        r->notify = NULL;
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
    run_web = NULL;
    /* the journal's thread may still commit (a disk that was full): it
     * must not wake a server or loop that is gone */
    if (r->journal)
        journal_set_notify(r->journal, NULL, NULL);
    web_free(r->web);
    free(r->metrics_token);
    if (r->auth) {
        /* the sessions' last use, so idle timers carry over a restart */
        auth_flush(r->auth, clk_real_ns());
        auth_close(r->auth);
    }
    dispatch_free(r->d);
    notify_close(r->notify);
    /* after the web and the notify thread, which both use it */
    acklink_close(r->acklink);
    board_free(r->alarms);
    notify_hook_done(&r->notify_hook);
    journal_close(r->journal);
    rec_free(r->rec);
    hist_close(r->hist);
    influx_close(r->influx);
    free(r->secrets[0]);
    free(r->secrets[1]);
    free(r->pollers);
    free(r->chan_alarm);
    free(r->prev);
    tag_store_free(r->ts);
    /* last: the writers' queues, the web worker and the notify thread
     * pointed into them */
    run_retired_free(r);
}

int cmd_run(const cli_opts *o)
{
    map_station *st = cli_load(o);
    if (!st)
        return CLI_EXIT_CONFIG;
    log_set_level(o->level);
    /* The rotas' zone, before any thread starts (notify/rota.h). */
    char tzerr[128];
    if (st->notify.enabled &&
        rota_set_zone(st->notify.timezone, tzerr, sizeof tzerr) < 0) {
        log_error("notify", "%s", tzerr);
        map_free(st);
        return CLI_EXIT_FAIL;
    }
    run_ctx r = {.o = o, .st = st};
    for (size_t i = 0; i < st->warnings.n; i++)
        log_warn("main", "%s", st->warnings.msgs[i]);
    int rc = 0;
    if (run_setup(&r) < 0) {
        rc = CLI_EXIT_FAIL;
        goto out;
    }
    /* READY=1 once the pollers have polled (the web server is bound
     * already), and the watchdog's pings: both on the consumer thread. */
    if (sdn_attach(&r) < 0) {
        log_error("main", "out of memory");
        rc = CLI_EXIT_FAIL;
        goto out;
    }
    log_info("main", "lockbridge %s running station %s (%zu PLCs); Ctrl-C "
             "stops", LB_VERSION, st->id, st->n_plcs);
    run_dispatch = r.d;
    run_web = r.web;
    struct sigaction sa = {.sa_handler = run_on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    /* A peer that closes a socket we write to must not kill the daemon. */
    signal(SIGPIPE, SIG_IGN);
    int lrc = r.web ? web_run(r.web, &run_stop)
                    : dispatch_loop(r.d, &run_stop);
    if (lrc < 0) {
        log_error("main", "cannot run the consumer loop: %s", strerror(errno));
        rc = CLI_EXIT_FAIL;
    }
    log_info("main", "stopping");
    sdn_stopping();
out:
    run_teardown(&r);
    map_free(r.st);             /* st, or what the last reload put there */
    return rc;
}
