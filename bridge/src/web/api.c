/*
 * api.c - the HTTP API answered on the service thread: current values,
 * the station's description, health and the wall screens.  Each answer
 * is built from copies (tag_store_get, *_get_stats): nothing here waits.
 */
#include "web/internal.h"
#include "web/metrics.h"
#include <openssl/crypto.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "core/clock.h"
#include "core/tagfmt.h"

/* ---- /api/tags --------------------------------------------------------- */

int web_api_tags(web *w, struct lws *wsi, web_pss *pss, const web_args *a)
{
    static const char *const known[] = {"tags", NULL};
    char err[300];
    if (web_args_only(a, known, err, sizeof err) < 0)
        return web_reply_error(wsi, pss, 400, "%s", err);
    const char *spec = web_arg_get(a, "tags");
    uint32_t *order = NULL;
    uint8_t *bits = NULL;
    size_t n = w->n_tags;
    if (spec) {
        bits = calloc((w->n_tags + 7) / 8 + 1, 1);
        order = calloc(w->n_tags + 1, sizeof *order);
        if (!bits || !order) {
            free(bits);
            free(order);
            return web_reply_error(wsi, pss, 500, "out of memory");
        }
        if (web_select(w->st, w->ts, spec, bits, order, &n, err,
                       sizeof err) < 0) {
            free(bits);
            free(order);
            return web_reply_error(wsi, pss, 400, "%s", err);
        }
    }
    strbuf b;
    sb_init(&b, 0);
    sb_putc(&b, '[');
    bool first = true;
    for (size_t i = 0; i < n; i++) {
        uint32_t idx = order ? order[i] : (uint32_t)i;
        if (!tag_store_plc(w->ts, idx)->enabled && !spec)
            continue;
        val_sample s;
        tag_store_get(w->ts, idx, &s);
        if (!first)
            sb_putc(&b, ',');
        first = false;
        tagfmt_json(&b, tag_store_tag(w->ts, idx), &s);
    }
    sb_puts(&b, "]\n");
    free(bits);
    free(order);
    return web_reply(wsi, pss, 200, "application/json", &b, NULL);
}

/* ---- /api/station ------------------------------------------------------ */

void web_text_json(strbuf *b, const map_text *t)
{
    sb_puts(b, "{\"en\":");
    sb_json_str(b, t->en);
    sb_puts(b, ",\"zh\":");
    sb_json_str(b, t->zh ? t->zh : t->en);
    sb_putc(b, '}');
}

static void web_num_json(strbuf *b, double d)
{
    char v[64];
    val x = {.kind = VAL_REAL, .d = d};
    val_to_json(&x, v, sizeof v);
    sb_puts(b, v);
}

/* The station does not change while the bridge runs: built once. */
int web_station_json_build(web *w)
{
    strbuf *b = &w->station_json;
    const map_station *st = w->st;
    sb_puts(b, "{\"station\":{\"id\":");
    sb_json_str(b, st->id);
    sb_puts(b, ",\"name\":");
    web_text_json(b, &st->name);
    sb_puts(b, ",\"timezone\":");
    sb_json_str(b, st->timezone);
    sb_puts(b, ",\"heartbeat_s\":");
    sb_printf(b, "%.3f", (double)st->heartbeat_ns / 1e9);
    sb_puts(b, "},\"plcs\":[");
    for (size_t p = 0; p < st->n_plcs; p++) {
        const map_plc *plc = &st->plcs[p];
        sb_puts(b, p ? ",{\"id\":" : "{\"id\":");
        sb_json_str(b, plc->id);
        sb_puts(b, ",\"name\":");
        web_text_json(b, &plc->name);
        sb_puts(b, ",\"description\":");
        sb_json_str(b, plc->description);
        sb_puts(b, ",\"host\":");
        sb_json_str(b, plc->host);
        sb_printf(b, ",\"port\":%d,\"unit\":%d,\"enabled\":%s,"
                  "\"timeout_ms\":%.3f,\"groups\":[", plc->port, plc->unit,
                  plc->enabled ? "true" : "false",
                  (double)plc->timeout_ns / 1e6);
        for (size_t g = 0; g < plc->n_groups; g++) {
            sb_puts(b, g ? ",{\"name\":" : "{\"name\":");
            sb_json_str(b, plc->groups[g].name);
            sb_printf(b, ",\"period_ms\":%.3f,\"mode\":\"%s\"}",
                      (double)plc->groups[g].period_ns / 1e6,
                      plc->groups[g].sample ? "sample" : "change");
        }
        sb_printf(b, "],\"n_tags\":%zu}", plc->n_tags);
    }
    sb_puts(b, "],\"tags\":[");
    bool first = true;
    for (size_t p = 0; p < st->n_plcs; p++) {
        const map_plc *plc = &st->plcs[p];
        for (size_t i = 0; i < plc->n_tags; i++) {
            const map_tag *t = &plc->tags[i];
            sb_puts(b, first ? "{\"tag\":" : ",{\"tag\":");
            first = false;
            sb_json_str(b, t->full_id);
            sb_puts(b, ",\"plc\":");
            sb_json_str(b, plc->id);
            sb_puts(b, ",\"id\":");
            sb_json_str(b, t->id);
            sb_puts(b, ",\"name\":");
            web_text_json(b, &t->name);
            sb_puts(b, ",\"description\":");
            sb_json_str(b, t->description);
            sb_puts(b, ",\"unit\":");
            sb_json_str(b, t->unit);
            sb_printf(b, ",\"type\":\"%s\",\"table\":\"%s\",\"address\":%u",
                      map_type_name(t->type), map_table_name(t->table),
                      (unsigned)t->address + (unsigned)plc->address_base);
            sb_puts(b, ",\"range\":");
            if (t->has_range) {
                sb_putc(b, '[');
                web_num_json(b, t->range_min);
                sb_putc(b, ',');
                web_num_json(b, t->range_max);
                sb_putc(b, ']');
            } else {
                sb_puts(b, "null");
            }
            sb_puts(b, ",\"deadband\":");
            web_num_json(b, t->deadband);
            sb_puts(b, ",\"group\":");
            bool g_ok = t->group >= 0 && (size_t)t->group < plc->n_groups;
            sb_json_str(b, g_ok ? plc->groups[t->group].name : NULL);
            sb_printf(b, ",\"period_ms\":%.3f",
                      g_ok ? (double)plc->groups[t->group].period_ns / 1e6
                           : 0.0);
            sb_puts(b, ",\"states\":[");
            for (size_t k = 0; k < t->n_states; k++) {
                sb_printf(b, "%s{\"value\":%" PRId64 ",\"label\":",
                          k ? "," : "", t->states[k].value);
                web_text_json(b, &t->states[k].label);
                sb_putc(b, '}');
            }
            sb_puts(b, "]}");
        }
    }
    /* Which tag plays which part in the overview's drawing. */
    sb_puts(b, "],\"schematic\":");
    if (st->n_schematic == 0)
        sb_puts(b, "null");
    for (size_t i = 0; i < st->n_schematic; i++) {
        const map_binding *bd = &st->schematic[i];
        sb_putc(b, i ? ',' : '{');
        sb_json_str(b, bd->role);
        sb_putc(b, ':');
        bool list = map_schematic_role_is_list(bd->role);
        if (list)
            sb_putc(b, '[');
        for (size_t k = 0; k < bd->n_tags; k++) {
            if (k)
                sb_putc(b, ',');
            sb_json_str(b, bd->tags[k]);
        }
        if (list)
            sb_putc(b, ']');
    }
    if (st->n_schematic)
        sb_putc(b, '}');
    /* The alarm definitions: the alarm pages' filters and the journal's
     * messages. */
    sb_puts(b, ",\"alarms\":");
    web_alarm_defs_json(w, b);
    sb_puts(b, "}\n");
    if (b->failed)
        return -1;
    /* Every page load asks for it and it never changes: compressed once
     * here (it is most of a first visit's bytes), not per request. */
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
        Z_OK)
        return -1;
    uLong bound = deflateBound(&z, (uLong)b->len);
    if (!sb_reserve(&w->station_gz, bound)) {
        deflateEnd(&z);
        return -1;
    }
    z.next_in = (Bytef *)sb_data(b);
    z.avail_in = (uInt)b->len;
    z.next_out = (Bytef *)sb_data(&w->station_gz);
    z.avail_out = (uInt)bound;
    int zrc = deflate(&z, Z_FINISH);
    w->station_gz.len = z.total_out;
    deflateEnd(&z);
    return zrc == Z_STREAM_END ? 0 : -1;
}

int web_api_station(web *w, struct lws *wsi, web_pss *pss, const web_args *a)
{
    static const char *const known[] = {NULL};
    char err[300];
    if (web_args_only(a, known, err, sizeof err) < 0)
        return web_reply_error(wsi, pss, 400, "%s", err);
    strbuf b;
    sb_init(&b, 0);
    if (web_accepts_gzip(wsi)) {
        sb_add(&b, sb_data(&w->station_gz), w->station_gz.len);
        return web_reply(wsi, pss, 200, "application/json", &b,
                         "Content-Encoding: gzip\r\nVary: Accept-Encoding\r\n");
    }
    sb_add(&b, sb_data(&w->station_json), w->station_json.len);
    return web_reply(wsi, pss, 200, "application/json", &b,
                     "Vary: Accept-Encoding\r\n");
}

/* ---- /healthz ---------------------------------------------------------- */

static void web_time_json(strbuf *b, int64_t ns)
{
    if (ns <= 0) {
        sb_puts(b, "null");
        return;
    }
    char when[32];
    clk_format_rfc3339(ns, when, sizeof when);
    sb_printf(b, "\"%s\"", when);
}

int web_api_healthz(web *w, struct lws *wsi, web_pss *pss, const web_args *a)
{
    static const char *const known[] = {NULL};
    char err[300];
    if (web_args_only(a, known, err, sizeof err) < 0)
        return web_reply_error(wsi, pss, 400, "%s", err);
    const map_station *st = w->st;
    int64_t now = clk_real_ns();
    strbuf b;
    sb_init(&b, 0);
    bool degraded = false;
    strbuf plcs;
    sb_init(&plcs, 0);
    for (size_t p = 0; p < st->n_plcs; p++) {
        const map_plc *plc = &st->plcs[p];
        size_t good = 0;
        uint32_t base = tag_store_base(w->ts, p);
        for (size_t t = 0; t < plc->n_tags; t++) {
            val_sample v;
            tag_store_get(w->ts, base + (uint32_t)t, &v);
            good += v.q == Q_GOOD;
        }
        poll_plc *pl = w->src.pollers ? w->src.pollers[p] : NULL;
        poll_stats s;
        memset(&s, 0, sizeof s);
        if (pl)
            poll_get_stats(pl, &s);
        const char *state = !plc->enabled ? "disabled"
                            : !pl          ? "not-polled"
                            : !s.connected ? "down"
                            : good == plc->n_tags ? "up" : "partial";
        if (plc->enabled && strcmp(state, "up") != 0)
            degraded = true;
        sb_puts(&plcs, p ? ",{\"id\":" : "{\"id\":");
        sb_json_str(&plcs, plc->id);
        sb_printf(&plcs, ",\"state\":\"%s\",\"connected\":%s,\"tags\":%zu,"
                  "\"good\":%zu,\"requests\":%" PRIu64 ",\"errors\":%" PRIu64
                  ",\"reconnects\":%" PRIu64 ",\"last_ok\":",
                  state, s.connected ? "true" : "false", plc->n_tags, good,
                  s.requests, s.err_timeout + s.err_conn + s.err_exception +
                  s.err_malformed, s.reconnects);
        web_time_json(&plcs, s.last_ok_ns);
        sb_puts(&plcs, ",\"last_error\":");
        sb_json_str(&plcs, s.last_error[0] ? s.last_error : NULL);
        sb_putc(&plcs, '}');
    }
    strbuf sinks;
    sb_init(&sinks, 0);
    if (w->src.hist) {
        hist_stats hs;
        hist_get_stats(w->src.hist, &hs);
        if (hs.last_error[0] || hs.dropped)
            degraded = true;
        sb_printf(&sinks, ",\"history\":{\"written\":%" PRIu64 ",\"queued\":"
                  "%zu,\"dropped\":%" PRIu64 ",\"last_error\":", hs.written,
                  hs.queued, hs.dropped);
        sb_json_str(&sinks, hs.last_error[0] ? hs.last_error : NULL);
        sb_putc(&sinks, '}');
    }
    if (w->src.influx) {
        influx_stats is;
        influx_get_stats(w->src.influx, &is);
        if (is.auth_failed || is.spooled_points || is.dropped)
            degraded = true;
        sb_printf(&sinks, ",\"influx\":{\"written\":%" PRIu64 ",\"queued\":"
                  "%" PRIu64 ",\"spooled\":%" PRIu64 ",\"dropped\":%" PRIu64
                  ",\"auth_failed\":%s,\"last_error\":", is.written, is.queued,
                  is.spooled_points, is.dropped,
                  is.auth_failed ? "true" : "false");
        sb_json_str(&sinks, is.last_error[0] ? is.last_error : NULL);
        sb_putc(&sinks, '}');
    }
    if (w->src.alarms) {
        board_counts bc;
        board_get_counts(w->src.alarms, &bc);
        sb_printf(&sinks, ",\"alarms\":{\"active\":%zu,\"unacked\":%zu,"
                  "\"shelved\":%zu,\"out_of_service\":%zu,\"records\":%"
                  PRIu64 ",\"merged\":%" PRIu64 "}", bc.active, bc.unacked,
                  bc.shelved, bc.out_of_service, bc.records, bc.merged);
        if (bc.merging)
            degraded = true;
    }
    /* What each part of the consumer thread has cost it (CPU seconds):
     * the recorder, the alarm engine, the WebSocket broadcast, timers. */
    dispatch_part parts[16];
    size_t np = dispatch_get_parts(w->d, parts, 16);
    sb_puts(&sinks, ",\"consumer\":{");
    for (size_t i = 0; i < np && i < 16; i++) {
        sb_puts(&sinks, i ? "," : "");
        sb_json_str(&sinks, parts[i].name);
        sb_printf(&sinks, ":{\"cpu_s\":%.6f,\"calls\":%" PRIu64 "}",
                  (double)parts[i].cpu_ns / 1e9, parts[i].calls);
    }
    sb_putc(&sinks, '}');
    sb_puts(&b, "{\"status\":");
    sb_puts(&b, degraded ? "\"degraded\"" : "\"ok\"");
    sb_puts(&b, ",\"station\":");
    sb_json_str(&b, st->id);
    sb_puts(&b, ",\"time\":");
    web_time_json(&b, now);
    sb_printf(&b, ",\"uptime_s\":%.1f,\"plcs\":[",
              (double)(now - w->started_ns) / 1e9);
    sb_add(&b, sb_data(&plcs), plcs.len);
    sb_putc(&b, ']');
    sb_add(&b, sb_data(&sinks), sinks.len);
    sb_printf(&b, ",\"web\":{\"clients\":%" PRIu64 ",\"malformed\":%" PRIu64
              ",\"dropped_stuck\":%" PRIu64 "}}\n", w->stats.ws_clients,
              w->stats.ws_malformed, w->stats.ws_dropped_stuck);
    if (plcs.failed || sinks.failed)
        b.failed = true;
    sb_free(&plcs);
    sb_free(&sinks);
    return web_reply(wsi, pss, 200, "application/json", &b, NULL);
}

/* ---- /api/displays ----------------------------------------------------- */

int web_api_displays(web *w, struct lws *wsi, web_pss *pss,
                     const web_args *a)
{
    static const char *const known[] = {NULL};
    char err[300];
    if (web_args_only(a, known, err, sizeof err) < 0)
        return web_reply_error(wsi, pss, 400, "%s", err);
    int64_t now = clk_real_ns();
    strbuf b;
    sb_init(&b, 0);
    sb_puts(&b, "{\"time\":");
    web_time_json(&b, now);
    sb_puts(&b, ",\"displays\":[");
    bool first = true;
    for (const web_display *d = w->displays; d; d = d->next) {
        sb_puts(&b, first ? "{\"display\":" : ",{\"display\":");
        first = false;
        sb_json_str(&b, d->name);
        sb_puts(&b, ",\"online\":");
        sb_puts(&b, d->online ? "true" : "false");
        sb_puts(&b, ",\"page\":");
        sb_json_str(&b, d->page[0] ? d->page : NULL);
        sb_puts(&b, ",\"address\":");
        sb_json_str(&b, d->address);
        sb_puts(&b, ",\"user_agent\":");
        sb_json_str(&b, d->user_agent[0] ? d->user_agent : NULL);
        sb_puts(&b, ",\"last_report\":");
        web_time_json(&b, d->last_report_ns);
        sb_puts(&b, ",\"drawn\":");
        web_time_json(&b, d->drawn_ns);
        sb_puts(&b, ",\"data_time\":");
        web_time_json(&b, d->data_ns);
        sb_printf(&b, ",\"report_age_s\":");
        if (d->last_report_ns)
            sb_printf(&b, "%.1f", (double)(now - d->last_report_ns) / 1e9);
        else
            sb_puts(&b, "null");
        sb_puts(&b, ",\"data_age_s\":");
        if (d->data_ns)
            sb_printf(&b, "%.1f", (double)(now - d->data_ns) / 1e9);
        else
            sb_puts(&b, "null");
        sb_printf(&b, ",\"stale_tags\":%d}", d->stale);
    }
    sb_puts(&b, "]}\n");
    return web_reply(wsi, pss, 200, "application/json", &b, NULL);
}

static bool web_peer_loopback(const char *peer)
{
    return strncmp(peer, "127.", 4) == 0 || strcmp(peer, "::1") == 0 ||
           strncmp(peer, "::ffff:127.", 11) == 0;
}

int web_api_metrics(web *w, struct lws *wsi, web_pss *pss)
{
    if (w->o.metrics == MAP_METRICS_OFF)
        return web_reply_error(wsi, pss, 404, "no such endpoint: /metrics "
                               "(web.metrics is off)");
    bool ok = w->o.metrics == MAP_METRICS_LOOPBACK &&
              web_peer_loopback(pss->peer);
    if (!ok) {
        char auth[512] = "";
        if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_AUTHORIZATION) > 0)
            lws_hdr_copy(wsi, auth, sizeof auth,
                         WSI_TOKEN_HTTP_AUTHORIZATION);
        ok = metrics_bearer_ok(w->o.metrics_token, auth);
        OPENSSL_cleanse(auth, sizeof auth);
    }
    if (!ok) {
        lwsl_user("web: /metrics refused to %s: no valid bearer token\n",
                  pss->peer);
        strbuf e;
        sb_init(&e, 0);
        sb_puts(&e, "{\"error\":\"a bearer token is required\"}\n");
        return web_reply(wsi, pss, 401, "application/json", &e,
                         "WWW-Authenticate: Bearer realm=\"lockbridge\"\r\n");
    }
    size_t online = 0;
    for (const web_display *d = w->displays; d; d = d->next)
        online += d->online;
    metrics_src ms = {.st = w->st, .ts = w->ts, .pollers = w->src.pollers,
                      .influx = w->src.influx, .hist = w->src.hist,
                      .alarms = w->src.alarms, .notify = w->src.notify,
                      .web = &w->stats, .displays = online,
                      .start_ns = w->started_ns, .version = w->o.version};
    strbuf b;
    sb_init(&b, 0);
    metrics_write(&b, &ms);
    if (b.failed) {
        sb_free(&b);
        return web_reply_error(wsi, pss, 503, "out of memory");
    }
    return web_reply(wsi, pss, 200, METRICS_CONTENT_TYPE, &b,
                     "Cache-Control: no-store\r\n");
}
