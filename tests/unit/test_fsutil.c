/*
 * test_fsutil.c - creating the state directory and its parents, and the
 * errors when a component cannot be a directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/fsutil.h"
#include "support/tmpdir.h"

static bool is_dir(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static void test_mkdirs_parents(void **state)
{
    (void)state;
    char tmpl[] = "/tmp/lb-fsutil-XXXXXX";
    char *top = mkdtemp(tmpl);
    assert_non_null(top);
    char path[512];
    snprintf(path, sizeof path, "%s/a/b/c/", top);
    assert_int_equal(fs_mkdirs(path, 0700, NULL), 0);
    snprintf(path, sizeof path, "%s/a/b/c", top);
    assert_true(is_dir(path));
    assert_int_equal(fs_mkdirs(path, 0700, NULL), 0);   /* exists: fine */
    snprintf(path, sizeof path, "%s/x/y/history.db", top);
    assert_int_equal(fs_mkdirs_for(path, 0755, NULL), 0);
    snprintf(path, sizeof path, "%s/x/y", top);
    assert_true(is_dir(path));
    assert_int_equal(fs_mkdirs_for("history.db", 0755, NULL), 0);
    assert_int_equal(tmpdir_remove(top), 0);
}

static void test_mkdirs_names_the_failure(void **state)
{
    (void)state;
    char tmpl[] = "/tmp/lb-fsutil-XXXXXX";
    char *top = mkdtemp(tmpl);
    assert_non_null(top);
    char file[512], path[600];
    snprintf(file, sizeof file, "%s/plain", top);
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fclose(f);
    snprintf(path, sizeof path, "%s/sub/dir", file);
    char *failed = NULL;
    errno = 0;
    assert_int_equal(fs_mkdirs(path, 0755, &failed), -1);
    assert_int_equal(errno, ENOTDIR);
    assert_non_null(failed);
    assert_string_equal(failed, file);      /* the file in the way */
    free(failed);
    /* A file where the directory itself should be. */
    failed = NULL;
    assert_int_equal(fs_mkdirs(file, 0755, &failed), -1);
    assert_int_equal(errno, ENOTDIR);
    assert_string_equal(failed, file);
    free(failed);
    assert_int_equal(tmpdir_remove(top), 0);
}

static void test_join(void **state)
{
    (void)state;
    char *p = fs_join("data", "history.db");
    assert_string_equal(p, "data/history.db");
    free(p);
    p = fs_join("/var/lib/lockbridge/", "spool");
    assert_string_equal(p, "/var/lib/lockbridge/spool");
    free(p);
    p = fs_join("/", "history.db");
    assert_string_equal(p, "/history.db");
    free(p);
    p = fs_join("data", "/abs/history.db");
    assert_string_equal(p, "/abs/history.db");
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mkdirs_parents),
        cmocka_unit_test(test_mkdirs_names_the_failure),
        cmocka_unit_test(test_join),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
