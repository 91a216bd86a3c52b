/* daemon/baseline_store.h: the daemon's side of models/baseline (docs/baselines.md): the state
 * file (models.baseline.state_file under daemon.state_dir), loaded into the main pipeline at
 * start, rewritten every save_interval from a thread and once more at shutdown; and
 * GET /api/v1/baselines on the admin server, answered from the main pipeline and every Kafka
 * partition's pipeline. Runs on the loop. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

struct ad_admin;
struct ad_config;
struct ad_metrics;
struct ad_pipeline;
struct ad_streams;
struct ad_baseline_store;
struct event_base;

/* cfg is borrowed for the call; pipe and streams must outlive the store. Loads the state file into
 * pipe's baseline model (a missing file: learning starts; a corrupt, truncated or foreign one:
 * logged, moved aside to "<file>.corrupt", learning starts from scratch) and arms the save timer.
 * Returns 0 or -ENOMEM. */
int ad_baseline_store_create(const struct ad_config *cfg, struct event_base *base,
                             struct ad_pipeline *pipe, struct ad_streams *streams,
                             struct ad_baseline_store **ret);
/* Waits for a save in progress, then writes the state once more (shutdown). */
void ad_baseline_store_save_now(struct ad_baseline_store *st);
void ad_baseline_store_destroy(struct ad_baseline_store *st); /* NULL-safe; waits for a save */
int ad_baseline_store_routes(struct ad_baseline_store *st, struct ad_admin *a);
/* SIGHUP: the save interval (the file itself is restart-only). */
void ad_baseline_store_reconfigure(struct ad_baseline_store *st, const struct ad_config *cfg);
void ad_baseline_store_stats(const struct ad_baseline_store *st, struct ad_metrics *m);

/* The file format (also used by tests): "AIOPSDBL", u32 version, u32 0x01020304 as written by
 * this host (detector states are host-endian), u64 payload length, u64 XXH3 of the payload, then
 * ad_baseline_save()'s payload. Returns 0, or -EINVAL with why (a static string). */
int ad_baseline_file_check(const void *data, size_t len, const void **payload, size_t *plen,
                           const char **why);
