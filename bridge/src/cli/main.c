/*
 * main.c - the lockbridge command line: check, read, run.
 *
 *   lockbridge check -c FILE          validate a station or PLC map
 *   lockbridge read  -c FILE [--json] poll every PLC once and print all tags
 *   lockbridge run   -c FILE          the daemon
 *   lockbridge export -c FILE --from T [--to T] [--tags ...] [--csv]
 *
 * Exit codes: 0 success; 1 a PLC could not be read (read) or a runtime
 * failure; 2 the map has errors; 64 bad usage.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/log.h"
#include "config/plcmap.h"
#include "acquire/poller.h"
#include "record/recorder.h"
#include "core/tagstore.h"

#define LB_VERSION "0.1.0"

enum { EXIT_READFAIL = 1, EXIT_CONFIG = 2, EXIT_USAGE = 64 };

typedef struct {
    const char *config;
    bool json;
    bool csv;
    const char *tags, *from, *to;
    double summary_s;
    bool log_changes;
    log_level level;
} main_opts;

static void main_usage(FILE *f)
{
    fprintf(f,
            "usage: lockbridge COMMAND -c FILE [options]\n"
            "\n"
            "commands:\n"
            "  check   validate the station or PLC map, report every error\n"
            "  read    poll every PLC once and print every tag\n"
            "  run     run the bridge until SIGINT/SIGTERM\n"
            "  export  print recorded history: --tags plc.tag,plc.* --from T\n"
            "          [--to T] [--csv]  (T: RFC 3339, a date, now, -2h, -7d)\n"
            "\n"
            "options:\n"
            "  -c, --config FILE    station file or single PLC file\n"
            "  --json               read: print one JSON array\n"
            "  --summary SECONDS    run: per-PLC summary interval (default 5)\n"
            "  --log-changes        run: log every value change\n"
            "  -v, --verbose        run: debug logging\n"
            "  --version            print the version\n");
}

/* Loads the map or prints every error; NULL on failure. */
static map_station *main_load(const char *path)
{
    map_errors errs = {0};
    map_station *st = map_load(path, &errs);
    for (size_t i = 0; i < errs.n; i++)
        fprintf(stderr, "%s\n", errs.msgs[i]);
    if (!st && errs.n == 0)
        fprintf(stderr, "%s: cannot load map\n", path);
    map_errors_free(&errs);
    return st;
}

static int main_check(const main_opts *o)
{
    map_station *st = main_load(o->config);
    if (!st)
        return EXIT_CONFIG;
    size_t tags = 0, enabled = 0;
    for (size_t p = 0; p < st->n_plcs; p++) {
        tags += st->plcs[p].n_tags;
        enabled += st->plcs[p].enabled;
    }
    printf("%s: ok: station %s, %zu PLCs (%zu enabled), %zu tags\n",
           o->config, st->id, st->n_plcs, enabled, tags);
    map_free(st);
    return 0;
}

/* ---- read ---------------------------------------------------------------- */

typedef struct {
    poll_plc *p;
    int rc;
} main_read_job;

static void *main_read_thread(void *arg)
{
    main_read_job *j = arg;
    j->rc = poll_once(j->p);
    return NULL;
}

static void main_value_text(const map_tag *t, const val_sample *s, char *buf,
                            size_t len)
{
    if (s->v.kind == VAL_NONE) {
        snprintf(buf, len, "-");
        return;
    }
    char v[96];
    if (s->v.kind == VAL_REAL && t->type == MAP_F32 && !t->scaled)
        /* A float32 carries about 7 digits; the rest of its double is
         * noise to a reader (JSON keeps every digit). */
        snprintf(v, sizeof v, "%.7g", s->v.d);
    else
        val_to_text(&s->v, v, sizeof v);
    const map_text *label = NULL;
    if (t->n_states && (s->v.kind == VAL_INT || s->v.kind == VAL_BOOL))
        label = map_state_label(t, s->v.kind == VAL_BOOL ? s->v.b : s->v.i);
    if (label)
        snprintf(buf, len, "%s (%s)", v, label->en);
    else
        snprintf(buf, len, "%s", v);
}

static void main_print(tag_store *ts, bool json)
{
    size_t n = tag_store_count(ts);
    cJSON *arr = json ? cJSON_CreateArray() : NULL;
    for (uint32_t i = 0; i < n; i++) {
        const map_plc *plc = tag_store_plc(ts, i);
        if (!plc->enabled)
            continue;
        const map_tag *t = tag_store_tag(ts, i);
        val_sample s;
        tag_store_get(ts, i, &s);
        char when[32] = "-";
        if (s.ts_ns)
            clk_format_rfc3339(s.ts_ns, when, sizeof when);
        if (json) {
            char v[160];
            val_to_json(&s.v, v, sizeof v);
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "tag", t->full_id);
            cJSON_AddItemToObject(o, "value", cJSON_CreateRaw(v));
            if (t->unit)
                cJSON_AddStringToObject(o, "unit", t->unit);
            else
                cJSON_AddNullToObject(o, "unit");
            cJSON_AddStringToObject(o, "quality", val_quality_name(s.q));
            if (s.q == Q_DEVICE)
                cJSON_AddNumberToObject(o, "exception", s.exc);
            if (s.ts_ns)
                cJSON_AddStringToObject(o, "ts", when);
            else
                cJSON_AddNullToObject(o, "ts");
            cJSON_AddItemToArray(arr, o);
        } else {
            char v[128];
            main_value_text(t, &s, v, sizeof v);
            char q[32];
            if (s.q == Q_DEVICE)
                snprintf(q, sizeof q, "device-error(%u)", s.exc);
            else
                snprintf(q, sizeof q, "%s", val_quality_name(s.q));
            printf("%-44s %20s %-6s %-14s %s\n", t->full_id, v,
                   t->unit ? t->unit : "", q, when);
        }
    }
    if (json) {
        char *text = cJSON_PrintUnformatted(arr);
        if (text)
            printf("%s\n", text);
        free(text);
        cJSON_Delete(arr);
    }
}

static int main_read(const main_opts *o)
{
    map_station *st = main_load(o->config);
    if (!st)
        return EXIT_CONFIG;
    int rc = 0;
    tag_store *ts = tag_store_new(st, 0);
    main_read_job *jobs = calloc(st->n_plcs ? st->n_plcs : 1, sizeof *jobs);
    pthread_t *th = calloc(st->n_plcs ? st->n_plcs : 1, sizeof *th);
    if (!ts || !jobs || !th) {
        fprintf(stderr, "lockbridge: out of memory\n");
        rc = EXIT_READFAIL;
        goto out;
    }
    /* Every PLC on its own thread: one that times out does not make the
     * others wait. */
    for (size_t p = 0; p < st->n_plcs; p++) {
        if (!st->plcs[p].enabled)
            continue;
        jobs[p].p = poll_new(st, p, ts);
        if (!jobs[p].p ||
            pthread_create(&th[p], NULL, main_read_thread, &jobs[p]) != 0) {
            fprintf(stderr, "lockbridge: cannot start poller for %s\n",
                    st->plcs[p].id);
            poll_free(jobs[p].p);
            jobs[p].p = NULL;
            rc = EXIT_READFAIL;
        }
    }
    for (size_t p = 0; p < st->n_plcs; p++) {
        if (!jobs[p].p)
            continue;
        pthread_join(th[p], NULL);
        if (jobs[p].rc != 0) {
            poll_stats s;
            poll_get_stats(jobs[p].p, &s);
            fprintf(stderr, "lockbridge: %s (%s:%d unit %d): %s\n",
                    st->plcs[p].id, st->plcs[p].host, st->plcs[p].port,
                    st->plcs[p].unit,
                    s.last_error[0] ? s.last_error : "read failed");
            rc = EXIT_READFAIL;
        }
    }
    main_print(ts, o->json);
out:
    if (jobs)
        for (size_t p = 0; p < st->n_plcs; p++)
            poll_free(jobs[p].p);
    free(jobs);
    free(th);
    tag_store_free(ts);
    map_free(st);
    return rc;
}

/* ---- run ----------------------------------------------------------------- */

static volatile sig_atomic_t main_stop;

static void main_on_signal(int sig)
{
    (void)sig;
    main_stop = 1;
}

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool pending;
} main_wake;

/* Runs on poller threads (tag store notify). */
static void main_notify(void *ctx)
{
    main_wake *w = ctx;
    pthread_mutex_lock(&w->mu);
    w->pending = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

static void main_summary(const map_station *st, tag_store *ts,
                         poll_plc **pollers, poll_stats *prev, double secs)
{
    for (size_t p = 0; p < st->n_plcs; p++) {
        const map_plc *plc = &st->plcs[p];
        if (!pollers[p])
            continue;
        poll_stats s;
        poll_get_stats(pollers[p], &s);
        size_t good = 0;
        uint32_t b = tag_store_base(ts, p);
        for (size_t t = 0; t < plc->n_tags; t++) {
            val_sample v;
            tag_store_get(ts, b + (uint32_t)t, &v);
            good += v.q == Q_GOOD;
        }
        poll_stats *o = &prev[p];
        uint64_t errs = s.err_timeout + s.err_conn + s.err_exception +
                        s.err_malformed;
        uint64_t oerrs = o->err_timeout + o->err_conn + o->err_exception +
                         o->err_malformed;
        log_msg(good == plc->n_tags ? LOG_INFO : LOG_WARN, plc->id,
                "%s %s:%d: %.1f req/s, rtt p50 %.2f p99 %.2f ms, late p99 "
                "%.2f ms, missed %llu, errors %llu (timeout %llu conn %llu "
                "exc %llu malformed %llu decode %llu), reconnects %llu, "
                "tags %zu/%zu good%s%s",
                s.connected ? "up" : "DOWN", plc->host, plc->port,
                (double)(s.requests - o->requests) / secs,
                dhist_quantile(&s.response_us, 0.5) / 1000.0,
                dhist_quantile(&s.response_us, 0.99) / 1000.0,
                dhist_quantile(&s.lateness_us, 0.99) / 1000.0,
                (unsigned long long)s.deadline_misses,
                (unsigned long long)(errs - oerrs),
                (unsigned long long)s.err_timeout,
                (unsigned long long)s.err_conn,
                (unsigned long long)s.err_exception,
                (unsigned long long)s.err_malformed,
                (unsigned long long)s.err_decode,
                (unsigned long long)s.reconnects, good, plc->n_tags,
                s.last_error[0] && good != plc->n_tags ? ", last error: " : "",
                s.last_error[0] && good != plc->n_tags ? s.last_error : "");
        *o = s;
    }
}

static void main_log_change(void *ctx, const tag_change *c)
{
    tag_store *ts = ctx;
    const map_tag *t = tag_store_tag(ts, c->tag);
    char v[128];
    main_value_text(t, &c->s, v, sizeof v);
    char q[32];
    if (c->s.q == Q_DEVICE)
        snprintf(q, sizeof q, "device-error(%u)", c->s.exc);
    else
        snprintf(q, sizeof q, "%s", val_quality_name(c->s.q));
    /* One parseable line per change: "<full id> = <value> [<quality>]". */
    log_info("change", "%s = %s%s%s [%s]", t->full_id, v, t->unit ? " " : "",
             t->unit ? t->unit : "", q);
}

/* Reads a secret from the environment variable env or the first line of
 * file; NULL when neither is set.  The caller frees. */
static char *main_secret(const char *what, const char *env, const char *file)
{
    if (env) {
        const char *v = getenv(env);
        if (!v) {
            log_error("influx", "%s: environment variable %s is not set",
                      what, env);
            return NULL;
        }
        return strdup(v);
    }
    if (file) {
        FILE *f = fopen(file, "r");
        char line[1024];
        if (!f) {
            log_error("influx", "%s: cannot open %s: %s", what, file,
                      strerror(errno));
            return NULL;
        }
        char *ok = fgets(line, sizeof line, f);
        fclose(f);
        if (!ok) {
            log_error("influx", "%s: %s is empty", what, file);
            return NULL;
        }
        line[strcspn(line, "\r\n")] = '\0';
        return strdup(line);
    }
    return NULL;
}

static int main_precision(const char *name, lp_precision *out)
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

/* Opens the destinations the station asks for.  -1 when one that is
 * configured cannot be opened (the daemon refuses to run half-configured). */
static int main_open_sinks(const map_station *st, hist_db **hist,
                           influx_writer **influx, char **secrets)
{
    char err[256];
    if (st->history.enabled) {
        hist_opts ho = {
            .path = st->history.path,
            .raw_days = st->history.raw_days,
            .rollup_1m_days = st->history.rollup_1m_days,
            .rollup_1h_days = st->history.rollup_1h_days,
        };
        *hist = hist_open(&ho, err, sizeof err);
        if (!*hist) {
            log_error("history", "%s", err);
            return -1;
        }
        log_info("history", "recording to %s (raw %d days, 1-minute rollups "
                 "%d days, 1-hour rollups %d days)", ho.path, ho.raw_days,
                 ho.rollup_1m_days, ho.rollup_1h_days);
    }
    const map_influx *mi = &st->influx;
    if (mi->enabled) {
        influx_opts io = {
            .url = mi->url, .database = mi->database, .rp = mi->rp,
            .username = mi->username, .org = mi->org, .bucket = mi->bucket,
            .station = st->id, .batch_points = mi->batch_points,
            .batch_age_ns = mi->batch_age_ns, .gzip = mi->gzip,
            .timeout_ns = mi->timeout_ns, .spool_dir = mi->spool_dir,
            .spool_max_bytes = mi->spool_max_bytes,
        };
        if (main_precision(mi->precision, &io.precision) == -1) {
            log_error("influx", "precision '%s' is not ns, us, ms or s",
                      mi->precision);
            return -1;
        }
        if (mi->password_env || mi->password_file) {
            secrets[0] = main_secret("password", mi->password_env,
                                     mi->password_file);
            if (!secrets[0])
                return -1;
            io.password = secrets[0];
        }
        if (mi->token_env || mi->token_file) {
            secrets[1] = main_secret("token", mi->token_env, mi->token_file);
            if (!secrets[1])
                return -1;
            io.token = secrets[1];
        }
        *influx = influx_open(&io, err, sizeof err);
        if (!*influx) {
            log_error("influx", "%s", err);
            return -1;
        }
        log_info("influx", "writing to %s (%s %s), spool %s", mi->url,
                 mi->bucket ? "bucket" : "database",
                 mi->bucket ? mi->bucket : mi->database, mi->spool_dir);
    }
    return 0;
}

static void main_sink_summary(hist_db *hist, influx_writer *influx)
{
    if (hist) {
        hist_stats hs;
        hist_get_stats(hist, &hs);
        log_msg(hs.dropped || hs.last_error[0] ? LOG_WARN : LOG_INFO,
                "history", "%llu samples written, %zu queued, %llu dropped%s%s",
                (unsigned long long)hs.written, hs.queued,
                (unsigned long long)hs.dropped,
                hs.last_error[0] ? ", last error: " : "", hs.last_error);
    }
    if (influx) {
        influx_stats is;
        influx_get_stats(influx, &is);
        log_msg(is.auth_failed || is.spooled_points || is.dropped ? LOG_WARN
                                                                  : LOG_INFO,
                "influx", "%llu points written in %llu batches, %llu queued, "
                "%llu spooled (%llu bytes), %llu dropped, %llu retries, %llu "
                "quarantined%s%s%s",
                (unsigned long long)is.written, (unsigned long long)is.batches,
                (unsigned long long)is.queued,
                (unsigned long long)is.spooled_points,
                (unsigned long long)is.spooled_bytes,
                (unsigned long long)is.dropped, (unsigned long long)is.retries,
                (unsigned long long)is.quarantined,
                is.auth_failed ? ", AUTHENTICATION/AUTHORISATION FAILING" : "",
                is.last_error[0] ? ", last error: " : "", is.last_error);
    }
}

static int main_run(const main_opts *o)
{
    map_station *st = main_load(o->config);
    if (!st)
        return EXIT_CONFIG;
    log_set_level(o->level);
    int rc = 0;
    main_wake wake = {.pending = false};
    pthread_mutex_init(&wake.mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&wake.cv, &ca);
    pthread_condattr_destroy(&ca);

    hist_db *hist = NULL;
    influx_writer *influx = NULL;
    recorder *rec = NULL;
    char *secrets[2] = {NULL, NULL};
    tag_store *ts = tag_store_new(st, 0);
    poll_plc **pollers = calloc(st->n_plcs ? st->n_plcs : 1, sizeof *pollers);
    poll_stats *prev = calloc(st->n_plcs ? st->n_plcs : 1, sizeof *prev);
    if (!ts || !pollers || !prev) {
        log_error("main", "out of memory");
        rc = EXIT_READFAIL;
        goto out;
    }
    if (main_open_sinks(st, &hist, &influx, secrets) == -1 ||
        !(rec = rec_new(st, ts, hist, influx))) {
        rc = EXIT_READFAIL;
        goto out;
    }
    tag_store_set_notify(ts, main_notify, &wake);
    for (size_t p = 0; p < st->n_plcs; p++) {
        const map_plc *plc = &st->plcs[p];
        uint32_t b = tag_store_base(ts, p);
        for (size_t t = 0; t < plc->n_tags; t++) {
            /* A value is stale once three polls in a row have not
             * refreshed it: one late poll is jitter, three are a problem. */
            const map_tag *tg = &plc->tags[t];
            int64_t age = 3 * (int64_t)plc->groups[tg->group].period_ns +
                          (int64_t)plc->timeout_ns;
            tag_store_set_max_age(ts, b + (uint32_t)t, age);
        }
        if (!plc->enabled) {
            log_info(plc->id, "disabled in the map, not polled");
            continue;
        }
        pollers[p] = poll_new(st, p, ts);
        if (!pollers[p] || poll_start(pollers[p]) == -1) {
            log_error(plc->id, "cannot start poller: %s", strerror(errno));
            rc = EXIT_READFAIL;
            goto out;
        }
        log_info(plc->id, "polling %s:%d unit %d, %zu tags, %zu groups",
                 plc->host, plc->port, plc->unit, plc->n_tags, plc->n_groups);
    }
    log_info("main", "lockbridge %s running station %s (%zu PLCs); Ctrl-C "
             "stops", LB_VERSION, st->id, st->n_plcs);

    struct sigaction sa = {.sa_handler = main_on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    uint64_t start = clk_mono_ns();
    uint64_t next_summary = start + (uint64_t)(o->summary_s * 1e9);
    uint64_t last_summary = start;
    uint64_t changes = 0;
    while (!main_stop) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_nsec += 200000000;
        if (until.tv_nsec >= 1000000000) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000;
        }
        pthread_mutex_lock(&wake.mu);
        while (!wake.pending && !main_stop)
            if (pthread_cond_timedwait(&wake.cv, &wake.mu, &until) ==
                ETIMEDOUT)
                break;
        wake.pending = false;
        pthread_mutex_unlock(&wake.mu);

        tag_store_mark_stale(ts, clk_real_ns());
        changes += rec_pump(rec, clk_mono_ns(),
                            o->log_changes ? main_log_change : NULL, ts);
        uint64_t now = clk_mono_ns();
        if (o->summary_s > 0 && now >= next_summary) {
            main_summary(st, ts, pollers, prev,
                         (double)(now - last_summary) / 1e9);
            tag_store_stats tss;
            tag_store_get_stats(ts, &tss);
            log_info("main", "%llu changes in the last %.0f s, %llu dropped",
                     (unsigned long long)changes,
                     (double)(now - last_summary) / 1e9,
                     (unsigned long long)tss.dropped);
            main_sink_summary(hist, influx);
            changes = 0;
            last_summary = now;
            next_summary = now + (uint64_t)(o->summary_s * 1e9);
        }
    }
    log_info("main", "stopping");
out:
    /* Pollers first, then one last pump, so every sample polled reaches
     * the destinations, which then flush (history) or spool (influx). */
    if (pollers)
        for (size_t p = 0; p < st->n_plcs; p++)
            poll_free(pollers[p]);
    if (rec) {
        rec_pump(rec, clk_mono_ns(), o->log_changes ? main_log_change : NULL,
                 ts);
        /* Say where the last samples went: written, or spooled for the
         * next start. */
        if (influx)
            influx_flush(influx, 2000000000ull);
        if (hist && hist_flush(hist) == -1) {
            /* hist_close retries briefly, then drops what is left */
            hist_stats hs;
            hist_get_stats(hist, &hs);
            log_error("history", "%zu samples not written (%s): they are "
                      "lost unless the last attempt at exit succeeds",
                      hs.queued, hs.last_error);
        }
        main_sink_summary(hist, influx);
    }
    rec_free(rec);
    hist_close(hist);
    influx_close(influx);
    free(secrets[0]);
    free(secrets[1]);
    free(pollers);
    free(prev);
    tag_store_free(ts);
    pthread_cond_destroy(&wake.cv);
    pthread_mutex_destroy(&wake.mu);
    map_free(st);
    return rc;
}

/* ---- export -------------------------------------------------------------- */

/* "2026-11-24T10:00:00Z", "2026-11-24T10:00:00.250+08:00", "2026-11-24",
 * "now", or a time relative to now: "-2h", "-30m", "-7d", "-90s". */
static int main_parse_time(const char *s, int64_t now_ns, int64_t *out)
{
    if (strcmp(s, "now") == 0) {
        *out = now_ns;
        return 0;
    }
    if (s[0] == '-') {
        uint64_t ns;
        if (map_parse_duration(s + 1, &ns) == -1) {
            char *end;
            errno = 0;
            double d = strtod(s + 1, &end);
            if (errno || end == s + 1 || strcmp(end, "d") != 0 || d < 0)
                return -1;
            ns = (uint64_t)(d * 86400e9);
        }
        *out = now_ns - (int64_t)ns;
        return 0;
    }
    struct tm tm = {0};
    const char *rest = strptime(s, "%Y-%m-%d", &tm);
    if (!rest)
        return -1;
    int64_t frac_ns = 0, offset_s = 0;
    if (*rest == 'T' || *rest == ' ') {
        rest = strptime(rest + 1, "%H:%M:%S", &tm);
        if (!rest)
            return -1;
        if (*rest == '.') {
            int64_t scale = 100000000;
            for (rest++; *rest >= '0' && *rest <= '9'; rest++, scale /= 10)
                frac_ns += (*rest - '0') * scale;
        }
        if (*rest == 'Z') {
            rest++;
        } else if (*rest == '+' || *rest == '-') {
            int sign = *rest == '-' ? -1 : 1, hh, mm;
            if (sscanf(rest + 1, "%2d:%2d", &hh, &mm) != 2)
                return -1;
            offset_s = sign * (hh * 3600 + mm * 60);
            rest += 6;
        } else {
            return -1; /* a time without a zone is ambiguous: refuse */
        }
    }
    if (*rest)
        return -1;
    time_t t = timegm(&tm);
    *out = ((int64_t)t - offset_s) * 1000000000 + frac_ns;
    return 0;
}

typedef struct {
    bool csv;
    size_t n;
    bool first;
} main_export_ctx;

static int main_export_row(void *arg, const char *tag, const val_sample *s)
{
    main_export_ctx *x = arg;
    char when[40], v[160];
    clk_format_rfc3339(s->ts_ns, when, sizeof when);
    if (x->csv) {
        val_to_text(&s->v, v, sizeof v);
        bool quote = s->v.kind == VAL_STR;
        if (quote) {
            /* RFC 4180: quotes doubled inside a quoted field. */
            printf("%s,%s,\"", when, tag);
            for (const char *c = v; *c; c++)
                fputs(*c == '"' ? "\"\"" : (char[2]){*c, 0}, stdout);
            printf("\",%s\n", val_quality_name(s->q));
        } else {
            printf("%s,%s,%s,%s\n", when, tag, s->v.kind == VAL_NONE ? "" : v,
                   val_quality_name(s->q));
        }
    } else {
        val_to_json(&s->v, v, sizeof v);
        printf("%s{\"tag\":\"%s\",\"ts\":\"%s\",\"value\":%s,\"quality\":\"%s\"}",
               x->first ? "" : ",\n", tag, when, v, val_quality_name(s->q));
        x->first = false;
    }
    x->n++;
    return 0;
}

static int main_export(const main_opts *o)
{
    map_station *st = main_load(o->config);
    if (!st)
        return EXIT_CONFIG;
    int rc = EXIT_USAGE;
    const char **tags = NULL;
    size_t n_tags = 0;
    char *list = NULL;
    hist_db *h = NULL;
    int64_t now = clk_real_ns(), from, to = now;
    if (!o->from || main_parse_time(o->from, now, &from) == -1) {
        fprintf(stderr, "lockbridge: export needs --from TIME (RFC 3339 such "
                        "as 2026-11-24T08:00:00Z, a date, 'now' or -2h/-7d); "
                        "got '%s'\n", o->from ? o->from : "");
        goto out;
    }
    if (o->to && main_parse_time(o->to, now, &to) == -1) {
        fprintf(stderr, "lockbridge: --to: not a time: '%s'\n", o->to);
        goto out;
    }
    if (to <= from) {
        fprintf(stderr, "lockbridge: --to must be after --from\n");
        goto out;
    }
    size_t total = 0;
    for (size_t p = 0; p < st->n_plcs; p++)
        total += st->plcs[p].n_tags;
    tags = calloc(total ? total : 1, sizeof *tags);
    if (!tags)
        goto out;
    if (!o->tags) {
        for (size_t p = 0; p < st->n_plcs; p++)
            for (size_t t = 0; t < st->plcs[p].n_tags; t++)
                tags[n_tags++] = st->plcs[p].tags[t].full_id;
    } else {
        list = strdup(o->tags);
        char *save = NULL;
        for (char *tok = strtok_r(list, ", ", &save); tok;
             tok = strtok_r(NULL, ", ", &save)) {
            size_t len = strlen(tok);
            if (len > 2 && strcmp(tok + len - 2, ".*") == 0) {
                tok[len - 2] = '\0';
                const map_plc *plc = map_find_plc(st, tok);
                if (!plc) {
                    fprintf(stderr, "lockbridge: --tags: no PLC '%s' in %s\n",
                            tok, o->config);
                    goto out;
                }
                for (size_t t = 0; t < plc->n_tags && n_tags < total; t++)
                    tags[n_tags++] = plc->tags[t].full_id;
            } else if (map_find_tag(st, tok)) {
                if (n_tags < total)
                    tags[n_tags++] = map_find_tag(st, tok)->full_id;
            } else {
                fprintf(stderr, "lockbridge: --tags: no tag '%s' in %s "
                                "(use plc.tag or plc.*)\n", tok, o->config);
                goto out;
            }
        }
    }
    if (!st->history.enabled) {
        fprintf(stderr, "lockbridge: %s has the history turned off: nothing "
                        "to export\n", o->config);
        rc = EXIT_READFAIL;
        goto out;
    }
    char err[256];
    hist_opts ho = {.path = st->history.path, .read_only = true};
    h = hist_open(&ho, err, sizeof err);
    if (!h) {
        fprintf(stderr, "lockbridge: %s\n", err);
        rc = EXIT_READFAIL;
        goto out;
    }
    main_export_ctx x = {.csv = o->csv, .first = true};
    if (o->csv)
        printf("ts,tag,value,quality\n");
    else
        printf("[");
    if (hist_each_raw(h, tags, n_tags, from, to, main_export_row, &x, err,
                      sizeof err) == -1) {
        fprintf(stderr, "\nlockbridge: export: %s\n", err);
        rc = EXIT_READFAIL;
        goto out;
    }
    if (!o->csv)
        printf("]\n");
    fprintf(stderr, "lockbridge: exported %zu samples of %zu tags\n", x.n,
            n_tags);
    rc = 0;
out:
    hist_close(h);
    free(list);
    free(tags);
    map_free(st);
    return rc;
}

int main(int argc, char **argv)
{
    main_opts o = {.summary_s = 5, .level = LOG_INFO};
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"json", no_argument, NULL, 'j'},
        {"csv", no_argument, NULL, 'C'},
        {"tags", required_argument, NULL, 'T'},
        {"from", required_argument, NULL, 'F'},
        {"to", required_argument, NULL, 'U'},
        {"summary", required_argument, NULL, 's'},
        {"log-changes", no_argument, NULL, 'L'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    if (argc >= 2 && (strcmp(argv[1], "--version") == 0 ||
                      strcmp(argv[1], "version") == 0)) {
        printf("lockbridge %s\n", LB_VERSION);
        return 0;
    }
    if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        main_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : 0;
    }
    const char *cmd = argv[1];
    optind = 2;
    int c;
    while ((c = getopt_long(argc, argv, "c:vh", longopts, NULL)) != -1) {
        switch (c) {
        case 'c': o.config = optarg; break;
        case 'j': o.json = true; break;
        case 'C': o.csv = true; break;
        case 'T': o.tags = optarg; break;
        case 'F': o.from = optarg; break;
        case 'U': o.to = optarg; break;
        case 'L': o.log_changes = true; break;
        case 'v': o.level = LOG_DEBUG; break;
        case 's': {
            char *end;
            errno = 0;
            o.summary_s = strtod(optarg, &end);
            if (errno || end == optarg || *end || o.summary_s < 0 ||
                !isfinite(o.summary_s)) {
                fprintf(stderr, "lockbridge: --summary: not a number of "
                                "seconds: '%s'\n", optarg);
                return EXIT_USAGE;
            }
            break;
        }
        case 'h': main_usage(stdout); return 0;
        default: main_usage(stderr); return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "lockbridge: unexpected argument '%s'\n", argv[optind]);
        return EXIT_USAGE;
    }
    if (!o.config) {
        fprintf(stderr, "lockbridge: %s needs -c FILE (a station or PLC map)\n",
                cmd);
        return EXIT_USAGE;
    }
    if (strcmp(cmd, "check") == 0)
        return main_check(&o);
    if (strcmp(cmd, "read") == 0)
        return main_read(&o);
    if (strcmp(cmd, "run") == 0)
        return main_run(&o);
    if (strcmp(cmd, "export") == 0)
        return main_export(&o);
    fprintf(stderr, "lockbridge: unknown command '%s' (check, read, run, export)\n",
            cmd);
    return EXIT_USAGE;
}
