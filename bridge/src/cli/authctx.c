/*
 * authctx.c - what `user`, `token` and `audit` share: the station's auth
 * handle opened from the map (its data_dir and auth: section), the Unix
 * user who is acting (the audit's "who"), and the dashboard's address
 * for a token's URL.
 */
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

static void cli_auth_warn(void *ctx, const char *msg)
{
    (void)ctx;
    fprintf(stderr, "lockbridge: warning: %s\n", msg);
}

auth *cli_auth_open(const map_station *st)
{
    auth_opts o = {
        .users_path = st->auth.users,
        .state_dir = st->data_dir,
        .session_idle_ns = st->auth.session_idle_ns,
        .session_max_ns = st->auth.session_max_ns,
        .token_session_ns = st->auth.token_session_ns,
        .throttle_window_ns = st->auth.throttle_window_ns,
        .warn = cli_auth_warn,
    };
    char err[4096];
    auth *a = auth_open(&o, err, sizeof err);
    if (!a)
        fprintf(stderr, "lockbridge: %s\n", err);
    return a;
}

void cli_who(char *out, size_t len)
{
    uid_t uid = geteuid();
    struct passwd pw, *res = NULL;
    char buf[1024];
    if (getpwuid_r(uid, &pw, buf, sizeof buf, &res) == 0 && res &&
        auth_name_valid(res->pw_name))
        snprintf(out, len, "%s", res->pw_name);
    else
        snprintf(out, len, "uid-%u", (unsigned)uid);
}

bool cli_web_base(const map_station *st, char *out, size_t len,
                  const char **note)
{
    const char *listen = st->web.listen ? st->web.listen : "127.0.0.1:8080";
    *note = NULL;
    if (strncmp(listen, "0.0.0.0:", 8) == 0 || strncmp(listen, "[::]:", 5)
        == 0)
        *note = "web.listen is every interface: replace the host in the URL "
                "with this machine's address as the wall screen reaches it";
    else if (!st->web.enabled)
        *note = "the dashboard is off (web: off): the URL works once it is "
                "on";
    /* A wall screen must come in the way the dashboard serves: under
     * web.tls a plain http:// URL would only reach a TLS handshake. */
    snprintf(out, len, "%s://%s", st->web.tls_cert ? "https" : "http",
             listen);
    return true;
}
