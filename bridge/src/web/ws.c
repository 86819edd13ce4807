/*
 * ws.c - the live WebSocket: snapshot, deltas, subscriptions, wall-screen
 * reports, and the broadcast that feeds them (a dispatch subscriber).
 *
 * Nothing is queued per client but a bitmap.  The subscriber marks every
 * tag that changed since the last frame tick in one station-wide bitmap.
 * Every 1/rate seconds the tick turns that into frames: a client that is
 * up to date (its previous frame written, nothing left over, subscribed to
 * everything) gets the one shared frame, encoded once for all of them; any
 * other client ORs the changes into its own dirty bitmap and gets a frame
 * of its own with the current values of exactly those tags.  A client
 * that falls behind therefore receives the state of what changed, not a
 * backlog, and memory does not grow with its lag (the kernel's send
 * buffer of each WebSocket is held to WEB_SNDBUF for the same reason).  A client whose frame
 * has waited for its socket longer than web.stuck_after is dropped and
 * counted.
 * The tick also sends a heartbeat frame to a client that has had nothing
 * for WEB_HEARTBEAT_NS, so a page knows the bridge is alive when the plant
 * is quiet.
 *
 * Frames (text, JSON): {"type":"snapshot"|"delta","time":T,"tags":[...]},
 * {"type":"heartbeat","time":T}; each tag object exactly as /api/tags.
 * The snapshot also carries "alarms": the list /api/alarms gives.
 *
 * Alarms.  After each batch of committed alarm records (alarms.c's board
 * listener) every client gets {"type":"alarm","time":T,"alarms":[...]}
 * with the alarms the batch changed, each as /api/alarms shows it (one
 * that went back to normal too, so that a page can drop it), at once, not
 * at the next tick: an alarm should not wait for a frame period.  The
 * same shared frame goes to every client whose socket is free; a client
 * still writing a frame has the alarms marked in a bitmap of its own and
 * gets a frame with their state as it is then as soon as its socket is
 * free, before any further delta.  As with tags: the state of what
 * changed, never a backlog.
 * Client messages: {"type":"subscribe","tags":[...]} (answered by a new
 * snapshot), {"type":"report","display":...} from wall screens, parsed
 * and checked by wsmsg.c (pure).  Anything else, a binary frame or a
 * message over ws_max_message bytes closes the connection with a close
 * code and a reason, and is counted.
 *
 * Sessions.  A WebSocket opened with a session cookie is asked about
 * again every WEB_WS_RECHECK_US (auth_session_peek: looking is no use of
 * the session, so an open page alone does not hold off session_idle).
 * Once the session has ended (logout, expiry, the user or the kiosk
 * token deleted, a password reset) the connection goes on as anonymous
 * if anonymous viewers may read, and is otherwise closed with 1008 and
 * the reason "session ended: log in again": a revoked wall screen or a
 * logged-out browser does not keep the live feed.
 */
#include "web/internal.h"

#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/tagfmt.h"
#include "web/wsmsg.h"

#define WEB_HEARTBEAT_NS 2000000000ull
#define WEB_DISPLAYS_MAX 256

struct web_frame {
    int refs;
    strbuf sb;                      /* LWS_PRE headroom, then the JSON */
    size_t n_tags;
};

struct web_client {
    web_client *next, *prev;
    struct lws *wsi;
    uint8_t *dirty;                 /* tags to send in the next own frame */
    uint8_t *alarm_dirty;           /* alarms to send in an alarm frame */
    bool has_alarm_dirty;
    uint8_t *mask;                  /* subscription; NULL: everything */
    bool has_dirty;
    bool snapshot_due;
    web_frame *frame;               /* waiting for the socket */
    uint64_t frame_since;           /* monotonic */
    uint64_t last_sent;
    strbuf rx;                      /* a message being reassembled */
    web_display *display;
    char peer[64];
    char user_agent[129];
    char sid[AUTH_SID_LEN + 1];     /* the session it was opened with, or
                                       "" (anonymous) */
    bool ended;                     /* that session ended: close */
    bool reloaded;                  /* the station was reloaded: close */
};

static inline bool bit_get(const uint8_t *b, size_t i)
{
    return b[i / 8] & (1u << (i % 8));
}

static inline void bit_set(uint8_t *b, size_t i)
{
    b[i / 8] |= (uint8_t)(1u << (i % 8));
}

static size_t web_bits_bytes(const web *w) { return (w->n_tags + 7) / 8 + 1; }

/* ---- frames ------------------------------------------------------------ */

static web_frame *web_frame_new(void)
{
    web_frame *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->refs = 1;
    sb_init(&f->sb, LWS_PRE);
    return f;
}

void web_frame_release(web_frame *f)
{
    if (f && --f->refs == 0) {
        sb_free(&f->sb);
        free(f);
    }
}

static void web_frame_head(web_frame *f, const char *type)
{
    char when[32];
    clk_format_rfc3339(clk_real_ns(), when, sizeof when);
    sb_printf(&f->sb, "{\"type\":\"%s\",\"time\":\"%s\"", type, when);
}

/* The end of every frame's encoding: counted, and NULL (the frame
 * released) when the buffer ran out of memory on the way. */
static web_frame *web_frame_done(web *w, web_frame *f)
{
    w->stats.frames_encoded++;
    if (f->sb.failed) {
        web_frame_release(f);
        return NULL;
    }
    return f;
}

/* type "snapshot"/"delta" with the tags in list (n) or, when list is
 * NULL, every tag whose bit is set in bits. */
static web_frame *web_frame_tags(web *w, const char *type,
                                 const uint32_t *list, size_t n,
                                 const uint8_t *bits)
{
    web_frame *f = web_frame_new();
    if (!f)
        return NULL;
    web_frame_head(f, type);
    sb_puts(&f->sb, ",\"tags\":[");
    size_t total = list ? n : w->n_tags;
    for (size_t i = 0; i < total; i++) {
        uint32_t idx = list ? list[i] : (uint32_t)i;
        if (!list && bits && !bit_get(bits, idx))
            continue;
        if (!tag_store_plc(w->ts, idx)->enabled)
            continue;
        val_sample s;
        tag_store_get(w->ts, idx, &s);
        if (f->n_tags)
            sb_putc(&f->sb, ',');
        tagfmt_json(&f->sb, tag_store_tag(w->ts, idx), &s);
        f->n_tags++;
    }
    sb_putc(&f->sb, ']');
    if (w->src.alarms && strcmp(type, "snapshot") == 0) {
        sb_puts(&f->sb, ",\"alarms\":");
        web_alarm_list_json(w, &f->sb);
    }
    sb_putc(&f->sb, '}');
    return web_frame_done(w, f);
}

static web_frame *web_frame_heartbeat(web *w)
{
    web_frame *f = web_frame_new();
    if (!f)
        return NULL;
    web_frame_head(f, "heartbeat");
    sb_putc(&f->sb, '}');
    return web_frame_done(w, f);
}

/* {"type":"alarm"} with the alarms in list (n) or, when list is NULL,
 * those whose bit is set in bits. */
static web_frame *web_frame_alarms(web *w, const uint32_t *list, size_t n,
                                   const uint8_t *bits)
{
    web_frame *f = web_frame_new();
    if (!f)
        return NULL;
    web_frame_head(f, "alarm");
    sb_puts(&f->sb, ",\"alarms\":[");
    size_t total = list ? n : w->n_alarms, k = 0;
    for (size_t i = 0; i < total; i++) {
        uint32_t idx = list ? list[i] : (uint32_t)i;
        if (!list && !bit_get(bits, idx))
            continue;
        if (k++)
            sb_putc(&f->sb, ',');
        web_alarm_json(w, &f->sb, idx);
    }
    sb_puts(&f->sb, "]}");
    return web_frame_done(w, f);
}

static size_t web_alarm_bytes(const web *w) { return w->n_alarms / 8 + 1; }

/* Gives c its next frame and asks for the socket. */
static void web_client_send(web_client *c, web_frame *f)
{
    if (!f)
        return;
    c->frame = f;
    c->frame_since = clk_mono_ns();
    lws_callback_on_writable(c->wsi);
}

/* A snapshot of everything is the same bytes for every client that asks
 * while nothing changes: after a bridge restart every wall screen
 * reconnects within a second or two, and encoding (and holding) one
 * 100-200 KB snapshot per screen would be the largest spike the server
 * sees.  One is shared while no change has arrived and it is younger than
 * WEB_SNAP_REUSE_NS, so its "time" is still the bridge's present. */
#define WEB_SNAP_REUSE_NS 250000000ull

static web_frame *web_snapshot_all(web *w)
{
    uint64_t now = clk_mono_ns();
    if (w->snap_cache && w->snap_gen == w->change_gen &&
        now - w->snap_mono < WEB_SNAP_REUSE_NS) {
        w->snap_cache->refs++;
        return w->snap_cache;
    }
    web_frame_release(w->snap_cache);
    w->snap_cache = web_frame_tags(w, "snapshot", NULL, 0, NULL);
    if (!w->snap_cache)
        return NULL;
    w->snap_gen = w->change_gen;
    w->snap_mono = now;
    w->snap_cache->refs++;          /* one for the cache, one for c */
    return w->snap_cache;
}

/* c's own alarm frame: the alarms marked for it, as they are now. */
static void web_client_alarms(web *w, web_client *c)
{
    c->has_alarm_dirty = false;
    web_client_send(c, web_frame_alarms(w, NULL, 0, c->alarm_dirty));
    memset(c->alarm_dirty, 0, web_alarm_bytes(w));
}

static void web_client_snapshot(web *w, web_client *c)
{
    c->snapshot_due = false;
    c->has_dirty = false;
    memset(c->dirty, 0, web_bits_bytes(w));
    /* the snapshot carries the whole alarm list */
    c->has_alarm_dirty = false;
    if (c->alarm_dirty)
        memset(c->alarm_dirty, 0, web_alarm_bytes(w));
    web_client_send(c, c->mask ? web_frame_tags(w, "snapshot", NULL, 0,
                                                 c->mask)
                               : web_snapshot_all(w));
}

/* ---- the tick ---------------------------------------------------------- */

static void web_tick_cb(lws_sorted_usec_list_t *sul);

/* Ticks fall on deadlines a period apart, not a period after the last
 * tick ran: otherwise each tick's lateness (lws's wake-up, the encoding,
 * a busy machine) adds up, and clients got 9.5 frames a second instead of
 * 10 on a loaded machine, each value waiting that much longer.  A tick
 * more than half a period late moves the phase instead of being caught
 * up, so two ticks are never closer than half a period. */
static void web_tick_schedule(web *w)
{
    if (!w->clients || !w->ctx)
        return;
    uint64_t period = 1000000000ull / w->o.rate_hz;
    uint64_t now = clk_mono_ns();
    if (!w->tick_due || w->tick_due + period < now)
        w->tick_due = now + period;     /* first client, or after a pause */
    else
        w->tick_due += period;
    if (w->tick_due < now + period / 2)
        w->tick_due = now + period / 2;
    lws_sul_schedule(w->ctx, 0, &w->sul_frame, web_tick_cb,
                     (lws_usec_t)((w->tick_due - now) / 1000));
}

static void web_tick_cb(lws_sorted_usec_list_t *sul)
{
    web *w = lws_container_of(sul, web, sul_frame);
    uint64_t now = clk_mono_ns();
    web_frame *shared = NULL;
    for (web_client *c = w->clients; c; c = c->next) {
        if (c->reloaded || !c->dirty)
            continue;               /* closing (web_ws_reload) */
        if (c->frame) {
            /* Still waiting for its socket: collect, do not queue. */
            if (now - c->frame_since > w->o.stuck_ns) {
                w->stats.ws_dropped_stuck++;
                lws_close_reason(c->wsi, LWS_CLOSE_STATUS_POLICY_VIOLATION,
                                 (unsigned char *)"not reading", 11);
                lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK,
                                LWS_TO_KILL_ASYNC);
                continue;
            }
        }
        if (c->snapshot_due) {
            if (!c->frame)
                web_client_snapshot(w, c);
            continue;
        }
        /* alarms first; the tags then wait in its dirty bitmap */
        if (!c->frame && c->has_alarm_dirty)
            web_client_alarms(w, c);
        bool up_to_date = !c->frame && !c->has_dirty && !c->mask;
        if (w->n_changed && up_to_date) {
            if (!shared)
                shared = web_frame_tags(w, "delta", w->changed_list,
                                        w->n_changed, NULL);
            if (shared) {
                shared->refs++;
                web_client_send(c, shared);
            }
            continue;
        }
        for (size_t i = 0; i < w->n_changed; i++) {
            uint32_t idx = w->changed_list[i];
            if (!c->mask || bit_get(c->mask, idx)) {
                bit_set(c->dirty, idx);
                c->has_dirty = true;
            }
        }
        if (!c->frame && c->has_dirty) {
            web_client_send(c, web_frame_tags(w, "delta", NULL, 0, c->dirty));
            memset(c->dirty, 0, web_bits_bytes(w));
            c->has_dirty = false;
        } else if (!c->frame && now - c->last_sent >= WEB_HEARTBEAT_NS) {
            web_client_send(c, web_frame_heartbeat(w));
        }
    }
    web_frame_release(shared);
    for (size_t i = 0; i < w->n_changed; i++) {
        uint32_t idx = w->changed_list[i];
        w->changed[idx / 8] &= (uint8_t)~(1u << (idx % 8));
    }
    w->n_changed = 0;
    web_tick_schedule(w);
}

/* The dispatch subscriber: consumer thread, in change order. */
static void web_on_changes(void *ctx, const tag_change *ch, size_t n)
{
    web *w = ctx;
    w->change_gen++;
    if (!w->clients)
        return;             /* nobody to tell: the next snapshot has it */
    for (size_t i = 0; i < n; i++) {
        uint32_t idx = ch[i].tag;
        if (idx >= w->n_tags || bit_get(w->changed, idx))
            continue;
        bit_set(w->changed, idx);
        w->changed_list[w->n_changed++] = idx;
    }
}

void web_ws_alarms(web *w, const journal_rec *recs, size_t n)
{
    /* the snapshot (and its cache) carries the alarm list */
    w->change_gen++;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t idx = recs[i].alarm;
        if (idx >= w->n_alarms || bit_get(w->alarm_changed, idx))
            continue;
        bit_set(w->alarm_changed, idx);
        w->alarm_changed_list[k++] = idx;
    }
    web_frame *shared = NULL;
    for (web_client *c = w->clients; c && k; c = c->next) {
        if (c->snapshot_due || c->ended || c->reloaded || !c->alarm_dirty)
            continue;
        if (!c->frame && !c->has_alarm_dirty) {
            if (!shared)
                shared = web_frame_alarms(w, w->alarm_changed_list, k, NULL);
            if (shared) {
                shared->refs++;
                web_client_send(c, shared);
            }
            continue;
        }
        for (size_t i = 0; i < k; i++)
            bit_set(c->alarm_dirty, w->alarm_changed_list[i]);
        c->has_alarm_dirty = true;
    }
    web_frame_release(shared);
    for (size_t i = 0; i < k; i++) {
        uint32_t idx = w->alarm_changed_list[i];
        w->alarm_changed[idx / 8] &= (uint8_t)~(1u << (idx % 8));
    }
}

int web_ws_subscribe_dispatch(web *w)
{
    return dispatch_subscribe(w->d, "websocket", web_on_changes, w);
}

/* ---- client messages --------------------------------------------------- */

static int web_ws_refuse(web *w, struct lws *wsi, enum lws_close_status code,
                         const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int web_ws_refuse(web *w, struct lws *wsi, enum lws_close_status code,
                         const char *fmt, ...)
{
    char reason[120];   /* a close frame's reason is at most 123 bytes */
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    if ((size_t)n >= sizeof reason)
        n = sizeof reason - 1;
    w->stats.ws_malformed++;
    lws_close_reason(wsi, code, (unsigned char *)reason, (size_t)n);
    return -1;
}

static web_display *web_display_get(web *w, const char *name)
{
    size_t n = 0;
    for (web_display *d = w->displays; d; d = d->next, n++)
        if (strcmp(d->name, name) == 0)
            return d;
    if (n >= WEB_DISPLAYS_MAX) {
        /* Forget the display that has been silent longest, if it is
         * offline; otherwise refuse. */
        web_display **oldest = NULL;
        for (web_display **pp = &w->displays; *pp; pp = &(*pp)->next)
            if (!(*pp)->online &&
                (!oldest || (*pp)->last_report_ns < (*oldest)->last_report_ns))
                oldest = pp;
        if (!oldest)
            return NULL;
        web_display *gone = *oldest;
        *oldest = gone->next;
        free(gone);
    }
    web_display *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    snprintf(d->name, sizeof d->name, "%s", name);
    d->next = w->displays;
    w->displays = d;
    return d;
}

/* What web_ws_parse read from a report, into the display it names. */
static int web_ws_report(web *w, web_client *c, const web_ws_msg *m)
{
    web_display *d = c->display;
    if (!d || strcmp(d->name, m->display) != 0) {
        if (d)
            d->online = false;
        d = c->display = web_display_get(w, m->display);
        if (!d)
            return web_ws_refuse(w, c->wsi, LWS_CLOSE_STATUS_POLICY_VIOLATION,
                                 "report: too many displays");
        d->connected_ns = clk_real_ns();
    }
    d->online = true;
    d->last_report_ns = clk_real_ns();
    snprintf(d->page, sizeof d->page, "%s", m->page);
    d->drawn_ns = m->drawn_ns;
    d->data_ns = m->data_ns;
    d->stale = m->stale;
    snprintf(d->address, sizeof d->address, "%s", c->peer);
    snprintf(d->user_agent, sizeof d->user_agent, "%s", c->user_agent);
    return 0;
}

/* The subscription web_ws_parse resolved (it takes m's mask), answered by
 * a snapshot. */
static int web_ws_subscribe(web *w, web_client *c, web_ws_msg *m)
{
    free(c->mask);
    c->mask = m->mask;
    m->mask = NULL;
    c->snapshot_due = true;
    if (!c->frame)
        web_client_snapshot(w, c);
    return 0;
}

_Static_assert(WEB_WS_CLOSE_POLICY == LWS_CLOSE_STATUS_POLICY_VIOLATION,
               "wsmsg.c's close code is lws's policy violation");

static int web_ws_message(web *w, web_client *c)
{
    web_ws_msg m;
    if (c->reloaded) {
        sb_reset(&c->rx);       /* of the old station: closing anyway */
        return 0;
    }
    int rc = web_ws_parse(w->st, w->ts, sb_data(&c->rx), c->rx.len,
                          clk_real_ns(), &m);
    sb_reset(&c->rx);
    if (rc < 0)
        return -1;
    if (rc > 0)
        return web_ws_refuse(w, c->wsi,
                             (enum lws_close_status)m.close_code, "%s",
                             m.reason);
    rc = m.kind == WEB_WS_SUBSCRIBE ? web_ws_subscribe(w, c, &m)
                                    : web_ws_report(w, c, &m);
    web_ws_msg_free(&m);
    return rc;
}

/* ---- connections ------------------------------------------------------- */

static void web_client_free(web *w, web_client *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else if (w->clients == c)
        w->clients = c->next;
    if (c->next)
        c->next->prev = c->prev;
    if (c->display)
        c->display->online = false;
    OPENSSL_cleanse(c->sid, sizeof c->sid);
    web_frame_release(c->frame);
    sb_free(&c->rx);
    free(c->dirty);
    free(c->alarm_dirty);
    free(c->mask);
    free(c);
    if (w->stats.ws_clients)
        w->stats.ws_clients--;
}

void web_ws_sessions(web *w)
{
    if (!w->auth)
        return;
    int64_t now = clk_real_ns();
    for (web_client *c = w->clients; c; c = c->next) {
        if (!c->sid[0] || c->ended ||
            auth_session_peek(w->auth, c->sid, now, NULL) == 0)
            continue;
        OPENSSL_cleanse(c->sid, sizeof c->sid);
        if (w->anonymous < AUTH_VIEWER) {
            c->ended = true;
            lws_callback_on_writable(c->wsi);
        }
    }
}

int web_ws_reload(web *w)
{
    web_frame_release(w->snap_cache);
    w->snap_cache = NULL;
    int rc = 0;
    for (web_client *c = w->clients; c; c = c->next) {
        /* nothing more for it: what it was sent is of the old station */
        web_frame_release(c->frame);
        c->frame = NULL;
        free(c->dirty);
        free(c->alarm_dirty);
        free(c->mask);
        c->mask = NULL;
        c->dirty = calloc(web_bits_bytes(w), 1);
        c->alarm_dirty = calloc(web_alarm_bytes(w), 1);
        if (!c->dirty || !c->alarm_dirty)
            rc = -1;
        c->has_dirty = c->has_alarm_dirty = c->snapshot_due = false;
        c->reloaded = true;
        lws_callback_on_writable(c->wsi);
    }
    return rc;
}

void web_ws_close_all(web *w)
{
    while (w->clients)
        web_client_free(w, w->clients);
    web_frame_release(w->snap_cache);
    w->snap_cache = NULL;
}

int web_ws_callback(web *w, struct lws *wsi, enum lws_callback_reasons reason,
                    web_pss *pss, void *in, size_t len)
{
    web_client *c = pss && pss->kind == WEB_PSS_WS ? pss->client : NULL;
    switch (reason) {
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION: {
        char uri[64] = "", origin[256] = "";
        lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI);
        if (strcmp(uri, "/ws") != 0) {
            lws_return_http_status(wsi, 404, "no WebSocket here: use /ws");
            return -1;
        }
        /* Browsers always send Origin with a WebSocket; a page of another
         * site must not read the plant through the operator's browser
         * (cross-site WebSocket hijacking).  Tools without a browser send
         * none and are let in, as they would be with curl. */
        if (lws_hdr_copy(wsi, origin, sizeof origin, WSI_TOKEN_ORIGIN) > 0 &&
            !web_origin_ok(w, wsi, origin)) {
            w->stats.ws_refused_origin++;
            lws_return_http_status(wsi, 403, "this Origin may not open the "
                                   "live feed (see web.origins)");
            return -1;
        }
        /* The live feed is a read: a session, or anonymous viewers. */
        if (web_role_of(w, wsi, NULL) < AUTH_VIEWER) {
            lws_return_http_status(wsi, 401, "log in first");
            return -1;
        }
        return 0;
    }
    case LWS_CALLBACK_ESTABLISHED: {
        if (!pss)
            return -1;
        memset(pss, 0, sizeof *pss);
        pss->kind = WEB_PSS_WS;
        c = calloc(1, sizeof *c);
        if (!c)
            return -1;
        c->dirty = calloc(web_bits_bytes(w), 1);
        c->alarm_dirty = calloc(web_alarm_bytes(w), 1);
        if (!c->dirty || !c->alarm_dirty) {
            free(c->dirty);
            free(c->alarm_dirty);
            free(c);
            return -1;
        }
        c->wsi = wsi;
        sb_init(&c->rx, 0);
        /* The kernel's own buffer would otherwise grow (autotuning, up to
         * megabytes on loopback) into exactly the backlog this module
         * avoids: keep it near one large frame. */
        int sndbuf = WEB_SNDBUF;
        setsockopt(lws_get_socket_fd(wsi), SOL_SOCKET, SO_SNDBUF, &sndbuf,
                   sizeof sndbuf);
        lws_get_peer_simple(wsi, c->peer, sizeof c->peer);
        lws_hdr_copy(wsi, c->user_agent, sizeof c->user_agent,
                     WSI_TOKEN_HTTP_USER_AGENT);
        if (w->auth && web_session_sid(wsi, c->sid) &&
            auth_session_peek(w->auth, c->sid, clk_real_ns(), NULL) < 0)
            OPENSSL_cleanse(c->sid, sizeof c->sid);   /* anonymous, then */
        c->next = w->clients;
        if (w->clients)
            w->clients->prev = c;
        bool first = !w->clients;
        w->clients = c;
        pss->client = c;
        w->stats.ws_clients++;
        w->stats.ws_accepted++;
        c->last_sent = clk_mono_ns();
        web_client_snapshot(w, c);
        if (first)
            web_tick_schedule(w);
        return 0;
    }
    case LWS_CALLBACK_RECEIVE:
        if (!c)
            return -1;
        if (lws_frame_is_binary(wsi))
            return web_ws_refuse(w, wsi, LWS_CLOSE_STATUS_UNACCEPTABLE_OPCODE,
                                 "binary frames are not part of the protocol");
        if (c->rx.len + len > w->o.ws_max_message)
            return web_ws_refuse(w, wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE,
                                 "message over %zu bytes",
                                 w->o.ws_max_message);
        sb_add(&c->rx, in, len);
        if (c->rx.failed)
            return -1;
        if (!lws_is_final_fragment(wsi) ||
            lws_remaining_packet_payload(wsi) > 0)
            return 0;
        return web_ws_message(w, c);

    case LWS_CALLBACK_SERVER_WRITEABLE: {
        if (!c)
            return 0;
        if (c->reloaded) {
            static const char why[] = "station reloaded";
            lws_close_reason(wsi, (enum lws_close_status)1012,
                             (unsigned char *)why, sizeof why - 1);
            return -1;
        }
        if (c->ended) {
            static const char why[] = "session ended: log in again";
            lws_close_reason(wsi, LWS_CLOSE_STATUS_POLICY_VIOLATION,
                             (unsigned char *)why, sizeof why - 1);
            return -1;
        }
        if (!c->frame) {
            if (c->snapshot_due)
                web_client_snapshot(w, c);
            else if (c->has_alarm_dirty)
                web_client_alarms(w, c);
            return 0;
        }
        web_frame *f = c->frame;
        c->frame = NULL;
        int n = lws_write(wsi, (unsigned char *)sb_data(&f->sb), f->sb.len,
                          LWS_WRITE_TEXT);
        w->stats.frames_sent++;
        w->stats.tag_updates_sent += f->n_tags;
        size_t want = f->sb.len;
        web_frame_release(f);
        if (n < (int)want)
            return -1;
        c->last_sent = clk_mono_ns();
        if (c->snapshot_due)
            web_client_snapshot(w, c);
        else if (c->has_alarm_dirty)
            web_client_alarms(w, c);
        return 0;
    }
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        return 0;
    case LWS_CALLBACK_CLOSED:
        if (c) {
            pss->client = NULL;
            web_client_free(w, c);
        }
        return 0;
    default:
        return 0;
    }
}
