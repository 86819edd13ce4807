/*
 * decode.h - turning Modbus registers and bits into tag values, and back.
 *
 * Pure functions: no allocation, no global state, safe on any thread.
 * Decoding applies the tag's type, word/byte order, bit, string length and
 * then `value = raw * scale + offset` (only when the tag is scaled; an
 * unscaled integer stays an integer).  Encoding is the inverse, used by the
 * simulator and by tests to lay out registers exactly as a map says.
 */
#ifndef LB_DECODE_H
#define LB_DECODE_H

#include <stdint.h>

#include "config/plcmap.h"
#include "core/val.h"

typedef enum {
    DEC_OK = 0,
    DEC_NAN,       /* f32/f64 register contents are NaN or infinite */
    DEC_BAD_TEXT,  /* string registers are not valid UTF-8 */
} dec_status;

/* Decodes a tag from a register table.  regs points at the tag's first
 * register (t->address) and holds t->nregs registers, as host-order
 * uint16_t values exactly as libmodbus returns them.  On DEC_OK *out is the
 * value; otherwise out->kind is VAL_NONE. */
dec_status dec_registers(const map_tag *t, const uint16_t *regs, val *out);

/* Decodes a bool tag from a coil/discrete table: bit is 0 or 1. */
dec_status dec_bit(const map_tag *t, uint8_t bit, val *out);

/* Inverse of dec_registers for a register-table tag: writes t->nregs
 * registers.  The value is converted to the tag's type (rounded to the
 * nearest integer after removing scale/offset, and clamped to the type's
 * range).  A bool with a bit sets or clears only that bit of regs[0].
 * Returns 0, or -1 when the value's kind cannot be converted (a string for a
 * number, etc.). */
int dec_encode_registers(const map_tag *t, const val *v, uint16_t *regs);

/* Inverse of dec_bit: 0 or 1 for a coil/discrete bool. */
int dec_encode_bit(const map_tag *t, const val *v, uint8_t *bit);

/* Raw byte permutation helpers, exposed for tests: converts between wire
 * order `o` and the canonical big-endian ABCD layout, for n registers
 * (2 or 4). */
void dec_reorder(map_order o, const uint16_t *in, uint16_t *out, int n);

#endif
