/*
 * conf_influx.c - the station's optional `influx:` section: a line-protocol
 * destination (InfluxDB 1.x/2.x, VictoriaMetrics) with its spool.
 *
 * Secrets never live in a map file, which ends up in git: the section
 * names an environment variable or a file (password_env/_file,
 * token_env/_file), resolved when the bridge starts (config/secret.h).
 */
#include "config/parse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void influx_defaults(map_station *st)
{
    map_influx *f = &st->influx;
    f->batch_points = 5000;
    f->batch_age_ns = 1000000000ull;
    f->timeout_ns = 10000000000ull;
    f->spool_max_bytes = 1073741824ull;
}

enum {
    I_URL, I_DB, I_RP, I_USER, I_PASS_ENV, I_PASS_FILE, I_ORG, I_BUCKET,
    I_TOKEN_ENV, I_TOKEN_FILE, I_PRECISION, I_BATCH, I_BATCH_AGE, I_GZIP,
    I_TIMEOUT, I_SPOOL, I_SPOOL_MAX, I_TENANT, I_CONSISTENCY, I_PASSWORD,
    I_TOKEN, I_N
};
static const char *const influx_keys[I_N] = {
    "url", "database", "rp", "username", "password_env", "password_file",
    "org", "bucket", "token_env", "token_file", "precision", "batch_size",
    "batch_age", "gzip", "timeout", "spool", "spool_max", "tenant",
    "consistency", "password", "token"};
static const char *const consistency_names[] = {"one", "any", "quorum",
                                                "all"};
static const char *const precision_names[] = {"ns", "us", "ms", "s"};

static void influx_parse(cfg_src *s, const yaml_node_t *n, map_station *st)
{
    map_influx *f = &st->influx;
    char got[64];
    if (n->type != YAML_MAPPING_NODE) {
        cfg_err_at(s, n, "'influx' must be a mapping such as {url: "
                   "http://127.0.0.1:8086, database: lock}, got %s",
                   CFG_GOT(n));
        return;
    }
    f->enabled = true;
    f->line = (int)n->start_mark.line + 1;
    f->col = (int)n->start_mark.column + 1;
    yaml_node_t *v[I_N], *k[I_N];
    cfg_get_keys_shown(s, n, "influx", influx_keys, I_N, I_PASSWORD, v, k);
    /* Secrets in a map file end up in git: refuse them outright. */
    if (k[I_PASSWORD])
        cfg_refuse_secret(s, k[I_PASSWORD], "password");
    if (k[I_TOKEN])
        cfg_refuse_secret(s, k[I_TOKEN], "token");
    if (cfg_require(s, n, "influx", "url", v[I_URL]) &&
        cfg_get_str(s, "'url'", v[I_URL], &f->url) == 0 &&
        strncmp(f->url, "http://", 7) != 0 &&
        strncmp(f->url, "https://", 8) != 0)
        cfg_err_at(s, v[I_URL], "'url' must start with http:// or https://, "
                   "got '%s'", f->url);
    char **strs[] = {
        [I_DB] = &f->database, [I_RP] = &f->rp, [I_USER] = &f->username,
        [I_PASS_ENV] = &f->password_env, [I_PASS_FILE] = &f->password_file,
        [I_ORG] = &f->org, [I_BUCKET] = &f->bucket,
        [I_TOKEN_ENV] = &f->token_env, [I_TOKEN_FILE] = &f->token_file,
        [I_SPOOL] = &f->spool_dir,
    };
    for (int i = I_DB; i <= I_SPOOL; i++) {
        if (i == I_PRECISION || i == I_BATCH || i == I_BATCH_AGE ||
            i == I_GZIP || i == I_TIMEOUT || !v[i])
            continue;
        char what[40];
        snprintf(what, sizeof what, "'%s'", influx_keys[i]);
        cfg_get_str(s, what, v[i], strs[i]);
    }
    int e;
    if (v[I_PRECISION] && cfg_get_enum(s, "'precision'", v[I_PRECISION],
                                       precision_names, 4, &e) == 0)
        f->precision = cfg_strdup(precision_names[e]);
    int64_t x;
    if (v[I_BATCH] && cfg_get_int(s, "'batch_size'", v[I_BATCH], 1, 1000000,
                                  "points", &x) == 0)
        f->batch_points = (size_t)x;
    if (v[I_BATCH_AGE])
        cfg_get_duration(s, "'batch_age'", v[I_BATCH_AGE], &f->batch_age_ns);
    if (v[I_TIMEOUT])
        cfg_get_duration(s, "'timeout'", v[I_TIMEOUT], &f->timeout_ns);
    if (v[I_GZIP])
        cfg_get_bool(s, "'gzip'", v[I_GZIP], &f->gzip);
    if (v[I_SPOOL_MAX]) {
        const char *sv = cfg_scalar(v[I_SPOOL_MAX]);
        if (!sv || cfg_parse_size(sv, &f->spool_max_bytes) == -1 ||
            f->spool_max_bytes < 1048576)
            cfg_err_at(s, v[I_SPOOL_MAX], "'spool_max' must be a size of at "
                       "least 1MiB such as 512MiB or 2GiB, got %s",
                       CFG_GOT(v[I_SPOOL_MAX]));
    }
    /* vminsert's tenant: accountID or accountID:projectID, 32-bit each */
    if (v[I_TENANT] &&
        cfg_get_str(s, "'tenant'", v[I_TENANT], &f->tenant) == 0) {
        unsigned long long a, b;
        int used = 0;
        const char *t = f->tenant;
        bool ok = t[0] >= '0' && t[0] <= '9' &&
                  ((sscanf(t, "%llu%n", &a, &used) == 1 && !t[used] &&
                    a <= 0xFFFFFFFFull) ||
                   (sscanf(t, "%llu:%llu%n", &a, &b, &used) == 2 &&
                    !t[used] && a <= 0xFFFFFFFFull && b <= 0xFFFFFFFFull &&
                    strchr(t, ':')[1] >= '0' && strchr(t, ':')[1] <= '9'));
        if (!ok)
            cfg_err_at(s, v[I_TENANT], "'tenant' must be a VictoriaMetrics "
                       "accountID or accountID:projectID such as 42 or "
                       "42:7, got '%s'", t);
    }
    if (v[I_CONSISTENCY] &&
        cfg_get_enum(s, "'consistency'", v[I_CONSISTENCY], consistency_names,
                     4, &e) == 0)
        f->consistency = cfg_strdup(consistency_names[e]);
    bool v2 = f->org || f->bucket;
    if (v2 && (f->tenant || f->consistency))
        cfg_err_at(s, n, "influx: 'tenant' (VictoriaMetrics cluster) and "
                   "'consistency' (InfluxDB Enterprise) are for the 1.x "
                   "write with 'database', not with org and bucket");
    if (v2 && !(f->org && f->bucket))
        cfg_err_at(s, n, "influx: InfluxDB 2.x needs both 'org' and 'bucket'");
    if (!v2 && !f->database && f->url)
        cfg_err_at(s, n, "influx: missing 'database' (InfluxDB 1.x, "
                   "VictoriaMetrics) or 'org' and 'bucket' (InfluxDB 2.x)");
    if (f->password_env && f->password_file)
        cfg_err_at(s, n, "influx: give password_env or password_file, not "
                   "both");
    if (f->token_env && f->token_file)
        cfg_err_at(s, n, "influx: give token_env or token_file, not both");
}

/* As for the history: only the default spool lives in data_dir. */
static void influx_finish(cfg_src *s, map_station *st)
{
    (void)s;
    if (st->influx.enabled && !st->influx.spool_dir)
        st->influx.spool_dir = cfg_data_path(st, "spool");
}

const cfg_section cfg_influx_section = {
    .key = "influx",
    .defaults = influx_defaults,
    .parse = influx_parse,
    .finish = influx_finish,
};
