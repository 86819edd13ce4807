/*
 * test_auth_users.c - the users file (auth/users.c) and the modes of
 * auth's files (auth/fmode.c): round trip, atomic replacement (also on a
 * full disk, a 256 KiB tmpfs of the test's own), mode 0600 whatever the
 * umask, loose modes tightened with a warning, change detection, and
 * every bad line reported with its line number.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
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

#include "core/fmode.h"
#include "auth/users.h"
#include "support/fullfs.h"
#include "support/tmpdir.h"

/* A hash the parser accepts (RFC 7914's PBKDF2 vector). */
#define H1 "$pbkdf2-sha256$i=1$c2FsdA$VawEblbjCJ/sFpHCJUS2BflBhSFt3gRl5oudV8" \
           "INrLxJypzM8Xm2RZkWZLOdd+8xfHG4RbHjC9UJESBB06GXgw"
#define H2 "$scrypt$ln=10,r=8,p=1$bG9ja2JyaWRnZS1zYWx0IQ$cFRBSpuGZNZXw9j5S4o" \
           "ikP3oaCnO4dxI9ojgpYNuxnw"

static int setup(void **state)
{
    return tmpdir_scratch_setup(state, "lb-users-", "users");
}

static int teardown(void **state)
{
    return tmpdir_scratch_teardown(state);
}

static void write_text(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(chmod(path, mode), 0);
}

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    static char buf[8192];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static users_entry entry(const char *name, auth_role role, const char *hash,
                         int64_t created, int64_t changed)
{
    users_entry e = {.role = role, .created_s = created,
                     .changed_s = changed};
    snprintf(e.name, sizeof e.name, "%s", name);
    snprintf(e.hash, sizeof e.hash, "%s", hash);
    return e;
}

/* Names in the directory other than the users file: temporary files left
 * behind would show up here. */
static int others_in(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
            strcmp(e->d_name, "users"))
            n++;
    closedir(d);
    return n;
}

/* Written, read back field by field, sorted by name, the file exactly as
 * expected, 0600 even with umask 0. */
static void test_round_trip(void **state)
{
    struct tmpdir_scratch *x = *state;
    users_list l = {0};
    users_entry a = entry("zoe", AUTH_ADMIN, H2, 1764000000, 1764000100);
    users_entry b = entry("alice.o_2-x", AUTH_OPERATOR, H1, 1, 2);
    assert_int_equal(users_add(&l, &a), 0);
    assert_int_equal(users_add(&l, &b), 0);
    assert_string_equal(l.v[0].name, "alice.o_2-x");
    mode_t old = umask(0);
    char err[512] = "";
    users_stamp st;
    assert_int_equal(users_write(x->path, &l, &st, err, sizeof err), 0);
    umask(old);
    struct stat sb;
    assert_int_equal(stat(x->path, &sb), 0);
    assert_int_equal(sb.st_mode & 07777, 0600);
    assert_string_equal(read_text(x->path),
        "# lockbridge users: name:role:hash:created:changed (Unix seconds;\n"
        "# changed = password last set).  Edit with `lockbridge user ...`.\n"
        "alice.o_2-x:operator:" H1 ":1:2\n"
        "zoe:admin:" H2 ":1764000000:1764000100\n");
    users_list r;
    users_stamp st2;
    assert_int_equal(users_load(x->path, &r, &st2, err, sizeof err), 0);
    assert_true(users_stamp_same(&st, &st2));
    assert_int_equal(r.n, 2);
    for (size_t i = 0; i < 2; i++) {
        assert_string_equal(r.v[i].name, l.v[i].name);
        assert_int_equal(r.v[i].role, l.v[i].role);
        assert_string_equal(r.v[i].hash, l.v[i].hash);
        assert_int_equal(r.v[i].created_s, l.v[i].created_s);
        assert_int_equal(r.v[i].changed_s, l.v[i].changed_s);
    }
    users_entry *z = users_find(&r, "zoe");
    assert_non_null(z);
    users_remove(&r, z);
    assert_int_equal(r.n, 1);
    assert_null(users_find(&r, "zoe"));
    users_list_free(&r);
    users_list_free(&l);
    users_list_free(NULL);

    /* A missing file is no users, and a version of its own. */
    unlink(x->path);
    assert_int_equal(users_load(x->path, &r, &st, err, sizeof err), 0);
    assert_int_equal(r.n, 0);
    assert_false(st.exists);
}

/* The file is replaced, not rewritten: a reader holding the old one still
 * reads it whole, the path shows the new one under a new inode, and
 * nothing is left beside it. */
static void test_atomic_replace(void **state)
{
    struct tmpdir_scratch *x = *state;
    users_list l = {0};
    users_entry a = entry("alice", AUTH_VIEWER, H1, 10, 10);
    users_add(&l, &a);
    char err[512];
    assert_int_equal(users_write(x->path, &l, NULL, err, sizeof err), 0);
    char before[8192];
    snprintf(before, sizeof before, "%s", read_text(x->path));
    int fd = open(x->path, O_RDONLY);
    assert_true(fd >= 0);
    struct stat s1, s2;
    fstat(fd, &s1);
    users_entry b = entry("bob", AUTH_ENGINEER, H2, 11, 11);
    users_add(&l, &b);
    assert_int_equal(users_write(x->path, &l, NULL, err, sizeof err), 0);
    char held[8192];
    ssize_t n = read(fd, held, sizeof held - 1);
    assert_true(n > 0);
    held[n] = '\0';
    close(fd);
    assert_string_equal(held, before);
    assert_int_equal(stat(x->path, &s2), 0);
    assert_int_not_equal(s1.st_ino, s2.st_ino);
    assert_non_null(strstr(read_text(x->path), "\nbob:engineer:"));
    assert_int_equal(others_in(x->dir), 0);
    users_list_free(&l);
}

/* On a full disk the write fails with ENOSPC in its message, and the old
 * file is there, whole, with nothing beside it. */
static void test_full_disk(void **state)
{
    struct tmpdir_scratch *x = *state;
    char why[256], err[512];
    char mnt[128];
    snprintf(mnt, sizeof mnt, "%s/small", x->dir);
    assert_int_equal(mkdir(mnt, 0700), 0);
    if (fullfs_mount(mnt, 256 * 1024, why, sizeof why) < 0)
        fail_msg("no tmpfs for the full-disk case: %s", why);
    char path[160];
    snprintf(path, sizeof path, "%s/users", mnt);
    users_list l = {0};
    users_entry a = entry("alice", AUTH_VIEWER, H1, 10, 10);
    users_add(&l, &a);
    assert_int_equal(users_write(path, &l, NULL, err, sizeof err), 0);
    char before[8192];
    snprintf(before, sizeof before, "%s", read_text(path));
    for (int i = 0; i < 40; i++) {
        char name[16];
        snprintf(name, sizeof name, "user%02d", i);
        users_entry e = entry(name, AUTH_OPERATOR, H2, 12, 12);
        users_add(&l, &e);
    }
    assert_int_equal(fullfs_fill(mnt), 0);
    assert_int_equal(users_write(path, &l, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "No space left on device"));
    assert_string_equal(read_text(path), before);
    fullfs_unfill(mnt);
    DIR *d = opendir(mnt);
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    assert_int_equal(n, 1);
    fullfs_umount(mnt);
    users_list_free(&l);
}

/* Every bad line at once, each with its number, nothing echoed from a
 * name field; comments, empty lines and CRLF are fine. */
static void test_bad_lines(void **state)
{
    struct tmpdir_scratch *x = *state;
    write_text(x->path,
               "# comment\n"
               "\n"
               "alice:operator:" H1 ":1:2\r\n"
               "bob:boss:" H1 ":1:2\n"
               "carol:viewer:plaintext:1:2\n"
               "dave:viewer:" H1 ":yesterday:2\n"
               "-eve:viewer:" H1 ":1:2\n"
               "frank:viewer\n"
               "alice:admin:" H2 ":3:-4\n"
               "alice:admin:" H2 ":3:4\n"
               "gina:viewer:" H1 ":1:2:extra\n", 0600);
    users_list l;
    users_stamp st;
    char err[2048];
    assert_int_equal(users_load(x->path, &l, &st, err, sizeof err), -1);
    char want[2048];
    snprintf(want, sizeof want,
             "%1$s:4: unknown role 'boss' (viewer, operator, engineer, "
             "admin)\n"
             "%1$s:5: the password hash is not one lockbridge reads "
             "($scrypt$ln=N,r=R,p=P$salt$hash or $pbkdf2-sha256$i=N$salt$"
             "hash; set it again with `lockbridge user passwd`)\n"
             "%1$s:6: 'created' must be Unix seconds, got 'yesterday'\n"
             "%1$s:7: not a user name (1-64 of a-z A-Z 0-9 . _ -, not "
             "starting with - or .)\n"
             "%1$s:8: expected name:role:hash:created:changed (5 fields "
             "separated by ':'), got 2\n"
             "%1$s:9: 'changed' must be Unix seconds, got '-4'\n"
             "%1$s:10: user 'alice' again (first on line 3)\n"
             "%1$s:11: expected name:role:hash:created:changed (5 fields "
             "separated by ':'), got more than 5", x->path);
    assert_string_equal(err, want);
    assert_int_equal(l.n, 0);
    assert_true(st.exists);     /* that version was read */

    /* The good lines alone load, CRLF and comments skipped. */
    write_text(x->path, "# c\n\nalice:operator:" H1 ":1:2\r\n", 0600);
    assert_int_equal(users_load(x->path, &l, &st, err, sizeof err), 0);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.v[0].hash, H1);
    users_list_free(&l);

    /* Many bad lines: the first 20 and a count. */
    char big[4096] = "";
    for (int i = 0; i < 25; i++)
        strcat(big, "x\n");
    write_text(x->path, big, 0600);
    char small[8192];
    assert_int_equal(users_load(x->path, &l, &st, small, sizeof small), -1);
    char tail[160];
    snprintf(tail, sizeof tail, "\n%s: 5 more bad lines", x->path);
    assert_non_null(strstr(small, tail));
    assert_non_null(strstr(small, ":20: expected"));
    assert_null(strstr(small, ":21: expected"));
}

/* A new version is noticed: a rename (new inode), an edit in place (new
 * size); the same version is the same. */
static void test_stamps(void **state)
{
    struct tmpdir_scratch *x = *state;
    users_stamp a, b, c;
    assert_int_equal(users_stamp_get(x->path, &a), 0);
    assert_false(a.exists);
    users_list l = {0};
    users_entry e = entry("alice", AUTH_VIEWER, H1, 10, 10);
    users_add(&l, &e);
    char err[256];
    assert_int_equal(users_write(x->path, &l, &b, err, sizeof err), 0);
    assert_false(users_stamp_same(&a, &b));
    assert_int_equal(users_stamp_get(x->path, &c), 0);
    assert_true(users_stamp_same(&b, &c));
    l.v[0].role = AUTH_ADMIN;       /* "viewer" -> "admin": other size */
    assert_int_equal(users_write(x->path, &l, &c, err, sizeof err), 0);
    assert_false(users_stamp_same(&b, &c));
    FILE *f = fopen(x->path, "a");
    fputs("# appended\n", f);
    fclose(f);
    assert_int_equal(users_stamp_get(x->path, &b), 0);
    assert_false(users_stamp_same(&b, &c));
    users_list_free(&l);
}

typedef struct {
    int n;
    char last[512];
} warned;

static void on_warn(void *ctx, const char *msg)
{
    warned *w = ctx;
    w->n++;
    snprintf(w->last, sizeof w->last, "%s", msg);
}

/* Group/world bits are taken away, and said; a right mode is silent. */
static void test_modes(void **state)
{
    struct tmpdir_scratch *x = *state;
    warned w = {0};
    char err[256], want[512];
    write_text(x->path, "", 0644);
    assert_int_equal(fmode_file(x->path, false, on_warn, &w, err,
                                sizeof err), 0);
    struct stat sb;
    stat(x->path, &sb);
    assert_int_equal(sb.st_mode & 07777, 0600);
    assert_int_equal(w.n, 1);
    snprintf(want, sizeof want, "%s: was mode 0644, readable by others, now "
             "0600", x->path);
    assert_string_equal(w.last, want);
    assert_int_equal(fmode_file(x->path, false, on_warn, &w, err,
                                sizeof err), 0);
    assert_int_equal(w.n, 1);

    char sub[128], deep[160];
    snprintf(sub, sizeof sub, "%s/state", x->dir);
    snprintf(deep, sizeof deep, "%s/a/b", sub);
    mode_t old = umask(0);
    assert_int_equal(fmode_dir(deep, on_warn, &w, err, sizeof err), 0);
    umask(old);
    stat(deep, &sb);
    assert_int_equal(sb.st_mode & 07777, 0700);
    assert_int_equal(w.n, 1);
    chmod(sub, 0755);
    assert_int_equal(fmode_dir(sub, on_warn, &w, err, sizeof err), 0);
    stat(sub, &sb);
    assert_int_equal(sb.st_mode & 07777, 0700);
    assert_int_equal(w.n, 2);
    snprintf(want, sizeof want, "%s: was mode 0755, now 0700: it holds the "
             "users' sessions, for the bridge's user only", sub);
    assert_string_equal(w.last, want);

    /* Created: 0600 even with umask 0, empty. */
    char f[160];
    snprintf(f, sizeof f, "%s/new.db", sub);
    old = umask(0);
    assert_int_equal(fmode_file(f, true, on_warn, &w, err, sizeof err), 0);
    umask(old);
    stat(f, &sb);
    assert_int_equal(sb.st_mode & 07777, 0600);
    assert_int_equal(sb.st_size, 0);
    /* A directory where a file should be is an error naming it. */
    assert_int_equal(fmode_file(sub, true, on_warn, &w, err, sizeof err), -1);
    snprintf(want, sizeof want, "%s: Is a directory", sub);
    assert_string_equal(err, want);
}

/* The lock file: made 0600, and taken again once released. */
static void test_lock(void **state)
{
    struct tmpdir_scratch *x = *state;
    char err[256];
    int fd = users_lock(x->path, NULL, NULL, err, sizeof err);
    assert_true(fd >= 0);
    char lock[160];
    snprintf(lock, sizeof lock, "%s.lock", x->path);
    struct stat sb;
    assert_int_equal(stat(lock, &sb), 0);
    assert_int_equal(sb.st_mode & 07777, 0600);
    users_unlock(fd);
    fd = users_lock(x->path, NULL, NULL, err, sizeof err);
    assert_true(fd >= 0);
    users_unlock(fd);
    users_unlock(-1);
}

static void test_names(void **state)
{
    (void)state;
    static const char *const good[] = {"a", "Alice", "wall-1", "o.p_q",
                                       "0"};
    static const char *const bad[] = {NULL, "", "-a", ".a", "a b", "a:b",
                                      "é", "a/b"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        assert_true(auth_name_valid(good[i]));
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_false(auth_name_valid(bad[i]));
    char n64[66];
    memset(n64, 'a', 64);
    n64[64] = '\0';
    assert_true(auth_name_valid(n64));
    n64[64] = 'a';
    n64[65] = '\0';
    assert_false(auth_name_valid(n64));
    auth_role r = AUTH_NONE;
    assert_int_equal(auth_role_parse("engineer", &r), 0);
    assert_int_equal(r, AUTH_ENGINEER);
    assert_int_equal(auth_role_parse("none", &r), -1);
    assert_int_equal(auth_role_parse("Admin", &r), -1);
    assert_int_equal(auth_role_parse(NULL, &r), -1);
    assert_string_equal(auth_role_name(AUTH_ADMIN), "admin");
    assert_string_equal(auth_role_name(AUTH_NONE), "none");
    assert_true(AUTH_VIEWER < AUTH_OPERATOR && AUTH_OPERATOR < AUTH_ENGINEER
                && AUTH_ENGINEER < AUTH_ADMIN);
}

int main(void)
{
    char why[256];
    if (fullfs_isolate(why, sizeof why) < 0) {
        fprintf(stderr, "test_auth_users: %s\n", why);
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_atomic_replace, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_disk, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_lines, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stamps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_modes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lock, setup, teardown),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests_name("auth_users", tests, NULL, NULL);
}
