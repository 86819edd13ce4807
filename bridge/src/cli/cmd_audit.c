/*
 * cmd_audit.c - `lockbridge audit`: the audit log in a time range, oldest
 * first, as JSON (like export) or CSV.  Reads audit.db on its own
 * read-only connection, so it runs beside the daemon.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "core/clock.h"
#include "core/strbuf.h"

typedef struct {
    bool csv, first;
    size_t n;
    strbuf line;
} audit_ctx;

/* RFC 4180: quoted when it holds a comma, a quote or a line break, quotes
 * doubled. */
static void audit_csv_field(strbuf *b, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        sb_puts(b, s);
        return;
    }
    sb_putc(b, '"');
    for (; *s; s++) {
        if (*s == '"')
            sb_putc(b, '"');
        sb_putc(b, *s);
    }
    sb_putc(b, '"');
}

static int audit_row(void *arg, const auth_audit_row *r)
{
    audit_ctx *x = arg;
    char when[40];
    clk_format_rfc3339(r->ts_ns, when, sizeof when);
    const char *f[5] = {r->user, r->action, r->detail, r->address,
                        r->result};
    static const char *const names[5] = {"user", "action", "detail",
                                         "address", "result"};
    sb_reset(&x->line);
    if (x->csv) {
        sb_puts(&x->line, when);
        for (int i = 0; i < 5; i++) {
            sb_putc(&x->line, ',');
            audit_csv_field(&x->line, f[i]);
        }
        sb_putc(&x->line, '\n');
    } else {
        sb_printf(&x->line, "%s{\"ts\":\"%s\"", x->first ? "" : ",\n", when);
        for (int i = 0; i < 5; i++) {
            sb_printf(&x->line, ",\"%s\":", names[i]);
            sb_json_str(&x->line, f[i]);
        }
        sb_putc(&x->line, '}');
    }
    if (!x->line.failed)
        fwrite(sb_data(&x->line), 1, x->line.len, stdout);
    x->first = false;
    x->n++;
    return 0;
}

int cmd_audit(const cli_opts *o)
{
    int64_t now = clk_real_ns(), from, to = now;
    if (!o->from || clk_parse_time(o->from, now, &from) == -1) {
        fprintf(stderr, "lockbridge: audit needs --from TIME (RFC 3339 such "
                        "as 2026-11-24T08:00:00Z, a date, 'now' or -2h/-7d); "
                        "got '%s'\n", o->from ? o->from : "");
        return CLI_EXIT_USAGE;
    }
    if (o->to && clk_parse_time(o->to, now, &to) == -1) {
        fprintf(stderr, "lockbridge: --to: not a time: '%s'\n", o->to);
        return CLI_EXIT_USAGE;
    }
    if (to <= from) {
        fprintf(stderr, "lockbridge: --to must be after --from\n");
        return CLI_EXIT_USAGE;
    }
    map_station *st = cli_load(o);
    if (!st)
        return CLI_EXIT_CONFIG;
    audit_ctx x = {.csv = o->csv, .first = true};
    sb_init(&x.line, 0);
    if (o->csv)
        printf("ts,user,action,detail,address,result\n");
    else
        printf("[");
    char err[512];
    int rc = 0;
    if (auth_audit_each(st->data_dir, from, to, audit_row, &x, err,
                        sizeof err) < 0) {
        fprintf(stderr, "\nlockbridge: audit: %s\n", err);
        rc = CLI_EXIT_FAIL;
    } else {
        if (!o->csv)
            printf("]\n");
        fprintf(stderr, "lockbridge: %zu audit records\n", x.n);
    }
    sb_free(&x.line);
    map_free(st);
    return rc;
}
