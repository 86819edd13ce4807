/*
 * utf8.h - strict UTF-8 (RFC 3629): no overlong forms, no surrogates,
 * nothing above U+10FFFF.
 *
 * Text from a PLC, a login body, a wall screen's report all end up in
 * JSON, which must be UTF-8, and cJSON passes any bytes on: every check
 * of such text is this one.  Pure functions, any thread.
 */
#ifndef LB_UTF8_H
#define LB_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Length (1-4) of the sequence at p, which ends before `end`, and its code
 * point in *cp (cp may be NULL); 0 when it is not strict UTF-8 or is cut
 * short by end. */
size_t utf8_seq(const unsigned char *p, const unsigned char *end,
                uint32_t *cp);

/* Whether the n bytes at s are strict UTF-8 throughout (NUL is a
 * character like any other here). */
bool utf8_valid(const void *s, size_t n);

/* Encodes cp (<= U+10FFFF, not a surrogate) at out: its length, 1-4. */
size_t utf8_put(uint32_t cp, unsigned char *out);

#endif
