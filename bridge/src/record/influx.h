/*
 * influx.h - writing samples to InfluxDB (or anything that speaks its line
 * protocol: VictoriaMetrics, InfluxDB 2.x/3.x) without losing a point.
 *
 * influx_submit() runs on the bridge's consumer thread and only copies the
 * samples into a bounded queue.  The writer has two threads of its own: an
 * encoder ("influx-encode" in top -H) turns them into line protocol
 * (lineproto.h; one line per PLC and response timestamp, one field per tag)
 * and cuts batches by size and age (defaults 5,000 points or 1 s); a sender
 * ("influx-send") posts them with libcurl (keep-alive, optional gzip), one
 * request in flight, while the encoder prepares the next batch, and owns
 * the spool:
 *   1.x:  POST {url}/write?db=&rp=&precision=   (user/password: basic auth)
 *   2.x:  POST {url}/api/v2/write?org=&bucket=&precision=  (Token auth;
 *         InfluxDB 3 takes the same, the bucket naming its database)
 *   VictoriaMetrics cluster (tenant set):
 *         POST {url}/insert/{tenant}/influx/write?db=&precision=
 *   InfluxDB Enterprise: the 1.x write with &consistency=
 * Responses are handled as InfluxDB documents them: 204 done; 400 the
 * batch's bad lines are logged and set aside in a quarantine file, never
 * retried; "partial write" counted; 401/403/404 set an alarm-worthy status
 * and keep spooling; 413 splits the batch; 429/5xx and network errors back
 * off with jitter and retry (Retry-After honoured).
 *
 * Store and forward: a batch that cannot be written goes to an on-disk spool
 * (spool.h) that survives kill -9 and restarts, bounded in bytes (default
 * 1 GiB, oldest dropped and counted when full).  On recovery the spool
 * drains oldest first, interleaved with fresh batches so new data is not
 * starved.  Timestamps are the Modbus response times, fixed once, so a
 * replayed point overwrites itself in the database instead of duplicating.
 *
 * A full disk loses nothing either: when the spool cannot take a batch,
 * the sender keeps that batch in memory and tries again (the spool, or the
 * database if it is back and nothing older waits) after 100 ms, doubling
 * to 5 s, and takes no new batch until then, so new points wait in the
 * queue, in order.  last_error says "spool <dir>: No space left on device"
 * until a spool write succeeds or the batch got written.
 *
 * The queue grows with what is waiting (from 1,024 points, about 128 bytes
 * each, up to queue_cap, default 1,000,000, about 128 MB) and gives the
 * memory back once emptied.  Normally it holds well under one batch; it
 * fills only while the disk is full (or the encoder cannot keep up).  At
 * its bound influx_submit refuses the newest points, counted in dropped,
 * rather than dropping the oldest as the tag store does: what is queued is
 * older data that cannot be polled again and whose successors are already
 * encoded in the batches ahead of it, so keeping it keeps the stream in
 * InfluxDB without holes up to the moment memory ran out, and the present
 * comes back with the next heartbeat.  (The spool, which bounds a long
 * outage on disk, drops its oldest segment instead: there the choice is
 * between days of history, and the recent days matter more.)
 *
 * Schema: measurement = PLC id; tags station=<station id>, plc=<plc id>;
 * one field per tag id holding the value when the sample is good (float,
 * `i` integer, boolean or string), and a field `<tag id>_q` (integer) with
 * the quality code (0 good, 1 stale, 2 comm-failure, 3 device-error,
 * 4 decode-error) on every quality change and every heartbeat.  A bad
 * sample has no value field, so it can never be mistaken for a good one.
 */
#ifndef LB_INFLUX_H
#define LB_INFLUX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "record/lineproto.h"
#include "core/val.h"

typedef struct influx_writer influx_writer;

typedef struct {
    const char *url;            /* "http://127.0.0.1:8086" */
    /* InfluxDB 1.x / VictoriaMetrics */
    const char *database;
    const char *rp;             /* retention policy, optional */
    const char *username;       /* optional */
    const char *password;       /* resolved secret (from env or file) */
    /* A VictoriaMetrics cluster: vminsert's tenant, "accountID" or
     * "accountID:projectID": POST {url}/insert/{tenant}/influx/write */
    const char *tenant;
    /* InfluxDB Enterprise's write consistency (one, any, quorum, all) */
    const char *consistency;
    /* InfluxDB 2.x: set org and bucket (then database is ignored) */
    const char *org;
    const char *bucket;
    const char *token;          /* resolved secret */
    const char *station;        /* value of the `station` tag */
    lp_precision precision;     /* default LP_NS */
    size_t batch_points;        /* default 5000 */
    uint64_t batch_age_ns;      /* default 1 s */
    bool gzip;
    uint64_t timeout_ns;        /* per HTTP request, default 10 s */
    const char *spool_dir;      /* required: where batches wait */
    uint64_t spool_max_bytes;   /* default 1 GiB */
    size_t queue_cap;           /* in-memory points, default 1,000,000 */
    /* Retry pacing after 429/5xx/network errors: exponential from min to
     * max with jitter (defaults 1 s and 60 s); after 401/403/404 the writer
     * retries every max/2 (30 s by default).  Tests make these small. */
    uint64_t backoff_min_ns;
    uint64_t backoff_max_ns;
} influx_opts;

/* One sample.  plc and field point into the station map, which must
 * outlive the writer (it is immutable, so any thread may read it). */
typedef struct {
    const char *plc;
    const char *field;          /* the tag id */
    uint32_t key;               /* optional: a small number unique per
                                   (plc, field), starting at 1, such as the
                                   tag store index + 1; 0 = none (the writer
                                   then looks the pair up by name) */
    val_sample s;
    bool heartbeat;             /* write the _q field even if unchanged */
} influx_point;

typedef struct {
    uint64_t submitted;         /* points handed in */
    uint64_t written;           /* points the database accepted */
    uint64_t batches;           /* successful writes */
    int64_t last_success_ns;    /* wall clock of the last write the
                                   database accepted points from (a 2xx, or
                                   a partial write); 0: none since open */
    uint64_t queued;            /* points in memory now (queue, batches) */
    size_t queue_bytes;         /* memory the queue holds now */
    size_t queue_max_bytes;     /* ... and would hold at its bound */
    uint64_t spooled_points;    /* points in the spool now */
    uint64_t spooled_bytes;
    uint64_t dropped;           /* points lost: refused by a full queue,
                                   oldest spool segment beyond the bound,
                                   unencodable, or not spoolable at close */
    uint64_t retries;
    uint64_t partial_writes;
    uint64_t quarantined;       /* lines set aside after a 400 */
    uint64_t spool_corrupt;     /* torn/corrupt spool records skipped */
    int last_status;            /* last HTTP status, 0 for a network error */
    bool auth_failed;           /* 401/403/404 seen and not yet cleared */
    char last_error[200];       /* the newest error still in effect: the
                                   database's until a write succeeds, the
                                   spool's until a spool write succeeds;
                                   rejected data (400) stays until a newer
                                   error; empty when none */
} influx_stats;

/* Validates options, opens the spool (creating its directories, and
 * replaying what an earlier run left) and starts the encoder and sender
 * threads.  NULL with a message in err on failure. */
influx_writer *influx_open(const influx_opts *o, char *err, size_t errlen);
/* Stops the writer: what cannot be written within a short grace period
 * (2 s) is spooled, so nothing is lost across a clean restart, unless the
 * spool cannot be written either: then that is lost (counted in dropped,
 * with a last_error saying how many).  NULL is a no-op. */
void influx_close(influx_writer *w);

/* Consumer thread: copies n points into the queue; returns how many were
 * accepted (the rest are counted as dropped). */
size_t influx_submit(influx_writer *w, const influx_point *p, size_t n);

/* Waits until everything submitted before the call is written to the
 * database or spooled, at most timeout_ns.  0 when written, -1 otherwise
 * (spooled, or still in memory because the disk is full). */
int influx_flush(influx_writer *w, uint64_t timeout_ns);

void influx_get_stats(influx_writer *w, influx_stats *out);

#endif
