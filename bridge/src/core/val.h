/*
 * val.h - a polled value and its quality.
 *
 * A val is a small, self-contained value (no pointers) so that it can be
 * copied across threads by assignment: pollers produce them, the tag store
 * keeps them, consumers receive copies.  Strings are stored inline and are
 * limited to VAL_STR_MAX bytes (32 Modbus registers), which config
 * validation enforces for `type: string` tags.
 */
#ifndef LB_VAL_H
#define LB_VAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VAL_STR_MAX 64

typedef enum {
    VAL_NONE = 0, /* no value: never polled, or the last read failed */
    VAL_BOOL,
    VAL_INT,  /* signed integers up to 64 bits, unscaled */
    VAL_UINT, /* u64 values that do not fit an int64, unscaled */
    VAL_REAL, /* floats, and every integer with scale/offset applied */
    VAL_STR,
} val_kind;

typedef struct {
    val_kind kind;
    union {
        bool b;
        int64_t i;
        uint64_t u;
        double d;
        char s[VAL_STR_MAX + 1];
    };
} val;

/* Quality of a sample, OPC-style.  A failed read never yields a value that
 * looks fresh: every failure kind below carries kind == VAL_NONE. */
typedef enum {
    Q_INIT = 0,    /* not polled yet */
    Q_GOOD,        /* decoded from a response */
    Q_STALE,       /* last good value, older than its poll group allows */
    Q_COMM,        /* connection refused, dropped, timed out or garbled */
    Q_DEVICE,      /* the PLC answered with a Modbus exception (see exc) */
    Q_DECODE,      /* the PLC answered but the registers are not a valid value */
} val_quality;

/* One tag's state at one instant.  ts_ns is the wall-clock time
 * (CLOCK_REALTIME, ns since the epoch) of the Modbus response, or of the
 * failure for bad qualities; it is fixed once and never rewritten. */
typedef struct {
    /* Time, quality and the value's first bytes share one cache line: the
     * poll loop and the tag store touch nothing else for numbers. */
    int64_t ts_ns;
    val_quality q;
    uint8_t exc;     /* Modbus exception code when q == Q_DEVICE, else 0 */
    val v;
} val_sample;

/* "good", "stale", "comm-failure", "device-error", "decode-error", "init". */
const char *val_quality_name(val_quality q);

/* Numeric view of a value (bool -> 0/1); false for NONE and STR. */
bool val_as_double(const val *v, double *out);

/* Equal kind and equal content (doubles compared exactly). */
bool val_equal(const val *a, const val *b);

/* Writes the value as JSON (number, true/false, escaped string or null) into
 * buf.  Returns the length that the full text needs, like snprintf. */
int val_to_json(const val *v, char *buf, size_t len);

/* Writes the value as plain text for humans ("12.5", "true", "ABC"). */
int val_to_text(const val *v, char *buf, size_t len);

#endif
