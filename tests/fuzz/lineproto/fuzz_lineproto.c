/*
 * fuzz_lineproto.c - the line-protocol encoder (record/lineproto.h) with
 * arbitrary names and values, called in arbitrary order.
 *
 * The input is a program: an opcode byte, then its arguments (a name or
 * string is a length byte and that many bytes, cut at a NUL as a C string
 * would be; numbers are 8 raw bytes):
 *   0 lp_begin(name)     1 lp_tag(key, value)   2 lp_field_float(key, f64)
 *   3 lp_field_int       4 lp_field_uint        5 lp_field_bool(key, b)
 *   6 lp_field_string    7 lp_end(ts, precision)  8 lp_abort
 *   9 lp_buf_reset
 * A model of the line being built says what each call must do, from
 * lineproto.h's contract stated independently (tests/support/lpparse.h:
 * lpp_name_ok): a refused call returns -1 and leaves exactly the complete
 * lines before it (no partial line, nothing earlier touched); an accepted
 * call returns 0; a finished line parses back (lpp_parse_line, InfluxDB's
 * unescaping) to exactly the names, types, values (floats bit for bit)
 * and timestamp (floor-divided to the precision) that went in.  Every
 * finite float is also formatted alone (lp_format_double): text of
 * digits, sign, point and exponent only, that strtod reads back bit for
 * bit.
 */
#include "fuzz/fuzz.h"

#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "record/lineproto.h"
#include "support/lpparse.h"
#include "support/fuzzin.h"

/* A C string of up to 255 bytes from the input. */
static void take_str(struct fuzz_in *in, char *out)
{
    size_t n = fuzz_take(in);
    if (n > in->n)
        n = in->n;
    memcpy(out, in->p, n);
    out[n] = '\0';
    in->p += n;
    in->n -= n;
}

/* The line being built, as the model sees it. */
typedef struct {
    bool open;            /* lp_begin accepted, nothing refused since */
    bool checkable;       /* within lpparse's limits */
    lpp_line want;
} model;

static int64_t floor_div(int64_t a, int64_t d)
{
    int64_t q = a / d;
    return (a % d != 0 && a < 0) ? q - 1 : q;
}

static void check_float_text(double v)
{
    char buf[40];
    int n = lp_format_double(v, buf);
    FUZZ_CHECK(n > 0 && n < 32 && (size_t)n == strlen(buf), "length %d", n);
    double back = strtod(buf, NULL);
    FUZZ_CHECK(memcmp(&back, &v, sizeof v) == 0, "%s does not read back",
               buf);
    FUZZ_CHECK(strspn(buf, "0123456789.-+e") == (size_t)n, "%s", buf);
}

static void check_line(const lp_buf *b, size_t start, const model *m)
{
    char *line = malloc(b->len - start + 1);
    FUZZ_CHECK(line, "out of memory");
    memcpy(line, b->data + start, b->len - start);
    line[b->len - start] = '\0';
    FUZZ_CHECK(memchr(line, '\n', b->len - start) == line + b->len - start - 1,
               "one newline, at the end");
    if (m->checkable) {
        lpp_line *got = malloc(sizeof *got);
        FUZZ_CHECK(got, "out of memory");
        const char *next = lpp_parse_line(line, got);
        FUZZ_CHECK(next == line + strlen(line), "unparsable: %s", line);
        const lpp_line *w = &m->want;
        FUZZ_CHECK(strcmp(got->meas, w->meas) == 0, "measurement: %s", line);
        FUZZ_CHECK(got->ntags == w->ntags, "tags: %s", line);
        for (int t = 0; t < w->ntags; t++)
            FUZZ_CHECK(strcmp(got->tk[t], w->tk[t]) == 0 &&
                       strcmp(got->tv[t], w->tv[t]) == 0, "tag %d: %s", t,
                       line);
        FUZZ_CHECK(got->nfields == w->nfields, "fields: %s", line);
        for (int f = 0; f < w->nfields; f++) {
            const lpp_field *g = &got->fld[f], *e = &w->fld[f];
            FUZZ_CHECK(strcmp(g->key, e->key) == 0 && g->type == e->type,
                       "field %d: %s", f, line);
            switch (e->type) {
            case LPP_FLOAT:
                FUZZ_CHECK(memcmp(&g->f, &e->f, sizeof e->f) == 0,
                           "float %d: %s", f, line);
                break;
            case LPP_INT: FUZZ_CHECK(g->i == e->i, "int: %s", line); break;
            case LPP_UINT: FUZZ_CHECK(g->u == e->u, "uint: %s", line); break;
            case LPP_BOOL: FUZZ_CHECK(g->b == e->b, "bool: %s", line); break;
            default:
                FUZZ_CHECK(strcmp(g->s, e->s) == 0, "string: %s", line);
            }
        }
        FUZZ_CHECK(got->ts == w->ts, "timestamp: %s", line);
        free(got);
    }
    free(line);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_in in = {data, size};
    lp_buf b;
    lp_buf_init(&b);
    /* The complete lines so far, kept apart to see they stay intact. */
    char *done = NULL;
    size_t done_len = 0;
    model m = {0};
    char k[256], v[256];
    for (int steps = 0; in.n && steps < 256; steps++) {
        unsigned op = fuzz_take(&in) % 10;
        int rc = 0, want_rc = 0;
        lpp_field *f = NULL;
        switch (op) {
        case 0:
            take_str(&in, k);
            rc = lp_begin(&b, k);
            memset(&m, 0, sizeof m);
            m.open = lpp_name_ok(k) && k[0] != '#';
            m.checkable = true;
            snprintf(m.want.meas, sizeof m.want.meas, "%s", k);
            want_rc = m.open ? 0 : -1;
            break;
        case 1:
            take_str(&in, k);
            take_str(&in, v);
            rc = lp_tag(&b, k, v);
            if (m.open && (m.want.nfields > 0 || !lpp_name_ok(k) ||
                           !lpp_name_ok(v)))
                m.open = false;
            want_rc = m.open ? 0 : -1;
            if (m.open) {
                if (m.want.ntags < LPP_MAX_TAGS) {
                    strcpy(m.want.tk[m.want.ntags], k);
                    strcpy(m.want.tv[m.want.ntags], v);
                    m.want.ntags++;
                } else {
                    m.checkable = false;
                }
            }
            break;
        case 2: case 3: case 4: case 5: case 6: {
            take_str(&in, k);
            uint64_t raw = 0;
            if (op == 6)
                take_str(&in, v);
            else if (op == 5)
                raw = fuzz_take(&in) & 1;
            else
                raw = fuzz_take_be(&in, 8);
            double d;
            memcpy(&d, &raw, sizeof d);
            bool ok = m.open && lpp_name_ok(k) && (op != 2 || isfinite(d));
            if (m.open && m.want.nfields < LPP_MAX_FIELDS)
                f = &m.want.fld[m.want.nfields];
            else if (m.open)
                m.checkable = false;
            if (op == 2) {
                rc = lp_field_float(&b, k, d);
                if (isfinite(d))
                    check_float_text(d);
            } else if (op == 3) {
                rc = lp_field_int(&b, k, (int64_t)raw);
            } else if (op == 4) {
                rc = lp_field_uint(&b, k, raw);
            } else if (op == 5) {
                rc = lp_field_bool(&b, k, raw != 0);
            } else {
                rc = lp_field_string(&b, k, v);
            }
            m.open = ok;
            want_rc = ok ? 0 : -1;
            if (ok && f) {
                snprintf(f->key, sizeof f->key, "%s", k);
                f->type = op == 2 ? LPP_FLOAT : op == 3 ? LPP_INT
                        : op == 4 ? LPP_UINT : op == 5 ? LPP_BOOL : LPP_STR;
                f->f = d;
                f->i = (int64_t)raw;
                f->u = raw;
                f->b = raw != 0;
                if (op == 6)
                    snprintf(f->s, sizeof f->s, "%s", v);
                m.want.nfields++;
            }
            break;
        }
        case 7: {
            int64_t ts = (int64_t)fuzz_take_be(&in, 8);
            lp_precision p = (lp_precision)(fuzz_take(&in) % 4);
            static const int64_t unit[] = {1, 1000, 1000000, 1000000000};
            size_t start = b.mark;
            rc = lp_end(&b, ts, p);
            want_rc = m.open && m.want.nfields > 0 ? 0 : -1;
            if (want_rc == 0 && rc == 0) {
                m.want.ts = floor_div(ts, unit[p]);
                check_line(&b, start, &m);
                char *nd = realloc(done, b.len);
                FUZZ_CHECK(nd, "out of memory");
                done = nd;
                memcpy(done + done_len, b.data + done_len, b.len - done_len);
                done_len = b.len;
            }
            m.open = false;
            break;
        }
        case 8:
            lp_abort(&b);
            m.open = false;
            break;
        default:
            lp_buf_reset(&b);
            done_len = 0;
            m.open = false;
            break;
        }
        FUZZ_CHECK(rc == want_rc, "op %u returned %d, the contract says %d",
                   op, rc, want_rc);
        if (rc < 0 || op == 8 || op == 9)
            FUZZ_CHECK(b.len == b.mark && b.len == done_len,
                       "a partial line is left (op %u)", op);
        FUZZ_CHECK(b.mark == done_len && b.len >= b.mark, "mark");
        FUZZ_CHECK(done_len == 0 || memcmp(b.data, done, done_len) == 0,
                   "complete lines changed (op %u)", op);
    }
    free(done);
    lp_buf_free(&b);
    return 0;
}
