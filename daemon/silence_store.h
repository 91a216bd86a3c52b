/* daemon/silence_store.h: the daemon's silences (docs/silences.md): one struct ad_silences shared
 * by the main pipeline and every per-partition pipeline, the /api/v1/silences routes on the admin
 * server, and the silences file (models.silence.file). Runs on the loop; reads the wall clock. */
#pragma once

struct ad_admin;
struct ad_config;
struct ad_err;
struct ad_metrics;
struct ad_silence_store;
struct ad_silences;

/* Builds the set from models.silence.silences and loads the run-time silences from
 * models.silence.file. A file that cannot be read or parsed is logged, moved aside to
 * "<file>.corrupt" when it is corrupt, and start-up goes on without it. cfg is borrowed for the
 * call. Returns 0, -EINVAL (a config silence: reterr names it) or -ENOMEM. */
int ad_silence_store_create(const struct ad_config *cfg, struct ad_silence_store **ret,
                            struct ad_err *reterr);
void ad_silence_store_destroy(struct ad_silence_store *st); /* NULL-safe */
/* The shared set, for ad_pipeline_set_silences and ad_streams_set_silences (borrowed: they take
 * their own references). */
struct ad_silences *ad_silence_store_set(struct ad_silence_store *st);
/* Adds GET/POST /api/v1/silences and GET/DELETE /api/v1/silences/<id>. 0 or ad_admin_route's
 * errors. Handlers answer at once; a change rewrites the file synchronously (a few KiB), and a
 * change the file cannot take is taken back and answered 503 (Retry-After). */
int ad_silence_store_routes(struct ad_silence_store *st, struct ad_admin *a);
/* SIGHUP: the config silences and the retention from the new config (the file is restart-only).
 * All or nothing. */
int ad_silence_store_reconfigure(struct ad_silence_store *st, const struct ad_config *cfg,
                                 struct ad_err *reterr);
/* Idle tick: after a failed write, tries again (an operator freed the disk). */
void ad_silence_store_tick(struct ad_silence_store *st);
/* From a failed write of the file until one succeeds: why (for /readyz); else NULL. */
const char *ad_silence_store_failure(const struct ad_silence_store *st);
void ad_silence_store_stats(const struct ad_silence_store *st, struct ad_metrics *m);
