/*
 * login.c - the login body (see login.h): a parser for exactly one flat
 * JSON object of string values, written for this instead of cJSON so
 * that duplicate keys, NUL characters, invalid UTF-8 and over-long values
 * are refused (cJSON keeps the first of two keys, cuts a string at an
 * escaped NUL and passes invalid UTF-8 on), nothing is allocated, and
 * a secret is only ever written into the caller's buffer.
 */
#include "web/login.h"

#include <assert.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/utf8.h"

enum { K_USER, K_PASSWORD, K_TOKEN, K_N };
static const char *const key_names[K_N] = {"user", "password", "token"};
static const size_t key_max[K_N] = {
    WEB_LOGIN_USER_MAX, WEB_LOGIN_PASSWORD_MAX, WEB_LOGIN_TOKEN_MAX};

typedef struct {
    const unsigned char *start, *p, *end;
    char *err;
    size_t errlen;
} cursor;

/* What reading one string found, besides success. */
enum { R_OK, R_SYNTAX, R_LONG, R_NUL, R_CTRL, R_UNICODE };

static void fail(cursor *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void fail(cursor *c, const char *fmt, ...)
{
    if (!c->err || !c->errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, c->errlen, fmt, ap);
    va_end(ap);
}

static int syntax(cursor *c, const char *what)
{
    fail(c, "invalid JSON at offset %zu: %s", (size_t)(c->p - c->start),
         what);
    return R_SYNTAX;
}

/* RFC 8259 2: insignificant whitespace. */
static void skip_ws(cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' ||
                             *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

static int hex4(const unsigned char *p, uint32_t *out)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned char h = p[i];
        v <<= 4;
        if (h >= '0' && h <= '9')
            v |= (uint32_t)(h - '0');
        else if (h >= 'a' && h <= 'f')
            v |= (uint32_t)(h - 'a' + 10);
        else if (h >= 'A' && h <= 'F')
            v |= (uint32_t)(h - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

static bool is_control(uint32_t cp)
{
    return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F);
}

/* Reads a string whose opening quote has been passed, decoding it into
 * out (at most cap bytes; no NUL is added), *n bytes.  Stops at the first
 * problem: R_SYNTAX (reported), R_LONG, R_NUL, R_CTRL (a control
 * character, when !ctrl_ok) or R_UNICODE (invalid UTF-8, a lone
 * surrogate). */
static int read_string(cursor *c, char *out, size_t cap, size_t *n,
                       bool ctrl_ok)
{
    *n = 0;
    for (;;) {
        if (c->p == c->end)
            return syntax(c, "unterminated string");
        unsigned char b = *c->p;
        uint32_t cp;
        unsigned char enc[4];
        size_t k;
        if (b == '"') {
            c->p++;
            return R_OK;
        }
        if (b < 0x20)
            return syntax(c, "control character in a string");
        if (b == '\\') {
            if (c->end - c->p < 2)
                return syntax(c, "unterminated string");
            unsigned char e = c->p[1];
            switch (e) {
            case '"': case '\\': case '/': cp = e; break;
            case 'b': cp = '\b'; break;
            case 'f': cp = '\f'; break;
            case 'n': cp = '\n'; break;
            case 'r': cp = '\r'; break;
            case 't': cp = '\t'; break;
            case 'u':
                if (c->end - c->p < 6 || hex4(c->p + 2, &cp) < 0)
                    return syntax(c, "\\u needs four hex digits");
                break;
            default:
                return syntax(c, "unknown escape");
            }
            if (e != 'u') {
                c->p += 2;
            } else if (cp >= 0xD800 && cp <= 0xDBFF) {
                /* A high surrogate must be followed by a low one. */
                uint32_t lo;
                if (c->end - c->p < 12 || c->p[6] != '\\' ||
                    c->p[7] != 'u' || hex4(c->p + 8, &lo) < 0 ||
                    lo < 0xDC00 || lo > 0xDFFF)
                    return R_UNICODE;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                c->p += 12;
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                return R_UNICODE;
            } else {
                c->p += 6;
            }
            k = utf8_put(cp, enc);
        } else {
            k = utf8_seq(c->p, c->end, &cp);
            if (k == 0)
                return R_UNICODE;
            memcpy(enc, c->p, k);
            c->p += k;
        }
        if (cp == 0)
            return R_NUL;
        if (!ctrl_ok && is_control(cp))
            return R_CTRL;
        if (cap - *n < k)
            return R_LONG;
        memcpy(out + *n, enc, k);
        *n += k;
    }
}

int web_login_parse(const char *body, size_t len, char *user,
                    size_t user_len, char *password, size_t password_len,
                    char *token, size_t token_len, char *err, size_t errlen)
{
    assert(user && user_len && password && password_len && token &&
           token_len);
    char *out[K_N] = {user, password, token};
    size_t room[K_N] = {user_len, password_len, token_len};
    user[0] = password[0] = token[0] = '\0';
    if (err && errlen)
        err[0] = '\0';
    if (!body)
        len = 0;
    cursor c = {.start = (const unsigned char *)body,
                .p = (const unsigned char *)body,
                .end = (const unsigned char *)body + len,
                .err = err, .errlen = errlen};
    bool seen[K_N] = {false};
    char key[16];

    if (len > WEB_LOGIN_BODY_MAX) {
        fail(&c, "the body is over %d bytes", WEB_LOGIN_BODY_MAX);
        goto bad;
    }
    skip_ws(&c);
    if (c.p == c.end || *c.p != '{') {
        fail(&c, "the body must be a JSON object: {\"user\": ..., "
             "\"password\": ...} or {\"token\": ...}");
        goto bad;
    }
    c.p++;
    skip_ws(&c);
    if (c.p < c.end && *c.p == '}') {
        c.p++;
    } else {
        for (;;) {
            size_t n;
            skip_ws(&c);
            if (c.p == c.end || *c.p != '"') {
                syntax(&c, "expected a key in double quotes");
                goto bad;
            }
            c.p++;
            int r = read_string(&c, key, sizeof key, &n, true);
            if (r == R_SYNTAX)
                goto bad;
            int k = -1;
            for (int i = 0; r == R_OK && i < K_N && k < 0; i++)
                if (strlen(key_names[i]) == n &&
                    memcmp(key, key_names[i], n) == 0)
                    k = i;
            if (k < 0) {
                fail(&c, "unknown key (expected \"user\" and \"password\", "
                     "or \"token\")");
                goto bad;
            }
            if (seen[k]) {
                fail(&c, "\"%s\" given twice", key_names[k]);
                goto bad;
            }
            seen[k] = true;
            skip_ws(&c);
            if (c.p == c.end || *c.p != ':') {
                syntax(&c, "expected ':'");
                goto bad;
            }
            c.p++;
            skip_ws(&c);
            if (c.p == c.end || *c.p != '"') {
                fail(&c, "\"%s\" must be a string", key_names[k]);
                goto bad;
            }
            c.p++;
            size_t cap = room[k] - 1 < key_max[k] ? room[k] - 1 : key_max[k];
            r = read_string(&c, out[k], cap, &n, k == K_PASSWORD);
            if (r == R_OK && n == 0)
                r = R_LONG;
            switch (r) {
            case R_OK:
                break;
            case R_SYNTAX:
                goto bad;
            case R_LONG:
                fail(&c, "\"%s\" must be 1 to %zu bytes", key_names[k], cap);
                goto bad;
            case R_NUL:
                fail(&c, "\"%s\" contains a NUL character", key_names[k]);
                goto bad;
            case R_CTRL:
                fail(&c, "\"%s\" contains a control character",
                     key_names[k]);
                goto bad;
            default:
                fail(&c, "\"%s\" is not valid UTF-8", key_names[k]);
                goto bad;
            }
            out[k][n] = '\0';
            skip_ws(&c);
            if (c.p < c.end && *c.p == ',') {
                c.p++;
                continue;
            }
            if (c.p < c.end && *c.p == '}') {
                c.p++;
                break;
            }
            syntax(&c, "expected ',' or '}'");
            goto bad;
        }
    }
    skip_ws(&c);
    if (c.p != c.end) {
        syntax(&c, "text after the object");
        goto bad;
    }
    explicit_bzero(key, sizeof key);
    if (seen[K_TOKEN]) {
        if (seen[K_USER] || seen[K_PASSWORD]) {
            fail(&c, "\"token\" cannot be combined with \"user\" or "
                 "\"password\"");
            goto bad;
        }
        return WEB_LOGIN_TOKEN;
    }
    if (!seen[K_USER] && !seen[K_PASSWORD]) {
        fail(&c, "give \"user\" and \"password\", or \"token\"");
        goto bad;
    }
    if (!seen[K_USER] || !seen[K_PASSWORD]) {
        fail(&c, "\"%s\" is missing", seen[K_USER] ? "password" : "user");
        goto bad;
    }
    return WEB_LOGIN_PASSWORD;

bad:
    /* Nothing half-read stays behind: a secret may have been decoded. */
    explicit_bzero(key, sizeof key);
    explicit_bzero(password, password_len);
    explicit_bzero(token, token_len);
    user[0] = '\0';
    return WEB_LOGIN_BAD;
}
