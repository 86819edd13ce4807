/*
 * reload.c - POST /api/reload (admin): the maps read again, as SIGHUP
 * does (web_opts.reload: cli/reload.c does the work).
 *
 * As every action: audited first on the worker (no audit, nothing done),
 * then done on the service thread, and a refusal recorded as a second
 * record with its reason.  The answer is the reload's own JSON:
 *   200 {"ok":true,"plcs":{"kept":[...],"restarted":[...],...},...}
 *   422 {"ok":false,"error":"...","errors":["file:line:col: ..."]}
 */
#include "web/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"

typedef struct {
    char who[65];
    char address[64];
    char audit_err[256];
    char why[256];             /* a refusal's first line, for its record */
} web_reload_req;

static void web_reload_audit_job(web_job *job, void *arg)
{
    web_reload_req *r = arg;
    auth_audit(job->w->auth, r->who, "reload", job->w->src.config, r->address,
               "ok", clk_real_ns(), r->audit_err, sizeof r->audit_err);
}

static void web_reload_refused_job(web_job *job, void *arg)
{
    web_reload_req *r = arg;
    char err[256];
    auth_audit(job->w->auth, r->who, "reload", r->why, r->address, "error",
               clk_real_ns(), err, sizeof err);
}

/* Service thread, after the audit record is on disk. */
static void web_reload_then(web_job *job, struct lws *wsi, web_pss *pss)
{
    web *w = job->w;
    web_reload_req *r = job->arg;
    if (r->audit_err[0]) {
        if (wsi)
            web_reply_error(wsi, pss, 500, "the audit log cannot be written "
                            "(%s): nothing was done", r->audit_err);
        return;
    }
    strbuf b;
    sb_init(&b, 0);
    unsigned status = w->o.reload(w->o.reload_ctx, r->who, &b, r->why,
                                  sizeof r->why);
    if (status != 200) {
        web_reload_req *copy = malloc(sizeof *copy);
        if (copy) {
            *copy = *r;
            if (web_worker_submit(w->worker, NULL, NULL,
                                  web_reload_refused_job, copy, free) < 0)
                free(copy);
        }
    }
    if (!wsi) {
        sb_free(&b);
        return;
    }
    if (web_reply(wsi, pss, status, "application/json", &b, NULL) < 0)
        lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
    sb_free(&b);
}

int web_reload_post_done(web *w, struct lws *wsi, web_pss *pss)
{
    auth_session s;
    if (!web_session_of(w, wsi, &s))
        return web_reply_error(wsi, pss, 401, "log in first (POST "
                               "/api/login)");
    web_reload_req *r = calloc(1, sizeof *r);
    if (!r)
        return web_reply_error(wsi, pss, 500, "out of memory");
    snprintf(r->who, sizeof r->who, "%s", s.user);
    snprintf(r->address, sizeof r->address, "%s", pss->peer);
    if (web_worker_submit_then(w->worker, wsi, pss, web_reload_audit_job, r,
                               free, web_reload_then) < 0)
        return web_reply_error(wsi, pss, 503, "busy: try again");
    return 0;
}
