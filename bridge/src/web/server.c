/*
 * server.c - the libwebsockets context, the listening socket, the one
 * protocol callback and the event loop (see web.h).
 *
 * One protocol handles HTTP and the WebSocket alike, so a browser's
 * `new WebSocket(url)` without a subprotocol lands here too.  The upgrade
 * is checked in LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION (path /ws, Origin
 * ours or listed, else 403): LWS_CALLBACK_HTTP_CONFIRM_UPGRADE is never
 * handled, because of a known use-after-free in that path of lws 4.1.
 *
 * Binding: lws treats `iface` as an interface name and, with IPv6 on,
 * binds an IPv4 address it cannot find as one to the IPv6 wildcard, which
 * listens on every interface.  So an IPv4 listen address is bound with
 * IPv6 disabled for the vhost (exactly that address), an IPv6 one with
 * IPv6 on; a test reads the bound address back to prove it.
 */
#include "web/internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"

#define WEB_STOP_POLL_US 250000

int64_t web_now_real(void) { return clk_real_ns(); }
uint64_t web_now_mono(void) { return clk_mono_ns(); }

/* ---- the dispatcher on the lws loop ------------------------------------ */

static void web_dispatch_due(web *w);

static void web_sul_dispatch_cb(lws_sorted_usec_list_t *sul)
{
    web *w = lws_container_of(sul, web, sul_dispatch);
    web_dispatch_due(w);
}

/* Runs what the dispatcher has due and arms the timer for its next
 * deadline. */
static void web_dispatch_due(web *w)
{
    dispatch_run_due(w->d, clk_mono_ns(), clk_real_ns());
    uint64_t next = dispatch_next_deadline(w->d);
    if (next == UINT64_MAX) {
        lws_sul_cancel(&w->sul_dispatch);
        return;
    }
    uint64_t now = clk_mono_ns();
    lws_usec_t us = next > now ? (lws_usec_t)((next - now + 999) / 1000) : 1;
    lws_sul_schedule(w->ctx, 0, &w->sul_dispatch, web_sul_dispatch_cb, us);
}

/* Poller threads (the tag store's notify): the one lws call allowed off
 * the service thread. */
static void web_waker(void *ctx)
{
    web *w = ctx;
    lws_cancel_service(w->ctx);
}

void web_wake(web *w)
{
    if (w && w->ctx)
        lws_cancel_service(w->ctx);
}

/* Every minute the sessions' last use goes to disk, on the login worker
 * (the service thread never writes). */
#define WEB_AUTH_FLUSH_US (60 * 1000000)

static void web_auth_flush_job(web_job *job, void *arg)
{
    (void)arg;
    auth_flush(job->w->auth, clk_real_ns());
}

static void web_sul_auth_cb(lws_sorted_usec_list_t *sul)
{
    web *w = lws_container_of(sul, web, sul_auth);
    web_worker_submit(w->login_worker, NULL, NULL, web_auth_flush_job, NULL,
                      NULL);
    lws_sul_schedule(w->ctx, 0, &w->sul_auth, web_sul_auth_cb,
                     WEB_AUTH_FLUSH_US);
}

static void web_sul_ws_auth_cb(lws_sorted_usec_list_t *sul)
{
    web *w = lws_container_of(sul, web, sul_ws_auth);
    web_ws_sessions(w);
    web_alarm_waits_check(w);   /* answers that waited too long */
    lws_sul_schedule(w->ctx, 0, &w->sul_ws_auth, web_sul_ws_auth_cb,
                     WEB_WS_RECHECK_US);
}

static void web_sul_stop_cb(lws_sorted_usec_list_t *sul)
{
    web *w = lws_container_of(sul, web, sul_stop);
    if (w->stop && atomic_load(w->stop))
        return;             /* web_run sees it after lws_service returns */
    lws_sul_schedule(w->ctx, 0, &w->sul_stop, web_sul_stop_cb,
                     WEB_STOP_POLL_US);
}

/* ---- origins ----------------------------------------------------------- */

bool web_origin_ok(const web *w, struct lws *wsi, const char *origin)
{
    /* Same origin: the Origin's authority is the Host the browser sent
     * the request to (scheme http or https). */
    char host[256] = "";
    lws_hdr_copy(wsi, host, sizeof host, WSI_TOKEN_HOST);
    const char *auth = NULL;
    if (strncmp(origin, "http://", 7) == 0)
        auth = origin + 7;
    else if (strncmp(origin, "https://", 8) == 0)
        auth = origin + 8;
    if (auth && host[0] && strcmp(auth, host) == 0)
        return true;
    for (size_t i = 0; i < w->o.n_origins; i++)
        if (strcmp(origin, w->origins[i]) == 0)
            return true;
    return false;
}

/* ---- the protocol callback --------------------------------------------- */

static int web_callback(struct lws *wsi, enum lws_callback_reasons reason,
                        void *user, void *in, size_t len)
{
    struct lws_vhost *vh = lws_get_vhost(wsi);
    web *w = vh ? lws_vhost_user(vh) : NULL;
    web_pss *pss = user;
    if (!w) {
        const struct lws_protocols *p = lws_get_protocol(wsi);
        w = p ? p->user : NULL;
    }
    if (!w)
        return 0;

    switch (reason) {
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        /* Someone called lws_cancel_service(): pollers with news, a
         * worker with an answer, or the stop handler. */
        web_worker_collect(w->worker);
        web_worker_collect(w->login_worker);
        web_dispatch_due(w);
        return 0;

    case LWS_CALLBACK_HTTP_BODY:
        if (!pss || !pss->post)
            return 0;
        return web_session_body(w, wsi, pss, in, len);

    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        if (!pss)
            return -1;
        return web_session_body_done(w, wsi, pss);

    case LWS_CALLBACK_HTTP:
        if (!pss)
            return -1;
        return web_http_request(w, wsi, pss, in ? (const char *)in : "/");

    case LWS_CALLBACK_HTTP_WRITEABLE:
        if (!pss)
            return -1;
        return web_http_writeable(w, wsi, pss);

    case LWS_CALLBACK_HTTP_FILE_COMPLETION:
        return lws_http_transaction_completed(wsi) ? -1 : 0;

    case LWS_CALLBACK_CLOSED_HTTP:
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
        if (pss && pss->kind == WEB_PSS_HTTP) {
            if (pss->job)
                web_worker_detach(pss->job_worker, pss->job);
            if (pss->alarm_wait)
                web_alarm_wait_drop(w, pss);
            web_pss_reset(pss);
        }
        return 0;

    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
    case LWS_CALLBACK_ESTABLISHED:
    case LWS_CALLBACK_RECEIVE:
    case LWS_CALLBACK_SERVER_WRITEABLE:
    case LWS_CALLBACK_CLOSED:
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        return web_ws_callback(w, wsi, reason, pss, in, len);

    default:
        return 0;
    }
}

/* ---- lifecycle --------------------------------------------------------- */

/* "127.0.0.1:8080" / "[::1]:8080" into host and port. */
static int web_parse_listen(const char *s, char **host, int *port, bool *v6,
                            char *err, size_t errlen)
{
    const char *colon;
    size_t hl;
    const char *h = s;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':')
            goto bad;
        h = s + 1;
        hl = (size_t)(close - h);
        colon = close + 1;
        *v6 = true;
    } else {
        colon = strrchr(s, ':');
        if (!colon)
            goto bad;
        hl = (size_t)(colon - s);
        *v6 = false;
    }
    char *end;
    errno = 0;
    long p = strtol(colon + 1, &end, 10);
    if (errno || end == colon + 1 || *end || p < 1 || p > 65535 || hl == 0 ||
        hl >= 64)
        goto bad;
    char buf[64];
    memcpy(buf, h, hl);
    buf[hl] = '\0';
    unsigned char addr[16];
    if (inet_pton(*v6 ? AF_INET6 : AF_INET, buf, addr) != 1)
        goto bad;
    *host = strdup(buf);
    *port = (int)p;
    return *host ? 0 : -1;
bad:
    snprintf(err, errlen, "web: listen '%s' is not ADDRESS:PORT with a "
             "numeric address (127.0.0.1:8080, [::1]:8080, 0.0.0.0:8080)", s);
    return -1;
}

/* lws reports a bad certificate or key only as "failed to create vhost":
 * check them first with OpenSSL itself, so the message says which file
 * and why.  The key is read on its own (not with
 * SSL_CTX_use_PrivateKey_file, which also compares it with the
 * certificate) so that a key that is fine but belongs to another
 * certificate is told apart from a file that is no key. */
/* A key with a passphrase is refused, never asked for: a daemon has
 * nobody at a terminal (OpenSSL's default callback would prompt on one). */
static int web_no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

static int web_tls_check(const char *cert, const char *key, char *err,
                         size_t errlen)
{
    FILE *f;
    if (!(f = fopen(cert, "r"))) {
        snprintf(err, errlen, "web: tls cert %s: %s", cert, strerror(errno));
        return -1;
    }
    fclose(f);
    if (!(f = fopen(key, "r"))) {
        snprintf(err, errlen, "web: tls key %s: %s", key, strerror(errno));
        return -1;
    }
    ERR_clear_error();
    EVP_PKEY *pkey = PEM_read_PrivateKey(f, NULL, web_no_passphrase, NULL);
    fclose(f);
    SSL_CTX *ctx = pkey ? SSL_CTX_new(TLS_server_method()) : NULL;
    char why[160] = "";
    int rc = -1;
    if (!pkey) {
        ERR_error_string_n(ERR_get_error(), why, sizeof why);
        snprintf(err, errlen, "web: tls key %s is not a PEM private key "
                 "without a passphrase: %s", key, why);
    } else if (!ctx) {
        snprintf(err, errlen, "web: tls: cannot create an OpenSSL context");
    } else if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
        ERR_error_string_n(ERR_get_error(), why, sizeof why);
        snprintf(err, errlen, "web: tls cert %s is not a PEM certificate: %s",
                 cert, why);
    } else if (X509_check_private_key(SSL_CTX_get0_certificate(ctx),
                                      pkey) != 1) {
        snprintf(err, errlen, "web: tls key %s does not match the "
                 "certificate %s", key, cert);
    } else {
        rc = 0;
    }
    ERR_clear_error();
    SSL_CTX_free(ctx);
    EVP_PKEY_free(pkey);
    return rc;
}

static bool web_is_loopback(const char *host, bool v6)
{
    return v6 ? strcmp(host, "::1") == 0 : strncmp(host, "127.", 4) == 0;
}

static struct lws_protocols web_protocols[] = {
    {"lockbridge", web_callback, sizeof(web_pss), 4096, 0, NULL,
     WEB_TX_PACKET},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static const lws_retry_bo_t web_retry = {
    /* WebSocket pings from the server: a wall screen behind a dead link
     * is noticed and closed instead of being counted as a viewer. */
    .secs_since_valid_ping = 15,
    .secs_since_valid_hangup = 40,
};

web *web_new(const web_opts *o, const map_station *st, tag_store *ts,
             dispatch *d, const web_sources *src, char *err, size_t errlen)
{
    web *w = calloc(1, sizeof *w);
    if (!w) {
        snprintf(err, errlen, "web: out of memory");
        return NULL;
    }
    w->o = *o;
    if (!w->o.rate_hz)
        w->o.rate_hz = 10;
    if (!w->o.ws_max_message)
        w->o.ws_max_message = 16384;
    if (!w->o.stuck_ns)
        w->o.stuck_ns = 30000000000ull;
    w->st = st;
    w->ts = ts;
    w->d = d;
    if (src)
        w->src = *src;
    w->auth = w->src.auth;
    w->anonymous = o->anonymous;
    if (w->src.state_dir && !(w->state_dir = strdup(w->src.state_dir)))
        goto oom;
    w->n_tags = tag_store_count(ts);
    w->started_ns = clk_real_ns();
    sb_init(&w->station_json, 0);
    sb_init(&w->station_gz, 0);
    bool v6 = false;
    if (web_parse_listen(o->listen ? o->listen : "127.0.0.1:8080",
                         &w->listen_host, &w->listen_port, &v6, err,
                         errlen) < 0)
        goto fail;
    snprintf(w->address, sizeof w->address, v6 ? "[%s]:%d" : "%s:%d",
             w->listen_host, w->listen_port);
    w->tls = o->tls_cert && o->tls_key;
    if (!w->tls && !o->insecure && !web_is_loopback(w->listen_host, v6)) {
        snprintf(err, errlen, "web: %s is reachable from other machines: give "
                 "web.tls {cert, key} for HTTPS and WSS, or web.insecure: true "
                 "to serve plain HTTP anyway", w->address);
        goto fail;
    }
    if (w->tls && web_tls_check(o->tls_cert, o->tls_key, err, errlen) < 0)
        goto fail;
    if (o->root) {
        char real[PATH_MAX];
        if (!realpath(o->root, real)) {
            snprintf(err, errlen, "web: root %s: %s", o->root,
                     strerror(errno));
            goto fail;
        }
        w->root = strdup(real);
        if (!w->root)
            goto oom;
    }
    if (o->n_origins) {
        w->origins = calloc(o->n_origins, sizeof *w->origins);
        if (!w->origins)
            goto oom;
        for (size_t i = 0; i < o->n_origins; i++)
            if (!(w->origins[i] = strdup(o->origins[i])))
                goto oom;
    }
    w->changed = calloc((w->n_tags + 7) / 8 + 1, 1);
    w->changed_list = calloc(w->n_tags + 1, sizeof *w->changed_list);
    if (!w->changed || !w->changed_list)
        goto oom;
    if (web_station_json_build(w) < 0)
        goto oom;

    lws_set_log_level(LLL_ERR, NULL);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS |
                   LWS_SERVER_OPTION_FAIL_UPON_UNABLE_TO_BIND |
                   (w->tls ? LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT : 0);
    info.port = CONTEXT_PORT_NO_LISTEN_SERVER;
    web_protocols[0].user = w;
    info.protocols = web_protocols;
    info.max_http_header_data = WEB_HEAD_MAX;
    info.timeout_secs = 20;
    info.keepalive_timeout = 30;
    info.alpn = "http/1.1";
    info.retry_and_idle_policy = &web_retry;
    info.count_threads = 1;
    info.fd_limit_per_thread = 0;
    w->ctx = lws_create_context(&info);
    if (!w->ctx) {
        snprintf(err, errlen, "web: cannot create the libwebsockets context");
        goto fail;
    }
    struct lws_context_creation_info vi;
    memset(&vi, 0, sizeof vi);
    vi.port = w->listen_port;
    vi.iface = w->listen_host;
    vi.protocols = web_protocols;
    vi.user = w;
    vi.vhost_name = "lockbridge";
    vi.max_http_header_data = WEB_HEAD_MAX;
    vi.alpn = "http/1.1";
    vi.keepalive_timeout = 30;
    vi.retry_and_idle_policy = &web_retry;
    vi.options = LWS_SERVER_OPTION_FAIL_UPON_UNABLE_TO_BIND |
                 (v6 ? LWS_SERVER_OPTION_IPV6_V6ONLY_MODIFY |
                           LWS_SERVER_OPTION_IPV6_V6ONLY_VALUE
                     : LWS_SERVER_OPTION_DISABLE_IPV6);
    if (w->tls) {
        /* HTTP/1.1 only (alpn above), TLS 1.2 at least, OpenSSL's default
         * ciphers. */
        vi.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT; /* per vhost */
        vi.ssl_cert_filepath = o->tls_cert;
        vi.ssl_private_key_filepath = o->tls_key;
        vi.ssl_options_set = SSL_OP_NO_SSLv2 | SSL_OP_NO_SSLv3 |
                             SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1;
    }
    errno = 0;
    w->vh = lws_create_vhost(w->ctx, &vi);
    if (!w->vh) {
        int e = errno;
        snprintf(err, errlen, "web: cannot listen on %s: %s", w->address,
                 e ? strerror(e) : "address in use or not local");
        goto fail;
    }
    if (!(w->worker = web_worker_new(w, "web-worker")) ||
        !(w->login_worker = web_worker_new(w, "web-login"))) {
        snprintf(err, errlen, "web: cannot start the worker threads");
        goto fail;
    }
    if (web_ws_subscribe_dispatch(w) < 0 || web_alarms_init(w) < 0)
        goto oom;
    return w;
oom:
    snprintf(err, errlen, "web: out of memory");
fail:
    web_free(w);
    return NULL;
}

int web_set_station(web *w, const map_station *st, tag_store *ts,
                    poll_plc *const *pollers, board *alarms)
{
    size_t n = tag_store_count(ts);
    uint8_t *changed = calloc((n + 7) / 8 + 1, 1);
    uint32_t *list = calloc(n + 1, sizeof *list);
    if (!changed || !list) {
        free(changed);
        free(list);
        return -1;
    }
    /* an action's answer still waiting names alarms by the old indices */
    web_alarm_waits_check(w);
    free(w->changed);
    free(w->changed_list);
    w->changed = changed;
    w->changed_list = list;
    w->n_changed = 0;
    w->st = st;
    w->ts = ts;
    w->n_tags = n;
    w->src.pollers = pollers;
    w->src.alarms = alarms;
    w->change_gen++;
    sb_reset(&w->station_json);
    sb_reset(&w->station_gz);
    if (web_alarms_reload(w) < 0 || web_station_json_build(w) < 0 ||
        web_ws_reload(w) < 0)
        return -1;
    return 0;
}

const char *web_address(const web *w) { return w->address; }

const char *web_scheme(const web *w) { return w->tls ? "https" : "http"; }

void web_get_stats(const web *w, web_stats *out) { *out = w->stats; }

int web_run(web *w, const atomic_int *stop)
{
    w->stop = stop;
    w->running = true;
    dispatch_set_waker(w->d, web_waker, w);
    web_dispatch_due(w);
    lws_sul_schedule(w->ctx, 0, &w->sul_stop, web_sul_stop_cb,
                     WEB_STOP_POLL_US);
    if (w->auth) {
        lws_sul_schedule(w->ctx, 0, &w->sul_auth, web_sul_auth_cb,
                         WEB_AUTH_FLUSH_US);
        lws_sul_schedule(w->ctx, 0, &w->sul_ws_auth, web_sul_ws_auth_cb,
                         WEB_WS_RECHECK_US);
    }
    int rc = 0;
    while (!atomic_load(stop)) {
        if (lws_service(w->ctx, 0) < 0) {
            rc = -1;
            break;
        }
    }
    dispatch_set_waker(w->d, NULL, NULL);
    lws_sul_cancel(&w->sul_stop);
    lws_sul_cancel(&w->sul_dispatch);
    lws_sul_cancel(&w->sul_frame);
    lws_sul_cancel(&w->sul_auth);
    lws_sul_cancel(&w->sul_ws_auth);
    w->running = false;
    return rc;
}

void web_free(web *w)
{
    if (!w)
        return;
    /* Destroying the context closes every connection through the
     * callback (CLOSED frees each client); what is left is freed after. */
    if (w->ctx)
        lws_context_destroy(w->ctx);
    w->ctx = NULL;
    web_ws_close_all(w);
    web_alarms_free(w);
    web_worker_free(w->worker);
    web_worker_free(w->login_worker);
    free(w->state_dir);
    web_display *dp = w->displays;
    while (dp) {
        web_display *n = dp->next;
        free(dp);
        dp = n;
    }
    for (size_t i = 0; w->origins && i < w->o.n_origins; i++)
        free(w->origins[i]);
    free(w->origins);
    free(w->root);
    free(w->listen_host);
    free(w->changed);
    free(w->changed_list);
    sb_free(&w->station_json);
    sb_free(&w->station_gz);
    free(w);
}
