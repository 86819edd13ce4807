/*
 * internal.h - what the files of web/ share: the server's state, the
 * per-connection state, and the functions each file offers the others.
 * Not a public header: everything here runs on the service thread (the
 * consumer thread) unless a comment says otherwise.
 *
 *   server.c   context, listening socket, the one protocol callback, the
 *              event loop and the dispatcher's timer
 *   http.c     one HTTP transaction: query arguments, answers, sending
 *   params.c   what query arguments and tag selections say (pure:
 *              params.h, no lws)
 *   api.c      /api/tags, /api/station, /healthz, /api/displays
 *   query.c    /api/history and /api/export.csv (run on the worker)
 *   files.c    the dashboard's static files, confined to the web root
 *   ws.c       the WebSocket protocol and the broadcast subscriber
 *   alarms.c   /api/alarms, the journal, the KPIs, the actions
 *   worker.c   the worker thread for slow requests
 */
#ifndef LB_WEB_INTERNAL_H
#define LB_WEB_INTERNAL_H

#include <libwebsockets.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "auth/auth.h"
#include "core/strbuf.h"
#include "web/params.h"
#include "web/web.h"

#define WEB_HEAD_MAX 8192        /* request head (lws max_http_header_data) */
#define WEB_CHUNK 32768          /* bytes per write of a body */
#define WEB_SNDBUF (128 * 1024)  /* a WebSocket's SO_SNDBUF; Linux doubles
                                    it: 256 KiB a client */
/* The most lws hands one send() (lws_protocols.tx_packet_size).  Left at
 * 0, lws caps every send() at rx_buffer_size (4 KiB) and copies the rest
 * of each write into a buffer of its own, sent 4 KiB per trip through the
 * event loop: a 19 KB delta cost five sends, five TCP segments and a heap
 * copy per client.  A socket's kernel buffer holds at most this much, and
 * what send() does not take lws buffers in either case. */
#define WEB_TX_PACKET (2 * WEB_SNDBUF)

/* Sent with every answer (http.c adds them to its own; files.c to what
 * lws_serve_http_file sends): no sniffing, no framing by other sites,
 * no referrer to elsewhere. */
#define WEB_COMMON_HEADERS                                                  \
    "X-Content-Type-Options: nosniff\r\n"                                   \
    "X-Frame-Options: DENY\r\n"                                             \
    "Referrer-Policy: no-referrer\r\n"

typedef struct web_frame web_frame;
typedef struct web_client web_client;
typedef struct web_job web_job;
typedef struct web_worker web_worker;
typedef struct web_alarm_wait web_alarm_wait;

/* A response body being sent, or a worker job producing one. */
typedef enum { WEB_PSS_NONE, WEB_PSS_HTTP, WEB_PSS_WS } web_pss_kind;

typedef enum { WEB_GET, WEB_HEAD, WEB_POST, WEB_OTHER } web_method;

typedef struct {
    web_pss_kind kind;
    /* HTTP */
    char peer[64];             /* the client's address */
    int post;                  /* a POST whose body is arriving: which */
    strbuf req_body;
    strbuf body;
    size_t sent;
    bool head_only;            /* HEAD: headers, no body */
    bool chunked;              /* streamed (Transfer-Encoding: chunked) */
    bool final_sent;
    web_job *job;              /* the worker job answering this request */
    web_worker *job_worker;    /* ... and the worker it is queued on */
    web_alarm_wait *alarm_wait;/* an alarm action's answer waiting for the
                                  journal (alarms.c) */
    /* WebSocket */
    web_client *client;
} web_pss;

/* A wall screen that reported over its WebSocket. */
typedef struct web_display {
    struct web_display *next;
    char name[65];
    char page[33];
    char address[64];
    char user_agent[129];
    int64_t connected_ns;      /* 0 while disconnected */
    int64_t last_report_ns;    /* wall clock */
    int64_t drawn_ns;          /* what it said it drew, and when */
    int64_t data_ns;           /* the newest value time on its screen */
    int stale;                 /* tags it shows as not good */
    bool online;
} web_display;

struct web {
    web_opts o;
    char *listen_host;         /* owned copies */
    int listen_port;
    char address[80];
    char *root;                /* realpath of the web root, or NULL */
    bool tls;                  /* HTTPS and WSS (cookies get Secure) */
    char **origins;
    const map_station *st;
    tag_store *ts;
    dispatch *d;
    web_sources src;
    size_t n_tags;

    struct lws_context *ctx;
    struct lws_vhost *vh;
    lws_sorted_usec_list_t sul_dispatch;
    lws_sorted_usec_list_t sul_frame;
    lws_sorted_usec_list_t sul_stop;
    bool frame_scheduled;
    const atomic_int *stop;
    bool running;
    int64_t started_ns;

    strbuf station_json;       /* /api/station, built once */
    strbuf station_gz;         /* ... and gzipped once (145 KB -> ~12) */

    /* WebSocket clients and what changed since the last frame tick. */
    web_client *clients;
    uint8_t *changed;          /* bitmap over tag indices */
    uint32_t *changed_list;
    size_t n_changed;
    uint64_t tick_due;         /* monotonic deadline of the next frame tick */
    uint64_t change_gen;       /* bumped by every batch of changes */
    web_frame *snap_cache;     /* the last full snapshot, for clients that
                                  connect while nothing has changed */
    uint64_t snap_gen;
    uint64_t snap_mono;
    web_display *displays;

    web_worker *worker;        /* history queries, exports, listings */
    web_worker *login_worker;  /* password hashing, one at a time */
    auth *auth;                /* NULL: no logins (reading only) */
    auth_role anonymous;       /* what a request without a session may do */
    char *state_dir;           /* data_dir, for the audit log */
    lws_sorted_usec_list_t sul_auth;   /* sessions' last use to disk */
    lws_sorted_usec_list_t sul_ws_auth; /* WebSockets' sessions asked
                                           again */
    /* Alarms (alarms.c): NULL/0 without them. */
    size_t n_alarms;
    uint32_t *alarm_list;      /* scratch: alarms listed, sorted */
    uint8_t *alarm_changed;    /* bitmap: changed by this commit batch */
    uint32_t *alarm_changed_list;
    web_alarm_wait *alarm_waits;
    web_stats stats;
};

/* ---- server.c ---------------------------------------------------------- */
/* Wall-clock and monotonic "now" for the whole module. */
int64_t web_now_real(void);
uint64_t web_now_mono(void);
/* Is this Origin header value ours (the Host it was sent to) or listed? */
bool web_origin_ok(const web *w, struct lws *wsi, const char *origin);

/* ---- http.c ------------------------------------------------------------ */
/* Parses the query string (lws's fragments, through web_args_add); -1
 * with a message when an argument is too long or there are too many. */
int web_args_parse(struct lws *wsi, web_args *a, char *err, size_t errlen);
/* Answers with status and body (moved into the pss) and starts sending.
 * Returns what the lws callback must return. */
int web_reply(struct lws *wsi, web_pss *pss, unsigned status,
              const char *ctype, strbuf *body, const char *extra_headers);
/* Headers only (HEAD of a file): Content-Length len, no body. */
int web_reply_head(struct lws *wsi, web_pss *pss, unsigned status,
                   const char *ctype, uint64_t len, const char *extra);
/* {"error": msg} with status. */
int web_reply_error(struct lws *wsi, web_pss *pss, unsigned status,
                    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Starts a chunked response (the worker streams the body). */
int web_reply_stream(struct lws *wsi, web_pss *pss, const char *ctype,
                     const char *extra_headers);
/* LWS_CALLBACK_HTTP_WRITEABLE: sends the next part.  Callback's return. */
int web_http_writeable(web *w, struct lws *wsi, web_pss *pss);
/* Whether uri is one of the API's GET endpoints (so another method there
 * is 405, not 404). */
bool web_route_exists(const char *uri);
/* LWS_CALLBACK_HTTP: routes the request.  Callback's return. */
int web_http_request(web *w, struct lws *wsi, web_pss *pss, const char *uri);
/* Frees what a transaction holds (end of request, connection closed). */
void web_pss_reset(web_pss *pss);

/* ---- api.c ------------------------------------------------------------- */
int web_api_tags(web *w, struct lws *wsi, web_pss *pss, const web_args *a);
int web_api_station(web *w, struct lws *wsi, web_pss *pss, const web_args *a);
int web_api_healthz(web *w, struct lws *wsi, web_pss *pss, const web_args *a);
int web_api_displays(web *w, struct lws *wsi, web_pss *pss,
                     const web_args *a);
int web_station_json_build(web *w);
/* GET /metrics with its own access check (metrics.h); session.c. */
int web_api_metrics(web *w, struct lws *wsi, web_pss *pss);
/* Does the request accept Content-Encoding: gzip? */
bool web_accepts_gzip(struct lws *wsi);

/* ---- query.c ----------------------------------------------------------- */
int web_api_history(web *w, struct lws *wsi, web_pss *pss, const web_args *a);
int web_api_export(web *w, struct lws *wsi, web_pss *pss, const web_args *a);

/* ---- session.c --------------------------------------------------------- */
/* The lb_session cookie's id, if well formed (AUTH_SID_LEN lowercase hex
 * into sid, AUTH_SID_LEN + 1 bytes); whether it names a live session is
 * not looked at. */
bool web_session_sid(struct lws *wsi, char *sid);
/* The request's session, if its cookie names a live one. */
bool web_session_of(web *w, struct lws *wsi, auth_session *out);
/* Its role, or the anonymous role without a session. */
auth_role web_role_of(web *w, struct lws *wsi, auth_session *out);
/* Logins, POSTs and the access policy of a request, before routing:
 * *handled false means "route it as usual".  Callback's return. */
int web_session_request(web *w, struct lws *wsi, web_pss *pss,
                        const char *uri, web_method method, bool *handled);
int web_session_body(web *w, struct lws *wsi, web_pss *pss, const void *in,
                     size_t len);
int web_session_body_done(web *w, struct lws *wsi, web_pss *pss);
int web_api_users(web *w, struct lws *wsi, web_pss *pss, const web_args *a);
int web_api_tokens(web *w, struct lws *wsi, web_pss *pss, const web_args *a);
int web_api_audit(web *w, struct lws *wsi, web_pss *pss, const web_args *a);

/* ---- alarms.c ---------------------------------------------------------- */
/* The list, board listener and waits; 0, or -1 out of memory. */
int web_alarms_init(web *w);
/* reload.c: POST /api/reload's body has arrived (admin checked). */
int web_reload_post_done(web *w, struct lws *wsi, web_pss *pss);
/* web_set_station: the tables for the new board (its listener is carried
 * over by board_take_over); an answer still waiting is given 503. */
int web_alarms_reload(web *w);
void web_alarms_free(web *w);
/* One alarm as the API and the WebSocket show it (its shown status), and
 * the list /api/alarms gives (a JSON array). */
void web_alarm_json(web *w, strbuf *b, size_t idx);
void web_alarm_list_json(web *w, strbuf *b);
/* ,"key":"<RFC 3339>" (or null for 0); alarms.c. */
void web_json_time(strbuf *b, const char *key, int64_t ns);
/* A bilingual text as {"en","zh"} (zh falls back to en); api.c. */
void web_text_json(strbuf *b, const map_text *t);
/* The definitions, for /api/station: a JSON array (empty without an
 * engine), each {"id","priority","area","plc","tag","kind","latch",
 * "message"} with the message as written (placeholders unfilled), and
 * "when" (the value that raises it) for a `when:` alarm. */
void web_alarm_defs_json(web *w, strbuf *b);
int web_api_alarms(web *w, struct lws *wsi, web_pss *pss, const web_args *a);
int web_api_alarm_journal(web *w, struct lws *wsi, web_pss *pss,
                          const web_args *a);
/* GET /api/acklink?t= (no session: the token is the credential) and the
 * POST's body (web_session_body_done). */
int web_api_acklink(web *w, struct lws *wsi, web_pss *pss, const web_args *a);
int web_acklink_post_done(web *w, struct lws *wsi, web_pss *pss);

/* ---- notifications.c ----------------------------------------------------- */
/* GET /api/notifications (operator: web_session_request checks). */
int web_api_notifications(web *w, struct lws *wsi, web_pss *pss,
                          const web_args *a);
int web_api_alarm_kpi(web *w, struct lws *wsi, web_pss *pss,
                      const web_args *a);
/* The action a POST path names (its alarm_op) and the role it needs; -1
 * when uri is none. */
int web_alarm_post_find(const char *uri, auth_role *role);
/* The body of an action has arrived (op: web_alarm_post_find's). */
int web_alarm_post_done(web *w, struct lws *wsi, web_pss *pss, int op);
/* Answers the actions whose records are shown, or that waited too long. */
void web_alarm_waits_check(web *w);
/* The connection of a waiting answer closed. */
void web_alarm_wait_drop(web *w, web_pss *pss);

/* ---- files.c ----------------------------------------------------------- */
int web_files_serve(web *w, struct lws *wsi, web_pss *pss, const char *uri);

/* ---- ws.c -------------------------------------------------------------- */
int web_ws_subscribe_dispatch(web *w);
int web_ws_callback(web *w, struct lws *wsi, enum lws_callback_reasons reason,
                    web_pss *pss, void *in, size_t len);
void web_ws_close_all(web *w);
/* web_set_station: every client's tables sized for the new station, and
 * each closed with 1012 (service restart) "station reloaded", so that the
 * page reconnects, finds the station changed and loads it again. */
int web_ws_reload(web *w);
/* Every WEB_WS_RECHECK_US: ends the live feed of WebSockets whose session
 * has ended (see ws.c). */
#define WEB_WS_RECHECK_US 1000000
void web_ws_sessions(web *w);
void web_frame_release(web_frame *f);
/* Committed alarm records: {"type":"alarm"} frames with the alarms they
 * changed (as web_alarm_json), to every client. */
void web_ws_alarms(web *w, const journal_rec *recs, size_t n);

/* ---- worker.c ---------------------------------------------------------- */
/* A job's work runs on the worker thread; it fills job->out (and may
 * stream chunks with web_job_emit).  The service thread sends the answer. */
typedef void (*web_job_fn)(web_job *job, void *arg);

struct web_job {
    web_job *next;
    web *w;
    web_pss *pss;              /* NULL once the connection is gone */
    web_job_fn fn;
    void *arg;
    void (*free_arg)(void *arg);
    /* results: */
    unsigned status;
    char headers[256];         /* extra response headers (Set-Cookie, ...) */
    strbuf out;                /* whole body, or the next stream chunks */
    bool streaming;            /* chunks, not one body */
    bool done;
    atomic_bool cancelled;     /* the client went away: stop early */
    /* Service thread, once the job is done, instead of sending job->out:
     * the continuation answers (or not yet); wsi and pss are NULL when
     * the client went away, and it runs all the same. */
    void (*then)(web_job *job, struct lws *wsi, web_pss *pss);
};

/* name: the thread's, for top -H ("web-worker", "web-login"). */
web_worker *web_worker_new(web *w, const char *name);
void web_worker_free(web_worker *k);
/* Queues a job; -1 when the queue is full (answer 503).  Takes arg. */
int web_worker_submit(web_worker *k, struct lws *wsi, web_pss *pss,
                      web_job_fn fn, void *arg, void (*free_arg)(void *));
/* As web_worker_submit, with a continuation on the service thread. */
int web_worker_submit_then(web_worker *k, struct lws *wsi, web_pss *pss,
                           web_job_fn fn, void *arg,
                           void (*free_arg)(void *),
                           void (*then)(web_job *, struct lws *, web_pss *));
/* Worker thread: appends streamed bytes, waiting while the client is
 * behind by more than a bound.  False when the client went away. */
bool web_job_emit(web_job *job, const char *data, size_t len);
/* Service thread: moves what the worker produced onto the connections. */
void web_worker_collect(web_worker *k);
/* Service thread: the connection closed; the job keeps running to its end
 * but its output is dropped. */
void web_worker_detach(web_worker *k, web_job *job);
/* Service thread: takes up to max streamed bytes into dst; sets *eof when
 * the job is finished and everything was taken. */
size_t web_worker_take(web_worker *k, web_job *job, strbuf *dst, size_t max,
                       bool *eof);

#endif
