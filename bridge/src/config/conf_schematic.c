/*
 * conf_schematic.c - the station's `schematic:` section: which tag is the
 * chamber level, which the upper gate's left leaf, and so on, for the
 * dashboard's drawing of the lock.  The dashboard never guesses from tag
 * ids: a station without this section gets every other page and a note
 * where the drawing would be.
 *
 *   schematic:
 *     chamber_level: levels.chamber_level
 *     upper_valves: [valves.upper_left_position, valves.upper_right_position]
 *
 * Every role is optional; the list of roles is fixed (a typo is an error
 * naming the known ones), and every tag must exist in the station.
 */
#include "config/parse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Lists end in "s" by convention and are named in the second table. */
const char *const map_schematic_roles[] = {
    "upstream_level", "chamber_level", "downstream_level",
    "upper_head", "lower_head",
    "upper_gate_left", "upper_gate_right", "upper_gate_state",
    "lower_gate_left", "lower_gate_right", "lower_gate_state",
    "upper_valves", "lower_valves",
    "upstream_entry_light", "upstream_exit_light",
    "downstream_entry_light", "downstream_exit_light",
    "vessel_upstream", "vessel_upper_gate", "vessel_chamber",
    "vessel_lower_gate", "vessel_downstream",
    "lockage_state", "lockage_phase", "lockage_direction", "phase_elapsed",
    "lockage_elapsed", "lockage_number", "current_vessel",
    NULL,
};

static const char *const schematic_lists[] = {"upper_valves", "lower_valves",
                                              NULL};

bool map_schematic_role_is_list(const char *role)
{
    for (const char *const *l = schematic_lists; *l; l++)
        if (strcmp(*l, role) == 0)
            return true;
    return false;
}

static const char *schematic_role(const char *name)
{
    for (const char *const *r = map_schematic_roles; *r; r++)
        if (strcmp(*r, name) == 0)
            return *r;
    return NULL;
}

static void schematic_add_tag(map_binding *b, const yaml_node_t *item,
                              const char *id)
{
    b->tags[b->n_tags] = cfg_strdup(id);
    b->tag_pos[2 * b->n_tags] = (int)item->start_mark.line + 1;
    b->tag_pos[2 * b->n_tags + 1] = (int)item->start_mark.column + 1;
    b->n_tags++;
}

static void schematic_parse(cfg_src *s, const yaml_node_t *n, map_station *st)
{
    char got[64];
    if (n->type != YAML_MAPPING_NODE) {
        cfg_err_at(s, n, "'schematic' must be a mapping of roles to tag ids "
                   "such as {chamber_level: levels.chamber_level}, got %s",
                   CFG_GOT(n));
        return;
    }
    size_t cnt = cfg_map_len(n);
    st->schematic = cfg_calloc(cnt, sizeof *st->schematic);
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
         p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = cfg_node(s, p->key), *v = cfg_node(s, p->value);
        if (!cfg_visit(s, k))
            return;
        const char *name = cfg_scalar(k);
        const char *role = name ? schematic_role(name) : NULL;
        if (!role) {
            char known[1024] = "";
            for (const char *const *r = map_schematic_roles; *r; r++) {
                strncat(known, known[0] ? ", " : "",
                        sizeof known - strlen(known) - 1);
                strncat(known, *r, sizeof known - strlen(known) - 1);
            }
            cfg_err_at(s, k, "unknown schematic role %s (expected one of: "
                       "%s)", CFG_GOT(k), known);
            continue;
        }
        bool dup = false;
        for (size_t i = 0; i < st->n_schematic; i++)
            if (st->schematic[i].role == role) {
                /* The wording of every other duplicate key. */
                cfg_err_at(s, k, "duplicate key '%s' in schematic (first at "
                           "%s:%d:%d)", role, s->file, st->schematic[i].line,
                           st->schematic[i].col);
                dup = true;
            }
        if (dup)
            continue;
        map_binding *b = &st->schematic[st->n_schematic];
        b->role = role;
        b->line = (int)k->start_mark.line + 1;
        b->col = (int)k->start_mark.column + 1;
        bool list = map_schematic_role_is_list(role);
        if (list) {
            if (v->type != YAML_SEQUENCE_NODE || cfg_seq_len(v) == 0) {
                cfg_err_at(s, v, "schematic '%s' must be a list of tag ids "
                           "such as [valves.upper_left_position], got %s",
                           role, CFG_GOT(v));
                continue;
            }
            size_t m = cfg_seq_len(v);
            b->tags = cfg_calloc(m, sizeof *b->tags);
            b->tag_pos = cfg_calloc(2 * m, sizeof *b->tag_pos);
            for (size_t i = 0; i < m; i++) {
                yaml_node_t *item = cfg_node(s, v->data.sequence.items.start[i]);
                if (!cfg_visit(s, item))
                    return;
                const char *id = cfg_scalar(item);
                if (!id || !*id) {
                    cfg_err_at(s, item, "each of schematic '%s' must be a tag "
                               "id (plc.tag), got %s", role, CFG_GOT(item));
                    continue;
                }
                schematic_add_tag(b, item, id);
            }
        } else {
            const char *id = cfg_scalar(v);
            if (!id || !*id) {
                cfg_err_at(s, v, "schematic '%s' must be one tag id such as "
                           "levels.chamber_level, got %s", role, CFG_GOT(v));
                continue;
            }
            b->tags = cfg_calloc(1, sizeof *b->tags);
            b->tag_pos = cfg_calloc(2, sizeof *b->tag_pos);
            schematic_add_tag(b, v, id);
        }
        st->n_schematic++;
    }
}

/* After the PLCs: every bound tag must exist. */
static void schematic_finish(cfg_src *s, map_station *st)
{
    for (size_t i = 0; i < st->n_schematic; i++) {
        const map_binding *b = &st->schematic[i];
        for (size_t k = 0; k < b->n_tags; k++)
            if (!map_find_tag(st, b->tags[k]))
                cfg_err_pos(s, b->tag_pos[2 * k], b->tag_pos[2 * k + 1],
                            "schematic '%s': no tag '%s' in the station "
                            "(full ids are plc.tag)", b->role, b->tags[k]);
    }
}

const cfg_section cfg_schematic_section = {
    .key = "schematic",
    .parse = schematic_parse,
    .finish = schematic_finish,
};
