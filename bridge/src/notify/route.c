/*
 * route.c - routing an alarm event to notification rows (route.h).
 */
#include "notify/route.h"

#include <stdio.h>
#include <string.h>

static bool route_matches(const map_route *rt, const nj_alarm *a)
{
    int p = -1;
    for (int i = 0; i < MAP_PRIO_N; i++)
        if (strcmp(map_priority_name((map_priority)i), a->priority) == 0)
            p = i;
    if (p < 0 || !(rt->priorities & (1u << p)))
        return false;
    if (!rt->n_areas)
        return true;
    for (size_t i = 0; i < rt->n_areas; i++)
        if (strcmp(rt->areas[i], a->area) == 0)
            return true;
    return false;
}

static size_t route_add(nj_row *out, size_t n, size_t max, const nj_alarm *a,
                        const char *channel, const char *recipient, int level,
                        int64_t now_ns, uint64_t wait_ns)
{
    if (n >= max)
        return n;
    nj_row *r = &out[n];
    memset(r, 0, sizeof *r);
    r->a = *a;
    snprintf(r->channel, sizeof r->channel, "%s", channel);
    snprintf(r->recipient, sizeof r->recipient, "%s", recipient);
    r->level = level;
    r->created_ns = now_ns;
    r->next_ns = now_ns + (int64_t)wait_ns;
    return n + 1;
}

/* Whether a is channel c's own alarm (notify.<c>.failing): never told
 * through c, which is failing. */
static bool route_is_own(const nj_alarm *a, const map_channel *c)
{
    static const char pre[] = "notify.", suf[] = ".failing";
    size_t n = strlen(a->alarm), ci = strlen(c->id);
    return n == sizeof pre - 1 + ci + sizeof suf - 1 &&
           strncmp(a->alarm, pre, sizeof pre - 1) == 0 &&
           strncmp(a->alarm + sizeof pre - 1, c->id, ci) == 0 &&
           strcmp(a->alarm + sizeof pre - 1 + ci, suf) == 0;
}

/* The first route matching a (its index in *idx), or NULL. */
static const map_route *route_find(const map_notify *nf, const nj_alarm *a,
                                   long *idx)
{
    *idx = -1;
    for (size_t i = 0; i < nf->n_routes; i++)
        if (route_matches(&nf->routes[i], a)) {
            *idx = (long)i;
            return &nf->routes[i];
        }
    return NULL;
}

/* The channel on-call mail goes through: the first email channel. */
static const map_channel *route_mail(const map_notify *nf)
{
    for (size_t i = 0; i < nf->n_channels; i++)
        if (nf->channels[i].type == MAP_CH_EMAIL)
            return &nf->channels[i];
    return NULL;
}

/* The on-call level after `level` (nf->oncall is sorted), or 0. */
static int route_level_after(const map_notify *nf, int level)
{
    for (size_t i = 0; i < nf->n_oncall; i++)
        if (nf->oncall[i].level > level)
            return nf->oncall[i].level;
    return 0;
}

/* The step for the level after `level`, due at due_ns, when the route
 * escalates and there is such a level. */
static size_t route_add_step(const map_notify *nf, const map_route *rt,
                             nj_row *out, size_t n, size_t max,
                             const nj_alarm *a, const map_channel *mail,
                             int level, int64_t now_ns, int64_t due_ns)
{
    int next = route_level_after(nf, level);
    if (!rt->escalate_after_ns || !next || !mail || n >= max)
        return n;
    n = route_add(out, n, max, a, mail->id, "", next, now_ns, 0);
    out[n - 1].next_ns = due_ns;
    out[n - 1].step = true;
    return n;
}

/* Reminder number k's step (channel and recipient "", level 0), due at
 * due_ns. */
static size_t route_add_repeat(nj_row *out, size_t n, size_t max,
                               const nj_alarm *a, int k, int64_t now_ns,
                               int64_t due_ns)
{
    if (n >= max)
        return n;
    n = route_add(out, n, max, a, "", "", 0, now_ns, 0);
    out[n - 1].next_ns = due_ns;
    out[n - 1].step = true;
    out[n - 1].repeat = k;
    return n;
}

size_t route_event(const map_notify *nf, const rota *r, const nj_alarm *a,
                   int64_t now_ns, nj_row *out, size_t max,
                   route_info *info)
{
    route_info dummy;
    if (!info)
        info = &dummy;
    info->route = -1;
    info->nobody_on_call = false;
    info->own_skipped = 0;
    bool active = strcmp(a->event, "active") == 0;
    if (!active && strcmp(a->event, "clear") != 0)
        return 0;
    const map_route *rt = route_find(nf, a, &info->route);
    if (!rt || (!active && !rt->on_clear))
        return 0;
    size_t n = 0;
    uint64_t wait = nf->group_wait_ns;
    for (size_t i = 0; i < rt->n_channels; i++) {
        const map_channel *c = &nf->channels[rt->channels[i]];
        if (route_is_own(a, c)) {
            info->own_skipped++;
            continue;
        }
        if (c->type == MAP_CH_EMAIL)
            for (size_t k = 0; k < c->n_to; k++)
                n = route_add(out, n, max, a, c->id, c->to[k], 0, now_ns,
                              wait);
        else
            n = route_add(out, n, max, a, c->id, "", 0, now_ns, wait);
    }
    if (rt->oncall && route_mail(nf) && route_is_own(a, route_mail(nf))) {
        /* on-call mail and its escalation would go through the channel
         * that is failing */
        info->own_skipped++;
    } else if (rt->oncall) {
        const map_channel *mail = route_mail(nf);
        int level = nf->n_oncall ? nf->oncall[0].level : 1;
        long p = rota_who(r, level, a->ts_ns / 1000000000);
        if (p < 0 || !mail || !nf->people[p].email)
            info->nobody_on_call = true;
        else
            n = route_add(out, n, max, a, mail->id, nf->people[p].email, 1,
                          now_ns, wait);
        /* Counted from the alarm, not from when it was routed: after a
         * restart's catch-up, a level long overdue is due at once. */
        if (active)
            n = route_add_step(nf, rt, out, n, max, a, mail, level, now_ns,
                               a->ts_ns + (int64_t)rt->escalate_after_ns);
    }
    if (active && rt->repeat_ns)
        n = route_add_repeat(out, n, max, a, 1, now_ns,
                             a->ts_ns + (int64_t)rt->repeat_ns);
    return n;
}

size_t route_repeat_next(const map_notify *nf, const nj_row *step,
                         int64_t now_ns, nj_row *out)
{
    long idx;
    const map_route *rt = route_find(nf, &step->a, &idx);
    if (!rt || !rt->repeat_ns)
        return 0;   /* the map changed under it: no more reminders */
    return route_add_repeat(out, 0, 1, &step->a, step->repeat + 1, now_ns,
                            step->next_ns + (int64_t)rt->repeat_ns);
}

size_t route_step(const map_notify *nf, const rota *r, const nj_row *step,
                  int64_t now_ns, nj_row *out, size_t max, route_info *info)
{
    route_info dummy;
    if (!info)
        info = &dummy;
    info->nobody_on_call = false;
    const map_route *rt = route_find(nf, &step->a, &info->route);
    const map_channel *mail = route_mail(nf);
    if (!rt || !rt->oncall || !mail)
        return 0;   /* the map changed under it: nothing to escalate to */
    size_t n = 0;
    long p = rota_who(r, step->level, now_ns / 1000000000);
    if (p < 0 || !nf->people[p].email)
        info->nobody_on_call = true;
    else
        n = route_add(out, n, max, &step->a, mail->id, nf->people[p].email,
                      step->level, now_ns, 0);
    return route_add_step(nf, rt, out, n, max, &step->a, mail, step->level,
                          now_ns, step->next_ns +
                                      (int64_t)rt->escalate_after_ns);
}
