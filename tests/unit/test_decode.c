/*
 * test_decode.c - every type in every word/byte order from known register
 * patterns, extremes of each type, bits, strings, scale/offset, NaN/Inf,
 * and encode/decode round trips.  Tags are built by hand (no map loader).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "acquire/decode.h"

static const map_order ORDERS[4] = {MAP_ABCD, MAP_CDAB, MAP_BADC, MAP_DCBA};

static uint16_t type_regs(map_type t, uint16_t length)
{
    switch (t) {
    case MAP_U32: case MAP_I32: case MAP_F32: return 2;
    case MAP_U64: case MAP_I64: case MAP_F64: return 4;
    case MAP_STRING: return length;
    default: return 1;
    }
}

static map_tag mk_tag(map_type type, map_order order)
{
    map_tag t = {0};
    t.id = "t";
    t.full_id = "plc.t";
    t.table = MAP_HOLDING;
    t.type = type;
    t.order = order;
    t.bit = -1;
    t.nregs = type_regs(type, 0);
    t.scale = 1;
    t.offset = 0;
    return t;
}

static map_tag mk_str_tag(map_order order, uint16_t length)
{
    map_tag t = mk_tag(MAP_STRING, order);
    t.length = length;
    t.nregs = length;
    return t;
}

static void set_scale(map_tag *t, double scale, double offset)
{
    t->scale = scale;
    t->offset = offset;
    t->scaled = scale != 1 || offset != 0;
}

/* xorshift64 for reproducible random values. */
static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void dec_ok(const map_tag *t, const uint16_t *regs, val *v)
{
    memset(v, 0x5A, sizeof *v);
    assert_int_equal(dec_registers(t, regs, v), DEC_OK);
}

static void expect_int(map_type type, map_order o, const uint16_t *regs,
                       int64_t want)
{
    map_tag t = mk_tag(type, o);
    val v;
    dec_ok(&t, regs, &v);
    assert_int_equal(v.kind, VAL_INT);
    assert_int_equal(v.i, want);
    /* And the way back gives the same registers. */
    uint16_t back[4] = {0};
    assert_int_equal(dec_encode_registers(&t, &v, back), 0);
    assert_memory_equal(back, regs, t.nregs * sizeof *back);
}

/* ---- byte order ------------------------------------------------------- */

static void test_reorder_32(void **st)
{
    (void)st;
    static const uint16_t wire[4][2] = {
        {0x1234, 0x5678}, {0x5678, 0x1234}, {0x3412, 0x7856}, {0x7856, 0x3412},
    };
    for (int o = 0; o < 4; o++) {
        uint16_t out[2];
        dec_reorder(ORDERS[o], wire[o], out, 2);
        assert_int_equal(out[0], 0x1234);
        assert_int_equal(out[1], 0x5678);
        /* canonical -> wire is the same permutation */
        uint16_t back[2];
        dec_reorder(ORDERS[o], out, back, 2);
        assert_memory_equal(back, wire[o], sizeof back);
    }
}

static void test_reorder_64(void **st)
{
    (void)st;
    static const uint16_t wire[4][4] = {
        {0x0102, 0x0304, 0x0506, 0x0708},
        {0x0708, 0x0506, 0x0304, 0x0102},
        {0x0201, 0x0403, 0x0605, 0x0807},
        {0x0807, 0x0605, 0x0403, 0x0201},
    };
    for (int o = 0; o < 4; o++) {
        uint16_t out[4];
        dec_reorder(ORDERS[o], wire[o], out, 4);
        static const uint16_t canon[4] = {0x0102, 0x0304, 0x0506, 0x0708};
        assert_memory_equal(out, canon, sizeof out);
        /* in place */
        uint16_t io[4];
        memcpy(io, wire[o], sizeof io);
        dec_reorder(ORDERS[o], io, io, 4);
        assert_memory_equal(io, canon, sizeof io);
    }
}

/* ---- integers --------------------------------------------------------- */

static void test_u32_i32_orders(void **st)
{
    (void)st;
    static const uint16_t pos[4][2] = {
        {0x1234, 0x5678}, {0x5678, 0x1234}, {0x3412, 0x7856}, {0x7856, 0x3412},
    };
    /* 0xFFFFFFFE = -2 as i32; 0xFFFE with its bytes swapped is 0xFEFF. */
    static const uint16_t neg[4][2] = {
        {0xFFFF, 0xFFFE}, {0xFFFE, 0xFFFF}, {0xFFFF, 0xFEFF}, {0xFEFF, 0xFFFF},
    };
    for (int o = 0; o < 4; o++) {
        expect_int(MAP_U32, ORDERS[o], pos[o], 0x12345678);
        expect_int(MAP_I32, ORDERS[o], pos[o], 0x12345678);
        expect_int(MAP_U32, ORDERS[o], neg[o], 4294967294LL);
        expect_int(MAP_I32, ORDERS[o], neg[o], -2);
    }
}

static void test_u64_i64_orders(void **st)
{
    (void)st;
    static const uint16_t pos[4][4] = {
        {0x0102, 0x0304, 0x0506, 0x0708},
        {0x0708, 0x0506, 0x0304, 0x0102},
        {0x0201, 0x0403, 0x0605, 0x0807},
        {0x0807, 0x0605, 0x0403, 0x0201},
    };
    /* -2 as i64: FFFF FFFF FFFF FFFE */
    static const uint16_t neg[4][4] = {
        {0xFFFF, 0xFFFF, 0xFFFF, 0xFFFE},
        {0xFFFE, 0xFFFF, 0xFFFF, 0xFFFF},
        {0xFFFF, 0xFFFF, 0xFFFF, 0xFEFF},
        {0xFEFF, 0xFFFF, 0xFFFF, 0xFFFF},
    };
    for (int o = 0; o < 4; o++) {
        expect_int(MAP_U64, ORDERS[o], pos[o], 0x0102030405060708LL);
        expect_int(MAP_I64, ORDERS[o], pos[o], 0x0102030405060708LL);
        expect_int(MAP_I64, ORDERS[o], neg[o], -2);
        map_tag t = mk_tag(MAP_U64, ORDERS[o]);
        val v;
        dec_ok(&t, neg[o], &v);
        assert_int_equal(v.kind, VAL_UINT);
        assert_true(v.u == UINT64_MAX - 1);
        uint16_t back[4];
        assert_int_equal(dec_encode_registers(&t, &v, back), 0);
        assert_memory_equal(back, neg[o], sizeof back);
    }
}

static void test_16bit(void **st)
{
    (void)st;
    uint16_t r;
    r = 0; expect_int(MAP_U16, MAP_ABCD, &r, 0);
    r = 0xFFFF; expect_int(MAP_U16, MAP_ABCD, &r, 65535);
    r = 0x1234; expect_int(MAP_U16, MAP_ABCD, &r, 0x1234);
    r = 0x8000; expect_int(MAP_I16, MAP_ABCD, &r, -32768);
    r = 0x7FFF; expect_int(MAP_I16, MAP_ABCD, &r, 32767);
    r = 0xFFFF; expect_int(MAP_I16, MAP_ABCD, &r, -1);
    r = 0xFF38; expect_int(MAP_I16, MAP_ABCD, &r, -200);
    /* Word order is for 32/64-bit values: a single register is always the
     * register as delivered, whatever the tag's order. */
    for (int o = 0; o < 4; o++) {
        r = 0x1234; expect_int(MAP_U16, ORDERS[o], &r, 0x1234);
        r = 0xFF38; expect_int(MAP_I16, ORDERS[o], &r, -200);
    }
}

static void test_int_extremes(void **st)
{
    (void)st;
    uint16_t r[4];
    for (int o = 0; o < 4; o++) {
        map_order ord = ORDERS[o];
        /* Build each extreme with the encoder from an exact value, then
         * decode it; the known-pattern tests above pin the layout. */
        struct { map_type t; int64_t i; } c[] = {
            {MAP_U32, 0}, {MAP_U32, 4294967295LL},
            {MAP_I32, INT32_MIN}, {MAP_I32, INT32_MAX}, {MAP_I32, -1},
            {MAP_I64, INT64_MIN}, {MAP_I64, INT64_MAX}, {MAP_I64, -1},
            {MAP_U64, 0}, {MAP_U64, INT64_MAX},
        };
        for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
            map_tag t = mk_tag(c[i].t, ord);
            val in = {.kind = VAL_INT, .i = c[i].i}, out;
            assert_int_equal(dec_encode_registers(&t, &in, r), 0);
            dec_ok(&t, r, &out);
            assert_int_equal(out.kind, VAL_INT); /* u32 is never VAL_UINT */
            assert_true(out.i == c[i].i);
        }
        map_tag t = mk_tag(MAP_U64, ord);
        val in = {.kind = VAL_UINT, .u = UINT64_MAX}, out;
        assert_int_equal(dec_encode_registers(&t, &in, r), 0);
        for (int k = 0; k < 4; k++)
            assert_int_equal(r[k], 0xFFFF);
        dec_ok(&t, r, &out);
        assert_int_equal(out.kind, VAL_UINT);
        assert_true(out.u == UINT64_MAX);
        in.u = (uint64_t)INT64_MAX + 1; /* smallest that needs VAL_UINT */
        assert_int_equal(dec_encode_registers(&t, &in, r), 0);
        dec_ok(&t, r, &out);
        assert_int_equal(out.kind, VAL_UINT);
        assert_true(out.u == (uint64_t)INT64_MAX + 1);
    }
    /* INT64_MIN in ABCD is 8000 0000 0000 0000. */
    map_tag t = mk_tag(MAP_I64, MAP_ABCD);
    val in = {.kind = VAL_INT, .i = INT64_MIN};
    assert_int_equal(dec_encode_registers(&t, &in, r), 0);
    static const uint16_t want[4] = {0x8000, 0, 0, 0};
    assert_memory_equal(r, want, sizeof want);
}

/* ---- floats ----------------------------------------------------------- */

static void test_f32_orders(void **st)
{
    (void)st;
    /* 123.456f = 0x42F6E979 */
    static const uint16_t wire[4][2] = {
        {0x42F6, 0xE979}, {0xE979, 0x42F6}, {0xF642, 0x79E9}, {0x79E9, 0xF642},
    };
    for (int o = 0; o < 4; o++) {
        map_tag t = mk_tag(MAP_F32, ORDERS[o]);
        val v;
        dec_ok(&t, wire[o], &v);
        assert_int_equal(v.kind, VAL_REAL);
        assert_true(v.d == (double)123.456f);
        uint16_t back[2];
        assert_int_equal(dec_encode_registers(&t, &v, back), 0);
        assert_memory_equal(back, wire[o], sizeof back);
        /* -123.456f sets only the sign bit */
        uint16_t negw[2];
        val n = {.kind = VAL_REAL, .d = -(double)123.456f};
        assert_int_equal(dec_encode_registers(&t, &n, negw), 0);
        uint16_t canon[2];
        dec_reorder(ORDERS[o], negw, canon, 2);
        assert_int_equal(canon[0], 0xC2F6);
        assert_int_equal(canon[1], 0xE979);
    }
}

static void test_f64_orders(void **st)
{
    (void)st;
    /* 1.5 = 3FF8 0000 0000 0000; -2.5e10 computed via memcpy */
    static const uint16_t wire[4][4] = {
        {0x3FF8, 0x0000, 0x0000, 0x0001},
        {0x0001, 0x0000, 0x0000, 0x3FF8},
        {0xF83F, 0x0000, 0x0000, 0x0100},
        {0x0100, 0x0000, 0x0000, 0xF83F},
    };
    uint64_t bits = 0x3FF8000000000001ull;
    double want;
    memcpy(&want, &bits, sizeof want);
    for (int o = 0; o < 4; o++) {
        map_tag t = mk_tag(MAP_F64, ORDERS[o]);
        val v;
        dec_ok(&t, wire[o], &v);
        assert_int_equal(v.kind, VAL_REAL);
        assert_memory_equal(&v.d, &want, sizeof want);
        uint16_t back[4];
        assert_int_equal(dec_encode_registers(&t, &v, back), 0);
        assert_memory_equal(back, wire[o], sizeof back);
    }
}

static void test_float_extremes(void **st)
{
    (void)st;
    double f32s[] = {FLT_MAX, -FLT_MAX, FLT_MIN, 1.4e-45, 0.0, -0.0};
    double f64s[] = {DBL_MAX, -DBL_MAX, DBL_MIN, 4.9406564584124654e-324, -0.0};
    uint16_t r[4];
    for (int o = 0; o < 4; o++) {
        map_tag t = mk_tag(MAP_F32, ORDERS[o]);
        for (size_t i = 0; i < sizeof f32s / sizeof f32s[0]; i++) {
            val in = {.kind = VAL_REAL, .d = (double)(float)f32s[i]}, out;
            assert_int_equal(dec_encode_registers(&t, &in, r), 0);
            dec_ok(&t, r, &out);
            assert_memory_equal(&out.d, &in.d, sizeof in.d);
        }
        t = mk_tag(MAP_F64, ORDERS[o]);
        for (size_t i = 0; i < sizeof f64s / sizeof f64s[0]; i++) {
            val in = {.kind = VAL_REAL, .d = f64s[i]}, out;
            assert_int_equal(dec_encode_registers(&t, &in, r), 0);
            dec_ok(&t, r, &out);
            assert_memory_equal(&out.d, &in.d, sizeof in.d);
        }
    }
    /* Floats are VAL_REAL even when integral and unscaled. */
    map_tag t = mk_tag(MAP_F32, MAP_ABCD);
    uint16_t two[2] = {0x4000, 0x0000};
    val v;
    dec_ok(&t, two, &v);
    assert_int_equal(v.kind, VAL_REAL);
    assert_true(v.d == 2.0);
}

static void test_nan_inf(void **st)
{
    (void)st;
    static const uint16_t f32bad[][2] = {
        {0x7FC0, 0x0000}, {0x7F80, 0x0000}, {0xFF80, 0x0000}, {0xFFFF, 0xFFFF},
        {0x7F80, 0x0001}, /* signalling NaN */
    };
    static const uint16_t f64bad[][4] = {
        {0x7FF8, 0, 0, 0}, {0x7FF0, 0, 0, 0}, {0xFFF0, 0, 0, 0},
        {0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF}, {0x7FF0, 0, 0, 1},
    };
    for (int o = 0; o < 4; o++) {
        map_tag t = mk_tag(MAP_F32, ORDERS[o]);
        for (size_t i = 0; i < sizeof f32bad / sizeof f32bad[0]; i++) {
            uint16_t w[2];
            dec_reorder(ORDERS[o], f32bad[i], w, 2);
            val v = {.kind = VAL_INT};
            assert_int_equal(dec_registers(&t, w, &v), DEC_NAN);
            assert_int_equal(v.kind, VAL_NONE);
        }
        t = mk_tag(MAP_F64, ORDERS[o]);
        for (size_t i = 0; i < sizeof f64bad / sizeof f64bad[0]; i++) {
            uint16_t w[4];
            dec_reorder(ORDERS[o], f64bad[i], w, 4);
            val v = {.kind = VAL_INT};
            assert_int_equal(dec_registers(&t, w, &v), DEC_NAN);
            assert_int_equal(v.kind, VAL_NONE);
        }
    }
    /* Finite registers that scaling pushes past the double range. */
    map_tag t = mk_tag(MAP_F64, MAP_ABCD);
    set_scale(&t, 10, 0);
    uint16_t r[4];
    val in = {.kind = VAL_REAL, .d = DBL_MAX}, out;
    map_tag raw = mk_tag(MAP_F64, MAP_ABCD);
    assert_int_equal(dec_encode_registers(&raw, &in, r), 0);
    assert_int_equal(dec_registers(&t, r, &out), DEC_NAN);
    assert_int_equal(out.kind, VAL_NONE);
    /* Encoding refuses what cannot be represented. */
    in.d = NAN;
    assert_int_equal(dec_encode_registers(&raw, &in, r), -1);
    in.d = INFINITY;
    assert_int_equal(dec_encode_registers(&raw, &in, r), -1);
    map_tag f = mk_tag(MAP_F32, MAP_ABCD);
    assert_int_equal(dec_encode_registers(&f, &in, r), -1);
    in.d = NAN;
    assert_int_equal(dec_encode_registers(&f, &in, r), -1);
    map_tag u = mk_tag(MAP_U16, MAP_ABCD);
    assert_int_equal(dec_encode_registers(&u, &in, r), -1);
    /* Beyond float range clamps to the largest float, never infinity. */
    in.d = 1e300;
    assert_int_equal(dec_encode_registers(&f, &in, r), 0);
    assert_int_equal(dec_registers(&f, r, &out), DEC_OK);
    assert_true(out.d == FLT_MAX);
    in.d = -1e300;
    assert_int_equal(dec_encode_registers(&f, &in, r), 0);
    assert_int_equal(dec_registers(&f, r, &out), DEC_OK);
    assert_true(out.d == -FLT_MAX);
}

/* ---- bools and bits ----------------------------------------------------- */

static void test_bool_register(void **st)
{
    (void)st;
    map_tag t = mk_tag(MAP_BOOL, MAP_ABCD);
    uint16_t cases[][2] = {{0, 0}, {1, 1}, {0x8000, 1}, {0xFFFF, 1}, {2, 1}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        val v;
        dec_ok(&t, &cases[i][0], &v);
        assert_int_equal(v.kind, VAL_BOOL);
        assert_int_equal(v.b, cases[i][1]);
    }
    uint16_t r = 0x1234;
    val tv = {.kind = VAL_BOOL, .b = true}, fv = {.kind = VAL_BOOL, .b = false};
    assert_int_equal(dec_encode_registers(&t, &tv, &r), 0);
    assert_int_equal(r, 1);
    assert_int_equal(dec_encode_registers(&t, &fv, &r), 0);
    assert_int_equal(r, 0);
    val iv = {.kind = VAL_INT, .i = 7};
    assert_int_equal(dec_encode_registers(&t, &iv, &r), 0);
    assert_int_equal(r, 1);
    val sv = {.kind = VAL_STR, .s = "1"};
    assert_int_equal(dec_encode_registers(&t, &sv, &r), -1);
    val nv = {.kind = VAL_NONE};
    assert_int_equal(dec_encode_registers(&t, &nv, &r), -1);
}

static void test_bool_bits(void **st)
{
    (void)st;
    for (int bit = 0; bit < 16; bit++) {
        map_tag t = mk_tag(MAP_BOOL, MAP_ABCD);
        t.bit = bit;
        uint16_t only = (uint16_t)(1u << bit), all_but = (uint16_t)~only;
        val v;
        dec_ok(&t, &only, &v);
        assert_int_equal(v.kind, VAL_BOOL);
        assert_true(v.b);
        dec_ok(&t, &all_but, &v);
        assert_false(v.b);
    }
    /* bit 0 is the least significant, bit 15 the most. */
    map_tag t0 = mk_tag(MAP_BOOL, MAP_DCBA);
    t0.bit = 0;
    map_tag t15 = mk_tag(MAP_BOOL, MAP_DCBA);
    t15.bit = 15;
    uint16_t r = 0x0001;
    val v;
    dec_ok(&t0, &r, &v); assert_true(v.b);
    dec_ok(&t15, &r, &v); assert_false(v.b);
    r = 0x8000;
    dec_ok(&t0, &r, &v); assert_false(v.b);
    dec_ok(&t15, &r, &v); assert_true(v.b);

    /* Encoding a bit touches only that bit. */
    val tv = {.kind = VAL_BOOL, .b = true}, fv = {.kind = VAL_BOOL, .b = false};
    r = 0xA5A4;
    assert_int_equal(dec_encode_registers(&t0, &tv, &r), 0);
    assert_int_equal(r, 0xA5A5);
    assert_int_equal(dec_encode_registers(&t0, &fv, &r), 0);
    assert_int_equal(r, 0xA5A4);
    assert_int_equal(dec_encode_registers(&t15, &fv, &r), 0);
    assert_int_equal(r, 0x25A4);
    assert_int_equal(dec_encode_registers(&t15, &tv, &r), 0);
    assert_int_equal(r, 0xA5A4);
    assert_int_equal(dec_encode_registers(&t15, &tv, &r), 0); /* idempotent */
    assert_int_equal(r, 0xA5A4);
    map_tag t3 = mk_tag(MAP_BOOL, MAP_ABCD);
    t3.bit = 3;
    r = 0;
    assert_int_equal(dec_encode_registers(&t3, &tv, &r), 0);
    assert_int_equal(r, 0x0008);
}

static void test_coils(void **st)
{
    (void)st;
    map_tag t = mk_tag(MAP_BOOL, MAP_ABCD);
    t.table = MAP_COIL;
    val v;
    memset(&v, 0x5A, sizeof v);
    assert_int_equal(dec_bit(&t, 0, &v), DEC_OK);
    assert_int_equal(v.kind, VAL_BOOL);
    assert_false(v.b);
    assert_int_equal(dec_bit(&t, 1, &v), DEC_OK);
    assert_true(v.b);
    t.table = MAP_DISCRETE;
    assert_int_equal(dec_bit(&t, 1, &v), DEC_OK);
    assert_true(v.b);

    uint8_t b = 9;
    val tv = {.kind = VAL_BOOL, .b = true}, fv = {.kind = VAL_BOOL, .b = false};
    assert_int_equal(dec_encode_bit(&t, &tv, &b), 0);
    assert_int_equal(b, 1);
    assert_int_equal(dec_encode_bit(&t, &fv, &b), 0);
    assert_int_equal(b, 0);
    val iv = {.kind = VAL_INT, .i = -3};
    assert_int_equal(dec_encode_bit(&t, &iv, &b), 0);
    assert_int_equal(b, 1);
    val rv = {.kind = VAL_REAL, .d = 0.0};
    assert_int_equal(dec_encode_bit(&t, &rv, &b), 0);
    assert_int_equal(b, 0);
    val sv = {.kind = VAL_STR, .s = "on"};
    b = 7;
    assert_int_equal(dec_encode_bit(&t, &sv, &b), -1);
    assert_int_equal(b, 7);
    val nv = {.kind = VAL_NONE};
    assert_int_equal(dec_encode_bit(&t, &nv, &b), -1);
}

/* ---- scale and offset ---------------------------------------------------- */

static void test_scale_offset(void **st)
{
    (void)st;
    val v;
    /* Exact binary fractions so that the expected values are exact. */
    map_tag t = mk_tag(MAP_U16, MAP_ABCD);
    set_scale(&t, 0.5, -10);
    uint16_t r = 100;
    dec_ok(&t, &r, &v);
    assert_int_equal(v.kind, VAL_REAL);
    assert_true(v.d == 40.0);

    t = mk_tag(MAP_I16, MAP_ABCD);
    set_scale(&t, 0.25, 0);
    r = 0xFF38; /* -200 */
    dec_ok(&t, &r, &v);
    assert_int_equal(v.kind, VAL_REAL);
    assert_true(v.d == -50.0);

    /* The common "x 10" tenth-of-a-unit case. */
    t = mk_tag(MAP_U16, MAP_ABCD);
    set_scale(&t, 0.1, 0);
    r = 1234;
    dec_ok(&t, &r, &v);
    assert_true(v.d == 1234 * 0.1);
    assert_true(fabs(v.d - 123.4) < 1e-12);
    uint16_t back = 0;
    assert_int_equal(dec_encode_registers(&t, &v, &back), 0);
    assert_int_equal(back, 1234);

    /* Offset alone makes a value scaled. */
    t = mk_tag(MAP_I32, MAP_CDAB);
    set_scale(&t, 1, 273.5);
    uint16_t r2[2] = {0xFFFE, 0xFFFF}; /* -2 in CDAB */
    dec_ok(&t, r2, &v);
    assert_int_equal(v.kind, VAL_REAL);
    assert_true(v.d == 271.5);

    /* u64 above INT64_MAX scaled becomes a real. */
    t = mk_tag(MAP_U64, MAP_ABCD);
    set_scale(&t, 2, 0);
    uint16_t r4[4] = {0x8000, 0, 0, 0};
    dec_ok(&t, r4, &v);
    assert_int_equal(v.kind, VAL_REAL);
    assert_true(v.d == 18446744073709551616.0);

    /* Scaled floats. */
    t = mk_tag(MAP_F32, MAP_BADC);
    set_scale(&t, 2, 1);
    val in = {.kind = VAL_REAL, .d = 6.0};
    assert_int_equal(dec_encode_registers(&t, &in, r2), 0);
    uint16_t canon[2];
    dec_reorder(MAP_BADC, r2, canon, 2);
    assert_int_equal(canon[0], 0x4020); /* 2.5f = 0x40200000 */
    assert_int_equal(canon[1], 0x0000);
    dec_ok(&t, r2, &v);
    assert_true(v.d == 6.0);

    /* Unscaled integers stay integers. */
    t = mk_tag(MAP_U16, MAP_ABCD);
    r = 7;
    dec_ok(&t, &r, &v);
    assert_int_equal(v.kind, VAL_INT);
}

static void test_encode_rounding_and_clamping(void **st)
{
    (void)st;
    struct { map_type type; double scale, offset; double in; int64_t raw; } c[] = {
        {MAP_U16, 1, 0, 2.5, 3},       /* half away from zero */
        {MAP_U16, 1, 0, 2.4999, 2},
        {MAP_I16, 1, 0, -2.5, -3},
        {MAP_I16, 1, 0, -2.4999, -2},
        {MAP_U16, 0.5, 0, 1.25, 3},    /* 2.5 after removing the scale */
        {MAP_I16, 0.5, 0, -1.25, -3},
        {MAP_I16, 0.5, 10, 8.75, -3},  /* (8.75 - 10) / 0.5 = -2.5 */
        {MAP_U16, 1, 0, 70000, 65535}, /* clamped */
        {MAP_U16, 1, 0, -5, 0},
        {MAP_U16, 1, 0, INFINITY, 65535},
        {MAP_I16, 1, 0, 40000, 32767},
        {MAP_I16, 1, 0, -40000, -32768},
        {MAP_U32, 1, 0, -1, 0},
        {MAP_U32, 1, 0, 5e9, 4294967295LL},
        {MAP_U32, 1, 0, 4294967294.5, 4294967295LL},
        {MAP_I32, 1, 0, 3e9, INT32_MAX},
        {MAP_I32, 1, 0, -3e9, INT32_MIN},
        {MAP_I32, 1, 0, -2147483648.4, INT32_MIN},
        {MAP_I64, 1, 0, 1e30, INT64_MAX},
        {MAP_I64, 1, 0, -1e30, INT64_MIN},
        {MAP_I64, 1, 0, 9223372036854775808.0, INT64_MAX},
        {MAP_I64, 1, 0, -9223372036854775808.0, INT64_MIN},
        {MAP_U64, 1, 0, -1e30, 0},
        {MAP_U16, 0.1, 0, 12.34, 123},
        {MAP_U16, 0.1, 0, 12.36, 124},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        for (int o = 0; o < 4; o++) {
            map_tag t = mk_tag(c[i].type, ORDERS[o]);
            map_tag raw = t;
            set_scale(&t, c[i].scale, c[i].offset);
            val in = {.kind = VAL_REAL, .d = c[i].in}, out;
            uint16_t r[4];
            assert_int_equal(dec_encode_registers(&t, &in, r), 0);
            dec_ok(&raw, r, &out);
            if (out.i != c[i].raw)
                fail_msg("case %zu order %d: %lld != %lld", i, o,
                         (long long)out.i, (long long)c[i].raw);
        }
    }
    /* u64 clamps at the top, from a real and from integers. */
    map_tag t = mk_tag(MAP_U64, MAP_ABCD);
    val in = {.kind = VAL_REAL, .d = 1e30}, out;
    uint16_t r[4];
    assert_int_equal(dec_encode_registers(&t, &in, r), 0);
    dec_ok(&t, r, &out);
    assert_true(out.kind == VAL_UINT && out.u == UINT64_MAX);
    in = (val){.kind = VAL_INT, .i = -1};
    assert_int_equal(dec_encode_registers(&t, &in, r), 0);
    dec_ok(&t, r, &out);
    assert_true(out.kind == VAL_INT && out.i == 0);
    /* Exact integers are not squeezed through a double. */
    map_tag i64 = mk_tag(MAP_I64, MAP_DCBA);
    in = (val){.kind = VAL_INT, .i = INT64_MAX - 1};
    assert_int_equal(dec_encode_registers(&i64, &in, r), 0);
    dec_ok(&i64, r, &out);
    assert_true(out.i == INT64_MAX - 1);
    in = (val){.kind = VAL_UINT, .u = UINT64_MAX};
    assert_int_equal(dec_encode_registers(&i64, &in, r), 0);
    dec_ok(&i64, r, &out);
    assert_true(out.i == INT64_MAX);
    map_tag u16 = mk_tag(MAP_U16, MAP_ABCD);
    in = (val){.kind = VAL_UINT, .u = UINT64_MAX};
    assert_int_equal(dec_encode_registers(&u16, &in, r), 0);
    assert_int_equal(r[0], 0xFFFF);
    in = (val){.kind = VAL_BOOL, .b = true};
    assert_int_equal(dec_encode_registers(&u16, &in, r), 0);
    assert_int_equal(r[0], 1);
    /* Kinds that are not numbers. */
    in = (val){.kind = VAL_STR, .s = "12"};
    assert_int_equal(dec_encode_registers(&u16, &in, r), -1);
    in = (val){.kind = VAL_NONE};
    assert_int_equal(dec_encode_registers(&u16, &in, r), -1);
}

/* ---- strings ------------------------------------------------------------- */

static void str_is(map_order o, uint16_t len, const uint16_t *regs,
                   const char *want)
{
    map_tag t = mk_str_tag(o, len);
    val v;
    dec_ok(&t, regs, &v);
    assert_int_equal(v.kind, VAL_STR);
    assert_string_equal(v.s, want);
}

static void str_bad(map_order o, uint16_t len, const uint16_t *regs)
{
    map_tag t = mk_str_tag(o, len);
    val v = {.kind = VAL_STR};
    assert_int_equal(dec_registers(&t, regs, &v), DEC_BAD_TEXT);
    assert_int_equal(v.kind, VAL_NONE);
}

static void test_strings(void **st)
{
    (void)st;
    uint16_t hi[3] = {0x4845, 0x4C4C, 0x4F00}; /* "HELLO\0" high byte first */
    uint16_t lo[3] = {0x4548, 0x4C4C, 0x004F};
    str_is(MAP_ABCD, 3, hi, "HELLO");
    str_is(MAP_CDAB, 3, hi, "HELLO");
    str_is(MAP_BADC, 3, lo, "HELLO");
    str_is(MAP_DCBA, 3, lo, "HELLO");
    /* Odd length, no NUL at all: all 6 bytes. */
    uint16_t full[3] = {0x4142, 0x4344, 0x4546};
    str_is(MAP_ABCD, 3, full, "ABCDEF");
    str_is(MAP_BADC, 3, full, "BADCFE");
    str_is(MAP_ABCD, 1, full, "AB");
    /* Trailing blanks and NULs are padding. */
    uint16_t pad[4] = {0x4142, 0x2020, 0x2000, 0x0000};
    str_is(MAP_ABCD, 4, pad, "AB");
    uint16_t lead[2] = {0x2041, 0x2042}; /* " A B" */
    str_is(MAP_ABCD, 2, lead, " A B");
    /* An embedded NUL ends the text, even if bytes follow. */
    uint16_t emb[3] = {0x4142, 0x0043, 0x4445};
    str_is(MAP_ABCD, 3, emb, "AB");
    uint16_t emb_bad[2] = {0x4100, 0xFFFF}; /* garbage after the NUL */
    str_is(MAP_ABCD, 2, emb_bad, "A");
    uint16_t zeros[4] = {0};
    str_is(MAP_ABCD, 4, zeros, "");
    uint16_t blanks[2] = {0x2020, 0x2020};
    str_is(MAP_ABCD, 2, blanks, "");
    str_is(MAP_ABCD, 0, zeros, "");
    /* UTF-8: 上闸 = E4 B8 8A E9 97 B8 */
    uint16_t zh[3] = {0xE4B8, 0x8AE9, 0x97B8};
    str_is(MAP_ABCD, 3, zh, "上闸");
    uint16_t zh_lo[3] = {0xB8E4, 0xE98A, 0xB897};
    str_is(MAP_DCBA, 3, zh_lo, "上闸");
    /* 4-byte sequence U+1F6A2 (ship) F0 9F 9A A2 */
    uint16_t ship[2] = {0xF09F, 0x9AA2};
    str_is(MAP_ABCD, 2, ship, "\xF0\x9F\x9A\xA2");
    /* The longest string: 32 registers, 64 characters. */
    uint16_t longest[32];
    for (int i = 0; i < 32; i++)
        longest[i] = 0x6162;
    char want[65];
    for (int i = 0; i < 64; i++)
        want[i] = (char)(i % 2 ? 'b' : 'a');
    want[64] = '\0';
    str_is(MAP_ABCD, 32, longest, want);
}

static void test_strings_bad_utf8(void **st)
{
    (void)st;
    uint16_t ff[1] = {0x41FF};
    str_bad(MAP_ABCD, 1, ff);
    uint16_t overlong[1] = {0xC080};          /* overlong NUL */
    str_bad(MAP_ABCD, 1, overlong);
    uint16_t overlong3[2] = {0xE080, 0x8041}; /* overlong 3-byte */
    str_bad(MAP_ABCD, 2, overlong3);
    uint16_t cut[2] = {0x41E4, 0xB800};       /* E4 B8 then end */
    str_bad(MAP_ABCD, 2, cut);
    uint16_t cut_last[1] = {0x41C3};          /* lead byte at the end */
    str_bad(MAP_ABCD, 1, cut_last);
    uint16_t lone_cont[1] = {0x8041};
    str_bad(MAP_ABCD, 1, lone_cont);
    uint16_t surrogate[2] = {0xEDA0, 0x8041}; /* U+D800 */
    str_bad(MAP_ABCD, 2, surrogate);
    uint16_t too_big[2] = {0xF490, 0x8080};   /* U+110000 */
    str_bad(MAP_ABCD, 2, too_big);
    uint16_t f8[1] = {0xF841};
    str_bad(MAP_ABCD, 1, f8);
    uint16_t bad_cont[2] = {0xE4B8, 0x4141};  /* continuation missing */
    str_bad(MAP_ABCD, 2, bad_cont);
    /* The same bytes low-first are "A\xFF" -> also bad; the other way
     * round a valid sequence becomes invalid. */
    uint16_t zh[3] = {0xE4B8, 0x8AE9, 0x97B8};
    str_bad(MAP_BADC, 3, zh);
}

static void test_string_encode(void **st)
{
    (void)st;
    uint16_t r[4];
    map_tag t = mk_str_tag(MAP_ABCD, 3);
    val in = {.kind = VAL_STR, .s = "HELLO"}, out;
    memset(r, 0xEE, sizeof r);
    assert_int_equal(dec_encode_registers(&t, &in, r), 0);
    static const uint16_t hi[3] = {0x4845, 0x4C4C, 0x4F00};
    assert_memory_equal(r, hi, sizeof hi);
    assert_int_equal(r[3], 0xEEEE); /* nothing past length */
    t = mk_str_tag(MAP_DCBA, 3);
    assert_int_equal(dec_encode_registers(&t, &in, r), 0);
    static const uint16_t lo[3] = {0x4548, 0x4C4C, 0x004F};
    assert_memory_equal(r, lo, sizeof lo);
    /* Padded with NULs */
    t = mk_str_tag(MAP_ABCD, 4);
    val ab = {.kind = VAL_STR, .s = "AB"};
    assert_int_equal(dec_encode_registers(&t, &ab, r), 0);
    static const uint16_t abpad[4] = {0x4142, 0, 0, 0};
    assert_memory_equal(r, abpad, sizeof abpad);
    dec_ok(&t, r, &out);
    assert_string_equal(out.s, "AB");
    /* Exactly full fits, one more does not. */
    t = mk_str_tag(MAP_ABCD, 2);
    val four = {.kind = VAL_STR, .s = "ABCD"}, five = {.kind = VAL_STR, .s = "ABCDE"};
    assert_int_equal(dec_encode_registers(&t, &four, r), 0);
    dec_ok(&t, r, &out);
    assert_string_equal(out.s, "ABCD");
    assert_int_equal(dec_encode_registers(&t, &five, r), -1);
    /* Not a string */
    val num = {.kind = VAL_INT, .i = 1};
    assert_int_equal(dec_encode_registers(&t, &num, r), -1);
}

/* ---- round trips ---------------------------------------------------------- */

static const map_type NUMERIC[] = {
    MAP_U16, MAP_I16, MAP_U32, MAP_I32, MAP_U64, MAP_I64, MAP_F32, MAP_F64,
};

/* Random registers -> value -> registers gives the same registers for every
 * numeric type and order (NaN/Inf patterns excepted). */
static void test_roundtrip_registers(void **st)
{
    (void)st;
    for (size_t ty = 0; ty < sizeof NUMERIC / sizeof NUMERIC[0]; ty++) {
        for (int o = 0; o < 4; o++) {
            map_tag t = mk_tag(NUMERIC[ty], ORDERS[o]);
            int done = 0;
            for (int i = 0; i < 20000; i++) {
                uint16_t r[4], back[4] = {0};
                uint64_t x = rnd();
                for (int k = 0; k < 4; k++)
                    r[k] = (uint16_t)(x >> (16 * k));
                if (i < 4) /* all zeros, all ones, and the sign patterns */
                    for (int k = 0; k < 4; k++)
                        r[k] = i == 0 ? 0 : i == 1 ? 0xFFFF : i == 2 ? 0x8000 : 0x7FFF;
                val v;
                dec_status s = dec_registers(&t, r, &v);
                if (s == DEC_NAN)
                    continue;
                assert_int_equal(s, DEC_OK);
                assert_int_equal(dec_encode_registers(&t, &v, back), 0);
                if (memcmp(back, r, t.nregs * sizeof *r) != 0)
                    fail_msg("type %d order %d: %04x %04x %04x %04x", (int)NUMERIC[ty], o,
                             r[0], r[1], r[2], r[3]);
                done++;
            }
            assert_true(done > 19000);
        }
    }
}

/* Random values -> registers -> value gives the same value. */
static void test_roundtrip_values(void **st)
{
    (void)st;
    for (int o = 0; o < 4; o++) {
        for (int i = 0; i < 20000; i++) {
            uint64_t x = rnd();
            struct { map_type t; val v; } c[] = {
                {MAP_U16, {.kind = VAL_INT, .i = (int64_t)(x & 0xFFFF)}},
                {MAP_I16, {.kind = VAL_INT, .i = (int16_t)x}},
                {MAP_U32, {.kind = VAL_INT, .i = (int64_t)(x & 0xFFFFFFFF)}},
                {MAP_I32, {.kind = VAL_INT, .i = (int32_t)x}},
                {MAP_I64, {.kind = VAL_INT, .i = (int64_t)x}},
                {MAP_F32, {.kind = VAL_REAL, .d = (double)(float)((double)(int32_t)x / 1024.0)}},
                {MAP_F64, {.kind = VAL_REAL, .d = (double)(int64_t)x / 3.0}},
                {MAP_BOOL, {.kind = VAL_BOOL, .b = x & 1}},
            };
            for (size_t k = 0; k < sizeof c / sizeof c[0]; k++) {
                map_tag t = mk_tag(c[k].t, ORDERS[o]);
                uint16_t r[4] = {0};
                val out;
                assert_int_equal(dec_encode_registers(&t, &c[k].v, r), 0);
                dec_ok(&t, r, &out);
                assert_true(val_equal(&out, &c[k].v));
            }
            /* u64: VAL_INT below 2^63, VAL_UINT above. */
            map_tag t = mk_tag(MAP_U64, ORDERS[o]);
            val in = {.kind = VAL_UINT, .u = x}, out;
            uint16_t r[4];
            assert_int_equal(dec_encode_registers(&t, &in, r), 0);
            dec_ok(&t, r, &out);
            if (x > (uint64_t)INT64_MAX)
                assert_true(out.kind == VAL_UINT && out.u == x);
            else
                assert_true(out.kind == VAL_INT && (uint64_t)out.i == x);
            /* Scaled values come back within half a raw step. */
            map_tag s = mk_tag(MAP_I32, ORDERS[o]);
            set_scale(&s, 0.01, -50);
            val sv = {.kind = VAL_REAL, .d = (double)(int32_t)x / 1e4};
            assert_int_equal(dec_encode_registers(&s, &sv, r), 0);
            dec_ok(&s, r, &out);
            assert_true(fabs(out.d - sv.d) <= 0.005 + 1e-9);
            /* Bits: a random bit of a random register. */
            map_tag b = mk_tag(MAP_BOOL, ORDERS[o]);
            b.bit = (int)(x % 16);
            uint16_t reg = (uint16_t)(x >> 20), before = reg;
            val bv = {.kind = VAL_BOOL, .b = (x >> 40) & 1};
            assert_int_equal(dec_encode_registers(&b, &bv, &reg), 0);
            assert_int_equal(reg & ~(1u << b.bit), before & ~(1u << b.bit));
            dec_ok(&b, &reg, &out);
            assert_int_equal(out.b, bv.b);
        }
    }
}

/* Random ASCII and multi-byte strings survive encode -> decode. */
static void test_roundtrip_strings(void **st)
{
    (void)st;
    static const char *pieces[] = {"A", "z", "0", " ", "~", "闸", "é", "\xF0\x9F\x9A\xA2"};
    for (int o = 0; o < 4; o++) {
        for (int i = 0; i < 5000; i++) {
            map_tag t = mk_str_tag(ORDERS[o], (uint16_t)(1 + rnd() % 32));
            val in = {.kind = VAL_STR};
            size_t cap = (size_t)t.length * 2, len = 0;
            for (;;) {
                const char *p = pieces[rnd() % 8];
                if (len + strlen(p) > cap)
                    break;
                memcpy(in.s + len, p, strlen(p));
                len += strlen(p);
            }
            in.s[len] = '\0';
            /* What decode gives back is the text without trailing blanks. */
            char want[VAL_STR_MAX + 1];
            memcpy(want, in.s, len + 1);
            while (len > 0 && want[len - 1] == ' ')
                want[--len] = '\0';
            uint16_t r[32];
            assert_int_equal(dec_encode_registers(&t, &in, r), 0);
            val out;
            dec_ok(&t, r, &out);
            assert_string_equal(out.s, want);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reorder_32),
        cmocka_unit_test(test_reorder_64),
        cmocka_unit_test(test_u32_i32_orders),
        cmocka_unit_test(test_u64_i64_orders),
        cmocka_unit_test(test_16bit),
        cmocka_unit_test(test_int_extremes),
        cmocka_unit_test(test_f32_orders),
        cmocka_unit_test(test_f64_orders),
        cmocka_unit_test(test_float_extremes),
        cmocka_unit_test(test_nan_inf),
        cmocka_unit_test(test_bool_register),
        cmocka_unit_test(test_bool_bits),
        cmocka_unit_test(test_coils),
        cmocka_unit_test(test_scale_offset),
        cmocka_unit_test(test_encode_rounding_and_clamping),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_strings_bad_utf8),
        cmocka_unit_test(test_string_encode),
        cmocka_unit_test(test_roundtrip_registers),
        cmocka_unit_test(test_roundtrip_values),
        cmocka_unit_test(test_roundtrip_strings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
