/* tests/integration/test_admin_http.c: the admin HTTP server over real loopback connections,
 * driven by libevent's own HTTP client on the same loop as the server. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/ssl.h>

#include "common/err.h"
#include "common/metrics.h"
#include "daemon/admin.h"
#include "fx_tls.h"
#include "fx_wait.h"

#define WAIT_MS 10000

struct world {
    struct event_base *base;
    struct ad_admin *admin;
    int port;
    bool ready; /* what the ready hook answers */
    unsigned metrics_calls;
    unsigned custom_calls;
};

struct response {
    bool done;
    int code; /* 0: no response (connection closed or failed) */
    char body[16384];
    char content_type[128];
    char allow[64];
};

/* --- hooks ----------------------------------------------------------------------------------- */

static bool ready_hook(void *ctx, char *why, size_t n)
{
    struct world *w = ctx;
    if (!w->ready)
        snprintf(why, n, "redis: not connected");
    return w->ready;
}

static void metrics_hook(void *ctx, struct ad_metrics *m)
{
    struct world *w = ctx;
    w->metrics_calls++;
    ad_metrics_gauge(m, "test_answer", "A gauge from the hook.", "kind=\"test\"", 42);
}

static void custom_route(struct evhttp_request *req, void *ctx)
{
    struct world *w = ctx;
    w->custom_calls++;
    ad_admin_reply(req, 201, "application/json", "{\"ok\":true}", 11);
}

/* --- client ---------------------------------------------------------------------------------- */

static void on_response(struct evhttp_request *req, void *arg)
{
    struct response *r = arg;
    r->done = true;
    if (!req)
        return;
    r->code = evhttp_request_get_response_code(req);
    struct evbuffer *b = evhttp_request_get_input_buffer(req);
    size_t n = evbuffer_get_length(b);
    if (n >= sizeof(r->body))
        n = sizeof(r->body) - 1;
    evbuffer_remove(b, r->body, n);
    r->body[n] = '\0';
    const char *ct = evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type");
    const char *allow = evhttp_find_header(evhttp_request_get_input_headers(req), "Allow");
    snprintf(r->content_type, sizeof(r->content_type), "%s", ct ? ct : "");
    snprintf(r->allow, sizeof(r->allow), "%s", allow ? allow : "");
}

static bool response_done(void *ctx)
{
    return ((struct response *)ctx)->done;
}

/* One request on a fresh connection with an Authorization header (auth, NULL: none) and a
 * Content-Type (ctype, NULL: none); returns the status (0 when the server gave none). */
static int request_h(struct world *w, const char *host, enum evhttp_cmd_type method,
                     const char *path, const char *auth, const char *ctype, const char *body,
                     size_t body_len, struct response *r)
{
    memset(r, 0, sizeof(*r));
    struct evhttp_connection *conn =
        evhttp_connection_base_new(w->base, NULL, host, (unsigned short)w->port);
    assert_non_null(conn);
    evhttp_connection_set_timeout(conn, 5);
    evhttp_connection_set_retries(conn, 0);
    struct evhttp_request *req = evhttp_request_new(on_response, r);
    assert_non_null(req);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Host", host);
    if (auth)
        evhttp_add_header(evhttp_request_get_output_headers(req), "Authorization", auth);
    if (ctype)
        evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", ctype);
    if (body)
        evbuffer_add(evhttp_request_get_output_buffer(req), body, body_len);
    assert_int_equal(evhttp_make_request(conn, req, method, path), 0);
    assert_true(fx_wait_loop(w->base, response_done, r, WAIT_MS));
    evhttp_connection_free(conn);
    return r->code;
}

/* A request as a well-behaved client sends it: a body is JSON. */
static int request(struct world *w, const char *host, enum evhttp_cmd_type method, const char *path,
                   const char *body, size_t body_len, struct response *r)
{
    return request_h(w, host, method, path, NULL, body ? "application/json" : NULL, body,
                     body_len, r);
}

static int get(struct world *w, const char *path, struct response *r)
{
    return request(w, "127.0.0.1", EVHTTP_REQ_GET, path, NULL, 0, r);
}

static int get_auth(struct world *w, const char *path, const char *auth, struct response *r)
{
    return request_h(w, "127.0.0.1", EVHTTP_REQ_GET, path, auth, NULL, NULL, 0, r);
}

/* --- set-up ---------------------------------------------------------------------------------- */

static int start_with(struct world *w, const char *listen, const char *read_file,
                      const char *write_file, struct ad_err *err)
{
    struct ad_admin_cfg cfg = {.listen = (char *)listen,
                               .token_file = (char *)read_file,
                               .write_token_file = (char *)write_file};
    struct ad_admin_hooks hooks = {w, ready_hook, metrics_hook};
    int r = ad_admin_create(&cfg, w->base, &hooks, &w->admin, err);
    if (r == 0)
        w->port = ad_admin_port(w->admin);
    return r;
}

static int start_on(struct world *w, const char *listen, struct ad_err *err)
{
    return start_with(w, listen, "", "", err);
}

static int setup(void **state)
{
    struct world *w = calloc(1, sizeof(*w));
    struct ad_err err = {0};
    if (!w)
        return -1;
    w->base = event_base_new();
    w->ready = true;
    *state = w;
    if (!w->base || start_on(w, "127.0.0.1:0", &err) != 0) {
        fprintf(stderr, "admin: %s\n", err.msg);
        return -1;
    }
    return w->port > 0 ? 0 : -1;
}

static int setup_bare(void **state)
{
    struct world *w = calloc(1, sizeof(*w));
    if (!w)
        return -1;
    w->base = event_base_new();
    *state = w;
    return w->base ? 0 : -1;
}

static int teardown(void **state)
{
    struct world *w = *state;
    ad_admin_destroy(w->admin);
    /* Connections the server still held were freed with it: nothing is left on the base. */
    int left = event_base_loop(w->base, EVLOOP_NONBLOCK);
    event_base_free(w->base);
    free(w);
    return left == 1 ? 0 : -1;
}

/* --- tests ----------------------------------------------------------------------------------- */

static void healthz_answers_ok(void **state)
{
    struct world *w = *state;
    struct response r;
    assert_int_equal(get(w, "/healthz", &r), 200);
    assert_string_equal(r.body, "ok\n");
    assert_non_null(strstr(r.content_type, "text/plain"));
    /* A query string does not change the route. */
    assert_int_equal(get(w, "/healthz?verbose=1", &r), 200);
}

static void readyz_follows_the_ready_hook(void **state)
{
    struct world *w = *state;
    struct response r;
    assert_int_equal(get(w, "/readyz", &r), 200);
    assert_string_equal(r.body, "ready\n");
    w->ready = false;
    assert_int_equal(get(w, "/readyz", &r), 503);
    assert_string_equal(r.body, "redis: not connected\n");
    w->ready = true;
    assert_int_equal(get(w, "/readyz", &r), 200);
}

static void metrics_has_the_hook_families_and_request_counts(void **state)
{
    struct world *w = *state;
    struct response r;
    assert_int_equal(get(w, "/healthz", &r), 200);
    assert_int_equal(get(w, "/healthz", &r), 200);
    assert_int_equal(get(w, "/nope", &r), 404);
    assert_int_equal(get(w, "/metrics", &r), 200);
    assert_string_equal(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
    assert_int_equal(w->metrics_calls, 1);
    assert_non_null(strstr(r.body, "# TYPE test_answer gauge\ntest_answer{kind=\"test\"} 42\n"));
    assert_non_null(strstr(r.body, "# TYPE aiopsd_admin_requests_total counter\n"));
    assert_non_null(strstr(r.body, "aiopsd_admin_requests_total{path=\"/healthz\"} 2\n"));
    assert_non_null(strstr(r.body, "aiopsd_admin_requests_total{path=\"/readyz\"} 0\n"));
    assert_non_null(strstr(r.body, "aiopsd_admin_requests_total{path=\"/metrics\"} 1\n"));
    assert_non_null(strstr(r.body, "aiopsd_admin_requests_total{path=\"other\"} 1\n"));
    /* One HELP/TYPE per family. */
    const char *first = strstr(r.body, "# TYPE aiopsd_admin_requests_total");
    assert_null(strstr(first + 1, "# TYPE aiopsd_admin_requests_total"));
}

static void unknown_paths_are_404(void **state)
{
    struct world *w = *state;
    struct response r;
    assert_int_equal(get(w, "/", &r), 404);
    assert_int_equal(get(w, "/metricsx", &r), 404);
    assert_int_equal(get(w, "/healthz/", &r), 404);
    assert_string_equal(r.body, "not found\n");
}

static void other_methods_are_405_with_allow(void **state)
{
    struct world *w = *state;
    struct response r;
    assert_int_equal(request(w, "127.0.0.1", EVHTTP_REQ_POST, "/healthz", "x", 1, &r), 405);
    assert_string_equal(r.allow, "GET, HEAD");
    assert_int_equal(request(w, "127.0.0.1", EVHTTP_REQ_DELETE, "/metrics", NULL, 0, &r), 405);
    assert_int_equal(request(w, "127.0.0.1", EVHTTP_REQ_PUT, "/readyz", "x", 1, &r), 405);
    /* HEAD is a GET without the body. */
    assert_int_equal(request(w, "127.0.0.1", EVHTTP_REQ_HEAD, "/healthz", NULL, 0, &r), 200);
    assert_string_equal(r.body, "");
}

/* A raw client on the same loop: the request is written at once (it fits the socket buffer), then
 * the loop runs until the server has answered and closed, or sent a full header block. */
struct raw {
    int fd;
    char buf[4096];
    size_t n;
    bool closed;
};

static bool raw_answered(void *ctx)
{
    struct raw *r = ctx;
    for (;;) {
        ssize_t k = recv(r->fd, r->buf + r->n, sizeof(r->buf) - 1 - r->n, MSG_DONTWAIT);
        if (k > 0) {
            r->n += (size_t)k;
            r->buf[r->n] = '\0';
            if (r->n == sizeof(r->buf) - 1)
                return true;
            continue;
        }
        if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return strstr(r->buf, "\r\n\r\n") != NULL;
        r->closed = true;
        return true;
    }
}

/* Returns the status of the response, or 0 when the server closed without one. */
static int raw_request(struct world *w, const char *text, size_t len)
{
    struct raw r = {.fd = socket(AF_INET, SOCK_STREAM, 0)};
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)w->port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_true(r.fd >= 0);
    assert_int_equal(connect(r.fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(send(r.fd, text, len, MSG_NOSIGNAL), (ssize_t)len);
    assert_true(fx_wait_loop(w->base, raw_answered, &r, WAIT_MS));
    close(r.fd);
    int code = 0;
    if (sscanf(r.buf, "HTTP/1.%*c %d", &code) != 1)
        code = 0;
    return code;
}

static void oversized_bodies_and_headers_are_refused(void **state)
{
    struct world *w = *state;
    struct response r;
    static const char big_body[] = "POST /healthz HTTP/1.1\r\nHost: x\r\n"
                                   "Content-Length: 1000000\r\n\r\n";
    /* libevent answers 413 from the Content-Length alone; the route never runs. */
    assert_int_equal(raw_request(w, big_body, sizeof(big_body) - 1), 413);

    /* A header block over 8 KiB: libevent 2.1 answers 400 without routing it. */
    size_t n = 16 * 1024;
    char *big = malloc(n + 128);
    assert_non_null(big);
    int k = snprintf(big, 128, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ");
    memset(big + k, 'a', n);
    memcpy(big + k + n, "\r\n\r\n", 4);
    int code = raw_request(w, big, (size_t)k + n + 4);
    free(big);
    assert_int_equal(code, 400);

    /* Neither reached a route. */
    assert_int_equal(get(w, "/metrics", &r), 200);
    assert_non_null(strstr(r.body, "aiopsd_admin_requests_total{path=\"/healthz\"} 0\n"));
}

static void added_routes_are_served_and_counted(void **state)
{
    struct world *w = *state;
    struct response r;
    assert_int_equal(ad_admin_route(w->admin, "/api/candidates", custom_route, w), 0);
    assert_int_equal(ad_admin_route(w->admin, "/api/candidates", custom_route, w), -EEXIST);
    assert_int_equal(ad_admin_route(w->admin, "/healthz", custom_route, w), -EEXIST);
    assert_int_equal(ad_admin_route(w->admin, "api", custom_route, w), -EINVAL);
    assert_int_equal(ad_admin_route(w->admin, "/a\"b", custom_route, w), -EINVAL);
    assert_int_equal(request(w, "127.0.0.1", EVHTTP_REQ_POST, "/api/candidates", "{}", 2, &r), 201);
    assert_string_equal(r.body, "{\"ok\":true}");
    assert_string_equal(r.content_type, "application/json");
    assert_int_equal(w->custom_calls, 1);
    assert_int_equal(get(w, "/metrics", &r), 200);
    assert_non_null(strstr(r.body, "aiopsd_admin_requests_total{path=\"/api/candidates\"} 1\n"));
    /* The table is bounded. */
    char path[32];
    int rc = 0;
    for (int i = 0; i < 64 && rc == 0; i++) {
        snprintf(path, sizeof(path), "/r%d", i);
        rc = ad_admin_route(w->admin, path, custom_route, w);
    }
    assert_int_equal(rc, -ENOBUFS);
}

static void binds_an_ipv6_literal(void **state)
{
    struct world *w = *state;
    struct ad_err err = {0};
    struct response r;
    int fd = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 sa = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    bool have_v6 = fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
    if (fd >= 0)
        close(fd);
    if (!have_v6)
        skip(); /* no ::1 in this environment */
    assert_int_equal(start_on(w, "[::1]:0", &err), 0);
    assert_true(w->port > 0);
    assert_int_equal(request(w, "::1", EVHTTP_REQ_GET, "/healthz", NULL, 0, &r), 200);
    assert_string_equal(r.body, "ok\n");
}

static void bad_listen_addresses_fail_with_a_reason(void **state)
{
    struct world *w = *state;
    struct ad_err err = {0};
    const char *bad[] = {"localhost:9101", "127.0.0.1", "::1:9101", "[::1]", "127.0.0.1:", "x:y"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(start_on(w, bad[i], &err), -EINVAL);
        assert_non_null(strstr(err.msg, bad[i]));
        assert_null(w->admin);
    }
    /* A port already taken. */
    assert_int_equal(start_on(w, "127.0.0.1:0", &err), 0);
    char taken[64];
    snprintf(taken, sizeof(taken), "127.0.0.1:%d", w->port);
    struct ad_admin *second = NULL;
    struct ad_admin_cfg cfg = {.listen = taken};
    assert_int_equal(ad_admin_create(&cfg, w->base, NULL, &second, &err), -EADDRINUSE);
    assert_null(second);
    assert_non_null(strstr(err.msg, taken));
}

/* HTTPS with a required client certificate: a client with one gets through, a plain HTTP client
 * and a TLS client without a certificate get nothing; ad_admin_reload serves a renewed
 * certificate to new connections. */
static void tls_with_client_certificates_and_reload(void **state)
{
    struct world *w = *state;
    struct ad_err err = {0};
    struct fx_tls t;
    struct fx_https_response r;
    char cmd[512];
    assert_int_equal(fx_tls_make(&t), 0);
    struct ad_admin_cfg cfg = {.listen = "127.0.0.1:0", .tls = {t.cert, t.key, t.ca}};
    struct ad_admin_hooks hooks = {w, ready_hook, metrics_hook};
    assert_int_equal(ad_admin_create(&cfg, w->base, &hooks, &w->admin, &err), 0);
    w->port = ad_admin_port(w->admin);
    SSL_CTX *with = fx_tls_client_ctx(t.ca, t.client_cert, t.client_key);
    SSL_CTX *without = fx_tls_client_ctx(t.ca, NULL, NULL);
    assert_non_null(with);
    assert_non_null(without);

    fx_https_request(w->base, with, w->port, "/healthz", NULL, &r, WAIT_MS);
    assert_int_equal(r.code, 200);
    assert_string_equal(r.body, "ok\n");
    assert_string_equal(r.serial, "1001");
    fx_http_plain_request(w->base, w->port, "/healthz", NULL, &r, WAIT_MS);
    assert_true(r.done);
    assert_int_equal(r.code, 0);
    fx_https_request(w->base, without, w->port, "/healthz", NULL, &r, WAIT_MS);
    assert_true(r.done);
    assert_int_equal(r.code, 0);

    assert_int_equal(fx_tls_server_cert(&t, "renewed", "aiopsd-test-2", 0x1002), 0);
    snprintf(cmd, sizeof(cmd), "cd '%s' && cp renewed.pem server.pem && cp renewed.key server.key",
             t.dir);
    assert_int_equal(system(cmd), 0);
    ad_admin_reload(w->admin);
    fx_https_request(w->base, with, w->port, "/metrics", NULL, &r, WAIT_MS);
    assert_int_equal(r.code, 200);
    assert_string_equal(r.subject, "/CN=aiopsd-test-2");
    assert_string_equal(r.serial, "1002");
    assert_non_null(
        strstr(r.body, "aiopsd_tls_reloads_total{listener=\"admin\",result=\"ok\"} 1\n"));
    assert_non_null(
        strstr(r.body, "aiopsd_tls_handshakes_total{listener=\"admin\",result=\"failed\"} 2\n"));
    assert_int_equal(w->custom_calls, 0);
    SSL_CTX_free(with);
    SSL_CTX_free(without);
    fx_tls_remove(&t);
}

static void an_empty_listen_disables_the_server(void **state)
{
    struct world *w = *state;
    struct ad_err err = {0};
    assert_int_equal(start_on(w, "", &err), 0);
    assert_non_null(w->admin);
    assert_int_equal(w->port, 0);
    assert_int_equal(ad_admin_route(w->admin, "/x", custom_route, w), 0);
    ad_admin_destroy(NULL); /* NULL-safe */
}


/* --- authorisation --------------------------------------------------------------------------- */

#define READ_TOKEN "r3ad-t0ken-0123456789"
#define WRITE_TOKEN "wr1te-t0ken-9876543210"

/* Writes text to a new file under /tmp (mode 0600); the path goes to buf. */
static void secret_file(char *buf, size_t n, const char *text)
{
    snprintf(buf, n, "/tmp/aiopsd-admin-token.XXXXXX");
    int fd = mkstemp(buf);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

static int setup_tokens(void **state)
{
    struct world *w = calloc(1, sizeof(*w));
    struct ad_err err = {0};
    char rf[64], wf[64];
    if (!w)
        return -1;
    w->base = event_base_new();
    w->ready = true;
    *state = w;
    secret_file(rf, sizeof(rf), READ_TOKEN "\n");
    secret_file(wf, sizeof(wf), "  " WRITE_TOKEN "\n");
    int r = w->base ? start_with(w, "127.0.0.1:0", rf, wf, &err) : -1;
    unlink(rf);
    unlink(wf);
    if (r != 0 || ad_admin_route(w->admin, "/api/things", custom_route, w) != 0) {
        fprintf(stderr, "admin: %s\n", err.msg);
        return -1;
    }
    return 0;
}

static int post(struct world *w, const char *auth, const char *ctype, struct response *r)
{
    return request_h(w, "127.0.0.1", EVHTTP_REQ_POST, "/api/things", auth, ctype, "{}", 2, r);
}

static void a_change_needs_the_write_token(void **state)
{
    struct world *w = *state;
    struct response r;
    const char *json = "application/json";

    assert_int_equal(post(w, NULL, json, &r), 401);
    assert_non_null(strstr(r.body, "missing bearer token"));
    assert_int_equal(post(w, "Bearer " WRITE_TOKEN "x", json, &r), 401);
    assert_int_equal(post(w, "Bearer wr1te-t0ken-987654321", json, &r), 401); /* a prefix */
    assert_int_equal(post(w, "Basic " WRITE_TOKEN, json, &r), 401);
    assert_non_null(strstr(r.body, "wrong bearer token"));
    /* The read token is known but may not change anything. */
    assert_int_equal(post(w, "Bearer " READ_TOKEN, json, &r), 403);
    assert_int_equal(request_h(w, "127.0.0.1", EVHTTP_REQ_DELETE, "/api/things", "Bearer " READ_TOKEN,
                               NULL, NULL, 0, &r),
                     403);
    assert_int_equal(w->custom_calls, 0);

    assert_int_equal(post(w, "Bearer " WRITE_TOKEN, json, &r), 201);
    assert_int_equal(post(w, "bearer  " WRITE_TOKEN " ", "application/json; charset=utf-8", &r),
                     201);
    /* A DELETE has no body, hence no Content-Type to check. */
    assert_int_equal(request_h(w, "127.0.0.1", EVHTTP_REQ_DELETE, "/api/things",
                               "Bearer " WRITE_TOKEN, NULL, NULL, 0, &r),
                     201);
    assert_int_equal(w->custom_calls, 3);
}

static void a_cross_site_form_post_is_refused(void **state)
{
    struct world *w = *state;
    struct response r;
    /* What a browser sends across sites without a preflight: text/plain or a form, no token. */
    assert_int_equal(post(w, "Bearer " WRITE_TOKEN, "text/plain", &r), 415);
    assert_int_equal(post(w, "Bearer " WRITE_TOKEN, "application/x-www-form-urlencoded", &r), 415);
    assert_int_equal(post(w, "Bearer " WRITE_TOKEN, "application/jsonp", &r), 415);
    assert_int_equal(post(w, "Bearer " WRITE_TOKEN, NULL, &r), 415);
    assert_int_equal(post(w, NULL, "text/plain", &r), 401); /* the token is checked first */
    assert_int_equal(w->custom_calls, 0);
    assert_int_equal(get_auth(w, "/metrics", "Bearer " READ_TOKEN, &r), 200);
    assert_non_null(strstr(r.body, "aiopsd_admin_refused_total{reason=\"not_json\"} 4\n"));
    assert_non_null(strstr(r.body, "aiopsd_admin_refused_total{reason=\"no_token\"} 1\n"));
}

static void reads_need_a_token_but_health_checks_do_not(void **state)
{
    struct world *w = *state;
    struct response r;
    assert_int_equal(get(w, "/metrics", &r), 401);
    assert_int_equal(get(w, "/api/things", &r), 401);
    assert_int_equal(get_auth(w, "/metrics", "Bearer nope", &r), 401);
    assert_int_equal(get_auth(w, "/metrics", "Bearer " READ_TOKEN, &r), 200);
    assert_int_equal(get_auth(w, "/api/things", "Bearer " WRITE_TOKEN, &r), 201);
    assert_int_equal(get(w, "/healthz", &r), 200);
    assert_int_equal(get(w, "/readyz", &r), 200);
    assert_int_equal(get_auth(w, "/metrics", "Bearer " WRITE_TOKEN, &r), 200);
    assert_non_null(strstr(r.body, "aiopsd_admin_refused_total{reason=\"wrong_token\"} 1\n"));
    assert_non_null(strstr(r.body, "aiopsd_admin_refused_total{reason=\"no_token\"} 2\n"));
}

static void bad_token_files_fail_start_up_with_a_reason(void **state)
{
    struct world *w = *state;
    struct ad_err err = {0};
    char same1[64], same2[64], empty[64];
    assert_int_equal(start_with(w, "127.0.0.1:0", "/nonexistent/token", "", &err), -ENOENT);
    assert_non_null(strstr(err.msg, "admin.token_file"));
    assert_null(w->admin);
    secret_file(empty, sizeof(empty), " \n");
    assert_int_equal(start_with(w, "127.0.0.1:0", "", empty, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "admin.write_token_file"));
    secret_file(same1, sizeof(same1), "same-token");
    secret_file(same2, sizeof(same2), "same-token\n");
    assert_int_equal(start_with(w, "127.0.0.1:0", same1, same2, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "same token"));
    assert_null(w->admin);
    unlink(empty);
    unlink(same1);
    unlink(same2);
}

static void a_request_without_the_token_is_refused_on_its_head(void **state)
{
    struct world *w = *state;
    static const char head[] = "POST /api/things HTTP/1.1\r\nHost: x\r\n"
                               "Content-Type: application/json\r\nContent-Length: 60000\r\n\r\n";
    /* None of the 60000 bytes is sent: without the early check the server would wait for them. */
    assert_int_equal(raw_request(w, head, sizeof(head) - 1), 401);
    assert_int_equal(w->custom_calls, 0);
}

static bool eof(void *ctx)
{
    char b[64];
    ssize_t k = recv(*(int *)ctx, b, sizeof(b), MSG_DONTWAIT);
    return k == 0 || (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

static void connections_past_max_connections_are_closed_at_once(void **state)
{
    struct world *w = *state;
    struct ad_err err = {0};
    struct response r;
    struct ad_admin_cfg cfg = {.listen = "127.0.0.1:0", .max_connections = 2};
    struct ad_admin_hooks hooks = {w, ready_hook, metrics_hook};
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fds[4];

    assert_int_equal(ad_admin_create(&cfg, w->base, &hooks, &w->admin, &err), 0);
    w->port = ad_admin_port(w->admin);
    sa.sin_port = htons((uint16_t)w->port);
    for (int i = 0; i < 4; i++) {
        fds[i] = socket(AF_INET, SOCK_STREAM, 0);
        assert_int_equal(connect(fds[i], (struct sockaddr *)&sa, sizeof(sa)), 0);
        fx_run_loop_for(w->base, 5); /* accepted in this order */
    }
    assert_true(fx_wait_loop(w->base, eof, &fds[2], WAIT_MS));
    assert_true(fx_wait_loop(w->base, eof, &fds[3], WAIT_MS));
    assert_false(eof(&fds[0]));
    /* Full: a new client is closed too; once the two go, it is served. */
    assert_int_equal(get(w, "/healthz", &r), 0);
    close(fds[0]);
    close(fds[1]);
    close(fds[2]);
    close(fds[3]);
    fx_run_loop_for(w->base, 20);
    assert_int_equal(get(w, "/metrics", &r), 200);
    assert_non_null(strstr(r.body, "aiopsd_http_connections_refused_total{listener=\"admin\","
                                   "reason=\"max_connections\"} 3\n"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(healthz_answers_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(readyz_follows_the_ready_hook, setup, teardown),
        cmocka_unit_test_setup_teardown(metrics_has_the_hook_families_and_request_counts, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(unknown_paths_are_404, setup, teardown),
        cmocka_unit_test_setup_teardown(other_methods_are_405_with_allow, setup, teardown),
        cmocka_unit_test_setup_teardown(oversized_bodies_and_headers_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(added_routes_are_served_and_counted, setup, teardown),
        cmocka_unit_test_setup_teardown(binds_an_ipv6_literal, setup_bare, teardown),
        cmocka_unit_test_setup_teardown(bad_listen_addresses_fail_with_a_reason, setup_bare,
                                        teardown),
        cmocka_unit_test_setup_teardown(an_empty_listen_disables_the_server, setup_bare, teardown),
        cmocka_unit_test_setup_teardown(a_change_needs_the_write_token, setup_tokens, teardown),
        cmocka_unit_test_setup_teardown(a_cross_site_form_post_is_refused, setup_tokens, teardown),
        cmocka_unit_test_setup_teardown(reads_need_a_token_but_health_checks_do_not, setup_tokens,
                                        teardown),
        cmocka_unit_test_setup_teardown(bad_token_files_fail_start_up_with_a_reason, setup_bare,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_request_without_the_token_is_refused_on_its_head,
                                        setup_tokens, teardown),
        cmocka_unit_test_setup_teardown(connections_past_max_connections_are_closed_at_once,
                                        setup_bare, teardown),
        cmocka_unit_test_setup_teardown(tls_with_client_certificates_and_reload, setup_bare,
                                        teardown),
    };
    signal(SIGPIPE, SIG_IGN); /* as in aiopsd: the server may close while the client still writes */
    return cmocka_run_group_tests(tests, NULL, NULL);
}
