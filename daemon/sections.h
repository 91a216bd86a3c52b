/* daemon/sections.h: every config section aiopsd knows, in the order of the example file. */
#pragma once
#include <stdint.h>

#include "config/opt.h"

struct ad_daemon_cfg {
    int log_level;             /* enum ad_log_level */
    char *state_dir;           /* persisted state (later issues) */
    int64_t shutdown_timeout_ns; /* SIGTERM: bound on flushing the Redis buffer */
    int64_t idle_tick_ns;      /* wall-clock period of the idle housekeeping timer */
    char *user;                /* started as root: the user to become once listening; "" = none */
};

/* NULL-terminated; static storage, built on first call. */
const struct ad_section *const *ad_sections(void);
