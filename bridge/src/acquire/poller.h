/*
 * poller.h - one PLC's poll loop: connection, requests, decoding, stats.
 *
 * A poller owns one Modbus TCP client (mbtcp.h) and, once started, one
 * thread named "poll <plc id>" (15 characters, as top -H shows it);
 * nothing else touches either, so a PLC that hangs delays only itself.
 * Each poll group runs on absolute deadlines (sched.h); each group's reads
 * are planned once at creation (plan.h).  Only function codes 1-4 (read
 * coils, read discrete inputs, read holding registers, read input
 * registers) are ever sent: the bridge never writes to a PLC.
 *
 * Why the client transaction is our own and not libmodbus's: libmodbus
 * 3.1.6 (Debian 12) bounds only the first byte and each gap between bytes,
 * not a whole request, so a PLC trickling its reply held the poller (and a
 * daemon asked to stop) for minutes; and it frames replies without
 * checking the MBAP length against the data, so a reply with a wrong length
 * was believed.  mbtcp bounds each request by one deadline (send time +
 * the PLC's `timeout`), connecting by the same timeout, checks every MBAP
 * and PDU field before a value is believed, and waits with poll(), so
 * Modbus sockets may have any descriptor number (the old refusal of
 * descriptors >= FD_SETSIZE, needed because libmodbus select()s, is gone).
 *
 * Failures: a Modbus exception marks the tags of that request device-error
 * and keeps the connection.  A timeout (no complete reply within `timeout`
 * of sending, whatever trickles in), a refused, dropped or reset
 * connection, or a malformed reply (wrong transaction id, protocol id,
 * MBAP length, unit id, function code or byte count, or garbage) closes
 * the connection (a late or stray reply would otherwise be taken for the
 * next one) and marks every tag of the PLC comm-failure; each is counted
 * by kind (err_timeout, err_conn, err_malformed) and last_error says which
 * request and what exactly ("holding 100..224: MBAP length 27, expected
 * 7").  After a link that worked fails, the first reconnect comes after
 * 125 ms; failed connects then back off exponentially from 250 ms to 5 s
 * with equal jitter (core/backoff.h).
 *
 * Stopping: poll_stop wakes the thread at once, whether it sleeps between
 * cycles or waits for a connect or a reply (those are abandoned, not
 * counted, and leave the tags as they were).
 */
#ifndef LB_POLLER_H
#define LB_POLLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/dhist.h"
#include "config/plcmap.h"
#include "core/tagstore.h"

typedef struct poll_plc poll_plc;

/* Cumulative counts at fixed bounds, for Prometheus histograms
 * (web/metrics.h): dhist's log-linear edges do not fall on round
 * seconds, so the poller counts these as well, under the same lock as
 * the rest of its statistics.  le[i] counts samples <= POLL_LE_US[i];
 * count is the +Inf bucket; sum_us their total. */
#define POLL_LE_N 14
extern const uint64_t POLL_LE_US[POLL_LE_N]; /* 0.5 ms .. 10 s */
typedef struct {
    uint64_t le[POLL_LE_N];
    uint64_t count;
    uint64_t sum_us;
} poll_buckets;
void poll_buckets_add(poll_buckets *b, uint64_t us);

typedef struct {
    uint64_t cycles;          /* poll-group cycles run */
    uint64_t requests;        /* Modbus requests sent */
    uint64_t registers;       /* registers/bits received in good replies */
    uint64_t err_timeout;     /* no complete reply within the timeout */
    uint64_t err_conn;        /* connect failed or timed out; dropped/reset */
    uint64_t err_exception;   /* Modbus exception replies */
    uint64_t err_malformed;   /* a reply field wrong (mbtcp.h), garbage */
    uint64_t err_decode;      /* tag values that failed to decode */
    uint64_t connects;        /* successful connects */
    uint64_t reconnects;      /* successful connects after a failure */
    uint64_t deadline_misses; /* poll deadlines skipped (overruns) */
    bool connected;
    uint8_t last_exception;
    int64_t last_ok_ns;       /* wall-clock time of the last good reply */
    char last_error[128];     /* empty when none yet */
    dhist response_us;         /* request round trips */
    dhist lateness_us;         /* cycle start minus its deadline */
    poll_buckets response_b;   /* the same two at fixed bounds */
    poll_buckets lateness_b;
} poll_stats;

/* plc_index: the PLC's index in the station (for the tag store).  The map
 * and the store must outlive the poller.  NULL with errno: ENOMEM, or E2BIG
 * when the PLC has more poll groups than the scheduler holds
 * (SCHED_MAX_GROUPS, which is the map's own limit MAP_GROUPS_MAX). */
poll_plc *poll_new(const map_station *st, size_t plc_index, tag_store *ts);
/* Stops the thread if running, closes the connection, frees. */
void poll_free(poll_plc *p);

/* Starts the poll thread.  0, or -1 with errno. */
int poll_start(poll_plc *p);
/* Stops the thread and joins it; returns at once (within a few ms), even
 * while a request or connect is pending. */
void poll_stop(poll_plc *p);

/* Runs one cycle of group g now, on the calling thread, connecting first if
 * needed (one attempt, ignoring the back-off).  For `lockbridge read` and
 * benchmarks; never while the thread runs.  Returns 0 when every request
 * was answered, -1 otherwise. */
int poll_cycle(poll_plc *p, int g);

/* Runs every group once (poll_cycle for each).  0 when all answered. */
int poll_once(poll_plc *p);

/* A reload (cli/reload.c): from its next cycle on the poller publishes as
 * PLC plc_index of st into ts, a PLC it polls exactly as it polls its
 * own (map_plc_same_polling); its connection, schedule, back-off and
 * statistics carry on, so it misses no deadline.  A sleeping poller
 * takes it at once, a busy one when its cycle ends.  poll_rebind_wait
 * returns once it has been taken: within one cycle, which the requests'
 * timeouts bound.  Both on the thread that owns the poller; the old
 * station and store must stay valid until poll_rebind_wait returns. */
void poll_rebind(poll_plc *p, const map_station *st, size_t plc_index,
                 tag_store *ts);
void poll_rebind_wait(poll_plc *p);

/* A consistent copy of the statistics; any thread. */
void poll_get_stats(poll_plc *p, poll_stats *out);

const map_plc *poll_map(const poll_plc *p);

#endif
