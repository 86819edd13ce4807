/*
 * model.c - the finished station model: names of enum values, freeing, and
 * lookups (plcmap.h).
 *
 * Nothing here parses.  The model is immutable once map_load has returned
 * it (the lookup index included, built before map_load returns), so every
 * function here may be called from any thread without locking.
 */
#include "config/parse.h"

#include <stdio.h>
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

/* ---- the tag index ------------------------------------------------------ */

/* Every tag of the station sorted by full id, with its position in the
 * station (PLCs in map order, their tags in map order), which is what a
 * selection de-duplicates by. */
typedef struct {
    const map_tag *tag;
    size_t pos;
} index_entry;

struct map_tag_index {
    index_entry *by_id;
    size_t n;
};

static int cmp_entry(const void *a, const void *b)
{
    const index_entry *x = a, *y = b;
    return strcmp(x->tag->full_id, y->tag->full_id);
}

void cfg_index_build(map_station *st)
{
    struct map_tag_index *ix = cfg_calloc(1, sizeof *ix);
    size_t total = 0;
    for (size_t p = 0; p < st->n_plcs; p++)
        total += st->plcs[p].n_tags;
    ix->by_id = cfg_calloc(total, sizeof *ix->by_id);
    size_t pos = 0;
    for (size_t p = 0; p < st->n_plcs; p++)
        for (size_t t = 0; t < st->plcs[p].n_tags; t++, pos++)
            if (st->plcs[p].tags[t].full_id)
                ix->by_id[ix->n++] = (index_entry){&st->plcs[p].tags[t], pos};
    qsort(ix->by_id, ix->n, sizeof *ix->by_id, cmp_entry);
    st->index = ix;
}

static void index_free(struct map_tag_index *ix)
{
    if (ix)
        free(ix->by_id);
    free(ix);
}

/* ---- freeing ------------------------------------------------------------ */

void cfg_text_free(map_text *t)
{
    free(t->en);
    free(t->zh);
}

static void tag_free(map_tag *t)
{
    for (size_t i = 0; i < t->n_alarms; i++)
        cfg_alarm_free(&t->alarms[i]);
    free(t->alarms);
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
    cfg_alarm_free(&p->comm_alarm);
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
    free(st->alarm_journal.path);
    cfg_notify_free(&st->notify);
    map_errors_free(&st->warnings);
    map_influx *f = &st->influx;
    char *strs[] = {f->url, f->database, f->rp, f->username, f->password_env,
                    f->password_file, f->org, f->bucket, f->token_env,
                    f->token_file, f->precision, f->spool_dir, f->tenant,
                    f->consistency};
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
        free(strs[i]);
    free(st->web.listen);
    free(st->web.root);
    free(st->web.tls_cert);
    free(st->web.tls_key);
    free(st->web.metrics.token_env);
    free(st->web.metrics.token_file);
    for (size_t i = 0; i < st->web.n_origins; i++)
        free(st->web.origins[i]);
    free(st->web.origins);
    free(st->auth.users);
    for (size_t i = 0; i < st->n_schematic; i++) {
        for (size_t k = 0; k < st->schematic[i].n_tags; k++)
            free(st->schematic[i].tags[k]);
        free(st->schematic[i].tags);
        free(st->schematic[i].tag_pos);
    }
    free(st->schematic);
    for (size_t i = 0; i < st->n_alarms; i++)
        cfg_alarm_free(&st->alarms[i]);
    free(st->alarms);
    free(st->modes.tag);
    for (size_t i = 0; i < st->modes.n_modes; i++) {
        free(st->modes.modes[i].name);
        free(st->modes.modes[i].codes);
    }
    free(st->modes.modes);
    for (size_t i = 0; i < st->n_plcs; i++)
        plc_free(&st->plcs[i]);
    free(st->plcs);
    free(st->file);
    index_free(st->index);
    free(st);
}

/* ---- lookups ------------------------------------------------------------ */

const map_plc *map_find_plc(const map_station *st, const char *id)
{
    if (!st || !id)
        return NULL;
    /* While a map with mistakes is loading (the schematic's check runs
     * then), a PLC or tag may have no id. */
    for (size_t i = 0; i < st->n_plcs; i++)
        if (st->plcs[i].id && strcmp(st->plcs[i].id, id) == 0)
            return &st->plcs[i];
    return NULL;
}

static int cmp_key(const void *key, const void *e)
{
    return strcmp(key, ((const index_entry *)e)->tag->full_id);
}

/* The tag with this full id and its position in the station (*pos, when
 * pos is not NULL); NULL when there is none. */
static const map_tag *find_tag(const map_station *st, const char *full_id,
                               size_t *pos)
{
    if (st->index) {
        const index_entry *e = bsearch(full_id, st->index->by_id,
                                       st->index->n, sizeof *e, cmp_key);
        if (e && pos)
            *pos = e->pos;
        return e ? e->tag : NULL;
    }
    /* A station put together by hand (tests), or one still loading (the
     * schematic's check): scan. */
    const char *dot = strchr(full_id, '.');
    if (!dot)
        return NULL;
    size_t plen = (size_t)(dot - full_id), base = 0;
    for (size_t i = 0; i < st->n_plcs; i++) {
        const map_plc *p = &st->plcs[i];
        if (!p->id || strlen(p->id) != plen ||
            memcmp(p->id, full_id, plen) != 0) {
            base += p->n_tags;
            continue;
        }
        for (size_t j = 0; j < p->n_tags; j++)
            if (p->tags[j].id && strcmp(p->tags[j].id, dot + 1) == 0) {
                if (pos)
                    *pos = base + j;
                return &p->tags[j];
            }
        return NULL;
    }
    return NULL;
}

const map_tag *map_find_tag(const map_station *st, const char *full_id)
{
    if (!st || !full_id)
        return NULL;
    return find_tag(st, full_id, NULL);
}

const map_tag *cfg_find_tag_pos(const map_station *st, const char *full_id,
                                size_t *pos)
{
    return find_tag(st, full_id, pos);
}

size_t map_alarm_count(const map_station *st)
{
    size_t n = 0;
    for (size_t p = 0; p < st->n_plcs; p++) {
        const map_plc *plc = &st->plcs[p];
        if (!plc->enabled)
            continue;
        n += plc->comm_alarm.enabled;
        for (size_t t = 0; t < plc->n_tags; t++)
            for (size_t a = 0; a < plc->tags[t].n_alarms; a++)
                n += plc->tags[t].alarms[a].enabled;
    }
    for (size_t a = 0; a < st->n_alarms; a++)
        n += st->alarms[a].enabled;
    for (size_t c = 0; c < st->notify.n_channels; c++)
        n += st->notify.channels[c].fail_alarm.enabled;
    return n;
}

int map_select_tags(const map_station *st, const char *spec,
                    const map_tag ***out, size_t *n, char *err,
                    size_t errlen)
{
    *out = NULL;
    *n = 0;
    if (!st) {
        snprintf(err, errlen, "no station");
        return -1;
    }
    size_t total = 0;
    for (size_t p = 0; p < st->n_plcs; p++)
        total += st->plcs[p].n_tags;
    /* Each tag can be selected once, so total bounds the result; taken[]
     * (by position in the station) keeps the first mention. */
    const map_tag **sel = malloc((total ? total : 1) * sizeof *sel);
    bool *taken = calloc(total ? total : 1, sizeof *taken);
    char *list = spec ? strdup(spec) : NULL;
    size_t m = 0;
    int rc = -1;
    if (!sel || !taken || (spec && !list)) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    if (!spec) {
        for (size_t p = 0; p < st->n_plcs; p++)
            for (size_t t = 0; t < st->plcs[p].n_tags; t++)
                sel[m++] = &st->plcs[p].tags[t];
        rc = 0;
        goto out;
    }
    char *save = NULL;
    for (char *tok = strtok_r(list, ", ", &save); tok;
         tok = strtok_r(NULL, ", ", &save)) {
        size_t len = strlen(tok);
        if (len > 2 && strcmp(tok + len - 2, ".*") == 0) {
            tok[len - 2] = '\0';
            size_t base = 0, p = 0;
            while (p < st->n_plcs && strcmp(st->plcs[p].id, tok) != 0)
                base += st->plcs[p++].n_tags;
            if (p == st->n_plcs) {
                snprintf(err, errlen, "no PLC '%s' in %s", tok, st->file);
                goto out;
            }
            for (size_t t = 0; t < st->plcs[p].n_tags; t++)
                if (!taken[base + t]) {
                    taken[base + t] = true;
                    sel[m++] = &st->plcs[p].tags[t];
                }
            continue;
        }
        size_t pos;
        const map_tag *t = find_tag(st, tok, &pos);
        if (!t) {
            snprintf(err, errlen, "no tag '%s' in %s (use plc.tag or plc.*)",
                     tok, st->file);
            goto out;
        }
        if (!taken[pos]) {
            taken[pos] = true;
            sel[m++] = t;
        }
    }
    rc = 0;
out:
    free(list);
    free(taken);
    if (rc == 0) {
        *out = sel;
        *n = m;
    } else {
        free(sel);
    }
    return rc;
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

static bool same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

bool map_plc_same_polling(const map_plc *a, const map_plc *b)
{
    if (!same_str(a->id, b->id) || a->enabled != b->enabled ||
        !same_str(a->host, b->host) || a->port != b->port ||
        a->unit != b->unit || a->timeout_ns != b->timeout_ns ||
        a->word_order != b->word_order || a->max_gap != b->max_gap ||
        a->n_groups != b->n_groups || a->n_tags != b->n_tags)
        return false;
    for (size_t g = 0; g < a->n_groups; g++) {
        const map_group *x = &a->groups[g], *y = &b->groups[g];
        if (!same_str(x->name, y->name) || x->period_ns != y->period_ns ||
            x->sample != y->sample)
            return false;
    }
    for (size_t t = 0; t < a->n_tags; t++) {
        const map_tag *x = &a->tags[t], *y = &b->tags[t];
        /* scale and offset compared as written: bit for bit */
        if (!same_str(x->id, y->id) || x->table != y->table ||
            x->address != y->address || x->type != y->type ||
            x->bit != y->bit || x->order != y->order ||
            x->length != y->length || x->nregs != y->nregs ||
            memcmp(&x->scale, &y->scale, sizeof x->scale) ||
            memcmp(&x->offset, &y->offset, sizeof x->offset) ||
            x->scaled != y->scaled || x->group != y->group)
            return false;
    }
    return true;
}
