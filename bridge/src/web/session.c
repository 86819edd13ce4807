/*
 * session.c - who is asking: the session cookie, the access policy of
 * every request, and the endpoints of logging in and out, the user's own
 * password, and the admin and engineer listings (issue 8).
 *
 * Policy.  Reading (the API's GETs, the WebSocket) needs the viewer role:
 * a session of any role, or `auth.anonymous: viewer`.  Acting needs a
 * session of the action's role: 401 without one, 403 with one too low.
 * Alarm actions (alarms.c) need the operator role, out of service the
 * engineer role; the session is checked before the body is read, and
 * again once it has arrived.
 * The dashboard's files, POST /api/login and /healthz are open (a login
 * page must load, a container's health check has no cookie).  Every
 * state-changing request is a POST whose body is JSON with
 * Content-Type: application/json, which a cross-site HTML form cannot
 * send (415 otherwise); the cookie is SameSite=Strict besides.
 *
 * Slow work runs on the login worker (password hashing: a sizeable
 * fraction of a second and 128 MiB each, one at a time, queued and
 * bounded) or the query worker (listings read the disk); the service
 * thread only looks sessions up in memory.
 */
#include "web/internal.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/clock.h"
#include "web/login.h"

#define WEB_BODY_MAX 16384

/* ---- the cookie -------------------------------------------------------- */

bool web_session_sid(struct lws *wsi, char *sid)
{
    char buf[2048];
    if (lws_hdr_copy(wsi, buf, sizeof buf, WSI_TOKEN_HTTP_COOKIE) <= 0)
        return false;
    for (char *p = buf; p && *p;) {
        while (*p == ' ' || *p == ';')
            p++;
        char *end = strchr(p, ';');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n > 11 && strncmp(p, "lb_session=", 11) == 0) {
            const char *v = p + 11;
            size_t vl = n - 11;
            if (vl != AUTH_SID_LEN)
                return false;
            for (size_t i = 0; i < vl; i++)
                if (!((v[i] >= '0' && v[i] <= '9') ||
                      (v[i] >= 'a' && v[i] <= 'f')))
                    return false;
            memcpy(sid, v, vl);
            sid[vl] = '\0';
            return true;
        }
        p = end;
    }
    return false;
}

bool web_session_of(web *w, struct lws *wsi, auth_session *out)
{
    char sid[AUTH_SID_LEN + 1];
    if (!w->auth || !web_session_sid(wsi, sid))
        return false;
    return auth_session_check(w->auth, sid, clk_real_ns(), out) == 0;
}

auth_role web_role_of(web *w, struct lws *wsi, auth_session *out)
{
    auth_session s;
    if (web_session_of(w, wsi, &s)) {
        if (out)
            *out = s;
        return s.role;
    }
    return w->anonymous;
}

/* "Set-Cookie: ...\r\n" for a new session; persistent (Max-Age) for a
 * kiosk token's, so a wall screen's browser keeps it across restarts. */
static void web_cookie_header(const web *w, const char *sid,
                              const auth_session *s, char *out, size_t len)
{
    char age[48] = "";
    if (s->token && s->expires_ns > clk_real_ns())
        snprintf(age, sizeof age, "; Max-Age=%lld",
                 (long long)((s->expires_ns - clk_real_ns()) / 1000000000));
    snprintf(out, len, "Set-Cookie: lb_session=%s; HttpOnly; SameSite=Strict; "
             "Path=/%s%s\r\n", sid, w->tls ? "; Secure" : "", age);
}

static void web_cookie_clear(const web *w, char *out, size_t len)
{
    snprintf(out, len, "Set-Cookie: lb_session=; HttpOnly; SameSite=Strict; "
             "Path=/; Max-Age=0%s\r\n", w->tls ? "; Secure" : "");
}

/* ---- answers ----------------------------------------------------------- */

static void web_me_json(strbuf *b, const auth_session *s)
{
    sb_puts(b, "{\"user\":");
    sb_json_str(b, s->user);
    sb_printf(b, ",\"role\":\"%s\",\"token\":%s", auth_role_name(s->role),
              s->token ? "true" : "false");
    if (s->token) {
        sb_puts(b, ",\"display\":");
        sb_json_str(b, s->token_name);
    }
    char when[32];
    clk_format_rfc3339(s->expires_ns, when, sizeof when);
    sb_printf(b, ",\"expires\":\"%s\"}\n", when);
}

static int web_need(web *w, struct lws *wsi, web_pss *pss, auth_role need)
{
    auth_session s;
    bool have = web_session_of(w, wsi, &s);
    if (!have)
        return web_reply_error(wsi, pss, 401, "log in first (POST "
                               "/api/login)");
    if (s.role < need)
        return web_reply_error(wsi, pss, 403, "this needs the %s role; %s "
                               "is %s", auth_role_name(need), s.user,
                               auth_role_name(s.role));
    return 1;
}

/* ---- login, logout, password (login worker) ---------------------------- */

typedef enum { WEB_JOB_LOGIN, WEB_JOB_LOGOUT, WEB_JOB_PASSWD } web_auth_kind;

typedef struct {
    web_auth_kind kind;
    char user[WEB_LOGIN_USER_MAX + 1];
    char password[WEB_LOGIN_PASSWORD_MAX + 1];
    char new_password[WEB_LOGIN_PASSWORD_MAX + 1];
    char token[WEB_LOGIN_TOKEN_MAX + 1];
    char sid[AUTH_SID_LEN + 1];
    char address[64];
} web_auth_req;

static void web_auth_req_free(void *arg)
{
    web_auth_req *r = arg;
    if (!r)
        return;
    /* Secrets do not linger in freed memory. */
    OPENSSL_cleanse(r, sizeof *r);
    free(r);
}

static void web_job_error(web_job *job, unsigned status, const char *msg)
{
    job->status = status;
    sb_puts(&job->out, "{\"error\":");
    sb_json_str(&job->out, msg);
    sb_puts(&job->out, "}\n");
}

/* Worker thread. */
static void web_auth_job(web_job *job, void *arg)
{
    web_auth_req *r = arg;
    web *w = job->w;
    char err[256];
    unsigned retry = 0;
    int64_t now = clk_real_ns();
    auth_session s;
    char sid[AUTH_SID_LEN + 1];
    if (r->kind == WEB_JOB_LOGOUT) {
        auth_logout(w->auth, r->sid, r->address, now);
        web_cookie_clear(w, job->headers, sizeof job->headers);
        sb_puts(&job->out, "{\"logged_out\":true}\n");
        return;
    }
    auth_result res;
    if (r->kind == WEB_JOB_PASSWD)
        res = auth_change_password(w->auth, r->sid, r->password,
                                   r->new_password, r->address, now, &retry,
                                   err, sizeof err);
    else if (r->token[0])
        res = auth_token_login(w->auth, r->token, r->address, now, sid, &s,
                               &retry, err, sizeof err);
    else
        res = auth_login(w->auth, r->user, r->password, r->address, now, sid,
                         &s, &retry, err, sizeof err);
    switch (res) {
    case AUTH_OK:
        if (r->kind == WEB_JOB_PASSWD) {
            sb_puts(&job->out, "{\"changed\":true}\n");
        } else {
            web_cookie_header(w, sid, &s, job->headers, sizeof job->headers);
            web_me_json(&job->out, &s);
        }
        break;
    case AUTH_BAD:
        /* One answer for a wrong user and a wrong password. */
        web_job_error(job, 401, r->kind == WEB_JOB_PASSWD
                                    ? "the current password is wrong"
                                : r->token[0] ? "unknown token"
                                              : "wrong user or password");
        break;
    case AUTH_THROTTLED:
        snprintf(job->headers, sizeof job->headers, "Retry-After: %u\r\n",
                 retry);
        snprintf(err, sizeof err, "too many failed attempts: try again in "
                 "%u s", retry);
        web_job_error(job, 429, err);
        break;
    case AUTH_WEAK:
        web_job_error(job, 400, err);
        break;
    case AUTH_ERROR:
        web_job_error(job, 500, err);
        break;
    }
}

/* ---- requests ---------------------------------------------------------- */

static bool web_json_content(struct lws *wsi)
{
    char ct[128] = "";
    if (lws_hdr_copy(wsi, ct, sizeof ct, WSI_TOKEN_HTTP_CONTENT_TYPE) <= 0)
        return false;
    size_t n = strcspn(ct, "; ");
    return n == 16 && strncasecmp(ct, "application/json", 16) == 0;
}

static const char *const web_post_paths[] = {
    "/api/login", "/api/logout", "/api/me/password", NULL,
};

/* pss->post for an alarm action: this plus its alarm_op; for an
 * acknowledge link's POST, WEB_POST_ACKLINK. */
#define WEB_POST_ALARM 100
#define WEB_POST_ACKLINK 99
#define WEB_POST_RELOAD 98

/* A POST's headers: JSON (415), a length (411), not too long (413).  1
 * when the body may come, else the callback's return. */
static int web_post_headers(struct lws *wsi, web_pss *pss)
{
    if (!web_json_content(wsi))
        return web_reply_error(wsi, pss, 415, "the body must be JSON with "
                               "Content-Type: application/json");
    if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH) <= 0)
        return web_reply_error(wsi, pss, 411, "Content-Length is required");
    char cl[32];
    lws_hdr_copy(wsi, cl, sizeof cl, WSI_TOKEN_HTTP_CONTENT_LENGTH);
    char *end;
    long len = strtol(cl, &end, 10);
    if (*end || len < 0 || len > WEB_BODY_MAX)
        return web_reply_error(wsi, pss, 413, "a body may be at most %d "
                               "bytes", WEB_BODY_MAX);
    return 1;
}

int web_session_request(web *w, struct lws *wsi, web_pss *pss,
                        const char *uri, web_method method, bool *handled)
{
    *handled = true;
    lws_get_peer_simple(wsi, pss->peer, sizeof pss->peer);
    /* Scrapers carry a bearer token, not a session. */
    if (strcmp(uri, "/metrics") == 0) {
        if (method == WEB_POST)
            return web_reply_error(wsi, pss, 405, "/metrics is read with "
                                   "GET");
        return web_api_metrics(w, wsi, pss);
    }
    /* An acknowledge link's page: the token is the credential, whatever
     * anonymous readers may do. */
    if (strcmp(uri, "/api/acklink") == 0) {
        if (method != WEB_POST) {
            *handled = false;
            return 0;
        }
        int rc = web_post_headers(wsi, pss);
        if (rc != 1)
            return rc;
        pss->post = WEB_POST_ACKLINK;
        sb_reset(&pss->req_body);
        return 0;
    }
    /* The maps read again: an admin's, with a JSON body ({}), so that no
     * other site's form can post it through an admin's browser. */
    if (strcmp(uri, "/api/reload") == 0) {
        if (method != WEB_POST)
            return web_reply_error(wsi, pss, 405, "/api/reload takes POST "
                                   "with a JSON body ({})");
        if (!w->auth || !w->o.reload)
            return web_reply_error(wsi, pss, 404, "reloading is not "
                                   "available here");
        int rc = web_need(w, wsi, pss, AUTH_ADMIN);
        if (rc != 1)
            return rc;
        rc = web_post_headers(wsi, pss);
        if (rc != 1)
            return rc;
        pss->post = WEB_POST_RELOAD;
        sb_reset(&pss->req_body);
        return 0;
    }
    auth_role alarm_role;
    int alarm_op = web_alarm_post_find(uri, &alarm_role);
    if (method == WEB_POST && alarm_op >= 0) {
        /* who first (401/403), then what (415...): an operator's form
         * post is told it is no JSON, anyone else that they may not */
        if (!w->auth)
            return web_reply_error(wsi, pss, 404, "logins are not available");
        int rc = web_need(w, wsi, pss, alarm_role);
        if (rc != 1)
            return rc;
        rc = web_post_headers(wsi, pss);
        if (rc != 1)
            return rc;
        pss->post = WEB_POST_ALARM + alarm_op;
        sb_reset(&pss->req_body);
        return 0;
    }
    if (method == WEB_POST) {
        int k = -1;
        for (int i = 0; web_post_paths[i]; i++)
            if (strcmp(uri, web_post_paths[i]) == 0)
                k = i;
        /* 405 where the path exists for reading (or is a file), 404
         * where the API has nothing at all. */
        if (k < 0)
            return web_reply_error(wsi, pss, strncmp(uri, "/api/", 5) == 0 &&
                                   !web_route_exists(uri) ? 404 : 405,
                                   "nothing to POST to at %.200s", uri);
        if (!w->auth)
            return web_reply_error(wsi, pss, 404, "logins are not available");
        int rc = web_post_headers(wsi, pss);
        if (rc != 1)
            return rc;
        pss->post = k + 1;
        sb_reset(&pss->req_body);
        return 0;               /* the body follows (web_session_body) */
    }
    for (int i = 0; web_post_paths[i]; i++)
        if (strcmp(uri, web_post_paths[i]) == 0)
            return web_reply_error(wsi, pss, 405, "%s takes POST with a JSON "
                                   "body", uri);
    if (alarm_op >= 0)
        return web_reply_error(wsi, pss, 405, "%s takes POST with a JSON "
                               "body", uri);
    if (strcmp(uri, "/api/me") == 0) {
        auth_session s;
        if (!web_session_of(w, wsi, &s)) {
            strbuf b;
            sb_init(&b, 0);
            sb_printf(&b, "{\"error\":\"not logged in\",\"anonymous\":\"%s\","
                      "\"users\":%zu}\n", auth_role_name(w->anonymous),
                      w->auth ? auth_user_count(w->auth) : (size_t)0);
            return web_reply(wsi, pss, 401, "application/json", &b, NULL);
        }
        strbuf b;
        sb_init(&b, 0);
        web_me_json(&b, &s);
        return web_reply(wsi, pss, 200, "application/json", &b, NULL);
    }
    if (strcmp(uri, "/api/users") == 0 || strcmp(uri, "/api/tokens") == 0 ||
        strcmp(uri, "/api/audit") == 0 ||
        strcmp(uri, "/api/notifications") == 0) {
        /* who was told what holds people's addresses: an operator's */
        int rc = web_need(w, wsi, pss, uri[5] == 'a' ? AUTH_ENGINEER
                                       : uri[5] == 'n' ? AUTH_OPERATOR
                                                       : AUTH_ADMIN);
        if (rc != 1)
            return rc;
        *handled = false;       /* routed like any GET (api.c/query.c) */
        return 0;
    }
    /* Every other API read needs the viewer role. */
    if (strncmp(uri, "/api/", 5) == 0 &&
        web_role_of(w, wsi, NULL) < AUTH_VIEWER)
        return web_reply_error(wsi, pss, 401, "log in first (POST "
                               "/api/login)");
    *handled = false;
    return 0;
}

int web_session_body(web *w, struct lws *wsi, web_pss *pss, const void *in,
                     size_t len)
{
    (void)w;
    if (pss->req_body.len + len > WEB_BODY_MAX) {
        pss->post = 0;
        return web_reply_error(wsi, pss, 413, "a body may be at most %d "
                               "bytes", WEB_BODY_MAX);
    }
    sb_add(&pss->req_body, in, len);
    return 0;
}

int web_session_body_done(web *w, struct lws *wsi, web_pss *pss)
{
    int which = pss->post;
    pss->post = 0;
    if (!which)
        return 0;
    if (which >= WEB_POST_ALARM)
        return web_alarm_post_done(w, wsi, pss, which - WEB_POST_ALARM);
    if (which == WEB_POST_ACKLINK)
        return web_acklink_post_done(w, wsi, pss);
    if (which == WEB_POST_RELOAD)
        return web_reload_post_done(w, wsi, pss);
    const char *path = web_post_paths[which - 1];
    web_auth_req *r = calloc(1, sizeof *r);
    if (!r)
        return web_reply_error(wsi, pss, 500, "out of memory");
    snprintf(r->address, sizeof r->address, "%s", pss->peer);
    char err[200];
    int rc = 0;
    if (strcmp(path, "/api/login") == 0) {
        r->kind = WEB_JOB_LOGIN;
        if (web_login_parse(sb_data(&pss->req_body), pss->req_body.len,
                            r->user, sizeof r->user, r->password,
                            sizeof r->password, r->token, sizeof r->token,
                            err, sizeof err) < 0) {
            web_auth_req_free(r);
            r = NULL;
            rc = web_reply_error(wsi, pss, 400, "%s", err);
        }
    } else {
        auth_session s;
        char sid[AUTH_SID_LEN + 1];
        if (!web_session_sid(wsi, sid) ||
            auth_session_check(w->auth, sid, clk_real_ns(), &s) < 0) {
            web_auth_req_free(r);
            r = NULL;
            rc = web_reply_error(wsi, pss, 401, "log in first (POST "
                                 "/api/login)");
        } else if (strcmp(path, "/api/logout") == 0) {
            r->kind = WEB_JOB_LOGOUT;
            memcpy(r->sid, sid, sizeof r->sid);
        } else {
            r->kind = WEB_JOB_PASSWD;
            memcpy(r->sid, sid, sizeof r->sid);
            cJSON *j = cJSON_ParseWithLength(sb_data(&pss->req_body),
                                             pss->req_body.len);
            const cJSON *o = j ? cJSON_GetObjectItemCaseSensitive(j, "old")
                               : NULL;
            const cJSON *n = j ? cJSON_GetObjectItemCaseSensitive(j, "new")
                               : NULL;
            if (s.token || !cJSON_IsString(o) || !cJSON_IsString(n) ||
                strlen(o->valuestring) > WEB_LOGIN_PASSWORD_MAX ||
                strlen(n->valuestring) > WEB_LOGIN_PASSWORD_MAX) {
                rc = web_reply_error(wsi, pss, s.token ? 403 : 400,
                                     s.token ? "a kiosk token has no "
                                     "password" : "the body must be "
                                     "{\"old\": \"...\", \"new\": \"...\"}");
                web_auth_req_free(r);
                r = NULL;
            } else {
                snprintf(r->password, sizeof r->password, "%s",
                         o->valuestring);
                snprintf(r->new_password, sizeof r->new_password, "%s",
                         n->valuestring);
            }
            cJSON_Delete(j);
        }
    }
    /* The body held a password: wipe it now. */
    if (pss->req_body.mem)
        OPENSSL_cleanse(pss->req_body.mem, pss->req_body.pre +
                        pss->req_body.cap);
    sb_reset(&pss->req_body);
    if (!r)
        return rc;
    if (web_worker_submit(w->login_worker, wsi, pss, web_auth_job, r,
                          web_auth_req_free) < 0)
        return web_reply_error(wsi, pss, 503, "too many logins waiting; try "
                               "again in a moment");
    return 0;
}

/* ---- listings (query worker) ------------------------------------------- */

typedef struct {
    strbuf *b;
    bool first;
} web_list_ctx;

static int web_user_row(void *arg, const auth_user_info *u)
{
    web_list_ctx *x = arg;
    char c[32], ch[32];
    clk_format_rfc3339(u->created_ns, c, sizeof c);
    clk_format_rfc3339(u->changed_ns, ch, sizeof ch);
    sb_puts(x->b, x->first ? "{\"name\":" : ",{\"name\":");
    x->first = false;
    sb_json_str(x->b, u->name);
    sb_printf(x->b, ",\"role\":\"%s\",\"created\":\"%s\",\"changed\":\"%s\"}",
              auth_role_name(u->role), c, ch);
    return 0;
}

static int web_token_row(void *arg, const auth_token_info *t)
{
    web_list_ctx *x = arg;
    char c[32], u[32] = "";
    clk_format_rfc3339(t->created_ns, c, sizeof c);
    if (t->last_used_ns)
        clk_format_rfc3339(t->last_used_ns, u, sizeof u);
    sb_puts(x->b, x->first ? "{\"name\":" : ",{\"name\":");
    x->first = false;
    sb_json_str(x->b, t->name);
    sb_printf(x->b, ",\"role\":\"%s\",\"created\":\"%s\",\"last_used\":",
              auth_role_name(t->role), c);
    if (u[0])
        sb_printf(x->b, "\"%s\"}", u);
    else
        sb_puts(x->b, "null}");
    return 0;
}

static void web_users_job(web_job *job, void *arg)
{
    bool tokens = arg != NULL;
    char err[256];
    web_list_ctx x = {.b = &job->out, .first = true};
    sb_puts(&job->out, tokens ? "{\"tokens\":[" : "{\"users\":[");
    int rc = tokens ? auth_tokens_each(job->w->auth, web_token_row, &x, err,
                                       sizeof err)
                    : auth_users_each(job->w->auth, web_user_row, &x, err,
                                      sizeof err);
    if (rc < 0) {
        sb_reset(&job->out);
        web_job_error(job, 500, err);
        return;
    }
    sb_puts(&job->out, "]}\n");
}

int web_api_users(web *w, struct lws *wsi, web_pss *pss, const web_args *a)
{
    static const char *const known[] = {NULL};
    char err[300];
    if (web_args_only(a, known, err, sizeof err) < 0)
        return web_reply_error(wsi, pss, 400, "%s", err);
    if (web_worker_submit(w->worker, wsi, pss, web_users_job, NULL, NULL) < 0)
        return web_reply_error(wsi, pss, 503, "too many queries waiting");
    return 0;
}

int web_api_tokens(web *w, struct lws *wsi, web_pss *pss, const web_args *a)
{
    static const char *const known[] = {NULL};
    char err[300];
    if (web_args_only(a, known, err, sizeof err) < 0)
        return web_reply_error(wsi, pss, 400, "%s", err);
    /* arg != NULL selects tokens; the worker does not free it */
    if (web_worker_submit(w->worker, wsi, pss, web_users_job, (void *)1,
                          NULL) < 0)
        return web_reply_error(wsi, pss, 503, "too many queries waiting");
    return 0;
}

/* /api/audit's default and largest `limit` */
#define WEB_AUDIT_LIMIT 1000
#define WEB_AUDIT_LIMIT_MAX 100000

typedef struct {
    int64_t from, to;
    size_t limit;
} web_audit_q;

static int web_audit_row(void *arg, const auth_audit_row *r)
{
    web_list_ctx *x = arg;
    char when[32];
    clk_format_rfc3339(r->ts_ns, when, sizeof when);
    sb_printf(x->b, "%s{\"ts\":\"%s\",\"user\":", x->first ? "" : ",", when);
    x->first = false;
    sb_json_str(x->b, r->user);
    sb_puts(x->b, ",\"action\":");
    sb_json_str(x->b, r->action);
    sb_puts(x->b, ",\"detail\":");
    sb_json_str(x->b, r->detail);
    sb_puts(x->b, ",\"address\":");
    sb_json_str(x->b, r->address);
    sb_puts(x->b, ",\"result\":");
    sb_json_str(x->b, r->result);
    sb_putc(x->b, '}');
    return 0;
}

static void web_audit_job(web_job *job, void *arg)
{
    web_audit_q *q = arg;
    char err[256];
    web_list_ctx x = {.b = &job->out, .first = true};
    bool more = false;
    sb_puts(&job->out, "{\"audit\":[");
    if (auth_audit_newest(job->w->state_dir, q->from, q->to, q->limit, &more,
                          web_audit_row, &x, err, sizeof err) < 0) {
        sb_reset(&job->out);
        web_job_error(job, 500, err);
        return;
    }
    sb_printf(&job->out, "],\"truncated\":%s}\n", more ? "true" : "false");
}

int web_api_audit(web *w, struct lws *wsi, web_pss *pss, const web_args *a)
{
    static const char *const known[] = {"from", "to", "limit", NULL};
    char err[300];
    if (web_args_only(a, known, err, sizeof err) < 0)
        return web_reply_error(wsi, pss, 400, "%s", err);
    int64_t now = clk_real_ns();
    web_audit_q *q = calloc(1, sizeof *q);
    if (!q)
        return web_reply_error(wsi, pss, 500, "out of memory");
    if (web_args_range(a, now, "-7d", WEB_AUDIT_LIMIT, WEB_AUDIT_LIMIT_MAX,
                       &q->from, &q->to, &q->limit, err, sizeof err) < 0) {
        free(q);
        return web_reply_error(wsi, pss, 400, "%s", err);
    }
    if (web_worker_submit(w->worker, wsi, pss, web_audit_job, q, free) < 0)
        return web_reply_error(wsi, pss, 503, "too many queries waiting");
    return 0;
}
