/*
 * rota.c - the person on call at an instant (rota.h).
 *
 * A shift matches local time (weekday d, minute m) when it starts on d
 * and m is in [from, to), or, for a shift past midnight (to <= from), when
 * it started the day before and m < to.  Overrides are kept as instants
 * (mktime with tm_isdst = -1: the zone decides summer or winter time), so
 * they cost one comparison each.
 */
#include "notify/rota.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    int64_t from_s, to_s;
    size_t person;
} rota_override;

typedef struct {
    const map_oncall *def;
    rota_override *ov;
} rota_level;

struct rota {
    rota_level *levels;
    size_t n;
};

int rota_set_zone(const char *tz, char *err, size_t errlen)
{
    if (tz && setenv("TZ", tz, 1) < 0) {
        snprintf(err, errlen, "cannot set TZ=%s: out of memory", tz);
        return -1;
    }
    tzset();
    return 0;
}

static int64_t rota_instant(const map_localtime *t)
{
    struct tm tm = {.tm_year = t->year - 1900, .tm_mon = t->mon - 1,
                    .tm_mday = t->day, .tm_hour = t->hour, .tm_min = t->min,
                    .tm_sec = t->sec, .tm_isdst = -1};
    return (int64_t)mktime(&tm);
}

rota *rota_new(const map_notify *nf)
{
    rota *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->levels = calloc(nf->n_oncall ? nf->n_oncall : 1, sizeof *r->levels);
    if (!r->levels)
        goto fail;
    for (size_t i = 0; i < nf->n_oncall; i++) {
        const map_oncall *o = &nf->oncall[i];
        rota_level *l = &r->levels[r->n++];
        l->def = o;
        l->ov = calloc(o->n_overrides ? o->n_overrides : 1, sizeof *l->ov);
        if (!l->ov)
            goto fail;
        for (size_t k = 0; k < o->n_overrides; k++)
            l->ov[k] = (rota_override){rota_instant(&o->overrides[k].from),
                                       rota_instant(&o->overrides[k].to),
                                       o->overrides[k].person};
    }
    return r;
fail:
    rota_free(r);
    return NULL;
}

void rota_free(rota *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++)
        free(r->levels[i].ov);
    free(r->levels);
    free(r);
}

static bool rota_shift_covers(const map_shift *s, int wday, int m)
{
    int yday = (wday + 6) % 7;
    bool today = s->days & (1u << wday), yesterday = s->days & (1u << yday);
    if (s->to_min > s->from_min)
        return today && m >= s->from_min && m < s->to_min;
    /* past midnight (from == to: 24 hours from `from`) */
    return (today && m >= s->from_min) || (yesterday && m < s->to_min);
}

long rota_who(const rota *r, int level, int64_t t_s)
{
    const rota_level *l = NULL;
    for (size_t i = 0; i < r->n && !l; i++)
        if (r->levels[i].def->level == level)
            l = &r->levels[i];
    if (!l)
        return -1;
    for (size_t k = 0; k < l->def->n_overrides; k++)
        if (t_s >= l->ov[k].from_s && t_s < l->ov[k].to_s)
            return (long)l->ov[k].person;
    time_t tt = (time_t)t_s;
    struct tm tm;
    if (!localtime_r(&tt, &tm))
        return -1;
    int m = tm.tm_hour * 60 + tm.tm_min;
    for (size_t k = 0; k < l->def->n_shifts; k++)
        if (rota_shift_covers(&l->def->shifts[k], tm.tm_wday, m))
            return (long)l->def->shifts[k].person;
    return -1;
}
