/* collectors/http_guard.c: see http_guard.h. libevent 2.1's evhttp has no hook when a connection
 * opens or a request's head arrives, so the guard builds them from public calls: it makes each
 * connection's bufferevent (evhttp_set_bevcb), learns the evhttp connection from the callbacks
 * evhttp sets on it (bufferevent_getcb) in an event run before the first read, and watches the
 * input buffer (evbuffer_add_cb), which runs after bytes arrive and before evhttp parses them. */
#include "collectors/http_guard.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/event_struct.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <event2/util.h>

#include "common/addr.h"
#include "common/err.h"
#include "common/log.h"
#include "common/metrics.h"

#define HEAD_MAX (16 * 1024) /* past this without an empty line, evhttp refuses the head */
#define LINGER_MS 1000       /* a refused client may read the answer, then we close */
#define ACCEPT_PAUSE_MS 100  /* after an accept() error (no descriptors left) */

enum phase {
    PH_HEAD,  /* the input starts with a request's head: check it when complete */
    PH_BODY,  /* the head passed: evhttp reads the rest */
    PH_DENIED /* refused: whatever arrives is dropped until we close */
};

struct conn {
    struct ad_http_guard *g;
    struct conn *prev, *next;
    struct bufferevent *bev;
    struct evhttp_connection *evcon; /* NULL until attached */
    struct evbuffer_cb_entry *watch; /* on the input; NULL without an early check */
    struct event ev;                 /* attach, then the request deadline, then the linger */
    enum phase phase;
    bool over_limit; /* decided when accepted, in accept order: closed once attached */
};

struct ad_http_guard {
    struct evhttp *http;        /* owned */
    struct evconnlistener *lis; /* owned by http */
    struct event *resume;       /* re-enables accepting after an accept error */
    struct ad_http_guard *next_guard;
    char name[32];
    uint64_t max_conns;
    struct timeval deadline;
    int64_t deadline_s;
    bool json;
    ad_http_head_fn head;
    void *head_ctx;
    void (*handler)(struct evhttp_request *req, void *ctx);
    void *handler_ctx;
    struct bufferevent *(*new_bev)(struct event_base *base, void *ctx);
    void *bev_ctx;
    struct conn *conns; /* most recently active first */
    size_t n_conns;
    uint64_t refused_limit, timed_out, refused_early, accept_errors;
};

/* Every live guard. The listener's error callback gets the evhttp (evhttp_bind_listener takes
 * the callback argument), not the guard, so it finds the guard here. One loop thread. */
static struct ad_http_guard *guards;

/* --- connections ------------------------------------------------------------------------------ */

static void conn_free(struct conn *c)
{
    struct ad_http_guard *g = c->g;
    event_del(&c->ev);
    if (c->prev)
        c->prev->next = c->next;
    else
        g->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    g->n_conns--;
    free(c);
}

static void on_close(struct evhttp_connection *evcon, void *arg)
{
    struct conn *c = arg;
    evhttp_connection_set_closecb(evcon, NULL, NULL);
    if (c->watch)
        evbuffer_remove_cb_entry(bufferevent_get_input(c->bev), c->watch);
    conn_free(c);
}

static void peer_of(struct conn *c, char *buf, size_t n)
{
    char *host = NULL;
    ev_uint16_t port = 0;
    evhttp_connection_get_peer(c->evcon, &host, &port);
    snprintf(buf, n, "%s:%u", host ? host : "?", (unsigned)port);
}

/* The head's end (after its empty line), or NULL while incomplete. */
static const char *head_end(const char *p, size_t n)
{
    for (const char *q = memchr(p, '\n', n); q; q = memchr(q + 1, '\n', (size_t)(p + n - q - 1))) {
        const char *nx = q + 1;
        if (nx < p + n && *nx == '\n')
            return nx + 1;
        if (nx + 1 < p + n && nx[0] == '\r' && nx[1] == '\n')
            return nx + 2;
        if (nx >= p + n)
            break;
    }
    return NULL;
}

static bool header_is(const char *line, size_t name_len, const char *name)
{
    return strlen(name) == name_len && strncasecmp(line, name, name_len) == 0;
}

/* Parses [p, end) into h; -EBADMSG when it is not a request head (evhttp then answers 400). */
static int parse_head(const char *p, const char *end, struct ad_http_head *h)
{
    const char *le = memchr(p, '\n', (size_t)(end - p));
    const char *sp1 = memchr(p, ' ', (size_t)(le - p));
    const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(le - sp1 - 1)) : NULL;
    if (!sp1 || !sp2 || sp1 == p)
        return -EBADMSG;
    memset(h, 0, sizeof(*h));
    h->method = p;
    h->method_len = (size_t)(sp1 - p);
    const char *t = sp1 + 1;
    if ((size_t)(sp2 - t) > 8 &&
        (strncasecmp(t, "http://", 7) == 0 || strncasecmp(t, "https://", 8) == 0)) {
        const char *slash = memchr(t + 8, '/', (size_t)(sp2 - t - 8)); /* absolute form */
        t = slash ? slash : sp2;
    }
    h->path = t;
    while (t < sp2 && *t != '?' && *t != '#')
        t++;
    h->path_len = (size_t)(t - h->path);
    for (const char *line = le + 1; line < end;) {
        const char *eol = memchr(line, '\n', (size_t)(end - line));
        const char *colon = memchr(line, ':', (size_t)(eol - line));
        if (colon) {
            size_t nl = (size_t)(colon - line);
            const char *v = colon + 1, *ve = eol;
            while (v < ve && (*v == ' ' || *v == '\t'))
                v++;
            while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ' || ve[-1] == '\t'))
                ve--;
            if (header_is(line, nl, "Authorization") && !h->auth) {
                h->auth = v;
                h->auth_len = (size_t)(ve - v);
            } else if (header_is(line, nl, "Content-Type") && !h->ctype) {
                h->ctype = v;
                h->ctype_len = (size_t)(ve - v);
            } else if (header_is(line, nl, "Content-Length")) {
                for (const char *d = v; d < ve; d++)
                    h->has_body |= *d >= '1' && *d <= '9';
            } else if (header_is(line, nl, "Transfer-Encoding")) {
                h->has_body = true;
            }
        }
        line = eol + 1;
    }
    return 0;
}

/* Answers code and closes, without evhttp: its request has not started. What the client sends
 * from now on is dropped unread (not buffered) until it closes or the linger ends. */
static void refuse(struct conn *c, struct evbuffer *in, const struct ad_http_head *h, int code,
                   const char *msg)
{
    struct ad_http_guard *g = c->g;
    char resp[512], body[256], peer[80];
    int fd = bufferevent_getfd(c->bev);

    g->refused_early++;
    c->phase = PH_DENIED;
    /* Logged first: h points into the input, dropped below. */
    peer_of(c, peer, sizeof(peer));
    AD_LOG_RATELIMITED(AD_LOG_WARN, "%s: %.*s %.*s from %s refused before its body (%d): %s",
                       g->name, (int)h->method_len, h->method,
                       (int)(h->path_len > 128 ? 128 : h->path_len), h->path, peer, code, msg);
    evbuffer_drain(in, evbuffer_get_length(in));
    if (g->json)
        snprintf(body, sizeof(body), "{\"error\":\"%s\"}\n", msg);
    else
        snprintf(body, sizeof(body), "%s\n", msg);
    int n = snprintf(resp, sizeof(resp),
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s"
                     "Connection: close\r\n\r\n%s",
                     code,
                     code == 401   ? "Unauthorized"
                     : code == 403 ? "Forbidden"
                     : code == 415 ? "Unsupported Media Type"
                                   : "Bad Request",
                     g->json ? "application/json" : "text/plain; charset=utf-8", strlen(body),
                     code == 401 ? "WWW-Authenticate: Bearer realm=\"aiopsd\"\r\n" : "", body);
    /* Only when nothing of evhttp's is waiting to go out (an answer to an earlier request). */
    if (fd >= 0 && n > 0 && (size_t)n < sizeof(resp) &&
        evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) {
        (void)!send(fd, resp, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
        shutdown(fd, SHUT_WR);
    }
    struct timeval tv = {LINGER_MS / 1000, (LINGER_MS % 1000) * 1000};
    event_add(&c->ev, &tv);
}

/* Runs when bytes were added to the input, before evhttp sees them. */
static void on_input(struct evbuffer *in, const struct evbuffer_cb_info *info, void *arg)
{
    struct conn *c = arg;
    if (info->n_added == 0)
        return;
    if (c->phase == PH_DENIED) {
        evbuffer_drain(in, evbuffer_get_length(in));
        return;
    }
    if (c->phase != PH_HEAD)
        return;
    size_t len = evbuffer_get_length(in), n = len < HEAD_MAX ? len : HEAD_MAX;
    const char *p = (const char *)evbuffer_pullup(in, (ev_ssize_t)n);
    const char *end = p ? head_end(p, n) : NULL;
    struct ad_http_head h;
    if (!end) {
        if (!p || n == HEAD_MAX)
            c->phase = PH_BODY; /* out of memory, or too long a head: evhttp answers */
        return;
    }
    char msg[160] = "";
    int code = parse_head(p, end, &h) < 0 ? 0 : c->g->head(c->g->head_ctx, &h, msg, sizeof(msg));
    if (code)
        refuse(c, in, &h, code, msg);
    else
        c->phase = PH_BODY;
}

static void attach(struct conn *c)
{
    struct ad_http_guard *g = c->g;
    bufferevent_data_cb rcb = NULL;
    void *evcon = NULL;
    bufferevent_getcb(c->bev, &rcb, NULL, NULL, &evcon);
    if (!evcon) {
        /* evhttp gave the connection up before it started (out of memory). */
        bufferevent_decref(c->bev);
        conn_free(c);
        return;
    }
    c->evcon = evcon;
    evhttp_connection_set_closecb(c->evcon, on_close, c);
    bufferevent_decref(c->bev); /* evhttp holds its own reference */
    if (c->over_limit) {
        g->refused_limit++;
        AD_LOG_RATELIMITED(AD_LOG_WARN,
                           "%s: %" PRIu64 " connections open (max_connections); closing new ones",
                           g->name, g->max_conns);
        evhttp_connection_free(c->evcon); /* on_close frees c */
        return;
    }
    if (g->head)
        c->watch = evbuffer_add_cb(bufferevent_get_input(c->bev), on_input, c);
    event_add(&c->ev, &g->deadline);
}

static void on_conn_event(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct conn *c = arg;
    struct ad_http_guard *g = c->g;
    char peer[80];

    if (!c->evcon) {
        attach(c);
        return;
    }
    if (c->phase != PH_DENIED) {
        g->timed_out++;
        peer_of(c, peer, sizeof(peer));
        AD_LOG_RATELIMITED(AD_LOG_WARN,
                           "%s: closing the connection from %s: no whole request within %" PRId64
                           "s (a slow or idle client)",
                           g->name, peer, g->deadline_s);
    }
    evhttp_connection_free(c->evcon); /* on_close frees c */
}

/* evhttp_set_bevcb: a new connection, before evhttp sets it up. */
static struct bufferevent *on_new_conn(struct event_base *base, void *arg)
{
    struct ad_http_guard *g = arg;
    struct bufferevent *bev = g->new_bev ? g->new_bev(base, g->bev_ctx)
                                             : bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
    struct conn *c = bev ? calloc(1, sizeof(*c)) : NULL;
    if (!c)
        return bev; /* out of memory: this one goes unguarded (or evhttp makes its own) */
    c->g = g;
    c->bev = bev;
    c->phase = PH_HEAD;
    c->next = g->conns;
    if (g->conns)
        g->conns->prev = c;
    g->conns = c;
    g->n_conns++;
    /* Counted now: several connections may be accepted before any is attached. */
    c->over_limit = g->n_conns > g->max_conns;
    /* Kept until attach(), which runs before any read: the bufferevent cannot go meanwhile. */
    bufferevent_incref(bev);
    event_assign(&c->ev, base, -1, 0, on_conn_event, c);
    event_active(&c->ev, EV_TIMEOUT, 1);
    return bev;
}

static struct conn *find_conn(struct ad_http_guard *g, struct evhttp_connection *evcon)
{
    for (struct conn *c = g->conns; c; c = c->next) {
        if (c->evcon != evcon)
            continue;
        if (c != g->conns) { /* to the front: the busy connections are found first */
            c->prev->next = c->next;
            if (c->next)
                c->next->prev = c->prev;
            c->prev = NULL;
            c->next = g->conns;
            g->conns->prev = c;
            g->conns = c;
        }
        return c;
    }
    return NULL;
}

/* A request arrived whole: the next one on the connection gets a deadline of its own. */
static void on_request(struct evhttp_request *req, void *arg)
{
    struct ad_http_guard *g = arg;
    struct conn *c = find_conn(g, evhttp_request_get_connection(req));
    if (c && c->phase != PH_DENIED) {
        c->phase = PH_HEAD;
        event_add(&c->ev, &g->deadline);
        /* Bytes of a pipelined request were read with this one and may be half parsed by the
         * time we could check them: answer this one and close instead. */
        if (c->watch && evbuffer_get_length(bufferevent_get_input(c->bev)) > 0)
            evhttp_add_header(evhttp_request_get_output_headers(req), "Connection", "close");
    }
    g->handler(req, g->handler_ctx);
}

/* --- the listener ----------------------------------------------------------------------------- */

static void on_resume(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct ad_http_guard *g = arg;
    evconnlistener_enable(g->lis);
}

static void on_accept_error(struct evconnlistener *lis, void *arg)
{
    (void)arg; /* the evhttp */
    int e = EVUTIL_SOCKET_ERROR();
    struct ad_http_guard *g = guards;
    while (g && g->lis != lis)
        g = g->next_guard;
    if (!g)
        return;
    g->accept_errors++;
    /* The listener stays readable while the error lasts: without a pause the loop would spin. */
    AD_LOG_RATELIMITED(AD_LOG_ERROR, "%s: accept failed: %s; not accepting for %d ms", g->name,
                       evutil_socket_error_to_string(e), ACCEPT_PAUSE_MS);
    evconnlistener_disable(lis);
    struct timeval tv = {0, ACCEPT_PAUSE_MS * 1000};
    event_add(g->resume, &tv);
}

int ad_http_guard_listen(struct evhttp *http, struct event_base *base,
                         const struct ad_http_guard_cfg *cfg, const char *what, const char *listen,
                         int backlog, struct ad_http_guard **ret, int *ret_port,
                         struct ad_err *reterr)
{
    struct sockaddr_storage ss;
    socklen_t len;
    if (ad_addr_parse(listen, &ss, &len) < 0)
        return ad_err_set(reterr, EINVAL,
                          "%s.listen: expected \"IPv4:port\" or \"[IPv6]:port\" (e.g. "
                          "127.0.0.1:9101), got \"%s\"",
                          what, listen);
    struct ad_http_guard *g = calloc(1, sizeof(*g));
    if (!g || !(g->resume = evtimer_new(base, on_resume, g))) {
        free(g);
        return ad_err_set(reterr, ENOMEM, "%s: out of memory", what);
    }
    snprintf(g->name, sizeof(g->name), "%s", cfg->name);
    g->max_conns = cfg->max_connections ? cfg->max_connections : 1;
    g->deadline_s = cfg->deadline_ns / 1000000000;
    g->deadline.tv_sec = (time_t)(cfg->deadline_ns / 1000000000);
    g->deadline.tv_usec = (suseconds_t)(cfg->deadline_ns % 1000000000 / 1000);
    g->json = cfg->json_errors;
    g->head = cfg->head;
    g->head_ctx = cfg->head_ctx;
    g->handler = cfg->handler;
    g->handler_ctx = cfg->handler_ctx;
    g->new_bev = cfg->new_bev;
    g->bev_ctx = cfg->bev_ctx;

    g->lis = evconnlistener_new_bind(
        base, NULL, NULL, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
        backlog, (struct sockaddr *)&ss, (int)len);
    if (!g->lis) {
        int e = errno ? errno : EADDRNOTAVAIL;
        event_free(g->resume);
        free(g);
        return ad_err_set(reterr, e, "%s: cannot listen on %s: %s", what, listen, strerror(e));
    }
    if (!evhttp_bind_listener(http, g->lis)) {
        evconnlistener_free(g->lis);
        event_free(g->resume);
        free(g);
        return ad_err_set(reterr, ENOMEM, "%s: cannot listen on %s: out of memory", what, listen);
    }
    evconnlistener_set_error_cb(g->lis, on_accept_error);
    evhttp_set_bevcb(http, on_new_conn, g);
    evhttp_set_gencb(http, on_request, g);
    g->http = http;
    g->next_guard = guards;
    guards = g;
    *ret_port = ad_addr_bound_port(evconnlistener_get_fd(g->lis));
    *ret = g;
    return 0;
}

void ad_http_guard_destroy(struct ad_http_guard *g)
{
    if (!g)
        return;
    evhttp_free(g->http); /* every attached connection leaves through on_close */
    while (g->conns) {    /* accepted in this loop pass, not attached yet */
        bufferevent_decref(g->conns->bev);
        conn_free(g->conns);
    }
    event_free(g->resume);
    for (struct ad_http_guard **p = &guards; *p; p = &(*p)->next_guard)
        if (*p == g) {
            *p = g->next_guard;
            break;
        }
    free(g);
}

void ad_http_guard_stats(const struct ad_http_guard *g, struct ad_metrics *m)
{
    char lbl[96];
    if (!g)
        return;
    snprintf(lbl, sizeof(lbl), "listener=\"%s\"", g->name);
    ad_metrics_gauge(m, "aiopsd_http_connections", "HTTP connections open, by listener.", lbl,
                     (double)g->n_conns);
    const char *rh = "HTTP connections closed by the server: over max_connections (closed at "
                     "once), or without a whole request by the deadline.";
    snprintf(lbl, sizeof(lbl), "listener=\"%s\",reason=\"max_connections\"", g->name);
    ad_metrics_counter(m, "aiopsd_http_connections_refused_total", rh, lbl, g->refused_limit);
    snprintf(lbl, sizeof(lbl), "listener=\"%s\",reason=\"deadline\"", g->name);
    ad_metrics_counter(m, "aiopsd_http_connections_refused_total", rh, lbl, g->timed_out);
    snprintf(lbl, sizeof(lbl), "listener=\"%s\"", g->name);
    ad_metrics_counter(m, "aiopsd_http_requests_refused_early_total",
                       "HTTP requests refused on their head (token, Content-Type) before their "
                       "body was read.",
                       lbl, g->refused_early);
    ad_metrics_counter(m, "aiopsd_http_accept_errors_total",
                       "accept() failures (e.g. no descriptors left); accepting pauses 100 ms "
                       "after each.",
                       lbl, g->accept_errors);
}
