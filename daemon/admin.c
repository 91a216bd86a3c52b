/* daemon/admin.c: the admin HTTP server: liveness, readiness, Prometheus metrics, and the routes
 * other modules register, behind bearer-token authorisation (docs/security.md). Every request is
 * answered inside its callback; nothing here blocks. */
#include "daemon/admin.h"

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <event2/util.h>

#include "collectors/http_guard.h"
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
#define LISTEN_BACKLOG 64
#define DEFAULT_MAX_CONNS 64 /* for a cfg built without the option table (tests) */
#define DEFAULT_TIMEOUT_S 10

static const struct ad_opt admin_opts[] = {
    AD_OPT_STRING_R("listen", "127.0.0.1:9101", "64", struct ad_admin_cfg, listen,
                    "Admin HTTP address (/healthz, /readyz, /metrics): \"IPv4:port\" or "
                    "\"[IPv6]:port\"; empty disables it."),
    AD_OPT_UINT_R("max_connections", "64", "1", "65536", struct ad_admin_cfg, max_connections,
                  "Admin connections at once; further ones are accepted and closed at once."),
    {"request_timeout", AD_OPT_T_DURATION, "10s", "1s", "10m",
     offsetof(struct ad_admin_cfg, request_timeout_ns), AD_OPT_RESTART, NULL,
     "A request must arrive whole within this time from its connection's start (or the previous "
     "answer): a client sending slowly cannot extend it, and idle connections close after it."},
    AD_OPT_STRING_R("token_file", "", "4096", struct ad_admin_cfg, token_file,
                    "File holding the read bearer token: when set, GET requests other than "
                    "/healthz and /readyz need \"Authorization: Bearer <token>\" (the write "
                    "token also reads). Empty: reads are open."),
    AD_OPT_STRING_R("write_token_file", "", "4096", struct ad_admin_cfg, write_token_file,
                    "File holding the write bearer token: when set, every request that changes "
                    "state (POST, PUT, PATCH, DELETE: silences) needs it. Empty: writes need the "
                    "read token if there is one, else are open (keep the listener on loopback)."),
    AD_TLS_OPTS(struct ad_admin_cfg, tls),
    AD_OPT_END,
};

const struct ad_section ad_admin_section = {"admin", "Admin HTTP server.", admin_opts,
                                            sizeof(struct ad_admin_cfg)};

struct route {
    char path[MAX_PATH];
    unsigned flags; /* AD_ADMIN_* */
    ad_admin_handler fn;
    void *ctx;
    uint64_t requests;
};

/* Why a request was refused before its route ran, for aiopsd_admin_refused_total. */
enum refusal { REF_NO_TOKEN = 0, REF_WRONG_TOKEN, REF_READ_ONLY_TOKEN, REF_NOT_JSON, REF_COUNT };
static const char *const refusal_names[REF_COUNT] = {"no_token", "wrong_token", "read_only_token",
                                                     "not_json"};

struct token {
    char *value; /* NULL: not configured */
    size_t len;
};

struct ad_admin {
    struct evhttp *http;         /* NULL when disabled; owns the listener and connections */
    struct ad_http_guard *guard; /* owns http once listening */
    struct ad_tls *tls;          /* NULL: plain HTTP */
    int port;
    struct ad_admin_hooks hooks;
    struct token read, write;
    uint64_t refused[REF_COUNT];
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

/* The built-in routes only read: the server answers other methods with 405 before they run. */
static void on_healthz(struct evhttp_request *req, void *ctx)
{
    (void)ctx;
    reply_text(req, 200, "ok\n");
}

static void on_readyz(struct evhttp_request *req, void *ctx)
{
    struct ad_admin *a = ctx;
    char why[256] = "", body[sizeof(why) + 1];
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
    for (int i = 0; i < REF_COUNT; i++) {
        snprintf(label, sizeof(label), "reason=\"%s\"", refusal_names[i]);
        ad_metrics_counter(&m, "aiopsd_admin_refused_total",
                           "Admin requests refused before their route ran (401, 403, 415), by "
                           "reason.",
                           label, a->refused[i]);
    }
    ad_http_guard_stats(a->guard, &m);
    if (a->tls)
        ad_tls_stats(a->tls, "admin", &m);
    if (!a->scratch.p) {
        reply_text(req, 500, "out of memory\n");
        return;
    }
    ad_admin_reply(req, 200, "text/plain; version=0.0.4; charset=utf-8", a->scratch.p,
                   a->scratch.len);
}

static struct route *find_route(struct ad_admin *a, const char *path)
{
    struct route *under = NULL; /* the longest "/prefix/" route holding path */
    for (size_t i = 0; path && i < a->n_routes; i++) {
        struct route *rt = &a->routes[i];
        size_t n = strlen(rt->path);
        if (strcmp(rt->path, path) == 0)
            return rt;
        if (rt->path[n - 1] == '/' && strncmp(rt->path, path, n) == 0 && path[n] &&
            (!under || n > strlen(under->path)))
            under = rt;
    }
    return under;
}

static unsigned method_flag(enum evhttp_cmd_type m)
{
    switch (m) {
    case EVHTTP_REQ_GET:
    case EVHTTP_REQ_HEAD:
        return AD_ADMIN_GET;
    case EVHTTP_REQ_POST:
        return AD_ADMIN_POST;
    case EVHTTP_REQ_PUT:
        return AD_ADMIN_PUT;
    case EVHTTP_REQ_PATCH:
        return AD_ADMIN_PATCH;
    case EVHTTP_REQ_DELETE:
        return AD_ADMIN_DELETE;
    default:
        return 0;
    }
}

static const char *method_name(enum evhttp_cmd_type m)
{
    switch (m) {
    case EVHTTP_REQ_GET:
        return "GET";
    case EVHTTP_REQ_HEAD:
        return "HEAD";
    case EVHTTP_REQ_POST:
        return "POST";
    case EVHTTP_REQ_PUT:
        return "PUT";
    case EVHTTP_REQ_PATCH:
        return "PATCH";
    case EVHTTP_REQ_DELETE:
        return "DELETE";
    default:
        return "other";
    }
}

static void allow_header(struct evhttp_request *req, unsigned flags)
{
    static const struct {
        unsigned flag;
        const char *names;
    } m[] = {{AD_ADMIN_GET, "GET, HEAD"},
             {AD_ADMIN_POST, "POST"},
             {AD_ADMIN_PUT, "PUT"},
             {AD_ADMIN_PATCH, "PATCH"},
             {AD_ADMIN_DELETE, "DELETE"}};
    char allow[64] = "";
    for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++)
        if (flags & m[i].flag)
            snprintf(allow + strlen(allow), sizeof(allow) - strlen(allow), "%s%s",
                     allow[0] ? ", " : "", m[i].names);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", allow);
}

int ad_admin_check(struct ad_admin *a, const struct ad_admin_request *rq, char *why, size_t n,
                   const char **ret_token)
{
    const bool write = rq->method != AD_ADMIN_GET;
    const struct token *need = write && a->write.value ? &a->write
                               : a->read.value         ? &a->read
                                                       : NULL;
    enum refusal ref = REF_COUNT;
    int code = 0;

    *ret_token = "none";
    if (!write && (rq->route_flags & AD_ADMIN_PUBLIC))
        need = NULL;
    if (need) {
        bool w =
            a->write.value && ad_bearer_ok(rq->auth, rq->auth_len, a->write.value, a->write.len);
        bool r =
            !w && a->read.value && ad_bearer_ok(rq->auth, rq->auth_len, a->read.value, a->read.len);
        if (w || (r && need == &a->read)) {
            *ret_token = w ? "write" : "read";
        } else if (r) {
            ref = REF_READ_ONLY_TOKEN; /* known, but not allowed to change anything: 403 */
            code = 403;
            snprintf(why, n, "the read token cannot change state: use the write token");
        } else {
            ref = rq->auth ? REF_WRONG_TOKEN : REF_NO_TOKEN;
            code = 401;
            snprintf(why, n, "%s bearer token", rq->auth ? "wrong" : "missing");
        }
    }
    /* A browser posts text/plain or a form across sites without asking (no CORS preflight):
     * refusing every write body that is not JSON closes that door. */
    if (!code && write && rq->has_body && !ad_content_type_json(rq->ctype, rq->ctype_len)) {
        ref = REF_NOT_JSON;
        code = 415;
        snprintf(why, n, "a request that changes state must be Content-Type: application/json");
    }
    if (code)
        a->refused[ref]++;
    return code;
}

static void peer_of(struct evhttp_request *req, char *buf, size_t n)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    char *host = NULL;
    ev_uint16_t port = 0;
    if (evcon)
        evhttp_connection_get_peer(evcon, &host, &port);
    snprintf(buf, n, "%s%s%s:%u", host && strchr(host, ':') ? "[" : "", host ? host : "?",
             host && strchr(host, ':') ? "]" : "", (unsigned)port);
}

static void on_request(struct evhttp_request *req, void *arg)
{
    struct ad_admin *a = arg;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    struct route *rt = find_route(a, path);
    enum evhttp_cmd_type m = evhttp_request_get_command(req);

    if (!rt) {
        a->unrouted++;
        reply_text(req, 404, "not found\n");
        return;
    }
    rt->requests++;
    unsigned method = method_flag(m);
    if (!(rt->flags & method)) {
        allow_header(req, rt->flags);
        reply_text(req, 405, "method not allowed\n");
        return;
    }
    struct evkeyvalq *in = evhttp_request_get_input_headers(req);
    const char *auth = evhttp_find_header(in, "Authorization");
    const char *ctype = evhttp_find_header(in, "Content-Type");
    struct ad_admin_request rq = {method,
                                  rt->flags,
                                  auth,
                                  auth ? strlen(auth) : 0,
                                  ctype,
                                  ctype ? strlen(ctype) : 0,
                                  evbuffer_get_length(evhttp_request_get_input_buffer(req)) > 0};
    char why[128], peer[80];
    const char *token;
    int code = ad_admin_check(a, &rq, why, sizeof(why), &token);
    peer_of(req, peer, sizeof(peer));
    if (code) {
        AD_LOG_RATELIMITED(AD_LOG_WARN, "admin: %s %s from %s refused (%d): %s", method_name(m),
                           path, peer, code, why);
        if (code == 401)
            evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate",
                              "Bearer realm=\"aiopsd\"");
        char body[sizeof(why) + 1];
        snprintf(body, sizeof(body), "%s\n", why);
        reply_text(req, code, body);
        return;
    }
    if (method != AD_ADMIN_GET)
        ad_log(AD_LOG_NOTICE, "admin: %s %s from %s (token: %s)", method_name(m), path, peer,
               token);
    rt->fn(req, rt->ctx);
}

int ad_admin_route(struct ad_admin *a, const char *path, ad_admin_handler h, void *ctx)
{
    return ad_admin_route_flags(a, path, AD_ADMIN_ANY, h, ctx);
}

int ad_admin_route_flags(struct ad_admin *a, const char *path, unsigned flags, ad_admin_handler h,
                         void *ctx)
{
    size_t n = path ? strlen(path) : 0;
    /* The path becomes a label value on /metrics: keep it free of characters needing escapes. */
    if (!a || !h || n == 0 || n >= MAX_PATH || path[0] != '/' || strpbrk(path, "\"\\\n") ||
        !(flags & AD_ADMIN_ANY))
        return -EINVAL;
    for (size_t i = 0; i < a->n_routes; i++)
        if (strcmp(a->routes[i].path, path) == 0)
            return -EEXIST;
    if (a->n_routes == MAX_ROUTES)
        return -ENOBUFS;
    struct route *rt = &a->routes[a->n_routes++];
    memcpy(rt->path, path, n + 1);
    rt->flags = flags;
    rt->fn = h;
    rt->ctx = ctx;
    rt->requests = 0;
    return 0;
}

/* The early check (collectors/http_guard.h): the same rules on the head, before the body. */
static int check_head(void *ctx, const struct ad_http_head *h, char *msg, size_t n)
{
    static const struct {
        const char *name;
        unsigned flag;
    } methods[] = {{"GET", AD_ADMIN_GET}, {"HEAD", AD_ADMIN_GET},    {"POST", AD_ADMIN_POST},
                   {"PUT", AD_ADMIN_PUT}, {"PATCH", AD_ADMIN_PATCH}, {"DELETE", AD_ADMIN_DELETE}};
    struct ad_admin *a = ctx;
    char path[MAX_PATH * 4];
    unsigned method = 0;
    const char *token;

    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
        if (strlen(methods[i].name) == h->method_len &&
            memcmp(methods[i].name, h->method, h->method_len) == 0)
            method = methods[i].flag;
    if (h->path_len >= sizeof(path))
        return 0; /* no route is that long: 404 without reading much */
    memcpy(path, h->path, h->path_len);
    path[h->path_len] = '\0';
    struct route *rt = find_route(a, path);
    if (!method || !rt || !(rt->flags & method))
        return 0; /* 404 or 405 from on_request */
    struct ad_admin_request rq = {method,   rt->flags,    h->auth,    h->auth_len,
                                  h->ctype, h->ctype_len, h->has_body};
    return ad_admin_check(a, &rq, msg, n, &token);
}

static int start_http(struct ad_admin *a, const struct ad_admin_cfg *cfg, struct event_base *base,
                      struct ad_err *reterr)
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
    uint64_t max_conns = cfg->max_connections ? cfg->max_connections : DEFAULT_MAX_CONNS;
    int64_t timeout_ns =
        cfg->request_timeout_ns > 0 ? cfg->request_timeout_ns : DEFAULT_TIMEOUT_S * 1000000000LL;
    evhttp_set_timeout(a->http, (int)(timeout_ns / 1000000000));
    evhttp_set_default_content_type(a->http, "text/plain; charset=utf-8");
    struct ad_http_guard_cfg gc = {"admin",    max_conns, timeout_ns, false, check_head, a,
                                   on_request, a, a->tls ? ad_tls_http_bev : NULL, a->tls};
    r = ad_http_guard_listen(a->http, base, &gc, "admin", listen, LISTEN_BACKLOG, &a->guard,
                             &a->port, reterr);
    if (r < 0)
        return r;
    ad_addr_host(listen, host, sizeof(host));
    ad_log(AD_LOG_INFO, "admin: listening on %s://%s:%d (at most %" PRIu64 " connections)",
           a->tls ? "https" : "http", host, a->port, max_conns);
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
    /* Health checks stay open: probes rarely carry tokens, and they tell little. */
    if ((r = ad_admin_route_flags(a, "/healthz", AD_ADMIN_GET | AD_ADMIN_PUBLIC, on_healthz, a)) <
            0 ||
        (r = ad_admin_route_flags(a, "/readyz", AD_ADMIN_GET | AD_ADMIN_PUBLIC, on_readyz, a)) <
            0 ||
        (r = ad_admin_route_flags(a, "/metrics", AD_ADMIN_GET, on_metrics, a)) < 0) {
        ad_err_set(reterr, -r, "admin: cannot add the built-in routes");
        goto out_destroy;
    }
    if (cfg && cfg->token_file && cfg->token_file[0] &&
        (r = ad_secret_read(cfg->token_file, "admin.token_file", &a->read.value, &a->read.len,
                            reterr)) < 0)
        goto out_destroy;
    if (cfg && cfg->write_token_file && cfg->write_token_file[0] &&
        (r = ad_secret_read(cfg->write_token_file, "admin.write_token_file", &a->write.value,
                            &a->write.len, reterr)) < 0)
        goto out_destroy;
    if (a->read.value && a->write.value && a->read.len == a->write.len &&
        memcmp(a->read.value, a->write.value, a->read.len) == 0) {
        r = ad_err_set(reterr, EINVAL,
                       "admin: token_file and write_token_file hold the same token; give the "
                       "write token its own value");
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
    if (a->guard)
        ad_http_guard_destroy(a->guard); /* frees the server with it */
    else if (a->http)
        evhttp_free(a->http);
    ad_tls_destroy(a->tls); /* after the connections that use it */
    ad_buf_fini(&a->scratch);
    ad_secret_free(a->read.value, a->read.len);
    ad_secret_free(a->write.value, a->write.len);
    free(a);
}

void ad_admin_reload(struct ad_admin *a)
{
    struct ad_err err;
    if (a && a->tls)
        ad_tls_reload(a->tls, &err); /* logs either way */
}
