/*
 * test_influx.c - the InfluxDB writer against a fake HTTP server that runs
 * in this test: a thread with a loopback listening socket answers canned
 * responses in order and records every request (path, headers, body
 * decoded from gzip, arrival time).  Each case checks the exact lines the
 * database received and the writer's counters: 204, 400 with a named bad
 * line, partial writes, 401, 413, 429 with Retry-After, 500/503, a slow
 * response, gzip with 2.x token auth, an outage with recovery, a spool
 * replayed after close and reopen, and a spool on a full disk (a small
 * tmpfs, see support/fullfs.h) during an outage.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>
#include <cmocka.h>

#include "core/clock.h"
#include "record/influx.h"
#include "support/fullfs.h"
#include "support/tmpdir.h"

#define MS 1000000ull

/* ---- the fake server --------------------------------------------------- */

typedef struct {
    int status;              /* -1: close the connection without answering */
    const char *headers;     /* extra header lines, each ending in \r\n */
    const char *body;
    int delay_ms;
} canned;

typedef struct {
    char path[512];
    char headers[2048];
    char *body;              /* decoded, NUL-terminated */
    uint64_t t_ns;           /* monotonic arrival time */
    int status;              /* what was answered */
} request;

typedef struct {
    int lfd;
    int port;
    pthread_t th;
    pthread_mutex_t mu;
    canned script[32];
    int nscript, next;
    canned dflt;             /* once the script is used up */
    int max_lines;           /* > 0: 413 for bodies with more lines */
    request reqs[512];
    int nreqs;
    int stop;
} fake;

static char *gunzip(const char *in, size_t len, size_t *out_len)
{
    z_stream z = {0};
    size_t cap = len * 8 + 1024, n = 0;
    char *out = malloc(cap);
    assert_int_equal(inflateInit2(&z, 15 + 32), Z_OK);
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)len;
    int rc;
    do {
        if (n + 1 >= cap) {
            cap *= 2;
            out = realloc(out, cap);
        }
        z.next_out = (Bytef *)out + n;
        z.avail_out = (uInt)(cap - n - 1);
        rc = inflate(&z, Z_NO_FLUSH);
        n = cap - 1 - z.avail_out;
    } while (rc == Z_OK);
    assert_int_equal(rc, Z_STREAM_END);
    inflateEnd(&z);
    out[n] = '\0';
    *out_len = n;
    return out;
}

static int wait_readable(fake *f, int fd)
{
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int rc = poll(&p, 1, 50);
        pthread_mutex_lock(&f->mu);
        int stop = f->stop;
        pthread_mutex_unlock(&f->mu);
        if (stop)
            return -1;
        if (rc > 0)
            return 0;
    }
}

static int count_nl(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* Serves one connection until the peer closes it; 0, or -1 to stop. */
static int serve_conn(fake *f, int c)
{
    char buf[1 << 20];
    size_t have = 0;
    for (;;) {
        char *eoh;
        while (!(eoh = memmem(buf, have, "\r\n\r\n", 4))) {
            if (wait_readable(f, c) < 0)
                return -1;
            ssize_t n = read(c, buf + have, sizeof buf - have);
            if (n <= 0)
                return 0;
            have += (size_t)n;
        }
        size_t hlen = (size_t)(eoh - buf) + 4;
        size_t clen = 0;
        for (char *p = buf; p < eoh; p++)
            if ((p == buf || p[-1] == '\n') &&
                strncasecmp(p, "content-length:", 15) == 0)
                clen = strtoul(p + 15, NULL, 10);
        while (have < hlen + clen) {
            if (wait_readable(f, c) < 0)
                return -1;
            ssize_t n = read(c, buf + have, sizeof buf - have);
            if (n <= 0)
                return 0;
            have += (size_t)n;
        }
        request r = {.t_ns = clk_mono_ns()};
        char *sp1 = memchr(buf, ' ', hlen), *sp2;
        sp2 = sp1 ? memchr(sp1 + 1, ' ', hlen - (size_t)(sp1 + 1 - buf)) : NULL;
        if (sp1 && sp2)
            snprintf(r.path, sizeof r.path, "%.*s", (int)(sp2 - sp1 - 1), sp1 + 1);
        snprintf(r.headers, sizeof r.headers, "%.*s", (int)hlen, buf);
        bool gz = strcasestr(r.headers, "\r\nContent-Encoding: gzip\r\n") != NULL;
        if (gz) {
            size_t n;
            r.body = gunzip(buf + hlen, clen, &n);
        } else {
            r.body = malloc(clen + 1);
            memcpy(r.body, buf + hlen, clen);
            r.body[clen] = '\0';
        }
        memmove(buf, buf + hlen + clen, have - hlen - clen);
        have -= hlen + clen;

        pthread_mutex_lock(&f->mu);
        canned a = f->next < f->nscript ? f->script[f->next++] : f->dflt;
        if (f->max_lines > 0 && count_nl(r.body) > f->max_lines)
            a = (canned){413, NULL, "{\"error\":\"Request Entity Too Large\"}", 0};
        r.status = a.status;
        if (f->nreqs < 512)
            f->reqs[f->nreqs++] = r;
        else
            free(r.body);
        pthread_mutex_unlock(&f->mu);

        for (int i = 0; i < a.delay_ms; i += 10)
            usleep(10000);
        if (a.status < 0)
            return 0;
        char out[4096];
        const char *body = a.body ? a.body : "";
        int n = snprintf(out, sizeof out,
                         "HTTP/1.1 %d X\r\nContent-Length: %zu\r\n"
                         "Content-Type: application/json\r\n%s\r\n%s",
                         a.status, strlen(body), a.headers ? a.headers : "",
                         body);
        if (send(c, out, (size_t)n, MSG_NOSIGNAL) < 0)
            return 0;
    }
}

static void *fake_main(void *arg)
{
    fake *f = arg;
    for (;;) {
        if (wait_readable(f, f->lfd) < 0)
            return NULL;
        int c = accept(f->lfd, NULL, NULL);
        if (c < 0)
            continue;
        int rc = serve_conn(f, c);
        close(c);
        if (rc < 0)
            return NULL;
    }
}

static fake *fake_start(void)
{
    fake *f = calloc(1, sizeof *f);
    pthread_mutex_init(&f->mu, NULL);
    f->dflt = (canned){204, NULL, NULL, 0};
    f->lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(f->lfd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(f->lfd, 16), 0);
    socklen_t al = sizeof a;
    getsockname(f->lfd, (struct sockaddr *)&a, &al);
    f->port = ntohs(a.sin_port);
    pthread_create(&f->th, NULL, fake_main, f);
    return f;
}

static void fake_stop(fake *f)
{
    pthread_mutex_lock(&f->mu);
    f->stop = 1;
    pthread_mutex_unlock(&f->mu);
    pthread_join(f->th, NULL);
    close(f->lfd);
    for (int i = 0; i < f->nreqs; i++)
        free(f->reqs[i].body);
    pthread_mutex_destroy(&f->mu);
    free(f);
}

static void fake_push(fake *f, canned c)
{
    pthread_mutex_lock(&f->mu);
    f->script[f->nscript++] = c;
    pthread_mutex_unlock(&f->mu);
}

static int fake_nreqs(fake *f)
{
    pthread_mutex_lock(&f->mu);
    int n = f->nreqs;
    pthread_mutex_unlock(&f->mu);
    return n;
}

/* The bodies of the requests that were answered 2xx, in order. */
static char *ok_bodies(fake *f)
{
    pthread_mutex_lock(&f->mu);
    size_t len = 0;
    for (int i = 0; i < f->nreqs; i++)
        len += strlen(f->reqs[i].body);
    char *s = calloc(1, len + 1);
    for (int i = 0; i < f->nreqs; i++)
        if (f->reqs[i].status >= 200 && f->reqs[i].status < 300)
            strcat(s, f->reqs[i].body);
    pthread_mutex_unlock(&f->mu);
    return s;
}

/* ---- fixtures and helpers ---------------------------------------------- */

typedef struct {
    fake *f;
    char dir[64];
    char url[64];
    influx_opts o;
} fixture;

static int setup(void **st)
{
    fixture *x = calloc(1, sizeof *x);
    x->f = fake_start();
    if (tmpdir_make(x->dir, sizeof x->dir, "lb-influx-") < 0)
        return -1;
    snprintf(x->url, sizeof x->url, "http://127.0.0.1:%d/", x->f->port);
    x->o = (influx_opts){
        .url = x->url,
        .database = "lock",
        .station = "lock1",
        .precision = LP_NS,
        .batch_points = 1000,
        .batch_age_ns = 50 * MS,
        .timeout_ns = 2000 * MS,
        .spool_dir = x->dir,
        .backoff_min_ns = 50 * MS,
        .backoff_max_ns = 400 * MS,
    };
    *st = x;
    return 0;
}

static int teardown(void **st)
{
    fixture *x = *st;
    fake_stop(x->f);
    tmpdir_remove(x->dir);
    free(x);
    return 0;
}

/* The spool on a 256 KiB tmpfs of its own, which a test fills. */

static int setup_full(void **st)
{
    if (setup(st) < 0)
        return -1;
    fixture *x = *st;
    return fullfs_setup(x->dir, 256 * 1024);
}

static int teardown_full(void **st)
{
    fixture *x = *st;
    fullfs_umount(x->dir);
    return teardown(st);
}

static influx_writer *open_ok(const influx_opts *o)
{
    char err[256] = "";
    influx_writer *w = influx_open(o, err, sizeof err);
    if (!w)
        fail_msg("influx_open: %s", err);
    return w;
}

static influx_point ipt(const char *plc, const char *tag, int64_t v,
                        int64_t ts)
{
    influx_point p = {.plc = plc, .field = tag};
    p.s.v.kind = VAL_INT;
    p.s.v.i = v;
    p.s.q = Q_GOOD;
    p.s.ts_ns = ts;
    return p;
}

static void submit1(influx_writer *w, influx_point p)
{
    assert_int_equal(influx_submit(w, &p, 1), 1);
}

/* Submits one int point per timestamp ts0.., tag "a" on PLC "p1"; returns
 * the lines the database must receive, appended to exp. */
static void submit_run(influx_writer *w, int64_t ts0, int n, char *exp,
                       size_t explen, bool first)
{
    for (int i = 0; i < n; i++) {
        submit1(w, ipt("p1", "a", ts0 + i, ts0 + i));
        size_t l = strlen(exp);
        snprintf(exp + l, explen - l,
                 "p1,plc=p1,station=lock1 a=%di%s %d\n", (int)(ts0 + i),
                 first && i == 0 ? ",a_q=0i" : "", (int)(ts0 + i));
    }
}

#define WAIT_FOR(w, st, cond, ms)                                          \
    do {                                                                   \
        uint64_t until_ = clk_mono_ns() + (uint64_t)(ms) * MS;             \
        for (;;) {                                                         \
            influx_get_stats((w), &(st));                                  \
            if (cond)                                                      \
                break;                                                     \
            if (clk_mono_ns() > until_)                                    \
                fail_msg("timed out waiting for %s", #cond);               \
            usleep(5000);                                                  \
        }                                                                  \
    } while (0)

static char *read_file(const char *path)
{
    FILE *fp = fopen(path, "r");
    if (!fp)
        return NULL;
    char *s = calloc(1, 65536);
    size_t n = fread(s, 1, 65535, fp);
    s[n] = '\0';
    fclose(fp);
    return s;
}

/* ---- cases ------------------------------------------------------------- */

static void test_happy_path(void **st)
{
    fixture *x = *st;
    x->o.database = "lock&1";
    x->o.rp = "two weeks";
    x->o.username = "u";
    x->o.password = "p";
    influx_writer *w = open_ok(&x->o);
    int64_t t0 = clk_real_ns();
    influx_point p[5];
    p[0] = ipt("p1", "a", 5, 1000);
    p[1] = (influx_point){.plc = "p1", .field = "b",
                          .s = {.v = {.kind = VAL_BOOL, .b = true},
                                .q = Q_GOOD, .ts_ns = 1000}};
    p[2] = (influx_point){.plc = "p1", .field = "c",
                          .s = {.v = {.kind = VAL_REAL, .d = 1.5},
                                .q = Q_GOOD, .ts_ns = 2000}};
    p[3] = (influx_point){.plc = "p1", .field = "d",
                          .s = {.q = Q_COMM, .ts_ns = 2000}};
    p[4] = (influx_point){.plc = "p 2", .field = "s",
                          .s = {.v = {.kind = VAL_STR}, .q = Q_GOOD,
                                .ts_ns = 2000}};
    strcpy(p[4].s.v.s, "say \"hi\"");
    assert_int_equal(influx_submit(w, p, 5), 5);
    assert_int_equal(influx_flush(w, 2000 * MS), 0);
    /* Good again: value only.  Heartbeat: value and quality.  u64 beyond
     * int64 as a float.  Quality back to good after comm failure. */
    influx_point q[4];
    q[0] = ipt("p1", "a", 6, 3000);
    q[1] = ipt("p1", "a", 6, 4000);
    q[1].heartbeat = true;
    q[2] = (influx_point){.plc = "p1", .field = "u",
                          .s = {.v = {.kind = VAL_UINT, .u = 18446744073709551615ull},
                                .q = Q_GOOD, .ts_ns = 4000}};
    q[3] = ipt("p1", "d", -7, 5000);
    assert_int_equal(influx_submit(w, q, 4), 4);
    assert_int_equal(influx_flush(w, 2000 * MS), 0);

    assert_int_equal(fake_nreqs(x->f), 2);
    request *r = &x->f->reqs[0];
    assert_string_equal(r->path, "/write?db=lock%261&rp=two%20weeks&precision=ns");
    assert_non_null(strstr(r->headers, "POST "));
    assert_non_null(strstr(r->headers, "\r\nAuthorization: Basic dTpw\r\n"));
    assert_non_null(strstr(r->headers, "\r\nContent-Type: text/plain; charset=utf-8\r\n"));
    assert_null(strcasestr(r->headers, "Content-Encoding"));
    assert_string_equal(r->body,
        "p1,plc=p1,station=lock1 a=5i,a_q=0i,b=true,b_q=0i 1000\n"
        "p1,plc=p1,station=lock1 c=1.5,c_q=0i,d_q=2i 2000\n"
        "p\\ 2,plc=p\\ 2,station=lock1 s=\"say \\\"hi\\\"\",s_q=0i 2000\n");
    assert_string_equal(x->f->reqs[1].body,
        "p1,plc=p1,station=lock1 a=6i 3000\n"
        "p1,plc=p1,station=lock1 a=6i,a_q=0i,u=1.8446744073709552e+19,u_q=0i 4000\n"
        "p1,plc=p1,station=lock1 d=-7i,d_q=0i 5000\n");
    influx_stats s;
    influx_get_stats(w, &s);
    assert_int_equal(s.submitted, 9);
    assert_int_equal(s.written, 9);
    assert_int_equal(s.batches, 2);
    assert_int_equal(s.queued, 0);
    assert_int_equal(s.spooled_points, 0);
    assert_int_equal(s.dropped, 0);
    assert_int_equal(s.retries, 0);
    assert_int_equal(s.last_status, 204);
    assert_false(s.auth_failed);
    assert_string_equal(s.last_error, "");
    /* the wall clock of the second 204, not a point's (Modbus) time */
    assert_true(s.last_success_ns >= t0 && s.last_success_ns <= clk_real_ns());
    /* Memory: the queue starts small, grows for a burst, and gives the
     * memory back once it is drained. */
    assert_int_equal(s.queue_bytes, 1024 * sizeof(influx_point));
    assert_int_equal(s.queue_max_bytes, 1000000 * sizeof(influx_point));
    enum { BURST = 9000 };
    static influx_point b[BURST];
    for (int i = 0; i < BURST; i++)
        b[i] = ipt("p1", "a", i, 10000 + i);
    /* one call holds the queue lock: the ring held all 9,000 at once */
    assert_int_equal(influx_submit(w, b, BURST), BURST);
    assert_int_equal(influx_flush(w, 5000 * MS), 0);
    influx_get_stats(w, &s);
    assert_int_equal(s.queue_bytes, 1024 * sizeof(influx_point));
    assert_int_equal(s.written, 9 + BURST);
    influx_close(w);
    influx_close(NULL);
}

static void test_bad_line_quarantined(void **st)
{
    fixture *x = *st;
    fake_push(x->f, (canned){400, NULL,
        "{\"error\":\"unable to parse 'p1,plc=p1,station=lock1 a=1i,a_q=0i 1': "
        "bad timestamp\"}", 0});
    influx_writer *w = open_ok(&x->o);
    submit1(w, ipt("p1", "a", 1, 1));
    submit1(w, ipt("p1", "a", 2, 2));
    influx_flush(w, 2000 * MS);
    usleep(300000);                   /* time for a retry that must not come */
    assert_int_equal(fake_nreqs(x->f), 2);
    assert_string_equal(x->f->reqs[0].body,
                        "p1,plc=p1,station=lock1 a=1i,a_q=0i 1\n"
                        "p1,plc=p1,station=lock1 a=2i 2\n");
    /* The database rejected the request; the good line went again alone. */
    assert_string_equal(x->f->reqs[1].body, "p1,plc=p1,station=lock1 a=2i 2\n");
    influx_stats s;
    influx_get_stats(w, &s);
    assert_int_equal(s.quarantined, 1);
    assert_int_equal(s.written, 1);
    assert_int_equal(s.retries, 0);
    assert_int_equal(s.spooled_points, 0);

    /* A 400 that names no line: the whole batch is set aside. */
    fake_push(x->f, (canned){400, NULL, "{\"error\":\"write failed\"}", 0});
    submit1(w, ipt("p1", "a", 3, 3));
    submit1(w, ipt("p1", "a", 4, 4));
    influx_flush(w, 2000 * MS);
    usleep(300000);
    assert_int_equal(fake_nreqs(x->f), 3);
    influx_get_stats(w, &s);
    assert_int_equal(s.quarantined, 3);
    assert_int_equal(s.written, 1);
    assert_int_equal(s.last_status, 400);
    assert_string_equal(s.last_error, "HTTP 400: write failed");
    influx_close(w);

    char path[128];
    snprintf(path, sizeof path, "%s/quarantine.lp", x->dir);
    char *q = read_file(path);
    assert_non_null(q);
    /* Each comment line is "# <RFC 3339 time, 24 chars> HTTP ...": blank
     * the time out and compare the whole file. */
    for (char *l = q; *l; ) {
        if (l[0] == '#') {
            assert_int_equal(strncmp(l + 2, "20", 2), 0);
            assert_int_equal(l[25], 'Z');
            memset(l + 2, 'T', 24);
        }
        char *nl = strchr(l, '\n');
        if (!nl)
            break;
        l = nl + 1;
    }
    assert_string_equal(q,
        "# TTTTTTTTTTTTTTTTTTTTTTTT HTTP 400: unable to parse "
        "'p1,plc=p1,station=lock1 a=1i,a_q=0i 1': bad timestamp\n"
        "p1,plc=p1,station=lock1 a=1i,a_q=0i 1\n"
        "# TTTTTTTTTTTTTTTTTTTTTTTT HTTP 400: write failed\n"
        "p1,plc=p1,station=lock1 a=3i 3\n"
        "p1,plc=p1,station=lock1 a=4i 4\n");
    free(q);
}

static void test_partial_write(void **st)
{
    fixture *x = *st;
    fake_push(x->f, (canned){400, NULL,
        "{\"error\":\"partial write: field type conflict: input field \\\"a\\\" "
        "on measurement \\\"p1\\\" is type integer, already exists as type "
        "float dropped=1\"}", 0});
    /* A success status with an error body (a 204 cannot carry one). */
    fake_push(x->f, (canned){200, NULL,
        "{\"error\":\"partial write: points beyond retention policy dropped=1\"}", 0});
    influx_writer *w = open_ok(&x->o);
    char exp[1024] = "";
    submit_run(w, 10, 3, exp, sizeof exp, true);
    influx_flush(w, 2000 * MS);
    submit_run(w, 20, 2, exp, sizeof exp, false);
    influx_flush(w, 2000 * MS);
    usleep(300000);
    assert_int_equal(fake_nreqs(x->f), 2);
    influx_stats s;
    influx_get_stats(w, &s);
    assert_int_equal(s.partial_writes, 2);
    assert_int_equal(s.written, 5);
    assert_int_equal(s.retries, 0);
    assert_int_equal(s.quarantined, 0);
    assert_int_equal(s.spooled_points, 0);
    assert_string_equal(s.last_error,
        "HTTP 200: partial write: points beyond retention policy dropped=1");
    influx_close(w);
}

static void test_auth_failure_spools_then_drains(void **st)
{
    fixture *x = *st;
    x->o.backoff_max_ns = 1000 * MS;          /* auth retry every ~500 ms */
    fake_push(x->f, (canned){401, NULL, "{\"error\":\"authorization failed\"}", 0});
    influx_writer *w = open_ok(&x->o);
    char exp[4096] = "";
    submit_run(w, 100, 5, exp, sizeof exp, true);
    assert_int_equal(influx_flush(w, 2000 * MS), -1);   /* spooled */
    influx_stats s;
    influx_get_stats(w, &s);
    assert_true(s.auth_failed);
    assert_int_equal(s.last_status, 401);
    assert_string_equal(s.last_error,
                        "HTTP 401: authorization failed: authorization failed");
    assert_int_equal(s.spooled_points, 5);
    assert_true(s.spooled_bytes > 0);
    assert_int_equal(s.written, 0);
    assert_int_equal(s.last_success_ns, 0);      /* no success yet */
    /* More data while failing joins the spool, behind the first batch. */
    submit_run(w, 200, 3, exp, sizeof exp, false);
    WAIT_FOR(w, s, s.written == 8 && s.spooled_points == 0, 5000);
    assert_false(s.auth_failed);
    assert_true(s.last_success_ns > 0 && s.last_success_ns <= clk_real_ns());
    assert_int_equal(s.retries, 1);
    char *got = ok_bodies(x->f);
    assert_string_equal(got, exp);
    free(got);
    assert_string_equal(x->f->reqs[1].body, x->f->reqs[0].body);
    influx_close(w);
}

static void test_too_large_splits(void **st)
{
    fixture *x = *st;
    x->f->max_lines = 2;
    influx_writer *w = open_ok(&x->o);
    char exp[4096] = "";
    submit_run(w, 1, 10, exp, sizeof exp, true);
    assert_int_equal(influx_flush(w, 3000 * MS), 0);
    char *got = ok_bodies(x->f);
    assert_string_equal(got, exp);
    free(got);
    int ok = 0;
    for (int i = 0; i < x->f->nreqs; i++) {
        if (x->f->reqs[i].status == 204) {
            ok++;
            assert_true(count_nl(x->f->reqs[i].body) <= 2);
        }
    }
    /* 10 -> 5+5 -> (2+3)+(2+3) -> 2,1,2, 2,1,2 */
    assert_int_equal(ok, 6);
    influx_stats s;
    influx_get_stats(w, &s);
    assert_int_equal(s.written, 10);
    assert_int_equal(s.batches, 6);
    assert_int_equal(s.quarantined, 0);
    assert_int_equal(s.spooled_points, 0);
    influx_close(w);
}

static void test_retry_after_honoured(void **st)
{
    fixture *x = *st;
    fake_push(x->f, (canned){429, "Retry-After: 1\r\n",
                             "{\"error\":\"too many requests\"}", 0});
    influx_writer *w = open_ok(&x->o);
    char exp[1024] = "";
    submit_run(w, 1, 3, exp, sizeof exp, true);
    influx_stats s;
    WAIT_FOR(w, s, s.written == 3, 5000);
    assert_int_equal(fake_nreqs(x->f), 2);
    uint64_t gap = x->f->reqs[1].t_ns - x->f->reqs[0].t_ns;
    assert_true(gap >= 1000 * MS);
    assert_true(gap < 1500 * MS);
    assert_int_equal(s.retries, 1);
    char *got = ok_bodies(x->f);
    assert_string_equal(got, exp);
    free(got);
    influx_close(w);
}

static void test_server_errors_retried(void **st)
{
    fixture *x = *st;
    x->o.backoff_min_ns = 200 * MS;
    fake_push(x->f, (canned){500, NULL, "{\"error\":\"engine: boom\"}", 0});
    fake_push(x->f, (canned){503, NULL, "", 0});
    fake_push(x->f, (canned){503, NULL, "", 0});
    influx_writer *w = open_ok(&x->o);
    char exp[4096] = "";
    submit_run(w, 1, 4, exp, sizeof exp, true);
    influx_stats s;
    WAIT_FOR(w, s, s.retries >= 1, 2000);
    assert_string_equal(s.last_error, "HTTP 500: engine: boom");
    submit_run(w, 50, 4, exp, sizeof exp, false);
    WAIT_FOR(w, s, s.written == 8 && s.spooled_points == 0, 5000);
    assert_int_equal(s.retries, 3);
    assert_int_equal(s.dropped, 0);
    char *got = ok_bodies(x->f);
    assert_string_equal(got, exp);
    free(got);
    influx_close(w);
}

static void test_slow_response_retried(void **st)
{
    fixture *x = *st;
    x->o.timeout_ns = 300 * MS;
    fake_push(x->f, (canned){204, NULL, NULL, 700});
    influx_writer *w = open_ok(&x->o);
    char exp[1024] = "";
    submit_run(w, 1, 3, exp, sizeof exp, true);
    influx_stats s;
    WAIT_FOR(w, s, s.retries >= 1, 3000);
    assert_int_equal(s.last_status, 0);
    assert_int_equal(strncmp(s.last_error, "network: ", 9), 0);
    WAIT_FOR(w, s, s.written == 3 && s.spooled_points == 0, 8000);
    /* The first (slow) request's body is the one that was finally taken. */
    int n = fake_nreqs(x->f);
    assert_true(n >= 2);
    assert_string_equal(x->f->reqs[n - 1].body, exp);
    assert_string_equal(x->f->reqs[0].body, exp);
    influx_close(w);
}

static void test_gzip_v2(void **st)
{
    fixture *x = *st;
    x->o.gzip = true;
    x->o.database = NULL;
    x->o.org = "my org";
    x->o.bucket = "b/1";
    x->o.token = "s3cr3t";
    x->o.precision = LP_US;
    influx_writer *w = open_ok(&x->o);
    influx_point p[300];
    char exp[65536] = "";
    for (int i = 0; i < 300; i++) {
        p[i] = ipt("p1", "a", i, (int64_t)i * 1000 + 999);
        size_t l = strlen(exp);
        snprintf(exp + l, sizeof exp - l, "p1,plc=p1,station=lock1 a=%di%s %d\n",
                 i, i == 0 ? ",a_q=0i" : "", i);
    }
    assert_int_equal(influx_submit(w, p, 300), 300);
    assert_int_equal(influx_flush(w, 2000 * MS), 0);
    assert_int_equal(fake_nreqs(x->f), 1);
    request *r = &x->f->reqs[0];
    assert_string_equal(r->path,
                        "/api/v2/write?org=my%20org&bucket=b%2F1&precision=us");
    assert_non_null(strstr(r->headers, "\r\nContent-Encoding: gzip\r\n"));
    assert_non_null(strstr(r->headers, "\r\nAuthorization: Token s3cr3t\r\n"));
    assert_string_equal(r->body, exp);
    influx_close(w);
}

/* A VictoriaMetrics cluster's vminsert with a tenant, and InfluxDB
 * Enterprise's consistency: the paths their documentation gives. */
static void test_cluster_paths(void **st)
{
    fixture *x = *st;
    x->o.database = "lock";
    x->o.tenant = "42:7";
    influx_writer *w = open_ok(&x->o);
    influx_point p = ipt("p1", "a", 1, 1000);
    assert_int_equal(influx_submit(w, &p, 1), 1);
    assert_int_equal(influx_flush(w, 2000 * MS), 0);
    influx_close(w);
    x->o.tenant = NULL;
    x->o.consistency = "quorum";
    w = open_ok(&x->o);
    p = ipt("p1", "a", 2, 2000);
    assert_int_equal(influx_submit(w, &p, 1), 1);
    assert_int_equal(influx_flush(w, 2000 * MS), 0);
    influx_close(w);
    assert_int_equal(fake_nreqs(x->f), 2);
    assert_string_equal(x->f->reqs[0].path,
                        "/insert/42:7/influx/write?db=lock&precision=ns");
    assert_string_equal(x->f->reqs[0].body,
                        "p1,plc=p1,station=lock1 a=1i,a_q=0i 1000\n");
    assert_string_equal(x->f->reqs[1].path,
                        "/write?db=lock&precision=ns&consistency=quorum");
}

static void test_outage_keeps_order(void **st)
{
    fixture *x = *st;
    /* Eight requests get no answer at all (connection closed), as when
     * the database dies; then it answers again. */
    for (int i = 0; i < 8; i++)
        fake_push(x->f, (canned){-1, NULL, NULL, 0});
    x->o.batch_points = 20;
    influx_writer *w = open_ok(&x->o);
    static char exp[200000];
    exp[0] = '\0';
    for (int round = 0; round < 40; round++) {
        submit_run(w, 1000 + round * 25, 25, exp, sizeof exp, round == 0);
        usleep(20000);
    }
    influx_stats s;
    WAIT_FOR(w, s, s.written == 1000 && s.spooled_points == 0 && s.queued == 0,
             15000);
    assert_int_equal(s.retries, 8);
    assert_int_equal(s.dropped, 0);
    assert_int_equal(s.last_status, 204);
    char *got = ok_bodies(x->f);
    assert_string_equal(got, exp);
    free(got);
    /* Drained requests stay within batch_points. */
    for (int i = 0; i < x->f->nreqs; i++)
        assert_true(count_nl(x->f->reqs[i].body) <= 20);
    influx_close(w);
}

static void test_close_reopen_replays(void **st)
{
    fixture *x = *st;
    x->f->dflt = (canned){503, NULL, NULL, 0};
    influx_writer *w = open_ok(&x->o);
    char exp[4096] = "";
    submit_run(w, 1, 6, exp, sizeof exp, true);
    assert_int_equal(influx_flush(w, 2000 * MS), -1);
    submit_run(w, 7, 4, exp, sizeof exp, false);
    influx_close(w);                   /* the rest goes to the spool */
    int before = fake_nreqs(x->f);

    pthread_mutex_lock(&x->f->mu);
    x->f->dflt = (canned){204, NULL, NULL, 0};
    pthread_mutex_unlock(&x->f->mu);
    w = open_ok(&x->o);
    influx_stats s;
    WAIT_FOR(w, s, s.written == 10 && s.spooled_points == 0, 5000);
    assert_int_equal(s.submitted, 0);
    assert_int_equal(s.dropped, 0);
    char *got = ok_bodies(x->f);
    assert_string_equal(got, exp);
    free(got);
    assert_true(fake_nreqs(x->f) > before);
    influx_close(w);
}

static void test_queue_full_and_bad_options(void **st)
{
    fixture *x = *st;
    x->o.queue_cap = 4;
    x->o.batch_age_ns = 5000 * MS;
    x->f->dflt = (canned){204, NULL, NULL, 300};
    influx_writer *w = open_ok(&x->o);
    influx_point p[10];
    for (int i = 0; i < 10; i++)
        p[i] = ipt("p1", "a", i, i);
    /* One submit holds the queue lock throughout: exactly 4 fit. */
    assert_int_equal(influx_submit(w, p, 10), 4);
    influx_stats s;
    influx_get_stats(w, &s);
    assert_int_equal(s.submitted, 10);
    assert_int_equal(s.dropped, 6);
    influx_close(w);

    char err[256];
    influx_opts o = x->o;
    o.url = "ftp://x";
    assert_null(influx_open(&o, err, sizeof err));
    assert_string_equal(err, "influx: url 'ftp://x' must start with http:// or https://");
    o = x->o;
    o.database = NULL;
    assert_null(influx_open(&o, err, sizeof err));
    assert_string_equal(err, "influx: database (1.x) or org and bucket (2.x) is required");
    o = x->o;
    o.org = "o";
    assert_null(influx_open(&o, err, sizeof err));
    assert_string_equal(err, "influx: org and bucket go together (2.x)");
    o = x->o;
    o.spool_dir = NULL;
    assert_null(influx_open(&o, err, sizeof err));
    assert_string_equal(err, "influx: spool_dir is required");
}

/* ---- a full disk ------------------------------------------------------- */

static void fake_answer(fake *f, int status)
{
    pthread_mutex_lock(&f->mu);
    f->dflt = (canned){status, NULL, NULL, 0};
    pthread_mutex_unlock(&f->mu);
}

static void test_full_disk_holds_batch(void **st)
{
    fixture *x = *st;
    x->f->dflt = (canned){503, NULL, NULL, 0};      /* the database is down */
    influx_writer *w = open_ok(&x->o);
    static char exp[65536];
    exp[0] = '\0';
    submit_run(w, 1, 5, exp, sizeof exp, true);
    influx_stats s;
    WAIT_FOR(w, s, s.spooled_points == 5, 3000);

    /* The disk fills up: the next batch can go neither to the database
     * nor to the spool.  It is kept, and what follows waits in memory.
     * (One submit, so it is one batch, larger than what is left of the
     * spool file's last page.) */
    assert_int_equal(fullfs_fill(x->dir), 0);
    enum { N = 600 };
    static influx_point p[N];
    for (int i = 0; i < N; i++) {
        p[i] = ipt("p1", "a", 100 + i, 100 + i);
        size_t l = strlen(exp);
        snprintf(exp + l, sizeof exp - l, "p1,plc=p1,station=lock1 a=%di %d\n",
                 100 + i, 100 + i);
    }
    assert_int_equal(influx_submit(w, p, N), N);
    WAIT_FOR(w, s, strstr(s.last_error, "No space left on device"), 3000);
    char want[256];
    snprintf(want, sizeof want, "spool %s: No space left on device", x->dir);
    assert_string_equal(s.last_error, want);
    assert_int_equal(influx_flush(w, 300 * MS), -1);
    influx_get_stats(w, &s);
    assert_int_equal(s.dropped, 0);
    assert_int_equal(s.spooled_points, 5);
    assert_int_equal(s.queued, N);
    assert_int_equal(s.written, 0);
    /* more arrives meanwhile: it waits behind the held batch */
    submit_run(w, 1000, 7, exp, sizeof exp, false);

    /* Room again: the held batch and the rest join the spool, in order;
     * the spool's error goes, the database's (still down) is shown. */
    assert_int_equal(fullfs_unfill(x->dir), 0);
    WAIT_FOR(w, s, s.spooled_points == 5 + N + 7 && s.queued == 0, 8000);
    assert_string_equal(s.last_error, "HTTP 503: unexpected response");
    assert_int_equal(s.dropped, 0);

    /* The database returns: every point exactly once, in order. */
    fake_answer(x->f, 204);
    WAIT_FOR(w, s, s.written == 5 + N + 7 && s.spooled_points == 0, 8000);
    assert_int_equal(s.dropped, 0);
    assert_int_equal(s.queued, 0);
    assert_string_equal(s.last_error, "");
    char *got = ok_bodies(x->f);
    assert_string_equal(got, exp);
    free(got);
    influx_close(w);
}

static void test_full_disk_queue_refuses_newest(void **st)
{
    fixture *x = *st;
    x->o.batch_points = 5;
    x->o.queue_cap = 20;
    x->f->dflt = (canned){503, NULL, NULL, 0};
    assert_int_equal(fullfs_fill(x->dir), 0);
    influx_writer *w = open_ok(&x->o);
    /* One point at a time, as the consumer thread hands them over: the
     * first batches fill the sender's hands, the slot and the encoder,
     * then the queue fills, then the newest are refused. */
    static char exp[16384];
    exp[0] = '\0';
    int refused = 0, accepted = 0;
    for (int i = 0; i < 200; i++) {
        influx_point p = ipt("p1", "a", 1000 + i, 1000 + i);
        if (influx_submit(w, &p, 1) == 1) {
            size_t l = strlen(exp);
            snprintf(exp + l, sizeof exp - l,
                     "p1,plc=p1,station=lock1 a=%di%s %d\n", 1000 + i,
                     accepted == 0 ? ",a_q=0i" : "", 1000 + i);
            accepted++;
        } else {
            refused++;
        }
        usleep(2000);
    }
    influx_stats s;
    influx_get_stats(w, &s);
    assert_true(refused > 0);
    assert_true(accepted >= 20);
    assert_int_equal(s.submitted, 200);
    assert_int_equal(s.dropped, (uint64_t)refused);
    assert_int_equal(s.queued, (uint64_t)accepted);
    assert_int_equal(s.spooled_points, 0);

    assert_int_equal(fullfs_unfill(x->dir), 0);
    fake_answer(x->f, 204);
    WAIT_FOR(w, s, s.written == (uint64_t)accepted && s.queued == 0 &&
             s.spooled_points == 0, 10000);
    assert_int_equal(s.dropped, (uint64_t)refused);
    assert_string_equal(s.last_error, "");
    char *got = ok_bodies(x->f);
    assert_string_equal(got, exp);
    free(got);
    influx_close(w);
}

static void test_full_disk_close_loses_held(void **st)
{
    fixture *x = *st;
    x->f->dflt = (canned){503, NULL, NULL, 0};
    assert_int_equal(fullfs_fill(x->dir), 0);
    influx_writer *w = open_ok(&x->o);
    char exp[1024] = "";
    submit_run(w, 1, 4, exp, sizeof exp, true);
    influx_stats s;
    WAIT_FOR(w, s, strstr(s.last_error, "No space left on device"), 3000);
    /* Nothing can be kept: closing gives up after its grace period
     * instead of waiting for room forever. */
    uint64_t t0 = clk_mono_ns();
    influx_close(w);
    assert_true(clk_mono_ns() - t0 < 5000 * MS);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
#define TF(f) cmocka_unit_test_setup_teardown(f, setup_full, teardown_full)
    const struct CMUnitTest tests[] = {
        T(test_happy_path),
        T(test_bad_line_quarantined),
        T(test_partial_write),
        T(test_auth_failure_spools_then_drains),
        T(test_too_large_splits),
        T(test_retry_after_honoured),
        T(test_server_errors_retried),
        T(test_slow_response_retried),
        T(test_gzip_v2),
        T(test_cluster_paths),
        T(test_outage_keeps_order),
        T(test_close_reopen_replays),
        T(test_queue_full_and_bad_options),
        TF(test_full_disk_holds_batch),
        TF(test_full_disk_queue_refuses_newest),
        TF(test_full_disk_close_loses_held),
    };
    /* Before any thread: the full-disk cases mount their file system in
     * a namespace of this process's own.  A failure is kept, and fails
     * those cases only (fullfs_setup says why). */
    char why[256];
    (void)fullfs_isolate(why, sizeof why);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
