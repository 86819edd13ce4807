/*
 * notifications.c - GET /api/notifications?from=&to=&limit= (operator):
 * what the notify thread sent to whom, and every attempt with the
 * channel's answer, from the notification journal (notify/njread.h), read
 * on the web worker.  Newest first; the range defaults to the last 24 h.
 *
 *   {"from", "to", "notifications": [{"id", "alarm", "event", "state",
 *    "priority", "area", "message": {en, zh}, "channel", "recipient",
 *    "level", "status", "attempts", "last_error", "time", "created",
 *    "due", "delivered"}], "attempts": [{"id", "time", "channel",
 *    "recipient", "rows", "ok", "answer"}], "truncated"}
 */
#include "web/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "notify/njread.h"

#define WEB_NOTIFY_LIMIT 500
#define WEB_NOTIFY_LIMIT_MAX 10000

typedef struct {
    char *path;
    int64_t from, to;
    size_t limit;
} web_notify_q;

static void web_notify_q_free(void *arg)
{
    web_notify_q *q = arg;
    if (q)
        free(q->path);
    free(q);
}

static void web_notify_str(strbuf *b, const char *key, const char *s)
{
    sb_printf(b, ",\"%s\":", key);
    sb_json_str(b, s);
}

typedef struct {
    strbuf *b;
    size_t n;
} web_notify_out;

static int web_notify_row(void *ctx, const njr_row *r)
{
    web_notify_out *o = ctx;
    strbuf *b = o->b;
    sb_printf(b, "%s{\"id\":%lld", o->n++ ? "," : "", (long long)r->id);
    web_notify_str(b, "alarm", r->alarm);
    web_notify_str(b, "event", r->event);
    web_notify_str(b, "state", r->state);
    web_notify_str(b, "priority", r->priority);
    web_notify_str(b, "area", r->area);
    sb_puts(b, ",\"message\":{\"en\":");
    sb_json_str(b, r->msg_en);
    sb_puts(b, ",\"zh\":");
    sb_json_str(b, r->msg_zh[0] ? r->msg_zh : r->msg_en);
    sb_putc(b, '}');
    web_notify_str(b, "channel", r->channel);
    web_notify_str(b, "recipient", r->recipient);
    sb_printf(b, ",\"level\":%d,\"attempts\":%d", r->level, r->attempts);
    web_notify_str(b, "status", r->status);
    web_notify_str(b, "last_error", r->last_error);
    web_json_time(b, "time", r->ts_ns);
    web_json_time(b, "created", r->created_ns);
    web_json_time(b, "due", r->next_ns);
    web_json_time(b, "delivered", r->delivered_ns);
    sb_putc(b, '}');
    return 0;
}

static int web_notify_attempt(void *ctx, const njr_attempt *a)
{
    web_notify_out *o = ctx;
    strbuf *b = o->b;
    sb_printf(b, "%s{\"id\":%lld", o->n++ ? "," : "", (long long)a->id);
    web_json_time(b, "time", a->ts_ns);
    web_notify_str(b, "channel", a->channel);
    web_notify_str(b, "recipient", a->recipient);
    sb_printf(b, ",\"rows\":%d,\"ok\":%s", a->rows, a->ok ? "true" : "false");
    web_notify_str(b, "answer", a->answer);
    sb_putc(b, '}');
    return 0;
}

/* The rows' array is closed and the attempts' opened between the two
 * callbacks: njr_read calls all of the first before the second. */
typedef struct {
    web_notify_out out;
    bool attempts_open;
} web_notify_ctx;

static int web_notify_attempt_first(void *ctx, const njr_attempt *a)
{
    web_notify_ctx *x = ctx;
    if (!x->attempts_open) {
        sb_puts(x->out.b, "],\"attempts\":[");
        x->attempts_open = true;
        x->out.n = 0;
    }
    return web_notify_attempt(&x->out, a);
}

static void web_notify_job(web_job *job, void *arg)
{
    web_notify_q *q = arg;
    strbuf *b = &job->out;
    char t[32], err[512];
    clk_format_rfc3339(q->from, t, sizeof t);
    sb_printf(b, "{\"from\":\"%s\"", t);
    clk_format_rfc3339(q->to, t, sizeof t);
    sb_printf(b, ",\"to\":\"%s\",\"notifications\":[", t);
    web_notify_ctx x = {.out = {.b = b}};
    bool more = false;
    if (njr_read(q->path, q->from, q->to, q->limit, web_notify_row,
                 web_notify_attempt_first, &x, &more, err, sizeof err) < 0) {
        sb_reset(b);
        job->status = 500;
        sb_puts(b, "{\"error\":");
        sb_json_str(b, err);
        sb_puts(b, "}\n");
        return;
    }
    if (!x.attempts_open)
        sb_puts(b, "],\"attempts\":[");
    sb_printf(b, "],\"truncated\":%s}\n", more ? "true" : "false");
}

int web_api_notifications(web *w, struct lws *wsi, web_pss *pss,
                          const web_args *a)
{
    static const char *const known[] = {"from", "to", "limit", NULL};
    char err[400];
    if (web_args_only(a, known, err, sizeof err) < 0)
        return web_reply_error(wsi, pss, 400, "%s", err);
    if (!w->st->notify.enabled)
        return web_reply_error(wsi, pss, 404, "notifications are not "
                               "configured (no notify: section in %s)",
                               w->st->file);
    int64_t now = clk_real_ns();
    web_notify_q *q = calloc(1, sizeof *q);
    if (!q || !(q->path = strdup(w->st->notify.journal))) {
        web_notify_q_free(q);
        return web_reply_error(wsi, pss, 500, "out of memory");
    }
    if (web_args_range(a, now, "-24h", WEB_NOTIFY_LIMIT, WEB_NOTIFY_LIMIT_MAX,
                       &q->from, &q->to, &q->limit, err, sizeof err) < 0) {
        web_notify_q_free(q);
        return web_reply_error(wsi, pss, 400, "%s", err);
    }
    if (web_worker_submit(w->worker, wsi, pss, web_notify_job, q,
                          web_notify_q_free) < 0)
        return web_reply_error(wsi, pss, 503, "too many queries waiting; "
                               "try again");
    return 0;
}
