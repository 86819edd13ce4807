/*
 * grafana.c - the station's Grafana dashboard from its map (grafana.h):
 * rows, panels and PromQL for what the InfluxDB writer sends to
 * VictoriaMetrics.
 */
#include "cli/grafana.h"

#include <stdio.h>
#include <string.h>

#include "core/strbuf.h"

#define GRAF_UID_MAX 40     /* Grafana refuses longer dashboard uids */
#define GRAF_GRID_W 24      /* Grafana's grid is 24 columns wide */
#define GRAF_HALF 12
#define GRAF_ANALOG_H 8
#define GRAF_TITLE_NAMES 3  /* a group this small is titled by its tags */
#define GRAF_UID_CHARS                                                      \
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"

/* How a unit of the maps is drawn: Grafana's unit id (its
 * valueFormats/categories.ts), or NULL for a plain suffix, and the
 * quantity that titles a panel of many tags.  Hours and minutes stay
 * suffixes: Grafana would turn run-hour counters into "1.4 year". */
typedef struct {
    const char *unit, *grafana, *quantity;
} graf_unit;

static const graf_unit GRAF_UNITS[] = {
    {"%", "percent", "Percent"},
    {"m", "lengthm", "Level / length"},
    {"mm", "lengthmm", "Length"},
    {"m/s", "velocityms", "Speed"},
    {"mm/s", NULL, "Speed"},
    {"m/min", NULL, "Rate"},
    {"MPa", NULL, "Pressure"},
    {"kPa", "pressurekpa", "Pressure"},
    {"bar", "pressurebar", "Pressure"},
    {"°C", "celsius", "Temperature"},
    {"A", "amp", "Current"},
    {"mA", "mamp", "Current"},
    {"V", "volt", "Voltage"},
    {"kW", "kwatt", "Power"},
    {"W", "watt", "Power"},
    {"kVA", "kvoltamp", "Apparent power"},
    {"kvar", "kvoltampreact", "Reactive power"},
    {"Hz", "hertz", "Frequency"},
    {"kWh", "kwatth", "Energy"},
    {"Wh", "watth", "Energy"},
    {"kvarh", NULL, "Reactive energy"},
    {"s", "s", "Time"},
    {"ms", "ms", "Time"},
    {"min", NULL, "Time"},
    {"h", NULL, "Time"},
    {"lx", "lux", "Illuminance"},
    {"%RH", "humidity", "Humidity"},
    {"m³/s", "flowcms", "Flow"},
    {"t", "masst", "Mass"},
};

static const graf_unit *graf_unit_find(const char *u)
{
    for (size_t i = 0; i < sizeof GRAF_UNITS / sizeof GRAF_UNITS[0]; i++)
        if (strcmp(GRAF_UNITS[i].unit, u) == 0)
            return &GRAF_UNITS[i];
    return NULL;
}

bool graf_uid_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > GRAF_UID_MAX)
        return false;
    return strspn(s, GRAF_UID_CHARS) == n;
}

/* What is being built: the panel list and where the next panel goes. */
typedef struct {
    const char *ds_uid;
    cJSON *panels;
    int next_id;
    int x, y, line_h;       /* the current line of the grid */
    strbuf first;           /* the first series' selector, for $station */
    bool failed;
} graf_ctx;

static cJSON *graf_ds(const graf_ctx *c)
{
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "type", "prometheus");
    cJSON_AddStringToObject(d, "uid", c->ds_uid);
    return d;
}

/* Puts a panel of w x h on the grid: beside the last one when both are
 * half wide, else on a new line. */
static void graf_place(graf_ctx *c, cJSON *p, int w, int h)
{
    if (c->x > 0 && c->x + w > GRAF_GRID_W) {
        c->y += c->line_h;
        c->x = c->line_h = 0;
    }
    cJSON *g = cJSON_AddObjectToObject(p, "gridPos");
    cJSON_AddNumberToObject(g, "h", h);
    cJSON_AddNumberToObject(g, "w", w);
    cJSON_AddNumberToObject(g, "x", c->x);
    cJSON_AddNumberToObject(g, "y", c->y);
    c->x += w;
    if (h > c->line_h)
        c->line_h = h;
    if (c->x >= GRAF_GRID_W) {
        c->y += c->line_h;
        c->x = c->line_h = 0;
    }
}

static void graf_row(graf_ctx *c, const map_plc *plc)
{
    if (c->x > 0) {
        c->y += c->line_h;
        c->x = c->line_h = 0;
    }
    cJSON *r = cJSON_CreateObject();
    char title[512];
    if (plc->name.zh && strcmp(plc->name.zh, plc->name.en) != 0)
        snprintf(title, sizeof title, "%s %s (%s)", plc->name.en,
                 plc->name.zh, plc->id);
    else
        snprintf(title, sizeof title, "%s (%s)", plc->name.en, plc->id);
    cJSON_AddNumberToObject(r, "id", c->next_id++);
    cJSON_AddStringToObject(r, "type", "row");
    cJSON_AddStringToObject(r, "title", title);
    cJSON_AddBoolToObject(r, "collapsed", false);
    cJSON_AddArrayToObject(r, "panels");
    graf_place(c, r, GRAF_GRID_W, 1);
    cJSON_AddItemToArray(c->panels, r);
}

/* A Prometheus metric name: [a-zA-Z_:][a-zA-Z0-9_:]*. */
static bool graf_prom_name(const char *s)
{
    if (!*s || (*s >= '0' && *s <= '9'))
        return false;
    return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                     "0123456789_:") == strlen(s);
}

/* The series of a tag as VictoriaMetrics names it, `<plc>_<tag>`, with
 * `station=~"$station"` when station is true.  A name PromQL cannot
 * write bare (an id with '-' or '.') goes into __name__. */
static void graf_selector(strbuf *b, const map_plc *plc, const map_tag *t,
                          bool station)
{
    strbuf n;
    sb_init(&n, 0);
    sb_printf(&n, "%s_%s", plc->id, t->id);
    if (graf_prom_name(sb_data(&n))) {
        sb_puts(b, sb_data(&n));
        if (station)
            sb_puts(b, "{station=~\"$station\"}");
    } else {
        sb_puts(b, "{__name__=\"");
        for (const char *p = sb_data(&n); *p; p++) {
            if (*p == '"' || *p == '\\')
                sb_putc(b, '\\');
            sb_putc(b, *p);
        }
        sb_puts(b, station ? "\",station=~\"$station\"}" : "\"}");
    }
    if (n.failed)
        b->failed = true;
    sb_free(&n);
}

/* refIds A..Z, AA..ZZ, ... as Grafana makes them. */
static void graf_refid(char *out, size_t len, size_t i)
{
    char tmp[16];
    size_t n = 0;
    for (i++; i > 0 && n < sizeof tmp; i = (i - 1) / 26)
        tmp[n++] = (char)('A' + (i - 1) % 26);
    size_t k = 0;
    while (n > 0 && k + 1 < len)
        out[k++] = tmp[--n];
    out[k] = '\0';
}

/* Adds the panel's query for one tag; its refId (into ref, 16 bytes) is
 * the query's index. */
static void graf_target(graf_ctx *c, cJSON *targets, const map_plc *plc,
                        const map_tag *t, char *ref)
{
    strbuf e;
    sb_init(&e, 0);
    graf_selector(&e, plc, t, true);
    if (c->first.len == 0)
        graf_selector(&c->first, plc, t, false);
    char legend[256];
    graf_refid(ref, 16, (size_t)cJSON_GetArraySize(targets));
    snprintf(legend, sizeof legend, "%s ({{station}})", t->name.en);
    cJSON *q = cJSON_CreateObject();
    cJSON_AddStringToObject(q, "refId", ref);
    cJSON_AddItemToObject(q, "datasource", graf_ds(c));
    cJSON_AddStringToObject(q, "expr", sb_data(&e));
    cJSON_AddStringToObject(q, "legendFormat", legend);
    cJSON_AddBoolToObject(q, "range", true);
    cJSON_AddItemToArray(targets, q);
    if (e.failed)
        c->failed = true;
    sb_free(&e);
}

/* A panel without its grid position: id, type, title, data source, an
 * empty target list (returned in *targets). */
static cJSON *graf_panel(graf_ctx *c, const char *type, const char *title,
                         const char *description, cJSON **targets)
{
    cJSON *p = cJSON_CreateObject();
    cJSON_AddNumberToObject(p, "id", c->next_id++);
    cJSON_AddStringToObject(p, "type", type);
    cJSON_AddStringToObject(p, "title", title);
    cJSON_AddStringToObject(p, "description", description);
    cJSON_AddItemToObject(p, "datasource", graf_ds(c));
    *targets = cJSON_AddArrayToObject(p, "targets");
    return p;
}

static void graf_legend(cJSON *options, bool show)
{
    cJSON *l = cJSON_AddObjectToObject(options, "legend");
    cJSON_AddBoolToObject(l, "showLegend", show);
    cJSON_AddStringToObject(l, "displayMode", "list");
    cJSON_AddStringToObject(l, "placement", "bottom");
    cJSON *t = cJSON_AddObjectToObject(options, "tooltip");
    cJSON_AddStringToObject(t, "mode", "multi");
    cJSON_AddStringToObject(t, "sort", "none");
}

typedef enum { GRAF_ANALOG, GRAF_STATES, GRAF_DISCRETE, GRAF_NONE } graf_kind;

static graf_kind graf_kind_of(const map_tag *t)
{
    if (t->type == MAP_STRING)
        return GRAF_NONE;       /* VictoriaMetrics keeps numbers only */
    if (t->n_states > 0)
        return GRAF_STATES;     /* a boolean with labels too */
    if (t->type == MAP_BOOL)
        return GRAF_DISCRETE;
    return GRAF_ANALOG;
}

static bool graf_same_unit(const map_tag *a, const map_tag *b)
{
    if (!a->unit || !b->unit)
        return !a->unit && !b->unit;
    return strcmp(a->unit, b->unit) == 0;
}

/* The tags of a panel, for its description. */
static void graf_describe(strbuf *d, const map_tag *t)
{
    sb_puts(d, d->len ? ", " : "Tags: ");
    sb_puts(d, t->full_id);
}

/* One time-series panel: the numeric tags of plc with the unit of tag
 * `first` (and no `states:`), in map order. */
static void graf_analog(graf_ctx *c, const map_plc *plc, size_t first)
{
    const map_tag *t0 = &plc->tags[first];
    const graf_unit *u = t0->unit ? graf_unit_find(t0->unit) : NULL;
    strbuf names, desc;
    sb_init(&names, 0);
    sb_init(&desc, 0);
    size_t n = 0;
    bool same_range = t0->has_range;
    for (size_t i = first; i < plc->n_tags; i++) {
        const map_tag *t = &plc->tags[i];
        if (graf_kind_of(t) != GRAF_ANALOG || !graf_same_unit(t, t0))
            continue;
        if (n++ > 0)
            sb_puts(&names, ", ");
        sb_puts(&names, t->name.en);
        graf_describe(&desc, t);
        if (!t->has_range || t->range_min != t0->range_min ||
            t->range_max != t0->range_max)
            same_range = false;
    }
    strbuf title;
    sb_init(&title, 0);
    if (n <= GRAF_TITLE_NAMES)
        sb_puts(&title, sb_data(&names));
    else if (u)
        sb_puts(&title, u->quantity);
    else
        sb_puts(&title, t0->unit ? "Values" : "Other values");
    if (t0->unit)
        sb_printf(&title, " (%s)", t0->unit);
    cJSON *targets;
    cJSON *p = graf_panel(c, "timeseries", sb_data(&title), sb_data(&desc),
                          &targets);
    cJSON *fc = cJSON_AddObjectToObject(p, "fieldConfig");
    cJSON *def = cJSON_AddObjectToObject(fc, "defaults");
    if (t0->unit) {
        char suffix[80];
        snprintf(suffix, sizeof suffix, "suffix: %s", t0->unit);
        cJSON_AddStringToObject(def, "unit",
                                u && u->grafana ? u->grafana : suffix);
    }
    if (same_range) {
        cJSON_AddNumberToObject(def, "min", t0->range_min);
        cJSON_AddNumberToObject(def, "max", t0->range_max);
    }
    /* The bridge records changes beyond a deadband and a heartbeat: a
     * value holds until the next point, so steps, not slopes. */
    cJSON *custom = cJSON_AddObjectToObject(def, "custom");
    cJSON_AddStringToObject(custom, "lineInterpolation", "stepAfter");
    cJSON_AddStringToObject(custom, "showPoints", "never");
    cJSON_AddArrayToObject(fc, "overrides");
    graf_legend(cJSON_AddObjectToObject(p, "options"), true);
    for (size_t i = first; i < plc->n_tags; i++) {
        const map_tag *t = &plc->tags[i];
        char ref[16];
        if (graf_kind_of(t) == GRAF_ANALOG && graf_same_unit(t, t0))
            graf_target(c, targets, plc, t, ref);
    }
    graf_place(c, p, GRAF_HALF, GRAF_ANALOG_H);
    cJSON_AddItemToArray(c->panels, p);
    if (names.failed || desc.failed || title.failed)
        c->failed = true;
    sb_free(&names);
    sb_free(&desc);
    sb_free(&title);
}

/* A value mapping {"type": "value", "options": {...}} to fill. */
static cJSON *graf_mapping(cJSON *mappings)
{
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "type", "value");
    cJSON *opts = cJSON_AddObjectToObject(m, "options");
    cJSON_AddItemToArray(mappings, m);
    return opts;
}

static void graf_map_value(cJSON *opts, const char *value, const char *text,
                           const char *color, int index)
{
    cJSON *v = cJSON_AddObjectToObject(opts, value);
    cJSON_AddStringToObject(v, "text", text);
    if (color)
        cJSON_AddStringToObject(v, "color", color);
    cJSON_AddNumberToObject(v, "index", index);
}

/* One state-timeline of plc's tags of one kind: the booleans (on/off in
 * greys: the map does not say which state is abnormal, and ISA-101
 * keeps colour for that) or the tags with `states:` (each its labels). */
static void graf_timeline(graf_ctx *c, const map_plc *plc, graf_kind kind)
{
    size_t n = 0;
    strbuf desc;
    sb_init(&desc, 0);
    for (size_t i = 0; i < plc->n_tags; i++)
        if (graf_kind_of(&plc->tags[i]) == kind) {
            n++;
            graf_describe(&desc, &plc->tags[i]);
        }
    if (n == 0) {
        sb_free(&desc);
        return;
    }
    cJSON *targets;
    cJSON *p = graf_panel(c, "state-timeline",
                          kind == GRAF_STATES ? "States" : "Discrete signals",
                          sb_data(&desc), &targets);
    cJSON *fc = cJSON_AddObjectToObject(p, "fieldConfig");
    cJSON *def = cJSON_AddObjectToObject(fc, "defaults");
    cJSON *overrides = cJSON_CreateArray();
    if (kind == GRAF_DISCRETE) {
        cJSON *color = cJSON_AddObjectToObject(def, "color");
        cJSON_AddStringToObject(color, "mode", "fixed");
        cJSON_AddStringToObject(color, "fixedColor", "#8e8e8e");
        cJSON *opts = graf_mapping(cJSON_AddArrayToObject(def, "mappings"));
        graf_map_value(opts, "0", "off", "#d8d8d8", 0);
        graf_map_value(opts, "1", "on", "#6e6e6e", 1);
    } else {
        cJSON *color = cJSON_AddObjectToObject(def, "color");
        cJSON_AddStringToObject(color, "mode", "palette-classic");
    }
    for (size_t i = 0; i < plc->n_tags; i++) {
        const map_tag *t = &plc->tags[i];
        if (graf_kind_of(t) != kind)
            continue;
        char ref[16];
        graf_target(c, targets, plc, t, ref);
        if (kind != GRAF_STATES)
            continue;
        /* each tag's labels on its own query */
        cJSON *o = cJSON_CreateObject();
        cJSON *m = cJSON_AddObjectToObject(o, "matcher");
        cJSON_AddStringToObject(m, "id", "byFrameRefID");
        cJSON_AddStringToObject(m, "options", ref);
        cJSON *props = cJSON_AddArrayToObject(o, "properties");
        cJSON *prop = cJSON_CreateObject();
        cJSON_AddStringToObject(prop, "id", "mappings");
        cJSON *opts = graf_mapping(cJSON_AddArrayToObject(prop, "value"));
        for (size_t s = 0; s < t->n_states; s++) {
            char v[32];
            snprintf(v, sizeof v, "%lld", (long long)t->states[s].value);
            graf_map_value(opts, v, t->states[s].label.en, NULL, (int)s);
        }
        cJSON_AddItemToArray(props, prop);
        cJSON_AddItemToArray(overrides, o);
    }
    cJSON_AddItemToObject(fc, "overrides", overrides);
    cJSON *opts = cJSON_AddObjectToObject(p, "options");
    cJSON_AddStringToObject(opts, "showValue",
                            kind == GRAF_STATES ? "auto" : "never");
    cJSON_AddBoolToObject(opts, "mergeValues", true);
    cJSON_AddStringToObject(opts, "alignValue", "left");
    cJSON_AddNumberToObject(opts, "rowHeight", 0.9);
    graf_legend(opts, false);
    /* about two grid units (60 px) a line */
    int h = kind == GRAF_STATES ? 3 + (int)n : 3 + ((int)n + 1) / 2;
    graf_place(c, p, GRAF_GRID_W, h);
    cJSON_AddItemToArray(c->panels, p);
    if (desc.failed)
        c->failed = true;
    sb_free(&desc);
}

static void graf_plc(graf_ctx *c, const map_plc *plc)
{
    bool any = false;
    for (size_t i = 0; i < plc->n_tags; i++)
        any = any || graf_kind_of(&plc->tags[i]) != GRAF_NONE;
    if (!any)
        return;
    graf_row(c, plc);
    /* a panel per unit, where its first tag is */
    for (size_t i = 0; i < plc->n_tags; i++) {
        const map_tag *t = &plc->tags[i];
        if (graf_kind_of(t) != GRAF_ANALOG)
            continue;
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = graf_kind_of(&plc->tags[j]) == GRAF_ANALOG &&
                   graf_same_unit(&plc->tags[j], t);
        if (!seen)
            graf_analog(c, plc, i);
    }
    graf_timeline(c, plc, GRAF_STATES);
    graf_timeline(c, plc, GRAF_DISCRETE);
}

/* The `station` variable: the station label's values in the store, this
 * map's station selected. */
static cJSON *graf_station_var(graf_ctx *c, const map_station *st)
{
    cJSON *v = cJSON_CreateObject();
    char q[1024];
    if (c->first.len)
        snprintf(q, sizeof q, "label_values(%s, station)",
                 sb_data(&c->first));
    else
        snprintf(q, sizeof q, "label_values(station)");
    cJSON_AddStringToObject(v, "name", "station");
    cJSON_AddStringToObject(v, "label", "Station");
    cJSON_AddStringToObject(v, "type", "query");
    cJSON_AddItemToObject(v, "datasource", graf_ds(c));
    cJSON_AddStringToObject(v, "definition", q);
    cJSON *qo = cJSON_AddObjectToObject(v, "query");
    cJSON_AddStringToObject(qo, "query", q);
    cJSON_AddStringToObject(qo, "refId", "StandardVariableQuery");
    cJSON_AddNumberToObject(v, "refresh", 2);   /* on time range change */
    cJSON_AddNumberToObject(v, "sort", 1);
    cJSON_AddBoolToObject(v, "multi", true);
    cJSON_AddBoolToObject(v, "includeAll", true);
    cJSON *cur = cJSON_AddObjectToObject(v, "current");
    cJSON_AddBoolToObject(cur, "selected", true);
    const char *ids[1] = {st->id};
    cJSON_AddItemToObject(cur, "text", cJSON_CreateStringArray(ids, 1));
    cJSON_AddItemToObject(cur, "value", cJSON_CreateStringArray(ids, 1));
    return v;
}

cJSON *graf_dashboard(const map_station *st, const graf_opts *o)
{
    graf_ctx c = {.ds_uid = o && o->ds_uid ? o->ds_uid : GRAF_DEFAULT_DS_UID,
                  .next_id = 1};
    sb_init(&c.first, 0);
    cJSON *d = cJSON_CreateObject();
    char uid[GRAF_UID_MAX + 1];
    snprintf(uid, sizeof uid, "lockbridge-%s", st->id);
    for (char *p = uid; *p; p++)
        if (!strchr(GRAF_UID_CHARS, *p))
            *p = '-';
    char desc[512];
    snprintf(desc, sizeof desc,
             "The time series of station %s's PLCs as lockbridge writes "
             "them, generated from its maps by `lockbridge grafana`; "
             "$station picks the stations read.", st->id);
    cJSON_AddStringToObject(d, "uid", uid);
    cJSON_AddStringToObject(d, "title", st->name.en);
    cJSON_AddStringToObject(d, "description", desc);
    cJSON *tags = cJSON_AddArrayToObject(d, "tags");
    cJSON_AddItemToArray(tags, cJSON_CreateString("lockbridge"));
    cJSON_AddItemToArray(tags, cJSON_CreateString("station"));
    cJSON_AddNumberToObject(d, "schemaVersion", 39);
    cJSON_AddNumberToObject(d, "version", 1);
    cJSON_AddBoolToObject(d, "editable", true);
    cJSON_AddNumberToObject(d, "graphTooltip", 1);  /* shared crosshair */
    cJSON_AddStringToObject(d, "timezone", st->timezone);
    cJSON *time = cJSON_AddObjectToObject(d, "time");
    cJSON_AddStringToObject(time, "from", "now-1h");
    cJSON_AddStringToObject(time, "to", "now");
    cJSON_AddStringToObject(d, "refresh", "10s");
    cJSON *ann = cJSON_AddObjectToObject(d, "annotations");
    cJSON_AddArrayToObject(ann, "list");
    cJSON *templating = cJSON_AddObjectToObject(d, "templating");
    cJSON *vars = cJSON_AddArrayToObject(templating, "list");
    c.panels = cJSON_AddArrayToObject(d, "panels");
    for (size_t i = 0; i < st->n_plcs; i++)
        if (st->plcs[i].enabled)
            graf_plc(&c, &st->plcs[i]);
    cJSON_AddItemToArray(vars, graf_station_var(&c, st));
    if (c.failed || c.first.failed) {
        cJSON_Delete(d);
        d = NULL;
    }
    sb_free(&c.first);
    return d;
}
