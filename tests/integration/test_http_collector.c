/* tests/integration/test_http_collector.c: the HTTP collector over real HTTP on 127.0.0.1. The
 * collector and the client (libevent's evhttp client) share the test's loop; every wait is a
 * condition wait with a deadline (fx_wait_loop). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/ssl.h>

#include "collectors/collector.h"
#include "common/buf.h"
#include "common/err.h"
#include "common/event.h"
#include "common/metrics.h"
#include "common/str.h"
#include "common/time.h"
#include "config/config.h"
#include "fx_daemon.h"
#include "fx_collector.h"
#include "fx_tls.h"
#include "fx_wait.h"

#define WAIT_MS 10000
#define MAX_SEEN 16

struct seen {
    char check[64], resource[64], service[64], summary[128], id[64], source[32];
    enum ad_severity severity;
    enum ad_status status;
    enum ad_kind kind;
    int64_t time_ns;
    unsigned n_labels;
};

struct world {
    struct event_base *base;
    struct ad_collector_env env;
    const struct ad_collector_ops *ops;
    struct fx_collector_config cc;
    void *coll;
    int port;
    char token_path[64];

    uint64_t emitted, rejects, batches;
    struct seen ev[MAX_SEEN];
    char reject_collector[32], reject_reason[256];
    size_t reject_len;

    /* The last response. */
    bool done;
    int code;
    uint64_t emitted_at_reply; /* events emitted when the reply arrived */
    char body[1024];
    char allow[32], www_auth[64], retry_after[16];
};

/* --- env callbacks --------------------------------------------------------------------------- */

static void copy(char *dst, size_t n, struct ad_str s)
{
    snprintf(dst, n, "%.*s", (int)s.len, s.p ? s.p : "");
}

static void on_emit(void *sink, struct ad_event *ev)
{
    struct world *w = sink;
    if (w->emitted < MAX_SEEN) {
        struct seen *s = &w->ev[w->emitted];
        copy(s->check, sizeof(s->check), ev->check);
        copy(s->resource, sizeof(s->resource), ev->resource);
        copy(s->service, sizeof(s->service), ev->service);
        copy(s->summary, sizeof(s->summary), ev->summary);
        copy(s->id, sizeof(s->id), ev->id);
        copy(s->source, sizeof(s->source), ev->source);
        s->severity = ev->severity;
        s->status = ev->status;
        s->kind = ev->kind;
        s->time_ns = ev->time_ns;
        s->n_labels = ev->n_labels;
    }
    w->emitted++;
}

static void on_reject(void *sink, const char *collector, const void *raw, size_t len,
                      const char *reason)
{
    struct world *w = sink;
    (void)raw;
    w->rejects++;
    w->reject_len = len;
    snprintf(w->reject_collector, sizeof(w->reject_collector), "%s", collector);
    snprintf(w->reject_reason, sizeof(w->reject_reason), "%s", reason);
}

static void on_batch_done(void *sink)
{
    ((struct world *)sink)->batches++;
}

/* --- set-up ---------------------------------------------------------------------------------- */

static int setup(void **state)
{
    struct world *w = calloc(1, sizeof(*w));
    if (!w)
        return -1;
    w->base = event_base_new();
    w->env = (struct ad_collector_env){w->base, w, on_emit, on_reject, on_batch_done, NULL};
    w->ops = fx_collector_ops("http");
    w->port = fx_free_port();
    *state = w;
    return w->base && w->ops && w->port > 0 ? 0 : -1;
}

static int teardown(void **state)
{
    struct world *w = *state;
    if (w->coll) {
        w->ops->stop(w->coll);
        w->ops->destroy(w->coll);
    }
    if (w->token_path[0])
        unlink(w->token_path);
    fx_collector_config_free(&w->cc);
    event_base_free(w->base);
    free(w);
    return 0;
}

/* Loads collectors.http with the options (indented by 4) and creates it; returns create's
 * result with err filled. */
static int create(struct world *w, const char *opts, struct ad_err *err)
{
    char all[2048];
    char listen[64] = "";
    if (!opts || !strstr(opts, "listen:"))
        snprintf(listen, sizeof(listen), "    listen: \"127.0.0.1:%d\"\n", w->port);
    snprintf(all, sizeof(all), "    enabled: true\n%s%s", listen, opts ? opts : "");
    const void *cfg = fx_collector_config_load(&w->cc, w->ops, all, err);
    return cfg ? w->ops->create(cfg, &w->env, &w->coll, err) : -EINVAL;
}

static void start(struct world *w, const char *opts)
{
    struct ad_err err = {0};
    assert_int_equal(create(w, opts, &err), 0);
    int r = w->ops->start(w->coll, &err);
    if (r < 0)
        fprintf(stderr, "start: %s\n", err.msg);
    assert_int_equal(r, 0);
}

/* --- the client ------------------------------------------------------------------------------ */

static void header(struct evhttp_request *req, const char *name, char *dst, size_t n)
{
    const char *v = evhttp_find_header(evhttp_request_get_input_headers(req), name);
    snprintf(dst, n, "%s", v ? v : "");
}

static void on_response(struct evhttp_request *req, void *arg)
{
    struct world *w = arg;
    w->done = true;
    w->emitted_at_reply = w->emitted;
    if (!req) {
        w->code = -1;
        return;
    }
    w->code = evhttp_request_get_response_code(req);
    struct evbuffer *b = evhttp_request_get_input_buffer(req);
    size_t n = evbuffer_get_length(b);
    if (n >= sizeof(w->body))
        n = sizeof(w->body) - 1;
    evbuffer_copyout(b, w->body, n);
    w->body[n] = '\0';
    header(req, "Allow", w->allow, sizeof(w->allow));
    header(req, "WWW-Authenticate", w->www_auth, sizeof(w->www_auth));
    header(req, "Retry-After", w->retry_after, sizeof(w->retry_after));
}

static bool got_response(void *ctx)
{
    return ((struct world *)ctx)->done;
}

/* One request on a new connection; returns the status code (-1: no response). */
static int request(struct world *w, enum evhttp_cmd_type method, const char *path,
                   const char *auth, const void *body, size_t len)
{
    struct evhttp_connection *conn =
        evhttp_connection_base_new(w->base, NULL, "127.0.0.1", (unsigned short)w->port);
    assert_non_null(conn);
    struct evhttp_request *req = evhttp_request_new(on_response, w);
    assert_non_null(req);
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Host", "127.0.0.1");
    evhttp_add_header(h, "Content-Type", "application/json");
    if (auth)
        evhttp_add_header(h, "Authorization", auth);
    if (body)
        evbuffer_add(evhttp_request_get_output_buffer(req), body, len);
    w->done = false;
    w->code = 0;
    w->body[0] = w->allow[0] = w->www_auth[0] = w->retry_after[0] = '\0';
    assert_int_equal(evhttp_make_request(conn, req, method, path), 0);
    assert_true(fx_wait_loop(w->base, got_response, w, WAIT_MS));
    evhttp_connection_free(conn);
    return w->code;
}

static int post(struct world *w, const char *path, const char *body)
{
    return request(w, EVHTTP_REQ_POST, path, NULL, body, strlen(body));
}

/* The collector's own numbers, from its stats() output (UINT64_MAX: no such series). */
static uint64_t metric(struct world *w, const char *series)
{
    return fx_collector_metric(w->ops, w->coll, series);
}

#define EVENTS "/api/v1/events"
#define AM "/api/v1/alertmanager"
#define ONE_EVENT                                                                                  \
    "{\"source\":\"test\",\"resource\":\"db-1\",\"service\":\"orders\",\"check\":\"disk\","      \
    "\"severity\":\"critical\",\"summary\":\"disk full\",\"timestamp\":\"2026-11-24T15:30:00Z\"}"

/* --- /api/v1/events -------------------------------------------------------------------------- */

static void test_one_event(void **state)
{
    struct world *w = *state;
    start(w, NULL);
    assert_int_equal(post(w, EVENTS, ONE_EVENT), 200);
    assert_string_equal(w->body, "{\"accepted\":1}\n");
    /* 2xx only once the event is in the pipeline: it was emitted before the reply left. */
    assert_int_equal(w->emitted_at_reply, 1);
    assert_int_equal(w->batches, 1);
    assert_string_equal(w->ev[0].resource, "db-1");
    assert_string_equal(w->ev[0].service, "orders");
    assert_string_equal(w->ev[0].check, "disk");
    assert_int_equal(w->ev[0].severity, AD_SEV_CRITICAL);
    int64_t want;
    assert_int_equal(ad_time_parse_rfc3339((struct ad_str)AD_STR_LIT("2026-11-24T15:30:00Z"), &want),
                     0);
    assert_int_equal(w->ev[0].time_ns, want);
    assert_int_equal(metric(w, "aiopsd_events_accepted_total{collector=\"http\"}"), 1);
    assert_int_equal(metric(w, "aiopsd_http_requests_total{endpoint=\"events\",code=\"200\"}"), 1);
    assert_int_equal(metric(w, "aiopsd_collector_bytes_total{collector=\"http\"}"),
                     strlen(ONE_EVENT));
}

static void test_batch(void **state)
{
    struct world *w = *state;
    char body[4096];
    size_t off = 0;
    start(w, NULL);
    off += (size_t)snprintf(body + off, sizeof(body) - off, "[");
    for (int i = 0; i < 10; i++)
        off += (size_t)snprintf(body + off, sizeof(body) - off,
                                "%s{\"resource\":\"h%d\",\"check\":\"ping\",\"severity\":\"minor\"}",
                                i ? "," : "", i);
    snprintf(body + off, sizeof(body) - off, "]");
    assert_int_equal(post(w, EVENTS, body), 200);
    assert_string_equal(w->body, "{\"accepted\":10}\n");
    assert_int_equal(w->emitted_at_reply, 10);
    assert_int_equal(w->batches, 1); /* one request, one batch for the outputs */
    for (int i = 0; i < 10; i++) {
        char want[8];
        snprintf(want, sizeof(want), "h%d", i);
        assert_string_equal(w->ev[i].resource, want);
    }
}

/* A batch is all or nothing: one bad element and none is taken, the error names it. */
static void test_batch_all_or_nothing(void **state)
{
    struct world *w = *state;
    start(w, NULL);
    assert_int_equal(post(w, EVENTS,
                          "[{\"resource\":\"a\",\"check\":\"c\"},{\"resource\":\"b\",\"check\":7},"
                          "{\"resource\":\"c\",\"check\":\"c\"}]"),
                     400);
    assert_int_equal(w->emitted, 0);
    assert_non_null(strstr(w->body, "\"error\":\"event[1]: field 'check'"));
    assert_non_null(strstr(w->body, "\"reason\":\"bad_json\""));
    assert_int_equal(w->rejects, 1);
    assert_string_equal(w->reject_collector, "http");
    assert_int_equal(metric(w, "aiopsd_events_rejected_total{collector=\"http\",reason=\"bad_json\"}"),
                     1);
    assert_int_equal(metric(w, "aiopsd_http_requests_total{endpoint=\"events\",code=\"400\"}"), 1);
}

static void test_bad_bodies(void **state)
{
    struct world *w = *state;
    start(w, NULL);
    static const struct {
        const char *body;
        size_t len;
        const char *reason, *says;
    } cases[] = {
        {"{\"resource\":", 12, "bad_json", "\"error\":\""},
        {"", 0, "bad_json", "empty request body"},
        {"{\"resource\":\"a\xff\",\"check\":\"c\"}", 29, "bad_utf8", "\"error\":\""},
        {"{\"resource\":\"a\",\"check\":\"c\",\"bogus\":1}", 38, "bad_json", "bogus"},
        {"\"just a string\"", 15, "bad_json", "\"error\":\""},
        {"\x00\x01\x02garbage", 10, "bad_json", "\"error\":\""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(request(w, EVHTTP_REQ_POST, EVENTS, NULL, cases[i].body, cases[i].len),
                         400);
        if (!strstr(w->body, cases[i].reason) || !strstr(w->body, cases[i].says))
            fail_msg("case %zu: body %s", i, w->body);
        assert_int_equal(w->rejects, i + 1);
        assert_int_equal(w->reject_len, cases[i].len);
    }
    assert_int_equal(w->emitted, 0);
    /* Still serving. */
    assert_int_equal(post(w, EVENTS, ONE_EVENT), 200);
}

static void test_routes_and_methods(void **state)
{
    struct world *w = *state;
    start(w, NULL);
    assert_int_equal(post(w, "/api/v1/nope", ONE_EVENT), 404);
    assert_non_null(strstr(w->body, "/api/v1/alertmanager"));
    assert_int_equal(request(w, EVHTTP_REQ_GET, EVENTS, NULL, NULL, 0), 405);
    assert_string_equal(w->allow, "POST");
    assert_int_equal(request(w, EVHTTP_REQ_PUT, AM, NULL, "{}", 2), 405);
    /* A query string does not change the route. */
    assert_int_equal(post(w, EVENTS "?x=1", ONE_EVENT), 200);
    assert_int_equal(w->emitted, 1);
    assert_int_equal(metric(w, "aiopsd_http_requests_total{endpoint=\"other\",code=\"404\"}"), 1);
    assert_int_equal(metric(w, "aiopsd_http_requests_total{endpoint=\"events\",code=\"405\"}"), 1);
}

static void test_bearer_token(void **state)
{
    struct world *w = *state;
    char opts[256];
    snprintf(w->token_path, sizeof(w->token_path), "/tmp/aiopsd-token-XXXXXX");
    int fd = mkstemp(w->token_path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "s3cret-Token\n", 13), 13);
    close(fd);
    snprintf(opts, sizeof(opts), "    token_file: \"%s\"\n", w->token_path);
    start(w, opts);
    const char *len = ONE_EVENT;
    assert_int_equal(request(w, EVHTTP_REQ_POST, EVENTS, NULL, len, strlen(len)), 401);
    assert_non_null(strstr(w->www_auth, "Bearer"));
    assert_int_equal(request(w, EVHTTP_REQ_POST, EVENTS, "Bearer s3cret-Toke", len, strlen(len)),
                     401);
    assert_int_equal(request(w, EVHTTP_REQ_POST, EVENTS, "Bearer s3cret-Token2", len, strlen(len)),
                     401);
    assert_int_equal(request(w, EVHTTP_REQ_POST, EVENTS, "Basic s3cret-Token", len, strlen(len)),
                     401);
    assert_int_equal(w->emitted, 0);
    assert_int_equal(w->rejects, 0); /* unauthenticated bodies are not dead-lettered */
    assert_int_equal(request(w, EVHTTP_REQ_POST, EVENTS, "Bearer s3cret-Token", len, strlen(len)),
                     200);
    assert_int_equal(w->emitted, 1);
    assert_int_equal(metric(w, "aiopsd_http_requests_total{endpoint=\"events\",code=\"401\"}"), 4);
}

static void test_token_file_errors(void **state)
{
    struct world *w = *state;
    struct ad_err err = {0};
    assert_true(create(w, "    token_file: \"/nonexistent/token\"\n", &err) < 0);
    assert_non_null(strstr(err.msg, "collectors.http.token_file: cannot open /nonexistent/token"));
    snprintf(w->token_path, sizeof(w->token_path), "/tmp/aiopsd-token-XXXXXX");
    int fd = mkstemp(w->token_path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "\n \n", 3), 3);
    close(fd);
    char opts[256];
    snprintf(opts, sizeof(opts), "    token_file: \"%s\"\n", w->token_path);
    assert_true(create(w, opts, &err) < 0);
    assert_non_null(strstr(err.msg, "is empty"));
    assert_true(create(w, "    listen: \"localhost:80\"\n", &err) < 0);
    assert_non_null(strstr(err.msg, "collectors.http.listen: expected"));
}

/* Backpressure: paused, requests get 503 + Retry-After and nothing is taken; resumed, 200. */
static void test_paused_503(void **state)
{
    struct world *w = *state;
    start(w, NULL);
    w->ops->pause(w->coll);
    assert_int_equal(post(w, EVENTS, ONE_EVENT), 503);
    assert_string_equal(w->retry_after, "1");
    assert_non_null(strstr(w->body, "retry later"));
    assert_int_equal(post(w, AM, "{\"alerts\":[]}"), 503);
    assert_int_equal(w->emitted, 0);
    assert_int_equal(w->rejects, 0);
    assert_int_equal(metric(w, "aiopsd_collector_paused{collector=\"http\"}"), 1);
    w->ops->resume(w->coll);
    assert_int_equal(post(w, EVENTS, ONE_EVENT), 200);
    assert_int_equal(w->emitted, 1);
    assert_int_equal(metric(w, "aiopsd_http_requests_total{endpoint=\"events\",code=\"503\"}"), 1);
}

/* Over max_body_size: 413 without reading it whole, and the server goes on. */
static void test_body_limit(void **state)
{
    struct world *w = *state;
    start(w, "    max_body_size: 4KiB\n");
    size_t n = 64 * 1024;
    char *big = malloc(n);
    assert_non_null(big);
    memset(big, ' ', n);
    memcpy(big, ONE_EVENT, strlen(ONE_EVENT));
    assert_int_equal(request(w, EVHTTP_REQ_POST, EVENTS, NULL, big, n), 413);
    free(big);
    assert_int_equal(w->emitted, 0);
    assert_int_equal(post(w, EVENTS, ONE_EVENT), 200);
    assert_int_equal(w->emitted, 1);
}

/* --- /api/v1/alertmanager -------------------------------------------------------------------- */

/* Shaped like Alertmanager's documented webhook (version 4), with fields we ignore. */
static const char am_payload[] =
    "{\"version\":\"4\",\"groupKey\":\"{}:{alertname=\\\"DiskFull\\\"}\",\"truncatedAlerts\":2,"
    "\"status\":\"firing\",\"receiver\":\"aiopsd\",\"groupLabels\":{\"alertname\":\"DiskFull\"},"
    "\"commonLabels\":{\"alertname\":\"DiskFull\"},\"commonAnnotations\":{},"
    "\"externalURL\":\"http://am:9093\",\"alerts\":["
    "{\"status\":\"firing\",\"labels\":{\"alertname\":\"DiskFull\",\"instance\":\"db-1:9100\","
    "\"job\":\"node\",\"severity\":\"critical\",\"mountpoint\":\"/var\"},"
    "\"annotations\":{\"summary\":\"Disk /var is full\",\"description\":\"long text\","
    "\"runbook_url\":\"http://rb\"},\"startsAt\":\"2026-11-24T15:30:00.123Z\","
    "\"endsAt\":\"0001-01-01T00:00:00Z\",\"generatorURL\":\"http://prom/graph\","
    "\"fingerprint\":\"c6d4a8e1f0b2a3d4\"},"
    "{\"status\":\"resolved\",\"labels\":{\"alertname\":\"HighLatency\",\"service\":\"checkout\","
    "\"pod\":\"checkout-7f\",\"severity\":\"warning\"},"
    "\"annotations\":{\"description\":\"p99 over 2s\"},"
    "\"startsAt\":\"2026-11-24T15:00:00Z\",\"endsAt\":\"2026-11-24T15:20:00+01:00\","
    "\"generatorURL\":\"\",\"fingerprint\":\"0123456789abcdef\"}]}";

static void test_alertmanager_mapping(void **state)
{
    struct world *w = *state;
    start(w, NULL);
    assert_int_equal(post(w, AM, am_payload), 200);
    assert_string_equal(w->body, "{\"accepted\":2}\n");
    assert_int_equal(w->emitted_at_reply, 2);

    const struct seen *a = &w->ev[0];
    assert_int_equal(a->kind, AD_KIND_ALERT);
    assert_string_equal(a->source, "alertmanager");
    assert_string_equal(a->check, "DiskFull");
    assert_string_equal(a->resource, "db-1:9100"); /* instance, first of resource_labels */
    assert_string_equal(a->service, "node");       /* job: no service/app label */
    assert_int_equal(a->severity, AD_SEV_CRITICAL);
    assert_int_equal(a->status, AD_STATUS_FIRING);
    assert_string_equal(a->summary, "Disk /var is full");
    assert_string_equal(a->id, "c6d4a8e1f0b2a3d4");
    struct ad_str t = AD_STR_LIT("2026-11-24T15:30:00.123Z");
    int64_t want;
    assert_int_equal(ad_time_parse_rfc3339(t, &want), 0);
    assert_int_equal(a->time_ns, want);
    assert_int_equal(a->n_labels, 5);

    const struct seen *b = &w->ev[1];
    assert_string_equal(b->check, "HighLatency");
    assert_string_equal(b->resource, "checkout-7f"); /* pod */
    assert_string_equal(b->service, "checkout");
    assert_int_equal(b->severity, AD_SEV_WARNING);
    assert_int_equal(b->status, AD_STATUS_RESOLVED);
    assert_string_equal(b->summary, "p99 over 2s"); /* description when no summary */
    t = (struct ad_str)AD_STR_LIT("2026-11-24T14:20:00Z"); /* endsAt, in UTC */
    assert_int_equal(ad_time_parse_rfc3339(t, &want), 0);
    assert_int_equal(b->time_ns, want);

    assert_int_equal(metric(w, "aiopsd_alertmanager_truncated_alerts_total"), 2);
    assert_int_equal(metric(w, "aiopsd_events_accepted_total{collector=\"http\"}"), 2);
}

/* The label names are configuration. */
static void test_alertmanager_label_config(void **state)
{
    struct world *w = *state;
    start(w, "    resource_labels: [node, instance]\n    service_labels: [team]\n");
    assert_int_equal(
        post(w, AM,
             "{\"alerts\":[{\"labels\":{\"alertname\":\"X\",\"instance\":\"i-1\",\"node\":\"n-1\","
             "\"team\":\"payments\"},\"startsAt\":\"2026-11-24T15:00:00Z\"},"
             "{\"labels\":{\"alertname\":\"Y\"}}]}"),
        200);
    assert_string_equal(w->ev[0].resource, "n-1");
    assert_string_equal(w->ev[0].service, "payments");
    assert_int_equal(w->ev[0].severity, AD_SEV_WARNING); /* no severity label */
    assert_string_equal(w->ev[0].summary, "X");          /* no annotations */
    /* Neither label: the alertname stands for the resource, the resource for the service. */
    assert_string_equal(w->ev[1].resource, "Y");
    assert_string_equal(w->ev[1].service, "Y");
    assert_int_equal(w->ev[1].status, AD_STATUS_FIRING);
}

static void test_alertmanager_bad(void **state)
{
    struct world *w = *state;
    start(w, NULL);
    static const struct {
        const char *body, *says;
    } cases[] = {
        {"{\"alerts\":[{\"labels\":{\"alertname\":\"A\"}},{\"labels\":{\"job\":\"x\"}}]}",
         "alerts[1]: missing label 'alertname'"},
        {"{\"status\":\"firing\"}", "missing required field 'alerts'"},
        {"{\"alerts\":{}}", "field 'alerts': expected an array"},
        {"{\"alerts\":[{\"labels\":{\"alertname\":5}}]}", "label 'alertname': expected a string"},
        {"{\"alerts\":[{\"labels\":{\"alertname\":\"A\"},\"startsAt\":\"yesterday\"}]}",
         "field 'startsAt'"},
        {"{\"alerts\":[{\"labels\":{\"alertname\":\"A\"},\"status\":\"pending\"}]}",
         "unknown value 'pending'"},
        {"[]", "expected a JSON object"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(post(w, AM, cases[i].body), 400);
        if (!strstr(w->body, cases[i].says))
            fail_msg("case %zu: body %s", i, w->body);
        assert_string_equal(w->reject_collector, "alertmanager");
    }
    assert_int_equal(w->emitted, 0); /* all or nothing, also for the valid first alert */
    assert_int_equal(w->rejects, sizeof(cases) / sizeof(cases[0]));
    /* An empty group is fine: Alertmanager never sends one, but it is not an error. */
    assert_int_equal(post(w, AM, "{\"alerts\":[]}"), 200);
    assert_string_equal(w->body, "{\"accepted\":0}\n");
}

/* Stopped: the port is closed and nothing more is emitted. */
static void test_stop_closes(void **state)
{
    struct world *w = *state;
    start(w, NULL);
    assert_int_equal(post(w, EVENTS, ONE_EVENT), 200);
    w->ops->stop(w->coll);
    /* evhttp reports a refused connection as a response without a status code. */
    assert_true(request(w, EVHTTP_REQ_POST, EVENTS, NULL, ONE_EVENT, strlen(ONE_EVENT)) <= 0);
    assert_int_equal(w->emitted, 1);
}

/* --- TLS ------------------------------------------------------------------------------------ */

#define TLS_OPTS "    tls:\n      cert_file: \"%s\"\n      key_file: \"%s\"\n"
#define HS_OK "aiopsd_tls_handshakes_total{listener=\"http\",result=\"ok\"}"
#define HS_FAILED "aiopsd_tls_handshakes_total{listener=\"http\",result=\"failed\"}"
#define RELOADS(r) "aiopsd_tls_reloads_total{listener=\"http\",result=\"" r "\"}"

struct metric_wait {
    struct world *w;
    const char *series;
    uint64_t want;
};

static bool metric_reached(void *ctx)
{
    struct metric_wait *m = ctx;
    return metric(m->w, m->series) >= m->want;
}

/* The server may see a client's refusal after the client gave up: wait for it to count it. */
static void wait_metric(struct world *w, const char *series, uint64_t want)
{
    struct metric_wait m = {w, series, want};
    assert_true(fx_wait_loop(w->base, metric_reached, &m, WAIT_MS));
    assert_int_equal(metric(w, series), want);
}

struct tls_world {
    struct fx_tls t;
    SSL_CTX *client;
    struct fx_https_response r;
};

static void tls_start(struct world *w, struct tls_world *tw, const char *client_ca)
{
    char opts[1024];
    assert_int_equal(fx_tls_make(&tw->t), 0);
    int n = snprintf(opts, sizeof(opts), TLS_OPTS, tw->t.cert, tw->t.key);
    if (client_ca) /* "ca": the CA that signed the test's client certificate */
        snprintf(opts + n, sizeof(opts) - (size_t)n, "      client_ca_file: \"%s\"\n", tw->t.ca);
    start(w, opts);
    tw->client = fx_tls_client_ctx(tw->t.ca, NULL, NULL);
    assert_non_null(tw->client);
}

static void tls_end(struct tls_world *tw)
{
    SSL_CTX_free(tw->client);
    fx_tls_remove(&tw->t);
}

/* A TLS client gets through and sees our certificate; a plain HTTP client to the same port gets
 * no answer and nothing it sent is accepted. */
static void test_tls_serves_https_and_refuses_plain_http(void **state)
{
    struct world *w = *state;
    struct tls_world tw;
    tls_start(w, &tw, NULL);

    fx_https_request(w->base, tw.client, w->port, EVENTS, ONE_EVENT, &tw.r, WAIT_MS);
    assert_int_equal(tw.r.code, 200);
    assert_string_equal(tw.r.subject, "/CN=aiopsd-test-1");
    assert_string_equal(tw.r.serial, "1001");
    assert_int_equal(w->emitted, 1);
    assert_true(metric(w, HS_OK) >= 1);

    fx_http_plain_request(w->base, w->port, EVENTS, ONE_EVENT, &tw.r, WAIT_MS);
    assert_true(tw.r.done);
    assert_int_equal(tw.r.code, 0);
    assert_int_equal(w->emitted, 1);
    assert_int_equal(metric(w, "aiopsd_events_received_total{collector=\"http\"}"), 1);
    wait_metric(w, HS_FAILED, 1);

    /* A client that does not trust our CA refuses us, and we count the failed handshake. */
    uint64_t failed = metric(w, HS_FAILED);
    SSL_CTX *stranger = fx_tls_client_ctx(tw.t.other_ca, NULL, NULL);
    fx_https_request(w->base, stranger, w->port, EVENTS, ONE_EVENT, &tw.r, WAIT_MS);
    SSL_CTX_free(stranger);
    assert_int_equal(tw.r.code, 0);
    assert_int_equal(w->emitted, 1);
    wait_metric(w, HS_FAILED, failed + 1);
    tls_end(&tw);
}

/* With client_ca_file, only clients with a certificate from that CA get through. */
static void test_tls_client_certificates_required(void **state)
{
    struct world *w = *state;
    struct tls_world tw;
    tls_start(w, &tw, "ca");

    SSL_CTX *with = fx_tls_client_ctx(tw.t.ca, tw.t.client_cert, tw.t.client_key);
    SSL_CTX *other = fx_tls_client_ctx(tw.t.ca, tw.t.other_cert, tw.t.other_key);
    assert_non_null(with);
    assert_non_null(other);
    fx_https_request(w->base, with, w->port, EVENTS, ONE_EVENT, &tw.r, WAIT_MS);
    assert_int_equal(tw.r.code, 200);
    assert_int_equal(w->emitted, 1);

    uint64_t failed = metric(w, HS_FAILED);
    fx_https_request(w->base, tw.client, w->port, EVENTS, ONE_EVENT, &tw.r, WAIT_MS);
    assert_true(tw.r.done);
    assert_int_equal(tw.r.code, 0); /* no certificate */
    fx_https_request(w->base, other, w->port, EVENTS, ONE_EVENT, &tw.r, WAIT_MS);
    assert_int_equal(tw.r.code, 0); /* a certificate from another CA */
    assert_int_equal(w->emitted, 1);
    wait_metric(w, HS_FAILED, failed + 2);
    SSL_CTX_free(with);
    SSL_CTX_free(other);
    tls_end(&tw);
}

static void copy_file(const char *from, const char *to)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", from, to);
    assert_int_equal(system(cmd), 0);
}

/* reload() (what SIGHUP calls) serves a renewed certificate to new connections; a broken one is
 * refused and the running one kept. */
static void test_tls_reload_takes_a_new_certificate_and_refuses_a_broken_one(void **state)
{
    struct world *w = *state;
    struct tls_world tw;
    char pem[160], key[160];
    tls_start(w, &tw, NULL);
    fx_https_request(w->base, tw.client, w->port, EVENTS, ONE_EVENT, &tw.r, WAIT_MS);
    assert_string_equal(tw.r.serial, "1001");

    assert_int_equal(fx_tls_server_cert(&tw.t, "renewed", "aiopsd-test-2", 0x1002), 0);
    snprintf(pem, sizeof(pem), "%s/renewed.pem", tw.t.dir);
    snprintf(key, sizeof(key), "%s/renewed.key", tw.t.dir);
    copy_file(pem, tw.t.cert);
    copy_file(key, tw.t.key);
    w->ops->reload(w->coll);
    fx_https_request(w->base, tw.client, w->port, EVENTS, ONE_EVENT, &tw.r, WAIT_MS);
    assert_int_equal(tw.r.code, 200);
    assert_string_equal(tw.r.subject, "/CN=aiopsd-test-2");
    assert_string_equal(tw.r.serial, "1002");
    assert_int_equal(metric(w, RELOADS("ok")), 1);

    /* A certificate that does not parse, then one whose key does not match: both refused. */
    FILE *f = fopen(tw.t.cert, "w");
    assert_non_null(f);
    fputs("-----BEGIN CERTIFICATE-----\nbroken\n-----END CERTIFICATE-----\n", f);
    assert_int_equal(fclose(f), 0);
    w->ops->reload(w->coll);
    copy_file(pem, tw.t.cert);
    snprintf(pem, sizeof(pem), "%s/ca.key", tw.t.dir);
    copy_file(pem, tw.t.key);
    w->ops->reload(w->coll);
    assert_int_equal(metric(w, RELOADS("failed")), 2);
    fx_https_request(w->base, tw.client, w->port, EVENTS, ONE_EVENT, &tw.r, WAIT_MS);
    assert_int_equal(tw.r.code, 200);
    assert_string_equal(tw.r.serial, "1002");
    assert_int_equal(w->emitted, 3);
    tls_end(&tw);
}

static void test_tls_config_errors_name_the_option_and_file(void **state)
{
    struct world *w = *state;
    struct fx_tls t;
    struct ad_err err = {0};
    char opts[1024];
    assert_int_equal(fx_tls_make(&t), 0);

    snprintf(opts, sizeof(opts), "    tls:\n      cert_file: \"%s\"\n", t.cert);
    assert_int_equal(create(w, opts, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "collectors.http.tls.key_file"));
    snprintf(opts, sizeof(opts), TLS_OPTS, "/nonexistent/cert.pem", t.key);
    assert_int_equal(create(w, opts, &err), -EINVAL);
    assert_non_null(
        strstr(err.msg, "collectors.http.tls.cert_file: cannot load /nonexistent/cert.pem"));
    snprintf(opts, sizeof(opts), TLS_OPTS, t.cert, t.client_key);
    assert_int_equal(create(w, opts, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "collectors.http.tls.key_file"));
    snprintf(opts, sizeof(opts), TLS_OPTS "      client_ca_file: \"%s\"\n", t.cert, t.key, t.key);
    assert_int_equal(create(w, opts, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "collectors.http.tls.client_ca_file"));
    assert_null(w->coll);
    fx_tls_remove(&t);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN); /* as aiopsd does: a peer closing early is an error, not death */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_one_event, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_all_or_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_bodies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_routes_and_methods, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bearer_token, setup, teardown),
        cmocka_unit_test_setup_teardown(test_token_file_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_paused_503, setup, teardown),
        cmocka_unit_test_setup_teardown(test_body_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alertmanager_mapping, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alertmanager_label_config, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alertmanager_bad, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_closes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tls_serves_https_and_refuses_plain_http, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_tls_client_certificates_required, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_tls_reload_takes_a_new_certificate_and_refuses_a_broken_one, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tls_config_errors_name_the_option_and_file, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
