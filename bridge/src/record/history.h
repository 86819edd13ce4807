/*
 * history.h - the embedded history: every sample kept in SQLite.
 *
 * A history database is one SQLite file in WAL mode.  Samples arrive from
 * the bridge's consumer thread through hist_submit(), which only copies them
 * into a bounded in-memory queue; a writer thread of the history's own
 * ("hist-writer" in top -H) commits them in batched transactions (at most
 * every 200 ms or 10,000 samples), keeps the 1-minute, 10-minute and 1-hour rollups up
 * to date and runs retention in small slices so writes never pause for
 * long.  Nothing here runs on the dashboard's service thread.
 *
 * A write that fails (the disk is full, an I/O error) loses nothing: the
 * samples stay queued and the writer tries again, 100 ms after the first
 * failure, doubling to every 5 s (with jitter), until a commit succeeds;
 * the failed hourly rollups and retention are retried the same way.  While
 * anything fails, hist_stats.last_error says what and why, and
 * failed_commits counts the attempts; the error clears with the next
 * successful write.
 *
 * The queue grows with what is waiting (from a few thousand entries, 24
 * bytes each, up to queue_cap, default 1,000,000 = 24 MB) and gives the
 * memory back once it has been emptied.  At its bound hist_submit refuses
 * the newest samples and counts them as dropped, rather than dropping the
 * oldest as the tag store's change queue does: the tag store serves the
 * present (the dashboard wants the latest values), the history keeps the
 * past, and what is queued is older history that cannot be polled again,
 * while the present comes back by itself with the next heartbeat once the
 * disk has room.  The oldest also cannot be taken back once the writer
 * holds them in a batch it is retrying.
 *
 * Schema (documented in README.md):
 *   tags(id INTEGER PRIMARY KEY, name TEXT UNIQUE)         -- "plc.tag"
 *   samples(tag, ts, kind, value, text, quality, exc)      -- raw, ts in ns
 *   rollup_1m / rollup_10m / rollup_1h(tag, bucket, n, good, nv, sum, min,
 *                         min_ts, max, max_ts, last, last_ts)
 *                                  -- bucket start in ns;
 *       min..last_ts over the nv good numeric samples; n counts all, good
 *       counts good ones (good-quality share = good / n)
 *   meta(key, value)     -- 'rollup_10m_from': see history.c, SCHEMA_VERSION
 * (tag, ts) is the primary key of samples, so a replayed sample overwrites
 * itself.  `kind` is the val_kind; `value` has no declared type, so
 * integers stay exact 64-bit INTEGERs and reals stay REALs; booleans are
 * 0/1, strings are in `text`, u64 keeps its exact decimal in `text`.
 *
 * Queries (hist_query) may run on any thread: each opens its own read
 * connection, so they never block the writer (WAL).
 */
#ifndef LB_HISTORY_H
#define LB_HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/val.h"

typedef struct hist_db hist_db;

typedef struct {
    const char *path;          /* database file; directories are created */
    int raw_days;              /* raw samples kept (default 30) */
    int rollup_1m_days;        /* 1-minute rollups kept (default 400) */
    int rollup_10m_days;       /* 10-minute rollups kept (default 1100) */
    int rollup_1h_days;        /* 1-hour rollups kept (default 3650) */
    size_t queue_cap;          /* samples buffered in memory (default 1M) */
    bool read_only;            /* queries only: no writer thread, no schema
                                  changes, no retention (export, tools) */
} hist_opts;

typedef struct {
    uint64_t submitted;        /* samples handed to hist_submit */
    uint64_t written;          /* samples committed */
    uint64_t dropped;          /* refused by a full queue (writer far behind
                                  or failing), and lost at close */
    uint64_t commits;
    int64_t last_commit_ns;    /* wall clock of the last commit of samples;
                                  0: none since open */
    uint64_t failed_commits;   /* failed write transactions (batches, hourly
                                  rollups, retention slices), each retried */
    uint64_t retention_deleted;
    size_t queued;             /* submitted, not yet committed */
    size_t queue_bytes;        /* memory the queue holds now */
    size_t queue_max_bytes;    /* ... and would hold at its bound */
    size_t cache_bytes;        /* the writer's SQLite page cache now */
    size_t cache_max_bytes;    /* ... and at most */
    char last_error[160];      /* "commit: database or disk is full"; empty
                                  when every kind of write succeeds again */
} hist_stats;

/* One sample for the history.  tag is the full id ("plc.tag"). */
typedef struct {
    const char *tag;
    val_sample s;
} hist_sample;

/* Opens (creating if needed) the database and its directories and starts
 * the writer thread.  NULL on failure with a message "path: reason" in
 * err. */
hist_db *hist_open(const hist_opts *o, char *err, size_t errlen);
/* Commits what is queued, stops the writer, closes.  If writes keep
 * failing, it retries for about 2 s and then gives up: what is still
 * queued is lost.  A caller that must account for that calls hist_flush
 * first and, when it fails, logs hist_stats.queued and last_error as lost.
 * NULL is a no-op. */
void hist_close(hist_db *h);

/* Consumer thread: copies n samples into the queue (tag names are copied
 * too, or interned).  Never blocks on disk.  Returns how many were
 * accepted; the rest are counted as dropped. */
size_t hist_submit(hist_db *h, const hist_sample *s, size_t n);

/* Blocks until everything submitted before the call is committed, with its
 * hourly rollups (tests, shutdown): 0.  -1 as soon as a commit or an
 * hourly pass that starts after the call fails; it never waits longer than
 * the writer's next attempt (at most 5 s of back-off, then the attempt).
 * After -1 the samples are still queued and the writer goes on retrying
 * them; hist_get_stats says how many and why. */
int hist_flush(hist_db *h);

void hist_get_stats(hist_db *h, hist_stats *out);

/* Runs retention now with `now_ns` as the current time (tests; the writer
 * runs it by itself every few minutes). Returns rows deleted or -1. */
long hist_retention_run(hist_db *h, int64_t now_ns);

/* ---- queries ----------------------------------------------------------- */

/* The answer for one tag: columnar, ready for uPlot.  At most two points per
 * bucket (the minimum and the maximum, in time order, so spikes survive);
 * ts in ns.  For a range short enough, the raw samples themselves. */
typedef struct {
    char *tag;
    size_t n;
    int64_t *ts;
    double *v;                 /* NaN where the sample had no good value */
    const char *source;        /* "raw", "1m", "10m" or "1h" */
} hist_series;

typedef struct {
    hist_series *series;
    size_t n_series;
} hist_result;

/* Any thread.  points: target number of points (buckets = points / 2).
 * Picks raw data when the range holds few enough samples, else the
 * coarsest rollup that still gives `points/2` buckets.  0 and *out (free
 * with hist_result_free), or -1 with a message in err. */
int hist_query(hist_db *h, const char *const *tags, size_t n_tags,
               int64_t from_ns, int64_t to_ns, size_t points,
               hist_result **out, char *err, size_t errlen);
void hist_result_free(hist_result *r);

/* Any thread: every raw sample of the tags in [from, to), in time order,
 * for export.  cb is called per sample; a non-zero return stops. */
int hist_each_raw(hist_db *h, const char *const *tags, size_t n_tags,
                  int64_t from_ns, int64_t to_ns,
                  int (*cb)(void *ctx, const char *tag, const val_sample *s),
                  void *ctx, char *err, size_t errlen);

#endif
