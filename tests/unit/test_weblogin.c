/*
 * test_weblogin.c - the login body parser (web/login.h): both forms,
 * escapes and UTF-8, every limit at and one past its bound, every refusal
 * with its exact message, the buffers emptied (the password wiped) on
 * refusal, and no message quoting the body.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "web/login.h"

typedef struct {
    char user[WEB_LOGIN_USER_MAX + 1];
    char password[WEB_LOGIN_PASSWORD_MAX + 1];
    char token[WEB_LOGIN_TOKEN_MAX + 1];
    char err[256];
} out;

static int parse_n(const char *body, size_t len, out *o)
{
    memset(o, 'X', sizeof *o);
    return web_login_parse(body, len, o->user, sizeof o->user, o->password,
                           sizeof o->password, o->token, sizeof o->token,
                           o->err, sizeof o->err);
}

static int parse(const char *body, out *o)
{
    return parse_n(body, strlen(body), o);
}

/* Refused with exactly msg, everything emptied, the password buffer all
 * zeros. */
static void refused(const char *body, size_t len, const char *msg)
{
    out o;
    int rc = parse_n(body, len, &o);
    if (rc != WEB_LOGIN_BAD || strcmp(o.err, msg) != 0)
        fail_msg("%.*s: rc %d, err '%s', expected '%s'", (int)len, body, rc,
                 o.err, msg);
    assert_string_equal(o.user, "");
    for (size_t i = 0; i < sizeof o.password; i++)
        assert_int_equal(o.password[i], 0);
    for (size_t i = 0; i < sizeof o.token; i++)
        assert_int_equal(o.token[i], 0);
}

static void test_forms(void **state)
{
    (void)state;
    out o;
    assert_int_equal(parse("{\"user\": \"ops\", \"password\": \"s3cret\"}", &o),
                     WEB_LOGIN_PASSWORD);
    assert_string_equal(o.user, "ops");
    assert_string_equal(o.password, "s3cret");
    assert_string_equal(o.token, "");
    assert_string_equal(o.err, "");
    /* Any order, any JSON whitespace. */
    assert_int_equal(parse(" \r\n\t{\"password\":\"p\" ,\n\"user\"\t:\"u\"}\n ",
                           &o), WEB_LOGIN_PASSWORD);
    assert_string_equal(o.user, "u");
    assert_string_equal(o.password, "p");
    assert_int_equal(parse("{\"token\":\"k3Yq-8_zz\"}", &o), WEB_LOGIN_TOKEN);
    assert_string_equal(o.token, "k3Yq-8_zz");
    assert_string_equal(o.user, "");
    assert_string_equal(o.password, "");
    /* Not NUL-terminated: only len bytes count. */
    static const char cut[] = "{\"token\":\"abc\"}GARBAGE";
    assert_int_equal(parse_n(cut, sizeof cut - 1 - 7, &o), WEB_LOGIN_TOKEN);
    assert_string_equal(o.token, "abc");
    /* NULL buffer for the error. */
    char u[65], p[1025], t[257];
    assert_int_equal(web_login_parse("{}", 2, u, sizeof u, p, sizeof p, t,
                                     sizeof t, NULL, 0), WEB_LOGIN_BAD);
}

static void test_escapes_and_unicode(void **state)
{
    (void)state;
    out o;
    /* A key may be escaped too: JSON says it is the same key. */
    assert_int_equal(parse("{\"\\u0075ser\":\"\\u00e9t\\u00E9\\/x\",\"password\":"
                           "\"a\\\"b\\\\c\\bd\\fe\\nf\\rg\\th\\ud83d\\ude00\"}",
                           &o), WEB_LOGIN_PASSWORD);
    assert_string_equal(o.user, "\xc3\xa9t\xc3\xa9/x");
    assert_string_equal(o.password, "a\"b\\c\bd\fe\nf\rg\th\xf0\x9f\x98\x80");
    /* Raw UTF-8 as it stands: two, three and four bytes. */
    assert_int_equal(parse("{\"user\":\"\xc3\xa9\xe9\x97\xb8\",\"password\":"
                           "\"\xf0\x9f\x94\x92\"}", &o), WEB_LOGIN_PASSWORD);
    assert_string_equal(o.user, "\xc3\xa9\xe9\x97\xb8");
    assert_string_equal(o.password, "\xf0\x9f\x94\x92");

    refused("{\"user\":\"a\",\"password\":\"x\\u0000y\"}", 35,
            "\"password\" contains a NUL character");
    refused("{\"user\":\"a\\u0001\",\"password\":\"x\"}", 32,
            "\"user\" contains a control character");
    refused("{\"token\":\"a\\tb\"}", 16, "\"token\" contains a control "
            "character");
    refused("{\"token\":\"a\xc2\x85\"}", 15, "\"token\" contains a control "
            "character");
    refused("{\"user\":\"a\x7f\",\"password\":\"x\"}", 29,
            "\"user\" contains a control character");
    /* Invalid UTF-8: overlong, a surrogate, past U+10FFFF, cut short, a
     * lone continuation byte; lone and reversed surrogate escapes. */
    static const char *const bad[] = {
        "{\"user\":\"\xc0\xaf\",\"password\":\"x\"}",
        "{\"user\":\"\xed\xa0\x80\",\"password\":\"x\"}",
        "{\"user\":\"\xf4\x90\x80\x80\",\"password\":\"x\"}",
        "{\"user\":\"\xe9\x97\",\"password\":\"x\"}",
        "{\"user\":\"\x80\",\"password\":\"x\"}",
        "{\"user\":\"\\ud800\",\"password\":\"x\"}",
        "{\"user\":\"\\ude00\\ud83d\",\"password\":\"x\"}",
        "{\"user\":\"\\ud83dx\",\"password\":\"x\"}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        refused(bad[i], strlen(bad[i]), "\"user\" is not valid UTF-8");
    /* Raw control characters are not JSON at all. */
    refused("{\"user\":\"a\tb\",\"password\":\"x\"}", 28,
            "invalid JSON at offset 10: control character in a string");
}

/* A JSON string of n copies of c. */
static char *body_with(const char *before, size_t n, char c,
                       const char *after)
{
    size_t bl = strlen(before), al = strlen(after);
    char *b = malloc(bl + n + al + 1);
    assert_non_null(b);
    memcpy(b, before, bl);
    memset(b + bl, c, n);
    memcpy(b + bl + n, after, al + 1);
    return b;
}

static void test_limits(void **state)
{
    (void)state;
    out o;
    static const struct {
        const char *before, *after, *msg;
        size_t max;
        int kind;
    } cases[] = {
        {"{\"user\":\"", "\",\"password\":\"x\"}", "\"user\" must be 1 to 64 "
         "bytes", WEB_LOGIN_USER_MAX, WEB_LOGIN_PASSWORD},
        {"{\"user\":\"u\",\"password\":\"", "\"}", "\"password\" must be 1 to "
         "1024 bytes", WEB_LOGIN_PASSWORD_MAX, WEB_LOGIN_PASSWORD},
        {"{\"token\":\"", "\"}", "\"token\" must be 1 to 256 bytes",
         WEB_LOGIN_TOKEN_MAX, WEB_LOGIN_TOKEN},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *b = body_with(cases[i].before, cases[i].max, 'a',
                            cases[i].after);
        assert_int_equal(parse(b, &o), cases[i].kind);
        free(b);
        b = body_with(cases[i].before, cases[i].max + 1, 'a', cases[i].after);
        refused(b, strlen(b), cases[i].msg);
        free(b);
        b = body_with(cases[i].before, 0, 'a', cases[i].after);
        refused(b, strlen(b), cases[i].msg);
        free(b);
    }
    /* Bytes, not characters: 32 two-byte characters fill a user name. */
    char name[200] = "{\"user\":\"";
    for (int i = 0; i < 32; i++)
        strcat(name, "\xc3\xa9");
    strcat(name, "\",\"password\":\"x\"}");
    assert_int_equal(parse(name, &o), WEB_LOGIN_PASSWORD);
    assert_int_equal(strlen(o.user), 64);
    /* An escape that would cross the limit is refused, not cut. */
    char esc[200] = "{\"user\":\"";
    memset(esc + strlen(esc), 'a', 63);
    strcpy(esc + 9 + 63, "\\u00e9\",\"password\":\"x\"}");
    refused(esc, strlen(esc), "\"user\" must be 1 to 64 bytes");

    /* The body: 16 KiB is fine (whitespace), one more byte is not. */
    char *b = body_with("{\"token\":\"t\"}", WEB_LOGIN_BODY_MAX - 13, ' ', "");
    assert_int_equal(strlen(b), WEB_LOGIN_BODY_MAX);
    assert_int_equal(parse(b, &o), WEB_LOGIN_TOKEN);
    free(b);
    b = body_with("{\"token\":\"t\"}", WEB_LOGIN_BODY_MAX - 12, ' ', "");
    refused(b, strlen(b), "the body is over 16384 bytes");
    free(b);

    /* A smaller buffer lowers the limit. */
    char u[4], p[8], t[8], err[128];
    assert_int_equal(web_login_parse("{\"user\":\"abc\",\"password\":\"x\"}", 29,
                                     u, sizeof u, p, sizeof p, t, sizeof t,
                                     err, sizeof err), WEB_LOGIN_PASSWORD);
    assert_int_equal(web_login_parse("{\"user\":\"abcd\",\"password\":\"x\"}", 30,
                                     u, sizeof u, p, sizeof p, t, sizeof t,
                                     err, sizeof err), WEB_LOGIN_BAD);
    assert_string_equal(err, "\"user\" must be 1 to 3 bytes");
}

static void test_refusals(void **state)
{
    (void)state;
    static const struct {
        const char *body, *msg;
    } cases[] = {
        {"", "the body must be a JSON object: {\"user\": ..., \"password\": "
         "...} or {\"token\": ...}"},
        {"   ", "the body must be a JSON object: {\"user\": ..., \"password\": "
         "...} or {\"token\": ...}"},
        {"[\"user\"]", "the body must be a JSON object: {\"user\": ..., "
         "\"password\": ...} or {\"token\": ...}"},
        {"\xef\xbb\xbf{\"token\":\"t\"}", "the body must be a JSON object: "
         "{\"user\": ..., \"password\": ...} or {\"token\": ...}"},
        {"{}", "give \"user\" and \"password\", or \"token\""},
        {"{\"user\":\"u\"}", "\"password\" is missing"},
        {"{\"password\":\"hunter2\"}", "\"user\" is missing"},
        {"{\"token\":\"t\",\"user\":\"u\"}", "\"token\" cannot be combined with "
         "\"user\" or \"password\""},
        {"{\"password\":\"p\",\"token\":\"t\"}", "\"token\" cannot be combined "
         "with \"user\" or \"password\""},
        {"{\"user\":\"u\",\"user\":\"v\",\"password\":\"p\"}", "\"user\" given "
         "twice"},
        {"{\"token\":\"t\",\"token\":\"t\"}", "\"token\" given twice"},
        {"{\"User\":\"u\"}", "unknown key (expected \"user\" and \"password\", "
         "or \"token\")"},
        {"{\"hunter2\":\"u\"}", "unknown key (expected \"user\" and "
         "\"password\", or \"token\")"},
        {"{\"user\\u0000\":\"u\"}", "unknown key (expected \"user\" and "
         "\"password\", or \"token\")"},
        {"{\"a-very-long-key-name-indeed\":1}", "unknown key (expected \"user\" "
         "and \"password\", or \"token\")"},
        {"{\"user\":42,\"password\":\"p\"}", "\"user\" must be a string"},
        {"{\"user\":null}", "\"user\" must be a string"},
        {"{\"token\":[\"t\"]}", "\"token\" must be a string"},
        {"{\"token\":{\"t\":1}}", "\"token\" must be a string"},
        {"{\"token\":}", "\"token\" must be a string"},
        {"{\"token\"", "invalid JSON at offset 8: expected ':'"},
        {"{\"token\" \"t\"}", "invalid JSON at offset 9: expected ':'"},
        {"{\"token\":\"t\"", "invalid JSON at offset 12: expected ',' or '}'"},
        {"{\"token\":\"t\",}", "invalid JSON at offset 13: expected a key in "
         "double quotes"},
        {"{token:\"t\"}", "invalid JSON at offset 1: expected a key in double "
         "quotes"},
        {"{'token':'t'}", "invalid JSON at offset 1: expected a key in double "
         "quotes"},
        {"{\"token\":\"t\"}}", "invalid JSON at offset 13: text after the "
         "object"},
        {"{\"token\":\"t\"} {}", "invalid JSON at offset 14: text after the "
         "object"},
        {"{\"token\":\"t", "invalid JSON at offset 11: unterminated string"},
        {"{\"token\":\"t\\", "invalid JSON at offset 11: unterminated string"},
        {"{\"token\":\"\\x41\"}", "invalid JSON at offset 10: unknown escape"},
        {"{\"token\":\"\\u12\"}", "invalid JSON at offset 10: \\u needs four "
         "hex digits"},
        {"{\"token\":\"\\u12g4\"}", "invalid JSON at offset 10: \\u needs four "
         "hex digits"},
        {"{\"token\":\"t\"} // comment", "invalid JSON at offset 14: text after "
         "the object"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        refused(cases[i].body, strlen(cases[i].body), cases[i].msg);
    /* An embedded NUL byte in the body is not JSON whitespace. */
    refused("{\"token\":\"t\"}\0", 14, "invalid JSON at offset 13: text after "
            "the object");
    refused("{\"token\":\"a\0b\"}", 15, "invalid JSON at offset 11: control "
            "character in a string");
    refused(NULL, 0, "the body must be a JSON object: {\"user\": ..., "
            "\"password\": ...} or {\"token\": ...}");
}

/* No message ever quotes the body: a password typed into any place of it
 * stays out of every error. */
static void test_messages_never_quote(void **state)
{
    (void)state;
    static const char *const bodies[] = {
        "{\"user\":\"u\",\"password\":\"Pa55word!\",\"x\":1}",
        "{\"Pa55word!\":\"u\"}",
        "{\"user\":\"Pa55word!\"}",
        "{\"user\":\"Pa55word!\",\"password\":Pa55word!}",
        "{\"password\":\"Pa55word!\",\"password\":\"Pa55word!\"}",
        "{\"user\":\"u\",\"password\":\"Pa55word!\"}Pa55word!",
        "Pa55word!",
    };
    for (size_t i = 0; i < sizeof bodies / sizeof *bodies; i++) {
        out o;
        assert_int_equal(parse(bodies[i], &o), WEB_LOGIN_BAD);
        assert_null(strstr(o.err, "Pa55"));
        assert_true(o.err[0] != '\0');
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forms),
        cmocka_unit_test(test_escapes_and_unicode),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_messages_never_quote),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
