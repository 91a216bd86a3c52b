/* daemon/admin.h: the admin HTTP server (libevent evhttp) on the daemon's loop: GET /healthz,
 * /readyz and /metrics, plus routes other modules add. Handlers run on the loop and must answer
 * without blocking. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "collectors/tls.h"
#include "config/opt.h"

struct ad_admin;
struct ad_err;
struct ad_metrics;
struct event_base;
struct evhttp_request;

struct ad_admin_cfg {
    char *listen; /* "127.0.0.1:9101" or "[::1]:9101" (IP literals); "" disables the server */
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

/* Sends a complete response: code, Content-Type and body (copied). */
void ad_admin_reply(struct evhttp_request *req, int code, const char *content_type,
                    const void *body, size_t len);
