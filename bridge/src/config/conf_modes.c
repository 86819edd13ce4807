/*
 * conf_modes.c - the station's `modes:` section: which tag says what the
 * station is doing, and which alarm priorities each mode suppresses.
 *
 *   modes:
 *     tag: lockage.lockage_state
 *     states: {0: operating, 1: operating, 2: operating, 3: suspended}
 *     suppress: {suspended: [low, medium]}
 *
 * Several codes may name one mode.  `suppress` maps a mode to a list of
 * priorities or to `all`; a mode it does not name suppresses nothing, and
 * so does a code that is not listed (or a mode tag that is not good): an
 * unknown mode shows every alarm rather than hide one by mistake.
 * Alarms suppressed by the mode are still evaluated and recorded, only
 * neither shown as active nor notified (alarm/engine.h).
 */
#include "config/parse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { M_TAG, M_STATES, M_SUPPRESS, M_N };
static const char *const mode_keys[M_N] = {"tag", "states", "suppress"};

static const char *const prio_names[MAP_PRIO_N] = {"critical", "high",
                                                   "medium", "low"};

/* The modes sorted by name, for looking names up: a hostile map with
 * thousands of modes stays n log n. */
typedef struct {
    const char *name;
    size_t idx;
} name_ref;

static int cmp_name_ref(const void *a, const void *b)
{
    const name_ref *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->idx > y->idx) - (x->idx < y->idx);
}

static map_mode *mode_named(map_modes *m, const name_ref *by_name,
                            const char *name)
{
    size_t lo = 0, hi = m->n_modes;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(name, by_name[mid].name);
        if (c == 0)
            return &m->modes[by_name[mid].idx];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

static void parse_mode_tag(cfg_src *s, const yaml_node_t *n, map_station *st,
                           const map_tag **tag)
{
    map_modes *m = &st->modes;
    if (cfg_get_str(s, "modes 'tag'", n, &m->tag) < 0)
        return;
    const map_tag *t = cfg_find_tag_pos(st, m->tag, &m->tag_pos);
    if (!t) {
        cfg_err_at(s, n, "modes 'tag': no tag '%s' in the station (full ids "
                   "are plc.tag)", m->tag);
        return;
    }
    if (t->type == MAP_F32 || t->type == MAP_F64 || t->type == MAP_STRING ||
        t->scaled) {
        cfg_err_at(s, n, "modes 'tag' '%s' must hold whole codes (a bool or "
                   "an integer tag without scale or offset), not a%s %s",
                   m->tag, t->scaled ? " scaled" : "", map_type_name(t->type));
        return;
    }
    *tag = t;
}

typedef struct {
    int64_t code;
    char *name;
    const yaml_node_t *key;
    size_t seq;
} code_ref;

static int cmp_code(const void *a, const void *b)
{
    const code_ref *x = a, *y = b;
    if (x->code != y->code)
        return x->code < y->code ? -1 : 1;
    return (x->seq > y->seq) - (x->seq < y->seq);
}

static int cmp_name_seq(const void *a, const void *b)
{
    const code_ref *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->seq > y->seq) - (x->seq < y->seq);
}

static int cmp_seq(const void *a, const void *b)
{
    const code_ref *x = a, *y = b;
    return (x->seq > y->seq) - (x->seq < y->seq);
}

/* code: name pairs into modes (in the order their names first appear),
 * each with its codes; repeated codes are reported. */
static void parse_mode_states(cfg_src *s, const yaml_node_t *n,
                              map_modes *m, const map_tag *tag)
{
    char got[64];
    if (n->type != YAML_MAPPING_NODE || cfg_map_len(n) == 0) {
        cfg_err_at(s, n, "modes 'states' must be a mapping of code to mode "
                   "name such as {0: operating, 1: maintenance}, got %s",
                   CFG_GOT(n));
        return;
    }
    size_t cap = cfg_map_len(n), k = 0;
    code_ref *cr = cfg_calloc(cap, sizeof *cr);
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
         p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *key = cfg_node(s, p->key), *v = cfg_node(s, p->value);
        if (!cfg_visit(s, key))
            break;
        const char *ks = cfg_scalar(key);
        int64_t code;
        if (!ks || cfg_parse_int(ks, &code) < 0) {
            cfg_err_at(s, key, "mode code must be an integer, got %s",
                       CFG_GOT(key));
            continue;
        }
        if (tag && tag->n_states && !map_state_label(tag, code)) {
            cfg_err_at(s, key, "mode code %lld is not a state of tag '%s'",
                       (long long)code, tag->full_id);
            continue;
        }
        char *name = NULL;
        if (cfg_get_id(s, "mode name", v, &name) < 0)
            continue;
        cr[k] = (code_ref){code, name, key, k};
        k++;
    }
    /* Repeated codes are neighbours once sorted by code. */
    qsort(cr, k, sizeof *cr, cmp_code);
    size_t u = 0;
    for (size_t i = 0; i < k; i++) {
        if (u && cr[u - 1].code == cr[i].code) {
            cfg_err_at(s, cr[i].key, "duplicate mode code %lld",
                       (long long)cr[i].code);
            free(cr[i].name);
            continue;
        }
        cr[u++] = cr[i];
    }
    /* Then by name, a mode is a run; each run goes where its first code
     * was written. */
    qsort(cr, u, sizeof *cr, cmp_name_seq);
    m->modes = cfg_calloc(u, sizeof *m->modes);
    code_ref *firsts = cfg_calloc(u, sizeof *firsts);
    size_t nf = 0;
    for (size_t i = 0; i < u; i++)
        if (i == 0 || strcmp(cr[i].name, cr[i - 1].name) != 0)
            firsts[nf++] = cr[i];
    qsort(firsts, nf, sizeof *firsts, cmp_seq);
    for (size_t i = 0; i < nf; i++) {
        map_mode *md = &m->modes[m->n_modes++];
        md->name = cfg_strdup(firsts[i].name);
    }
    name_ref *by_name = cfg_calloc(nf, sizeof *by_name);
    for (size_t i = 0; i < nf; i++)
        by_name[i] = (name_ref){m->modes[i].name, i};
    qsort(by_name, nf, sizeof *by_name, cmp_name_ref);
    size_t *count = cfg_calloc(nf, sizeof *count);
    for (size_t i = 0; i < u; i++)
        count[mode_named(m, by_name, cr[i].name) - m->modes]++;
    for (size_t i = 0; i < nf; i++)
        m->modes[i].codes = cfg_calloc(count[i], sizeof *m->modes[i].codes);
    /* codes in the order they were written */
    qsort(cr, u, sizeof *cr, cmp_seq);
    for (size_t i = 0; i < u; i++) {
        map_mode *md = mode_named(m, by_name, cr[i].name);
        md->codes[md->n_codes++] = cr[i].code;
        free(cr[i].name);
    }
    free(count);
    free(by_name);
    free(firsts);
    free(cr);
}

static void parse_suppress(cfg_src *s, const yaml_node_t *n, map_modes *m)
{
    char got[64];
    if (n->type != YAML_MAPPING_NODE) {
        cfg_err_at(s, n, "modes 'suppress' must be a mapping of mode to "
                   "priorities such as {maintenance: [low, medium], "
                   "dewatered: all}, got %s", CFG_GOT(n));
        return;
    }
    name_ref *by_name = cfg_calloc(m->n_modes, sizeof *by_name);
    for (size_t i = 0; i < m->n_modes; i++)
        by_name[i] = (name_ref){m->modes[i].name, i};
    qsort(by_name, m->n_modes, sizeof *by_name, cmp_name_ref);
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
         p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = cfg_node(s, p->key), *v = cfg_node(s, p->value);
        if (!cfg_visit(s, k))
            break;
        const char *name = cfg_scalar(k);
        map_mode *md = name ? mode_named(m, by_name, name) : NULL;
        if (!md) {
            char list[256] = "";
            for (size_t i = 0; i < m->n_modes; i++) {
                if (strlen(list) + strlen(m->modes[i].name) + 3 >= sizeof list)
                    break;
                if (i)
                    strcat(list, ", ");
                strcat(list, m->modes[i].name);
            }
            cfg_err_at(s, k, "unknown mode %s in 'suppress' (modes: %s)",
                       CFG_GOT(k), list);
            continue;
        }
        const char *all = cfg_scalar(v);
        if (all && strcmp(all, "all") == 0) {
            for (int i = 0; i < MAP_PRIO_N; i++)
                md->suppress[i] = true;
            continue;
        }
        if (v->type != YAML_SEQUENCE_NODE) {
            cfg_err_at(s, v, "what mode '%s' suppresses must be a list of "
                       "priorities or all, got %s", md->name, CFG_GOT(v));
            continue;
        }
        for (size_t i = 0; i < cfg_seq_len(v); i++) {
            yaml_node_t *it = cfg_node(s, v->data.sequence.items.start[i]);
            if (!cfg_visit(s, it))
                break;
            int x;
            if (cfg_get_enum(s, "a suppressed priority", it, prio_names,
                             MAP_PRIO_N, &x) == 0)
                md->suppress[x] = true;
        }
    }
    free(by_name);
}

/* Read once the PLCs are loaded: the mode tag may be in any of them. */
static void modes_parse(cfg_src *s, const yaml_node_t *n, map_station *st)
{
    (void)st;
    char got[64];
    if (n->type != YAML_MAPPING_NODE)
        cfg_err_at(s, n, "'modes' must be a mapping with 'tag', 'states' and "
                   "'suppress', got %s", CFG_GOT(n));
}

static void modes_finish(cfg_src *s, map_station *st)
{
    const yaml_node_t *n = cfg_station_key(s, "modes");
    if (!n || n->type != YAML_MAPPING_NODE)
        return;
    yaml_node_t *v[M_N], *k[M_N];
    cfg_get_keys(s, n, "modes", mode_keys, M_N, v, k);
    const map_tag *tag = NULL;
    if (cfg_require(s, n, "modes", "tag", v[M_TAG]))
        parse_mode_tag(s, v[M_TAG], st, &tag);
    if (cfg_require(s, n, "modes", "states", v[M_STATES]))
        parse_mode_states(s, v[M_STATES], &st->modes, tag);
    /* Without modes every name in suppress would be "unknown": noise. */
    if (v[M_SUPPRESS] && st->modes.n_modes > 0)
        parse_suppress(s, v[M_SUPPRESS], &st->modes);
    st->modes.enabled = true;
}

const cfg_section cfg_modes_section = {
    .key = "modes",
    .parse = modes_parse,
    .finish = modes_finish,
};
