/* common/event.c: names, aliases and helpers of the normalized event. Pure: no I/O. */
#include "common/event.h"

#include <errno.h>
#include <math.h>
#include <strings.h>

static const char *const kind_names[] = {"alert", "log", "metric"};
static const char *const sev_names[] = {"info", "warning", "minor", "major", "critical"};
static const char *const status_names[] = {"firing", "resolved"};

const char *ad_kind_name(enum ad_kind k) { return kind_names[k]; }
const char *ad_severity_name(enum ad_severity s) { return sev_names[s]; }
const char *ad_status_name(enum ad_status s) { return status_names[s]; }
int ad_severity_snow_code(enum ad_severity s) { return 5 - (int)s; }

struct alias {
    const char *name;
    int value;
};

static int lookup(struct ad_str s, const struct alias *t, int *ret)
{
    for (; t->name; t++) {
        size_t n = strlen(t->name);
        if (n == s.len && strncasecmp(t->name, s.p, n) == 0) {
            *ret = t->value;
            return 0;
        }
    }
    return -EINVAL;
}

int ad_kind_parse(struct ad_str s, enum ad_kind *ret)
{
    static const struct alias t[] = {
        {"alert", AD_KIND_ALERT}, {"log", AD_KIND_LOG}, {"metric", AD_KIND_METRIC}, {NULL, 0}};
    int v, r = lookup(s, t, &v);
    if (r == 0)
        *ret = (enum ad_kind)v;
    return r;
}

int ad_severity_parse(struct ad_str s, enum ad_severity *ret)
{
    /* aiopsd names first, then syslog, Alertmanager/Prometheus and ServiceNow/PagerDuty habits. */
    static const struct alias t[] = {
        {"info", AD_SEV_INFO},         {"warning", AD_SEV_WARNING}, {"minor", AD_SEV_MINOR},
        {"major", AD_SEV_MAJOR},       {"critical", AD_SEV_CRITICAL},
        {"debug", AD_SEV_INFO},        {"informational", AD_SEV_INFO}, {"notice", AD_SEV_INFO},
        {"ok", AD_SEV_INFO},           {"none", AD_SEV_INFO},       {"low", AD_SEV_MINOR},
        {"warn", AD_SEV_WARNING},      {"medium", AD_SEV_MINOR},    {"error", AD_SEV_MAJOR},
        {"err", AD_SEV_MAJOR},         {"high", AD_SEV_MAJOR},      {"page", AD_SEV_CRITICAL},
        {"crit", AD_SEV_CRITICAL},     {"alert", AD_SEV_CRITICAL},  {"emerg", AD_SEV_CRITICAL},
        {"emergency", AD_SEV_CRITICAL}, {"fatal", AD_SEV_CRITICAL}, {"disaster", AD_SEV_CRITICAL},
        {NULL, 0}};
    int v, r = lookup(s, t, &v);
    if (r == 0)
        *ret = (enum ad_severity)v;
    return r;
}

int ad_status_parse(struct ad_str s, enum ad_status *ret)
{
    static const struct alias t[] = {
        {"firing", AD_STATUS_FIRING},     {"resolved", AD_STATUS_RESOLVED},
        {"problem", AD_STATUS_FIRING},    {"triggered", AD_STATUS_FIRING},
        {"trigger", AD_STATUS_FIRING},    {"open", AD_STATUS_FIRING},
        {"ok", AD_STATUS_RESOLVED},       {"clear", AD_STATUS_RESOLVED},
        {"closed", AD_STATUS_RESOLVED},   {"resolve", AD_STATUS_RESOLVED},
        {"recovery", AD_STATUS_RESOLVED}, {NULL, 0}};
    int v, r = lookup(s, t, &v);
    if (r == 0)
        *ret = (enum ad_status)v;
    return r;
}

struct ad_str ad_event_label(const struct ad_event *ev, struct ad_str name)
{
    for (unsigned i = 0; i < ev->n_labels; i++)
        if (ad_str_eq(ev->labels[i].name, name))
            return ev->labels[i].value;
    return AD_STR_NULL;
}

int ad_epoch_to_ns(double v, int64_t *ret_ns)
{
    if (!isfinite(v) || v < 0 || v >= 9.2e18)
        return -EINVAL;
    /* Integer and fractional parts are scaled separately so that whole units stay exact. */
    int64_t unit;
    if (v >= 1e17)
        unit = 1;
    else if (v >= 1e14)
        unit = 1000;
    else if (v >= 1e11)
        unit = 1000000;
    else
        unit = 1000000000;
    double whole = floor(v);
    if (whole * (double)unit >= 9.2e18)
        return -EINVAL;
    *ret_ns = (int64_t)whole * unit + (int64_t)llround((v - whole) * (double)unit);
    return 0;
}
