/*
 * test_alarm_expr.c - the alarm expression language (alarm/expr.h).
 *
 * Three tables: expressions with inputs and the exact result (precedence,
 * arithmetic, comparisons, Kleene's three-valued logic with unknown
 * inputs, division by zero), expressions that must not compile with the
 * offset and message of the error, and the slots an expression reads.
 * The inputs are four tags: n and m (numbers), b and c (true/false), plus
 * s (a string tag, refused).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "alarm/expr.h"

enum { N, M, B, C, NSLOTS };

static int resolve(void *ctx, const char *name, size_t len, expr_type *type,
                   uint32_t *slot)
{
    (void)ctx;
    static const struct { const char *id; expr_type t; uint32_t slot; } tags[] = {
        {"p.n", EXPR_NUM, N}, {"p.m", EXPR_NUM, M}, {"p.b", EXPR_BOOL, B},
        {"p.c", EXPR_BOOL, C}, {"p.s", EXPR_OTHER, 99},
        {"2nd_plc.level", EXPR_NUM, M},
    };
    for (size_t i = 0; i < sizeof tags / sizeof tags[0]; i++)
        if (strlen(tags[i].id) == len && memcmp(tags[i].id, name, len) == 0) {
            *type = tags[i].t;
            *slot = tags[i].slot;
            return 0;
        }
    return -1;
}

#define U 2   /* unknown, in the tables below */

typedef struct {
    const char *src;
    double n, m;
    int b, c;          /* 0, 1 or U */
    int n_known, m_known;
    int want;          /* 0, 1 or U for true/false results */
    double num;        /* the number, for numeric results (want == -1) */
} eval_case;

static const eval_case evals[] = {
    /* precedence and arithmetic */
    {"p.n + p.m * 2 > 6.5", 1, 3, 0, 0, 1, 1, 1, 0},
    {"(p.n + p.m) * 2", 1, 3, 0, 0, 1, 1, -1, 8},
    {"p.n - p.m - 1", 10, 3, 0, 0, 1, 1, -1, 6},   /* left-associative */
    {"p.n / p.m / 2", 12, 3, 0, 0, 1, 1, -1, 2},
    {"-p.n * 2", 3, 0, 0, 0, 1, 1, -1, -6},
    {"- -p.n", 3, 0, 0, 0, 1, 1, -1, 3},
    {"abs(p.n - p.m)", 1, 3.5, 0, 0, 1, 1, -1, 2.5},
    {"1e3 + .5 + 2.", 0, 0, 0, 0, 1, 1, -1, 1002.5},
    {"abs(2nd_plc.level - 4) < 0.25", 0, 4.2, 0, 0, 1, 1, 1, 0},
    /* comparisons */
    {"p.n <= 2", 2, 0, 0, 0, 1, 1, 1, 0},
    {"p.n < 2", 2, 0, 0, 0, 1, 1, 0, 0},
    {"p.n >= 2", 2, 0, 0, 0, 1, 1, 1, 0},
    {"p.n == 2", 2, 0, 0, 0, 1, 1, 1, 0},
    {"p.n != 2", 2, 0, 0, 0, 1, 1, 0, 0},
    {"p.b == p.c", 0, 0, 1, 1, 1, 1, 1, 0},
    {"p.b != true", 0, 0, 1, 0, 1, 1, 0, 0},
    /* logic: not binds tighter than and, and tighter than or */
    {"p.b or p.c and false", 0, 0, 1, 1, 1, 1, 1, 0},
    {"(p.b or p.c) and false", 0, 0, 1, 1, 1, 1, 0, 0},
    {"not p.b and p.c", 0, 0, 1, 1, 1, 1, 0, 0},
    {"not (p.b and p.c)", 0, 0, 1, 1, 1, 1, 0, 0},
    {"not p.n > 1", 2, 0, 0, 0, 1, 1, 0, 0},
    /* Kleene: an unknown input decides nothing the rest has decided */
    {"p.b and p.c", 0, 0, U, 0, 1, 1, 0, 0},
    {"p.b and p.c", 0, 0, U, 1, 1, 1, U, 0},
    {"p.b or p.c", 0, 0, U, 1, 1, 1, 1, 0},
    {"p.b or p.c", 0, 0, U, 0, 1, 1, U, 0},
    {"not p.b", 0, 0, U, 0, 1, 1, U, 0},
    {"p.b == p.c", 0, 0, U, 1, 1, 1, U, 0},
    {"p.n > 1", 0, 0, 0, 0, 0, 1, U, 0},
    {"p.n > 1 or p.m > 1", 0, 2, 0, 0, 0, 1, 1, 0},
    {"p.n > 1 and p.m > 1", 0, 0, 0, 0, 0, 1, 0, 0},
    {"abs(p.n) + 1 > 0", 0, 0, 0, 0, 0, 1, U, 0},
    {"p.c and abs(p.n - p.m) > 0.2", 0, 0, 0, 0, 0, 1, 0, 0},
    {"p.c and abs(p.n - p.m) > 0.2", 0, 0, 0, 1, 0, 1, U, 0},
    /* division by zero is not a value */
    {"p.n / p.m > 1", 1, 0, 0, 0, 1, 1, U, 0},
    {"p.n / p.m > 1 or p.b", 1, 0, 1, 0, 1, 1, 1, 0},
};

static void test_eval(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof evals / sizeof evals[0]; i++) {
        const eval_case *c = &evals[i];
        expr_error err;
        bool want_bool = c->want != -1;
        expr *x = expr_compile(c->src, want_bool, resolve, NULL, &err);
        if (!x)
            fail_msg("'%s' did not compile: %zu: %s", c->src, err.pos,
                     err.msg);
        expr_val in[NSLOTS] = {
            [N] = {c->n, c->n_known}, [M] = {c->m, c->m_known},
            [B] = {c->b == 1, c->b != U}, [C] = {c->c == 1, c->c != U},
        };
        expr_val r = expr_eval(x, in);
        if (c->want == -1) {
            assert_int_equal(expr_result_type(x), EXPR_NUM);
            if (!r.known || fabs(r.v - c->num) > 1e-12)
                fail_msg("'%s': got %g (%s), want %g", c->src, r.v,
                         r.known ? "known" : "unknown", c->num);
        } else {
            assert_int_equal(expr_result_type(x), EXPR_BOOL);
            int got = !r.known ? U : r.v != 0;
            if (got != c->want)
                fail_msg("'%s': got %d, want %d (2 = unknown)", c->src, got,
                         c->want);
        }
        expr_free(x);
    }
}

typedef struct {
    const char *src;
    size_t pos;
    const char *msg;
} err_case;

static const err_case errs[] = {
    {"", 0, "empty expression"},
    {"p.x > 1", 0, "unknown tag 'p.x' (full ids are plc.tag)"},
    {"p.n > 1 and levels.upstream < 2", 12,
     "unknown tag 'levels.upstream' (full ids are plc.tag)"},
    {"p.s == 1", 0, "tag 'p.s' is a string: expressions take numbers and "
     "true/false"},
    {"p.n", 0, "the expression is a number; an alarm condition must be true "
     "or false (compare it, e.g. '... > 0')"},
    {"p.n > ", 6, "expected a number, true, false, a tag id, abs( or '(' but "
     "found the end of the expression"},
    {"p.n > 1)", 7, "unexpected ')' after a complete expression"},
    {"(p.n > 1", 8, "expected ')' to close '(' but found the end of the "
     "expression"},
    {"abs(p.n p.m) > 1", 8, "expected ')' to close abs( but found 'p.m'"},
    {"abs(p.b) > 1", 0, "abs() needs a number, got true/false"},
    {"max(p.n, 1) > 1", 0, "unknown function 'max' (the only function is "
     "abs())"},
    {"level > 1", 0, "unknown name 'level' (tags are written plc.tag; the "
     "only function is abs())"},
    {"p.n and p.b", 4, "'and' needs true/false on both sides, got a number "
     "on the left"},
    {"p.b or 1", 4, "'or' needs true/false on both sides, got a number on "
     "the right"},
    {"not p.n", 0, "'not' needs true/false, got a number"},
    {"p.b + 1 > 0", 4, "'+' needs numbers on both sides, got true/false on "
     "the left"},
    {"-p.b", 0, "unary '-' needs a number, got true/false"},
    {"p.b < 1", 4, "'<' needs numbers on both sides, got true/false on the "
     "left"},
    {"p.b == 1", 4, "'==' compares true/false with a number"},
    {"1 < p.n < 3", 8, "comparisons cannot be chained: write 'a < b and b < "
     "c', not 'a < b < c'"},
    {"p.n = 1", 4, "'=' is not an operator: write '==' to compare"},
    {"p.b && p.c", 4, "'&' is not an operator: write 'and'"},
    {"!p.b", 0, "'!' is not an operator: write 'not' or '!='"},
    {"p.n > 1.2.3", 6, "malformed number '1.2.3'"},
    {"p.n > 12abc", 6, "malformed number '12abc'"},
    {"p.n > 0x10", 6, "malformed number '0x10'"},
    {"a.b.c", 0, "malformed tag id (tags are written plc.tag) 'a.b.c'"},
    {"p.n > $", 6, "unexpected character '$'"},
    {"((((((((((((((((((((((((((((((((((p.b))))))))))))))))))))))))))))))))))",
     32, "expression nested too deeply (at most 32 levels of parentheses, "
     "not, abs() and unary minus)"},
};

static void test_errors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof errs / sizeof errs[0]; i++) {
        const err_case *c = &errs[i];
        expr_error err;
        expr *x = expr_compile(c->src, true, resolve, NULL, &err);
        if (x)
            fail_msg("'%s' compiled", c->src);
        if (err.pos != c->pos || strcmp(err.msg, c->msg) != 0)
            fail_msg("'%s':\n  got  %zu: %s\n  want %zu: %s", c->src, err.pos,
                     err.msg, c->pos, c->msg);
    }
    /* A source longer than the limit is refused before it is read. */
    char *big = malloc(EXPR_SRC_MAX + 2);
    assert_non_null(big);
    memset(big, ' ', EXPR_SRC_MAX + 1);
    big[EXPR_SRC_MAX + 1] = '\0';
    expr_error err;
    assert_null(expr_compile(big, true, resolve, NULL, &err));
    assert_string_equal(err.msg, "expression too long (4097 bytes; at most "
                        "4096)");
    free(big);
}

static void test_slots(void **state)
{
    (void)state;
    expr_error err;
    expr *x = expr_compile("p.m > 1 and (p.b or p.m < p.n) and not p.b",
                           true, resolve, NULL, &err);
    assert_non_null(x);
    const uint32_t *s;
    assert_int_equal(expr_slots(x, &s), 3);
    assert_int_equal(s[0], M);
    assert_int_equal(s[1], B);
    assert_int_equal(s[2], N);
    expr_free(x);
    expr_free(NULL);
}

/* Deep but legal nesting and long chains evaluate on the fixed stack. */
static void test_limits(void **state)
{
    (void)state;
    char src[EXPR_SRC_MAX + 1] = "";
    for (int i = 0; i < EXPR_DEPTH_MAX - 1; i++)
        strcat(src, "(p.n + ");
    strcat(src, "1");
    for (int i = 0; i < EXPR_DEPTH_MAX - 1; i++)
        strcat(src, ")");
    strcat(src, " > 0");
    expr_error err;
    expr *x = expr_compile(src, true, resolve, NULL, &err);
    if (!x)
        fail_msg("%zu: %s", err.pos, err.msg);
    expr_val in[NSLOTS] = {[N] = {1, true}};
    expr_val r = expr_eval(x, in);
    assert_true(r.known);
    assert_true(r.v == 1);
    expr_free(x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_eval),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_slots),
        cmocka_unit_test(test_limits),
    };
    return cmocka_run_group_tests_name("alarm_expr", tests, NULL, NULL);
}
