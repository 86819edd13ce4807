/*
 * grafana.h - a Grafana dashboard of the station, built from its map
 * (`lockbridge grafana`, cmd_grafana.c): what an operator sees of the
 * station's time series in a central VictoriaMetrics, without hand-drawn
 * panels that go stale when a map changes.
 *
 * The queries read exactly what record/influx.c writes.  A point
 * `<plc>,plc=<plc>,station=<station id> <tag>=<value>` becomes, in
 * VictoriaMetrics (a Prometheus data source), the series
 * `<plc>_<tag>{plc="<plc>",station="<station id>"}`; booleans are 1/0 and
 * string fields are not stored, so string tags get no panel.  Every
 * query selects `station=~"$station"`, a template variable listing the
 * stations in the store, so the dashboard of one map reads every station
 * built from the same maps.
 *
 * Layout, per enabled PLC in map order: a row (the PLC's name); a
 * time-series panel per unit among its numeric tags (the tags with that
 * unit, in map order, drawn as steps: the bridge records changes, so a
 * value holds until the next point); a state-timeline of its tags with
 * `states:` (each with its labels); a state-timeline of its booleans.
 * Disabled PLCs are left out (they are never polled, so have no data).
 *
 * Pure: no I/O, deterministic (the same map gives the same bytes).
 */
#ifndef LB_CLI_GRAFANA_H
#define LB_CLI_GRAFANA_H

#include <cjson/cJSON.h>

#include "config/plcmap.h"

#define GRAF_DEFAULT_DS_UID "lockbridge-tsdb"

typedef struct {
    const char *ds_uid;     /* the Prometheus data source's uid; NULL:
                               GRAF_DEFAULT_DS_UID */
} graf_opts;

/* Whether s is a uid Grafana accepts: 1 to 40 of [A-Za-z0-9_-]. */
bool graf_uid_ok(const char *s);

/* The dashboard (a new cJSON object the caller deletes), uid
 * "lockbridge-<station id>" (cut to Grafana's 40 characters, other
 * characters as '-'); NULL when out of memory. */
cJSON *graf_dashboard(const map_station *st, const graf_opts *o);

#endif
