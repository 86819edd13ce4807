/*
 * journal.h - the alarm journal: every record the engine emits, committed
 * to SQLite in order by a thread of its own before anything shows it.
 *
 * The file (alarm_journal.path, default <data_dir>/alarms.db) lives in the
 * state directory beside users and the audit log: the directory 0700, the
 * file and its side files 0600 (core/fmode.h), WAL, synchronous=FULL, so
 * a record that is committed survives a power cut.
 *
 * Flow.  The consumer thread hands each record to journal_submit(), which
 * copies it (strings and all) into a bounded queue and returns at once.
 * The journal's thread ("alarm-journal" in top -H) takes whatever is
 * queued, up to JOURNAL_BATCH records, and commits it in one transaction
 * (so a burst costs one fsync, not one per record), numbering the records
 * 1, 2, ... in the file (seq) in the order they were submitted.  Committed
 * records go to a second queue, and the notify callback tells the
 * consumer thread (lws_cancel_service, dispatch_wake), which takes them
 * back with journal_take() - only then are they shown or sent anywhere.
 *
 * Failures.  A commit that fails (a full disk, an I/O error) loses
 * nothing: the batch stays with the thread and is committed again, 100 ms
 * after the first failure doubling to every 5 s (core/backoff, with
 * jitter), records arriving meanwhile queued behind it, until a commit
 * succeeds; journal_stats.last_error says why while it fails.  The queue's
 * bound (queue_cap records, queued, in the batch and committed but not yet
 * taken, together) keeps the memory bounded however long the disk stays
 * full: at the bound journal_submit refuses and the caller keeps what it
 * could not hand in (alarm/board.h merges an alarm's refused records into
 * its latest status, which is what a restart needs).
 *
 * Schema (user_version 1):
 *   journal(seq INTEGER PRIMARY KEY, ts, alarm, event, from_state,
 *           from_flags, state, flags, priority, area, value, who, comment,
 *           changed_ns, active_ns, acked_ns, acked_by, shelved_ns,
 *           shelved_until_ns, shelved_by, shelve_reason, oos_ns, oos_by,
 *           activations, chatter_count)
 *   index journal_alarm(alarm, seq), journal_ts(ts)
 * Times are ns since the epoch (UTC); states and events by name
 * (alarm_state_name, alarm_event_name); flags as the ALARM_* bits of
 * engine.h; value NULL when the record has none; who NULL when the engine
 * acted.  Each row holds the alarm's whole status after the transition,
 * so the last row of an alarm is what restores it.
 *
 * Reading (journal_read, journal_last) opens a read-only connection per
 * call, from any thread, so queries (the web worker's) never block the
 * writer (WAL).
 */
#ifndef LB_ALARM_JOURNAL_H
#define LB_ALARM_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alarm/engine.h"
#include "config/plcmap.h"

typedef struct journal journal;

#define JOURNAL_ID_MAX 200     /* a full id (3 ids of 64 and 2 dots), NUL */
#define JOURNAL_AREA_MAX 65
#define JOURNAL_BATCH 256      /* records per transaction at most */
#define JOURNAL_QUEUE_DEFAULT 4096

/* One record as the journal keeps it: an alarm_record with its strings
 * copied, plus the definition's priority and area at the time.  Plain
 * data, copied by assignment. */
typedef struct {
    uint64_t seq;              /* its row in the file; 0 until committed */
    uint32_t alarm;            /* the engine's index (not in the file:
                                  journal_read gives UINT32_MAX) */
    char id[JOURNAL_ID_MAX];
    alarm_event event;
    alarm_state from_state;
    uint32_t from_flags;
    alarm_status to;
    int64_t ts_ns;
    char who[ALARM_WHO_MAX];   /* "" when the engine acted */
    char comment[ALARM_TEXT_MAX];
    map_priority priority;
    char area[JOURNAL_AREA_MAX];
} journal_rec;

/* Fills a journal_rec from a record and its definition (strings cut to
 * their fields). */
void journal_rec_from(journal_rec *out, const alarm_record *r,
                      const map_alarm *def);

typedef struct {
    const char *path;          /* the file; its directory is made 0700 */
    size_t queue_cap;          /* records held at most (default 4096) */
    /* A mode that was tightened (core/fmode.h); NULL: not said. */
    void (*warn)(void *ctx, const char *msg);
    void *warn_ctx;
    /* Records older than this are deleted, except each alarm's newest,
     * which restore needs (its exact status); at start and then hourly,
     * on the journal's thread, in slices between commits.  0: kept for
     * ever. */
    uint64_t retention_ns;
} journal_opts;

typedef struct {
    uint64_t submitted;        /* records handed in */
    uint64_t committed;
    uint64_t refused;          /* journal_submit at the bound */
    uint64_t commits;          /* transactions */
    uint64_t failed_commits;   /* each retried */
    size_t queued;             /* submitted, not yet committed */
    size_t uncollected;        /* committed, not yet taken */
    uint64_t last_seq;         /* the newest row in the file */
    uint64_t pruned;           /* rows deleted by the retention */
    uint64_t prunes;           /* retention passes completed */
    char last_error[160];      /* empty while commits succeed */
} journal_stats;

/* Opens (creating) the file and starts the thread.  NULL with "path:
 * reason" in err. */
journal *journal_open(const journal_opts *o, char *err, size_t errlen);
/* Commits what is queued (retrying for about 2 s on a failing disk, then
 * giving up: journal_stats says what was lost), stops the thread, closes.
 * NULL is a no-op. */
void journal_close(journal *j);

/* Any thread: called on the journal's thread after each commit (quick and
 * thread-safe: lws_cancel_service, dispatch_wake).  NULL: none.  When it
 * returns, the previous callback is not running and will not be called
 * again, so its context may be freed (set NULL before freeing it). */
void journal_set_notify(journal *j, void (*fn)(void *ctx), void *ctx);

/* Consumer thread: a copy of r queued for commit.  0, or -1 when the
 * queue is at its bound (nothing queued; counted as refused). */
int journal_submit(journal *j, const journal_rec *r);
/* How many more records journal_submit would take now. */
size_t journal_room(journal *j);
/* Consumer thread: up to max committed records, oldest first, removed
 * from the journal's keeping.  Returns how many. */
size_t journal_take(journal *j, journal_rec *out, size_t max);

/* Blocks until every record submitted before the call is committed: 0;
 * -1 as soon as a commit that starts after the call fails (the records
 * stay queued and are retried).  Shutdown and tests. */
int journal_flush(journal *j);

void journal_get_stats(journal *j, journal_stats *out);

/* ---- reading (any thread; its own connection) ------------------------ */

typedef int (*journal_cb)(void *ctx, const journal_rec *r);

typedef struct {
    int64_t from_ns, to_ns;    /* from <= ts < to */
    const char *id;            /* one alarm's full id, or NULL */
    size_t limit;              /* the newest `limit` of the range; 0: all */
} journal_query;

/* The records of the range, oldest first (seq order); with a limit only
 * the newest `limit` of them, and *truncated says whether there were more
 * (truncated may be NULL).  cb's non-zero return stops.  A missing file is
 * no records.  0, or -1 with "path: reason". */
int journal_read(const char *path, const journal_query *q, journal_cb cb,
                 void *ctx, bool *truncated, char *err, size_t errlen);

/* The last record of every alarm with ts < before_ns (INT64_MAX: the last
 * of all), in seq order: each alarm's state at that time.  A missing file
 * is no records.  0, or -1 with "path: reason". */
int journal_last(const char *path, int64_t before_ns, journal_cb cb,
                 void *ctx, char *err, size_t errlen);

/* The name of a state or event back to its value: 0, or -1. */
int journal_state_parse(const char *s, alarm_state *out);
int journal_event_parse(const char *s, alarm_event *out);

#endif
