/*
 * mqtt.h - one MQTT channel's connection to its broker (Debian's
 * libmosquitto, MQTT 3.1.1): a publish that is ok only when the broker
 * has confirmed it, with the broker's exact answer.
 *
 * Threads.  An nmqtt is driven synchronously by the one thread that owns
 * it (the notify thread, or the CLI's `notify test`): every call runs
 * mosquitto_loop on the caller's thread up to the channel's timeout, and
 * libmosquitto's own thread (mosquitto_loop_start) is never started.
 * mosquitto_lib_init is called by nmqtt_new, so create the first one on
 * the main thread before other threads use libmosquitto.
 *
 * Connection.  Made when a publish needs it, kept between publishes
 * (nmqtt_service keeps it alive and notices a broken one), and dropped
 * after any failed publish: the next one connects afresh, with a clean
 * session, so libmosquitto never resends on its own a message that was
 * already reported as failed (the retry is the caller's, with its
 * back-off).
 *
 * Confirmed.  QoS 0: the PUBLISH written to the socket; QoS 1: its
 * PUBACK; QoS 2: its PUBCOMP (MQTT 3.1.1 section 4.3), each within the
 * channel's timeout, which also bounds the connect and its CONNACK.
 */
#ifndef LB_NOTIFY_MQTT_H
#define LB_NOTIFY_MQTT_H

#include <stdbool.h>
#include <stdint.h>

#include "config/plcmap.h"
#include "core/backoff.h"
#include "notify/channel.h"

typedef struct nmqtt nmqtt;

/* A client for c (type mqtt) with the url and password of s, both of
 * which must outlive it; not connected yet.  client_id: c->client_id,
 * else "lockbridge-<station id>"; suffix (NULL: none) is appended, so
 * that a one-shot `notify test` does not take over the bridge's session.
 * NULL with the reason in err (a bad url, out of memory). */
nmqtt *nmqtt_new(const map_station *st, const map_channel *c,
                 const chan_secrets *s, const char *suffix, char *err,
                 size_t errlen);
/* Disconnects and frees; NULL is a no-op. */
void nmqtt_free(nmqtt *m);

/* payload on topic, at the channel's QoS, retained or not: connects
 * first when not connected.  out->ok when confirmed (above); the answer
 * is what happened: "PUBACK for mid 7 from 127.0.0.1:1883", "connect:
 * Connection refused", "CONNACK from 127.0.0.1:1883: Connection Refused:
 * not authorised.", "no PUBACK for mid 3 within 10 s". */
void nmqtt_publish(nmqtt *m, const char *topic, const char *payload,
                   bool retain, chan_result *out);

/* Keep-alive and incoming packets, without waiting: a connection the
 * broker closed is noticed (and dropped) here.  For the owner's idle
 * turns, at least every NMQTT_KEEPALIVE_S / 4. */
#define NMQTT_KEEPALIVE_S 60
void nmqtt_service(nmqtt *m);

/* The retained summary.  gen numbers the summaries handed in (the
 * newest wins).  Due: gen not yet published on this connection (a
 * reconnect publishes it again, so a broker that restarted without
 * persistence holds the truth), and now_ns past the back-off of the last
 * failure. */
bool nmqtt_summary_due(const nmqtt *m, uint64_t gen, int64_t now_ns);
/* json retained on the channel's summary_topic; on failure the next try
 * is after backoff_next(b), on success b is reset.  The answer in out. */
void nmqtt_summary(nmqtt *m, const char *json, uint64_t gen, int64_t now_ns,
                   backoff *b, chan_result *out);
/* When the summary is next due after a failure (0: not held back). */
int64_t nmqtt_summary_retry_at(const nmqtt *m);

#endif
