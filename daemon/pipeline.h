/* daemon/pipeline.h: models then correlators over one event, in registry order. Pure: no I/O,
 * no clock; shared by aiopsd (on the loop) and aiopsctl replay (offline, deterministic). */
#pragma once
#include <stdint.h>

#include "correlators/correlator.h"

struct ad_buf;
struct ad_config;
struct ad_err;
struct ad_event;
struct ad_metrics;
struct ad_pipeline;

#define AD_PIPELINE_TICK_NS INT64_C(1000000000) /* housekeeping cadence, in event time */

/* sink is copied; sink->emit receives every candidate change. */
int ad_pipeline_create(const struct ad_config *cfg, const struct ad_cand_sink *sink,
                       struct ad_pipeline **ret, struct ad_err *reterr);
void ad_pipeline_destroy(struct ad_pipeline *p); /* NULL-safe */
/* Applies a reloaded config to live models and correlators. On error nothing changed. */
int ad_pipeline_reconfigure(struct ad_pipeline *p, const struct ad_config *cfg, struct ad_err *reterr);
/* Runs ev through the models and correlators. Returns 0 (passed), AD_CONSUMED (a model swallowed
 * it) or -errno from a stage (the caller dead-letters it). An event stamped outside the
 * pipeline.max_future/max_past bounds of the stream's event time never moves the clock: it is
 * clamped to the stream's time (ev->time_ns rewritten, AD_EVF_CLAMPED set) or refused with
 * -ERANGE (pipeline.out_of_bounds: deadletter); counted either way. Housekeeping ticks run whenever event
 * time crosses a tick boundary, so results depend only on the event stream. */
int ad_pipeline_process(struct ad_pipeline *p, struct ad_event *ev);
/* Moves event time forward without an event (the daemon's idle timer). Never moves it back. */
void ad_pipeline_advance(struct ad_pipeline *p, int64_t now_ns);
int64_t ad_pipeline_now(const struct ad_pipeline *p); /* highest event time seen; 0 before any */
/* Emits every pending candidate change (shutdown, end of replay). */
void ad_pipeline_flush(struct ad_pipeline *p);
void ad_pipeline_stats(const struct ad_pipeline *p, struct ad_metrics *m);

struct ad_silences;
/* Points the pipeline's silence model (models/silence.h) at the daemon's shared set, so that a
 * silence added at run time applies to every pipeline at once; the model takes a reference.
 * Without it the model uses a private set built from models.silence.silences (aiopsctl). */
/* The state of the model named name ("baseline"), or NULL when the pipeline has none. */
void *ad_pipeline_model(struct ad_pipeline *p, const char *name);
/* The state of the correlator `name` (e.g. struct ad_svcwin for "service_window"), or NULL. */
void *ad_pipeline_correlator(struct ad_pipeline *p, const char *name);
/* One model's state through its save/load ops (the daemon's state files). save appends to out;
 * load replaces the model's state (nothing half-loaded on error). 0, -ENOENT (no such model or
 * it keeps no state), or the op's error (-EINVAL with why in reterr). */
int ad_pipeline_model_save(struct ad_pipeline *p, const char *name, struct ad_buf *out);
int ad_pipeline_model_load(struct ad_pipeline *p, const char *name, const void *data, size_t len,
                           struct ad_err *reterr);
void ad_pipeline_set_silences(struct ad_pipeline *p, struct ad_silences *s);

/* Snapshot of the whole state (event time and every stage that keeps state) appended to out:
 * restoring it into a new pipeline and feeding the events that followed gives the same output as
 * an uninterrupted run. Silences are not part of it: they come from the config and the daemon's
 * silences file, the same for every pipeline. 0 or -ENOMEM. */
int ad_pipeline_save(const struct ad_pipeline *p, struct ad_buf *out);
/* Restores a snapshot into a pipeline that has seen no event. A stage the snapshot does not
 * mention starts empty; a section for a stage that no longer exists is skipped. On error
 * (-EINVAL corrupt, -ENOMEM) the pipeline is unusable: destroy it and start a new one. */
int ad_pipeline_load(struct ad_pipeline *p, const void *data, size_t len, struct ad_err *reterr);
