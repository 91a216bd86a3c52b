/* daemon/admin.h: the admin HTTP server (libevent evhttp) on the daemon's loop: GET /healthz,
 * /readyz and /metrics, plus routes other modules add. Handlers run on the loop and must answer
 * without blocking. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "collectors/tls.h"
#include "config/opt.h"

struct ad_admin;
struct ad_err;
struct ad_metrics;
struct event_base;
struct evhttp_request;

struct ad_admin_cfg {
    char *listen; /* "127.0.0.1:9101" or "[::1]:9101" (IP literals); "" disables the server */
    uint64_t max_connections;   /* at once; more are closed at once (0: 64) */
    int64_t request_timeout_ns; /* a request must arrive whole within this (0: 10 s) */
    char *token_file;           /* read bearer token; "" = reads open */
    char *write_token_file;     /* write bearer token; "" = writes need the read token, if any */
    struct ad_tls_cfg tls; /* HTTPS when tls.cert_file is set */
};
extern const struct ad_section ad_admin_section; /* "admin" */

struct ad_admin_hooks {
    void *ctx; /* borrowed; passed to both hooks */
    /* /readyz: true when ready; otherwise writes the reason ("redis: not connected") into why
     * (n bytes, NUL-terminated). NULL: always ready. */
    bool (*ready)(void *ctx, char *why, size_t n);
    /* /metrics: writes the daemon's families into m. NULL: only the admin server's own. */
    void (*metrics)(void *ctx, struct ad_metrics *m);
};

/* Binds cfg->listen and serves on base. hooks is copied; hooks->ctx and base are borrowed and
 * must outlive the server. With an empty listen nothing is bound and the server is inert (routes
 * may still be added). Returns 0; -EINVAL for a malformed listen address; -EADDRINUSE, -EACCES or
 * another -errno when binding fails; -ENOMEM. Binding is synchronous (no DNS: IP literals only). */
int ad_admin_create(const struct ad_admin_cfg *cfg, struct event_base *base,
                    const struct ad_admin_hooks *hooks, struct ad_admin **ret,
                    struct ad_err *reterr);
void ad_admin_destroy(struct ad_admin *a); /* NULL-safe; closes the listener and connections */
/* SIGHUP: re-reads the TLS certificate files (ad_tls_reload: logged; the running ones kept on
 * failure). Nothing without TLS. */
void ad_admin_reload(struct ad_admin *a);

/* The bound TCP port (useful with port 0), or 0 when disabled. */
int ad_admin_port(const struct ad_admin *a);

/* Adds a route for an exact path (query strings are ignored when matching); a path ending in '/'
 * ("/api/v1/silences/") also takes every longer path under it, the handler reading the rest from
 * the request URI (an exact route wins, then the longest such prefix). The handler gets
 * every method and must answer (ad_admin_reply or evhttp_send_reply) before returning. path is
 * copied; ctx is borrowed. Requests are counted per route on /metrics. Returns 0, -EEXIST (path
 * taken), -EINVAL (path not "/..." or longer than 63 bytes, or has quotes or backslashes), or
 * -ENOBUFS (32 routes). */
typedef void (*ad_admin_handler)(struct evhttp_request *req, void *ctx);
int ad_admin_route(struct ad_admin *a, const char *path, ad_admin_handler h, void *ctx);

/* Route flags: the methods a route answers (the server answers the others with 405 and an Allow
 * header before the handler runs), and AD_ADMIN_PUBLIC for reads that need no token. */
#define AD_ADMIN_GET (1u << 0) /* GET and HEAD */
#define AD_ADMIN_POST (1u << 1)
#define AD_ADMIN_PUT (1u << 2)
#define AD_ADMIN_PATCH (1u << 3)
#define AD_ADMIN_DELETE (1u << 4)
#define AD_ADMIN_ANY                                                                               \
    (AD_ADMIN_GET | AD_ADMIN_POST | AD_ADMIN_PUT | AD_ADMIN_PATCH | AD_ADMIN_DELETE)
#define AD_ADMIN_PUBLIC (1u << 8)
/* ad_admin_route() with flags; ad_admin_route() itself takes every method (AD_ADMIN_ANY), so the
 * handler answers 405 itself. -EINVAL also when flags hold no method. */
int ad_admin_route_flags(struct ad_admin *a, const char *path, unsigned flags, ad_admin_handler h,
                         void *ctx);

/* Authorisation (docs/security.md). A read (GET, HEAD) needs the read or the write token when
 * admin.token_file is set, except on AD_ADMIN_PUBLIC routes; anything else is a write and needs
 * the write token when admin.write_token_file is set, else the read token if that is set. A
 * write with a body must also be Content-Type: application/json. */
struct ad_admin_request {
    unsigned method;      /* one AD_ADMIN_* method flag */
    unsigned route_flags; /* the route's flags */
    const char *auth;     /* Authorization header value, auth_len bytes; NULL when absent */
    size_t auth_len;
    const char *ctype; /* Content-Type value, ctype_len bytes; NULL when absent */
    size_t ctype_len;
    bool has_body;
};
/* 0 when rq may proceed, with *ret_token naming the token it carried ("read", "write", or "none"
 * when none was needed); otherwise 401 (no or a wrong token), 403 (the read token on a write) or
 * 415 (a write body that is not JSON), the reason in why (n bytes) and the refusal counted. The
 * comparison takes the same time whatever the client sent. */
int ad_admin_check(struct ad_admin *a, const struct ad_admin_request *rq, char *why, size_t n,
                   const char **ret_token);

/* Sends a complete response: code, Content-Type and body (copied). */
void ad_admin_reply(struct evhttp_request *req, int code, const char *content_type,
                    const void *body, size_t len);
