/*
 * test_metrics.c - the Prometheus writer's pure parts (web/metrics.h):
 * label values escaped as the 0.0.4 text format says, and the bearer
 * token check.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "web/metrics.h"

static void test_escape(void **state)
{
    (void)state;
    strbuf b;
    sb_init(&b, 0);
    metrics_escape(&b, "a\\b\"c\nd\te°");
    assert_false(b.failed);
    assert_string_equal(sb_data(&b), "a\\\\b\\\"c\\nd\te°");
    sb_reset(&b);
    metrics_escape(&b, "");
    assert_int_equal(b.len, 0);
    sb_free(&b);
}

static void test_bearer(void **state)
{
    (void)state;
    assert_true(metrics_bearer_ok("s3cret", "Bearer s3cret"));
    assert_false(metrics_bearer_ok("s3cret", "Bearer s3cre"));
    assert_false(metrics_bearer_ok("s3cret", "Bearer s3cret2"));
    assert_false(metrics_bearer_ok("s3cret", "Basic s3cret"));
    assert_false(metrics_bearer_ok("s3cret", "bearer s3cret"));
    assert_false(metrics_bearer_ok("s3cret", NULL));
    assert_false(metrics_bearer_ok(NULL, "Bearer "));
    assert_false(metrics_bearer_ok("", "Bearer "));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escape),
        cmocka_unit_test(test_bearer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
