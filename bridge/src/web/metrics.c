/*
 * metrics.c - the Prometheus text exposition of the bridge's statistics
 * (metrics.h).  Everything is read through the modules' own copies.
 */
#include "web/metrics.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "alarm/engine.h"
#include "config/alarmdef.h"

void metrics_escape(strbuf *b, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\')
            sb_puts(b, "\\\\");
        else if (*v == '"')
            sb_puts(b, "\\\"");
        else if (*v == '\n')
            sb_puts(b, "\\n");
        else
            sb_putc(b, *v);
    }
}

static void m_family(strbuf *b, const char *name, const char *type,
                     const char *help)
{
    sb_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{k1="v1"[,k2="v2"]} value */
static void m_sample(strbuf *b, const char *name, const char *k1,
                     const char *v1, const char *k2, const char *v2,
                     double value)
{
    sb_puts(b, name);
    if (k1) {
        sb_printf(b, "{%s=\"", k1);
        metrics_escape(b, v1);
        sb_putc(b, '"');
        if (k2) {
            sb_printf(b, ",%s=\"", k2);
            metrics_escape(b, v2);
            sb_putc(b, '"');
        }
        sb_putc(b, '}');
    }
    sb_printf(b, " %.17g\n", value);
}

/* One sample per writer the station runs (history, influx). */
static void m_per_writer(strbuf *b, const char *name, bool hist, double hv,
                         bool influx, double iv)
{
    if (hist)
        m_sample(b, name, "writer", "history", NULL, NULL, hv);
    if (influx)
        m_sample(b, name, "writer", "influx", NULL, NULL, iv);
}

static void m_one(strbuf *b, const char *name, const char *type,
                  const char *help, double v)
{
    m_family(b, name, type, help);
    m_sample(b, name, NULL, NULL, NULL, NULL, v);
}

static void m_plcs(strbuf *b, const metrics_src *s)
{
    const map_station *st = s->st;
    size_t n = st->n_plcs;
    poll_stats *ps = calloc(n ? n : 1, sizeof *ps);
    if (!ps) {
        b->failed = true;
        return;
    }
    for (size_t i = 0; i < n; i++)
        poll_get_stats(s->pollers[i], &ps[i]);
#define PLC_COUNTER(fname, help, field)                                     \
    m_family(b, fname, "counter", help);                                    \
    for (size_t i = 0; i < n; i++)                                          \
        m_sample(b, fname, "plc", st->plcs[i].id, NULL, NULL,               \
                 (double)ps[i].field);
    PLC_COUNTER("lockbridge_plc_requests_total", "Modbus requests sent.",
                requests)
    PLC_COUNTER("lockbridge_plc_cycles_total", "Poll-group cycles run.",
                cycles)
    PLC_COUNTER("lockbridge_plc_reconnects_total",
                "Successful connects after a failure.", reconnects)
    PLC_COUNTER("lockbridge_plc_deadline_misses_total",
                "Poll deadlines skipped because a cycle overran.",
                deadline_misses)
    m_family(b, "lockbridge_plc_errors_total", "counter",
             "Failed requests and values, by kind.");
    for (size_t i = 0; i < n; i++) {
        const char *id = st->plcs[i].id;
        const char *e = "lockbridge_plc_errors_total";
        m_sample(b, e, "plc", id, "kind", "timeout",
                 (double)ps[i].err_timeout);
        m_sample(b, e, "plc", id, "kind", "connection",
                 (double)ps[i].err_conn);
        m_sample(b, e, "plc", id, "kind", "exception",
                 (double)ps[i].err_exception);
        m_sample(b, e, "plc", id, "kind", "malformed",
                 (double)ps[i].err_malformed);
        m_sample(b, e, "plc", id, "kind", "decode", (double)ps[i].err_decode);
    }
    m_family(b, "lockbridge_plc_connected", "gauge",
             "1 while the connection to the PLC is up.");
    for (size_t i = 0; i < n; i++)
        m_sample(b, "lockbridge_plc_connected", "plc", st->plcs[i].id, NULL,
                 NULL, ps[i].connected ? 1 : 0);
    static const char *const hn[2] = {"lockbridge_plc_response_seconds",
                                      "lockbridge_plc_lateness_seconds"};
    static const char *const hh[2] = {
        "Modbus request round trips.",
        "How late poll cycles started after their deadline."};
    for (int k = 0; k < 2; k++) {
        m_family(b, hn[k], "histogram", hh[k]);
        for (size_t i = 0; i < n; i++) {
            const poll_buckets *h = k ? &ps[i].lateness_b : &ps[i].response_b;
            const char *id = st->plcs[i].id;
            for (size_t j = 0; j <= POLL_LE_N; j++) {
                sb_printf(b, "%s_bucket{plc=\"", hn[k]);
                metrics_escape(b, id);
                if (j < POLL_LE_N)
                    sb_printf(b, "\",le=\"%g\"} %llu\n",
                              (double)POLL_LE_US[j] / 1e6,
                              (unsigned long long)h->le[j]);
                else
                    sb_printf(b, "\",le=\"+Inf\"} %llu\n",
                              (unsigned long long)h->count);
            }
            sb_printf(b, "%s_sum{plc=\"", hn[k]);
            metrics_escape(b, id);
            sb_printf(b, "\"} %.6f\n", (double)h->sum_us / 1e6);
            sb_printf(b, "%s_count{plc=\"", hn[k]);
            metrics_escape(b, id);
            sb_printf(b, "\"} %llu\n", (unsigned long long)h->count);
        }
    }
    free(ps);
    if (!s->ts)
        return;
    m_family(b, "lockbridge_plc_tags", "gauge",
             "Tags of the PLC by the quality of their current sample.");
    uint32_t idx = 0;
    for (size_t i = 0; i < n; i++) {
        size_t good = 0, bad = 0;
        for (size_t t = 0; t < st->plcs[i].n_tags; t++, idx++) {
            val_sample v;
            if (tag_store_get(s->ts, idx, &v) == 0 && v.q == Q_GOOD)
                good++;
            else
                bad++;
        }
        m_sample(b, "lockbridge_plc_tags", "plc", st->plcs[i].id, "quality",
                 "good", (double)good);
        m_sample(b, "lockbridge_plc_tags", "plc", st->plcs[i].id, "quality",
                 "bad", (double)bad);
    }
}

static void m_writers(strbuf *b, const metrics_src *s)
{
    influx_stats is = {0};
    hist_stats hs = {0};
    if (s->influx)
        influx_get_stats(s->influx, &is);
    if (s->hist)
        hist_get_stats(s->hist, &hs);
    m_family(b, "lockbridge_writer_points_written_total", "counter",
             "Points the writer's database accepted.");
    m_per_writer(b, "lockbridge_writer_points_written_total", s->hist,
                 (double)hs.written, s->influx, (double)is.written);
    /* 0 before the first success rather than absent: `time() - x` is
     * then huge and an alert on it fires for a writer that never wrote,
     * where a missing series would alert on nothing. */
    m_family(b, "lockbridge_writer_last_success_timestamp_seconds", "gauge",
             "When the writer's database last accepted points, in seconds "
             "since the epoch (0: not yet).");
    m_per_writer(b, "lockbridge_writer_last_success_timestamp_seconds",
                 s->hist, (double)hs.last_commit_ns / 1e9, s->influx,
                 (double)is.last_success_ns / 1e9);
    m_family(b, "lockbridge_writer_dropped_total", "counter",
             "Points the writer lost.");
    m_per_writer(b, "lockbridge_writer_dropped_total", s->hist,
                 (double)hs.dropped, s->influx, (double)is.dropped);
    m_family(b, "lockbridge_writer_queued_points", "gauge",
             "Points in the writer's memory queue now.");
    m_per_writer(b, "lockbridge_writer_queued_points", s->hist,
                 (double)hs.queued, s->influx, (double)is.queued);
    /* The families are declared without a writer too, so that a
     * dashboard's queries name known metrics on any station. */
    m_family(b, "lockbridge_writer_spooled_bytes", "gauge",
             "Bytes waiting in the writer's disk spool.");
    if (s->influx)
        m_sample(b, "lockbridge_writer_spooled_bytes", "writer", "influx",
                 NULL, NULL, (double)is.spooled_bytes);
    m_family(b, "lockbridge_writer_quarantined_total", "counter",
             "Lines set aside after the database refused them (HTTP 400).");
    if (s->influx)
        m_sample(b, "lockbridge_writer_quarantined_total", "writer",
                 "influx", NULL, NULL, (double)is.quarantined);
}

static void m_alarms(strbuf *b, const metrics_src *s)
{
    if (!s->alarms)
        return;
    static const char *const states[] = {"normal", "active-unack",
                                         "active-ack", "cleared-unack"};
    size_t cnt[4][MAP_PRIO_N] = {{0}};
    const alarm_engine *e = board_engine(s->alarms);
    size_t n = board_count(s->alarms);
    for (size_t i = 0; i < n; i++) {
        const alarm_status *a = board_shown(s->alarms, i);
        const map_alarm *d = alarm_def(e, i);
        if (a->state <= ALARM_CLEARED_UNACK && d->priority < MAP_PRIO_N)
            cnt[a->state][d->priority]++;
    }
    m_family(b, "lockbridge_alarms", "gauge",
             "Alarms by shown state and priority.");
    for (int st = 0; st < 4; st++)
        for (int p = 0; p < MAP_PRIO_N; p++)
            m_sample(b, "lockbridge_alarms", "state", states[st], "priority",
                     map_priority_name((map_priority)p), (double)cnt[st][p]);
}

static void m_notify(strbuf *b, const metrics_src *s)
{
    m_family(b, "lockbridge_notifications_total", "counter",
             "Notification attempts by channel and result.");
    if (!s->notify)
        return;
    const map_notify *nf = &s->st->notify;
    for (size_t i = 0; i < nf->n_channels; i++) {
        notify_health h;
        notify_channel_health(s->notify, i, &h);
        m_sample(b, "lockbridge_notifications_total", "channel",
                 nf->channels[i].id, "result", "ok", (double)h.ok);
        m_sample(b, "lockbridge_notifications_total", "channel",
                 nf->channels[i].id, "result", "failed",
                 (double)(h.attempts - h.ok));
    }
    notify_stats ns;
    notify_get_stats(s->notify, &ns);
    m_one(b, "lockbridge_notify_dropped_total", "counter",
          "Alarm events the notify queue refused.", (double)ns.dropped);
}

void metrics_write(strbuf *b, const metrics_src *s)
{
    m_family(b, "lockbridge_build_info", "gauge",
             "The bridge's version (always 1).");
    m_sample(b, "lockbridge_build_info", "version",
             s->version ? s->version : "unknown", NULL, NULL, 1);
    m_one(b, "lockbridge_process_start_time_seconds", "gauge",
          "When the bridge started serving, in seconds since the epoch.",
          (double)(s->start_ns / 1000000000));
    if (s->pollers)
        m_plcs(b, s);
    if (s->ts) {
        tag_store_stats t;
        tag_store_get_stats(s->ts, &t);
        m_one(b, "lockbridge_tagstore_changes_total", "counter",
              "Samples that were news.", (double)t.changes);
        m_one(b, "lockbridge_tagstore_dropped_total", "counter",
              "Changes lost to a full queue.", (double)t.dropped);
    }
    m_writers(b, s);
    if (s->web) {
        m_one(b, "lockbridge_websocket_clients", "gauge",
              "WebSocket clients connected now.", (double)s->web->ws_clients);
        m_one(b, "lockbridge_websocket_frames_sent_total", "counter",
              "WebSocket frames sent.", (double)s->web->frames_sent);
        m_one(b, "lockbridge_http_requests_total", "counter",
              "HTTP requests answered.", (double)s->web->http_requests);
    }
    m_one(b, "lockbridge_displays_online", "gauge",
          "Wall screens reporting over their WebSocket now.",
          (double)s->displays);
    m_alarms(b, s);
    m_notify(b, s);
}

bool metrics_bearer_ok(const char *want, const char *header)
{
    if (!want || !header || strncmp(header, "Bearer ", 7) != 0)
        return false;
    const char *got = header + 7;
    size_t wl = strlen(want), gl = strlen(got);
    /* The lengths may differ in time; the bytes do not. */
    return wl == gl && wl > 0 && CRYPTO_memcmp(want, got, wl) == 0;
}
