/*
 * conf_journal.c - the station's `alarm_journal:` section: where the alarm
 * journal (alarm/journal.h) is kept.  Like history.path, a station that
 * keeps its state on another disk may want the journal elsewhere; by
 * default it sits with users and the audit log in data_dir.
 *
 *   alarm_journal: {path: data/alarms.db, retention: 730d}
 *
 * retention: how long records are kept (each alarm's newest always is:
 * restore needs it); a duration of at least a day ("400d", "8760h"), or
 * "forever".  Two years by default: a year's KPIs can be compared with
 * the year before.
 */
#include "config/parse.h"

#include <stdlib.h>
#include <string.h>

enum { J_PATH, J_RETENTION, J_N };
static const char *const journal_keys[J_N] = {"path", "retention"};
#define J_RETENTION_DEFAULT_NS (730ull * 86400 * 1000000000ull)

static void journal_parse(cfg_src *s, const yaml_node_t *n, map_station *st)
{
    char got[64];
    if (n->type != YAML_MAPPING_NODE) {
        cfg_err_at(s, n, "'alarm_journal' must be a mapping such as {path: "
                   "data/alarms.db}, got %s", CFG_GOT(n));
        return;
    }
    yaml_node_t *val[J_N], *k[J_N];
    cfg_get_keys(s, n, "alarm_journal", journal_keys, J_N, val, k);
    if (val[J_PATH])
        cfg_get_str(s, "'path'", val[J_PATH], &st->alarm_journal.path);
    if (val[J_RETENTION])
        cfg_get_retention(s, val[J_RETENTION],
                          &st->alarm_journal.retention_ns);
}

/* A path written in the file is kept as written; only the default lives
 * in the station's data_dir. */
static void journal_finish(cfg_src *s, map_station *st)
{
    (void)s;
    if (!st->alarm_journal.path)
        st->alarm_journal.path = cfg_data_path(st, "alarms.db");
}

static void journal_defaults(map_station *st)
{
    st->alarm_journal.retention_ns = J_RETENTION_DEFAULT_NS;
}

const cfg_section cfg_journal_section = {
    .key = "alarm_journal",
    .defaults = journal_defaults,
    .parse = journal_parse,
    .finish = journal_finish,
};
