/*
 * parse.h - what the map loader's files share (internal to config/).
 *
 * The loader is split by concern: yamlfile.c reads one file into a libyaml
 * document, plc.c walks a PLC map, station.c a station file and its
 * sections (conf_history.c, conf_influx.c, ...), model.c owns the finished
 * model.  They all report through the same loader state and the same typed
 * helpers declared here, so a mistake is worded the same way wherever it is
 * made ("'port' must be an integer in 1..65535, got '0'").
 *
 * Nothing here is public: other subsystems include config/plcmap.h only.
 * Every name carries the cfg_ prefix so that the static library exports
 * nothing that could clash with a name elsewhere in the program.
 */
#ifndef LB_CONFIG_PARSE_H
#define LB_CONFIG_PARSE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yaml.h>

#include "config/plcmap.h"

/* Strings longer than VAL_STR_MAX (val.h: 64 bytes = 32 registers) cannot
 * be held in a value; config does not depend on val.h, hence a copy. */
#define CFG_STR_MAX_REGS 32
#define CFG_ID_MAX 64
#define CFG_FILE_MAX ((size_t)16 << 20)
/* Beyond these the input is hostile or broken; say so and stop. */
#define CFG_ERRORS_MAX 1000
#define CFG_VISITS_MAX 4000000
#define CFG_FLOW_DEPTH_MAX 64

#define CFG_COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ---- loader state ------------------------------------------------------- */

/* Where an error points, so that messages come out in reading order:
 * files in the order they were opened, then line and column. */
typedef struct {
    int rank, line, col;
    size_t seq;
} cfg_msg_pos;

/* One map_load call. */
typedef struct {
    map_errors own;     /* this load's messages, sorted into the caller's */
    map_errors *errs;   /* &own */
    cfg_msg_pos *pos;   /* parallel to own.msgs */
    size_t pos_cap;
    int n_files;        /* files opened so far: the next file's rank */
    size_t visits;      /* mapping pairs and sequence items walked */
    bool stop;          /* too many errors or visits: walk no further */
    bool in_memory;     /* map_load_buffer: no other file may be read */
} cfg_loader;

/* One parsed file. */
typedef struct {
    cfg_loader *ld;
    const char *file;   /* as opened, used in messages */
    int rank;           /* order in which the file was opened */
    yaml_document_t doc;
} cfg_src;

/* What the station-wide check pass needs to know of a PLC beyond the
 * model; lives only while loading. */
typedef struct {
    int id_line, id_col;   /* the id value, 0 when absent */
    int rank;              /* of the file the PLC is defined in */
    bool endpoint_ok;      /* host, port and unit valid */
} cfg_plc_aux;

/* ---- errors (parse.c) --------------------------------------------------- */

/* Records a message with its position; rank/line/col only order it, the
 * message carries its own "file:line:col: " prefix (or none).  Aborts when
 * memory runs out: a half-reported map would be worse. */
void cfg_add(cfg_loader *ld, int rank, int line, int col, const char *fmt,
             ...) __attribute__((format(printf, 5, 6)));

/* "file:line:col: message" at node n (1:1 when n is NULL), or at an explicit
 * 1-based position.  Nothing is added once the error cap is reached. */
void cfg_err_at(cfg_src *s, const yaml_node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void cfg_err_pos(cfg_src *s, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Counts one step of the walk (a mapping pair, a sequence item); false once
 * the budget is spent or the walk has been stopped. */
bool cfg_visit(cfg_src *s, const yaml_node_t *n);

/* ---- nodes (parse.c) ---------------------------------------------------- */

yaml_node_t *cfg_node(cfg_src *s, int idx);
/* A scalar's text; NULL for other nodes and for text with a NUL byte
 * ("\0" in a quoted scalar), which C strings would silently cut. */
const char *cfg_scalar(const yaml_node_t *n);
/* YAML's null: an empty plain scalar, ~ or null. */
bool cfg_is_null(const yaml_node_t *n);
/* "a mapping", "nothing", "'text'" (cut short and made printable), for the
 * ", got ..." part of a message; buf holds the text when one is needed. */
const char *cfg_describe(const yaml_node_t *n, char *buf, size_t len);
#define CFG_GOT(n) cfg_describe((n), got, sizeof got)
size_t cfg_seq_len(const yaml_node_t *n);
size_t cfg_map_len(const yaml_node_t *n);
/* True when the mapping has a scalar key `key`. */
bool cfg_has_key(cfg_src *s, const yaml_node_t *map, const char *key);
/* The value of top-level key `key` of s when s is a station file (the first
 * one, should the key repeat), else NULL: for sections that read their
 * value only once the PLCs are loaded. */
const yaml_node_t *cfg_station_key(cfg_src *s, const char *key);

/* ---- memory ------------------------------------------------------------- */

/* strdup/calloc that abort on failure: there is no sensible recovery from
 * a failed small allocation while loading.  cfg_strdup(NULL) is NULL;
 * cfg_calloc(0, size) returns a valid (1-element) block. */
char *cfg_strdup(const char *s);
void *cfg_calloc(size_t n, size_t size);

/* ---- typed value helpers (parse.c) -------------------------------------- */
/* Each takes `what` (e.g. "'port'") and reports in one wording everywhere:
 * "WHAT must be DESCRIPTION, got GOT".  0 on success, -1 reported; the
 * output is left alone on failure. */

bool cfg_id_valid(const char *v);
/* Decimal, or hexadecimal with 0x; an optional sign.  -1 on anything else. */
int cfg_parse_int(const char *v, int64_t *out);
int cfg_parse_num(const char *v, double *out);
/* "1GiB", "512MiB", "100MB", "65536" -> bytes; -1 on anything else. */
int cfg_parse_size(const char *v, uint64_t *out);

/* A non-empty string; replaces (frees) *out. */
int cfg_get_str(cfg_src *s, const char *what, const yaml_node_t *n,
                char **out);
/* An id: 1 to CFG_ID_MAX letters, digits or _; replaces (frees) *out. */
int cfg_get_id(cfg_src *s, const char *what, const yaml_node_t *n,
               char **out);
/* An integer in lo..hi; note (may be NULL) is added in brackets. */
int cfg_get_int(cfg_src *s, const char *what, const yaml_node_t *n,
                int64_t lo, int64_t hi, const char *note, int64_t *out);
/* A finite number; desc (NULL: "a number") says what is expected. */
int cfg_get_num(cfg_src *s, const char *what, const char *desc,
                const yaml_node_t *n, double *out);
int cfg_get_bool(cfg_src *s, const char *what, const yaml_node_t *n,
                 bool *out);
/* One of names[0..count); *out is its index. */
int cfg_get_enum(cfg_src *s, const char *what, const yaml_node_t *n,
                 const char *const *names, size_t count, int *out);
/* A positive duration (poll periods, timeouts). */
/* map_parse_duration's units and d for days ("30d"), for the durations
 * a person gives in days: sessions, retention.  0, or -1. */
int cfg_parse_long_duration(const char *v, uint64_t *ns);
int cfg_get_duration(cfg_src *s, const char *what, const yaml_node_t *n,
                     uint64_t *out);
/* A journal's `retention`: a long duration of at least a day ("400d",
 * "8760h"), or "forever" (0).  0, or -1 with the error reported. */
int cfg_get_retention(cfg_src *s, const yaml_node_t *n, uint64_t *out);
/* A text: "plain" (English) or {en: ..., zh: ...}; *out is overwritten
 * only on success. */
int cfg_get_text(cfg_src *s, const char *what, const yaml_node_t *n,
                 map_text *out);

/* Collects the values of a mapping's known keys into vals[] (and the key
 * nodes into keys[]), both count long, reporting unknown keys, duplicate
 * keys and non-scalar keys.  `what` names the mapping in messages ("tag",
 * "PLC", ...). */
void cfg_get_keys(cfg_src *s, const yaml_node_t *map, const char *what,
                  const char *const *names, size_t count, yaml_node_t **vals,
                  yaml_node_t **keys);
/* As cfg_get_keys, but only the first `shown` names are offered in the
 * "expected one of" list: the rest are known only to be refused with a
 * message of their own (secrets in map files). */
void cfg_get_keys_shown(cfg_src *s, const yaml_node_t *map, const char *what,
                        const char *const *names, size_t count, size_t shown,
                        yaml_node_t **vals, yaml_node_t **keys);
/* A secret written in a map (key node k, e.g. 'password'): "'password'
 * must not be written in a map file: use password_env (an environment
 * variable) or password_file", at k. */
void cfg_refuse_secret(cfg_src *s, const yaml_node_t *k, const char *name);
/* True when val is present; otherwise reports the key as missing from map
 * (at the mapping's position). */
bool cfg_require(cfg_src *s, const yaml_node_t *map, const char *what,
                 const char *key, const yaml_node_t *val);

/* ---- check helpers (parse.c) -------------------------------------------- */

/* first[i] = index of the first item with item i's id, or i itself (also
 * for NULL ids).  O(n log n). */
void cfg_find_dups(const char *const *ids, size_t n, size_t *first);

/* ---- files (yamlfile.c) ------------------------------------------------- */

/* Reads and parses one file into s->doc, giving it the next rank; -1 with
 * the reason reported (s->doc is then empty).  0: the document has a root
 * node.  cfg_file_unload frees the document either way. */
int cfg_file_load(cfg_loader *ld, cfg_src *s, const char *path);
/* The same for a map the caller holds (len bytes at data, not necessarily
 * NUL-terminated, which the caller keeps); name stands for the file in
 * messages. */
int cfg_buffer_load(cfg_loader *ld, cfg_src *s, const char *name,
                    const char *data, size_t len);
void cfg_file_unload(cfg_src *s);

/* ---- PLC maps (plc.c) --------------------------------------------------- */

/* Parses a PLC mapping of s into p (defaults first), then runs the per-PLC
 * check pass (duplicate tag ids, overlapping tags). */
void cfg_parse_plc(cfg_src *s, const yaml_node_t *n, map_plc *p,
                   cfg_plc_aux *aux);

/* ---- the model (model.c) ------------------------------------------------ */

/* Names as written in files, in enum order (map_table, map_type,
 * map_order). */
extern const char *const cfg_table_names[4];
extern const char *const cfg_type_names[10];
extern const char *const cfg_order_names[4];

void cfg_text_free(map_text *t);

/* Builds st->index for map_find_tag once every PLC is loaded, before the
 * station-wide checks (tags whose id was wrong are left out; with
 * duplicate full ids, which are errors, a lookup finds one of them). */
void cfg_index_build(map_station *st);
/* map_find_tag, also giving the tag's station-wide position. */
const map_tag *cfg_find_tag_pos(const map_station *st, const char *full_id,
                                size_t *pos);

/* ---- station sections (station.c and one conf_*.c each) ----------------- */

/* "<data_dir>/name" (malloc'd): where a section puts a file or directory
 * whose path the map does not give.  st->data_dir must be set. */
char *cfg_data_path(const map_station *st, const char *name);

/* A top-level key of a station file other than `station` and `plcs`.  To
 * add a section: write conf_<key>.c defining one of these, declare it
 * below and list it in station.c's table. */
typedef struct {
    const char *key;
    /* Before anything is read, for station and single-PLC files alike
     * (NULL: nothing to do). */
    void (*defaults)(map_station *st);
    /* The key's value, when the key is present. */
    void (*parse)(cfg_src *s, const yaml_node_t *n, map_station *st);
    /* After every PLC is loaded and checked: defaults that depend on other
     * keys (NULL: nothing to do).  s is the station file, still loaded;
     * errors reported here fail the load like any other. */
    void (*finish)(cfg_src *s, map_station *st);
} cfg_section;

/* ---- alarms (conf_alarms.c) ------------------------------------------- */

/* A tag's `alarms:` list; type_ok says the tag's type is valid (only then
 * are conditions checked against it). */
void cfg_parse_tag_alarms(cfg_src *s, const yaml_node_t *n,
                          const map_plc *plc, map_tag *t, bool type_ok);
/* A PLC's comm alarm: defaults before its keys are read, `comm_alarm:`
 * when present, and the rest (id, delay from the poll groups, message)
 * once the PLC is read. */
void cfg_comm_alarm_defaults(map_plc *p);
void cfg_parse_comm_alarm(cfg_src *s, const yaml_node_t *n, map_plc *p);
void cfg_comm_alarm_finish(map_plc *p);
/* After every PLC is loaded and indexed: tag positions, deviation
 * partners, default messages.  pa gives each PLC's file rank. */
void cfg_check_alarms(cfg_loader *ld, map_station *st, const cfg_plc_aux *pa);
void cfg_alarm_free(map_alarm *a);

extern const cfg_section cfg_history_section;
extern const cfg_section cfg_influx_section;
extern const cfg_section cfg_web_section;
extern const cfg_section cfg_auth_section;
extern const cfg_section cfg_schematic_section;
extern const cfg_section cfg_alarms_section;
extern const cfg_section cfg_modes_section;
extern const cfg_section cfg_chatter_section;
extern const cfg_section cfg_journal_section;
extern const cfg_section cfg_notify_section;

/* ---- notify (conf_notify.c) -------------------------------------------- */

/* "mon-fri", "sat,sun", "fri-mon", "daily" into bits of weekdays (0 =
 * Sunday); -1 on anything else. */
int cfg_parse_days(const char *v, uint8_t *out);
void cfg_notify_free(map_notify *nf);

/* Whether tz names a zone of the system's database (station.c). */
bool cfg_timezone_exists(const char *tz);

#endif
