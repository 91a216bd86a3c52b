/* daemon/sections.c: the section list, built from the stage registries so a new collector, model
 * or correlator shows up in the config, --check-config and the example without further code. */
#include "daemon/sections.h"

#include <stdio.h>

#include "collectors/collector.h"
#include "correlators/correlator.h"
#include "daemon/admin.h"
#include "daemon/out_redis.h"
#include "models/model.h"

static const char *const log_levels[] = {"error", "warn", "notice", "info", "debug", NULL};

static const struct ad_opt daemon_opts[] = {
    AD_OPT_ENUM("log_level", "info", log_levels, struct ad_daemon_cfg, log_level,
                "Least severe level logged (error, warn, notice, info, debug); --log-level "
                "overrides it."),
    AD_OPT_STRING_R("state_dir", "/var/lib/aiopsd", "4096", struct ad_daemon_cfg, state_dir,
                    "Directory for persisted model state."),
    AD_OPT_DURATION("shutdown_timeout", "5s", "0s", "5m", struct ad_daemon_cfg,
                    shutdown_timeout_ns,
                    "On SIGTERM, how long to wait for Redis to acknowledge the buffered output."),
    AD_OPT_DURATION("idle_tick", "1s", "100ms", "1m", struct ad_daemon_cfg, idle_tick_ns,
                    "When no event arrives for this long, event time is advanced by the wall "
                    "clock so pending candidate updates are still emitted."),
    AD_OPT_SIZE("memory_limit", "0", "0", "1TiB", struct ad_daemon_cfg, memory_limit,
                "Memory budget: above this resident set size the collectors are paused (ZeroMQ "
                "stops reading, HTTP answers 503, Kafka pauses) until it falls below 85% of it; "
                "0: no limit. Set it below the unit's MemoryMax."),
    AD_OPT_STRING_R("user", "", "64", struct ad_daemon_cfg, user,
                    "Started as root: the user (and its group) aiopsd becomes once every listener "
                    "is bound, before it reads any input. Empty: stay as started."),
    AD_OPT_END,
};

static const struct ad_section daemon_section = {"daemon", "Process-wide settings.", daemon_opts,
                                                 sizeof(struct ad_daemon_cfg)};

static const char *const skew_actions[] = {"clamp", "deadletter", NULL};

static const struct ad_opt pipeline_opts[] = {
    AD_OPT_DURATION("max_future", "30d", "0s", "3650d", struct ad_pipeline_cfg, max_future_ns,
                    "An event stamped later than its stream's event time by more than this is out "
                    "of bounds (a broken clock) unless another resource confirms that time; 0s = no "
                    "bound."),
    AD_OPT_DURATION("max_past", "30d", "0s", "3650d", struct ad_pipeline_cfg, max_past_ns,
                    "An event stamped earlier than its stream's event time by more than this is "
                    "out of bounds; 0s = no bound."),
    AD_OPT_ENUM("out_of_bounds", "clamp", skew_actions, struct ad_pipeline_cfg, out_of_bounds,
                "What happens to an out-of-bounds event: clamp (its time becomes the stream's "
                "event time, the time it was received at) or deadletter."),
    AD_OPT_STRING_R("state_file", "pipeline.state", "4096", struct ad_pipeline_cfg, state_file,
                    "aiopsd: the main pipeline's state (dedup, correlator, flapping, silence "
                    "matches) and the output Redis has not acknowledged, relative to "
                    "daemon.state_dir, saved every save_interval and at shutdown and restored at "
                    "start; \"\" disables (SIGTERM then flushes pending updates)."),
    AD_OPT_DURATION("save_interval", "10s", "100ms", "1h", struct ad_pipeline_cfg,
                    save_interval_ns,
                    "How often the main pipeline's state is saved: after a crash (kill -9) what "
                    "arrived since the last save is lost."),
    AD_OPT_END,
};

static const struct ad_section pipeline_section = {
    "pipeline",
    "Every pipeline (main, Kafka partitions, aiopsctl replay): event-time sanity; the main "
    "pipeline's state across restarts.",
    pipeline_opts, sizeof(struct ad_pipeline_cfg)};

#define MAX_SECTIONS 64
static struct ad_section secs[MAX_SECTIONS];
static char paths[MAX_SECTIONS][64];
static const struct ad_section *list[MAX_SECTIONS + 1];

static size_t add(size_t n, const char *prefix, const char *name, const char *doc,
                  const struct ad_opt *opts, size_t cfg_size)
{
    if (n >= MAX_SECTIONS)
        return n;
    snprintf(paths[n], sizeof(paths[n]), "%s.%s", prefix, name);
    secs[n] = (struct ad_section){paths[n], doc, opts, cfg_size};
    list[n] = &secs[n];
    return n + 1;
}

const struct ad_section *const *ad_sections(void)
{
    if (list[0])
        return list;
    size_t n = 0;
    secs[n] = daemon_section;
    list[n] = &secs[n];
    n++;
    secs[n] = pipeline_section;
    list[n] = &secs[n];
    n++;
    secs[n] = ad_admin_section;
    list[n] = &secs[n];
    n++;
    for (size_t i = 0; ad_collectors[i]; i++)
        n = add(n, "collectors", ad_collectors[i]->name, ad_collectors[i]->doc,
                ad_collectors[i]->opts, ad_collectors[i]->cfg_size);
    for (size_t i = 0; ad_models[i]; i++)
        n = add(n, "models", ad_models[i]->name, ad_models[i]->doc, ad_models[i]->opts,
                ad_models[i]->cfg_size);
    for (size_t i = 0; ad_correlators[i]; i++)
        n = add(n, "correlators", ad_correlators[i]->name, ad_correlators[i]->doc,
                ad_correlators[i]->opts, ad_correlators[i]->cfg_size);
    secs[n] = ad_redis_section;
    list[n] = &secs[n];
    n++;
    list[n] = NULL;
    return list;
}
