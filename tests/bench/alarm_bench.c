/*
 * alarm_bench.c - lb-alarm-bench: what the alarm engine costs the consumer
 * thread per tag change.
 *
 *   lb-alarm-bench -c station.yaml [--polls N] [--churn F] [--period MS]
 *
 * Loads the map (bench.py writes one PLC of 2,000 u16 tags with 5,000
 * alarm definitions), then replays the change stream lock-sim --churn
 * makes: a first poll with every tag good (value = address), then N polls
 * PERIOD apart in which the tags chosen by address (a share F) count up
 * by one, each poll one batch with the poll's response time, fed to
 * alarm_feed, and alarm_tick at the engine's next deadline between polls,
 * as `lockbridge run` does.  The clock is the engine's own (no sleeping):
 * the figures are the engine's CPU time (CLOCK_THREAD_CPUTIME_ID) and
 * nothing else.  The same stream is then replayed with an engine built
 * from a map without the alarm definitions (only the comm alarm) as the
 * baseline of the bookkeeping every batch costs anyway.
 *
 * Prints one JSON object on stdout.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alarm/engine.h"
#include "config/plcmap.h"

static double thread_cpu_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static size_t n_records;
static void count_record(void *ctx, const alarm_record *r)
{
    (void)ctx;
    (void)r;
    n_records++;
}

typedef struct {
    double cpu_s;
    size_t changes, batches, ticks, records;
} run_result;

/* lock-sim --churn F picks the tags that count up by address: the same
 * rule here (every 1/F-th address). */
static run_result replay(const map_station *st, long polls, double churn,
                         int64_t period_ns)
{
    run_result rr = {0};
    n_records = 0;
    alarm_engine *e = alarm_engine_new(st, count_record, NULL);
    if (!e) {
        fprintf(stderr, "lb-alarm-bench: out of memory\n");
        exit(1);
    }
    size_t nt = st->plcs[0].n_tags;
    tag_change *c = calloc(nt, sizeof *c);
    double *v = calloc(nt, sizeof *v);
    if (!c || !v)
        exit(1);
    size_t step = churn > 0 ? (size_t)(1.0 / churn + 0.5) : 0;
    int64_t t = 1800000000LL * 1000000000LL;
    double t0 = thread_cpu_s();
    for (long p = 0; p <= polls; p++, t += period_ns) {
        size_t n = 0;
        for (size_t i = 0; i < nt; i++) {
            bool change = p == 0 || (step && i % step == 0);
            if (!change)
                continue;
            v[i] = p == 0 ? (double)st->plcs[0].tags[i].address : v[i] + 1;
            c[n].tag = (uint32_t)i;
            c[n].s.ts_ns = t;
            c[n].s.q = Q_GOOD;
            c[n].s.v.kind = VAL_INT;
            c[n].s.v.i = (int64_t)v[i];
            n++;
        }
        /* what is due before this poll's response */
        while (alarm_next_deadline(e) <= t) {
            alarm_tick(e, alarm_next_deadline(e));
            rr.ticks++;
        }
        alarm_feed(e, c, n);
        rr.changes += n;
        rr.batches++;
    }
    rr.cpu_s = thread_cpu_s() - t0;
    rr.records = n_records;
    alarm_engine_free(e);
    free(c);
    free(v);
    return rr;
}

int main(int argc, char **argv)
{
    const char *path = NULL;
    long polls = 3000;
    double churn = 0.1;
    long period_ms = 100;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-c") && i + 1 < argc)
            path = argv[++i];
        else if (!strcmp(argv[i], "--polls") && i + 1 < argc)
            polls = strtol(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--churn") && i + 1 < argc)
            churn = strtod(argv[++i], NULL);
        else if (!strcmp(argv[i], "--period") && i + 1 < argc)
            period_ms = strtol(argv[++i], NULL, 10);
        else {
            fprintf(stderr, "usage: lb-alarm-bench -c station.yaml "
                    "[--polls N] [--churn F] [--period MS]\n");
            return 64;
        }
    }
    if (!path || polls < 1 || period_ms < 1) {
        fprintf(stderr, "lb-alarm-bench: -c station.yaml is required\n");
        return 64;
    }
    map_errors errs = {0};
    map_station *st = map_load(path, &errs);
    if (!st) {
        for (size_t i = 0; i < errs.n && i < 5; i++)
            fprintf(stderr, "%s\n", errs.msgs[i]);
        return 2;
    }
    map_errors_free(&errs);
    size_t n_alarms = map_alarm_count(st);
    int64_t period = period_ms * 1000000LL;
    /* warm up once, then measure */
    replay(st, polls / 10 + 1, churn, period);
    run_result with = replay(st, polls, churn, period);
    /* the same station without its definitions: the comm alarm only */
    map_plc *plc = &st->plcs[0];
    size_t *keep = calloc(plc->n_tags + 1, sizeof *keep);
    if (!keep)
        return 1;
    for (size_t t = 0; t < plc->n_tags; t++) {
        keep[t] = plc->tags[t].n_alarms;
        plc->tags[t].n_alarms = 0;
    }
    size_t keep_station = st->n_alarms;
    st->n_alarms = 0;
    run_result without = replay(st, polls, churn, period);
    st->n_alarms = keep_station;
    for (size_t t = 0; t < plc->n_tags; t++)
        plc->tags[t].n_alarms = keep[t];
    free(keep);
    double secs = (double)polls * (double)period_ms / 1000.0;
    printf("{\"alarms\": %zu, \"tags\": %zu, \"polls\": %ld, "
           "\"period_ms\": %ld, \"churn\": %g, \"changes\": %zu, "
           "\"changes_per_s\": %.1f, \"ticks\": %zu, \"records\": %zu, "
           "\"cpu_s\": %.6f, \"ns_per_change\": %.1f, "
           "\"baseline_cpu_s\": %.6f, \"baseline_ns_per_change\": %.1f, "
           "\"engine_cores_at_churn\": %.6f}\n",
           n_alarms, st->plcs[0].n_tags, polls, period_ms, churn,
           with.changes, (double)with.changes / secs, with.ticks,
           with.records, with.cpu_s, with.cpu_s * 1e9 / (double)with.changes,
           without.cpu_s, without.cpu_s * 1e9 / (double)without.changes,
           with.cpu_s / secs);
    map_free(st);
    return 0;
}
