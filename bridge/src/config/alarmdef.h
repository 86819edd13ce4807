/*
 * alarmdef.h - alarm definitions in the model (plcmap.h includes it;
 * include plcmap.h).
 *
 * Three places define alarms, all checked by map_load like the rest of
 * the map (conf_alarms.c, conf_modes.c):
 *
 *  - per tag, `alarms:` in a PLC file: a limit, a state, a rate, a
 *    deviation from another tag, or bad quality, each with its own
 *    delays, deadband, priority, area and message;
 *  - per PLC, one communication alarm `<plc>.comm`, always there for an
 *    enabled PLC (`comm_alarm:` tunes its priority, delay, area, message);
 *  - per station, `alarms:` in the station file: an expression over any
 *    tags (alarm/expr.h), compiled at load into the model;
 *  - per notify channel, one alarm `notify.<channel>.failing`, there
 *    unless the channel says `fail_alarm: false` (conf_notify.c): its
 *    condition comes from the notify thread's count of failed attempts.
 *
 * Plus the station's `modes:` (a tag whose value is the operating mode, and
 * which priorities each mode suppresses) and `chattering:` (how many
 * activations in how long make an alarm chatter).
 *
 * Full ids: "<plc>.<tag>.<id>" for a tag's alarm, "<plc>.comm" for the
 * communication alarm, the id itself for a station alarm, and
 * "notify.<channel>.failing" for a channel's.  Station alarm ids have no
 * dot, so they never collide; a PLC called `notify` is refused while
 * notify has channels, so channel alarms do not either.
 *
 * Like the rest of the model: immutable after map_load, readable from any
 * thread.  Tags are referred to by their station-wide position (PLCs in map
 * order, their tags in map order), the numbering the tag store uses.
 */
#ifndef LB_CONFIG_ALARMDEF_H
#define LB_CONFIG_ALARMDEF_H

#ifndef LB_PLCMAP_H
#error "include config/plcmap.h, which includes this after map_text"
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct expr;

/* Most urgent first, so a lower value sorts first. */
typedef enum {
    MAP_PRIO_CRITICAL, MAP_PRIO_HIGH, MAP_PRIO_MEDIUM, MAP_PRIO_LOW
} map_priority;
#define MAP_PRIO_N 4

typedef enum {
    MAP_AL_ABOVE,      /* value > limit; clears at value <= limit - deadband */
    MAP_AL_BELOW,      /* value < limit; clears at value >= limit + deadband */
    MAP_AL_WHEN,       /* a bool tag == when */
    MAP_AL_STATES,     /* an enumerated tag's code is one of codes[] */
    MAP_AL_RATE,       /* |change per second| over window_ns > limit */
    MAP_AL_DEVIATION,  /* |value - value of from_pos| > limit */
    MAP_AL_QUALITY,    /* the tag is stale, device-error or decode-error */
    MAP_AL_EXPR,       /* a station alarm: expr is true */
    MAP_AL_COMM,       /* a PLC's communication is lost */
    MAP_AL_CHANNEL,    /* a notify channel's last attempts failed: the
                          condition is handed in from outside
                          (alarm_set_external), not read from tags */
} map_alarm_kind;

typedef struct {
    char *id;               /* as written ("high"); "comm" for comm alarms */
    char *full_id;          /* see above; unique in the station */
    map_alarm_kind kind;
    double limit;           /* above, below, rate (per second), deviation max */
    bool when;              /* MAP_AL_WHEN */
    int64_t *codes;         /* MAP_AL_STATES, sorted, n_codes of them */
    size_t n_codes;
    char *from;             /* MAP_AL_DEVIATION: the other tag's full id */
    size_t from_pos;        /* ... and its station-wide position */
    int from_line, from_col;/* ... where `from` is written */
    char *expr_src;         /* MAP_AL_EXPR: the expression as written */
    struct expr *expr;      /* ... compiled, slots = station positions */
    double deadband;        /* above, below, rate, deviation; 0 otherwise */
    uint64_t on_delay_ns;   /* the condition must hold this long */
    uint64_t off_delay_ns;  /* ... and be gone this long before it clears */
    uint64_t window_ns;     /* MAP_AL_RATE: the rate's time base (1 s) */
    map_priority priority;  /* default medium; comm alarms high */
    char *area;             /* default: the PLC's id; station alarms
                               "station" */
    map_text message;       /* never NULL en; may hold {value} {unit}
                               {label} (alarm/message.h) */
    char *description;      /* free text for the operator; NULL when none */
    bool latch;             /* stays active until reset */
    bool enabled;           /* false: checked, never evaluated */
    size_t plc;             /* index of its PLC; (size_t)-1 for station
                               alarms */
    size_t tag_pos;         /* station position of its tag; (size_t)-1
                               for comm and station alarms */
    int line, col;          /* where it is defined (its file: the PLC's,
                               or the station's) */
} map_alarm;

/* `modes:` in a station file. */
typedef struct {
    char *name;             /* "maintenance" */
    int64_t *codes;         /* the tag values that mean this mode */
    size_t n_codes;
    bool suppress[MAP_PRIO_N]; /* priorities suppressed in this mode */
} map_mode;

typedef struct {
    bool enabled;           /* the section is present */
    char *tag;              /* full id of the mode tag */
    size_t tag_pos;
    map_mode *modes;        /* in file order of their first code */
    size_t n_modes;
} map_modes;

/* `chattering:` in a station file: an alarm chatters once it has become
 * active `count` times within `window`; it then stays active until it has
 * not, and is counted. */
typedef struct {
    unsigned count;         /* default 3 (ISA-18.2 TR5, EEMUA 191); 0: off */
    uint64_t window_ns;     /* default 60 s */
} map_chatter;

#define MAP_CHATTER_COUNT_MAX 32

/* "critical", "high", "medium", "low". */
const char *map_priority_name(map_priority p);

#endif
