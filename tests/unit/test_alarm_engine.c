/*
 * test_alarm_engine.c - the alarm engine (alarm/engine.h), driven by cases
 * as files: tests/data/alarms/<case>.txt, one named test each.
 *
 * A case is a station map (YAML), a line "== input", then a script.  Each
 * script line is one step at a time t (seconds, the stub clock); the lines
 * starting with '>' after it are exactly the records (and answers) that
 * step must produce, in order:
 *
 *   t=0 hpu.oil_temp=61                tag values (quality good), a batch
 *   t=1 hpu.oil_temp=61 hpu.level=3    ... several at one time
 *   t=2 hpu.oil_temp stale             a quality without a value
 *   t=3 hpu.* comm-failure             every tag of a PLC (a lost PLC)
 *   t=4 tick                           time passes (delays, expiry, ...)
 *   t=5 ack ID by=li comment="seen"    actions: ack, shelve (for=10s or
 *                                      oneshot, reason=...), unshelve,
 *                                      reset, comment (text=...),
 *                                      disable, enable
 *   t=6 state ID                       > state ID STATE {flags} cond=...
 *   t=7 message ID                     > message EN | ZH (as shown)
 *   t=8 restart                        a new engine restored from the last
 *                                      record of each alarm, inputs unknown
 *   t=9 external ID true               a channel alarm's condition
 *                                      (alarm_set_external): true, false,
 *                                      unknown
 *   > 0.000 ID EVENT FROM->TO {flags} value=V by=W comment="C"
 *   > error nothing-to-ack             an action refused
 *
 * After the script, every record is replayed into a fresh engine, and the
 * last record of each alarm into another: both must hold exactly the
 * statuses the engine under test ended with (the restore contract).
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "alarm/engine.h"
#include "config/plcmap.h"
#include "support/tmpdir.h"

#define CASE_DIR "tests/data/alarms"
#define BASE_NS 1800000000000000000LL   /* t=0 */
#define NS 1000000000.0

/* ---- a growing list of strings -------------------------------------- */

typedef struct {
    char **v;
    size_t n, cap;
} strs;

static void strs_add(strs *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void strs_add(strs *s, const char *fmt, ...)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 16;
        s->v = realloc(s->v, s->cap * sizeof *s->v);
        assert_non_null(s->v);
    }
    va_list ap;
    va_start(ap, fmt);
    assert_true(vasprintf(&s->v[s->n++], fmt, ap) >= 0);
    va_end(ap);
}

static void strs_clear(strs *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    s->n = 0;
}

static void strs_free(strs *s)
{
    strs_clear(s);
    free(s->v);
}

/* ---- records -------------------------------------------------------------- */

/* Every record, kept (with copies of its strings) for the replays. */
typedef struct {
    alarm_record r;
    char *id, *who, *comment;
} kept;

typedef struct {
    strs got;            /* this step's output lines */
    kept *all;
    size_t n_all, cap_all;
} run;

static void flags_text(uint32_t flags, char *buf, size_t len)
{
    buf[0] = '\0';
    if (!flags)
        return;
    size_t k = (size_t)snprintf(buf, len, " {");
    bool first = true;
    for (uint32_t bit = 1; bit < (1u << ALARM_FLAGS_N); bit <<= 1)
        if (flags & bit) {
            k += (size_t)snprintf(buf + k, len - k, "%s%s", first ? "" : ",",
                                  alarm_flag_name(bit));
            first = false;
        }
    snprintf(buf + k, len - k, "}");
}

static void on_record(void *ctx, const alarm_record *r)
{
    run *ru = ctx;
    char flags[160], value[48] = "", by[96] = "", comment[320] = "";
    flags_text(r->to.flags, flags, sizeof flags);
    if (r->to.has_value)
        snprintf(value, sizeof value, " value=%g", r->to.value);
    if (r->who)
        snprintf(by, sizeof by, " by=%s", r->who);
    if (r->comment)
        snprintf(comment, sizeof comment, " comment=\"%s\"", r->comment);
    strs_add(&ru->got, "> %.3f %s %s %s->%s%s%s%s%s",
             (double)(r->ts_ns - BASE_NS) / NS, r->id,
             alarm_event_name(r->event), alarm_state_name(r->from_state),
             alarm_state_name(r->to.state), flags, value, by, comment);
    if (ru->n_all == ru->cap_all) {
        ru->cap_all = ru->cap_all ? 2 * ru->cap_all : 64;
        ru->all = realloc(ru->all, ru->cap_all * sizeof *ru->all);
        assert_non_null(ru->all);
    }
    kept *k = &ru->all[ru->n_all++];
    k->r = *r;
    k->id = strdup(r->id);
    k->who = r->who ? strdup(r->who) : NULL;
    k->comment = r->comment ? strdup(r->comment) : NULL;
    k->r.id = k->id;
    k->r.who = k->who;
    k->r.comment = k->comment;
}

static void statuses_equal(const alarm_engine *a, const alarm_engine *b,
                           const char *what, const char *name)
{
    assert_int_equal(alarm_count(a), alarm_count(b));
    for (size_t i = 0; i < alarm_count(a); i++) {
        const alarm_status *x = alarm_get(a, i), *y = alarm_get(b, i);
        bool same = x->state == y->state && x->flags == y->flags &&
            x->changed_ns == y->changed_ns && x->active_ns == y->active_ns &&
            x->acked_ns == y->acked_ns &&
            strcmp(x->acked_by, y->acked_by) == 0 &&
            x->shelved_ns == y->shelved_ns &&
            x->shelved_until_ns == y->shelved_until_ns &&
            strcmp(x->shelved_by, y->shelved_by) == 0 &&
            strcmp(x->shelve_reason, y->shelve_reason) == 0 &&
            x->oos_ns == y->oos_ns && strcmp(x->oos_by, y->oos_by) == 0 &&
            x->has_value == y->has_value &&
            (!x->has_value || x->value == y->value) &&
            x->activations == y->activations &&
            x->chatter_count == y->chatter_count;
        if (!same)
            fail_msg("case %s: %s: %s is %s flags %#x changed %lld active "
                     "%lld acked %lld/%s value %g activations %u, restored "
                     "%s flags %#x changed %lld active %lld acked %lld/%s "
                     "value %g activations %u", name, what, alarm_id(a, i),
                     alarm_state_name(x->state), x->flags,
                     (long long)x->changed_ns, (long long)x->active_ns,
                     (long long)x->acked_ns, x->acked_by, x->value,
                     x->activations, alarm_state_name(y->state), y->flags,
                     (long long)y->changed_ns, (long long)y->active_ns,
                     (long long)y->acked_ns, y->acked_by, y->value,
                     y->activations);
    }
}

/* A fresh engine restored from records [0, n) of ru; only_last: from the
 * last record of each alarm only, as a restart reading the journal does. */
static alarm_engine *restored(const map_station *st, const run *ru,
                              size_t n, bool only_last,
                              alarm_record_fn fn, void *ctx)
{
    alarm_engine *e = alarm_engine_new(st, fn, ctx);
    assert_non_null(e);
    for (size_t i = 0; i < n; i++) {
        if (only_last) {
            bool later = false;
            for (size_t j = i + 1; j < n && !later; j++)
                later = strcmp(ru->all[j].id, ru->all[i].id) == 0;
            if (later)
                continue;
        }
        assert_int_equal(alarm_restore(e, &ru->all[i].r), 0);
    }
    return e;
}

/* ---- script ------------------------------------------------------------ */

/* Splits a line into words; "key=\"a b\"" stays one word, quotes removed.
 * Returns the count; the words point into line, which is modified. */
static size_t words(char *line, char **w, size_t max)
{
    size_t n = 0;
    char *p = line;
    while (*p && n < max) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p)
            break;
        w[n++] = p;
        char *out = p;
        bool quoted = false;
        while (*p && (quoted || (*p != ' ' && *p != '\t'))) {
            if (*p == '"') {
                quoted = !quoted;
                p++;
                continue;
            }
            *out++ = *p++;
        }
        if (*p)
            p++;
        *out = '\0';
    }
    return n;
}

static const char *arg(char **w, size_t n, const char *key)
{
    size_t len = strlen(key);
    for (size_t i = 0; i < n; i++)
        if (strncmp(w[i], key, len) == 0 && w[i][len] == '=')
            return w[i] + len + 1;
    return NULL;
}

static int quality_of(const char *s, val_quality *q)
{
    static const val_quality all[] = {Q_GOOD, Q_STALE, Q_COMM, Q_DEVICE,
                                      Q_DECODE, Q_INIT};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (strcmp(s, val_quality_name(all[i])) == 0) {
            *q = all[i];
            return 0;
        }
    return -1;
}

/* Station position of a full id; -1 when there is none. */
static long tag_pos(const map_station *st, const char *id)
{
    long pos = 0;
    for (size_t p = 0; p < st->n_plcs; p++)
        for (size_t t = 0; t < st->plcs[p].n_tags; t++, pos++)
            if (strcmp(st->plcs[p].tags[t].full_id, id) == 0)
                return pos;
    return -1;
}

static const map_tag *tag_at(const map_station *st, long pos)
{
    for (size_t p = 0; p < st->n_plcs; p++) {
        if (pos < (long)st->plcs[p].n_tags)
            return &st->plcs[p].tags[pos];
        pos -= (long)st->plcs[p].n_tags;
    }
    return NULL;
}

static val value_of(const map_tag *t, const char *s, const char *name,
                    int line)
{
    val v = {0};
    char *end = NULL;
    if (t->type == MAP_BOOL) {
        v.kind = VAL_BOOL;
        if (strcmp(s, "true") && strcmp(s, "false"))
            fail_msg("case %s:%d: '%s' is not true/false", name, line, s);
        v.b = strcmp(s, "true") == 0;
    } else if (t->type == MAP_STRING) {
        v.kind = VAL_STR;
        snprintf(v.s, sizeof v.s, "%s", s);
    } else if (t->scaled || t->type == MAP_F32 || t->type == MAP_F64) {
        v.kind = VAL_REAL;
        v.d = strtod(s, &end);
    } else {
        v.kind = VAL_INT;
        v.i = strtoll(s, &end, 10);
    }
    if (end && *end)
        fail_msg("case %s:%d: bad value '%s'", name, line, s);
    return v;
}

static const char *err_name(alarm_err e)
{
    switch (e) {
    case ALARM_OK: return "ok";
    case ALARM_E_NO_ALARM: return "no-alarm";
    case ALARM_E_BAD_ARG: return "bad-arg";
    case ALARM_E_NOT_UNACKED: return "nothing-to-ack";
    case ALARM_E_NOT_LATCHING: return "not-latching";
    case ALARM_E_NOT_LATCHED: return "not-latched";
    case ALARM_E_STILL_ACTIVE: return "still-active";
    case ALARM_E_NOT_ACTIVE: return "not-active";
    case ALARM_E_NOT_SHELVED: return "not-shelved";
    case ALARM_E_OUT_OF_SERVICE: return "out-of-service";
    case ALARM_E_IN_SERVICE: return "in-service";
    }
    return "?";
}

typedef struct {
    const char *name;
    const map_station *st;
    alarm_engine *e;
    run ru;
    tag_change *batch;
    size_t batch_cap;
} ctx_t;

static void do_step(ctx_t *c, char *line, int lineno)
{
    char *w[64] = {0};
    size_t n = words(line, w, 64);
    if (n == 0 || strncmp(w[0], "t=", 2) != 0)
        fail_msg("case %s:%d: a step starts with t=SECONDS", c->name, lineno);
    char *end;
    double secs = strtod(w[0] + 2, &end);
    if (*end)
        fail_msg("case %s:%d: bad time '%s'", c->name, lineno, w[0]);
    int64_t t = BASE_NS + llround(secs * NS);
    if (n < 2)
        fail_msg("case %s:%d: nothing to do", c->name, lineno);
    const char *cmd = w[1];
    if (strcmp(cmd, "tick") == 0) {
        alarm_tick(c->e, t);
        return;
    }
    if (strcmp(cmd, "external") == 0) {
        /* t=3 external ID true|false|unknown: a channel alarm's
         * condition handed in (alarm_set_external) */
        static const char *const conds[] = {"false", "true", "unknown"};
        long idx = n == 4 ? alarm_find(c->e, w[2]) : -1;
        int k = -1;
        for (int i = 0; n == 4 && i < 3; i++)
            if (strcmp(w[3], conds[i]) == 0)
                k = i;
        if (idx < 0 || k < 0)
            fail_msg("case %s:%d: external ID true|false|unknown", c->name,
                     lineno);
        if (alarm_set_external(c->e, (size_t)idx, (alarm_cond)k, t) < 0)
            strs_add(&c->ru.got, "> error not-external");
        return;
    }
    if (strcmp(cmd, "restart") == 0) {
        /* what part 2's restart does: the journal's last word per alarm */
        alarm_engine *e = restored(c->st, &c->ru, c->ru.n_all, true,
                                   on_record, &c->ru);
        statuses_equal(c->e, e, "restart", c->name);
        alarm_engine_free(c->e);
        c->e = e;
        return;
    }
    static const char *const actions[] = {"ack", "shelve", "unshelve",
                                          "reset", "comment", "disable",
                                          "enable", "state", "message"};
    for (size_t a = 0; a < sizeof actions / sizeof actions[0]; a++) {
        if (strcmp(cmd, actions[a]) != 0)
            continue;
        if (n < 3)
            fail_msg("case %s:%d: %s needs an alarm id", c->name, lineno, cmd);
        long idx = alarm_find(c->e, w[2]);
        if (idx < 0 && strcmp(w[2], "nosuch") != 0)
            fail_msg("case %s:%d: no alarm '%s'", c->name, lineno, w[2]);
        if (strcmp(cmd, "state") == 0) {
            const alarm_status *s = alarm_get(c->e, (size_t)idx);
            char flags[160], extra[200] = "";
            flags_text(s->flags, flags, sizeof flags);
            static const char *const conds[] = {"false", "true", "unknown"};
            size_t k = 0;
            if (s->acked_by[0])
                k += (size_t)snprintf(extra + k, sizeof extra - k,
                                      " acked_by=%s", s->acked_by);
            if (s->activations)
                k += (size_t)snprintf(extra + k, sizeof extra - k,
                                      " activations=%u", s->activations);
            if (s->chatter_count)
                k += (size_t)snprintf(extra + k, sizeof extra - k,
                                      " chatters=%u", s->chatter_count);
            strs_add(&c->ru.got, "> state %s %s%s cond=%s%s", w[2],
                     alarm_state_name(s->state), flags,
                     conds[alarm_condition(c->e, (size_t)idx)], extra);
            return;
        }
        if (strcmp(cmd, "message") == 0) {
            char en[256], zh[256];
            const alarm_status *s = alarm_get(c->e, (size_t)idx);
            alarm_message(c->e, (size_t)idx, s, false, en, sizeof en);
            alarm_message(c->e, (size_t)idx, s, true, zh, sizeof zh);
            strs_add(&c->ru.got, "> message %s | %s", en, zh);
            return;
        }
        alarm_action ac = {.who = arg(w, n, "by"), .ts_ns = t,
                           .text = arg(w, n, "comment")};
        alarm_err err;
        size_t i = idx < 0 ? (size_t)-1 : (size_t)idx;
        static const alarm_op ops[] = {
            ALARM_OP_ACK, ALARM_OP_SHELVE, ALARM_OP_UNSHELVE, ALARM_OP_RESET,
            ALARM_OP_COMMENT, ALARM_OP_DISABLE, ALARM_OP_ENABLE};
        int64_t until = 0;
        if (a == 1) {
            ac.text = arg(w, n, "reason");
            const char *dur = arg(w, n, "for");
            bool oneshot = false;
            for (size_t k = 3; k < n; k++)
                oneshot |= strcmp(w[k], "oneshot") == 0;
            if (dur) {
                uint64_t ns;
                if (map_parse_duration(dur, &ns) < 0)
                    fail_msg("case %s:%d: bad for=%s", c->name, lineno, dur);
                until = t + (int64_t)ns;
            } else if (!oneshot) {
                const char *u = arg(w, n, "until");
                until = u ? BASE_NS + llround(strtod(u, NULL) * NS) : 0;
                if (!u)
                    fail_msg("case %s:%d: shelve needs for=, until= or "
                             "oneshot", c->name, lineno);
            }
        } else if (a == 4) {
            ac.text = arg(w, n, "text");
        }
        /* alarm_check says what the action will, when nothing falls due
         * before it (the audit log is written on its word). */
        bool predict = alarm_next_deadline(c->e) > t;
        alarm_err want = alarm_check(c->e, ops[a], i, &ac, until);
        switch (a) {
        case 0: err = alarm_ack(c->e, i, &ac); break;
        case 1: err = alarm_shelve(c->e, i, &ac, until); break;
        case 2: err = alarm_unshelve(c->e, i, &ac); break;
        case 3: err = alarm_reset(c->e, i, &ac); break;
        case 4: err = alarm_comment(c->e, i, &ac); break;
        case 5: err = alarm_disable(c->e, i, &ac); break;
        default: err = alarm_enable(c->e, i, &ac); break;
        }
        if (predict && want != err)
            fail_msg("case %s:%d: alarm_check said %s, the action %s",
                     c->name, lineno, err_name(want), err_name(err));
        if (err)
            strs_add(&c->ru.got, "> error %s", err_name(err));
        return;
    }

    /* Tag values: NAME=VALUE [QUALITY] | NAME QUALITY | PLC.* QUALITY */
    size_t m = 0;
    for (size_t i = 1; i < n; i++) {
        char *eq = strchr(w[i], '=');
        char *name = w[i];
        const char *value = NULL;
        if (eq) {
            *eq = '\0';
            value = eq + 1;
        }
        val_quality q = Q_GOOD;
        if (i + 1 < n && quality_of(w[i + 1], &q) == 0)
            i++;
        else if (!value)
            fail_msg("case %s:%d: '%s' needs =VALUE or a quality", c->name,
                     lineno, name);
        long first, last;
        size_t len = strlen(name);
        if (len > 2 && strcmp(name + len - 2, ".*") == 0) {
            name[len - 2] = '\0';
            const map_plc *p = map_find_plc(c->st, name);
            if (!p)
                fail_msg("case %s:%d: no PLC '%s'", c->name, lineno, name);
            first = tag_pos(c->st, p->tags[0].full_id);
            last = first + (long)p->n_tags - 1;
        } else {
            first = last = tag_pos(c->st, name);
            if (first < 0)
                fail_msg("case %s:%d: no tag '%s'", c->name, lineno, name);
        }
        for (long pos = first; pos <= last; pos++) {
            if (m == c->batch_cap) {
                c->batch_cap = c->batch_cap ? 2 * c->batch_cap : 64;
                c->batch = realloc(c->batch, c->batch_cap * sizeof *c->batch);
                assert_non_null(c->batch);
            }
            tag_change *ch = &c->batch[m++];
            memset(ch, 0, sizeof *ch);
            ch->tag = (uint32_t)pos;
            ch->s.ts_ns = t;
            ch->s.q = q;
            if (value && q == Q_GOOD)
                ch->s.v = value_of(tag_at(c->st, pos), value, c->name, lineno);
        }
    }
    alarm_feed(c->e, c->batch, m);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)len + 1);
    if (buf && fread(buf, 1, (size_t)len, f) != (size_t)len) {
        free(buf);
        buf = NULL;
    }
    if (buf)
        buf[len] = '\0';
    fclose(f);
    return buf;
}

static void compare_step(ctx_t *c, strs *exp, int lineno)
{
    size_t n = exp->n > c->ru.got.n ? exp->n : c->ru.got.n;
    for (size_t i = 0; i < n; i++) {
        const char *x = i < exp->n ? exp->v[i] : "(nothing)";
        const char *g = i < c->ru.got.n ? c->ru.got.v[i] : "(nothing)";
        if (strcmp(x, g) != 0) {
            print_error("case %s: the step at line %d\n", c->name, lineno);
            for (size_t k = 0; k < exp->n; k++)
                print_error("  want %s\n", exp->v[k]);
            for (size_t k = 0; k < c->ru.got.n; k++)
                print_error("  got  %s\n", c->ru.got.v[k]);
            fail_msg("case %s:%d", c->name, lineno);
        }
    }
    strs_clear(exp);
    strs_clear(&c->ru.got);
}

static void test_case(void **state)
{
    const char *name = *state;
    char path[512];
    snprintf(path, sizeof path, CASE_DIR "/%s.txt", name);
    char *text = slurp(path);
    if (!text)
        fail_msg("cannot read %s", path);
    char *sep = strstr(text, "\n== input\n");
    if (!sep)
        fail_msg("case %s: no '== input' line", name);
    *sep = '\0';
    /* The map is lines 1.., "== input" follows, then the script. */
    int lineno = 3;
    for (char *p = text; *p; p++)
        lineno += *p == '\n';

    /* The map goes through map_load like any other. */
    char dir[] = "/tmp/lb-alarm-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char yaml[600];
    snprintf(yaml, sizeof yaml, "%s/station.yaml", dir);
    FILE *f = fopen(yaml, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    map_errors errs = {0};
    map_station *st = map_load(yaml, &errs);
    for (size_t i = 0; i < errs.n; i++)
        print_error("%s\n", errs.msgs[i]);
    if (!st)
        fail_msg("case %s: the map does not load", name);
    map_errors_free(&errs);

    ctx_t c = {.name = name, .st = st};
    c.e = alarm_engine_new(st, on_record, &c.ru);
    assert_non_null(c.e);
    strs exp = {0};
    int step_line = 0;
    for (char *p = sep + strlen("\n== input\n"); *p; lineno++) {
        char *line = p, *nl = strchr(p, '\n');
        if (nl)
            *nl = '\0';
        p = nl ? nl + 1 : p + strlen(p);
        while (*line == ' ')
            line++;
        if (!*line || *line == '#')
            continue;
        if (*line == '>') {
            strs_add(&exp, "%s", line);
            continue;
        }
        if (step_line)
            compare_step(&c, &exp, step_line);
        else if (exp.n)
            fail_msg("case %s: '>' before the first step", name);
        step_line = lineno;
        do_step(&c, line, lineno);
    }
    if (step_line)
        compare_step(&c, &exp, step_line);

    /* The restore contract, over whatever this case did. */
    size_t before = c.ru.n_all;
    alarm_engine *all = restored(st, &c.ru, c.ru.n_all, false, NULL, NULL);
    statuses_equal(c.e, all, "replaying every record", name);
    alarm_engine *last = restored(st, &c.ru, c.ru.n_all, true, NULL, NULL);
    statuses_equal(c.e, last, "replaying the last record of each alarm",
                   name);
    assert_int_equal(c.ru.n_all, before);  /* a restore records nothing */
    alarm_engine_free(all);
    alarm_engine_free(last);

    alarm_engine_free(c.e);
    for (size_t i = 0; i < c.ru.n_all; i++) {
        free(c.ru.all[i].id);
        free(c.ru.all[i].who);
        free(c.ru.all[i].comment);
    }
    free(c.ru.all);
    strs_free(&c.ru.got);
    strs_free(&exp);
    free(c.batch);
    map_free(st);
    free(text);
    assert_int_equal(tmpdir_remove(dir), 0);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(void)
{
    DIR *d = opendir(CASE_DIR);
    if (!d) {
        fprintf(stderr, "test_alarm_engine: cannot open %s (run from the "
                "repository root): %s\n", CASE_DIR, strerror(errno));
        return 1;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);
        if (len < 5 || strcmp(de->d_name + len - 4, ".txt") != 0)
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 32;
            names = realloc(names, cap * sizeof *names);
        }
        names[n++] = strndup(de->d_name, len - 4);
    }
    closedir(d);
    qsort(names, n, sizeof *names, cmp_str);
    struct CMUnitTest *tests = calloc(n ? n : 1, sizeof *tests);
    for (size_t i = 0; i < n; i++) {
        tests[i].name = names[i];
        tests[i].test_func = test_case;
        tests[i].initial_state = names[i];
    }
    int failed = _cmocka_run_group_tests("alarm_engine", tests, n, NULL, NULL);
    /* Fewer cases than this means files went missing. */
    if (n < 15) {
        fprintf(stderr, "test_alarm_engine: only %zu cases in %s\n", n,
                CASE_DIR);
        failed++;
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    free(tests);
    return failed ? 1 : 0;
}
