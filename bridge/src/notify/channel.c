/*
 * channel.c - delivery through libcurl (channel.h).
 *
 * The SMTP answer is what the server said last (curl's debug callback
 * sees every reply line; CURLINFO_RESPONSE_CODE only has the number), so
 * `notify test` can print "250 2.0.0 Ok: queued as 4F1B" as the server
 * wrote it.  No signal is used for timeouts (CURLOPT_NOSIGNAL): the
 * delivery thread shares the process with others.
 */
#include "notify/channel.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/secret.h"

int chan_resolve(const map_channel *c, chan_secrets *out, char *err,
                 size_t errlen)
{
    memset(out, 0, sizeof *out);
    char why[1200];
    if (c->url) {
        out->url = strdup(c->url);
    } else if (secret_resolve("url", c->url_env, c->url_file, &out->url, why,
                              sizeof why) < 0) {
        snprintf(err, errlen, "channel %s: %s", c->id, why);
        return -1;
    }
    if (!out->url) {
        snprintf(err, errlen, "channel %s: out of memory", c->id);
        return -1;
    }
    if (secret_resolve("password", c->password_env, c->password_file,
                       &out->password, why, sizeof why) < 0 ||
        secret_resolve("secret", c->secret_env, c->secret_file, &out->secret,
                       why, sizeof why) < 0) {
        snprintf(err, errlen, "channel %s: %s", c->id, why);
        return -1;
    }
    return 0;
}

void chan_secrets_free(chan_secrets *s)
{
    if (!s)
        return;
    free(s->url);
    free(s->password);
    free(s->secret);
    s->url = s->password = s->secret = NULL;
}

/* ---- the upload of a mail ----------------------------------------------- */

typedef struct {
    const char *p;
    size_t left;
} chan_reader;

static size_t chan_read(char *buf, size_t size, size_t nmemb, void *ctx)
{
    chan_reader *r = ctx;
    size_t n = size * nmemb < r->left ? size * nmemb : r->left;
    memcpy(buf, r->p, n);
    r->p += n;
    r->left -= n;
    return n;
}

/* The last reply line the server sent (debug callback). */
static int chan_debug(CURL *h, curl_infotype type, char *data, size_t size,
                      void *ctx)
{
    (void)h;
    chan_result *out = ctx;
    if (type != CURLINFO_HEADER_IN)
        return 0;
    while (size && (data[size - 1] == '\n' || data[size - 1] == '\r'))
        size--;
    if (size >= sizeof out->answer)
        size = sizeof out->answer - 1;
    memcpy(out->answer, data, size);
    out->answer[size] = '\0';
    return 0;
}

static void chan_curl_failed(CURLcode rc, const char *errbuf,
                             chan_result *out)
{
    snprintf(out->answer, sizeof out->answer, "%s%s%s",
             curl_easy_strerror(rc), errbuf[0] ? ": " : "", errbuf);
}

void chan_email(const map_channel *c, const chan_secrets *s,
                const char *const *rcpt, size_t n, const char *mail,
                chan_result *out)
{
    memset(out, 0, sizeof *out);
    CURL *h = curl_easy_init();
    struct curl_slist *to = NULL;
    for (size_t i = 0; i < n; i++) {
        char addr[300];
        snprintf(addr, sizeof addr, "<%s>", rcpt[i]);
        struct curl_slist *t = curl_slist_append(to, addr);
        if (!t)
            break;
        to = t;
    }
    if (!h || !to) {
        snprintf(out->answer, sizeof out->answer, "out of memory");
        goto done;
    }
    char from[300], errbuf[CURL_ERROR_SIZE] = "";
    snprintf(from, sizeof from, "<%s>", c->from);
    chan_reader rd = {mail, strlen(mail)};
    static const long tls[] = {[MAP_TLS_AUTO] = CURLUSESSL_TRY,
                               [MAP_TLS_ALWAYS] = CURLUSESSL_ALL,
                               [MAP_TLS_NEVER] = CURLUSESSL_NONE};
    curl_easy_setopt(h, CURLOPT_URL, s->url);
    curl_easy_setopt(h, CURLOPT_MAIL_FROM, from);
    curl_easy_setopt(h, CURLOPT_MAIL_RCPT, to);
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, chan_read);
    curl_easy_setopt(h, CURLOPT_READDATA, &rd);
    curl_easy_setopt(h, CURLOPT_USE_SSL, tls[c->starttls]);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS,
                     (long)(c->timeout_ns / 1000000));
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_VERBOSE, 1L);
    curl_easy_setopt(h, CURLOPT_DEBUGFUNCTION, chan_debug);
    curl_easy_setopt(h, CURLOPT_DEBUGDATA, out);
    if (c->username) {
        curl_easy_setopt(h, CURLOPT_USERNAME, c->username);
        if (s->password)
            curl_easy_setopt(h, CURLOPT_PASSWORD, s->password);
    }
    CURLcode rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->code);
    if (rc != CURLE_OK) {
        char said[sizeof out->answer];
        snprintf(said, sizeof said, "%s", out->answer);
        chan_curl_failed(rc, errbuf, out);
        if (said[0]) {
            size_t l = strlen(out->answer);
            snprintf(out->answer + l, sizeof out->answer - l,
                     " (server: %s)", said);
        }
    } else {
        out->ok = out->code >= 200 && out->code < 300;
    }
done:
    curl_slist_free_all(to);
    if (h)
        curl_easy_cleanup(h);
}

/* ---- webhook ------------------------------------------------------------ */

typedef struct {
    char buf[768];
    size_t len;
} chan_body;

static size_t chan_write(char *data, size_t size, size_t nmemb, void *ctx)
{
    chan_body *b = ctx;
    size_t n = size * nmemb, room = sizeof b->buf - 1 - b->len;
    /* keep the start of the answer; read the rest away */
    memcpy(b->buf + b->len, data, n < room ? n : room);
    b->len += n < room ? n : room;
    b->buf[b->len] = '\0';
    return size * nmemb;
}

/* body POSTed as JSON to url; out->answer "HTTP 200: <body>"; *ans
 * holds the start of the body. */
static void chan_post(const map_channel *c, const char *url,
                      const char *body, chan_body *ans, chan_result *out)
{
    memset(out, 0, sizeof *out);
    CURL *h = curl_easy_init();
    struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: "
                                               "application/json");
    if (!h || !hdr) {
        snprintf(out->answer, sizeof out->answer, "out of memory");
        goto done;
    }
    char errbuf[CURL_ERROR_SIZE] = "";
    ans->len = 0;
    ans->buf[0] = '\0';
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    curl_easy_setopt(h, CURLOPT_USERAGENT, "lockbridge");
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS,
                     (long)(c->timeout_ns / 1000000));
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, chan_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, ans);
    CURLcode rc = curl_easy_perform(h);
    if (rc != CURLE_OK) {
        chan_curl_failed(rc, errbuf, out);
        goto done;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->code);
    out->ok = out->code >= 200 && out->code < 300;
    snprintf(out->answer, sizeof out->answer, "HTTP %ld%s%s", out->code,
             ans->len ? ": " : "", ans->buf);
done:
    curl_slist_free_all(hdr);
    if (h)
        curl_easy_cleanup(h);
}

void chan_webhook(const map_channel *c, const chan_secrets *s,
                  const char *body, chan_result *out)
{
    chan_body ans;
    chan_post(c, s->url, body, &ans, out);
}

/* ---- the robots --------------------------------------------------------- */

int chan_dingtalk_sign(const char *secret, int64_t now_ms, char *buf,
                       size_t len)
{
    char data[1200];
    int n = snprintf(data, sizeof data, "%lld\n%s", (long long)now_ms,
                     secret);
    if (n < 0 || (size_t)n >= sizeof data)
        return -1;
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned maclen = 0;
    if (!HMAC(EVP_sha256(), secret, (int)strlen(secret),
              (const unsigned char *)data, (size_t)n, mac, &maclen))
        return -1;
    unsigned char b64[64];
    EVP_EncodeBlock(b64, mac, (int)maclen);
    char *esc = curl_easy_escape(NULL, (const char *)b64, 0);
    if (!esc)
        return -1;
    int w = snprintf(buf, len, "%s", esc);
    curl_free(esc);
    return w < 0 || (size_t)w >= len ? -1 : 0;
}

static const char *chan_errcode_name(map_channel_type t, long code)
{
    static const struct {
        map_channel_type t;
        long code;
        const char *what;
    } known[] = {
        {MAP_CH_WECOM, 93000, "invalid webhook key"},
        {MAP_CH_WECOM, 45009, "rate limited"},
        {MAP_CH_DINGTALK, 310000, "bad signature or keyword"},
        {MAP_CH_DINGTALK, 130101, "sending too fast"},
        {MAP_CH_DINGTALK, 300001, "bad token"},
    };
    for (size_t i = 0; i < sizeof known / sizeof *known; i++)
        if (known[i].t == t && known[i].code == code)
            return known[i].what;
    return NULL;
}

void chan_robot(const map_channel *c, const chan_secrets *s,
                const char *body, int64_t now_ms, chan_result *out)
{
    char *url = NULL;
    if (c->type == MAP_CH_DINGTALK && s->secret) {
        char sign[160];
        if (chan_dingtalk_sign(s->secret, now_ms, sign, sizeof sign) < 0 ||
            asprintf(&url, "%s%ctimestamp=%lld&sign=%s", s->url,
                     strchr(s->url, '?') ? '&' : '?', (long long)now_ms,
                     sign) < 0) {
            memset(out, 0, sizeof *out);
            snprintf(out->answer, sizeof out->answer, "cannot sign the URL");
            return;
        }
    }
    chan_body ans;
    chan_post(c, url ? url : s->url, body, &ans, out);
    free(url);
    if (!out->ok)
        return;
    /* Both robots answer 200 whatever happened: the errcode decides. */
    cJSON *j = cJSON_Parse(ans.buf);
    const cJSON *ec = j ? cJSON_GetObjectItem(j, "errcode") : NULL;
    if (!cJSON_IsNumber(ec)) {
        out->ok = false;
        size_t l = strlen(out->answer);
        snprintf(out->answer + l, sizeof out->answer - l, " (no errcode in "
                 "the answer)");
    } else if (ec->valuedouble != 0) {
        out->ok = false;
        const char *what = chan_errcode_name(c->type, (long)ec->valuedouble);
        size_t l = strlen(out->answer);
        snprintf(out->answer + l, sizeof out->answer - l, " (errcode %ld%s%s)",
                 (long)ec->valuedouble, what ? ": " : "", what ? what : "");
    }
    cJSON_Delete(j);
}
