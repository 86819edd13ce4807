/*
 * fuzz_login.c - the login body (web/login.h), arbitrary bytes.
 *
 * Checked: the kinds and their fields (lengths within the limits, valid
 * UTF-8, no NUL, no control characters in user or token, the unused
 * fields empty); a refusal leaves the user empty and the password and
 * token buffers all zeros, with a message of printable ASCII that quotes
 * nothing of the body; a body taken is also JSON to cJSON, an object of
 * exactly those keys with the same strings; and the values written back
 * as JSON (every byte >= 0x80 and every control character escaped
 * differently from the input) parse to the same values.
 */
#include "fuzz/fuzz.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <string.h>

#include "web/login.h"

typedef struct {
    char user[WEB_LOGIN_USER_MAX + 1];
    char password[WEB_LOGIN_PASSWORD_MAX + 1];
    char token[WEB_LOGIN_TOKEN_MAX + 1];
    char err[256];
} out;

static bool has_control(const char *s)
{
    for (const unsigned char *u = (const unsigned char *)s; *u; u++) {
        if (*u < 0x20 || *u == 0x7f)
            return true;
        if (u[0] == 0xc2 && u[1] >= 0x80 && u[1] <= 0x9f)
            return true;      /* C1 controls, U+0080-U+009F */
    }
    return false;
}

static int parse(const char *body, size_t len, out *o)
{
    memset(o, 'X', sizeof *o);
    return web_login_parse(body, len, o->user, sizeof o->user, o->password,
                           sizeof o->password, o->token, sizeof o->token,
                           o->err, sizeof o->err);
}

/* s as a JSON string of \u escapes for everything but letters and
 * digits. */
static size_t put_json(char *dst, const char *s)
{
    size_t n = 0;
    dst[n++] = '"';
    for (const unsigned char *u = (const unsigned char *)s; *u; u++) {
        if ((*u >= 'a' && *u <= 'z') || (*u >= '0' && *u <= '9'))
            dst[n++] = (char)*u;
        else if (*u < 0x80)
            n += (size_t)sprintf(dst + n, "\\u%04x", *u);
        else
            dst[n++] = (char)*u;      /* UTF-8 as it stands */
    }
    dst[n++] = '"';
    return n;
}

static void check_with_cjson(const uint8_t *data, size_t size, int kind,
                             const out *o)
{
    cJSON *j = cJSON_ParseWithLength((const char *)data, size);
    FUZZ_CHECK(j && cJSON_IsObject(j), "taken, but not an object to cJSON");
    int n = cJSON_GetArraySize(j);
    FUZZ_CHECK(n == (kind == WEB_LOGIN_TOKEN ? 1 : 2), "%d keys", n);
    const char *keys[2] = {"user", "password"};
    const char *vals[2] = {o->user, o->password};
    if (kind == WEB_LOGIN_TOKEN) {
        keys[0] = "token";
        vals[0] = o->token;
    }
    for (int i = 0; i < n; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, keys[i]);
        FUZZ_CHECK(cJSON_IsString(v) && strcmp(v->valuestring, vals[i]) == 0,
                   "cJSON reads %s differently", keys[i]);
    }
    cJSON_Delete(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    out o;
    int kind = parse((const char *)data, size, &o);
    FUZZ_CHECK(kind == WEB_LOGIN_BAD || kind == WEB_LOGIN_PASSWORD ||
               kind == WEB_LOGIN_TOKEN, "kind %d", kind);
    if (kind == WEB_LOGIN_BAD) {
        FUZZ_CHECK(o.user[0] == '\0', "user left");
        for (size_t i = 0; i < sizeof o.password; i++)
            FUZZ_CHECK(o.password[i] == 0, "password not wiped");
        for (size_t i = 0; i < sizeof o.token; i++)
            FUZZ_CHECK(o.token[i] == 0, "token not wiped");
        size_t el = strlen(o.err);
        FUZZ_CHECK(el > 0 && el < sizeof o.err, "message");
        for (size_t i = 0; i < el; i++)
            FUZZ_CHECK(o.err[i] >= 0x20 && o.err[i] < 0x7f,
                       "byte %zu of the message", i);
        /* Fixed text only: no 3 bytes of the message that are not in
         * some fixed message could come from the body, so the body is
         * quoted only if it contains a fixed phrase itself. */
        static const char *const starts[] = {
            "the body ", "invalid JSON at offset ", "unknown key ",
            "\"user\" ", "\"password\" ", "\"token\" ", "give "};
        bool known = false;
        for (size_t i = 0; i < sizeof starts / sizeof *starts; i++)
            known |= strncmp(o.err, starts[i], strlen(starts[i])) == 0;
        FUZZ_CHECK(known, "message '%s'", o.err);
        return 0;
    }
    FUZZ_CHECK(o.err[0] == '\0', "message on success");
    if (kind == WEB_LOGIN_PASSWORD) {
        size_t ul = strlen(o.user), pl = strlen(o.password);
        FUZZ_CHECK(ul >= 1 && ul <= WEB_LOGIN_USER_MAX, "user length");
        FUZZ_CHECK(pl >= 1 && pl <= WEB_LOGIN_PASSWORD_MAX, "password");
        FUZZ_CHECK(fuzz_utf8_ok(o.user) && fuzz_utf8_ok(o.password), "UTF-8");
        FUZZ_CHECK(!has_control(o.user), "control character in user");
        FUZZ_CHECK(o.token[0] == '\0', "token set");
    } else {
        size_t tl = strlen(o.token);
        FUZZ_CHECK(tl >= 1 && tl <= WEB_LOGIN_TOKEN_MAX, "token length");
        FUZZ_CHECK(fuzz_utf8_ok(o.token) && !has_control(o.token), "token");
        FUZZ_CHECK(o.user[0] == '\0' && o.password[0] == '\0', "user set");
    }
    check_with_cjson(data, size, kind, &o);

    /* Written back with other escapes: the same values. */
    static char body[6 * (WEB_LOGIN_PASSWORD_MAX + WEB_LOGIN_USER_MAX) + 64];
    size_t n = 0;
    if (kind == WEB_LOGIN_TOKEN) {
        n += (size_t)sprintf(body + n, "{\"token\" : ");
        n += put_json(body + n, o.token);
    } else {
        n += (size_t)sprintf(body + n, "{\"password\":");
        n += put_json(body + n, o.password);
        n += (size_t)sprintf(body + n, ",\n\"user\":");
        n += put_json(body + n, o.user);
    }
    body[n++] = '}';
    out again;
    FUZZ_CHECK(parse(body, n, &again) == kind, "written back: %s", again.err);
    FUZZ_CHECK(strcmp(again.user, o.user) == 0 &&
               strcmp(again.password, o.password) == 0 &&
               strcmp(again.token, o.token) == 0, "written back differs");
    return 0;
}
