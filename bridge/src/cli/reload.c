/*
 * reload.c - `lockbridge run` reads its maps again (SIGHUP, POST
 * /api/reload) without a gap: see run.h's run_reload for the contract.
 *
 * The order is what makes it gapless.  Everything runs on the consumer
 * thread, so no change is handed out while the wiring moves:
 *   1. load and check the new map; refuse it (nothing changed) when it has
 *      errors or changes what only a restart applies;
 *   2. a new tag store; pollers of removed or changed PLCs stopped (their
 *      last samples are queued in the old store), pollers of new or
 *      changed PLCs started on the new store;
 *   3. every untouched PLC's poller told to publish into the new store
 *      from its next cycle (poll_rebind: its connection and schedule carry
 *      on), and waited for; then its current values carried over
 *      (tag_store_adopt), so the new store has no "first values" for them;
 *   4. the old store drained through the old recorder, engine and
 *      WebSocket (dispatch_flush), the alarm journal flushed and its
 *      records taken in: nothing of the old station is left in flight;
 *   5. a new recorder and alarm board (restored from the journal, as at a
 *      start) take the old ones' places in the dispatcher, which moves to
 *      the new store; the engine is shown the present values, so a
 *      changed limit takes effect now; the web server shows the new
 *      station and closes each live page's socket with 1012.
 * The old map, store and board are kept until exit: the influx writer's
 * queue, the web worker's jobs and the notify thread may still point into
 * them (a few hundred kB a reload; reloads are an engineer's edits).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/run.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/strbuf.h"

/* What happened to each PLC, for the log line and the answer. */
typedef enum { RL_KEPT, RL_RESTARTED, RL_ADDED, RL_REMOVED, RL_OFF, RL_N }
    rl_kind;
static const char *const rl_names[RL_N] = {"kept", "restarted", "added",
                                           "removed", "disabled"};

typedef struct {
    strbuf ids[RL_N];          /* JSON string lists, comma separated */
    strbuf text[RL_N];         /* "a, b" for the log */
    size_t n[RL_N];
} rl_report;

static void rl_add(rl_report *rep, rl_kind k, const char *id)
{
    if (rep->n[k]++) {
        sb_putc(&rep->ids[k], ',');
        sb_puts(&rep->text[k], ", ");
    }
    sb_json_str(&rep->ids[k], id);
    sb_puts(&rep->text[k], id);
}

static unsigned rl_refuse(strbuf *out, char *why, size_t whylen,
                          const map_errors *errs, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static unsigned rl_refuse(strbuf *out, char *why, size_t whylen,
                          const map_errors *errs, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    for (size_t i = 0; errs && i < errs->n; i++)
        log_error("reload", "%s", errs->msgs[i]);
    log_error("reload", "%s", msg);
    if (why)
        snprintf(why, whylen, "%s", errs && errs->n ? errs->msgs[0] : msg);
    if (out) {
        sb_puts(out, "{\"ok\":false,\"error\":");
        sb_json_str(out, msg);
        sb_puts(out, ",\"errors\":[");
        for (size_t i = 0; errs && i < errs->n; i++) {
            if (i)
                sb_putc(out, ',');
            sb_json_str(out, errs->msgs[i]);
        }
        sb_puts(out, "]}\n");
    }
    return 422;
}

static void rl_gone(void *ctx, const char *id)
{
    (void)id;
    (*(size_t *)ctx)++;
}

/* The engine sees every value the store holds, timed now: a limit that
 * changed, or an alarm that is new, is judged against the present, and an
 * alarm it raises is raised at the reload, not when the value last
 * changed. */
static void rl_show_present(board *b, tag_store *ts)
{
    size_t n = tag_store_count(ts);
    tag_change *c = malloc((n ? n : 1) * sizeof *c);
    if (!c)
        return;
    int64_t now = clk_real_ns();
    size_t k = 0;
    for (uint32_t i = 0; i < n; i++) {
        val_sample s;
        if (tag_store_get(ts, i, &s) < 0 || s.q == Q_INIT)
            continue;
        s.ts_ns = now;
        c[k].tag = i;
        c[k++].s = s;
    }
    board_feed(b, c, k);
    free(c);
}

unsigned run_reload(run_ctx *r, const char *who, strbuf *out, char *why,
                    size_t whylen)
{
    uint64_t t0 = clk_mono_ns();
    const char *path = r->o->config;
    log_info("reload", "reading %s again (%s)", path, who);
    map_errors errs = {0};
    map_station *st = map_load_data_dir(path, r->o->data_dir, &errs);
    if (!st) {
        unsigned rc = rl_refuse(out, why, whylen, &errs, "%s has %zu "
                                "error%s: not reloaded, the running "
                                "configuration stays", path, errs.n,
                                errs.n == 1 ? "" : "s");
        map_errors_free(&errs);
        return rc;
    }
    map_errors_free(&errs);
    const char *fixed = map_fixed_changed(r->st, st);
    if (fixed) {
        map_free(st);
        return rl_refuse(out, why, whylen, NULL, "'%s' changed in %s: only "
                         "a restart applies it (systemctl restart "
                         "lockbridge); nothing was reloaded", fixed, path);
    }
    /* Nothing of the old station may wait for the journal when the new
     * board takes over: refuse while the journal cannot commit. */
    if (r->alarms && journal_flush(r->journal) < 0) {
        map_free(st);
        return rl_refuse(out, why, whylen, NULL, "the alarm journal cannot "
                         "commit (see its errors above): not reloaded, the "
                         "running configuration stays");
    }
    for (size_t i = 0; i < st->warnings.n; i++)
        log_warn("reload", "%s", st->warnings.msgs[i]);

    size_t n_old = r->st->n_plcs, n = st->n_plcs;
    tag_store *ts = tag_store_new(st, 0);
    poll_plc **pollers = calloc(n ? n : 1, sizeof *pollers);
    poll_stats *prev = calloc(n ? n : 1, sizeof *prev);
    long *from = malloc((n ? n : 1) * sizeof *from);
    bool *taken = calloc(n_old ? n_old : 1, sizeof *taken);
    run_retired *ret = realloc(r->retired,
                               (r->n_retired + 1) * sizeof *r->retired);
    if (ret)
        r->retired = ret;
    if (!ts || !pollers || !prev || !from || !taken || !ret) {
        tag_store_free(ts);
        free(pollers);
        free(prev);
        free(from);
        free(taken);
        map_free(st);
        return rl_refuse(out, why, whylen, NULL, "out of memory: not "
                         "reloaded");
    }
    rl_report rep;
    for (int k = 0; k < RL_N; k++) {
        sb_init(&rep.ids[k], 0);
        sb_init(&rep.text[k], 0);
        rep.n[k] = 0;
    }

    /* 2. which PLC is which */
    for (size_t j = 0; j < n; j++) {
        from[j] = -1;
        const map_plc *np = &st->plcs[j];
        long same = -1;
        for (size_t i = 0; i < n_old && same < 0; i++)
            if (!taken[i] && strcmp(r->st->plcs[i].id, np->id) == 0)
                same = (long)i;
        if (same >= 0)
            taken[same] = true;
        if (!np->enabled) {
            rl_add(&rep, RL_OFF, np->id);
            continue;
        }
        if (same >= 0 && r->pollers[same] &&
            map_plc_same_polling(&r->st->plcs[same], np)) {
            from[j] = same;
            rl_add(&rep, RL_KEPT, np->id);
            continue;
        }
        rl_add(&rep, same >= 0 ? RL_RESTARTED : RL_ADDED, np->id);
    }
    for (size_t i = 0; i < n_old; i++) {
        if (!taken[i])
            rl_add(&rep, RL_REMOVED, r->st->plcs[i].id);
        bool kept = false;
        for (size_t j = 0; j < n; j++)
            kept |= from[j] == (long)i;
        if (!kept && r->pollers[i]) {
            poll_free(r->pollers[i]);   /* its last samples stay queued */
            r->pollers[i] = NULL;
        }
    }
    for (size_t j = 0; j < n; j++) {
        if (from[j] >= 0 || !st->plcs[j].enabled)
            continue;
        const map_plc *plc = &st->plcs[j];
        pollers[j] = poll_new(st, j, ts);
        if (!pollers[j] || poll_start(pollers[j]) == -1) {
            log_error(plc->id, "cannot start poller: %s", strerror(errno));
            poll_free(pollers[j]);
            pollers[j] = NULL;
            continue;
        }
        log_info(plc->id, "polling %s:%d unit %d, %zu tags, %zu groups",
                 plc->host, plc->port, plc->unit, plc->n_tags,
                 plc->n_groups);
    }

    /* 3. the untouched pollers move to the new store, all at once */
    for (size_t j = 0; j < n; j++)
        if (from[j] >= 0)
            poll_rebind(r->pollers[from[j]], st, j, ts);
    size_t carried = 0;
    for (size_t j = 0; j < n; j++) {
        if (from[j] < 0)
            continue;
        poll_rebind_wait(r->pollers[from[j]]);
        pollers[j] = r->pollers[from[j]];
        prev[j] = r->prev[from[j]];
        carried += tag_store_adopt(ts, j, r->ts, (size_t)from[j]);
    }

    /* 4. the old station's last changes and alarm records */
    dispatch_flush(r->d);
    size_t gone = 0;
    board *alarms = NULL;
    if (r->alarms) {
        if (journal_flush(r->journal) < 0)
            log_error("reload", "the alarm journal failed a commit during "
                      "the reload: its records stay queued and are retried");
        board_collect(r->alarms);
        char err[512];
        alarms = board_new(st, r->journal, run_alarm_wake, r);
        long restored = alarms ? board_restore(alarms,
                                               st->alarm_journal.path,
                                               rl_gone, &gone, err,
                                               sizeof err)
                               : -1;
        if (restored < 0 || board_take_over(alarms, r->alarms) < 0) {
            /* the old board keeps going on the new store: its tag
             * indices would be wrong, so no alarms rather than false
             * ones */
            log_error("reload", "the alarms could not be restored for the "
                      "new map (%s): alarm evaluation stops until a "
                      "restart", restored < 0 ? err : "journal busy");
            board_free(alarms);
            alarms = NULL;
            board_park(r->alarms);
        }
    }

    /* 5. the new wiring */
    recorder *rec = rec_new(st, ts, r->hist, r->influx);
    if (rec)
        rec_take_over(rec, r->rec, r->d);
    else
        log_error("reload", "out of memory: the time series stop until a "
                  "restart");
    dispatch_set_station(r->d, st, ts);
    if (alarms) {
        rl_show_present(alarms, ts);
        r->notify_hook.b = alarms;
        atomic_store(&r->notify_src.e, board_engine(alarms));
        const map_notify *nf = &st->notify;
        for (size_t i = 0; r->chan_alarm && i < nf->n_channels; i++)
            r->chan_alarm[i] =
                nf->channels[i].fail_alarm.enabled
                    ? alarm_find(board_engine(alarms),
                                 nf->channels[i].fail_alarm.full_id)
                    : -1;
    }
    if (r->web && web_set_station(r->web, st, ts, pollers, alarms) < 0)
        log_error("reload", "out of memory while the dashboard took the new "
                  "station");

    r->retired[r->n_retired++] = (run_retired){r->st, r->ts, r->alarms};
    rec_free(r->rec);
    free(r->pollers);
    free(r->prev);
    r->st = st;
    r->ts = ts;
    r->pollers = pollers;
    r->prev = prev;
    r->rec = rec;
    r->alarms = alarms;
    r->reloads++;
    free(from);
    free(taken);

    size_t tags = tag_store_count(ts);
    size_t n_alarms = alarms ? board_count(alarms) : 0;
    double ms = (double)(clk_mono_ns() - t0) / 1e6;
    log_info("reload", "%s reloaded in %.0f ms: %zu PLCs (%zu kept polling%s%s"
             "%s%s%s%s%s%s), %zu tags (%zu values carried over), %zu "
             "alarms%s", path, ms, n, rep.n[RL_KEPT],
             rep.n[RL_RESTARTED] ? "; restarted: " : "",
             rep.n[RL_RESTARTED] ? sb_data(&rep.text[RL_RESTARTED]) : "",
             rep.n[RL_ADDED] ? "; added: " : "",
             rep.n[RL_ADDED] ? sb_data(&rep.text[RL_ADDED]) : "",
             rep.n[RL_REMOVED] ? "; removed: " : "",
             rep.n[RL_REMOVED] ? sb_data(&rep.text[RL_REMOVED]) : "",
             rep.n[RL_OFF] ? "; disabled: " : "",
             rep.n[RL_OFF] ? sb_data(&rep.text[RL_OFF]) : "",
             tags, carried, n_alarms,
             gone ? " (the journal has alarms the map no longer has)" : "");
    if (out) {
        sb_puts(out, "{\"ok\":true,\"config\":");
        sb_json_str(out, path);
        sb_puts(out, ",\"plcs\":{");
        for (int k = 0; k < RL_N; k++)
            sb_printf(out, "%s\"%s\":[%s]", k ? "," : "", rl_names[k],
                      rep.n[k] ? sb_data(&rep.ids[k]) : "");
        sb_printf(out, "},\"tags\":%zu,\"carried\":%zu,\"alarms\":%zu,"
                  "\"reloads\":%llu,\"took_ms\":%.1f}\n", tags, carried,
                  n_alarms, (unsigned long long)r->reloads, ms);
    }
    for (int k = 0; k < RL_N; k++) {
        sb_free(&rep.ids[k]);
        sb_free(&rep.text[k]);
    }
    return 200;
}

void run_retired_free(run_ctx *r)
{
    for (size_t i = 0; i < r->n_retired; i++) {
        board_free(r->retired[i].alarms);
        tag_store_free(r->retired[i].ts);
        map_free(r->retired[i].st);
    }
    free(r->retired);
    r->retired = NULL;
    r->n_retired = 0;
}
