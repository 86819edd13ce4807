/*
 * test_mbtcp.c - the poller's Modbus TCP client against a fake server on
 * a loopback socket, run by a thread of the test.
 *
 * The fake answers each request with the correct reply (register i holds
 * 0x1000 + i for FC 3, 0x2000 + i for FC 4; bit i is set when i % 3 == 0),
 * optionally changed by one mutation, or stays silent, trickles, or closes
 * mid-reply.  Every MBAP and PDU field is made wrong in turn, and each must
 * give MBTCP_MALFORMED with the exact message, at once (not after the
 * timeout) and with the connection closed.  Exceptions give their code and
 * keep the connection.  A trickling server fails at the deadline (the bug:
 * libmodbus 3.1.6 waited ~100 s), connecting is bounded by the timeout
 * (a listener whose accept queue is full never completes the handshake),
 * and the stop descriptor interrupts both waits.
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <fcntl.h>
#include <cmocka.h>

#include "acquire/mbtcp.h"
#include "core/clock.h"

#define MS 1000000ull

typedef enum {
    FK_ANSWER,      /* the reply, after mutate() if set */
    FK_SILENT,      /* requests are read, never answered */
    FK_TRICKLE,     /* the reply's first 8 bytes, then one every trickle_ms */
    FK_CLOSE_AFTER, /* close_after bytes of the reply, then close */
} fake_mode;

typedef struct {
    int lfd, port;
    pthread_t th;
    fake_mode mode;
    void (*mutate)(uint8_t *rsp, size_t *len);
    int trickle_ms;
    size_t close_after;
    atomic_bool stop;
    /* Written by the server thread; read by the test after fake_stop(). */
    int connections;
    int requests;
    uint8_t req[8][12];
} fake;

/* The correct reply to a read request q (12 bytes) into r; its length. */
static size_t fake_reply(const uint8_t *q, uint8_t *r)
{
    memcpy(r, q, 7);
    unsigned fc = q[7], start = (unsigned)q[8] << 8 | q[9],
             count = (unsigned)q[10] << 8 | q[11];
    size_t nb;
    r[7] = (uint8_t)fc;
    if (fc <= 2) {
        nb = (count + 7) / 8;
        memset(r + 9, 0, nb);
        for (unsigned i = 0; i < count; i++)
            if ((start + i) % 3 == 0)
                r[9 + i / 8] |= (uint8_t)(1u << (i % 8));
    } else {
        nb = count * 2;
        for (unsigned i = 0; i < count; i++) {
            unsigned v = (fc == 3 ? 0x1000u : 0x2000u) + start + i;
            r[9 + 2 * i] = (uint8_t)(v >> 8);
            r[10 + 2 * i] = (uint8_t)v;
        }
    }
    r[8] = (uint8_t)nb;
    r[4] = (uint8_t)((3 + nb) >> 8);
    r[5] = (uint8_t)(3 + nb);
    return 9 + nb;
}

static bool fake_sleep(fake *f, int ms)
{
    for (int i = 0; i < ms; i += 10) {
        if (atomic_load(&f->stop))
            return false;
        usleep(10000);
    }
    return !atomic_load(&f->stop);
}

static void *fake_main(void *arg)
{
    fake *f = arg;
    int cfd = -1;
    while (!atomic_load(&f->stop)) {
        struct pollfd p = {.fd = cfd >= 0 ? cfd : f->lfd, .events = POLLIN};
        if (poll(&p, 1, 20) <= 0)
            continue;
        if (cfd < 0) {
            cfd = accept(f->lfd, NULL, NULL);
            if (cfd >= 0)
                f->connections++;
            continue;
        }
        uint8_t q[12], r[300];
        ssize_t n = recv(cfd, q, sizeof q, MSG_WAITALL);
        if (n != (ssize_t)sizeof q) {
            close(cfd);
            cfd = -1;
            continue;
        }
        if (f->requests < 8)
            memcpy(f->req[f->requests], q, sizeof q);
        f->requests++;
        size_t len = fake_reply(q, r);
        if (f->mutate)
            f->mutate(r, &len);
        switch (f->mode) {
        case FK_ANSWER:
            send(cfd, r, len, MSG_NOSIGNAL);
            break;
        case FK_SILENT:
            break;
        case FK_TRICKLE:
            if (send(cfd, r, 8, MSG_NOSIGNAL) != 8)
                break;
            for (size_t i = 8; i < len && fake_sleep(f, f->trickle_ms); i++)
                if (send(cfd, r + i, 1, MSG_NOSIGNAL) != 1)
                    break;
            break;
        case FK_CLOSE_AFTER:
            send(cfd, r, f->close_after, MSG_NOSIGNAL);
            close(cfd);
            cfd = -1;
            break;
        }
    }
    if (cfd >= 0)
        close(cfd);
    return NULL;
}

static int listen_any(int backlog, int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd, backlog), 0);
    socklen_t al = sizeof a;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

/* arg: milliseconds between bytes (FK_TRICKLE), bytes sent before
 * closing (FK_CLOSE_AFTER).  Everything the thread reads is set before it
 * starts. */
static void fake_start_arg(fake *f, fake_mode mode,
                           void (*mutate)(uint8_t *, size_t *), int arg)
{
    memset(f, 0, sizeof *f);
    f->mode = mode;
    f->mutate = mutate;
    f->trickle_ms = arg;
    f->close_after = (size_t)arg;
    f->lfd = listen_any(8, &f->port);
    assert_int_equal(pthread_create(&f->th, NULL, fake_main, f), 0);
}

static void fake_start(fake *f, fake_mode mode,
                       void (*mutate)(uint8_t *, size_t *))
{
    fake_start_arg(f, mode, mutate, 0);
}

static void fake_stop(fake *f)
{
    atomic_store(&f->stop, true);
    pthread_join(f->th, NULL);
    close(f->lfd);
}

static mbtcp *client(const fake *f, uint64_t timeout_ns, int stop_fd)
{
    mbtcp *c = mbtcp_new("127.0.0.1", f->port, 1, timeout_ns, stop_fd);
    assert_non_null(c);
    assert_int_equal(mbtcp_connect(c), MBTCP_OK);
    assert_true(mbtcp_connected(c));
    return c;
}

/* ---- good replies ------------------------------------------------------ */

static void test_registers_and_request_bytes(void **st)
{
    (void)st;
    fake f;
    fake_start(&f, FK_ANSWER, NULL);
    mbtcp *c = client(&f, 2000 * MS, -1);
    assert_int_equal(mbtcp_next_tid(c), 1);
    uint16_t regs[125];
    assert_int_equal(mbtcp_read_regs(c, MBTCP_FC_HOLDING, 100, 2, regs),
                     MBTCP_OK);
    assert_int_equal(regs[0], 0x1000 + 100);
    assert_int_equal(regs[1], 0x1000 + 101);
    assert_string_equal(mbtcp_error(c), "");
    assert_int_equal(mbtcp_read_regs(c, MBTCP_FC_INPUT, 10, 125, regs),
                     MBTCP_OK);
    for (int i = 0; i < 125; i++)
        assert_int_equal(regs[i], 0x2000 + 10 + i);
    assert_int_equal(mbtcp_next_tid(c), 3);
    mbtcp_free(c);
    fake_stop(&f);

    /* Exactly the 12-byte ADUs of Implementation Guide 3.1.3 / Application
     * Protocol 6.3-6.4: tid, protocol 0, length 6, unit, fc, start, qty. */
    static const uint8_t want0[12] = {0, 1, 0, 0, 0, 6, 1, 3, 0, 100, 0, 2};
    static const uint8_t want1[12] = {0, 2, 0, 0, 0, 6, 1, 4, 0, 10, 0, 125};
    assert_int_equal(f.connections, 1);
    assert_int_equal(f.requests, 2);
    assert_memory_equal(f.req[0], want0, 12);
    assert_memory_equal(f.req[1], want1, 12);
}

static void test_bits(void **st)
{
    (void)st;
    fake f;
    fake_start(&f, FK_ANSWER, NULL);
    mbtcp *c = client(&f, 2000 * MS, -1);
    uint8_t bits[2000];
    assert_int_equal(mbtcp_read_bits(c, MBTCP_FC_DISCRETE, 5, 10, bits),
                     MBTCP_OK);
    static const uint8_t want[10] = {0, 1, 0, 0, 1, 0, 0, 1, 0, 0};
    assert_memory_equal(bits, want, 10);
    assert_int_equal(mbtcp_read_bits(c, MBTCP_FC_COILS, 0, 2000, bits),
                     MBTCP_OK);
    for (int i = 0; i < 2000; i++)
        assert_int_equal(bits[i], i % 3 == 0);
    mbtcp_free(c);
    fake_stop(&f);
    assert_int_equal(f.req[1][7], 1);
    assert_int_equal(f.req[1][10] << 8 | f.req[1][11], 2000);
}

/* Requests the protocol cannot carry are refused before anything is sent. */
static void test_invalid_requests(void **st)
{
    (void)st;
    fake f;
    fake_start(&f, FK_ANSWER, NULL);
    mbtcp *c = client(&f, 2000 * MS, -1);
    uint16_t regs[126];
    uint8_t bits[2001];
    assert_int_equal(mbtcp_read_regs(c, 3, 0, 0, regs), MBTCP_INVALID);
    assert_int_equal(mbtcp_read_regs(c, 3, 0, 126, regs), MBTCP_INVALID);
    assert_int_equal(mbtcp_read_regs(c, 6, 0, 1, regs), MBTCP_INVALID);
    assert_string_equal(mbtcp_error(c),
                        "cannot read 1 registers with function code 6");
    assert_int_equal(mbtcp_read_regs(c, 1, 0, 1, regs), MBTCP_INVALID);
    assert_int_equal(mbtcp_read_bits(c, 1, 0, 2001, bits), MBTCP_INVALID);
    assert_int_equal(mbtcp_read_bits(c, 3, 0, 1, bits), MBTCP_INVALID);
    assert_true(mbtcp_connected(c));
    assert_int_equal(mbtcp_read_regs(c, 3, 0, 1, regs), MBTCP_OK);
    mbtcp_free(c);
    fake_stop(&f);
    assert_int_equal(f.requests, 1);
}

/* ---- every field wrong in turn ------------------------------------------ */

static void set_len(uint8_t *r, unsigned len)
{
    r[4] = (uint8_t)(len >> 8);
    r[5] = (uint8_t)len;
}

static void m_tid(uint8_t *r, size_t *n) { (void)n; r[1]++; }
static void m_tid_hi(uint8_t *r, size_t *n) { (void)n; r[0] ^= 0x80; }
static void m_proto(uint8_t *r, size_t *n) { (void)n; r[3] = 1; }
static void m_proto_hi(uint8_t *r, size_t *n) { (void)n; r[2] = 1; }
static void m_len_big(uint8_t *r, size_t *n) { (void)n; set_len(r, 27); }
static void m_len_small(uint8_t *r, size_t *n) { (void)n; set_len(r, 6); }
static void m_len_3(uint8_t *r, size_t *n) { (void)n; set_len(r, 3); }
static void m_unit(uint8_t *r, size_t *n) { (void)n; r[6]++; }
static void m_fc(uint8_t *r, size_t *n) { (void)n; r[7] = 4; }
static void m_fc_exc_other(uint8_t *r, size_t *n)
{
    r[7] = 0x84;
    r[8] = 2;
    set_len(r, 3);
    *n = 9;
}
static void m_bc(uint8_t *r, size_t *n) { (void)n; r[8] = 3; }
/* One register short, MBAP length consistent with it (lock-sim's
 * bad-length): the length no longer matches the request. */
static void m_short(uint8_t *r, size_t *n)
{
    r[8] = 2;
    set_len(r, 5);
    *n = 11;
}
static void m_exc_len(uint8_t *r, size_t *n)
{
    r[7] = 0x83;
    r[8] = 2;
    *n = 9;  /* MBAP still says 7 */
}
static void m_exc_zero(uint8_t *r, size_t *n)
{
    r[7] = 0x83;
    r[8] = 0;
    set_len(r, 3);
    *n = 9;
}
static void m_exc_extra(uint8_t *r, size_t *n)
{
    r[7] = 0x83;
    r[8] = 2;
    set_len(r, 3);
    *n = 11;
}

static void test_malformed_fields(void **st)
{
    (void)st;
    static const struct {
        void (*mutate)(uint8_t *, size_t *);
        const char *msg;
    } cases[] = {
        {m_tid, "transaction id 2, expected 1"},
        {m_tid_hi, "transaction id 32769, expected 1"},
        {m_proto, "protocol id 1, expected 0"},
        {m_proto_hi, "protocol id 256, expected 0"},
        {m_len_big, "MBAP length 27, expected 7"},
        {m_len_small, "MBAP length 6, expected 7"},
        {m_len_3, "MBAP length 3, expected 7"},
        {m_unit, "unit id 2, expected 1"},
        {m_fc, "function code 0x04, expected 0x03"},
        {m_fc_exc_other, "function code 0x84, expected 0x03"},
        {m_bc, "byte count 3, expected 4"},
        {m_short, "MBAP length 5, expected 7"},
        {m_exc_len, "MBAP length 7, expected 3 for an exception"},
        {m_exc_zero, "exception code 0"},
        {m_exc_extra, "2 bytes after an exception reply"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fake f;
        fake_start(&f, FK_ANSWER, cases[i].mutate);
        /* A long timeout: a wrong field must be reported when it
         * arrives, not when the deadline passes. */
        mbtcp *c = client(&f, 5000 * MS, -1);
        uint16_t regs[2];
        uint64_t t0 = clk_mono_ns();
        mbtcp_rc rc = mbtcp_read_regs(c, MBTCP_FC_HOLDING, 100, 2, regs);
        uint64_t took = clk_mono_ns() - t0;
        if (rc != MBTCP_MALFORMED || strcmp(mbtcp_error(c), cases[i].msg))
            fail_msg("case %zu: %s '%s', expected malformed '%s'", i,
                     mbtcp_rc_name(rc), mbtcp_error(c), cases[i].msg);
        if (took > 1000 * MS)
            fail_msg("case %zu (%s): took %llu ms", i, cases[i].msg,
                     (unsigned long long)(took / MS));
        assert_false(mbtcp_connected(c));
        /* Closed: nothing more is sent on that connection. */
        assert_int_equal(mbtcp_read_regs(c, 3, 100, 2, regs), MBTCP_CONN);
        assert_string_equal(mbtcp_error(c), "not connected");
        mbtcp_free(c);
        fake_stop(&f);
        assert_int_equal(f.requests, 1);
    }
}

/* ---- exceptions ----------------------------------------------------------- */

static int exc_code = 2;
static void m_exception(uint8_t *r, size_t *n)
{
    r[7] |= 0x80;
    r[8] = (uint8_t)exc_code;
    set_len(r, 3);
    *n = 9;
}

static void test_exception_keeps_connection(void **st)
{
    (void)st;
    static const struct { int code; const char *msg; } cases[] = {
        {2, "exception 2 (illegal data address)"},
        {4, "exception 4 (server device failure)"},
        {11, "exception 11 (gateway target device failed to respond)"},
        {200, "exception 200 (unknown exception)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        exc_code = cases[i].code;
        fake f;
        fake_start(&f, FK_ANSWER, m_exception);
        mbtcp *c = client(&f, 2000 * MS, -1);
        uint16_t regs[2];
        uint8_t bits[3];
        assert_int_equal(mbtcp_read_regs(c, 3, 100, 2, regs),
                         MBTCP_EXCEPTION);
        assert_int_equal(mbtcp_exception(c), cases[i].code);
        assert_string_equal(mbtcp_error(c), cases[i].msg);
        assert_true(mbtcp_connected(c));
        /* A bit read's exception too, on the same connection. */
        assert_int_equal(mbtcp_read_bits(c, 1, 0, 3, bits), MBTCP_EXCEPTION);
        assert_int_equal(mbtcp_exception(c), cases[i].code);
        assert_true(mbtcp_connected(c));
        mbtcp_free(c);
        fake_stop(&f);
        assert_int_equal(f.connections, 1);
        assert_int_equal(f.requests, 2);
    }
}

/* ---- broken links, deadlines, stop ---------------------------------------- */

static void test_closed_mid_reply(void **st)
{
    (void)st;
    fake f;
    fake_start_arg(&f, FK_CLOSE_AFTER, NULL, 5);
    mbtcp *c = client(&f, 2000 * MS, -1);
    uint16_t regs[2];
    assert_int_equal(mbtcp_read_regs(c, 3, 100, 2, regs), MBTCP_CONN);
    assert_string_equal(mbtcp_error(c),
                        "connection closed by the PLC (5 of 13 bytes)");
    assert_false(mbtcp_connected(c));
    mbtcp_free(c);
    fake_stop(&f);
}

static void test_silent_times_out(void **st)
{
    (void)st;
    fake f;
    fake_start(&f, FK_SILENT, NULL);
    mbtcp *c = client(&f, 300 * MS, -1);
    uint16_t regs[2];
    uint64_t t0 = clk_mono_ns();
    assert_int_equal(mbtcp_read_regs(c, 3, 100, 2, regs), MBTCP_TIMEOUT);
    uint64_t took = clk_mono_ns() - t0;
    assert_true(took >= 300 * MS);
    assert_true(took < 900 * MS);
    assert_string_equal(mbtcp_error(c),
                        "no complete reply within 300 ms (0 of 13 bytes)");
    assert_false(mbtcp_connected(c));
    mbtcp_free(c);
    fake_stop(&f);
}

/* The bug: a header, then one byte every 100 ms (each gap well inside the
 * timeout) kept libmodbus reading for 250 x 100 ms.  The deadline is the
 * send time + timeout, whatever trickles in. */
static void test_trickle_fails_at_deadline(void **st)
{
    (void)st;
    fake f;
    fake_start_arg(&f, FK_TRICKLE, NULL, 100);
    mbtcp *c = client(&f, 300 * MS, -1);
    uint16_t regs[125];
    uint64_t t0 = clk_mono_ns();
    assert_int_equal(mbtcp_read_regs(c, 3, 0, 125, regs), MBTCP_TIMEOUT);
    uint64_t took = clk_mono_ns() - t0;
    if (took < 300 * MS || took >= 900 * MS)
        fail_msg("took %llu ms, expected 300..900",
                 (unsigned long long)(took / MS));
    /* 8 bytes at once, then about one per 100 ms: 9 to 12 by 300 ms. */
    const char *e = mbtcp_error(c);
    const char *pre = "no complete reply within 300 ms (";
    assert_memory_equal(e, pre, strlen(pre));
    unsigned got = 0, of = 0;
    assert_int_equal(sscanf(e + strlen(pre), "%u of %u bytes)", &got, &of),
                     2);
    assert_int_equal(of, 259);
    assert_in_range(got, 9, 12);
    assert_false(mbtcp_connected(c));
    mbtcp_free(c);
    fake_stop(&f);
}

typedef struct {
    int fd;
    int after_ms;
} poke;

static void *poke_main(void *arg)
{
    poke *k = arg;
    usleep((useconds_t)k->after_ms * 1000);
    uint64_t one = 1;
    if (write(k->fd, &one, sizeof one) != sizeof one)
        abort();
    return NULL;
}

static void test_stop_interrupts_read(void **st)
{
    (void)st;
    fake f;
    fake_start(&f, FK_SILENT, NULL);
    int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    assert_true(efd >= 0);
    mbtcp *c = client(&f, 10000 * MS, efd);
    poke k = {efd, 100};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, poke_main, &k), 0);
    uint16_t regs[2];
    uint64_t t0 = clk_mono_ns();
    assert_int_equal(mbtcp_read_regs(c, 3, 100, 2, regs), MBTCP_STOPPED);
    uint64_t took = clk_mono_ns() - t0;
    pthread_join(th, NULL);
    assert_true(took >= 90 * MS);
    assert_true(took < 1000 * MS);
    assert_string_equal(mbtcp_error(c), "stopped");
    assert_false(mbtcp_connected(c));
    /* Still signalled: a connect gives up at once too. */
    assert_int_equal(mbtcp_connect(c), MBTCP_STOPPED);
    assert_false(mbtcp_connected(c));
    mbtcp_free(c);
    close(efd);
    fake_stop(&f);
}

/* A listener with a full accept queue drops SYNs: the handshake never
 * completes, like a PLC behind a dead route. */
static int blackhole(int *port, int *filler)
{
    int lfd = listen_any(0, port);
    *filler = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)*port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(connect(*filler, (struct sockaddr *)&a, sizeof a), 0);
    return lfd;
}

static void test_connect_deadline_and_stop(void **st)
{
    (void)st;
    int port, filler;
    int lfd = blackhole(&port, &filler);
    mbtcp *c = mbtcp_new("127.0.0.1", port, 1, 300 * MS, -1);
    assert_non_null(c);
    uint64_t t0 = clk_mono_ns();
    assert_int_equal(mbtcp_connect(c), MBTCP_TIMEOUT);
    uint64_t took = clk_mono_ns() - t0;
    assert_true(took >= 300 * MS);
    assert_true(took < 900 * MS);
    assert_string_equal(mbtcp_error(c), "no connection within 300 ms");
    assert_false(mbtcp_connected(c));
    mbtcp_free(c);

    int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    c = mbtcp_new("127.0.0.1", port, 1, 10000 * MS, efd);
    poke k = {efd, 100};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, poke_main, &k), 0);
    t0 = clk_mono_ns();
    assert_int_equal(mbtcp_connect(c), MBTCP_STOPPED);
    took = clk_mono_ns() - t0;
    pthread_join(th, NULL);
    assert_true(took < 1000 * MS);
    mbtcp_free(c);
    close(efd);
    close(filler);
    close(lfd);
}

static void test_connect_refused(void **st)
{
    (void)st;
    int port;
    close(listen_any(1, &port));     /* a port nobody listens on */
    mbtcp *c = mbtcp_new("127.0.0.1", port, 1, 300 * MS, -1);
    assert_int_equal(mbtcp_connect(c), MBTCP_CONN);
    assert_string_equal(mbtcp_error(c), "Connection refused");
    uint16_t r;
    assert_int_equal(mbtcp_read_regs(c, 3, 0, 1, &r), MBTCP_CONN);
    assert_string_equal(mbtcp_error(c), "not connected");
    mbtcp_free(c);
    mbtcp_free(NULL);
}

/* poll(), not select(): a socket numbered above FD_SETSIZE works (the
 * poller used to refuse those, because libmodbus select()ed on them). */
static void test_descriptor_above_fd_setsize(void **st)
{
    (void)st;
    struct rlimit rl;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
    if (rl.rlim_cur < 1200) {
        if (rl.rlim_max < 1200)
            skip();
        rl.rlim_cur = 1200;
        assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
    }
    int fds[1100];
    int n = 0;
    int probe = open("/dev/null", O_RDONLY | O_CLOEXEC);
    while (probe >= 0 && probe < 1050 && n < 1100) {
        fds[n++] = probe;
        probe = open("/dev/null", O_RDONLY | O_CLOEXEC);
    }
    assert_true(probe >= 1024);
    close(probe);     /* the client's socket gets a number >= 1024 */
    fake f;
    fake_start(&f, FK_ANSWER, NULL);
    mbtcp *c = client(&f, 2000 * MS, -1);
    uint16_t regs[3];
    assert_int_equal(mbtcp_read_regs(c, 3, 7, 3, regs), MBTCP_OK);
    assert_int_equal(regs[2], 0x1000 + 9);
    mbtcp_free(c);
    fake_stop(&f);
    for (int i = 0; i < n; i++)
        close(fds[i]);
}

/* mbtcp_check_reply on its own: every prefix of a good reply is fine so
 * far, the first wrong field is named however many bytes follow it, and
 * an exception shortens the reply to 9 bytes. */
static void test_check_reply_pure(void **state)
{
    (void)state;
    const mbtcp_expect x = {.tid = 0x1234, .unit = 7, .fc = 3, .nbytes = 4};
    uint8_t good[] = {0x12, 0x34, 0, 0, 0, 7, 7, 3, 4, 0xab, 0xcd, 0, 1};
    char err[160];
    for (size_t have = 0; have <= sizeof good; have++) {
        size_t want = MBTCP_HEAD_LEN + x.nbytes;
        err[0] = '\0';
        assert_int_equal(mbtcp_check_reply(&x, good, have, &want, err,
                                           sizeof err), MBTCP_OK);
        assert_int_equal(want, 13);
        assert_string_equal(err, "");
    }
    uint16_t regs[2];
    mbtcp_reply_regs(good, 2, regs);
    assert_int_equal(regs[0], 0xabcd);
    assert_int_equal(regs[1], 1);
    uint8_t bits[16];
    mbtcp_reply_bits(good, 16, bits);
    for (int i = 0; i < 16; i++)
        assert_int_equal(bits[i], (i == 0 || i == 1 || i == 3 || i == 5 ||
                                   i == 7 || i == 8 || i == 10 || i == 11 ||
                                   i == 14 || i == 15) ? 1 : 0);

    uint8_t b[13];
    size_t want = 13;
    memcpy(b, good, sizeof b);
    b[5] = 8;           /* MBAP length wrong: named once its bytes are in */
    assert_int_equal(mbtcp_check_reply(&x, b, 5, &want, err, sizeof err),
                     MBTCP_OK);
    assert_int_equal(mbtcp_check_reply(&x, b, 6, &want, err, sizeof err),
                     MBTCP_MALFORMED);
    assert_string_equal(err, "MBAP length 8, expected 7");
    assert_int_equal(mbtcp_check_reply(&x, b, 13, &want, err, sizeof err),
                     MBTCP_MALFORMED);
    assert_string_equal(err, "MBAP length 8, expected 7");

    const uint8_t exc[] = {0x12, 0x34, 0, 0, 0, 3, 7, 0x83, 2, 0xff};
    want = 13;
    assert_int_equal(mbtcp_check_reply(&x, exc, 7, &want, err, sizeof err),
                     MBTCP_OK);
    assert_int_equal(want, 13);
    assert_int_equal(mbtcp_check_reply(&x, exc, 8, &want, err, sizeof err),
                     MBTCP_OK);
    assert_int_equal(want, MBTCP_HEAD_LEN);
    assert_int_equal(mbtcp_check_reply(&x, exc, 9, &want, err, sizeof err),
                     MBTCP_OK);
    assert_int_equal(mbtcp_check_reply(&x, exc, 10, &want, err, sizeof err),
                     MBTCP_MALFORMED);
    assert_string_equal(err, "1 bytes after an exception reply");

    /* A short error buffer is cut, never overrun. */
    char tiny[8];
    want = 13;
    assert_int_equal(mbtcp_check_reply(&x, b, 13, &want, tiny, sizeof tiny),
                     MBTCP_MALFORMED);
    assert_string_equal(tiny, "MBAP le");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registers_and_request_bytes),
        cmocka_unit_test(test_bits),
        cmocka_unit_test(test_invalid_requests),
        cmocka_unit_test(test_malformed_fields),
        cmocka_unit_test(test_exception_keeps_connection),
        cmocka_unit_test(test_closed_mid_reply),
        cmocka_unit_test(test_silent_times_out),
        cmocka_unit_test(test_trickle_fails_at_deadline),
        cmocka_unit_test(test_stop_interrupts_read),
        cmocka_unit_test(test_connect_deadline_and_stop),
        cmocka_unit_test(test_connect_refused),
        cmocka_unit_test(test_descriptor_above_fd_setsize),
        cmocka_unit_test(test_check_reply_pure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
