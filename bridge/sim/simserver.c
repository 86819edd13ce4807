/*
 * simserver.c - one simulated PLC's Modbus TCP server (see simserver.h).
 *
 * The server thread loops over poll(): accept, read one request per ready
 * client with modbus_receive(), then answer according to the current fault.
 * A client with a delayed (`slow`) answer pending, or an answer being
 * trickled out a byte at a time (`trickle`), is not read from until the
 * answer is sent, like a PLC that handles one request per connection at a
 * time; the server thread never sleeps for it (poll()'s timeout is the
 * next due time), so other clients and other PLCs carry on meanwhile.
 *
 * Frame layout used when crafting malformed answers (Modbus Messaging on
 * TCP/IP Implementation Guide v1.0b, 3.1.3): MBAP header of 7 bytes
 * (transaction id, protocol id 0, length of what follows, unit id), then the
 * PDU (function code, byte count, data; Modbus Application Protocol v1.1b3,
 * 6.1-6.4).
 *
 * Hot path: no allocation and no logging per request; counters are relaxed
 * atomics so that stats can be read from the control thread.
 */
#include "simserver.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"

/* MBAP header length, and offsets in a TCP ADU (Implementation Guide
 * 3.1.3). */
#define MBAP_LEN 7
#define OFF_UNIT 6
#define OFF_FC 7

/* Read quantities allowed per request (Application Protocol 6.1-6.4). */
#define MAX_READ_BITS 2000
#define MAX_READ_REGS 125

/* Byte timeout while reading the rest of a frame whose first bytes arrived:
 * a client that stalls mid-frame holds only this PLC, and briefly. */
#define BYTE_TIMEOUT_US 200000

/* Bytes of a trickled answer sent at once: the MBAP header and the
 * function code, so a client has a plausible start of a reply. */
#define TRICKLE_FIRST 8

typedef struct {
    int fd;                               /* -1: free slot */
    bool pending;                         /* a slow answer is due */
    uint64_t due_ns;                      /* slow answer, or next trickle */
    int req_len;
    uint8_t req[MODBUS_TCP_MAX_ADU_LENGTH];
    bool trickling;                       /* tr[tr_off..tr_len) still due */
    uint64_t trickle_ns;                  /* between two trickled bytes */
    size_t tr_len, tr_off;
    uint8_t tr[MODBUS_TCP_MAX_ADU_LENGTH + 8];
} client;

struct simsrv {
    modbus_t *ctx;                /* server thread only, after start */
    modbus_mapping_t *map;        /* guarded by mu */
    int unit;
    char host[64];
    int port;
    int listen_fd;                /* -1 while refusing */
    int wake_fd;                  /* eventfd: stop or fault change */
    client clients[SIMSRV_MAX_CLIENTS];
    uint64_t rng;                 /* garbage bytes; server thread only */

    pthread_mutex_t mu;           /* map, fault, gen, applied, apply_err */
    pthread_cond_t applied_cv;
    simsrv_fault fault;
    uint64_t gen, applied;        /* fault changes requested / applied */
    char apply_err[128];

    atomic_bool stop;
    bool started;
    pthread_t thread;

    _Atomic uint64_t n_requests, n_responses, n_connections;
    _Atomic uint64_t n_fc[128];
};

static uint64_t rng_next(uint64_t *s)
{
    /* xorshift64*: enough for garbage bytes, and repeatable with --seed. */
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static void count(_Atomic uint64_t *c)
{
    atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

static int do_listen(simsrv *s, char *err, size_t errlen)
{
    int fd = modbus_tcp_listen(s->ctx, 64);
    if (fd < 0) {
        snprintf(err, errlen, "cannot listen on %s:%d: %s", s->host, s->port,
                 modbus_strerror(errno));
        return -1;
    }
    if (fd >= FD_SETSIZE) {
        close(fd);
        snprintf(err, errlen, "cannot listen on %s:%d: descriptor %d is "
                 "above FD_SETSIZE", s->host, s->port, fd);
        return -1;
    }
    s->listen_fd = fd;
    return 0;
}

simsrv *simsrv_new(const char *host, int port, int unit,
                   const simsrv_sizes *sz, uint64_t seed,
                   char *err, size_t errlen)
{
    simsrv *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->listen_fd = -1;
    s->wake_fd = -1;
    s->unit = unit;
    s->port = port;
    snprintf(s->host, sizeof s->host, "%s", host);
    for (int i = 0; i < SIMSRV_MAX_CLIENTS; i++)
        s->clients[i].fd = -1;
    s->rng = seed ? seed : 0x9E3779B97F4A7C15ULL;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->applied_cv, NULL);

    s->ctx = modbus_new_tcp(host, port);
    if (!s->ctx) {
        snprintf(err, errlen, "cannot serve %s:%d: %s", host, port,
                 modbus_strerror(errno));
        goto fail;
    }
    modbus_set_byte_timeout(s->ctx, 0, BYTE_TIMEOUT_US);
    s->map = modbus_mapping_new(sz->bits, sz->input_bits, sz->registers,
                                sz->input_registers);
    if (!s->map) {
        snprintf(err, errlen, "cannot allocate registers: %s",
                 modbus_strerror(errno));
        goto fail;
    }
    s->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (s->wake_fd < 0) {
        snprintf(err, errlen, "eventfd: %s", strerror(errno));
        goto fail;
    }
    if (do_listen(s, err, errlen) < 0)
        goto fail;
    return s;
fail:
    simsrv_free(s);
    return NULL;
}

static void wake(simsrv *s)
{
    uint64_t one = 1;
    /* EAGAIN means a wake-up is already pending, which is as good. */
    if (write(s->wake_fd, &one, sizeof one) < 0 && errno != EAGAIN)
        return;
}

static void close_client(client *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->pending = false;
    c->trickling = false;
}

static void close_all(simsrv *s)
{
    for (int i = 0; i < SIMSRV_MAX_CLIENTS; i++)
        close_client(&s->clients[i]);
    if (s->listen_fd >= 0)
        close(s->listen_fd);
    s->listen_fd = -1;
}

void simsrv_free(simsrv *s)
{
    if (!s)
        return;
    if (s->started) {
        atomic_store(&s->stop, true);
        wake(s);
        pthread_join(s->thread, NULL);
    }
    close_all(s);
    if (s->wake_fd >= 0)
        close(s->wake_fd);
    if (s->ctx) {
        /* The context only ever borrowed our sockets. */
        modbus_set_socket(s->ctx, -1);
        modbus_free(s->ctx);
    }
    if (s->map)
        modbus_mapping_free(s->map);
    pthread_cond_destroy(&s->applied_cv);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

modbus_mapping_t *simsrv_lock(simsrv *s)
{
    pthread_mutex_lock(&s->mu);
    return s->map;
}

void simsrv_unlock(simsrv *s)
{
    pthread_mutex_unlock(&s->mu);
}

void simsrv_get_stats(simsrv *s, simsrv_stats *out)
{
    out->requests = atomic_load_explicit(&s->n_requests, memory_order_relaxed);
    out->responses =
        atomic_load_explicit(&s->n_responses, memory_order_relaxed);
    out->connections =
        atomic_load_explicit(&s->n_connections, memory_order_relaxed);
    for (int i = 0; i < 128; i++)
        out->fc[i] = atomic_load_explicit(&s->n_fc[i], memory_order_relaxed);
}

int simsrv_fault_parse(const char *kind, const char *arg, simsrv_fault *out,
                       char *err, size_t errlen)
{
    static const struct {
        const char *name;
        simsrv_fault_kind kind;
    } kinds[] = {
        {"none", SIMSRV_NONE},           {"refuse", SIMSRV_REFUSE},
        {"drop", SIMSRV_DROP},           {"silent", SIMSRV_SILENT},
        {"slow", SIMSRV_SLOW},           {"exception", SIMSRV_EXCEPTION},
        {"bad-length", SIMSRV_BAD_LENGTH}, {"bad-tid", SIMSRV_BAD_TID},
        {"garbage", SIMSRV_GARBAGE},     {"bad-mbap", SIMSRV_BAD_MBAP},
        {"bad-proto", SIMSRV_BAD_PROTO}, {"bad-unit", SIMSRV_BAD_UNIT},
        {"trickle", SIMSRV_TRICKLE},
    };
    size_t i;
    for (i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (strcmp(kind, kinds[i].name) == 0)
            break;
    if (i == sizeof kinds / sizeof kinds[0]) {
        snprintf(err, errlen, "unknown fault '%s' (none refuse drop silent "
                 "slow exception bad-length bad-tid garbage bad-mbap "
                 "bad-proto bad-unit trickle)", kind);
        return -1;
    }
    out->kind = kinds[i].kind;
    out->arg = 0;
    bool ms_arg = out->kind == SIMSRV_SLOW || out->kind == SIMSRV_TRICKLE;
    bool wants_arg = ms_arg || out->kind == SIMSRV_EXCEPTION;
    if (!wants_arg) {
        if (arg) {
            snprintf(err, errlen, "fault %s takes no argument", kind);
            return -1;
        }
        return 0;
    }
    if (!arg) {
        snprintf(err, errlen, "fault %s needs %s", kind,
                 ms_arg ? "milliseconds" : "a code 1..11");
        return -1;
    }
    char *end;
    errno = 0;
    long v = strtol(arg, &end, 10);
    /* trickle 0 would be a normal answer in pieces: at least 1 ms. */
    long lo = out->kind == SIMSRV_SLOW ? 0 : 1;
    long hi = ms_arg ? 600000 : 11;
    if (errno || end == arg || *end || v < lo || v > hi) {
        snprintf(err, errlen, "fault %s: '%s' is not an integer in %ld..%ld",
                 kind, arg, lo, hi);
        return -1;
    }
    out->arg = (int)v;
    return 0;
}

int simsrv_set_fault(simsrv *s, simsrv_fault f, char *err, size_t errlen)
{
    pthread_mutex_lock(&s->mu);
    s->fault = f;
    uint64_t g = ++s->gen;
    pthread_mutex_unlock(&s->mu);
    wake(s);

    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 5;
    int rc = 0;
    pthread_mutex_lock(&s->mu);
    while (s->applied < g && rc == 0)
        rc = pthread_cond_timedwait(&s->applied_cv, &s->mu, &until);
    if (s->applied < g) {
        snprintf(err, errlen, "server thread did not apply the fault");
        rc = -1;
    } else if (s->apply_err[0]) {
        snprintf(err, errlen, "%s", s->apply_err);
        rc = -1;
    } else {
        rc = 0;
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* Server thread: applies a fault change (closing or reopening the
 * listening socket) and tells the waiting simsrv_set_fault(). */
static void apply_fault(simsrv *s)
{
    pthread_mutex_lock(&s->mu);
    if (s->applied == s->gen) {
        pthread_mutex_unlock(&s->mu);
        return;
    }
    simsrv_fault f = s->fault;
    uint64_t g = s->gen;
    pthread_mutex_unlock(&s->mu);

    char err[128] = "";
    if (f.kind == SIMSRV_REFUSE)
        close_all(s);
    else if (s->listen_fd < 0)
        do_listen(s, err, sizeof err);

    pthread_mutex_lock(&s->mu);
    s->applied = g;
    snprintf(s->apply_err, sizeof s->apply_err, "%s", err);
    pthread_cond_broadcast(&s->applied_cv);
    pthread_mutex_unlock(&s->mu);
}

static void accept_client(simsrv *s)
{
    int fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0)
        return;
    count(&s->n_connections);
    if (fd >= FD_SETSIZE) {
        close(fd);
        return;
    }
    for (int i = 0; i < SIMSRV_MAX_CLIENTS; i++) {
        if (s->clients[i].fd < 0) {
            s->clients[i].fd = fd;
            s->clients[i].pending = false;
            s->clients[i].trickling = false;
            return;
        }
    }
    close(fd); /* over the cap: the client sees the connection closed */
}

static int send_all(int fd, const uint8_t *buf, size_t len)
{
    /* Client sockets are non-blocking: a client that does not read its
     * answers until the kernel buffer is full is dropped, never waited for
     * (we may be holding the register lock). */
    ssize_t n = send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
    return n == (ssize_t)len ? 0 : -1;
}

/* Builds the correct answer to a read request (FC 1..4) into rsp, with the
 * data one register (or one byte) short when `short_data`.  Caller holds
 * mu.  Returns the frame length. */
static int craft_read(simsrv *s, const uint8_t *req, int req_len,
                      uint8_t *rsp, bool short_data)
{
    int fc = req[OFF_FC];
    int addr = req_len >= 12 ? (req[8] << 8) | req[9] : 0;
    int qty = req_len >= 12 ? (req[10] << 8) | req[11] : 0;
    bool bits = fc == 1 || fc == 2;
    int table = fc == 1 ? s->map->nb_bits
              : fc == 2 ? s->map->nb_input_bits
              : fc == 3 ? s->map->nb_registers
                        : s->map->nb_input_registers;
    memcpy(rsp, req, MBAP_LEN); /* tid, protocol, (length), unit */
    int n = MBAP_LEN;
    int exc = 0;
    if (qty < 1 || qty > (bits ? MAX_READ_BITS : MAX_READ_REGS))
        exc = MODBUS_EXCEPTION_ILLEGAL_DATA_VALUE;
    else if (addr + qty > table)
        exc = MODBUS_EXCEPTION_ILLEGAL_DATA_ADDRESS;
    if (exc) {
        rsp[n++] = (uint8_t)(fc | 0x80);
        rsp[n++] = (uint8_t)exc;
    } else {
        rsp[n++] = (uint8_t)fc;
        int bc_pos = n++;
        if (bits) {
            const uint8_t *src = fc == 1 ? s->map->tab_bits
                                         : s->map->tab_input_bits;
            int nbytes = (qty + 7) / 8;
            memset(rsp + n, 0, (size_t)nbytes);
            for (int i = 0; i < qty; i++)
                if (src[addr + i])
                    rsp[n + i / 8] |= (uint8_t)(1u << (i % 8));
            /* One byte short, or one too many when there is only one. */
            if (short_data)
                nbytes += nbytes == 1 ? 1 : -1;
            n += nbytes;
            rsp[bc_pos] = (uint8_t)nbytes;
        } else {
            const uint16_t *src = fc == 3 ? s->map->tab_registers
                                          : s->map->tab_input_registers;
            int nregs = short_data ? qty - 1 : qty;
            for (int i = 0; i < nregs; i++) {
                rsp[n++] = (uint8_t)(src[addr + i] >> 8);
                rsp[n++] = (uint8_t)(src[addr + i] & 0xff);
            }
            rsp[bc_pos] = (uint8_t)(nregs * 2);
        }
    }
    /* MBAP length: unit id + PDU, consistent with what is sent, so that a
     * client framing by MBAP stays in step and sees only a bad PDU. */
    rsp[4] = (uint8_t)((n - 6) >> 8);
    rsp[5] = (uint8_t)((n - 6) & 0xff);
    return n;
}

/* Answers one request according to fault f; -1 if the client must go. */
static int answer(simsrv *s, client *c, const uint8_t *req, int req_len,
                  const simsrv_fault *f)
{
    int fc = req[OFF_FC];
    int rc;
    uint8_t rsp[MODBUS_TCP_MAX_ADU_LENGTH + 8];
    modbus_set_socket(s->ctx, c->fd);

    if (fc < 1 || fc > 4) {
        rc = modbus_reply_exception(s->ctx, req,
                                    MODBUS_EXCEPTION_ILLEGAL_FUNCTION);
    } else {
        switch (f->kind) {
        case SIMSRV_EXCEPTION:
            rc = modbus_reply_exception(s->ctx, req, (unsigned)f->arg);
            break;
        case SIMSRV_BAD_LENGTH:
        case SIMSRV_BAD_TID: {
            pthread_mutex_lock(&s->mu);
            int n = craft_read(s, req, req_len, rsp,
                               f->kind == SIMSRV_BAD_LENGTH);
            pthread_mutex_unlock(&s->mu);
            if (f->kind == SIMSRV_BAD_TID) {
                uint16_t tid = (uint16_t)(((req[0] << 8) | req[1]) + 1);
                rsp[0] = (uint8_t)(tid >> 8);
                rsp[1] = (uint8_t)(tid & 0xff);
            }
            rc = send_all(c->fd, rsp, (size_t)n);
            break;
        }
        case SIMSRV_BAD_MBAP:
        case SIMSRV_BAD_PROTO:
        case SIMSRV_BAD_UNIT: {
            pthread_mutex_lock(&s->mu);
            int n = craft_read(s, req, req_len, rsp, false);
            pthread_mutex_unlock(&s->mu);
            if (f->kind == SIMSRV_BAD_MBAP) {
                /* Announces 20 bytes that never come: a client framing
                 * by function code alone believes the reply. */
                unsigned len = ((unsigned)rsp[4] << 8 | rsp[5]) + 20;
                rsp[4] = (uint8_t)(len >> 8);
                rsp[5] = (uint8_t)(len & 0xff);
            } else if (f->kind == SIMSRV_BAD_PROTO) {
                rsp[2] = 0;
                rsp[3] = 1;
            } else {
                rsp[OFF_UNIT] = (uint8_t)(rsp[OFF_UNIT] + 1);
            }
            rc = send_all(c->fd, rsp, (size_t)n);
            break;
        }
        case SIMSRV_TRICKLE: {
            pthread_mutex_lock(&s->mu);
            int n = craft_read(s, req, req_len, c->tr, false);
            pthread_mutex_unlock(&s->mu);
            /* The first bytes now, the rest from server_main, one byte
             * per arg ms, without ever blocking the server thread. */
            size_t first = n < TRICKLE_FIRST ? (size_t)n : TRICKLE_FIRST;
            rc = send_all(c->fd, c->tr, first);
            c->tr_len = (size_t)n;
            c->tr_off = first;
            c->trickle_ns = (uint64_t)f->arg * 1000000ULL;
            c->due_ns = clk_mono_ns() + c->trickle_ns;
            c->trickling = rc == 0 && c->tr_off < c->tr_len;
            break;
        }
        case SIMSRV_GARBAGE: {
            int n = 1 + (int)(rng_next(&s->rng) % 64);
            for (int i = 0; i < n; i++)
                rsp[i] = (uint8_t)rng_next(&s->rng);
            /* Never a valid frame by chance: wrong transaction id and a
             * protocol id other than 0. */
            rsp[0] = req[0] ^ 0x80;
            if (n > 2)
                rsp[2] |= 0x80;
            rc = send_all(c->fd, rsp, (size_t)n);
            break;
        }
        default:
            pthread_mutex_lock(&s->mu);
            rc = modbus_reply(s->ctx, req, req_len, s->map);
            pthread_mutex_unlock(&s->mu);
            break;
        }
    }
    if (rc < 0)
        return -1;
    count(&s->n_responses);
    return 0;
}

/* Reads one request from a ready client and acts on it. */
static void serve_client(simsrv *s, client *c)
{
    modbus_set_socket(s->ctx, c->fd);
    int len = modbus_receive(s->ctx, c->req);
    if (len < 0) {              /* closed, reset, or a broken frame */
        close_client(c);
        return;
    }
    if (len < MBAP_LEN + 1)
        return;
    const uint8_t *req = c->req;
    /* libmodbus reads only the parts it knows for a function code; discard
     * the rest of the PDU that the MBAP length announces, so the next
     * request starts in step. */
    int announced = (req[4] << 8) | req[5];
    int extra = announced - (len - 6);
    uint8_t sink[MODBUS_TCP_MAX_ADU_LENGTH];
    if (extra > 0 && extra <= (int)sizeof sink)
        (void)recv(c->fd, sink, (size_t)extra, MSG_DONTWAIT);

    int fc = req[OFF_FC];
    count(&s->n_requests);
    count(&s->n_fc[fc < 128 ? fc : 0]);
    if (req[2] != 0 || req[3] != 0) { /* protocol id must be 0 (3.1.3) */
        close_client(c);
        return;
    }
    /* A gateway does not answer for units it does not have. */
    if (req[OFF_UNIT] != s->unit)
        return;

    pthread_mutex_lock(&s->mu);
    simsrv_fault f = s->fault;
    pthread_mutex_unlock(&s->mu);
    switch (f.kind) {
    case SIMSRV_DROP:
        close_client(c);
        return;
    case SIMSRV_SILENT:
        return;
    case SIMSRV_SLOW:
        c->pending = true;
        c->req_len = len;
        c->due_ns = clk_mono_ns() + (uint64_t)f.arg * 1000000ULL;
        return;
    default:
        if (answer(s, c, req, len, &f) < 0)
            close_client(c);
    }
}

static void *server_main(void *arg)
{
    simsrv *s = arg;
    struct pollfd pfd[2 + SIMSRV_MAX_CLIENTS];
    int slot[2 + SIMSRV_MAX_CLIENTS];

    while (!atomic_load(&s->stop)) {
        apply_fault(s);

        int n = 0;
        pfd[n] = (struct pollfd){.fd = s->wake_fd, .events = POLLIN};
        slot[n++] = -1;
        if (s->listen_fd >= 0) {
            pfd[n] = (struct pollfd){.fd = s->listen_fd, .events = POLLIN};
            slot[n++] = -2;
        }
        uint64_t now = clk_mono_ns();
        int64_t timeout_ms = -1;
        for (int i = 0; i < SIMSRV_MAX_CLIENTS; i++) {
            client *c = &s->clients[i];
            if (c->fd < 0)
                continue;
            if (c->pending || c->trickling) {
                int64_t ms = c->due_ns > now
                    ? (int64_t)((c->due_ns - now + 999999) / 1000000) : 0;
                if (timeout_ms < 0 || ms < timeout_ms)
                    timeout_ms = ms;
                continue;
            }
            pfd[n] = (struct pollfd){.fd = c->fd, .events = POLLIN};
            slot[n++] = i;
        }

        int rc = poll(pfd, (nfds_t)n, (int)timeout_ms);
        if (rc < 0 && errno != EINTR)
            break;

        for (int k = 0; rc > 0 && k < n; k++) {
            if (!pfd[k].revents)
                continue;
            if (slot[k] == -1) {
                uint64_t v;
                while (read(s->wake_fd, &v, sizeof v) > 0)
                    ;
            } else if (slot[k] == -2) {
                if (s->listen_fd >= 0)
                    accept_client(s);
            } else if (s->clients[slot[k]].fd == pfd[k].fd) {
                serve_client(s, &s->clients[slot[k]]);
            }
        }

        /* Delayed answers that are due; the fault may have changed in the
         * meantime (slow cleared), and the answer goes out regardless. */
        now = clk_mono_ns();
        for (int i = 0; i < SIMSRV_MAX_CLIENTS; i++) {
            client *c = &s->clients[i];
            if (c->fd < 0 || !c->pending || c->due_ns > now)
                continue;
            c->pending = false;
            simsrv_fault normal = {SIMSRV_NONE, 0};
            if (answer(s, c, c->req, c->req_len, &normal) < 0)
                close_client(c);
        }
        /* Trickled bytes that are due, one each; a client that went away
         * (the bridge gave up on the reply) is closed on the failed send. */
        for (int i = 0; i < SIMSRV_MAX_CLIENTS; i++) {
            client *c = &s->clients[i];
            if (c->fd < 0 || !c->trickling || c->due_ns > now)
                continue;
            if (send_all(c->fd, c->tr + c->tr_off, 1) < 0) {
                close_client(c);
                continue;
            }
            c->tr_off++;
            c->due_ns = now + c->trickle_ns;
            c->trickling = c->tr_off < c->tr_len;
        }
    }
    return NULL;
}

int simsrv_start(simsrv *s)
{
    if (pthread_create(&s->thread, NULL, server_main, s) != 0)
        return -1;
    s->started = true;
    return 0;
}
