/*
 * conf_web.c - the station's `web:` section: where the dashboard is served
 * (web/).  On by default, on loopback only: a wall screen on another PC
 * needs `listen: 0.0.0.0:8080` (or that PC's address) written down.
 *
 *   web: {listen: 127.0.0.1:8080, origins: [https://scada.lock1.example],
 *         rate: 10, root: /usr/local/share/lockbridge/dashboard,
 *         stuck_after: 30s}
 *   web: {listen: 0.0.0.0:8443, tls: {cert: PATH, key: PATH}}
 *   web: {listen: 0.0.0.0:8080, insecure: true}     (plain HTTP, warned)
 *   web: {metrics: {access: token, token_env: LB_METRICS_TOKEN}}
 *   web: off
 */
#include "config/parse.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void web_defaults(map_station *st)
{
    st->web.enabled = true;
    st->web.rate_hz = 10;
    st->web.stuck_after_ns = 30000000000ull;
    st->web.listen = cfg_strdup("127.0.0.1:8080");
}

/* "127.0.0.1:8080", "[::1]:8080": a numeric address and a port.  Names
 * are refused: a daemon should not depend on resolving its own listen
 * address at start, nor bind to more than was meant. */
static bool web_listen_ok(const char *s)
{
    char host[64];
    const char *port;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':' || (size_t)(close - s - 1) >= sizeof host)
            return false;
        memcpy(host, s + 1, (size_t)(close - s - 1));
        host[close - s - 1] = '\0';
        port = close + 2;
        unsigned char a[16];
        if (inet_pton(AF_INET6, host, a) != 1)
            return false;
    } else {
        const char *colon = strrchr(s, ':');
        if (!colon || (size_t)(colon - s) >= sizeof host)
            return false;
        memcpy(host, s, (size_t)(colon - s));
        host[colon - s] = '\0';
        port = colon + 1;
        unsigned char a[4];
        if (inet_pton(AF_INET, host, a) != 1)
            return false;
    }
    char *end;
    errno = 0;
    long p = strtol(port, &end, 10);
    return !errno && end != port && !*end && p >= 1 && p <= 65535 &&
           port[0] != '+' && port[0] != '-';
}

/* An Origin as browsers send it: scheme://host[:port], nothing after. */
static bool web_origin_ok(const char *o)
{
    const char *h = NULL;
    if (strncmp(o, "http://", 7) == 0)
        h = o + 7;
    else if (strncmp(o, "https://", 8) == 0)
        h = o + 8;
    if (!h || !*h)
        return false;
    for (; *h; h++)
        if (*h == '/' || *h == '?' || *h == '#' || *h == ' ' || *h == '@')
            return false;
    return true;
}

bool map_listen_is_loopback(const char *s)
{
    if (!s)
        return false;
    if (strncmp(s, "[::1]:", 6) == 0)
        return true;
    return strncmp(s, "127.", 4) == 0;
}

/* A certificate or key that is not there is a map error, so that `check`
 * finds it before a start does.  Whether the file can be read and the
 * two match is the start's to say (web_new): `check` may run as another
 * user than the daemon, who alone can read a key kept 0600. */
static void web_tls_file(cfg_src *s, const char *what, const yaml_node_t *n,
                         const char *path)
{
    struct stat sb;
    if (stat(path, &sb) < 0)
        cfg_err_at(s, n, "'%s' file %s: %s", what, path, strerror(errno));
    else if (!S_ISREG(sb.st_mode))
        cfg_err_at(s, n, "'%s' file %s is not a regular file", what, path);
}

enum { W_ENABLED, W_LISTEN, W_ROOT, W_ORIGINS, W_RATE, W_STUCK, W_TLS,
       W_INSECURE, W_METRICS, W_N };
static const char *const web_keys[W_N] = {"enabled", "listen", "root",
                                          "origins", "rate", "stuck_after",
                                          "tls", "insecure", "metrics"};

enum { M_ACCESS, M_TOKEN_ENV, M_TOKEN_FILE, M_TOKEN, M_N };
static const char *const metrics_keys[M_N] = {"access", "token_env",
                                              "token_file", "token"};
static const char *const access_names[] = {"loopback", "token", "off"};

/* `metrics: off` or {access: loopback|token|off, token_env | token_file}.
 * The token is named, never written: maps end up in git. */
static void web_metrics_parse(cfg_src *s, const yaml_node_t *n, map_metrics *m)
{
    char got[64];
    const char *v = cfg_scalar(n);
    if (v && (strcmp(v, "off") == 0 || strcmp(v, "false") == 0)) {
        m->access = MAP_METRICS_OFF;
        return;
    }
    if (n->type != YAML_MAPPING_NODE) {
        cfg_err_at(s, n, "'metrics' must be a mapping such as {access: "
                   "token, token_env: LB_METRICS_TOKEN}, or off, got %s",
                   CFG_GOT(n));
        return;
    }
    yaml_node_t *mv[M_N], *mk[M_N];
    cfg_get_keys_shown(s, n, "metrics", metrics_keys, M_N, M_TOKEN, mv, mk);
    if (mk[M_TOKEN])
        cfg_refuse_secret(s, mk[M_TOKEN], "token");
    int a;
    if (mv[M_ACCESS] && cfg_get_enum(s, "'access'", mv[M_ACCESS],
                                     access_names, 3, &a) == 0)
        m->access = (map_metrics_access)a;
    if (mv[M_TOKEN_ENV])
        cfg_get_str(s, "'token_env'", mv[M_TOKEN_ENV], &m->token_env);
    if (mv[M_TOKEN_FILE])
        cfg_get_str(s, "'token_file'", mv[M_TOKEN_FILE], &m->token_file);
    if (mv[M_TOKEN_ENV] && mv[M_TOKEN_FILE])
        cfg_err_at(s, mk[M_TOKEN_FILE], "give one of 'token_env' and "
                   "'token_file' in metrics, not both");
    if (m->access == MAP_METRICS_TOKEN && !mv[M_TOKEN_ENV] &&
        !mv[M_TOKEN_FILE] && !mk[M_TOKEN])
        cfg_err_at(s, mv[M_ACCESS], "'access: token' needs the token: "
                   "give 'token_env' (an environment variable) or "
                   "'token_file'");
}

enum { T_CERT, T_KEY, T_N };
static const char *const tls_keys[T_N] = {"cert", "key"};

static void web_parse(cfg_src *s, const yaml_node_t *n, map_station *st)
{
    map_web *w = &st->web;
    char got[64];
    const char *v = cfg_scalar(n);
    if (v && (strcmp(v, "off") == 0 || strcmp(v, "false") == 0)) {
        w->enabled = false;
        return;
    }
    if (n->type != YAML_MAPPING_NODE) {
        cfg_err_at(s, n, "'web' must be a mapping such as {listen: "
                   "127.0.0.1:8080}, or off, got %s", CFG_GOT(n));
        return;
    }
    w->line = (int)n->start_mark.line + 1;
    w->col = (int)n->start_mark.column + 1;
    yaml_node_t *val[W_N], *k[W_N];
    cfg_get_keys(s, n, "web", web_keys, W_N, val, k);
    if (val[W_ENABLED])
        cfg_get_bool(s, "'enabled'", val[W_ENABLED], &w->enabled);
    if (val[W_LISTEN] &&
        cfg_get_str(s, "'listen'", val[W_LISTEN], &w->listen) == 0 &&
        !web_listen_ok(w->listen)) {
        cfg_err_at(s, val[W_LISTEN], "'listen' must be a numeric ADDRESS:"
                   "PORT such as 127.0.0.1:8080, [::1]:8080 or 0.0.0.0:8080 "
                   "(every interface), got '%s'", w->listen);
    }
    if (val[W_ROOT])
        cfg_get_str(s, "'root'", val[W_ROOT], &w->root);
    int64_t x;
    if (val[W_RATE] && cfg_get_int(s, "'rate'", val[W_RATE], 1, 50,
                                   "frames per second", &x) == 0)
        w->rate_hz = (unsigned)x;
    if (val[W_STUCK])
        cfg_get_duration(s, "'stuck_after'", val[W_STUCK],
                         &w->stuck_after_ns);
    if (val[W_INSECURE])
        cfg_get_bool(s, "'insecure'", val[W_INSECURE], &w->insecure);
    if (val[W_METRICS])
        web_metrics_parse(s, val[W_METRICS], &w->metrics);
    const yaml_node_t *t = val[W_TLS];
    if (t && t->type != YAML_MAPPING_NODE) {
        cfg_err_at(s, t, "'tls' must be a mapping such as {cert: "
                   "/etc/lockbridge/cert.pem, key: /etc/lockbridge/key.pem}, "
                   "got %s", CFG_GOT(t));
    } else if (t) {
        yaml_node_t *tv[T_N], *tk[T_N];
        cfg_get_keys(s, t, "tls", tls_keys, T_N, tv, tk);
        if (cfg_require(s, t, "tls", "cert", tv[T_CERT]) &&
            cfg_get_str(s, "'cert'", tv[T_CERT], &w->tls_cert) == 0)
            web_tls_file(s, "cert", tv[T_CERT], w->tls_cert);
        if (cfg_require(s, t, "tls", "key", tv[T_KEY]) &&
            cfg_get_str(s, "'key'", tv[T_KEY], &w->tls_key) == 0)
            web_tls_file(s, "key", tv[T_KEY], w->tls_key);
    }
    /* The CISA/EPA checklist for HMIs: nothing reachable from the network
     * without encryption unless someone wrote down that they mean it. */
    if (w->enabled && w->listen && web_listen_ok(w->listen) &&
        !map_listen_is_loopback(w->listen) && !t && !w->insecure)
        cfg_err_at(s, val[W_LISTEN] ? val[W_LISTEN] : n, "'listen' %s is "
                   "reachable from other machines: give 'tls: {cert, key}' "
                   "for HTTPS and WSS, or 'insecure: true' to serve plain "
                   "HTTP anyway", w->listen);
    const yaml_node_t *o = val[W_ORIGINS];
    if (o && o->type != YAML_SEQUENCE_NODE) {
        cfg_err_at(s, o, "'origins' must be a list such as "
                   "[https://scada.lock1.example], got %s", CFG_GOT(o));
    } else if (o) {
        size_t cnt = cfg_seq_len(o);
        w->origins = cfg_calloc(cnt, sizeof *w->origins);
        for (size_t i = 0; i < cnt; i++) {
            yaml_node_t *item = cfg_node(s, o->data.sequence.items.start[i]);
            if (!cfg_visit(s, item))
                return;
            char *str = NULL;
            if (cfg_get_str(s, "each of 'origins'", item, &str) < 0)
                continue;
            if (!web_origin_ok(str)) {
                cfg_err_at(s, item, "each of 'origins' must be an Origin "
                           "such as https://scada.lock1.example:8443 (scheme "
                           "and host, no path), got '%s'", str);
                free(str);
                continue;
            }
            w->origins[w->n_origins++] = str;
        }
    }
}

const cfg_section cfg_web_section = {
    .key = "web",
    .defaults = web_defaults,
    .parse = web_parse,
};
