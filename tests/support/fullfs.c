/*
 * fullfs.c - a small tmpfs that tests fill (see fullfs.h).
 */
#include "support/fullfs.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

/* Why fullfs_isolate failed, kept for fullfs_setup; empty when it did
 * not (or was not called). */
static char fullfs_isolate_why[256];

static int fullfs_write_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = write(fd, text, strlen(text));
    int e = errno;
    close(fd);
    errno = e;
    return n == (ssize_t)strlen(text) ? 0 : -1;
}

static int fullfs_unshare(char *why, size_t len)
{
    if (geteuid() != 0) {
        /* Unprivileged: a user namespace in which we are root, mapped to
         * our own ids so the files we create stay ours. */
        uid_t uid = geteuid();
        gid_t gid = getegid();
        if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0) {
            snprintf(why, len, "unshare(user + mount namespace): %s (run "
                     "as root, or allow unprivileged user namespaces)",
                     strerror(errno));
            return -1;
        }
        char map[64];
        snprintf(map, sizeof map, "0 %u 1\n", (unsigned)uid);
        if (fullfs_write_file("/proc/self/setgroups", "deny") < 0 ||
            fullfs_write_file("/proc/self/uid_map", map) < 0) {
            snprintf(why, len, "writing the user namespace's id map: %s",
                     strerror(errno));
            return -1;
        }
        snprintf(map, sizeof map, "0 %u 1\n", (unsigned)gid);
        if (fullfs_write_file("/proc/self/gid_map", map) < 0) {
            snprintf(why, len, "writing the user namespace's group map: %s",
                     strerror(errno));
            return -1;
        }
    } else if (unshare(CLONE_NEWNS) < 0) {
        snprintf(why, len, "unshare(mount namespace): %s", strerror(errno));
        return -1;
    }
    /* Without this a mount under a shared mount (systemd makes / shared)
     * would propagate back to the host's namespace. */
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
        snprintf(why, len, "making / private in the new namespace: %s",
                 strerror(errno));
        return -1;
    }
    return 0;
}

int fullfs_isolate(char *why, size_t len)
{
    char w[sizeof fullfs_isolate_why] = "";
    int rc = fullfs_unshare(w, sizeof w);
    snprintf(fullfs_isolate_why, sizeof fullfs_isolate_why, "%s",
             rc < 0 ? w : "");
    if (rc < 0)
        snprintf(why, len, "%s", w);
    return rc;
}

int fullfs_mount(const char *dir, size_t bytes, char *why, size_t len)
{
    char opts[64];
    snprintf(opts, sizeof opts, "size=%zu,mode=0755", bytes);
    if (mount("tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV, opts) < 0) {
        snprintf(why, len, "mount -t tmpfs -o %s tmpfs %s: %s", opts, dir,
                 strerror(errno));
        return -1;
    }
    return 0;
}

int fullfs_setup(const char *dir, size_t bytes)
{
    char why[512];
    if (fullfs_isolate_why[0])
        snprintf(why, sizeof why, "%s", fullfs_isolate_why);
    else if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        snprintf(why, sizeof why, "mkdir %s: %s", dir, strerror(errno));
    else if (fullfs_mount(dir, bytes, why, sizeof why) == 0)
        return 0;
    fprintf(stderr, "no small file system to fill: %s\n", why);
    return -1;
}

int fullfs_umount(const char *dir)
{
    return umount2(dir, MNT_DETACH);
}

int fullfs_fill(const char *dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/.filler", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0)
        return errno == ENOSPC ? 0 : -1;
    static const char block[4096];
    int rc = 0;
    for (;;) {
        ssize_t n = write(fd, block, sizeof block);
        if (n < 0 && errno == EINTR)
            continue;
        if (n == (ssize_t)sizeof block)
            continue;
        if (n >= 0) {
            /* A short write: the last partial block; the next one fails. */
            continue;
        }
        rc = errno == ENOSPC ? 0 : -1;
        break;
    }
    close(fd);
    return rc;
}

int fullfs_unfill(const char *dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/.filler", dir);
    return unlink(path) == 0 || errno == ENOENT ? 0 : -1;
}
