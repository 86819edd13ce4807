/*
 * history.c - the embedded history: samples, rollups and retention in one
 * SQLite file, written by a thread of its own.
 *
 * Threads.  hist_submit() runs on the bridge's consumer thread: it interns
 * the tag name (name -> id, in memory) and copies the sample into a bounded
 * ring (core/ring.h) of 24-byte records under h->mu; it never touches
 * SQLite.  The writer thread ("hist-writer") owns the only write
 * connection: it takes up to HIST_BATCH_MAX records at a time, commits them
 * in one transaction (at most every HIST_BATCH_NS), recomputes the rollup
 * buckets the batch touched and, when retention is due, deletes old rows in
 * slices of HIST_SLICE_ROWS between batches.  Queries (hist_query,
 * hist_each_raw) open a read-only connection per call, so under WAL they
 * neither block the writer nor wait for it.
 *
 * Failures.  A write that fails (a full disk, an I/O error) loses nothing:
 * the batch stays with the writer and is committed again, the samples that
 * arrive meanwhile wait in the ring behind it, and a failed hourly pass or
 * retention slice is simply run again.  Retries are paced by an exponential
 * back-off (HIST_RETRY_MIN_NS doubling to HIST_RETRY_MAX_NS, with jitter),
 * so a full disk costs a few attempts a second at first and one every few
 * seconds later; the first success resets it.  One back-off covers every
 * kind of write, because they all fail together when the disk does.
 * last_error stays set while any kind of write is failing.  The queue's
 * bound counts the batch being retried, so memory stays bounded however
 * long the disk is full; beyond it hist_submit refuses (history.h says
 * why the newest).
 *
 * Rollups are recomputed, not accumulated, so they stay exact under
 * out-of-order arrival and replays (a replayed sample replaces its raw row
 * and the recomputation forgets the old value).  In the transaction that
 * commits a batch, every (tag, minute) bucket the batch touched is rebuilt
 * from the raw samples of that minute, and the (tag, 10 minutes) buckets
 * touched are listed in rollup_dirty.  Every HIST_HOURS_NS - and at once
 * for hist_flush, retention and close - the listed 10 minutes and the
 * hours holding them are rebuilt from their minute rows; rebuilding each
 * busy bucket once per few seconds rather than once per batch halves the
 * writer's work with thousands of tags.  (A version-1 database listed
 * hours: their first 10 minutes are rebuilt, and the hour.)  Because
 * the list is in the file, an interrupted run is completed by the next
 * hist_open.  Buckets whose raw (or minute) rows retention has already
 * removed are left as they are.
 */
#include "record/history.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>

#include "core/backoff.h"
#include "core/clock.h"
#include "core/fsutil.h"
#include "core/ring.h"

#define NS_PER_S 1000000000LL
#define MIN_NS (60 * NS_PER_S)
#define TENMIN_NS (600 * NS_PER_S)
#define HOUR_NS (3600 * NS_PER_S)
#define DAY_NS (86400 * NS_PER_S)

#define HIST_BATCH_MAX 10000                /* samples per transaction */
#define HIST_RING_MIN 4096                  /* queue entries kept allocated */
#define HIST_RETRY_MIN_NS (100 * 1000000LL) /* back-off after a failed write */
#define HIST_RETRY_MAX_NS (5 * NS_PER_S)
#define HIST_CLOSE_GRACE_NS (2 * NS_PER_S)  /* hist_close retries this long */
/* The writer's SQLite page cache.  SQLite fills a cache to its size and
 * keeps it, so this is memory the bridge holds for good once the database
 * is bigger than that.  Measured with the shipped station (441 tags) on a
 * 24-hour database (290 MB), 150 s of lock-sim --speed 60 per run, misses
 * in the second half of the run: 16 MiB filled to 13 MiB within the run
 * (process RSS 26.7 MB) with 0.3 % misses; 4 MiB 4.8-4.9 %, RSS 17.5 MB;
 * 2 MiB 8-18 %, RSS 15.3 MB; 1 MiB 25 %; 512 KiB 23 %.  The writer's CPU
 * time was 0.63-0.86 s per run at every size, within this machine's
 * noise: a miss reads a page written moments ago, still in the kernel's
 * page cache.  The pages worth keeping are the newest leaves of the tags
 * that change often; the once-a-minute heartbeat of every tag touches
 * about 5 MB of leaves that no small cache keeps and none needs to.
 * 2 MiB keeps most of what is reused for 2 MB of memory. */
#define HIST_CACHE_KIB 2048
#define HIST_BATCH_NS (200 * 1000000LL)     /* a queued sample waits at most */
#define HIST_HOURS_NS (5 * NS_PER_S)        /* hourly rollups lag at most */
#define HIST_SLICE_ROWS 5000                /* rows per retention transaction */
#define HIST_RET_FIRST_NS (60 * NS_PER_S)   /* first retention after open */
#define HIST_RET_EVERY_NS (300 * NS_PER_S)  /* then every five minutes */
/* A query reads raw samples when it would scan at most this many rows
 * (about 10 ms here); beyond that a rollup answers if it is fine enough. */
#define HIST_RAW_SCAN_MAX 50000

/* 1: samples, rollup_1m, rollup_1h.  2: rollup_10m and meta.  A database
 * of version 1 is upgraded at open; its 10-minute rollups start at the
 * upgrade (meta.rollup_10m_from), and older ranges are answered from the
 * minutes as before rather than rebuilt at once (a year of minutes would
 * hold the start up for minutes). */
#define SCHEMA_VERSION 2

/* The tables retention trims, in its order. */
#define HIST_TABLES 4

/* A queued sample.  Strings are strdup'ed by hist_submit and freed by the
 * writer once committed. */
typedef struct {
    int64_t ts;
    union {
        double d;
        int64_t i;
        uint64_t u;
        char *s;
    } x;
    uint32_t tag;       /* tags.id */
    uint8_t kind, q, exc;
} hrec;

typedef struct {
    uint32_t id;
    const char *name;   /* owned by the intern table */
} hnewtag;

/* A (tag, rollup bucket) pair touched by a batch. */
typedef struct {
    uint32_t tag;
    int64_t bucket;
} tbucket;

/* The kinds of write, as bits of hist_db.failing. */
enum { HIST_OP_COMMIT = 1, HIST_OP_HOURS = 2, HIST_OP_RETENTION = 4 };

struct hist_db {
    char *path;
    int raw_days, m1_days, m10_days, h1_days;

    pthread_t thread;
    bool thread_started;
    pthread_mutex_t mu;
    pthread_cond_t wake;    /* writer waits on it */
    pthread_cond_t done;    /* flush / retention callers wait on it */

    /* ---- guarded by mu ---- */
    ring q;                 /* hrec, oldest first */
    size_t cap;             /* bound on q plus the writer's batch */
    size_t inflight;        /* samples in the writer's batch (not committed) */
    /* intern table: open addressing over names[], slot holds index + 1 */
    char **names;
    uint32_t *ids;
    size_t n_names, names_cap;
    uint32_t *slots;
    size_t n_slots;
    uint32_t next_id;
    hnewtag *newtags;       /* interned but not yet in the tags table */
    size_t n_newtags, newtags_cap;

    uint64_t accepted_seq;  /* samples ever queued */
    uint64_t done_seq;      /* samples committed */
    uint64_t rounds;        /* writer rounds started (a round: a batch, the
                               hourly pass, retention, whichever are due) */
    uint64_t failed_round;  /* the last round whose commit or hourly pass
                               failed */
    unsigned failing;       /* HIST_OP_* bits of the writes failing now */
    int flush_waiters;
    bool stop;
    bool hours_dirty;       /* rollup_dirty may hold rows */
    uint64_t hours_seq;     /* samples covered by the last hours_pass */
    bool ret_req;           /* hist_retention_run is waiting */
    int64_t ret_req_now;
    uint64_t ret_gen;       /* bumped when a requested run finishes */
    long ret_result;
    hist_stats st;

    /* ---- writer thread only ---- */
    sqlite3 *db;
    sqlite3_stmt *ins_sample, *ins_tag, *sel_raw, *sel_1m, *put_1m, *put_1h;
    sqlite3_stmt *del_1m, *del_1h, *put_10m, *del_10m, *ins_dirty, *sel_dirty;
    sqlite3_stmt *del_slice[HIST_TABLES];
    hrec *batch;            /* taken from q; kept until it is committed */
    size_t n_batch;
    tbucket *tb;            /* scratch for the buckets a batch touches */
    backoff bo;             /* pacing of retries after a failed write */
    unsigned fail_ops, ok_ops;   /* this round's outcomes, HIST_OP_* bits */
    unsigned n_fails;
    char fail_msg[160];     /* the last failure's message */
    hnewtag *wtags;         /* new tags being written (retried on failure) */
    size_t n_wtags, wtags_cap;
    int64_t raw_cutoff, m1_cutoff;   /* of the last retention run */
    /* retention in progress */
    bool ret_active, ret_by_request;
    int64_t ret_cut[HIST_TABLES];
    uint32_t *ret_tags;
    size_t ret_ntags, ret_tag_i;
    int ret_table;
    long ret_deleted;
};

/* ---- small helpers ------------------------------------------------------ */

static int64_t floor_to(int64_t ts, int64_t w)
{
    int64_t r = ts % w;
    return r < 0 ? ts - r - w : ts - r;
}

/* Writer thread (or hist_open before it starts): notes a failed write of
 * kind op, with SQLite's message, before a ROLLBACK replaces it.  The
 * outcome reaches the statistics in hist_note_outcomes. */
static void hist_note_fail(hist_db *h, unsigned op, const char *what)
{
    snprintf(h->fail_msg, sizeof h->fail_msg, "%s: %s", what,
             h->db ? sqlite3_errmsg(h->db) : "out of memory");
    h->fail_ops |= op;
    h->n_fails++;
}

/* mu held: publishes the outcomes of writer round `round`.  An error
 * stays in last_error while any kind of write is still failing, and goes
 * when none is. */
static void hist_note_outcomes(hist_db *h, uint64_t round)
{
    if (h->fail_ops) {
        snprintf(h->st.last_error, sizeof h->st.last_error, "%s",
                 h->fail_msg);
        h->st.failed_commits += h->n_fails;
        if (h->fail_ops & (HIST_OP_COMMIT | HIST_OP_HOURS))
            h->failed_round = round;
    }
    h->failing = (h->failing & ~h->ok_ops) | h->fail_ops;
    if (!h->failing)
        h->st.last_error[0] = '\0';
    h->fail_ops = h->ok_ops = 0;
    h->n_fails = 0;
}

static int exec_sql(sqlite3 *db, const char *sql)
{
    return sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

static uint64_t fnv1a(const char *s)
{
    uint64_t x = 1469598103934665603ULL;
    for (; *s; s++) {
        x ^= (unsigned char)*s;
        x *= 1099511628211ULL;
    }
    return x;
}

/* mu held.  Index of the slot for name: either its entry or an empty one. */
static size_t intern_slot(const hist_db *h, const char *name)
{
    size_t mask = h->n_slots - 1;
    size_t i = (size_t)fnv1a(name) & mask;
    while (h->slots[i] && strcmp(h->names[h->slots[i] - 1], name) != 0)
        i = (i + 1) & mask;
    return i;
}

static int intern_grow(hist_db *h)
{
    size_t ns = h->n_slots ? h->n_slots * 2 : 1024;
    uint32_t *slots = calloc(ns, sizeof *slots);
    if (!slots)
        return -1;
    free(h->slots);
    h->slots = slots;
    h->n_slots = ns;
    for (size_t k = 0; k < h->n_names; k++)
        h->slots[intern_slot(h, h->names[k])] = (uint32_t)(k + 1);
    return 0;
}

/* mu held.  Adds a name with a known id (loading) or a fresh one. */
static int intern_add(hist_db *h, const char *name, uint32_t id)
{
    if ((h->n_names + 1) * 2 > h->n_slots && intern_grow(h) < 0)
        return -1;
    if (h->n_names == h->names_cap) {
        size_t nc = h->names_cap ? h->names_cap * 2 : 256;
        char **nn = realloc(h->names, nc * sizeof *nn);
        if (!nn)
            return -1;
        h->names = nn;
        uint32_t *ni = realloc(h->ids, nc * sizeof *ni);
        if (!ni)
            return -1;
        h->ids = ni;
        h->names_cap = nc;
    }
    char *copy = strdup(name);
    if (!copy)
        return -1;
    h->names[h->n_names] = copy;
    h->ids[h->n_names] = id;
    h->slots[intern_slot(h, copy)] = (uint32_t)(h->n_names + 1);
    h->n_names++;
    if (id >= h->next_id)
        h->next_id = id + 1;
    return 0;
}

/* mu held.  The id of a tag name, interning it (and queueing it for the
 * tags table) on first sight.  0 when out of memory. */
static uint32_t intern(hist_db *h, const char *name)
{
    if (h->n_slots) {
        size_t i = intern_slot(h, name);
        if (h->slots[i])
            return h->ids[h->slots[i] - 1];
    }
    if (h->n_newtags == h->newtags_cap) {
        size_t nc = h->newtags_cap ? h->newtags_cap * 2 : 64;
        hnewtag *n = realloc(h->newtags, nc * sizeof *n);
        if (!n)
            return 0;
        h->newtags = n;
        h->newtags_cap = nc;
    }
    uint32_t id = h->next_id;
    if (intern_add(h, name, id) < 0)
        return 0;
    h->newtags[h->n_newtags++] = (hnewtag){id, h->names[h->n_names - 1]};
    return id;
}

/* ---- schema ------------------------------------------------------------- */

/* `value` has no declared type on purpose: no column affinity, so integers
 * stay 64-bit INTEGERs and doubles stay REALs bit for bit.  `kind` is the
 * val_kind, so a sample reads back as what was written.  VAL_UINT keeps
 * the exact decimal in `text` and its (rounded) double in `value`.
 * Rollup rows carry the real timestamps of their minimum and maximum, so a
 * downsampled query places spikes where they happened. */
static const char *const SCHEMA_SQL =
    "CREATE TABLE IF NOT EXISTS tags("
    "  id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);"
    "CREATE TABLE IF NOT EXISTS samples("
    "  tag INTEGER NOT NULL, ts INTEGER NOT NULL, kind INTEGER NOT NULL,"
    "  value, text TEXT, quality INTEGER NOT NULL, exc INTEGER NOT NULL,"
    "  PRIMARY KEY(tag, ts)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS rollup_1m("
    "  tag INTEGER NOT NULL, bucket INTEGER NOT NULL,"
    "  n INTEGER NOT NULL, good INTEGER NOT NULL, nv INTEGER NOT NULL,"
    "  sum REAL NOT NULL, min REAL, min_ts INTEGER, max REAL, max_ts INTEGER,"
    "  last REAL, last_ts INTEGER,"
    "  PRIMARY KEY(tag, bucket)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS rollup_10m("
    "  tag INTEGER NOT NULL, bucket INTEGER NOT NULL,"
    "  n INTEGER NOT NULL, good INTEGER NOT NULL, nv INTEGER NOT NULL,"
    "  sum REAL NOT NULL, min REAL, min_ts INTEGER, max REAL, max_ts INTEGER,"
    "  last REAL, last_ts INTEGER,"
    "  PRIMARY KEY(tag, bucket)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS rollup_1h("
    "  tag INTEGER NOT NULL, bucket INTEGER NOT NULL,"
    "  n INTEGER NOT NULL, good INTEGER NOT NULL, nv INTEGER NOT NULL,"
    "  sum REAL NOT NULL, min REAL, min_ts INTEGER, max REAL, max_ts INTEGER,"
    "  last REAL, last_ts INTEGER,"
    "  PRIMARY KEY(tag, bucket)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS rollup_dirty("
    "  tag INTEGER NOT NULL, bucket INTEGER NOT NULL,"
    "  PRIMARY KEY(tag, bucket)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value);";

/* The rollups are aggregated in C from a plain range scan on the primary
 * key: much cheaper than the same thing in SQL (which needs a temporary
 * b-tree per ORDER BY ... LIMIT 1). */
static const char *const SEL_RAW_SQL =
    "SELECT ts, quality, kind, value FROM samples"
    " WHERE tag = ?1 AND ts >= ?2 AND ts < ?3 ORDER BY ts";
static const char *const SEL_1M_SQL =
    "SELECT n, good, nv, sum, min, min_ts, max, max_ts, last, last_ts"
    " FROM rollup_1m WHERE tag = ?1 AND bucket >= ?2 AND bucket < ?3"
    " ORDER BY bucket";
#define PUT_ROLLUP_COLS \
    "(tag, bucket, n, good, nv, sum, min, min_ts, max, max_ts, last," \
    " last_ts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"

/* Retention slices: a range scan of one tag's oldest rows on the primary
 * key, never a full-table scan. */
static const char *const DEL_SLICE_SQL[HIST_TABLES] = {
    "DELETE FROM samples WHERE tag = ?1 AND ts IN (SELECT ts FROM samples"
    "  WHERE tag = ?1 AND ts < ?2 ORDER BY ts LIMIT ?3)",
    "DELETE FROM rollup_1m WHERE tag = ?1 AND bucket IN (SELECT bucket"
    "  FROM rollup_1m WHERE tag = ?1 AND bucket < ?2 ORDER BY bucket LIMIT ?3)",
    "DELETE FROM rollup_10m WHERE tag = ?1 AND bucket IN (SELECT bucket"
    "  FROM rollup_10m WHERE tag = ?1 AND bucket < ?2 ORDER BY bucket"
    "  LIMIT ?3)",
    "DELETE FROM rollup_1h WHERE tag = ?1 AND bucket IN (SELECT bucket"
    "  FROM rollup_1h WHERE tag = ?1 AND bucket < ?2 ORDER BY bucket LIMIT ?3)",
};

static int prepare(hist_db *h, const char *sql, sqlite3_stmt **st)
{
    return sqlite3_prepare_v3(h->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st,
                              NULL) == SQLITE_OK ? 0 : -1;
}

/* The tables, in one transaction.  On failure SQLite's message is kept
 * (the ROLLBACK would replace it with its own). */
static int hist_create_schema(hist_db *h, int version)
{
    char sql[64], from[120];
    snprintf(sql, sizeof sql, "PRAGMA user_version=%d", SCHEMA_VERSION);
    /* from version 1: the 10-minute rollups hold whole buckets from the
     * next one on (see SCHEMA_VERSION) */
    snprintf(from, sizeof from, "INSERT OR REPLACE INTO meta(key, value)"
             " VALUES ('rollup_10m_from', %lld)",
             (long long)(floor_to(clk_real_ns(), TENMIN_NS) + TENMIN_NS));
    if (exec_sql(h->db, "BEGIN") == 0 && exec_sql(h->db, SCHEMA_SQL) == 0 &&
        (version != 1 || exec_sql(h->db, from) == 0) &&
        exec_sql(h->db, sql) == 0 && exec_sql(h->db, "COMMIT") == 0)
        return 0;
    snprintf(h->fail_msg, sizeof h->fail_msg, "%s", sqlite3_errmsg(h->db));
    exec_sql(h->db, "ROLLBACK");
    return -1;
}

/* Caller thread, before the writer starts. */
static int db_setup(hist_db *h)
{
    if (sqlite3_open_v2(h->path, &h->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                        SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK)
        return -1;
    sqlite3_busy_timeout(h->db, 5000);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(h->db, "PRAGMA journal_mode=WAL", -1, &st, NULL)
        != SQLITE_OK)
        return -1;
    bool wal = sqlite3_step(st) == SQLITE_ROW &&
               strcmp((const char *)sqlite3_column_text(st, 0), "wal") == 0;
    sqlite3_finalize(st);
    if (!wal)
        return -1;
    char pragmas[160];
    snprintf(pragmas, sizeof pragmas, "PRAGMA synchronous=NORMAL;"
             "PRAGMA cache_size=-%d;PRAGMA journal_size_limit=67108864",
             HIST_CACHE_KIB);
    if (exec_sql(h->db, pragmas) < 0)
        return -1;
    /* An existing database is not written to here, so the bridge can
     * start on a full disk and keep its samples queued until there is
     * room, like after any failed write. */
    if (sqlite3_prepare_v2(h->db, "PRAGMA user_version", -1, &st, NULL)
        != SQLITE_OK)
        return -1;
    int version = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0)
                                                 : -1;
    sqlite3_finalize(st);
    if (version > SCHEMA_VERSION) {
        snprintf(h->fail_msg, sizeof h->fail_msg, "schema version %d is "
                 "newer than this lockbridge's (%d)", version, SCHEMA_VERSION);
        return -1;
    }
    if (version != SCHEMA_VERSION && hist_create_schema(h, version) < 0)
        return -1;
    if (sqlite3_prepare_v2(h->db, "SELECT id, name FROM tags", -1, &st, NULL)
        != SQLITE_OK)
        return -1;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        sqlite3_int64 id = sqlite3_column_int64(st, 0);
        const char *name = (const char *)sqlite3_column_text(st, 1);
        if (id <= 0 || id > UINT32_MAX - 1 || !name ||
            intern_add(h, name, (uint32_t)id) < 0) {
            sqlite3_finalize(st);
            return -1;
        }
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return -1;
    if (prepare(h, "INSERT OR REPLACE INTO samples"
                   "(tag, ts, kind, value, text, quality, exc)"
                   " VALUES (?, ?, ?, ?, ?, ?, ?)", &h->ins_sample) < 0 ||
        prepare(h, "INSERT OR IGNORE INTO tags(id, name) VALUES (?, ?)",
                &h->ins_tag) < 0 ||
        prepare(h, SEL_RAW_SQL, &h->sel_raw) < 0 ||
        prepare(h, SEL_1M_SQL, &h->sel_1m) < 0 ||
        prepare(h, "INSERT OR REPLACE INTO rollup_1m" PUT_ROLLUP_COLS,
                &h->put_1m) < 0 ||
        prepare(h, "INSERT OR REPLACE INTO rollup_1h" PUT_ROLLUP_COLS,
                &h->put_1h) < 0 ||
        prepare(h, "DELETE FROM rollup_1m WHERE tag = ? AND bucket = ?",
                &h->del_1m) < 0 ||
        prepare(h, "DELETE FROM rollup_1h WHERE tag = ? AND bucket = ?",
                &h->del_1h) < 0 ||
        prepare(h, "INSERT OR REPLACE INTO rollup_10m" PUT_ROLLUP_COLS,
                &h->put_10m) < 0 ||
        prepare(h, "DELETE FROM rollup_10m WHERE tag = ? AND bucket = ?",
                &h->del_10m) < 0 ||
        prepare(h, "INSERT OR IGNORE INTO rollup_dirty(tag, bucket)"
                   " VALUES (?, ?)", &h->ins_dirty) < 0 ||
        prepare(h, "SELECT tag, bucket FROM rollup_dirty"
                   " ORDER BY tag, bucket", &h->sel_dirty) < 0)
        return -1;
    for (int t = 0; t < HIST_TABLES; t++)
        if (prepare(h, DEL_SLICE_SQL[t], &h->del_slice[t]) < 0)
            return -1;
    return 0;
}

/* ---- the writer --------------------------------------------------------- */

static int step_done(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

static int bind_sample(sqlite3_stmt *st, const hrec *r)
{
    char u[24];
    sqlite3_bind_int64(st, 1, r->tag);
    sqlite3_bind_int64(st, 2, r->ts);
    sqlite3_bind_int(st, 3, r->kind);
    switch ((val_kind)r->kind) {
    case VAL_BOOL:
    case VAL_INT:
        sqlite3_bind_int64(st, 4, r->x.i);
        sqlite3_bind_null(st, 5);
        break;
    case VAL_UINT:
        snprintf(u, sizeof u, "%" PRIu64, r->x.u);
        sqlite3_bind_double(st, 4, (double)r->x.u);
        sqlite3_bind_text(st, 5, u, -1, SQLITE_TRANSIENT);
        break;
    case VAL_REAL:
        sqlite3_bind_double(st, 4, r->x.d);
        sqlite3_bind_null(st, 5);
        break;
    case VAL_STR:
        sqlite3_bind_null(st, 4);
        sqlite3_bind_text(st, 5, r->x.s, -1, SQLITE_STATIC);
        break;
    case VAL_NONE:
        sqlite3_bind_null(st, 4);
        sqlite3_bind_null(st, 5);
        break;
    }
    sqlite3_bind_int(st, 6, r->q);
    sqlite3_bind_int(st, 7, r->exc);
    return step_done(st);
}

static int tbucket_cmp(const void *a, const void *b)
{
    const tbucket *x = a, *y = b;
    if (x->tag != y->tag)
        return x->tag < y->tag ? -1 : 1;
    return (x->bucket > y->bucket) - (x->bucket < y->bucket);
}

static size_t tbucket_unique(tbucket *b, size_t n)
{
    if (n == 0)
        return 0;
    qsort(b, n, sizeof *b, tbucket_cmp);
    size_t k = 1;
    for (size_t i = 1; i < n; i++)
        if (tbucket_cmp(&b[i], &b[k - 1]) != 0)
            b[k++] = b[i];
    return k;
}

/* One rollup row being computed.  Ties keep the earliest timestamp. */
typedef struct {
    int64_t n, good, nv;
    double sum, min, max, last;
    int64_t min_ts, max_ts, last_ts;
} hroll;

static void roll_num(hroll *r, double mn, int64_t mn_ts, double mx,
                     int64_t mx_ts, double last, int64_t last_ts)
{
    if (r->nv == 0 || mn < r->min) {
        r->min = mn;
        r->min_ts = mn_ts;
    }
    if (r->nv == 0 || mx > r->max) {
        r->max = mx;
        r->max_ts = mx_ts;
    }
    r->last = last;
    r->last_ts = last_ts;
}

/* Writes r as the row (tag, bucket), or removes the row when nothing is
 * left to summarise. */
static int roll_put(sqlite3_stmt *put, sqlite3_stmt *del, uint32_t tag,
                    int64_t bucket, const hroll *r)
{
    if (r->n == 0) {
        sqlite3_bind_int64(del, 1, tag);
        sqlite3_bind_int64(del, 2, bucket);
        return step_done(del);
    }
    sqlite3_bind_int64(put, 1, tag);
    sqlite3_bind_int64(put, 2, bucket);
    sqlite3_bind_int64(put, 3, r->n);
    sqlite3_bind_int64(put, 4, r->good);
    sqlite3_bind_int64(put, 5, r->nv);
    sqlite3_bind_double(put, 6, r->sum);
    if (r->nv > 0) {
        sqlite3_bind_double(put, 7, r->min);
        sqlite3_bind_int64(put, 8, r->min_ts);
        sqlite3_bind_double(put, 9, r->max);
        sqlite3_bind_int64(put, 10, r->max_ts);
        sqlite3_bind_double(put, 11, r->last);
        sqlite3_bind_int64(put, 12, r->last_ts);
    } else {
        for (int c = 7; c <= 12; c++)
            sqlite3_bind_null(put, c);
    }
    return step_done(put);
}

/* Rebuilds rollup_1m (tag, bucket) from the raw samples of that minute. */
static int rebuild_1m(hist_db *h, uint32_t tag, int64_t bucket)
{
    sqlite3_stmt *st = h->sel_raw;
    sqlite3_bind_int64(st, 1, tag);
    sqlite3_bind_int64(st, 2, bucket);
    sqlite3_bind_int64(st, 3, bucket + MIN_NS);
    hroll r = {0};
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        r.n++;
        if (sqlite3_column_int(st, 1) != Q_GOOD)
            continue;
        r.good++;
        int kind = sqlite3_column_int(st, 2);
        if (kind < VAL_BOOL || kind > VAL_REAL ||
            sqlite3_column_type(st, 3) == SQLITE_NULL)
            continue;       /* strings are only counted */
        int64_t ts = sqlite3_column_int64(st, 0);
        double v = sqlite3_column_double(st, 3);
        roll_num(&r, v, ts, v, ts, v, ts);
        r.sum += v;
        r.nv++;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return -1;
    return roll_put(h->put_1m, h->del_1m, tag, bucket, &r);
}

/* Rebuilds the row (tag, bucket) of a coarser rollup (10 minutes or an
 * hour wide, written by put/del) from its minute rows. */
static int rebuild_from_1m(hist_db *h, uint32_t tag, int64_t bucket,
                           int64_t width, sqlite3_stmt *put,
                           sqlite3_stmt *del)
{
    sqlite3_stmt *st = h->sel_1m;
    sqlite3_bind_int64(st, 1, tag);
    sqlite3_bind_int64(st, 2, bucket);
    sqlite3_bind_int64(st, 3, bucket + width);
    hroll r = {0};
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        r.n += sqlite3_column_int64(st, 0);
        r.good += sqlite3_column_int64(st, 1);
        int64_t nv = sqlite3_column_int64(st, 2);
        if (nv == 0)
            continue;
        roll_num(&r, sqlite3_column_double(st, 4), sqlite3_column_int64(st, 5),
                 sqlite3_column_double(st, 6), sqlite3_column_int64(st, 7),
                 sqlite3_column_double(st, 8), sqlite3_column_int64(st, 9));
        r.sum += sqlite3_column_double(st, 3);
        r.nv += nv;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return -1;
    return roll_put(put, del, tag, bucket, &r);
}

/* Writer thread: one transaction for the batch and the rollups it touches.
 * On failure nothing of it is in the file, and the caller keeps the batch
 * (and the new tags) to commit again. */
static int commit_batch(hist_db *h, hrec *b, size_t n, tbucket *tb)
{
    if (exec_sql(h->db, "BEGIN") < 0)
        goto fail;
    for (size_t i = 0; i < h->n_wtags; i++) {
        sqlite3_bind_int64(h->ins_tag, 1, h->wtags[i].id);
        sqlite3_bind_text(h->ins_tag, 2, h->wtags[i].name, -1, SQLITE_STATIC);
        if (step_done(h->ins_tag) < 0)
            goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        if (bind_sample(h->ins_sample, &b[i]) < 0)
            goto fail;
        tb[i] = (tbucket){b[i].tag, floor_to(b[i].ts, MIN_NS)};
    }
    size_t nm = tbucket_unique(tb, n);
    size_t nh = 0;
    for (size_t i = 0; i < nm; i++) {
        /* retention already removed some of this minute's raw samples */
        if (tb[i].bucket < h->raw_cutoff)
            continue;
        if (rebuild_1m(h, tb[i].tag, tb[i].bucket) < 0)
            goto fail;
        tb[nh++] = (tbucket){tb[i].tag, floor_to(tb[i].bucket, TENMIN_NS)};
    }
    /* the 10 minutes and hours are rebuilt later (hours_pass); the list
     * of the 10 minutes waiting is committed with the samples, so a crash
     * cannot lose it */
    nh = tbucket_unique(tb, nh);
    for (size_t i = 0; i < nh; i++) {
        sqlite3_bind_int64(h->ins_dirty, 1, tb[i].tag);
        sqlite3_bind_int64(h->ins_dirty, 2, tb[i].bucket);
        if (step_done(h->ins_dirty) < 0)
            goto fail;
    }
    if (exec_sql(h->db, "COMMIT") < 0)
        goto fail;
    h->n_wtags = 0;
    h->ok_ops |= HIST_OP_COMMIT;
    return 0;
fail:
    hist_note_fail(h, HIST_OP_COMMIT, "commit");
    exec_sql(h->db, "ROLLBACK");
    return -1;
}

/* Writer thread (and hist_open): rebuilds every 10 minutes listed in
 * rollup_dirty, and the hours holding them, from their minute rows, in one
 * transaction; on failure the list stays in the file for the next pass. */
static int hours_pass(hist_db *h)
{
    tbucket *d = NULL;
    size_t n = 0, cap = 0;
    if (exec_sql(h->db, "BEGIN") < 0)
        goto fail;
    int rc;
    while ((rc = sqlite3_step(h->sel_dirty)) == SQLITE_ROW) {
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 256;
            tbucket *x = realloc(d, nc * sizeof *x);
            if (!x) {
                rc = SQLITE_NOMEM;
                break;
            }
            d = x;
            cap = nc;
        }
        d[n++] = (tbucket){(uint32_t)sqlite3_column_int64(h->sel_dirty, 0),
                           sqlite3_column_int64(h->sel_dirty, 1)};
    }
    sqlite3_reset(h->sel_dirty);
    if (rc != SQLITE_DONE)
        goto fail;
    /* d is in (tag, bucket) order (the table's key), so each hour's
     * ten-minute buckets are next to each other */
    size_t nh = 0;
    for (size_t i = 0; i < n; i++) {
        /* retention already removed some of these minutes */
        if (d[i].bucket < h->m1_cutoff)
            continue;
        if (rebuild_from_1m(h, d[i].tag, d[i].bucket, TENMIN_NS, h->put_10m,
                            h->del_10m) < 0)
            goto fail;
        tbucket hr = {d[i].tag, floor_to(d[i].bucket, HOUR_NS)};
        if (nh == 0 || d[nh - 1].tag != hr.tag || d[nh - 1].bucket != hr.bucket)
            d[nh++] = hr;
    }
    for (size_t i = 0; i < nh; i++)
        if (d[i].bucket >= h->m1_cutoff &&
            rebuild_from_1m(h, d[i].tag, d[i].bucket, HOUR_NS, h->put_1h,
                            h->del_1h) < 0)
            goto fail;
    if (exec_sql(h->db, "DELETE FROM rollup_dirty") < 0 ||
        exec_sql(h->db, "COMMIT") < 0)
        goto fail;
    free(d);
    h->ok_ops |= HIST_OP_HOURS;
    return 0;
fail:
    hist_note_fail(h, HIST_OP_HOURS, "hourly rollup");
    exec_sql(h->db, "ROLLBACK");
    free(d);
    return -1;
}

/* Writer thread: sets up a retention run over every tag id in the database
 * (whoever wrote them).  -1 when they cannot be read; the run is then
 * started again after the back-off. */
static int retention_start(hist_db *h, int64_t now, bool by_request)
{
    h->ret_cut[0] = now - (int64_t)h->raw_days * DAY_NS;
    /* a rollup row goes only when its whole bucket is older than the cut */
    h->ret_cut[1] = now - (int64_t)h->m1_days * DAY_NS - MIN_NS + 1;
    h->ret_cut[2] = now - (int64_t)h->m10_days * DAY_NS - TENMIN_NS + 1;
    h->ret_cut[3] = now - (int64_t)h->h1_days * DAY_NS - HOUR_NS + 1;
    h->ret_table = 0;
    h->ret_tag_i = 0;
    h->ret_deleted = 0;
    h->ret_ntags = 0;
    free(h->ret_tags);
    h->ret_tags = NULL;
    sqlite3_stmt *st;
    size_t cap = 0;
    if (sqlite3_prepare_v2(h->db, "SELECT id FROM tags ORDER BY id", -1, &st,
                           NULL) != SQLITE_OK)
        goto fail;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (h->ret_ntags == cap) {
            size_t nc = cap ? cap * 2 : 64;
            uint32_t *n = realloc(h->ret_tags, nc * sizeof *n);
            if (!n) {
                rc = SQLITE_NOMEM;
                break;
            }
            h->ret_tags = n;
            cap = nc;
        }
        h->ret_tags[h->ret_ntags++] = (uint32_t)sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        goto fail;
    h->raw_cutoff = h->ret_cut[0];
    h->m1_cutoff = h->ret_cut[1] + MIN_NS - 1;
    h->ret_active = true;
    h->ret_by_request = by_request;
    h->ok_ops |= HIST_OP_RETENTION;
    return 0;
fail:
    hist_note_fail(h, HIST_OP_RETENTION, "retention");
    return -1;
}

/* Writer thread: deletes one slice (its own transaction); moves on to the
 * next tag or table when a slice comes back short.  A failed slice is
 * tried again (same tag, same table) after the back-off. */
static int retention_slice(hist_db *h)
{
    if (h->ret_table >= HIST_TABLES) {
        h->ret_active = false;
        return 0;
    }
    if (h->ret_tag_i >= h->ret_ntags) {
        h->ret_table++;
        h->ret_tag_i = 0;
        if (h->ret_table >= HIST_TABLES)
            h->ret_active = false;
        return 0;
    }
    sqlite3_stmt *st = h->del_slice[h->ret_table];
    sqlite3_bind_int64(st, 1, h->ret_tags[h->ret_tag_i]);
    sqlite3_bind_int64(st, 2, h->ret_cut[h->ret_table]);
    sqlite3_bind_int(st, 3, HIST_SLICE_ROWS);
    if (step_done(st) < 0) {
        hist_note_fail(h, HIST_OP_RETENTION, "retention");
        return -1;
    }
    h->ok_ops |= HIST_OP_RETENTION;
    int n = sqlite3_changes(h->db);
    h->ret_deleted += n;
    pthread_mutex_lock(&h->mu);
    h->st.retention_deleted += (uint64_t)n;
    pthread_mutex_unlock(&h->mu);
    if (n < HIST_SLICE_ROWS)
        h->ret_tag_i++;
    return 0;
}

static struct timespec abs_after_ns(int64_t ns)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    int64_t x = (int64_t)t.tv_nsec + ns;
    t.tv_sec += x / NS_PER_S;
    t.tv_nsec = x % NS_PER_S;
    return t;
}

/* mu held: moves the oldest queued samples into the writer's batch, with
 * the tag names first used by them. */
static void hist_take_batch(hist_db *h)
{
    h->n_batch = ring_pop(&h->q, h->batch, HIST_BATCH_MAX);
    h->inflight = h->n_batch;
    /* new tag names travel with the batch that first uses them */
    if (h->n_wtags + h->n_newtags > h->wtags_cap) {
        size_t nc = h->n_wtags + h->n_newtags + 64;
        hnewtag *w = realloc(h->wtags, nc * sizeof *w);
        if (w) {
            h->wtags = w;
            h->wtags_cap = nc;
        }
    }
    if (h->n_newtags && h->n_wtags + h->n_newtags <= h->wtags_cap) {
        memcpy(h->wtags + h->n_wtags, h->newtags,
               h->n_newtags * sizeof *h->newtags);
        h->n_wtags += h->n_newtags;
        h->n_newtags = 0;
    }
}

static void hist_free_strings(hrec *r, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (r[i].kind == VAL_STR)
            free(r[i].x.s);
}

static void *hist_writer_main(void *arg)
{
    hist_db *h = arg;
    pthread_setname_np(pthread_self(), "hist-writer");
    uint64_t next_ret = clk_mono_ns() + HIST_RET_FIRST_NS;
    uint64_t first_queued = 0;  /* when the oldest queued sample was seen */
    uint64_t last_hours = 0;    /* when hours_pass last ran */
    uint64_t retry_at = 0;      /* after a failed write: none before this */
    uint64_t give_up = 0;       /* closing: when to stop retrying */

    pthread_mutex_lock(&h->mu);
    for (;;) {
        uint64_t now = clk_mono_ns();
        size_t queued = ring_len(&h->q);
        if (queued > 0 && first_queued == 0)
            first_queued = now;
        if (h->stop && give_up == 0) {
            /* closing: one attempt at once, then retries at the usual
             * pace for a short while */
            give_up = now + HIST_CLOSE_GRACE_NS;
            if (retry_at > now)
                retry_at = now;
        }
        bool have = h->n_batch > 0 || queued > 0;
        if (h->stop &&
            (!(have || h->hours_dirty) ||
             ((h->failing & (HIST_OP_COMMIT | HIST_OP_HOURS)) &&
              now >= give_up)))
            break;      /* an unfinished retention resumes after reopening */
        /* a batch being retried is due as soon as the back-off allows */
        bool batch_due = have &&
            (h->n_batch > 0 || queued >= HIST_BATCH_MAX ||
             h->flush_waiters > 0 || h->stop ||
             now - first_queued >= (uint64_t)HIST_BATCH_NS);
        bool ret_due = !h->stop && !h->ret_active &&
            (h->ret_req || now >= next_ret);
        /* hours are rebuilt every few seconds, and at once when someone
         * waits for them (flush, close, retention) */
        bool hours_urgent = h->flush_waiters > 0 || h->stop || h->ret_req ||
            now - last_hours >= (uint64_t)HIST_HOURS_NS;
        bool hours_due = (h->hours_dirty || batch_due) && hours_urgent;
        bool slice_due = h->ret_active && !h->stop;
        bool work = batch_due || ret_due || hours_due || slice_due;
        if (!work || now < retry_at) {
            int64_t wait = NS_PER_S;
            if (now < retry_at) {
                wait = (int64_t)(retry_at - now);
            } else {
                if (queued > 0)
                    wait = HIST_BATCH_NS - (int64_t)(now - first_queued);
                if (wait > (int64_t)(next_ret - now))
                    wait = (int64_t)(next_ret - now);
                if (h->hours_dirty &&
                    wait > HIST_HOURS_NS - (int64_t)(now - last_hours))
                    wait = HIST_HOURS_NS - (int64_t)(now - last_hours);
            }
            if (h->stop && wait > (int64_t)(give_up - now))
                wait = (int64_t)(give_up - now);
            if (wait > NS_PER_S)
                wait = NS_PER_S;
            struct timespec ts = abs_after_ns(wait > 0 ? wait : 0);
            pthread_cond_timedwait(&h->wake, &h->mu, &ts);
            continue;
        }
        if (batch_due && h->n_batch == 0) {
            hist_take_batch(h);
            first_queued = ring_len(&h->q) > 0 ? now : 0;
        }
        size_t n = batch_due ? h->n_batch : 0;
        uint64_t round = ++h->rounds;
        bool take_req = false;
        int64_t req_now = 0;
        if (ret_due) {
            take_req = h->ret_req;
            req_now = h->ret_req_now;
            h->ret_req = false;
        }
        pthread_mutex_unlock(&h->mu);

        /* Everything fails together on a full disk: after the first
         * failure the rest of the round waits for the retry. */
        bool failed = false, committed = false, hours_ok = false;
        bool req_failed = false;
        if (n > 0) {
            committed = commit_batch(h, h->batch, n, h->tb) == 0;
            failed = !committed;
        }
        if (hours_due && !failed) {
            hours_ok = hours_pass(h) == 0;
            failed = !hours_ok;
            last_hours = clk_mono_ns();
        }
        if (ret_due && !failed) {
            int64_t at = take_req ? req_now : clk_real_ns();
            failed = retention_start(h, at, take_req) < 0;
            req_failed = failed && take_req;
            if (!failed && !take_req)
                next_ret = clk_mono_ns() + HIST_RET_EVERY_NS;
        } else if (ret_due) {
            req_failed = take_req;      /* the disk is failing: say so */
        }
        bool ret_finished = false;
        if (slice_due && h->ret_active && !failed) {
            if (retention_slice(h) < 0) {
                failed = true;
                req_failed = h->ret_by_request;
                /* the caller hears of it now; the run goes on by itself */
                h->ret_by_request = false;
            }
            ret_finished = !h->ret_active;
        }
        if (committed)
            hist_free_strings(h->batch, n);
        if (failed)
            retry_at = clk_mono_ns() + backoff_next(&h->bo);
        else
            backoff_reset(&h->bo);
        int cache_now = 0, cache_hi;
        sqlite3_db_status(h->db, SQLITE_DBSTATUS_CACHE_USED, &cache_now,
                          &cache_hi, 0);

        pthread_mutex_lock(&h->mu);
        if (committed) {
            h->done_seq += n;
            h->st.written += n;
            h->st.commits++;
            h->st.last_commit_ns = clk_real_ns();
            h->n_batch = 0;
            h->inflight = 0;
            h->hours_dirty = true;
        }
        if (hours_ok) {
            h->hours_seq = h->done_seq;
            h->hours_dirty = false;
        }
        hist_note_outcomes(h, round);
        h->st.cache_bytes = (size_t)cache_now;
        if (req_failed) {
            h->ret_result = -1;
            h->ret_gen++;
        } else if (ret_finished && h->ret_by_request) {
            h->ret_result = h->ret_deleted;
            h->ret_gen++;
        }
        pthread_cond_broadcast(&h->done);
    }
    /* Closing on a disk that stays full: what is still queued is lost.
     * The caller saw it in hist_get_stats (queued, last_error) after its
     * hist_flush failed, and logs it from there. */
    size_t lost = ring_len(&h->q) + h->n_batch;
    h->st.dropped += lost;
    pthread_mutex_unlock(&h->mu);
    return NULL;
}

/* ---- public: lifecycle and writing -------------------------------------- */

static void hist_destroy(hist_db *h)
{
    sqlite3_finalize(h->ins_sample);
    sqlite3_finalize(h->ins_tag);
    sqlite3_finalize(h->sel_raw);
    sqlite3_finalize(h->sel_1m);
    sqlite3_finalize(h->put_1m);
    sqlite3_finalize(h->put_1h);
    sqlite3_finalize(h->del_1m);
    sqlite3_finalize(h->del_1h);
    sqlite3_finalize(h->put_10m);
    sqlite3_finalize(h->del_10m);
    sqlite3_finalize(h->ins_dirty);
    sqlite3_finalize(h->sel_dirty);
    for (int t = 0; t < HIST_TABLES; t++)
        sqlite3_finalize(h->del_slice[t]);
    sqlite3_close(h->db);
    for (size_t i = 0; i < ring_len(&h->q); i++)
        hist_free_strings(ring_at(&h->q, i), 1);
    ring_free(&h->q);
    if (h->batch)
        hist_free_strings(h->batch, h->n_batch);
    free(h->batch);
    free(h->tb);
    for (size_t i = 0; i < h->n_names; i++)
        free(h->names[i]);
    free(h->names);
    free(h->ids);
    free(h->slots);
    free(h->newtags);
    free(h->wtags);
    free(h->ret_tags);
    free(h->path);
    pthread_mutex_destroy(&h->mu);
    pthread_cond_destroy(&h->wake);
    pthread_cond_destroy(&h->done);
    free(h);
}

hist_db *hist_open(const hist_opts *o, char *err, size_t errlen)
{
    if (!o || !o->path || !*o->path) {
        snprintf(err, errlen, "history: no database path");
        return NULL;
    }
    if (o->raw_days < 0 || o->rollup_1m_days < 0 || o->rollup_10m_days < 0 ||
        o->rollup_1h_days < 0) {
        snprintf(err, errlen, "%s: retention days must not be negative",
                 o->path);
        return NULL;
    }
    hist_db *h = calloc(1, sizeof *h);
    if (!h) {
        snprintf(err, errlen, "%s: out of memory", o->path);
        return NULL;
    }
    pthread_mutex_init(&h->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&h->wake, &ca);
    pthread_condattr_destroy(&ca);
    pthread_cond_init(&h->done, NULL);
    h->path = strdup(o->path);
    if (o->read_only) {
        /* Queries open their own read-only connections: nothing to set
         * up, and nothing that could write to a database the daemon is
         * writing at the same time. */
        if (!h->path || access(h->path, R_OK) != 0) {
            snprintf(err, errlen, "%s: no history to read: %s", o->path,
                     h->path ? strerror(errno) : "out of memory");
            hist_destroy(h);
            return NULL;
        }
        return h;
    }
    h->raw_days = o->raw_days ? o->raw_days : 30;
    h->m1_days = o->rollup_1m_days ? o->rollup_1m_days : 400;
    h->m10_days = o->rollup_10m_days ? o->rollup_10m_days : 1100;
    h->h1_days = o->rollup_1h_days ? o->rollup_1h_days : 3650;
    h->cap = o->queue_cap ? o->queue_cap : 1000000;
    h->next_id = 1;
    h->raw_cutoff = INT64_MIN;
    h->m1_cutoff = INT64_MIN;
    backoff_init(&h->bo, HIST_RETRY_MIN_NS, HIST_RETRY_MAX_NS,
                 (uint64_t)(uintptr_t)h ^ clk_mono_ns());
    /* The batch buffers are touched only as far as batches reach; the
     * ring grows with what is actually queued. */
    h->batch = malloc(HIST_BATCH_MAX * sizeof *h->batch);
    h->tb = malloc(HIST_BATCH_MAX * sizeof *h->tb);
    if (!h->path || !h->batch || !h->tb ||
        ring_init(&h->q, sizeof(hrec), HIST_RING_MIN, h->cap) < 0) {
        snprintf(err, errlen, "%s: out of memory", o->path);
        hist_destroy(h);
        return NULL;
    }
    char *failed = NULL;
    if (fs_mkdirs_for(h->path, 0755, &failed) < 0) {
        int e = errno;
        snprintf(err, errlen, "%s: cannot create directory%s%s: %s", o->path,
                 failed ? " " : "", failed ? failed : "", strerror(e));
        free(failed);
        hist_destroy(h);
        return NULL;
    }
    if (db_setup(h) < 0) {
        snprintf(err, errlen, "%s: %s", o->path,
                 h->fail_msg[0] ? h->fail_msg
                 : h->db ? sqlite3_errmsg(h->db) : "out of memory");
        hist_destroy(h);
        return NULL;
    }
    /* Hours a previous run left waiting (it stopped between a commit and
     * the hourly rebuild) are rebuilt before anything new arrives; if that
     * fails (a full disk) the writer tries again like any failed write. */
    if (hours_pass(h) < 0)
        h->hours_dirty = true;
    pthread_mutex_lock(&h->mu);
    hist_note_outcomes(h, 0);
    pthread_mutex_unlock(&h->mu);
    if (pthread_create(&h->thread, NULL, hist_writer_main, h) != 0) {
        snprintf(err, errlen, "%s: cannot start the writer thread", o->path);
        hist_destroy(h);
        return NULL;
    }
    h->thread_started = true;
    return h;
}

void hist_close(hist_db *h)
{
    if (!h)
        return;
    pthread_mutex_lock(&h->mu);
    h->stop = true;
    pthread_cond_signal(&h->wake);
    pthread_mutex_unlock(&h->mu);
    if (h->thread_started)
        pthread_join(h->thread, NULL);
    hist_destroy(h);
}

size_t hist_submit(hist_db *h, const hist_sample *s, size_t n)
{
    size_t ok = 0;
    pthread_mutex_lock(&h->mu);
    h->st.submitted += n;
    for (size_t i = 0; i < n && ring_len(&h->q) + h->inflight < h->cap;
         i++) {
        if (!s[i].tag || (unsigned)s[i].s.v.kind > VAL_STR)
            continue;
        uint32_t id = intern(h, s[i].tag);
        if (id == 0)
            continue;
        const val_sample *v = &s[i].s;
        hrec r = {.ts = v->ts_ns, .tag = id, .kind = (uint8_t)v->v.kind,
                  .q = (uint8_t)v->q, .exc = v->exc};
        switch (v->v.kind) {
        case VAL_BOOL: r.x.i = v->v.b ? 1 : 0; break;
        case VAL_INT: r.x.i = v->v.i; break;
        case VAL_UINT: r.x.u = v->v.u; break;
        case VAL_REAL: r.x.d = v->v.d; break;
        case VAL_STR:
            r.x.s = strndup(v->v.s, VAL_STR_MAX);
            if (!r.x.s)
                continue;
            break;
        case VAL_NONE: break;
        }
        if (ring_push(&h->q, &r) < 0) {         /* out of memory */
            hist_free_strings(&r, 1);
            break;
        }
        ok++;
    }
    h->accepted_seq += ok;
    h->st.dropped += n - ok;
    if (ring_len(&h->q) >= HIST_BATCH_MAX)
        pthread_cond_signal(&h->wake);
    pthread_mutex_unlock(&h->mu);
    return ok;
}

int hist_flush(hist_db *h)
{
    if (!h->thread_started)
        return 0;                       /* read-only: nothing to flush */
    pthread_mutex_lock(&h->mu);
    uint64_t target = h->accepted_seq;
    /* Only a round that starts after this call counts as a failure: one
     * already under way may have met the disk before it got room. */
    uint64_t after = h->rounds;
    h->flush_waiters++;
    pthread_cond_signal(&h->wake);
    bool done;
    while (!(done = h->done_seq >= target &&
                    !(h->hours_dirty && h->hours_seq < target)) &&
           h->failed_round <= after)
        pthread_cond_wait(&h->done, &h->mu);
    h->flush_waiters--;
    pthread_mutex_unlock(&h->mu);
    return done ? 0 : -1;
}

void hist_get_stats(hist_db *h, hist_stats *out)
{
    pthread_mutex_lock(&h->mu);
    *out = h->st;
    out->queued = ring_len(&h->q) + h->inflight;
    out->queue_bytes = ring_bytes(&h->q);
    out->queue_max_bytes = h->cap * sizeof(hrec);
    out->cache_max_bytes = h->thread_started ? HIST_CACHE_KIB * 1024 : 0;
    pthread_mutex_unlock(&h->mu);
}

long hist_retention_run(hist_db *h, int64_t now_ns)
{
    if (!h->thread_started)
        return -1;                      /* read-only: never deletes */
    pthread_mutex_lock(&h->mu);
    /* one request at a time */
    while (h->ret_req)
        pthread_cond_wait(&h->done, &h->mu);
    uint64_t gen = h->ret_gen;
    h->ret_req = true;
    h->ret_req_now = now_ns;
    pthread_cond_signal(&h->wake);
    while (h->ret_gen == gen)
        pthread_cond_wait(&h->done, &h->mu);
    long r = h->ret_result;
    pthread_mutex_unlock(&h->mu);
    return r;
}

/* ---- queries ------------------------------------------------------------ */

static sqlite3 *open_reader(const hist_db *h, char *err, size_t errlen)
{
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(h->path, &db, SQLITE_OPEN_READONLY |
                        SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "%s: %s", h->path,
                 db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return NULL;
    }
    sqlite3_busy_timeout(db, 5000);
    exec_sql(db, "PRAGMA mmap_size=1073741824");
    return db;
}

static int q_error(sqlite3 *db, char *err, size_t errlen, const char *what)
{
    snprintf(err, errlen, "%s: %s", what, sqlite3_errmsg(db));
    return -1;
}

/* 0 unknown tag, -1 error, else the id. */
static int64_t tag_id(sqlite3 *db, const char *name)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT id FROM tags WHERE name = ?", -1, &st,
                           NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    int64_t id = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0)
                                  : rc == SQLITE_DONE ? 0 : -1;
    sqlite3_finalize(st);
    return id;
}

typedef struct {
    hist_series *s;
    size_t cap;
} sbuf;

static int push_point(sbuf *b, int64_t ts, double v)
{
    hist_series *s = b->s;
    if (s->n == b->cap) {
        size_t nc = b->cap ? b->cap * 2 : 256;
        int64_t *t = realloc(s->ts, nc * sizeof *t);
        if (!t)
            return -1;
        s->ts = t;
        double *d = realloc(s->v, nc * sizeof *d);
        if (!d)
            return -1;
        s->v = d;
        b->cap = nc;
    }
    s->ts[s->n] = ts;
    s->v[s->n] = v;
    s->n++;
    return 0;
}

/* One query bucket being filled. */
typedef struct {
    bool any, good;
    int64_t first_ts;
    double min, max;
    int64_t min_ts, max_ts;
} qbucket;

static int emit_bucket(sbuf *b, const qbucket *q)
{
    if (!q->any)
        return 0;
    if (!q->good)
        return push_point(b, q->first_ts, NAN);
    if (q->min_ts == q->max_ts || q->min == q->max)
        return push_point(b, q->min_ts, q->min);
    if (q->min_ts < q->max_ts)
        return push_point(b, q->min_ts, q->min) < 0 ? -1
             : push_point(b, q->max_ts, q->max);
    return push_point(b, q->max_ts, q->max) < 0 ? -1
         : push_point(b, q->min_ts, q->min);
}

static void bucket_add(qbucket *q, int64_t ts, bool good, double mn,
                       int64_t mn_ts, double mx, int64_t mx_ts)
{
    if (!q->any) {
        q->any = true;
        q->first_ts = ts;
    }
    if (!good)
        return;
    if (!q->good || mn < q->min) {
        q->min = mn;
        q->min_ts = mn_ts;
    }
    if (!q->good || mx > q->max) {
        q->max = mx;
        q->max_ts = mx_ts;
    }
    q->good = true;
}

/* Estimated raw samples of a tag in [from, to), from the hourly counts. */
static int estimate_raw(sqlite3 *db, int64_t id, int64_t from, int64_t to,
                        double *out)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT bucket, n FROM rollup_1h WHERE tag = ?"
                           " AND bucket >= ? AND bucket < ?", -1, &st, NULL)
        != SQLITE_OK)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, floor_to(from, HOUR_NS));
    sqlite3_bind_int64(st, 3, to);
    double est = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t b = sqlite3_column_int64(st, 0);
        int64_t lo = b > from ? b : from;
        int64_t hi = b + HOUR_NS < to ? b + HOUR_NS : to;
        if (hi > lo)
            est += (double)sqlite3_column_int64(st, 1) *
                   (double)(hi - lo) / (double)HOUR_NS;
    }
    sqlite3_finalize(st);
    *out = est;
    return rc == SQLITE_DONE ? 0 : -1;
}

/* Raw samples: all of them when they fit in `points`, else min/max per
 * bucket. */
static int query_raw(sqlite3 *db, int64_t id, int64_t from, int64_t to,
                     size_t points, size_t nb, int64_t w, sbuf *b)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT ts, CASE WHEN quality = 1 AND kind"
                           " BETWEEN 1 AND 4 THEN value END FROM samples"
                           " WHERE tag = ? AND ts >= ? AND ts < ? ORDER BY ts",
                           -1, &st, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, from);
    sqlite3_bind_int64(st, 3, to);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        double v = sqlite3_column_type(st, 1) == SQLITE_NULL
                   ? NAN : sqlite3_column_double(st, 1);
        if (push_point(b, sqlite3_column_int64(st, 0), v) < 0) {
            rc = SQLITE_NOMEM;
            break;
        }
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return -1;
    hist_series *s = b->s;
    if (s->n <= points)
        return 0;
    /* downsample in place: the output never overtakes the input */
    size_t n_in = s->n, out = 0, cur = SIZE_MAX;
    qbucket q = {0};
    for (size_t i = 0; i < n_in; i++) {
        int64_t ts = s->ts[i];
        double v = s->v[i];
        size_t k = (size_t)((ts - from) / w);
        if (k >= nb)
            k = nb - 1;
        if (k != cur) {
            s->n = out;
            if (emit_bucket(b, &q) < 0)
                return -1;
            out = s->n;
            q = (qbucket){0};
            cur = k;
        }
        bucket_add(&q, ts, !isnan(v), v, ts, v, ts);
    }
    s->n = out;
    return emit_bucket(b, &q);
}

static int query_rollup(sqlite3 *db, const char *table, int64_t width,
                        int64_t id, int64_t from, int64_t to, size_t nb,
                        sbuf *b)
{
    char sql[200];
    snprintf(sql, sizeof sql, "SELECT bucket, nv, min, min_ts, max, max_ts"
             " FROM %s WHERE tag = ? AND bucket >= ? AND bucket < ?"
             " ORDER BY bucket", table);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return -1;
    /* query buckets are runs of whole rollup rows (R rows shared out as
     * evenly as possible), so none straddles two buckets and there are
     * min(nb, R) of them */
    int64_t origin = floor_to(from, width);
    int64_t rows = (to - origin + width - 1) / width;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, origin);
    sqlite3_bind_int64(st, 3, to);
    size_t cur = SIZE_MAX;
    qbucket q = {0};
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t bk = sqlite3_column_int64(st, 0);
        size_t k = (size_t)((bk - origin) / width * (int64_t)nb / rows);
        if (k >= nb)
            k = nb - 1;
        if (k != cur) {
            if (emit_bucket(b, &q) < 0) {
                rc = SQLITE_NOMEM;
                break;
            }
            q = (qbucket){0};
            cur = k;
        }
        bool good = sqlite3_column_int64(st, 1) > 0;
        bucket_add(&q, bk, good, sqlite3_column_double(st, 2),
                   sqlite3_column_int64(st, 3), sqlite3_column_double(st, 4),
                   sqlite3_column_int64(st, 5));
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return -1;
    return emit_bucket(b, &q);
}

/* Where the 10-minute rollups begin to hold whole buckets: INT64_MIN in
 * a database made with them, the upgrade's time in one upgraded from
 * version 1, INT64_MAX when there are none yet (a version-1 database read
 * by a tool before a bridge has opened it). */
static int64_t rollup_10m_from(sqlite3 *db)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT value FROM meta"
                           " WHERE key = 'rollup_10m_from'", -1, &st, NULL)
        != SQLITE_OK)
        return INT64_MAX;
    int64_t from = INT64_MIN;
    if (sqlite3_step(st) == SQLITE_ROW)
        from = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return from;
}

int hist_query(hist_db *h, const char *const *tags, size_t n_tags,
               int64_t from_ns, int64_t to_ns, size_t points,
               hist_result **out, char *err, size_t errlen)
{
    *out = NULL;
    if (to_ns <= from_ns) {
        snprintf(err, errlen, "history query: empty time range");
        return -1;
    }
    hist_result *r = calloc(1, sizeof *r);
    if (!r || (n_tags && !(r->series = calloc(n_tags, sizeof *r->series)))) {
        free(r);
        snprintf(err, errlen, "history query: out of memory");
        return -1;
    }
    sqlite3 *db = open_reader(h, err, errlen);
    if (!db) {
        free(r->series);
        free(r);
        return -1;
    }
    size_t nb = points / 2 ? points / 2 : 1;
    int64_t span = to_ns - from_ns;
    int64_t w = span / (int64_t)nb + (span % (int64_t)nb != 0);
    int64_t now = clk_real_ns();
    int64_t raw_horizon = now - (int64_t)h->raw_days * DAY_NS;
    int64_t m1_horizon = now - (int64_t)h->m1_days * DAY_NS;
    int64_t m10_from = rollup_10m_from(db);
    int64_t m10_horizon = now - (int64_t)h->m10_days * DAY_NS;
    if (m10_from < m10_horizon)
        m10_from = m10_horizon;
    int rc = 0;
    for (size_t i = 0; i < n_tags && rc == 0; i++) {
        hist_series *s = &r->series[i];
        r->n_series++;
        s->source = "raw";
        if (!(s->tag = strdup(tags[i]))) {
            snprintf(err, errlen, "history query: out of memory");
            rc = -1;
            break;
        }
        int64_t id = tag_id(db, tags[i]);
        if (id < 0) {
            rc = q_error(db, err, errlen, "history query");
            break;
        }
        if (id == 0)
            continue;   /* never recorded: an empty series */
        bool raw_kept = from_ns >= raw_horizon;
        double est = 0;
        if (raw_kept && estimate_raw(db, id, from_ns, to_ns, &est) < 0) {
            rc = q_error(db, err, errlen, "history query");
            break;
        }
        double scan_max = points > HIST_RAW_SCAN_MAX ? (double)points
                                                     : HIST_RAW_SCAN_MAX;
        if (raw_kept && est <= scan_max)
            s->source = "raw";
        else if (span / HOUR_NS >= (int64_t)nb)
            s->source = "1h";
        else if (span / TENMIN_NS >= (int64_t)nb && from_ns >= m10_from)
            s->source = "10m";
        else if (span / MIN_NS >= (int64_t)nb)
            s->source = "1m";
        else if (raw_kept)
            s->source = "raw";           /* the rollups would be too coarse */
        else
            s->source = from_ns >= m1_horizon ? "1m"
                      : from_ns >= m10_from ? "10m" : "1h";
        sbuf b = {s, 0};
        int q;
        if (s->source[0] == 'r')
            q = query_raw(db, id, from_ns, to_ns, points, nb, w, &b);
        else if (strcmp(s->source, "1m") == 0)
            q = query_rollup(db, "rollup_1m", MIN_NS, id, from_ns, to_ns, nb,
                             &b);
        else if (strcmp(s->source, "10m") == 0)
            q = query_rollup(db, "rollup_10m", TENMIN_NS, id, from_ns, to_ns,
                             nb, &b);
        else
            q = query_rollup(db, "rollup_1h", HOUR_NS, id, from_ns, to_ns, nb,
                             &b);
        if (q < 0)
            rc = q_error(db, err, errlen, "history query");
    }
    sqlite3_close(db);
    if (rc < 0) {
        hist_result_free(r);
        return -1;
    }
    *out = r;
    return 0;
}

void hist_result_free(hist_result *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_series; i++) {
        free(r->series[i].tag);
        free(r->series[i].ts);
        free(r->series[i].v);
    }
    free(r->series);
    free(r);
}

/* Reads one row of the raw cursor back into a val_sample. */
static void row_sample(sqlite3_stmt *st, val_sample *s)
{
    memset(s, 0, sizeof *s);
    s->ts_ns = sqlite3_column_int64(st, 0);
    s->v.kind = (val_kind)sqlite3_column_int(st, 1);
    switch (s->v.kind) {
    case VAL_BOOL: s->v.b = sqlite3_column_int64(st, 2) != 0; break;
    case VAL_INT: s->v.i = sqlite3_column_int64(st, 2); break;
    case VAL_UINT: {
        const char *t = (const char *)sqlite3_column_text(st, 3);
        char *end;
        errno = 0;
        s->v.u = t ? strtoull(t, &end, 10) : 0;
        break;
    }
    case VAL_REAL: s->v.d = sqlite3_column_double(st, 2); break;
    case VAL_STR: {
        const char *t = (const char *)sqlite3_column_text(st, 3);
        snprintf(s->v.s, sizeof s->v.s, "%s", t ? t : "");
        break;
    }
    case VAL_NONE: break;
    default: s->v.kind = VAL_NONE; break;
    }
    s->q = (val_quality)sqlite3_column_int(st, 4);
    s->exc = (uint8_t)sqlite3_column_int(st, 5);
}

int hist_each_raw(hist_db *h, const char *const *tags, size_t n_tags,
                  int64_t from_ns, int64_t to_ns,
                  int (*cb)(void *ctx, const char *tag, const val_sample *s),
                  void *ctx, char *err, size_t errlen)
{
    sqlite3 *db = open_reader(h, err, errlen);
    if (!db)
        return -1;
    /* one cursor per tag on the primary key, merged by time: streams any
     * range without sorting it */
    sqlite3_stmt **cur = calloc(n_tags ? n_tags : 1, sizeof *cur);
    bool *live = calloc(n_tags ? n_tags : 1, sizeof *live);
    int rc = 0;
    if (!cur || !live) {
        snprintf(err, errlen, "history export: out of memory");
        rc = -1;
        goto out;
    }
    for (size_t i = 0; i < n_tags; i++) {
        int64_t id = tag_id(db, tags[i]);
        if (id < 0) {
            rc = q_error(db, err, errlen, "history export");
            goto out;
        }
        if (id == 0)
            continue;
        if (sqlite3_prepare_v2(db, "SELECT ts, kind, value, text, quality, exc"
                               " FROM samples WHERE tag = ? AND ts >= ?"
                               " AND ts < ? ORDER BY ts", -1, &cur[i], NULL)
            != SQLITE_OK) {
            rc = q_error(db, err, errlen, "history export");
            goto out;
        }
        sqlite3_bind_int64(cur[i], 1, id);
        sqlite3_bind_int64(cur[i], 2, from_ns);
        sqlite3_bind_int64(cur[i], 3, to_ns);
        int s = sqlite3_step(cur[i]);
        if (s != SQLITE_ROW && s != SQLITE_DONE) {
            rc = q_error(db, err, errlen, "history export");
            goto out;
        }
        live[i] = s == SQLITE_ROW;
    }
    for (;;) {
        size_t best = SIZE_MAX;
        int64_t best_ts = 0;
        for (size_t i = 0; i < n_tags; i++) {
            if (!live[i])
                continue;
            int64_t ts = sqlite3_column_int64(cur[i], 0);
            if (best == SIZE_MAX || ts < best_ts) {
                best = i;
                best_ts = ts;
            }
        }
        if (best == SIZE_MAX)
            break;
        val_sample s;
        row_sample(cur[best], &s);
        if (cb(ctx, tags[best], &s) != 0)
            break;
        int st = sqlite3_step(cur[best]);
        if (st != SQLITE_ROW && st != SQLITE_DONE) {
            rc = q_error(db, err, errlen, "history export");
            goto out;
        }
        live[best] = st == SQLITE_ROW;
    }
out:
    if (cur)
        for (size_t i = 0; i < n_tags; i++)
            sqlite3_finalize(cur[i]);
    free(cur);
    free(live);
    sqlite3_close(db);
    return rc;
}
