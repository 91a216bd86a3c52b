/* collectors/registry.c: every collector aiopsd can run, in start-up order. A new collector is one
 * line here (and its own .c file); its config section, docs and metrics follow from its ops. */
#include "collectors/collector.h"

extern const struct ad_collector_ops ad_collector_zmq;
extern const struct ad_collector_ops ad_collector_kafka;
extern const struct ad_collector_ops ad_collector_syslog;
extern const struct ad_collector_ops ad_collector_http;

const struct ad_collector_ops *const ad_collectors[] = {
    &ad_collector_zmq,
    &ad_collector_kafka,
    &ad_collector_syslog,
    &ad_collector_http,
    NULL,
};
