/*
 * fmode.c - modes and owners of the state directory's private files (see
 * fmode.h).
 */
#include "core/fmode.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/fsutil.h"

static void fmode_say(fmode_warn_fn warn, void *ctx, const char *fmt,
                      const char *path, unsigned was, unsigned now)
{
    if (!warn)
        return;
    char msg[1024];
    snprintf(msg, sizeof msg, fmt, path, was, now);
    warn(ctx, msg);
}

static void fmode_err(char *err, size_t errlen, const char *path, int e)
{
    if (err && errlen)
        snprintf(err, errlen, "%s: %s", path, strerror(e));
}

int fmode_dir(const char *dir, fmode_warn_fn warn, void *ctx, char *err,
              size_t errlen)
{
    char *failed = NULL;
    if (fs_mkdirs(dir, 0700, &failed) < 0) {
        int e = errno;
        fmode_err(err, errlen, failed ? failed : dir, e);
        free(failed);
        return -1;
    }
    struct stat sb;
    if (stat(dir, &sb) < 0) {
        fmode_err(err, errlen, dir, errno);
        return -1;
    }
    unsigned mode = sb.st_mode & 07777;
    if (mode & 077) {
        if (chmod(dir, mode & ~077u) < 0) {
            fmode_err(err, errlen, dir, errno);
            return -1;
        }
        fmode_say(warn, ctx, "%s: was mode %04o, now %04o: it holds the "
                  "users' sessions, for the bridge's user only", dir, mode,
                  mode & ~077u);
    }
    return 0;
}

int fmode_own_like(int fd, const char *like_path)
{
    if (geteuid() != 0)
        return 0;
    struct stat sb;
    if (stat(like_path, &sb) < 0)
        return errno == ENOENT ? 0 : -1;
    if (sb.st_uid == 0)
        return 0;
    return fchown(fd, sb.st_uid, sb.st_gid);
}

/* The directory part of path ("." for a bare name), malloc'd. */
static char *fmode_dirname(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return strdup(".");
    if (slash == path)
        return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

int fmode_file(const char *path, bool create, fmode_warn_fn warn, void *ctx,
               char *err, size_t errlen)
{
    struct stat sb;
    if (stat(path, &sb) == 0) {
        if (!S_ISREG(sb.st_mode)) {
            fmode_err(err, errlen, path, S_ISDIR(sb.st_mode) ? EISDIR
                                                               : EINVAL);
            return -1;
        }
        unsigned mode = sb.st_mode & 07777;
        if (mode & 077) {
            if (chmod(path, mode & ~077u) < 0) {
                fmode_err(err, errlen, path, errno);
                return -1;
            }
            fmode_say(warn, ctx, "%s: was mode %04o, readable by others, "
                      "now %04o", path, mode, mode & ~077u);
        }
        return 0;
    }
    if (errno != ENOENT) {
        fmode_err(err, errlen, path, errno);
        return -1;
    }
    if (!create)
        return 0;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 && errno == EEXIST)
        return fmode_file(path, false, warn, ctx, err, errlen);
    if (fd < 0) {
        fmode_err(err, errlen, path, errno);
        return -1;
    }
    /* The umask may have taken bits away, never added any; this is only
     * the owner, for a root-run command line. */
    char *dir = fmode_dirname(path);
    int rc = dir ? fmode_own_like(fd, dir) : -1;
    int e = errno;
    free(dir);
    close(fd);
    if (rc < 0) {
        fmode_err(err, errlen, path, e);
        return -1;
    }
    return 0;
}
