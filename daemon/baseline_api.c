/* daemon/baseline_api.c: see baseline_api.h. */
#include "daemon/baseline_api.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "common/buf.h"
#include "daemon/admin.h"
#include "daemon/pipeline.h"
#include "daemon/streams.h"
#include "correlators/service_window.h"
#include "models/baseline.h"

#define DEFAULT_LIMIT 100
#define MAX_LIMIT 10000

struct ad_baseline_api {
    struct ad_pipeline *pipe;
    struct ad_streams *streams;
    struct ad_buf scratch; /* responses */
};

int ad_baseline_api_create(struct ad_pipeline *pipe, struct ad_streams *streams,
                           struct ad_baseline_api **ret)
{
    struct ad_baseline_api *st = calloc(1, sizeof(*st));
    if (!st)
        return -ENOMEM;
    st->pipe = pipe;
    st->streams = streams;
    ad_buf_init(&st->scratch);
    *ret = st;
    return 0;
}

void ad_baseline_api_destroy(struct ad_baseline_api *st)
{
    if (!st)
        return;
    ad_buf_fini(&st->scratch);
    free(st);
}

/* --- HTTP ------------------------------------------------------------------------------------ */

struct find_ctx {
    const char *key;
    struct ad_buf *out;
    bool found;
    const char *prefix;
    size_t limit, listed, total;
};

static void find_one(void *arg, struct ad_pipeline *p)
{
    struct find_ctx *fc = arg;
    struct ad_baseline *b = ad_pipeline_model(p, "baseline");
    if (!b || fc->found)
        return;
    if (fc->key) {
        fc->found = ad_baseline_series_json(b, fc->key, fc->out) == 0;
        return;
    }
    fc->total += ad_baseline_list_json(b, fc->prefix, fc->limit, &fc->listed, fc->out);
}

static void reply_error(struct ad_baseline_api *st, struct evhttp_request *req, int code,
                        const char *msg)
{
    ad_buf_reset(&st->scratch);
    ad_buf_printf(&st->scratch, "{\"error\":\"%s\"}", msg); /* msg: fixed text, no quotes */
    ad_admin_reply(req, code, "application/json", st->scratch.p, st->scratch.len);
}

/* Both endpoints are read-only: anything but GET and HEAD is answered 405 here. */
static bool get_only(struct ad_baseline_api *st, struct evhttp_request *req)
{
    enum evhttp_cmd_type m = evhttp_request_get_command(req);
    if (m == EVHTTP_REQ_GET || m == EVHTTP_REQ_HEAD)
        return true;
    evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, HEAD");
    reply_error(st, req, 405, "method not allowed (GET)");
    return false;
}

static void on_baselines(struct evhttp_request *req, void *ctx)
{
    struct ad_baseline_api *st = ctx;
    if (!get_only(st, req))
        return;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *q = uri ? evhttp_uri_get_query(uri) : NULL;
    struct evkeyvalq kv;
    TAILQ_INIT(&kv);
    if (q && evhttp_parse_query_str(q, &kv) != 0) {
        reply_error(st, req, 400, "malformed query string");
        return;
    }
    const char *series = evhttp_find_header(&kv, "series");
    const char *prefix = evhttp_find_header(&kv, "prefix");
    const char *limit_s = evhttp_find_header(&kv, "limit");
    char *end = NULL;
    long limit = limit_s ? strtol(limit_s, &end, 10) : DEFAULT_LIMIT;
    if (limit_s && (*end || limit < 1 || limit > MAX_LIMIT)) {
        evhttp_clear_headers(&kv);
        reply_error(st, req, 400, "limit: expected a number from 1 to 10000");
        return;
    }
    struct find_ctx fc = {series, &st->scratch, false, prefix ? prefix : "", (size_t)limit, 0, 0};
    ad_buf_reset(&st->scratch);
    if (!series)
        ad_buf_puts(&st->scratch, "{\"series\":[");
    find_one(&fc, st->pipe);
    if (st->streams)
        ad_streams_foreach(st->streams, find_one, &fc);
    evhttp_clear_headers(&kv);
    if (series && !fc.found) {
        reply_error(st, req, 404, "no such series");
        return;
    }
    if (!series)
        ad_buf_printf(&st->scratch, "],\"total\":%zu}", fc.total);
    ad_admin_reply(req, 200, "application/json", st->scratch.p, st->scratch.len);
}

/* Each pipeline's learned dependencies (one per Kafka partition, each with its header). */
static void learned_one(void *arg, struct ad_pipeline *p)
{
    struct ad_baseline_api *st = arg;
    const struct ad_svcwin *sw = ad_pipeline_correlator(p, "service_window");
    if (sw && ad_svcwin_learned_topology(sw, &st->scratch) < 0)
        st->scratch.len = 0; /* out of memory: answered below */
}

static void on_learned(struct evhttp_request *req, void *ctx)
{
    struct ad_baseline_api *st = ctx;
    if (!get_only(st, req))
        return;
    ad_buf_reset(&st->scratch);
    learned_one(st, st->pipe);
    if (st->streams)
        ad_streams_foreach(st->streams, learned_one, st);
    if (st->scratch.len == 0) {
        reply_error(st, req, 503, "out of memory");
        return;
    }
    ad_admin_reply(req, 200, "text/plain; charset=utf-8", st->scratch.p, st->scratch.len);
}

int ad_baseline_api_routes(struct ad_baseline_api *st, struct ad_admin *a)
{
    int r = ad_admin_route_flags(a, "/api/v1/baselines", AD_ADMIN_GET, on_baselines, st);
    return r < 0 ? r
                 : ad_admin_route_flags(a, "/api/v1/topology/learned", AD_ADMIN_GET, on_learned, st);
}
