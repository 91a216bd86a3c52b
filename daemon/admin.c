/* daemon/admin.c: the admin HTTP server: liveness, readiness, Prometheus metrics, and the routes
 * other modules register. Every request is answered inside its callback; nothing here blocks. */
#include "daemon/admin.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <event2/util.h>

#include "collectors/util.h"
#include "common/addr.h"
#include "common/buf.h"
#include "common/err.h"
#include "common/log.h"
#include "common/metrics.h"

#define MAX_ROUTES 32
#define MAX_PATH 64
/* Bounds on what a client can make us buffer. Admin requests are a line and a few headers; the
 * body limit leaves room for small JSON documents on routes added later. */
#define MAX_HEADERS_SIZE (8 * 1024)
#define MAX_BODY_SIZE (64 * 1024)
#define IO_TIMEOUT_S 10 /* idle or slow connections are closed after this */
#define LISTEN_BACKLOG 64

static const struct ad_opt admin_opts[] = {
    AD_OPT_STRING_R("listen", "127.0.0.1:9101", "64", struct ad_admin_cfg, listen,
                    "Admin HTTP address (/healthz, /readyz, /metrics): \"IPv4:port\" or "
                    "\"[IPv6]:port\"; empty disables it."),
    AD_TLS_OPTS(struct ad_admin_cfg, tls),
    AD_OPT_END,
};

const struct ad_section ad_admin_section = {"admin", "Admin HTTP server.", admin_opts,
                                            sizeof(struct ad_admin_cfg)};

struct route {
    char path[MAX_PATH];
    ad_admin_handler fn;
    void *ctx;
    uint64_t requests;
};

struct ad_admin {
    struct evhttp *http; /* NULL when disabled; owns the listener and connections */
    struct ad_tls *tls;  /* NULL: plain HTTP */
    int port;
    struct ad_admin_hooks hooks;
    struct route routes[MAX_ROUTES];
    size_t n_routes;
    /* Requests for paths without a route share one series, so a scanner cannot grow /metrics. */
    uint64_t unrouted;
    struct ad_buf scratch; /* /metrics body, reused */
};

void ad_admin_reply(struct evhttp_request *req, int code, const char *content_type,
                    const void *body, size_t len)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_remove_header(h, "Content-Type");
    evhttp_add_header(h, "Content-Type", content_type);
    if (len > 0)
        evbuffer_add(evhttp_request_get_output_buffer(req), body, len);
    evhttp_send_reply(req, code, NULL, NULL); /* NULL: the standard reason phrase */
}

static void reply_text(struct evhttp_request *req, int code, const char *text)
{
    ad_admin_reply(req, code, "text/plain; charset=utf-8", text, strlen(text));
}

/* The built-in routes only read: GET, and HEAD (evhttp leaves the body out). */
static bool is_get(struct evhttp_request *req)
{
    enum evhttp_cmd_type m = evhttp_request_get_command(req);
    if (m == EVHTTP_REQ_GET || m == EVHTTP_REQ_HEAD)
        return true;
    evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, HEAD");
    reply_text(req, 405, "method not allowed\n");
    return false;
}

static void on_healthz(struct evhttp_request *req, void *ctx)
{
    (void)ctx;
    if (is_get(req))
        reply_text(req, 200, "ok\n");
}

static void on_readyz(struct evhttp_request *req, void *ctx)
{
    struct ad_admin *a = ctx;
    char why[256] = "", body[sizeof(why) + 1];
    if (!is_get(req))
        return;
    if (!a->hooks.ready || a->hooks.ready(a->hooks.ctx, why, sizeof(why))) {
        reply_text(req, 200, "ready\n");
        return;
    }
    why[sizeof(why) - 1] = '\0';
    snprintf(body, sizeof(body), "%s\n", why[0] ? why : "not ready");
    reply_text(req, 503, body);
}

static const char requests_help[] =
    "Admin HTTP requests, by route (\"other\": paths without a route).";

static void on_metrics(struct evhttp_request *req, void *ctx)
{
    struct ad_admin *a = ctx;
    struct ad_metrics m;
    char label[MAX_PATH + 16];

    if (!is_get(req))
        return;
    ad_buf_reset(&a->scratch);
    ad_metrics_init(&m, &a->scratch);
    if (a->hooks.metrics)
        a->hooks.metrics(a->hooks.ctx, &m);
    for (size_t i = 0; i < a->n_routes; i++) {
        snprintf(label, sizeof(label), "path=\"%s\"", a->routes[i].path);
        ad_metrics_counter(&m, "aiopsd_admin_requests_total", requests_help, label,
                           a->routes[i].requests);
    }
    ad_metrics_counter(&m, "aiopsd_admin_requests_total", requests_help, "path=\"other\"",
                       a->unrouted);
    if (a->tls)
        ad_tls_stats(a->tls, "admin", &m);
    if (!a->scratch.p) {
        reply_text(req, 500, "out of memory\n");
        return;
    }
    ad_admin_reply(req, 200, "text/plain; version=0.0.4; charset=utf-8", a->scratch.p,
                   a->scratch.len);
}

static void on_request(struct evhttp_request *req, void *arg)
{
    struct ad_admin *a = arg;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;

    if (path) {
        struct route *under = NULL; /* the longest "/prefix/" route holding path */
        for (size_t i = 0; i < a->n_routes; i++) {
            struct route *rt = &a->routes[i];
            size_t n = strlen(rt->path);
            if (strcmp(rt->path, path) == 0) {
                under = rt;
                break;
            }
            if (rt->path[n - 1] == '/' && strncmp(rt->path, path, n) == 0 && path[n] &&
                (!under || n > strlen(under->path)))
                under = rt;
        }
        if (under) {
            under->requests++;
            under->fn(req, under->ctx);
            return;
        }
    }
    a->unrouted++;
    reply_text(req, 404, "not found\n");
}

int ad_admin_route(struct ad_admin *a, const char *path, ad_admin_handler h, void *ctx)
{
    size_t n = path ? strlen(path) : 0;
    /* The path becomes a label value on /metrics: keep it free of characters needing escapes. */
    if (!a || !h || n == 0 || n >= MAX_PATH || path[0] != '/' || strpbrk(path, "\"\\\n"))
        return -EINVAL;
    for (size_t i = 0; i < a->n_routes; i++)
        if (strcmp(a->routes[i].path, path) == 0)
            return -EEXIST;
    if (a->n_routes == MAX_ROUTES)
        return -ENOBUFS;
    struct route *rt = &a->routes[a->n_routes++];
    memcpy(rt->path, path, n + 1);
    rt->fn = h;
    rt->ctx = ctx;
    rt->requests = 0;
    return 0;
}

static int start_http(struct ad_admin *a, const struct ad_admin_cfg *cfg,
                      struct event_base *base, struct ad_err *reterr)
{
    const char *listen = cfg->listen;
    char host[64];
    int r;
    if (ad_tls_cfg_enabled(&cfg->tls) &&
        (r = ad_tls_create(&cfg->tls, "admin", &a->tls, reterr)) < 0)
        return r;
    a->http = evhttp_new(base);
    if (!a->http)
        return ad_err_set(reterr, ENOMEM, "admin: cannot create the HTTP server");
    evhttp_set_max_headers_size(a->http, MAX_HEADERS_SIZE);
    evhttp_set_max_body_size(a->http, MAX_BODY_SIZE);
    evhttp_set_timeout(a->http, IO_TIMEOUT_S);
    evhttp_set_default_content_type(a->http, "text/plain; charset=utf-8");
    evhttp_set_gencb(a->http, on_request, a);
    if (a->tls)
        ad_tls_serve_http(a->tls, a->http);
    r = ad_http_listen(a->http, base, "admin", listen, LISTEN_BACKLOG, &a->port, reterr);
    if (r < 0)
        return r;
    ad_addr_host(listen, host, sizeof(host));
    ad_log(AD_LOG_INFO, "admin: listening on %s://%s:%d", a->tls ? "https" : "http", host, a->port);
    return 0;
}

int ad_admin_create(const struct ad_admin_cfg *cfg, struct event_base *base,
                    const struct ad_admin_hooks *hooks, struct ad_admin **ret,
                    struct ad_err *reterr)
{
    struct ad_admin *a = calloc(1, sizeof(*a));
    int r;

    if (!a)
        return ad_err_set(reterr, ENOMEM, "admin: out of memory");
    if (hooks)
        a->hooks = *hooks;
    ad_buf_init(&a->scratch);
    if ((r = ad_admin_route(a, "/healthz", on_healthz, a)) < 0 ||
        (r = ad_admin_route(a, "/readyz", on_readyz, a)) < 0 ||
        (r = ad_admin_route(a, "/metrics", on_metrics, a)) < 0) {
        ad_err_set(reterr, -r, "admin: cannot add the built-in routes");
        goto out_destroy;
    }
    if (cfg && cfg->listen && cfg->listen[0]) {
        r = start_http(a, cfg, base, reterr);
        if (r < 0)
            goto out_destroy;
    } else {
        ad_log(AD_LOG_INFO, "admin: disabled (admin.listen is empty)");
    }
    *ret = a;
    return 0;

out_destroy:
    ad_admin_destroy(a);
    return r;
}

int ad_admin_port(const struct ad_admin *a)
{
    return a ? a->port : 0;
}

void ad_admin_destroy(struct ad_admin *a)
{
    if (!a)
        return;
    if (a->http)
        evhttp_free(a->http);
    ad_tls_destroy(a->tls); /* after the connections that use it */
    ad_buf_fini(&a->scratch);
    free(a);
}

void ad_admin_reload(struct ad_admin *a)
{
    struct ad_err err;
    if (a && a->tls)
        ad_tls_reload(a->tls, &err); /* logs either way */
}
