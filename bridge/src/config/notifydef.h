/*
 * notifydef.h - the station's `notify:` section as the model holds it:
 * people, channels, on-call levels with their rotas and overrides,
 * routes, grouping, where the notification journal lives and the time
 * zone the rotas are written in (notify/, plc-maps/README.md#notify).
 *
 * Included by config/plcmap.h; nothing here is allocated by anyone but
 * map_load, and map_free frees all of it.  References between the parts
 * (a shift's person, a route's channels) are indices into the arrays of
 * this struct, resolved and checked at load, so a consumer never looks a
 * name up.
 */
#ifndef LB_PLCMAP_H
#error "include config/plcmap.h, which includes this"
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    MAP_CH_EMAIL, MAP_CH_WEBHOOK, MAP_CH_WECOM, MAP_CH_DINGTALK, MAP_CH_MQTT
} map_channel_type;
#define MAP_CH_TYPES 5

/* SMTP STARTTLS: try it when offered (auto), insist (always), or never. */
typedef enum { MAP_TLS_AUTO, MAP_TLS_ALWAYS, MAP_TLS_NEVER } map_starttls;

typedef struct {
    char *id;
    char *name;               /* defaults to the id */
    char *email, *phone, *wecom;  /* each NULL when absent */
    int line, col;
} map_person;

typedef struct {
    char *id;
    map_channel_type type;
    /* The destination: url as written, or named by url_env / url_file
     * (robot URLs hold their key, so wecom and dingtalk take only those).
     * Exactly one of the three is set. */
    char *url, *url_env, *url_file;
    /* email */
    char *from;               /* required */
    char **to;                /* fixed recipients besides the on-call */
    size_t n_to;
    map_starttls starttls;    /* default auto */
    char *username;           /* SMTP AUTH; its password by env or file */
    char *password_env, *password_file;
    /* dingtalk: the signing secret */
    char *secret_env, *secret_file;
    /* mqtt: the alarms' topic, the retained summary's (default
     * "<topic>/active"), the QoS of both (0-2, default 1), the client id
     * (NULL: "lockbridge-<station id>"), the CA file for mqtts:// (NULL:
     * the system's); username and password_* as for email */
    char *topic, *summary_topic, *client_id, *ca_file;
    int qos;
    uint64_t timeout_ns;      /* one attempt, default 10 s */
    /* At most rate_messages attempts in any rate_per_ns: more are held
     * back and go out together when there is room (never dropped).
     * Default 20 a minute for the robots (their documented limit), none
     * (0) for the others. */
    unsigned rate_messages;
    uint64_t rate_per_ns;
    bool action_card;         /* dingtalk: msgtype actionCard, not markdown */
    /* `fail_alarm:`: the channel's own alarm, `notify.<id>.failing`
     * (kind MAP_AL_CHANNEL, area "station", priority high unless said),
     * active once its last fail_after attempts in a row failed;
     * fail_alarm.enabled false for `fail_alarm: false`. */
    map_alarm fail_alarm;
    unsigned fail_after;      /* default 3, 1..100 */
    int line, col;
} map_channel;

/* One hand-over slot of a rota: on the days of `days` from `from` until
 * `to` (minutes of the local day).  to <= from runs past midnight into
 * the next day (20:00-08:00); from == to is a whole day. */
typedef struct {
    uint8_t days;             /* bit d: weekday d, 0 = Sunday (tm_wday) */
    int from_min, to_min;     /* from 0..1439, to 1..1440 */
    size_t person;            /* index into people */
    int line, col;
} map_shift;

/* A local date and time as written (2026-12-24T08:00), in the station's
 * zone; turned into an instant only when the zone is set (notify/rota). */
typedef struct {
    int year, mon, day, hour, min, sec;   /* mon 1..12; sec 0 unless given */
} map_localtime;

typedef struct {
    map_localtime from, to;   /* from < to */
    size_t person;
    int line, col;
} map_override;

typedef struct {
    int level;                /* 1, 2, ...: unique, sorted ascending */
    map_shift *shifts;
    size_t n_shifts;
    map_override *overrides;
    size_t n_overrides;
    int line, col;
} map_oncall;

/* The notifications one alarm event may make under one route (webhooks,
 * `to` addresses, the person on call): a route asking for more is an
 * error, so delivery can size its buffers once. */
#define MAP_ROUTE_ROWS_MAX 64

typedef struct {
    uint8_t priorities;       /* bit p: map_priority p matches */
    char **areas;             /* NULL: every area */
    size_t n_areas;
    size_t *channels;         /* indices into channels */
    size_t n_channels;
    bool oncall;              /* `oncall` in notify: level 1's person */
    uint64_t escalate_after_ns;  /* 0: never (escalation: issue 10 step 2) */
    uint64_t repeat_ns;          /* 0: never (step 2) */
    bool on_clear;            /* say when the alarm clears */
    int line, col;
} map_route;

typedef struct {
    bool enabled;             /* the section is present */
    map_person *people;
    size_t n_people;
    map_channel *channels;
    size_t n_channels;
    map_oncall *oncall;       /* sorted by level */
    size_t n_oncall;
    map_route *routes;        /* first match wins */
    size_t n_routes;
    uint64_t group_wait_ns;   /* default 30 s */
    uint64_t group_interval_ns;  /* default 5 min (flood summaries, step 2) */
    char *public_url;         /* NULL when absent */
    char *timezone;           /* IANA name: notify.timezone, else
                                 station.timezone as written, else NULL:
                                 the system's (TZ, /etc/localtime) */
    char *journal;            /* default "<data_dir>/notify.db" */
    /* How long delivered, done and cancelled rows and attempts are kept
     * (pending ones and steps always are); 0: forever.  730 days. */
    uint64_t retention_ns;
    int line, col;
} map_notify;

const char *map_channel_type_name(map_channel_type t);
