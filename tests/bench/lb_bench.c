/*
 * lb_bench.c - the bridge's side of ./run bench.
 *
 *   lb-bench poll    -c STATION --seconds S   pollers back to back
 *   lb-bench cadence -c STATION --seconds S   pollers on their periods
 *
 * Both run the real pollers (planning, the mbtcp client, decoding, the tag
 * store and a consumer draining its change queue) and print one JSON object:
 * requests, registers, seconds, cpu_s, rss_kb, late_p50_us, late_p99_us,
 * misses, errors.
 */
#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "core/clock.h"
#include "acquire/poller.h"

static atomic_bool bench_stop;

typedef struct {
    poll_plc *p;
} bench_job;

static void *bench_flat(void *arg)
{
    bench_job *j = arg;
    while (!atomic_load(&bench_stop))
        for (size_t g = 0; g < poll_map(j->p)->n_groups; g++)
            poll_cycle(j->p, (int)g);
    return NULL;
}

static void *bench_consumer(void *arg)
{
    tag_store *ts = arg;
    static tag_change batch[4096];
    while (!atomic_load(&bench_stop)) {
        if (tag_store_drain(ts, batch, 4096) == 0)
            clk_sleep_until(clk_mono_ns() + 1000000);
    }
    return NULL;
}

static double bench_cpu(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static long bench_rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "VmHWM:", 6) == 0)
            kb = strtol(line + 6, NULL, 10);
    if (f)
        fclose(f);
    return kb;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    const char *cfg = NULL;
    double secs = 3;
    for (int i = 2; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "-c") == 0)
            cfg = argv[i + 1];
        else if (strcmp(argv[i], "--seconds") == 0)
            secs = strtod(argv[i + 1], NULL);
    }
    bool flat = strcmp(mode, "poll") == 0;
    if ((!flat && strcmp(mode, "cadence") != 0) || !cfg || secs <= 0) {
        fprintf(stderr, "usage: lb-bench poll|cadence -c STATION "
                        "[--seconds S]\n");
        return 64;
    }
    map_errors errs = {0};
    map_station *st = map_load(cfg, &errs);
    for (size_t i = 0; i < errs.n; i++)
        fprintf(stderr, "%s\n", errs.msgs[i]);
    map_errors_free(&errs);
    if (!st)
        return 2;
    tag_store *ts = tag_store_new(st, 0);
    size_t n = st->n_plcs;
    bench_job *jobs = calloc(n, sizeof *jobs);
    pthread_t *th = calloc(n, sizeof *th);
    pthread_t consumer;
    uint64_t base_req = 0, base_regs = 0;
    for (size_t p = 0; p < n; p++) {
        jobs[p].p = poll_new(st, p, ts);
        poll_once(jobs[p].p); /* connect and warm up outside the window */
        poll_stats s;
        poll_get_stats(jobs[p].p, &s);
        base_req += s.requests;
        base_regs += s.registers;
    }
    pthread_create(&consumer, NULL, bench_consumer, ts);
    double cpu0 = bench_cpu();
    uint64_t t0 = clk_mono_ns();
    for (size_t p = 0; p < n; p++) {
        if (flat)
            pthread_create(&th[p], NULL, bench_flat, &jobs[p]);
        else
            poll_start(jobs[p].p);
    }
    clk_sleep_until(t0 + (uint64_t)(secs * 1e9));
    atomic_store(&bench_stop, true);
    for (size_t p = 0; p < n; p++) {
        if (flat)
            pthread_join(th[p], NULL);
        else
            poll_stop(jobs[p].p);
    }
    uint64_t t1 = clk_mono_ns();
    double cpu1 = bench_cpu();
    pthread_join(consumer, NULL);

    uint64_t req = 0, regs = 0, misses = 0, errors = 0;
    dhist late = {0};
    for (size_t p = 0; p < n; p++) {
        poll_stats s;
        poll_get_stats(jobs[p].p, &s);
        req += s.requests;
        regs += s.registers;
        misses += s.deadline_misses;
        errors += s.err_timeout + s.err_conn + s.err_exception +
                  s.err_malformed + s.err_decode;
        dhist_merge(&late, &s.lateness_us);
        poll_free(jobs[p].p);
    }
    req -= base_req;  /* the warm-up poll is not in the window */
    regs -= base_regs;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "requests", (double)req);
    cJSON_AddNumberToObject(o, "registers", (double)regs);
    cJSON_AddNumberToObject(o, "seconds", (double)(t1 - t0) / 1e9);
    cJSON_AddNumberToObject(o, "cpu_s", cpu1 - cpu0);
    cJSON_AddNumberToObject(o, "rss_kb", (double)bench_rss_kb());
    cJSON_AddNumberToObject(o, "late_p50_us",
                            (double)dhist_quantile(&late, 0.5));
    cJSON_AddNumberToObject(o, "late_p99_us",
                            (double)dhist_quantile(&late, 0.99));
    cJSON_AddNumberToObject(o, "misses", (double)misses);
    cJSON_AddNumberToObject(o, "errors", (double)errors);
    char *text = cJSON_PrintUnformatted(o);
    printf("%s\n", text);
    free(text);
    cJSON_Delete(o);
    free(jobs);
    free(th);
    tag_store_free(ts);
    map_free(st);
    return 0;
}
