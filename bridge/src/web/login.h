/*
 * login.h - the body of POST /api/login, parsed without lws:
 *   {"user": "...", "password": "..."}   a person logging in
 *   {"token": "..."}                     a wall screen's kiosk token
 * exactly those keys (each once), string values only, valid UTF-8, no
 * NUL; user at most 64 bytes, password 1024, token 256, the body 16 KiB.
 * Whitespace between tokens is allowed (RFC 8259), nothing else is: no
 * other keys, no nesting, no trailing text.  Whether a user name is one
 * (auth_name_valid) is the auth module's to say; here a user or token
 * only may not hold control characters.
 *
 * A message never quotes the body (so never a password, nor a password
 * typed into the wrong field), only fixed text and a byte offset.
 *
 * Pure: no allocation, no global state, any thread.  The web module's
 * login handler calls it with the request body; the fuzzer
 * (tests/fuzz/login/) with anything.
 */
#ifndef LB_WEB_LOGIN_H
#define LB_WEB_LOGIN_H

#include <stddef.h>

#define WEB_LOGIN_BODY_MAX 16384
#define WEB_LOGIN_USER_MAX 64
#define WEB_LOGIN_PASSWORD_MAX 1024
#define WEB_LOGIN_TOKEN_MAX 256

typedef enum {
    WEB_LOGIN_BAD = -1,        /* refused: err says why */
    WEB_LOGIN_PASSWORD = 1,    /* user and password given */
    WEB_LOGIN_TOKEN = 2,       /* token given */
} web_login_kind;

/* Parses len bytes at body (need not be NUL-terminated; NULL with len 0
 * is an empty body).  user, password and token receive the decoded
 * strings, NUL-terminated; give them WEB_LOGIN_USER_MAX + 1,
 * WEB_LOGIN_PASSWORD_MAX + 1 and WEB_LOGIN_TOKEN_MAX + 1 bytes (a smaller
 * buffer lowers that limit; each must have room for at least the NUL).
 * The fields the kind does not use are left empty, and on WEB_LOGIN_BAD
 * all three are, the password buffer wiped whole (explicit_bzero); the
 * caller wipes it after use, and the body.  err (may be NULL) gets e.g.
 *   "the body is over 16384 bytes"
 *   "the body must be a JSON object: {\"user\": ..., \"password\": ...}
 *     or {\"token\": ...}"
 *   "invalid JSON at offset 17: expected ':'"
 *   "unknown key (expected \"user\" and \"password\", or \"token\")"
 *   "\"user\" given twice"        "\"user\" must be a string"
 *   "\"user\" must be 1 to 64 bytes"
 *   "\"password\" contains a NUL character"
 *   "\"user\" contains a control character"
 *   "\"token\" cannot be combined with \"user\" or \"password\""
 *   "\"password\" is missing"     "give \"user\" and \"password\", or
 *                                   \"token\"" */
int web_login_parse(const char *body, size_t len, char *user,
                    size_t user_len, char *password, size_t password_len,
                    char *token, size_t token_len, char *err, size_t errlen);

#endif
