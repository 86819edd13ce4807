/*
 * passwd.c - password hashes: scrypt (the default) and PBKDF2-HMAC-SHA256
 * through OpenSSL, in strings that name their parameters (see auth.h for
 * the format and passwd.h for the limits), and the rule for new
 * passwords.
 *
 * Nothing here keeps state, so every function may run on any thread; they
 * are slow on purpose, so the daemon calls them on its worker only.
 * Derived keys are wiped (OPENSSL_cleanse) before their memory is given
 * back; the password itself belongs to the caller.
 */
#include "auth/auth.h"
#include "auth/b64.h"
#include "auth/passwd.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#define PASSWD_SALT_MIN 4
#define PASSWD_SALT_MAX 64
#define PASSWD_KEY_MIN 16
#define PASSWD_KEY_MAX 64

typedef enum { PW_SCRYPT, PW_PBKDF2 } passwd_kind;

/* A parsed hash string. */
typedef struct {
    passwd_kind kind;
    unsigned ln, r, p;        /* scrypt */
    unsigned iter;            /* pbkdf2 */
    unsigned char salt[PASSWD_SALT_MAX];
    size_t saltlen;
    unsigned char key[PASSWD_KEY_MAX];
    size_t keylen;
} passwd_parsed;

static bool passwd_scrypt_ok(unsigned ln, unsigned r, unsigned p)
{
    return ln >= 1 && ln <= 20 && r >= 1 && r <= 32 && p >= 1 && p <= 16 &&
           128ull * r * (1ull << ln) <= PASSWD_SCRYPT_MEM_MAX;
}

/* OpenSSL refuses to allocate more than maxmem; it needs 128 * r * (N + 2)
 * bytes for V and 128 * r * p for B (EVP_PBE_scrypt's own accounting), so
 * this is exactly enough plus a page: 128 MiB + 3 KiB at the defaults.
 * OpenSSL's default (32 MiB) would refuse the default cost. */
static uint64_t passwd_scrypt_maxmem(unsigned ln, unsigned r, unsigned p)
{
    return 128ull * r * ((1ull << ln) + 2) + 128ull * r * p + 4096;
}

static int passwd_derive(const passwd_parsed *h, const char *password,
                         unsigned char *key, size_t keylen)
{
    size_t pwlen = strlen(password);
    if (h->kind == PW_SCRYPT)
        return EVP_PBE_scrypt(password, pwlen, h->salt, h->saltlen,
                              (uint64_t)1 << h->ln, h->r, h->p,
                              passwd_scrypt_maxmem(h->ln, h->r, h->p), key,
                              keylen) == 1 ? 0 : -1;
    if (pwlen > INT32_MAX)
        return -1;
    return PKCS5_PBKDF2_HMAC(password, (int)pwlen, h->salt, (int)h->saltlen,
                             (int)h->iter, EVP_sha256(), (int)keylen,
                             key) == 1 ? 0 : -1;
}

/* Writes the string for h (key included) into out. */
static int passwd_format(const passwd_parsed *h, char *out, size_t outlen)
{
    char salt[B64_LEN(PASSWD_SALT_MAX) + 1], key[B64_LEN(PASSWD_KEY_MAX) + 1];
    if (b64_encode(h->salt, h->saltlen, false, salt, sizeof salt) < 0 ||
        b64_encode(h->key, h->keylen, false, key, sizeof key) < 0)
        return -1;
    int n;
    if (h->kind == PW_SCRYPT)
        n = snprintf(out, outlen, "$scrypt$ln=%u,r=%u,p=%u$%s$%s", h->ln,
                     h->r, h->p, salt, key);
    else
        n = snprintf(out, outlen, "$pbkdf2-sha256$i=%u$%s$%s", h->iter, salt,
                     key);
    OPENSSL_cleanse(key, sizeof key);
    return n > 0 && (size_t)n < outlen ? 0 : -1;
}

static int passwd_make(passwd_parsed *h, const char *password,
                       const unsigned char *salt, size_t saltlen,
                       size_t keylen, char *out, size_t outlen)
{
    int rc = -1;
    if (!password || !out || keylen < PASSWD_KEY_MIN ||
        keylen > PASSWD_KEY_MAX)
        return -1;
    if (salt) {
        if (saltlen < PASSWD_SALT_MIN || saltlen > PASSWD_SALT_MAX)
            return -1;
        memcpy(h->salt, salt, saltlen);
        h->saltlen = saltlen;
    } else {
        h->saltlen = PASSWD_SALT_LEN;
        if (RAND_bytes(h->salt, PASSWD_SALT_LEN) != 1)
            return -1;
    }
    h->keylen = keylen;
    if (passwd_derive(h, password, h->key, keylen) == 0)
        rc = passwd_format(h, out, outlen);
    OPENSSL_cleanse(h->key, sizeof h->key);
    return rc;
}

int passwd_hash_scrypt(const char *password, unsigned ln, unsigned r,
                       unsigned p, const unsigned char *salt, size_t saltlen,
                       size_t keylen, char *out, size_t outlen)
{
    if (!passwd_scrypt_ok(ln, r, p))
        return -1;
    passwd_parsed h = {.kind = PW_SCRYPT, .ln = ln, .r = r, .p = p};
    return passwd_make(&h, password, salt, saltlen, keylen, out, outlen);
}

int passwd_hash_pbkdf2(const char *password, unsigned iter,
                       const unsigned char *salt, size_t saltlen,
                       size_t keylen, char *out, size_t outlen)
{
    if (iter < 1 || iter > PASSWD_PBKDF2_ITER_MAX)
        return -1;
    passwd_parsed h = {.kind = PW_PBKDF2, .iter = iter};
    return passwd_make(&h, password, salt, saltlen, keylen, out, outlen);
}

int auth_hash_password(const char *password, char *out, size_t outlen)
{
    return passwd_hash_scrypt(password, PASSWD_SCRYPT_LN, PASSWD_SCRYPT_R,
                              PASSWD_SCRYPT_P, NULL, 0, PASSWD_KEY_LEN, out,
                              outlen);
}

/* A decimal number of 1-9 digits without sign or leading zero, ending at
 * *end (which is then past it). */
static int passwd_uint(const char **p, unsigned *out)
{
    const char *s = *p;
    unsigned v = 0;
    int n = 0;
    if (*s == '0')
        return -1;
    for (; *s >= '0' && *s <= '9'; s++, n++) {
        if (n == 9)
            return -1;
        v = v * 10 + (unsigned)(*s - '0');
    }
    if (n == 0)
        return -1;
    *out = v;
    *p = s;
    return 0;
}

static int passwd_expect(const char **p, const char *lit)
{
    size_t n = strlen(lit);
    if (strncmp(*p, lit, n) != 0)
        return -1;
    *p += n;
    return 0;
}

/* "<salt>$<key>" to the end of the string. */
static int passwd_salt_key(const char *s, passwd_parsed *h)
{
    const char *dollar = strchr(s, '$');
    char salt[B64_LEN(PASSWD_SALT_MAX) + 2];
    if (!dollar || (size_t)(dollar - s) >= sizeof salt)
        return -1;
    memcpy(salt, s, (size_t)(dollar - s));
    salt[dollar - s] = '\0';
    if (b64_decode(salt, false, h->salt, sizeof h->salt, &h->saltlen) < 0 ||
        b64_decode(dollar + 1, false, h->key, sizeof h->key, &h->keylen) < 0)
        return -1;
    if (h->saltlen < PASSWD_SALT_MIN || h->keylen < PASSWD_KEY_MIN)
        return -1;
    return 0;
}

static int passwd_parse(const char *hash, passwd_parsed *h)
{
    memset(h, 0, sizeof *h);
    if (!hash)
        return -1;
    const char *p = hash;
    if (passwd_expect(&p, "$scrypt$ln=") == 0) {
        h->kind = PW_SCRYPT;
        if (passwd_uint(&p, &h->ln) < 0 || passwd_expect(&p, ",r=") < 0 ||
            passwd_uint(&p, &h->r) < 0 || passwd_expect(&p, ",p=") < 0 ||
            passwd_uint(&p, &h->p) < 0 || passwd_expect(&p, "$") < 0 ||
            !passwd_scrypt_ok(h->ln, h->r, h->p))
            return -1;
    } else if (passwd_expect(&p, "$pbkdf2-sha256$i=") == 0) {
        h->kind = PW_PBKDF2;
        if (passwd_uint(&p, &h->iter) < 0 || passwd_expect(&p, "$") < 0 ||
            h->iter > PASSWD_PBKDF2_ITER_MAX)
            return -1;
    } else {
        return -1;
    }
    return passwd_salt_key(p, h);
}

bool passwd_readable(const char *hash)
{
    passwd_parsed h;
    bool ok = passwd_parse(hash, &h) == 0;
    OPENSSL_cleanse(&h, sizeof h);
    return ok;
}

int auth_verify_password(const char *password, const char *hash)
{
    passwd_parsed h;
    unsigned char key[PASSWD_KEY_MAX];
    int rc = -1;
    if (password && passwd_parse(hash, &h) == 0 &&
        passwd_derive(&h, password, key, h.keylen) == 0)
        rc = CRYPTO_memcmp(key, h.key, h.keylen) == 0;
    OPENSSL_cleanse(key, sizeof key);
    OPENSSL_cleanse(&h, sizeof h);
    return rc;
}

int auth_password_ok(const char *password, char *why, size_t whylen)
{
    char msg[96] = "";
    size_t chars = 0, bytes = 0;
    if (!password) {
        snprintf(msg, sizeof msg, "no password given");
    } else {
        for (const unsigned char *s = (const unsigned char *)password; *s;
             s++, bytes++) {
            if (*s < 0x20 || *s == 0x7f) {
                snprintf(msg, sizeof msg, "a password may not contain "
                         "control characters (tab, newline, ...)");
                break;
            }
            chars += (*s & 0xc0) != 0x80;   /* not a continuation byte */
        }
        if (msg[0])
            ;
        else if (bytes > AUTH_PASSWORD_MAX)
            snprintf(msg, sizeof msg, "a password may have at most %d bytes",
                     AUTH_PASSWORD_MAX);
        else if (chars < AUTH_PASSWORD_MIN)
            snprintf(msg, sizeof msg, "the password is %s: a password "
                     "needs at least %d characters", chars ? "too short" :
                     "empty", AUTH_PASSWORD_MIN);
    }
    if (!msg[0])
        return 0;
    if (why && whylen)
        snprintf(why, whylen, "%s", msg);
    return -1;
}
