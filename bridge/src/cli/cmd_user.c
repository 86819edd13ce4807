/*
 * cmd_user.c - `lockbridge user add|list|passwd|del|role`: the station's
 * users, edited through the same library and locks as the daemon, which
 * picks the change up within a second while it runs.
 *
 * Exit codes: 0 done; 64 a usage mistake (a missing or bad name, role or
 * password: nothing was changed); 1 it could not be done (the user exists
 * or does not, the files); 2 the map has errors.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "core/clock.h"

#define USER_NAME_RULE "1-64 of a-z A-Z 0-9 . _ -, not starting with - " \
                       "or ."

static int user_usage(const char *msg)
{
    fprintf(stderr, "lockbridge: %s\n"
            "usage: lockbridge user add NAME --role ROLE [--password-stdin] "
            "-c FILE\n"
            "       lockbridge user list [--json] -c FILE\n"
            "       lockbridge user passwd NAME [--password-stdin] -c FILE\n"
            "       lockbridge user role NAME ROLE -c FILE\n"
            "       lockbridge user del NAME -c FILE\n"
            "roles: viewer, operator, engineer, admin\n", msg);
    return CLI_EXIT_USAGE;
}

static bool user_name_ok(const char *cmd, const char *name)
{
    if (auth_name_valid(name))
        return true;
    fprintf(stderr, "lockbridge: user %s: '%s' is not a user name ("
            USER_NAME_RULE ")\n", cmd, name);
    return false;
}

static bool user_role_ok(const char *cmd, const char *s, auth_role *r)
{
    if (s && auth_role_parse(s, r) == 0)
        return true;
    fprintf(stderr, "lockbridge: user %s: '%s' is not a role (viewer, "
            "operator, engineer, admin)\n", cmd, s ? s : "");
    return false;
}

static int user_find(void *ctx, const auth_user_info *u)
{
    const char **name = ctx;
    if (strcmp(u->name, *name) == 0) {
        *name = NULL;
        return 1;
    }
    return 0;
}

static bool user_exists(auth *a, const char *name)
{
    const char *want = name;
    char err[128];
    auth_users_each(a, user_find, &want, err, sizeof err);
    return want == NULL;
}

typedef struct {
    bool json, first;
    size_t n;
} user_list_ctx;

static int user_row(void *arg, const auth_user_info *u)
{
    user_list_ctx *x = arg;
    char created[40], changed[40];
    clk_format_rfc3339(u->created_ns, created, sizeof created);
    clk_format_rfc3339(u->changed_ns, changed, sizeof changed);
    if (x->json)
        printf("%s{\"name\":\"%s\",\"role\":\"%s\",\"created\":\"%s\","
               "\"changed\":\"%s\"}", x->first ? "" : ",\n", u->name,
               auth_role_name(u->role), created, changed);
    else
        printf("%-20s %-9s %-24s %s\n", u->name, auth_role_name(u->role),
               created, changed);
    x->first = false;
    x->n++;
    return 0;
}

static int user_list(auth *a, const cli_opts *o)
{
    user_list_ctx x = {.json = o->json, .first = true};
    char err[256];
    if (o->json)
        printf("[");
    else
        printf("%-20s %-9s %-24s %s\n", "NAME", "ROLE", "CREATED",
               "PASSWORD SET");
    if (auth_users_each(a, user_row, &x, err, sizeof err) < 0) {
        fprintf(stderr, "lockbridge: %s\n", err);
        return CLI_EXIT_FAIL;
    }
    if (o->json)
        printf("]\n");
    if (x.n == 0)
        fprintf(stderr, "lockbridge: no users yet: `lockbridge user add "
                "NAME --role admin -c %s` adds the first\n", o->config);
    return 0;
}

int cmd_user(const cli_opts *o)
{
    if (o->nargs < 1)
        return user_usage("user needs one of add, list, passwd, role, del");
    const char *sub = o->args[0];
    const char *name = o->nargs > 1 ? o->args[1] : NULL;
    int want = strcmp(sub, "list") == 0 ? 1
             : strcmp(sub, "role") == 0 ? 3
             : (strcmp(sub, "add") == 0 || strcmp(sub, "passwd") == 0 ||
                strcmp(sub, "del") == 0) ? 2 : 0;
    char msg[160];
    if (want == 0) {
        snprintf(msg, sizeof msg, "unknown user command '%.40s' (add, list, "
                 "passwd, role, del)", sub);
        return user_usage(msg);
    }
    if (o->nargs != want) {
        snprintf(msg, sizeof msg, "user %s takes %s", sub,
                 want == 1 ? "no name" : want == 2 ? "one NAME"
                                                   : "NAME and ROLE");
        return user_usage(msg);
    }
    auth_role role = AUTH_VIEWER;
    if (name && !user_name_ok(sub, name))
        return CLI_EXIT_USAGE;
    if (strcmp(sub, "add") == 0 && !o->role)
        return user_usage("user add needs --role viewer|operator|engineer|"
                          "admin");
    if (strcmp(sub, "add") == 0 && !user_role_ok(sub, o->role, &role))
        return CLI_EXIT_USAGE;
    if (strcmp(sub, "role") == 0 && !user_role_ok(sub, o->args[2], &role))
        return CLI_EXIT_USAGE;
    if (o->role && strcmp(sub, "add") != 0)
        return user_usage("--role is for user add (user role NAME ROLE "
                          "changes one)");

    map_station *st = cli_load(o);
    if (!st)
        return CLI_EXIT_CONFIG;
    auth *a = cli_auth_open(st);
    int rc = CLI_EXIT_FAIL;
    char who[65], err[4096], pw[AUTH_PASSWORD_MAX + 2] = "";
    cli_who(who, sizeof who);
    int64_t now = clk_real_ns();
    if (!a)
        goto out;
    if (strcmp(sub, "list") == 0) {
        rc = user_list(a, o);
        goto out;
    }
    bool exists = user_exists(a, name);
    if (strcmp(sub, "add") == 0 && exists) {
        fprintf(stderr, "lockbridge: user '%s' exists (user passwd %s sets "
                "a new password, user role %s ROLE another role)\n", name,
                name, name);
        goto out;
    }
    if (strcmp(sub, "add") != 0 && !exists) {
        fprintf(stderr, "lockbridge: no user '%s' in %s (user list shows "
                "them)\n", name, st->auth.users);
        goto out;
    }
    if (strcmp(sub, "add") == 0 || strcmp(sub, "passwd") == 0) {
        if (cli_read_password(name, o->password_stdin, pw, sizeof pw) < 0) {
            rc = CLI_EXIT_USAGE;
            goto out;
        }
    }
    int r;
    if (strcmp(sub, "add") == 0)
        r = auth_user_add(a, name, role, pw, who, "cli", now, err,
                          sizeof err);
    else if (strcmp(sub, "passwd") == 0)
        r = auth_user_passwd(a, name, pw, who, "cli", now, err, sizeof err);
    else if (strcmp(sub, "role") == 0)
        r = auth_user_role(a, name, role, who, "cli", now, err, sizeof err);
    else
        r = auth_user_del(a, name, who, "cli", now, err, sizeof err);
    if (r < 0) {
        fprintf(stderr, "lockbridge: user %s %s: %s\n", sub, name, err);
        goto out;
    }
    if (strcmp(sub, "add") == 0)
        fprintf(stderr, "lockbridge: user %s added (%s)\n", name,
                auth_role_name(role));
    else if (strcmp(sub, "passwd") == 0)
        fprintf(stderr, "lockbridge: password of %s set; their sessions "
                "end\n", name);
    else if (strcmp(sub, "role") == 0)
        fprintf(stderr, "lockbridge: %s is now %s\n", name,
                auth_role_name(role));
    else
        fprintf(stderr, "lockbridge: user %s deleted; their sessions end\n",
                name);
    rc = 0;
out:
    explicit_bzero(pw, sizeof pw);
    auth_close(a);
    map_free(st);
    return rc;
}
