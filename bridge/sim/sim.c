/*
 * sim.c - lock-sim: a simulated ship-lock station served over Modbus TCP.
 *
 * Loads a station (or single PLC) map, serves every enabled PLC with a
 * simserver on its host and port, and keeps the registers filled from the
 * plant physics (plant.c).  Tests and humans drive it through a control
 * socket (one command per line, one reply line each; see usage()).
 *
 * Threads:
 *  - main: start-up, then the control socket and signals (signalfd), then
 *    an orderly shutdown;
 *  - plant: every --tick of real time (default 100 ms) steps the physics
 *    by the tick x --speed and re-encodes every tag into its PLC's
 *    register tables;
 *  - one simserver thread per PLC (simserver.c).
 * The plant, the per-tag overrides and the served values are guarded by
 * sim.mu; each PLC's tables by its simserver lock, always taken after
 * sim.mu.
 *
 * What a tag serves: a `set` override if any, else the plant's value, else
 * a stable constant (middle of `range`, else the first state, else 0,
 * false or "").  After encoding, every tag is decoded back from the
 * registers, and that decoded value is what `dump` reports: exactly what a
 * correct client decodes, scaled-integer rounding included.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/clock.h"
#include "acquire/decode.h"
#include "config/plcmap.h"
#include "core/val.h"
#include "plant.h"
#include "simserver.h"

#define STATUS_EVERY_NS 10000000000ULL /* one status line per 10 s */
#define CTL_MAX_CLIENTS 8
#define CTL_LINE_MAX 4096

typedef struct {
    const map_tag *t;
    val konst;         /* served when the plant does not model the tag */
    bool overridden;
    val override;      /* `set` value */
    val served;        /* decoded back from the registers */
} sim_tag;

typedef struct {
    const map_plc *plc;
    simsrv *srv;
    sim_tag *tags;
    size_t n_tags;
} sim_plc;

typedef struct {
    int fd;
    size_t len;
    bool overflow;     /* the current line is too long: skip to newline */
    char buf[CTL_LINE_MAX];
} ctl_client;

typedef struct {
    map_station *st;
    plant *plant;
    sim_plc *plcs;
    size_t n_plcs;
    double speed;
    uint64_t tick_ns;    /* --tick: real time between physics steps */

    pthread_mutex_t mu;  /* plant, tags' override/served, paused */
    bool paused;
    double churn;        /* --churn: share of unmodelled tags that change */
    uint64_t ticks;      /* plant ticks so far (under mu) */
    atomic_bool stop;

    int ctl_fd;
    const char *ctl_path;
    ctl_client ctl[CTL_MAX_CLIENTS];
} sim;

/* ---- values -------------------------------------------------------- */

static val konst_for(const map_tag *t)
{
    val v = {0};
    if (t->type == MAP_BOOL) {
        v.kind = VAL_BOOL;
    } else if (t->type == MAP_STRING) {
        v.kind = VAL_STR;
    } else if (t->has_range) {
        v.kind = VAL_REAL;
        v.d = (t->range_min + t->range_max) / 2;
    } else if (t->n_states > 0) {
        v.kind = VAL_INT;
        v.i = t->states[0].value;
    } else if (t->scaled || t->type == MAP_F32 || t->type == MAP_F64) {
        v.kind = VAL_REAL;
    } else {
        v.kind = VAL_INT;
    }
    return v;
}

/* The value a tag should serve now.  Caller holds s->mu. */
static val wanted(const sim *s, const sim_plc *sp, const sim_tag *st)
{
    if (st->overridden)
        return st->override;
    val v;
    if (plant_value(s->plant, sp->plc, st->t, &v) == 0)
        return v;
    /* --churn: a fixed share of the tags the plant does not model (chosen
     * by address, so the same ones every run) count up every tick, for
     * benchmarks whose synthetic maps should not hold perfectly still. */
    if (s->churn > 0 && st->konst.kind == VAL_INT &&
        (double)((st->t->address * 2654435761u) % 1000u) < s->churn * 1000) {
        v = st->konst;
        v.i = (int64_t)((uint64_t)v.i + s->ticks) & 0x7fff;
        return v;
    }
    return st->konst;
}

static bool is_bit_in_register(const map_tag *t)
{
    return !map_table_is_bits(t->table) && t->bit >= 0;
}

static uint16_t *reg_table(modbus_mapping_t *m, map_table tb)
{
    return tb == MAP_HOLDING ? m->tab_registers : m->tab_input_registers;
}

static uint8_t *bit_table(modbus_mapping_t *m, map_table tb)
{
    return tb == MAP_COIL ? m->tab_bits : m->tab_input_bits;
}

static void encode_tag(modbus_mapping_t *m, const map_tag *t, const val *v)
{
    if (map_table_is_bits(t->table)) {
        uint8_t b;
        if (dec_encode_bit(t, v, &b) == 0)
            bit_table(m, t->table)[t->address] = b;
    } else {
        /* On failure the registers keep their previous contents. */
        (void)dec_encode_registers(t, v, reg_table(m, t->table) + t->address);
    }
}

/* Re-encodes every tag of one PLC and records what is served.  Whole
 * registers first, then single bits, so that a status word's bits are not
 * overwritten by the word.  Caller holds s->mu. */
static void refresh_plc(sim *s, sim_plc *sp)
{
    modbus_mapping_t *m = simsrv_lock(sp->srv);
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < sp->n_tags; i++) {
            sim_tag *st = &sp->tags[i];
            if (is_bit_in_register(st->t) != (pass == 1))
                continue;
            val v = wanted(s, sp, st);
            encode_tag(m, st->t, &v);
        }
    }
    for (size_t i = 0; i < sp->n_tags; i++) {
        sim_tag *st = &sp->tags[i];
        const map_tag *t = st->t;
        dec_status ds;
        if (map_table_is_bits(t->table))
            ds = dec_bit(t, bit_table(m, t->table)[t->address], &st->served);
        else
            ds = dec_registers(t, reg_table(m, t->table) + t->address,
                               &st->served);
        if (ds != DEC_OK)
            st->served = wanted(s, sp, st);
    }
    simsrv_unlock(sp->srv);
}

static void refresh_all(sim *s)
{
    for (size_t i = 0; i < s->n_plcs; i++)
        refresh_plc(s, &s->plcs[i]);
}

/* ---- plant thread -------------------------------------------------- */

static void *plant_main(void *arg)
{
    sim *s = arg;
    uint64_t next = clk_mono_ns();
    uint64_t status_at = next + STATUS_EVERY_NS;
    while (!atomic_load(&s->stop)) {
        next += s->tick_ns;
        uint64_t now = clk_mono_ns();
        if (now > next + 10 * s->tick_ns)
            next = now; /* far behind (stopped in a debugger): no catch-up */
        clk_sleep_until(next);
        if (atomic_load(&s->stop))
            break;
        pthread_mutex_lock(&s->mu);
        if (!s->paused) {
            plant_step(s->plant, (double)s->tick_ns / 1e9 * s->speed);
            s->ticks++;
            refresh_all(s);
        }
        char line[512] = "";
        bool paused = s->paused; /* read under mu: `pause` writes it */
        if (next >= status_at) {
            status_at += STATUS_EVERY_NS;
            plant_describe(s->plant, line, sizeof line);
        }
        pthread_mutex_unlock(&s->mu);
        if (line[0]) {
            printf("lock-sim: %s%s\n", paused ? "(paused) " : "", line);
            fflush(stdout);
        }
    }
    return NULL;
}

/* ---- growable text for replies ------------------------------------- */

typedef struct {
    char *p;
    size_t len, cap;
} sbuf;

static void sb_add(sbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void sb_add(sbuf *b, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        size_t room = b->cap - b->len;
        int n = vsnprintf(b->p ? b->p + b->len : NULL, room, fmt, ap);
        va_end(ap);
        if (n < 0)
            return;
        if ((size_t)n < room) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap ? b->cap * 2 : 4096;
        while (cap < b->len + (size_t)n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p)
            abort(); /* a test tool: running out of memory is fatal */
        b->p = p;
        b->cap = cap;
    }
}

static void sb_json_str(sbuf *b, const char *s)
{
    sb_add(b, "\"");
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (*c == '"' || *c == '\\')
            sb_add(b, "\\%c", *c);
        else if (*c < 0x20)
            sb_add(b, "\\u%04x", *c);
        else
            sb_add(b, "%c", *c);
    }
    sb_add(b, "\"");
}

static void sb_json_val(sbuf *b, const val *v)
{
    switch (v->kind) {
    case VAL_BOOL:
        sb_add(b, v->b ? "true" : "false");
        break;
    case VAL_INT:
        sb_add(b, "%" PRId64, v->i);
        break;
    case VAL_UINT:
        sb_add(b, "%" PRIu64, v->u);
        break;
    case VAL_REAL:
        if (isfinite(v->d))
            sb_add(b, "%.17g", v->d);
        else
            sb_add(b, "null");
        break;
    case VAL_STR:
        sb_json_str(b, v->s);
        break;
    default:
        sb_add(b, "null");
    }
}

/* ---- control commands ---------------------------------------------- */

static sim_plc *find_plc(sim *s, const char *id)
{
    for (size_t i = 0; i < s->n_plcs; i++)
        if (strcmp(s->plcs[i].plc->id, id) == 0)
            return &s->plcs[i];
    return NULL;
}

static sim_tag *find_tag(sim *s, const char *full_id, sim_plc **plc_out)
{
    const char *dot = strchr(full_id, '.');
    if (!dot)
        return NULL;
    for (size_t i = 0; i < s->n_plcs; i++) {
        sim_plc *sp = &s->plcs[i];
        size_t n = strlen(sp->plc->id);
        if (n != (size_t)(dot - full_id) || strncmp(full_id, sp->plc->id, n))
            continue;
        for (size_t j = 0; j < sp->n_tags; j++) {
            if (strcmp(sp->tags[j].t->id, dot + 1) == 0) {
                *plc_out = sp;
                return &sp->tags[j];
            }
        }
    }
    return NULL;
}

static void stats_json(sbuf *b, simsrv *srv)
{
    simsrv_stats st;
    simsrv_get_stats(srv, &st);
    sb_add(b, "{\"requests\": %" PRIu64 ", \"fc\": {", st.requests);
    const char *sep = "";
    for (int i = 0; i < 128; i++) {
        if (st.fc[i]) {
            sb_add(b, "%s\"%d\": %" PRIu64, sep, i, st.fc[i]);
            sep = ", ";
        }
    }
    sb_add(b, "}, \"responses\": %" PRIu64 ", \"connections\": %" PRIu64 "}",
           st.responses, st.connections);
}

/* Parses a `set` value for tag t; text is the rest of the command line. */
static int parse_value(const map_tag *t, const char *text, val *v,
                       char *err, size_t errlen)
{
    memset(v, 0, sizeof *v);
    char *end;
    if (t->type == MAP_STRING) {
        size_t n = strlen(text);
        if (n >= 2 && text[0] == '"' && text[n - 1] == '"') {
            text++;
            n -= 2;
        }
        if (n > VAL_STR_MAX || n > 2u * t->length) {
            snprintf(err, errlen, "string longer than the tag's %u bytes",
                     2u * t->length);
            return -1;
        }
        v->kind = VAL_STR;
        memcpy(v->s, text, n);
        v->s[n] = 0;
        return 0;
    }
    if (t->type == MAP_BOOL) {
        v->kind = VAL_BOOL;
        if (!strcmp(text, "true") || !strcmp(text, "1"))
            v->b = true;
        else if (!strcmp(text, "false") || !strcmp(text, "0"))
            v->b = false;
        else {
            snprintf(err, errlen, "'%s' is not true or false", text);
            return -1;
        }
        return 0;
    }
    errno = 0;
    if (!t->scaled && t->type != MAP_F32 && t->type != MAP_F64) {
        long long i = strtoll(text, &end, 10);
        if (!errno && end != text && !*end) {
            v->kind = VAL_INT;
            v->i = i;
            return 0;
        }
        errno = 0;
        unsigned long long u = strtoull(text, &end, 10);
        if (!errno && end != text && !*end && text[0] != '-') {
            v->kind = VAL_UINT;
            v->u = u;
            return 0;
        }
        errno = 0;
    }
    double d = strtod(text, &end);
    if (errno || end == text || *end) {
        snprintf(err, errlen, "'%s' is not a number", text);
        return -1;
    }
    v->kind = VAL_REAL;
    v->d = d;
    return 0;
}

/* Executes one command line; the reply (without newline) goes to out.
 * Returns true when the simulator must stop. */
static bool ctl_exec(sim *s, char *line, sbuf *out)
{
    char *save = NULL;
    char *cmd = strtok_r(line, " \t", &save);
    char err[256];
    if (!cmd) {
        sb_add(out, "error empty command");
        return false;
    }
    if (!strcmp(cmd, "fault")) {
        char *plc = strtok_r(NULL, " \t", &save);
        char *kind = strtok_r(NULL, " \t", &save);
        char *arg = strtok_r(NULL, " \t", &save);
        sim_plc *sp = plc ? find_plc(s, plc) : NULL;
        simsrv_fault f;
        if (!plc || !kind)
            sb_add(out, "error usage: fault PLC KIND [ARG]");
        else if (!sp)
            sb_add(out, "error unknown plc '%s'", plc);
        else if (strtok_r(NULL, " \t", &save))
            sb_add(out, "error too many arguments");
        else if (simsrv_fault_parse(kind, arg, &f, err, sizeof err) < 0 ||
                 simsrv_set_fault(sp->srv, f, err, sizeof err) < 0)
            sb_add(out, "error %s", err);
        else
            sb_add(out, "ok");
    } else if (!strcmp(cmd, "pause") || !strcmp(cmd, "resume")) {
        pthread_mutex_lock(&s->mu);
        s->paused = cmd[0] == 'p';
        pthread_mutex_unlock(&s->mu);
        sb_add(out, "ok");
    } else if (!strcmp(cmd, "dump")) {
        sb_add(out, "ok {");
        pthread_mutex_lock(&s->mu);
        const char *sep = "";
        for (size_t i = 0; i < s->n_plcs; i++) {
            for (size_t j = 0; j < s->plcs[i].n_tags; j++) {
                sim_tag *st = &s->plcs[i].tags[j];
                sb_add(out, "%s", sep);
                sb_json_str(out, st->t->full_id);
                sb_add(out, ": ");
                sb_json_val(out, &st->served);
                sep = ", ";
            }
        }
        pthread_mutex_unlock(&s->mu);
        sb_add(out, "}");
    } else if (!strcmp(cmd, "set") || !strcmp(cmd, "unset")) {
        bool set = cmd[0] == 's';
        char *id = strtok_r(NULL, " \t", &save);
        char *text = save ? save + strspn(save, " \t") : NULL;
        sim_plc *sp = NULL;
        sim_tag *st = id ? find_tag(s, id, &sp) : NULL;
        val v;
        if (!id || (set && (!text || !*text)) || (!set && text && *text))
            sb_add(out, set ? "error usage: set PLC.TAG VALUE"
                            : "error usage: unset PLC.TAG");
        else if (!st)
            sb_add(out, "error unknown tag '%s'", id);
        else if (set && parse_value(st->t, text, &v, err, sizeof err) < 0)
            sb_add(out, "error %s", err);
        else {
            uint16_t scratch[VAL_STR_MAX] = {0};
            uint8_t bit;
            int rc = !set ? 0
                : map_table_is_bits(st->t->table)
                    ? dec_encode_bit(st->t, &v, &bit)
                    : dec_encode_registers(st->t, &v, scratch);
            if (rc < 0) {
                sb_add(out, "error value does not fit a %s tag",
                       map_type_name(st->t->type));
            } else {
                pthread_mutex_lock(&s->mu);
                st->overridden = set;
                if (set)
                    st->override = v;
                refresh_plc(s, sp);
                pthread_mutex_unlock(&s->mu);
                sb_add(out, "ok");
            }
        }
    } else if (!strcmp(cmd, "stats")) {
        char *plc = strtok_r(NULL, " \t", &save);
        if (plc) {
            sim_plc *sp = find_plc(s, plc);
            if (!sp) {
                sb_add(out, "error unknown plc '%s'", plc);
            } else {
                sb_add(out, "ok ");
                stats_json(out, sp->srv);
            }
        } else {
            sb_add(out, "ok {");
            for (size_t i = 0; i < s->n_plcs; i++) {
                sb_add(out, "%s", i ? ", " : "");
                sb_json_str(out, s->plcs[i].plc->id);
                sb_add(out, ": ");
                stats_json(out, s->plcs[i].srv);
            }
            sb_add(out, "}");
        }
    } else if (!strcmp(cmd, "status")) {
        char line[512] = "";
        pthread_mutex_lock(&s->mu);
        plant_describe(s->plant, line, sizeof line);
        bool paused = s->paused;
        pthread_mutex_unlock(&s->mu);
        sb_add(out, "ok %s%s", paused ? "(paused) " : "", line);
    } else if (!strcmp(cmd, "quit")) {
        sb_add(out, "ok");
        return true;
    } else if (!strcmp(cmd, "help")) {
        sb_add(out, "ok commands: fault PLC KIND [ARG] | pause | resume | "
               "dump | set PLC.TAG VALUE | unset PLC.TAG | stats [PLC] | "
               "status | quit");
    } else {
        sb_add(out, "error unknown command '%s' (try help)", cmd);
    }
    return false;
}

/* ---- control socket ------------------------------------------------ */

static int ctl_open(sim *s, const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path) {
        fprintf(stderr, "lock-sim: control path too long: %s\n", path);
        return -1;
    }
    strcpy(sa.sun_path, path);
    struct stat sb;
    if (lstat(path, &sb) == 0) {
        if (!S_ISSOCK(sb.st_mode)) {
            fprintf(stderr, "lock-sim: %s exists and is not a socket\n", path);
            return -1;
        }
        unlink(path); /* left behind by an earlier run */
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
        listen(fd, 8) < 0) {
        fprintf(stderr, "lock-sim: control socket %s: %s\n", path,
                strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    s->ctl_fd = fd;
    s->ctl_path = path;
    return 0;
}

static void ctl_write(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        p += n;
        len -= (size_t)n;
    }
}

/* Handles input on a control client; returns true on `quit`. */
static bool ctl_read(sim *s, ctl_client *c)
{
    char tmp[4096];
    ssize_t n = recv(c->fd, tmp, sizeof tmp, 0);
    if (n <= 0) {
        close(c->fd);
        c->fd = -1;
        return false;
    }
    bool quit = false;
    for (ssize_t i = 0; i < n; i++) {
        if (tmp[i] != '\n') {
            if (c->len + 1 < sizeof c->buf)
                c->buf[c->len++] = tmp[i];
            else
                c->overflow = true;
            continue;
        }
        c->buf[c->len] = 0;
        if (c->len && c->buf[c->len - 1] == '\r')
            c->buf[c->len - 1] = 0;
        sbuf out = {0};
        if (c->overflow)
            sb_add(&out, "error line too long");
        else if (ctl_exec(s, c->buf, &out))
            quit = true;
        sb_add(&out, "\n");
        ctl_write(c->fd, out.p, out.len);
        free(out.p);
        c->len = 0;
        c->overflow = false;
    }
    return quit;
}

/* Main thread: serves the control socket until quit or a signal. */
static void ctl_loop(sim *s, int sig_fd)
{
    for (int i = 0; i < CTL_MAX_CLIENTS; i++)
        s->ctl[i].fd = -1;
    for (;;) {
        struct pollfd pfd[2 + CTL_MAX_CLIENTS];
        int idx[2 + CTL_MAX_CLIENTS];
        int n = 0;
        pfd[n] = (struct pollfd){.fd = sig_fd, .events = POLLIN};
        idx[n++] = -1;
        if (s->ctl_fd >= 0) {
            pfd[n] = (struct pollfd){.fd = s->ctl_fd, .events = POLLIN};
            idx[n++] = -2;
        }
        for (int i = 0; i < CTL_MAX_CLIENTS; i++) {
            if (s->ctl[i].fd >= 0) {
                pfd[n] = (struct pollfd){.fd = s->ctl[i].fd, .events = POLLIN};
                idx[n++] = i;
            }
        }
        if (poll(pfd, (nfds_t)n, -1) < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        for (int k = 0; k < n; k++) {
            if (!pfd[k].revents)
                continue;
            if (idx[k] == -1) {
                return; /* SIGINT or SIGTERM */
            } else if (idx[k] == -2) {
                int fd = accept4(s->ctl_fd, NULL, NULL, SOCK_CLOEXEC);
                if (fd < 0)
                    continue;
                int i;
                for (i = 0; i < CTL_MAX_CLIENTS && s->ctl[i].fd >= 0; i++)
                    ;
                if (i == CTL_MAX_CLIENTS) {
                    ctl_write(fd, "error too many control clients\n", 31);
                    close(fd);
                } else {
                    s->ctl[i].fd = fd;
                    s->ctl[i].len = 0;
                    s->ctl[i].overflow = false;
                }
            } else if (ctl_read(s, &s->ctl[idx[k]])) {
                return;
            }
        }
    }
}

/* ---- start-up and shutdown ----------------------------------------- */

static void usage(FILE *f)
{
    fputs(
        "usage: lock-sim -c STATION.yaml [--speed N] [--control PATH]\n"
        "                [--seed N] [--bind ADDR] [--registers N] [--churn F]\n"
        "                [--tick MS]\n"
        "       lock-sim --control PATH --send 'COMMAND'\n"
        "Serves every enabled PLC of a station map as a Modbus TCP server\n"
        "driven by a simulated ship lock.\n"
        "  -c, --config FILE  station or PLC map\n"
        "  --speed N          simulated seconds per real second (default 1)\n"
        "  --control PATH     Unix socket for control commands (send 'help')\n"
        "  --seed N           random seed (default 1)\n"
        "  --bind ADDR        IPv4 address to serve on instead of each PLC's "
        "host\n"
        "  --registers N      also serve holding/input registers 0..N-1 "
        "(reg i = i)\n"
        "  --churn F          share (0..1) of the tags the plant does not model\n"
        "                     that change every tick (benchmarks)\n"
        "  --tick MS          real milliseconds between physics steps (default\n"
        "                     100, 1..1000); each step advances MS x speed\n"
        "  --send COMMAND     send one control command to a running lock-sim\n"
        "                     and print its reply\n",
        f);
}

/* `lock-sim --control PATH --send 'CMD'`: one command to a running
 * simulator, its reply on stdout; exit 0 for "ok", 1 otherwise.  Saves
 * operators and scripts from needing socat or a netcat with -U. */
static int send_command(const char *path, const char *cmd)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof a.sun_path) {
        fprintf(stderr, "lock-sim: --control: path too long: %s\n", path);
        return 2;
    }
    strcpy(a.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        fprintf(stderr, "lock-sim: cannot connect to %s: %s (is lock-sim "
                "running with --control %s?)\n", path, strerror(errno), path);
        if (fd >= 0)
            close(fd);
        return 1;
    }
    size_t len = strlen(cmd);
    if (write(fd, cmd, len) != (ssize_t)len || write(fd, "\n", 1) != 1) {
        fprintf(stderr, "lock-sim: %s: %s\n", path, strerror(errno));
        close(fd);
        return 1;
    }
    char buf[65536];
    size_t got = 0;
    while (got < sizeof buf - 1) {
        ssize_t n = read(fd, buf + got, sizeof buf - 1 - got);
        if (n <= 0)
            break;
        got += (size_t)n;
        if (memchr(buf + got - n, '\n', (size_t)n))
            break;
    }
    close(fd);
    buf[got] = '\0';
    fputs(buf, stdout);
    return strncmp(buf, "ok", 2) == 0 ? 0 : 1;
}

static int parse_num(const char *opt, const char *text, double lo, double hi,
                     double *out)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (errno || end == text || *end || !(v >= lo && v <= hi)) {
        fprintf(stderr, "lock-sim: %s: '%s' is not a number in %g..%g\n",
                opt, text, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

/* Sizes of a PLC's tables: the highest address any tag uses, and the
 * synthetic registers of --registers. */
static simsrv_sizes sizes_for(const map_plc *p, int extra)
{
    simsrv_sizes z = {0, 0, extra, extra};
    for (size_t i = 0; i < p->n_tags; i++) {
        const map_tag *t = &p->tags[i];
        int end = (int)t->address + (int)(t->nregs ? t->nregs : 1);
        int *slot = t->table == MAP_COIL       ? &z.bits
                  : t->table == MAP_DISCRETE   ? &z.input_bits
                  : t->table == MAP_HOLDING    ? &z.registers
                                               : &z.input_registers;
        if (end > *slot)
            *slot = end;
    }
    return z;
}

static void sim_free(sim *s)
{
    for (size_t i = 0; i < s->n_plcs; i++) {
        simsrv_free(s->plcs[i].srv);
        free(s->plcs[i].tags);
    }
    free(s->plcs);
    plant_free(s->plant);
    for (int i = 0; i < CTL_MAX_CLIENTS; i++)
        if (s->ctl[i].fd >= 0)
            close(s->ctl[i].fd);
    if (s->ctl_fd >= 0) {
        close(s->ctl_fd);
        unlink(s->ctl_path);
    }
    map_free(s->st);
    pthread_mutex_destroy(&s->mu);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"speed", required_argument, NULL, 's'},
        {"control", required_argument, NULL, 'C'},
        {"seed", required_argument, NULL, 'S'},
        {"bind", required_argument, NULL, 'b'},
        {"registers", required_argument, NULL, 'r'},
        {"churn", required_argument, NULL, 'u'},
        {"tick", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {"send", required_argument, NULL, 'x'},
        {0, 0, 0, 0},
    };
    const char *config = NULL, *control = NULL, *bind_host = NULL;
    const char *send = NULL;
    double speed = 1, registers = 0, churn = 0, tick_ms = 100;
    uint64_t seed = 1;
    int o;
    while ((o = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (o) {
        case 'c': config = optarg; break;
        case 'C': control = optarg; break;
        case 'b': bind_host = optarg; break;
        case 's':
            if (parse_num("--speed", optarg, 0.001, 100000, &speed) < 0)
                return 2;
            break;
        case 'S': {
            char *end;
            errno = 0;
            seed = strtoull(optarg, &end, 10);
            if (errno || end == optarg || *end || optarg[0] == '-') {
                fprintf(stderr, "lock-sim: --seed: '%s' is not an unsigned "
                        "integer\n", optarg);
                return 2;
            }
            break;
        }
        case 'r':
            if (parse_num("--registers", optarg, 0, 65536, &registers) < 0)
                return 2;
            break;
        case 'x': send = optarg; break;
        case 'u':
            if (parse_num("--churn", optarg, 0, 1, &churn) < 0)
                return 2;
            break;
        case 't':
            if (parse_num("--tick", optarg, 1, 1000, &tick_ms) < 0)
                return 2;
            break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (send) {
        if (!control) {
            fprintf(stderr, "lock-sim: --send needs --control PATH\n");
            return 2;
        }
        return send_command(control, send);
    }
    if (!config || optind != argc) {
        usage(stderr);
        return 2;
    }

    sim s = {.speed = speed, .ctl_fd = -1, .churn = churn,
             .tick_ns = (uint64_t)(tick_ms * 1e6)};
    for (int i = 0; i < CTL_MAX_CLIENTS; i++)
        s.ctl[i].fd = -1;
    pthread_mutex_init(&s.mu, NULL);
    int rc = 1;
    pthread_t plant_thread;
    bool plant_started = false;

    map_errors errs = {0};
    s.st = map_load(config, &errs);
    if (!s.st) {
        for (size_t i = 0; i < errs.n; i++)
            fprintf(stderr, "%s\n", errs.msgs[i]);
        map_errors_free(&errs);
        pthread_mutex_destroy(&s.mu);
        return 2;
    }
    map_errors_free(&errs);

    /* Signals are taken synchronously by the main thread (signalfd); every
     * thread created below inherits the mask. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
    int sig_fd = signalfd(-1, &sigs, SFD_CLOEXEC);

    s.plcs = calloc(s.st->n_plcs ? s.st->n_plcs : 1, sizeof *s.plcs);
    if (!s.plcs || sig_fd < 0) {
        fprintf(stderr, "lock-sim: out of resources\n");
        goto out;
    }
    for (size_t i = 0; i < s.st->n_plcs; i++) {
        const map_plc *p = &s.st->plcs[i];
        if (!p->enabled)
            continue;
        const char *host = bind_host ? bind_host : p->host;
        for (size_t j = 0; j < s.n_plcs; j++) {
            const map_plc *q = s.plcs[j].plc;
            if (q->port == p->port &&
                !strcmp(bind_host ? bind_host : q->host, host)) {
                fprintf(stderr, "lock-sim: plc %s: %s:%d is already served "
                        "for plc %s (one PLC per port)\n", p->id, host,
                        p->port, q->id);
                goto out;
            }
        }
        sim_plc *sp = &s.plcs[s.n_plcs];
        sp->plc = p;
        sp->n_tags = p->n_tags;
        sp->tags = calloc(p->n_tags ? p->n_tags : 1, sizeof *sp->tags);
        if (!sp->tags) {
            fprintf(stderr, "lock-sim: out of memory\n");
            goto out;
        }
        s.n_plcs++;
        for (size_t j = 0; j < p->n_tags; j++) {
            sp->tags[j].t = &p->tags[j];
            sp->tags[j].konst = konst_for(&p->tags[j]);
        }
        simsrv_sizes z = sizes_for(p, (int)registers);
        char err[256];
        sp->srv = simsrv_new(host, p->port, p->unit, &z,
                             seed * 1000003u + i, err, sizeof err);
        if (!sp->srv) {
            fprintf(stderr, "lock-sim: plc %s: %s\n", p->id, err);
            goto out;
        }
        modbus_mapping_t *m = simsrv_lock(sp->srv);
        for (int r = 0; r < (int)registers; r++)
            m->tab_registers[r] = m->tab_input_registers[r] = (uint16_t)r;
        simsrv_unlock(sp->srv);
    }
    if (s.n_plcs == 0) {
        fprintf(stderr, "lock-sim: %s: no enabled PLC to serve\n", config);
        goto out;
    }
    s.plant = plant_new(s.st, seed);
    if (!s.plant) {
        fprintf(stderr, "lock-sim: cannot create the plant\n");
        goto out;
    }
    refresh_all(&s); /* registers are right before the first client */
    if (control && ctl_open(&s, control) < 0)
        goto out;

    for (size_t i = 0; i < s.n_plcs; i++) {
        if (simsrv_start(s.plcs[i].srv) < 0) {
            fprintf(stderr, "lock-sim: cannot start a thread\n");
            goto out;
        }
        printf("lock-sim: %s listening on %s:%d unit %d\n", s.plcs[i].plc->id,
               bind_host ? bind_host : s.plcs[i].plc->host,
               s.plcs[i].plc->port, s.plcs[i].plc->unit);
    }
    if (pthread_create(&plant_thread, NULL, plant_main, &s) != 0) {
        fprintf(stderr, "lock-sim: cannot start a thread\n");
        goto out;
    }
    plant_started = true;
    printf("lock-sim: ready\n");
    fflush(stdout);

    ctl_loop(&s, sig_fd);
    rc = 0;
out:
    atomic_store(&s.stop, true);
    if (plant_started)
        pthread_join(plant_thread, NULL);
    sim_free(&s);
    if (sig_fd >= 0)
        close(sig_fd);
    if (rc == 0) {
        printf("lock-sim: stopped\n");
        fflush(stdout);
    }
    return rc;
}
