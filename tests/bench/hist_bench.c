/*
 * hist_bench.c - lb-hist-bench: how fast the embedded history takes samples
 * and answers trend queries.
 *
 *   lb-hist-bench [--quick]
 *
 * 1. Insert rate: samples of 100 tags at 1 Hz each through hist_submit()
 *    until hist_flush() returns (2 M samples; 400 k with --quick).
 * 2. Query latency: a database holding one year of one 1 Hz tag - the raw
 *    samples of the last 30 days (2 days with --quick) and the 1-minute,
 *    10-minute and 1-hour rollups of the whole year - generated straight into SQLite, so
 *    the run stays short; then the median of several hist_query() calls
 *    at 1,000 points for the last hour, day, 30 days and year.
 *
 * Prints one JSON object on stdout; progress goes to stderr.
 */
#include <float.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "record/history.h"
#include "support/tmpdir.h"

#define S 1000000000LL
#define MIN (60 * S)
#define HOUR (3600 * S)
#define DAY (86400 * S)

static uint64_t rng = 0x9E3779B97F4A7C15ULL;
static double noise(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0 - 0.5;
}

static double now_ms(void)
{
    return (double)clk_mono_ns() / 1e6;
}

static void die(const char *what, const char *why)
{
    fprintf(stderr, "lb-hist-bench: %s: %s\n", what, why);
    exit(1);
}

static double insert_rate(const char *dir, long n)
{
    char path[256], err[256];
    snprintf(path, sizeof path, "%s/insert.db", dir);
    hist_opts o = {.path = path};
    hist_db *h = hist_open(&o, err, sizeof err);
    if (!h)
        die("open", err);
    enum { TAGS = 100, CH = 5000 };
    char names[TAGS][32];
    for (int t = 0; t < TAGS; t++)
        snprintf(names[t], sizeof names[t], "plc%d.tag%02d", t / 10, t % 10);
    hist_sample *s = calloc(CH, sizeof *s);
    int64_t base = clk_real_ns() - 10 * DAY;
    double t0 = now_ms();
    for (long off = 0; off < n; off += CH) {
        hist_stats st;
        /* stay well below the queue's capacity: nothing may be dropped */
        for (hist_get_stats(h, &st); st.queued > 500000;
             hist_get_stats(h, &st))
            usleep(1000);
        int k = 0;
        for (long i = off; i < off + CH && i < n; i++, k++) {
            s[k].tag = names[i % TAGS];
            s[k].s.v.kind = VAL_REAL;
            s[k].s.v.d = 100.0 + noise();
            s[k].s.q = Q_GOOD;
            s[k].s.ts_ns = base + (i / TAGS) * S;
        }
        hist_submit(h, s, (size_t)k);
    }
    if (hist_flush(h) != 0)
        die("flush", "database error");
    double ms = now_ms() - t0;
    hist_stats st;
    hist_get_stats(h, &st);
    if (st.written != (uint64_t)n || st.dropped != 0)
        die("insert", "samples were dropped");
    hist_close(h);
    free(s);
    return (double)n / (ms / 1000.0);
}

/* ---- the year-long database -------------------------------------------- */

typedef struct {
    long n;
    double sum, min, max, last;
    int64_t min_ts, max_ts, last_ts;
} acc;

static void acc_add(acc *a, int64_t ts, double v)
{
    if (a->n == 0 || v < a->min) {
        a->min = v;
        a->min_ts = ts;
    }
    if (a->n == 0 || v > a->max) {
        a->max = v;
        a->max_ts = ts;
    }
    a->sum += v;
    a->last = v;
    a->last_ts = ts;
    a->n++;
}

static void acc_merge(acc *a, const acc *m)
{
    if (a->n == 0 || m->min < a->min) {
        a->min = m->min;
        a->min_ts = m->min_ts;
    }
    if (a->n == 0 || m->max > a->max) {
        a->max = m->max;
        a->max_ts = m->max_ts;
    }
    a->sum += m->sum;
    a->last = m->last;
    a->last_ts = m->last_ts;
    a->n += m->n;
}

static void put_rollup(sqlite3_stmt *st, int64_t bucket, const acc *a)
{
    sqlite3_bind_int64(st, 1, bucket);
    sqlite3_bind_int64(st, 2, a->n);
    sqlite3_bind_int64(st, 3, a->n);
    sqlite3_bind_int64(st, 4, a->n);
    sqlite3_bind_double(st, 5, a->sum);
    sqlite3_bind_double(st, 6, a->min);
    sqlite3_bind_int64(st, 7, a->min_ts);
    sqlite3_bind_double(st, 8, a->max);
    sqlite3_bind_int64(st, 9, a->max_ts);
    sqlite3_bind_double(st, 10, a->last);
    sqlite3_bind_int64(st, 11, a->last_ts);
    if (sqlite3_step(st) != SQLITE_DONE)
        die("generate", sqlite3_errmsg(sqlite3_db_handle(st)));
    sqlite3_reset(st);
}

/* One tag, 1 Hz, a daily wave with noise, ending at `end` (an hour
 * boundary).  Samples are written as hist would write them; the rollups
 * are computed here rather than by the writer to save time. */
static void generate_year(const char *path, int64_t end, int raw_days)
{
    char err[256];
    hist_opts o = {.path = path};
    hist_db *h = hist_open(&o, err, sizeof err);   /* creates the schema */
    if (!h)
        die("open", err);
    hist_close(h);
    sqlite3 *db;
    if (sqlite3_open(path, &db) != SQLITE_OK)
        die(path, sqlite3_errmsg(db));
    sqlite3_exec(db, "PRAGMA synchronous=OFF; BEGIN;"
                 "INSERT INTO tags(id, name) VALUES (1, 'bench.level')",
                 NULL, NULL, NULL);
    const char *cols = "(tag, bucket, n, good, nv, sum, min, min_ts, max,"
                       " max_ts, last, last_ts) VALUES (1, ?, ?, ?, ?, ?, ?,"
                       " ?, ?, ?, ?, ?)";
    char sql[256];
    sqlite3_stmt *raw, *r1m, *r10m, *r1h;
    sqlite3_prepare_v2(db, "INSERT INTO samples(tag, ts, kind, value, text,"
                       " quality, exc) VALUES (1, ?, 4, ?, NULL, 1, 0)", -1,
                       &raw, NULL);
    snprintf(sql, sizeof sql, "INSERT INTO rollup_1m%s", cols);
    sqlite3_prepare_v2(db, sql, -1, &r1m, NULL);
    snprintf(sql, sizeof sql, "INSERT INTO rollup_10m%s", cols);
    sqlite3_prepare_v2(db, sql, -1, &r10m, NULL);
    snprintf(sql, sizeof sql, "INSERT INTO rollup_1h%s", cols);
    sqlite3_prepare_v2(db, sql, -1, &r1h, NULL);

    int64_t start = end - 365 * DAY, raw_from = end - raw_days * DAY;
    for (int64_t hb = start; hb < end; hb += HOUR) {
        acc ah = {0}, a10 = {0};
        for (int64_t mb = hb; mb < hb + HOUR; mb += MIN) {
            acc am = {0};
            for (int64_t ts = mb; ts < mb + MIN; ts += S) {
                double x = (double)(ts / S % 86400) / 86400.0;
                double v = 50.0 + 20.0 * sin(2 * M_PI * x) + noise();
                acc_add(&am, ts, v);
                if (ts >= raw_from) {
                    sqlite3_bind_int64(raw, 1, ts);
                    sqlite3_bind_double(raw, 2, v);
                    if (sqlite3_step(raw) != SQLITE_DONE)
                        die("generate", sqlite3_errmsg(db));
                    sqlite3_reset(raw);
                }
            }
            put_rollup(r1m, mb, &am);
            acc_merge(&ah, &am);
            acc_merge(&a10, &am);
            if ((mb + MIN) % (10 * MIN) == 0) {
                put_rollup(r10m, mb + MIN - 10 * MIN, &a10);
                a10 = (acc){0};
            }
        }
        put_rollup(r1h, hb, &ah);
    }
    sqlite3_finalize(raw);
    sqlite3_finalize(r1m);
    sqlite3_finalize(r10m);
    sqlite3_finalize(r1h);
    if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        die("generate", sqlite3_errmsg(db));
    sqlite3_close(db);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double query_median(hist_db *h, int64_t from, int64_t to,
                           size_t points, int runs, const char **source,
                           size_t *n)
{
    double t[16];
    const char *tags[] = {"bench.level"};
    char err[256];
    for (int i = 0; i < runs; i++) {
        hist_result *r;
        double t0 = now_ms();
        if (hist_query(h, tags, 1, from, to, points, &r, err, sizeof err) != 0)
            die("query", err);
        t[i] = now_ms() - t0;
        *source = r->series[0].source;
        *n = r->series[0].n;
        hist_result_free(r);
    }
    qsort(t, (size_t)runs, sizeof t[0], cmp_double);
    return t[runs / 2];
}

int main(int argc, char **argv)
{
    int quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    if (argc > 2 || (argc == 2 && !quick)) {
        fprintf(stderr, "usage: lb-hist-bench [--quick]\n");
        return 2;
    }
    char dir[] = "/tmp/lb-hist-bench.XXXXXX";
    if (!mkdtemp(dir))
        die("mkdtemp", "failed");

    double t0 = now_ms();
    double ins = insert_rate(dir, quick ? 400000 : 2000000);
    fprintf(stderr, "insert: %.0f samples/s (%.1f s)\n", ins,
            (now_ms() - t0) / 1000);

    char path[256];
    snprintf(path, sizeof path, "%s/year.db", dir);
    int64_t now = clk_real_ns();
    int64_t end = now - now % HOUR;
    t0 = now_ms();
    generate_year(path, end, quick ? 2 : 30);
    fprintf(stderr, "generated one year (%.1f s)\n", (now_ms() - t0) / 1000);

    char err[256];
    hist_opts o = {.path = path};
    hist_db *h = hist_open(&o, err, sizeof err);
    if (!h)
        die("open", err);
    int runs = quick ? 5 : 9;
    static const struct {
        const char *name;
        int64_t span;
        size_t points;
    } q[] = {
        {"1h", HOUR, 1000}, {"1d", DAY, 1000}, {"30d", 30 * DAY, 1000},
        {"1y", 365 * DAY, 1000}, {"30d_1000_buckets", 30 * DAY, 2000},
    };
    enum { NQ = sizeof q / sizeof q[0] };
    double ms[NQ];
    const char *src[NQ];
    size_t pts[NQ];
    for (int i = 0; i < NQ; i++) {
        ms[i] = query_median(h, end - q[i].span, end, q[i].points, runs,
                             &src[i], &pts[i]);
        fprintf(stderr, "query %s: %.2f ms (%s, %zu points)\n", q[i].name,
                ms[i], src[i], pts[i]);
    }
    hist_close(h);

    printf("{\"insert_per_s\":%.0f,\"query_ms\":{", ins);
    for (int i = 0; i < 4; i++)
        printf("%s\"%s\":%.2f", i ? "," : "", q[i].name, ms[i]);
    printf("},\"query_ms_30d_1000_buckets\":%.2f,\"source\":{", ms[4]);
    for (int i = 0; i < NQ; i++)
        printf("%s\"%s\":\"%s\"", i ? "," : "", q[i].name, src[i]);
    printf("},\"points\":{");
    for (int i = 0; i < NQ; i++)
        printf("%s\"%s\":%zu", i ? "," : "", q[i].name, pts[i]);
    printf("}}\n");

    return tmpdir_remove(dir) == 0 ? 0 : 1;
}
