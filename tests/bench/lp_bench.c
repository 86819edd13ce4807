/*
 * lp_bench.c - lb-lp-bench: line-protocol encoding speed on one core.
 *
 * Encodes typical station lines (measurement upper_gate, tags plc and
 * station, one to three fields: a scaled float, an int, a bool; ns
 * timestamps) in batches of 5,000 lines, first with lineproto.c, then the
 * same lines with one snprintf("%.17g") per line as the baseline, and prints
 * {"lines_per_s": ..., "snprintf_lines_per_s": ..., "ratio": ...}.  Each run
 * lasts about half a second; N is calibrated on a short trial.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "record/lineproto.h"

#define NPTS 4096
#define BATCH 5000

typedef struct {
    int nf;
    double f;
    int64_t i;
    bool b;
    int64_t ts;
} point;

static point pts[NPTS];
static volatile size_t sink;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void make_points(void)
{
    int64_t ts = 1700000000000000000LL;
    for (int k = 0; k < NPTS; k++) {
        point *p = &pts[k];
        p->nf = 1 + k % 3;
        int64_t raw = (int64_t)(next() % 30000);
        switch (k % 4) {
        case 0: p->f = (double)(int64_t)(next() % 100000) / 1000.0; break;
        case 1: p->f = 0.1 * (double)raw; break;
        case 2: p->f = 0.01 * (double)raw; break;
        default: p->f = 12.345; break;
        }
        p->i = (int64_t)(next() % 1000000);
        p->b = next() & 1;
        ts += 100000000 + (int64_t)(next() % 1000);
        p->ts = ts;
    }
}

static double run_lp(long n)
{
    lp_buf b;
    lp_buf_init(&b);
    double t0 = now();
    for (long k = 0; k < n; k++) {
        if (k % BATCH == 0) {
            sink += b.len;
            lp_buf_reset(&b);
        }
        const point *p = &pts[k % NPTS];
        lp_begin(&b, "upper_gate");
        lp_tag(&b, "plc", "upper_gate");
        lp_tag(&b, "station", "lock1");
        lp_field_float(&b, "level_m", p->f);
        if (p->nf > 1)
            lp_field_int(&b, "cycles", p->i);
        if (p->nf > 2)
            lp_field_bool(&b, "open", p->b);
        if (lp_end(&b, p->ts, LP_NS) < 0) {
            fprintf(stderr, "lb-lp-bench: encoding failed\n");
            exit(1);
        }
    }
    double dt = now() - t0;
    sink += b.len;
    lp_buf_free(&b);
    return dt;
}

static double run_snprintf(long n)
{
    size_t cap = (size_t)BATCH * 160;
    char *buf = malloc(cap);
    if (!buf)
        exit(1);
    size_t len = 0;
    double t0 = now();
    for (long k = 0; k < n; k++) {
        if (k % BATCH == 0) {
            sink += len;
            len = 0;
        }
        const point *p = &pts[k % NPTS];
        int w;
        if (p->nf == 1)
            w = snprintf(buf + len, cap - len,
                         "upper_gate,plc=upper_gate,station=lock1 "
                         "level_m=%.17g %" PRId64 "\n", p->f, p->ts);
        else if (p->nf == 2)
            w = snprintf(buf + len, cap - len,
                         "upper_gate,plc=upper_gate,station=lock1 "
                         "level_m=%.17g,cycles=%" PRId64 "i %" PRId64 "\n",
                         p->f, p->i, p->ts);
        else
            w = snprintf(buf + len, cap - len,
                         "upper_gate,plc=upper_gate,station=lock1 "
                         "level_m=%.17g,cycles=%" PRId64 "i,open=%s %" PRId64
                         "\n", p->f, p->i, p->b ? "true" : "false", p->ts);
        len += (size_t)w;
    }
    double dt = now() - t0;
    sink += len;
    free(buf);
    return dt;
}

/* Lines that make a run last about `secs`, from a short trial. */
static long calibrate(double (*run)(long), double secs)
{
    long n = 100000;
    double dt = run(n);
    if (dt <= 0)
        dt = 1e-6;
    long want = (long)((double)n * secs / dt);
    return want < n ? n : want;
}

int main(void)
{
    make_points();
    long n1 = calibrate(run_lp, 0.5);
    double t1 = run_lp(n1);
    long n2 = calibrate(run_snprintf, 0.5);
    double t2 = run_snprintf(n2);
    double lps = (double)n1 / t1, sps = (double)n2 / t2;
    printf("{\"lines_per_s\": %.0f, \"snprintf_lines_per_s\": %.0f, "
           "\"ratio\": %.2f}\n", lps, sps, lps / sps);
    return 0;
}
