/*
 * cmd_acklink.c - `lockbridge acklink ALARM --to PERSON [--ttl 24h]`:
 * prints an acknowledge link for one alarm (auth/acklink.h), the link a
 * notification carries, signed with the station's key in data_dir.  For
 * sending a link by hand and for testing the page; whoever opens it may
 * acknowledge that alarm once, as PERSON, until it expires.
 *
 * Exit codes: 0 printed; 2 the map has errors; 64 bad usage (an unknown
 * alarm, a bad duration); 1 the key cannot be read or made.
 */
#include <stdio.h>
#include <string.h>

#include "auth/acklink.h"
#include "cli/cli.h"
#include "core/clock.h"

static int acklink_usage(const char *msg)
{
    fprintf(stderr, "lockbridge: %s\n"
            "usage: lockbridge acklink ALARM --to PERSON [--ttl 24h] -c FILE\n",
            msg);
    return CLI_EXIT_USAGE;
}

static void acklink_warn(void *ctx, const char *msg)
{
    (void)ctx;
    fprintf(stderr, "lockbridge: %s\n", msg);
}

/* Whether id names an alarm of the station: the link would be refused
 * (404) by the page otherwise. */
static bool acklink_alarm_known(const map_station *st, const char *id)
{
    for (size_t p = 0; p < st->n_plcs; p++) {
        const map_plc *plc = &st->plcs[p];
        if (plc->comm_alarm.full_id && strcmp(plc->comm_alarm.full_id, id) == 0)
            return true;
        for (size_t t = 0; t < plc->n_tags; t++)
            for (size_t a = 0; a < plc->tags[t].n_alarms; a++)
                if (strcmp(plc->tags[t].alarms[a].full_id, id) == 0)
                    return true;
    }
    for (size_t a = 0; a < st->n_alarms; a++)
        if (strcmp(st->alarms[a].full_id, id) == 0)
            return true;
    for (size_t c = 0; c < st->notify.n_channels; c++) {
        const map_alarm *fa = &st->notify.channels[c].fail_alarm;
        if (fa->enabled && strcmp(fa->full_id, id) == 0)
            return true;
    }
    return false;
}

int cmd_acklink(const cli_opts *o)
{
    if (o->nargs != 1)
        return acklink_usage("acklink takes one ALARM id");
    if (!o->to || !o->to[0] || strlen(o->to) >= ACKLINK_TO_MAX)
        return acklink_usage("acklink needs --to PERSON (1-64 bytes: who "
                             "acknowledges with it)");
    uint64_t ttl = (uint64_t)ACKLINK_DEFAULT_TTL_S * 1000000000ULL;
    if (o->ttl && (clk_parse_duration(o->ttl, &ttl) < 0 || ttl < 1000000000ULL ||
                   ttl > (uint64_t)ACKLINK_MAX_TTL_S * 1000000000ULL))
        return acklink_usage("--ttl: a duration from 1s to 30d (\"24h\")");
    const char *alarm = o->args[0];
    map_station *st = cli_load(o);
    if (!st)
        return CLI_EXIT_CONFIG;
    int rc = CLI_EXIT_USAGE;
    acklink *k = NULL;
    if (!acklink_alarm_known(st, alarm) || strlen(alarm) >= ACKLINK_ID_MAX) {
        fprintf(stderr, "lockbridge: acklink: no alarm '%s' in %s\n", alarm,
                o->config);
        goto out;
    }
    char err[512];
    rc = CLI_EXIT_FAIL;
    k = acklink_open(st->data_dir, false, acklink_warn, NULL, err, sizeof err);
    if (!k) {
        fprintf(stderr, "lockbridge: acklink: %s\n", err);
        goto out;
    }
    acklink_claim c = {.expires_s = (int64_t)((clk_real_ns() + (int64_t)ttl) /
                                              1000000000LL)};
    snprintf(c.alarm, sizeof c.alarm, "%s", alarm);
    snprintf(c.to, sizeof c.to, "%s", o->to);
    char token[ACKLINK_TOKEN_MAX], base[128], until[40];
    if (acklink_make(k, &c, token, sizeof token) < 0) {
        fprintf(stderr, "lockbridge: acklink: cannot make the token\n");
        goto out;
    }
    const char *note;
    cli_web_base(st, base, sizeof base, &note);
    printf("%s/#/ack/%s\n", base, token);
    fflush(stdout);
    clk_format_rfc3339(c.expires_s * 1000000000LL, until, sizeof until);
    fprintf(stderr, "lockbridge: a link for %s to acknowledge %s once, until "
            "%s\n", c.to, alarm, until);
    if (note)
        fprintf(stderr, "lockbridge: %s\n", note);
    rc = 0;
out:
    acklink_close(k);
    map_free(st);
    return rc;
}
