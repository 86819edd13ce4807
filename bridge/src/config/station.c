/*
 * station.c - the top of a map: a station file (`station:`, `plcs:` and the
 * sections listed in `sections` below) or a single PLC file, the
 * station-wide check pass, and map_load itself.
 *
 * map_load reads the file (map_load_buffer takes it from memory), fills
 * every section's defaults, parses what is there, loads each PLC (inline
 * or from its own file, relative to the station file; from memory, inline
 * only), checks the station as a whole (duplicate PLC ids, two PLCs on one
 * endpoint), indexes the tags, checks the alarms that refer to other tags,
 * lets each section finish (sections that name tags read their value
 * then), and only then hands the messages over, sorted into reading order.
 */
#include "config/parse.h"
#include "core/fsutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define ZONEINFO "/usr/share/zoneinfo/"

/* ---- station: ----------------------------------------------------------- */

bool cfg_timezone_exists(const char *tz)
{
    if (strcmp(tz, "UTC") == 0)
        return true;
    if (tz[0] == '/' || strstr(tz, ".."))
        return false;
    char path[512];
    if ((size_t)snprintf(path, sizeof path, ZONEINFO "%s", tz) >=
        sizeof path)
        return false;
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

enum { SI_ID, SI_NAME, SI_TZ, SI_N };
static const char *const station_info_keys[SI_N] = {"id", "name", "timezone"};

static void parse_station_info(cfg_src *s, const yaml_node_t *n,
                               map_station *st)
{
    char got[64];
    if (n->type != YAML_MAPPING_NODE) {
        cfg_err_at(s, n, "'station' must be a mapping with 'id', 'name' and "
                   "'timezone', got %s", CFG_GOT(n));
        return;
    }
    yaml_node_t *v[SI_N], *k[SI_N];
    cfg_get_keys(s, n, "station", station_info_keys, SI_N, v, k);
    if (cfg_require(s, n, "station", "id", v[SI_ID]))
        cfg_get_id(s, "'id'", v[SI_ID], &st->id);
    if (v[SI_NAME])
        cfg_get_text(s, "'name'", v[SI_NAME], &st->name);
    if (v[SI_TZ] &&
        cfg_get_str(s, "'timezone'", v[SI_TZ], &st->timezone) == 0 &&
        !cfg_timezone_exists(st->timezone))
        cfg_err_at(s, v[SI_TZ], "unknown timezone '%s' (no such file in "
                   ZONEINFO ")", st->timezone);
}

/* ---- heartbeat: ------------------------------------------------------- */

static void heartbeat_defaults(map_station *st)
{
    st->heartbeat_ns = 60000000000ull;
}

static void heartbeat_parse(cfg_src *s, const yaml_node_t *n, map_station *st)
{
    const char *hb = cfg_scalar(n);
    if (hb && (strcmp(hb, "off") == 0 || strcmp(hb, "0") == 0))
        st->heartbeat_ns = 0;
    else
        cfg_get_duration(s, "'heartbeat'", n, &st->heartbeat_ns);
}

static const cfg_section heartbeat_section = {
    .key = "heartbeat",
    .defaults = heartbeat_defaults,
    .parse = heartbeat_parse,
};

/* ---- data_dir: --------------------------------------------------------- */

/* One directory for everything the bridge writes, so that moving the state
 * (or running two stations side by side) is one key, not one per
 * destination.  Relative to the working directory, like any other path
 * in a map, so the demo's default stays "data". */
static void data_dir_defaults(map_station *st)
{
    st->data_dir = cfg_strdup("data");
}

static void data_dir_parse(cfg_src *s, const yaml_node_t *n, map_station *st)
{
    cfg_get_str(s, "'data_dir'", n, &st->data_dir);
}

static const cfg_section data_dir_section = {
    .key = "data_dir",
    .defaults = data_dir_defaults,
    .parse = data_dir_parse,
};

char *cfg_data_path(const map_station *st, const char *name)
{
    char *p = fs_join(st->data_dir, name);
    if (!p)
        abort();
    return p;
}

/* The top-level keys of a station file after `station` and `plcs`, in the
 * order "expected one of" lists them, which is also the order in which
 * they are parsed (all before the PLCs).  A new section is one conf_*.c
 * file and one line here. */
static const cfg_section *const sections[] = {
    &data_dir_section,
    &heartbeat_section,
    &cfg_history_section,
    &cfg_influx_section,
    &cfg_web_section,
    &cfg_auth_section,
    &cfg_schematic_section,
    &cfg_alarms_section,
    &cfg_modes_section,
    &cfg_chatter_section,
    &cfg_journal_section,
    &cfg_notify_section,
};
enum {
    S_STATION, S_PLCS, S_SECTIONS,
    S_N = S_SECTIONS + CFG_COUNT(sections)
};

/* ---- what a reload may not change --------------------------------------- */

/* map_fixed_changed's keys, in the order of map_station.fixed_sig. */
static const char *const fixed_keys[MAP_FIXED_N] = {
    "station", "data_dir", "heartbeat", "history", "influx", "web", "auth",
    "alarm_journal", "notify",
};

/* FNV-1a over a node's tree: kind, scalar text, keys and values in
 * order.  Positions and comments are not part of it, so only a change
 * of what is written changes it.  Depth is bounded by the loader's
 * flow-depth check and the YAML parser's own limit on nesting. */
static uint64_t fixed_hash(cfg_src *s, const yaml_node_t *n, uint64_t h)
{
    const uint64_t prime = 1099511628211ull;
    h = (h ^ (uint64_t)(n ? n->type + 1 : 0)) * prime;
    if (!n)
        return h;
    switch (n->type) {
    case YAML_SCALAR_NODE:
        for (size_t i = 0; i < n->data.scalar.length; i++)
            h = (h ^ n->data.scalar.value[i]) * prime;
        h = (h ^ (uint64_t)n->data.scalar.style) * prime;
        break;
    case YAML_SEQUENCE_NODE:
        for (yaml_node_item_t *it = n->data.sequence.items.start;
             it < n->data.sequence.items.top; it++)
            h = fixed_hash(s, cfg_node(s, *it), h);
        break;
    case YAML_MAPPING_NODE:
        for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
             p < n->data.mapping.pairs.top; p++) {
            h = fixed_hash(s, cfg_node(s, p->key), h);
            h = fixed_hash(s, cfg_node(s, p->value), h);
        }
        break;
    default:
        break;
    }
    return h;
}

static void fixed_sign(cfg_src *s, const char *const *names,
                       yaml_node_t *const *v, size_t n, map_station *st)
{
    for (size_t f = 0; f < MAP_FIXED_N; f++)
        for (size_t i = 0; i < n; i++)
            if (v[i] && strcmp(names[i], fixed_keys[f]) == 0)
                st->fixed_sig[f] = fixed_hash(s, v[i], 14695981039346656037ull);
}

const char *map_fixed_changed(const map_station *a, const map_station *b)
{
    for (size_t f = 0; f < MAP_FIXED_N; f++)
        if (a->fixed_sig[f] != b->fixed_sig[f])
            return fixed_keys[f];
    /* --data-dir replaces the file's data_dir alike for both */
    if (strcmp(a->data_dir ? a->data_dir : "", b->data_dir ? b->data_dir : ""))
        return "data_dir";
    return NULL;
}

/* ---- check pass --------------------------------------------------------- */

typedef struct {
    const map_plc *p;
    size_t idx;
} endpoint_ref;

static int cmp_endpoint(const void *a, const void *b)
{
    const endpoint_ref *x = a, *y = b;
    int c = strcmp(x->p->host, y->p->host);
    if (c)
        return c;
    if (x->p->port != y->p->port)
        return x->p->port - y->p->port;
    if (x->p->unit != y->p->unit)
        return x->p->unit - y->p->unit;
    return (x->idx > y->idx) - (x->idx < y->idx);
}

/* Station-wide checks: duplicate PLC ids, two enabled PLCs on one
 * endpoint. */
static void check_station(cfg_loader *ld, map_station *st,
                          const cfg_plc_aux *pa)
{
    size_t n = st->n_plcs;
    if (n == 0 || ld->stop)
        return;
    const char **ids = cfg_calloc(n, sizeof *ids);
    size_t *first = cfg_calloc(n, sizeof *first);
    for (size_t i = 0; i < n; i++)
        ids[i] = st->plcs[i].id;
    cfg_find_dups(ids, n, first);
    for (size_t i = 0; i < n; i++) {
        if (first[i] == i)
            continue;
        cfg_src s = {.ld = ld, .file = st->plcs[i].file, .rank = pa[i].rank};
        const map_plc *f = &st->plcs[first[i]];
        cfg_err_pos(&s, pa[i].id_line, pa[i].id_col, "duplicate PLC id '%s' "
                    "(first defined at %s:%d:%d)", ids[i], f->file,
                    pa[first[i]].id_line, pa[first[i]].id_col);
    }
    free(ids);
    free(first);
    /* Sorted by endpoint, PLCs sharing one are neighbours; each is
     * reported against the first in the file. */
    endpoint_ref *e = cfg_calloc(n, sizeof *e);
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (st->plcs[i].enabled && pa[i].endpoint_ok)
            e[m++] = (endpoint_ref){&st->plcs[i], i};
    qsort(e, m, sizeof *e, cmp_endpoint);
    for (size_t i = 1, first = 0; i < m && !ld->stop; i++) {
        const map_plc *a = e[first].p, *b = e[i].p;
        if (a->port != b->port || a->unit != b->unit ||
            strcmp(a->host, b->host) != 0) {
            first = i;
            continue;
        }
        cfg_src s = {.ld = ld, .file = b->file, .rank = pa[e[i].idx].rank};
        cfg_err_pos(&s, b->line, b->col, "PLC '%s' has the same host, port "
                    "and unit as PLC '%s' (%s:%d, unit %d)",
                    b->id ? b->id : "?", a->id ? a->id : "?", b->host, b->port,
                    b->unit);
    }
    free(e);
}

/* ---- plcs: ------------------------------------------------------------- */

/* "dir/of/station.yaml" + "gate.yaml" -> "dir/of/gate.yaml" (malloc'd). */
static char *join_path(const char *station, const char *rel)
{
    const char *slash = strrchr(station, '/');
    char *out;
    if (rel[0] == '/' || !slash)
        out = cfg_strdup(rel);
    else if (asprintf(&out, "%.*s/%s", (int)(slash - station), station,
                      rel) < 0)
        abort();
    return out;
}

/* Loads the PLCs of a station file's `plcs` sequence. */
static void parse_plcs(cfg_src *s, const yaml_node_t *n, map_station *st,
                       cfg_plc_aux *pa)
{
    char got[64];
    for (size_t i = 0; i < cfg_seq_len(n); i++) {
        yaml_node_t *item = cfg_node(s, n->data.sequence.items.start[i]);
        if (!cfg_visit(s, item))
            return;
        map_plc *p = &st->plcs[st->n_plcs];
        cfg_plc_aux *a = &pa[st->n_plcs];
        if (item->type == YAML_MAPPING_NODE) {
            st->n_plcs++;
            cfg_parse_plc(s, item, p, a);
            continue;
        }
        const char *rel = cfg_scalar(item);
        if (!rel || cfg_is_null(item) || rel[0] == '\0') {
            cfg_err_at(s, item, "each entry of 'plcs' must be a file name or "
                       "a PLC mapping, got %s", CFG_GOT(item));
            continue;
        }
        if (s->ld->in_memory) {
            /* A map handed over in memory is the whole map: reading files
             * it names would make the result depend on the disk of
             * whoever loads it. */
            cfg_err_at(s, item, "'%s' cannot be included: this map was not "
                       "read from a file (write the PLC map inline)", rel);
            continue;
        }
        char *path = join_path(s->file, rel);
        cfg_src sub;
        if (cfg_file_load(s->ld, &sub, path) == 0) {
            yaml_node_t *r = yaml_document_get_root_node(&sub.doc);
            if (r->type == YAML_MAPPING_NODE &&
                (cfg_has_key(&sub, r, "station") ||
                 cfg_has_key(&sub, r, "plcs"))) {
                cfg_err_at(s, item, "'%s' is a station file; 'plcs' may only "
                           "list PLC files", rel);
            } else {
                st->n_plcs++;
                cfg_parse_plc(&sub, r, p, a);
            }
            cfg_file_unload(&sub);
        }
        free(path);
    }
}

static int cmp_err_pos(const void *a, const void *b)
{
    const cfg_msg_pos *x = a, *y = b;
    if (x->rank != y->rank)
        return x->rank < y->rank ? -1 : 1;
    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    if (x->col != y->col)
        return x->col < y->col ? -1 : 1;
    return (x->seq > y->seq) - (x->seq < y->seq);
}

/* map_load and map_load_buffer: the file at path, or (data != NULL) the
 * len bytes at data standing for it. */
static map_station *load(const char *path, const char *data, size_t len,
                         const char *data_dir, map_errors *errs)
{
    cfg_loader ld = {0};
    ld.errs = &ld.own;
    ld.in_memory = data != NULL;
    map_station *st = cfg_calloc(1, sizeof *st);
    st->file = cfg_strdup(path);
    for (size_t i = 0; i < CFG_COUNT(sections); i++)
        if (sections[i]->defaults)
            sections[i]->defaults(st);
    cfg_plc_aux *pa = NULL;
    cfg_src s;
    if ((data ? cfg_buffer_load(&ld, &s, path, data, len)
              : cfg_file_load(&ld, &s, path)) < 0)
        goto done;
    yaml_node_t *root = yaml_document_get_root_node(&s.doc);
    char got[64];
    if (root->type != YAML_MAPPING_NODE) {
        cfg_err_at(&s, root, "a map file must be a mapping: a station "
                   "('station', 'plcs') or a PLC ('id', 'host', 'tags'), "
                   "got %s", CFG_GOT(root));
    } else if (cfg_has_key(&s, root, "station") ||
               cfg_has_key(&s, root, "plcs")) {
        const char *names[S_N] = {"station", "plcs"};
        for (size_t i = 0; i < CFG_COUNT(sections); i++)
            names[S_SECTIONS + i] = sections[i]->key;
        yaml_node_t *v[S_N], *k[S_N];
        cfg_get_keys(&s, root, "station file", names, S_N, v, k);
        fixed_sign(&s, names, v, S_N, st);
        if (cfg_require(&s, root, "station file", "station", v[S_STATION]))
            parse_station_info(&s, v[S_STATION], st);
        for (size_t i = 0; i < CFG_COUNT(sections); i++)
            if (v[S_SECTIONS + i])
                sections[i]->parse(&s, v[S_SECTIONS + i], st);
        if (cfg_require(&s, root, "station file", "plcs", v[S_PLCS])) {
            yaml_node_t *pl = v[S_PLCS];
            if (pl->type != YAML_SEQUENCE_NODE || cfg_seq_len(pl) == 0) {
                cfg_err_at(&s, pl, "'plcs' must be a non-empty sequence of "
                           "PLC files or PLC maps, got %s", CFG_GOT(pl));
            } else {
                st->plcs = cfg_calloc(cfg_seq_len(pl), sizeof *st->plcs);
                pa = cfg_calloc(cfg_seq_len(pl), sizeof *pa);
                parse_plcs(&s, pl, st, pa);
            }
        }
    } else {
        st->plcs = cfg_calloc(1, sizeof *st->plcs);
        pa = cfg_calloc(1, sizeof *pa);
        st->n_plcs = 1;
        cfg_parse_plc(&s, root, &st->plcs[0], pa);
        st->id = cfg_strdup(st->plcs[0].id);
        if (st->plcs[0].name.en) {
            st->name.en = cfg_strdup(st->plcs[0].name.en);
            st->name.zh = cfg_strdup(st->plcs[0].name.zh);
        }
    }
    check_station(&ld, st, pa);
    /* Sections and alarms look tags up by full id from here on. */
    cfg_index_build(st);
    if (pa)
        cfg_check_alarms(&ld, st, pa);
    /* Before the sections finish: their default paths live in it. */
    if (data_dir) {
        free(st->data_dir);
        st->data_dir = cfg_strdup(data_dir);
    }
    for (size_t i = 0; i < CFG_COUNT(sections); i++)
        if (sections[i]->finish)
            sections[i]->finish(&s, st);
    cfg_file_unload(&s);
    if (!st->name.en && st->id)
        st->name.en = cfg_strdup(st->id);
    if (!st->timezone)
        st->timezone = cfg_strdup("UTC");
done:
    free(pa);
    if (ld.own.n) {
        map_free(st);
        st = NULL;
        qsort(ld.pos, ld.own.n, sizeof *ld.pos, cmp_err_pos);
        for (size_t i = 0; i < ld.own.n; i++)
            map_errors_add(errs, "%s", ld.own.msgs[ld.pos[i].seq]);
    }
    map_errors_free(&ld.own);
    free(ld.pos);
    return st;
}

map_station *map_load(const char *path, map_errors *errs)
{
    return map_load_data_dir(path, NULL, errs);
}

map_station *map_load_data_dir(const char *path, const char *data_dir,
                               map_errors *errs)
{
    if (!path) {
        map_errors_add(errs, "(null): cannot open: no file given");
        return NULL;
    }
    return load(path, NULL, 0, data_dir, errs);
}

map_station *map_load_buffer(const char *name, const char *data, size_t len,
                             map_errors *errs)
{
    return load(name ? name : "(memory)", data ? data : "", data ? len : 0,
                NULL, errs);
}
