/* daemon/baseline_store.c: see baseline_store.h. A save serializes the model on the loop (a
 * memory copy: ~1 KiB per series) and hands the bytes to a thread that writes, fsyncs and renames
 * the file, so the loop never waits for the disk; a save that finds the previous one still
 * writing is skipped (counted) and the next interval catches up. */
#include "daemon/baseline_store.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/stat.h>

#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/hash.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/time.h"
#include "config/config.h"
#include "daemon/admin.h"
#include "daemon/fileio.h"
#include "daemon/pipeline.h"
#include "daemon/sections.h"
#include "daemon/streams.h"
#include "models/baseline.h"

#define MAGIC "AIOPSDBL"
#define FORMAT_VERSION 1u
#define HEADER_SIZE 32
#define MAX_STATE_FILE ((size_t)8 << 30) /* 8 GiB: far above max_series' largest state */
#define DEFAULT_LIMIT 100
#define MAX_LIMIT 10000

struct ad_baseline_store {
    struct ad_pipeline *pipe;
    struct ad_streams *streams;
    struct event *timer;
    char *file; /* "" when not persisted */
    int64_t interval_ns;

    pthread_t writer;
    bool writer_started;
    atomic_bool writing;
    struct ad_buf image; /* owned by the writer while writing */
    atomic_int last_rc;

    uint64_t writes, failures, skipped;
    atomic_uint_fast64_t written_ok, written_failed;
    size_t last_bytes;
    struct ad_buf scratch; /* API responses */
};

static const struct ad_baseline_cfg *section(const struct ad_config *cfg)
{
    return ad_config_get(cfg, "models.baseline");
}

/* --- the file ------------------------------------------------------------------------------- */

static void put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}
static void put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}
static uint64_t get_u64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}
static uint32_t get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int ad_baseline_file_check(const void *data, size_t len, const void **payload, size_t *plen,
                           const char **why)
{
    const unsigned char *p = data;
    uint32_t order = 0x01020304u, seen;
    if (len < HEADER_SIZE || memcmp(p, MAGIC, 8) != 0)
        return *why = "not an aiopsd baseline state file", -EINVAL;
    if (get_u32(p + 8) != FORMAT_VERSION)
        return *why = "a baseline state file of another format version", -EINVAL;
    memcpy(&seen, p + 12, 4);
    if (seen != order)
        return *why = "a baseline state file written on a host of another byte order", -EINVAL;
    uint64_t n = get_u64(p + 16);
    if (n != len - HEADER_SIZE)
        return *why = "truncated or padded (length does not match)", -EINVAL;
    if (ad_hash64(p + HEADER_SIZE, (size_t)n, 0) != get_u64(p + 24))
        return *why = "corrupt (checksum does not match)", -EINVAL;
    *payload = p + HEADER_SIZE;
    *plen = (size_t)n;
    return 0;
}

/* Header + payload into out. */
static int build_image(struct ad_baseline *b, struct ad_buf *out)
{
    ad_buf_reset(out);
    unsigned char hdr[HEADER_SIZE] = {0};
    int r = ad_buf_append(out, hdr, sizeof(hdr));
    if (r == 0)
        r = ad_baseline_save(b, out);
    if (r < 0)
        return r;
    unsigned char *p = (unsigned char *)out->p;
    uint32_t order = 0x01020304u;
    size_t n = out->len - HEADER_SIZE;
    memcpy(p, MAGIC, 8);
    put_u32(p + 8, FORMAT_VERSION);
    memcpy(p + 12, &order, 4);
    put_u64(p + 16, n);
    put_u64(p + 24, ad_hash64(p + HEADER_SIZE, n, 0));
    return 0;
}

static struct ad_baseline *main_model(const struct ad_baseline_store *st)
{
    return ad_pipeline_model(st->pipe, "baseline");
}

static void load(struct ad_baseline_store *st)
{
    struct ad_baseline *b = main_model(st);
    struct ad_buf buf;
    ad_buf_init(&buf);
    int r = ad_file_read(st->file, MAX_STATE_FILE, &buf);
    const void *payload;
    size_t plen;
    const char *why = NULL;
    struct ad_err err = {0};
    if (r == -ENOENT) {
        ad_log(AD_LOG_INFO, "baselines: %s does not exist yet; learning starts", st->file);
    } else if (r < 0) {
        ad_log(AD_LOG_ERROR, "baselines: cannot read %s: %s; learning starts from scratch",
               st->file, strerror(-r));
    } else if (ad_baseline_file_check(buf.p, buf.len, &payload, &plen, &why) < 0 ||
               ad_baseline_load(b, payload, plen, &err) < 0) {
        char aside[4200];
        snprintf(aside, sizeof(aside), "%s.corrupt", st->file);
        bool moved = rename(st->file, aside) == 0;
        ad_log(AD_LOG_ERROR, "baselines: %s rejected: %s%s%s; learning starts from scratch",
               st->file, why ? why : err.msg, moved ? "; moved to " : "", moved ? aside : "");
    } else {
        struct ad_baseline_stats bs;
        ad_baseline_get_stats(b, &bs);
        ad_log(AD_LOG_INFO, "baselines: %zu series loaded from %s", bs.series, st->file);
    }
    ad_buf_fini(&buf);
}

static void *writer_main(void *arg)
{
    struct ad_baseline_store *st = arg;
    int r = ad_file_write_atomic(st->file, st->image.p, st->image.len);
    atomic_store(&st->last_rc, r);
    if (r < 0)
        atomic_fetch_add(&st->written_failed, 1);
    else
        atomic_fetch_add(&st->written_ok, 1);
    atomic_store(&st->writing, false);
    return NULL;
}

static void join_writer(struct ad_baseline_store *st)
{
    if (st->writer_started) {
        pthread_join(st->writer, NULL);
        st->writer_started = false;
        int r = atomic_load(&st->last_rc);
        if (r < 0)
            ad_log(AD_LOG_ERROR, "baselines: cannot write %s: %s", st->file, strerror(-r));
    }
}

/* sync: write on this thread (shutdown). */
static void save(struct ad_baseline_store *st, bool sync)
{
    struct ad_baseline *b = main_model(st);
    if (!st->file[0] || !b)
        return;
    if (atomic_load(&st->writing)) {
        st->skipped++;
        return;
    }
    join_writer(st);
    int r = build_image(b, &st->image);
    if (r < 0) {
        st->failures++;
        ad_log(AD_LOG_ERROR, "baselines: cannot serialize the state: %s", strerror(-r));
        return;
    }
    st->writes++;
    st->last_bytes = st->image.len;
    atomic_store(&st->writing, true);
    if (!sync && pthread_create(&st->writer, NULL, writer_main, st) == 0) {
        st->writer_started = true;
        return;
    }
    writer_main(st);
    r = atomic_load(&st->last_rc);
    if (r < 0)
        ad_log(AD_LOG_ERROR, "baselines: cannot write %s: %s", st->file, strerror(-r));
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    save(arg, false);
}

/* The timer is persistent: armed once with the interval, re-armed when a reload changes it. */
static void arm(struct ad_baseline_store *st)
{
    if (!st->timer || !st->file[0])
        return;
    struct timeval tv = {(time_t)(st->interval_ns / 1000000000),
                         (suseconds_t)(st->interval_ns % 1000000000 / 1000)};
    evtimer_add(st->timer, &tv);
}

int ad_baseline_store_create(const struct ad_config *cfg, struct event_base *base,
                             struct ad_pipeline *pipe, struct ad_streams *streams,
                             struct ad_baseline_store **ret)
{
    const struct ad_baseline_cfg *c = section(cfg);
    const struct ad_daemon_cfg *d = ad_config_get(cfg, "daemon");
    struct ad_baseline_store *st = calloc(1, sizeof(*st));
    if (!st)
        return -ENOMEM;
    st->pipe = pipe;
    st->streams = streams;
    st->interval_ns = c->save_interval_ns;
    ad_buf_init(&st->image);
    ad_buf_init(&st->scratch);
    const char *f = c->state_file ? c->state_file : "";
    const char *dir = d && d->state_dir ? d->state_dir : "";
    struct stat sb;
    if (f[0] && f[0] != '/' && (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))) {
        ad_log(AD_LOG_WARN, "baselines: daemon.state_dir %s is not a directory; baselines are not "
               "persisted (create it, or set models.baseline.state_file to \"\")", dir);
        f = "";
    }
    size_t n = strlen(dir) + strlen(f) + 2;
    st->file = malloc(n);
    if (!st->file) {
        ad_baseline_store_destroy(st);
        return -ENOMEM;
    }
    if (!f[0])
        st->file[0] = 0;
    else if (f[0] == '/')
        snprintf(st->file, n, "%s", f);
    else
        snprintf(st->file, n, "%s/%s", dir, f);
    if (base && !(st->timer = event_new(base, -1, EV_PERSIST, on_timer, st))) {
        ad_baseline_store_destroy(st);
        return -ENOMEM;
    }
    if (st->file[0] && main_model(st))
        load(st);
    arm(st);
    *ret = st;
    return 0;
}

void ad_baseline_store_save_now(struct ad_baseline_store *st)
{
    if (!st)
        return;
    join_writer(st);
    save(st, true);
    if (st->file[0] && atomic_load(&st->last_rc) == 0 && st->writes)
        ad_log(AD_LOG_INFO, "baselines: state saved to %s (%zu bytes)", st->file, st->last_bytes);
}

void ad_baseline_store_destroy(struct ad_baseline_store *st)
{
    if (!st)
        return;
    join_writer(st);
    if (st->timer)
        event_free(st->timer);
    free(st->file);
    ad_buf_fini(&st->image);
    ad_buf_fini(&st->scratch);
    free(st);
}

void ad_baseline_store_reconfigure(struct ad_baseline_store *st, const struct ad_config *cfg)
{
    int64_t ns = section(cfg)->save_interval_ns;
    if (ns != st->interval_ns) {
        st->interval_ns = ns;
        if (st->timer)
            evtimer_del(st->timer);
        arm(st);
    }
}

void ad_baseline_store_stats(const struct ad_baseline_store *st, struct ad_metrics *m)
{
    if (!st)
        return;
    const char *h = "Baseline state file writes, by outcome.";
    ad_metrics_counter(m, "aiopsd_baseline_state_writes_total", h, "outcome=\"ok\"",
                       atomic_load(&((struct ad_baseline_store *)st)->written_ok));
    ad_metrics_counter(m, "aiopsd_baseline_state_writes_total", h, "outcome=\"failed\"",
                       atomic_load(&((struct ad_baseline_store *)st)->written_failed) +
                           st->failures);
    ad_metrics_counter(m, "aiopsd_baseline_state_writes_total", h, "outcome=\"skipped\"",
                       st->skipped);
    ad_metrics_gauge(m, "aiopsd_baseline_state_bytes", "Size of the last state file image.", NULL,
                     (double)st->last_bytes);
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

static void reply_error(struct ad_baseline_store *st, struct evhttp_request *req, int code,
                        const char *msg)
{
    ad_buf_reset(&st->scratch);
    ad_buf_printf(&st->scratch, "{\"error\":\"%s\"}", msg); /* msg: fixed text, no quotes */
    ad_admin_reply(req, code, "application/json", st->scratch.p, st->scratch.len);
}

static void on_baselines(struct evhttp_request *req, void *ctx)
{
    struct ad_baseline_store *st = ctx;
    enum evhttp_cmd_type m = evhttp_request_get_command(req);
    if (m != EVHTTP_REQ_GET && m != EVHTTP_REQ_HEAD) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, HEAD");
        reply_error(st, req, 405, "method not allowed (GET)");
        return;
    }
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

int ad_baseline_store_routes(struct ad_baseline_store *st, struct ad_admin *a)
{
    return ad_admin_route(a, "/api/v1/baselines", on_baselines, st);
}
