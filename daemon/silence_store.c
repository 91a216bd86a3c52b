/* daemon/silence_store.c: see silence_store.h. The set itself (matching, ids, JSON form) is
 * models/silence; this file adds what a pure model may not do: the wall clock, HTTP and files. */
#include "daemon/silence_store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "common/arena.h"
#include "common/buf.h"
#include "common/err.h"
#include "common/json.h"
#include "common/json_silence.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/time.h"
#include "config/config.h"
#include "daemon/admin.h"
#include "daemon/fileio.h"
#include "models/silence.h"

#define COLLECTION "/api/v1/silences"
#define ITEM_PREFIX COLLECTION "/"
#define MAX_FILE_SIZE (16 * 1024 * 1024) /* far above AD_SILENCE_MAX silences */

_Static_assert(AD_JSIL_MAX_MATCHERS == AD_SILENCE_MAX_MATCHERS, "matcher bounds differ");

struct ad_silence_store {
    struct ad_silences *set;   /* one reference; every pipeline's silence model holds another */
    char *file;                /* owned copy of models.silence.file; "" = not persisted */
    int64_t retention_ns;
    uint64_t saved_generation; /* the set's generation the file holds */
    struct ad_buf scratch;     /* response bodies and the file image */
    struct ad_arena arena;     /* request parsing */
    uint64_t requests_rejected, file_writes, file_write_failures, changes_refused;
    /* The last write failed: why, for /readyz, until a write succeeds (retried every tick). */
    char failure[300];
};

/* A change over the API, kept until the file has it: taken back if it cannot be written. */
struct change {
    char id[AD_SILENCE_ID_SIZE];  /* the silence added ("" for none) */
    char old[AD_SILENCE_ID_SIZE]; /* the silence expired ("" for none) */
    struct ad_silence_times old_times;
};

static const struct ad_silence_cfg *section(const struct ad_config *cfg)
{
    return ad_config_get(cfg, "models.silence");
}

/* --- the file ------------------------------------------------------------------------------- */

/* Writes the run-time silences to file.tmp, fsyncs it and renames it over the file, so a crash
 * leaves the old file or the new one, never half of one. Blocks briefly (a few KiB, on admin
 * requests only). force: also when the set did not change (a retry after a failure). */
static int save(struct ad_silence_store *st, bool force)
{
    if (!st->file[0] || (!force && ad_silences_generation(st->set) == st->saved_generation))
        return 0;
    ad_buf_reset(&st->scratch);
    int r = ad_silences_to_json(st->set, NULL, true, ad_now_ns(), &st->scratch);
    if (r == 0)
        r = ad_buf_puts(&st->scratch, "\n");
    if (r == 0)
        r = ad_file_write_atomic(st->file, st->scratch.p, st->scratch.len);
    if (r < 0) {
        st->file_write_failures++;
        if (!st->failure[0])
            ad_log(AD_LOG_ERROR, "silences: cannot write %s: %s (not ready until a write "
                   "succeeds; retried every idle tick)", st->file, strerror(-r));
        snprintf(st->failure, sizeof(st->failure), "silences: cannot write %s: %s", st->file,
                 strerror(-r));
        return r;
    }
    if (st->failure[0])
        ad_log(AD_LOG_NOTICE, "silences: %s written again", st->file);
    st->failure[0] = '\0';
    st->file_writes++;
    st->saved_generation = ad_silences_generation(st->set);
    return 0;
}

struct load_ctx {
    struct ad_silence_store *st;
    struct ad_arena *arena;
    size_t loaded, skipped;
};

static int load_one(void *ctx, const struct ad_jsil *j, size_t idx)
{
    struct load_ctx *lc = ctx;
    struct ad_silence_spec sp;
    struct ad_err err = {0};
    int r = j->id.p ? ad_silence_spec_from_json(j, lc->arena, &sp, &err)
                    : ad_err_set(&err, EINVAL, "no \"id\"");
    if (r == 0)
        r = ad_silences_add(lc->st->set, &sp, ad_now_ns(), NULL, &err);
    if (r < 0) {
        /* One bad entry (edited by hand, or a regex this libc refuses) costs only itself. */
        lc->skipped++;
        ad_log(AD_LOG_WARN, "silences: %s: silences[%zu] skipped: %s", lc->st->file, idx,
               err.msg);
        return 0;
    }
    lc->loaded++;
    return 0;
}

static void load(struct ad_silence_store *st)
{
    struct ad_buf b;
    struct ad_err err = {0};
    struct load_ctx lc = {st, &st->arena, 0, 0};
    ad_buf_init(&b);
    int r = ad_file_read(st->file, MAX_FILE_SIZE, &b);
    if (r == -ENOENT) {
        ad_log(AD_LOG_INFO, "silences: %s does not exist yet; no run-time silences", st->file);
    } else if (r < 0) {
        ad_log(AD_LOG_ERROR, "silences: cannot read %s: %s; starting without run-time silences",
               st->file, strerror(-r));
    } else if ((r = ad_json_parse_silences(b.p ? b.p : "", b.len, true, AD_SILENCE_MAX,
                                           &st->arena, load_one, &lc, &err)) < 0) {
        /* Moved aside, so the next write does not destroy what an operator may want back. */
        char aside[4200];
        snprintf(aside, sizeof(aside), "%s.corrupt", st->file);
        bool moved = rename(st->file, aside) == 0;
        ad_log(AD_LOG_ERROR, "silences: %s is corrupt (%s)%s%s; starting without run-time "
               "silences", st->file, err.msg, moved ? ", moved to " : "", moved ? aside : "");
    } else {
        size_t gone = ad_silences_gc(st->set, ad_now_ns(), st->retention_ns);
        ad_log(AD_LOG_INFO, "silences: %zu loaded from %s (%zu skipped, %zu past retention)",
               lc.loaded - gone, st->file, lc.skipped, gone);
    }
    ad_arena_reset(&st->arena);
    ad_buf_fini(&b);
    st->saved_generation = ad_silences_generation(st->set);
}

/* --- HTTP --------------------------------------------------------------------------------- */

static int http_code(int r)
{
    switch (r) {
    case -ENOENT: return 404;
    case -EPERM:
    case -EEXIST:
    case -ENOSPC: return 409;
    case -ENOMEM: return 500;
    default: return 400;
    }
}

static void reply_json(struct ad_silence_store *st, struct evhttp_request *req, int code)
{
    ad_admin_reply(req, code, "application/json", st->scratch.p ? st->scratch.p : "",
                   st->scratch.len);
}

/* {"key":"value"}: the id of a new silence, or an error. */
static void reply_kv(struct ad_silence_store *st, struct evhttp_request *req, int code,
                     const char *key, const char *value)
{
    struct ad_jsonw w;
    ad_buf_reset(&st->scratch);
    ad_jsonw_init(&w, &st->scratch);
    ad_jsonw_obj_begin(&w);
    ad_jsonw_key(&w, key);
    ad_jsonw_cstr(&w, value);
    ad_jsonw_obj_end(&w);
    if (ad_jsonw_finish(&w) < 0)
        ad_admin_reply(req, 500, "text/plain; charset=utf-8", "out of memory\n", 14);
    else
        reply_json(st, req, code);
}

static void reply_error(struct ad_silence_store *st, struct evhttp_request *req, int code,
                        const char *msg)
{
    if (code >= 400 && code < 500)
        st->requests_rejected++;
    reply_kv(st, req, code, "error", msg);
}

static void reply_list(struct ad_silence_store *st, struct evhttp_request *req, const char *id)
{
    ad_buf_reset(&st->scratch);
    int r = ad_silences_to_json(st->set, id, false, ad_now_ns(), &st->scratch);
    if (r < 0)
        reply_error(st, req, http_code(r), r == -ENOENT ? "no such silence" : "out of memory");
    else
        reply_json(st, req, 200);
}

struct post_ctx {
    const struct ad_jsil *j;
};

static int take_post(void *ctx, const struct ad_jsil *j, size_t idx)
{
    (void)idx;
    ((struct post_ctx *)ctx)->j = j;
    return 0;
}

static int create(struct ad_silence_store *st, struct evhttp_request *req, struct change *ch,
                  struct ad_err *err)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    const char *body = len ? (const char *)evbuffer_pullup(in, -1) : "";
    struct post_ctx pc = {NULL};
    struct ad_silence_spec sp;
    int64_t now = ad_now_ns();

    if (len == 0)
        return ad_err_set(err, EBADMSG, "empty request body (expected a JSON silence)");
    if (!body)
        return ad_err_set(err, ENOMEM, "out of memory");
    int r = ad_json_parse_silences(body, len, false, 1, &st->arena, take_post, &pc, err);
    if (r == 0)
        r = ad_silence_spec_from_json(pc.j, &st->arena, &sp, err);
    if (r < 0)
        return r;
    /* Alertmanager's update: posting with the id of an existing silence replaces it (the old
     * one expires once the new one, with a new id, is in). */
    if (sp.id.len) {
        snprintf(ch->old, sizeof(ch->old), "%.*s", (int)sp.id.len, sp.id.p);
        r = sp.id.len < sizeof(ch->old) ? ad_silences_check_expire(st->set, ch->old) : -ENOENT;
        if (r < 0)
            return ad_err_set(err, -r, r == -EPERM ? "silence %s comes from the config" :
                              "no silence with id %s", ch->old);
        sp.id = AD_STR_NULL;
    }
    sp.updated_ns = now;
    ad_silences_gc(st->set, now, st->retention_ns);
    if (ch->old[0] && ad_silences_get_times(st->set, ch->old, &ch->old_times) < 0)
        ch->old[0] = '\0'; /* just collected: nothing to expire */
    r = ad_silences_add(st->set, &sp, now, ch->id, err);
    if (r == 0 && ch->old[0])
        ad_silences_expire(st->set, ch->old, now);
    return r;
}

/* Persists a change made over the API; when the file cannot be written the change is taken back
 * (the set is as before: what a restart would load) and the client gets 503. Returns 0 or the
 * write error (the 503 was sent). */
static int commit(struct ad_silence_store *st, struct evhttp_request *req, const struct change *ch)
{
    int r = save(st, false);
    if (r == 0)
        return 0;
    if (ch->id[0])
        ad_silences_remove(st->set, ch->id);
    if (ch->old[0])
        ad_silences_set_times(st->set, ch->old, &ch->old_times);
    st->changes_refused++;
    ad_log(AD_LOG_ERROR, "silences: change over the API refused: %s cannot be written (%s)",
           st->file, strerror(-r));
    char msg[400];
    snprintf(msg, sizeof(msg), "not persisted, nothing changed: cannot write %s: %s", st->file,
             strerror(-r));
    evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", "10");
    reply_error(st, req, 503, msg);
    return r;
}

static void on_collection(struct evhttp_request *req, void *ctx)
{
    struct ad_silence_store *st = ctx;
    enum evhttp_cmd_type m = evhttp_request_get_command(req);
    if (m == EVHTTP_REQ_GET || m == EVHTTP_REQ_HEAD) {
        ad_silences_gc(st->set, ad_now_ns(), st->retention_ns);
        save(st, false);
        reply_list(st, req, NULL);
        return;
    }
    if (m != EVHTTP_REQ_POST) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, HEAD, POST");
        reply_error(st, req, 405, "method not allowed (GET or POST)");
        return;
    }
    struct change ch = {0};
    struct ad_err err = {0};
    int r = create(st, req, &ch, &err);
    ad_arena_reset(&st->arena);
    if (r < 0) {
        reply_error(st, req, http_code(r), err.msg);
        return;
    }
    if (commit(st, req, &ch) < 0)
        return;
    ad_log(AD_LOG_NOTICE, "silences: %s added over the API", ch.id);
    reply_kv(st, req, 200, "silenceID", ch.id);
}

static void on_item(struct evhttp_request *req, void *ctx)
{
    struct ad_silence_store *st = ctx;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    const char *id = path ? path + strlen(ITEM_PREFIX) : "";
    enum evhttp_cmd_type m = evhttp_request_get_command(req);

    if (!path || !*id || strchr(id, '/')) {
        reply_error(st, req, 404, "expected /api/v1/silences/<id>");
    } else if (m == EVHTTP_REQ_GET || m == EVHTTP_REQ_HEAD) {
        reply_list(st, req, id);
    } else if (m == EVHTTP_REQ_DELETE) {
        struct change ch = {0};
        snprintf(ch.old, sizeof(ch.old), "%s", id);
        int r = ad_silences_get_times(st->set, id, &ch.old_times);
        if (r == 0)
            r = ad_silences_expire(st->set, id, ad_now_ns());
        if (r < 0) {
            reply_error(st, req, http_code(r), r == -EPERM
                                                   ? "a config silence: remove it from "
                                                     "models.silence.silences and reload"
                                                   : "no such silence");
            return;
        }
        if (commit(st, req, &ch) < 0)
            return;
        ad_log(AD_LOG_NOTICE, "silences: %s expired over the API", id);
        reply_list(st, req, id);
    } else {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, HEAD, DELETE");
        reply_error(st, req, 405, "method not allowed (GET or DELETE)");
    }
}

/* --- life cycle ----------------------------------------------------------------------------- */

int ad_silence_store_create(const struct ad_config *cfg, struct ad_silence_store **ret,
                            struct ad_err *reterr)
{
    const struct ad_silence_cfg *c = section(cfg);
    struct ad_silence_store *st = calloc(1, sizeof(*st));
    if (!st || ad_silences_create(&st->set) < 0 || !(st->file = strdup(c->file ? c->file : ""))) {
        ad_silence_store_destroy(st);
        return ad_err_set(reterr, ENOMEM, "silences: out of memory");
    }
    ad_buf_init(&st->scratch);
    ad_arena_init(&st->arena, 16 * 1024);
    st->retention_ns = c->retention_ns;
    int r = ad_silences_set_config(st->set, &c->silences, reterr);
    if (r < 0) {
        ad_silence_store_destroy(st);
        return r;
    }
    if (st->file[0])
        load(st);
    *ret = st;
    return 0;
}

void ad_silence_store_destroy(struct ad_silence_store *st)
{
    if (!st)
        return;
    ad_silences_unref(st->set);
    ad_buf_fini(&st->scratch);
    ad_arena_fini(&st->arena);
    free(st->file);
    free(st);
}

struct ad_silences *ad_silence_store_set(struct ad_silence_store *st) { return st->set; }

int ad_silence_store_routes(struct ad_silence_store *st, struct ad_admin *a)
{
    int r = ad_admin_route(a, COLLECTION, on_collection, st);
    return r < 0 ? r : ad_admin_route(a, ITEM_PREFIX, on_item, st);
}

int ad_silence_store_reconfigure(struct ad_silence_store *st, const struct ad_config *cfg,
                                 struct ad_err *reterr)
{
    const struct ad_silence_cfg *c = section(cfg);
    int r = ad_silences_set_config(st->set, &c->silences, reterr);
    if (r == 0)
        st->retention_ns = c->retention_ns;
    return r;
}

void ad_silence_store_tick(struct ad_silence_store *st)
{
    if (st->failure[0])
        save(st, true);
}

const char *ad_silence_store_failure(const struct ad_silence_store *st)
{
    return st->failure[0] ? st->failure : NULL;
}

void ad_silence_store_stats(const struct ad_silence_store *st, struct ad_metrics *m)
{
    const char *h = "Silences by state (wall clock; matching uses event time).";
    int64_t now = ad_now_ns();
    ad_metrics_gauge(m, "aiopsd_silences", h, "state=\"active\"",
                     (double)ad_silences_count(st->set, AD_SILENCE_ACTIVE, now));
    ad_metrics_gauge(m, "aiopsd_silences", h, "state=\"pending\"",
                     (double)ad_silences_count(st->set, AD_SILENCE_PENDING, now));
    ad_metrics_gauge(m, "aiopsd_silences", h, "state=\"expired\"",
                     (double)ad_silences_count(st->set, AD_SILENCE_EXPIRED, now));
    ad_metrics_counter(m, "aiopsd_silence_requests_rejected_total",
                       "Silence API requests refused (bad JSON, bad matcher, unknown id).", NULL,
                       st->requests_rejected);
    const char *fh = "Writes of models.silence.file.";
    ad_metrics_counter(m, "aiopsd_silence_file_writes_total", fh, "result=\"ok\"",
                       st->file_writes);
    ad_metrics_counter(m, "aiopsd_silence_file_writes_total", fh, "result=\"failed\"",
                       st->file_write_failures);
    ad_metrics_counter(m, "aiopsd_silence_changes_refused_total",
                       "Silence API changes answered 503 and taken back: the file could not be "
                       "written.", NULL, st->changes_refused);
    ad_metrics_gauge(m, "aiopsd_silence_file_write_failing",
                     "1 from a failed write of models.silence.file until one succeeds.", NULL,
                     st->failure[0] != '\0');
}
