/*
 * cmd_notify.c - `lockbridge notify test -c FILE --channel ID`: one test
 * message through one channel, and the channel's exact answer (the SMTP
 * server's last reply, the HTTP status and body, the MQTT broker's PUBACK
 * or why there was none), so that whoever sets a
 * channel up sees at once what the other side says.
 *
 * A mail goes to the channel's `to` addresses and to the person on call
 * at the first level now, each a message of its own; a webhook gets one
 * POST of the documented body with one alarm, "<station>.notify.test";
 * an mqtt channel gets that body on its topic, through a connection of
 * its own (client id + "-test": a running bridge keeps its session).
 * Nothing is written to the notification journal: a test is not a
 * notification.
 *
 * Exit codes: 0 every message accepted; 1 one was not (or nobody to send
 * to); 2 the map has errors; 64 bad usage.
 */
#include <curl/curl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "core/clock.h"
#include "notify/message.h"
#include "notify/notify.h"
#include "notify/rota.h"

static int notify_usage(const char *msg)
{
    fprintf(stderr, "lockbridge: %s\n"
            "usage: lockbridge notify test -c FILE --channel ID\n", msg);
    return CLI_EXIT_USAGE;
}

/* One message to one recipient ("" for a webhook), its answer printed. */
static bool notify_test_one(const map_station *st, const map_channel *c,
                            const chan_secrets *sec, const char *to,
                            const map_person *mention)
{
    nj_row row;
    int64_t now = clk_real_ns();
    nmsg_test_row(st, &row, now);
    chan_result res;
    notify_send(st, c, sec, to, mention, NULL, &row, 1, now, &res);
    printf("%s%s%s: %s %s\n", c->id, to[0] ? " -> " : "", to,
           res.ok ? "ok" : "FAILED", res.answer);
    return res.ok;
}

int cmd_notify(const cli_opts *o)
{
    if (o->nargs != 1 || strcmp(o->args[0], "test") != 0)
        return notify_usage("notify needs 'test'");
    if (!o->channel)
        return notify_usage("notify test needs --channel ID");
    map_station *st = cli_load(o);
    if (!st)
        return CLI_EXIT_CONFIG;
    int rc = CLI_EXIT_FAIL;
    chan_secrets sec = {0};
    rota *r = NULL;
    const map_notify *nf = &st->notify;
    const map_channel *c = NULL;
    for (size_t i = 0; i < nf->n_channels && !c; i++)
        if (strcmp(nf->channels[i].id, o->channel) == 0)
            c = &nf->channels[i];
    char err[1400];
    if (!c) {
        fprintf(stderr, "lockbridge: %s has no notify channel '%s'\n",
                o->config, o->channel);
        rc = CLI_EXIT_USAGE;
        goto done;
    }
    if (rota_set_zone(nf->timezone, err, sizeof err) < 0 ||
        curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
        !(r = rota_new(nf)) || chan_resolve(c, &sec, err, sizeof err) < 0) {
        fprintf(stderr, "lockbridge: %s\n", err[0] ? err : "out of memory");
        goto done;
    }
    bool ok = true;
    long p = nf->n_oncall
                 ? rota_who(r, nf->oncall[0].level, (int64_t)time(NULL))
                 : -1;
    const map_person *oncall = p >= 0 ? &nf->people[p] : NULL;
    if (c->type != MAP_CH_EMAIL) {
        ok = notify_test_one(st, c, &sec, "", oncall);
    } else {
        size_t sent = 0;
        for (size_t i = 0; i < c->n_to; i++, sent++)
            ok &= notify_test_one(st, c, &sec, c->to[i], NULL);
        if (oncall && oncall->email) {
            ok &= notify_test_one(st, c, &sec, oncall->email, NULL);
            sent++;
        }
        if (!sent) {
            fprintf(stderr, "lockbridge: channel %s has no 'to' addresses "
                    "and nobody with an email is on call now: nobody to "
                    "send to\n", c->id);
            ok = false;
        }
    }
    rc = ok ? 0 : CLI_EXIT_FAIL;
done:
    chan_secrets_free(&sec);
    rota_free(r);
    map_free(st);
    return rc;
}
