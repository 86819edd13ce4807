/*
 * simserver.h - one simulated PLC's Modbus TCP server, with fault injection.
 *
 * lock-sim runs one simsrv per enabled PLC.  Each has its own thread that
 * poll()s its listening socket, its clients (up to SIMSRV_MAX_CLIENTS) and a
 * wake-up eventfd, reads requests with
 * libmodbus (modbus_receive) and answers them from its modbus_mapping_t
 * (modbus_reply), so a slow, silent or trickling PLC never delays another
 * (nor another client of the same PLC).  Only
 * function codes 1..4 are answered with data; every other one gets
 * exception 1 (illegal function) and is counted, so that tests can check
 * that the bridge never writes.
 *
 * Threads: the server thread owns the sockets.  The register tables are
 * shared with the simulator's plant thread through simsrv_lock() /
 * simsrv_unlock(); the server holds the same mutex while it builds a reply,
 * so every response is a consistent snapshot.  simsrv_set_fault() and
 * simsrv_get_stats() may be called from any thread.
 */
#ifndef LB_SIMSERVER_H
#define LB_SIMSERVER_H

#include <stddef.h>
#include <stdint.h>

#include <modbus.h>

/* Concurrent clients per PLC; further connections are accepted and closed
 * at once, so that client sockets stay below FD_SETSIZE (Debian's libmodbus
 * select()s on them). */
#define SIMSRV_MAX_CLIENTS 16

typedef enum {
    SIMSRV_NONE = 0,     /* normal service */
    SIMSRV_REFUSE,       /* listening socket and clients closed */
    SIMSRV_DROP,         /* a client is closed as soon as a request arrives */
    SIMSRV_SILENT,       /* requests are read and never answered */
    SIMSRV_SLOW,         /* answers arg milliseconds late */
    SIMSRV_EXCEPTION,    /* answers every request with exception arg */
    SIMSRV_BAD_LENGTH,   /* byte count one register (or byte) short */
    SIMSRV_BAD_TID,      /* correct response, transaction id + 1 */
    SIMSRV_GARBAGE,      /* random bytes of random length */
    SIMSRV_BAD_MBAP,     /* correct response, MBAP length 20 too large, and
                            nothing more sent */
    SIMSRV_BAD_PROTO,    /* correct response, protocol id 1 */
    SIMSRV_BAD_UNIT,     /* correct response, unit id + 1 */
    SIMSRV_TRICKLE,      /* correct response: 8 bytes, then one byte every
                            arg milliseconds */
} simsrv_fault_kind;

typedef struct {
    simsrv_fault_kind kind;
    int arg;             /* SLOW, TRICKLE: milliseconds; EXCEPTION: code */
} simsrv_fault;

typedef struct {
    uint64_t requests;     /* every request read, whatever its fate */
    uint64_t fc[128];      /* requests per function code (>= 128 in [0]) */
    uint64_t responses;    /* answers sent (data, exception or malformed) */
    uint64_t connections;  /* connections accepted */
} simsrv_stats;

typedef struct simsrv simsrv;

/* Table sizes of the register map; each may be 0. */
typedef struct {
    int bits, input_bits, registers, input_registers;
} simsrv_sizes;

/* Creates the server and starts listening on host:port (an IPv4 literal),
 * answering unit `unit` only.  Returns NULL with a reason in err when the
 * socket cannot be bound.  The thread is not started yet. */
simsrv *simsrv_new(const char *host, int port, int unit,
                   const simsrv_sizes *sizes, uint64_t seed,
                   char *err, size_t errlen);

/* Starts the server thread; 0 or -1. */
int simsrv_start(simsrv *s);

/* Stops the thread (if started), closes every socket, frees everything.
 * NULL is a no-op. */
void simsrv_free(simsrv *s);

/* Locks the register tables and returns them; the caller must unlock. */
modbus_mapping_t *simsrv_lock(simsrv *s);
void simsrv_unlock(simsrv *s);

/* Sets the fault and waits until the server thread has applied it (for
 * REFUSE: the listening socket is closed; for NONE after REFUSE: it listens
 * again).  Returns 0, or -1 with a reason in err. */
int simsrv_set_fault(simsrv *s, simsrv_fault f, char *err, size_t errlen);

/* A copy of the counters. */
void simsrv_get_stats(simsrv *s, simsrv_stats *out);

/* Parses a control-command fault ("slow", "500"); arg may be NULL.
 * Returns 0, or -1 with a reason in err. */
int simsrv_fault_parse(const char *kind, const char *arg, simsrv_fault *out,
                       char *err, size_t errlen);

#endif
