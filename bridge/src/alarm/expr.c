/*
 * expr.c - the alarm expression language (expr.h): a lexer, a
 * recursive-descent parser that type-checks as it emits postfix code, and
 * a stack evaluator with Kleene's three-valued logic.
 *
 * The parser checks types while it parses, so every message points at the
 * token that is wrong ("'and' needs true/false on both sides, got a number
 * on the left" points at the 'and').  Recursion happens only where the
 * source nests (parentheses, abs(), not, unary minus), and that is bounded
 * by EXPR_DEPTH_MAX; chains of binary operators are loops.
 */
#include "alarm/expr.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The evaluation stack lives on the C stack; the compiler refuses a
 * program that would need more. */
#define EXPR_STACK_MAX 256

enum op {
    OP_CONST, OP_LOAD, OP_NEG, OP_ABS, OP_ADD, OP_SUB, OP_MUL, OP_DIV,
    OP_LT, OP_LE, OP_GT, OP_GE, OP_EQ, OP_NE, OP_AND, OP_OR, OP_NOT,
};

struct instr {
    uint8_t op;
    uint32_t slot;   /* OP_LOAD */
    double k;        /* OP_CONST */
};

struct expr {
    struct instr *code;
    size_t n;
    int stack;       /* deepest the evaluation stack gets */
    expr_type type;
    uint32_t *slots;
    size_t n_slots;
};

/* ---- lexer ------------------------------------------------------------- */

enum tok {
    T_END, T_NUM, T_TRUE, T_FALSE, T_TAG, T_NAME, T_AND, T_OR, T_NOT,
    T_LP, T_RP, T_PLUS, T_MINUS, T_STAR, T_SLASH, T_LT, T_LE, T_GT, T_GE,
    T_EQ, T_NE, T_BAD,
};

typedef struct {
    const char *src;
    size_t len, pos;
    /* the current token */
    enum tok tok;
    size_t tpos, tlen;
    double num;
    /* output */
    struct instr *code;
    size_t n, cap;
    int depth, max_depth;  /* evaluation stack while emitting */
    int nest;              /* source nesting while parsing */
    uint32_t *slots;
    size_t n_slots, slots_cap;
    expr_resolve_fn resolve;
    void *ctx;
    expr_error *err;
    bool failed;
} parser;

static void fail_at(parser *p, size_t pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fail_at(parser *p, size_t pos, const char *fmt, ...)
{
    if (p->failed)
        return;  /* the first mistake is the one worth reading */
    p->failed = true;
    p->err->pos = pos;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err->msg, sizeof p->err->msg, fmt, ap);
    va_end(ap);
}

static bool id_char(int c)
{
    return isalnum(c) || c == '_';
}

/* The current token as messages quote it: "')'", "'levels.x'", or "the
 * end of the expression".  Long tokens are cut. */
static const char *tok_text(const parser *p, char *buf, size_t len)
{
    if (p->tok == T_END)
        return "the end of the expression";
    int n = p->tlen > 48 ? 45 : (int)p->tlen;
    snprintf(buf, len, "'%.*s%s'", n, p->src + p->tpos,
             p->tlen > 48 ? "..." : "");
    return buf;
}

/* A word: digits, letters, '_' and '.', with an exponent's sign after an
 * 'e' of something that started as a number.  What it is (number, tag id,
 * keyword, name) is decided on the whole word, so "2nd_gate.x" is a tag
 * id and not the number 2 followed by junk. */
static void lex_word(parser *p)
{
    const char *s = p->src;
    size_t i = p->pos;
    bool numeric = isdigit((unsigned char)s[i]) || s[i] == '.';
    while (i < p->len) {
        unsigned char c = (unsigned char)s[i];
        if (id_char(c) || c == '.') {
            i++;
        } else if (numeric && (c == '+' || c == '-') &&
                   (s[i - 1] == 'e' || s[i - 1] == 'E') &&
                   i + 1 < p->len && isdigit((unsigned char)s[i + 1])) {
            i++;
        } else {
            break;
        }
    }
    p->tpos = p->pos;
    p->tlen = i - p->pos;
    p->pos = i;
    const char *w = s + p->tpos;
    size_t n = p->tlen;
    if (numeric) {
        char buf[64];
        if (n < sizeof buf) {
            memcpy(buf, w, n);
            buf[n] = '\0';
            char *end;
            errno = 0;
            double x = strtod(buf, &end);
            /* strtod would take "0x10", "inf" and "nan"; the language
             * writes numbers in decimal only. */
            if (*end == '\0' && end != buf && errno != ERANGE &&
                isfinite(x) && !memchr(buf, 'x', n) && !memchr(buf, 'X', n)) {
                p->tok = T_NUM;
                p->num = x;
                return;
            }
        }
    }
    const char *dot = memchr(w, '.', n);
    if (dot) {
        size_t a = (size_t)(dot - w), b = n - a - 1;
        if (a > 0 && b > 0 && !memchr(dot + 1, '.', b)) {
            p->tok = T_TAG;
            return;
        }
        p->tok = T_BAD;
        fail_at(p, p->tpos, "malformed %s '%.*s'",
                numeric ? "number" : "tag id (tags are written plc.tag)",
                (int)(n > 48 ? 48 : n), w);
        return;
    }
    static const struct { const char *w; enum tok t; } kw[] = {
        {"and", T_AND}, {"or", T_OR}, {"not", T_NOT}, {"true", T_TRUE},
        {"false", T_FALSE},
    };
    for (size_t k = 0; k < sizeof kw / sizeof kw[0]; k++)
        if (strlen(kw[k].w) == n && memcmp(kw[k].w, w, n) == 0) {
            p->tok = kw[k].t;
            return;
        }
    if (numeric) {
        p->tok = T_BAD;
        fail_at(p, p->tpos, "malformed number '%.*s'",
                (int)(n > 48 ? 48 : n), w);
        return;
    }
    p->tok = T_NAME;
}

static void next(parser *p)
{
    const char *s = p->src;
    while (p->pos < p->len && isspace((unsigned char)s[p->pos]))
        p->pos++;
    p->tpos = p->pos;
    p->tlen = 1;
    if (p->pos >= p->len) {
        p->tok = T_END;
        p->tlen = 0;
        return;
    }
    unsigned char c = (unsigned char)s[p->pos];
    unsigned char d = p->pos + 1 < p->len ? (unsigned char)s[p->pos + 1] : 0;
    if (id_char(c) || (c == '.' && isdigit(d))) {
        lex_word(p);
        return;
    }
    p->pos++;
    switch (c) {
    case '(': p->tok = T_LP; return;
    case ')': p->tok = T_RP; return;
    case '+': p->tok = T_PLUS; return;
    case '-': p->tok = T_MINUS; return;
    case '*': p->tok = T_STAR; return;
    case '/': p->tok = T_SLASH; return;
    case '<':
    case '>':
        if (d == '=') {
            p->pos++;
            p->tlen = 2;
            p->tok = c == '<' ? T_LE : T_GE;
        } else {
            p->tok = c == '<' ? T_LT : T_GT;
        }
        return;
    case '=':
    case '!':
        if (d == '=') {
            p->pos++;
            p->tlen = 2;
            p->tok = c == '=' ? T_EQ : T_NE;
            return;
        }
        p->tok = T_BAD;
        fail_at(p, p->tpos, c == '=' ? "'=' is not an operator: write '==' "
                "to compare" : "'!' is not an operator: write 'not' or '!='");
        return;
    case '&':
    case '|':
        p->tok = T_BAD;
        fail_at(p, p->tpos, "'%c' is not an operator: write '%s'", c,
                c == '&' ? "and" : "or");
        return;
    }
    p->tok = T_BAD;
    if (c >= 0x20 && c < 0x7f)
        fail_at(p, p->tpos, "unexpected character '%c'", c);
    else
        fail_at(p, p->tpos, "unexpected byte 0x%02x", c);
}

/* ---- code emission ----------------------------------------------------- */

static void emit(parser *p, enum op op, double k, uint32_t slot)
{
    if (p->failed)
        return;
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 16;
        struct instr *c = realloc(p->code, cap * sizeof *c);
        if (!c) {
            fail_at(p, 0, "out of memory");
            return;
        }
        p->code = c;
        p->cap = cap;
    }
    p->code[p->n++] = (struct instr){.op = (uint8_t)op, .slot = slot, .k = k};
    if (op == OP_CONST || op == OP_LOAD)
        p->depth++;
    else if (op != OP_NEG && op != OP_ABS && op != OP_NOT)
        p->depth--;  /* binary: two in, one out */
    if (p->depth > p->max_depth)
        p->max_depth = p->depth;
    if (p->max_depth > EXPR_STACK_MAX)
        fail_at(p, p->tpos, "expression too complex (it would need more "
                "than %d intermediate values)", EXPR_STACK_MAX);
}

static void add_slot(parser *p, uint32_t slot)
{
    for (size_t i = 0; i < p->n_slots; i++)
        if (p->slots[i] == slot)
            return;
    if (p->n_slots == p->slots_cap) {
        size_t cap = p->slots_cap ? p->slots_cap * 2 : 4;
        uint32_t *s = realloc(p->slots, cap * sizeof *s);
        if (!s) {
            fail_at(p, 0, "out of memory");
            return;
        }
        p->slots = s;
        p->slots_cap = cap;
    }
    p->slots[p->n_slots++] = slot;
}

/* ---- parser ------------------------------------------------------------ */

static expr_type parse_or(parser *p);

static const char *type_name(expr_type t)
{
    return t == EXPR_BOOL ? "true/false" : "a number";
}

static bool enter(parser *p)
{
    if (++p->nest > EXPR_DEPTH_MAX) {
        fail_at(p, p->tpos, "expression nested too deeply (at most %d "
                "levels of parentheses, not, abs() and unary minus)",
                EXPR_DEPTH_MAX);
        return false;
    }
    return true;
}

static expr_type parse_primary(parser *p)
{
    char buf[64];
    if (p->failed)
        return EXPR_NUM;
    switch (p->tok) {
    case T_NUM:
        emit(p, OP_CONST, p->num, 0);
        next(p);
        return EXPR_NUM;
    case T_TRUE:
    case T_FALSE:
        emit(p, OP_CONST, p->tok == T_TRUE ? 1 : 0, 0);
        next(p);
        return EXPR_BOOL;
    case T_TAG: {
        expr_type t = EXPR_NUM;
        uint32_t slot = 0;
        const char *name = p->src + p->tpos;
        int n = (int)(p->tlen > 96 ? 96 : p->tlen);
        if (!p->resolve ||
            p->resolve(p->ctx, name, p->tlen, &t, &slot) < 0) {
            fail_at(p, p->tpos, "unknown tag '%.*s' (full ids are plc.tag)",
                    n, name);
            return EXPR_NUM;
        }
        if (t == EXPR_OTHER) {
            fail_at(p, p->tpos, "tag '%.*s' is a string: expressions take "
                    "numbers and true/false", n, name);
            return EXPR_NUM;
        }
        add_slot(p, slot);
        emit(p, OP_LOAD, 0, slot);
        next(p);
        return t;
    }
    case T_NAME: {
        size_t npos = p->tpos, nlen = p->tlen;
        const char *name = p->src + npos;
        int n = (int)(nlen > 48 ? 48 : nlen);
        next(p);
        if (p->tok != T_LP) {
            fail_at(p, npos, "unknown name '%.*s' (tags are written "
                    "plc.tag; the only function is abs())", n, name);
            return EXPR_NUM;
        }
        if (nlen != 3 || memcmp(name, "abs", 3) != 0) {
            fail_at(p, npos, "unknown function '%.*s' (the only function "
                    "is abs())", n, name);
            return EXPR_NUM;
        }
        if (!enter(p))
            return EXPR_NUM;
        next(p);
        expr_type t = parse_or(p);
        if (!p->failed && t != EXPR_NUM)
            fail_at(p, npos, "abs() needs a number, got true/false");
        if (!p->failed && p->tok != T_RP)
            fail_at(p, p->tpos, "expected ')' to close abs( but found %s",
                    tok_text(p, buf, sizeof buf));
        p->nest--;
        emit(p, OP_ABS, 0, 0);
        next(p);
        return EXPR_NUM;
    }
    case T_LP: {
        if (!enter(p))
            return EXPR_NUM;
        next(p);
        expr_type t = parse_or(p);
        if (!p->failed && p->tok != T_RP)
            fail_at(p, p->tpos, "expected ')' to close '(' but found %s",
                    tok_text(p, buf, sizeof buf));
        p->nest--;
        next(p);
        return t;
    }
    case T_BAD:
        return EXPR_NUM;  /* the lexer has said why */
    default:
        fail_at(p, p->tpos, "expected a number, true, false, a tag id, "
                "abs( or '(' but found %s", tok_text(p, buf, sizeof buf));
        return EXPR_NUM;
    }
}

static expr_type parse_unary(parser *p)
{
    if (p->tok != T_MINUS)
        return parse_primary(p);
    size_t at = p->tpos;
    if (!enter(p))
        return EXPR_NUM;
    next(p);
    expr_type t = parse_unary(p);
    p->nest--;
    if (!p->failed && t != EXPR_NUM)
        fail_at(p, at, "unary '-' needs a number, got true/false");
    emit(p, OP_NEG, 0, 0);
    return EXPR_NUM;
}

/* Both sides of an arithmetic operator are numbers. */
static void want_numbers(parser *p, size_t at, size_t len, expr_type l,
                         expr_type r)
{
    if (p->failed || (l == EXPR_NUM && r == EXPR_NUM))
        return;
    fail_at(p, at, "'%.*s' needs numbers on both sides, got true/false on "
            "the %s", (int)len, p->src + at, l != EXPR_NUM ? "left" : "right");
}

static expr_type parse_mul(parser *p)
{
    expr_type l = parse_unary(p);
    while (!p->failed && (p->tok == T_STAR || p->tok == T_SLASH)) {
        enum tok op = p->tok;
        size_t at = p->tpos;
        next(p);
        expr_type r = parse_unary(p);
        want_numbers(p, at, 1, l, r);
        emit(p, op == T_STAR ? OP_MUL : OP_DIV, 0, 0);
        l = EXPR_NUM;
    }
    return l;
}

static expr_type parse_add(parser *p)
{
    expr_type l = parse_mul(p);
    while (!p->failed && (p->tok == T_PLUS || p->tok == T_MINUS)) {
        enum tok op = p->tok;
        size_t at = p->tpos;
        next(p);
        expr_type r = parse_mul(p);
        want_numbers(p, at, 1, l, r);
        emit(p, op == T_PLUS ? OP_ADD : OP_SUB, 0, 0);
        l = EXPR_NUM;
    }
    return l;
}

static bool is_cmp(enum tok t)
{
    return t == T_LT || t == T_LE || t == T_GT || t == T_GE || t == T_EQ ||
           t == T_NE;
}

static expr_type parse_cmp(parser *p)
{
    expr_type l = parse_add(p);
    if (p->failed || !is_cmp(p->tok))
        return l;
    enum tok op = p->tok;
    size_t at = p->tpos, len = p->tlen;
    next(p);
    expr_type r = parse_add(p);
    if (p->failed)
        return EXPR_BOOL;
    if (op == T_EQ || op == T_NE) {
        if (l != r)
            fail_at(p, at, "'%.*s' compares %s with %s", (int)len,
                    p->src + at, type_name(l), type_name(r));
    } else if (l != EXPR_NUM || r != EXPR_NUM) {
        fail_at(p, at, "'%.*s' needs numbers on both sides, got true/false "
                "on the %s", (int)len, p->src + at,
                l != EXPR_NUM ? "left" : "right");
    }
    if (!p->failed && is_cmp(p->tok))
        fail_at(p, p->tpos, "comparisons cannot be chained: write 'a < b "
                "and b < c', not 'a < b < c'");
    static const enum op ops[] = {
        [T_LT] = OP_LT, [T_LE] = OP_LE, [T_GT] = OP_GT, [T_GE] = OP_GE,
        [T_EQ] = OP_EQ, [T_NE] = OP_NE,
    };
    emit(p, ops[op], 0, 0);
    return EXPR_BOOL;
}

static expr_type parse_not(parser *p)
{
    if (p->tok != T_NOT)
        return parse_cmp(p);
    size_t at = p->tpos;
    if (!enter(p))
        return EXPR_BOOL;
    next(p);
    expr_type t = parse_not(p);
    p->nest--;
    if (!p->failed && t != EXPR_BOOL)
        fail_at(p, at, "'not' needs true/false, got a number");
    emit(p, OP_NOT, 0, 0);
    return EXPR_BOOL;
}

/* 'and' and 'or' share the loop; want is the operator's token. */
static expr_type parse_logic(parser *p, enum tok want,
                             expr_type (*sub)(parser *))
{
    expr_type l = sub(p);
    while (!p->failed && p->tok == want) {
        size_t at = p->tpos, len = p->tlen;
        next(p);
        expr_type r = sub(p);
        if (!p->failed && (l != EXPR_BOOL || r != EXPR_BOOL))
            fail_at(p, at, "'%.*s' needs true/false on both sides, got a "
                    "number on the %s", (int)len, p->src + at,
                    l != EXPR_BOOL ? "left" : "right");
        emit(p, want == T_AND ? OP_AND : OP_OR, 0, 0);
        l = EXPR_BOOL;
    }
    return l;
}

static expr_type parse_and(parser *p)
{
    return parse_logic(p, T_AND, parse_not);
}

static expr_type parse_or(parser *p)
{
    return parse_logic(p, T_OR, parse_and);
}

expr *expr_compile(const char *src, bool want_bool, expr_resolve_fn resolve,
                   void *ctx, expr_error *err)
{
    expr_error dummy;
    if (!err)
        err = &dummy;
    err->pos = 0;
    err->msg[0] = '\0';
    if (!src) {
        snprintf(err->msg, sizeof err->msg, "no expression");
        return NULL;
    }
    parser p = {.src = src, .len = strlen(src), .resolve = resolve,
                .ctx = ctx, .err = err};
    if (p.len > EXPR_SRC_MAX) {
        fail_at(&p, 0, "expression too long (%zu bytes; at most %d)", p.len,
                EXPR_SRC_MAX);
    } else {
        next(&p);
        if (p.tok == T_END)
            fail_at(&p, 0, "empty expression");
        expr_type t = parse_or(&p);
        char buf[64];
        if (!p.failed && p.tok != T_END)
            fail_at(&p, p.tpos, "unexpected %s after a complete expression",
                    tok_text(&p, buf, sizeof buf));
        if (!p.failed && want_bool && t != EXPR_BOOL)
            fail_at(&p, 0, "the expression is a number; an alarm condition "
                    "must be true or false (compare it, e.g. '... > 0')");
        if (!p.failed) {
            expr *x = calloc(1, sizeof *x);
            if (!x) {
                fail_at(&p, 0, "out of memory");
            } else {
                x->code = p.code;
                x->n = p.n;
                x->stack = p.max_depth;
                x->type = t;
                x->slots = p.slots;
                x->n_slots = p.n_slots;
                return x;
            }
        }
    }
    free(p.code);
    free(p.slots);
    return NULL;
}

void expr_free(expr *x)
{
    if (!x)
        return;
    free(x->code);
    free(x->slots);
    free(x);
}

expr_type expr_result_type(const expr *x)
{
    return x->type;
}

size_t expr_slots(const expr *x, const uint32_t **slots)
{
    *slots = x->slots;
    return x->n_slots;
}

/* ---- evaluation -------------------------------------------------------- */

static expr_val known(double v)
{
    return (expr_val){v, true};
}

static const expr_val unknown = {0, false};

expr_val expr_eval(const expr *x, const expr_val *inputs)
{
    expr_val st[EXPR_STACK_MAX];
    int sp = 0;
    for (size_t i = 0; i < x->n; i++) {
        const struct instr *in = &x->code[i];
        switch ((enum op)in->op) {
        case OP_CONST:
            st[sp++] = known(in->k);
            continue;
        case OP_LOAD:
            st[sp++] = inputs[in->slot];
            continue;
        case OP_NEG:
            st[sp - 1].v = -st[sp - 1].v;
            continue;
        case OP_ABS:
            st[sp - 1].v = fabs(st[sp - 1].v);
            continue;
        case OP_NOT:
            st[sp - 1].v = st[sp - 1].v != 0 ? 0 : 1;
            continue;
        default:
            break;
        }
        expr_val b = st[--sp], a = st[sp - 1], r;
        switch ((enum op)in->op) {
        case OP_AND:
            /* Kleene: a known false decides, whatever the other side. */
            if ((a.known && a.v == 0) || (b.known && b.v == 0))
                r = known(0);
            else
                r = a.known && b.known ? known(1) : unknown;
            break;
        case OP_OR:
            if ((a.known && a.v != 0) || (b.known && b.v != 0))
                r = known(1);
            else
                r = a.known && b.known ? known(0) : unknown;
            break;
        default:
            if (!a.known || !b.known) {
                r = unknown;
                break;
            }
            switch ((enum op)in->op) {
            case OP_ADD: r = known(a.v + b.v); break;
            case OP_SUB: r = known(a.v - b.v); break;
            case OP_MUL: r = known(a.v * b.v); break;
            case OP_DIV: r = b.v == 0 ? unknown : known(a.v / b.v); break;
            case OP_LT: r = known(a.v < b.v); break;
            case OP_LE: r = known(a.v <= b.v); break;
            case OP_GT: r = known(a.v > b.v); break;
            case OP_GE: r = known(a.v >= b.v); break;
            case OP_EQ: r = known(a.v == b.v); break;
            case OP_NE: r = known(a.v != b.v); break;
            default: r = unknown; break;
            }
            /* inf - inf and the like: not a value anyone can alarm on */
            if (r.known && !isfinite(r.v))
                r = unknown;
        }
        st[sp - 1] = r;
    }
    return sp == 1 ? st[0] : unknown;
}
