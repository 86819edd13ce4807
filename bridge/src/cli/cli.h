/*
 * cli.h - what the lockbridge commands share: options, exit codes, map
 * loading, and one entry point per command.
 *
 *   lockbridge check  -c FILE           validate a station or PLC map
 *   lockbridge read   -c FILE [--json]  poll every PLC once and print all tags
 *   lockbridge run    -c FILE           the daemon (cmd_run.c)
 *   lockbridge export -c FILE --from T [--to T] [--tags ...] [--csv]
 *   lockbridge user add|list|passwd|del|role ... -c FILE   (cmd_user.c)
 *   lockbridge token add|list|del ... -c FILE              (cmd_token.c)
 *   lockbridge audit -c FILE --from T [--to T] [--csv]     (cmd_audit.c)
 *   lockbridge notify test -c FILE --channel ID            (cmd_notify.c)
 *   lockbridge grafana -c FILE [--datasource-uid UID]      (cmd_grafana.c)
 *
 * Everything here runs on the main thread; `run` turns the main thread
 * into the consumer thread (core/dispatch.h has the thread table).
 */
#ifndef LB_CLI_H
#define LB_CLI_H

#include <stdbool.h>

#include "auth/auth.h"
#include "config/plcmap.h"
#include "core/log.h"

#define LB_VERSION "0.1.0"

enum { CLI_EXIT_FAIL = 1, CLI_EXIT_CONFIG = 2, CLI_EXIT_USAGE = 64 };

typedef struct {
    const char *config;
    const char *data_dir;  /* --data-dir DIR: overrides the map's data_dir */
    bool json;
    bool csv;
    const char *tags, *from, *to;  /* acklink: --to is the recipient */
    double summary_s;
    bool log_changes;
    const char *web;       /* run --web ADDR|off: overrides web.listen */
    log_level level;
    const char *role;      /* user add, token add: --role */
    bool password_stdin;   /* user add, user passwd: --password-stdin */
    const char *ttl;       /* acklink: --ttl DURATION */
    const char *channel;   /* notify test: --channel */
    const char *datasource_uid; /* grafana: --datasource-uid */
    char **args;           /* the words after the command (user, token,
                              notify, acklink) */
    int nargs;
} cli_opts;

/* Loads the map at o->config (with o->data_dir, --data-dir, in place of
 * its data_dir when given), printing every error to stderr; NULL on
 * failure. */
map_station *cli_load(const cli_opts *o);

int cmd_check(const cli_opts *o);
int cmd_read(const cli_opts *o);
int cmd_run(const cli_opts *o);
int cmd_export(const cli_opts *o);
int cmd_user(const cli_opts *o);
int cmd_token(const cli_opts *o);
int cmd_audit(const cli_opts *o);
int cmd_acklink(const cli_opts *o);
int cmd_notify(const cli_opts *o);
int cmd_grafana(const cli_opts *o);

/* ---- the auth commands (authctx.c, prompt.c) ---- */

/* The station's auth handle: its users file and data_dir, warnings
 * printed; NULL (the reason printed) when it cannot be opened. */
auth *cli_auth_open(const map_station *st);
/* The local Unix user acting (the audit's who): getpwuid(geteuid()). */
void cli_who(char *out, size_t len);
/* "http://127.0.0.1:8080" ("https://..." under web.tls): where the
 * dashboard is, for a token's URL;
 * *note (or NULL) is what to tell the user about it (every interface,
 * dashboard off). */
bool cli_web_base(const map_station *st, char *out, size_t len,
                  const char **note);
/* A new password for user who: asked twice on the terminal (no echo), or
 * one line from stdin; checked against the rule.  0, or -1 with the reason
 * printed (a usage error).  out needs AUTH_PASSWORD_MAX + 2 bytes. */
int cli_read_password(const char *who, bool from_stdin, char *out,
                      size_t len);

#endif
