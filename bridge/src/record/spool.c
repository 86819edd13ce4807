/*
 * spool.c - the on-disk FIFO behind store-and-forward (see spool.h).
 *
 * Layout of a spool directory:
 *   seg-<20-digit sequence>.lbs   segment files, appended to, never rewritten
 *   cursor                        "<segment> <offset>\n": the read position
 *   cursor.tmp                    the next cursor while it is being written
 * Other files (quarantine.lp, ...) are ignored, so the influx writer keeps
 * its quarantine file next to the segments.
 *
 * A record is a 16-byte header followed by the data, all little-endian:
 *   u32 magic "LBSR" | u32 length | u32 points | u32 CRC-32
 * where the CRC (zlib crc32) covers length, points and data, so a flipped
 * bit anywhere, including in the length, is detected.  After a bad header or
 * a CRC mismatch the reader searches forward for the next header whose CRC
 * checks out; everything in between is skipped and counted once.
 *
 * Appends go to the newest segment, which a new process never reuses: it
 * starts a fresh one, so a record torn by a crash stays at the end of an old
 * segment where the reader skips it, and nothing is ever written after it.
 * The cursor is replaced atomically (write, fdatasync, rename) after each
 * pop; a crash between a database acknowledgement and the rename replays
 * one record, which is harmless because points carry fixed timestamps.
 */
#include "record/spool.h"

#include "core/fsutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define SPOOL_MAGIC 0x5253424cu            /* "LBSR" read as little-endian */
#define SPOOL_HDR 16u
#define SPOOL_SEG_MAX (16u * 1024u * 1024u) /* segment size target */
#define SPOOL_SEG_MIN (4u * 1024u)
#define SPOOL_REC_MAX (256u * 1024u * 1024u) /* sanity bound on a length */

typedef struct {
    uint64_t seq;
    uint64_t size;        /* bytes in the file */
    uint64_t records;     /* valid records not yet popped */
    uint64_t points;      /* their points */
} spool_seg;

struct spool {
    char *dir;
    uint64_t max_bytes;
    uint64_t seg_max;
    spool_seg *segs;      /* oldest first */
    size_t nsegs, segcap;
    uint64_t next_seq;
    int wfd;              /* newest segment, when this process created it */
    uint64_t wseq;
    int rfd;              /* segs[0], opened for reading */
    uint64_t rseq;
    uint64_t roff;        /* read position in segs[0] */
    /* the record last returned by spool_peek */
    bool peeked;
    uint64_t peek_next;   /* offset just past it */
    uint32_t peek_points;
    char *buf;
    size_t bufcap;
    uint64_t bytes;
    uint64_t dropped_points;
    uint64_t corrupt_records;
    uint64_t trusted_from; /* segments >= this were written by us: a bad
                              record found there is new and counted then */
};

static void spool_put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

static uint32_t spool_get32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static uint32_t rec_crc(const unsigned char *hdr, const char *data, size_t len)
{
    uLong c = crc32(0L, Z_NULL, 0);
    c = crc32(c, hdr + 4, 8);                    /* length and points */
    while (len > 0) {                            /* crc32 takes a uInt */
        uInt n = len > 0x40000000u ? 0x40000000u : (uInt)len;
        c = crc32(c, (const Bytef *)data, n);
        data += n;
        len -= n;
    }
    return (uint32_t)c;
}

static void seg_path(const spool *s, uint64_t seq, char *buf, size_t len)
{
    snprintf(buf, len, "%s/seg-%020" PRIu64 ".lbs", s->dir, seq);
}

static int fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

static int pread_full(int fd, void *buf, size_t len, uint64_t off)
{
    char *p = buf;
    while (len > 0) {
        ssize_t n = pread(fd, p, len, (off_t)off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (n == 0)
            return 0;                            /* short: end of file */
        p += n;
        len -= (size_t)n;
        off += (uint64_t)n;
    }
    return 1;
}

static int write_full(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int buf_reserve(spool *s, size_t n)
{
    if (n <= s->bufcap)
        return 0;
    size_t cap = s->bufcap ? s->bufcap : 4096;
    while (cap < n)
        cap *= 2;
    char *p = realloc(s->buf, cap);
    if (!p)
        return -1;
    s->buf = p;
    s->bufcap = cap;
    return 0;
}

/* Reads and checks the record at off in fd (file size size).  1 with the
 * record in s->buf, 0 when no valid record starts there, -1 on I/O error. */
static int read_record(spool *s, int fd, uint64_t off, uint64_t size,
                       uint32_t *len, uint32_t *points)
{
    unsigned char hdr[SPOOL_HDR];
    if (off >= size || size - off < SPOOL_HDR)
        return 0;
    int rc = pread_full(fd, hdr, SPOOL_HDR, off);
    if (rc <= 0)
        return rc;
    uint32_t l = spool_get32(hdr + 4);
    if (spool_get32(hdr) != SPOOL_MAGIC || l > SPOOL_REC_MAX ||
        size - off - SPOOL_HDR < l)
        return 0;
    if (buf_reserve(s, (size_t)l + 1) < 0)
        return -1;
    rc = pread_full(fd, s->buf, l, off + SPOOL_HDR);
    if (rc <= 0)
        return rc;
    if (rec_crc(hdr, s->buf, l) != spool_get32(hdr + 12))
        return 0;
    s->buf[l] = '\0';
    *len = l;
    *points = spool_get32(hdr + 8);
    return 1;
}

/* From a bad record at off, the offset of the next valid one (or size). */
static int resync(spool *s, int fd, uint64_t off, uint64_t size, uint64_t *next)
{
    static const unsigned char magic[4] = {'L', 'B', 'S', 'R'};
    unsigned char chunk[65536];
    uint64_t pos = off + 1;
    while (pos + SPOOL_HDR <= size) {
        size_t want = sizeof chunk;
        if (size - pos < want)
            want = (size_t)(size - pos);
        ssize_t n = pread(fd, chunk, want, (off_t)pos);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (n < 4)
            break;
        for (ssize_t i = 0; i + 4 <= n; i++) {
            if (memcmp(chunk + i, magic, 4) != 0)
                continue;
            uint32_t l, p;
            int rc = read_record(s, fd, pos + (uint64_t)i, size, &l, &p);
            if (rc < 0)
                return -1;
            if (rc == 1) {
                *next = pos + (uint64_t)i;
                return 0;
            }
        }
        pos += (uint64_t)n - 3;                  /* a magic may straddle */
    }
    *next = size;
    return 0;
}

static int seg_push(spool *s, uint64_t seq, uint64_t size)
{
    if (s->nsegs == s->segcap) {
        size_t cap = s->segcap ? s->segcap * 2 : 8;
        spool_seg *p = realloc(s->segs, cap * sizeof *p);
        if (!p)
            return -1;
        s->segs = p;
        s->segcap = cap;
    }
    s->segs[s->nsegs++] = (spool_seg){.seq = seq, .size = size};
    return 0;
}

static int seg_cmp(const void *a, const void *b)
{
    const spool_seg *x = a, *y = b;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Counts the valid records of segment i from offset off, counting the
 * corrupt stretches found (done once, at open). */
static int seg_scan(spool *s, size_t i, uint64_t off)
{
    char path[4096];
    seg_path(s, s->segs[i].seq, path, sizeof path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    uint64_t size = s->segs[i].size;
    while (off < size) {
        uint32_t l, p;
        int rc = read_record(s, fd, off, size, &l, &p);
        if (rc < 0)
            goto fail;
        if (rc == 1) {
            s->segs[i].records++;
            s->segs[i].points += p;
            off += SPOOL_HDR + l;
        } else {
            s->corrupt_records++;
            if (resync(s, fd, off, size, &off) < 0)
                goto fail;
        }
    }
    close(fd);
    return 0;
fail:
    close(fd);
    return -1;
}

static int cursor_write(spool *s, uint64_t seq, uint64_t off)
{
    char tmp[4096], path[4096], text[64];
    snprintf(tmp, sizeof tmp, "%s/cursor.tmp", s->dir);
    snprintf(path, sizeof path, "%s/cursor", s->dir);
    int n = snprintf(text, sizeof text, "%" PRIu64 " %" PRIu64 "\n", seq, off);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    if (write_full(fd, text, (size_t)n) < 0 || fdatasync(fd) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    close(fd);
    return rename(tmp, path);
}

/* A missing or unreadable cursor means "from the start": replaying is safe,
 * skipping is not. */
static void cursor_read(spool *s, uint64_t *seq, uint64_t *off)
{
    char path[4096], text[64];
    *seq = 0;
    *off = 0;
    snprintf(path, sizeof path, "%s/cursor", s->dir);
    FILE *f = fopen(path, "re");
    if (!f)
        return;
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    char *end;
    errno = 0;
    unsigned long long a = strtoull(text, &end, 10);
    if (errno || end == text || *end != ' ')
        return;
    char *p = end + 1;
    unsigned long long b = strtoull(p, &end, 10);
    if (errno || end == p || *end != '\n')
        return;
    *seq = a;
    *off = b;
}

static void close_reader(spool *s)
{
    if (s->rfd >= 0)
        close(s->rfd);
    s->rfd = -1;
}

/* Removes segs[0] from disk and memory. */
static int seg_drop_oldest(spool *s)
{
    char path[4096];
    spool_seg *g = &s->segs[0];
    if (s->rfd >= 0 && s->rseq == g->seq)
        close_reader(s);
    if (s->wfd >= 0 && s->wseq == g->seq) {
        close(s->wfd);
        s->wfd = -1;
    }
    seg_path(s, g->seq, path, sizeof path);
    s->bytes -= g->size;
    s->nsegs--;
    memmove(s->segs, s->segs + 1, s->nsegs * sizeof *s->segs);
    s->roff = 0;
    s->peeked = false;
    if (unlink(path) < 0 && errno != ENOENT)
        return -1;
    return 0;
}

spool *spool_open(const char *dir, uint64_t max_bytes, char *err,
                  size_t errlen)
{
    spool *s = calloc(1, sizeof *s);
    DIR *d = NULL;
    if (!s || !(s->dir = strdup(dir))) {
        snprintf(err, errlen, "%s: out of memory", dir);
        free(s);
        return NULL;
    }
    s->wfd = s->rfd = -1;
    s->max_bytes = max_bytes;
    s->seg_max = max_bytes / 8;
    if (s->seg_max > SPOOL_SEG_MAX)
        s->seg_max = SPOOL_SEG_MAX;
    if (s->seg_max < SPOOL_SEG_MIN)
        s->seg_max = SPOOL_SEG_MIN;
    if (max_bytes == 0) {
        snprintf(err, errlen, "%s: spool size bound is 0", dir);
        goto fail;
    }
    char *failed = NULL;
    if (fs_mkdirs(dir, 0755, &failed) < 0) {
        int e = errno;
        snprintf(err, errlen, "%s: cannot create directory%s%s: %s", dir,
                 failed ? " " : "", failed ? failed : "", strerror(e));
        free(failed);
        goto fail;
    }
    d = opendir(dir);
    if (!d) {
        snprintf(err, errlen, "%s: %s", dir, strerror(errno));
        goto fail;
    }
    uint64_t cseq, coff;
    cursor_read(s, &cseq, &coff);
    uint64_t maxseq = cseq;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        const char *n = e->d_name;
        if (strncmp(n, "seg-", 4) != 0 || strlen(n) != 28 ||
            strcmp(n + 24, ".lbs") != 0)
            continue;
        char *end;
        errno = 0;
        unsigned long long seq = strtoull(n + 4, &end, 10);
        if (errno || end != n + 24)
            continue;
        char path[4096];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, n);
        if (stat(path, &st) < 0) {
            snprintf(err, errlen, "%s: %s", path, strerror(errno));
            goto fail;
        }
        if (seq < cseq) {                        /* consumed before a crash */
            unlink(path);
            continue;
        }
        if (seg_push(s, seq, (uint64_t)st.st_size) < 0) {
            snprintf(err, errlen, "%s: out of memory", dir);
            goto fail;
        }
        if (seq > maxseq)
            maxseq = seq;
    }
    closedir(d);
    d = NULL;
    if (s->nsegs > 1)
        qsort(s->segs, s->nsegs, sizeof *s->segs, seg_cmp);
    s->next_seq = maxseq + 1;
    s->trusted_from = s->next_seq;
    if (s->nsegs > 0 && s->segs[0].seq == cseq && coff <= s->segs[0].size)
        s->roff = coff;
    for (size_t i = 0; i < s->nsegs; i++) {
        s->bytes += s->segs[i].size;
        if (seg_scan(s, i, i == 0 ? s->roff : 0) < 0) {
            snprintf(err, errlen, "%s: reading segment %" PRIu64 ": %s", dir,
                     s->segs[i].seq, strerror(errno));
            goto fail;
        }
    }
    return s;
fail:
    if (d)
        closedir(d);
    spool_close(s);
    return NULL;
}

void spool_close(spool *s)
{
    if (!s)
        return;
    if (s->wfd >= 0)
        close(s->wfd);
    close_reader(s);
    free(s->segs);
    free(s->buf);
    free(s->dir);
    free(s);
}

static int open_new_segment(spool *s)
{
    char path[4096];
    uint64_t seq = s->next_seq;
    seg_path(s, seq, path, sizeof path);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC,
                  0644);
    if (fd < 0)
        return -1;
    if (seg_push(s, seq, 0) < 0) {
        close(fd);
        unlink(path);
        errno = ENOMEM;
        return -1;
    }
    fsync_dir(s->dir);                           /* make the name durable */
    if (s->wfd >= 0)
        close(s->wfd);
    s->wfd = fd;
    s->wseq = seq;
    s->next_seq++;
    return 0;
}

int spool_append(spool *s, const char *data, size_t len, uint32_t points)
{
    uint64_t rec = (uint64_t)SPOOL_HDR + len;
    if (len > SPOOL_REC_MAX || rec > s->max_bytes) {
        errno = EFBIG;
        return -1;
    }
    /* Make room under the bound, oldest whole segment first. */
    while (s->nsegs > 0 && s->bytes + rec > s->max_bytes) {
        s->dropped_points += s->segs[0].points;
        if (seg_drop_oldest(s) < 0)
            return -1;
        if (cursor_write(s, s->nsegs ? s->segs[0].seq : s->next_seq, 0) < 0)
            return -1;
    }
    spool_seg *g = s->nsegs > 0 ? &s->segs[s->nsegs - 1] : NULL;
    if (s->wfd < 0 || !g || g->seq != s->wseq ||
        (g->size > 0 && g->size + rec > s->seg_max)) {
        if (open_new_segment(s) < 0)
            return -1;
        g = &s->segs[s->nsegs - 1];
    }
    unsigned char hdr[SPOOL_HDR];
    spool_put32(hdr, SPOOL_MAGIC);
    spool_put32(hdr + 4, (uint32_t)len);
    spool_put32(hdr + 8, points);
    spool_put32(hdr + 12, rec_crc(hdr, data, len));
    if (write_full(s->wfd, hdr, sizeof hdr) < 0 ||
        write_full(s->wfd, data, len) < 0 || fdatasync(s->wfd) < 0) {
        /* Cut off what was written so the next append starts clean. */
        int e = errno;
        if (ftruncate(s->wfd, (off_t)g->size) < 0) {
            close(s->wfd);                       /* never append after it */
            s->wfd = -1;
        }
        errno = e;
        return -1;
    }
    g->size += rec;
    g->records++;
    g->points += points;
    s->bytes += rec;
    return 0;
}

int spool_peek(spool *s, const char **data, size_t *len, uint32_t *points)
{
    for (;;) {
        s->peeked = false;
        if (s->nsegs == 0)
            return 0;
        spool_seg *g = &s->segs[0];
        if (s->roff >= g->size) {
            /* Exhausted; the newest segment stays while we append to it.
             * Whatever its counters say (a stretch found corrupt only now),
             * nothing readable is left in it. */
            if (s->nsegs == 1 && s->wfd >= 0 && s->wseq == g->seq) {
                g->records = 0;
                g->points = 0;
                return 0;
            }
            if (seg_drop_oldest(s) < 0)
                return -1;
            if (cursor_write(s, s->nsegs ? s->segs[0].seq : s->next_seq, 0) < 0)
                return -1;
            continue;
        }
        if (s->rfd < 0 || s->rseq != g->seq) {
            char path[4096];
            close_reader(s);
            seg_path(s, g->seq, path, sizeof path);
            s->rfd = open(path, O_RDONLY | O_CLOEXEC);
            if (s->rfd < 0)
                return -1;
            s->rseq = g->seq;
        }
        uint32_t l, p;
        int rc = read_record(s, s->rfd, s->roff, g->size, &l, &p);
        if (rc < 0)
            return -1;
        if (rc == 0) {
            /* Already counted at open unless we wrote this segment. */
            if (g->seq >= s->trusted_from)
                s->corrupt_records++;
            if (resync(s, s->rfd, s->roff, g->size, &s->roff) < 0)
                return -1;
            continue;
        }
        s->peeked = true;
        s->peek_next = s->roff + SPOOL_HDR + l;
        s->peek_points = p;
        *data = s->buf;
        *len = l;
        *points = p;
        return 1;
    }
}

int spool_pop(spool *s)
{
    if (!s->peeked || s->nsegs == 0) {
        errno = EINVAL;
        return -1;
    }
    spool_seg *g = &s->segs[0];
    s->peeked = false;
    s->roff = s->peek_next;
    if (g->records > 0)
        g->records--;
    g->points -= g->points >= s->peek_points ? s->peek_points : g->points;
    if (s->roff < g->size || g->records > 0)
        return cursor_write(s, g->seq, s->roff);
    /* The segment is used up: record the move first, then delete it, so a
     * crash in between leaves a segment the next open knows to remove. */
    uint64_t next = s->nsegs > 1 ? s->segs[1].seq : s->next_seq;
    if (cursor_write(s, next, 0) < 0)
        return -1;
    return seg_drop_oldest(s);
}

void spool_get_stats(spool *s, spool_stats *out)
{
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < s->nsegs; i++) {
        out->records += s->segs[i].records;
        out->points += s->segs[i].points;
    }
    out->bytes = s->bytes;
    out->dropped_points = s->dropped_points;
    out->corrupt_records = s->corrupt_records;
}
