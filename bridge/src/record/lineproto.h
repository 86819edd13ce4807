/*
 * lineproto.h - InfluxDB line protocol encoding.
 *
 *   measurement[,tag=value...] field=value[,field=value...] timestamp\n
 *
 * Escaping follows the line-protocol reference exactly: in measurements,
 * commas and spaces are escaped with a backslash; in tag keys, tag values
 * and field keys, commas, spaces and equals signs; in string field values,
 * double quotes and backslashes (the value is double-quoted).  Integers carry
 * the `i` suffix; booleans are written `true`/`false`; floats are written so
 * that they parse back to the same double (shortest round-trip form), never
 * NaN or infinity (those are refused).  Newlines cannot be escaped in line
 * protocol: they are refused in names and replaced by "\n" in strings.
 *
 * Encoding appends to an lp_buf, a growable byte buffer owned by the caller.
 * Pure and allocation-free except for growing the buffer; safe on any
 * thread with its own buffer.  Built for speed: millions of lines per
 * second per core, no printf on the hot path.
 */
#ifndef LB_LINEPROTO_H
#define LB_LINEPROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    char *data;
    size_t len;
    size_t cap;
    size_t mark;     /* start of the line being built */
    int fields;      /* fields written on the current line */
} lp_buf;

typedef enum { LP_NS, LP_US, LP_MS, LP_S } lp_precision;

void lp_buf_init(lp_buf *b);
void lp_buf_free(lp_buf *b);
void lp_buf_reset(lp_buf *b);           /* len = 0, keeps the memory */
/* Makes room for n more bytes; -1 on allocation failure. */
int lp_buf_reserve(lp_buf *b, size_t n);

/* A line is built in order: lp_begin (measurement), lp_tag* (tags must be
 * added in lexical key order for best database performance; the encoder
 * does not sort), then lp_field_* (at least one), then lp_end.  Each
 * returns 0, or -1 on allocation failure or an invalid argument (an empty
 * key, a newline in a name, a non-finite float), in which case the partial
 * line is removed from the buffer by lp_abort.  Also refused, as InfluxDB
 * cannot read them back: an empty tag value, a measurement starting with
 * '#' (a comment line), and a name whose backslash is last or precedes
 * `,`, space, `=`, `"` or `\`.  lp_begin drops an unfinished line. */
int lp_begin(lp_buf *b, const char *measurement);
int lp_tag(lp_buf *b, const char *key, const char *value);
int lp_field_float(lp_buf *b, const char *key, double v);
int lp_field_int(lp_buf *b, const char *key, int64_t v);
int lp_field_uint(lp_buf *b, const char *key, uint64_t v); /* `u`: 2.x */
int lp_field_bool(lp_buf *b, const char *key, bool v);
int lp_field_string(lp_buf *b, const char *key, const char *v);
/* Ends the line with the timestamp (ns since the epoch) converted to the
 * precision (truncated toward minus infinity), then '\n'. */
int lp_end(lp_buf *b, int64_t ts_ns, lp_precision p);
/* Drops the line being built (everything after the last complete line). */
void lp_abort(lp_buf *b);

/* Number formatting used by the encoder, exposed for tests and other
 * writers: shortest text that strtod reads back as v (finite v only).
 * Returns the length written; buf needs 32 bytes. */
int lp_format_double(double v, char *buf);
int lp_format_int(int64_t v, char *buf);   /* buf needs 21 bytes */

const char *lp_precision_name(lp_precision p); /* "ns", "u", "ms", "s" */

#endif
