/* daemon/sections.h: every config section aiopsd knows, in the order of the example file. */
#pragma once
#include <stdint.h>

#include "config/opt.h"

struct ad_daemon_cfg {
    int log_level;             /* enum ad_log_level */
    char *state_dir;           /* persisted state (later issues) */
    int64_t shutdown_timeout_ns; /* SIGTERM: bound on flushing the Redis buffer */
    int64_t idle_tick_ns;      /* wall-clock period of the idle housekeeping timer */
    uint64_t memory_limit;     /* RSS budget in bytes; 0 = none (daemon/membudget.h) */
    char *user;                /* started as root: the user to become once listening; "" = none */
};

/* The "pipeline" section: what every pipeline (the main one, each Kafka partition's, aiopsctl
 * replay's) does with an event whose time is far from its stream's event time
 * (docs/reliability.md). */
enum ad_skew_action { AD_SKEW_CLAMP = 0, AD_SKEW_DEADLETTER };
struct ad_pipeline_cfg {
    int64_t max_future_ns; /* later than the stream's event time by more: out of bounds; 0 = off */
    int64_t max_past_ns;   /* earlier than it by more: out of bounds; 0 = off */
    int out_of_bounds;     /* enum ad_skew_action */
    char *state_file;      /* aiopsd: the main pipeline's state, in daemon.state_dir; "" = none */
    int64_t save_interval_ns;
};

/* NULL-terminated; static storage, built on first call. */
const struct ad_section *const *ad_sections(void);
