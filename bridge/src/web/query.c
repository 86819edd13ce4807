/*
 * query.c - /api/history and /api/export.csv: the arguments are checked
 * on the service thread (so a bad request is answered at once with what
 * is wrong; web_points_parse and web_query_parse in params.c), the
 * reading happens on the worker thread.
 */
#include "web/internal.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/tagfmt.h"

/* ---- /api/history ------------------------------------------------------ */

/* Worker thread. */
static void web_history_job(web_job *job, void *arg)
{
    web_query *q = arg;
    web *w = job->w;
    hist_result *res = NULL;
    char err[256];
    strbuf *b = &job->out;
    if (hist_query(w->src.hist, q->tags, q->n_tags, q->from, q->to,
                   q->points, &res, err, sizeof err) < 0) {
        job->status = 500;
        sb_puts(b, "{\"error\":");
        sb_json_str(b, err);
        sb_puts(b, "}\n");
        return;
    }
    char when[32];
    clk_format_rfc3339(q->from, when, sizeof when);
    sb_printf(b, "{\"from\":\"%s\"", when);
    clk_format_rfc3339(q->to, when, sizeof when);
    sb_printf(b, ",\"to\":\"%s\",\"points\":%zu,\"series\":[", when,
              q->points);
    for (size_t i = 0; i < res->n_series; i++) {
        const hist_series *s = &res->series[i];
        sb_puts(b, i ? ",{\"tag\":" : "{\"tag\":");
        sb_json_str(b, s->tag);
        sb_puts(b, ",\"source\":");
        sb_json_str(b, s->source);
        sb_puts(b, ",\"t\":[");
        for (size_t k = 0; k < s->n; k++) {
            /* epoch milliseconds, floored (ns before 1970 too) */
            int64_t ms = s->ts[k] / 1000000;
            if (s->ts[k] % 1000000 < 0)
                ms--;
            sb_printf(b, k ? ",%" PRId64 : "%" PRId64, ms);
        }
        sb_puts(b, "],\"v\":[");
        for (size_t k = 0; k < s->n; k++) {
            if (k)
                sb_putc(b, ',');
            if (isfinite(s->v[k])) {
                char v[64];
                val x = {.kind = VAL_REAL, .d = s->v[k]};
                val_to_json(&x, v, sizeof v);
                sb_puts(b, v);
            } else {
                sb_puts(b, "null");
            }
        }
        /* q: 0 where the point is a good value, null where the bucket or
         * sample had none (a gap: never draw a line through it). */
        sb_puts(b, "],\"q\":[");
        for (size_t k = 0; k < s->n; k++)
            sb_puts(b, isfinite(s->v[k]) ? (k ? ",0" : "0")
                                          : (k ? ",null" : "null"));
        sb_puts(b, "]}");
    }
    sb_puts(b, "]}\n");
    hist_result_free(res);
}

int web_api_history(web *w, struct lws *wsi, web_pss *pss, const web_args *a)
{
    static const char *const known[] = {"tags", "from", "to", "points", NULL};
    char err[300];
    if (web_args_only(a, known, err, sizeof err) < 0)
        return web_reply_error(wsi, pss, 400, "%s", err);
    if (!w->src.hist)
        return web_reply_error(wsi, pss, 404, "the history is turned off "
                               "in the station file (history: off)");
    size_t points;
    if (web_points_parse(web_arg_get(a, "points"), &points, err,
                         sizeof err) < 0)
        return web_reply_error(wsi, pss, 400, "%s", err);
    web_query *q = web_query_parse(w->st, w->ts, a, true, "-1h",
                                   clk_real_ns(), err, sizeof err);
    if (!q)
        return web_reply_error(wsi, pss, 400, "%s", err);
    q->points = points;
    if (web_worker_submit(w->worker, wsi, pss, web_history_job, q,
                          web_query_free) < 0)
        return web_reply_error(wsi, pss, 503, "too many queries waiting; "
                               "try again");
    return 0;
}

/* ---- /api/export.csv --------------------------------------------------- */

typedef struct {
    web_job *job;
    strbuf line;
    size_t rows;
} web_export_ctx;

/* Worker thread: one row; a non-zero return stops the query (the client
 * went away). */
static int web_export_row(void *arg, const char *tag, const val_sample *s)
{
    web_export_ctx *x = arg;
    tagfmt_csv_row(&x->line, tag, s);
    x->rows++;
    if (x->line.len >= 16384) {
        bool ok = web_job_emit(x->job, sb_data(&x->line), x->line.len);
        sb_reset(&x->line);
        return ok ? 0 : 1;
    }
    return 0;
}

static void web_export_job(web_job *job, void *arg)
{
    web_query *q = arg;
    web *w = job->w;
    char err[256];
    hist_opts ho = {.path = w->st->history.path, .read_only = true};
    hist_db *h = hist_open(&ho, err, sizeof err);
    if (!h) {
        job->status = 500;
        sb_puts(&job->out, "{\"error\":");
        sb_json_str(&job->out, err);
        sb_puts(&job->out, "}\n");
        return;
    }
    web_export_ctx x = {.job = job};
    sb_init(&x.line, 0);
    sb_puts(&x.line, "ts,tag,value,quality\n");
    int rc = hist_each_raw(h, q->tags, q->n_tags, q->from, q->to,
                           web_export_row, &x, err, sizeof err);
    if (rc == 0 && x.line.len)
        web_job_emit(job, sb_data(&x.line), x.line.len);
    /* A database error after rows went out cannot change the status any
     * more: the body ends early, and the client sees a short download. */
    sb_free(&x.line);
    hist_close(h);
}

int web_api_export(web *w, struct lws *wsi, web_pss *pss, const web_args *a)
{
    static const char *const known[] = {"tags", "from", "to", NULL};
    char err[300];
    if (web_args_only(a, known, err, sizeof err) < 0)
        return web_reply_error(wsi, pss, 400, "%s", err);
    if (!w->src.hist)
        return web_reply_error(wsi, pss, 404, "the history is turned off "
                               "in the station file (history: off)");
    web_query *q = web_query_parse(w->st, w->ts, a, false, NULL,
                                   clk_real_ns(), err, sizeof err);
    if (!q)
        return web_reply_error(wsi, pss, 400, "%s", err);
    if (web_worker_submit(w->worker, wsi, pss, web_export_job, q,
                          web_query_free) < 0)
        return web_reply_error(wsi, pss, 503, "too many queries waiting; "
                               "try again");
    return 0;
}
