/*
 * files.c - the dashboard's static files, and nothing outside them.
 *
 * lws has already decoded %xx and folded "/./" and "/../" in the path it
 * hands us, so the checks here do not depend on spotting every spelling
 * of "..": the path is refused if any segment is empty-dotted or hidden,
 * then joined to the web root and resolved with realpath(), which follows
 * symbolic links; only a regular file whose real path is inside the real
 * root is served.  A file with a precompressed sibling (`app.js.gz`) is
 * sent compressed to clients that accept gzip.  Bundles whose name carries
 * a content hash are cached for a year, everything else revalidated.
 */
#include "web/internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const struct {
    const char *ext;
    const char *mime;
} web_mimes[] = {
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
    {".json", "application/json"},
    {".map", "application/json"},
    {".txt", "text/plain; charset=utf-8"},
    {".woff2", "font/woff2"},
};

static const char *web_mime(const char *path)
{
    const char *dot = strrchr(path, '.');
    if (dot && !strchr(dot, '/'))
        for (size_t i = 0; i < sizeof web_mimes / sizeof *web_mimes; i++)
            if (strcmp(dot, web_mimes[i].ext) == 0)
                return web_mimes[i].mime;
    return "application/octet-stream";
}

/* A path lws may hand us after decoding: refuse anything that is not
 * plain segments of visible names. */
static bool web_path_plain(const char *uri)
{
    if (uri[0] != '/' || strlen(uri) > 512)
        return false;
    for (const char *s = uri + 1; *s;) {
        const char *e = strchr(s, '/');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        if (n == 0 || s[0] == '.')
            return false;          /* "//", ".", "..", ".hidden" */
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)s[i] < 0x20 || s[i] == '\\')
                return false;
        if (!e)
            break;
        s = e + 1;
    }
    return true;
}

/* "app-3FZ2KQ.js": esbuild's [name]-[hash] naming. */
static bool web_hashed(const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *dash = strrchr(base, '-');
    const char *dot = strrchr(base, '.');
    if (!dash || !dot || dot < dash || dot - dash < 9)
        return false;
    for (const char *c = dash + 1; c < dot; c++)
        if (!((*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9')))
            return false;
    return true;
}

bool web_accepts_gzip(struct lws *wsi)
{
    char ae[256] = "";
    if (lws_hdr_copy(wsi, ae, sizeof ae, WSI_TOKEN_HTTP_ACCEPT_ENCODING) < 0)
        return false;
    return strstr(ae, "gzip") != NULL;
}

int web_files_serve(web *w, struct lws *wsi, web_pss *pss, const char *uri)
{
    if (!w->root)
        return web_reply_error(wsi, pss, 404, "the dashboard is not "
                               "installed (web.root is not set)");
    if (strcmp(uri, "/") == 0)
        uri = "/index.html";
    if (!web_path_plain(uri))
        return web_reply_error(wsi, pss, 404, "not found");
    char want[PATH_MAX], real[PATH_MAX];
    if ((size_t)snprintf(want, sizeof want, "%s%s", w->root, uri) >=
        sizeof want)
        return web_reply_error(wsi, pss, 404, "not found");
    struct stat sb;
    size_t rl = strlen(w->root);
    if (!realpath(want, real) || strncmp(real, w->root, rl) != 0 ||
        real[rl] != '/' || stat(real, &sb) < 0 || !S_ISREG(sb.st_mode))
        return web_reply_error(wsi, pss, 404, "not found");
    const char *mime = web_mime(real);
    /* What this file's answer adds to the common headers: HEAD gets
     * them from web_reply_head, GET from the prefix below. */
    char headers[640];
    const size_t cl = strlen(WEB_COMMON_HEADERS);
    memcpy(headers, WEB_COMMON_HEADERS, cl);
    char *extra = headers + cl;
    const size_t extra_size = sizeof headers - cl;
    int hl = snprintf(extra, extra_size, "%s",
                      web_hashed(real)
                          ? "Cache-Control: public, max-age=31536000, "
                            "immutable\r\n"
                          : "Cache-Control: no-cache\r\n");
    if (strncmp(mime, "text/html", 9) == 0)
        hl += snprintf(extra + hl, extra_size - (size_t)hl,
                       "Content-Security-Policy: default-src 'self'; "
                       "connect-src 'self'; img-src 'self' data:; "
                       "style-src 'self'; frame-ancestors 'none'\r\n");
    char gz[PATH_MAX + 4];
    struct stat gsb;
    const char *file = real;
    if (web_accepts_gzip(wsi) &&
        (size_t)snprintf(gz, sizeof gz, "%s.gz", real) < sizeof gz &&
        stat(gz, &gsb) == 0 && S_ISREG(gsb.st_mode)) {
        file = gz;
        hl += snprintf(extra + hl, extra_size - (size_t)hl,
                       "Content-Encoding: gzip\r\nVary: Accept-Encoding\r\n");
    }
    if (pss->head_only) {
        struct stat fsb;
        if (stat(file, &fsb) < 0)
            return web_reply_error(wsi, pss, 404, "not found");
        return web_reply_head(wsi, pss, 200, mime, (uint64_t)fsb.st_size,
                              extra);
    }
    int n = lws_serve_http_file(wsi, file, mime, headers, (int)cl + hl);
    if (n < 0)
        return -1;
    if (n > 0)
        return 0;   /* sent, transaction completed by lws */
    return 0;
}
