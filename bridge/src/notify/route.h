/*
 * route.h - which notifications an alarm event makes: the first route of
 * notify.routes whose priorities (and areas, when given) match, and the
 * rows (njournal.h) it asks for: one per channel the route names (an
 * email channel's `to` addresses one each), and, for `oncall`, one mail
 * to the level-1 person on call at the event's time through the first
 * email channel.
 *
 * A channel's own alarm (notify.<id>.failing) goes to the matching
 * route's other channels, never to that channel (nor, for the first
 * email channel, to oncall, whose mail would go through it).
 *
 * A clear makes rows only when the matching route says on_clear; an
 * activation that is shelved or suppressed makes none (the caller does
 * not hand those in); any other event none.  Pure: any thread.
 *
 * Escalation.  An activation routed to oncall on a route with
 * escalate_after also makes a step (njournal.h) for the next configured
 * level, due escalate_after after the alarm's time; route_step turns a
 * due step into the mail to that level's person on call at that moment
 * (the rota then, overrides first) and the step for the level after,
 * escalate_after later.  Levels are those of notify.oncall, in order.
 *
 * Repeats.  An activation on a route with `repeat` also makes reminder
 * 1's step (njournal.h), due `repeat` after the alarm's time;
 * route_repeat_next makes the next one's, `repeat` after that.
 */
#ifndef LB_NOTIFY_ROUTE_H
#define LB_NOTIFY_ROUTE_H

#include <stddef.h>
#include <stdint.h>

#include "config/plcmap.h"
#include "notify/njournal.h"
#include "notify/rota.h"

#define ROUTE_ROWS_MAX MAP_ROUTE_ROWS_MAX

typedef struct {
    long route;               /* the index of the route that matched, -1 */
    bool nobody_on_call;      /* the route says oncall but nobody is */
    /* Channels (oncall: its mail channel) of the route left out because
     * the event is their own alarm, notify.<channel>.failing: a failing
     * channel is never told that it fails.  Rows 0 with this set: the
     * alarm reaches nobody (the caller warns). */
    size_t own_skipped;
} route_info;

/* Rows for event a created at now_ns (next_ns = now_ns + group.wait),
 * at most max of them, into out.  Returns how many. */
size_t route_event(const map_notify *nf, const rota *r, const nj_alarm *a,
                   int64_t now_ns, nj_row *out, size_t max,
                   route_info *info);

/* The rows of a due step (one of nj_steps_due) at now_ns: the mail to
 * step->level's person on call now (due now; none when nobody is, and
 * info->nobody_on_call says so) and the next level's step.  Returns how
 * many (at most max, at most 2). */
size_t route_step(const map_notify *nf, const rota *r, const nj_row *step,
                  int64_t now_ns, nj_row *out, size_t max, route_info *info);

/* The step of the reminder after a due one (step->repeat + 1), `repeat`
 * after it was due, into out[0]: 1, or 0 when the alarm's route no longer
 * repeats. */
size_t route_repeat_next(const map_notify *nf, const nj_row *step,
                         int64_t now_ns, nj_row *out);

#endif
