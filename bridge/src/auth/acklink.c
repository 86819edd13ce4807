/*
 * acklink.c - signed acknowledge links (acklink.h).
 */
#include "auth/acklink.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <sqlite3.h>

#include "auth/b64.h"
#include "core/sqlutil.h"

#define KEY_LEN 32
#define MAC_LEN 32
#define VERSION 1
/* version, expiry, notification, nonce, two length bytes, the texts */
#define CLAIM_MAX (1 + 8 + 8 + ACKLINK_NONCE + 2 + ACKLINK_ID_MAX + ACKLINK_TO_MAX)

struct acklink {
    unsigned char key[KEY_LEN];
    sqlite3 *db;               /* NULL: links are only made */
    sqlite3_stmt *ins, *get;
};

static const char SCHEMA[] =
    "CREATE TABLE IF NOT EXISTS used ("
    " nonce BLOB PRIMARY KEY, alarm TEXT NOT NULL, recipient TEXT NOT NULL,"
    " notification INTEGER NOT NULL, by TEXT NOT NULL, at INTEGER NOT NULL);"
    "PRAGMA user_version = 1;";

/* The key from its file, or a new one written there (O_EXCL: two
 * processes making it at once agree on the one that won). */
static int acklink_key(acklink *k, const char *dir, char *err, size_t errlen)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/acklink.key", dir);
    for (int tries = 0; tries < 2; tries++) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
            ssize_t n = read(fd, k->key, KEY_LEN);
            close(fd);
            if (n == KEY_LEN)
                return 0;
            snprintf(err, errlen, "%s: not a key of %d bytes (delete it to "
                     "make a new one; every link sent so far stops working)",
                     path, KEY_LEN);
            return -1;
        }
        if (errno != ENOENT)
            break;
        unsigned char key[KEY_LEN];
        if (RAND_bytes(key, KEY_LEN) != 1) {
            snprintf(err, errlen, "%s: no random bytes from OpenSSL", path);
            return -1;
        }
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0) {
            if (errno == EEXIST)
                continue;
            break;
        }
        fmode_own_like(fd, dir);
        bool ok = write(fd, key, KEY_LEN) == KEY_LEN && fsync(fd) == 0;
        ok = close(fd) == 0 && ok;
        OPENSSL_cleanse(key, sizeof key);
        if (!ok) {
            snprintf(err, errlen, "%s: cannot write: %s", path,
                     strerror(errno));
            unlink(path);
            return -1;
        }
    }
    snprintf(err, errlen, "%s: %s", path, strerror(errno));
    return -1;
}

acklink *acklink_open(const char *state_dir, bool db, fmode_warn_fn warn,
                      void *ctx, char *err, size_t errlen)
{
    acklink *k = calloc(1, sizeof *k);
    if (!k) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (fmode_dir(state_dir, warn, ctx, err, errlen) < 0 ||
        acklink_key(k, state_dir, err, errlen) < 0)
        goto fail;
    if (db) {
        k->db = sqlutil_open(state_dir, "acklinks.db", SCHEMA, 1, warn, ctx,
                             err, errlen);
        if (!k->db)
            goto fail;
        if (sqlite3_prepare_v2(k->db, "INSERT OR IGNORE INTO used VALUES "
                               "(?1, ?2, ?3, ?4, ?5, ?6)", -1, &k->ins,
                               NULL) != SQLITE_OK ||
            sqlite3_prepare_v2(k->db, "SELECT by, at FROM used WHERE "
                               "nonce = ?1", -1, &k->get, NULL) != SQLITE_OK) {
            sqlutil_fail(k->db, "acklinks.db", err, errlen);
            goto fail;
        }
    }
    return k;
fail:
    acklink_close(k);
    return NULL;
}

void acklink_close(acklink *k)
{
    if (!k)
        return;
    sqlite3_finalize(k->ins);
    sqlite3_finalize(k->get);
    sqlite3_close(k->db);
    OPENSSL_cleanse(k->key, sizeof k->key);
    free(k);
}

static void put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (unsigned char)v;
}

static uint64_t get_u64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

static void acklink_mac(const acklink *k, const unsigned char *claim,
                        size_t n, unsigned char mac[MAC_LEN])
{
    unsigned int len = MAC_LEN;
    HMAC(EVP_sha256(), k->key, KEY_LEN, claim, n, mac, &len);
}

int acklink_make(const acklink *k, acklink_claim *c, char *out,
                 size_t outlen)
{
    size_t na = strlen(c->alarm), nt = strlen(c->to);
    if (!na || na >= ACKLINK_ID_MAX || !nt || nt >= ACKLINK_TO_MAX)
        return -1;
    if (RAND_bytes(c->nonce, ACKLINK_NONCE) != 1)
        return -1;
    unsigned char claim[CLAIM_MAX], mac[MAC_LEN];
    size_t n = 0;
    claim[n++] = VERSION;
    put_u64(claim + n, (uint64_t)c->expires_s);
    n += 8;
    put_u64(claim + n, c->notification);
    n += 8;
    memcpy(claim + n, c->nonce, ACKLINK_NONCE);
    n += ACKLINK_NONCE;
    claim[n++] = (unsigned char)na;
    memcpy(claim + n, c->alarm, na);
    n += na;
    claim[n++] = (unsigned char)nt;
    memcpy(claim + n, c->to, nt);
    n += nt;
    acklink_mac(k, claim, n, mac);
    size_t need = B64_LEN(n) + 1 + B64_LEN(MAC_LEN) + 1;
    if (outlen < need || b64_encode(claim, n, true, out, outlen) < 0)
        return -1;
    size_t at = strlen(out);
    out[at++] = '.';
    return b64_encode(mac, MAC_LEN, true, out + at, outlen - at);
}

acklink_check acklink_verify(const acklink *k, const char *token,
                             int64_t now_s, acklink_claim *c)
{
    memset(c, 0, sizeof *c);
    if (!token || strlen(token) >= ACKLINK_TOKEN_MAX)
        return ACKLINK_BAD;
    const char *dot = strchr(token, '.');
    if (!dot)
        return ACKLINK_BAD;
    char part[ACKLINK_TOKEN_MAX];
    size_t pl = (size_t)(dot - token);
    memcpy(part, token, pl);
    part[pl] = '\0';
    unsigned char claim[CLAIM_MAX], mac[MAC_LEN], want[MAC_LEN];
    size_t n, m;
    if (b64_decode(part, true, claim, sizeof claim, &n) < 0 ||
        b64_decode(dot + 1, true, mac, sizeof mac, &m) < 0 || m != MAC_LEN)
        return ACKLINK_BAD;
    acklink_mac(k, claim, n, want);
    if (CRYPTO_memcmp(mac, want, MAC_LEN) != 0)
        return ACKLINK_BAD;
    /* signed by us: the layout is ours, but is checked all the same */
    size_t p = 1 + 8 + 8 + ACKLINK_NONCE;
    if (n < p + 2 || claim[0] != VERSION)
        return ACKLINK_BAD;
    size_t na = claim[p];
    if (na == 0 || na >= ACKLINK_ID_MAX || p + 1 + na + 1 > n)
        return ACKLINK_BAD;
    size_t nt = claim[p + 1 + na];
    if (nt == 0 || nt >= ACKLINK_TO_MAX || p + 2 + na + nt != n)
        return ACKLINK_BAD;
    c->expires_s = (int64_t)get_u64(claim + 1);
    c->notification = get_u64(claim + 9);
    memcpy(c->nonce, claim + 17, ACKLINK_NONCE);
    memcpy(c->alarm, claim + p + 1, na);
    memcpy(c->to, claim + p + 2 + na, nt);
    return now_s > c->expires_s ? ACKLINK_EXPIRED : ACKLINK_OK;
}

static int acklink_lookup(acklink *k, const acklink_claim *c, char *by,
                          size_t by_len, int64_t *at, char *err,
                          size_t errlen)
{
    sqlite3_reset(k->get);
    sqlite3_bind_blob(k->get, 1, c->nonce, ACKLINK_NONCE, SQLITE_STATIC);
    int rc = sqlite3_step(k->get);
    if (rc == SQLITE_DONE)
        return 0;
    if (rc != SQLITE_ROW)
        return sqlutil_fail(k->db, "acklinks.db: reading", err, errlen);
    const unsigned char *s = sqlite3_column_text(k->get, 0);
    snprintf(by, by_len, "%s", s ? (const char *)s : "");
    *at = sqlite3_column_int64(k->get, 1);
    sqlite3_reset(k->get);
    return 1;
}

int acklink_used(acklink *k, const acklink_claim *c, char *by, size_t by_len,
                 int64_t *at, char *err, size_t errlen)
{
    if (!k->db) {
        snprintf(err, errlen, "acklinks.db is not open");
        return -1;
    }
    return acklink_lookup(k, c, by, by_len, at, err, errlen);
}

int acklink_use(acklink *k, const acklink_claim *c, const char *by,
                int64_t now_s, char *prev_by, size_t prev_len,
                int64_t *prev_at, char *err, size_t errlen)
{
    if (!k->db) {
        snprintf(err, errlen, "acklinks.db is not open");
        return -1;
    }
    sqlite3_reset(k->ins);
    sqlite3_bind_blob(k->ins, 1, c->nonce, ACKLINK_NONCE, SQLITE_STATIC);
    sqlite3_bind_text(k->ins, 2, c->alarm, -1, SQLITE_STATIC);
    sqlite3_bind_text(k->ins, 3, c->to, -1, SQLITE_STATIC);
    sqlite3_bind_int64(k->ins, 4, (sqlite3_int64)c->notification);
    sqlite3_bind_text(k->ins, 5, by, -1, SQLITE_STATIC);
    sqlite3_bind_int64(k->ins, 6, now_s);
    int rc = sqlite3_step(k->ins);
    sqlite3_reset(k->ins);
    if (rc != SQLITE_DONE)
        return sqlutil_fail(k->db, "acklinks.db: recording a use", err,
                            errlen);
    /* INSERT OR IGNORE: no row changed means the nonce was there */
    if (sqlite3_changes(k->db) == 1) {
        char sql[96];
        snprintf(sql, sizeof sql, "DELETE FROM used WHERE at < %lld",
                 (long long)(now_s - ACKLINK_MAX_TTL_S - 86400));
        /* a failure keeps a few rows longer: nothing to refuse for */
        sqlite3_exec(k->db, sql, NULL, NULL, NULL);
        return 1;
    }
    int got = acklink_lookup(k, c, prev_by, prev_len, prev_at, err, errlen);
    return got < 0 ? -1 : 0;
}
