/*
 * bare_loop.c - the ceilings that ./run bench compares the bridge against.
 *
 *   lb-bare poll --port-base P --plcs N --regs R --seconds S
 *     N threads, each with its own modbus_t connected to 127.0.0.1:P+i,
 *     read holding registers 0..R-1 in requests of at most 125 registers
 *     (Modbus Application Protocol v1.1b3, 6.3) from unit id 1, back to
 *     back, with no decoding and no storing: the fastest a libmodbus
 *     client can poll the same simulator, i.e. the bridge's ceiling.
 *
 *   lb-bare clock --period-us T --seconds S
 *     Sleeps on absolute monotonic deadlines T apart (clock_nanosleep with
 *     TIMER_ABSTIME, as the bridge's scheduler does) and reports how late
 *     each wake-up is: the machine's own scheduling noise, against which
 *     the bridge's start-of-cycle lateness is judged.
 *
 * Each prints one JSON object on stdout; errors go to stderr with exit 1.
 * This is a measuring tool, not library code, so it prints.
 */
#include <errno.h>
#include <inttypes.h>
#include <modbus.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define BARE_MAX_PLCS 1000
#define BARE_REQ_REGS 125 /* MODBUS_MAX_READ_REGISTERS, spec 6.3 */

typedef struct {
    int port;
    int regs;
    uint64_t end_ns;
    pthread_barrier_t *ready; /* every connection is up */
    pthread_barrier_t *start; /* end_ns is set: go */
    uint64_t requests;
    uint64_t registers;
    uint64_t errors;
    uint64_t reconnects;
    int failed; /* could never connect */
} bare_conn;

static uint64_t bare_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static double bare_cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/* Peak resident set in kB, from /proc (VmHWM), 0 if unreadable. */
static long bare_rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = 0;

    if (!f)
        return 0;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "VmHWM:", 6) == 0) {
            char *end;
            kb = strtol(line + 6, &end, 10);
            break;
        }
    }
    fclose(f);
    return kb;
}

static modbus_t *bare_connect(int port)
{
    modbus_t *ctx = modbus_new_tcp("127.0.0.1", port);

    if (!ctx)
        return NULL;
    modbus_set_response_timeout(ctx, 1, 0);
    /* The simulator, like a gateway, answers only for its own unit id. */
    if (modbus_set_slave(ctx, 1) == -1 || modbus_connect(ctx) == -1) {
        modbus_free(ctx);
        return NULL;
    }
    return ctx;
}

static void *bare_poll_thread(void *arg)
{
    bare_conn *c = arg;
    uint16_t buf[BARE_REQ_REGS];
    modbus_t *ctx = bare_connect(c->port);

    /* Everyone connects first, then all start together. */
    pthread_barrier_wait(c->ready);
    pthread_barrier_wait(c->start);
    if (!ctx) {
        c->failed = 1;
        return NULL;
    }
    while (bare_mono_ns() < c->end_ns) {
        for (int a = 0; a < c->regs; a += BARE_REQ_REGS) {
            int n = c->regs - a < BARE_REQ_REGS ? c->regs - a : BARE_REQ_REGS;
            if (modbus_read_registers(ctx, a, n, buf) == n) {
                c->requests++;
                c->registers += (uint64_t)n;
                continue;
            }
            c->errors++;
            modbus_close(ctx);
            modbus_free(ctx);
            c->reconnects++;
            ctx = bare_connect(c->port);
            if (!ctx) {
                c->failed = 1;
                return NULL;
            }
            break;
        }
    }
    modbus_close(ctx);
    modbus_free(ctx);
    return NULL;
}

static int bare_parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int bare_parse_secs(const char *s, double *out)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(s, &end);
    if (errno || end == s || *end || !(v > 0 && v <= 3600))
        return -1;
    *out = v;
    return 0;
}

static int bare_poll(long port_base, long plcs, long regs, double secs)
{
    bare_conn *conns = calloc((size_t)plcs, sizeof *conns);
    pthread_t *th = calloc((size_t)plcs, sizeof *th);
    pthread_barrier_t ready, start;
    uint64_t t0, t1, req = 0, reg = 0, err = 0, rec = 0;
    double cpu0, cpu1;
    long failed = 0;
    int rc = 1;

    if (!conns || !th)
        goto out;
    /* +1: the main thread takes the start time once everyone is connected
     * and sets the end time before releasing them. */
    pthread_barrier_init(&ready, NULL, (unsigned)plcs + 1);
    pthread_barrier_init(&start, NULL, (unsigned)plcs + 1);
    for (long i = 0; i < plcs; i++) {
        conns[i].port = (int)(port_base + i);
        conns[i].regs = (int)regs;
        conns[i].ready = &ready;
        conns[i].start = &start;
    }
    for (long i = 0; i < plcs; i++) {
        if (pthread_create(&th[i], NULL, bare_poll_thread, &conns[i]) != 0) {
            fprintf(stderr, "lb-bare: pthread_create failed\n");
            exit(1);
        }
    }
    /* end_ns is written before the second barrier releases the threads,
     * which orders the write before their reads. */
    pthread_barrier_wait(&ready);
    t0 = bare_mono_ns();
    for (long i = 0; i < plcs; i++)
        conns[i].end_ns = t0 + (uint64_t)(secs * 1e9);
    cpu0 = bare_cpu_s();
    pthread_barrier_wait(&start);
    for (long i = 0; i < plcs; i++)
        pthread_join(th[i], NULL);
    t1 = bare_mono_ns();
    cpu1 = bare_cpu_s();
    pthread_barrier_destroy(&ready);
    pthread_barrier_destroy(&start);
    for (long i = 0; i < plcs; i++) {
        req += conns[i].requests;
        reg += conns[i].registers;
        err += conns[i].errors;
        rec += conns[i].reconnects;
        failed += conns[i].failed;
    }
    printf("{\"requests\":%" PRIu64 ",\"registers\":%" PRIu64
           ",\"seconds\":%.6f,\"cpu_s\":%.6f,\"rss_kb\":%ld"
           ",\"errors\":%" PRIu64 ",\"reconnects\":%" PRIu64
           ",\"failed_connections\":%ld,\"plcs\":%ld}\n",
           req, reg, (double)(t1 - t0) / 1e9, cpu1 - cpu0, bare_rss_kb(),
           err, rec, failed, plcs);
    rc = failed ? 1 : 0;
    if (failed)
        fprintf(stderr, "lb-bare: %ld of %ld connections failed\n", failed,
                plcs);
out:
    free(conns);
    free(th);
    return rc;
}

static int bare_cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static double bare_pct_us(const uint64_t *v, size_t n, double p)
{
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return (double)v[i] / 1e3;
}

static int bare_clock(long period_us, double secs)
{
    size_t n = (size_t)(secs * 1e6 / (double)period_us);
    uint64_t *late = calloc(n ? n : 1, sizeof *late);
    uint64_t period = (uint64_t)period_us * 1000u;
    struct timespec dl;
    uint64_t next;

    if (!late || n == 0) {
        free(late);
        fprintf(stderr, "lb-bare: nothing to measure\n");
        return 1;
    }
    next = bare_mono_ns() + period;
    for (size_t i = 0; i < n; i++) {
        uint64_t now;
        dl.tv_sec = (time_t)(next / 1000000000u);
        dl.tv_nsec = (long)(next % 1000000000u);
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &dl, NULL) ==
               EINTR)
            ;
        now = bare_mono_ns();
        late[i] = now > next ? now - next : 0;
        /* Absolute deadlines: a late wake-up does not shift the next one. */
        next += period;
        if (now > next)
            next = now + period - (now - next) % period;
    }
    qsort(late, n, sizeof *late, bare_cmp_u64);
    printf("{\"p50_us\":%.1f,\"p99_us\":%.1f,\"max_us\":%.1f,"
           "\"samples\":%zu,\"period_us\":%ld}\n",
           bare_pct_us(late, n, 0.50), bare_pct_us(late, n, 0.99),
           (double)late[n - 1] / 1e3, n, period_us);
    free(late);
    return 0;
}

static void bare_usage(void)
{
    fprintf(stderr,
            "usage: lb-bare poll --port-base P --plcs N [--regs R] "
            "[--seconds S]\n"
            "       lb-bare clock [--period-us T] [--seconds S]\n");
}

int main(int argc, char **argv)
{
    long port_base = -1, plcs = 1, regs = 1000, period_us = 1000;
    double secs = 3;

    if (argc < 2) {
        bare_usage();
        return 2;
    }
    for (int i = 2; i < argc; i++) {
        const char *k = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int bad;

        if (!v) {
            bare_usage();
            return 2;
        }
        if (strcmp(k, "--port-base") == 0)
            bad = bare_parse_long(v, 1, 65535, &port_base);
        else if (strcmp(k, "--plcs") == 0)
            bad = bare_parse_long(v, 1, BARE_MAX_PLCS, &plcs);
        else if (strcmp(k, "--regs") == 0)
            bad = bare_parse_long(v, 1, 65536, &regs);
        else if (strcmp(k, "--period-us") == 0)
            bad = bare_parse_long(v, 10, 10000000, &period_us);
        else if (strcmp(k, "--seconds") == 0)
            bad = bare_parse_secs(v, &secs);
        else
            bad = -1;
        if (bad) {
            fprintf(stderr, "lb-bare: bad option %s %s\n", k, v);
            return 2;
        }
        i++;
    }
    if (strcmp(argv[1], "poll") == 0) {
        if (port_base < 0 || port_base + plcs - 1 > 65535) {
            bare_usage();
            return 2;
        }
        return bare_poll(port_base, plcs, regs, secs);
    }
    if (strcmp(argv[1], "clock") == 0)
        return bare_clock(period_us, secs);
    bare_usage();
    return 2;
}
