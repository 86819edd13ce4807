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

#include <curl/curl.h>
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
                       &out->password, why, sizeof why) < 0) {
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
    s->url = s->password = NULL;
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

void chan_webhook(const map_channel *c, const chan_secrets *s,
                  const char *body, chan_result *out)
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
    chan_body ans = {.len = 0};
    curl_easy_setopt(h, CURLOPT_URL, s->url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    curl_easy_setopt(h, CURLOPT_USERAGENT, "lockbridge");
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS,
                     (long)(c->timeout_ns / 1000000));
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, chan_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &ans);
    CURLcode rc = curl_easy_perform(h);
    if (rc != CURLE_OK) {
        chan_curl_failed(rc, errbuf, out);
        goto done;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->code);
    out->ok = out->code >= 200 && out->code < 300;
    snprintf(out->answer, sizeof out->answer, "HTTP %ld%s%s", out->code,
             ans.len ? ": " : "", ans.buf);
done:
    curl_slist_free_all(hdr);
    if (h)
        curl_easy_cleanup(h);
}
