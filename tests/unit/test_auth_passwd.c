/*
 * test_auth_passwd.c - password hashes (auth/passwd.c), base64 without
 * padding (auth/b64.c) and the password rule.
 *
 * The known vectors were computed outside this code: RFC 7914's scrypt
 * and PBKDF2-HMAC-SHA256 vectors, and three more with Python's hashlib
 * (hashlib.scrypt / hashlib.pbkdf2_hmac, base64 with the '=' stripped),
 * one of them at the default cost, so that the parameters named in a hash
 * are the ones actually used.  The default path (auth_hash_password) runs
 * once, and its time is printed: the figure in auth/README.md.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "auth/auth.h"
#include "auth/b64.h"
#include "auth/passwd.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* $scrypt$ln=17,r=8,p=1$<22 chars>$<43 chars>, fresh salt each time, and
 * it verifies: the one run of the default cost. */
static void test_default_hash(void **state)
{
    (void)state;
    char h1[AUTH_HASH_MAX], h2[AUTH_HASH_MAX];
    double t0 = now_s();
    assert_int_equal(auth_hash_password("correct horse battery", h1,
                                        sizeof h1), 0);
    double t1 = now_s();
    assert_int_equal(strncmp(h1, "$scrypt$ln=17,r=8,p=1$", 22), 0);
    const char *salt = h1 + 22, *d = strchr(salt, '$');
    assert_non_null(d);
    assert_int_equal(d - salt, 22);                  /* 16 bytes */
    assert_int_equal(strlen(d + 1), 43);             /* 32 bytes */
    assert_null(strchr(salt, '='));         /* no padding */
    double t2 = now_s();
    assert_int_equal(auth_verify_password("correct horse battery", h1), 1);
    double t3 = now_s();
    print_message("scrypt ln=17,r=8,p=1: hash %.3f s, verify %.3f s\n",
                  t1 - t0, t3 - t2);
    /* A cheaper cost for the second hash: only the salt is compared. */
    assert_int_equal(passwd_hash_scrypt("correct horse battery", 4, 8, 1,
                                        NULL, 0, 32, h2, sizeof h2), 0);
    assert_int_equal(strncmp(h2, "$scrypt$ln=4,r=8,p=1$", 21), 0);
    assert_memory_not_equal(h1 + 22, h2 + 21, 22);
    /* Too small a buffer is refused, not cut. */
    assert_int_equal(auth_hash_password("x", h2, 40), -1);
}

static void test_known_vectors(void **state)
{
    (void)state;
    static const struct {
        const char *password, *hash;
    } ok[] = {
        /* RFC 7914 section 12: N=1024, r=8, p=16, dkLen=64, salt "NaCl" */
        {"password", "$scrypt$ln=10,r=8,p=16$TmFDbA$/bq+HJ00cgB4VucZDQHp/"
                     "nxq18vII3gw53N2Y0s3MWIurzDZLiKjiG/xCSedmDDaxyevuUqD7m2"
                     "DYMvfoswGQA"},
        /* RFC 7914 section 11: PBKDF2-HMAC-SHA256, c=1, dkLen=64 */
        {"passwd", "$pbkdf2-sha256$i=1$c2FsdA$VawEblbjCJ/sFpHCJUS2BflBhSFt3g"
                   "Rl5oudV8INrLxJypzM8Xm2RZkWZLOdd+8xfHG4RbHjC9UJESBB06GXgw"},
        /* hashlib, at the default cost, salt bytes 0..15 */
        {"correct horse battery", "$scrypt$ln=17,r=8,p=1$AAECAwQFBgcICQoLDA0O"
                                  "Dw$r17NvsAt3wR6PfK0lC4hewtpyA/TJ24ZI6u+DR"
                                  "yA6ok"},
        /* hashlib, a UTF-8 password */
        {"Schleuse-Nord \xe8\x88\xb9\xe9\x97\xb8",
         "$scrypt$ln=10,r=8,p=1$bG9ja2JyaWRnZS1zYWx0IQ$cFRBSpuGZNZXw9j5S4oik"
         "P3oaCnO4dxI9ojgpYNuxnw"},
        /* hashlib, PBKDF2 at OWASP's 600,000 iterations */
        {"correct horse battery", "$pbkdf2-sha256$i=600000$AAECAwQFBgcICQoLD"
                                  "A0ODw$uwbIwLHdW/1OQPTil6LQ5k2n75S0uOwgmJA"
                                  "hyLQVNq0"},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        if (auth_verify_password(ok[i].password, ok[i].hash) != 1)
            fail_msg("vector %zu does not verify", i);
        /* One character more, one less, another case: no match. */
        char wrong[64];
        snprintf(wrong, sizeof wrong, "%sx", ok[i].password);
        assert_int_equal(auth_verify_password(wrong, ok[i].hash), 0);
        snprintf(wrong, sizeof wrong, "%.*s", (int)strlen(ok[i].password) - 1,
                 ok[i].password);
        assert_int_equal(auth_verify_password(wrong, ok[i].hash), 0);
        assert_int_equal(auth_verify_password("", ok[i].hash), 0);
    }
    assert_int_equal(auth_verify_password("Password", ok[0].hash), 0);

    /* The hashers write the vectors exactly, given the same salt. */
    char out[AUTH_HASH_MAX];
    assert_int_equal(passwd_hash_scrypt("password", 10, 8, 16,
                                        (const unsigned char *)"NaCl", 4, 64,
                                        out, sizeof out), 0);
    assert_string_equal(out, ok[0].hash);
    assert_int_equal(passwd_hash_pbkdf2("passwd", 1,
                                        (const unsigned char *)"salt", 4, 64,
                                        out, sizeof out), 0);
    assert_string_equal(out, ok[1].hash);
    assert_int_equal(passwd_hash_scrypt(ok[3].password, 10, 8, 1,
                                        (const unsigned char *)
                                        "lockbridge-salt!", 16, 32, out,
                                        sizeof out), 0);
    assert_string_equal(out, ok[3].hash);
}

/* -1 for every string that is not a hash this module reads, and for
 * costs beyond its limits (nothing is computed for those). */
static void test_malformed(void **state)
{
    (void)state;
    static const char *const bad[] = {
        NULL, "", "x", "$scrypt$", "$2y$10$abcdefghijklmnopqrstuv",
        "$scrypt$ln=10,r=8,p=1$bG9ja2JyaWRnZS1zYWx0IQ",          /* no key */
        "$scrypt$ln=10,r=8,p=1$$cFRBSpuGZNZXw9j5S4oikP3oaCnO4dxI9ojgpYNuxnw",
        "$scrypt$ln=10,r=8$bG9ja2JyaWRnZS1zYWx0IQ$cFRBSpuGZNZXw9j5S4oikP3oa"
        "CnO4dxI9ojgpYNuxnw",                                       /* no p */
        "$scrypt$ln=010,r=8,p=1$bG9ja2JyaWRnZS1zYWx0IQ$cFRBSpuGZNZXw9j5S4oi"
        "kP3oaCnO4dxI9ojgpYNuxnw",                        /* leading zero */
        "$scrypt$ln=10,r=8,p=1$bG9ja2JyaWRnZS1zYWx0IQ==$cFRBSpuGZNZXw9j5S4o"
        "ikP3oaCnO4dxI9ojgpYNuxnw",                            /* padding */
        "$scrypt$ln=10,r=8,p=1$bG9ja2JyaWRnZS1zYWx0IQ$cFRBSpuGZNZXw9j5S4oik"
        "P3oaCnO4dxI9ojgpYNuxnx",                /* unused bits not zero */
        "$scrypt$ln=10,r=8,p=1$bG9ja2JyaWRnZS1zYWx0IQ$cFRBSpuGZNZXw9j5S4oik"
        "P3oaCnO4dxI9ojgpYNux*w",                      /* not base64 */
        "$scrypt$ln=10,r=8,p=1$bG9ja2JyaWRnZS1zYWx0IQ$cFRBSpuGZNZXw9j5",
                                                  /* key under 16 bytes */
        "$scrypt$ln=21,r=8,p=1$bG9ja2JyaWRnZS1zYWx0IQ$cFRBSpuGZNZXw9j5S4oik"
        "P3oaCnO4dxI9ojgpYNuxnw",                        /* N too large */
        "$scrypt$ln=20,r=16,p=1$bG9ja2JyaWRnZS1zYWx0IQ$cFRBSpuGZNZXw9j5S4oi"
        "kP3oaCnO4dxI9ojgpYNuxnw",                     /* 2 GiB of memory */
        "$scrypt$ln=10,r=8,p=17$bG9ja2JyaWRnZS1zYWx0IQ$cFRBSpuGZNZXw9j5S4oi"
        "kP3oaCnO4dxI9ojgpYNuxnw",
        "$scrypt$ln=10,r=8,p=1,x=2$bG9ja2JyaWRnZS1zYWx0IQ$cFRBSpuGZNZXw9j5S"
        "4oikP3oaCnO4dxI9ojgpYNuxnw",
        "$pbkdf2-sha256$i=0$c2FsdA$VawEblbjCJ/sFpHCJUS2BflBhSFt3gRl5oudV8IN"
        "rLxJypzM8Xm2RZkWZLOdd+8xfHG4RbHjC9UJESBB06GXgw",
        "$pbkdf2-sha256$i=10000001$c2FsdA$VawEblbjCJ/sFpHCJUS2BflBhSFt3gRl5"
        "oudV8INrLxJypzM8Xm2RZkWZLOdd+8xfHG4RbHjC9UJESBB06GXgw",
        "$pbkdf2-sha1$i=1$c2FsdA$VawEblbjCJ/sFpHCJUS2BflBhSFt3gRl5oudV8INrLx"
        "JypzM8Xm2RZkWZLOdd+8xfHG4RbHjC9UJESBB06GXgw",
        "$pbkdf2-sha256$i=1$c2FsdA$VawEblbjCJ/sFpHCJUS2BflBhSFt3gRl5oudV8IN"
        "rLxJypzM8Xm2RZkWZLOdd+8xfHG4RbHjC9UJESBB06GXgwAAAA", /* > 64 bytes */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (auth_verify_password("password", bad[i]) != -1)
            fail_msg("malformed hash %zu accepted: %s", i,
                     bad[i] ? bad[i] : "(null)");
        assert_false(passwd_readable(bad[i]));
    }
    assert_int_equal(auth_verify_password(NULL, "$pbkdf2-sha256$i=1$c2FsdA$"
                                          "VawEblbjCJ/sFpHCJUS2BflBhSFt3gRl"
                                          "5oudV8INrLxJypzM8Xm2RZkWZLOdd+8x"
                                          "fHG4RbHjC9UJESBB06GXgw"), -1);
    char out[AUTH_HASH_MAX];
    assert_int_equal(passwd_hash_scrypt("x", 21, 8, 1, NULL, 0, 32, out,
                                        sizeof out), -1);
    assert_int_equal(passwd_hash_pbkdf2("x", 0, NULL, 0, 32, out,
                                        sizeof out), -1);
}

static void test_b64(void **state)
{
    (void)state;
    /* RFC 4648 section 10, without the padding. */
    static const char *const vec[][2] = {
        {"", ""}, {"f", "Zg"}, {"fo", "Zm8"}, {"foo", "Zm9v"},
        {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"},
    };
    char out[64];
    unsigned char back[64];
    size_t n;
    for (size_t i = 0; i < sizeof vec / sizeof vec[0]; i++) {
        size_t len = strlen(vec[i][0]);
        assert_int_equal(b64_encode((const unsigned char *)vec[i][0], len,
                                    false, out, sizeof out), 0);
        assert_string_equal(out, vec[i][1]);
        assert_int_equal(b64_decode(out, false, back, sizeof back, &n), 0);
        assert_int_equal(n, len);
        assert_memory_equal(back, vec[i][0], len);
    }
    const unsigned char ff[] = {0xfb, 0xff, 0xfe};
    assert_int_equal(b64_encode(ff, 3, false, out, sizeof out), 0);
    assert_string_equal(out, "+//+");
    assert_int_equal(b64_encode(ff, 3, true, out, sizeof out), 0);
    assert_string_equal(out, "-__-");
    assert_int_equal(b64_decode("-__-", false, back, sizeof back, &n), -1);
    assert_int_equal(b64_decode("+//+", true, back, sizeof back, &n), -1);
    assert_int_equal(b64_decode("Zg==", false, back, sizeof back, &n), -1);
    assert_int_equal(b64_decode("Zh", false, back, sizeof back, &n), -1);
    assert_int_equal(b64_decode("Z", false, back, sizeof back, &n), -1);
    assert_int_equal(b64_decode("Zm9vYmFy", false, back, 5, &n), -1);
    assert_int_equal(b64_encode(ff, 3, false, out, 4), -1);
}

static void test_password_rule(void **state)
{
    (void)state;
    char why[128];
    assert_int_equal(auth_password_ok("0123456789", why, sizeof why), 0);
    /* Ten characters of three bytes each: characters count, not bytes. */
    assert_int_equal(auth_password_ok("\xe8\x88\xb9\xe9\x97\xb8\xe8\x88\xb9"
                                      "\xe9\x97\xb8\xe8\x88\xb9\xe9\x97\xb8"
                                      "\xe8\x88\xb9\xe9\x97\xb8\xe8\x88\xb9"
                                      "\xe9\x97\xb8", why, sizeof why), 0);
    assert_int_equal(auth_password_ok("\xe8\x88\xb9\xe9\x97\xb8\xe8\x88\xb9",
                                      why, sizeof why), -1);
    assert_string_equal(why, "the password is too short: a password needs "
                             "at least 10 characters");
    assert_int_equal(auth_password_ok("", why, sizeof why), -1);
    assert_string_equal(why, "the password is empty: a password needs at "
                             "least 10 characters");
    assert_int_equal(auth_password_ok("012345678", why, sizeof why), -1);
    assert_int_equal(auth_password_ok("0123456789\t", why, sizeof why), -1);
    assert_string_equal(why, "a password may not contain control characters "
                             "(tab, newline, ...)");
    char *big = malloc(AUTH_PASSWORD_MAX + 2);
    assert_non_null(big);
    memset(big, 'x', AUTH_PASSWORD_MAX);
    big[AUTH_PASSWORD_MAX] = '\0';
    assert_int_equal(auth_password_ok(big, why, sizeof why), 0);
    big[AUTH_PASSWORD_MAX] = 'x';
    big[AUTH_PASSWORD_MAX + 1] = '\0';
    assert_int_equal(auth_password_ok(big, why, sizeof why), -1);
    assert_string_equal(why, "a password may have at most 1024 bytes");
    free(big);
    assert_int_equal(auth_password_ok(NULL, why, sizeof why), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_hash),
        cmocka_unit_test(test_known_vectors),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_b64),
        cmocka_unit_test(test_password_rule),
    };
    return cmocka_run_group_tests_name("auth_passwd", tests, NULL, NULL);
}
