/*
 * acklink.h - acknowledge links: a signed, expiring, single-use token that
 * lets the person a notification went to acknowledge that alarm from a
 * phone without logging in.
 *
 * A token is base64url(claim) "." base64url(HMAC-SHA256(key, claim)),
 * the claim binary: version 1, expiry (Unix seconds, 8 bytes big-endian),
 * the notification's id (8 bytes), a random nonce (16 bytes), then the
 * alarm id and the recipient, each one length byte and its bytes.  The
 * key is 32 random bytes (RAND_bytes) in <state_dir>/acklink.key (0600),
 * made on first use and kept: links stay valid across restarts, and
 * deleting the file revokes every link out there.
 *
 * Opening a link (GET) never changes anything: mail scanners such as Safe
 * Links fetch every link in a message.  Only the POST of the page's
 * Acknowledge button uses it: acklink_use records the nonce in
 * <state_dir>/acklinks.db (SQLite, WAL, synchronous=FULL) before the
 * acknowledgement is taken, so a second use, even after a restart, is
 * told who used it and when.
 *
 * Threads: acklink_make and acklink_verify need no disk and may run on any
 * thread (the key is read at open); acklink_use and acklink_used touch
 * the database and run on one worker thread at a time (the web worker).
 */
#ifndef LB_AUTH_ACKLINK_H
#define LB_AUTH_ACKLINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/fmode.h"

#define ACKLINK_ID_MAX 128     /* an alarm id, with its NUL */
#define ACKLINK_TO_MAX 65      /* a recipient (a person's id), with NUL */
#define ACKLINK_NONCE 16
/* The longest token acklink_make writes, with its NUL. */
#define ACKLINK_TOKEN_MAX 512
#define ACKLINK_DEFAULT_TTL_S 86400
/* The longest a link may live (`lockbridge acklink --ttl`).  A use is
 * kept in acklinks.db a day longer than that: by then its token is
 * refused as expired whether or not the use is remembered. */
#define ACKLINK_MAX_TTL_S (30 * 86400)

typedef struct acklink acklink;

typedef struct {
    char alarm[ACKLINK_ID_MAX];
    char to[ACKLINK_TO_MAX];
    uint64_t notification;     /* the notification journal's id; 0: none */
    int64_t expires_s;         /* Unix seconds */
    unsigned char nonce[ACKLINK_NONCE];
} acklink_claim;

typedef enum {
    ACKLINK_OK,
    ACKLINK_BAD,               /* not a token of this station's key */
    ACKLINK_EXPIRED,           /* a good token past its expiry (claim set) */
} acklink_check;

/* Reads (making, 0600, in a 0700 state_dir) the key; with db true also
 * opens acklinks.db (the daemon; the command line that only makes links
 * needs no database).  NULL with "path: reason" in err. */
acklink *acklink_open(const char *state_dir, bool db, fmode_warn_fn warn,
                      void *ctx, char *err, size_t errlen);
void acklink_close(acklink *k);

/* A token for c (its nonce is made here) into out (ACKLINK_TOKEN_MAX).
 * 0, or -1 for an alarm id or recipient that is empty or too long. */
int acklink_make(const acklink *k, acklink_claim *c, char *out,
                 size_t outlen);

/* Checks token against the key (constant-time) and its expiry at now_s;
 * the claim is filled for ACKLINK_OK and ACKLINK_EXPIRED. */
acklink_check acklink_verify(const acklink *k, const char *token,
                             int64_t now_s, acklink_claim *c);

/* Worker: records the use of c's nonce by `by` at now_s (and forgets the
 * uses older than ACKLINK_MAX_TTL_S and a day).  1 when this is
 * the first use, 0 when it was used before (*prev_by, *prev_at: who and
 * when), -1 with err when the database fails (nothing recorded: the
 * caller must not acknowledge). */
int acklink_use(acklink *k, const acklink_claim *c, const char *by,
                int64_t now_s, char *prev_by, size_t prev_len,
                int64_t *prev_at, char *err, size_t errlen);

/* Worker: whether c's nonce was used (1, with who and when), 0 not, -1
 * with err. */
int acklink_used(acklink *k, const acklink_claim *c, char *by, size_t by_len,
                 int64_t *at, char *err, size_t errlen);

#endif
