/*
 * fuzz_modbus.c - a Modbus server's reply, as the poller's client sees
 * it, and the values decoded from it.
 *
 * Input layout (all of it arbitrary):
 *   [0]     bit 7: repair the reply's header so that it is the expected
 *           one (the values still come from the input: this is how the
 *           decoders get arbitrary register contents most of the time);
 *           bits 0-1: function code 1-4
 *   [1..2]  quantity (reduced to 1..125 registers or 1..2000 bits)
 *   [3]     unit id    [4..5] transaction id
 *   [6]     k (0..7) then k bytes: the sizes of the first recv()s (what
 *           TCP may split a reply into; the rest comes as it fits)
 *   [.]     n (0..15) then n tag definitions of 12 bytes: type, order,
 *           bit, string length, register offset in the reply (2), scale
 *           and offset as float32 bit patterns
 *   [rest]  the bytes the server sends
 *
 * The reply goes through mbtcp_check_reply exactly as mbtcp_transact
 * feeds it (after every recv, never asking for more than *want), and the
 * verdict is compared with an independent reading of the specification
 * (Messaging Implementation Guide 3.1.3, Application Protocol 6.1-6.4,
 * 7): a reply is taken only when every field is right, an error names a
 * field that really is wrong, and an incomplete reply has nothing wrong
 * yet.  A good reply's registers/bits are decoded for every tag
 * (dec_registers, dec_bit): results of the right kind and range, strings
 * valid UTF-8, floats finite, and unscaled values surviving
 * encode -> decode unchanged.
 */
#include "fuzz/fuzz.h"

#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "acquire/decode.h"
#include "acquire/mbtcp.h"
#include "support/fuzzin.h"

static double float_bits(uint32_t b)
{
    float f;
    memcpy(&f, &b, sizeof f);
    return f;
}

/* The specification's verdict on the first `have` bytes the client read:
 * 1 when some field there is wrong. */
static int spec_wrong(const mbtcp_expect *x, const uint8_t *b, size_t have)
{
    unsigned normal = 3u + x->nbytes;
    if (have >= 2 && (b[0] << 8 | b[1]) != x->tid)
        return 1;
    if (have >= 4 && (b[2] | b[3]) != 0)
        return 1;
    unsigned len = have >= 6 ? (unsigned)(b[4] << 8 | b[5]) : 0;
    if (have >= 6 && len != normal && len != 3)
        return 1;
    if (have >= 7 && b[6] != x->unit)
        return 1;
    if (have < 8)
        return 0;
    bool exc = b[7] == (x->fc | 0x80);
    if (!exc && b[7] != x->fc)
        return 1;
    if (len != (exc ? 3 : normal))
        return 1;
    if (have < 9)
        return 0;
    if (exc)
        return b[8] == 0 || have > MBTCP_HEAD_LEN;
    return b[8] != x->nbytes;
}

static void check_value(const map_tag *t, dec_status ds, const val *v)
{
    if (ds != DEC_OK) {
        FUZZ_CHECK(v->kind == VAL_NONE, "failed decode with a value");
        FUZZ_CHECK(ds == DEC_NAN ? (t->type == MAP_F32 ||
                                    t->type == MAP_F64 || t->scaled)
                                 : ds == DEC_BAD_TEXT &&
                                       t->type == MAP_STRING,
                   "status %d for type %d", ds, t->type);
        return;
    }
    switch (t->type) {
    case MAP_BOOL:
        FUZZ_CHECK(v->kind == VAL_BOOL, "bool kind");
        return;
    case MAP_STRING:
        FUZZ_CHECK(v->kind == VAL_STR, "string kind");
        FUZZ_CHECK(strlen(v->s) <= 2u * t->length, "string too long");
        FUZZ_CHECK(fuzz_utf8_ok(v->s), "string not UTF-8");
        size_t n = strlen(v->s);
        FUZZ_CHECK(n == 0 || v->s[n - 1] != ' ', "trailing blank kept");
        return;
    default:
        break;
    }
    if (t->scaled || t->type == MAP_F32 || t->type == MAP_F64) {
        FUZZ_CHECK(v->kind == VAL_REAL && isfinite(v->d), "real kind");
        return;
    }
    if (t->type == MAP_U64 && v->kind == VAL_UINT) {
        FUZZ_CHECK(v->u > (uint64_t)INT64_MAX, "UINT below INT64_MAX");
        return;
    }
    FUZZ_CHECK(v->kind == VAL_INT, "int kind for type %d", t->type);
    int64_t lo = INT64_MIN, hi = INT64_MAX;
    switch (t->type) {
    case MAP_U16: lo = 0; hi = UINT16_MAX; break;
    case MAP_I16: lo = INT16_MIN; hi = INT16_MAX; break;
    case MAP_U32: lo = 0; hi = UINT32_MAX; break;
    case MAP_I32: lo = INT32_MIN; hi = INT32_MAX; break;
    case MAP_U64: lo = 0; break;
    default: break;
    }
    FUZZ_CHECK(v->i >= lo && v->i <= hi, "%lld out of range for type %d",
               (long long)v->i, t->type);
}

/* Unscaled values must come back unchanged through the simulator's
 * encoder (a bool with a bit is encoded into the registers it came
 * from: it only owns that bit). */
static void check_round_trip(const map_tag *t, const uint16_t *regs,
                             const val *v)
{
    if (t->scaled)
        return;
    uint16_t enc[32];
    memset(enc, 0, sizeof enc);
    if (t->type == MAP_BOOL && t->bit >= 0)
        enc[0] = regs[0];
    FUZZ_CHECK(dec_encode_registers(t, v, enc) == 0, "encode refused");
    val back;
    FUZZ_CHECK(dec_registers(t, enc, &back) == DEC_OK, "re-decode failed");
    FUZZ_CHECK(val_equal(&back, v), "round trip changed the value");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_in in = {data, size};
    unsigned flags = fuzz_take(&in);
    bool repair = flags & 0x80;
    int fc = (int)(flags & 3) + 1;
    bool bits = fc <= 2;
    unsigned qty = fuzz_take(&in) << 8;
    qty |= fuzz_take(&in);
    qty = bits ? 1 + qty % MBTCP_MAX_BITS : 1 + qty % MBTCP_MAX_REGS;
    mbtcp_expect x = {.unit = (uint8_t)fuzz_take(&in), .fc = (uint8_t)fc};
    x.tid = (uint16_t)(fuzz_take(&in) << 8);
    x.tid |= (uint16_t)fuzz_take(&in);
    x.nbytes = (uint16_t)(bits ? (qty + 7) / 8 : qty * 2);
    size_t chunks[8];
    size_t k = fuzz_take(&in) % 8;
    for (size_t i = 0; i < k; i++)
        chunks[i] = 1 + fuzz_take(&in);
    map_tag tags[16];
    size_t nt = fuzz_take(&in) % 16;
    for (size_t i = 0; i < nt; i++) {
        map_tag *t = &tags[i];
        memset(t, 0, sizeof *t);
        t->full_id = "fuzz.t";
        t->type = (map_type)(fuzz_take(&in) % 10);
        t->order = (map_order)(fuzz_take(&in) % 4);
        t->bit = (int)(fuzz_take(&in) % 17) - 1;
        t->length = (uint16_t)(1 + fuzz_take(&in) % 32);
        unsigned off = fuzz_take(&in) << 8;
        off |= fuzz_take(&in);
        t->address = (uint16_t)off;
        t->scale = float_bits((uint32_t)fuzz_take_be(&in, 4));
        t->offset = float_bits((uint32_t)fuzz_take_be(&in, 4));
        /* What the loader allows (plc.c): a finite non-zero scale, a
         * finite offset, neither on bool or string, a bit only on a
         * bool, a length only on a string. */
        if (!isfinite(t->scale) || t->scale == 0)
            t->scale = 1;
        if (!isfinite(t->offset))
            t->offset = 0;
        if (t->type == MAP_BOOL || t->type == MAP_STRING) {
            t->scale = 1;
            t->offset = 0;
        }
        t->scaled = t->scale != 1 || t->offset != 0;
        if (t->type != MAP_BOOL || bits)
            t->bit = -1;
        if (t->type != MAP_STRING)
            t->length = 0;
        t->table = bits ? (fc == 1 ? MAP_COIL : MAP_DISCRETE)
                        : (fc == 3 ? MAP_HOLDING : MAP_INPUT);
        if (bits)
            t->type = MAP_BOOL;
        t->nregs = bits ? 1 : map_type_regs(t->type, t->length);
    }

    /* The server's bytes, optionally with the expected header. */
    uint8_t stream[MBTCP_ADU_MAX + 64];
    size_t slen = in.n < sizeof stream ? in.n : sizeof stream;
    memcpy(stream, in.p, slen);
    if (repair) {
        const uint8_t head[MBTCP_HEAD_LEN] = {
            (uint8_t)(x.tid >> 8), (uint8_t)x.tid, 0, 0,
            (uint8_t)((3 + x.nbytes) >> 8), (uint8_t)(3 + x.nbytes), x.unit,
            (uint8_t)fc, (uint8_t)x.nbytes};
        size_t need = MBTCP_HEAD_LEN + x.nbytes;
        /* Short input: the data is zero-filled. */
        memmove(stream + MBTCP_HEAD_LEN, stream,
                slen < need - MBTCP_HEAD_LEN ? slen : need - MBTCP_HEAD_LEN);
        if (slen < need - MBTCP_HEAD_LEN)
            memset(stream + MBTCP_HEAD_LEN + slen, 0,
                   need - MBTCP_HEAD_LEN - slen);
        memcpy(stream, head, sizeof head);
        slen = need;
    }

    /* The client's receive loop (mbtcp_transact), recv by recv, into a
     * buffer of exactly the size the client has. */
    uint8_t *buf = malloc(MBTCP_ADU_MAX);
    FUZZ_CHECK(buf, "out of memory");
    size_t want = MBTCP_HEAD_LEN + x.nbytes, have = 0, off = 0, ci = 0;
    mbtcp_rc rc = MBTCP_OK;
    char err[160] = "";
    while (have < want && off < slen) {
        size_t n = want - have;
        if (ci < k && chunks[ci] < n)
            n = chunks[ci];
        ci++;
        if (n > slen - off)
            n = slen - off;
        FUZZ_CHECK(have + n <= MBTCP_ADU_MAX, "recv past the buffer");
        memcpy(buf + have, stream + off, n);
        have += n;
        off += n;
        rc = mbtcp_check_reply(&x, buf, have, &want, err, sizeof err);
        if (rc != MBTCP_OK)
            break;
        FUZZ_CHECK(err[0] == '\0', "error text without an error");
        FUZZ_CHECK(want == MBTCP_HEAD_LEN ||
                   want == (size_t)MBTCP_HEAD_LEN + x.nbytes, "want %zu",
                   want);
    }
    FUZZ_CHECK(rc == MBTCP_OK || rc == MBTCP_MALFORMED, "rc %d", rc);
    FUZZ_CHECK(strlen(err) < sizeof err, "error text");
    if (rc == MBTCP_MALFORMED) {
        FUZZ_CHECK(err[0] != '\0', "malformed without a reason");
        FUZZ_CHECK(spec_wrong(&x, buf, have), "refused a right reply: %s",
                   err);
    } else {
        FUZZ_CHECK(!spec_wrong(&x, buf, have), "took a wrong reply");
    }
    bool complete = rc == MBTCP_OK && have == want;
    if (repair)
        FUZZ_CHECK(complete && want == (size_t)MBTCP_HEAD_LEN + x.nbytes,
                   "the expected reply was not taken: %s", err);
    if (!complete || buf[7] != fc) {
        if (complete)
            FUZZ_CHECK(want == MBTCP_HEAD_LEN && buf[7] == (fc | 0x80) &&
                       buf[8] != 0, "exception reply");
        free(buf);
        return 0;
    }

    /* A good reply: its values through every tag that fits it. */
    if (bits) {
        uint8_t b[MBTCP_MAX_BITS];
        mbtcp_reply_bits(buf, (uint16_t)qty, b);
        for (size_t i = 0; i < qty; i++)
            FUZZ_CHECK(b[i] <= 1, "bit %zu is %u", i, b[i]);
        for (size_t i = 0; i < nt; i++) {
            map_tag *t = &tags[i];
            t->address %= qty;
            val v;
            dec_status ds = dec_bit(t, b[t->address], &v);
            FUZZ_CHECK(ds == DEC_OK && v.kind == VAL_BOOL &&
                       v.b == (b[t->address] != 0), "dec_bit");
            uint8_t back;
            FUZZ_CHECK(dec_encode_bit(t, &v, &back) == 0 &&
                       back == b[t->address], "bit round trip");
        }
    } else {
        uint16_t regs[MBTCP_MAX_REGS];
        mbtcp_reply_regs(buf, (uint16_t)qty, regs);
        for (size_t i = 0; i < nt; i++) {
            map_tag *t = &tags[i];
            if (t->nregs > qty)
                continue;
            t->address %= (uint16_t)(qty - t->nregs + 1);
            /* An exact-size copy: a decoder reading past the tag's
             * registers is caught. */
            uint16_t *r = malloc(t->nregs * sizeof *r);
            FUZZ_CHECK(r, "out of memory");
            memcpy(r, regs + t->address, t->nregs * sizeof *r);
            val v;
            dec_status ds = dec_registers(t, r, &v);
            check_value(t, ds, &v);
            if (ds == DEC_OK)
                check_round_trip(t, r, &v);
            char json[VAL_STR_MAX * 6 + 8];
            int jl = val_to_json(&v, json, sizeof json);
            FUZZ_CHECK(jl >= 0 && (size_t)jl < sizeof json, "json %d", jl);
            free(r);
        }
    }
    free(buf);
    return 0;
}
