/*
 * mbtcp.h - the poller's Modbus TCP client: one read transaction at a time,
 * bounded by one deadline, every field of the reply checked.
 *
 * Why our own and not libmodbus (3.1.6, Debian 12) on the client side:
 *  - its response timeout times only the first byte, and its byte timeout
 *    each gap between bytes, each with select() restarted on EINTR: a
 *    server that sends a header and then one byte every 400 ms holds a
 *    500 ms request for ~100 s, and nothing can interrupt the wait, so a
 *    daemon asked to stop waits it out;
 *  - it frames a reply by its function code and never compares the MBAP
 *    length with what follows (nor fully checks the protocol id), so a
 *    reply whose MBAP length is too large is taken as good and the next
 *    reply on the connection would be read out of step.
 * Here a request is sent and its reply received against ONE absolute
 * deadline (send time + timeout), with poll() on the socket and on a stop
 * descriptor, so the caller's thread can be told to give up at once.  The
 * reply's exact size is known from the request, every field is checked as
 * soon as its bytes are in, and a wrong one is reported at once (not later
 * as a timeout).  libmodbus remains the simulator's server and the
 * benchmark's bare-client ceiling.
 *
 * Frame layout (Modbus Messaging on TCP/IP Implementation Guide v1.0b,
 * 3.1.3): MBAP header of 7 bytes - transaction id (2), protocol id (2, must
 * be 0), length (2: the bytes that follow, unit id included), unit id (1) -
 * then the PDU.  Read requests and replies (Modbus Application Protocol
 * v1.1b3, 6.1-6.4): request fc, start (2), quantity (2); reply fc, byte
 * count (1), data.  Exception replies (7): fc | 0x80, exception code (1).
 *
 * Checked in this order, each as soon as its bytes have arrived:
 * transaction id = the request's, protocol id = 0, MBAP length = unit +
 * PDU exactly (3 + byte count, or 3 for an exception), unit id = the
 * PLC's, function code = the request's (or it | 0x80), byte count = what
 * the quantity asked for (registers x 2, or bits rounded up to bytes).
 *
 * Descriptors: sockets are waited on with poll(), not select(), so the
 * FD_SETSIZE (1024) limit that made the poller refuse Modbus sockets with
 * high descriptors no longer applies.  Sockets are CLOEXEC, non-blocking,
 * TCP_NODELAY; sends use MSG_NOSIGNAL, so a dead peer never raises SIGPIPE.
 *
 * Any failure except an exception reply closes the connection: after a
 * timeout or a malformed reply a late or stray answer may still arrive,
 * and it must never be taken for the answer to the next request.  An
 * exception reply is a complete, well-formed answer: the connection stays.
 *
 * Hot path: no allocation per request (one buffer in the handle), one
 * send, one poll and usually one recv per reply.
 *
 * Threads: one handle belongs to one thread.  The stop descriptor may be
 * made readable from any thread (an eventfd write); it is never read here,
 * so once signalled every wait returns MBTCP_STOPPED until the owner drains
 * it.  Host names are resolved with getaddrinfo at each connect; a numeric
 * address (the usual case for a PLC) never blocks, a name is bounded only
 * by the resolver's own timeouts (resolv.conf) and not by the stop
 * descriptor.
 */
#ifndef LB_MBTCP_H
#define LB_MBTCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Function codes read by the bridge (Application Protocol 6.1-6.4); no
 * other is ever built here. */
#define MBTCP_FC_COILS 1
#define MBTCP_FC_DISCRETE 2
#define MBTCP_FC_HOLDING 3
#define MBTCP_FC_INPUT 4

/* Quantities one read may ask for (Application Protocol 6.1-6.4). */
#define MBTCP_MAX_BITS 2000
#define MBTCP_MAX_REGS 125

/* Implementation Guide 3.1.3: the MBAP header, and the largest ADU. */
#define MBTCP_MBAP_LEN 7
#define MBTCP_ADU_MAX 260
/* A reply's fixed part: MBAP + fc + byte count (or exception code). */
#define MBTCP_HEAD_LEN 9

typedef enum {
    MBTCP_OK = 0,
    MBTCP_EXCEPTION,   /* the device answered with an exception code */
    MBTCP_TIMEOUT,     /* no connection / no complete reply by the deadline */
    MBTCP_CONN,        /* cannot connect, not connected, reset or closed */
    MBTCP_MALFORMED,   /* a reply arrived that is not the answer */
    MBTCP_STOPPED,     /* the stop descriptor became readable */
    MBTCP_INVALID,     /* a request the protocol cannot carry (not sent) */
} mbtcp_rc;

typedef struct mbtcp mbtcp;

/* A client for host:port, unit id `unit` (0..255).  timeout_ns bounds a
 * connect and a whole request.  stop_fd: a descriptor that becomes
 * readable when every wait must end (the caller owns it), or -1.  Nothing
 * is connected yet.  NULL on allocation failure. */
mbtcp *mbtcp_new(const char *host, int port, int unit, uint64_t timeout_ns,
                 int stop_fd);
/* Closes and frees; NULL does nothing. */
void mbtcp_free(mbtcp *c);

/* Connects (closing any connection first), within the timeout.  MBTCP_OK,
 * MBTCP_CONN (refused, unreachable, cannot resolve), MBTCP_TIMEOUT or
 * MBTCP_STOPPED. */
mbtcp_rc mbtcp_connect(mbtcp *c);
void mbtcp_close(mbtcp *c);
bool mbtcp_connected(const mbtcp *c);

/* Reads `count` registers from `start` with FC 3 (holding) or 4 (input)
 * into regs[0..count-1], host order.  On anything but MBTCP_OK regs is
 * unspecified. */
mbtcp_rc mbtcp_read_regs(mbtcp *c, int fc, uint16_t start, uint16_t count,
                         uint16_t *regs);
/* Reads `count` bits from `start` with FC 1 (coils) or 2 (discrete inputs)
 * into bits[0..count-1], one 0/1 byte per bit. */
mbtcp_rc mbtcp_read_bits(mbtcp *c, int fc, uint16_t start, uint16_t count,
                         uint8_t *bits);

/* The exception code of the last MBTCP_EXCEPTION (1..255). */
uint8_t mbtcp_exception(const mbtcp *c);
/* What went wrong last, e.g. "MBAP length 27, expected 7" or "no complete
 * reply within 500 ms (9 of 257 bytes)"; "" after a success.  Valid until
 * the next call on c. */
const char *mbtcp_error(const mbtcp *c);
/* The transaction id the next request will carry (tests). */
uint16_t mbtcp_next_tid(const mbtcp *c);

/* "illegal data address" for 2, ... (Application Protocol 7); "unknown
 * exception" for codes the specification does not define. */
const char *mbtcp_exception_name(uint8_t code);
const char *mbtcp_rc_name(mbtcp_rc rc);

/* ---- reply validation (pure; any thread) ------------------------------- */

/* What one read request expects back. */
typedef struct {
    uint16_t tid;             /* the request's transaction id */
    uint8_t unit;             /* the PLC's unit id */
    uint8_t fc;               /* the request's function code (1-4) */
    uint16_t nbytes;          /* the byte count a normal reply carries:
                                 registers x 2, or bits rounded up to
                                 bytes; at most MBTCP_ADU_MAX - 9 */
} mbtcp_expect;

/* Checks the first `have` bytes of a reply at b against x, every field
 * whose bytes are there, in the order listed at the top of this file:
 * MBTCP_OK while nothing is wrong so far (however few bytes have come),
 * MBTCP_MALFORMED with the reason in err ("MBAP length 27, expected 7")
 * at the first wrong one.  *want is the size the reply must reach, which
 * the caller sets to MBTCP_HEAD_LEN + x->nbytes before the first call; it
 * becomes MBTCP_HEAD_LEN once the function code says the reply is an
 * exception.  A complete reply (have == *want, no error) is a normal one
 * when b[7] == x->fc, else an exception with code b[8] (never 0).  The
 * client calls this after every recv; nothing else decides whether a
 * reply is believed. */
mbtcp_rc mbtcp_check_reply(const mbtcp_expect *x, const uint8_t *b,
                           size_t have, size_t *want, char *err,
                           size_t errlen);
/* The values of a complete, checked normal reply: count registers (host
 * order) or count bits (one 0/1 byte each, the first bit being the low
 * bit of the first data byte, Application Protocol 6.1). */
void mbtcp_reply_regs(const uint8_t *reply, uint16_t count, uint16_t *regs);
void mbtcp_reply_bits(const uint8_t *reply, uint16_t count, uint8_t *bits);

#endif
