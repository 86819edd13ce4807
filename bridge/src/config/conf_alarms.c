/*
 * conf_alarms.c - alarm definitions: a tag's `alarms:` (in a PLC file), a
 * PLC's `comm_alarm:`, the station's `alarms:` (expressions) and
 * `chattering:`; then the station-wide pass that needs every PLC loaded
 * (full ids, deviation partners, default messages).
 *
 *   - id: high                      # full id hpu.oil_temp.high
 *     above: 60                     # exactly one condition
 *     deadband: 2
 *     on_delay: 5s
 *     priority: high
 *     message: {en: Oil temperature high, zh: 油温高}
 *
 * Each alarm has exactly one condition: above, below, when, states, rate,
 * deviation or quality.  What a condition needs of its tag (a number, a
 * bool, states) is checked here, against the tag's own definition, so the
 * messages can say what to use instead.  References to other tags (a
 * deviation's `from`, a station expression) are resolved once all PLCs
 * are loaded, with the tag index map_load builds first.
 */
#include "config/parse.h"

#include "alarm/expr.h"
#include "alarm/message.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const prio_names[MAP_PRIO_N] = {"critical", "high",
                                                   "medium", "low"};

const char *map_priority_name(map_priority p)
{
    return (unsigned)p < MAP_PRIO_N ? prio_names[p] : "?";
}

/* Delays are at most a day: beyond that a "delay" is a mistake, and time
 * arithmetic on them stays far from overflow. */
#define DELAY_MAX_NS (86400ull * 1000000000ull)

/* A delay: a duration, 0 allowed ("0s"). */
static int get_delay(cfg_src *s, const char *what, const yaml_node_t *n,
                     uint64_t *out)
{
    char got[64];
    const char *v = cfg_scalar(n);
    uint64_t ns;
    if (!v || v[0] == '-' || map_parse_duration(v, &ns) < 0) {
        cfg_err_at(s, n, "%s must be a duration such as 5s or 500ms (0s for "
                   "none), got %s", what, CFG_GOT(n));
        return -1;
    }
    if (ns > DELAY_MAX_NS) {
        cfg_err_at(s, n, "%s must be at most 24h, got %s", what, CFG_GOT(n));
        return -1;
    }
    *out = ns;
    return 0;
}

static char *fmt_dup(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *fmt_dup(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *out = NULL;
    if (vasprintf(&out, fmt, ap) < 0)
        abort();
    va_end(ap);
    return out;
}

/* `message:`; allowed says what this kind of alarm can fill in, kind
 * names it for the message ("a quality alarm"). */
static void parse_message(cfg_src *s, const yaml_node_t *n, map_alarm *a,
                          unsigned allowed, const char *kind)
{
    map_text m = {0};
    if (cfg_get_text(s, "'message'", n, &m) < 0)
        return;
    const char *texts[2] = {m.en, m.zh};
    for (int i = 0; i < 2; i++) {
        const char *bad;
        size_t len;
        if (!texts[i] || alarm_msg_check(texts[i], allowed, &bad, &len) == 0)
            continue;
        bool known = (len == 7 && strncmp(bad, "{value}", 7) == 0) ||
                     (len == 6 && strncmp(bad, "{unit}", 6) == 0) ||
                     (len == 7 && strncmp(bad, "{label}", 7) == 0);
        if (!known)
            cfg_err_at(s, n, "'message' has an unknown placeholder '%.*s' "
                       "(known: {value}, {unit}, {label}; write {{ and }} for "
                       "braces)", (int)(len > 40 ? 40 : len), bad);
        else if (bad[1] == 'l')
            cfg_err_at(s, n, "'message' uses {label}, which only a 'states' "
                       "alarm can fill");
        else
            cfg_err_at(s, n, "'message' uses %.*s, which %s cannot fill%s",
                       (int)len, bad, kind,
                       allowed & ALARM_MSG_UNIT ? " (it has {unit})" : "");
        cfg_text_free(&m);
        return;
    }
    cfg_text_free(&a->message);
    a->message = m;
}

/* ---- a tag's alarms ----------------------------------------------------- */

enum {
    A_ID, A_ABOVE, A_BELOW, A_WHEN, A_STATES, A_RATE, A_DEVIATION,
    A_QUALITY, A_DEADBAND, A_ON_DELAY, A_OFF_DELAY, A_PRIORITY, A_AREA,
    A_MESSAGE, A_LATCH, A_ENABLED, A_DESCRIPTION, A_WINDOW, A_N
};
static const char *const alarm_keys[A_N] = {
    "id", "above", "below", "when", "states", "rate", "deviation",
    "quality", "deadband", "on_delay", "off_delay", "priority", "area",
    "message", "latch", "enabled", "description", "window"};

/* The condition keys, in the order of map_alarm_kind. */
static const int cond_keys[] = {A_ABOVE, A_BELOW, A_WHEN, A_STATES, A_RATE,
                                A_DEVIATION, A_QUALITY};

static bool tag_is_numeric(const map_tag *t)
{
    return t->type != MAP_BOOL && t->type != MAP_STRING;
}

typedef struct {
    int64_t code;
    const yaml_node_t *node;
    size_t seq;
} code_ref;

static int cmp_code_ref(const void *a, const void *b)
{
    const code_ref *x = a, *y = b;
    if (x->code != y->code)
        return x->code < y->code ? -1 : 1;
    return (x->seq > y->seq) - (x->seq < y->seq);
}

static void parse_states_cond(cfg_src *s, const yaml_node_t *n,
                              const map_tag *t, bool type_ok, map_alarm *a)
{
    char got[64];
    if (n->type != YAML_SEQUENCE_NODE || cfg_seq_len(n) == 0) {
        cfg_err_at(s, n, "'states' must be a list of state codes such as "
                   "[3, 5], got %s", CFG_GOT(n));
        return;
    }
    if (type_ok && t->n_states == 0) {
        cfg_err_at(s, n, "'states' needs a tag with states, and tag '%s' has "
                   "none", t->id ? t->id : "?");
        return;
    }
    size_t m = cfg_seq_len(n), k = 0;
    code_ref *cr = cfg_calloc(m, sizeof *cr);
    for (size_t i = 0; i < m; i++) {
        yaml_node_t *it = cfg_node(s, n->data.sequence.items.start[i]);
        if (!cfg_visit(s, it))
            break;
        const char *v = cfg_scalar(it);
        int64_t code;
        if (!v || cfg_parse_int(v, &code) < 0) {
            cfg_err_at(s, it, "state code must be an integer, got %s",
                       CFG_GOT(it));
            continue;
        }
        if (type_ok && !map_state_label(t, code)) {
            char list[256] = "";
            for (size_t j = 0; j < t->n_states; j++) {
                char one[32];
                snprintf(one, sizeof one, "%s%lld", j ? ", " : "",
                         (long long)t->states[j].value);
                if (strlen(list) + strlen(one) + 6 >= sizeof list) {
                    strcat(list, ", ...");
                    break;
                }
                strcat(list, one);
            }
            cfg_err_at(s, it, "state code %lld is not a state of tag '%s' "
                       "(states: %s)", (long long)code, t->id ? t->id : "?",
                       list);
            continue;
        }
        cr[k] = (code_ref){code, it, k};
        k++;
    }
    /* Sorted, repeats are neighbours (a hostile list stays n log n), and
     * the codes end up in the order the engine searches them in. */
    qsort(cr, k, sizeof *cr, cmp_code_ref);
    a->codes = cfg_calloc(k, sizeof *a->codes);
    for (size_t i = 0; i < k; i++) {
        if (a->n_codes && a->codes[a->n_codes - 1] == cr[i].code) {
            cfg_err_at(s, cr[i].node, "state code %lld is listed twice",
                       (long long)cr[i].code);
            continue;
        }
        a->codes[a->n_codes++] = cr[i].code;
    }
    free(cr);
}

static void parse_deviation(cfg_src *s, const yaml_node_t *n, map_alarm *a)
{
    char got[64];
    static const char *const keys[] = {"from", "max"};
    if (n->type != YAML_MAPPING_NODE) {
        cfg_err_at(s, n, "'deviation' must be a mapping {from: plc.tag, max: "
                   "X}, got %s", CFG_GOT(n));
        return;
    }
    yaml_node_t *v[2], *k[2];
    cfg_get_keys(s, n, "deviation", keys, 2, v, k);
    if (cfg_require(s, n, "deviation", "from", v[0]) &&
        cfg_get_str(s, "deviation 'from'", v[0], &a->from) == 0) {
        a->from_line = (int)v[0]->start_mark.line + 1;
        a->from_col = (int)v[0]->start_mark.column + 1;
    }
    if (cfg_require(s, n, "deviation", "max", v[1]) &&
        cfg_get_num(s, "deviation 'max'", "a number > 0", v[1],
                    &a->limit) == 0 && !(a->limit > 0))
        cfg_err_at(s, v[1], "deviation 'max' must be a number > 0, got %s",
                   CFG_GOT(v[1]));
}

/* One alarm of tag t (whose type, states and PLC are known). */
static void parse_tag_alarm(cfg_src *s, const yaml_node_t *n,
                            const map_plc *plc, const map_tag *t,
                            bool type_ok, map_alarm *a)
{
    char got[64];
    a->priority = MAP_PRIO_MEDIUM;
    a->enabled = true;
    a->window_ns = 1000000000ull;
    a->line = (int)n->start_mark.line + 1;
    a->col = (int)n->start_mark.column + 1;
    if (n->type != YAML_MAPPING_NODE) {
        cfg_err_at(s, n, "each alarm must be a mapping with 'id' and one "
                   "condition, got %s", CFG_GOT(n));
        return;
    }
    yaml_node_t *v[A_N], *k[A_N];
    cfg_get_keys(s, n, "alarm", alarm_keys, A_N, v, k);
    if (cfg_require(s, n, "alarm", "id", v[A_ID]) &&
        cfg_get_id(s, "alarm 'id'", v[A_ID], &a->id) == 0 && t->full_id)
        a->full_id = fmt_dup("%s.%s", t->full_id, a->id);
    char in[96];
    if (a->id)
        snprintf(in, sizeof in, "alarm '%s'", a->id);
    else
        snprintf(in, sizeof in, "alarm");

    /* Exactly one condition; the second one found is the mistake. */
    int cond = -1;
    for (size_t i = 0; i < CFG_COUNT(cond_keys); i++) {
        int key = cond_keys[i];
        if (!v[key])
            continue;
        if (cond < 0) {
            cond = (int)i;
            continue;
        }
        cfg_err_at(s, k[key], "%s has both '%s' and '%s' (exactly one "
                   "condition per alarm)", in, alarm_keys[cond_keys[cond]],
                   alarm_keys[key]);
    }
    if (cond < 0) {
        cfg_err_at(s, n, "%s needs a condition: one of above, below, when, "
                   "states, rate, deviation or quality", in);
        return;
    }
    a->kind = (map_alarm_kind)cond;
    yaml_node_t *cv = v[cond_keys[cond]], *ck = k[cond_keys[cond]];
    const char *tname = t->id ? t->id : "?";
    const char *ttype = map_type_name(t->type);
    bool numeric = type_ok && tag_is_numeric(t);
    switch (a->kind) {
    case MAP_AL_ABOVE:
    case MAP_AL_BELOW:
    case MAP_AL_RATE:
    case MAP_AL_DEVIATION:
        if (type_ok && !numeric) {
            cfg_err_at(s, ck, "'%s' only applies to numeric tags, and tag "
                       "'%s' is %s%s", alarm_keys[cond_keys[cond]], tname,
                       ttype, t->type == MAP_BOOL ? " (use when: true or "
                       "false)" : " (use quality: bad)");
            break;
        }
        if (a->kind == MAP_AL_DEVIATION)
            parse_deviation(s, cv, a);
        else if (a->kind == MAP_AL_RATE) {
            if (cfg_get_num(s, "'rate'", "a number > 0 (change per second)",
                            cv, &a->limit) == 0 && !(a->limit > 0))
                cfg_err_at(s, cv, "'rate' must be a number > 0 (change per "
                           "second), got %s", CFG_GOT(cv));
        } else {
            cfg_get_num(s, a->kind == MAP_AL_ABOVE ? "'above'" : "'below'",
                        NULL, cv, &a->limit);
        }
        break;
    case MAP_AL_WHEN:
        if (type_ok && t->type != MAP_BOOL) {
            cfg_err_at(s, ck, "'when' only applies to bool tags, and tag '%s' "
                       "is %s (use %s)", tname, ttype,
                       t->n_states ? "above, below or states"
                                   : "above or below");
            break;
        }
        cfg_get_bool(s, "'when'", cv, &a->when);
        break;
    case MAP_AL_STATES:
        parse_states_cond(s, cv, t, type_ok, a);
        break;
    case MAP_AL_QUALITY: {
        static const char *const q[] = {"bad"};
        int x;
        cfg_get_enum(s, "'quality'", cv, q, 1, &x);
        break;
    }
    default:
        break;
    }

    if (v[A_DEADBAND]) {
        double d;
        if (a->kind != MAP_AL_ABOVE && a->kind != MAP_AL_BELOW &&
            a->kind != MAP_AL_RATE && a->kind != MAP_AL_DEVIATION)
            cfg_err_at(s, k[A_DEADBAND], "'deadband' only applies to above, "
                       "below, rate and deviation alarms");
        else if (cfg_get_num(s, "alarm 'deadband'", "a number >= 0",
                             v[A_DEADBAND], &d) == 0) {
            if (d < 0)
                cfg_err_at(s, v[A_DEADBAND], "alarm 'deadband' must be a "
                           "number >= 0, got %s", CFG_GOT(v[A_DEADBAND]));
            else if ((a->kind == MAP_AL_RATE ||
                      a->kind == MAP_AL_DEVIATION) && a->limit > 0 &&
                     d >= a->limit)
                cfg_err_at(s, v[A_DEADBAND], "alarm 'deadband' must be less "
                           "than the %s (%g), or the alarm could never clear",
                           a->kind == MAP_AL_RATE ? "rate" : "deviation's max",
                           a->limit);
            else
                a->deadband = d;
        }
    }
    if (v[A_WINDOW]) {
        if (a->kind != MAP_AL_RATE)
            cfg_err_at(s, k[A_WINDOW], "'window' only applies to rate alarms");
        else
            cfg_get_duration(s, "'window'", v[A_WINDOW], &a->window_ns);
    }
    if (v[A_ON_DELAY])
        get_delay(s, "'on_delay'", v[A_ON_DELAY], &a->on_delay_ns);
    if (v[A_OFF_DELAY])
        get_delay(s, "'off_delay'", v[A_OFF_DELAY], &a->off_delay_ns);
    int x;
    if (v[A_PRIORITY] &&
        cfg_get_enum(s, "'priority'", v[A_PRIORITY], prio_names, MAP_PRIO_N,
                     &x) == 0)
        a->priority = (map_priority)x;
    if (v[A_AREA])
        cfg_get_id(s, "'area'", v[A_AREA], &a->area);
    if (!a->area && plc->id)
        a->area = cfg_strdup(plc->id);
    if (v[A_LATCH])
        cfg_get_bool(s, "'latch'", v[A_LATCH], &a->latch);
    if (v[A_ENABLED])
        cfg_get_bool(s, "'enabled'", v[A_ENABLED], &a->enabled);
    if (v[A_DESCRIPTION])
        cfg_get_str(s, "'description'", v[A_DESCRIPTION], &a->description);
    if (v[A_MESSAGE]) {
        unsigned allowed = a->kind == MAP_AL_QUALITY
                               ? ALARM_MSG_UNIT
                               : ALARM_MSG_VALUE | ALARM_MSG_UNIT;
        if (a->kind == MAP_AL_STATES)
            allowed |= ALARM_MSG_LABEL;
        parse_message(s, v[A_MESSAGE], a, allowed,
                      a->kind == MAP_AL_QUALITY ? "a quality alarm"
                                                : "this alarm");
    }
}

void cfg_parse_tag_alarms(cfg_src *s, const yaml_node_t *n,
                          const map_plc *plc, map_tag *t, bool type_ok)
{
    char got[64];
    if (n->type != YAML_SEQUENCE_NODE || cfg_seq_len(n) == 0) {
        cfg_err_at(s, n, "'alarms' must be a non-empty list of alarms, got %s",
                   CFG_GOT(n));
        return;
    }
    size_t m = cfg_seq_len(n);
    t->alarms = cfg_calloc(m, sizeof *t->alarms);
    for (size_t i = 0; i < m; i++) {
        yaml_node_t *it = cfg_node(s, n->data.sequence.items.start[i]);
        if (!cfg_visit(s, it))
            break;
        t->n_alarms++;
        parse_tag_alarm(s, it, plc, t, type_ok, &t->alarms[i]);
    }
    const char **ids = cfg_calloc(t->n_alarms, sizeof *ids);
    size_t *first = cfg_calloc(t->n_alarms, sizeof *first);
    for (size_t i = 0; i < t->n_alarms; i++)
        ids[i] = t->alarms[i].id;
    cfg_find_dups(ids, t->n_alarms, first);
    for (size_t i = 0; i < t->n_alarms; i++) {
        if (first[i] == i)
            continue;
        const map_alarm *a = &t->alarms[i], *f = &t->alarms[first[i]];
        cfg_err_pos(s, a->line, a->col, "duplicate alarm id '%s' on tag '%s' "
                    "(first defined at %s:%d:%d)", a->id, t->id ? t->id : "?",
                    s->file, f->line, f->col);
    }
    free(ids);
    free(first);
}

/* ---- a PLC's comm alarm ------------------------------------------------- */

enum { C_PRIORITY, C_ON_DELAY, C_OFF_DELAY, C_AREA, C_MESSAGE, C_DESCRIPTION,
       C_ENABLED, C_N };
static const char *const comm_keys[C_N] = {
    "priority", "on_delay", "off_delay", "area", "message", "description",
    "enabled"};

void cfg_parse_comm_alarm(cfg_src *s, const yaml_node_t *n, map_plc *p)
{
    char got[64];
    map_alarm *a = &p->comm_alarm;
    const char *off = cfg_scalar(n);
    if (off && strcmp(off, "off") == 0) {
        a->enabled = false;
        return;
    }
    if (n->type != YAML_MAPPING_NODE) {
        cfg_err_at(s, n, "'comm_alarm' must be a mapping such as {priority: "
                   "high} or off, got %s", CFG_GOT(n));
        return;
    }
    yaml_node_t *v[C_N], *k[C_N];
    cfg_get_keys(s, n, "comm_alarm", comm_keys, C_N, v, k);
    int x;
    if (v[C_PRIORITY] &&
        cfg_get_enum(s, "'priority'", v[C_PRIORITY], prio_names, MAP_PRIO_N,
                     &x) == 0)
        a->priority = (map_priority)x;
    if (v[C_ON_DELAY])
        get_delay(s, "'on_delay'", v[C_ON_DELAY], &a->on_delay_ns);
    if (v[C_OFF_DELAY])
        get_delay(s, "'off_delay'", v[C_OFF_DELAY], &a->off_delay_ns);
    if (v[C_AREA])
        cfg_get_id(s, "'area'", v[C_AREA], &a->area);
    if (v[C_MESSAGE])
        parse_message(s, v[C_MESSAGE], a, 0, "a comm alarm");
    if (v[C_DESCRIPTION])
        cfg_get_str(s, "'description'", v[C_DESCRIPTION], &a->description);
    if (v[C_ENABLED])
        cfg_get_bool(s, "'enabled'", v[C_ENABLED], &a->enabled);
}

void cfg_comm_alarm_defaults(map_plc *p)
{
    map_alarm *a = &p->comm_alarm;
    a->kind = MAP_AL_COMM;
    a->priority = MAP_PRIO_HIGH;
    a->enabled = true;
    a->tag_pos = (size_t)-1;
    a->on_delay_ns = UINT64_MAX;  /* not given: the stale time, below */
}

void cfg_comm_alarm_finish(map_plc *p)
{
    map_alarm *a = &p->comm_alarm;
    a->line = p->line;
    a->col = p->col;
    a->id = cfg_strdup("comm");
    if (p->id)
        a->full_id = fmt_dup("%s.comm", p->id);
    if (!a->area && p->id)
        a->area = cfg_strdup(p->id);
    /* Lost means "not answered for the stale time": one missed poll is a
     * blip the next poll repairs, three in a row (plus the timeout) are
     * what the dispatcher calls stale too (core/dispatch.c). */
    if (a->on_delay_ns == UINT64_MAX) {
        uint64_t fastest = 1000000000ull;
        for (size_t g = 0; g < p->n_groups; g++)
            if (g == 0 || p->groups[g].period_ns < fastest)
                fastest = p->groups[g].period_ns;
        a->on_delay_ns = 3 * fastest + p->timeout_ns;
    }
    if (!a->message.en) {
        const char *en = p->name.en ? p->name.en : p->id ? p->id : "PLC";
        a->message.en = fmt_dup("%s: communication lost", en);
        a->message.zh = fmt_dup("%s通信中断", p->name.zh ? p->name.zh : en);
    }
}

/* ---- the station-wide pass over tag alarms ------------------------------ */

/* "Upper HPU oil temperature above 55 °C" and its Chinese twin, for an
 * alarm without a message of its own. */
static void default_message(map_alarm *a, const map_tag *t,
                            const map_tag *from)
{
    const char *en = t->name.en ? t->name.en : t->id;
    const char *zh = t->name.zh;
    char unit[64] = "";
    if (t->unit)
        snprintf(unit, sizeof unit, " %s", t->unit);
    switch (a->kind) {
    case MAP_AL_ABOVE:
    case MAP_AL_BELOW: {
        bool up = a->kind == MAP_AL_ABOVE;
        a->message.en = fmt_dup("%s %s %g%s", en, up ? "above" : "below",
                                a->limit, unit);
        if (zh)
            a->message.zh = fmt_dup("%s%s%g%s", zh, up ? "高于" : "低于",
                                    a->limit, unit);
        break;
    }
    case MAP_AL_WHEN:
        a->message.en = a->when ? cfg_strdup(en) : fmt_dup("%s: off", en);
        if (zh)
            a->message.zh = a->when ? cfg_strdup(zh) : fmt_dup("%s：否", zh);
        break;
    case MAP_AL_STATES:
        a->message.en = fmt_dup("%s: {label}", en);
        if (zh)
            a->message.zh = fmt_dup("%s：{label}", zh);
        break;
    case MAP_AL_RATE:
        a->message.en = fmt_dup("%s changing faster than %g%s/s", en,
                                a->limit, unit);
        if (zh)
            a->message.zh = fmt_dup("%s变化率超过%g%s/s", zh, a->limit, unit);
        break;
    case MAP_AL_DEVIATION: {
        const char *fen = from ? (from->name.en ? from->name.en : from->id)
                               : a->from;
        a->message.en = fmt_dup("%s deviates from %s by more than %g%s", en,
                                fen, a->limit, unit);
        if (zh && from && from->name.zh)
            a->message.zh = fmt_dup("%s与%s偏差超过%g%s", zh, from->name.zh,
                                    a->limit, unit);
        break;
    }
    case MAP_AL_QUALITY:
        a->message.en = fmt_dup("%s: bad quality", en);
        if (zh)
            a->message.zh = fmt_dup("%s：数据质量异常", zh);
        break;
    default:
        a->message.en = cfg_strdup(a->id ? a->id : "alarm");
        break;
    }
}

void cfg_check_alarms(cfg_loader *ld, map_station *st, const cfg_plc_aux *pa)
{
    size_t pos = 0;
    for (size_t p = 0; p < st->n_plcs && !ld->stop; p++) {
        map_plc *plc = &st->plcs[p];
        cfg_src s = {.ld = ld, .file = plc->file, .rank = pa[p].rank};
        plc->comm_alarm.plc = p;
        for (size_t i = 0; i < plc->n_tags; i++, pos++) {
            map_tag *t = &plc->tags[i];
            for (size_t k = 0; k < t->n_alarms; k++) {
                map_alarm *a = &t->alarms[k];
                a->plc = p;
                a->tag_pos = pos;
                const map_tag *from = NULL;
                if (a->kind == MAP_AL_DEVIATION && a->from) {
                    size_t fp;
                    from = cfg_find_tag_pos(st, a->from, &fp);
                    if (!from)
                        cfg_err_pos(&s, a->from_line, a->from_col,
                                    "deviation 'from': no tag '%s' in the "
                                    "station (full ids are plc.tag)", a->from);
                    else if (from == t)
                        cfg_err_pos(&s, a->from_line, a->from_col,
                                    "deviation 'from' is the alarm's own tag "
                                    "'%s'", a->from);
                    else if (!tag_is_numeric(from))
                        cfg_err_pos(&s, a->from_line, a->from_col,
                                    "deviation 'from' tag '%s' is %s, not a "
                                    "number", a->from,
                                    map_type_name(from->type));
                    else
                        a->from_pos = fp;
                }
                if (!a->message.en)
                    default_message(a, t, from);
            }
        }
    }
}

void cfg_alarm_free(map_alarm *a)
{
    free(a->id);
    free(a->full_id);
    free(a->codes);
    free(a->from);
    free(a->expr_src);
    expr_free(a->expr);
    free(a->area);
    cfg_text_free(&a->message);
    free(a->description);
}

/* ---- station alarms: alarms: -------------------------------------------- */

enum {
    S_ID, S_WHEN, S_ON_DELAY, S_OFF_DELAY, S_PRIORITY, S_AREA, S_MESSAGE,
    S_DESCRIPTION, S_LATCH, S_ENABLED, S_N
};
static const char *const station_alarm_keys[S_N] = {
    "id", "when", "on_delay", "off_delay", "priority", "area", "message",
    "description", "latch", "enabled"};

typedef struct {
    const map_station *st;
} resolve_ctx;

static int resolve_tag(void *ctx, const char *name, size_t len,
                       expr_type *type, uint32_t *slot)
{
    const resolve_ctx *rc = ctx;
    char id[2 * CFG_ID_MAX + 2];
    if (len >= sizeof id)
        return -1;
    memcpy(id, name, len);
    id[len] = '\0';
    size_t pos;
    const map_tag *t = cfg_find_tag_pos(rc->st, id, &pos);
    if (!t)
        return -1;
    *type = t->type == MAP_BOOL ? EXPR_BOOL
            : t->type == MAP_STRING ? EXPR_OTHER : EXPR_NUM;
    *slot = (uint32_t)pos;
    return 0;
}

/* Where byte `off` of scalar n's text is in the file.  Exact for a scalar
 * on one line (plain or quoted, the usual way to write an expression);
 * for one spread over lines, libyaml has folded the lines, so the scalar's
 * own position is the honest answer (the message names the token). */
static void scalar_pos(const yaml_node_t *n, size_t off, int *line, int *col)
{
    *line = (int)n->start_mark.line + 1;
    *col = (int)n->start_mark.column + 1;
    if (n->start_mark.line != n->end_mark.line)
        return;
    yaml_scalar_style_t style = n->data.scalar.style;
    if (style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
        style == YAML_DOUBLE_QUOTED_SCALAR_STYLE)
        (*col)++;
    /* libyaml counts columns in characters, the offset is in bytes. */
    const unsigned char *v = n->data.scalar.value;
    for (size_t i = 0; i < off && i < n->data.scalar.length; i++)
        if ((v[i] & 0xC0) != 0x80)
            (*col)++;
}

static void parse_station_alarm(cfg_src *s, const yaml_node_t *n,
                                map_station *st, map_alarm *a)
{
    char got[64];
    a->kind = MAP_AL_EXPR;
    a->priority = MAP_PRIO_MEDIUM;
    a->enabled = true;
    a->plc = (size_t)-1;
    a->tag_pos = (size_t)-1;
    a->line = (int)n->start_mark.line + 1;
    a->col = (int)n->start_mark.column + 1;
    if (n->type != YAML_MAPPING_NODE) {
        cfg_err_at(s, n, "each station alarm must be a mapping with 'id' and "
                   "'when', got %s", CFG_GOT(n));
        return;
    }
    yaml_node_t *v[S_N], *k[S_N];
    cfg_get_keys(s, n, "station alarm", station_alarm_keys, S_N, v, k);
    if (cfg_require(s, n, "station alarm", "id", v[S_ID]) &&
        cfg_get_id(s, "alarm 'id'", v[S_ID], &a->id) == 0)
        a->full_id = cfg_strdup(a->id);
    char in[96];
    snprintf(in, sizeof in, "station alarm '%s'", a->id ? a->id : "?");
    if (cfg_require(s, n, in, "when", v[S_WHEN]) &&
        cfg_get_str(s, "'when'", v[S_WHEN], &a->expr_src) == 0) {
        resolve_ctx rc = {st};
        expr_error err;
        a->expr = expr_compile(a->expr_src, true, resolve_tag, &rc, &err);
        int line, col;
        const uint32_t *slots;
        if (!a->expr) {
            scalar_pos(v[S_WHEN], err.pos, &line, &col);
            cfg_err_pos(s, line, col, "'when': %s", err.msg);
        } else if (expr_slots(a->expr, &slots) == 0) {
            scalar_pos(v[S_WHEN], 0, &line, &col);
            cfg_err_pos(s, line, col, "'when': the expression refers to no "
                        "tag, so the alarm could never change");
        }
    }
    if (v[S_ON_DELAY])
        get_delay(s, "'on_delay'", v[S_ON_DELAY], &a->on_delay_ns);
    if (v[S_OFF_DELAY])
        get_delay(s, "'off_delay'", v[S_OFF_DELAY], &a->off_delay_ns);
    int x;
    if (v[S_PRIORITY] &&
        cfg_get_enum(s, "'priority'", v[S_PRIORITY], prio_names, MAP_PRIO_N,
                     &x) == 0)
        a->priority = (map_priority)x;
    if (v[S_AREA])
        cfg_get_id(s, "'area'", v[S_AREA], &a->area);
    if (!a->area)
        a->area = cfg_strdup("station");
    if (v[S_LATCH])
        cfg_get_bool(s, "'latch'", v[S_LATCH], &a->latch);
    if (v[S_ENABLED])
        cfg_get_bool(s, "'enabled'", v[S_ENABLED], &a->enabled);
    if (v[S_DESCRIPTION])
        cfg_get_str(s, "'description'", v[S_DESCRIPTION], &a->description);
    if (v[S_MESSAGE])
        parse_message(s, v[S_MESSAGE], a, 0, "a station alarm");
    if (!a->message.en)
        a->message.en = cfg_strdup(a->id ? a->id : "alarm");
}

/* The section is read in its finish step: expressions name tags of PLCs
 * that are loaded after the station file's sections are parsed. */
static void alarms_parse(cfg_src *s, const yaml_node_t *n, map_station *st)
{
    (void)st;
    char got[64];
    if (n->type != YAML_SEQUENCE_NODE || cfg_seq_len(n) == 0)
        cfg_err_at(s, n, "'alarms' must be a non-empty list of station "
                   "alarms ({id: ..., when: \"expression\"}), got %s",
                   CFG_GOT(n));
}

static void alarms_finish(cfg_src *s, map_station *st)
{
    const yaml_node_t *n = cfg_station_key(s, "alarms");
    if (!n || n->type != YAML_SEQUENCE_NODE)
        return;
    size_t m = cfg_seq_len(n);
    st->alarms = cfg_calloc(m, sizeof *st->alarms);
    for (size_t i = 0; i < m; i++) {
        yaml_node_t *it = cfg_node(s, n->data.sequence.items.start[i]);
        if (!cfg_visit(s, it))
            break;
        st->n_alarms++;
        parse_station_alarm(s, it, st, &st->alarms[i]);
    }
    const char **ids = cfg_calloc(st->n_alarms, sizeof *ids);
    size_t *first = cfg_calloc(st->n_alarms, sizeof *first);
    for (size_t i = 0; i < st->n_alarms; i++)
        ids[i] = st->alarms[i].id;
    cfg_find_dups(ids, st->n_alarms, first);
    for (size_t i = 0; i < st->n_alarms; i++) {
        if (first[i] == i)
            continue;
        const map_alarm *a = &st->alarms[i], *f = &st->alarms[first[i]];
        cfg_err_pos(s, a->line, a->col, "duplicate station alarm id '%s' "
                    "(first defined at %s:%d:%d)", a->id, s->file, f->line,
                    f->col);
    }
    free(ids);
    free(first);
}

const cfg_section cfg_alarms_section = {
    .key = "alarms",
    .parse = alarms_parse,
    .finish = alarms_finish,
};

/* ---- chattering: -------------------------------------------------------- */

static void chatter_defaults(map_station *st)
{
    st->chatter.count = 3;
    st->chatter.window_ns = 60000000000ull;
}

static void chatter_parse(cfg_src *s, const yaml_node_t *n, map_station *st)
{
    char got[64];
    static const char *const keys[] = {"count", "window"};
    const char *off = cfg_scalar(n);
    if (off && strcmp(off, "off") == 0) {
        st->chatter.count = 0;
        return;
    }
    if (n->type != YAML_MAPPING_NODE) {
        cfg_err_at(s, n, "'chattering' must be a mapping {count: 3, window: "
                   "60s} or off, got %s", CFG_GOT(n));
        return;
    }
    yaml_node_t *v[2], *k[2];
    cfg_get_keys(s, n, "chattering", keys, 2, v, k);
    int64_t c;
    if (v[0] && cfg_get_int(s, "'count'", v[0], 2, MAP_CHATTER_COUNT_MAX,
                            "activations within the window", &c) == 0)
        st->chatter.count = (unsigned)c;
    if (v[1])
        cfg_get_duration(s, "'window'", v[1], &st->chatter.window_ns);
}

const cfg_section cfg_chatter_section = {
    .key = "chattering",
    .defaults = chatter_defaults,
    .parse = chatter_parse,
};
