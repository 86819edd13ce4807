/*
 * engine.h - the alarm engine: the alarms of a station map, driven by the
 * stream of tag changes and by time, with ISA-18.2 states, and every
 * transition handed out as a record.
 *
 * States (ISA-18.2 / IEC 62682, OPC UA Part 9):
 *
 *     normal --condition--> active-unack --ack--> active-ack
 *       ^                        |                    |
 *       |                     clears               clears
 *       |                        v                    |
 *       +------ack------- cleared-unack               |
 *       +---------------------------------------------+
 *
 * and, orthogonal to them, flags: latched (a `latch: true` alarm whose
 * condition has cleared stays active until reset), shelved (by an
 * operator, with a reason, until a time or - one-shot - until it next
 * clears), out of service (disabled by an engineer: not evaluated, shown
 * as normal), suppressed by design (its PLC's comm alarm is active: one
 * comm alarm, not fifty) or by mode (the station mode suppresses its
 * priority), and chattering.  Shelved, out-of-service and suppressed
 * alarms are still journalled; part of showing them is not showing them.
 *
 * Conditions are three-valued.  A tag alarm's condition is unknown while
 * its tag is not good (a quality alarm's while the tag is comm-failure or
 * not yet polled: the comm alarm covers those), a station expression's
 * when the answer depends on such a tag (alarm/expr.h).  An unknown
 * condition holds the alarm where it is and restarts any pending delay:
 * it is never taken for true or false.
 *
 * Timing: the engine has no clock of its own.  Every change carries the
 * time of the Modbus response it came from, and that is the alarm's time;
 * alarm_tick(now) lets time pass without changes (delays, shelving
 * expiry, chattering, rates falling back).  A delayed transition is
 * stamped with the time it fell due (the condition has held since), so
 * the same inputs give the same records whenever the ticks come.  Time
 * inside the engine never goes back: an input older than one already seen
 * counts as happening at the newer time.  A record is emitted for every
 * transition (state or flag), in time order, through the callback, which
 * part 2 uses to journal it before it is shown; each record carries the
 * alarm's whole status after it, so the last record of an alarm is
 * enough to restore it (alarm_restore).
 *
 * Conditions and their clearing:
 *   above X     value > X, clears at value <= X - deadband
 *   below X     value < X, clears at value >= X + deadband
 *   when B      a bool tag == B
 *   states [c]  the code is one of c (the message may say {label})
 *   rate X      |change per second| > X, clears at <= X - deadband: the
 *               change between this value and the newest one at least
 *               `window` (1 s) older, over the time between them; a value
 *               that stops changing has rate 0 one window later
 *   deviation   |value - from's value| > max, clears at <= max - deadband
 *   quality     the tag is stale, device-error or decode-error
 *   expression  the station expression is true
 *   comm        the PLC answers nothing (comm-failure) for on_delay,
 *               by default its stale time
 *   channel     external: a notify channel's last `after` attempts
 *               failed.  Not read from tags: whoever watches the
 *               channel (cmd_run's timer, from notify_channel_health)
 *               hands the three-valued condition in through
 *               alarm_set_external; it is unknown until first handed in
 *               (and after a restore), and then goes through the same
 *               delays, latch, shelving, chattering and records as any
 *               other condition.  Station-level: no PLC, never
 *               suppressed by design.
 * then on_delay (must hold that long before the alarm is active) and
 * off_delay (must be gone that long before it clears).  An alarm becoming
 * active `chattering.count` times within `chattering.window` chatters: it
 * is flagged and counted, and stays active (no clear, no new activation
 * recorded) until it has not, then clears if its condition has.
 *
 * Threads: everything here runs on the consumer thread (core/dispatch.h),
 * or on whichever single thread owns the engine: no locks.  The hot path
 * (alarm_feed) allocates nothing and costs O(alarms on the changed tag):
 * an index from each tag to the alarms and expressions that read it is
 * built once by alarm_engine_new.  The station map must outlive the
 * engine.
 */
#ifndef LB_ALARM_ENGINE_H
#define LB_ALARM_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/plcmap.h"
#include "core/tagstore.h"

typedef struct alarm_engine alarm_engine;

typedef enum {
    ALARM_NORMAL,
    ALARM_ACTIVE_UNACK,
    ALARM_ACTIVE_ACK,
    ALARM_CLEARED_UNACK,     /* returned to normal, not yet acknowledged */
} alarm_state;

/* Flags of alarm_status.flags. */
#define ALARM_LATCHED        0x01u  /* latch: condition gone, awaiting reset */
#define ALARM_SHELVED        0x02u
#define ALARM_ONESHOT        0x04u  /* with SHELVED: until it next clears */
#define ALARM_OUT_OF_SERVICE 0x08u
#define ALARM_SUPP_DESIGN    0x10u  /* its PLC's comm alarm is active */
#define ALARM_SUPP_MODE      0x20u  /* the station mode suppresses it */
#define ALARM_CHATTERING     0x40u
#define ALARM_FLAGS_N        7

/* What caused a record. */
typedef enum {
    ALARM_EV_ACTIVE,         /* the condition came (after on_delay) */
    ALARM_EV_CLEAR,          /* ... and went (after off_delay) */
    ALARM_EV_LATCH,          /* it went, and the alarm latched in */
    ALARM_EV_RETURN,         /* it came back to a latched alarm */
    ALARM_EV_ACK,
    ALARM_EV_RESET,
    ALARM_EV_SHELVE,
    ALARM_EV_UNSHELVE,       /* by an operator */
    ALARM_EV_SHELVE_END,     /* expiry, or a one-shot's clear */
    ALARM_EV_DISABLE,        /* out of service */
    ALARM_EV_ENABLE,
    ALARM_EV_SUPPRESS,       /* by design or mode (see flags) */
    ALARM_EV_UNSUPPRESS,
    ALARM_EV_CHATTER,
    ALARM_EV_CHATTER_END,
    ALARM_EV_COMMENT,
} alarm_event;

/* A condition as the engine last evaluated it. */
typedef enum { ALARM_COND_FALSE, ALARM_COND_TRUE, ALARM_COND_UNKNOWN }
    alarm_cond;

#define ALARM_WHO_MAX 65     /* a user name (auth: 1-64 bytes), its NUL */
#define ALARM_TEXT_MAX 256   /* a shelve reason or a comment, with its NUL */

/* An alarm's whole state: what is shown and what a restart restores.
 * Plain data (no pointers), so it is copied by assignment. */
typedef struct {
    alarm_state state;
    uint32_t flags;
    int64_t changed_ns;      /* time of the last record */
    int64_t active_ns;       /* when it last became active; 0 when normal */
    int64_t acked_ns;        /* the acknowledgement of this activation */
    char acked_by[ALARM_WHO_MAX];
    int64_t shelved_ns;      /* while shelved */
    int64_t shelved_until_ns;/* timed shelve's expiry; 0 for one-shot */
    char shelved_by[ALARM_WHO_MAX];
    char shelve_reason[ALARM_TEXT_MAX];
    int64_t oos_ns;          /* while out of service */
    char oos_by[ALARM_WHO_MAX];
    bool has_value;
    double value;            /* at the last record: the value compared (the
                                rate for rate, the difference for deviation) */
    uint32_t activations;    /* since the engine started (or was restored) */
    uint32_t chatter_count;  /* times it started chattering */
} alarm_status;

/* One transition.  Pointers are valid during the callback only. */
typedef struct {
    uint32_t alarm;          /* index, 0..alarm_count() */
    const char *id;          /* full id */
    alarm_event event;
    alarm_state from_state;
    uint32_t from_flags;
    alarm_status to;         /* the whole status after the transition */
    int64_t ts_ns;           /* when: sample time, due time or action time */
    const char *who;         /* who acted; NULL when the engine did */
    const char *comment;     /* ack or shelve comment, comment text; NULL */
} alarm_record;

typedef void (*alarm_record_fn)(void *ctx, const alarm_record *r);

/* Builds the engine for st's alarms: for each enabled PLC its comm alarm
 * and its tags' alarms, in map order, then the station alarms, then each
 * notify channel's `notify.<id>.failing`; alarms with
 * `enabled: false` are left out.  Every alarm starts normal, every
 * condition unknown.  fn receives every record (may be NULL).  NULL when
 * out of memory. */
alarm_engine *alarm_engine_new(const map_station *st, alarm_record_fn fn,
                               void *ctx);
void alarm_engine_free(alarm_engine *e);

size_t alarm_count(const alarm_engine *e);
/* The index of a full id, -1 when there is none. */
long alarm_find(const alarm_engine *e, const char *id);
const char *alarm_id(const alarm_engine *e, size_t idx);
const map_alarm *alarm_def(const alarm_engine *e, size_t idx);
const alarm_status *alarm_get(const alarm_engine *e, size_t idx);
alarm_cond alarm_condition(const alarm_engine *e, size_t idx);

/* n changes in time order (a dispatch subscriber's batch).  Records of
 * transitions that fell due before a change are emitted before it.
 * Consecutive changes with one time stamp (one Modbus response) are taken
 * in together and then each alarm they touch is evaluated once, so an
 * alarm over two tags of one response never sees one new and one old
 * value. */
void alarm_feed(alarm_engine *e, const tag_change *c, size_t n);
/* Time passes: every delay, shelve expiry, chattering window and rate
 * window due by now_ns takes effect. */
void alarm_tick(alarm_engine *e, int64_t now_ns);
/* An external alarm's (kind MAP_AL_CHANNEL) condition as it stands at
 * now_ns: what fell due before now_ns happens first (as alarm_tick),
 * then the condition is evaluated like a tag alarm's after a change
 * (unknown holds the alarm where it is and restarts a pending delay).
 * Handing in the same condition again changes nothing.  0, or -1 when
 * idx is not an external alarm or cond not a condition. */
int alarm_set_external(alarm_engine *e, size_t idx, alarm_cond cond,
                       int64_t now_ns);
/* The earliest time at which alarm_tick has something to do; INT64_MAX
 * when nothing is pending. */
int64_t alarm_next_deadline(const alarm_engine *e);

/* ---- actions --------------------------------------------------------- */

typedef enum {
    ALARM_OK = 0,
    ALARM_E_NO_ALARM,        /* no alarm with that index */
    ALARM_E_BAD_ARG,         /* no who, text too long, expiry in the past */
    ALARM_E_NOT_UNACKED,     /* ack: nothing to acknowledge */
    ALARM_E_NOT_LATCHING,    /* reset: the alarm has no latch */
    ALARM_E_NOT_LATCHED,     /* reset: not latched in (normal) */
    ALARM_E_STILL_ACTIVE,    /* reset: its condition has not cleared */
    ALARM_E_NOT_ACTIVE,      /* one-shot shelve of an alarm that is not active */
    ALARM_E_NOT_SHELVED,     /* unshelve */
    ALARM_E_OUT_OF_SERVICE,  /* ack, shelve, reset of a disabled alarm;
                                disable of one that already is */
    ALARM_E_IN_SERVICE,      /* enable of an alarm that is not disabled */
} alarm_err;

/* "nothing to acknowledge", ... */
const char *alarm_strerror(alarm_err err);

/* Who acts and when (ts_ns: the wall-clock time of the request), with the
 * action's text: the ack comment (optional), the shelve reason and the
 * comment (required).  who is 1..ALARM_WHO_MAX-1 bytes, text at most
 * ALARM_TEXT_MAX-1.  An action is one record; the engine's time moves to
 * ts_ns first (what fell due before it happens before it). */
typedef struct {
    const char *who;
    int64_t ts_ns;
    const char *text;
} alarm_action;

typedef enum {
    ALARM_OP_ACK, ALARM_OP_SHELVE, ALARM_OP_UNSHELVE, ALARM_OP_COMMENT,
    ALARM_OP_RESET, ALARM_OP_DISABLE, ALARM_OP_ENABLE,
} alarm_op;

/* "ack", "shelve", "unshelve", "comment", "reset", "disable", "enable"
 * (the API's words and the audit log's). */
const char *alarm_op_name(alarm_op op);

/* Whether the action would be taken now, by the same checks the action
 * makes, changing nothing (until_ns for a shelve, as alarm_shelve): for a
 * caller that must record an action before it takes effect (the audit
 * log).  What is due but not yet run (a delay, an expiry) is not run
 * first, so the action itself may still refuse, with the same codes. */
alarm_err alarm_check(const alarm_engine *e, alarm_op op, size_t idx,
                      const alarm_action *a, int64_t until_ns);

/* active-unack -> active-ack, cleared-unack -> normal. */
alarm_err alarm_ack(alarm_engine *e, size_t idx, const alarm_action *a);
/* Hides the alarm until until_ns (> a->ts_ns), or with until_ns 0 until
 * it next clears (one-shot; the alarm must be active).  Shelving is the
 * operator's answer to the alarm, so it acknowledges it too.  Shelving a
 * shelved alarm replaces its shelve. */
alarm_err alarm_shelve(alarm_engine *e, size_t idx, const alarm_action *a,
                       int64_t until_ns);
alarm_err alarm_unshelve(alarm_engine *e, size_t idx, const alarm_action *a);
/* A latched alarm whose condition has cleared -> normal (acknowledging
 * it if it was not). */
alarm_err alarm_reset(alarm_engine *e, size_t idx, const alarm_action *a);
/* A record with a->text and no change of state. */
alarm_err alarm_comment(alarm_engine *e, size_t idx, const alarm_action *a);
/* Out of service: the alarm is shown normal and not evaluated (shelve,
 * latch and chattering end with it); back in service, its condition as it
 * stands now decides at once. */
alarm_err alarm_disable(alarm_engine *e, size_t idx, const alarm_action *a);
alarm_err alarm_enable(alarm_engine *e, size_t idx, const alarm_action *a);

/* ---- restart ---------------------------------------------------------- */

/* Puts the alarm that r->id names into r->to, as if r had just happened,
 * without emitting anything: replaying the records an engine emitted (or
 * only the last one of each alarm) into a fresh engine for the same map
 * gives every alarm the same status.  Called before the first
 * alarm_feed.  The condition is taken to be what the state says (true for
 * an active alarm that is not latched); the first changes then correct it
 * through the usual delays, and suppression is re-derived from the first
 * comm and mode information.  0, or -1 when the map has no such alarm
 * (it was removed since the record was written). */
int alarm_restore(alarm_engine *e, const alarm_record *r);

/* ---- text ----------------------------------------------------------------- */

const char *alarm_state_name(alarm_state s);   /* "active-unack", ... */
const char *alarm_event_name(alarm_event ev);  /* "active", "ack", ... */
/* The name of one flag bit ("shelved"), NULL for others. */
const char *alarm_flag_name(uint32_t bit);
/* The alarm's message in English (zh false) or Chinese (falling back to
 * English), its placeholders filled from st (the value at st's last
 * record, the tag's unit, the value's state label).  Returns the length
 * the whole text needs, like snprintf. */
size_t alarm_message(const alarm_engine *e, size_t idx,
                     const alarm_status *st, bool zh, char *buf, size_t len);

#endif
