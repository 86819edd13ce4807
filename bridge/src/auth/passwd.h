/*
 * passwd.h - password hashes in their PHC-style strings (internal to
 * auth/; the public side is auth_hash_password, auth_verify_password and
 * auth_password_ok in auth.h).
 *
 * The parameterised hashers exist for the unit tests (known vectors with
 * a fixed salt, cheaper scrypt costs) and for the handle's dummy hash;
 * everything else hashes through auth_hash_password's defaults.
 */
#ifndef LB_AUTH_PASSWD_H
#define LB_AUTH_PASSWD_H

#include <stdbool.h>
#include <stddef.h>

/* The defaults, which auth_hash_password writes.  N = 2^17, r = 8 is
 * 128 MiB per hash (OWASP's scrypt recommendation, 2023); p = 1. */
#define PASSWD_SCRYPT_LN 17
#define PASSWD_SCRYPT_R 8
#define PASSWD_SCRYPT_P 1
#define PASSWD_SALT_LEN 16
#define PASSWD_KEY_LEN 32

/* Limits on what a hash string may ask of the verifier, so that a bad line
 * in the users file cannot make a login allocate gigabytes or run for
 * minutes: scrypt ln <= 20, r <= 32, p <= 16, 128 * r * N <= 1 GiB;
 * PBKDF2 at most 10,000,000 iterations; salts 4-64 bytes (RFC 7914's
 * test vectors use 4; this module writes 16), hashes 16-64. */
#define PASSWD_SCRYPT_MEM_MAX ((unsigned long long)1 << 30)
#define PASSWD_PBKDF2_ITER_MAX 10000000u

/* "$scrypt$ln=LN,r=R,p=P$salt$hash" of password into out.  salt NULL: a
 * fresh PASSWD_SALT_LEN bytes from RAND_bytes; otherwise saltlen bytes of
 * it (known vectors).  keylen: bytes of hash (PASSWD_KEY_LEN normally).
 * 0, or -1 (parameters outside the limits, out too small, OpenSSL). */
int passwd_hash_scrypt(const char *password, unsigned ln, unsigned r,
                       unsigned p, const unsigned char *salt, size_t saltlen,
                       size_t keylen, char *out, size_t outlen);
/* "$pbkdf2-sha256$i=ITER$salt$hash" (HMAC-SHA-256), the same way. */
int passwd_hash_pbkdf2(const char *password, unsigned iter,
                       const unsigned char *salt, size_t saltlen,
                       size_t keylen, char *out, size_t outlen);

/* True when auth_verify_password can read hash (its syntax and limits;
 * nothing is computed): the users file refuses other lines. */
bool passwd_readable(const char *hash);

#endif
