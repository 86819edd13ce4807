/*
 * web.h - the dashboard's server: HTTP API, static files and the live
 * WebSocket, on the bridge's one consumer thread.
 *
 * libwebsockets runs on the thread that calls web_run(), which becomes the
 * consumer thread: the web module drives the dispatcher (core/dispatch.h)
 * from the lws event loop instead of dispatch_loop().  The tag store's
 * notify is lws_cancel_service(); LWS_CALLBACK_EVENT_WAIT_CANCELLED runs
 * what is due; an lws_sul timer wakes the loop for the dispatcher's next
 * deadline.  The WebSocket broadcast is a dispatch subscriber.  Nothing
 * here blocks: history queries and CSV exports run on a worker thread of
 * the web module's own (worker.h) and come back through
 * lws_cancel_service().  HTTP/1.1 only (no h2 ALPN).
 *
 * Endpoints (dashboard/README.md documents them with examples):
 *   GET /api/tags[?tags=]        the current samples, as `read --json`
 *   GET /api/station             the station, PLCs and tags (both languages)
 *   GET /api/history?tags=&from=&to=&points=   columnar trend data
 *   GET /api/export.csv?tags=&from=&to=        as `export --csv`
 *   GET /api/displays            wall screens and what they last drew
 *   GET /healthz                 PLC communication and writer state
 *   GET /metrics                 Prometheus text format (metrics.h)
 *   GET /api/alarms              the alarms not normal (as committed)
 *   GET /api/alarms/journal?from=&to=&id=&limit=   their transitions
 *   GET /api/alarms/kpi?from=&to=                  EEMUA 191 figures
 *   POST /api/alarms/{ack,shelve,unshelve,comment,reset,enable,disable}
 *   GET /, static files          the built dashboard (web root)
 *   WebSocket /ws                snapshot, deltas, alarms, subscribe,
 *                                reports
 */
#ifndef LB_WEB_H
#define LB_WEB_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "acquire/poller.h"
#include "alarm/board.h"
#include "auth/auth.h"
#include "config/plcmap.h"
#include "core/dispatch.h"
#include "core/strbuf.h"
#include "core/tagstore.h"
#include "record/history.h"
#include "record/influx.h"

typedef struct web web;
typedef struct acklink acklink;

typedef struct {
    const char *listen;          /* "127.0.0.1:8080", "[::1]:8080" */
    const char *root;            /* the built dashboard's directory */
    const char *const *origins;  /* Origins allowed besides our own */
    size_t n_origins;
    unsigned rate_hz;            /* frames per client per second (10) */
    size_t ws_max_message;       /* largest client message (16 KiB) */
    uint64_t stuck_ns;           /* a client that cannot take a frame for
                                    this long is dropped (30 s) */
    const char *tls_cert;        /* PEM certificate (chain): HTTPS + WSS */
    const char *tls_key;         /* PEM private key */
    bool insecure;               /* plain HTTP beyond loopback, on purpose */
    auth_role anonymous;         /* without a session: AUTH_VIEWER (read)
                                    or AUTH_NONE (log in first) */
    map_metrics_access metrics;  /* who may GET /metrics */
    const char *metrics_token;   /* its bearer token; NULL: none */
    const char *version;         /* for lockbridge_build_info */
    /* POST /api/reload (admin): the maps read again, on the service
     * thread; fills out with the JSON answer and why with a refusal's
     * one line, returns the HTTP status (200 applied, 422 refused).  NULL:
     * the endpoint answers 404. */
    unsigned (*reload)(void *ctx, const char *who, strbuf *out, char *why,
                       size_t whylen);
    void *reload_ctx;
} web_opts;

/* What the HTTP API reports on; any may be NULL.  All must outlive the
 * server.  pollers has one entry per PLC of the station. */
typedef struct {
    hist_db *hist;
    influx_writer *influx;
    poll_plc *const *pollers;
    const char *config;          /* the map file, for messages */
    auth *auth;                  /* NULL: nobody can log in */
    const char *state_dir;       /* data_dir: the audit log */
    board *alarms;               /* the alarms; NULL: none */
    const char *journal_path;    /* their journal, read by the worker */
    acklink *acklink;            /* acknowledge links; NULL: none */
    struct notify *notify;       /* notifications; NULL: none */
} web_sources;

typedef struct {
    uint64_t http_requests;
    uint64_t http_errors;        /* 4xx/5xx answers */
    uint64_t ws_clients;         /* connected now */
    uint64_t ws_accepted;        /* connections ever */
    uint64_t ws_refused_origin;
    uint64_t ws_malformed;       /* clients closed for a bad message */
    uint64_t ws_dropped_stuck;   /* clients dropped for not reading */
    uint64_t frames_sent;
    uint64_t frames_encoded;     /* distinct encodings (shared ones once) */
    uint64_t tag_updates_sent;   /* tag objects in frames sent */
} web_stats;

/* Binds the listening socket and prepares everything; the dispatcher gets
 * the WebSocket broadcast as a subscriber (call after the recorder has
 * subscribed).  NULL with a message in err ("web: 127.0.0.1:8080: Address
 * already in use"). */
web *web_new(const web_opts *o, const map_station *st, tag_store *ts,
             dispatch *d, const web_sources *src, char *err, size_t errlen);
/* Closes every connection, stops the worker, frees.  NULL: no-op. */
void web_free(web *w);

/* Runs the event loop on the calling thread until *stop is set and
 * web_wake() is called (or within 250 ms of *stop otherwise).  0, or -1. */
int web_run(web *w, const atomic_int *stop);

/* Wakes web_run; any thread. */
void web_wake(web *w);

/* The address actually bound ("127.0.0.1:8080"), and the scheme it
 * serves ("https" under TLS, else "http"). */
/* A reload (cli/reload.c), on the service thread outside the
 * dispatcher's run: the server shows st and ts from now on (the station
 * JSON rebuilt, the alarm tables sized for the new board), and every
 * WebSocket client is closed with 1012 "station reloaded": the page
 * reconnects, sees the station changed and loads it again, with a fresh
 * snapshot.  The old station and store must outlive the requests that
 * began with them (the worker's): cli keeps them until exit.  0, or -1
 * out of memory (the server then shows the new station in part). */
int web_set_station(web *w, const map_station *st, tag_store *ts,
                    poll_plc *const *pollers, board *alarms);

const char *web_address(const web *w);
const char *web_scheme(const web *w);

/* Consumer thread (or after web_run has returned). */
void web_get_stats(const web *w, web_stats *out);

#endif
