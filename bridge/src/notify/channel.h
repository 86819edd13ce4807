/*
 * channel.h - one attempt at one message through one channel, with the
 * channel's exact answer: libcurl SMTP for email, an HTTP POST for a
 * webhook.
 *
 * Secrets (the URL of a channel given by url_env/url_file, an SMTP
 * password) are resolved once with chan_resolve, at start, and live in a
 * chan_secrets the caller owns.  Each send is a curl easy handle of its
 * own, blocking up to the channel's timeout: call it from the notify
 * thread or the CLI, never from the service thread.  The caller calls
 * curl_global_init once before any thread starts.
 */
#ifndef LB_NOTIFY_CHANNEL_H
#define LB_NOTIFY_CHANNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/plcmap.h"

struct nmqtt;

typedef struct {
    char *url;                /* the URL to use (the map's or resolved) */
    char *password;           /* SMTP or MQTT password, NULL: no AUTH */
    char *secret;             /* DingTalk signing secret, NULL: unsigned */
    /* An mqtt channel's kept connection (notify/mqtt.h), owned and freed
     * by the notify that set it; NULL (chan_resolve's, `notify test`):
     * notify_send connects once for the message. */
    struct nmqtt *mqtt;
} chan_secrets;

/* Resolves c's secrets into out (freed with chan_secrets_free, also after
 * a failure).  0, or -1 with "channel ID: reason" in err. */
int chan_resolve(const map_channel *c, chan_secrets *out, char *err,
                 size_t errlen);
void chan_secrets_free(chan_secrets *s);

typedef struct {
    bool ok;
    long code;                /* the SMTP reply or HTTP status; 0: none */
    char answer[1024];        /* the peer's answer ("250 2.0.0 OK",
                                 "HTTP 200: {...}") or why there was none
                                 ("Couldn't connect to server: ...") */
} chan_result;

/* The mail (RFC 5322 text, message.h) to n recipients.  ok when the
 * server accepted it (a 2xx reply to the end of DATA). */
void chan_email(const map_channel *c, const chan_secrets *s,
                const char *const *rcpt, size_t n, const char *mail,
                chan_result *out);

/* body POSTed as application/json.  ok on a 2xx status. */
void chan_webhook(const map_channel *c, const chan_secrets *s,
                  const char *body, chan_result *out);

/* A robot's JSON body (message.h) POSTed to the robot's URL; for
 * DingTalk with a secret the URL gets `timestamp` (ms) and `sign`, the
 * URL-encoded base64 of HMAC-SHA256(key = secret, timestamp + "\n" +
 * secret).  ok on a 2xx status with errcode 0; a known errcode is
 * explained in the answer (WeCom 93000 invalid key, 45009 rate limited;
 * DingTalk 310000 bad signature or keyword, 130101 too fast, 300001 bad
 * token). */
void chan_robot(const map_channel *c, const chan_secrets *s,
                const char *body, int64_t now_ms, chan_result *out);

/* The DingTalk signature of timestamp now_ms with secret, URL-encoded,
 * into buf (at least 128 bytes).  0, or -1. */
int chan_dingtalk_sign(const char *secret, int64_t now_ms, char *buf,
                       size_t len);

#endif
