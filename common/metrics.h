/* common/metrics.h: Prometheus text exposition into a buffer. No I/O, no registry: each module's
 * stats() callback writes its own families into one buffer. A family reported again later stays
 * grouped under one HELP/TYPE, and a sample with the same name and labels is summed (several
 * pipelines report the same families). */
#pragma once
#include <stdbool.h>
#include <stdint.h>

struct ad_buf;

struct ad_metrics {
    struct ad_buf *out;
    const char *last_family; /* the family written last (unused by callers) */
};

void ad_metrics_init(struct ad_metrics *m, struct ad_buf *out);
/* name: full metric name ("aiopsd_events_received_total"); labels: preformatted
 * `collector="zmq",reason="bad_json"` or NULL. help is written once per family. */
void ad_metrics_counter(struct ad_metrics *m, const char *name, const char *help, const char *labels,
                        uint64_t v);
void ad_metrics_gauge(struct ad_metrics *m, const char *name, const char *help, const char *labels,
                      double v);
