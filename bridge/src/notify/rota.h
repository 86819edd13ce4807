/*
 * rota.h - who is on call: the person of an on-call level at an instant,
 * from the level's overrides and rota (config/notifydef.h) in the
 * station's time zone.
 *
 * Time zones.  Rotas are written in local wall-clock time (hand-over at
 * "08:00" is 08:00 on the station's clocks, summer and winter), so the
 * answer goes through glibc's localtime_r and mktime, which read the
 * process's zone.  rota_set_zone sets it (TZ, tzset) once, on the main
 * thread before any other thread starts, and nothing changes it after:
 * localtime_r is then thread-safe.  A night across a daylight-saving
 * change is one hour shorter or longer, as the clocks say; a hand-over
 * time that does not exist that night (02:30 in a gap) takes effect when
 * the clocks pass it.
 *
 * Pure otherwise: the instant is the caller's (a stub clock in tests);
 * a rota is immutable after rota_new and may be read from any thread.
 */
#ifndef LB_NOTIFY_ROTA_H
#define LB_NOTIFY_ROTA_H

#include <stddef.h>
#include <stdint.h>

#include "config/plcmap.h"

typedef struct rota rota;

/* Sets the process's zone to tz (an IANA name; NULL leaves the system's)
 * and calls tzset.  Main thread, before threads.  0, or -1 with err. */
int rota_set_zone(const char *tz, char *err, size_t errlen);

/* The levels of nf, overrides turned into instants in the zone now set.
 * nf must outlive the rota.  NULL when out of memory. */
rota *rota_new(const map_notify *nf);
void rota_free(rota *r);

/* The index (into nf->people) of the person on call at `level` at t_s
 * (seconds since the epoch): the first override covering t_s, else the
 * first rota entry that does (from <= local time < to, to past midnight
 * running into the next day).  -1 when nobody is, or no such level. */
long rota_who(const rota *r, int level, int64_t t_s);

#endif
