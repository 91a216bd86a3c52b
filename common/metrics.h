/* common/metrics.h: Prometheus text exposition into a buffer. No I/O, no registry: each module's
 * stats() callback writes its own families; the admin endpoint concatenates them. */
#pragma once
#include <stdint.h>

struct ad_buf;

struct ad_metrics {
    struct ad_buf *out;
    const char *last_family; /* HELP/TYPE written once per consecutive family */
};

void ad_metrics_init(struct ad_metrics *m, struct ad_buf *out);
/* name: full metric name ("aiopsd_events_received_total"); labels: preformatted
 * `collector="zmq",reason="bad_json"` or NULL. help is written once per family. */
void ad_metrics_counter(struct ad_metrics *m, const char *name, const char *help, const char *labels,
                        uint64_t v);
void ad_metrics_gauge(struct ad_metrics *m, const char *name, const char *help, const char *labels,
                      double v);
