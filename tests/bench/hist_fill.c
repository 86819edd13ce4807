/*
 * hist_fill.c - lb-hist-fill: a history database holding days of a few
 * tags, for the page benchmark's trend (bench.py `page`).
 *
 *   lb-hist-fill --db PATH --tags plc.a,plc.b,... [--days 30]
 *                [--every-s 10] [--end-ms MS]
 *
 * Submits one sample per tag every --every-s seconds over the --days
 * before --end-ms (default now, rounded down to a minute) through
 * hist_submit(), as the bridge's consumer thread does, and waits for
 * hist_flush(): the writer computes the 1-minute and 1-hour rollups
 * itself.  The values are what a lock's analog tags look like: a
 * lockage cycle of 40 minutes (a square-ish wave of filling and
 * emptying) with a slow daily drift and noise, each tag its own phase and
 * scale; for 2 hours of every 7 days every tag is a comm-failure (a PLC
 * down), which the trend draws as gaps.
 *
 * Prints one JSON object on stdout: samples, seconds, from_ms, end_ms.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "record/history.h"

#define S 1000000000LL
#define MAX_TAGS 64

static uint64_t rng = 0x9E3779B97F4A7C15ULL;
static double noise(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0 - 0.5;
}

static void die(const char *what, const char *why)
{
    fprintf(stderr, "lb-hist-fill: %s: %s\n", what, why);
    exit(1);
}

static void usage(void)
{
    fprintf(stderr, "usage: lb-hist-fill --db PATH --tags a.b,c.d [--days N]"
            " [--every-s N] [--end-ms MS]\n");
    exit(2);
}

/* The value of tag k at time ts (ns). */
static double value(int k, int64_t ts)
{
    double t = (double)(ts / S);
    double cyc = fmod(t + k * 300.0, 2400.0) / 2400.0;          /* 40 min */
    double fill = cyc < 0.4 ? cyc / 0.4 : cyc < 0.5 ? 1.0
                : cyc < 0.9 ? 1.0 - (cyc - 0.5) / 0.4 : 0.0;
    double day = sin(2 * M_PI * fmod(t, 86400.0) / 86400.0);
    double scale = 1.0 + k % 4;
    return 5.0 * k + scale * (8.0 * fill + 0.5 * day) + 0.05 * noise();
}

int main(int argc, char **argv)
{
    const char *db = NULL;
    char *tags_arg = NULL;
    double days = 30, every_s = 10;
    int64_t end_ms = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (i + 1 >= argc)
            usage();
        const char *v = argv[++i];
        if (!strcmp(a, "--db"))
            db = v;
        else if (!strcmp(a, "--tags"))
            tags_arg = strdup(v);
        else if (!strcmp(a, "--days"))
            days = atof(v);
        else if (!strcmp(a, "--every-s"))
            every_s = atof(v);
        else if (!strcmp(a, "--end-ms"))
            end_ms = atoll(v);
        else
            usage();
    }
    if (!db || !tags_arg || !(days > 0) || !(every_s >= 0.001))
        usage();
    const char *tags[MAX_TAGS];
    int n_tags = 0;
    for (char *save, *t = strtok_r(tags_arg, ",", &save); t;
         t = strtok_r(NULL, ",", &save)) {
        if (n_tags == MAX_TAGS)
            die("--tags", "too many");
        tags[n_tags++] = t;
    }
    if (!n_tags)
        usage();

    int64_t end = end_ms ? end_ms * 1000000LL : clk_real_ns();
    end -= end % (60 * S);
    int64_t step = (int64_t)(every_s * S);
    int64_t from = end - (int64_t)(days * 86400.0) * S;

    char err[256];
    hist_opts o = {.path = db};
    hist_db *h = hist_open(&o, err, sizeof err);
    if (!h)
        die("open", err);
    enum { CH = 5000 };
    hist_sample *s = calloc(CH, sizeof *s);
    if (!s)
        die("calloc", "out of memory");
    uint64_t t0 = clk_mono_ns();
    long n = 0;
    int k = 0;
    int64_t ts = from;
    while (ts < end) {
        hist_stats st;
        /* stay well below the queue's capacity: nothing may be dropped */
        for (hist_get_stats(h, &st); st.queued > 500000;
             hist_get_stats(h, &st))
            usleep(1000);
        int m = 0;
        while (m < CH && ts < end) {
            hist_sample *x = &s[m++];
            x->tag = tags[k];
            x->s.ts_ns = ts;
            if ((ts - from) % (7 * 86400 * S) >= (5 * 86400 + 7200) * S &&
                (ts - from) % (7 * 86400 * S) < (5 * 86400 + 14400) * S) {
                x->s.v.kind = VAL_NONE;
                x->s.q = Q_COMM;
            } else {
                x->s.v.kind = VAL_REAL;
                x->s.v.d = value(k, ts);
                x->s.q = Q_GOOD;
            }
            if (++k == n_tags) {
                k = 0;
                ts += step;
            }
        }
        hist_submit(h, s, (size_t)m);
        n += m;
    }
    if (hist_flush(h) != 0)
        die("flush", "database error");
    hist_stats st;
    hist_get_stats(h, &st);
    if (st.written != (uint64_t)n || st.dropped != 0)
        die("fill", "samples were dropped");
    hist_close(h);
    free(s);
    free(tags_arg);
    printf("{\"samples\":%ld,\"tags\":%d,\"seconds\":%.2f,\"from_ms\":%lld,"
           "\"end_ms\":%lld,\"every_s\":%g}\n", n, n_tags,
           (double)(clk_mono_ns() - t0) / 1e9, (long long)(from / 1000000),
           (long long)(end / 1000000), every_s);
    return 0;
}
