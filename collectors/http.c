/* collectors/http.c: the HTTP collector (libevent evhttp). Two endpoints:
 *   POST /api/v1/events        one event or a JSON array of events (docs/events.md)
 *   POST /api/v1/alertmanager  Prometheus Alertmanager's webhook payload (version 4)
 * Every request is answered inside its callback, after its events went into the pipeline: a 2xx
 * means accepted, anything else means nothing of the request was taken (batches are all or
 * nothing). Wire format, status codes and delivery guarantee: docs/collector-http.md. */
#include "collectors/collector.h"
#include "collectors/http_guard.h"
#include "collectors/tls.h"
#include "collectors/util.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>

#include "common/addr.h"
#include "common/arena.h"
#include "common/buf.h"
#include "common/err.h"
#include "common/event.h"
#include "common/json.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/str.h"
#include "common/time.h"

#define ARENA_CHUNK (64 * 1024)
#define MAX_HEADERS_SIZE (16 * 1024)
#define LISTEN_BACKLOG 128
#define RETRY_AFTER_S "1" /* what a 503 asks the client to wait */

struct http_cfg {
    bool enabled; /* must stay first: AD_COLLECTOR_ENABLED */
    char *listen;
    char *token_file;
    uint64_t max_body_size, max_connections;
    int64_t timeout_ns;
    struct ad_strlist resource_labels, service_labels;
    struct ad_tls_cfg tls;
};

static const struct ad_opt http_opts[] = {
    AD_OPT_BOOL_R("enabled", "false", struct http_cfg, enabled,
                  "Receive events and Alertmanager webhooks over HTTP."),
    AD_OPT_STRING_R("listen", "127.0.0.1:9102", "64", struct http_cfg, listen,
                    "Address to listen on: \"IPv4:port\" or \"[IPv6]:port\"."),
    AD_OPT_STRING_R("token_file", "", "4096", struct http_cfg, token_file,
                    "File holding a bearer token; when set, requests need \"Authorization: Bearer "
                    "<token>\". Empty: no authentication (keep the listener on loopback)."),
    AD_OPT_SIZE_R("max_body_size", "8MiB", "1KiB", "256MiB", struct http_cfg, max_body_size,
                  "Largest request body; larger ones are refused with 413."),
    AD_OPT_UINT_R("max_connections", "256", "1", "65536", struct http_cfg, max_connections,
                  "Connections at once; further ones are accepted and closed at once."),
    {"timeout", AD_OPT_T_DURATION, "30s", "1s", "1h", offsetof(struct http_cfg, timeout_ns),
     AD_OPT_RESTART, NULL,
     "A request must arrive whole within this time from its connection's start (or the previous "
     "answer): a client sending slowly cannot extend it, and idle connections close after it."},
    AD_OPT_STRLIST_R("resource_labels", "instance,host,node,pod,job", struct http_cfg,
                     resource_labels,
                     "Alertmanager: labels giving the event's resource, first present wins (none: "
                     "the alertname)."),
    AD_OPT_STRLIST_R("service_labels", "service,app,job,namespace", struct http_cfg, service_labels,
                     "Alertmanager: labels giving the event's service, first present wins (none: "
                     "the resource)."),
    AD_TLS_OPTS(struct http_cfg, tls),
    AD_OPT_END,
};

enum endpoint { EP_EVENTS = 0, EP_ALERTMANAGER, EP_OTHER, EP_COUNT };
static const char *const ep_paths[EP_COUNT] = {"/api/v1/events", "/api/v1/alertmanager", NULL};
static const char *const ep_names[EP_COUNT] = {"events", "alertmanager", "other"};

/* The status codes we answer with, for aiopsd_http_requests_total. */
static const int codes[] = {200, 400, 401, 404, 405, 500, 503};
#define N_CODES (sizeof(codes) / sizeof(codes[0]))

struct hc {
    const struct ad_collector_env *env; /* borrowed; outlives us */
    char *listen;
    char *token; /* NULL: no authentication */
    size_t token_len;
    size_t max_body;
    uint64_t max_conns;
    int64_t timeout_ns;
    struct ad_strlist resource_labels, service_labels;
    struct ad_str *res_v, *svc_v; /* slices of the lists, for ad_am_map */
    struct ad_am_map map;
    struct ad_tls *tls; /* NULL: plain HTTP */

    struct evhttp *http;
    struct ad_http_guard *guard; /* owns http once listening */
    int port;
    struct ad_arena arena; /* escaped strings of one request */
    struct ad_json_parser *parser;
    struct ad_buf reply; /* reply body, reused */

    bool started, paused, stopped;
    bool in_request; /* destroy() from an emit/reject callback defers the free */
    bool doomed;

    struct ad_collector_counts n;
    uint64_t requests[EP_COUNT][N_CODES];
    uint64_t am_truncated, am_labels_dropped;
};

/* --- replies --------------------------------------------------------------------------------- */

static void count(struct hc *c, enum endpoint ep, int code)
{
    for (size_t i = 0; i < N_CODES; i++)
        if (codes[i] == code)
            c->requests[ep][i]++;
}

static void send_json(struct hc *c, struct evhttp_request *req, enum endpoint ep, int code)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Content-Type", "application/json");
    if (c->reply.p && c->reply.len)
        evbuffer_add(evhttp_request_get_output_buffer(req), c->reply.p, c->reply.len);
    count(c, ep, code);
    evhttp_send_reply(req, code, NULL, NULL);
}

/* {"error": msg[, "reason": reason]} */
static void send_error(struct hc *c, struct evhttp_request *req, enum endpoint ep, int code,
                       const char *reason, const char *msg)
{
    struct ad_jsonw w;
    ad_buf_reset(&c->reply);
    ad_jsonw_init(&w, &c->reply);
    ad_jsonw_obj_begin(&w);
    ad_jsonw_key(&w, "error");
    ad_jsonw_cstr(&w, msg);
    if (reason) {
        ad_jsonw_key(&w, "reason");
        ad_jsonw_cstr(&w, reason);
    }
    ad_jsonw_obj_end(&w);
    ad_buf_append(&c->reply, "\n", 1);
    send_json(c, req, ep, code);
}

/* --- the hot path ---------------------------------------------------------------------------- */

static bool authorized(struct hc *c, struct evhttp_request *req)
{
    if (!c->token)
        return true;
    const char *h = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
    return h && ad_bearer_ok(h, strlen(h), c->token, c->token_len);
}

/* The token is checked on the head, before the body is read: an unauthenticated client cannot make
 * us buffer max_body_size. Any path or method: 404 and 405 are for those who hold the token. */
static int check_head(void *ctx, const struct ad_http_head *h, char *msg, size_t n)
{
    struct hc *c = ctx;
    if (ad_bearer_ok(h->auth, h->auth_len, c->token, c->token_len))
        return 0;
    enum endpoint ep = EP_OTHER;
    for (int i = 0; i < EP_OTHER; i++)
        if (strlen(ep_paths[i]) == h->path_len && memcmp(ep_paths[i], h->path, h->path_len) == 0)
            ep = (enum endpoint)i;
    count(c, ep, 401);
    snprintf(msg, n, "missing or wrong bearer token");
    return 401;
}

static int emit_one(void *ctx, struct ad_event *ev)
{
    struct hc *c = ctx;
    c->n.accepted++;
    c->n.received++;
    c->env->emit(c->env->sink, ev);
    return 0;
}

static void handle_body(struct hc *c, struct evhttp_request *req, enum endpoint ep)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    const char *body = len ? (const char *)evbuffer_pullup(in, -1) : "";
    int64_t now_ns = ad_now_ns();
    uint64_t before = c->n.accepted;
    struct ad_am_info info = {0};
    struct ad_err err;
    int r;

    c->n.bytes += len;
    err.msg[0] = '\0';
    if (len == 0)
        r = ad_err_set(&err, EBADMSG, "empty request body (expected JSON)");
    else if (!body)
        r = ad_err_set(&err, ENOMEM, "out of memory");
    else if (ep == EP_EVENTS)
        r = ad_json_parse_events(c->parser, body, len, &c->arena, now_ns, emit_one, c, &err);
    else
        r = ad_json_parse_alertmanager(c->parser, body, len, &c->arena, now_ns, &c->map, emit_one,
                                       c, &info, &err);
    ad_arena_reset(&c->arena);
    uint64_t accepted = c->n.accepted - before;
    if (accepted > 0)
        c->env->batch_done(c->env->sink);

    if (r < 0) {
        /* The parsers are all or nothing: nothing of this body went into the pipeline. */
        enum ad_reject why = ad_reject_of(r);
        if (!err.msg[0])
            snprintf(err.msg, sizeof(err.msg), "%s", strerror(-r));
        c->n.received++;
        c->n.rejected[why]++;
        AD_LOG_RATELIMITED(AD_LOG_WARN, "http %s: %s (%s), sending to dead-letter", ep_paths[ep],
                           ad_reject_name(why), err.msg);
        c->env->reject(c->env->sink, ep == EP_EVENTS ? "http" : "alertmanager", body, len, err.msg);
        send_error(c, req, ep, r == -ENOMEM ? 500 : 400, ad_reject_name(why), err.msg);
        return;
    }
    c->am_truncated += info.truncated;
    c->am_labels_dropped += info.labels_dropped;
    if (info.truncated)
        AD_LOG_RATELIMITED(AD_LOG_WARN,
                           "http %s: Alertmanager left out %" PRIu64
                           " alerts (its max_alerts); raise it or expect gaps",
                           ep_paths[ep], info.truncated);

    struct ad_jsonw w;
    ad_buf_reset(&c->reply);
    ad_jsonw_init(&w, &c->reply);
    ad_jsonw_obj_begin(&w);
    ad_jsonw_key(&w, "accepted");
    ad_jsonw_uint(&w, accepted);
    ad_jsonw_obj_end(&w);
    ad_buf_append(&c->reply, "\n", 1);
    send_json(c, req, ep, 200);
}

static void free_state(struct hc *c);

static void on_request(struct evhttp_request *req, void *arg)
{
    struct hc *c = arg;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    enum endpoint ep = EP_OTHER;

    for (int i = 0; path && i < EP_OTHER; i++)
        if (strcmp(path, ep_paths[i]) == 0)
            ep = (enum endpoint)i;
    if (ep == EP_OTHER) {
        send_error(c, req, ep, 404, NULL,
                   "not found: POST events to /api/v1/events, Alertmanager webhooks to "
                   "/api/v1/alertmanager");
        return;
    }
    if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "POST");
        send_error(c, req, ep, 405, NULL, "method not allowed: use POST");
        return;
    }
    if (!authorized(c, req)) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate",
                          "Bearer realm=\"aiopsd\"");
        send_error(c, req, ep, 401, NULL, "missing or wrong bearer token");
        return;
    }
    if (c->paused) {
        /* Backpressure: the Redis output is full. Nothing is taken; the sender retries. */
        evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", RETRY_AFTER_S);
        send_error(c, req, ep, 503, NULL,
                   "aiopsd cannot accept events right now (output backlog); retry later");
        return;
    }
    c->in_request = true;
    handle_body(c, req, ep);
    c->in_request = false;
    if (c->doomed)
        free_state(c);
}

/* --- lifecycle ------------------------------------------------------------------------------- */

static struct ad_str *slices(const struct ad_strlist *l)
{
    struct ad_str *v = calloc(l->n ? l->n : 1, sizeof(*v));
    for (size_t i = 0; v && i < l->n; i++)
        v[i] = (struct ad_str){l->v[i], strlen(l->v[i])};
    return v;
}

static void hc_destroy(void *state);

static int hc_create(const void *cfgp, const struct ad_collector_env *env, void **ret_state,
                     struct ad_err *reterr)
{
    const struct http_cfg *cfg = cfgp;
    struct sockaddr_storage ss;
    socklen_t sl;
    int r;

    if (ad_addr_parse(cfg->listen, &ss, &sl) < 0)
        return ad_err_set(reterr, EINVAL,
                          "collectors.http.listen: expected \"IPv4:port\" or \"[IPv6]:port\" "
                          "(e.g. 127.0.0.1:9102), got \"%s\"",
                          cfg->listen);
    struct hc *c = calloc(1, sizeof(*c));
    if (!c)
        return ad_err_set(reterr, ENOMEM, "collectors.http: out of memory");
    c->env = env;
    c->max_body = (size_t)cfg->max_body_size;
    c->timeout_ns = cfg->timeout_ns;
    c->max_conns = cfg->max_connections;
    ad_arena_init(&c->arena, ARENA_CHUNK);
    ad_buf_init(&c->reply);
    c->listen = strdup(cfg->listen);
    if (!c->listen || ad_strlist_copy(&c->resource_labels, &cfg->resource_labels) < 0 ||
        ad_strlist_copy(&c->service_labels, &cfg->service_labels) < 0 ||
        !(c->res_v = slices(&c->resource_labels)) || !(c->svc_v = slices(&c->service_labels))) {
        r = ad_err_set(reterr, ENOMEM, "collectors.http: out of memory");
        goto out_destroy;
    }
    c->map = (struct ad_am_map){c->res_v, c->resource_labels.n, c->svc_v, c->service_labels.n};
    if (cfg->token_file[0] && (r = ad_secret_read(cfg->token_file, "collectors.http.token_file",
                                                  &c->token, &c->token_len, reterr)) < 0)
        goto out_destroy;
    if (ad_tls_cfg_enabled(&cfg->tls) &&
        (r = ad_tls_create(&cfg->tls, "collectors.http", &c->tls, reterr)) < 0)
        goto out_destroy;
    r = ad_json_parser_create(c->max_body, &c->parser);
    if (r < 0) {
        ad_err_set(reterr, -r, "collectors.http: cannot create the JSON parser: %s", strerror(-r));
        goto out_destroy;
    }
    *ret_state = c;
    return 0;

out_destroy:
    hc_destroy(c);
    return r;
}

static int hc_start(void *state, struct ad_err *reterr)
{
    struct hc *c = state;
    char host[64];

    if (c->started || c->stopped)
        return ad_err_set(reterr, EINVAL, "collectors.http: already started");
    c->http = evhttp_new(c->env->base);
    if (!c->http)
        return ad_err_set(reterr, ENOMEM, "collectors.http: out of memory");
    evhttp_set_max_headers_size(c->http, MAX_HEADERS_SIZE);
    evhttp_set_max_body_size(c->http, (ev_ssize_t)c->max_body);
    evhttp_set_timeout(c->http, (int)(c->timeout_ns / 1000000000));
    /* Over max_body_size, read the rest of the body (discarding it) before answering 413, so the
     * client sees the answer instead of a reset connection. */
    evhttp_set_flags(c->http, EVHTTP_SERVER_LINGERING_CLOSE);
    /* Every method reaches on_request, which answers 405 itself (evhttp would say 501). */
    evhttp_set_allowed_methods(c->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                            EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
                                            EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
    struct ad_http_guard_cfg gc = {
        "http", c->max_conns, c->timeout_ns, true, c->token ? check_head : NULL, c, on_request, c,
        c->tls ? ad_tls_http_bev : NULL, c->tls};
    int r = ad_http_guard_listen(c->http, c->env->base, &gc, "collectors.http", c->listen,
                                 LISTEN_BACKLOG, &c->guard, &c->port, reterr);
    if (r < 0) {
        evhttp_free(c->http);
        c->http = NULL;
        return r;
    }
    c->started = true;
    ad_addr_host(c->listen, host, sizeof(host));
    ad_log(AD_LOG_INFO, "http: listening on %s://%s:%d (/api/v1/events, /api/v1/alertmanager%s)",
           c->tls ? "https" : "http", host, c->port, c->token ? ", bearer token required" : "");
    return 0;
}

/* Paused, requests are still read and answered, with 503: a client that is not answered would
 * time out and retry anyway, and a bounded request costs less than holding its connection. */
static void hc_pause(void *state)
{
    struct hc *c = state;
    c->paused = c->n.paused = true;
}

static void hc_resume(void *state)
{
    struct hc *c = state;
    c->paused = c->n.paused = false;
}

static void close_server(struct hc *c)
{
    ad_http_guard_destroy(c->guard); /* with the server: its listener and every connection */
    if (!c->guard)
        evhttp_free(c->http);
    c->guard = NULL;
    c->http = NULL;
}

static void hc_stop(void *state)
{
    struct hc *c = state;
    if (!c)
        return;
    c->stopped = true;
    if (c->http && !c->in_request)
        close_server(c);
}

static void free_state(struct hc *c)
{
    if (c->http)
        close_server(c);
    ad_tls_destroy(c->tls); /* after the connections that use it */
    ad_json_parser_destroy(c->parser);
    ad_arena_fini(&c->arena);
    ad_buf_fini(&c->reply);
    ad_strlist_free(&c->resource_labels);
    ad_strlist_free(&c->service_labels);
    free(c->res_v);
    free(c->svc_v);
    ad_secret_free(c->token, c->token_len);
    free(c->listen);
    free(c);
}

static void hc_destroy(void *state)
{
    struct hc *c = state;
    if (!c)
        return;
    hc_stop(c);
    if (c->in_request) {
        c->doomed = true;
        return;
    }
    free_state(c);
}

static void hc_stats(const void *state, struct ad_metrics *m)
{
    const struct hc *c = state;
    char labels[96];
    ad_collector_counts_stats(&c->n, "http", m);
    for (int e = 0; e < EP_COUNT; e++)
        for (size_t i = 0; i < N_CODES; i++) {
            if (!c->requests[e][i] && codes[i] != 200)
                continue; /* the series of codes never answered stay out of /metrics */
            snprintf(labels, sizeof(labels), "endpoint=\"%s\",code=\"%d\"", ep_names[e], codes[i]);
            ad_metrics_counter(m, "aiopsd_http_requests_total",
                               "HTTP collector requests answered, by endpoint and status code "
                               "(413 is answered by libevent and not counted).",
                               labels, c->requests[e][i]);
        }
    ad_metrics_counter(m, "aiopsd_alertmanager_truncated_alerts_total",
                       "Alerts Alertmanager said it left out of webhooks (truncatedAlerts).", NULL,
                       c->am_truncated);
    ad_metrics_counter(m, "aiopsd_alertmanager_labels_dropped_total",
                       "Alertmanager labels past the event's label bound, not kept.", NULL,
                       c->am_labels_dropped);
    ad_http_guard_stats(c->guard, m);
    ad_metrics_gauge(m, "aiopsd_http_listen_port", "TCP port the HTTP collector listens on.", NULL,
                     (double)c->port);
    if (c->tls)
        ad_tls_stats(c->tls, "http", m);
}

static void hc_reload(void *state)
{
    struct hc *c = state;
    struct ad_err err;
    if (c->tls)
        ad_tls_reload(c->tls, &err); /* logs either way */
}

const struct ad_collector_ops ad_collector_http = {
    .name = "http",
    .doc = "HTTP endpoints for event JSON (POST /api/v1/events) and Prometheus Alertmanager "
           "webhooks (POST /api/v1/alertmanager).",
    .opts = http_opts,
    .cfg_size = sizeof(struct http_cfg),
    .create = hc_create,
    .start = hc_start,
    .pause = hc_pause,
    .resume = hc_resume,
    .stop = hc_stop,
    .stats = hc_stats,
    .reload = hc_reload,
    .destroy = hc_destroy,
};
