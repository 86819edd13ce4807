/*
 * users.c - the users file (format in auth.h, contract in users.h), and
 * the names and roles it holds.
 *
 * The file is small and read whole.  A broken line fails the whole file
 * rather than being skipped: skipping would silently drop a user, or
 * worse, let a half-edited line stand for one.  Writes never edit in
 * place: a reader (the daemon) sees the old file or the new one, never a
 * mix, and a writer that dies leaves at most a temporary file behind.
 */
#include "auth/users.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "auth/passwd.h"
#include "core/fsutil.h"

#define USERS_ERRORS_MAX 20
#define USERS_LOCK_WAIT_MS 10000

static const char *const users_role_names[] = {"viewer", "operator",
                                               "engineer", "admin"};

const char *auth_role_name(auth_role r)
{
    if (r >= AUTH_VIEWER && r <= AUTH_ADMIN)
        return users_role_names[r];
    return "none";
}

int auth_role_parse(const char *s, auth_role *out)
{
    for (int i = AUTH_VIEWER; s && i <= AUTH_ADMIN; i++)
        if (strcmp(s, users_role_names[i]) == 0) {
            *out = (auth_role)i;
            return 0;
        }
    return -1;
}

bool auth_name_valid(const char *name)
{
    if (!name || !*name || name[0] == '-' || name[0] == '.')
        return false;
    size_t n = 0;
    for (const char *p = name; *p; p++, n++) {
        char c = *p;
        if (n == USERS_NAME_MAX)
            return false;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

/* ---- the list ----------------------------------------------------------- */

void users_list_free(users_list *l)
{
    if (!l)
        return;
    free(l->v);
    l->v = NULL;
    l->n = l->cap = 0;
}

users_entry *users_find(const users_list *l, const char *name)
{
    for (size_t i = 0; name && i < l->n; i++)
        if (strcmp(l->v[i].name, name) == 0)
            return &l->v[i];
    return NULL;
}

static int users_cmp(const void *a, const void *b)
{
    return strcmp(((const users_entry *)a)->name,
                  ((const users_entry *)b)->name);
}

static int users_append(users_list *l, const users_entry *e)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        users_entry *v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return -1;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = *e;
    return 0;
}

int users_add(users_list *l, const users_entry *e)
{
    if (users_append(l, e) < 0)
        return -1;
    qsort(l->v, l->n, sizeof *l->v, users_cmp);
    return 0;
}

void users_remove(users_list *l, users_entry *e)
{
    size_t i = (size_t)(e - l->v);
    memmove(&l->v[i], &l->v[i + 1], (l->n - i - 1) * sizeof *l->v);
    l->n--;
}

int users_copy(users_list *dst, const users_list *src)
{
    users_list c = {0};
    if (src->n) {
        c.v = malloc(src->n * sizeof *c.v);
        if (!c.v)
            return -1;
        memcpy(c.v, src->v, src->n * sizeof *c.v);
        c.n = c.cap = src->n;
    }
    *dst = c;
    return 0;
}

/* ---- parsing ------------------------------------------------------------ */

typedef struct {
    const char *path;
    char *err;
    size_t errlen, used;
    int count;
} users_errs;

static void users_bad(users_errs *e, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void users_bad(users_errs *e, int line, const char *fmt, ...)
{
    e->count++;
    if (e->count > USERS_ERRORS_MAX || !e->err || e->used >= e->errlen)
        return;
    int n = snprintf(e->err + e->used, e->errlen - e->used, "%s%s:%d: ",
                     e->used ? "\n" : "", e->path, line);
    if (n < 0 || (size_t)n >= e->errlen - e->used) {
        e->used = e->errlen;
        return;
    }
    e->used += (size_t)n;
    va_list ap;
    va_start(ap, fmt);
    n = vsnprintf(e->err + e->used, e->errlen - e->used, fmt, ap);
    va_end(ap);
    e->used = n < 0 ? e->errlen : e->used + (size_t)n;
    if (e->used > e->errlen)
        e->used = e->errlen;
}

/* Unix seconds: digits only, no sign, at most year 10000. */
static int users_time(const char *s, int64_t *out)
{
    if (!*s || strlen(s) > 12)
        return -1;
    int64_t v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        v = v * 10 + (*s - '0');
    }
    if (v > 253402300799LL)
        return -1;
    *out = v;
    return 0;
}

/* One line, cut into fields in place; appended to out (unsorted while
 * parsing, so first_line[i] stays the line of out->v[i]). */
static void users_line(users_errs *e, int lineno, char *line,
                       users_list *out, int *first_line)
{
    char *f[6];
    int n = 0;
    for (char *p = line;; ) {
        if (n == 6)
            break;
        f[n++] = p;
        char *colon = strchr(p, ':');
        if (!colon)
            break;
        *colon = '\0';
        p = colon + 1;
    }
    if (n != 5) {
        users_bad(e, lineno, "expected name:role:hash:created:changed (5 "
                  "fields separated by ':'), got %s%d", n == 6 ? "more than "
                  : "", n == 6 ? 5 : n);
        return;
    }
    users_entry u = {0};
    bool ok = true;
    if (!auth_name_valid(f[0])) {
        /* Not echoed: a hand-edited file may hold anything there. */
        users_bad(e, lineno, "not a user name (1-64 of a-z A-Z 0-9 . _ -, "
                  "not starting with - or .)");
        ok = false;
    } else {
        snprintf(u.name, sizeof u.name, "%s", f[0]);
    }
    if (auth_role_parse(f[1], &u.role) < 0) {
        users_bad(e, lineno, "unknown role '%.32s' (viewer, operator, "
                  "engineer, admin)", f[1]);
        ok = false;
    }
    if (strlen(f[2]) >= sizeof u.hash || !passwd_readable(f[2])) {
        users_bad(e, lineno, "the password hash is not one lockbridge reads "
                  "($scrypt$ln=N,r=R,p=P$salt$hash or "
                  "$pbkdf2-sha256$i=N$salt$hash; set it again with "
                  "`lockbridge user passwd`)");
        ok = false;
    } else {
        snprintf(u.hash, sizeof u.hash, "%s", f[2]);
    }
    if (users_time(f[3], &u.created_s) < 0) {
        users_bad(e, lineno, "'created' must be Unix seconds, got '%.32s'",
                  f[3]);
        ok = false;
    }
    if (users_time(f[4], &u.changed_s) < 0) {
        users_bad(e, lineno, "'changed' must be Unix seconds, got '%.32s'",
                  f[4]);
        ok = false;
    }
    if (!ok)
        return;
    users_entry *dup = users_find(out, u.name);
    if (dup) {
        users_bad(e, lineno, "user '%s' again (first on line %d)", u.name,
                  first_line[dup - out->v]);
        return;
    }
    if (users_append(out, &u) < 0) {
        users_bad(e, lineno, "out of memory");
        return;
    }
    first_line[out->n - 1] = lineno;
}

int users_parse(const char *path, const char *text, size_t len,
                users_list *out, char *err, size_t errlen)
{
    users_list l = {0};
    users_errs e = {.path = path, .err = err, .errlen = errlen};
    if (err && errlen)
        err[0] = '\0';
    /* A user per line at most, and a line is at least 9 bytes. */
    int *first_line = calloc(len / 2 + 1, sizeof *first_line);
    char *line = malloc(USERS_LINE_MAX + 1);
    if (!first_line || !line) {
        free(first_line);
        free(line);
        if (err && errlen)
            snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    int lineno = 0;
    for (size_t pos = 0; pos < len;) {
        lineno++;
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
        const char *s = text + pos;
        pos += n + (nl != NULL);
        if (n && s[n - 1] == '\r')
            n--;
        if (n == 0 || s[0] == '#')
            continue;
        if (memchr(s, '\0', n)) {
            users_bad(&e, lineno, "a NUL byte: this is not a text file");
            continue;
        }
        if (n > USERS_LINE_MAX) {
            users_bad(&e, lineno, "a line longer than %d bytes",
                      USERS_LINE_MAX);
            continue;
        }
        memcpy(line, s, n);
        line[n] = '\0';
        users_line(&e, lineno, line, &l, first_line);
    }
    free(line);
    free(first_line);
    if (l.n > 1)            /* qsort(NULL, 0, ...) is undefined */
        qsort(l.v, l.n, sizeof *l.v, users_cmp);
    if (e.count > USERS_ERRORS_MAX && err && e.used < errlen)
        snprintf(err + e.used, errlen - e.used, "\n%s: %d more bad lines",
                 path, e.count - USERS_ERRORS_MAX);
    if (e.count) {
        users_list_free(&l);
        return -1;
    }
    *out = l;
    return 0;
}

/* ---- reading ------------------------------------------------------------ */

static void users_stamp_of(const struct stat *sb, users_stamp *s)
{
    *s = (users_stamp){.exists = true, .dev = sb->st_dev, .ino = sb->st_ino,
                       .size = sb->st_size, .mtime = sb->st_mtim,
                       .ctime = sb->st_ctim};
}

int users_stamp_get(const char *path, users_stamp *s)
{
    struct stat sb;
    if (stat(path, &sb) < 0) {
        if (errno != ENOENT)
            return -1;
        *s = (users_stamp){.exists = false};
        return 0;
    }
    users_stamp_of(&sb, s);
    return 0;
}

bool users_stamp_same(const users_stamp *a, const users_stamp *b)
{
    if (a->exists != b->exists)
        return false;
    if (!a->exists)
        return true;
    return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
           a->mtime.tv_sec == b->mtime.tv_sec &&
           a->mtime.tv_nsec == b->mtime.tv_nsec &&
           a->ctime.tv_sec == b->ctime.tv_sec &&
           a->ctime.tv_nsec == b->ctime.tv_nsec;
}

int users_load(const char *path, users_list *out, users_stamp *stamp,
               char *err, size_t errlen)
{
    *out = (users_list){0};
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) {
            *stamp = (users_stamp){.exists = false};
            return 0;
        }
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    /* The stamp of what is read, from the descriptor: a rename after the
     * open shows up as a new inode next time. */
    struct stat sb;
    char *text = NULL;
    int rc = -1;
    if (fstat(fd, &sb) < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        goto out;
    }
    users_stamp_of(&sb, stamp);
    if (!S_ISREG(sb.st_mode) || (size_t)sb.st_size > USERS_FILE_MAX) {
        snprintf(err, errlen, "%s: not a users file (%s)", path,
                 S_ISREG(sb.st_mode) ? "larger than 4 MiB"
                                     : "not a regular file");
        goto out;
    }
    size_t cap = (size_t)sb.st_size + 1, len = 0;
    text = malloc(cap);
    if (!text) {
        snprintf(err, errlen, "%s: out of memory", path);
        goto out;
    }
    for (;;) {
        ssize_t r = read(fd, text + len, cap - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            snprintf(err, errlen, "%s: %s", path, strerror(errno));
            goto out;
        }
        if (r == 0)
            break;
        len += (size_t)r;
        if (len == cap) {
            snprintf(err, errlen, "%s: changed while it was read", path);
            goto out;
        }
    }
    rc = users_parse(path, text, len, out, err, errlen);
out:
    free(text);
    close(fd);
    return rc;
}

/* ---- writing ------------------------------------------------------------ */

static int users_write_all(int fd, const char *s, size_t n)
{
    while (n) {
        ssize_t w = write(fd, s, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -1;
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

static int users_fsync_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = !slash ? strdup(".") : slash == path ? strdup("/")
                                     : strndup(path, (size_t)(slash - path));
    if (!dir)
        return -1;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(dir);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

int users_write(const char *path, const users_list *l, users_stamp *stamp,
                char *err, size_t errlen)
{
    char *tmp = NULL;
    int fd = -1, rc = -1;
    char *failed = NULL;
    if (fs_mkdirs_for(path, 0700, &failed) < 0) {
        snprintf(err, errlen, "%s: %s", failed ? failed : path,
                 strerror(errno));
        free(failed);
        return -1;
    }
    if (asprintf(&tmp, "%s.tmpXXXXXX", path) < 0) {
        tmp = NULL;
        snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    /* mkstemp makes the file 0600 whatever the umask; say so anyway, it
     * is the point of the exercise. */
    fd = mkstemp(tmp);
    if (fd < 0 || fchmod(fd, 0600) < 0) {
        snprintf(err, errlen, "%s: %s", fd < 0 ? path : tmp,
                 strerror(errno));
        goto out;
    }
    struct stat sb;
    const char *like = stat(path, &sb) == 0 ? path : NULL;
    char *dir = NULL;
    if (!like) {
        const char *slash = strrchr(path, '/');
        dir = !slash ? strdup(".") : slash == path ? strdup("/")
                     : strndup(path, (size_t)(slash - path));
        like = dir;
    }
    int own = like ? fmode_own_like(fd, like) : 0;
    int e = errno;
    free(dir);
    if (own < 0) {
        snprintf(err, errlen, "%s: %s", tmp, strerror(e));
        goto out;
    }
    static const char head[] =
        "# lockbridge users: name:role:hash:created:changed (Unix seconds;\n"
        "# changed = password last set).  Edit with `lockbridge user ...`.\n";
    if (users_write_all(fd, head, sizeof head - 1) < 0)
        goto io;
    for (size_t i = 0; i < l->n; i++) {
        const users_entry *u = &l->v[i];
        char line[USERS_LINE_MAX + 2];
        int n = snprintf(line, sizeof line, "%s:%s:%s:%lld:%lld\n", u->name,
                         auth_role_name(u->role), u->hash,
                         (long long)u->created_s, (long long)u->changed_s);
        if (n < 0 || (size_t)n >= sizeof line) {
            snprintf(err, errlen, "%s: user '%s' does not fit a line", path,
                     u->name);
            goto out;
        }
        if (users_write_all(fd, line, (size_t)n) < 0)
            goto io;
    }
    if (fsync(fd) < 0)
        goto io;
    if (close(fd) < 0) {
        fd = -1;
        goto io;
    }
    fd = -1;
    if (rename(tmp, path) < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        goto out;
    }
    free(tmp);
    tmp = NULL;
    /* The rename is only durable once the directory is. */
    if (users_fsync_dir(path) < 0) {
        snprintf(err, errlen, "%s: fsync of its directory: %s", path,
                 strerror(errno));
        goto out;
    }
    if (stamp && users_stamp_get(path, stamp) < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        goto out;
    }
    rc = 0;
    goto out;
io:
    snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
out:
    if (fd >= 0)
        close(fd);
    if (tmp) {
        unlink(tmp);
        free(tmp);
    }
    return rc;
}

int users_lock(const char *path, fmode_warn_fn warn, void *ctx, char *err,
               size_t errlen)
{
    char lock[PATH_MAX];
    if ((size_t)snprintf(lock, sizeof lock, "%s.lock", path) >= sizeof lock) {
        snprintf(err, errlen, "%s: name too long", path);
        return -1;
    }
    char *failed = NULL;
    if (fs_mkdirs_for(path, 0700, &failed) < 0) {
        snprintf(err, errlen, "%s: %s", failed ? failed : path,
                 strerror(errno));
        free(failed);
        return -1;
    }
    if (fmode_file(lock, true, warn, ctx, err, errlen) < 0)
        return -1;
    int fd = open(lock, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", lock, strerror(errno));
        return -1;
    }
    for (int waited = 0;; waited += 20) {
        if (flock(fd, LOCK_EX | LOCK_NB) == 0)
            return fd;
        if (errno != EWOULDBLOCK && errno != EINTR) {
            snprintf(err, errlen, "%s: %s", lock, strerror(errno));
            break;
        }
        if (waited >= USERS_LOCK_WAIT_MS) {
            snprintf(err, errlen, "%s: another lockbridge has held it for "
                     "10 s", lock);
            break;
        }
        nanosleep(&(struct timespec){0, 20 * 1000000L}, NULL);
    }
    close(fd);
    return -1;
}

void users_unlock(int fd)
{
    if (fd >= 0)
        close(fd);      /* closing the descriptor releases the flock */
}
