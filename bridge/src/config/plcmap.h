/*
 * plcmap.h - station and PLC register maps: the data model and its loader.
 *
 * A map file is YAML (libyaml).  lockbridge accepts either a station file
 * (`station:` + `plcs:`, where each entry of `plcs` is a path relative to the
 * station file or an inline PLC map) or a single PLC file (`id:`, `host:`,
 * `tags:`), which is wrapped into a station of one PLC whose id is the PLC's.
 *
 * Loading parses, fills defaults, then runs a check pass over the whole
 * station (duplicates, overlaps, limits).  Every problem found is reported,
 * not just the first, each as "file:line:col: message" with the position of
 * the offending YAML node (1-based line and column, as editors count).
 *
 * Addresses in the model are always protocol addresses (0-based, as they go
 * on the wire); `address_base: 1` in a file only changes how the file is
 * read.  The model is immutable after map_load() and may be read from any
 * thread without locking.
 */
#ifndef LB_PLCMAP_H
#define LB_PLCMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Modbus protocol limits (Modbus Application Protocol v1.1b3, 6.1-6.4):
 * one read returns at most 2000 coils/discrete inputs or 125 registers. */
#define MAP_MAX_BITS 2000
#define MAP_MAX_REGS 125

/* Poll groups a PLC may have; everything that runs groups (the scheduler)
 * supports this many. */
#define MAP_GROUPS_MAX 64
/* The station file's keys that only a restart applies (map_fixed_changed) */
#define MAP_FIXED_N 9

typedef enum { MAP_COIL, MAP_DISCRETE, MAP_INPUT, MAP_HOLDING } map_table;

typedef enum {
    MAP_BOOL, MAP_U16, MAP_I16, MAP_U32, MAP_I32,
    MAP_U64, MAP_I64, MAP_F32, MAP_F64, MAP_STRING
} map_type;

/* Order of the bytes of a multi-register value, written as the bytes of a
 * 32-bit value A (most significant) .. D as they appear on the wire.
 * ABCD: big-endian words, most significant word first (Modbus default).
 * CDAB: words swapped.  BADC: bytes swapped in each word.  DCBA: both.
 * For 64-bit values the same rule extends: CDAB reverses the four words,
 * BADC swaps bytes within each word.  Strings use only the byte part:
 * ABCD/CDAB = first character in the high byte, BADC/DCBA = in the low. */
typedef enum { MAP_ABCD, MAP_CDAB, MAP_BADC, MAP_DCBA } map_order;

/* A bilingual text; zh may be NULL, en is never NULL after loading. */
typedef struct {
    char *en;
    char *zh;
} map_text;

typedef struct {
    int64_t value;
    map_text label;
} map_state;

#include "config/alarmdef.h"
#include "config/notifydef.h"

/* A growing list of "file:line:col: message" strings. */
typedef struct {
    char **msgs;
    size_t n, cap;
} map_errors;


typedef struct {
    char *name;          /* "fast", "slow", ... */
    uint64_t period_ns;
    bool sample;         /* `mode: sample`: every poll is written (issue 3) */
} map_group;

typedef struct {
    char *id;            /* local id, e.g. "left_leaf_position" */
    char *full_id;       /* "<plc id>.<id>", unique in the station */
    map_text name;       /* defaults to the id */
    char *description;   /* optional, NULL when absent */
    map_table table;
    uint16_t address;    /* protocol address (0-based) */
    map_type type;
    int bit;             /* 0..15 for a bool taken from a register, else -1 */
    map_order order;     /* the tag's `order`, else the PLC's word_order */
    uint16_t length;     /* string: registers; others: 0 */
    uint16_t nregs;      /* registers (or bits, for coil/discrete) occupied */
    double scale;        /* 1 when absent */
    double offset;       /* 0 when absent */
    bool scaled;         /* scale != 1 or offset != 0: value becomes VAL_REAL */
    char *unit;          /* NULL when absent */
    int group;           /* index into the PLC's groups */
    double deadband;     /* 0: every change is news */
    bool has_range;      /* display range `range: [min, max]` */
    double range_min, range_max;
    map_state *states;   /* enumerated state codes, NULL when none */
    size_t n_states;
    map_alarm *alarms;   /* `alarms:`, in file order; NULL when none */
    size_t n_alarms;
    int line, col;       /* where the tag is defined */
} map_tag;

typedef struct {
    char *id;
    map_text name;
    char *description;
    bool enabled;        /* `enabled: false` keeps the map but never polls */
    char *host;
    int port;            /* default 502 */
    int unit;            /* Modbus unit id, default 1 */
    uint64_t timeout_ns; /* response timeout, default 500 ms */
    map_order word_order;/* default ABCD */
    int address_base;    /* 0 or 1, as written in the file */
    int max_gap;         /* registers/bits a request may read but not use
                            to save a request; default 16 */
    map_group *groups;   /* default: fast 1 s */
    size_t n_groups;
    map_tag *tags;
    size_t n_tags;
    map_alarm comm_alarm;/* `<plc>.comm`; `comm_alarm:` tunes it.  Its
                            default on_delay is the PLC's stale time: three
                            polls of its fastest group plus the timeout */
    char *file;          /* the file the PLC was defined in */
    int line, col;
} map_plc;

/* `history:` in a station file: the embedded SQLite history (issue 3). */
typedef struct {
    bool enabled;        /* default true; `history: off` or enabled: false */
    char *path;          /* default "<data_dir>/history.db"; a path
                            written in the file is kept as written
                            (relative to the working directory) */
    int raw_days;        /* default 30 */
    int rollup_1m_days;  /* default 400 */
    int rollup_10m_days; /* default 1100 */
    int rollup_1h_days;  /* default 3650 */
} map_history;

/* `alarm_journal:` in a station file: where the alarm journal is kept. */
typedef struct {
    char *path;          /* default "<data_dir>/alarms.db"; a path written
                            in the file is kept as written */
    uint64_t retention_ns;  /* default 2 years (730 days); 0: forever */
} map_journal;

/* `influx:` in a station file: an optional line-protocol destination.
 * Secrets are never in the file: they are named by environment variable or
 * by a file path, and resolved when the bridge starts. */
typedef struct {
    bool enabled;             /* the section is present */
    char *url;                /* required */
    char *database;           /* 1.x / VictoriaMetrics */
    char *rp;
    char *username;
    char *password_env, *password_file;
    char *org, *bucket;       /* 2.x: both set */
    char *tenant;             /* VictoriaMetrics cluster: "0", "42:7" */
    char *consistency;        /* InfluxDB Enterprise: one|any|quorum|all */
    char *token_env, *token_file;
    char *precision;          /* "ns" (default), "us", "ms", "s" */
    size_t batch_points;      /* default 5000 */
    uint64_t batch_age_ns;    /* default 1 s */
    bool gzip;                /* default false */
    uint64_t timeout_ns;      /* default 10 s */
    char *spool_dir;          /* default "<data_dir>/spool"; as written
                                 otherwise */
    uint64_t spool_max_bytes; /* default 1 GiB; `spool_max: 512MiB` */
    int line, col;
} map_influx;

/* `web: {metrics: ...}`: who may read GET /metrics (web/metrics.h).
 * LOOPBACK (the default): anyone from 127.0.0.0/8 or ::1, a bearer token
 * from elsewhere; TOKEN: the token even on loopback; OFF: 404. */
typedef enum { MAP_METRICS_LOOPBACK, MAP_METRICS_TOKEN, MAP_METRICS_OFF }
    map_metrics_access;

typedef struct {
    map_metrics_access access;
    char *token_env, *token_file; /* the bearer token, never inline */
} map_metrics;

/* `web:` in a station file: the dashboard's server (web/). */
typedef struct {
    bool enabled;             /* default true; `web: off` */
    char *listen;             /* "ADDRESS:PORT", default "127.0.0.1:8080":
                                 never every interface unless written */
    char *root;               /* the built dashboard; NULL: the one next to
                                 the executable (see web/README.md) */
    char **origins;           /* Origins allowed on /ws besides our own */
    size_t n_origins;
    unsigned rate_hz;         /* WebSocket frames per client per second,
                                 default 10 */
    uint64_t stuck_after_ns;  /* a client that cannot take a frame for
                                 this long is dropped; default 30 s */
    char *tls_cert, *tls_key; /* `tls: {cert, key}`: HTTPS and WSS */
    bool insecure;            /* plain HTTP beyond loopback, on purpose */
    map_metrics metrics;
    int line, col;
} map_web;

/* Whether a listen address ("127.0.0.1:8080", "[::1]:8080") reaches only
 * this machine (127.0.0.0/8 or ::1). */
bool map_listen_is_loopback(const char *listen);

/* `auth:` in a station file: who may act (auth/). */
typedef enum { MAP_ANON_VIEWER, MAP_ANON_NONE } map_anonymous;

typedef struct {
    char *users;              /* the users file; default "<data_dir>/users",
                                 a path written in the file as written */
    map_anonymous anonymous;  /* what a browser that has not logged in
                                 gets; default viewer */
    bool anonymous_set;       /* `anonymous` was written (the web server
                                 makes the default none beyond loopback) */
    uint64_t session_idle_ns; /* default 30 min (never above session_max) */
    uint64_t session_max_ns;  /* default 12 h */
    uint64_t token_session_ns;/* a kiosk token's session, default 30 days */
    uint64_t throttle_window_ns; /* 5 failed logins within this start a
                                    wait, which grows up to this; default
                                    15 min, 1 s to 1 day */
    int line, col;            /* the section, 0 when absent */
} map_auth;

/* `schematic:` in a station file: which tag plays which part in the
 * overview's drawing of the lock (a role such as "chamber_level" and one
 * tag, or a list for "upper_valves").  Roles are a fixed list, so a typo
 * is an error; every tag must exist. */
typedef struct {
    const char *role;         /* static string from the list of roles */
    char **tags;              /* full ids */
    size_t n_tags;
    int line, col;            /* the role's key */
    int *tag_pos;             /* line, col of each tag (2 per tag) */
} map_binding;

/* Lookups by full id, built by map_load (model.c); opaque. */
struct map_tag_index;

typedef struct {
    char *id;
    map_text name;
    char *timezone;      /* IANA name, default "UTC" */
    uint64_t heartbeat_ns; /* `heartbeat: 1m`: every tag written at least
                              this often (default 60 s; 0 = off) */
    char *data_dir;      /* `data_dir:`, the one directory the bridge keeps
                            its state in (history, spool); default "data",
                            relative to the working directory.  Never NULL
                            after map_load.  Not created here: whoever
                            writes there creates it. */
    map_history history;
    map_influx influx;
    map_web web;
    map_auth auth;
    map_binding *schematic;   /* in file order; NULL when none */
    size_t n_schematic;
    map_alarm *alarms;        /* station `alarms:` (expressions) */
    size_t n_alarms;
    map_modes modes;          /* `modes:` */
    map_chatter chatter;      /* `chattering:` */
    map_journal alarm_journal;/* `alarm_journal:` */
    map_notify notify;        /* `notify:` */
    map_errors warnings;      /* "file:line:col: warning: ..." that do not
                                 fail the load (check prints them, run
                                 logs them) */
    map_plc *plcs;
    size_t n_plcs;
    char *file;          /* path as given to map_load */
    /* What a reload may not change (map_fixed_changed): a fingerprint of
     * the YAML value of each top-level key that only a restart applies,
     * in a fixed order; 0 for a key that is absent. */
    uint64_t fixed_sig[MAP_FIXED_N];
    struct map_tag_index *index; /* map_find_tag's; NULL in a station not
                                    built by map_load (lookups then scan) */
} map_station;

/* Loads and checks a station or PLC file.  Returns a station owned by the
 * caller (map_free) or NULL when anything is wrong; every error found is
 * appended to errs (which the caller frees with map_errors_free).  I/O
 * errors are reported the same way ("file: cannot open: reason"). */
map_station *map_load(const char *path, map_errors *errs);
/* The same with data_dir (when not NULL) in place of the file's own
 * data_dir: every default path under it (history, spool, users, journals)
 * follows.  For `--data-dir DIR` (systemd's StateDirectory=). */
map_station *map_load_data_dir(const char *path, const char *data_dir,
                               map_errors *errs);
/* The same for a map held in memory: len bytes at data (not necessarily
 * NUL-terminated; the caller keeps them), reported and recorded
 * (st->file) as `name` (NULL: "(memory)").  Nothing is read from disk
 * but the time zone database: a station's `plcs:` entries must be inline
 * PLC maps, and a file name there is an error ("'gate.yaml' cannot be
 * included: ...").  The same limits and the same messages as a file,
 * otherwise; this is what the map fuzzer feeds (tests/fuzz/map/). */
map_station *map_load_buffer(const char *name, const char *data, size_t len,
                             map_errors *errs);
void map_free(map_station *st);

/* A reload (`lockbridge run` on SIGHUP) applies a new map's PLCs, tags,
 * alarms, schematic, modes and chattering settings; the other top-level
 * keys of the station file (station, data_dir, heartbeat, history,
 * influx, web, auth, alarm_journal, notify) are read by parts that open
 * files, sockets and threads once, so only a restart applies them.  The
 * first of those whose YAML value differs between a and b (written or
 * not, formatting and comments aside), or NULL when none does.  Files
 * those keys name (a users file, TLS certificates) are not compared. */
const char *map_fixed_changed(const map_station *a, const map_station *b);

/* True when a poller of PLC a would poll PLC b exactly as it polls a:
 * the same id, endpoint, unit, timeout, word order, request planning
 * (max_gap), poll groups, and tags in the same order with the same
 * addresses, types and scaling.  What only the rest of the bridge reads
 * (names, units, deadbands, ranges, states, alarms) may differ: a reload
 * then keeps the PLC's poller running. */
bool map_plc_same_polling(const map_plc *a, const map_plc *b);

void map_errors_free(map_errors *errs);
/* Appends a formatted message; used by the loader and its helpers. */
void map_errors_add(map_errors *errs, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Lookup helpers; NULL when absent.  full_id is "<plc>.<tag>".
 * map_find_tag is a binary search over every tag of the station
 * (O(log n) string compares), cheap enough to call per request;
 * map_find_plc scans the PLCs. */
const map_plc *map_find_plc(const map_station *st, const char *id);
const map_tag *map_find_tag(const map_station *st, const char *full_id);

/* Resolves a tag selection as users write it (`export --tags`, the HTTP
 * API's ?tags=): names separated by commas and/or spaces, each a full id
 * "plc.tag" or "plc.*" (every tag of that PLC, in map order).  spec NULL
 * selects every tag of the station, in map order.
 *
 * 0 with *out a malloc'd array of *n tags of st, in the order named and
 * each tag once (where first named); the caller frees the array (free),
 * never the tags.  A spec naming nothing ("", ",") gives *n 0.  -1 with
 * *out NULL, *n 0 and err naming the first unknown name:
 *   "no tag 'upper_gate.x' in FILE (use plc.tag or plc.*)"
 *   "no PLC 'nosuch' in FILE"
 * (FILE is st->file; the name is echoed as given, so escape it before
 * putting it in HTML or JSON). */
int map_select_tags(const map_station *st, const char *spec,
                    const map_tag ***out, size_t *n, char *err,
                    size_t errlen);

/* Alarms the engine evaluates: the comm alarm and tag alarms of every
 * enabled PLC and the station alarms, those with `enabled: false` not
 * counted. */
size_t map_alarm_count(const map_station *st);

/* Names as written in files: "coil", "u16", "ABCD", ... */
const char *map_table_name(map_table t);
const char *map_type_name(map_type t);
const char *map_order_name(map_order o);
/* True for tables whose elements are single bits (coil, discrete). */
bool map_table_is_bits(map_table t);

/* Registers a value of this type occupies (string: length; bool: 1). */
uint16_t map_type_regs(map_type t, uint16_t length);

/* The state label for a value, NULL when the tag has no such state. */
const map_text *map_state_label(const map_tag *t, int64_t value);

/* Parses "500ms", "2s", "1.5s", "1m", "100us" into ns; -1 on error. */
int map_parse_duration(const char *s, uint64_t *ns);

/* The roles `schematic:` accepts, NULL-terminated, and whether a role takes
 * a list of tags (else exactly one). */
extern const char *const map_schematic_roles[];
bool map_schematic_role_is_list(const char *role);

#endif
