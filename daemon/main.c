/* daemon/main.c: aiopsd. One libevent loop owns all I/O: collectors -> pipeline -> Redis.
 * Signals: SIGHUP reloads the config (a bad one is rejected, the running one kept), SIGTERM/SIGINT
 * stop collectors, flush candidates and drain the Redis buffer within shutdown_timeout. */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/event.h>

#include "collectors/collector.h"
#include "common/buf.h"
#include "common/err.h"
#include "common/event.h"
#include "common/json.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/ser.h"
#include "common/time.h"
#include "config/config.h"
#include "correlators/candidate.h"
#include "correlators/service_window.h"
#include "daemon/admin.h"
#include "daemon/baseline_api.h"
#include "daemon/membudget.h"
#include "daemon/model_state.h"
#include "daemon/out_redis.h"
#include "daemon/pipeline.h"
#include "daemon/security.h"
#include "daemon/sections.h"
#include "daemon/silence_store.h"
#include "daemon/streams.h"
#include "models/baseline.h"
#include "models/silence.h"
#include "models/templates.h"

#ifndef AD_VERSION
#define AD_VERSION "0.0.0"
#endif

#define MAX_COLLECTORS 16
#define MAX_RETIRED 64

struct collector {
    const struct ad_collector_ops *ops;
    void *state;
};

#define N_STATE_FILES 3 /* state files: baseline, templates, the learned dependencies */

struct daemon {
    struct event_base *base;
    const char *cfg_path;
    struct ad_config *cfg;
    /* Configs replaced by a reload stay alive until exit: components may still borrow strings
     * of restart-only options from them. Bounded: past MAX_RETIRED the oldest is freed only if
     * nothing can reference it (after the Nth reload, components were built from cfg #0). */
    struct ad_config *retired[MAX_RETIRED];
    size_t n_retired;
    bool cli_log_level;

    struct ad_out_redis *redis;
    struct ad_admin *admin;
    struct ad_pipeline *pipe;
    struct ad_streams *streams; /* per-partition pipelines (Kafka) */
    /* Owns the one silence set every pipeline's silence model points at (each holds a
     * reference), so a silence added over the admin API applies to all partitions at once. */
    struct ad_silence_store *silences;
    struct ad_model_state *states[N_STATE_FILES]; /* learned state files of the main pipeline */
    /* The main pipeline's whole state and the unacknowledged output (pipeline.state_file):
     * restored at start, it supersedes the learned state files. */
    struct ad_model_state *pstate;
    bool restored;
    uint64_t events_seen;      /* by the main pipeline, counting from before restored restarts */
    uint64_t restored_events, restored_pending;
    struct ad_baseline_api *baseline_api;          /* GET /api/v1/baselines */
    struct collector colls[MAX_COLLECTORS];
    size_t n_colls;
    struct ad_collector_env env;

    struct event *ev_term, *ev_int, *ev_hup, *ev_idle;
    struct ad_membudget *mem; /* daemon.memory_limit */
    unsigned pause_why;       /* PAUSE_* bits: collectors are paused while any is set */
    bool paused, stopping;
    bool activity;          /* a batch ran since the last idle tick */
    int64_t last_activity_mono_ns;

    uint64_t deadletters, pipeline_rejects, candidates_emitted, candidates_shed, reloads,
        reload_failures, pauses;
    struct ad_buf scratch;  /* dead-letter serialization of events a stage refused */
};

/* --- systemd readiness (sd_notify protocol, no libsystemd needed) ------------------------ */

static void notify(const char *msg)
{
    const char *path = getenv("NOTIFY_SOCKET");
    if (!path || !*path || strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
        return;
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    size_t n = strlen(path);
    memcpy(sa.sun_path, path, n);
    if (sa.sun_path[0] == '@')
        sa.sun_path[0] = '\0'; /* abstract namespace */
    sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sa,
           (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n));
    close(fd);
}

/* --- collectors and backpressure -------------------------------------------------------- */

enum { PAUSE_REDIS = 1, PAUSE_MEMORY = 2 };

/* Collectors are paused while any reason holds (a full Redis buffer, memory over the budget) and
 * resumed when the last one clears. */
static void set_paused(struct daemon *d, unsigned why, bool on)
{
    unsigned before = d->pause_why;
    d->pause_why = on ? before | why : before & ~why;
    if (before == 0 && d->pause_why != 0) {
        d->paused = true;
        for (size_t i = 0; i < d->n_colls; i++)
            d->colls[i].ops->pause(d->colls[i].state);
    } else if (before != 0 && d->pause_why == 0 && !d->stopping) {
        d->paused = false;
        for (size_t i = 0; i < d->n_colls; i++)
            d->colls[i].ops->resume(d->colls[i].state);
    }
}

static void pause_collectors(struct daemon *d)
{
    if (d->pause_why & PAUSE_REDIS)
        return;
    ad_log(AD_LOG_NOTICE, "redis buffer full (%zu entries): collectors paused",
           ad_out_redis_depth(d->redis));
    d->pauses++;
    set_paused(d, PAUSE_REDIS, true);
}

static void resume_collectors(void *ctx)
{
    struct daemon *d = ctx;
    if (!(d->pause_why & PAUSE_REDIS) || d->stopping)
        return;
    ad_log(AD_LOG_NOTICE, "redis buffer drained%s", d->pause_why == PAUSE_REDIS
                                                        ? ": collectors resumed"
                                                        : " (collectors stay paused: memory)");
    set_paused(d, PAUSE_REDIS, false);
}

static void memory_changed(void *ctx, bool over)
{
    struct daemon *d = ctx;
    if (!d->stopping)
        set_paused(d, PAUSE_MEMORY, over);
}

static void deadletter(struct daemon *d, const char *collector, const void *raw, size_t len,
                       const char *reason)
{
    d->deadletters++;
    ad_out_redis_submit_deadletter(d->redis, collector, raw, len, reason, ad_now_ns());
}

/* After any pipeline (the main one or a stream's) saw an event. */
static void processed(void *ctx, struct ad_event *ev, int r)
{
    struct daemon *d = ctx;
    if (r == -ERANGE) {
        d->pipeline_rejects++;
        ad_buf_reset(&d->scratch);
        ad_event_to_json(ev, &d->scratch);
        AD_LOG_RATELIMITED(AD_LOG_WARN,
                           "pipeline: event from %.*s/%.*s stamped outside pipeline.max_future/"
                           "max_past of its stream's event time, sending it to dead-letter",
                           (int)ev->resource.len, ev->resource.p, (int)ev->check.len, ev->check.p);
        deadletter(d, "pipeline", d->scratch.p, d->scratch.len,
                   "event time outside pipeline.max_future/max_past of the stream's event time");
    } else if (r < 0) {
        d->pipeline_rejects++;
        ad_buf_reset(&d->scratch);
        ad_event_to_json(ev, &d->scratch);
        AD_LOG_RATELIMITED(AD_LOG_WARN, "pipeline: %s, sending event to dead-letter",
                           strerror(-r));
        deadletter(d, "pipeline", d->scratch.p, d->scratch.len, strerror(-r));
    } else if (ev->flags & AD_EVF_CLAMPED) {
        char ts[40];
        AD_LOG_RATELIMITED(AD_LOG_WARN,
                           "pipeline: event from %.*s/%.*s stamped outside pipeline.max_future/"
                           "max_past of its stream's event time: its time is now the stream's (%s)",
                           (int)ev->resource.len, ev->resource.p, (int)ev->check.len, ev->check.p,
                           ad_time_format_rfc3339(ev->time_ns, ts, sizeof(ts)));
    }
    /* Pause at once, not at the end of the batch: one event adds at most a few entries, so the
     * buffer stays far below its shedding bound (2 x max_buffer) while collectors are paused.
     * The memory check is rate-limited (a clock read per event). */
    if (ad_out_redis_is_full(d->redis))
        pause_collectors(d);
    ad_membudget_check(d->mem);
}

static void env_emit(void *sink, struct ad_event *ev)
{
    struct daemon *d = sink;
    d->events_seen++;
    processed(d, ev, ad_pipeline_process(d->pipe, ev));
}

static void reject_at(void *ctx, const char *collector, const char *origin, const void *raw,
                      size_t len, const char *reason)
{
    struct daemon *d = ctx;
    d->deadletters++;
    ad_out_redis_submit_deadletter_at(d->redis, collector, origin, raw, len, reason, ad_now_ns());
    if (ad_out_redis_is_full(d->redis))
        pause_collectors(d);
}

static void env_reject(void *sink, const char *collector, const void *raw, size_t len,
                       const char *reason)
{
    struct daemon *d = sink;
    deadletter(d, collector, raw, len, reason);
    if (ad_out_redis_is_full(d->redis))
        pause_collectors(d);
    ad_membudget_check(d->mem);
}

static void env_batch_done(void *sink)
{
    struct daemon *d = sink;
    d->activity = true;
    ad_membudget_check(d->mem);
    if (ad_out_redis_is_full(d->redis))
        pause_collectors(d);
}

static int cand_emit(void *ctx, const struct ad_candidate *c)
{
    struct daemon *d = ctx;
    int r = ad_out_redis_submit_candidate(d->redis, c);
    if (r < 0)
        d->candidates_shed++;
    else
        d->candidates_emitted++;
    return r;
}

static void stop_collectors(struct daemon *d)
{
    for (size_t i = d->n_colls; i-- > 0;)
        d->colls[i].ops->stop(d->colls[i].state);
}

static int start_collectors(struct daemon *d, struct ad_err *err)
{
    for (size_t i = 0; ad_collectors[i] && d->n_colls < MAX_COLLECTORS; i++) {
        const struct ad_collector_ops *ops = ad_collectors[i];
        char path[128];
        snprintf(path, sizeof(path), "collectors.%s", ops->name);
        const void *cfg = ad_config_get(d->cfg, path);
        if (!cfg || !AD_COLLECTOR_ENABLED(cfg))
            continue;
        struct collector *c = &d->colls[d->n_colls];
        int r = ops->create(cfg, &d->env, &c->state, err);
        if (r < 0)
            return r;
        c->ops = ops;
        d->n_colls++;
        r = ops->start(c->state, err);
        if (r < 0)
            return r;
    }
    return 0;
}

/* --- admin hooks ------------------------------------------------------------------------ */

static bool ready(void *ctx, char *why, size_t n)
{
    struct daemon *d = ctx;
    if (d->stopping) {
        snprintf(why, n, "shutting down");
        return false;
    }
    if (ad_membudget_over(d->mem)) {
        snprintf(why, n, "memory: resident set over daemon.memory_limit, collectors paused");
        return false;
    }
    /* A refusal first: while it is retried the output reconnects, and "not connected" would
     * hide the reason. */
    const char *refused = ad_out_redis_refused(d->redis);
    if (refused) {
        snprintf(why, n, "redis: %s", refused);
        return false;
    }
    if (!ad_out_redis_is_connected(d->redis)) {
        snprintf(why, n, "redis: not connected");
        return false;
    }
    const char *failure = ad_silence_store_failure(d->silences);
    if (failure) {
        snprintf(why, n, "%s", failure);
        return false;
    }
    for (size_t i = 0; i < N_STATE_FILES; i++)
        if (ad_model_state_failing(d->states[i], why, n))
            return false;
    return true;
}

/* The learned dependencies of the main pipeline's correlator (correlators.service_window, the
 * learned rule; docs/topology.md), named "learned_topology" in the state file metrics. */
#define LEARNED_CORR "service_window"

static bool learned_has(void *ctx, struct ad_pipeline *p, const char *name)
{
    (void)ctx;
    (void)name;
    return ad_pipeline_correlator(p, LEARNED_CORR) != NULL;
}

static int learned_save(void *ctx, struct ad_pipeline *p, const char *name, struct ad_buf *out)
{
    (void)ctx;
    (void)name;
    return ad_svcwin_learned_save(ad_pipeline_correlator(p, LEARNED_CORR), out);
}

static int learned_load(void *ctx, struct ad_pipeline *p, const char *name, const void *data,
                        size_t len, struct ad_err *reterr)
{
    (void)ctx;
    (void)name;
    return ad_svcwin_learned_load(ad_pipeline_correlator(p, LEARNED_CORR), data, len, reterr);
}

static const struct ad_model_state_ops learned_ops = {learned_has, learned_save, learned_load};

/* State file i (of N_STATE_FILES) as the config says. */
static void state_spec(const struct ad_config *cfg, size_t i, struct ad_model_state_spec *sp)
{
    const struct ad_daemon_cfg *dc = ad_config_get(cfg, "daemon");
    if (i == 0) {
        const struct ad_baseline_cfg *b = ad_config_get(cfg, "models.baseline");
        *sp = (struct ad_model_state_spec){.model = "baseline",
                                           .what = "baselines",
                                           .magic = "AIOPSDBL",
                                           .file = b->state_file,
                                           .state_dir = dc->state_dir,
                                           .interval_ns = b->save_interval_ns};
    } else if (i == 1) {
        const struct ad_templates_cfg *t = ad_config_get(cfg, "models.templates");
        *sp = (struct ad_model_state_spec){.model = "templates",
                                           .what = "templates",
                                           .magic = "AIOPSDTM",
                                           .file = t->state_file,
                                           .state_dir = dc->state_dir,
                                           .interval_ns = t->save_interval_ns};
    } else {
        const struct ad_svcwin_cfg *c = ad_config_get(cfg, "correlators.service_window");
        *sp = (struct ad_model_state_spec){.model = "learned_topology",
                                           .what = "learned topology",
                                           .magic = "AIOPSDLT",
                                           .file = c->learn_state_file,
                                           .state_dir = dc->state_dir,
                                           .interval_ns = c->learn_save_interval_ns,
                                           .option = "correlators.service_window.learn_state_file",
                                           .ops = &learned_ops};
    }
}

/* --- the main pipeline's state across restarts (docs/reliability.md) --------------------- */

/* Payload: u32 version, u64 events seen, then three length-prefixed parts: the pipeline's
 * snapshot (ad_pipeline_save), the silences' match counts, the unacknowledged Redis entries. */
#define PSTATE_VERSION 1u

static int fresh_pipeline(struct daemon *d, struct ad_err *err)
{
    struct ad_cand_sink sink = {d, cand_emit};
    struct ad_pipeline *p;
    int r = ad_pipeline_create(d->cfg, &sink, &p, err);
    if (r < 0)
        return r;
    ad_pipeline_destroy(d->pipe);
    d->pipe = p;
    ad_pipeline_set_silences(d->pipe, ad_silence_store_set(d->silences));
    return 0;
}

static bool pstate_has(void *ctx, struct ad_pipeline *p, const char *name)
{
    (void)ctx;
    (void)p;
    (void)name;
    return true;
}

static int pstate_save(void *ctx, struct ad_pipeline *p, const char *name, struct ad_buf *out)
{
    struct daemon *d = ctx;
    (void)p;
    (void)name;
    struct ad_wr w = {out, 0};
    ad_wr_u32(&w, PSTATE_VERSION);
    ad_wr_u64(&w, d->events_seen);
    size_t at = ad_wr_begin_len(&w);
    if (w.err == 0)
        w.err = ad_pipeline_save(d->pipe, out);
    ad_wr_end_len(&w, at);
    at = ad_wr_begin_len(&w);
    ad_silences_save_counts(ad_silence_store_set(d->silences), &w);
    ad_wr_end_len(&w, at);
    at = ad_wr_begin_len(&w);
    ad_out_redis_save_pending(d->redis, &w);
    ad_wr_end_len(&w, at);
    return w.err;
}

/* Into the fresh main pipeline (before any event); on error it is fresh again and nothing was
 * queued, and the file is moved aside by the caller. */
static int pstate_load(void *ctx, struct ad_pipeline *p, const char *name, const void *data,
                       size_t len, struct ad_err *reterr)
{
    struct daemon *d = ctx;
    (void)p;
    (void)name;
    struct ad_rd r = ad_rd_make(data, len);
    uint32_t version = ad_rd_u32(&r);
    uint64_t seen = ad_rd_u64(&r);
    struct ad_rd pipe = ad_rd_sub(&r), sil = ad_rd_sub(&r), pend = ad_rd_sub(&r);
    if (r.bad || r.n != 0)
        return ad_err_set(reterr, EINVAL, "corrupt pipeline state");
    if (version != PSTATE_VERSION)
        return ad_err_set(reterr, EINVAL, "pipeline state of another version (%u)", version);
    size_t n = 0;
    int rc = ad_pipeline_load(d->pipe, pipe.p, pipe.n, reterr);
    if (rc == 0)
        rc = ad_silences_load_counts(ad_silence_store_set(d->silences), &sil, reterr);
    if (rc == 0)
        rc = ad_out_redis_restore_pending(d->redis, &pend, &n, reterr);
    if (rc < 0) {
        struct ad_err e2 = {0};
        if (fresh_pipeline(d, &e2) < 0)
            return ad_err_set(reterr, ENOMEM, "pipeline: out of memory");
        return rc;
    }
    d->restored = true;
    d->events_seen = d->restored_events = seen;
    d->restored_pending = n;
    ad_log(AD_LOG_INFO, "pipeline state: restored (%llu events seen, event time %lld, %zu "
           "entries for redis queued again)", (unsigned long long)seen,
           (long long)ad_pipeline_now(d->pipe), n);
    return 0;
}

static const struct ad_model_state_ops pstate_ops = {pstate_has, pstate_save, pstate_load};

static void pstate_spec(struct daemon *d, const struct ad_config *cfg,
                        struct ad_model_state_spec *sp)
{
    const struct ad_daemon_cfg *dc = ad_config_get(cfg, "daemon");
    const struct ad_pipeline_cfg *pc = ad_config_get(cfg, "pipeline");
    *sp = (struct ad_model_state_spec){.model = "pipeline",
                                       .what = "pipeline state",
                                       .magic = "AIOPSDPL",
                                       .file = pc->state_file,
                                       .state_dir = dc->state_dir,
                                       .interval_ns = pc->save_interval_ns,
                                       .option = "pipeline.state_file",
                                       .ops = &pstate_ops,
                                       .ctx = d};
}

static void metrics(void *ctx, struct ad_metrics *m)
{
    struct daemon *d = ctx;
    ad_metrics_gauge(m, "aiopsd_up", "1 while the daemon runs.", NULL, 1);
    for (size_t i = 0; i < d->n_colls; i++)
        if (d->colls[i].ops->stats)
            d->colls[i].ops->stats(d->colls[i].state, m);
    ad_pipeline_stats(d->pipe, m);
    ad_streams_stats(d->streams, m);
    ad_silence_store_stats(d->silences, m);
    for (size_t i = 0; i < N_STATE_FILES; i++)
        ad_model_state_stats(d->states[i], m);
    ad_model_state_stats(d->pstate, m);
    ad_metrics_gauge(m, "aiopsd_pipeline_state_restored_events",
                     "Events the main pipeline's restored state had seen (0: started empty).",
                     NULL, (double)d->restored_events);
    ad_metrics_gauge(m, "aiopsd_pipeline_state_restored_pending",
                     "Redis entries unacknowledged at the last save, queued again at start.", NULL,
                     (double)d->restored_pending);
    ad_metrics_counter(m, "aiopsd_candidates_emitted_total",
                       "Candidate changes handed to the Redis output.", NULL,
                       d->candidates_emitted);
    ad_metrics_counter(m, "aiopsd_candidates_shed_total",
                       "Candidate changes shed at the Redis buffer's hard bound.", NULL,
                       d->candidates_shed);
    ad_metrics_counter(m, "aiopsd_deadletters_total", "Records sent to the dead-letter list.",
                       NULL, d->deadletters);
    ad_metrics_gauge(m, "aiopsd_collectors_paused", "1 while collectors are paused (backpressure).",
                     NULL, d->paused);
    ad_metrics_counter(m, "aiopsd_backpressure_pauses_total",
                       "Times collectors were paused because the Redis buffer was full.", NULL,
                       d->pauses);
    ad_membudget_stats(d->mem, m);
    ad_metrics_counter(m, "aiopsd_config_reloads_total", "Successful SIGHUP reloads.", NULL,
                       d->reloads);
    ad_metrics_counter(m, "aiopsd_config_reload_failures_total",
                       "SIGHUP reloads rejected (the running config was kept).", NULL,
                       d->reload_failures);
    ad_out_redis_stats(d->redis, m);
}

/* --- signals ---------------------------------------------------------------------------- */

static void log_err(const char *what, const struct ad_err *err)
{
    char buf[512];
    ad_log(AD_LOG_ERROR, "%s: %s", what, ad_err_str(err, buf, sizeof(buf)));
}

static void apply_log_level(struct daemon *d)
{
    const struct ad_daemon_cfg *dc = ad_config_get(d->cfg, "daemon");
    if (!d->cli_log_level)
        ad_log_set_level((enum ad_log_level)dc->log_level);
}

static void restart_needed(void *ctx, const char *section, const struct ad_opt *opt)
{
    (void)ctx;
    ad_log(AD_LOG_NOTICE, "reload: %s.%s changed but needs a restart; keeping the running value",
           section, opt->name);
}

static int nop(void *ctx, const struct ad_candidate *c)
{
    (void)ctx;
    (void)c;
    return 0;
}

static int check_pipeline(const struct ad_config *cfg, struct ad_err *err)
{
    /* Build the pure stages once so semantic errors (e.g. unknown identity fields) are caught
     * by --check-config and at start-up, before any socket is opened. */
    struct ad_pipeline *p = NULL;
    struct ad_cand_sink sink = {NULL, nop};
    int r = ad_pipeline_create(cfg, &sink, &p, err);
    ad_pipeline_destroy(p);
    return r;
}

static void on_hup(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct daemon *d = arg;
    struct ad_config *next = NULL;
    struct ad_err err = {0};

    if (!d->cfg_path) {
        ad_log(AD_LOG_NOTICE, "SIGHUP: running on built-in defaults (no -c FILE); nothing to reload");
        return;
    }
    notify("RELOADING=1");
    /* Certificates first, whatever becomes of the config: their paths are restart-only, and a
     * renewed certificate must not wait for an unrelated config fix. */
    ad_admin_reload(d->admin);
    for (size_t i = 0; i < d->n_colls; i++)
        if (d->colls[i].ops->reload)
            d->colls[i].ops->reload(d->colls[i].state);
    int r = ad_config_load(d->cfg_path, ad_sections(), &next, &err);
    if (r == 0) {
        ad_config_restart_diff(d->cfg, next, restart_needed, d);
        r = ad_config_keep_restart(next, d->cfg);
        if (r < 0)
            ad_err_set(&err, -r, "reload: cannot copy restart-only options");
    }
    /* Build the pure stages from the new config first (this reads files such as the topology):
     * a config that cannot be built is refused before any running stage is touched. */
    if (r == 0)
        r = check_pipeline(next, &err);
    if (r == 0)
        r = ad_silence_store_reconfigure(d->silences, next, &err);
    if (r == 0)
        r = ad_pipeline_reconfigure(d->pipe, next, &err);
    if (r == 0)
        r = ad_streams_reconfigure(d->streams, next, &err);
    if (r < 0) {
        d->reload_failures++;
        log_err("reload rejected, keeping the running configuration", &err);
        ad_config_destroy(next);
        notify("READY=1");
        return;
    }
    if (d->n_retired == MAX_RETIRED) {
        /* Components built at start borrow from retired[0]'s restart-only strings only through
         * copies made by ad_config_keep_restart, so the oldest retired config can go. */
        ad_config_destroy(d->retired[1]);
        memmove(&d->retired[1], &d->retired[2], (MAX_RETIRED - 2) * sizeof(d->retired[0]));
        d->n_retired--;
    }
    d->retired[d->n_retired++] = d->cfg;
    d->cfg = next;
    apply_log_level(d);
    const struct ad_daemon_cfg *dc = ad_config_get(d->cfg, "daemon");
    struct timeval tv = {(time_t)(dc->idle_tick_ns / AD_NS_PER_S),
                         (suseconds_t)(dc->idle_tick_ns % AD_NS_PER_S / 1000)};
    event_add(d->ev_idle, &tv); /* re-arms the persistent timer with the new idle_tick */
    ad_membudget_set_limit(d->mem, dc->memory_limit);
    for (size_t i = 0; i < N_STATE_FILES; i++) {
        struct ad_model_state_spec sp;
        state_spec(d->cfg, i, &sp);
        ad_model_state_set_interval(d->states[i], sp.interval_ns);
    }
    struct ad_model_state_spec psp;
    pstate_spec(d, d->cfg, &psp);
    ad_model_state_set_interval(d->pstate, psp.interval_ns);
    d->reloads++;
    ad_log(AD_LOG_NOTICE, "configuration reloaded from %s", d->cfg_path);
    notify("READY=1");
}

static void drained(void *ctx, bool all_acked)
{
    struct daemon *d = ctx;
    if (all_acked)
        ad_log(AD_LOG_NOTICE, "shutdown: output flushed to redis");
    else if (ad_model_state_enabled(d->pstate))
        ad_log(AD_LOG_WARN,
               "shutdown: %zu entries not acknowledged by redis within the timeout; kept in the "
               "pipeline state, to be sent after the restart",
               ad_out_redis_depth(d->redis));
    else
        ad_log(AD_LOG_ERROR, "shutdown: %zu entries not acknowledged by redis within the timeout",
               ad_out_redis_depth(d->redis));
    event_base_loopexit(d->base, NULL);
}

static void on_term(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    struct daemon *d = arg;
    if (d->stopping) {
        ad_log(AD_LOG_WARN, "second signal %d: exiting without waiting for redis", (int)sig);
        event_base_loopbreak(d->base);
        return;
    }
    d->stopping = true;
    notify("STOPPING=1");
    ad_log(AD_LOG_NOTICE, "signal %d: stopping collectors and flushing", (int)sig);
    stop_collectors(d);
    /* No more ticks: while draining, Redis refuses new entries, so nothing may be emitted. */
    event_del(d->ev_idle);
    /* With the state persisted, pending updates stay pending: they are emitted after the
     * restart when due, exactly as without the restart. Without, they are emitted now. */
    if (!ad_model_state_enabled(d->pstate))
        ad_pipeline_flush(d->pipe);
    for (size_t i = 0; i < N_STATE_FILES; i++)
        ad_model_state_save_now(d->states[i]);
    const struct ad_daemon_cfg *dc = ad_config_get(d->cfg, "daemon");
    ad_out_redis_drain(d->redis, dc->shutdown_timeout_ns, drained, d);
}

static void on_idle(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct daemon *d = arg;
    int64_t now = ad_mono_ns();
    ad_streams_idle(d->streams, now);
    ad_silence_store_tick(d->silences);
    if (d->activity) {
        d->activity = false;
        d->last_activity_mono_ns = now;
        return;
    }
    /* No events for a while: let event time follow the wall clock from the last event, so that
     * coalesced updates and expiries still happen. Replays never reach this path. */
    int64_t evt = ad_pipeline_now(d->pipe);
    if (evt > 0 && d->last_activity_mono_ns > 0)
        ad_pipeline_advance(d->pipe, evt + (now - d->last_activity_mono_ns));
    d->last_activity_mono_ns = now;
}

/* --- start-up --------------------------------------------------------------------------- */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: aiopsd [-c FILE] [--check-config] [--log-level LEVEL] [--version]\n"
            "              [--print-config-example] [--print-config-docs]\n"
            "  -c, --config FILE       YAML configuration (default: built-in defaults)\n"
            "      --check-config      validate the configuration and exit 0 (valid) or 1\n"
            "      --log-level LEVEL   error, warn, notice, info or debug (overrides the config)\n"
            "      --print-config-example  write the commented example configuration\n"
            "      --print-config-docs     write the configuration reference (markdown)\n"
            "  -V, --version           print the version\n");
}


/* Root is needed at most to bind: become daemon.user before the loop reads any input. Threads
 * already running (librdkafka's) change with us: glibc applies set*id to every thread. */
static int drop_privileges(const char *user, struct ad_err *err)
{
    if (!user || !user[0])
        return 0;
    if (geteuid() != 0) {
        ad_log(AD_LOG_NOTICE, "daemon.user %s: not started as root, staying as uid %u", user,
               (unsigned)geteuid());
        return 0;
    }
    errno = 0;
    struct passwd *pw = getpwnam(user);
    if (!pw)
        return ad_err_set(err, errno ? errno : ENOENT, "daemon.user: no user \"%s\"", user);
    uid_t uid = pw->pw_uid;
    gid_t gid = pw->pw_gid;
    if (setgroups(1, &gid) < 0 || setgid(gid) < 0 || setuid(uid) < 0)
        return ad_err_set(err, errno, "daemon.user: cannot become %s: %s", user, strerror(errno));
    if (uid != 0 && (setuid(0) == 0 || geteuid() == 0))
        return ad_err_set(err, EPERM, "daemon.user: root could be regained after becoming %s",
                          user);
    ad_log(AD_LOG_NOTICE, "running as %s (uid %u, gid %u)", user, (unsigned)uid, (unsigned)gid);
    return 0;
}

static int run(struct daemon *d)
{
    struct ad_err err = {0};
    const struct ad_daemon_cfg *dc = ad_config_get(d->cfg, "daemon");
    int r;

    d->base = event_base_new();
    if (!d->base) {
        ad_log(AD_LOG_ERROR, "cannot create the event loop");
        return 1;
    }
    struct ad_cand_sink sink = {d, cand_emit};

    r = ad_out_redis_create(ad_config_get(d->cfg, "outputs.redis"), d->base, &d->redis, &err);
    if (r == 0 && ad_membudget_create(d->base, memory_changed, d, &d->mem) < 0)
        r = ad_err_set(&err, ENOMEM, "memory: out of memory");
    if (r == 0)
        r = ad_silence_store_create(d->cfg, &d->silences, &err);
    if (r == 0) {
        ad_out_redis_on_drain(d->redis, resume_collectors, d);
        r = ad_pipeline_create(d->cfg, &sink, &d->pipe, &err);
    }
    if (r == 0) {
        ad_pipeline_set_silences(d->pipe, ad_silence_store_set(d->silences));
        struct ad_streams_hooks sh = {d, processed, reject_at};
        r = ad_streams_create(d->cfg, &sink, d->redis, &sh, &d->streams, &err);
    }
    if (r == 0)
        ad_streams_set_silences(d->streams, ad_silence_store_set(d->silences));
    if (r == 0) {
        struct ad_model_state_spec sp;
        pstate_spec(d, d->cfg, &sp);
        if (ad_model_state_create(&sp, d->base, d->pipe, &d->pstate) < 0)
            r = ad_err_set(&err, ENOMEM, "%s: out of memory", sp.what);
    }
    for (size_t i = 0; i < N_STATE_FILES && r == 0; i++) {
        struct ad_model_state_spec sp;
        state_spec(d->cfg, i, &sp);
        sp.skip_load = d->restored; /* the pipeline state holds the models' state too */
        if (ad_model_state_create(&sp, d->base, d->pipe, &d->states[i]) < 0)
            r = ad_err_set(&err, ENOMEM, "%s: out of memory", sp.what);
    }
    if (r == 0 && ad_baseline_api_create(d->pipe, d->streams, &d->baseline_api) < 0)
        r = ad_err_set(&err, ENOMEM, "baselines: out of memory");
    if (r == 0)
        d->env = (struct ad_collector_env){d->base,       d, env_emit, env_reject, env_batch_done,
                                           ad_streams_env(d->streams)};
    if (r == 0) {
        struct ad_admin_hooks hooks = {d, ready, metrics};
        r = ad_admin_create(ad_config_get(d->cfg, "admin"), d->base, &hooks, &d->admin, &err);
    }
    if (r == 0 && (r = ad_silence_store_routes(d->silences, d->admin)) < 0)
        ad_err_set(&err, -r, "admin: cannot add the silence routes");
    if (r == 0 && (r = ad_baseline_api_routes(d->baseline_api, d->admin)) < 0)
        ad_err_set(&err, -r, "admin: cannot add the baseline routes");
    if (r == 0)
        r = ad_out_redis_start(d->redis);
    if (r == 0)
        r = start_collectors(d, &err);
    if (r == 0)
        r = drop_privileges(dc->user, &err);
    if (r == 0)
        ad_membudget_set_limit(d->mem, dc->memory_limit);
    if (r < 0) {
        if (!err.msg[0])
            ad_err_set(&err, -r, "%s", strerror(-r));
        log_err("start-up failed", &err);
        return 1;
    }

    d->ev_term = evsignal_new(d->base, SIGTERM, on_term, d);
    d->ev_int = evsignal_new(d->base, SIGINT, on_term, d);
    d->ev_hup = evsignal_new(d->base, SIGHUP, on_hup, d);
    d->ev_idle = event_new(d->base, -1, EV_PERSIST, on_idle, d);
    struct timeval tv = {(time_t)(dc->idle_tick_ns / AD_NS_PER_S),
                         (suseconds_t)(dc->idle_tick_ns % AD_NS_PER_S / 1000)};
    if (!d->ev_term || !d->ev_int || !d->ev_hup || !d->ev_idle || evsignal_add(d->ev_term, NULL) ||
        evsignal_add(d->ev_int, NULL) || evsignal_add(d->ev_hup, NULL) ||
        event_add(d->ev_idle, &tv)) {
        ad_log(AD_LOG_ERROR, "cannot install signal handlers");
        return 1;
    }
    ad_log(AD_LOG_INFO, "aiopsd %s started (%s, JSON: %s)", AD_VERSION,
           d->cfg_path ? d->cfg_path : "built-in defaults", ad_json_parser_library());
    notify("READY=1");
    event_base_dispatch(d->base);
    /* After the drain: the state with whatever Redis has not acknowledged. */
    if (ad_model_state_enabled(d->pstate)) {
        size_t left = ad_out_redis_depth(d->redis);
        ad_model_state_save_now(d->pstate);
        if (left)
            ad_log(AD_LOG_NOTICE, "pipeline state: %zu unacknowledged redis entries saved", left);
    }
    ad_log(AD_LOG_INFO, "aiopsd stopped");
    return 0;
}

static void teardown(struct daemon *d)
{
    for (size_t i = d->n_colls; i-- > 0;)
        d->colls[i].ops->destroy(d->colls[i].state);
    ad_admin_destroy(d->admin);
    ad_baseline_api_destroy(d->baseline_api);
    for (size_t i = 0; i < N_STATE_FILES; i++)
        ad_model_state_destroy(d->states[i]);
    ad_model_state_destroy(d->pstate);
    ad_streams_destroy(d->streams);
    ad_pipeline_destroy(d->pipe);
    ad_silence_store_destroy(d->silences);
    ad_out_redis_destroy(d->redis);
    ad_membudget_destroy(d->mem);
    if (d->ev_term)
        event_free(d->ev_term);
    if (d->ev_int)
        event_free(d->ev_int);
    if (d->ev_hup)
        event_free(d->ev_hup);
    if (d->ev_idle)
        event_free(d->ev_idle);
    if (d->base)
        event_base_free(d->base);
    for (size_t i = 0; i < d->n_retired; i++)
        ad_config_destroy(d->retired[i]);
    ad_config_destroy(d->cfg);
    ad_buf_fini(&d->scratch);
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"check-config", no_argument, NULL, 'C'},
        {"log-level", required_argument, NULL, 'l'},
        {"print-config-example", no_argument, NULL, 'E'},
        {"print-config-docs", no_argument, NULL, 'D'},
        {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct daemon d = {0};
    bool check = false;
    int opt;

    while ((opt = getopt_long(argc, argv, "c:hV", longopts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            d.cfg_path = optarg;
            break;
        case 'C':
            check = true;
            break;
        case 'l': {
            enum ad_log_level lvl;
            if (ad_log_level_parse(optarg, &lvl) < 0) {
                fprintf(stderr, "aiopsd: --log-level: expected error, warn, notice, info or debug, got \"%s\"\n", optarg);
                return 1;
            }
            ad_log_set_level(lvl);
            d.cli_log_level = true;
            break;
        }
        case 'E':
            return ad_config_write_example(stdout, ad_sections()) < 0;
        case 'D':
            return ad_config_write_markdown(stdout, ad_sections()) < 0;
        case 'V':
            printf("aiopsd %s\n", AD_VERSION);
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 1;
        }
    }
    if (optind < argc) {
        usage(stderr);
        return 1;
    }

    struct ad_err err = {0};
    char buf[512];
    int r = ad_config_load(d.cfg_path, ad_sections(), &d.cfg, &err);
    if (r == 0)
        r = check_pipeline(d.cfg, &err);
    if (r < 0) {
        fprintf(stderr, "aiopsd: %s\n", ad_err_str(&err, buf, sizeof(buf)));
        ad_config_destroy(d.cfg);
        return 1;
    }
    apply_log_level(&d);
    ad_security_warnings(d.cfg);
    if (check) {
        printf("aiopsd: configuration %s is valid\n", d.cfg_path ? d.cfg_path : "(built-in defaults)");
        ad_config_destroy(d.cfg);
        return 0;
    }
    signal(SIGPIPE, SIG_IGN);
    ad_buf_init(&d.scratch);
    int rc = run(&d);
    teardown(&d);
    return rc;
}
