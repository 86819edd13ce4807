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

static map_mode *mode_named(map_modes *m, const char *name)
{
    for (size_t i = 0; i < m->n_modes; i++)
        if (strcmp(m->modes[i].name, name) == 0)
            return &m->modes[i];
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
    size_t cap = cfg_map_len(n);
    m->modes = cfg_calloc(cap, sizeof *m->modes);
    int64_t *seen = cfg_calloc(cap, sizeof *seen);
    size_t n_seen = 0;
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
         p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = cfg_node(s, p->key), *v = cfg_node(s, p->value);
        if (!cfg_visit(s, k))
            break;
        const char *ks = cfg_scalar(k);
        int64_t code;
        if (!ks || cfg_parse_int(ks, &code) < 0) {
            cfg_err_at(s, k, "mode code must be an integer, got %s",
                       CFG_GOT(k));
            continue;
        }
        bool dup = false;
        for (size_t i = 0; i < n_seen; i++)
            dup |= seen[i] == code;
        if (dup) {
            cfg_err_at(s, k, "duplicate mode code %lld", (long long)code);
            continue;
        }
        if (tag && tag->n_states && !map_state_label(tag, code)) {
            cfg_err_at(s, k, "mode code %lld is not a state of tag '%s'",
                       (long long)code, tag->full_id);
            continue;
        }
        char *name = NULL;
        if (cfg_get_id(s, "mode name", v, &name) < 0)
            continue;
        seen[n_seen++] = code;
        map_mode *md = mode_named(m, name);
        if (!md) {
            md = &m->modes[m->n_modes++];
            md->name = name;
            md->codes = cfg_calloc(cap, sizeof *md->codes);
        } else {
            free(name);
        }
        md->codes[md->n_codes++] = code;
    }
    free(seen);
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
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
         p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = cfg_node(s, p->key), *v = cfg_node(s, p->value);
        if (!cfg_visit(s, k))
            return;
        const char *name = cfg_scalar(k);
        map_mode *md = name ? mode_named(m, name) : NULL;
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
                return;
            int x;
            if (cfg_get_enum(s, "a suppressed priority", it, prio_names,
                             MAP_PRIO_N, &x) == 0)
                md->suppress[x] = true;
        }
    }
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
