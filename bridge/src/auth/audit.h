/*
 * audit.h - audit.db: the audit log (internal to auth/; the public side is
 * auth_audit and auth_audit_each in auth.h).
 *
 * A record is on disk (synchronous=FULL) before audit_add returns, so the
 * caller can let the action take effect only afterwards.  Fields longer
 * than their auth_audit_row field are cut (at a UTF-8 character boundary)
 * before they are written, so what is read back is what was written.
 */
#ifndef LB_AUTH_AUDIT_H
#define LB_AUTH_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "auth/auth.h"
#include "core/fmode.h"

typedef struct audit_log audit_log;

/* dir/audit.db, created 0600 if missing.  NULL with err. */
audit_log *audit_open(const char *dir, fmode_warn_fn warn, void *ctx,
                      char *err, size_t errlen);
void audit_close(audit_log *l);

/* One record; NULL fields are "".  0, or -1 with "audit.db: reason". */
int audit_add(audit_log *l, int64_t ts_ns, const char *user,
              const char *action, const char *detail, const char *address,
              const char *result, char *err, size_t errlen);

#endif
