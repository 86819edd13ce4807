/*
 * summary.c - the daemon's periodic log lines (see run.h).  They are what
 * an engineer reads at 3 a.m.: a PLC that is DOWN or not all good says
 * why (its last error) at WARN, and so does a destination that drops,
 * spools or fails.  Alarm transitions are logged one line each, once
 * committed to the journal, so the log never tells of one a restart
 * would not know.
 */
#include "cli/run.h"
#include "cli/sdnotify.h"

#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "core/tagfmt.h"

static void summary_plc(const run_ctx *r, size_t p, poll_stats *prev,
                        double secs)
{
    const map_plc *plc = &r->st->plcs[p];
    poll_stats s;
    poll_get_stats(r->pollers[p], &s);
    size_t good = 0;
    uint32_t b = tag_store_base(r->ts, p);
    for (size_t t = 0; t < plc->n_tags; t++) {
        val_sample v;
        tag_store_get(r->ts, b + (uint32_t)t, &v);
        good += v.q == Q_GOOD;
    }
    uint64_t errs = s.err_timeout + s.err_conn + s.err_exception +
                    s.err_malformed;
    uint64_t oerrs = prev->err_timeout + prev->err_conn +
                     prev->err_exception + prev->err_malformed;
    bool all = good == plc->n_tags;
    log_msg(all ? LOG_INFO : LOG_WARN, plc->id,
            "%s %s:%d: %.1f req/s, rtt p50 %.2f p99 %.2f ms, late p99 "
            "%.2f ms, missed %llu, errors %llu (timeout %llu conn %llu "
            "exc %llu malformed %llu decode %llu), reconnects %llu, "
            "tags %zu/%zu good%s%s",
            s.connected ? "up" : "DOWN", plc->host, plc->port,
            (double)(s.requests - prev->requests) / secs,
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
            s.last_error[0] && !all ? ", last error: " : "",
            s.last_error[0] && !all ? s.last_error : "");
    *prev = s;
}

void run_sink_summary(const run_ctx *r)
{
    if (r->journal) {
        journal_stats js;
        board_counts bc = {0};
        journal_get_stats(r->journal, &js);
        if (r->alarms)
            board_get_counts(r->alarms, &bc);
        bool bad = js.last_error[0] || bc.merged;
        log_msg(bad ? LOG_WARN : LOG_INFO, "alarm",
                "journal: %llu records written, %zu queued, %llu merged%s%s%s",
                (unsigned long long)js.committed, js.queued,
                (unsigned long long)bc.merged,
                bc.merging ? " (merging: the journal's queue is full)" : "",
                js.last_error[0] ? ", last error: " : "", js.last_error);
    }
    if (r->notify) {
        notify_stats ns;
        notify_get_stats(r->notify, &ns);
        uint64_t dropped = ns.dropped + r->notify_hook.dropped;
        log_msg(dropped || ns.failed ? LOG_WARN : LOG_INFO, "notify",
                "%llu alarm events routed, %llu messages sent, %llu "
                "attempts failed, %llu held back, %zu queued, %llu read "
                "back from the alarm journal after an overflow, %llu "
                "dropped",
                (unsigned long long)ns.submitted,
                (unsigned long long)ns.sent, (unsigned long long)ns.failed,
                (unsigned long long)ns.held_back, ns.queued,
                (unsigned long long)ns.replayed,
                (unsigned long long)dropped);
    }
    if (r->hist) {
        hist_stats hs;
        hist_get_stats(r->hist, &hs);
        log_msg(hs.dropped || hs.last_error[0] ? LOG_WARN : LOG_INFO,
                "history", "%llu samples written, %zu queued, %llu dropped%s%s",
                (unsigned long long)hs.written, hs.queued,
                (unsigned long long)hs.dropped,
                hs.last_error[0] ? ", last error: " : "", hs.last_error);
    }
    if (r->influx) {
        influx_stats is;
        influx_get_stats(r->influx, &is);
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

void run_summary(void *arg, uint64_t now_mono_ns)
{
    run_ctx *r = arg;
    double secs = (double)(now_mono_ns - r->last_summary_ns) / 1e9;
    if (secs <= 0)
        secs = 1e-9;
    for (size_t p = 0; p < r->st->n_plcs; p++)
        if (r->pollers[p])
            summary_plc(r, p, &r->prev[p], secs);
    tag_store_stats tss;
    tag_store_get_stats(r->ts, &tss);
    dispatch_stats ds;
    dispatch_get_stats(r->d, &ds);
    board_counts bc = {0};
    if (r->alarms)
        board_get_counts(r->alarms, &bc);
    log_msg(tss.dropped ? LOG_WARN : LOG_INFO, "main",
            "%llu changes in the last %.0f s, %llu dropped; alarms %zu "
            "active, %zu unacknowledged, %zu shelved, %zu out of service",
            (unsigned long long)(ds.changes - r->changes_at_summary), secs,
            (unsigned long long)tss.dropped, bc.active, bc.unacked,
            bc.shelved, bc.out_of_service);
    run_sink_summary(r);
    r->changes_at_summary = ds.changes;
    r->last_summary_ns = now_mono_ns;
    sdn_status(r);
}

void run_log_alarms(void *arg, const journal_rec *recs, size_t n)
{
    run_ctx *r = arg;
    const alarm_engine *e = board_engine(r->alarms);
    for (size_t i = 0; i < n; i++) {
        const journal_rec *x = &recs[i];
        char msg[256] = "", val[48] = "", flags[96] = "";
        if (x->alarm < board_count(r->alarms))
            alarm_message(e, x->alarm, &x->to, false, msg, sizeof msg);
        if (x->to.has_value)
            snprintf(val, sizeof val, ", value %.6g", x->to.value);
        for (uint32_t bit = 1; bit < (1u << ALARM_FLAGS_N); bit <<= 1)
            if ((x->to.flags & bit) && alarm_flag_name(bit)) {
                size_t l = strlen(flags);
                snprintf(flags + l, sizeof flags - l, "%s%s", l ? " " : " [",
                         alarm_flag_name(bit));
            }
        if (flags[0])
            strncat(flags, "]", sizeof flags - strlen(flags) - 1);
        /* An activation an operator must see is a warning; the rest is
         * the alarm's story. */
        bool loud = x->event == ALARM_EV_ACTIVE &&
                    x->priority <= MAP_PRIO_HIGH &&
                    !(x->to.flags & (ALARM_SHELVED | ALARM_SUPP_DESIGN |
                                     ALARM_SUPP_MODE));
        log_msg(loud ? LOG_WARN : LOG_INFO, "alarm",
                "%s %s%s%s: %s -> %s%s%s, %s%s%s%s%s", x->id,
                alarm_event_name(x->event), x->who[0] ? " by " : "", x->who,
                alarm_state_name(x->from_state),
                alarm_state_name(x->to.state), flags, val,
                map_priority_name(x->priority), msg[0] ? ": " : "", msg,
                x->comment[0] ? " - " : "", x->comment);
    }
}

void run_log_changes(void *arg, const tag_change *c, size_t n)
{
    run_ctx *r = arg;
    for (size_t i = 0; i < n; i++) {
        const map_tag *t = tag_store_tag(r->ts, c[i].tag);
        char v[128], q[32];
        tagfmt_value_text(t, &c[i].s, v, sizeof v);
        tagfmt_quality_text(&c[i].s, q, sizeof q);
        log_info("change", "%s = %s%s%s [%s]", t->full_id, v,
                 t->unit ? " " : "", t->unit ? t->unit : "", q);
    }
}
