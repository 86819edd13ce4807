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

#endif
