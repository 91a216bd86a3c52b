/* collectors/http_guard.h: keeps an evhttp server bounded whatever its clients do
 * (docs/security.md):
 *  - at most max_connections at once: one more is accepted and closed at once, and counted;
 *  - a deadline per request, from the connection's start or the previous answer to the last byte
 *    of the request: a client trickling a byte at a time cannot extend it (evhttp's own timeout
 *    restarts on every byte);
 *  - an early check on the head of each request (method, path, Authorization, Content-Type) before
 *    evhttp reads its body, so an unauthenticated client cannot make us buffer megabytes;
 *  - accept() errors (EMFILE) counted, logged rate-limited, and accepting paused briefly instead
 *    of spinning on a listener that stays readable.
 * The guard owns the evhttp once listening: free both with ad_http_guard_destroy(). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ad_err;
struct ad_metrics;
struct bufferevent;
struct event_base;
struct evhttp;
struct evhttp_request;
struct ad_http_guard;

/* The head of a request as it arrives, before evhttp parses it; slices into the input (not
 * NUL-terminated), valid during the call. */
struct ad_http_head {
    const char *method; /* "POST" */
    size_t method_len;
    const char *path; /* without the query string: "/api/v1/events" */
    size_t path_len;
    const char *auth; /* Authorization value, NULL when absent */
    size_t auth_len;
    const char *ctype; /* Content-Type value, NULL when absent */
    size_t ctype_len;
    bool has_body; /* Content-Length above 0, or Transfer-Encoding */
};
/* 0 lets the request through (its route still runs every check); an HTTP status (401, 403, 415)
 * refuses it before its body is read, msg (n bytes) saying why. Runs on the loop; must not block.
 */
typedef int (*ad_http_head_fn)(void *ctx, const struct ad_http_head *h, char *msg, size_t n);

struct ad_http_guard_cfg {
    const char *name;         /* log lines and the listener="" label: "admin", "http" */
    uint64_t max_connections; /* at least 1 */
    int64_t deadline_ns;      /* a request must arrive whole within this */
    bool json_errors;         /* early refusals as {"error":"..."} (else text/plain) */
    ad_http_head_fn head;     /* NULL: no early check */
    void *head_ctx;
    void (*handler)(struct evhttp_request *req, void *ctx); /* the server's request callback */
    void *handler_ctx;
    /* NULL: plain connections; else makes each connection's bufferevent (fd -1: evhttp sets the
     * accepted socket), e.g. a TLS one (collectors/tls.h: ad_tls_http_bev). */
    struct bufferevent *(*new_bev)(struct event_base *base, void *ctx);
    void *bev_ctx;
};

/* Serves http on listen ("IPv4:port" or "[IPv6]:port"; port 0 picks one) under cfg (copied; the
 * contexts are borrowed). what names the server in errors ("admin", "collectors.http"). Sets the
 * server's request callback: do not call evhttp_set_gencb() or evhttp_set_bevcb() on it. Returns 0
 * with *ret and *ret_port set, or -errno with reterr set (and http left to the caller). */
int ad_http_guard_listen(struct evhttp *http, struct event_base *base,
                         const struct ad_http_guard_cfg *cfg, const char *what, const char *listen,
                         int backlog, struct ad_http_guard **ret, int *ret_port,
                         struct ad_err *reterr);
/* Frees the evhttp (its listener and every connection), then the guard. NULL-safe. */
void ad_http_guard_destroy(struct ad_http_guard *g);
/* aiopsd_http_connections, aiopsd_http_connections_refused_total{reason="max_connections"|
 * "deadline"}, aiopsd_http_requests_refused_early_total and aiopsd_http_accept_errors_total,
 * labelled listener="<name>". */
void ad_http_guard_stats(const struct ad_http_guard *g, struct ad_metrics *m);
