/*
 * plcmap.c - loads station and PLC register maps from YAML and checks them.
 *
 * The loader reads each file whole, builds a libyaml document (so every node
 * keeps its line and column), and walks it with a fixed schema: station ->
 * PLCs -> poll groups and tags -> states.  The walk never recurses on the
 * document's own shape, so anchors and aliases (even cyclic ones) cannot
 * make it loop; a budget on visited nodes stops alias bombs.
 *
 * Parsing never stops at the first problem.  Typed helpers (integer, number,
 * bool, enum, duration, text) report in one wording everywhere, then a check
 * pass per PLC (duplicate ids, overlapping tags) and per station (duplicate
 * PLC ids, two PLCs on one endpoint) catches cross-field mistakes.  Any
 * error makes map_load return NULL, with every message in the caller's list.
 */
#include "config/plcmap.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

/* Strings longer than VAL_STR_MAX (val.h: 64 bytes = 32 registers) cannot
 * be held in a value; this module does not depend on val.h, hence a copy. */
#define MAP_STR_MAX_REGS 32
#define MAP_ID_MAX 64
#define MAP_FILE_MAX ((size_t)16 << 20)
/* Beyond these the input is hostile or broken; say so and stop. */
#define MAP_ERRORS_MAX 1000
#define MAP_VISITS_MAX 4000000
#define MAP_FLOW_DEPTH_MAX 64
#define MAP_ZONEINFO "/usr/share/zoneinfo/"

/* ---- errors ------------------------------------------------------------- */

void map_errors_add(map_errors *errs, const char *fmt, ...)
{
    if (!errs)
        return;
    if (errs->n == errs->cap) {
        size_t cap = errs->cap ? errs->cap * 2 : 16;
        char **m = realloc(errs->msgs, cap * sizeof *m);
        if (!m)
            return;
        errs->msgs = m;
        errs->cap = cap;
    }
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    int r = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (r < 0)
        return;
    errs->msgs[errs->n++] = s;
}

void map_errors_free(map_errors *errs)
{
    if (!errs)
        return;
    for (size_t i = 0; i < errs->n; i++)
        free(errs->msgs[i]);
    free(errs->msgs);
    errs->msgs = NULL;
    errs->n = errs->cap = 0;
}

/* ---- names -------------------------------------------------------------- */

static const char *const table_names[] = {"coil", "discrete", "input",
                                          "holding"};
static const char *const type_names[] = {"bool", "u16", "i16", "u32", "i32",
                                         "u64", "i64", "f32", "f64",
                                         "string"};
static const char *const order_names[] = {"ABCD", "CDAB", "BADC", "DCBA"};
static const char *const mode_names[] = {"change", "sample"};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

const char *map_table_name(map_table t)
{
    return (unsigned)t < COUNT(table_names) ? table_names[t] : "?";
}

const char *map_type_name(map_type t)
{
    return (unsigned)t < COUNT(type_names) ? type_names[t] : "?";
}

const char *map_order_name(map_order o)
{
    return (unsigned)o < COUNT(order_names) ? order_names[o] : "?";
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

static bool type_is_integer(map_type t)
{
    return t != MAP_F32 && t != MAP_F64 && t != MAP_STRING;
}

/* ---- durations ---------------------------------------------------------- */

int map_parse_duration(const char *s, uint64_t *ns)
{
    if (!s || !ns)
        return -1;
    const char *p = s;
    uint64_t whole = 0;
    int nd = 0;
    for (; isdigit((unsigned char)*p); p++, nd++) {
        if (whole > (UINT64_MAX - 9) / 10)
            return -1;
        whole = whole * 10 + (uint64_t)(*p - '0');
    }
    /* Fraction digits beyond 18 are below a nanosecond for every unit. */
    uint64_t frac = 0, fscale = 1;
    int nf = 0;
    if (*p == '.') {
        for (p++; isdigit((unsigned char)*p); p++, nf++) {
            if (nf < 18) {
                frac = frac * 10 + (uint64_t)(*p - '0');
                fscale *= 10;
            }
        }
        if (nf == 0)
            return -1;
    }
    if (nd == 0)
        return -1;
    uint64_t mult;
    if (strcmp(p, "us") == 0)
        mult = 1000ull;
    else if (strcmp(p, "ms") == 0)
        mult = 1000000ull;
    else if (strcmp(p, "s") == 0)
        mult = 1000000000ull;
    else if (strcmp(p, "m") == 0)
        mult = 60ull * 1000000000ull;
    else if (strcmp(p, "h") == 0)
        mult = 3600ull * 1000000000ull;
    else
        return -1;
    if (whole > UINT64_MAX / mult)
        return -1;
    uint64_t v = whole * mult;
    /* frac / fscale < 1, so the part is < mult; 128 bits keep it exact. */
    __extension__ unsigned __int128 part =
        ((unsigned __int128)frac * mult + fscale / 2) / fscale;
    if (v > UINT64_MAX - (uint64_t)part)
        return -1;
    *ns = v + (uint64_t)part;
    return 0;
}

/* ---- loader state ------------------------------------------------------- */

/* Where an error points, so that messages come out in reading order:
 * files in the order they were opened, then line and column. */
typedef struct {
    int rank, line, col;
    size_t seq;
} err_pos_t;

typedef struct {
    map_errors own;     /* this load's messages, sorted into the caller's */
    map_errors *errs;   /* &own */
    err_pos_t *pos;     /* parallel to own.msgs */
    size_t pos_cap;
    int n_files;        /* files opened so far: the next file's rank */
    size_t visits;      /* mapping pairs and sequence items walked */
    bool stop;          /* too many errors or visits: walk no further */
} loader;

/* One parsed file. */
typedef struct {
    loader *ld;
    const char *file;   /* as opened, used in messages */
    int rank;           /* order in which the file was opened */
    yaml_document_t doc;
} src;

/* Positions and validity the check pass needs but the model has no room
 * for; lives only while loading. */
typedef struct {
    int id_line, id_col;   /* the id value, 0 when absent */
    bool ok;               /* table, address, type, length all valid */
} tag_aux;

typedef struct {
    int id_line, id_col;
    int rank;              /* of the file the PLC is defined in */
    bool endpoint_ok;      /* host, port and unit valid */
} plc_aux;

__attribute__((format(printf, 5, 6)))
static void ld_add(loader *ld, int rank, int line, int col, const char *fmt,
                   ...)
{
    size_t n = ld->own.n;
    va_list ap;
    va_start(ap, fmt);
    char *msg = NULL;
    int r = vasprintf(&msg, fmt, ap);
    va_end(ap);
    if (r < 0)
        abort();
    map_errors_add(&ld->own, "%s", msg);
    free(msg);
    if (ld->own.n == n)
        abort();
    if (ld->pos_cap < ld->own.n) {
        ld->pos_cap = ld->own.cap;
        ld->pos = realloc(ld->pos, ld->pos_cap * sizeof *ld->pos);
        if (!ld->pos)
            abort();
    }
    ld->pos[n] = (err_pos_t){rank, line, col, n};
}

static bool too_many(loader *ld)
{
    if (ld->stop)
        return true;
    if (ld->own.n >= MAP_ERRORS_MAX) {
        ld_add(ld, INT_MAX, 0, 0, "too many errors; stopped after %d",
               MAP_ERRORS_MAX);
        ld->stop = true;
    }
    return ld->stop;
}

static void verr_at(src *s, int line, int col, const char *fmt, va_list ap)
{
    if (too_many(s->ld))
        return;
    char *msg = NULL;
    if (vasprintf(&msg, fmt, ap) < 0)
        return;
    ld_add(s->ld, s->rank, line, col, "%s:%d:%d: %s", s->file, line, col, msg);
    free(msg);
}

__attribute__((format(printf, 3, 4)))
static void err_at(src *s, const yaml_node_t *n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    verr_at(s, n ? (int)n->start_mark.line + 1 : 1,
            n ? (int)n->start_mark.column + 1 : 1, fmt, ap);
    va_end(ap);
}

__attribute__((format(printf, 4, 5)))
static void err_pos(src *s, int line, int col, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    verr_at(s, line, col, fmt, ap);
    va_end(ap);
}

/* Counts one step of the walk; false when the budget is spent. */
static bool visit(src *s, const yaml_node_t *n)
{
    if (s->ld->stop)
        return false;
    if (++s->ld->visits > MAP_VISITS_MAX) {
        err_at(s, n, "the map is too large (more than %d nodes after "
               "expanding aliases)", MAP_VISITS_MAX);
        s->ld->stop = true;
        return false;
    }
    return true;
}

static yaml_node_t *node_at(src *s, int idx)
{
    return yaml_document_get_node(&s->doc, idx);
}

/* A scalar's text; NULL for other nodes and for text with a NUL byte
 * ("\0" in a quoted scalar), which C strings would silently cut. */
static const char *scalar(const yaml_node_t *n)
{
    if (!n || n->type != YAML_SCALAR_NODE)
        return NULL;
    const char *v = (const char *)n->data.scalar.value;
    return strlen(v) == n->data.scalar.length ? v : NULL;
}

/* YAML's null: an empty plain scalar, ~ or null. */
static bool is_null(const yaml_node_t *n)
{
    if (!n || n->type != YAML_SCALAR_NODE)
        return false;
    if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    const char *v = (const char *)n->data.scalar.value;
    return v[0] == '\0' || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
           strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0;
}

/* "a mapping", "nothing", "'text'" (cut short and made printable), for the
 * ", got ..." part of a message. */
static const char *describe(const yaml_node_t *n, char *buf, size_t len)
{
    if (!n)
        return "nothing";
    if (n->type == YAML_MAPPING_NODE)
        return n->data.mapping.pairs.top == n->data.mapping.pairs.start
                   ? "an empty mapping" : "a mapping";
    if (n->type == YAML_SEQUENCE_NODE)
        return n->data.sequence.items.top == n->data.sequence.items.start
                   ? "an empty sequence" : "a sequence";
    if (is_null(n))
        return "nothing";
    const unsigned char *v = n->data.scalar.value;
    size_t vlen = n->data.scalar.length, max = 40, k = 0;
    bool cut = vlen > max;
    if (cut) {
        vlen = max - 3;
        while (vlen > 0 && (v[vlen] & 0xC0) == 0x80)  /* UTF-8 boundary */
            vlen--;
    }
    buf[k++] = '\'';
    for (size_t i = 0; i < vlen && k + 6 < len; i++)
        buf[k++] = v[i] < 0x20 || v[i] == 0x7f ? '?' : (char)v[i];
    if (cut && k + 5 < len) {
        memcpy(buf + k, "...", 3);
        k += 3;
    }
    buf[k++] = '\'';
    buf[k] = '\0';
    return buf;
}

#define GOT(n) describe((n), got, sizeof got)

/* ---- typed value helpers ------------------------------------------------ */
/* Each takes `what` (e.g. "'port'") and reports in one wording everywhere:
 * "WHAT must be DESCRIPTION, got GOT".  0 on success, -1 reported. */

static char *xstrdup(const char *s)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        abort();  /* no sensible recovery from a failed small allocation */
    return d;
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p)
        abort();
    return p;
}

static int get_str(src *s, const char *what, const yaml_node_t *n, char **out)
{
    char got[64];
    const char *v = scalar(n);
    if (!v || is_null(n) || v[0] == '\0') {
        err_at(s, n, "%s must be a non-empty string, got %s", what, GOT(n));
        return -1;
    }
    free(*out);
    *out = xstrdup(v);
    return 0;
}

static bool id_valid(const char *v)
{
    size_t len = strlen(v);
    if (len == 0 || len > MAP_ID_MAX)
        return false;
    for (const char *p = v; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '_')
            return false;
    return true;
}

static int get_id(src *s, const char *what, const yaml_node_t *n, char **out)
{
    char got[64];
    const char *v = scalar(n);
    if (!v || is_null(n) || !id_valid(v)) {
        err_at(s, n, "%s must be an id (1 to %d letters, digits or _), got %s",
               what, MAP_ID_MAX, GOT(n));
        return -1;
    }
    free(*out);
    *out = xstrdup(v);
    return 0;
}

/* Decimal, or hexadecimal with 0x; an optional sign. */
static int parse_int(const char *v, int64_t *out)
{
    const char *p = v;
    if (*p == '+' || *p == '-')
        p++;
    int base = 10;
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        base = 16;
        if (!isxdigit((unsigned char)p[2]))
            return -1;
    } else if (!isdigit((unsigned char)*p)) {
        return -1;
    }
    errno = 0;
    char *end;
    long long x = strtoll(v, &end, base);
    if (errno || *end != '\0')
        return -1;
    *out = x;
    return 0;
}

static int get_int(src *s, const char *what, const yaml_node_t *n, int64_t lo,
                   int64_t hi, const char *note, int64_t *out)
{
    char got[64];
    const char *v = scalar(n);
    int64_t x;
    if (!v || parse_int(v, &x) < 0 || x < lo || x > hi) {
        err_at(s, n, "%s must be an integer in %lld..%lld%s%s%s, got %s", what,
               (long long)lo, (long long)hi, note ? " (" : "",
               note ? note : "", note ? ")" : "", GOT(n));
        return -1;
    }
    *out = x;
    return 0;
}

static int parse_num(const char *v, double *out)
{
    const char *p = v;
    if (*p == '+' || *p == '-')
        p++;
    if (!isdigit((unsigned char)*p) && *p != '.')
        return -1;
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
        return -1;
    errno = 0;
    char *end;
    double x = strtod(v, &end);
    if (errno == ERANGE && fabs(x) > 1)
        return -1;
    if (end == v || *end != '\0' || !isfinite(x))
        return -1;
    *out = x;
    return 0;
}

static int get_num(src *s, const char *what, const char *desc,
                   const yaml_node_t *n, double *out)
{
    char got[64];
    const char *v = scalar(n);
    double x;
    if (!v || parse_num(v, &x) < 0) {
        err_at(s, n, "%s must be %s, got %s", what, desc ? desc : "a number",
               GOT(n));
        return -1;
    }
    *out = x;
    return 0;
}

static int get_bool(src *s, const char *what, const yaml_node_t *n, bool *out)
{
    char got[64];
    const char *v = scalar(n);
    if (v && (!strcmp(v, "true") || !strcmp(v, "True") || !strcmp(v, "TRUE") ||
              !strcmp(v, "yes"))) {
        *out = true;
        return 0;
    }
    if (v && (!strcmp(v, "false") || !strcmp(v, "False") ||
              !strcmp(v, "FALSE") || !strcmp(v, "no"))) {
        *out = false;
        return 0;
    }
    err_at(s, n, "%s must be true or false, got %s", what, GOT(n));
    return -1;
}

static int get_enum(src *s, const char *what, const yaml_node_t *n,
                    const char *const *names, size_t count, int *out)
{
    char got[64];
    const char *v = scalar(n);
    for (size_t i = 0; v && i < count; i++) {
        if (strcmp(v, names[i]) == 0) {
            *out = (int)i;
            return 0;
        }
    }
    char list[256] = "";
    for (size_t i = 0; i < count; i++) {
        strcat(list, names[i]);
        if (i + 1 < count)
            strcat(list, ", ");
    }
    err_at(s, n, "%s must be one of %s, got %s", what, list, GOT(n));
    return -1;
}

/* A positive duration (poll periods, timeouts). */
static int get_duration(src *s, const char *what, const yaml_node_t *n,
                        uint64_t *out)
{
    char got[64];
    const char *v = scalar(n);
    uint64_t ns;
    if (v && (v[0] == '-' || (map_parse_duration(v, &ns) == 0 && ns == 0))) {
        err_at(s, n, "%s must be a duration greater than 0, got %s", what,
               GOT(n));
        return -1;
    }
    if (!v || map_parse_duration(v, &ns) < 0) {
        err_at(s, n, "%s must be a duration such as 500ms or 2s (units us, "
               "ms, s, m, h), got %s", what, GOT(n));
        return -1;
    }
    *out = ns;
    return 0;
}

/* ---- mappings with a fixed set of keys ---------------------------------- */

/* Collects the values of a mapping's known keys into vals[] (and the key
 * nodes into keys[]), reporting unknown keys, duplicate keys and non-scalar
 * keys.  `what` names the mapping in messages ("tag", "PLC", ...). */
static void get_keys_shown(src *s, const yaml_node_t *map, const char *what,
                           const char *const *names, size_t count,
                           size_t shown, yaml_node_t **vals,
                           yaml_node_t **keys);

static void get_keys(src *s, const yaml_node_t *map, const char *what,
                     const char *const *names, size_t count,
                     yaml_node_t **vals, yaml_node_t **keys)
{
    get_keys_shown(s, map, what, names, count, count, vals, keys);
}

/* As get_keys, but only the first `shown` names are offered in the
 * "expected one of" list: the rest are known only to be refused with a
 * message of their own (secrets in map files). */
static void get_keys_shown(src *s, const yaml_node_t *map, const char *what,
                           const char *const *names, size_t count,
                           size_t shown, yaml_node_t **vals,
                           yaml_node_t **keys)
{
    char got[64];
    for (size_t i = 0; i < count; i++)
        vals[i] = keys[i] = NULL;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start;
         p < map->data.mapping.pairs.top; p++) {
        yaml_node_t *k = node_at(s, p->key), *v = node_at(s, p->value);
        if (!visit(s, k))
            return;
        const char *name = scalar(k);
        if (!name) {
            err_at(s, k, "keys in %s must be strings, got %s", what, GOT(k));
            continue;
        }
        size_t i = 0;
        while (i < count && strcmp(name, names[i]) != 0)
            i++;
        if (i == count) {
            char list[512] = "";
            for (size_t j = 0; j < shown; j++) {
                strcat(list, names[j]);
                if (j + 1 < shown)
                    strcat(list, ", ");
            }
            err_at(s, k, "unknown key %s in %s (expected one of: %s)", GOT(k),
                   what, list);
            continue;
        }
        if (keys[i]) {
            err_at(s, k, "duplicate key '%s' in %s (first at %s:%d:%d)", name,
                   what, s->file, (int)keys[i]->start_mark.line + 1,
                   (int)keys[i]->start_mark.column + 1);
            continue;
        }
        keys[i] = k;
        vals[i] = v;
    }
}

static bool require(src *s, const yaml_node_t *map, const char *what,
                    const char *key, const yaml_node_t *val)
{
    if (val)
        return true;
    err_at(s, map, "missing required key '%s' in %s", key, what);
    return false;
}

/* A text: "plain" (English) or {en: ..., zh: ...}. */
static int get_text(src *s, const char *what, const yaml_node_t *n,
                    map_text *out)
{
    char got[64];
    static const char *const names[] = {"en", "zh"};
    if (n && n->type == YAML_MAPPING_NODE) {
        yaml_node_t *v[2], *k[2];
        size_t before = s->ld->errs->n;
        get_keys(s, n, what, names, 2, v, k);
        if (!require(s, n, what, "en", v[0]))
            return -1;
        char *en = NULL, *zh = NULL;
        get_str(s, "'en'", v[0], &en);
        if (v[1])
            get_str(s, "'zh'", v[1], &zh);
        if (s->ld->errs->n != before) {
            free(en);
            free(zh);
            return -1;
        }
        out->en = en;
        out->zh = zh;
        return 0;
    }
    const char *t = scalar(n);
    if (!t || is_null(n) || t[0] == '\0') {
        err_at(s, n, "%s must be a string or a mapping {en: ..., zh: ...}, "
               "got %s", what, GOT(n));
        return -1;
    }
    out->en = xstrdup(t);
    out->zh = NULL;
    return 0;
}

static size_t seq_len(const yaml_node_t *n)
{
    return (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
}

static size_t map_len(const yaml_node_t *n)
{
    return (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
}

/* ---- freeing ------------------------------------------------------------ */

static void text_free(map_text *t)
{
    free(t->en);
    free(t->zh);
}

static void tag_free(map_tag *t)
{
    free(t->id);
    free(t->full_id);
    text_free(&t->name);
    free(t->description);
    free(t->unit);
    for (size_t i = 0; i < t->n_states; i++)
        text_free(&t->states[i].label);
    free(t->states);
}

static void plc_free(map_plc *p)
{
    free(p->id);
    text_free(&p->name);
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
    text_free(&st->name);
    free(st->timezone);
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

/* ---- tags --------------------------------------------------------------- */

enum {
    T_ID, T_NAME, T_DESC, T_TABLE, T_ADDRESS, T_TYPE, T_BIT, T_ORDER,
    T_LENGTH, T_SCALE, T_OFFSET, T_UNIT, T_POLL, T_DEADBAND, T_RANGE,
    T_STATES, T_N
};
static const char *const tag_keys[T_N] = {
    "id", "name", "description", "table", "address", "type", "bit", "order",
    "length", "scale", "offset", "unit", "poll", "deadband", "range",
    "states"};

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

static int cmp_state(const void *a, const void *b)
{
    const map_state *x = a, *y = b;
    return (x->value > y->value) - (x->value < y->value);
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

static void parse_states(src *s, const yaml_node_t *n, map_tag *t,
                         bool type_ok)
{
    char got[64];
    if (n->type != YAML_MAPPING_NODE || map_len(n) == 0) {
        err_at(s, n, "'states' must be a mapping of code to label, got %s",
               GOT(n));
        return;
    }
    if (type_ok && !type_is_integer(t->type)) {
        err_at(s, n, "'states' is only allowed for integer and bool tags, "
               "not %s", map_type_name(t->type));
        return;
    }
    size_t cap = map_len(n), m = 0;
    state_ref *sr = xcalloc(cap, sizeof *sr);
    int64_t lo, hi;
    state_range(t->type, &lo, &hi);
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
         p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = node_at(s, p->key), *v = node_at(s, p->value);
        if (!visit(s, k))
            break;
        const char *ks = scalar(k);
        int64_t code;
        if (!ks || parse_int(ks, &code) < 0) {
            err_at(s, k, "state code must be an integer, got %s", GOT(k));
            continue;
        }
        if (type_ok && (code < lo || code > hi)) {
            err_at(s, k, "state code %lld is out of range for %s",
                   (long long)code, map_type_name(t->type));
            continue;
        }
        char what[64];
        snprintf(what, sizeof what, "label of state %lld", (long long)code);
        state_ref *r = &sr[m];
        if (get_text(s, what, v, &r->st.label) < 0)
            continue;
        r->st.value = code;
        r->key = k;
        r->seq = m++;
    }
    /* Sorting finds repeated codes ("1" and "01") without a quadratic
     * scan, and leaves the states ordered for map_state_label. */
    qsort(sr, m, sizeof *sr, cmp_state_ref);
    t->states = xcalloc(m, sizeof *t->states);
    for (size_t i = 0; i < m; i++) {
        if (t->n_states > 0 &&
            t->states[t->n_states - 1].value == sr[i].st.value) {
            err_at(s, sr[i].key, "duplicate state code %lld",
                   (long long)sr[i].st.value);
            text_free(&sr[i].st.label);
            continue;
        }
        t->states[t->n_states++] = sr[i].st;
    }
    free(sr);
}

static void parse_range(src *s, const yaml_node_t *n, map_tag *t)
{
    char got[64];
    if (n->type != YAML_SEQUENCE_NODE || seq_len(n) != 2) {
        err_at(s, n, "'range' must be a sequence [min, max], got %s", GOT(n));
        return;
    }
    yaml_node_t *a = node_at(s, n->data.sequence.items.start[0]);
    yaml_node_t *b = node_at(s, n->data.sequence.items.start[1]);
    double lo, hi;
    int ra = get_num(s, "'range' minimum", NULL, a, &lo);
    int rb = get_num(s, "'range' maximum", NULL, b, &hi);
    if (ra < 0 || rb < 0)
        return;
    if (!(lo < hi)) {
        err_at(s, n, "'range' minimum must be less than its maximum, got "
               "[%g, %g]", lo, hi);
        return;
    }
    t->has_range = true;
    t->range_min = lo;
    t->range_max = hi;
}

/* Parses one tag of `plc` (whose id, groups, word order and address base
 * are already known) into t; aux records what the check pass needs. */
static void parse_tag(src *s, const yaml_node_t *n, const map_plc *plc,
                      bool groups_ok, map_tag *t, tag_aux *aux)
{
    char got[64];
    t->bit = -1;
    t->scale = 1;
    t->order = plc->word_order;
    t->line = (int)n->start_mark.line + 1;
    t->col = (int)n->start_mark.column + 1;
    if (n->type != YAML_MAPPING_NODE) {
        err_at(s, n, "each tag must be a mapping, got %s", GOT(n));
        return;
    }
    yaml_node_t *v[T_N], *k[T_N];
    get_keys(s, n, "tag", tag_keys, T_N, v, k);

    if (require(s, n, "tag", "id", v[T_ID]) &&
        get_id(s, "'id'", v[T_ID], &t->id) == 0) {
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
    if (require(s, n, in, "table", v[T_TABLE]) &&
        get_enum(s, "'table'", v[T_TABLE], table_names, COUNT(table_names),
                 &x) == 0) {
        t->table = (map_table)x;
        table_ok = true;
    }
    if (require(s, n, in, "type", v[T_TYPE]) &&
        get_enum(s, "'type'", v[T_TYPE], type_names, COUNT(type_names),
                 &x) == 0) {
        t->type = (map_type)x;
        type_ok = true;
    }
    bool bits = table_ok && map_table_is_bits(t->table);
    if (table_ok && type_ok && bits && t->type != MAP_BOOL) {
        err_at(s, v[T_TYPE], "type '%s' is not allowed in a %s table (coils "
               "and discrete inputs are single bits: use bool)",
               map_type_name(t->type), map_table_name(t->table));
        type_ok = false;
    }
    if (type_ok && t->type == MAP_STRING && !v[T_LENGTH]) {
        err_at(s, n, "missing required key 'length' in %s (a string needs "
               "its number of registers)", in);
        len_ok = false;
    }
    if (v[T_LENGTH]) {
        int64_t len;
        len_ok = false;
        if (type_ok && t->type != MAP_STRING) {
            err_at(s, k[T_LENGTH], "'length' is only allowed for string "
                   "tags, not %s", map_type_name(t->type));
        } else if (get_int(s, "'length'", v[T_LENGTH], 1, UINT16_MAX, NULL,
                           &len) == 0) {
            if (len > MAP_MAX_REGS)
                err_at(s, v[T_LENGTH], "register run over %d: a string of "
                       "%lld registers does not fit one Modbus read",
                       MAP_MAX_REGS, (long long)len);
            else if (len > MAP_STR_MAX_REGS)
                err_at(s, v[T_LENGTH], "'length' must be at most %d "
                       "registers (%d characters), got %lld",
                       MAP_STR_MAX_REGS, 2 * MAP_STR_MAX_REGS,
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
            err_at(s, k[T_BIT], "'bit' is not allowed in a %s table (each "
                   "element is already one bit)", map_table_name(t->table));
        else if (type_ok && t->type != MAP_BOOL)
            err_at(s, k[T_BIT], "'bit' is only allowed for bool tags, not %s",
                   map_type_name(t->type));
        else if (get_int(s, "'bit'", v[T_BIT], 0, 15, NULL, &b) == 0)
            t->bit = (int)b;
    }
    if (v[T_ORDER]) {
        if (bits)
            err_at(s, k[T_ORDER], "'order' is not allowed in a %s table",
                   map_table_name(t->table));
        else if (type_ok && map_type_regs(t->type, 2) == 1)
            err_at(s, k[T_ORDER], "'order' only applies to 32- and 64-bit "
                   "values and strings, not %s", map_type_name(t->type));
        else if (get_enum(s, "'order'", v[T_ORDER], order_names,
                          COUNT(order_names), &x) == 0)
            t->order = (map_order)x;
    }
    if (type_ok && len_ok)
        t->nregs = bits ? 1 : map_type_regs(t->type, t->length);

    if (require(s, n, in, "address", v[T_ADDRESS])) {
        int base = plc->address_base;
        int64_t a;
        if (get_int(s, "'address'", v[T_ADDRESS], base, UINT16_MAX + base,
                    base ? "address_base is 1" : NULL, &a) == 0) {
            t->address = (uint16_t)(a - base);
            addr_ok = true;
            if (type_ok && len_ok && t->nregs > 0 &&
                (long)t->address + t->nregs - 1 > UINT16_MAX) {
                char place[96];
                tag_place(t, base, place, sizeof place);
                err_at(s, v[T_ADDRESS], "%s (%s) runs past the last address "
                       "%d", in, place, UINT16_MAX + base);
                addr_ok = false;
            }
        }
    }
    aux->ok = table_ok && type_ok && len_ok && addr_ok;

    if (v[T_NAME])
        get_text(s, "'name'", v[T_NAME], &t->name);
    if (v[T_DESC])
        get_str(s, "'description'", v[T_DESC], &t->description);
    if (v[T_UNIT])
        get_str(s, "'unit'", v[T_UNIT], &t->unit);

    bool numeric = type_ok && t->type != MAP_BOOL && t->type != MAP_STRING;
    if (v[T_SCALE]) {
        if (type_ok && !numeric)
            err_at(s, k[T_SCALE], "'scale' only applies to numeric tags, "
                   "not %s", map_type_name(t->type));
        else if (get_num(s, "'scale'", "a non-zero number", v[T_SCALE],
                         &t->scale) == 0 && t->scale == 0) {
            err_at(s, v[T_SCALE], "'scale' must be a non-zero number, got %s",
                   GOT(v[T_SCALE]));
            t->scale = 1;
        }
    }
    if (v[T_OFFSET]) {
        if (type_ok && !numeric)
            err_at(s, k[T_OFFSET], "'offset' only applies to numeric tags, "
                   "not %s", map_type_name(t->type));
        else
            get_num(s, "'offset'", NULL, v[T_OFFSET], &t->offset);
    }
    t->scaled = t->scale != 1 || t->offset != 0;
    if (v[T_DEADBAND]) {
        double d;
        if (type_ok && !numeric)
            err_at(s, k[T_DEADBAND], "'deadband' only applies to numeric "
                   "tags, not %s", map_type_name(t->type));
        else if (get_num(s, "'deadband'", "a number >= 0", v[T_DEADBAND],
                         &d) == 0) {
            if (d < 0)
                err_at(s, v[T_DEADBAND], "'deadband' must be a number >= 0, "
                       "got %s", GOT(v[T_DEADBAND]));
            else
                t->deadband = d;
        }
    }
    if (v[T_RANGE]) {
        if (type_ok && !numeric)
            err_at(s, k[T_RANGE], "'range' only applies to numeric tags, "
                   "not %s", map_type_name(t->type));
        else
            parse_range(s, v[T_RANGE], t);
    }
    if (v[T_STATES]) {
        if (t->scaled)
            err_at(s, k[T_STATES], "'states' cannot be combined with 'scale' "
                   "or 'offset' (states name raw codes)");
        else
            parse_states(s, v[T_STATES], t, type_ok);
    }
    if (v[T_POLL] && groups_ok) {
        char *g = NULL;
        if (get_str(s, "'poll'", v[T_POLL], &g) == 0) {
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
                err_at(s, v[T_POLL], "unknown poll group %s (groups: %s)",
                       GOT(v[T_POLL]), list);
            }
        }
        free(g);
    }
    if (!t->name.en && t->id)
        t->name.en = xstrdup(t->id);
}

static void check_plc(src *s, map_plc *p, const tag_aux *ta);

/* ---- PLCs --------------------------------------------------------------- */

enum {
    P_ID, P_NAME, P_DESC, P_ENABLED, P_HOST, P_PORT, P_UNIT, P_TIMEOUT,
    P_WORD_ORDER, P_ADDRESS_BASE, P_MAX_GAP, P_POLL, P_TAGS, P_N
};
static const char *const plc_keys[P_N] = {
    "id", "name", "description", "enabled", "host", "port", "unit",
    "timeout", "word_order", "address_base", "max_gap", "poll", "tags"};

static void add_group(map_plc *p, const char *name, uint64_t ns, bool sample)
{
    map_group *g = &p->groups[p->n_groups++];
    g->name = xstrdup(name);
    g->period_ns = ns;
    g->sample = sample;
}

/* `poll: {fast: 100ms, slow: {period: 2s, mode: sample}}`; false when any
 * group is wrong (tags then skip the group check). */
static bool parse_poll(src *s, const yaml_node_t *n, map_plc *p)
{
    char got[64], what[96];
    static const char *const gkeys[] = {"period", "mode"};
    if (n->type != YAML_MAPPING_NODE || map_len(n) == 0) {
        err_at(s, n, "'poll' must be a mapping of group name to period, "
               "got %s", GOT(n));
        return false;
    }
    if (map_len(n) > MAP_GROUPS_MAX) {
        err_at(s, n, "'poll' has %zu groups; at most %d are allowed",
               map_len(n), MAP_GROUPS_MAX);
        return false;
    }
    size_t before = s->ld->errs->n;
    p->groups = xcalloc(map_len(n), sizeof *p->groups);
    for (yaml_node_pair_t *pr = n->data.mapping.pairs.start;
         pr < n->data.mapping.pairs.top; pr++) {
        yaml_node_t *k = node_at(s, pr->key), *v = node_at(s, pr->value);
        if (!visit(s, k))
            return false;
        const char *name = scalar(k);
        if (!name || !id_valid(name)) {
            err_at(s, k, "poll group name must be an id (1 to %d letters, "
                   "digits or _), got %s", MAP_ID_MAX, GOT(k));
            continue;
        }
        size_t dup = 0;
        while (dup < p->n_groups && strcmp(p->groups[dup].name, name) != 0)
            dup++;
        if (dup < p->n_groups) {
            err_at(s, k, "duplicate poll group '%s'", name);
            continue;
        }
        snprintf(what, sizeof what, "poll group '%s'", name);
        uint64_t ns = 0;
        int mode = 0;
        if (v->type == YAML_MAPPING_NODE) {
            yaml_node_t *gv[2], *gk[2];
            get_keys(s, v, "poll group", gkeys, 2, gv, gk);
            if (!require(s, v, what, "period", gv[0]) ||
                get_duration(s, "'period'", gv[0], &ns) < 0)
                continue;
            if (gv[1] && get_enum(s, "'mode'", gv[1], mode_names,
                                  COUNT(mode_names), &mode) < 0)
                continue;
        } else if (get_duration(s, what, v, &ns) < 0) {
            continue;
        }
        add_group(p, name, ns, mode == 1);
    }
    return s->ld->errs->n == before;
}

/* Parses a PLC mapping from s into p. */
static void parse_plc(src *s, const yaml_node_t *n, map_plc *p, plc_aux *aux)
{
    char got[64];
    p->file = xstrdup(s->file);
    aux->rank = s->rank;
    p->line = (int)n->start_mark.line + 1;
    p->col = (int)n->start_mark.column + 1;
    p->enabled = true;
    p->port = 502;
    p->unit = 1;
    p->timeout_ns = 500000000ull;
    p->word_order = MAP_ABCD;
    p->max_gap = 16;
    if (n->type != YAML_MAPPING_NODE) {
        err_at(s, n, "a PLC must be a mapping with 'id', 'host' and 'tags', "
               "got %s", GOT(n));
        return;
    }
    yaml_node_t *v[P_N], *k[P_N];
    get_keys(s, n, "PLC", plc_keys, P_N, v, k);

    if (require(s, n, "PLC", "id", v[P_ID]) &&
        get_id(s, "'id'", v[P_ID], &p->id) == 0) {
        aux->id_line = (int)v[P_ID]->start_mark.line + 1;
        aux->id_col = (int)v[P_ID]->start_mark.column + 1;
    }
    char in[96];
    if (p->id)
        snprintf(in, sizeof in, "PLC '%s'", p->id);
    else
        snprintf(in, sizeof in, "PLC");
    if (v[P_NAME])
        get_text(s, "'name'", v[P_NAME], &p->name);
    if (!p->name.en && p->id)
        p->name.en = xstrdup(p->id);
    if (v[P_DESC])
        get_str(s, "'description'", v[P_DESC], &p->description);
    if (v[P_ENABLED])
        get_bool(s, "'enabled'", v[P_ENABLED], &p->enabled);

    bool ep = require(s, n, in, "host", v[P_HOST]) &&
              get_str(s, "'host'", v[P_HOST], &p->host) == 0;
    int64_t x;
    if (v[P_PORT]) {
        if (get_int(s, "'port'", v[P_PORT], 1, 65535, NULL, &x) == 0)
            p->port = (int)x;
        else
            ep = false;
    }
    if (v[P_UNIT]) {
        if (get_int(s, "'unit'", v[P_UNIT], 0, 255, NULL, &x) == 0)
            p->unit = (int)x;
        else
            ep = false;
    }
    aux->endpoint_ok = ep;
    if (v[P_TIMEOUT])
        get_duration(s, "'timeout'", v[P_TIMEOUT], &p->timeout_ns);
    int o;
    if (v[P_WORD_ORDER] &&
        get_enum(s, "'word_order'", v[P_WORD_ORDER], order_names,
                 COUNT(order_names), &o) == 0)
        p->word_order = (map_order)o;
    if (v[P_ADDRESS_BASE] &&
        get_int(s, "'address_base'", v[P_ADDRESS_BASE], 0, 1, NULL, &x) == 0)
        p->address_base = (int)x;
    if (v[P_MAX_GAP] &&
        get_int(s, "'max_gap'", v[P_MAX_GAP], 0, MAP_MAX_REGS, NULL, &x) == 0)
        p->max_gap = (int)x;

    bool groups_ok = true;
    if (v[P_POLL]) {
        groups_ok = parse_poll(s, v[P_POLL], p);
    } else {
        p->groups = xcalloc(1, sizeof *p->groups);
        add_group(p, "fast", 1000000000ull, false);
    }

    if (!require(s, n, in, "tags", v[P_TAGS]))
        return;
    yaml_node_t *tags = v[P_TAGS];
    if (tags->type != YAML_SEQUENCE_NODE || seq_len(tags) == 0) {
        err_at(s, tags, "'tags' must be a non-empty sequence of tags, got %s",
               GOT(tags));
        return;
    }
    size_t nt = seq_len(tags);
    p->tags = xcalloc(nt, sizeof *p->tags);
    tag_aux *ta = xcalloc(nt, sizeof *ta);
    for (size_t i = 0; i < nt; i++) {
        yaml_node_t *tn = node_at(s, tags->data.sequence.items.start[i]);
        if (!visit(s, tn))
            break;
        p->n_tags++;
        parse_tag(s, tn, p, groups_ok, &p->tags[i], &ta[i]);
    }
    check_plc(s, p, ta);
    free(ta);
}

/* ---- check pass --------------------------------------------------------- */

typedef struct {
    const char *id;
    size_t idx;
} id_ref;

static int cmp_id_ref(const void *a, const void *b)
{
    const id_ref *x = a, *y = b;
    int c = strcmp(x->id, y->id);
    if (c)
        return c;
    return (x->idx > y->idx) - (x->idx < y->idx);
}

/* first[i] = index of the first item with item i's id, or i itself. */
static void find_dups(const char *const *ids, size_t n, size_t *first)
{
    id_ref *r = xcalloc(n, sizeof *r);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        first[i] = i;
        if (ids[i])
            r[m++] = (id_ref){ids[i], i};
    }
    qsort(r, m, sizeof *r, cmp_id_ref);
    for (size_t i = 1; i < m; i++) {
        size_t j = i;
        while (j > 0 && strcmp(r[j - 1].id, r[i].id) == 0)
            j--;
        first[r[i].idx] = r[j].idx;
    }
    free(r);
}

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
static void check_plc(src *s, map_plc *p, const tag_aux *ta)
{
    size_t n = p->n_tags;
    if (n == 0 || s->ld->stop)
        return;
    const char **ids = xcalloc(n, sizeof *ids);
    size_t *first = xcalloc(n, sizeof *first);
    for (size_t i = 0; i < n; i++)
        ids[i] = p->tags[i].id;
    find_dups(ids, n, first);
    for (size_t i = 0; i < n; i++) {
        if (first[i] == i)
            continue;
        const tag_aux *f = &ta[first[i]];
        err_pos(s, ta[i].id_line, ta[i].id_col, "duplicate tag id '%s' "
                "(first defined at %s:%d:%d)", ids[i], s->file, f->id_line,
                f->id_col);
    }
    free(ids);
    free(first);

    tag_ref *r = xcalloc(n, sizeof *r);
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
    for (size_t i = 1; i < m && np < MAP_ERRORS_MAX; i++) {
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
        err_pos(s, a->line, a->col, "tag '%s' (%s) overlaps tag '%s' (%s)",
                a->id ? a->id : "?", pa, b->id ? b->id : "?", pb);
    }
    free(pairs);
    free(r);
}

/* ---- files -------------------------------------------------------------- */

/* libyaml's scanner takes time quadratic in the depth of flow nesting
 * ([[[[...), and no map needs more than a few levels, so deep nesting is
 * refused before parsing.  This is a cheap approximation of YAML's lexical
 * rules (quotes and brackets count only where a node may start, comments
 * are skipped); it only has to be right for real maps and not be fooled
 * into missing a hostile depth by quote tricks.  Returns 0, or -1 with the
 * 1-based position of the bracket that goes too deep. */
static int flow_depth_check(const char *buf, size_t len, int *line, int *col)
{
    int depth = 0, ln = 1, cl = 1;
    char prev = '\n';   /* last non-blank character, '\n' at line start */
    for (size_t i = 0; i < len; i++, cl++) {
        char c = buf[i];
        bool node_start = prev == '\n' || prev == '[' || prev == '{' ||
                          prev == ',' || prev == ':' || prev == '-' ||
                          prev == '?';
        if (c == '\n') {
            ln++;
            cl = 0;
            prev = '\n';
            continue;
        }
        if (c == ' ' || c == '\t' || c == '\r')
            continue;
        if (c == '#' && (i == 0 || buf[i - 1] == ' ' || buf[i - 1] == '\t' ||
                         buf[i - 1] == '\n')) {
            while (i + 1 < len && buf[i + 1] != '\n')
                i++;
            continue;
        }
        if ((c == '"' || c == '\'') && node_start) {
            /* Skip the quoted scalar, keeping the line count. */
            for (i++; i < len; i++, cl++) {
                if (buf[i] == '\n') {
                    ln++;
                    cl = 0;
                } else if (c == '"' && buf[i] == '\\' && i + 1 < len &&
                           buf[i + 1] != '\n') {
                    i++;
                    cl++;
                } else if (buf[i] == c) {
                    if (c == '\'' && i + 1 < len && buf[i + 1] == '\'') {
                        i++;
                        cl++;
                        continue;
                    }
                    break;
                }
            }
            prev = 'x';
            continue;
        }
        if ((c == '[' || c == '{') && (node_start || depth > 0)) {
            if (++depth > MAP_FLOW_DEPTH_MAX) {
                *line = ln;
                *col = cl;
                return -1;
            }
        } else if ((c == ']' || c == '}') && depth > 0) {
            depth--;
        }
        prev = c;
    }
    return 0;
}

/* Reads and parses one file into s->doc; -1 (reported) on any failure. */
static int load_doc(loader *ld, src *s, const char *path)
{
    s->ld = ld;
    s->file = path;
    s->rank = ld->n_files++;
    memset(&s->doc, 0, sizeof s->doc);
    FILE *f = fopen(path, "rb");
    if (!f) {
        ld_add(ld, s->rank, 0, 0, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int rc = -1;
    for (;;) {
        if (len == cap) {
            cap = cap ? cap * 2 : 65536;
            char *nb = realloc(buf, cap);
            if (!nb)
                abort();
            buf = nb;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (len > MAP_FILE_MAX) {
            ld_add(ld, s->rank, 0, 0, "%s: file is too large (more than %zu "
                   "MiB)", path, MAP_FILE_MAX >> 20);
            goto out;
        }
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        ld_add(ld, s->rank, 0, 0, "%s: cannot read: %s", path, strerror(errno));
        goto out;
    }

    int dl, dc;
    if (flow_depth_check(buf, len, &dl, &dc) < 0) {
        err_pos(s, dl, dc, "nesting deeper than %d levels of [ ] or { } is "
                "not supported", MAP_FLOW_DEPTH_MAX);
        goto out;
    }

    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser))
        abort();
    yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
    if (!yaml_parser_load(&parser, &s->doc)) {
        if (parser.error == YAML_READER_ERROR) {
            /* The reader gives a byte offset, not a mark. */
            int line = 1, col = 1;
            for (size_t i = 0; i < parser.problem_offset && i < len; i++) {
                if (buf[i] == '\n') {
                    line++;
                    col = 1;
                } else {
                    col++;
                }
            }
            err_pos(s, line, col, "%s", parser.problem ? parser.problem
                                                       : "unreadable input");
        } else if (parser.error == YAML_MEMORY_ERROR) {
            ld_add(ld, s->rank, 0, 0, "%s: out of memory", path);
        } else if (parser.context) {
            err_pos(s, (int)parser.problem_mark.line + 1,
                    (int)parser.problem_mark.column + 1,
                    "%s (%s at line %d column %d)", parser.problem,
                    parser.context, (int)parser.context_mark.line + 1,
                    (int)parser.context_mark.column + 1);
        } else {
            err_pos(s, (int)parser.problem_mark.line + 1,
                    (int)parser.problem_mark.column + 1, "%s",
                    parser.problem ? parser.problem : "invalid YAML");
        }
        memset(&s->doc, 0, sizeof s->doc);
        yaml_parser_delete(&parser);
        goto out;
    }
    yaml_node_t *root = yaml_document_get_root_node(&s->doc);
    if (!root) {
        err_pos(s, 1, 1, "the file is empty (expected a station or a PLC "
                "map)");
    } else {
        yaml_document_t more;
        if (yaml_parser_load(&parser, &more)) {
            yaml_node_t *r2 = yaml_document_get_root_node(&more);
            if (r2)
                err_at(s, r2, "only one YAML document per file is allowed");
            else
                rc = 0;
            yaml_document_delete(&more);
        } else {
            err_pos(s, (int)parser.problem_mark.line + 1,
                    (int)parser.problem_mark.column + 1, "%s",
                    parser.problem ? parser.problem : "invalid YAML");
        }
    }
    yaml_parser_delete(&parser);
out:
    free(buf);
    fclose(f);
    if (rc < 0) {
        yaml_document_delete(&s->doc);
        memset(&s->doc, 0, sizeof s->doc);
    }
    return rc;
}

static void unload_doc(src *s)
{
    yaml_document_delete(&s->doc);
}

/* ---- stations ----------------------------------------------------------- */

static bool timezone_exists(const char *tz)
{
    if (strcmp(tz, "UTC") == 0)
        return true;
    if (tz[0] == '/' || strstr(tz, ".."))
        return false;
    char path[512];
    if ((size_t)snprintf(path, sizeof path, MAP_ZONEINFO "%s", tz) >=
        sizeof path)
        return false;
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

static bool has_key(src *s, const yaml_node_t *map, const char *key)
{
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start;
         p < map->data.mapping.pairs.top; p++) {
        const char *k = scalar(node_at(s, p->key));
        if (k && strcmp(k, key) == 0)
            return true;
    }
    return false;
}

/* "dir/of/station.yaml" + "gate.yaml" -> "dir/of/gate.yaml" (malloc'd). */
static char *join_path(const char *station, const char *rel)
{
    const char *slash = strrchr(station, '/');
    char *out;
    if (rel[0] == '/' || !slash)
        out = xstrdup(rel);
    else if (asprintf(&out, "%.*s/%s", (int)(slash - station), station,
                      rel) < 0)
        abort();
    return out;
}

enum { S_STATION, S_PLCS, S_HEARTBEAT, S_HISTORY, S_INFLUX, S_N };
static const char *const station_keys[S_N] = {"station", "plcs", "heartbeat",
                                              "history", "influx"};
enum { SI_ID, SI_NAME, SI_TZ, SI_N };
static const char *const station_info_keys[SI_N] = {"id", "name", "timezone"};

static void parse_station_info(src *s, const yaml_node_t *n, map_station *st)
{
    char got[64];
    if (n->type != YAML_MAPPING_NODE) {
        err_at(s, n, "'station' must be a mapping with 'id', 'name' and "
               "'timezone', got %s", GOT(n));
        return;
    }
    yaml_node_t *v[SI_N], *k[SI_N];
    get_keys(s, n, "station", station_info_keys, SI_N, v, k);
    if (require(s, n, "station", "id", v[SI_ID]))
        get_id(s, "'id'", v[SI_ID], &st->id);
    if (v[SI_NAME])
        get_text(s, "'name'", v[SI_NAME], &st->name);
    if (v[SI_TZ] && get_str(s, "'timezone'", v[SI_TZ], &st->timezone) == 0 &&
        !timezone_exists(st->timezone))
        err_at(s, v[SI_TZ], "unknown timezone '%s' (no such file in "
               MAP_ZONEINFO ")", st->timezone);
}

/* ---- time-series destinations (history:, influx:) ---------------------- */

/* "1GiB", "512MiB", "100MB", "65536" -> bytes; -1 on error. */
static int parse_size(const char *v, uint64_t *out)
{
    static const struct { const char *suffix; uint64_t mul; } units[] = {
        {"", 1}, {"B", 1}, {"KB", 1000}, {"MB", 1000000},
        {"GB", 1000000000}, {"KiB", 1024}, {"MiB", 1048576},
        {"GiB", 1073741824},
    };
    if (!isdigit((unsigned char)v[0]))
        return -1;
    errno = 0;
    char *end;
    unsigned long long x = strtoull(v, &end, 10);
    if (errno)
        return -1;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (strcmp(end, units[i].suffix) == 0) {
            if (x > UINT64_MAX / units[i].mul)
                return -1;
            *out = x * units[i].mul;
            return 0;
        }
    return -1;
}

static void history_defaults(map_history *h)
{
    h->enabled = true;
    h->raw_days = 30;
    h->rollup_1m_days = 400;
    h->rollup_1h_days = 3650;
}

enum { H_ENABLED, H_PATH, H_RAW, H_1M, H_1H, H_N };
static const char *const history_keys[H_N] = {
    "enabled", "path", "raw_days", "rollup_1m_days", "rollup_1h_days"};

static void parse_history(src *s, const yaml_node_t *n, map_history *h)
{
    char got[64];
    const char *v = scalar(n);
    if (v && (strcmp(v, "off") == 0 || strcmp(v, "false") == 0)) {
        h->enabled = false;
        return;
    }
    if (n->type != YAML_MAPPING_NODE) {
        err_at(s, n, "'history' must be a mapping such as {path: "
               "data/history.db, raw_days: 30}, or off, got %s", GOT(n));
        return;
    }
    yaml_node_t *val[H_N], *k[H_N];
    get_keys(s, n, "history", history_keys, H_N, val, k);
    int64_t x;
    if (val[H_ENABLED])
        get_bool(s, "'enabled'", val[H_ENABLED], &h->enabled);
    if (val[H_PATH])
        get_str(s, "'path'", val[H_PATH], &h->path);
    if (val[H_RAW] && get_int(s, "'raw_days'", val[H_RAW], 1, 36500, NULL,
                              &x) == 0)
        h->raw_days = (int)x;
    if (val[H_1M] && get_int(s, "'rollup_1m_days'", val[H_1M], 1, 36500,
                             NULL, &x) == 0)
        h->rollup_1m_days = (int)x;
    if (val[H_1H] && get_int(s, "'rollup_1h_days'", val[H_1H], 1, 365000,
                             NULL, &x) == 0)
        h->rollup_1h_days = (int)x;
}

static void influx_defaults(map_influx *f)
{
    f->batch_points = 5000;
    f->batch_age_ns = 1000000000ull;
    f->timeout_ns = 10000000000ull;
    f->spool_max_bytes = 1073741824ull;
}

enum {
    I_URL, I_DB, I_RP, I_USER, I_PASS_ENV, I_PASS_FILE, I_ORG, I_BUCKET,
    I_TOKEN_ENV, I_TOKEN_FILE, I_PRECISION, I_BATCH, I_BATCH_AGE, I_GZIP,
    I_TIMEOUT, I_SPOOL, I_SPOOL_MAX, I_PASSWORD, I_TOKEN, I_N
};
static const char *const influx_keys[I_N] = {
    "url", "database", "rp", "username", "password_env", "password_file",
    "org", "bucket", "token_env", "token_file", "precision", "batch_size",
    "batch_age", "gzip", "timeout", "spool", "spool_max", "password",
    "token"};
static const char *const precision_names[] = {"ns", "us", "ms", "s"};

static void parse_influx(src *s, const yaml_node_t *n, map_influx *f)
{
    char got[64];
    if (n->type != YAML_MAPPING_NODE) {
        err_at(s, n, "'influx' must be a mapping such as {url: "
               "http://127.0.0.1:8086, database: lock}, got %s", GOT(n));
        return;
    }
    f->enabled = true;
    f->line = (int)n->start_mark.line + 1;
    f->col = (int)n->start_mark.column + 1;
    yaml_node_t *v[I_N], *k[I_N];
    get_keys_shown(s, n, "influx", influx_keys, I_N, I_PASSWORD, v, k);
    /* Secrets in a map file end up in git: refuse them outright. */
    if (k[I_PASSWORD])
        err_at(s, k[I_PASSWORD], "'password' must not be written in a map "
               "file: use password_env (an environment variable) or "
               "password_file");
    if (k[I_TOKEN])
        err_at(s, k[I_TOKEN], "'token' must not be written in a map file: "
               "use token_env (an environment variable) or token_file");
    if (require(s, n, "influx", "url", v[I_URL]) &&
        get_str(s, "'url'", v[I_URL], &f->url) == 0 &&
        strncmp(f->url, "http://", 7) != 0 &&
        strncmp(f->url, "https://", 8) != 0)
        err_at(s, v[I_URL], "'url' must start with http:// or https://, got "
               "'%s'", f->url);
    char **strs[] = {
        [I_DB] = &f->database, [I_RP] = &f->rp, [I_USER] = &f->username,
        [I_PASS_ENV] = &f->password_env, [I_PASS_FILE] = &f->password_file,
        [I_ORG] = &f->org, [I_BUCKET] = &f->bucket,
        [I_TOKEN_ENV] = &f->token_env, [I_TOKEN_FILE] = &f->token_file,
        [I_SPOOL] = &f->spool_dir,
    };
    for (int i = I_DB; i <= I_SPOOL; i++) {
        if (i == I_PRECISION || i == I_BATCH || i == I_BATCH_AGE ||
            i == I_GZIP || i == I_TIMEOUT || !v[i])
            continue;
        char what[40];
        snprintf(what, sizeof what, "'%s'", influx_keys[i]);
        get_str(s, what, v[i], strs[i]);
    }
    int e;
    if (v[I_PRECISION] && get_enum(s, "'precision'", v[I_PRECISION],
                                   precision_names, 4, &e) == 0)
        f->precision = xstrdup(precision_names[e]);
    int64_t x;
    if (v[I_BATCH] && get_int(s, "'batch_size'", v[I_BATCH], 1, 1000000,
                              "points", &x) == 0)
        f->batch_points = (size_t)x;
    if (v[I_BATCH_AGE])
        get_duration(s, "'batch_age'", v[I_BATCH_AGE], &f->batch_age_ns);
    if (v[I_TIMEOUT])
        get_duration(s, "'timeout'", v[I_TIMEOUT], &f->timeout_ns);
    if (v[I_GZIP])
        get_bool(s, "'gzip'", v[I_GZIP], &f->gzip);
    if (v[I_SPOOL_MAX]) {
        const char *sv = scalar(v[I_SPOOL_MAX]);
        if (!sv || parse_size(sv, &f->spool_max_bytes) == -1 ||
            f->spool_max_bytes < 1048576)
            err_at(s, v[I_SPOOL_MAX], "'spool_max' must be a size of at "
                   "least 1MiB such as 512MiB or 2GiB, got %s", GOT(v[I_SPOOL_MAX]));
    }
    bool v2 = f->org || f->bucket;
    if (v2 && !(f->org && f->bucket))
        err_at(s, n, "influx: InfluxDB 2.x needs both 'org' and 'bucket'");
    if (!v2 && !f->database && f->url)
        err_at(s, n, "influx: missing 'database' (InfluxDB 1.x, "
               "VictoriaMetrics) or 'org' and 'bucket' (InfluxDB 2.x)");
    if (f->password_env && f->password_file)
        err_at(s, n, "influx: give password_env or password_file, not both");
    if (f->token_env && f->token_file)
        err_at(s, n, "influx: give token_env or token_file, not both");
}

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
static void check_station(loader *ld, map_station *st, const plc_aux *pa)
{
    size_t n = st->n_plcs;
    if (n == 0 || ld->stop)
        return;
    const char **ids = xcalloc(n, sizeof *ids);
    size_t *first = xcalloc(n, sizeof *first);
    for (size_t i = 0; i < n; i++)
        ids[i] = st->plcs[i].id;
    find_dups(ids, n, first);
    for (size_t i = 0; i < n; i++) {
        if (first[i] == i)
            continue;
        src s = {.ld = ld, .file = st->plcs[i].file, .rank = pa[i].rank};
        const map_plc *f = &st->plcs[first[i]];
        err_pos(&s, pa[i].id_line, pa[i].id_col, "duplicate PLC id '%s' "
                "(first defined at %s:%d:%d)", ids[i], f->file,
                pa[first[i]].id_line, pa[first[i]].id_col);
    }
    free(ids);
    free(first);
    /* Sorted by endpoint, PLCs sharing one are neighbours; each is
     * reported against the first in the file. */
    endpoint_ref *e = xcalloc(n, sizeof *e);
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
        src s = {.ld = ld, .file = b->file, .rank = pa[e[i].idx].rank};
        err_pos(&s, b->line, b->col, "PLC '%s' has the same host, port and "
                "unit as PLC '%s' (%s:%d, unit %d)", b->id ? b->id : "?",
                a->id ? a->id : "?", b->host, b->port, b->unit);
    }
    free(e);
}

/* Loads the PLCs of a station file's `plcs` sequence. */
static void parse_plcs(src *s, const yaml_node_t *n, map_station *st,
                       plc_aux *pa)
{
    char got[64];
    for (size_t i = 0; i < seq_len(n); i++) {
        yaml_node_t *item = node_at(s, n->data.sequence.items.start[i]);
        if (!visit(s, item))
            return;
        map_plc *p = &st->plcs[st->n_plcs];
        plc_aux *a = &pa[st->n_plcs];
        if (item->type == YAML_MAPPING_NODE) {
            st->n_plcs++;
            parse_plc(s, item, p, a);
            continue;
        }
        const char *rel = scalar(item);
        if (!rel || is_null(item) || rel[0] == '\0') {
            err_at(s, item, "each entry of 'plcs' must be a file name or a "
                   "PLC mapping, got %s", GOT(item));
            continue;
        }
        char *path = join_path(s->file, rel);
        src sub;
        if (load_doc(s->ld, &sub, path) == 0) {
            yaml_node_t *r = yaml_document_get_root_node(&sub.doc);
            if (r->type == YAML_MAPPING_NODE &&
                (has_key(&sub, r, "station") || has_key(&sub, r, "plcs"))) {
                err_at(s, item, "'%s' is a station file; 'plcs' may only "
                       "list PLC files", rel);
            } else {
                st->n_plcs++;
                parse_plc(&sub, r, p, a);
            }
            unload_doc(&sub);
        }
        free(path);
    }
}

static int cmp_err_pos(const void *a, const void *b)
{
    const err_pos_t *x = a, *y = b;
    if (x->rank != y->rank)
        return x->rank < y->rank ? -1 : 1;
    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    if (x->col != y->col)
        return x->col < y->col ? -1 : 1;
    return (x->seq > y->seq) - (x->seq < y->seq);
}

map_station *map_load(const char *path, map_errors *errs)
{
    if (!path) {
        map_errors_add(errs, "(null): cannot open: no file given");
        return NULL;
    }
    loader ld = {0};
    ld.errs = &ld.own;
    map_station *st = xcalloc(1, sizeof *st);
    st->file = xstrdup(path);
    st->heartbeat_ns = 60000000000ull;
    history_defaults(&st->history);
    influx_defaults(&st->influx);
    plc_aux *pa = NULL;
    src s;
    if (load_doc(&ld, &s, path) < 0)
        goto done;
    yaml_node_t *root = yaml_document_get_root_node(&s.doc);
    char got[64];
    if (root->type != YAML_MAPPING_NODE) {
        err_at(&s, root, "a map file must be a mapping: a station ('station', "
               "'plcs') or a PLC ('id', 'host', 'tags'), got %s", GOT(root));
    } else if (has_key(&s, root, "station") || has_key(&s, root, "plcs")) {
        yaml_node_t *v[S_N], *k[S_N];
        get_keys(&s, root, "station file", station_keys, S_N, v, k);
        if (require(&s, root, "station file", "station", v[S_STATION]))
            parse_station_info(&s, v[S_STATION], st);
        if (v[S_HEARTBEAT]) {
            const char *hb = scalar(v[S_HEARTBEAT]);
            if (hb && (strcmp(hb, "off") == 0 || strcmp(hb, "0") == 0))
                st->heartbeat_ns = 0;
            else
                get_duration(&s, "'heartbeat'", v[S_HEARTBEAT],
                             &st->heartbeat_ns);
        }
        if (v[S_HISTORY])
            parse_history(&s, v[S_HISTORY], &st->history);
        if (v[S_INFLUX])
            parse_influx(&s, v[S_INFLUX], &st->influx);
        if (require(&s, root, "station file", "plcs", v[S_PLCS])) {
            yaml_node_t *pl = v[S_PLCS];
            if (pl->type != YAML_SEQUENCE_NODE || seq_len(pl) == 0) {
                err_at(&s, pl, "'plcs' must be a non-empty sequence of PLC "
                       "files or PLC maps, got %s", GOT(pl));
            } else {
                st->plcs = xcalloc(seq_len(pl), sizeof *st->plcs);
                pa = xcalloc(seq_len(pl), sizeof *pa);
                parse_plcs(&s, pl, st, pa);
            }
        }
    } else {
        st->plcs = xcalloc(1, sizeof *st->plcs);
        pa = xcalloc(1, sizeof *pa);
        st->n_plcs = 1;
        parse_plc(&s, root, &st->plcs[0], pa);
        st->id = xstrdup(st->plcs[0].id);
        if (st->plcs[0].name.en) {
            st->name.en = xstrdup(st->plcs[0].name.en);
            st->name.zh = xstrdup(st->plcs[0].name.zh);
        }
    }
    unload_doc(&s);
    check_station(&ld, st, pa);
    if (!st->name.en && st->id)
        st->name.en = xstrdup(st->id);
    if (!st->timezone)
        st->timezone = xstrdup("UTC");
    if (!st->history.path)
        st->history.path = xstrdup("data/history.db");
    if (st->influx.enabled && !st->influx.spool_dir)
        st->influx.spool_dir = xstrdup("data/spool");
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

const map_text *map_state_label(const map_tag *t, int64_t value)
{
    if (!t || t->n_states == 0)
        return NULL;
    map_state key = {.value = value};
    const map_state *s = bsearch(&key, t->states, t->n_states,
                                 sizeof *t->states, cmp_state);
    return s ? &s->label : NULL;
}
