/*
 * secret.h - resolving the secrets a map names but never holds.
 *
 * Map files end up in git, so a password or token is named instead: by an
 * environment variable (password_env, token_env) or by a file whose first
 * line is the secret (password_file, token_file).  The bridge resolves
 * them once, when it starts, and refuses to start when one cannot be
 * resolved.  Thread-safe (no state); normally called from the main thread.
 */
#ifndef LB_SECRET_H
#define LB_SECRET_H

#include <stddef.h>

/* Resolves one secret: the value of environment variable env when env is
 * given, else the first line of file (without its trailing CR/LF; at most
 * 1023 bytes are read).  `what` ("password", "token") starts every
 * message.
 *
 * 0 with *out a malloc'd copy the caller frees, or 0 with *out NULL when
 * neither env nor file is given (nothing to resolve).  -1 with *out NULL
 * and err holding one line naming the variable or file:
 *   "password: environment variable INFLUX_PASSWORD is not set"
 *   "password: cannot open /x: No such file or directory"
 *   "password: /x is empty"
 * An empty variable or an empty first line is a valid (empty) secret. */
int secret_resolve(const char *what, const char *env, const char *file,
                   char **out, char *err, size_t errlen);

#endif
