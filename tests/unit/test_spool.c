/*
 * test_spool.c - the on-disk FIFO: order, resuming at the cursor after a
 * reopen, torn and bit-flipped records detected and counted, the byte bound
 * dropping the oldest segment, many segments, missing parent directories
 * and a full disk (a small tmpfs, see support/fullfs.h), all in temporary
 * directories.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "record/spool.h"
#include "support/fullfs.h"
#include "support/tmpdir.h"

typedef struct {
    char dir[64];
} fixture;

static int setup(void **st)
{
    fixture *f = calloc(1, sizeof *f);
    if (tmpdir_make(f->dir, sizeof f->dir, "lb-spool-") < 0)
        return -1;
    *st = f;
    return 0;
}

static int teardown(void **st)
{
    fixture *f = *st;
    tmpdir_remove(f->dir);
    free(f);
    return 0;
}

static spool *open_ok(const char *dir, uint64_t max)
{
    char err[256] = "";
    spool *s = spool_open(dir, max, err, sizeof err);
    if (!s)
        fail_msg("spool_open: %s", err);
    return s;
}

static void append_rec(spool *s, int i)
{
    char buf[64];
    int n = snprintf(buf, sizeof buf, "m f=%di %d\n", i, i);
    assert_int_equal(spool_append(s, buf, (size_t)n, (uint32_t)(i % 7 + 1)), 0);
}

/* Peeks, checks it is record i, pops. */
static void expect_rec(spool *s, int i)
{
    const char *d;
    size_t len;
    uint32_t pts;
    char want[64];
    int n = snprintf(want, sizeof want, "m f=%di %d\n", i, i);
    assert_int_equal(spool_peek(s, &d, &len, &pts), 1);
    assert_int_equal(len, (size_t)n);
    assert_memory_equal(d, want, (size_t)n);
    assert_int_equal(pts, (uint32_t)(i % 7 + 1));
    assert_int_equal(spool_pop(s), 0);
}

static void expect_empty(spool *s)
{
    const char *d;
    size_t len;
    uint32_t pts;
    assert_int_equal(spool_peek(s, &d, &len, &pts), 0);
}

static int count_segments(const char *dir)
{
    int n = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        n += strncmp(e->d_name, "seg-", 4) == 0;
    closedir(d);
    return n;
}

/* Path of the only (or first) segment file. */
static void first_segment(const char *dir, char *out, size_t len)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char best[256] = "";
    while ((e = readdir(d)) != NULL)
        if (strncmp(e->d_name, "seg-", 4) == 0 &&
            (!best[0] || strcmp(e->d_name, best) < 0))
            snprintf(best, sizeof best, "%s", e->d_name);
    closedir(d);
    assert_true(best[0] != '\0');
    snprintf(out, len, "%s/%s", dir, best);
}

static void test_order_and_stats(void **st)
{
    fixture *f = *st;
    spool *s = open_ok(f->dir, 1 << 20);
    expect_empty(s);
    for (int i = 0; i < 10; i++)
        append_rec(s, i);
    spool_stats ss;
    spool_get_stats(s, &ss);
    assert_int_equal(ss.records, 10);
    uint64_t pts = 0;
    for (int i = 0; i < 10; i++)
        pts += (uint64_t)(i % 7 + 1);
    assert_int_equal(ss.points, pts);
    assert_true(ss.bytes > 0);
    /* Peek twice without a pop returns the same record. */
    const char *d;
    size_t len;
    uint32_t p;
    assert_int_equal(spool_peek(s, &d, &len, &p), 1);
    assert_int_equal(spool_peek(s, &d, &len, &p), 1);
    assert_memory_equal(d, "m f=0i 0\n", 9);
    for (int i = 0; i < 10; i++)
        expect_rec(s, i);
    expect_empty(s);
    spool_get_stats(s, &ss);
    assert_int_equal(ss.records, 0);
    assert_int_equal(ss.points, 0);
    assert_int_equal(ss.bytes, 0);
    assert_int_equal(ss.dropped_points, 0);
    assert_int_equal(ss.corrupt_records, 0);
    assert_int_equal(count_segments(f->dir), 0);   /* empty segments go */
    /* Appending after a full drain works and keeps order. */
    append_rec(s, 20);
    append_rec(s, 21);
    expect_rec(s, 20);
    expect_rec(s, 21);
    expect_empty(s);
    spool_close(s);
    spool_close(NULL);
}

static void test_reopen_resumes_at_cursor(void **st)
{
    fixture *f = *st;
    spool *s = open_ok(f->dir, 1 << 20);
    for (int i = 0; i < 6; i++)
        append_rec(s, i);
    expect_rec(s, 0);
    expect_rec(s, 1);
    spool_close(s);

    s = open_ok(f->dir, 1 << 20);
    spool_stats ss;
    spool_get_stats(s, &ss);
    assert_int_equal(ss.records, 4);
    assert_int_equal(ss.points, 3 + 4 + 5 + 6);
    expect_rec(s, 2);
    append_rec(s, 6);                 /* goes to a new segment */
    assert_int_equal(count_segments(f->dir), 2);
    spool_close(s);

    s = open_ok(f->dir, 1 << 20);
    for (int i = 3; i <= 6; i++)
        expect_rec(s, i);
    expect_empty(s);
    spool_get_stats(s, &ss);
    assert_int_equal(ss.corrupt_records, 0);
    assert_int_equal(count_segments(f->dir), 0);
    spool_close(s);
}

static void test_torn_tail_skipped(void **st)
{
    fixture *f = *st;
    spool *s = open_ok(f->dir, 1 << 20);
    for (int i = 0; i < 3; i++)
        append_rec(s, i);
    spool_close(s);
    char path[512];
    first_segment(f->dir, path, sizeof path);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    /* Cut the last record in the middle of its data, as a crash would. */
    assert_int_equal(truncate(path, sb.st_size - 4), 0);

    s = open_ok(f->dir, 1 << 20);
    spool_stats ss;
    spool_get_stats(s, &ss);
    assert_int_equal(ss.records, 2);
    assert_int_equal(ss.points, 1 + 2);
    assert_int_equal(ss.corrupt_records, 1);
    append_rec(s, 3);                 /* never written after the torn one */
    expect_rec(s, 0);
    expect_rec(s, 1);
    expect_rec(s, 3);
    expect_empty(s);
    spool_get_stats(s, &ss);
    assert_int_equal(ss.corrupt_records, 1);   /* counted once */
    spool_close(s);
}

static void test_bit_flip_detected(void **st)
{
    fixture *f = *st;
    spool *s = open_ok(f->dir, 1 << 20);
    for (int i = 0; i < 3; i++)
        append_rec(s, i);
    spool_close(s);
    char path[512];
    first_segment(f->dir, path, sizeof path);
    /* Record 1 starts after record 0 (16-byte header + 9 bytes); flip one
     * bit in its data. */
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    off_t at = 16 + 9 + 16 + 3;
    unsigned char c;
    assert_int_equal(pread(fd, &c, 1, at), 1);
    c ^= 0x04;
    assert_int_equal(pwrite(fd, &c, 1, at), 1);
    close(fd);

    s = open_ok(f->dir, 1 << 20);
    spool_stats ss;
    spool_get_stats(s, &ss);
    assert_int_equal(ss.records, 2);
    assert_int_equal(ss.corrupt_records, 1);
    expect_rec(s, 0);
    expect_rec(s, 2);
    expect_empty(s);
    spool_close(s);

    /* A flip in the length field is caught too, and the reader finds the
     * next record. */
    s = open_ok(f->dir, 1 << 20);
    for (int i = 10; i < 13; i++)
        append_rec(s, i);
    spool_close(s);
    first_segment(f->dir, path, sizeof path);
    fd = open(path, O_RDWR);
    at = 16 + 11 + 4;                 /* length of the second record */
    assert_int_equal(pread(fd, &c, 1, at), 1);
    c ^= 0x01;
    assert_int_equal(pwrite(fd, &c, 1, at), 1);
    close(fd);
    s = open_ok(f->dir, 1 << 20);
    spool_get_stats(s, &ss);
    assert_int_equal(ss.corrupt_records, 1);
    assert_int_equal(ss.records, 2);
    expect_rec(s, 10);
    expect_rec(s, 12);
    expect_empty(s);
    spool_close(s);
}

static void test_byte_bound_drops_oldest(void **st)
{
    fixture *f = *st;
    /* 64 KiB bound: segments of 8 KiB (a bound / 8). */
    uint64_t max = 64 * 1024;
    spool *s = open_ok(f->dir, max);
    char rec[1000 - 16];
    memset(rec, 'x', sizeof rec);
    int n = 200;
    for (int i = 0; i < n; i++) {
        snprintf(rec, 16, "%08d", i);
        assert_int_equal(spool_append(s, rec, sizeof rec, 10), 0);
        spool_stats ss;
        spool_get_stats(s, &ss);
        assert_true(ss.bytes <= max);
    }
    spool_stats ss;
    spool_get_stats(s, &ss);
    uint64_t kept = ss.bytes / 1000;
    assert_int_equal(ss.records, kept);
    assert_int_equal(ss.points, kept * 10);
    assert_int_equal(ss.dropped_points, ((uint64_t)n - kept) * 10);
    /* The oldest kept record is the first after the dropped ones. */
    const char *d;
    size_t len;
    uint32_t p;
    char want[16];
    snprintf(want, sizeof want, "%08d", (int)((uint64_t)n - kept));
    assert_int_equal(spool_peek(s, &d, &len, &p), 1);
    assert_memory_equal(d, want, 8);
    /* A record larger than the bound is refused. */
    char *big = calloc(1, max);
    assert_int_equal(spool_append(s, big, max, 1), -1);
    free(big);
    spool_close(s);
}

static void test_many_segments(void **st)
{
    fixture *f = *st;
    spool *s = open_ok(f->dir, 16u << 20);     /* 2 MiB segments */
    char rec[4096];
    memset(rec, 'y', sizeof rec);
    int n = 3000;                              /* ~12 MiB through 24+ segs */
    int next = 0;
    for (int i = 0; i < n; i++) {
        if (i % 3 == 0 && i > 0 && i < n / 2) {
            /* Reopen now and then to exercise new segments per process. */
            spool_close(s);
            s = open_ok(f->dir, 16u << 20);
        }
        snprintf(rec, 16, "%08d", i);
        assert_int_equal(spool_append(s, rec, sizeof rec, 1), 0);
        if (i % 2 == 1) {             /* consume at half the input rate */
            const char *d;
            size_t len;
            uint32_t p;
            char want[16];
            snprintf(want, sizeof want, "%08d", next);
            assert_int_equal(spool_peek(s, &d, &len, &p), 1);
            assert_memory_equal(d, want, 8);
            assert_int_equal(spool_pop(s), 0);
            next++;
        }
    }
    spool_stats ss;
    spool_get_stats(s, &ss);
    assert_int_equal(ss.dropped_points, 0);
    assert_int_equal(ss.records, (uint64_t)(n - next));
    assert_true(count_segments(f->dir) > 1);
    spool_close(s);
    s = open_ok(f->dir, 16u << 20);
    for (; next < n; next++) {
        const char *d;
        size_t len;
        uint32_t p;
        char want[16];
        snprintf(want, sizeof want, "%08d", next);
        assert_int_equal(spool_peek(s, &d, &len, &p), 1);
        assert_int_equal(len, sizeof rec);
        assert_memory_equal(d, want, 8);
        assert_int_equal(spool_pop(s), 0);
    }
    expect_empty(s);
    spool_get_stats(s, &ss);
    assert_int_equal(ss.bytes, 0);
    assert_int_equal(ss.corrupt_records, 0);
    assert_int_equal(count_segments(f->dir), 0);
    spool_close(s);
}

static void test_open_errors(void **st)
{
    (void)st;
    char err[256] = "";
    assert_null(spool_open("/proc/nonexistent/spool", 1 << 20, err, sizeof err));
    assert_string_equal(err, "/proc/nonexistent/spool: cannot create "
                        "directory /proc/nonexistent: No such file or "
                        "directory");
}

static void test_open_creates_parents(void **st)
{
    fixture *f = *st;
    char dir[128];
    /* as with `spool: data/spool` when not even data/ exists yet */
    snprintf(dir, sizeof dir, "%s/data/x/spool", f->dir);
    spool *s = open_ok(dir, 1 << 20);
    struct stat sb;
    assert_int_equal(stat(dir, &sb), 0);
    assert_true(S_ISDIR(sb.st_mode));
    append_rec(s, 1);
    expect_rec(s, 1);
    spool_close(s);
}

/* ---- a full disk ---- */


static int setup_full(void **st)
{
    if (setup(st) < 0)
        return -1;
    fixture *f = *st;
    return fullfs_setup(f->dir, 256 * 1024);
}

static int teardown_full(void **st)
{
    fixture *f = *st;
    fullfs_umount(f->dir);
    return teardown(st);
}

static void test_full_disk_append_fails_cleanly(void **st)
{
    fixture *f = *st;
    spool *s = open_ok(f->dir, 1 << 20);
    for (int i = 0; i < 5; i++)
        append_rec(s, i);
    spool_stats before, ss;
    spool_get_stats(s, &before);
    assert_int_equal(fullfs_fill(f->dir), 0);
    /* Refused with ENOSPC, again and again, and nothing half-written
     * stays behind: the counters do not move. */
    char big[10000];    /* more than the page the segment has left */
    memset(big, 'x', sizeof big);
    for (int k = 0; k < 3; k++) {
        errno = 0;
        assert_int_equal(spool_append(s, big, sizeof big, 9), -1);
        assert_int_equal(errno, ENOSPC);
    }
    spool_get_stats(s, &ss);
    assert_int_equal(ss.records, before.records);
    assert_int_equal(ss.points, before.points);
    assert_int_equal(ss.bytes, before.bytes);
    /* Reading what is there still works on the full disk; the pop cannot
     * save the new read position, says so, and drops the record all the
     * same. */
    const char *d;
    size_t len;
    uint32_t pts;
    assert_int_equal(spool_peek(s, &d, &len, &pts), 1);
    assert_memory_equal(d, "m f=0i 0\n", 9);
    errno = 0;
    assert_int_equal(spool_pop(s), -1);
    assert_int_equal(errno, ENOSPC);
    assert_int_equal(spool_peek(s, &d, &len, &pts), 1);
    assert_memory_equal(d, "m f=1i 1\n", 9);
    /* Room again: appends succeed and follow the earlier records. */
    assert_int_equal(fullfs_unfill(f->dir), 0);
    for (int i = 5; i < 8; i++)
        append_rec(s, i);
    spool_close(s);
    s = open_ok(f->dir, 1 << 20);
    /* the saved position is still before record 0: it comes again (a
     * replay is harmless, its points carry fixed timestamps), then all
     * the others in order */
    for (int i = 0; i < 8; i++)
        expect_rec(s, i);
    expect_empty(s);
    spool_get_stats(s, &ss);
    assert_int_equal(ss.corrupt_records, 0);
    spool_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_order_and_stats, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reopen_resumes_at_cursor, setup, teardown),
        cmocka_unit_test_setup_teardown(test_torn_tail_skipped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bit_flip_detected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_byte_bound_drops_oldest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_segments, setup, teardown),
        cmocka_unit_test(test_open_errors),
        cmocka_unit_test_setup_teardown(test_open_creates_parents, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_disk_append_fails_cleanly,
                                        setup_full, teardown_full),
    };
    /* Before any thread: the full-disk case mounts its file system in a
     * namespace of this process's own.  A failure is kept, and fails
     * those cases only (fullfs_setup says why). */
    char why[256];
    (void)fullfs_isolate(why, sizeof why);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
