/*
 * b64.h - base64 without padding (internal to auth/).
 *
 * Two alphabets: the standard one (RFC 4648 section 4) for password hashes,
 * as the PHC string format writes them, and the URL-safe one (section 5)
 * for kiosk tokens, which travel in a query string.  Neither writes '='
 * padding, and decoding refuses it, so one value has one spelling.
 */
#ifndef LB_AUTH_B64_H
#define LB_AUTH_B64_H

#include <stdbool.h>
#include <stddef.h>

/* Characters b64_encode writes for n bytes (without the NUL). */
#define B64_LEN(n) (((n) * 4 + 2) / 3)

/* Encodes n bytes into out (B64_LEN(n) + 1 bytes, NUL-terminated).  0, or
 * -1 when out is too small. */
int b64_encode(const unsigned char *in, size_t n, bool url, char *out,
               size_t outlen);
/* Decodes the whole string s into out (at most outlen bytes); *n is the
 * number of bytes.  0, or -1 for a character outside the alphabet,
 * padding, a length no encoding has, unused bits that are not zero, or an
 * output that does not fit. */
int b64_decode(const char *s, bool url, unsigned char *out, size_t outlen,
               size_t *n);

#endif
