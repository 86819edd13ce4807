/*
 * expr.h - the alarm expression language: parsed and type-checked once,
 * evaluated on every change with three-valued logic.
 *
 * Station-level alarms are conditions over several tags:
 *
 *   upper_gate.left_leaf_running and abs(levels.upstream_level -
 *   levels.chamber_level) > 0.2
 *
 * The language has numbers (12, 0.5, 1e3), true and false, full tag ids
 * (plc.tag), + - * / and unary minus, the comparisons < <= > >= == !=,
 * and / or / not, abs(), and parentheses.  Precedence, lowest first: or,
 * and, not, comparison (one per level: a < b < c is refused), + -, * /,
 * unary minus.  Every value is a number or true/false, fixed when the
 * expression is compiled: arithmetic and < <= > >= take numbers, and / or
 * / not take true/false, == and != take two of the same kind, and an alarm
 * expression as a whole must be true/false.  Mistakes are found at compile
 * time, never while evaluating.
 *
 * Evaluation is three-valued (Kleene): each input is known or unknown (an
 * input is unknown when its tag's PLC is unreachable or its quality is not
 * good), and the result is unknown exactly when it depends on an unknown
 * input.  `false and X` is false and `true or X` is true whatever X is, so
 * an unknown tag never makes an expression true or false.  A division by
 * zero is unknown too.
 *
 * A compiled expression is a flat program (postfix, constants inline)
 * evaluated with a stack whose depth is known at compile time: no
 * allocation and no recursion per evaluation.  Inputs are slots numbered
 * by the caller (the alarm engine uses station-wide tag indexes); the
 * compiler asks a resolver for each tag id it meets.
 *
 * Pure: no threads, no global state; an expr is immutable once compiled
 * and may be shared by threads that only evaluate it.
 */
#ifndef LB_ALARM_EXPR_H
#define LB_ALARM_EXPR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct expr expr;

/* Kinds of value.  EXPR_OTHER is what a resolver answers for a tag that
 * cannot take part (a string tag): the compiler refuses it by name. */
typedef enum { EXPR_NUM, EXPR_BOOL, EXPR_OTHER } expr_type;

/* Sources longer than this are refused; nesting deeper than
 * EXPR_DEPTH_MAX (parentheses, not, unary minus, abs) too, which bounds
 * the parser's recursion and the evaluation stack. */
#define EXPR_SRC_MAX 4096
#define EXPR_DEPTH_MAX 32

/* Looks a tag id up (name is not NUL-terminated: len bytes).  0 with
 * *type and *slot set, or -1 when there is no such tag. */
typedef int (*expr_resolve_fn)(void *ctx, const char *name, size_t len,
                               expr_type *type, uint32_t *slot);

/* Why a compilation failed: the byte offset of the offending token in
 * the source (0-based; the source's length for "ends too early") and a
 * message that names the token, e.g. "unknown tag 'levels.upstream'". */
typedef struct {
    size_t pos;
    char msg[192];
} expr_error;

/* Compiles src (NUL-terminated).  The expression must be true/false when
 * want_bool is set (an alarm condition), anything otherwise.  Returns a
 * program owned by the caller (expr_free), or NULL with *err filled in
 * (out of memory is reported there too, at position 0). */
expr *expr_compile(const char *src, bool want_bool, expr_resolve_fn resolve,
                   void *ctx, expr_error *err);
void expr_free(expr *x);

expr_type expr_result_type(const expr *x);

/* The distinct slots the expression reads, in order of first use; the
 * array belongs to x.  The alarm engine indexes expressions by them. */
size_t expr_slots(const expr *x, const uint32_t **slots);

/* One input or result: a number (true/false as 1/0) and whether it is
 * known.  v means nothing when known is false. */
typedef struct {
    double v;
    bool known;
} expr_val;

/* Evaluates x with inputs[slot] for each slot it reads (the caller's
 * array must cover every slot expr_slots names). */
expr_val expr_eval(const expr *x, const expr_val *inputs);

#endif
