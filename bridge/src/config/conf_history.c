/*
 * conf_history.c - the station's `history:` section: the embedded SQLite
 * history (record/history.c), on by default so the demo needs no server.
 *
 *   history: {path: data/history.db, raw_days: 30, rollup_1m_days: 400,
 *             rollup_10m_days: 1100, rollup_1h_days: 3650, enabled: true}
 *   or   history: off
 */
#include "config/parse.h"

#include <stdlib.h>
#include <string.h>

static void history_defaults(map_station *st)
{
    map_history *h = &st->history;
    h->enabled = true;
    h->raw_days = 30;
    h->rollup_1m_days = 400;
    h->rollup_10m_days = 1100;
    h->rollup_1h_days = 3650;
}

enum { H_ENABLED, H_PATH, H_RAW, H_1M, H_10M, H_1H, H_N };
static const char *const history_keys[H_N] = {
    "enabled", "path", "raw_days", "rollup_1m_days", "rollup_10m_days",
    "rollup_1h_days"};

static void history_parse(cfg_src *s, const yaml_node_t *n, map_station *st)
{
    map_history *h = &st->history;
    char got[64];
    const char *v = cfg_scalar(n);
    if (v && (strcmp(v, "off") == 0 || strcmp(v, "false") == 0)) {
        h->enabled = false;
        return;
    }
    if (n->type != YAML_MAPPING_NODE) {
        cfg_err_at(s, n, "'history' must be a mapping such as {path: "
                   "data/history.db, raw_days: 30}, or off, got %s",
                   CFG_GOT(n));
        return;
    }
    yaml_node_t *val[H_N], *k[H_N];
    cfg_get_keys(s, n, "history", history_keys, H_N, val, k);
    int64_t x;
    if (val[H_ENABLED])
        cfg_get_bool(s, "'enabled'", val[H_ENABLED], &h->enabled);
    if (val[H_PATH])
        cfg_get_str(s, "'path'", val[H_PATH], &h->path);
    if (val[H_RAW] && cfg_get_int(s, "'raw_days'", val[H_RAW], 1, 36500, NULL,
                                  &x) == 0)
        h->raw_days = (int)x;
    if (val[H_1M] && cfg_get_int(s, "'rollup_1m_days'", val[H_1M], 1, 36500,
                                 NULL, &x) == 0)
        h->rollup_1m_days = (int)x;
    if (val[H_10M] && cfg_get_int(s, "'rollup_10m_days'", val[H_10M], 1,
                                  36500, NULL, &x) == 0)
        h->rollup_10m_days = (int)x;
    if (val[H_1H] && cfg_get_int(s, "'rollup_1h_days'", val[H_1H], 1, 365000,
                                 NULL, &x) == 0)
        h->rollup_1h_days = (int)x;
}

/* A path written in the file is kept as written; only the default lives
 * in the station's data_dir. */
static void history_finish(cfg_src *s, map_station *st)
{
    (void)s;
    if (!st->history.path)
        st->history.path = cfg_data_path(st, "history.db");
}

const cfg_section cfg_history_section = {
    .key = "history",
    .defaults = history_defaults,
    .parse = history_parse,
    .finish = history_finish,
};
