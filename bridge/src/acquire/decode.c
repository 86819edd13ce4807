/*
 * decode.c - registers and bits to tag values, and back.
 *
 * The poller calls dec_registers for every tag of every response, so the
 * numeric paths do no allocation and no loops: a value is first put into
 * the canonical big-endian word order (ABCD, most significant word first),
 * then assembled with shifts.  Only strings walk their bytes.
 *
 * Word/byte order applies to 32- and 64-bit values (the PLC's word_order is
 * documented as the default for those); a 16-bit value or a bool is always
 * the register as the protocol delivers it (Modbus Application Protocol
 * v1.1b3, 4.2: big-endian registers), so a PLC-wide BADC does not turn a
 * u16 upside down.  Strings use only the byte part of the order.
 *
 * Encoding is the exact inverse and is used by the simulator and tests.
 */
#include "acquire/decode.h"

#include <float.h>
#include <math.h>
#include <string.h>

#include "core/utf8.h"

static inline uint16_t bswap16(uint16_t x)
{
    return (uint16_t)((x << 8) | (x >> 8));
}

/* Every order is its own inverse (reversing words and swapping bytes both
 * undo themselves), so one function converts wire -> canonical and back. */
void dec_reorder(map_order o, const uint16_t *in, uint16_t *out, int n)
{
    uint16_t tmp[8];
    if (n > 8)
        n = 8;
    for (int i = 0; i < n; i++) {
        switch (o) {
        case MAP_ABCD: tmp[i] = in[i]; break;
        case MAP_CDAB: tmp[i] = in[n - 1 - i]; break;
        case MAP_BADC: tmp[i] = bswap16(in[i]); break;
        case MAP_DCBA: tmp[i] = bswap16(in[n - 1 - i]); break;
        default: tmp[i] = in[i]; break;
        }
    }
    memcpy(out, tmp, (size_t)n * sizeof *out); /* in and out may alias */
}

/* The hot path: assembles the value straight from the wire registers with
 * one branch on the order, rather than going through dec_reorder. */
static inline uint32_t get32(map_order o, const uint16_t *regs)
{
    switch (o) {
    case MAP_CDAB: return (uint32_t)regs[1] << 16 | regs[0];
    case MAP_BADC: return (uint32_t)bswap16(regs[0]) << 16 | bswap16(regs[1]);
    case MAP_DCBA: return (uint32_t)bswap16(regs[1]) << 16 | bswap16(regs[0]);
    default: return (uint32_t)regs[0] << 16 | regs[1];
    }
}

static inline uint64_t get64(map_order o, const uint16_t *regs)
{
    uint16_t a = regs[0], b = regs[1], c = regs[2], d = regs[3];
    if (o == MAP_CDAB || o == MAP_DCBA) {
        uint16_t t = a; a = d; d = t;
        t = b; b = c; c = t;
    }
    if (o == MAP_BADC || o == MAP_DCBA) {
        a = bswap16(a); b = bswap16(b); c = bswap16(c); d = bswap16(d);
    }
    return (uint64_t)a << 48 | (uint64_t)b << 32 | (uint64_t)c << 16 | d;
}

static inline void put32(map_order o, uint32_t x, uint16_t *regs)
{
    uint16_t w[2] = {(uint16_t)(x >> 16), (uint16_t)x};
    dec_reorder(o, w, regs, 2);
}

static inline void put64(map_order o, uint64_t x, uint16_t *regs)
{
    uint16_t w[4] = {(uint16_t)(x >> 48), (uint16_t)(x >> 32),
                     (uint16_t)(x >> 16), (uint16_t)x};
    dec_reorder(o, w, regs, 4);
}

static inline bool low_byte_first(map_order o)
{
    return o == MAP_BADC || o == MAP_DCBA;
}

static dec_status dec_string(const map_tag *t, const uint16_t *regs, val *out)
{
    unsigned char buf[VAL_STR_MAX];
    size_t nregs = t->length;
    if (nregs > VAL_STR_MAX / 2)
        nregs = VAL_STR_MAX / 2; /* config validation forbids more */
    bool swap = low_byte_first(t->order);
    size_t n = 0;
    for (size_t i = 0; i < nregs; i++) {
        uint16_t r = swap ? bswap16(regs[i]) : regs[i];
        buf[n++] = (unsigned char)(r >> 8);
        buf[n++] = (unsigned char)r;
    }
    /* An embedded NUL ends the text (C strings from PLC programs); trailing
     * blanks are the padding of fixed-width STRING fields. */
    size_t len = 0;
    while (len < n && buf[len] != 0)
        len++;
    while (len > 0 && buf[len - 1] == ' ')
        len--;
    if (!utf8_valid(buf, len)) {
        out->kind = VAL_NONE;
        return DEC_BAD_TEXT;
    }
    out->kind = VAL_STR;
    memcpy(out->s, buf, len);
    out->s[len] = '\0';
    return DEC_OK;
}

static inline dec_status set_real(const map_tag *t, double raw, val *out)
{
    double d = t->scaled ? raw * t->scale + t->offset : raw;
    if (!isfinite(d)) {
        out->kind = VAL_NONE;
        return DEC_NAN;
    }
    out->kind = VAL_REAL;
    out->d = d;
    return DEC_OK;
}

static inline dec_status set_int(const map_tag *t, int64_t raw, val *out)
{
    if (t->scaled)
        return set_real(t, (double)raw, out);
    out->kind = VAL_INT;
    out->i = raw;
    return DEC_OK;
}

dec_status dec_registers(const map_tag *t, const uint16_t *regs, val *out)
{
    switch (t->type) {
    case MAP_BOOL:
        out->kind = VAL_BOOL;
        out->b = t->bit >= 0 ? (regs[0] >> (t->bit & 15)) & 1 : regs[0] != 0;
        return DEC_OK;
    case MAP_U16:
        return set_int(t, regs[0], out);
    case MAP_I16:
        return set_int(t, (int16_t)regs[0], out);
    case MAP_U32:
        return set_int(t, get32(t->order, regs), out);
    case MAP_I32:
        return set_int(t, (int32_t)get32(t->order, regs), out);
    case MAP_U64: {
        uint64_t u = get64(t->order, regs);
        if (t->scaled)
            return set_real(t, (double)u, out);
        if (u > (uint64_t)INT64_MAX) {
            out->kind = VAL_UINT;
            out->u = u;
            return DEC_OK;
        }
        return set_int(t, (int64_t)u, out);
    }
    case MAP_I64:
        return set_int(t, (int64_t)get64(t->order, regs), out);
    case MAP_F32: {
        uint32_t bits = get32(t->order, regs);
        float f;
        memcpy(&f, &bits, sizeof f);
        if (!isfinite(f)) {
            out->kind = VAL_NONE;
            return DEC_NAN;
        }
        return set_real(t, (double)f, out);
    }
    case MAP_F64: {
        uint64_t bits = get64(t->order, regs);
        double d;
        memcpy(&d, &bits, sizeof d);
        if (!isfinite(d)) {
            out->kind = VAL_NONE;
            return DEC_NAN;
        }
        return set_real(t, d, out);
    }
    case MAP_STRING:
        return dec_string(t, regs, out);
    }
    out->kind = VAL_NONE;
    return DEC_BAD_TEXT;
}

dec_status dec_bit(const map_tag *t, uint8_t bit, val *out)
{
    (void)t;
    out->kind = VAL_BOOL;
    out->b = bit != 0;
    return DEC_OK;
}

/* ---- encoding ---------------------------------------------------------- */

/* A value on its way to a register: integers stay exact (a u64 or i64 does
 * not survive a trip through double), everything else is a double. */
typedef struct {
    enum { N_INT, N_UINT, N_REAL } kind;
    int64_t i;
    uint64_t u;
    double d;
} num;

static int to_num(const map_tag *t, const val *v, num *n)
{
    switch (v->kind) {
    case VAL_BOOL: n->kind = N_INT; n->i = v->b; break;
    case VAL_INT: n->kind = N_INT; n->i = v->i; break;
    case VAL_UINT: n->kind = N_UINT; n->u = v->u; break;
    case VAL_REAL: n->kind = N_REAL; n->d = v->d; break;
    default: return -1;
    }
    if (t->scaled) {
        double x = n->kind == N_INT ? (double)n->i
                 : n->kind == N_UINT ? (double)n->u : n->d;
        n->kind = N_REAL;
        n->d = (x - t->offset) / t->scale;
    }
    if (n->kind == N_REAL && isnan(n->d))
        return -1;
    return 0;
}

/* Rounds half away from zero and clamps to [0, 2^bits - 1]. */
static uint64_t clamp_u(const num *n, int bits)
{
    uint64_t max = bits == 64 ? UINT64_MAX : ((uint64_t)1 << bits) - 1;
    switch (n->kind) {
    case N_INT: return n->i < 0 ? 0 : (uint64_t)n->i > max ? max : (uint64_t)n->i;
    case N_UINT: return n->u > max ? max : n->u;
    case N_REAL: {
        double d = round(n->d);
        if (d <= 0)
            return 0;
        if (d >= ldexp(1.0, bits))
            return max;
        return (uint64_t)d;
    }
    }
    return 0;
}

/* Rounds half away from zero and clamps to [-2^(bits-1), 2^(bits-1) - 1]. */
static int64_t clamp_i(const num *n, int bits)
{
    int64_t max = bits == 64 ? INT64_MAX : ((int64_t)1 << (bits - 1)) - 1;
    int64_t min = -max - 1;
    switch (n->kind) {
    case N_INT: return n->i < min ? min : n->i > max ? max : n->i;
    case N_UINT: return n->u > (uint64_t)max ? max : (int64_t)n->u;
    case N_REAL: {
        double d = round(n->d);
        if (d >= ldexp(1.0, bits - 1))
            return max;
        if (d < -ldexp(1.0, bits - 1))
            return min;
        return (int64_t)d;
    }
    }
    return 0;
}

static double num_double(const num *n)
{
    return n->kind == N_INT ? (double)n->i
         : n->kind == N_UINT ? (double)n->u : n->d;
}

static int enc_string(const map_tag *t, const val *v, uint16_t *regs)
{
    if (v->kind != VAL_STR)
        return -1;
    size_t len = strnlen(v->s, sizeof v->s);
    if (len > (size_t)t->length * 2)
        return -1; /* cutting could split a UTF-8 sequence */
    bool swap = low_byte_first(t->order);
    for (size_t i = 0; i < t->length; i++) {
        unsigned char hi = 2 * i < len ? (unsigned char)v->s[2 * i] : 0;
        unsigned char lo = 2 * i + 1 < len ? (unsigned char)v->s[2 * i + 1] : 0;
        uint16_t r = (uint16_t)(hi << 8 | lo);
        regs[i] = swap ? bswap16(r) : r;
    }
    return 0;
}

int dec_encode_registers(const map_tag *t, const val *v, uint16_t *regs)
{
    if (t->type == MAP_STRING)
        return enc_string(t, v, regs);
    if (t->type == MAP_BOOL) {
        bool b;
        double d;
        if (v->kind == VAL_BOOL)
            b = v->b;
        else if (val_as_double(v, &d) && !isnan(d))
            b = d != 0;
        else
            return -1;
        if (t->bit >= 0) {
            uint16_t m = (uint16_t)(1u << (t->bit & 15));
            regs[0] = b ? (uint16_t)(regs[0] | m) : (uint16_t)(regs[0] & ~m);
        } else {
            regs[0] = b;
        }
        return 0;
    }

    num n;
    if (to_num(t, v, &n) < 0)
        return -1;
    switch (t->type) {
    case MAP_U16: regs[0] = (uint16_t)clamp_u(&n, 16); return 0;
    case MAP_I16: regs[0] = (uint16_t)(int16_t)clamp_i(&n, 16); return 0;
    case MAP_U32: put32(t->order, (uint32_t)clamp_u(&n, 32), regs); return 0;
    case MAP_I32: put32(t->order, (uint32_t)clamp_i(&n, 32), regs); return 0;
    case MAP_U64: put64(t->order, clamp_u(&n, 64), regs); return 0;
    case MAP_I64: put64(t->order, (uint64_t)clamp_i(&n, 64), regs); return 0;
    case MAP_F32: {
        double d = num_double(&n);
        if (!isfinite(d))
            return -1;
        /* A double beyond float range would be undefined to convert. */
        float f = d > FLT_MAX ? FLT_MAX : d < -FLT_MAX ? -FLT_MAX : (float)d;
        uint32_t bits;
        memcpy(&bits, &f, sizeof bits);
        put32(t->order, bits, regs);
        return 0;
    }
    case MAP_F64: {
        double d = num_double(&n);
        if (!isfinite(d))
            return -1;
        uint64_t bits;
        memcpy(&bits, &d, sizeof bits);
        put64(t->order, bits, regs);
        return 0;
    }
    default:
        return -1;
    }
}

int dec_encode_bit(const map_tag *t, const val *v, uint8_t *bit)
{
    (void)t;
    double d;
    if (v->kind == VAL_BOOL)
        *bit = v->b;
    else if (val_as_double(v, &d) && !isnan(d))
        *bit = d != 0;
    else
        return -1;
    return 0;
}
