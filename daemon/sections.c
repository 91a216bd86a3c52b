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
    AD_OPT_STRING_R("user", "", "64", struct ad_daemon_cfg, user,
                    "Started as root: the user (and its group) aiopsd becomes once every listener "
                    "is bound, before it reads any input. Empty: stay as started."),
    AD_OPT_END,
};

static const struct ad_section daemon_section = {"daemon", "Process-wide settings.", daemon_opts,
                                                 sizeof(struct ad_daemon_cfg)};

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
