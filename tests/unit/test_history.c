/*
 * test_history.c - the embedded history against a real SQLite file in a
 * temporary directory: exact read-back of every kind of value, replays,
 * rollups checked against a recomputation in C, source selection and
 * min/max downsampling of queries, retention at its boundaries, flush,
 * statistics, queue overflow and reopening, and a full disk (a real one:
 * a small tmpfs, see support/fullfs.h) that the history must survive
 * without losing a sample.
 *
 * Timestamps are taken relative to the real clock because the writer runs
 * its own retention on the real clock; data a few days old is never at
 * risk from it (retention is tested with hist_retention_run and a `now` in
 * the future).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/clock.h"
#include "record/history.h"
#include "support/fullfs.h"
#include "support/tmpdir.h"

#define S 1000000000LL
#define MIN (60 * S)
#define HOUR (3600 * S)
#define DAY (86400 * S)

static char dir[64];
static char dbpath[128];

static int setup(void **st)
{
    (void)st;
    if (tmpdir_make(dir, sizeof dir, "lb-hist-test.") < 0)
        return -1;
    /* a sub-directory that hist_open has to create */
    snprintf(dbpath, sizeof dbpath, "%s/data/history.db", dir);
    return 0;
}

static int teardown(void **st)
{
    (void)st;
    return tmpdir_remove(dir);
}

/* The database on a 1 MiB tmpfs of its own, which a test fills. */
static char fulldir[96];

static int setup_full(void **st)
{
    if (setup(st) < 0)
        return -1;
    snprintf(fulldir, sizeof fulldir, "%s/full", dir);
    snprintf(dbpath, sizeof dbpath, "%s/history.db", fulldir);
    return fullfs_setup(fulldir, 1 << 20);
}

static int teardown_full(void **st)
{
    fullfs_umount(fulldir);
    return teardown(st);
}

static hist_db *open_db(int raw_days, size_t queue_cap)
{
    char err[256] = "";
    hist_opts o = {.path = dbpath, .raw_days = raw_days,
                   .queue_cap = queue_cap};
    hist_db *h = hist_open(&o, err, sizeof err);
    if (!h)
        fail_msg("hist_open: %s", err);
    return h;
}

/* An hour boundary two days ago: old enough for all rollups, recent enough
 * for raw retention. */
static int64_t base_time(void)
{
    int64_t now = clk_real_ns();
    return now - now % HOUR - 2 * DAY;
}

static hist_sample real_at(const char *tag, double d, int64_t ts)
{
    hist_sample s = {.tag = tag};
    s.s.v.kind = VAL_REAL;
    s.s.v.d = d;
    s.s.q = Q_GOOD;
    s.s.ts_ns = ts;
    return s;
}

static void submit1(hist_db *h, hist_sample s)
{
    assert_int_equal(hist_submit(h, &s, 1), 1);
}

/* ---- collecting raw samples ---- */

typedef struct {
    char tag[32];
    val_sample s;
} got_sample;

typedef struct {
    got_sample *v;
    size_t n, cap, stop_after;
} got_list;

static int collect(void *ctx, const char *tag, const val_sample *s)
{
    got_list *g = ctx;
    if (g->n == g->cap) {
        g->cap = g->cap ? g->cap * 2 : 64;
        g->v = realloc(g->v, g->cap * sizeof *g->v);
        assert_non_null(g->v);
    }
    snprintf(g->v[g->n].tag, sizeof g->v[g->n].tag, "%s", tag);
    g->v[g->n].s = *s;
    g->n++;
    return g->stop_after && g->n >= g->stop_after;
}

static got_list read_raw(hist_db *h, const char *const *tags, size_t n,
                         int64_t from, int64_t to)
{
    got_list g = {0};
    char err[256] = "";
    assert_int_equal(hist_each_raw(h, tags, n, from, to, collect, &g, err,
                                   sizeof err), 0);
    return g;
}

static long count_sql(const char *sql)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READONLY, NULL),
                     SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    long n = (long)sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

/* ---- tests ---- */

static void test_values_read_back_exactly(void **st)
{
    (void)st;
    hist_db *h = open_db(0, 0);
    int64_t t = base_time();
    hist_sample s[14];
    memset(s, 0, sizeof s);
    for (int i = 0; i < 14; i++) {
        s[i].tag = "plc1.x";
        s[i].s.q = Q_GOOD;
        s[i].s.ts_ns = t + i * 1000 + 7;
    }
    s[0].s.v.kind = VAL_REAL; s[0].s.v.d = 0.1;
    s[1].s.v.kind = VAL_REAL; s[1].s.v.d = -1.5e300;
    s[2].s.v.kind = VAL_REAL; s[2].s.v.d = 3.0;
    s[3].s.v.kind = VAL_INT; s[3].s.v.i = INT64_MIN;
    s[4].s.v.kind = VAL_INT; s[4].s.v.i = (1LL << 53) + 1;
    s[5].s.v.kind = VAL_UINT; s[5].s.v.u = UINT64_MAX;
    s[6].s.v.kind = VAL_BOOL; s[6].s.v.b = true;
    s[7].s.v.kind = VAL_BOOL; s[7].s.v.b = false;
    s[8].s.v.kind = VAL_STR; strcpy(s[8].s.v.s, "Kammer 2, \"Tor\" \xc3\xb6");
    s[9].s.v.kind = VAL_STR; s[9].s.v.s[0] = '\0';
    s[10].s.q = Q_COMM;
    s[11].s.q = Q_DEVICE; s[11].s.exc = 2;
    s[12].s.q = Q_DECODE;
    s[13].s.q = Q_STALE; s[13].s.v.kind = VAL_INT; s[13].s.v.i = -42;
    assert_int_equal(hist_submit(h, s, 14), 14);
    assert_int_equal(hist_flush(h), 0);

    const char *tags[] = {"plc1.x"};
    got_list g = read_raw(h, tags, 1, t, t + HOUR);
    assert_int_equal(g.n, 14);
    for (int i = 0; i < 14; i++) {
        assert_string_equal(g.v[i].tag, "plc1.x");
        assert_int_equal(g.v[i].s.ts_ns, s[i].s.ts_ns);
        assert_int_equal(g.v[i].s.q, s[i].s.q);
        assert_int_equal(g.v[i].s.exc, s[i].s.exc);
        assert_int_equal(g.v[i].s.v.kind, s[i].s.v.kind);
        assert_true(val_equal(&g.v[i].s.v, &s[i].s.v));
    }
    free(g.v);
    /* the range is half-open */
    g = read_raw(h, tags, 1, t + 1007, t + 3007);
    assert_int_equal(g.n, 2);
    assert_int_equal(g.v[0].s.ts_ns, t + 1007);
    assert_int_equal(g.v[1].s.ts_ns, t + 2007);
    free(g.v);
    hist_close(h);
}

static void test_replay_overwrites(void **st)
{
    (void)st;
    hist_db *h = open_db(0, 0);
    int64_t t = base_time() + 5 * S;
    submit1(h, real_at("a.v", 1.0, t));
    submit1(h, real_at("a.v", 2.0, t + S));
    assert_int_equal(hist_flush(h), 0);
    submit1(h, real_at("a.v", 9.0, t));          /* replay, new value */
    submit1(h, real_at("a.v", 2.0, t + S));      /* replay, same value */
    assert_int_equal(hist_flush(h), 0);
    const char *tags[] = {"a.v"};
    got_list g = read_raw(h, tags, 1, t - HOUR, t + HOUR);
    assert_int_equal(g.n, 2);
    assert_true(g.v[0].s.v.d == 9.0);
    assert_true(g.v[1].s.v.d == 2.0);
    free(g.v);
    assert_int_equal(count_sql("SELECT count(*) FROM samples"), 2);
    /* the rollup forgot the replaced value */
    assert_int_equal(count_sql("SELECT count(*) FROM rollup_1m WHERE n = 2"
                               " AND min = 2.0 AND max = 9.0 AND sum = 11.0"),
                     1);
    hist_stats hs;
    hist_get_stats(h, &hs);
    assert_int_equal(hs.written, 4);
    hist_close(h);
}

/* ---- rollups against a recomputation in C ---- */

typedef struct {
    int64_t bucket;
    long n, good, nv;
    double sum, min, max, last;
    int64_t min_ts, max_ts, last_ts;
} roll;

static int num_good(const val_sample *s, double *v)
{
    return s->q == Q_GOOD && val_as_double(&s->v, v);
}

/* Raw samples of one tag in time order -> rollup rows of width w. */
static size_t recompute(const got_list *g, const char *tag, int64_t w,
                        roll *out)
{
    size_t n = 0;
    for (size_t i = 0; i < g->n; i++) {
        if (strcmp(g->v[i].tag, tag) != 0)
            continue;
        const val_sample *s = &g->v[i].s;
        int64_t b = s->ts_ns - s->ts_ns % w;
        if (n == 0 || out[n - 1].bucket != b)
            out[n++] = (roll){.bucket = b};
        roll *r = &out[n - 1];
        r->n++;
        r->good += s->q == Q_GOOD;
        double v;
        if (!num_good(s, &v))
            continue;
        if (r->nv == 0 || v < r->min) {
            r->min = v;
            r->min_ts = s->ts_ns;
        }
        if (r->nv == 0 || v > r->max) {
            r->max = v;
            r->max_ts = s->ts_ns;
        }
        r->sum += v;
        r->last = v;
        r->last_ts = s->ts_ns;
        r->nv++;
    }
    return n;
}

static void check_rollups(const char *table, int64_t tag_id, const roll *want,
                          size_t n)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READONLY, NULL),
                     SQLITE_OK);
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT bucket, n, good, nv, sum, min, min_ts,"
             " max, max_ts, last, last_ts FROM %s WHERE tag = ?"
             " ORDER BY bucket", table);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    sqlite3_bind_int64(st, 1, tag_id);
    size_t i = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        assert_true(i < n);
        const roll *r = &want[i++];
        assert_int_equal(sqlite3_column_int64(st, 0), r->bucket);
        assert_int_equal(sqlite3_column_int64(st, 1), r->n);
        assert_int_equal(sqlite3_column_int64(st, 2), r->good);
        assert_int_equal(sqlite3_column_int64(st, 3), r->nv);
        assert_true(sqlite3_column_double(st, 4) == r->sum);
        if (r->nv == 0) {
            assert_int_equal(sqlite3_column_type(st, 5), SQLITE_NULL);
            assert_int_equal(sqlite3_column_type(st, 9), SQLITE_NULL);
            continue;
        }
        assert_true(sqlite3_column_double(st, 5) == r->min);
        assert_int_equal(sqlite3_column_int64(st, 6), r->min_ts);
        assert_true(sqlite3_column_double(st, 7) == r->max);
        assert_int_equal(sqlite3_column_int64(st, 8), r->max_ts);
        assert_true(sqlite3_column_double(st, 9) == r->last);
        assert_int_equal(sqlite3_column_int64(st, 10), r->last_ts);
    }
    assert_int_equal(i, n);
    sqlite3_finalize(st);
    sqlite3_close(db);
}

static uint64_t rng = 88172645463325252ULL;
static uint64_t xorshift(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void test_rollups_equal_raw(void **st)
{
    (void)st;
    hist_db *h = open_db(0, 0);
    /* 2.5 h from 20 minutes before an hour boundary */
    int64_t t0 = base_time() - 20 * MIN;
    const char *tags[] = {"p.a", "p.b", "p.c"};
    enum { N = 6000 };
    hist_sample *s = calloc(N, sizeof *s);
    assert_non_null(s);
    for (int i = 0; i < N; i++) {
        hist_sample *x = &s[i];
        x->tag = tags[xorshift() % 3];
        /* ns-resolution times; duplicates of (tag, ts) happen and replay */
        x->s.ts_ns = t0 + (int64_t)(xorshift() % (150 * 60)) * S +
                     (int64_t)(xorshift() % 3) * 250000000LL;
        x->s.q = xorshift() % 10 == 0 ? Q_COMM : Q_GOOD;
        unsigned k = (unsigned)(xorshift() % 20);
        if (x->s.q != Q_GOOD) {
            x->s.v.kind = VAL_NONE;
        } else if (k == 0) {
            x->s.v.kind = VAL_STR;
            strcpy(x->s.v.s, "open");
        } else if (k == 1) {
            x->s.v.kind = VAL_BOOL;
            x->s.v.b = xorshift() & 1;
        } else if (k == 2) {
            x->s.v.kind = VAL_INT;
            x->s.v.i = (int64_t)(xorshift() % 2001) - 1000;
        } else {
            /* quarter steps: exact in binary, so any summation order
             * gives the same sum */
            x->s.v.kind = VAL_REAL;
            x->s.v.d = ((double)(xorshift() % 40001) - 20000.0) * 0.25;
        }
    }
    /* random order, in several batches with commits between them */
    for (int off = 0; off < N; off += 1000) {
        assert_int_equal(hist_submit(h, s + off, 1000), 1000);
        if ((off / 1000) % 2)
            assert_int_equal(hist_flush(h), 0);
    }
    /* replays with new values and qualities into already committed minutes */
    for (int i = 0; i < 300; i++) {
        hist_sample x = s[xorshift() % N];
        x.s.v.kind = VAL_REAL;
        x.s.q = i % 3 ? Q_GOOD : Q_DEVICE;
        x.s.exc = x.s.q == Q_DEVICE ? 4 : 0;
        x.s.v.d = (double)(i % 7) - 3.0;
        if (x.s.q != Q_GOOD)
            x.s.v.kind = VAL_NONE;
        submit1(h, x);
    }
    assert_int_equal(hist_flush(h), 0);
    free(s);

    got_list g = read_raw(h, tags, 3, t0 - DAY, t0 + DAY);
    assert_true(g.n > 4000 && g.n <= N);
    assert_int_equal(count_sql("SELECT count(*) FROM samples"), (long)g.n);
    roll *want = calloc(200, sizeof *want);
    for (int t = 0; t < 3; t++) {
        char sql[128];
        snprintf(sql, sizeof sql, "SELECT id FROM tags WHERE name = '%s'",
                 tags[t]);
        long id = count_sql(sql);
        size_t n = recompute(&g, tags[t], MIN, want);
        assert_int_equal(n, 150);
        check_rollups("rollup_1m", id, want, n);
        n = recompute(&g, tags[t], HOUR, want);
        assert_int_equal(n, 4);     /* 20 min + 60 + 60 + 10 */
        check_rollups("rollup_1h", id, want, n);
    }
    free(want);
    free(g.v);
    hist_close(h);
}

/* ---- queries ---- */

/* The buckets as documented: points/2 buckets of equal width from `from`
 * for raw data; for a rollup, the R rollup rows from the one holding
 * `from` to the one holding `to` shared out evenly, row r in bucket
 * r * buckets / R. */
static int bucket_of(int64_t ts, int64_t from, int64_t to, size_t points,
                     const char *source)
{
    int64_t nb = (int64_t)(points / 2 ? points / 2 : 1);
    int64_t k;
    if (strcmp(source, "raw") == 0) {
        int64_t w = (to - from) / nb + ((to - from) % nb != 0);
        k = (ts - from) / w;
    } else {
        int64_t rw = strcmp(source, "1m") == 0 ? MIN
                   : strcmp(source, "10m") == 0 ? 10 * MIN : HOUR;
        int64_t origin = from - from % rw;
        int64_t rows = (to - origin + rw - 1) / rw;
        k = (ts - origin) / rw * nb / rows;
    }
    assert_true(k >= 0);
    return (int)(k < nb ? k : nb - 1);
}

static const hist_series *query1(hist_db *h, hist_result **r, const char *tag,
                                 int64_t from, int64_t to, size_t points)
{
    char err[256] = "";
    const char *tags[] = {tag};
    if (hist_query(h, tags, 1, from, to, points, r, err, sizeof err) != 0)
        fail_msg("hist_query: %s", err);
    assert_int_equal((*r)->n_series, 1);
    const hist_series *s = &(*r)->series[0];
    assert_string_equal(s->tag, tag);
    /* time order, and at most two points in any bucket */
    int *per = calloc(points / 2 + 1, sizeof *per);
    for (size_t i = 0; i < s->n; i++) {
        if (i)
            assert_true(s->ts[i] > s->ts[i - 1]);
        int k = bucket_of(s->ts[i], from, to, points, s->source);
        per[k]++;
        assert_true(per[k] <= 2);
    }
    free(per);
    return s;
}

static bool has_point(const hist_series *s, int64_t ts, double v)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->ts[i] == ts && s->v[i] == v)
            return true;
    return false;
}

static void test_query_sources_and_spikes(void **st)
{
    (void)st;
    hist_db *h = open_db(0, 0);
    int64_t t0 = base_time() - 12 * HOUR;
    int64_t spike = t0 + 13 * HOUR + 17 * MIN + 33 * S;
    int64_t dip = t0 + 5 * HOUR + 2 * S;
    int64_t bad = t0 + 13 * HOUR + 20 * S;
    enum { N = 86400, CH = 4096 };
    hist_sample *s = calloc(CH, sizeof *s);
    for (int off = 0; off < N; off += CH) {
        int k = 0;
        for (int i = off; i < off + CH && i < N; i++) {
            int64_t ts = t0 + i * S;
            s[k] = real_at("lock.level", 5.0, ts);
            if (ts == spike)
                s[k].s.v.d = 100.0;
            if (ts == dip)
                s[k].s.v.d = -50.0;
            if (ts == bad) {
                s[k].s.q = Q_COMM;
                s[k].s.v.kind = VAL_NONE;
            }
            k++;
        }
        assert_int_equal(hist_submit(h, s, (size_t)k), (size_t)k);
    }
    free(s);
    assert_int_equal(hist_flush(h), 0);

    hist_result *r;
    /* 10 minutes at 1000 points: the raw samples themselves, bad as NaN */
    const hist_series *q = query1(h, &r, "lock.level", t0 + 13 * HOUR,
                                  t0 + 13 * HOUR + 10 * MIN, 1000);
    assert_string_equal(q->source, "raw");
    assert_int_equal(q->n, 600);
    assert_int_equal(q->ts[0], t0 + 13 * HOUR);
    assert_true(q->v[0] == 5.0);
    assert_int_equal(q->ts[20], bad);
    assert_true(isnan(q->v[20]));
    hist_result_free(r);

    /* 1 hour at 1000 points: raw, downsampled, the spike kept exactly */
    q = query1(h, &r, "lock.level", t0 + 13 * HOUR, t0 + 14 * HOUR, 1000);
    assert_string_equal(q->source, "raw");
    assert_true(q->n <= 1000 && q->n >= 500);
    assert_true(has_point(q, spike, 100.0));
    hist_result_free(r);

    /* 1 day at 1000 points: too many raw rows, 1440 minutes >= 500 buckets */
    q = query1(h, &r, "lock.level", t0, t0 + DAY, 1000);
    assert_string_equal(q->source, "1m");
    assert_true(q->n <= 1000);
    assert_true(has_point(q, spike, 100.0));
    assert_true(has_point(q, dip, -50.0));
    hist_result_free(r);

    /* 1 day at 200 points: 144 ten-minute rows >= 100 buckets (and 24
     * hours are not) */
    q = query1(h, &r, "lock.level", t0, t0 + DAY, 200);
    assert_string_equal(q->source, "10m");
    assert_true(q->n <= 200);
    assert_true(has_point(q, spike, 100.0));
    assert_true(has_point(q, dip, -50.0));
    hist_result_free(r);

    /* 1 day at 40 points: 24 hours >= 20 buckets */
    q = query1(h, &r, "lock.level", t0, t0 + DAY, 40);
    assert_string_equal(q->source, "1h");
    assert_true(q->n <= 40);
    assert_true(has_point(q, spike, 100.0));
    assert_true(has_point(q, dip, -50.0));
    hist_result_free(r);

    /* 1 day at 1 point: one bucket, its min and its max in time order */
    q = query1(h, &r, "lock.level", t0, t0 + DAY, 1);
    assert_string_equal(q->source, "1h");
    assert_int_equal(q->n, 2);
    assert_int_equal(q->ts[0], dip);
    assert_true(q->v[0] == -50.0);
    assert_int_equal(q->ts[1], spike);
    assert_true(q->v[1] == 100.0);
    hist_result_free(r);

    /* two tags, one unknown: an empty series, not an error */
    char err[256] = "";
    const char *two[] = {"lock.level", "lock.nothing"};
    assert_int_equal(hist_query(h, two, 2, t0, t0 + 10 * S, 100, &r, err,
                                sizeof err), 0);
    assert_int_equal(r->n_series, 2);
    assert_int_equal(r->series[0].n, 10);
    assert_string_equal(r->series[1].tag, "lock.nothing");
    assert_int_equal(r->series[1].n, 0);
    hist_result_free(r);

    /* an empty range is an error */
    assert_int_equal(hist_query(h, two, 1, t0, t0, 100, &r, err, sizeof err),
                     -1);
    assert_null(r);
    assert_string_equal(err, "history query: empty time range");
    hist_result_free(NULL);
    hist_close(h);
}

/* What hist_query must answer, computed here from the raw samples (ts in
 * order, NaN for no good value) with the documented rules. */
static size_t expect_downsampled(const int64_t *ts, const double *v, size_t n,
                                 int64_t from, int64_t to, size_t points,
                                 const char *source, int64_t *ots,
                                 double *ov)
{
    size_t o = 0;
    int64_t rw = strcmp(source, "1m") == 0 ? MIN
               : strcmp(source, "10m") == 0 ? 10 * MIN
               : strcmp(source, "1h") == 0 ? HOUR : 0;
    int64_t lo = rw ? from - from % rw : from;
    int64_t hi = rw ? (to + rw - 1) / rw * rw : to;
    size_t in = 0;
    for (size_t i = 0; i < n; i++)
        in += ts[i] >= lo && ts[i] < hi;
    if (!rw && in <= points) {
        for (size_t i = 0; i < n; i++)
            if (ts[i] >= lo && ts[i] < hi) {
                ots[o] = ts[i];
                ov[o++] = v[i];
            }
        return o;
    }
    int cur = -1;
    bool good = false;
    int64_t first = 0, mn_ts = 0, mx_ts = 0;
    double mn = 0, mx = 0;
    for (size_t i = 0; i <= n; i++) {
        bool end = i == n;
        if (!end && (ts[i] < lo || ts[i] >= hi))
            continue;
        int k = end ? -2 : bucket_of(ts[i], from, to, points, source);
        if (k != cur) {
            if (cur >= 0 && !good) {
                ots[o] = rw ? first - first % rw : first;
                ov[o++] = NAN;
            } else if (cur >= 0 && (mn_ts == mx_ts || mn == mx)) {
                ots[o] = mn_ts;
                ov[o++] = mn;
            } else if (cur >= 0) {
                bool mn_first = mn_ts < mx_ts;
                ots[o] = mn_first ? mn_ts : mx_ts;
                ov[o++] = mn_first ? mn : mx;
                ots[o] = mn_first ? mx_ts : mn_ts;
                ov[o++] = mn_first ? mx : mn;
            }
            if (end)
                break;
            cur = k;
            good = false;
            first = ts[i];
        }
        if (isnan(v[i]))
            continue;
        if (!good || v[i] < mn) {
            mn = v[i];
            mn_ts = ts[i];
        }
        if (!good || v[i] > mx) {
            mx = v[i];
            mx_ts = ts[i];
        }
        good = true;
    }
    return o;
}

static void test_query_equals_downsampled_raw(void **st)
{
    (void)st;
    hist_db *h = open_db(0, 0);
    int64_t t0 = base_time() - 12 * HOUR;
    enum { N = 86400 + 7200, CH = 4096 };
    int64_t *ts = calloc(N, sizeof *ts);
    double *v = calloc(N, sizeof *v);
    hist_sample *s = calloc(CH, sizeof *s);
    size_t n = 0;
    for (int off = 0; off < N; off += CH) {
        int k = 0;
        for (int i = off; i < off + CH && i < N; i++) {
            /* roughly 1 Hz with jitter, a gap of bad data now and then,
             * and plenty of equal values (ties) */
            ts[n] = t0 + i * S + (int64_t)(xorshift() % 1000) * 1000000LL;
            v[n] = (double)(xorshift() % 64) * 0.5;
            s[k] = real_at("d.v", v[n], ts[n]);
            if (i % 5000 < 300 && i > 5000) {
                s[k].s.q = Q_COMM;
                s[k].s.v.kind = VAL_NONE;
                v[n] = NAN;
            }
            n++;
            k++;
        }
        assert_int_equal(hist_submit(h, s, (size_t)k), (size_t)k);
    }
    free(s);
    assert_int_equal(hist_flush(h), 0);
    static const struct {
        int64_t from, to;
        size_t points;
        const char *source;
    } c[] = {
        {0, DAY, 1000, "1m"},
        {0, DAY, 40, "1h"},
        {0, DAY, 200, "10m"},               /* 144 rows >= 100 buckets */
        {7 * MIN + 3, 23 * HOUR + 1, 90, "10m"},
        {37 * S + 5, 20 * HOUR + 11 * S, 1000, "1m"},
        {HOUR + 7, 2 * HOUR + 3, 1000, "raw"},
        {HOUR + 7, 2 * HOUR + 3, 7200, "raw"},
        {5000 * S, 5400 * S, 100, "raw"},     /* mostly bad data */
        {5 * HOUR + 1, 25 * HOUR + 123, 3, "1h"},
    };
    int64_t *ots = calloc(N, sizeof *ots);
    double *ov = calloc(N, sizeof *ov);
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        hist_result *r;
        int64_t from = t0 + c[i].from, to = t0 + c[i].to;
        const hist_series *q = query1(h, &r, "d.v", from, to, c[i].points);
        assert_string_equal(q->source, c[i].source);
        size_t m = expect_downsampled(ts, v, n, from, to, c[i].points,
                                      c[i].source, ots, ov);
        assert_int_equal(q->n, m);
        assert_true(m <= c[i].points || (c[i].points < 2 && m <= 2));
        for (size_t j = 0; j < m; j++) {
            assert_int_equal(q->ts[j], ots[j]);
            if (isnan(ov[j]))
                assert_true(isnan(q->v[j]));
            else
                assert_true(q->v[j] == ov[j]);
        }
        hist_result_free(r);
    }
    free(ots);
    free(ov);
    free(ts);
    free(v);
    hist_close(h);
}

static void test_each_raw_merges_tags_in_time_order(void **st)
{
    (void)st;
    hist_db *h = open_db(0, 0);
    int64_t t = base_time();
    submit1(h, real_at("b", 1, t + 5));
    submit1(h, real_at("a", 2, t + 1));
    submit1(h, real_at("a", 3, t + 7));
    submit1(h, real_at("c", 9, t + 3));   /* not asked for */
    submit1(h, real_at("b", 4, t + 2));
    assert_int_equal(hist_flush(h), 0);
    const char *tags[] = {"a", "b", "zz"};
    got_list g = read_raw(h, tags, 3, t, t + S);
    assert_int_equal(g.n, 4);
    assert_string_equal(g.v[0].tag, "a");
    assert_int_equal(g.v[0].s.ts_ns, t + 1);
    assert_string_equal(g.v[1].tag, "b");
    assert_int_equal(g.v[1].s.ts_ns, t + 2);
    assert_string_equal(g.v[2].tag, "b");
    assert_int_equal(g.v[2].s.ts_ns, t + 5);
    assert_string_equal(g.v[3].tag, "a");
    assert_int_equal(g.v[3].s.ts_ns, t + 7);
    free(g.v);
    /* a non-zero return from the callback stops the export */
    got_list g2 = {.stop_after = 2};
    char err[256];
    assert_int_equal(hist_each_raw(h, tags, 3, t, t + S, collect, &g2, err,
                                   sizeof err), 0);
    assert_int_equal(g2.n, 2);
    free(g2.v);
    hist_close(h);
}

/* ---- queries while the writer writes ---- */

typedef struct {
    hist_db *h;
    int64_t t0;
    int n;
} feeder;

static void *feed(void *arg)
{
    feeder *f = arg;
    hist_sample s[500];
    for (int off = 0; off < f->n; off += 500) {
        for (int i = 0; i < 500; i++)
            s[i] = real_at(i % 2 ? "c.a" : "c.b", off + i,
                           f->t0 + (int64_t)(off + i) * 10000000LL);
        hist_submit(f->h, s, 500);
        if (off % 20000 == 0)
            hist_flush(f->h);
    }
    return NULL;
}

static void test_queries_while_writing(void **st)
{
    (void)st;
    hist_db *h = open_db(0, 0);
    feeder f = {h, base_time(), 200000};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, feed, &f), 0);
    const char *tags[] = {"c.a", "c.b"};
    for (int i = 0; i < 50; i++) {
        hist_result *r;
        char err[256] = "";
        if (hist_query(h, tags, 2, f.t0, f.t0 + HOUR, 1000, &r, err,
                       sizeof err) != 0)
            fail_msg("hist_query: %s", err);
        assert_int_equal(r->n_series, 2);
        assert_true(r->series[0].n <= 1000);
        hist_result_free(r);
    }
    pthread_join(th, NULL);
    assert_int_equal(hist_flush(h), 0);
    hist_stats hs;
    hist_get_stats(h, &hs);
    assert_int_equal(hs.written, 200000);
    assert_int_equal(hs.dropped, 0);
    hist_close(h);
}

/* ---- retention ---- */

static void test_retention_boundary(void **st)
{
    (void)st;
    char err[256] = "";
    hist_opts o = {.path = dbpath, .raw_days = 1, .rollup_1m_days = 2,
                   .rollup_1h_days = 3};
    hist_db *h = hist_open(&o, err, sizeof err);
    assert_non_null(h);
    /* `now` ten days ahead, so the writer's own retention on the real clock
     * never removes what this test wrote */
    int64_t now = clk_real_ns();
    int64_t T = now - now % HOUR + 10 * DAY;
    int64_t ts[] = {
        T - 3 * DAY - S,   /* a: raw, 1m and 1h bucket all old */
        T - 3 * DAY,       /* b: raw and 1m old, its hour is kept */
        T - 2 * DAY - S,   /* c: raw and 1m old */
        T - 2 * DAY,       /* d: raw old, its minute is kept */
        T - DAY - 1,       /* e: raw old by one nanosecond */
        T - DAY,           /* f: kept everywhere */
        T - HOUR,          /* g: kept everywhere */
    };
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++)
        submit1(h, real_at("r.x", (double)i, ts[i]));
    assert_int_equal(hist_flush(h), 0);
    assert_int_equal(count_sql("SELECT count(*) FROM samples"), 7);
    assert_int_equal(count_sql("SELECT count(*) FROM rollup_1m"), 7);
    assert_int_equal(count_sql("SELECT count(*) FROM rollup_1h"), 7);

    /* raw a..e (5), minutes of a, b, c (3), the hour of a (1) */
    assert_int_equal(hist_retention_run(h, T), 9);
    const char *tags[] = {"r.x"};
    got_list g = read_raw(h, tags, 1, 0, INT64_MAX);
    assert_int_equal(g.n, 2);
    assert_int_equal(g.v[0].s.ts_ns, T - DAY);
    assert_int_equal(g.v[1].s.ts_ns, T - HOUR);
    free(g.v);
    sqlite3 *db;
    sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READONLY, NULL);
    sqlite3_stmt *q;
    sqlite3_prepare_v2(db, "SELECT (SELECT min(bucket) FROM rollup_1m),"
                       " (SELECT count(*) FROM rollup_1m),"
                       " (SELECT min(bucket) FROM rollup_1h),"
                       " (SELECT count(*) FROM rollup_1h)", -1, &q, NULL);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int64(q, 0), T - 2 * DAY);
    assert_int_equal(sqlite3_column_int64(q, 1), 4);
    assert_int_equal(sqlite3_column_int64(q, 2), T - 3 * DAY);
    assert_int_equal(sqlite3_column_int64(q, 3), 6);
    sqlite3_finalize(q);
    sqlite3_close(db);

    /* nothing more is old: a second run deletes nothing */
    assert_int_equal(hist_retention_run(h, T), 0);
    hist_stats hs;
    hist_get_stats(h, &hs);
    assert_int_equal(hs.retention_deleted, 9);
    hist_close(h);
}

static void test_retention_in_slices(void **st)
{
    (void)st;
    hist_db *h = open_db(1, 0);
    int64_t now = clk_real_ns();
    int64_t T = now - now % HOUR + 10 * DAY;
    /* 12,000 old samples of one tag: three slices of at most 5,000 */
    enum { N = 12000 };
    hist_sample *s = calloc(N, sizeof *s);
    for (int i = 0; i < N; i++)
        s[i] = real_at("r.y", i, T - 2 * DAY + i * 1000);
    assert_int_equal(hist_submit(h, s, N), N);
    free(s);
    submit1(h, real_at("r.y", 1, T - HOUR));
    assert_int_equal(hist_flush(h), 0);
    assert_int_equal(hist_retention_run(h, T), N);
    assert_int_equal(count_sql("SELECT count(*) FROM samples"), 1);
    hist_close(h);
}

/* ---- flush, statistics, overflow, reopen ---- */

static void test_flush_and_stats(void **st)
{
    (void)st;
    hist_db *h = open_db(0, 0);
    hist_stats hs;
    hist_get_stats(h, &hs);
    assert_int_equal(hs.submitted, 0);
    assert_int_equal(hs.written, 0);
    assert_int_equal(hs.commits, 0);
    assert_string_equal(hs.last_error, "");
    /* Memory: a small ring of 24-byte records to start with; the bound
     * and the page cache are what a crisis and a big database may take. */
    assert_int_equal(hs.queue_bytes, 4096 * 24);
    assert_int_equal(hs.queue_max_bytes, 1000000 * 24);
    assert_int_equal(hs.cache_max_bytes, 2048 * 1024);
    int64_t t = base_time();
    enum { N = 25000 };
    hist_sample *s = calloc(N, sizeof *s);
    for (int i = 0; i < N; i++)
        s[i] = real_at(i % 2 ? "s.odd" : "s.even", i, t + i * 1000000LL);
    assert_int_equal(hist_submit(h, s, N), N);
    free(s);
    assert_int_equal(hist_flush(h), 0);
    hist_get_stats(h, &hs);
    assert_int_equal(hs.submitted, N);
    assert_int_equal(hs.written, N);
    assert_int_equal(hs.dropped, 0);
    assert_int_equal(hs.queued, 0);
    /* at most 10,000 samples per transaction */
    assert_true(hs.commits >= 3);
    assert_string_equal(hs.last_error, "");
    assert_int_equal(hs.failed_commits, 0);
    /* the ring grew to hold the 25,000 and gave the memory back */
    assert_int_equal(hs.queue_bytes, 4096 * 24);
    assert_true(hs.cache_bytes > 0 && hs.cache_bytes <= hs.cache_max_bytes);
    assert_int_equal(count_sql("SELECT count(*) FROM samples"), N);
    assert_int_equal(count_sql("SELECT count(*) FROM tags"), 2);
    /* flushing with nothing queued returns at once */
    assert_int_equal(hist_flush(h), 0);
    hist_close(h);
}

static void test_queue_overflow_counts_dropped(void **st)
{
    (void)st;
    hist_db *h = open_db(0, 4);
    int64_t t = base_time();
    hist_sample s[10];
    for (int i = 0; i < 10; i++)
        s[i] = real_at("q.x", i, t + i);
    /* one call holds the queue: the writer cannot drain it half-way */
    assert_int_equal(hist_submit(h, s, 10), 4);
    assert_int_equal(hist_flush(h), 0);
    hist_stats hs;
    hist_get_stats(h, &hs);
    assert_int_equal(hs.submitted, 10);
    assert_int_equal(hs.dropped, 6);
    assert_int_equal(hs.written, 4);
    /* a sample without a tag is refused and counted too */
    hist_sample bad = real_at(NULL, 1, t);
    assert_int_equal(hist_submit(h, &bad, 1), 0);
    hist_get_stats(h, &hs);
    assert_int_equal(hs.dropped, 7);
    hist_close(h);
}

static void test_reopen_and_continue(void **st)
{
    (void)st;
    int64_t t = base_time() + 30 * S;
    hist_db *h = open_db(0, 0);
    submit1(h, real_at("o.a", 1, t));
    submit1(h, real_at("o.b", 2, t));
    hist_close(h);       /* flushes */
    h = open_db(0, 0);
    submit1(h, real_at("o.b", 3, t + S));
    submit1(h, real_at("o.c", 4, t + S));
    submit1(h, real_at("o.a", 5, t + 2 * S));
    assert_int_equal(hist_flush(h), 0);
    assert_int_equal(count_sql("SELECT count(*) FROM tags"), 3);
    assert_int_equal(count_sql("SELECT id FROM tags WHERE name = 'o.c'"), 3);
    const char *tags[] = {"o.a", "o.b", "o.c"};
    got_list g = read_raw(h, tags, 3, t, t + MIN);
    assert_int_equal(g.n, 5);
    assert_true(g.v[0].s.v.d == 1 && g.v[1].s.v.d == 2 &&
                g.v[2].s.v.d == 3 && g.v[3].s.v.d == 4 &&
                g.v[4].s.v.d == 5);
    free(g.v);
    /* the minute of o.a now holds both of its samples */
    assert_int_equal(count_sql("SELECT sum FROM rollup_1m WHERE tag = 1"), 6);
    hist_close(h);
    hist_close(NULL);

    /* a crash between a commit and the hourly rebuild: the hours waiting
     * are listed in the file and rebuilt by the next open */
    sqlite3 *db;
    assert_int_equal(sqlite3_open(dbpath, &db), SQLITE_OK);
    char sql[200];
    snprintf(sql, sizeof sql, "DELETE FROM rollup_1h; DELETE FROM rollup_10m;"
             " INSERT INTO rollup_dirty VALUES (1, %lld), (2, %lld);",
             (long long)(t - t % HOUR), (long long)(t - t % HOUR));
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    h = open_db(0, 0);
    assert_int_equal(hist_flush(h), 0);
    assert_int_equal(count_sql("SELECT count(*) FROM rollup_dirty"), 0);
    assert_int_equal(count_sql("SELECT count(*) FROM rollup_1h"), 2);
    assert_int_equal(count_sql("SELECT sum FROM rollup_1h WHERE tag = 1"), 6);
    assert_int_equal(count_sql("SELECT n FROM rollup_1h WHERE tag = 2"), 2);
    assert_int_equal(count_sql("SELECT count(*) FROM rollup_10m"), 2);
    assert_int_equal(count_sql("SELECT sum FROM rollup_10m WHERE tag = 1"), 6);
    hist_close(h);
}

/* A database of schema version 1 (no 10-minute rollups) is upgraded at
 * open; ranges from before the upgrade are answered from the minutes,
 * never from 10-minute rows that were never written.  A newer version is
 * refused, naming it. */
static void test_upgrade_from_version_1(void **st)
{
    (void)st;
    /* raw kept 1 day: the rollups answer for 2 days ago */
    int64_t t0 = base_time();
    hist_db *h = open_db(1, 0);
    for (int i = 0; i < DAY / MIN; i++)
        submit1(h, real_at("u.v", i % 7, t0 + i * MIN));
    assert_int_equal(hist_flush(h), 0);
    hist_result *r;
    const hist_series *q = query1(h, &r, "u.v", t0, t0 + DAY, 200);
    assert_string_equal(q->source, "10m");
    size_t n10 = q->n;
    hist_result_free(r);
    hist_close(h);

    sqlite3 *db;
    assert_int_equal(sqlite3_open(dbpath, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "DROP TABLE rollup_10m; DROP TABLE meta;"
                                  " PRAGMA user_version=1", NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    h = open_db(1, 0);
    assert_int_equal(count_sql("PRAGMA user_version"), 2);
    assert_int_equal(count_sql("SELECT count(*) FROM rollup_10m"), 0);
    assert_true(count_sql("SELECT value FROM meta"
                          " WHERE key = 'rollup_10m_from'") > base_time());
    q = query1(h, &r, "u.v", t0, t0 + DAY, 200);
    assert_string_equal(q->source, "1m");
    assert_int_equal(q->n, n10);        /* the same buckets, from minutes */
    hist_result_free(r);
    hist_close(h);

    assert_int_equal(sqlite3_open(dbpath, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "PRAGMA user_version=3", NULL, NULL,
                                  NULL), SQLITE_OK);
    sqlite3_close(db);
    char err[256] = "";
    hist_opts o = {.path = dbpath};
    assert_null(hist_open(&o, err, sizeof err));
    assert_non_null(strstr(err, "schema version 3 is newer"));
}

/* ---- a full disk ---- */

/* Sample i of the full-disk tests: four tags taking turns, 10 ms apart,
 * value i, so that each one's place and value are known. */
static hist_sample full_sample(int64_t t, int i)
{
    static const char *const tags[] = {"f.0", "f.1", "f.2", "f.3"};
    return real_at(tags[i % 4], i, t + (int64_t)i * 10000000LL);
}

/* Submits samples [*next, *next + n). */
static void full_submit(hist_db *h, int64_t t, int *next, int n)
{
    for (int i = 0; i < n; i++, (*next)++)
        submit1(h, full_sample(t, *next));
}

/* Fills the disk and submits until a commit fails and keeps its samples
 * (SQLite may first use room its WAL file already has, and the hourly
 * pass may be the first to fail).  Returns with the writer failing. */
static void full_until_failing(hist_db *h, int64_t t, int *next)
{
    assert_int_equal(fullfs_fill(fulldir), 0);
    hist_stats hs = {0};
    for (int round = 0; round < 200; round++) {
        full_submit(h, t, next, 250);
        int rc = hist_flush(h);
        hist_get_stats(h, &hs);
        if (rc < 0 && hs.queued > 0)
            return;
    }
    fail_msg("no failed commit kept its samples queued (%llu dropped, "
             "last error '%s')", (unsigned long long)hs.dropped,
             hs.last_error);
}

static void test_full_disk_keeps_samples_queued(void **st)
{
    (void)st;
    hist_db *h = open_db(0, 0);
    int64_t t = base_time() + 7 * S;
    int next = 0;
    full_submit(h, t, &next, 100);
    assert_int_equal(hist_flush(h), 0);

    full_until_failing(h, t, &next);
    hist_stats hs;
    hist_get_stats(h, &hs);
    assert_string_equal(hs.last_error, "commit: database or disk is full");
    assert_int_equal(hs.dropped, 0);
    assert_true(hs.queued > 0);
    assert_int_equal(hs.queued, hs.submitted - hs.written);
    /* The consumer goes on: more samples wait behind the failed batch,
     * and a flush says they are not written, without hanging. */
    full_submit(h, t, &next, 3000);
    uint64_t t0 = clk_mono_ns();
    assert_int_equal(hist_flush(h), -1);
    assert_true(clk_mono_ns() - t0 < 8 * (uint64_t)S);
    hist_get_stats(h, &hs);
    assert_int_equal(hs.submitted, (uint64_t)next);
    assert_int_equal(hs.dropped, 0);
    assert_int_equal(hs.queued, hs.submitted - hs.written);
    assert_true(hs.queued >= 3000);

    /* Space again: the queued samples go in, the error is gone. */
    assert_int_equal(fullfs_unfill(fulldir), 0);
    assert_int_equal(hist_flush(h), 0);
    hist_get_stats(h, &hs);
    assert_int_equal(hs.written, (uint64_t)next);
    assert_int_equal(hs.queued, 0);
    assert_int_equal(hs.dropped, 0);
    assert_string_equal(hs.last_error, "");
    /* the first failure and at least the retry the second flush saw */
    assert_true(hs.failed_commits >= 2);

    /* Every sample exactly once, with its value, in order per tag. */
    assert_int_equal(count_sql("SELECT count(*) FROM samples"), next);
    const char *tags[] = {"f.0", "f.1", "f.2", "f.3"};
    got_list g = read_raw(h, tags, 4, t, t + DAY);
    assert_int_equal(g.n, (size_t)next);
    for (int i = 0; i < next; i++) {
        hist_sample want = full_sample(t, i);
        assert_string_equal(g.v[i].tag, want.tag);
        assert_int_equal(g.v[i].s.ts_ns, want.s.ts_ns);
        assert_true(g.v[i].s.v.d == (double)i);
    }
    free(g.v);
    /* The rollups cover them too: the hourly pass was retried as well. */
    assert_int_equal(count_sql("SELECT sum(n) FROM rollup_1m"), next);
    assert_int_equal(count_sql("SELECT sum(n) FROM rollup_1h"), next);
    assert_int_equal(count_sql("SELECT count(*) FROM rollup_dirty"), 0);
    hist_close(h);
}

static void test_full_disk_close_gives_up(void **st)
{
    (void)st;
    hist_db *h = open_db(0, 0);
    int64_t t = base_time() + 9 * S;
    int next = 0;
    full_until_failing(h, t, &next);
    hist_stats hs;
    hist_get_stats(h, &hs);
    assert_true(hs.queued > 0);
    /* What a caller logs as lost: hs.queued.  Closing tries briefly and
     * then gives up instead of waiting for space forever. */
    uint64_t t0 = clk_mono_ns();
    hist_close(h);
    assert_true(clk_mono_ns() - t0 < 6 * (uint64_t)S);
    /* A restart on the still full disk works (opening writes nothing to
     * an existing database), and what had been committed is intact. */
    h = open_db(0, 0);
    int before = next;
    full_submit(h, t, &next, 10);
    assert_int_equal(fullfs_unfill(fulldir), 0);
    assert_int_equal(hist_flush(h), 0);
    assert_int_equal(count_sql("SELECT count(*) FROM samples"),
                     (long)hs.written + 10);
    const char *tags[] = {"f.0", "f.1", "f.2", "f.3"};
    got_list g = read_raw(h, tags, 4, t + (int64_t)before * 10000000LL,
                          t + DAY);
    assert_int_equal(g.n, 10);
    free(g.v);
    hist_close(h);
}

static void test_open_errors(void **st)
{
    (void)st;
    char err[256] = "";
    hist_opts o = {.path = "/proc/lb-no/history.db"};
    assert_null(hist_open(&o, err, sizeof err));
    assert_memory_equal(err, "/proc/lb-no/history.db: ", 24);
    hist_opts none = {0};
    assert_null(hist_open(&none, err, sizeof err));
    assert_string_equal(err, "history: no database path");
    hist_opts neg = {.path = dbpath, .raw_days = -1};
    assert_null(hist_open(&neg, err, sizeof err));
    assert_true(strstr(err, "must not be negative") != NULL);
    /* not a database */
    char junk[160];
    snprintf(junk, sizeof junk, "%s/junk.db", dir);
    FILE *f = fopen(junk, "w");
    fputs("this is not an SQLite database, just some text in a file\n", f);
    fclose(f);
    hist_opts j = {.path = junk};
    assert_null(hist_open(&j, err, sizeof err));
    assert_true(strncmp(err, junk, strlen(junk)) == 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_values_read_back_exactly, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_replay_overwrites, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_rollups_equal_raw, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_upgrade_from_version_1, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_query_sources_and_spikes, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_query_equals_downsampled_raw,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_each_raw_merges_tags_in_time_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_queries_while_writing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_retention_boundary, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_retention_in_slices, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_flush_and_stats, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_queue_overflow_counts_dropped,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_reopen_and_continue, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_disk_keeps_samples_queued,
                                        setup_full, teardown_full),
        cmocka_unit_test_setup_teardown(test_full_disk_close_gives_up,
                                        setup_full, teardown_full),
    };
    /* Before any thread: the full-disk cases mount their file system in
     * a namespace of this process's own.  A failure is kept, and fails
     * those cases only (fullfs_setup says why). */
    char why[256];
    (void)fullfs_isolate(why, sizeof why);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
