/*
 * fsutil.c - directory creation and path joining (see fsutil.h).
 */
#include "core/fsutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int fs_mkdir_one(const char *p, mode_t mode)
{
    if (mkdir(p, mode) == 0)
        return 0;
    int e = errno;
    struct stat sb;
    /* EEXIST is fine only for a directory (or a link to one): a file of
     * that name is a real error, and it should say so. */
    if (e == EEXIST) {
        if (stat(p, &sb) == 0 && S_ISDIR(sb.st_mode))
            return 0;
        errno = ENOTDIR;
        return -1;
    }
    errno = e;
    return -1;
}

int fs_mkdirs(const char *dir, mode_t mode, char **failed)
{
    if (failed)
        *failed = NULL;
    if (!dir || !*dir) {
        errno = EINVAL;
        return -1;
    }
    char *p = strdup(dir);
    if (!p)
        return -1;
    size_t n = strlen(p);
    while (n > 1 && p[n - 1] == '/')
        p[--n] = '\0';
    for (char *s = p + 1; ; s++) {
        if (*s != '/' && *s != '\0')
            continue;
        char c = *s;
        *s = '\0';
        if (fs_mkdir_one(p, mode) < 0) {
            int e = errno;
            if (failed)
                *failed = p;
            else
                free(p);
            errno = e;
            return -1;
        }
        if (c == '\0')
            break;
        *s = c;
    }
    free(p);
    return 0;
}

int fs_mkdirs_for(const char *path, mode_t mode, char **failed)
{
    if (failed)
        *failed = NULL;
    const char *slash = path ? strrchr(path, '/') : NULL;
    if (!slash)
        return 0;                       /* the working directory */
    if (slash == path)
        return 0;                       /* "/file" */
    char *dir = strndup(path, (size_t)(slash - path));
    if (!dir)
        return -1;
    int rc = fs_mkdirs(dir, mode, failed);
    int e = errno;
    free(dir);
    errno = e;
    return rc;
}

char *fs_join(const char *dir, const char *name)
{
    if (name[0] == '/' || !dir || !*dir)
        return strdup(name);
    size_t dl = strlen(dir);
    while (dl > 0 && dir[dl - 1] == '/')
        dl--;                       /* "/" itself becomes "" + "/name" */
    char *out = NULL;
    if (asprintf(&out, "%.*s/%s", (int)dl, dir, name) < 0)
        return NULL;
    return out;
}

int fs_split(const char *path, char **dir, char **name)
{
    const char *slash = strrchr(path, '/');
    if (!slash) {
        *dir = strdup(".");
        *name = strdup(path);
    } else {
        *dir = slash == path ? strdup("/")
                             : strndup(path, (size_t)(slash - path));
        *name = strdup(slash + 1);
    }
    if (*dir && *name)
        return 0;
    free(*dir);
    free(*name);
    *dir = *name = NULL;
    return -1;
}
