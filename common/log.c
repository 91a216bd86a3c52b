/* common/log.c: stderr logger with systemd/journald priority prefixes when stderr is the journal. */
#include "common/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/time.h"

static enum ad_log_level g_level = AD_LOG_INFO;
static int g_journal = -1; /* -1 unknown; 1 when JOURNAL_STREAM is set (no timestamps, <N> prefix) */

static const char *const names[] = {"error", "warn", "notice", "info", "debug"};
static const int syslog_prio[] = {3, 4, 5, 6, 7};

void ad_log_set_level(enum ad_log_level lvl) { g_level = lvl; }
enum ad_log_level ad_log_get_level(void) { return g_level; }
bool ad_log_enabled(enum ad_log_level lvl) { return lvl <= g_level; }
const char *ad_log_level_name(enum ad_log_level lvl) { return names[lvl]; }

int ad_log_level_parse(const char *s, enum ad_log_level *ret)
{
    for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcmp(s, names[i]) == 0) {
            *ret = (enum ad_log_level)i;
            return 0;
        }
    }
    return -EINVAL;
}

static void vlog(enum ad_log_level lvl, const char *suffix, const char *fmt, va_list ap)
{
    char line[1024];
    int n;

    if (g_journal < 0)
        g_journal = getenv("JOURNAL_STREAM") != NULL;
    if (g_journal) {
        n = snprintf(line, sizeof(line), "<%d>", syslog_prio[lvl]);
    } else {
        char ts[40];
        ad_time_format_rfc3339(ad_now_ns(), ts, sizeof(ts));
        n = snprintf(line, sizeof(line), "%s %s aiopsd: ", ts, names[lvl]);
    }
    if (n < 0 || (size_t)n >= sizeof(line))
        n = 0;
    int m = vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    size_t len = (m < 0) ? (size_t)n : (size_t)n + (size_t)m;
    if (len >= sizeof(line) - 1)
        len = sizeof(line) - 2;
    if (suffix && *suffix) {
        int k = snprintf(line + len, sizeof(line) - 1 - len, "%s", suffix);
        if (k > 0)
            len = (len + (size_t)k < sizeof(line) - 2) ? len + (size_t)k : sizeof(line) - 2;
    }
    line[len++] = '\n';
    fwrite(line, 1, len, stderr);
}

void ad_log(enum ad_log_level lvl, const char *fmt, ...)
{
    if (lvl > g_level)
        return;
    va_list ap;
    va_start(ap, fmt);
    vlog(lvl, NULL, fmt, ap);
    va_end(ap);
}

void ad_log_rl(struct ad_log_rl *rl, enum ad_log_level lvl, const char *fmt, ...)
{
    if (lvl > g_level)
        return;
    int64_t now = ad_mono_ns();
    if (rl->period_start_ns != 0 && now - rl->period_start_ns < 10 * AD_NS_PER_S) {
        rl->suppressed++;
        return;
    }
    char suffix[64] = "";
    if (rl->suppressed)
        snprintf(suffix, sizeof(suffix), " (%llu more suppressed)", (unsigned long long)rl->suppressed);
    rl->period_start_ns = now;
    rl->suppressed = 0;
    va_list ap;
    va_start(ap, fmt);
    vlog(lvl, suffix, fmt, ap);
    va_end(ap);
}
