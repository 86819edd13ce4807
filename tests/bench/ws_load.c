/*
 * ws_load.c - the load client of ./run bench's web part (lb-ws-load).
 *
 *   lb-ws-load --port P [--clients N] [--seconds S] [--warmup W]
 *              [--pid PID] [--idle] [--record FILE] [--path /ws]
 *
 * One thread and one epoll set drive N non-blocking WebSocket clients
 * against 127.0.0.1:P: the RFC 6455 opening handshake (section 4.1, with
 * Sec-WebSocket-Accept checked, 4.2.2), then server frames read as they
 * come (section 5.2: 7-, 16- and 64-bit payload lengths, unmasked, text,
 * continuations reassembled), pings answered with pongs (5.5.2/5.5.3) and
 * a close answered with a close (5.5.1).
 *
 * Nothing is parsed as JSON.  A message's type is its first bytes
 * ({"type":"delta" ...); every "tag": counts one tag update; in a delta,
 * every "ts":"YYYY-MM-DDTHH:MM:SS.mmmZ" that follows a "tag": is turned
 * into a latency sample, receive wall time minus ts.  The bridge stamps
 * ts with the wall time of the Modbus response that produced the value,
 * so the sample is Modbus response -> this client's read() of the last
 * byte of the frame.  ts has millisecond resolution and is truncated, so
 * a sample is up to 1 ms too long.  Snapshot values are not sampled: their
 * ts is the age of the value, not a delivery delay.  A second histogram,
 * delivery, takes the delta's own "time" (when the server encoded it)
 * instead: the server's send path alone, without the wait for the next
 * frame tick, and the one latency a server replaying recorded frames
 * (ws_peer.mjs, which restamps "time") can be compared on.
 *
 * Phases: connect every client and wait for its first message (the
 * snapshot), then W seconds of warm-up, then the S-second window in
 * which everything is counted; --pid PID also reads that process's CPU
 * (main thread and whole process, /proc/PID/task/PID/stat and
 * /proc/PID/stat) over the same window, and its RSS at the end.  --idle
 * counts messages and bytes only (no scanning), for connection-cost runs.
 * --record FILE writes every snapshot and delta message received by the
 * first client, one per line, from its first message to the end of the
 * window (the server's JSON has no raw newlines).
 *
 * Prints one JSON object on stdout; progress and errors go to stderr.
 * Exit 1 if not every client connected.  This is a measuring tool, not
 * library code, so it prints.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define WL_MAX_CLIENTS 20000
#define WL_RX_INIT (64 * 1024)
#define WL_OUT_MAX 512            /* pending handshake/pong/close bytes */
#define WL_PING_MAX 125           /* control frame payload, RFC 6455 5.5 */
#define WL_HS_MAX 8192            /* response head we accept */
#define WL_HIST_US 100            /* latency histogram bucket width */
#define WL_HIST_N 100000          /* 10 s in 100 µs buckets, then overflow */
#define WL_CONNECT_LIMIT_S 60.0
#define WL_WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11" /* RFC 6455 1.3 */

enum wl_state { WL_CONNECTING, WL_HANDSHAKE, WL_OPEN, WL_DONE };

enum wl_err {
    WL_E_CONNECT,     /* connect() failed or was refused */
    WL_E_HANDSHAKE,   /* not 101, or a wrong Sec-WebSocket-Accept */
    WL_E_PROTOCOL,    /* a masked, reserved-bit or unknown frame */
    WL_E_CLOSED,      /* the server sent a close frame */
    WL_E_EOF,         /* the connection ended without a close frame */
    WL_E_IO,          /* read/write error (reset) */
    WL_E_N
};
static const char *const wl_err_names[WL_E_N] = {
    "connect", "handshake", "protocol", "closed_by_server", "eof", "io"};

/* Latency samples in WL_HIST_US buckets. */
typedef struct {
    uint64_t *b;
    uint64_t n, over, neg, max_us;
} wl_hist;

typedef struct {
    int fd;
    enum wl_state state;
    char accept[32];              /* the Sec-WebSocket-Accept we expect */
    uint8_t *rx;                  /* received, not yet consumed */
    size_t rx_off, rx_len, rx_cap;
    uint8_t *msg;                 /* a fragmented message being joined */
    size_t msg_len, msg_cap;
    bool in_msg;
    uint8_t out[WL_OUT_MAX];      /* bytes to write when the socket lets us */
    size_t out_len;
    bool want_out;
    bool got_first;               /* its first message (the snapshot) */
    uint64_t frames, tags, bytes; /* in the window */
    int close_code;
} wl_conn;

typedef struct {
    /* options */
    int port;
    long clients;
    double seconds, warmup;
    long pid;
    bool idle;
    const char *record;
    const char *path;
    /* state */
    int ep;
    wl_conn *c;
    long n_open, n_first, n_done;
    bool counting;
    FILE *rec;
    uint64_t now_real_us;         /* wall time of the current read() */
    /* window totals */
    uint64_t frames, tags, bytes;
    uint64_t by_type[4];          /* snapshot, delta, heartbeat, other */
    wl_hist lat;                  /* tag ts -> receipt */
    wl_hist delivery;             /* the frame's "time" -> receipt */
    uint64_t errors[WL_E_N];
    uint64_t close_codes[5];      /* 1000, 1001, 1008, 1009, other */
    /* ts parse cache: "YYYY-MM-DDTHH" and its epoch seconds */
    char ts_prefix[13];
    int64_t ts_base_s;
} wl;

static uint64_t wl_clock_us(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static double wl_cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/* utime + stime of a /proc stat file, seconds; -1 if unreadable. */
static double wl_proc_cpu_s(const char *path)
{
    char buf[1024];
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* The command name may hold spaces and parentheses: fields count
     * from the last ')'.  utime and stime are fields 14 and 15 (proc(5)),
     * the 12th and 13th after it. */
    char *p = strrchr(buf, ')');
    if (!p)
        return -1;
    p++;
    unsigned long long ut = 0, st = 0;
    for (int field = 3; field <= 15; field++) {
        char *end;
        while (*p == ' ')
            p++;
        unsigned long long v = strtoull(p, &end, 10);
        if (field >= 14 && end == p)
            return -1;
        if (field == 14)
            ut = v;
        if (field == 15)
            st = v;
        while (*end && *end != ' ')
            end++;
        p = end;
    }
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static long wl_status_kb(long pid, const char *key)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%ld/status", pid);
    FILE *f = fopen(path, "r");
    long kb = -1;
    size_t kl = strlen(key);
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, key, kl) == 0 && line[kl] == ':') {
            kb = strtol(line + kl + 1, NULL, 10);
            break;
        }
    }
    fclose(f);
    return kb;
}

/* ---- sending ------------------------------------------------------------ */

static void wl_error(wl *w, wl_conn *c, enum wl_err e);

static void wl_watch(wl *w, wl_conn *c, bool out)
{
    struct epoll_event ev = {.events = EPOLLIN | (out ? EPOLLOUT : 0),
                             .data.ptr = c};
    c->want_out = out;
    epoll_ctl(w->ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static void wl_flush(wl *w, wl_conn *c)
{
    while (c->out_len) {
        ssize_t n = send(c->fd, c->out, c->out_len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!c->want_out)
                wl_watch(w, c, true);
            return;
        }
        if (n < 0) {
            wl_error(w, c, WL_E_IO);
            return;
        }
        memmove(c->out, c->out + n, c->out_len - (size_t)n);
        c->out_len -= (size_t)n;
    }
    if (c->want_out && c->state != WL_CONNECTING)
        wl_watch(w, c, false);
}

/* Queues one masked client frame (RFC 6455 5.3: a client masks every
 * frame); payload at most WL_PING_MAX bytes. */
static void wl_send_frame(wl *w, wl_conn *c, int opcode, const uint8_t *p,
                          size_t n)
{
    if (c->out_len + 6 + n > sizeof c->out)
        return;   /* a peer flooding pings while we cannot write: skip */
    uint8_t *o = c->out + c->out_len;
    uint32_t r = (uint32_t)random();
    uint8_t mask[4] = {(uint8_t)r, (uint8_t)(r >> 8), (uint8_t)(r >> 16),
                       (uint8_t)(r >> 24)};
    o[0] = (uint8_t)(0x80 | opcode);
    o[1] = (uint8_t)(0x80 | n);
    memcpy(o + 2, mask, 4);
    for (size_t i = 0; i < n; i++)
        o[6 + i] = p[i] ^ mask[i % 4];
    c->out_len += 6 + n;
    wl_flush(w, c);
}

static void wl_close(wl *w, wl_conn *c)
{
    if (c->state == WL_DONE)
        return;
    if (c->state == WL_OPEN)
        w->n_open--;
    c->state = WL_DONE;
    w->n_done++;
    epoll_ctl(w->ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->fd = -1;
}

static void wl_error(wl *w, wl_conn *c, enum wl_err e)
{
    if (c->state == WL_DONE)
        return;     /* counted once, by whatever ended it first */
    w->errors[e]++;
    wl_close(w, c);
}

/* ---- the handshake (RFC 6455 4.1, 4.2.2) -------------------------------- */

static void wl_b64(const uint8_t *in, size_t n, char *out)
{
    EVP_EncodeBlock((unsigned char *)out, in, (int)n);
}

static void wl_start_handshake(wl *w, wl_conn *c)
{
    uint8_t nonce[16];
    char key[32], cat[80];
    unsigned char sha[EVP_MAX_MD_SIZE];
    unsigned int shalen = 0;
    for (size_t i = 0; i < sizeof nonce; i++)
        nonce[i] = (uint8_t)random();
    wl_b64(nonce, sizeof nonce, key);
    snprintf(cat, sizeof cat, "%s%s", key, WL_WS_GUID);
    EVP_Digest(cat, strlen(cat), sha, &shalen, EVP_sha1(), NULL);
    wl_b64(sha, shalen, c->accept);
    int n = snprintf((char *)c->out, sizeof c->out,
                     "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                     "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
                     "User-Agent: lb-ws-load\r\n\r\n",
                     w->path, w->port, key);
    c->out_len = (size_t)n;
    c->state = WL_HANDSHAKE;
    wl_flush(w, c);
}

/* 1 when the head is complete and good (rx then holds what follows), 0
 * when more is needed, -1 on a bad answer. */
static int wl_check_handshake(wl_conn *c)
{
    uint8_t *end = memmem(c->rx, c->rx_len, "\r\n\r\n", 4);
    if (!end)
        return c->rx_len > WL_HS_MAX ? -1 : 0;
    size_t head = (size_t)(end - c->rx) + 4;
    if (c->rx_len < 12 || memcmp(c->rx, "HTTP/1.1 101", 12) != 0)
        return -1;
    /* Header names are case-insensitive (RFC 7230 3.2). */
    const char *h = (const char *)c->rx;
    bool ok = false;
    for (const char *p = h; p < (const char *)end;) {
        const char *eol = memmem(p, (size_t)((const char *)end - p), "\r\n", 2);
        if (!eol)
            eol = (const char *)end;
        static const char name[] = "sec-websocket-accept:";
        size_t nl = sizeof name - 1;
        if ((size_t)(eol - p) > nl && strncasecmp(p, name, nl) == 0) {
            const char *v = p + nl;
            while (v < eol && (*v == ' ' || *v == '\t'))
                v++;
            size_t al = strlen(c->accept);
            ok = (size_t)(eol - v) >= al && memcmp(v, c->accept, al) == 0;
        }
        p = eol + 2;
    }
    if (!ok)
        return -1;
    c->rx_off = head;
    return 1;
}

/* ---- messages ----------------------------------------------------------- */

/* Epoch ms of "YYYY-MM-DDTHH:MM:SS.mmmZ" at p (24 bytes), -1 if not. */
static int64_t wl_parse_ts(wl *w, const uint8_t *p)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ";
    for (int i = 0; i < 24; i++) {
        if (shape[i] == 'd' ? (p[i] < '0' || p[i] > '9') : p[i] != shape[i])
            return -1;
    }
#define D2(i) ((p[i] - '0') * 10 + (p[(i) + 1] - '0'))
    if (memcmp(p, w->ts_prefix, 13) != 0) {
        struct tm tm = {0};
        tm.tm_year = D2(0) * 100 + D2(2) - 1900;
        tm.tm_mon = D2(5) - 1;
        tm.tm_mday = D2(8);
        tm.tm_hour = D2(11);
        w->ts_base_s = (int64_t)timegm(&tm);
        memcpy(w->ts_prefix, p, 13);
    }
    int64_t s = w->ts_base_s + D2(14) * 60 + D2(17);
    return s * 1000 + (p[20] - '0') * 100 + D2(21);
#undef D2
}

static void wl_sample(wl_hist *h, uint64_t now_us, int64_t ts_ms)
{
    int64_t d = (int64_t)now_us - ts_ms * 1000;
    if (d < 0) {
        h->neg++;
        d = 0;
    }
    uint64_t us = (uint64_t)d;
    if (us > h->max_us)
        h->max_us = us;
    size_t b = us / WL_HIST_US;
    if (b >= WL_HIST_N)
        h->over++;
    else
        h->b[b]++;
    h->n++;
}

static void wl_message(wl *w, wl_conn *c, const uint8_t *p, size_t n)
{
    static const char pre[] = "{\"type\":\"";
    int type = 3;
    if (n > sizeof pre && memcmp(p, pre, sizeof pre - 1) == 0) {
        switch (p[sizeof pre - 1]) {
        case 's': type = 0; break;
        case 'd': type = 1; break;
        case 'h': type = 2; break;
        }
    }
    bool first = !c->got_first;
    if (first) {
        c->got_first = true;
        w->n_first++;
    }
    if (w->rec && c == &w->c[0] && type < 2) {
        fwrite(p, 1, n, w->rec);
        fputc('\n', w->rec);
    }
    if (!w->counting)
        return;
    w->frames++;
    c->frames++;
    w->by_type[type]++;
    if (w->idle)
        return;
    /* The frame's own "time": when the server encoded it (the bridge) or
     * sent it (the peer, which restamps it): delivery alone. */
    static const char dpre[] = "{\"type\":\"delta\",\"time\":\"";
    if (type == 1 && n > sizeof dpre + 24 &&
        memcmp(p, dpre, sizeof dpre - 1) == 0) {
        int64_t ms = wl_parse_ts(w, p + sizeof dpre - 1);
        if (ms >= 0)
            wl_sample(&w->delivery, w->now_real_us, ms);
    }
    uint64_t tags = 0;
    const uint8_t *q = p, *end = p + n;
    for (;;) {
        const uint8_t *t = memmem(q, (size_t)(end - q), "\"tag\":", 6);
        if (!t)
            break;
        tags++;
        q = t + 6;
        if (type != 1)
            continue;
        const uint8_t *s = memmem(q, (size_t)(end - q), "\"ts\":\"", 6);
        if (!s || end - s < 6 + 24)
            continue;
        int64_t ms = wl_parse_ts(w, s + 6);
        if (ms >= 0)
            wl_sample(&w->lat, w->now_real_us, ms);
        q = s + 6 + 24;
    }
    w->tags += tags;
    c->tags += tags;
}

static void wl_close_code(wl *w, int code)
{
    switch (code) {
    case 1000: w->close_codes[0]++; break;
    case 1001: w->close_codes[1]++; break;
    case 1008: w->close_codes[2]++; break;
    case 1009: w->close_codes[3]++; break;
    default: w->close_codes[4]++; break;
    }
}

/* Consumes every complete frame in c->rx.  Returns false once c is
 * closed. */
static bool wl_frames(wl *w, wl_conn *c)
{
    for (;;) {
        uint8_t *p = c->rx + c->rx_off;
        size_t avail = c->rx_len - c->rx_off;
        if (avail < 2)
            break;
        int fin = p[0] & 0x80, rsv = p[0] & 0x70, op = p[0] & 0x0f;
        int masked = p[1] & 0x80;
        uint64_t len = p[1] & 0x7f;
        size_t hl = 2;
        if (len == 126) {
            if (avail < 4)
                break;
            len = (uint64_t)p[2] << 8 | p[3];
            hl = 4;
        } else if (len == 127) {
            if (avail < 10)
                break;
            len = 0;
            for (int i = 0; i < 8; i++)
                len = len << 8 | p[2 + i];
            hl = 10;
        }
        /* A server never masks (RFC 6455 5.1), no extension was agreed, so
         * no reserved bit may be set (5.2). */
        if (masked || rsv || len > (1ull << 31)) {
            wl_error(w, c, WL_E_PROTOCOL);
            return false;
        }
        if (avail < hl + len) {
            /* Make room for the whole frame, at the front. */
            if (c->rx_off) {
                memmove(c->rx, p, avail);
                c->rx_off = 0;
                c->rx_len = avail;
            }
            if (hl + len > c->rx_cap) {
                size_t cap = c->rx_cap;
                while (cap < hl + len)
                    cap *= 2;
                uint8_t *m = realloc(c->rx, cap);
                if (!m) {
                    wl_error(w, c, WL_E_IO);
                    return false;
                }
                c->rx = m;
                c->rx_cap = cap;
            }
            break;
        }
        const uint8_t *pl = p + hl;
        c->rx_off += hl + (size_t)len;
        if (w->counting) {
            w->bytes += hl + len;
            c->bytes += hl + len;
        }
        switch (op) {
        case 0x0: /* continuation */
        case 0x1: /* text */
        case 0x2: /* binary: not the protocol, but count it as other */
            if (op != 0 && c->in_msg) {
                wl_error(w, c, WL_E_PROTOCOL);
                return false;
            }
            if (op == 0 && !c->in_msg) {
                wl_error(w, c, WL_E_PROTOCOL);
                return false;
            }
            if (fin && !c->in_msg) {
                wl_message(w, c, pl, (size_t)len);
                break;
            }
            if (c->msg_len + len > c->msg_cap) {
                size_t cap = c->msg_cap ? c->msg_cap : WL_RX_INIT;
                while (cap < c->msg_len + len)
                    cap *= 2;
                uint8_t *m = realloc(c->msg, cap);
                if (!m) {
                    wl_error(w, c, WL_E_IO);
                    return false;
                }
                c->msg = m;
                c->msg_cap = cap;
            }
            memcpy(c->msg + c->msg_len, pl, (size_t)len);
            c->msg_len += (size_t)len;
            c->in_msg = !fin;
            if (fin) {
                wl_message(w, c, c->msg, c->msg_len);
                c->msg_len = 0;
            }
            break;
        case 0x8: { /* close: answer with its code, then we are done */
            int code = len >= 2 ? (pl[0] << 8 | pl[1]) : 1005;
            c->close_code = code;
            wl_close_code(w, code);
            fprintf(stderr, "lb-ws-load: server closed a client: %d %.*s\n",
                    code, len > 2 ? (int)(len - 2) : 0,
                    (const char *)pl + 2);
            wl_send_frame(w, c, 0x8, pl, len >= 2 ? 2 : 0);
            wl_error(w, c, WL_E_CLOSED);
            return false;
        }
        case 0x9: /* ping -> pong with the same payload */
            if (len > WL_PING_MAX) {
                wl_error(w, c, WL_E_PROTOCOL);
                return false;
            }
            wl_send_frame(w, c, 0xA, pl, (size_t)len);
            if (c->state == WL_DONE)
                return false;
            break;
        case 0xA: /* unsolicited pong: ignore (5.5.3) */
            break;
        default:
            wl_error(w, c, WL_E_PROTOCOL);
            return false;
        }
    }
    if (c->rx_off == c->rx_len)
        c->rx_off = c->rx_len = 0;
    return true;
}

static void wl_readable(wl *w, wl_conn *c)
{
    if (c->rx_len == c->rx_cap) {
        if (c->rx_off) {
            memmove(c->rx, c->rx + c->rx_off, c->rx_len - c->rx_off);
            c->rx_len -= c->rx_off;
            c->rx_off = 0;
        } else {
            size_t cap = c->rx_cap * 2;
            uint8_t *m = realloc(c->rx, cap);
            if (!m) {
                wl_error(w, c, WL_E_IO);
                return;
            }
            c->rx = m;
            c->rx_cap = cap;
        }
    }
    ssize_t n = recv(c->fd, c->rx + c->rx_len, c->rx_cap - c->rx_len, 0);
    if (n < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            wl_error(w, c, WL_E_IO);
        return;
    }
    if (n == 0) {
        wl_error(w, c, WL_E_EOF);
        return;
    }
    w->now_real_us = wl_clock_us(CLOCK_REALTIME);
    c->rx_len += (size_t)n;
    if (c->state == WL_HANDSHAKE) {
        int r = wl_check_handshake(c);
        if (r < 0) {
            fprintf(stderr, "lb-ws-load: handshake refused: %.*s\n",
                    (int)(c->rx_len < 80 ? c->rx_len : 80),
                    (const char *)c->rx);
            wl_error(w, c, WL_E_HANDSHAKE);
            return;
        }
        if (r == 0)
            return;
        c->state = WL_OPEN;
        w->n_open++;
    }
    wl_frames(w, c);
}

static void wl_event(wl *w, wl_conn *c, uint32_t ev)
{
    if (c->state == WL_CONNECTING) {
        int err = 0;
        socklen_t el = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
        if (err || (ev & (EPOLLERR | EPOLLHUP))) {
            wl_error(w, c, WL_E_CONNECT);
            return;
        }
        if (ev & EPOLLOUT)
            wl_start_handshake(w, c);
        return;
    }
    if (ev & EPOLLOUT)
        wl_flush(w, c);
    if (c->state != WL_DONE && (ev & (EPOLLIN | EPOLLERR | EPOLLHUP)))
        wl_readable(w, c);
}

static int wl_connect(wl *w, wl_conn *c)
{
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)w->port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        return -1;
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->rx_cap = WL_RX_INIT;
    c->rx = malloc(c->rx_cap);
    if (!c->rx)
        return -1;
    c->state = WL_CONNECTING;
    struct epoll_event ev = {.events = EPOLLOUT | EPOLLIN, .data.ptr = c};
    if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) < 0 &&
        errno != EINPROGRESS)
        return -1;
    c->want_out = true;
    return epoll_ctl(w->ep, EPOLL_CTL_ADD, c->fd, &ev);
}

/* Runs the event loop until mono time end_us (or, when until_all_first,
 * until every live client has had its first message). */
static void wl_loop(wl *w, uint64_t end_us, bool until_all_first)
{
    struct epoll_event evs[256];
    for (;;) {
        uint64_t now = wl_clock_us(CLOCK_MONOTONIC);
        if (now >= end_us)
            return;
        if (until_all_first && w->n_first + w->n_done >= w->clients)
            return;
        if (w->n_done >= w->clients)
            return;
        int ms = (int)((end_us - now + 999) / 1000);
        if (ms > 100)
            ms = 100;
        int n = epoll_wait(w->ep, evs, 256, ms);
        for (int i = 0; i < n; i++)
            wl_event(w, evs[i].data.ptr, evs[i].events);
    }
}

/* ---- report ------------------------------------------------------------- */

static void wl_json_num(const char *key, double v, bool comma)
{
    if (v < 0)
        printf("\"%s\":null%s", key, comma ? "," : "");
    else
        printf("\"%s\":%.3f%s", key, v, comma ? "," : "");
}

/* The q-quantile's bucket's upper edge (never above the maximum). */
static double wl_pct_ms(const wl_hist *h, double q)
{
    if (!h->n)
        return -1;
    uint64_t want = (uint64_t)(q * (double)h->n);
    if (want >= h->n)
        want = h->n - 1;
    uint64_t seen = 0, edge = h->max_us;
    for (size_t b = 0; b < WL_HIST_N; b++) {
        seen += h->b[b];
        if (seen > want) {
            edge = (b + 1) * WL_HIST_US;
            break;
        }
    }
    return (double)(edge < h->max_us ? edge : h->max_us) / 1000.0;
}

static void wl_hist_json(const char *key, const wl_hist *h)
{
    printf("\"%s\":{\"samples\":%" PRIu64 ",", key, h->n);
    wl_json_num("p50", wl_pct_ms(h, 0.50), true);
    wl_json_num("p90", wl_pct_ms(h, 0.90), true);
    wl_json_num("p99", wl_pct_ms(h, 0.99), true);
    wl_json_num("max", h->n ? (double)h->max_us / 1000.0 : -1, true);
    printf("\"over_10s\":%" PRIu64 ",\"negative\":%" PRIu64
           ",\"bucket_ms\":%.1f},",
           h->over, h->neg, WL_HIST_US / 1000.0);
}

static int wl_parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int wl_parse_secs(const char *s, double lo, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= 3600))
        return -1;
    *out = v;
    return 0;
}

static void wl_usage(void)
{
    fprintf(stderr,
            "usage: lb-ws-load --port P [--clients N] [--seconds S] "
            "[--warmup W]\n"
            "                  [--pid PID] [--idle] [--record FILE] "
            "[--path /ws]\n");
}

int main(int argc, char **argv)
{
    wl w = {.port = -1, .clients = 1, .seconds = 5, .warmup = 1,
            .pid = -1, .path = "/ws", .ep = -1};
    for (int i = 1; i < argc; i++) {
        const char *k = argv[i];
        if (strcmp(k, "--idle") == 0) {
            w.idle = true;
            continue;
        }
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        long l;
        int bad = 0;
        if (!v) {
            wl_usage();
            return 2;
        }
        if (strcmp(k, "--port") == 0) {
            bad = wl_parse_long(v, 1, 65535, &l);
            w.port = (int)l;
        } else if (strcmp(k, "--clients") == 0) {
            bad = wl_parse_long(v, 1, WL_MAX_CLIENTS, &w.clients);
        } else if (strcmp(k, "--pid") == 0) {
            bad = wl_parse_long(v, 1, 1L << 30, &w.pid);
        } else if (strcmp(k, "--seconds") == 0) {
            bad = wl_parse_secs(v, 0.1, &w.seconds);
        } else if (strcmp(k, "--warmup") == 0) {
            bad = wl_parse_secs(v, 0, &w.warmup);
        } else if (strcmp(k, "--record") == 0) {
            w.record = v;
        } else if (strcmp(k, "--path") == 0) {
            bad = v[0] != '/';
            w.path = v;
        } else {
            bad = -1;
        }
        if (bad) {
            fprintf(stderr, "lb-ws-load: bad option %s %s\n", k, v);
            wl_usage();
            return 2;
        }
        i++;
    }
    if (w.port < 0) {
        wl_usage();
        return 2;
    }
    /* A descriptor per client and a few more. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
        rl.rlim_cur < (rlim_t)w.clients + 64) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    srandom((unsigned)(wl_clock_us(CLOCK_REALTIME) ^ (uint64_t)getpid()));
    w.c = calloc((size_t)w.clients, sizeof *w.c);
    w.lat.b = calloc(WL_HIST_N, sizeof *w.lat.b);
    w.delivery.b = calloc(WL_HIST_N, sizeof *w.delivery.b);
    w.ep = epoll_create1(EPOLL_CLOEXEC);
    if (!w.c || !w.lat.b || !w.delivery.b || w.ep < 0) {
        fprintf(stderr, "lb-ws-load: out of memory or epoll: %s\n",
                strerror(errno));
        return 1;
    }
    if (w.record && !(w.rec = fopen(w.record, "w"))) {
        fprintf(stderr, "lb-ws-load: %s: %s\n", w.record, strerror(errno));
        return 1;
    }

    uint64_t t_conn = wl_clock_us(CLOCK_MONOTONIC);
    for (long i = 0; i < w.clients; i++) {
        w.c[i].fd = -1;
        if (wl_connect(&w, &w.c[i]) < 0) {
            if (w.c[i].fd >= 0) {
                close(w.c[i].fd);
                w.c[i].fd = -1;
            }
            w.c[i].state = WL_DONE;
            w.errors[WL_E_CONNECT]++;
            w.n_done++;
        }
        /* Let the event loop run between batches, so handshakes do not
         * all pile up on the server's listen queue at once. */
        if (i % 50 == 49)
            wl_loop(&w, wl_clock_us(CLOCK_MONOTONIC) + 2000, false);
    }
    wl_loop(&w, t_conn + (uint64_t)(WL_CONNECT_LIMIT_S * 1e6), true);
    double connect_s = (double)(wl_clock_us(CLOCK_MONOTONIC) - t_conn) / 1e6;
    long connected = w.n_first;
    fprintf(stderr, "lb-ws-load: %ld of %ld clients connected in %.2f s\n",
            connected, w.clients, connect_s);

    wl_loop(&w, wl_clock_us(CLOCK_MONOTONIC) + (uint64_t)(w.warmup * 1e6),
            false);

    char tpath[64], ppath[64];
    snprintf(tpath, sizeof tpath, "/proc/%ld/task/%ld/stat", w.pid, w.pid);
    snprintf(ppath, sizeof ppath, "/proc/%ld/stat", w.pid);
    double st0 = w.pid > 0 ? wl_proc_cpu_s(tpath) : -1;
    double sp0 = w.pid > 0 ? wl_proc_cpu_s(ppath) : -1;
    double cpu0 = wl_cpu_s();
    long open0 = w.n_open;
    uint64_t t0 = wl_clock_us(CLOCK_MONOTONIC);
    w.counting = true;
    wl_loop(&w, t0 + (uint64_t)(w.seconds * 1e6), false);
    w.counting = false;
    uint64_t t1 = wl_clock_us(CLOCK_MONOTONIC);
    double cpu1 = wl_cpu_s();
    double st1 = w.pid > 0 ? wl_proc_cpu_s(tpath) : -1;
    double sp1 = w.pid > 0 ? wl_proc_cpu_s(ppath) : -1;
    long rss = w.pid > 0 ? wl_status_kb(w.pid, "VmRSS") : -1;
    long hwm = w.pid > 0 ? wl_status_kb(w.pid, "VmHWM") : -1;
    long open1 = w.n_open;
    double secs = (double)(t1 - t0) / 1e6;

    uint64_t fmin = UINT64_MAX, fmax = 0, tmin = UINT64_MAX, tmax = 0;
    for (long i = 0; i < w.clients; i++) {
        wl_conn *c = &w.c[i];
        if (!c->got_first)
            continue;
        if (c->frames < fmin)
            fmin = c->frames;
        if (c->frames > fmax)
            fmax = c->frames;
        if (c->tags < tmin)
            tmin = c->tags;
        if (c->tags > tmax)
            tmax = c->tags;
    }
    if (fmin == UINT64_MAX)
        fmin = tmin = 0;
    /* Polite ends: a close frame (1000) each, then the socket. */
    for (long i = 0; i < w.clients; i++) {
        wl_conn *c = &w.c[i];
        if (c->state == WL_OPEN) {
            uint8_t code[2] = {0x03, 0xe8};
            wl_send_frame(&w, c, 0x8, code, 2);
        }
        wl_close(&w, c);
        free(c->rx);
        free(c->msg);
    }
    if (w.rec)
        fclose(w.rec);

    uint64_t errs = 0;
    for (int e = 0; e < WL_E_N; e++)
        errs += w.errors[e];
    printf("{\"clients\":%ld,\"connected\":%ld,\"open_at_start\":%ld,"
           "\"open_at_end\":%ld,\"connect_s\":%.3f,\"idle\":%s,"
           "\"seconds\":%.3f,",
           w.clients, connected, open0, open1, connect_s,
           w.idle ? "true" : "false", secs);
    printf("\"frames\":%" PRIu64 ",\"frames_per_s\":%.1f,"
           "\"frames_by_type\":{\"snapshot\":%" PRIu64 ",\"delta\":%" PRIu64
           ",\"heartbeat\":%" PRIu64 ",\"other\":%" PRIu64 "},",
           w.frames, (double)w.frames / secs, w.by_type[0], w.by_type[1],
           w.by_type[2], w.by_type[3]);
    if (w.idle)
        printf("\"tag_updates\":null,\"tag_updates_per_s\":null,");
    else
        printf("\"tag_updates\":%" PRIu64 ",\"tag_updates_per_s\":%.1f,",
               w.tags, (double)w.tags / secs);
    printf("\"bytes\":%" PRIu64 ",\"bytes_per_s\":%.1f,", w.bytes,
           (double)w.bytes / secs);
    wl_hist_json("latency_ms", &w.lat);
    wl_hist_json("delivery_ms", &w.delivery);
    printf("\"per_client_frames\":{\"min\":%" PRIu64 ",\"max\":%" PRIu64
           "},\"per_client_tag_updates\":{\"min\":%" PRIu64 ",\"max\":%"
           PRIu64 "},",
           fmin, fmax, tmin, tmax);
    printf("\"errors\":{");
    for (int e = 0; e < WL_E_N; e++)
        printf("\"%s\":%" PRIu64 ",", wl_err_names[e], w.errors[e]);
    printf("\"total\":%" PRIu64 "},", errs);
    printf("\"close_codes\":{\"1000\":%" PRIu64 ",\"1001\":%" PRIu64
           ",\"1008\":%" PRIu64 ",\"1009\":%" PRIu64 ",\"other\":%" PRIu64
           "},",
           w.close_codes[0], w.close_codes[1], w.close_codes[2],
           w.close_codes[3], w.close_codes[4]);
    printf("\"cpu_s\":%.3f,\"cpu_cores\":%.3f,", cpu1 - cpu0,
           (cpu1 - cpu0) / secs);
    if (w.pid > 0 && st0 >= 0 && st1 >= 0 && sp0 >= 0 && sp1 >= 0)
        printf("\"server\":{\"pid\":%ld,\"thread_cpu_s\":%.3f,"
               "\"thread_cores\":%.4f,\"process_cpu_s\":%.3f,"
               "\"process_cores\":%.4f,\"rss_kb\":%ld,\"hwm_kb\":%ld}}\n",
               w.pid, st1 - st0, (st1 - st0) / secs, sp1 - sp0,
               (sp1 - sp0) / secs, rss, hwm);
    else
        printf("\"server\":null}\n");
    free(w.c);
    free(w.lat.b);
    free(w.delivery.b);
    close(w.ep);
    return connected == w.clients ? 0 : 1;
}
