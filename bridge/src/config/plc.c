/*
 * plc.c - one PLC map: its endpoint, poll groups, tags and their states,
 * then the per-PLC check pass (duplicate tag ids, overlapping tags).
 *
 * The walk follows a fixed schema (PLC -> poll groups and tags -> states)
 * and never recurses on the document's own shape, so anchors and aliases,
 * even cyclic ones, cannot make it loop; cfg_visit bounds alias bombs.
 * Tags are checked against each other only after all are parsed, so each
 * message can name both sides of a conflict.
 */
#include "config/parse.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const mode_names[] = {"change", "sample"};

/* Positions and validity the check pass needs but the model has no room
 * for; lives only while loading. */
typedef struct {
    int id_line, id_col;   /* the id value, 0 when absent */
    bool ok;               /* table, address, type, length all valid */
} tag_aux;

static bool type_is_integer(map_type t)
{
    return t != MAP_F32 && t != MAP_F64 && t != MAP_STRING;
}

/* ---- tags --------------------------------------------------------------- */

enum {
    T_ID, T_NAME, T_DESC, T_TABLE, T_ADDRESS, T_TYPE, T_BIT, T_ORDER,
    T_LENGTH, T_SCALE, T_OFFSET, T_UNIT, T_POLL, T_DEADBAND, T_RANGE,
    T_STATES, T_ALARMS, T_N
};
static const char *const tag_keys[T_N] = {
    "id", "name", "description", "table", "address", "type", "bit", "order",
    "length", "scale", "offset", "unit", "poll", "deadband", "range",
    "states", "alarms"};

/* "holding 100..101, f32", "holding 7 bit 3, bool": a tag's place, with
 * addresses numbered as the file numbers them. */
static void tag_place(const map_tag *t, int base, char *buf, size_t len)
{
    long first = (long)t->address + base;
    long last = first + (t->nregs ? t->nregs : 1) - 1;
    const char *tb = map_table_name(t->table), *ty = map_type_name(t->type);
    if (t->bit >= 0)
        snprintf(buf, len, "%s %ld bit %d, %s", tb, first, t->bit, ty);
    else if (last > first)
        snprintf(buf, len, "%s %ld..%ld, %s", tb, first, last, ty);
    else
        snprintf(buf, len, "%s %ld, %s", tb, first, ty);
}

/* Range of raw codes a state may have for a type (64-bit: all of int64). */
static void state_range(map_type t, int64_t *lo, int64_t *hi)
{
    switch (t) {
    case MAP_BOOL: *lo = 0; *hi = 1; return;
    case MAP_U16: *lo = 0; *hi = UINT16_MAX; return;
    case MAP_I16: *lo = INT16_MIN; *hi = INT16_MAX; return;
    case MAP_U32: *lo = 0; *hi = UINT32_MAX; return;
    case MAP_I32: *lo = INT32_MIN; *hi = INT32_MAX; return;
    case MAP_U64: *lo = 0; *hi = INT64_MAX; return;
    default: *lo = INT64_MIN; *hi = INT64_MAX; return;
    }
}

typedef struct {
    map_state st;
    const yaml_node_t *key;
    size_t seq;            /* order in the file */
} state_ref;

static int cmp_state_ref(const void *a, const void *b)
{
    const state_ref *x = a, *y = b;
    if (x->st.value != y->st.value)
        return x->st.value < y->st.value ? -1 : 1;
    return (x->seq > y->seq) - (x->seq < y->seq);
}

static void parse_states(cfg_src *s, const yaml_node_t *n, map_tag *t,
                         bool type_ok)
{
    char got[64];
    if (n->type != YAML_MAPPING_NODE || cfg_map_len(n) == 0) {
        cfg_err_at(s, n, "'states' must be a mapping of code to label, got %s",
                   CFG_GOT(n));
        return;
    }
    if (type_ok && !type_is_integer(t->type)) {
        cfg_err_at(s, n, "'states' is only allowed for integer and bool tags, "
                   "not %s", map_type_name(t->type));
        return;
    }
    size_t cap = cfg_map_len(n), m = 0;
    state_ref *sr = cfg_calloc(cap, sizeof *sr);
    int64_t lo, hi;
    state_range(t->type, &lo, &hi);
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
         p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = cfg_node(s, p->key), *v = cfg_node(s, p->value);
        if (!cfg_visit(s, k))
            break;
        const char *ks = cfg_scalar(k);
        int64_t code;
        if (!ks || cfg_parse_int(ks, &code) < 0) {
            cfg_err_at(s, k, "state code must be an integer, got %s",
                       CFG_GOT(k));
            continue;
        }
        if (type_ok && (code < lo || code > hi)) {
            cfg_err_at(s, k, "state code %lld is out of range for %s",
                       (long long)code, map_type_name(t->type));
            continue;
        }
        char what[64];
        snprintf(what, sizeof what, "label of state %lld", (long long)code);
        state_ref *r = &sr[m];
        if (cfg_get_text(s, what, v, &r->st.label) < 0)
            continue;
        r->st.value = code;
        r->key = k;
        r->seq = m++;
    }
    /* Sorting finds repeated codes ("1" and "01") without a quadratic
     * scan, and leaves the states ordered for map_state_label. */
    qsort(sr, m, sizeof *sr, cmp_state_ref);
    t->states = cfg_calloc(m, sizeof *t->states);
    for (size_t i = 0; i < m; i++) {
        if (t->n_states > 0 &&
            t->states[t->n_states - 1].value == sr[i].st.value) {
            cfg_err_at(s, sr[i].key, "duplicate state code %lld",
                       (long long)sr[i].st.value);
            cfg_text_free(&sr[i].st.label);
            continue;
        }
        t->states[t->n_states++] = sr[i].st;
    }
    free(sr);
}

static void parse_range(cfg_src *s, const yaml_node_t *n, map_tag *t)
{
    char got[64];
    if (n->type != YAML_SEQUENCE_NODE || cfg_seq_len(n) != 2) {
        cfg_err_at(s, n, "'range' must be a sequence [min, max], got %s",
                   CFG_GOT(n));
        return;
    }
    yaml_node_t *a = cfg_node(s, n->data.sequence.items.start[0]);
    yaml_node_t *b = cfg_node(s, n->data.sequence.items.start[1]);
    double lo, hi;
    int ra = cfg_get_num(s, "'range' minimum", NULL, a, &lo);
    int rb = cfg_get_num(s, "'range' maximum", NULL, b, &hi);
    if (ra < 0 || rb < 0)
        return;
    if (!(lo < hi)) {
        cfg_err_at(s, n, "'range' minimum must be less than its maximum, got "
                   "[%g, %g]", lo, hi);
        return;
    }
    t->has_range = true;
    t->range_min = lo;
    t->range_max = hi;
}

/* Parses one tag of `plc` (whose id, groups, word order and address base
 * are already known) into t; aux records what the check pass needs. */
static void parse_tag(cfg_src *s, const yaml_node_t *n, const map_plc *plc,
                      bool groups_ok, map_tag *t, tag_aux *aux)
{
    char got[64];
    t->bit = -1;
    t->scale = 1;
    t->order = plc->word_order;
    t->line = (int)n->start_mark.line + 1;
    t->col = (int)n->start_mark.column + 1;
    if (n->type != YAML_MAPPING_NODE) {
        cfg_err_at(s, n, "each tag must be a mapping, got %s", CFG_GOT(n));
        return;
    }
    yaml_node_t *v[T_N], *k[T_N];
    cfg_get_keys(s, n, "tag", tag_keys, T_N, v, k);

    if (cfg_require(s, n, "tag", "id", v[T_ID]) &&
        cfg_get_id(s, "'id'", v[T_ID], &t->id) == 0) {
        aux->id_line = (int)v[T_ID]->start_mark.line + 1;
        aux->id_col = (int)v[T_ID]->start_mark.column + 1;
        if (asprintf(&t->full_id, "%s.%s", plc->id ? plc->id : "?", t->id) < 0)
            abort();
    }
    /* Later messages name the tag when they can. */
    char in[96];
    if (t->id)
        snprintf(in, sizeof in, "tag '%s'", t->id);
    else
        snprintf(in, sizeof in, "tag");
    bool table_ok = false, type_ok = false, len_ok = true, addr_ok = false;
    int x;
    if (cfg_require(s, n, in, "table", v[T_TABLE]) &&
        cfg_get_enum(s, "'table'", v[T_TABLE], cfg_table_names,
                     CFG_COUNT(cfg_table_names), &x) == 0) {
        t->table = (map_table)x;
        table_ok = true;
    }
    if (cfg_require(s, n, in, "type", v[T_TYPE]) &&
        cfg_get_enum(s, "'type'", v[T_TYPE], cfg_type_names,
                     CFG_COUNT(cfg_type_names), &x) == 0) {
        t->type = (map_type)x;
        type_ok = true;
    }
    bool bits = table_ok && map_table_is_bits(t->table);
    if (table_ok && type_ok && bits && t->type != MAP_BOOL) {
        cfg_err_at(s, v[T_TYPE], "type '%s' is not allowed in a %s table "
                   "(coils and discrete inputs are single bits: use bool)",
                   map_type_name(t->type), map_table_name(t->table));
        type_ok = false;
    }
    if (type_ok && t->type == MAP_STRING && !v[T_LENGTH]) {
        cfg_err_at(s, n, "missing required key 'length' in %s (a string needs "
                   "its number of registers)", in);
        len_ok = false;
    }
    if (v[T_LENGTH]) {
        int64_t len;
        len_ok = false;
        if (type_ok && t->type != MAP_STRING) {
            cfg_err_at(s, k[T_LENGTH], "'length' is only allowed for string "
                       "tags, not %s", map_type_name(t->type));
        } else if (cfg_get_int(s, "'length'", v[T_LENGTH], 1, UINT16_MAX, NULL,
                               &len) == 0) {
            if (len > MAP_MAX_REGS)
                cfg_err_at(s, v[T_LENGTH], "register run over %d: a string of "
                           "%lld registers does not fit one Modbus read",
                           MAP_MAX_REGS, (long long)len);
            else if (len > CFG_STR_MAX_REGS)
                cfg_err_at(s, v[T_LENGTH], "'length' must be at most %d "
                           "registers (%d characters), got %lld",
                           CFG_STR_MAX_REGS, 2 * CFG_STR_MAX_REGS,
                           (long long)len);
            else {
                t->length = (uint16_t)len;
                len_ok = true;
            }
        }
    }
    if (v[T_BIT]) {
        int64_t b;
        if (bits)
            cfg_err_at(s, k[T_BIT], "'bit' is not allowed in a %s table (each "
                       "element is already one bit)",
                       map_table_name(t->table));
        else if (type_ok && t->type != MAP_BOOL)
            cfg_err_at(s, k[T_BIT], "'bit' is only allowed for bool tags, not "
                       "%s", map_type_name(t->type));
        else if (cfg_get_int(s, "'bit'", v[T_BIT], 0, 15, NULL, &b) == 0)
            t->bit = (int)b;
    }
    if (v[T_ORDER]) {
        if (bits)
            cfg_err_at(s, k[T_ORDER], "'order' is not allowed in a %s table",
                       map_table_name(t->table));
        else if (type_ok && map_type_regs(t->type, 2) == 1)
            cfg_err_at(s, k[T_ORDER], "'order' only applies to 32- and 64-bit "
                       "values and strings, not %s", map_type_name(t->type));
        else if (cfg_get_enum(s, "'order'", v[T_ORDER], cfg_order_names,
                              CFG_COUNT(cfg_order_names), &x) == 0)
            t->order = (map_order)x;
    }
    if (type_ok && len_ok)
        t->nregs = bits ? 1 : map_type_regs(t->type, t->length);

    if (cfg_require(s, n, in, "address", v[T_ADDRESS])) {
        int base = plc->address_base;
        int64_t a;
        if (cfg_get_int(s, "'address'", v[T_ADDRESS], base, UINT16_MAX + base,
                        base ? "address_base is 1" : NULL, &a) == 0) {
            t->address = (uint16_t)(a - base);
            addr_ok = true;
            if (type_ok && len_ok && t->nregs > 0 &&
                (long)t->address + t->nregs - 1 > UINT16_MAX) {
                char place[96];
                tag_place(t, base, place, sizeof place);
                cfg_err_at(s, v[T_ADDRESS], "%s (%s) runs past the last "
                           "address %d", in, place, UINT16_MAX + base);
                addr_ok = false;
            }
        }
    }
    aux->ok = table_ok && type_ok && len_ok && addr_ok;

    if (v[T_NAME])
        cfg_get_text(s, "'name'", v[T_NAME], &t->name);
    if (v[T_DESC])
        cfg_get_str(s, "'description'", v[T_DESC], &t->description);
    if (v[T_UNIT])
        cfg_get_str(s, "'unit'", v[T_UNIT], &t->unit);

    bool numeric = type_ok && t->type != MAP_BOOL && t->type != MAP_STRING;
    if (v[T_SCALE]) {
        if (type_ok && !numeric)
            cfg_err_at(s, k[T_SCALE], "'scale' only applies to numeric tags, "
                       "not %s", map_type_name(t->type));
        else if (cfg_get_num(s, "'scale'", "a non-zero number", v[T_SCALE],
                             &t->scale) == 0 && t->scale == 0) {
            cfg_err_at(s, v[T_SCALE], "'scale' must be a non-zero number, got "
                       "%s", CFG_GOT(v[T_SCALE]));
            t->scale = 1;
        }
    }
    if (v[T_OFFSET]) {
        if (type_ok && !numeric)
            cfg_err_at(s, k[T_OFFSET], "'offset' only applies to numeric "
                       "tags, not %s", map_type_name(t->type));
        else
            cfg_get_num(s, "'offset'", NULL, v[T_OFFSET], &t->offset);
    }
    t->scaled = t->scale != 1 || t->offset != 0;
    if (v[T_DEADBAND]) {
        double d;
        if (type_ok && !numeric)
            cfg_err_at(s, k[T_DEADBAND], "'deadband' only applies to numeric "
                       "tags, not %s", map_type_name(t->type));
        else if (cfg_get_num(s, "'deadband'", "a number >= 0", v[T_DEADBAND],
                             &d) == 0) {
            if (d < 0)
                cfg_err_at(s, v[T_DEADBAND], "'deadband' must be a number >= "
                           "0, got %s", CFG_GOT(v[T_DEADBAND]));
            else
                t->deadband = d;
        }
    }
    if (v[T_RANGE]) {
        if (type_ok && !numeric)
            cfg_err_at(s, k[T_RANGE], "'range' only applies to numeric tags, "
                       "not %s", map_type_name(t->type));
        else
            parse_range(s, v[T_RANGE], t);
    }
    if (v[T_STATES]) {
        if (t->scaled)
            cfg_err_at(s, k[T_STATES], "'states' cannot be combined with "
                       "'scale' or 'offset' (states name raw codes)");
        else
            parse_states(s, v[T_STATES], t, type_ok);
    }
    if (v[T_POLL] && groups_ok) {
        char *g = NULL;
        if (cfg_get_str(s, "'poll'", v[T_POLL], &g) == 0) {
            size_t i = 0;
            while (i < plc->n_groups && strcmp(plc->groups[i].name, g) != 0)
                i++;
            if (i < plc->n_groups) {
                t->group = (int)i;
            } else {
                char list[512] = "";
                for (size_t j = 0; j < plc->n_groups; j++) {
                    if (strlen(list) + strlen(plc->groups[j].name) + 3 >
                        sizeof list)
                        break;
                    strcat(list, plc->groups[j].name);
                    if (j + 1 < plc->n_groups)
                        strcat(list, ", ");
                }
                cfg_err_at(s, v[T_POLL], "unknown poll group %s (groups: %s)",
                           CFG_GOT(v[T_POLL]), list);
            }
        }
        free(g);
    }
    if (!t->name.en && t->id)
        t->name.en = cfg_strdup(t->id);
    /* Last: the conditions are checked against the tag as read above. */
    if (v[T_ALARMS])
        cfg_parse_tag_alarms(s, v[T_ALARMS], plc, t, type_ok && len_ok);
}

static void check_plc(cfg_src *s, map_plc *p, const tag_aux *ta);

/* ---- PLCs --------------------------------------------------------------- */

enum {
    P_ID, P_NAME, P_DESC, P_ENABLED, P_HOST, P_PORT, P_UNIT, P_TIMEOUT,
    P_WORD_ORDER, P_ADDRESS_BASE, P_MAX_GAP, P_POLL, P_COMM_ALARM, P_TAGS,
    P_N
};
static const char *const plc_keys[P_N] = {
    "id", "name", "description", "enabled", "host", "port", "unit",
    "timeout", "word_order", "address_base", "max_gap", "poll", "comm_alarm",
    "tags"};

static void add_group(map_plc *p, const char *name, uint64_t ns, bool sample)
{
    map_group *g = &p->groups[p->n_groups++];
    g->name = cfg_strdup(name);
    g->period_ns = ns;
    g->sample = sample;
}

/* `poll: {fast: 100ms, slow: {period: 2s, mode: sample}}`; false when any
 * group is wrong (tags then skip the group check). */
static bool parse_poll(cfg_src *s, const yaml_node_t *n, map_plc *p)
{
    char got[64], what[96];
    static const char *const gkeys[] = {"period", "mode"};
    if (n->type != YAML_MAPPING_NODE || cfg_map_len(n) == 0) {
        cfg_err_at(s, n, "'poll' must be a mapping of group name to period, "
                   "got %s", CFG_GOT(n));
        return false;
    }
    if (cfg_map_len(n) > MAP_GROUPS_MAX) {
        cfg_err_at(s, n, "'poll' has %zu groups; at most %d are allowed",
                   cfg_map_len(n), MAP_GROUPS_MAX);
        return false;
    }
    size_t before = s->ld->errs->n;
    p->groups = cfg_calloc(cfg_map_len(n), sizeof *p->groups);
    for (yaml_node_pair_t *pr = n->data.mapping.pairs.start;
         pr < n->data.mapping.pairs.top; pr++) {
        yaml_node_t *k = cfg_node(s, pr->key), *v = cfg_node(s, pr->value);
        if (!cfg_visit(s, k))
            return false;
        const char *name = cfg_scalar(k);
        if (!name || !cfg_id_valid(name)) {
            cfg_err_at(s, k, "poll group name must be an id (1 to %d letters, "
                       "digits or _), got %s", CFG_ID_MAX, CFG_GOT(k));
            continue;
        }
        size_t dup = 0;
        while (dup < p->n_groups && strcmp(p->groups[dup].name, name) != 0)
            dup++;
        if (dup < p->n_groups) {
            cfg_err_at(s, k, "duplicate poll group '%s'", name);
            continue;
        }
        snprintf(what, sizeof what, "poll group '%s'", name);
        uint64_t ns = 0;
        int mode = 0;
        if (v->type == YAML_MAPPING_NODE) {
            yaml_node_t *gv[2], *gk[2];
            cfg_get_keys(s, v, "poll group", gkeys, 2, gv, gk);
            if (!cfg_require(s, v, what, "period", gv[0]) ||
                cfg_get_duration(s, "'period'", gv[0], &ns) < 0)
                continue;
            if (gv[1] && cfg_get_enum(s, "'mode'", gv[1], mode_names,
                                      CFG_COUNT(mode_names), &mode) < 0)
                continue;
        } else if (cfg_get_duration(s, what, v, &ns) < 0) {
            continue;
        }
        add_group(p, name, ns, mode == 1);
    }
    return s->ld->errs->n == before;
}

void cfg_parse_plc(cfg_src *s, const yaml_node_t *n, map_plc *p,
                   cfg_plc_aux *aux)
{
    char got[64];
    p->file = cfg_strdup(s->file);
    aux->rank = s->rank;
    p->line = (int)n->start_mark.line + 1;
    p->col = (int)n->start_mark.column + 1;
    p->enabled = true;
    p->port = 502;
    p->unit = 1;
    p->timeout_ns = 500000000ull;
    p->word_order = MAP_ABCD;
    p->max_gap = 16;
    cfg_comm_alarm_defaults(p);
    if (n->type != YAML_MAPPING_NODE) {
        cfg_err_at(s, n, "a PLC must be a mapping with 'id', 'host' and "
                   "'tags', got %s", CFG_GOT(n));
        return;
    }
    yaml_node_t *v[P_N], *k[P_N];
    cfg_get_keys(s, n, "PLC", plc_keys, P_N, v, k);

    if (cfg_require(s, n, "PLC", "id", v[P_ID]) &&
        cfg_get_id(s, "'id'", v[P_ID], &p->id) == 0) {
        aux->id_line = (int)v[P_ID]->start_mark.line + 1;
        aux->id_col = (int)v[P_ID]->start_mark.column + 1;
    }
    char in[96];
    if (p->id)
        snprintf(in, sizeof in, "PLC '%s'", p->id);
    else
        snprintf(in, sizeof in, "PLC");
    if (v[P_NAME])
        cfg_get_text(s, "'name'", v[P_NAME], &p->name);
    if (!p->name.en && p->id)
        p->name.en = cfg_strdup(p->id);
    if (v[P_DESC])
        cfg_get_str(s, "'description'", v[P_DESC], &p->description);
    if (v[P_ENABLED])
        cfg_get_bool(s, "'enabled'", v[P_ENABLED], &p->enabled);

    bool ep = cfg_require(s, n, in, "host", v[P_HOST]) &&
              cfg_get_str(s, "'host'", v[P_HOST], &p->host) == 0;
    int64_t x;
    if (v[P_PORT]) {
        if (cfg_get_int(s, "'port'", v[P_PORT], 1, 65535, NULL, &x) == 0)
            p->port = (int)x;
        else
            ep = false;
    }
    if (v[P_UNIT]) {
        if (cfg_get_int(s, "'unit'", v[P_UNIT], 0, 255, NULL, &x) == 0)
            p->unit = (int)x;
        else
            ep = false;
    }
    aux->endpoint_ok = ep;
    if (v[P_TIMEOUT])
        cfg_get_duration(s, "'timeout'", v[P_TIMEOUT], &p->timeout_ns);
    int o;
    if (v[P_WORD_ORDER] &&
        cfg_get_enum(s, "'word_order'", v[P_WORD_ORDER], cfg_order_names,
                     CFG_COUNT(cfg_order_names), &o) == 0)
        p->word_order = (map_order)o;
    if (v[P_ADDRESS_BASE] &&
        cfg_get_int(s, "'address_base'", v[P_ADDRESS_BASE], 0, 1, NULL,
                    &x) == 0)
        p->address_base = (int)x;
    if (v[P_MAX_GAP] &&
        cfg_get_int(s, "'max_gap'", v[P_MAX_GAP], 0, MAP_MAX_REGS, NULL,
                    &x) == 0)
        p->max_gap = (int)x;

    bool groups_ok = true;
    if (v[P_POLL]) {
        groups_ok = parse_poll(s, v[P_POLL], p);
    } else {
        p->groups = cfg_calloc(1, sizeof *p->groups);
        add_group(p, "fast", 1000000000ull, false);
    }
    if (v[P_COMM_ALARM])
        cfg_parse_comm_alarm(s, v[P_COMM_ALARM], p);
    cfg_comm_alarm_finish(p);

    if (!cfg_require(s, n, in, "tags", v[P_TAGS]))
        return;
    yaml_node_t *tags = v[P_TAGS];
    if (tags->type != YAML_SEQUENCE_NODE || cfg_seq_len(tags) == 0) {
        cfg_err_at(s, tags, "'tags' must be a non-empty sequence of tags, got "
                   "%s", CFG_GOT(tags));
        return;
    }
    size_t nt = cfg_seq_len(tags);
    p->tags = cfg_calloc(nt, sizeof *p->tags);
    tag_aux *ta = cfg_calloc(nt, sizeof *ta);
    for (size_t i = 0; i < nt; i++) {
        yaml_node_t *tn = cfg_node(s, tags->data.sequence.items.start[i]);
        if (!cfg_visit(s, tn))
            break;
        p->n_tags++;
        parse_tag(s, tn, p, groups_ok, &p->tags[i], &ta[i]);
    }
    check_plc(s, p, ta);
    free(ta);
}


/* ---- check pass --------------------------------------------------------- */

typedef struct {
    const map_tag *t;
    size_t idx;
} tag_ref;

static int cmp_tag_ref(const void *a, const void *b)
{
    const tag_ref *x = a, *y = b;
    if (x->t->table != y->t->table)
        return (int)x->t->table - (int)y->t->table;
    if (x->t->address != y->t->address)
        return (int)x->t->address - (int)y->t->address;
    if (x->t->type != y->t->type)
        return (int)x->t->type - (int)y->t->type;
    if (x->t->order != y->t->order)
        return (int)x->t->order - (int)y->t->order;
    if (x->t->length != y->t->length)
        return (int)x->t->length - (int)y->t->length;
    if (x->t->bit != y->t->bit)
        return x->t->bit - y->t->bit;
    return (x->idx > y->idx) - (x->idx < y->idx);
}

/* Same table, address, type, order, length and bit: an exact alias. */
static bool same_place(const map_tag *a, const map_tag *b)
{
    return a->table == b->table && a->address == b->address &&
           a->type == b->type && a->order == b->order &&
           a->length == b->length && a->bit == b->bit;
}

typedef struct {
    size_t later, earlier;
} pair;

static int cmp_pair(const void *a, const void *b)
{
    const pair *x = a, *y = b;
    if (x->later != y->later)
        return (x->later > y->later) - (x->later < y->later);
    return (x->earlier > y->earlier) - (x->earlier < y->earlier);
}

static bool bit_tag(const map_tag *t)
{
    return t->type == MAP_BOOL && t->bit >= 0;
}

/* Two tags sharing registers is fine when they read the same thing, or
 * when bits are picked out of a register that is also read whole. */
static bool overlap_allowed(const map_tag *a, const map_tag *b)
{
    if (a->address == b->address && a->type == b->type &&
        a->order == b->order && a->length == b->length && a->bit == b->bit)
        return true;
    if (!bit_tag(a)) {
        const map_tag *t = a;
        a = b;
        b = t;
    }
    if (!bit_tag(a) || a->address != b->address)
        return false;
    return bit_tag(b) || b->type == MAP_U16 || b->type == MAP_I16 ||
           b->type == MAP_BOOL;
}

/* Per-PLC cross-field checks: duplicate tag ids, overlapping tags. */
static void check_plc(cfg_src *s, map_plc *p, const tag_aux *ta)
{
    size_t n = p->n_tags;
    if (n == 0 || s->ld->stop)
        return;
    const char **ids = cfg_calloc(n, sizeof *ids);
    size_t *first = cfg_calloc(n, sizeof *first);
    for (size_t i = 0; i < n; i++)
        ids[i] = p->tags[i].id;
    cfg_find_dups(ids, n, first);
    for (size_t i = 0; i < n; i++) {
        if (first[i] == i)
            continue;
        const tag_aux *f = &ta[first[i]];
        cfg_err_pos(s, ta[i].id_line, ta[i].id_col, "duplicate tag id '%s' "
                    "(first defined at %s:%d:%d)", ids[i], s->file, f->id_line,
                    f->id_col);
    }
    free(ids);
    free(first);

    tag_ref *r = cfg_calloc(n, sizeof *r);
    size_t m = 0;
    long span = 1;
    for (size_t i = 0; i < n; i++) {
        if (ta[i].ok) {
            r[m++] = (tag_ref){&p->tags[i], i};
            if (p->tags[i].nregs > span)
                span = p->tags[i].nregs;
        }
    }
    qsort(r, m, sizeof *r, cmp_tag_ref);
    /* Exact aliases are allowed and conflict with whatever their first
     * occurrence conflicts with, so only the first takes part; this keeps
     * the scan linear however many aliases a map has. */
    size_t k = 0;
    for (size_t i = 0; i < m; i++)
        if (k == 0 || !same_place(r[k - 1].t, r[i].t))
            r[k++] = r[i];
    m = k;
    pair *pairs = NULL;
    size_t np = 0, cap = 0;
    for (size_t i = 1; i < m && np < CFG_ERRORS_MAX; i++) {
        const map_tag *b = r[i].t;
        /* No tag is longer than `span`, so look back only that far. */
        for (size_t j = i; j-- > 0;) {
            const map_tag *a = r[j].t;
            if (a->table != b->table || (long)b->address - a->address >= span)
                break;
            if ((long)a->address + a->nregs <= b->address ||
                overlap_allowed(a, b))
                continue;
            if (np == cap) {
                cap = cap ? cap * 2 : 16;
                pairs = realloc(pairs, cap * sizeof *pairs);
                if (!pairs)
                    abort();
            }
            size_t x = r[i].idx, y = r[j].idx;
            pairs[np++] = x > y ? (pair){x, y} : (pair){y, x};
        }
    }
    if (np)
        qsort(pairs, np, sizeof *pairs, cmp_pair);
    for (size_t i = 0; i < np; i++) {
        const map_tag *a = &p->tags[pairs[i].later];
        const map_tag *b = &p->tags[pairs[i].earlier];
        char pa[96], pb[96];
        tag_place(a, p->address_base, pa, sizeof pa);
        tag_place(b, p->address_base, pb, sizeof pb);
        cfg_err_pos(s, a->line, a->col, "tag '%s' (%s) overlaps tag '%s' (%s)",
                    a->id ? a->id : "?", pa, b->id ? b->id : "?", pb);
    }
    free(pairs);
    free(r);
}

