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

size_t route_event(const map_notify *nf, const rota *r, const nj_alarm *a,
                   int64_t now_ns, nj_row *out, size_t max,
                   route_info *info)
{
    route_info dummy;
    if (!info)
        info = &dummy;
    info->route = -1;
    info->nobody_on_call = false;
    const map_route *rt = NULL;
    for (size_t i = 0; i < nf->n_routes && !rt; i++)
        if (route_matches(&nf->routes[i], a)) {
            rt = &nf->routes[i];
            info->route = (long)i;
        }
    if (!rt || (strcmp(a->event, "clear") == 0 && !rt->on_clear))
        return 0;
    size_t n = 0;
    uint64_t wait = nf->group_wait_ns;
    for (size_t i = 0; i < rt->n_channels; i++) {
        const map_channel *c = &nf->channels[rt->channels[i]];
        if (c->type == MAP_CH_EMAIL)
            for (size_t k = 0; k < c->n_to; k++)
                n = route_add(out, n, max, a, c->id, c->to[k], 0, now_ns,
                              wait);
        else
            n = route_add(out, n, max, a, c->id, "", 0, now_ns, wait);
    }
    if (rt->oncall) {
        const map_channel *mail = NULL;
        for (size_t i = 0; i < nf->n_channels && !mail; i++)
            if (nf->channels[i].type == MAP_CH_EMAIL)
                mail = &nf->channels[i];
        long p = rota_who(r, nf->n_oncall ? nf->oncall[0].level : 1,
                          a->ts_ns / 1000000000);
        if (p < 0 || !mail || !nf->people[p].email)
            info->nobody_on_call = true;
        else
            n = route_add(out, n, max, a, mail->id, nf->people[p].email, 1,
                          now_ns, wait);
    }
    return n;
}
