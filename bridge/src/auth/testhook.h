/*
 * testhook.h - what the unit tests may change in a handle and nothing else
 * may (internal to auth/ and tests/unit/test_auth*.c).
 *
 * scrypt at the default cost takes most of a second; tests that are about
 * sessions or throttling rather than hashing lower it.  The tests of the
 * hashes, and the timing test, run the default.
 */
#ifndef LB_AUTH_TESTHOOK_H
#define LB_AUTH_TESTHOOK_H

#include "auth/auth.h"

/* The scrypt cost of the hashes the handle makes from now on (new users,
 * new passwords) and of the dummy hash a missing user is verified
 * against. */
void auth_test_set_cost(auth *a, unsigned ln, unsigned r, unsigned p);

#endif
