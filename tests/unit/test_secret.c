/*
 * test_secret.c - secrets named by a map: environment variables and files.
 *
 * Each test asserts the exact secret or the exact message, since the
 * messages are what an operator reads when the bridge refuses to start
 * (and what tests/integration/test_cli.py looks for).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "config/secret.h"
#include "support/tmpdir.h"

static int setup(void **state)
{
    return tmpdir_scratch_setup(state, "lb-secret-", "pw");
}

static int teardown(void **state)
{
    return tmpdir_scratch_teardown(state);
}

static void write_file(const char *path, const char *text, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

/* Resolves and expects success with exactly `want`. */
static void expect_secret(const char *env, const char *file, const char *want)
{
    char *out = (char *)"untouched", err[256] = "";
    assert_int_equal(secret_resolve("password", env, file, &out, err,
                                    sizeof err), 0);
    assert_non_null(out);
    assert_string_equal(out, want);
    free(out);
}

static void expect_error(const char *what, const char *env, const char *file,
                         const char *want)
{
    char *out = (char *)"untouched", err[512] = "";
    assert_int_equal(secret_resolve(what, env, file, &out, err, sizeof err),
                     -1);
    assert_null(out);
    assert_string_equal(err, want);
}

static void test_env(void **state)
{
    (void)state;
    setenv("LB_TEST_SECRET", "s3cret\n", 1);
    /* The environment is taken as it is: only files lose their newline. */
    expect_secret("LB_TEST_SECRET", NULL, "s3cret\n");
    setenv("LB_TEST_SECRET", "", 1);
    expect_secret("LB_TEST_SECRET", NULL, "");
    unsetenv("LB_TEST_SECRET");
    expect_error("password", "LB_TEST_SECRET", NULL,
                 "password: environment variable LB_TEST_SECRET is not set");
    expect_error("token", "LB_TEST_SECRET", NULL,
                 "token: environment variable LB_TEST_SECRET is not set");
}

static void test_env_wins_over_file(void **state)
{
    struct tmpdir_scratch *x = *state;
    write_file(x->path, "from-file\n", 10);
    setenv("LB_TEST_SECRET", "from-env", 1);
    expect_secret("LB_TEST_SECRET", x->path, "from-env");
    unsetenv("LB_TEST_SECRET");
    /* A named variable that is unset is an error, not a fall back. */
    expect_error("password", "LB_TEST_SECRET", x->path,
                 "password: environment variable LB_TEST_SECRET is not set");
}

static void test_file_first_line(void **state)
{
    struct tmpdir_scratch *x = *state;
    write_file(x->path, "line one\nline two\n", 18);
    expect_secret(NULL, x->path, "line one");
    write_file(x->path, "crlf\r\nrest", 10);
    expect_secret(NULL, x->path, "crlf");
    write_file(x->path, "no newline", 10);
    expect_secret(NULL, x->path, "no newline");
    write_file(x->path, "  spaces kept  \n", 16);
    expect_secret(NULL, x->path, "  spaces kept  ");
    /* An empty first line is an empty secret; an empty file is an error. */
    write_file(x->path, "\nsecond\n", 8);
    expect_secret(NULL, x->path, "");
}

static void test_file_errors(void **state)
{
    struct tmpdir_scratch *x = *state;
    char want[512];
    write_file(x->path, "", 0);
    snprintf(want, sizeof want, "password: %s is empty", x->path);
    expect_error("password", NULL, x->path, want);

    char missing[160];
    snprintf(missing, sizeof missing, "%s/missing.pw", x->dir);
    snprintf(want, sizeof want, "token: cannot open %s: No such file or "
             "directory", missing);
    expect_error("token", NULL, missing, want);
}

static void test_nothing_named(void **state)
{
    (void)state;
    char *out = (char *)"untouched", err[64] = "";
    assert_int_equal(secret_resolve("password", NULL, NULL, &out, err,
                                    sizeof err), 0);
    assert_null(out);
    assert_string_equal(err, "");
}

static void test_short_error_buffer(void **state)
{
    (void)state;
    unsetenv("LB_TEST_SECRET");
    char *out = NULL, err[16];
    assert_int_equal(secret_resolve("password", "LB_TEST_SECRET", NULL, &out,
                                    err, sizeof err), -1);
    assert_string_equal(err, "password: envir");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_env),
        cmocka_unit_test_setup_teardown(test_env_wins_over_file, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_file_first_line, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_file_errors, setup, teardown),
        cmocka_unit_test(test_nothing_named),
        cmocka_unit_test(test_short_error_buffer),
    };
    return cmocka_run_group_tests_name("secret", tests, NULL, NULL);
}
