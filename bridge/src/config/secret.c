/*
 * secret.c - secrets from the environment or from a file (secret.h).
 *
 * Moved here from the command line so that every program that opens a
 * destination (the CLI, the daemon) resolves secrets the same way and
 * words a failure the same way.
 */
#include "config/secret.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The copy the caller gets; -1 (with err) when memory runs out. */
static int secret_copy(const char *what, const char *v, char **out,
                       char *err, size_t errlen)
{
    *out = strdup(v);
    if (!*out) {
        snprintf(err, errlen, "%s: out of memory", what);
        return -1;
    }
    return 0;
}

int secret_resolve(const char *what, const char *env, const char *file,
                   char **out, char *err, size_t errlen)
{
    *out = NULL;
    if (env) {
        const char *v = getenv(env);
        if (!v) {
            snprintf(err, errlen, "%s: environment variable %s is not set",
                     what, env);
            return -1;
        }
        return secret_copy(what, v, out, err, errlen);
    }
    if (!file)
        return 0;
    /* Not checked: a file readable by group or others.  The bridge
     * accepts what the operator gave it; refusing such files would be a
     * change of behaviour of its own. */
    FILE *f = fopen(file, "r");
    if (!f) {
        char buf[128];
        snprintf(err, errlen, "%s: cannot open %s: %s", what, file,
                 strerror_r(errno, buf, sizeof buf));
        return -1;
    }
    char line[1024];
    char *ok = fgets(line, sizeof line, f);
    fclose(f);
    if (!ok) {
        snprintf(err, errlen, "%s: %s is empty", what, file);
        return -1;
    }
    line[strcspn(line, "\r\n")] = '\0';
    return secret_copy(what, line, out, err, errlen);
}
