/*
 * model.c - the finished station model: names of enum values, freeing, and
 * lookups (plcmap.h).
 *
 * Nothing here parses.  The model is immutable once map_load has returned
 * it, so every function here may be called from any thread.
 */
#include "config/parse.h"

#include <stdlib.h>
#include <string.h>

/* ---- names -------------------------------------------------------------- */

/* As written in map files, in enum order; the parsers match against these. */
const char *const cfg_table_names[4] = {"coil", "discrete", "input",
                                        "holding"};
const char *const cfg_type_names[10] = {"bool", "u16", "i16", "u32", "i32",
                                        "u64", "i64", "f32", "f64",
                                        "string"};
const char *const cfg_order_names[4] = {"ABCD", "CDAB", "BADC", "DCBA"};

const char *map_table_name(map_table t)
{
    return (unsigned)t < CFG_COUNT(cfg_table_names) ? cfg_table_names[t]
                                                    : "?";
}

const char *map_type_name(map_type t)
{
    return (unsigned)t < CFG_COUNT(cfg_type_names) ? cfg_type_names[t] : "?";
}

const char *map_order_name(map_order o)
{
    return (unsigned)o < CFG_COUNT(cfg_order_names) ? cfg_order_names[o]
                                                    : "?";
}

bool map_table_is_bits(map_table t)
{
    return t == MAP_COIL || t == MAP_DISCRETE;
}

uint16_t map_type_regs(map_type t, uint16_t length)
{
    switch (t) {
    case MAP_BOOL: case MAP_U16: case MAP_I16: return 1;
    case MAP_U32: case MAP_I32: case MAP_F32: return 2;
    case MAP_U64: case MAP_I64: case MAP_F64: return 4;
    case MAP_STRING: return length;
    }
    return 0;
}

/* ---- freeing ------------------------------------------------------------ */

void cfg_text_free(map_text *t)
{
    free(t->en);
    free(t->zh);
}

static void tag_free(map_tag *t)
{
    free(t->id);
    free(t->full_id);
    cfg_text_free(&t->name);
    free(t->description);
    free(t->unit);
    for (size_t i = 0; i < t->n_states; i++)
        cfg_text_free(&t->states[i].label);
    free(t->states);
}

static void plc_free(map_plc *p)
{
    free(p->id);
    cfg_text_free(&p->name);
    free(p->description);
    free(p->host);
    for (size_t i = 0; i < p->n_groups; i++)
        free(p->groups[i].name);
    free(p->groups);
    for (size_t i = 0; i < p->n_tags; i++)
        tag_free(&p->tags[i]);
    free(p->tags);
    free(p->file);
}

void map_free(map_station *st)
{
    if (!st)
        return;
    free(st->id);
    cfg_text_free(&st->name);
    free(st->timezone);
    free(st->data_dir);
    free(st->history.path);
    map_influx *f = &st->influx;
    char *strs[] = {f->url, f->database, f->rp, f->username, f->password_env,
                    f->password_file, f->org, f->bucket, f->token_env,
                    f->token_file, f->precision, f->spool_dir};
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
        free(strs[i]);
    for (size_t i = 0; i < st->n_plcs; i++)
        plc_free(&st->plcs[i]);
    free(st->plcs);
    free(st->file);
    free(st);
}

/* ---- lookups ------------------------------------------------------------ */

const map_plc *map_find_plc(const map_station *st, const char *id)
{
    if (!st || !id)
        return NULL;
    for (size_t i = 0; i < st->n_plcs; i++)
        if (strcmp(st->plcs[i].id, id) == 0)
            return &st->plcs[i];
    return NULL;
}

const map_tag *map_find_tag(const map_station *st, const char *full_id)
{
    if (!st || !full_id)
        return NULL;
    const char *dot = strchr(full_id, '.');
    if (!dot)
        return NULL;
    size_t plen = (size_t)(dot - full_id);
    for (size_t i = 0; i < st->n_plcs; i++) {
        const map_plc *p = &st->plcs[i];
        if (strlen(p->id) != plen || memcmp(p->id, full_id, plen) != 0)
            continue;
        for (size_t j = 0; j < p->n_tags; j++)
            if (strcmp(p->tags[j].id, dot + 1) == 0)
                return &p->tags[j];
        return NULL;
    }
    return NULL;
}

static int cmp_state(const void *a, const void *b)
{
    const map_state *x = a, *y = b;
    return (x->value > y->value) - (x->value < y->value);
}

/* The loader leaves states sorted by value (plc.c), hence bsearch. */
const map_text *map_state_label(const map_tag *t, int64_t value)
{
    if (!t || t->n_states == 0)
        return NULL;
    map_state key = {.value = value};
    const map_state *s = bsearch(&key, t->states, t->n_states,
                                 sizeof *t->states, cmp_state);
    return s ? &s->label : NULL;
}
