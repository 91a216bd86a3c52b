/* common/log.h: leveled logging to stderr, one line per event of interest.
 * Only daemon/, collectors/ and outputs log above debug; models and correlators return errors. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

enum ad_log_level { AD_LOG_ERROR, AD_LOG_WARN, AD_LOG_NOTICE, AD_LOG_INFO, AD_LOG_DEBUG };

void ad_log_set_level(enum ad_log_level lvl);
enum ad_log_level ad_log_get_level(void);
/* Parses "error|warn|notice|info|debug"; returns 0 or -EINVAL. */
int ad_log_level_parse(const char *s, enum ad_log_level *ret);
const char *ad_log_level_name(enum ad_log_level lvl);
bool ad_log_enabled(enum ad_log_level lvl);
void ad_log(enum ad_log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Per-call-site rate limit: the first occurrence in each 10 s period is logged; later ones are
 * counted and reported as "(N more suppressed)" with the next logged line. */
struct ad_log_rl {
    int64_t period_start_ns;
    uint64_t suppressed;
};
void ad_log_rl(struct ad_log_rl *rl, enum ad_log_level lvl, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
#define AD_LOG_RATELIMITED(lvl, ...)                                                               \
    do {                                                                                           \
        static struct ad_log_rl ad_rl_;                                                            \
        ad_log_rl(&ad_rl_, (lvl), __VA_ARGS__);                                                    \
    } while (0)
