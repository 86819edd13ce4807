/*
 * mqtt.c - an MQTT channel's connection, driven on its owner's thread
 * (mqtt.h).
 *
 * libmosquitto's callbacks run inside mosquitto_loop, so on the caller's
 * thread: they only note what arrived (CONNACK, the confirmed mid, the
 * disconnect) in the nmqtt, and the waiting loops here read it.
 */
#include "notify/mqtt.h"

#include <errno.h>
#include <mosquitto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"

struct nmqtt {
    const map_channel *c;
    char host[256];
    int port;
    bool tls;
    char client_id[128];
    const char *password;         /* s->password, NULL: none */
    struct mosquitto *mosq;       /* NULL: not connected */
    bool connected;               /* CONNACK 0 seen, no disconnect since */
    int connack;                  /* -1: none yet */
    bool lost;                    /* the connection ended */
    int confirmed_mid;            /* the last PUBACK/PUBCOMP/QoS 0 write */
    uint64_t conns;               /* connections made, for the summary */
    uint64_t sum_gen, sum_conn;   /* the summary published on which */
    bool sum_any;
    int64_t sum_retry_ns;         /* 0: not held back */
    bool lib;                     /* mosquitto_lib_init done */
};

/* mqtt://host[:port][/...], mqtts:// for TLS (ports 1883, 8883: IANA). */
static int nmqtt_parse_url(nmqtt *m, const char *url, char *err,
                           size_t errlen)
{
    const char *p;
    if (strncmp(url, "mqtt://", 7) == 0) {
        p = url + 7;
        m->port = 1883;
    } else if (strncmp(url, "mqtts://", 8) == 0) {
        p = url + 8;
        m->port = 8883;
        m->tls = true;
    } else {
        snprintf(err, errlen, "url must start with mqtt:// or mqtts://");
        return -1;
    }
    size_t hl;
    const char *rest;
    if (*p == '[') {              /* [::1]:1883 */
        const char *e = strchr(p, ']');
        if (!e) {
            snprintf(err, errlen, "url '%s': no ']' after the address", url);
            return -1;
        }
        hl = (size_t)(e - p - 1);
        p++;
        rest = e + 1;
    } else {
        hl = strcspn(p, ":/");
        rest = p + hl;
    }
    if (hl == 0 || hl >= sizeof m->host) {
        snprintf(err, errlen, "url '%s': no host", url);
        return -1;
    }
    memcpy(m->host, p, hl);
    m->host[hl] = '\0';
    if (*rest == ':') {
        char *end;
        errno = 0;
        long port = strtol(rest + 1, &end, 10);
        if (errno || end == rest + 1 || port < 1 || port > 65535 ||
            (*end && *end != '/')) {
            snprintf(err, errlen, "url '%s': the port must be 1-65535",
                     url);
            return -1;
        }
        m->port = (int)port;
    } else if (*rest && *rest != '/') {
        snprintf(err, errlen, "url '%s': bad host", url);
        return -1;
    }
    return 0;
}

static void nmqtt_on_connect(struct mosquitto *mosq, void *obj, int rc)
{
    (void)mosq;
    nmqtt *m = obj;
    m->connack = rc;
    m->connected = rc == 0;
}

static void nmqtt_on_disconnect(struct mosquitto *mosq, void *obj, int rc)
{
    (void)mosq;
    (void)rc;
    nmqtt *m = obj;
    m->connected = false;
    m->lost = true;
}

static void nmqtt_on_publish(struct mosquitto *mosq, void *obj, int mid)
{
    (void)mosq;
    nmqtt *m = obj;
    m->confirmed_mid = mid;
}

nmqtt *nmqtt_new(const map_station *st, const map_channel *c,
                 const chan_secrets *s, const char *suffix, char *err,
                 size_t errlen)
{
    nmqtt *m = calloc(1, sizeof *m);
    if (!m) {
        snprintf(err, errlen, "channel %s: out of memory", c->id);
        return NULL;
    }
    m->c = c;
    m->password = s->password;
    char why[400];
    if (nmqtt_parse_url(m, s->url, why, sizeof why) < 0) {
        snprintf(err, errlen, "channel %s: %s", c->id, why);
        free(m);
        return NULL;
    }
    int n;
    if (c->client_id)
        n = snprintf(m->client_id, sizeof m->client_id, "%s%s", c->client_id,
                     suffix ? suffix : "");
    else
        n = snprintf(m->client_id, sizeof m->client_id, "lockbridge-%s%s",
                     st->id ? st->id : "station", suffix ? suffix : "");
    if (n < 0 || (size_t)n >= sizeof m->client_id) {
        /* MQTT 3.1.1 section 3.1.3.1: brokers need accept only 23 bytes;
         * mosquitto takes far more, but not without bound */
        snprintf(err, errlen, "channel %s: client_id is too long", c->id);
        free(m);
        return NULL;
    }
    mosquitto_lib_init();
    m->lib = true;
    return m;
}

/* The connection dropped (after a failure, or to free). */
static void nmqtt_drop(nmqtt *m)
{
    if (m->mosq) {
        if (m->connected)
            mosquitto_disconnect(m->mosq);
        mosquitto_destroy(m->mosq);
    }
    m->mosq = NULL;
    m->connected = false;
}

void nmqtt_free(nmqtt *m)
{
    if (!m)
        return;
    nmqtt_drop(m);
    if (m->lib)
        mosquitto_lib_cleanup();
    free(m);
}

/* Why rc failed, into buf: the errno's text for MOSQ_ERR_ERRNO. */
static const char *nmqtt_why(int rc, int err, char *buf, size_t len)
{
    if (rc == MOSQ_ERR_ERRNO && err)
        return strerror_r(err, buf, len);
    return mosquitto_strerror(rc);
}

static int nmqtt_left_ms(uint64_t deadline)
{
    uint64_t now = clk_mono_ns();
    if (now >= deadline)
        return 0;
    uint64_t ms = (deadline - now + 999999) / 1000000;
    return ms > 1000 ? 1000 : (int)ms;
}

/* Connected by the deadline: 0, or -1 with the reason in out. */
static int nmqtt_connect(nmqtt *m, uint64_t deadline, chan_result *out)
{
    char buf[256];
    if (m->connected)
        return 0;
    nmqtt_drop(m);
    m->mosq = mosquitto_new(m->client_id, true, m);
    if (!m->mosq) {
        snprintf(out->answer, sizeof out->answer, "out of memory");
        return -1;
    }
    mosquitto_int_option(m->mosq, MOSQ_OPT_PROTOCOL_VERSION,
                         MQTT_PROTOCOL_V311);
    mosquitto_connect_callback_set(m->mosq, nmqtt_on_connect);
    mosquitto_disconnect_callback_set(m->mosq, nmqtt_on_disconnect);
    mosquitto_publish_callback_set(m->mosq, nmqtt_on_publish);
    int rc;
    if (m->c->username &&
        (rc = mosquitto_username_pw_set(m->mosq, m->c->username,
                                        m->password)) != MOSQ_ERR_SUCCESS) {
        snprintf(out->answer, sizeof out->answer, "username: %s",
                 mosquitto_strerror(rc));
        goto fail;
    }
    if (m->tls &&
        (rc = mosquitto_tls_set(m->mosq, m->c->ca_file,
                                m->c->ca_file ? NULL : "/etc/ssl/certs",
                                NULL, NULL, NULL)) != MOSQ_ERR_SUCCESS) {
        snprintf(out->answer, sizeof out->answer, "TLS: %s",
                 nmqtt_why(rc, errno, buf, sizeof buf));
        goto fail;
    }
    m->connack = -1;
    m->lost = false;
    errno = 0;
    rc = mosquitto_connect_async(m->mosq, m->host, m->port,
                                 NMQTT_KEEPALIVE_S);
    if (rc != MOSQ_ERR_SUCCESS) {
        snprintf(out->answer, sizeof out->answer, "connect: %s",
                 nmqtt_why(rc, errno, buf, sizeof buf));
        goto fail;
    }
    while (m->connack < 0) {
        int left = nmqtt_left_ms(deadline);
        if (left == 0) {
            snprintf(out->answer, sizeof out->answer, "connect: no CONNACK "
                     "from %s:%d within %.0f s", m->host, m->port,
                     (double)m->c->timeout_ns / 1e9);
            goto fail;
        }
        errno = 0;
        rc = mosquitto_loop(m->mosq, left, 1);
        if (rc != MOSQ_ERR_SUCCESS && m->connack < 0) {
            snprintf(out->answer, sizeof out->answer, "connect: %s",
                     nmqtt_why(rc, errno, buf, sizeof buf));
            goto fail;
        }
    }
    if (m->connack != 0) {
        snprintf(out->answer, sizeof out->answer, "CONNACK from %s:%d: %s",
                 m->host, m->port, mosquitto_connack_string(m->connack));
        goto fail;
    }
    m->conns++;
    return 0;
fail:
    nmqtt_drop(m);
    return -1;
}

void nmqtt_publish(nmqtt *m, const char *topic, const char *payload,
                   bool retain, chan_result *out)
{
    memset(out, 0, sizeof *out);
    uint64_t deadline = clk_mono_ns() + m->c->timeout_ns;
    char buf[256];
    /* a connection the broker closed while idle is noticed first */
    nmqtt_service(m);
    if (nmqtt_connect(m, deadline, out) < 0)
        return;
    int mid = 0, qos = m->c->qos;
    m->confirmed_mid = 0;
    errno = 0;
    int rc = mosquitto_publish(m->mosq, &mid, topic, (int)strlen(payload),
                               payload, qos, retain);
    if (rc != MOSQ_ERR_SUCCESS) {
        snprintf(out->answer, sizeof out->answer, "publish: %s",
                 nmqtt_why(rc, errno, buf, sizeof buf));
        nmqtt_drop(m);
        return;
    }
    static const char *const what[3] = {"written", "PUBACK", "PUBCOMP"};
    while (m->confirmed_mid != mid) {
        int left = nmqtt_left_ms(deadline);
        if (left == 0) {
            snprintf(out->answer, sizeof out->answer, "no %s for mid %d "
                     "from %s:%d within %.0f s", what[qos], mid, m->host,
                     m->port, (double)m->c->timeout_ns / 1e9);
            nmqtt_drop(m);
            return;
        }
        errno = 0;
        rc = mosquitto_loop(m->mosq, left, 1);
        if (m->confirmed_mid == mid)
            break;
        if (rc != MOSQ_ERR_SUCCESS || m->lost) {
            snprintf(out->answer, sizeof out->answer, "no %s for mid %d: "
                     "%s", what[qos], mid,
                     m->lost && rc == MOSQ_ERR_SUCCESS
                         ? "the broker closed the connection"
                         : nmqtt_why(rc, errno, buf, sizeof buf));
            nmqtt_drop(m);
            return;
        }
    }
    out->ok = true;
    if (qos == 0)
        snprintf(out->answer, sizeof out->answer, "written as mid %d to "
                 "%s:%d (QoS 0)", mid, m->host, m->port);
    else
        snprintf(out->answer, sizeof out->answer, "%s for mid %d from %s:%d",
                 what[qos], mid, m->host, m->port);
}

void nmqtt_service(nmqtt *m)
{
    if (!m->mosq)
        return;
    int rc = mosquitto_loop(m->mosq, 0, 1);
    if (rc != MOSQ_ERR_SUCCESS || m->lost || !m->connected)
        nmqtt_drop(m);
}

bool nmqtt_summary_due(const nmqtt *m, uint64_t gen, int64_t now_ns)
{
    if (m->sum_retry_ns && now_ns < m->sum_retry_ns)
        return false;
    return !m->sum_any || m->sum_gen != gen || !m->connected ||
           m->sum_conn != m->conns;
}

void nmqtt_summary(nmqtt *m, const char *json, uint64_t gen, int64_t now_ns,
                   backoff *b, chan_result *out)
{
    nmqtt_publish(m, m->c->summary_topic, json, true, out);
    if (out->ok) {
        m->sum_any = true;
        m->sum_gen = gen;
        m->sum_conn = m->conns;
        m->sum_retry_ns = 0;
        backoff_reset(b);
    } else {
        m->sum_retry_ns = now_ns + (int64_t)backoff_next(b);
    }
}

int64_t nmqtt_summary_retry_at(const nmqtt *m)
{
    return m->sum_retry_ns;
}
