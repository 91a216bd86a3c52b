/* common/metrics.c: Prometheus text format writer. */
#include "common/metrics.h"

#include <string.h>

#include "common/buf.h"

void ad_metrics_init(struct ad_metrics *m, struct ad_buf *out)
{
    m->out = out;
    m->last_family = NULL;
}

static void header(struct ad_metrics *m, const char *name, const char *help, const char *type)
{
    if (m->last_family && strcmp(m->last_family, name) == 0)
        return;
    ad_buf_printf(m->out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
    m->last_family = name;
}

void ad_metrics_counter(struct ad_metrics *m, const char *name, const char *help, const char *labels,
                        uint64_t v)
{
    header(m, name, help, "counter");
    if (labels && *labels)
        ad_buf_printf(m->out, "%s{%s} %llu\n", name, labels, (unsigned long long)v);
    else
        ad_buf_printf(m->out, "%s %llu\n", name, (unsigned long long)v);
}

void ad_metrics_gauge(struct ad_metrics *m, const char *name, const char *help, const char *labels,
                      double v)
{
    header(m, name, help, "gauge");
    if (labels && *labels)
        ad_buf_printf(m->out, "%s{%s} %.17g\n", name, labels, v);
    else
        ad_buf_printf(m->out, "%s %.17g\n", name, v);
}
