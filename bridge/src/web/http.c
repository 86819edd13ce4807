/*
 * http.c - one HTTP transaction: the method and path, query arguments,
 * the answer's headers and body, and sending it in pieces.
 *
 * Every answer is built whole in memory (the API's bodies are small) and
 * sent WEB_CHUNK bytes per writeable callback, except the CSV export,
 * which the worker streams as a chunked body.  Errors are JSON,
 * {"error": "..."}, naming what was wrong; API answers are never cached.
 */
#include "web/internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void web_pss_reset(web_pss *pss)
{
    pss->post = 0;
    sb_free(&pss->req_body);
    sb_free(&pss->body);
    pss->sent = 0;
    pss->head_only = false;
    pss->chunked = false;
    pss->final_sent = false;
    pss->job = NULL;
}

/* ---- query arguments --------------------------------------------------- */

/* lws decodes the fragments; what they mean is params.c's. */
int web_args_parse(struct lws *wsi, web_args *a, char *err, size_t errlen)
{
    web_args_init(a);
    char frag[WEB_MAX_ARG + 1];
    for (int i = 0;; i++) {
        int n = lws_hdr_copy_fragment(wsi, frag, sizeof frag,
                                      WSI_TOKEN_HTTP_URI_ARGS, i);
        if (n < 0) {
            /* -1: no such fragment; anything else: it did not fit */
            int fl = lws_hdr_fragment_length(wsi, WSI_TOKEN_HTTP_URI_ARGS, i);
            if (fl > WEB_MAX_ARG)
                return web_args_add(a, (size_t)i, NULL, (size_t)fl, err,
                                    errlen);
            break;
        }
        if (web_args_add(a, (size_t)i, frag, (size_t)n, err, errlen) < 0)
            return -1;
    }
    return 0;
}

/* ---- answers ----------------------------------------------------------- */

static int web_write_headers(struct lws *wsi, unsigned status,
                             const char *ctype, lws_filepos_t len,
                             const char *extra)
{
    unsigned char buf[LWS_PRE + 2048];
    unsigned char *start = buf + LWS_PRE, *p = start,
                  *end = buf + sizeof buf - 1;
    if (lws_add_http_common_headers(wsi, status, ctype, len, &p, end))
        return -1;
    const char *common = WEB_COMMON_HEADERS;
    size_t cl = strlen(common), el = extra ? strlen(extra) : 0;
    if ((size_t)(end - p) < cl + el + 4)
        return -1;
    memcpy(p, common, cl);
    p += cl;
    if (el) {
        memcpy(p, extra, el);
        p += el;
    }
    if (lws_finalize_write_http_header(wsi, start, &p, end))
        return -1;
    return 0;
}

int web_reply(struct lws *wsi, web_pss *pss, unsigned status,
              const char *ctype, strbuf *body, const char *extra_headers)
{
    web *w = lws_vhost_user(lws_get_vhost(wsi));
    if (w && status >= 400)
        w->stats.http_errors++;
    sb_free(&pss->body);
    pss->body = *body;
    sb_init(body, 0);
    pss->sent = 0;
    if (pss->body.failed) {
        sb_free(&pss->body);
        sb_init(&pss->body, 0);
        sb_puts(&pss->body, "{\"error\":\"out of memory\"}");
        status = 500;
        ctype = "application/json";
    }
    char extra[512];
    snprintf(extra, sizeof extra, "%s%s",
             strncmp(ctype, "text/html", 9) == 0 ||
             strncmp(ctype, "application/json", 16) == 0 ||
             strncmp(ctype, "text/csv", 8) == 0
                 ? "Cache-Control: no-store\r\n" : "",
             extra_headers ? extra_headers : "");
    if (web_write_headers(wsi, status, ctype, pss->body.len, extra) < 0)
        return -1;
    if (pss->head_only || pss->body.len == 0) {
        pss->final_sent = true;
        return lws_http_transaction_completed(wsi) ? -1 : 0;
    }
    lws_callback_on_writable(wsi);
    return 0;
}

int web_reply_head(struct lws *wsi, web_pss *pss, unsigned status,
                   const char *ctype, uint64_t len, const char *extra)
{
    if (web_write_headers(wsi, status, ctype, (lws_filepos_t)len, extra) < 0)
        return -1;
    pss->final_sent = true;
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

int web_reply_error(struct lws *wsi, web_pss *pss, unsigned status,
                    const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    strbuf b;
    sb_init(&b, 0);
    sb_puts(&b, "{\"error\":");
    sb_json_str(&b, msg);
    sb_puts(&b, "}\n");
    return web_reply(wsi, pss, status, "application/json", &b, NULL);
}

int web_reply_stream(struct lws *wsi, web_pss *pss, const char *ctype,
                     const char *extra_headers)
{
    char extra[512];
    snprintf(extra, sizeof extra, "Transfer-Encoding: chunked\r\n"
             "Cache-Control: no-store\r\n%s",
             extra_headers ? extra_headers : "");
    pss->chunked = true;
    sb_free(&pss->body);
    pss->sent = 0;
    if (web_write_headers(wsi, 200, ctype, LWS_ILLEGAL_HTTP_CONTENT_LEN,
                          extra) < 0)
        return -1;
    if (pss->head_only) {
        pss->final_sent = true;
        return lws_http_transaction_completed(wsi) ? -1 : 0;
    }
    return 0;
}

int web_http_writeable(web *w, struct lws *wsi, web_pss *pss)
{
    if (pss->kind != WEB_PSS_HTTP || pss->final_sent)
        return 0;
    if (pss->chunked) {
        if (!pss->job)
            return -1;
        /* One HTTP/1.1 chunk per callback: size line, data, CRLF; the
         * last is "0\r\n\r\n". */
        strbuf data;
        sb_init(&data, LWS_PRE + 16);
        bool eof = false;
        web_worker_take(w->worker, pss->job, &data, WEB_CHUNK, &eof);
        if (data.failed) {
            sb_free(&data);
            return -1;
        }
        if (data.len > 0) {
            char head[16];
            int hl = snprintf(head, sizeof head, "%zx\r\n", data.len);
            /* The size line goes into the headroom in front of the data. */
            char *d = sb_data(&data);
            memcpy(d - hl, head, (size_t)hl);
            sb_add(&data, "\r\n", 2);
            if (eof)
                sb_add(&data, "0\r\n\r\n", 5);
            size_t n = (size_t)hl + data.len;
            int rc = lws_write(wsi, (unsigned char *)d - hl, n,
                               eof ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP);
            sb_free(&data);
            if (rc < (int)n)
                return -1;
        } else if (eof) {
            unsigned char last[LWS_PRE + 8];
            memcpy(last + LWS_PRE, "0\r\n\r\n", 5);
            sb_free(&data);
            if (lws_write(wsi, last + LWS_PRE, 5, LWS_WRITE_HTTP_FINAL) < 5)
                return -1;
        } else {
            sb_free(&data);
            return 0;       /* the worker wakes us when it has more */
        }
        if (eof) {
            pss->final_sent = true;
            web_worker_detach(pss->job_worker, pss->job);
            pss->job = NULL;
            return lws_http_transaction_completed(wsi) ? -1 : 0;
        }
        lws_callback_on_writable(wsi);
        return 0;
    }
    size_t left = pss->body.len - pss->sent;
    size_t n = left < WEB_CHUNK ? left : WEB_CHUNK;
    bool last = n == left;
    /* lws_write needs LWS_PRE writable bytes before the data. */
    unsigned char *buf = malloc(LWS_PRE + n);
    if (!buf)
        return -1;
    memcpy(buf + LWS_PRE, sb_data(&pss->body) + pss->sent, n);
    int rc = lws_write(wsi, buf + LWS_PRE, n,
                       last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP);
    free(buf);
    if (rc < (int)n)
        return -1;
    pss->sent += n;
    if (!last) {
        lws_callback_on_writable(wsi);
        return 0;
    }
    pss->final_sent = true;
    sb_free(&pss->body);
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

/* ---- routing ----------------------------------------------------------- */

typedef int (*web_handler)(web *w, struct lws *wsi, web_pss *pss,
                           const web_args *a);

static const struct {
    const char *path;
    web_handler fn;
} web_routes[] = {
    {"/api/tags", web_api_tags},
    {"/api/station", web_api_station},
    {"/api/history", web_api_history},
    {"/api/export.csv", web_api_export},
    {"/api/displays", web_api_displays},
    {"/api/users", web_api_users},
    {"/api/tokens", web_api_tokens},
    {"/api/audit", web_api_audit},
    {"/api/alarms", web_api_alarms},
    {"/api/alarms/journal", web_api_alarm_journal},
    {"/api/alarms/kpi", web_api_alarm_kpi},
    {"/api/acklink", web_api_acklink},
    {"/api/notifications", web_api_notifications},
    {"/healthz", web_api_healthz},
};

bool web_route_exists(const char *uri)
{
    for (size_t i = 0; i < sizeof web_routes / sizeof *web_routes; i++)
        if (strcmp(uri, web_routes[i].path) == 0)
            return true;
    return false;
}

int web_http_request(web *w, struct lws *wsi, web_pss *pss, const char *uri)
{
    if (pss->kind == WEB_PSS_HTTP && pss->job)
        web_worker_detach(pss->job_worker, pss->job);
    web_pss_reset(pss);
    pss->kind = WEB_PSS_HTTP;
    w->stats.http_requests++;
    web_method m = lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) > 0 ? WEB_GET
                   : lws_hdr_total_length(wsi, WSI_TOKEN_HEAD_URI) > 0
                       ? WEB_HEAD
                   : lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0
                       ? WEB_POST
                       : WEB_OTHER;
    if (m == WEB_OTHER)
        return web_reply_error(wsi, pss, 405, "method not allowed: GET and "
                               "HEAD read, POST acts");
    pss->head_only = m == WEB_HEAD;
    bool handled;
    int hrc = web_session_request(w, wsi, pss, uri, m, &handled);
    if (handled)
        return hrc;
    static web_args args;       /* one request at a time: service thread */
    char err[256];
    for (size_t i = 0; i < sizeof web_routes / sizeof *web_routes; i++) {
        if (strcmp(uri, web_routes[i].path) != 0)
            continue;
        if (web_args_parse(wsi, &args, err, sizeof err) < 0)
            return web_reply_error(wsi, pss, 400, "%s", err);
        return web_routes[i].fn(w, wsi, pss, &args);
    }
    if (strncmp(uri, "/api/", 5) == 0 || strcmp(uri, "/api") == 0)
        return web_reply_error(wsi, pss, 404, "no such endpoint: %.200s "
                               "(see dashboard/README.md)", uri);
    return web_files_serve(w, wsi, pss, uri);
}
