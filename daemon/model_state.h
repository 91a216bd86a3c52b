/* daemon/model_state.h: a model's learned state across restarts (docs/baselines.md,
 * docs/templates.md; also the correlator's learned dependencies, docs/topology.md). The main
 * pipeline's model is written to a file every interval from a thread (serialized on the loop by the
 * model's save op) and once more at shutdown, and read back at start through its load op. A missing
 * file is the normal first start; a foreign, truncated, padded or corrupt one is logged, moved
 * aside to "<file>.corrupt", and the model starts from scratch. Kafka partitions keep their models
 * in their checkpoints instead. The main pipeline's whole state (pipeline.state_file: the snapshot,
 * the silences' match counts and the unacknowledged Redis output) goes through the same code
 * with its own ops (daemon/main.c, docs/redis.md "Restarts"). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ad_metrics;
struct ad_model_state;
struct ad_pipeline;
struct event_base;
struct ad_buf;
struct ad_err;

/* How a state is reached in the pipeline, by the spec's model name; ctx is the spec's. The
 * spec's NULL: a model through its save/load ops (ad_pipeline_model, ad_pipeline_model_save/load). */
struct ad_model_state_ops {
    bool (*has)(void *ctx, struct ad_pipeline *p, const char *name); /* false: nothing to persist */
    int (*save)(void *ctx, struct ad_pipeline *p, const char *name, struct ad_buf *out);
    int (*load)(void *ctx, struct ad_pipeline *p, const char *name, const void *data, size_t len,
                struct ad_err *reterr);
};

struct ad_model_state_spec {
    const char *model;    /* the model's name in the pipeline ("baseline"); the metrics label */
    const char *what;     /* for log lines ("baselines") */
    const char *magic;    /* 8 bytes at the start of the file ("AIOPSDBL") */
    const char *file;     /* as configured: relative to state_dir, or absolute; "" = none */
    const char *state_dir;
    int64_t interval_ns;
    const char *option;                   /* for log lines: the option that names the file */
    const struct ad_model_state_ops *ops; /* NULL: the model's */
    void *ctx;                            /* for ops */
    bool skip_load; /* the file is written but not read at start (another state restored it) */
};

/* Loads the file into pipe's model and arms the save timer (base NULL: no timer). spec's strings
 * are copied; pipe must outlive the store. A missing state_dir is logged once and persistence is
 * off. Returns 0 or -ENOMEM. */
int ad_model_state_create(const struct ad_model_state_spec *spec, struct event_base *base,
                          struct ad_pipeline *pipe, struct ad_model_state **ret);
/* True when the state is persisted (a file is configured and its directory exists). */
bool ad_model_state_enabled(const struct ad_model_state *st);
/* Waits for a save in progress, then writes the state once more (shutdown). */
void ad_model_state_save_now(struct ad_model_state *st);
void ad_model_state_destroy(struct ad_model_state *st); /* NULL-safe; waits for a save */
/* SIGHUP: a new save interval (the file is restart-only). */
void ad_model_state_set_interval(struct ad_model_state *st, int64_t interval_ns);
/* True from a failed write (or serialization) until the next one succeeds, with why (n bytes)
 * for /readyz. */
bool ad_model_state_failing(const struct ad_model_state *st, char *why, size_t n);
void ad_model_state_stats(const struct ad_model_state *st, struct ad_metrics *m);

/* The file format: magic (8 bytes), u32 format version, u32 0x01020304 as written by this host
 * (model states may hold host-endian bytes), u64 payload length, u64 XXH3 of the payload, then
 * the model's save payload. Returns 0, or -EINVAL with why (a static string). */
int ad_model_state_check(const char *magic, const void *data, size_t len, const void **payload,
                         size_t *plen, const char **why);
