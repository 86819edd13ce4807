/*
 * mbtcp.c - Modbus TCP read transactions with one deadline (see mbtcp.h).
 *
 * Threads: a handle is used by its owner's thread only; the stop
 * descriptor is the one thing another thread touches (it writes to it).
 */
#include "acquire/mbtcp.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"

#define MBTCP_REQ_LEN 12     /* MBAP + fc + start (2) + quantity (2) */

_Static_assert(MBTCP_HEAD_LEN + MBTCP_MAX_REGS * 2 <= MBTCP_ADU_MAX,
               "a register reply fits the buffer");
_Static_assert(MBTCP_HEAD_LEN + (MBTCP_MAX_BITS + 7) / 8 <= MBTCP_ADU_MAX,
               "a bit reply fits the buffer");

struct mbtcp {
    char *host;
    char port[8];
    uint8_t unit;
    uint64_t timeout_ns;
    int stop_fd;              /* not owned; -1 for none */
    int fd;                   /* -1 when not connected */
    uint16_t tid;             /* the next request's transaction id */
    uint8_t exc;
    char err[160];
    uint8_t buf[MBTCP_ADU_MAX];
};

static void mbtcp_fail(mbtcp *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void mbtcp_fail(mbtcp *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, sizeof c->err, fmt, ap);
    va_end(ap);
}

/* "500 ms", "1.5 ms": the timeout as the map says it, near enough. */
static void mbtcp_ms(uint64_t ns, char *buf, size_t len)
{
    snprintf(buf, len, "%g ms", (double)ns / 1e6);
}

mbtcp *mbtcp_new(const char *host, int port, int unit, uint64_t timeout_ns,
                 int stop_fd)
{
    mbtcp *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->host = strdup(host);
    if (!c->host) {
        free(c);
        return NULL;
    }
    snprintf(c->port, sizeof c->port, "%d", port);
    c->unit = (uint8_t)unit;
    c->timeout_ns = timeout_ns;
    c->stop_fd = stop_fd;
    c->fd = -1;
    c->tid = 1;
    return c;
}

void mbtcp_close(mbtcp *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}

void mbtcp_free(mbtcp *c)
{
    if (!c)
        return;
    mbtcp_close(c);
    free(c->host);
    free(c);
}

bool mbtcp_connected(const mbtcp *c) { return c->fd >= 0; }
uint8_t mbtcp_exception(const mbtcp *c) { return c->exc; }
const char *mbtcp_error(const mbtcp *c) { return c->err; }
uint16_t mbtcp_next_tid(const mbtcp *c) { return c->tid; }

/* Waits until the socket has `events`, the deadline passes or the stop
 * descriptor is readable.  POLLERR/POLLHUP count as ready: the recv or
 * getsockopt that follows says what happened. */
static mbtcp_rc mbtcp_wait(mbtcp *c, short events, uint64_t deadline)
{
    struct pollfd pfd[2] = {
        {.fd = c->fd, .events = events},
        {.fd = c->stop_fd, .events = POLLIN},
    };
    nfds_t n = c->stop_fd >= 0 ? 2 : 1;
    for (;;) {
        uint64_t now = clk_mono_ns();
        if (now >= deadline)
            return MBTCP_TIMEOUT;
        uint64_t left = deadline - now;
        /* ppoll, not poll: a deadline in whole milliseconds would round
         * every request's bound. */
        struct timespec ts = {.tv_sec = (time_t)(left / 1000000000u),
                              .tv_nsec = (long)(left % 1000000000u)};
        int rc = ppoll(pfd, n, &ts, NULL);
        if (rc < 0) {
            if (errno == EINTR)
                continue;    /* the deadline is absolute: nothing to redo */
            return MBTCP_CONN;
        }
        if (n == 2 && pfd[1].revents)
            return MBTCP_STOPPED;
        if (rc > 0 && pfd[0].revents)
            return MBTCP_OK;
    }
}

static const char *mbtcp_strerror(int err, char *buf, size_t len)
{
    /* GNU strerror_r (_GNU_SOURCE): returns the text, maybe not in buf. */
    return strerror_r(err, buf, len);
}

mbtcp_rc mbtcp_connect(mbtcp *c)
{
    mbtcp_close(c);
    c->err[0] = 0;
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    int g = getaddrinfo(c->host, c->port, &hints, &res);
    if (g != 0) {
        char eb[96];
        mbtcp_fail(c, "cannot resolve '%s': %s", c->host,
                   g == EAI_SYSTEM ? mbtcp_strerror(errno, eb, sizeof eb)
                                   : gai_strerror(g));
        return MBTCP_CONN;
    }
    uint64_t deadline = clk_mono_ns() + c->timeout_ns;
    mbtcp_rc rc = MBTCP_CONN;
    int err = ECONNREFUSED;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK |
                        SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            err = errno;
            continue;
        }
        /* Requests are 12 bytes: Nagle would hold each one back. */
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
            c->fd = fd;
            rc = MBTCP_OK;
            break;
        }
        if (errno != EINPROGRESS && errno != EINTR) {
            err = errno;
            close(fd);
            continue;
        }
        c->fd = fd;
        rc = mbtcp_wait(c, POLLOUT, deadline);
        if (rc == MBTCP_OK) {
            int soerr = 0;
            socklen_t sl = sizeof soerr;
            if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
                soerr = errno;
            if (soerr == 0)
                break;
            err = soerr;
            rc = MBTCP_CONN;
        } else if (rc == MBTCP_CONN) {
            err = errno;
        }
        mbtcp_close(c);
        if (rc != MBTCP_CONN)
            break;      /* out of time, or told to stop: no next address */
    }
    freeaddrinfo(res);
    char tb[32], eb[96];
    switch (rc) {
    case MBTCP_OK:
        break;
    case MBTCP_TIMEOUT:
        mbtcp_ms(c->timeout_ns, tb, sizeof tb);
        mbtcp_fail(c, "no connection within %s", tb);
        break;
    case MBTCP_STOPPED:
        mbtcp_fail(c, "stopped");
        break;
    default:
        mbtcp_fail(c, "%s", mbtcp_strerror(err, eb, sizeof eb));
        break;
    }
    return rc;
}

/* Pure: see mbtcp.h.  The client calls it after every recv with what has
 * arrived so far; the fuzzer (tests/fuzz/modbus/) with arbitrary bytes. */
mbtcp_rc mbtcp_check_reply(const mbtcp_expect *x, const uint8_t *b,
                           size_t have, size_t *want, char *err,
                           size_t errlen)
{
    unsigned normal = 3u + (unsigned)x->nbytes; /* unit + fc + count + data */
    unsigned len = 0;
    if (have >= 2) {
        unsigned tid = (unsigned)b[0] << 8 | b[1];
        if (tid != x->tid) {
            snprintf(err, errlen, "transaction id %u, expected %u", tid,
                     x->tid);
            return MBTCP_MALFORMED;
        }
    }
    if (have >= 4) {
        unsigned proto = (unsigned)b[2] << 8 | b[3];
        if (proto != 0) {
            snprintf(err, errlen, "protocol id %u, expected 0", proto);
            return MBTCP_MALFORMED;
        }
    }
    if (have >= 6) {
        len = (unsigned)b[4] << 8 | b[5];
        /* 3 may still be an exception reply: the function code decides. */
        if (len != normal && len != 3) {
            snprintf(err, errlen, "MBAP length %u, expected %u", len, normal);
            return MBTCP_MALFORMED;
        }
    }
    if (have >= 7 && b[6] != x->unit) {
        snprintf(err, errlen, "unit id %u, expected %u", b[6], x->unit);
        return MBTCP_MALFORMED;
    }
    if (have < 8)
        return MBTCP_OK;
    bool exc = b[7] == (x->fc | 0x80);
    if (!exc && b[7] != x->fc) {
        snprintf(err, errlen, "function code 0x%02x, expected 0x%02x", b[7],
                 x->fc);
        return MBTCP_MALFORMED;
    }
    if (exc) {
        if (len != 3) {
            snprintf(err, errlen, "MBAP length %u, expected 3 for an "
                     "exception", len);
            return MBTCP_MALFORMED;
        }
        *want = MBTCP_HEAD_LEN;
    } else if (len != normal) {
        snprintf(err, errlen, "MBAP length %u, expected %u", len, normal);
        return MBTCP_MALFORMED;
    }
    if (have < 9)
        return MBTCP_OK;
    if (exc) {
        if (b[8] == 0) {
            snprintf(err, errlen, "exception code 0");
            return MBTCP_MALFORMED;
        }
        if (have > MBTCP_HEAD_LEN) {
            snprintf(err, errlen, "%zu bytes after an exception reply",
                     have - MBTCP_HEAD_LEN);
            return MBTCP_MALFORMED;
        }
    } else if (b[8] != x->nbytes) {
        snprintf(err, errlen, "byte count %u, expected %u", b[8],
                 (unsigned)x->nbytes);
        return MBTCP_MALFORMED;
    }
    return MBTCP_OK;
}

void mbtcp_reply_regs(const uint8_t *reply, uint16_t count, uint16_t *regs)
{
    const uint8_t *d = reply + MBTCP_HEAD_LEN;
    for (size_t i = 0; i < count; i++)
        regs[i] = (uint16_t)(d[2 * i] << 8 | d[2 * i + 1]);
}

void mbtcp_reply_bits(const uint8_t *reply, uint16_t count, uint8_t *bits)
{
    /* Application Protocol 6.1: the first bit is the low bit of byte 0. */
    const uint8_t *d = reply + MBTCP_HEAD_LEN;
    for (size_t i = 0; i < count; i++)
        bits[i] = (uint8_t)(d[i / 8] >> (i % 8) & 1u);
}

/* One transaction: send the request, receive and check the reply into
 * c->buf, all before deadline = send time + timeout.  Closes the
 * connection on anything but OK and EXCEPTION. */
static mbtcp_rc mbtcp_transact(mbtcp *c, int fc, uint16_t start,
                               uint16_t count, size_t nbytes)
{
    c->err[0] = 0;
    c->exc = 0;
    if (c->fd < 0) {
        mbtcp_fail(c, "not connected");
        return MBTCP_CONN;
    }
    mbtcp_expect x = {.tid = c->tid++, .unit = c->unit, .fc = (uint8_t)fc,
                      .nbytes = (uint16_t)nbytes};
    uint8_t req[MBTCP_REQ_LEN] = {
        (uint8_t)(x.tid >> 8), (uint8_t)x.tid, 0, 0, 0, 6, c->unit,
        (uint8_t)fc, (uint8_t)(start >> 8), (uint8_t)start,
        (uint8_t)(count >> 8), (uint8_t)count,
    };
    uint64_t deadline = clk_mono_ns() + c->timeout_ns;
    size_t want = MBTCP_HEAD_LEN + nbytes, have = 0, off = 0;
    mbtcp_rc rc = MBTCP_OK;
    int err = 0;
    char eb[96], tb[32];

    while (off < sizeof req) {
        ssize_t n = send(c->fd, req + off, sizeof req - off, MSG_NOSIGNAL);
        if (n > 0) {
            off += (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if ((rc = mbtcp_wait(c, POLLOUT, deadline)) != MBTCP_OK) {
                err = errno;
                goto fail;
            }
        } else {
            err = errno;
            rc = MBTCP_CONN;
            goto fail;
        }
    }
    while (have < want) {
        /* Wait first: the reply is never there the instant the request
         * left, so a speculative recv would be one wasted system call. */
        if ((rc = mbtcp_wait(c, POLLIN, deadline)) != MBTCP_OK) {
            err = errno;
            goto fail;
        }
        ssize_t n = recv(c->fd, c->buf + have, want - have, 0);
        if (n > 0) {
            have += (size_t)n;
            if ((rc = mbtcp_check_reply(&x, c->buf, have, &want, c->err,
                                        sizeof c->err)) != MBTCP_OK)
                goto fail;
        } else if (n == 0) {
            rc = MBTCP_CONN;
            mbtcp_fail(c, "connection closed by the PLC (%zu of %zu bytes)",
                       have, want);
            goto fail;
        } else if (errno != EAGAIN && errno != EWOULDBLOCK &&
                   errno != EINTR) {
            err = errno;
            rc = MBTCP_CONN;
            goto fail;
        }
    }
    if (c->buf[7] & 0x80) {
        c->exc = c->buf[8];
        mbtcp_fail(c, "exception %u (%s)", c->exc,
                   mbtcp_exception_name(c->exc));
        return MBTCP_EXCEPTION;
    }
    return MBTCP_OK;

fail:
    switch (rc) {
    case MBTCP_TIMEOUT:
        mbtcp_ms(c->timeout_ns, tb, sizeof tb);
        mbtcp_fail(c, "no complete reply within %s (%zu of %zu bytes)", tb,
                   have, want);
        break;
    case MBTCP_STOPPED:
        mbtcp_fail(c, "stopped");
        break;
    case MBTCP_CONN:
        if (!c->err[0])
            mbtcp_fail(c, "%s (%zu of %zu bytes)",
                       mbtcp_strerror(err, eb, sizeof eb), have, want);
        break;
    default:
        break;          /* MALFORMED: mbtcp_check said what */
    }
    /* The stream is out of step: a late answer must not be read as the
     * next one. */
    mbtcp_close(c);
    return rc;
}

mbtcp_rc mbtcp_read_regs(mbtcp *c, int fc, uint16_t start, uint16_t count,
                         uint16_t *regs)
{
    if ((fc != MBTCP_FC_HOLDING && fc != MBTCP_FC_INPUT) || count < 1 ||
        count > MBTCP_MAX_REGS) {
        mbtcp_fail(c, "cannot read %u registers with function code %d",
                   count, fc);
        return MBTCP_INVALID;
    }
    mbtcp_rc rc = mbtcp_transact(c, fc, start, count, (size_t)count * 2);
    if (rc != MBTCP_OK)
        return rc;
    mbtcp_reply_regs(c->buf, count, regs);
    return MBTCP_OK;
}

mbtcp_rc mbtcp_read_bits(mbtcp *c, int fc, uint16_t start, uint16_t count,
                         uint8_t *bits)
{
    if ((fc != MBTCP_FC_COILS && fc != MBTCP_FC_DISCRETE) || count < 1 ||
        count > MBTCP_MAX_BITS) {
        mbtcp_fail(c, "cannot read %u bits with function code %d", count,
                   fc);
        return MBTCP_INVALID;
    }
    mbtcp_rc rc = mbtcp_transact(c, fc, start, count, (count + 7u) / 8u);
    if (rc != MBTCP_OK)
        return rc;
    mbtcp_reply_bits(c->buf, count, bits);
    return MBTCP_OK;
}

const char *mbtcp_exception_name(uint8_t code)
{
    /* Application Protocol 7, "MODBUS Exception Codes". */
    switch (code) {
    case 1: return "illegal function";
    case 2: return "illegal data address";
    case 3: return "illegal data value";
    case 4: return "server device failure";
    case 5: return "acknowledge";
    case 6: return "server device busy";
    case 8: return "memory parity error";
    case 10: return "gateway path unavailable";
    case 11: return "gateway target device failed to respond";
    default: return "unknown exception";
    }
}

const char *mbtcp_rc_name(mbtcp_rc rc)
{
    switch (rc) {
    case MBTCP_OK: return "ok";
    case MBTCP_EXCEPTION: return "exception";
    case MBTCP_TIMEOUT: return "timeout";
    case MBTCP_CONN: return "connection";
    case MBTCP_MALFORMED: return "malformed";
    case MBTCP_STOPPED: return "stopped";
    case MBTCP_INVALID: return "invalid";
    }
    return "?";
}
