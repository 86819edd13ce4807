/*
 * history.h - the embedded history: every sample kept in SQLite.
 *
 * A history database is one SQLite file in WAL mode.  Samples arrive from
 * the bridge's consumer thread through hist_submit(), which only copies them
 * into a bounded in-memory queue; a writer thread of the history's own
 * commits them in batched transactions (at most every 200 ms or 10,000
 * samples), keeps the 1-minute and 1-hour rollups up to date and runs
 * retention in small slices so writes never pause for long.  Nothing here
 * runs on the dashboard's service thread.
 *
 * Schema (documented in README.md):
 *   tags(id INTEGER PRIMARY KEY, name TEXT UNIQUE)         -- "plc.tag"
 *   samples(tag, ts, kind, value, text, quality, exc)      -- raw, ts in ns
 *   rollup_1m / rollup_1h(tag, bucket, n, good, nv, sum, min, min_ts, max,
 *                         max_ts, last, last_ts)  -- bucket start in ns;
 *       min..last_ts over the nv good numeric samples; n counts all, good
 *       counts good ones (good-quality share = good / n)
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
    int rollup_1h_days;        /* 1-hour rollups kept (default 3650) */
    size_t queue_cap;          /* samples buffered in memory (default 1M) */
    bool read_only;            /* queries only: no writer thread, no schema
                                  changes, no retention (export, tools) */
} hist_opts;

typedef struct {
    uint64_t submitted;        /* samples handed to hist_submit */
    uint64_t written;          /* samples committed */
    uint64_t dropped;          /* lost to a full queue (writer far behind) */
    uint64_t commits;
    uint64_t retention_deleted;
    size_t queued;
    char last_error[160];      /* empty when none */
} hist_stats;

/* One sample for the history.  tag is the full id ("plc.tag"). */
typedef struct {
    const char *tag;
    val_sample s;
} hist_sample;

/* Opens (creating if needed) the database and starts the writer thread.
 * NULL on failure with a message "path: reason" in err. */
hist_db *hist_open(const hist_opts *o, char *err, size_t errlen);
/* Flushes what is queued, stops the writer, closes. NULL is a no-op. */
void hist_close(hist_db *h);

/* Consumer thread: copies n samples into the queue (tag names are copied
 * too, or interned).  Never blocks on disk.  Returns how many were
 * accepted; the rest are counted as dropped. */
size_t hist_submit(hist_db *h, const hist_sample *s, size_t n);

/* Blocks until everything submitted before the call is committed (tests,
 * shutdown).  0, or -1 on a database error. */
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
    const char *source;        /* "raw", "1m" or "1h" */
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
