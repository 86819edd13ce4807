/*
 * influx_bench.c - lb-influx-bench: the bridge's side of the time-series
 * write benchmark (./run bench, issue 3 section 6).
 *
 *   lb-influx-bench --url URL --db NAME --points N [--plcs 100] [--fields 10]
 *                   [--batch 5000] [--start-ns T] [--step-ns S]
 *   lb-influx-bench --encode FILE --points N [same shape options]
 *
 * Pushes N synthetic samples through the real writer (influx.h: queue,
 * encoder, batches, libcurl with keep-alive, one request in flight) as fast
 * as it takes them, then waits for influx_flush().  The samples look like a
 * station's polls: at each instant every PLC (measurement p000..) reports
 * every field (f0..) as a good float, timestamps T + k*S.  The queue is kept
 * below its capacity by watching the writer's own `queued` figure, so no
 * sample is refused; if one is anyway, the rest is offered again after 1 ms
 * and the refusals are reported.  Prints one JSON object:
 *   points, seconds, points_per_s, cpu_s, written, batches, dropped,
 *   refused, retries, last_status, flushed.
 * With --encode, the same samples are written to FILE as the line protocol
 * the writer sends (lineproto.h, one line per PLC and instant), so that
 * bench.py can post identical bytes straight to the database (the ceiling).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "record/influx.h"
#include "support/tmpdir.h"

#define BENCH_MAX_PLCS 1000
#define BENCH_MAX_FIELDS 100
#define BENCH_CHUNK 1000
#define BENCH_QUEUE_CAP 200000

static char bench_plc[BENCH_MAX_PLCS][8];
static char bench_field[BENCH_MAX_FIELDS][8];

typedef struct {
    uint64_t plcs, fields, start, step;
} bench_shape;

/* Sample k of the synthetic stream: PLC-major within an instant. */
static void bench_sample(const bench_shape *sh, uint64_t k, influx_point *pt)
{
    uint64_t f = k % sh->fields, p = (k / sh->fields) % sh->plcs;
    uint64_t instant = k / (sh->fields * sh->plcs);
    memset(pt, 0, sizeof *pt);
    pt->plc = bench_plc[p];
    pt->field = bench_field[f];
    pt->key = (uint32_t)(p * sh->fields + f + 1); /* as the recorder sets it */
    pt->s.q = Q_GOOD;
    pt->s.v.kind = VAL_REAL;
    /* Values like scaled registers: two decimals, varying. */
    pt->s.v.d = (double)((k * 2654435761ULL) % 100000) / 100.0;
    pt->s.ts_ns = (int64_t)(sh->start + instant * sh->step);
}

/* Writes the samples as line protocol, the writer's schema (measurement =
 * PLC, tags plc and station, one float field per tag). */
static int bench_encode(const bench_shape *sh, uint64_t total,
                        const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    lp_buf b;
    lp_buf_init(&b);
    int rc = 0;
    influx_point pt;
    for (uint64_t k = 0; k < total && rc == 0; k++) {
        bench_sample(sh, k, &pt);
        if (k % sh->fields == 0)
            rc |= lp_begin(&b, pt.plc) | lp_tag(&b, "plc", pt.plc) |
                  lp_tag(&b, "station", "bench");
        rc |= lp_field_float(&b, pt.field, pt.s.v.d);
        if (k % sh->fields != sh->fields - 1 && k + 1 != total)
            continue;
        rc |= lp_end(&b, pt.s.ts_ns, LP_NS);
        if (b.len > (1u << 20) || k + 1 == total) {       /* whole lines */
            if (fwrite(b.data, 1, b.len, f) != b.len)
                rc = -1;
            lp_buf_reset(&b);
        }
    }
    lp_buf_free(&b);
    if (fclose(f) != 0)
        rc = -1;
    return rc;
}

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-')
        return -1;
    *out = v;
    return 0;
}

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6;
}

static int usage(void)
{
    fprintf(stderr, "usage: lb-influx-bench --url URL --db NAME --points N "
                    "[--plcs N] [--fields N] [--batch N] [--start-ns T] "
                    "[--step-ns S]\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *url = NULL, *db = NULL, *encode = NULL;
    uint64_t total = 0, plcs = 100, fields = 10, batch = 5000;
    uint64_t step = 1000000;                 /* 1 ms between instants */
    uint64_t start = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (i + 1 >= argc)
            return usage();
        const char *v = argv[++i];
        int bad = 0;
        if (strcmp(a, "--url") == 0)
            url = v;
        else if (strcmp(a, "--encode") == 0)
            encode = v;
        else if (strcmp(a, "--db") == 0)
            db = v;
        else if (strcmp(a, "--points") == 0)
            bad = parse_u64(v, &total);
        else if (strcmp(a, "--plcs") == 0)
            bad = parse_u64(v, &plcs);
        else if (strcmp(a, "--fields") == 0)
            bad = parse_u64(v, &fields);
        else if (strcmp(a, "--batch") == 0)
            bad = parse_u64(v, &batch);
        else if (strcmp(a, "--start-ns") == 0)
            bad = parse_u64(v, &start);
        else if (strcmp(a, "--step-ns") == 0)
            bad = parse_u64(v, &step);
        else
            return usage();
        if (bad)
            return usage();
    }
    if ((!encode && (!url || !db)) || !total || !plcs || plcs > BENCH_MAX_PLCS || !fields ||
        fields > BENCH_MAX_FIELDS || !batch || !step)
        return usage();
    if (!start)
        start = (uint64_t)clk_real_ns() - 86400ULL * 1000000000ULL;

    for (uint64_t p = 0; p < plcs; p++)
        snprintf(bench_plc[p], sizeof bench_plc[p], "p%03u", (unsigned)p);
    for (uint64_t f = 0; f < fields; f++)
        snprintf(bench_field[f], sizeof bench_field[f], "f%u", (unsigned)f);
    bench_shape sh = {plcs, fields, start, step};
    if (encode) {
        if (bench_encode(&sh, total, encode) < 0) {
            fprintf(stderr, "lb-influx-bench: could not write %s\n", encode);
            return 1;
        }
        return 0;
    }

    char spool[] = "/tmp/lb-influx-bench.XXXXXX";
    if (!mkdtemp(spool)) {
        fprintf(stderr, "lb-influx-bench: mkdtemp: %s\n", strerror(errno));
        return 1;
    }
    influx_opts o = {
        .url = url,
        .database = db,
        .station = "bench",
        .precision = LP_NS,
        .batch_points = (size_t)batch,
        .spool_dir = spool,
        .queue_cap = BENCH_QUEUE_CAP,
    };
    char err[256];
    influx_writer *w = influx_open(&o, err, sizeof err);
    if (!w) {
        fprintf(stderr, "lb-influx-bench: %s\n", err);
        rmdir(spool);
        return 1;
    }

    static influx_point chunk[BENCH_CHUNK];
    uint64_t made = 0, refused = 0;
    double cpu0 = cpu_seconds();
    uint64_t t0 = clk_mono_ns();
    while (made < total) {
        size_t n = 0;
        for (; n < BENCH_CHUNK && made + n < total; n++)
            bench_sample(&sh, made + n, &chunk[n]);
        /* Offer a chunk only when it fits, so nothing is refused. */
        influx_stats st;
        for (;;) {
            influx_get_stats(w, &st);
            if (st.queued + n <= BENCH_QUEUE_CAP)
                break;
            usleep(200);
        }
        size_t done = 0;
        while (done < n) {
            size_t got = influx_submit(w, chunk + done, n - done);
            done += got;
            if (done < n) {
                refused += n - done;
                usleep(1000);
            }
        }
        made += n;
    }
    int flushed = influx_flush(w, 120ULL * 1000000000ULL);
    uint64_t t1 = clk_mono_ns();
    double cpu1 = cpu_seconds();
    influx_stats st;
    influx_get_stats(w, &st);
    influx_close(w);

    if (tmpdir_remove(spool) != 0)
        fprintf(stderr, "lb-influx-bench: could not remove %s\n", spool);

    double secs = (double)(t1 - t0) / 1e9;
    printf("{\"points\":%" PRIu64 ",\"seconds\":%.3f,\"points_per_s\":%.0f,"
           "\"cpu_s\":%.3f,\"written\":%" PRIu64 ",\"batches\":%" PRIu64
           ",\"dropped\":%" PRIu64 ",\"refused\":%" PRIu64
           ",\"retries\":%" PRIu64 ",\"last_status\":%d,\"flushed\":%s}\n",
           total, secs, secs > 0 ? (double)total / secs : 0.0, cpu1 - cpu0,
           st.written, st.batches, st.dropped, refused, st.retries,
           st.last_status, flushed == 0 ? "true" : "false");
    return flushed == 0 && st.written == total ? 0 : 1;
}
