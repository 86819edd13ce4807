/*
 * conf_auth.c - the station's `auth:` section: who may act on the station
 * (auth/): where the users file is, what someone who has not logged in
 * may see, how long a login lasts, and how long failed logins count.
 *
 *   auth: {users: /etc/lockbridge/users, anonymous: viewer,
 *          session_idle: 30m, session_max: 12h, token_session: 30d,
 *          throttle_window: 15m}
 *
 * Every key is optional.  anonymous defaults to viewer; whether it was
 * written is kept, because the web server turns the default (not a value
 * someone wrote) into none when the dashboard listens beyond loopback.
 * Durations here also take days ("30d"), since a kiosk token's session is
 * counted in them.
 */
#include "config/parse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NS_PER_H (3600ull * 1000000000ull)
/* Ten years: nothing here means more, and sums of ns stay in int64. */
#define AUTH_DURATION_MAX (3650ull * 24 * NS_PER_H)

static void auth_defaults(map_station *st)
{
    map_auth *a = &st->auth;
    a->anonymous = MAP_ANON_VIEWER;
    a->session_idle_ns = 30ull * 60 * 1000000000ull;
    a->session_max_ns = 12 * NS_PER_H;
    a->token_session_ns = 30 * 24 * NS_PER_H;
    a->throttle_window_ns = 15ull * 60 * 1000000000ull;
}

static int auth_get_duration(cfg_src *s, const char *what,
                             const yaml_node_t *n, uint64_t *out)
{
    char got[64];
    const char *v = cfg_scalar(n);
    uint64_t ns;
    if (v && (v[0] == '-' || (cfg_parse_long_duration(v, &ns) == 0 && ns == 0))) {
        cfg_err_at(s, n, "%s must be a duration greater than 0, got %s", what,
                   CFG_GOT(n));
        return -1;
    }
    if (!v || cfg_parse_long_duration(v, &ns) < 0) {
        cfg_err_at(s, n, "%s must be a duration such as 30m, 12h or 30d "
                   "(units us, ms, s, m, h, d), got %s", what, CFG_GOT(n));
        return -1;
    }
    if (ns > AUTH_DURATION_MAX) {
        cfg_err_at(s, n, "%s must be at most 3650d, got %s", what,
                   CFG_GOT(n));
        return -1;
    }
    *out = ns;
    return 0;
}

enum { A_USERS, A_ANONYMOUS, A_IDLE, A_MAX, A_TOKEN, A_THROTTLE, A_N };
static const char *const auth_keys[A_N] = {
    "users", "anonymous", "session_idle", "session_max", "token_session",
    "throttle_window"};
static const char *const auth_anonymous_names[] = {"viewer", "none"};

static void auth_parse(cfg_src *s, const yaml_node_t *n, map_station *st)
{
    map_auth *a = &st->auth;
    char got[64];
    if (n->type != YAML_MAPPING_NODE) {
        cfg_err_at(s, n, "'auth' must be a mapping such as {users: "
                   "/etc/lockbridge/users, anonymous: none}, got %s",
                   CFG_GOT(n));
        return;
    }
    a->line = (int)n->start_mark.line + 1;
    a->col = (int)n->start_mark.column + 1;
    yaml_node_t *val[A_N], *k[A_N];
    cfg_get_keys(s, n, "auth", auth_keys, A_N, val, k);
    if (val[A_USERS])
        cfg_get_str(s, "'users'", val[A_USERS], &a->users);
    int anon;
    if (val[A_ANONYMOUS] &&
        cfg_get_enum(s, "'anonymous'", val[A_ANONYMOUS], auth_anonymous_names,
                     CFG_COUNT(auth_anonymous_names), &anon) == 0) {
        a->anonymous = anon == 0 ? MAP_ANON_VIEWER : MAP_ANON_NONE;
        a->anonymous_set = true;
    }
    bool idle_ok = val[A_IDLE] &&
        auth_get_duration(s, "'session_idle'", val[A_IDLE],
                          &a->session_idle_ns) == 0;
    bool max_ok = val[A_MAX] &&
        auth_get_duration(s, "'session_max'", val[A_MAX],
                          &a->session_max_ns) == 0;
    if (val[A_TOKEN])
        auth_get_duration(s, "'token_session'", val[A_TOKEN],
                          &a->token_session_ns);
    uint64_t win;
    if (val[A_THROTTLE] &&
        auth_get_duration(s, "'throttle_window'", val[A_THROTTLE], &win) == 0) {
        /* Under a second the waits (whole seconds of Retry-After) would
         * not be what was written; over a day the longest wait, which is
         * the window, would be a lockout in all but name. */
        if (win < 1000000000ull || win > 24 * NS_PER_H)
            cfg_err_at(s, val[A_THROTTLE], "'throttle_window' must be from "
                       "1s to 1d, got '%s'", cfg_scalar(val[A_THROTTLE]));
        else
            a->throttle_window_ns = win;
    }
    /* Written that way it is a mistake (session_max would always win);
     * a default idle longer than a short session_max written is not. */
    if (idle_ok && (max_ok || !val[A_MAX]) &&
        a->session_idle_ns > a->session_max_ns)
        cfg_err_at(s, val[A_IDLE], "'session_idle' must not be longer than "
                   "'session_max' (%s), got '%s'",
                   val[A_MAX] ? cfg_scalar(val[A_MAX]) : "12h",
                   cfg_scalar(val[A_IDLE]));
    if (!val[A_IDLE] && a->session_idle_ns > a->session_max_ns)
        a->session_idle_ns = a->session_max_ns;
}

/* A path written in the file is kept as written; only the default lives
 * in the station's data_dir. */
static void auth_finish(cfg_src *s, map_station *st)
{
    (void)s;
    if (!st->auth.users)
        st->auth.users = cfg_data_path(st, "users");
}

const cfg_section cfg_auth_section = {
    .key = "auth",
    .defaults = auth_defaults,
    .parse = auth_parse,
    .finish = auth_finish,
};
