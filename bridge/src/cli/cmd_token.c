/*
 * cmd_token.c - `lockbridge token add|list|del`: kiosk tokens, the
 * secrets in the URLs of wall screens.  `add` prints the URL with the
 * secret, which is the only time it is shown: only its hash is kept.
 *
 * Exit codes as for `user` (cmd_user.c).
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "core/clock.h"

static int token_usage(const char *msg)
{
    fprintf(stderr, "lockbridge: %s\n"
            "usage: lockbridge token add NAME [--role viewer|operator|"
            "engineer] -c FILE\n"
            "       lockbridge token list [--json] -c FILE\n"
            "       lockbridge token del NAME -c FILE\n", msg);
    return CLI_EXIT_USAGE;
}

typedef struct {
    bool json, first;
    size_t n;
} token_list_ctx;

static int token_row(void *arg, const auth_token_info *t)
{
    token_list_ctx *x = arg;
    char created[40], used[40] = "never";
    clk_format_rfc3339(t->created_ns, created, sizeof created);
    if (t->last_used_ns)
        clk_format_rfc3339(t->last_used_ns, used, sizeof used);
    if (x->json) {
        char q[48];
        if (t->last_used_ns)
            snprintf(q, sizeof q, "\"%s\"", used);
        else
            snprintf(q, sizeof q, "null");
        printf("%s{\"name\":\"%s\",\"role\":\"%s\",\"created\":\"%s\","
               "\"last_used\":%s}", x->first ? "" : ",\n", t->name,
               auth_role_name(t->role), created, q);
    } else {
        printf("%-20s %-9s %-24s %s\n", t->name, auth_role_name(t->role),
               created, used);
    }
    x->first = false;
    x->n++;
    return 0;
}

int cmd_token(const cli_opts *o)
{
    if (o->nargs < 1)
        return token_usage("token needs one of add, list, del");
    const char *sub = o->args[0];
    int want = strcmp(sub, "list") == 0 ? 1
             : (strcmp(sub, "add") == 0 || strcmp(sub, "del") == 0) ? 2 : 0;
    char msg[160];
    if (want == 0) {
        snprintf(msg, sizeof msg, "unknown token command '%.40s' (add, list, "
                 "del)", sub);
        return token_usage(msg);
    }
    if (o->nargs != want)
        return token_usage(want == 1 ? "token list takes no name"
                                     : "token add and del take one NAME");
    const char *name = want == 2 ? o->args[1] : NULL;
    if (name && !auth_name_valid(name)) {
        fprintf(stderr, "lockbridge: token %s: '%s' is not a token name "
                "(1-64 of a-z A-Z 0-9 . _ -, not starting with - or .)\n",
                sub, name);
        return CLI_EXIT_USAGE;
    }
    auth_role role = AUTH_VIEWER;
    if (o->role && strcmp(sub, "add") != 0)
        return token_usage("--role is for token add");
    if (o->role && (auth_role_parse(o->role, &role) < 0 ||
                    role == AUTH_ADMIN)) {
        fprintf(stderr, "lockbridge: token add: a token's role is viewer, "
                "operator or engineer, got '%s' (its URL is on a wall "
                "screen: admin needs a person who logs in)\n", o->role);
        return CLI_EXIT_USAGE;
    }

    map_station *st = cli_load(o);
    if (!st)
        return CLI_EXIT_CONFIG;
    auth *a = cli_auth_open(st);
    int rc = CLI_EXIT_FAIL;
    char who[65], err[1024], secret[AUTH_TOKEN_LEN + 1] = "";
    cli_who(who, sizeof who);
    int64_t now = clk_real_ns();
    if (!a)
        goto out;
    if (strcmp(sub, "list") == 0) {
        token_list_ctx x = {.json = o->json, .first = true};
        if (o->json)
            printf("[");
        else
            printf("%-20s %-9s %-24s %s\n", "NAME", "ROLE", "CREATED",
                   "LAST USED");
        if (auth_tokens_each(a, token_row, &x, err, sizeof err) < 0) {
            fprintf(stderr, "lockbridge: %s\n", err);
            goto out;
        }
        if (o->json)
            printf("]\n");
        rc = 0;
        goto out;
    }
    if (strcmp(sub, "del") == 0) {
        if (auth_token_del(a, name, who, "cli", now, err, sizeof err) < 0) {
            fprintf(stderr, "lockbridge: token del %s: %s\n", name, err);
            goto out;
        }
        fprintf(stderr, "lockbridge: token %s deleted; the screens using it "
                "are logged out\n", name);
        rc = 0;
        goto out;
    }
    if (auth_token_add(a, name, role, who, "cli", now, secret, sizeof secret,
                       err, sizeof err) < 0) {
        fprintf(stderr, "lockbridge: token add %s: %s\n", name, err);
        goto out;
    }
    char base[128];
    const char *note;
    cli_web_base(st, base, sizeof base, &note);
    /* The name goes into the URL as it is: names are URL-safe by rule. */
    printf("%s/?kiosk=1&display=%s&token=%s\n", base, name, secret);
    fflush(stdout);
    fprintf(stderr, "lockbridge: token %s added (%s). Open the URL above on "
            "the wall screen; it is shown only this once (only a hash is "
            "kept): `lockbridge token del %s` revokes it.\n", name,
            auth_role_name(role), name);
    if (note)
        fprintf(stderr, "lockbridge: %s\n", note);
    rc = 0;
out:
    explicit_bzero(secret, sizeof secret);
    auth_close(a);
    map_free(st);
    return rc;
}
