/*
 * lpparse.h - a small InfluxDB line-protocol parser for tests: what the
 * encoder (record/lineproto.h) writes, read back by InfluxDB's unescaping
 * rules, so that a test can require every part of a line to come back
 * exactly.  Written for the tests, independently of the encoder; shared by
 * tests/unit/test_lineproto.c and the line-protocol fuzzer
 * (tests/fuzz/lineproto/).
 *
 * Limits (a line beyond them does not parse): LPP_MAX_TAGS tags and
 * LPP_MAX_FIELDS fields, names under LPP_NAME_MAX bytes unescaped, string
 * values under LPP_STR_MAX bytes.
 */
#ifndef LB_TEST_LPPARSE_H
#define LB_TEST_LPPARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LPP_MAX_TAGS 8
#define LPP_MAX_FIELDS 8
#define LPP_NAME_MAX 256
#define LPP_STR_MAX 512

enum { LPP_FLOAT, LPP_INT, LPP_UINT, LPP_BOOL, LPP_STR };

typedef struct {
    int type;
    char key[LPP_NAME_MAX];
    double f;
    int64_t i;
    uint64_t u;
    bool b;
    char s[LPP_STR_MAX];
} lpp_field;

typedef struct {
    char meas[LPP_NAME_MAX];
    int ntags;
    char tk[LPP_MAX_TAGS][LPP_NAME_MAX], tv[LPP_MAX_TAGS][LPP_NAME_MAX];
    int nfields;
    lpp_field fld[LPP_MAX_FIELDS];
    int64_t ts;
} lpp_line;

/* Parses one line of the NUL-terminated text s (through its '\n') into
 * *pl; returns where the next line starts, or NULL when the line is not
 * line protocol as the encoder writes it (or exceeds the limits). */
const char *lpp_parse_line(const char *s, lpp_line *pl);

/* The encoder's contract for a name (measurement, tag key or value, field
 * key), stated independently of it: not empty, no newline, no backslash
 * that is last or precedes `,`, `=`, space, `"` or `\`.  A measurement
 * must also not start with '#' (a comment line). */
bool lpp_name_ok(const char *s);

#endif
