/* collectors/util.h: what collectors share: the rejection reasons of a message that is not a
 * valid event, the metric families every collector exports (docs/collectors.md), and copies of
 * string lists taken from the config (which a reload may free). */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "config/opt.h"

struct ad_err;
struct ad_metrics;
struct event_base;
struct evhttp;

enum ad_reject {
    AD_REJECT_BAD_JSON = 0, /* malformed, wrong type, missing/unknown field (-EBADMSG) */
    AD_REJECT_TOO_LARGE,    /* over a size bound (-EMSGSIZE) */
    AD_REJECT_BAD_UTF8,     /* invalid UTF-8 (-EILSEQ) */
    AD_REJECT_INVALID,      /* anything else */
    AD_REJECT_MALFORMED,    /* not JSON-based (syslog): malformed or garbage (-EBADMSG) */
    AD_REJECT_COUNT
};
enum ad_reject ad_reject_of(int err); /* from ad_json_parse_event()'s -errno */
/* The same for a parser of a format other than JSON: -EBADMSG is "malformed". */
enum ad_reject ad_reject_of_text(int err);
const char *ad_reject_name(enum ad_reject r);

struct ad_collector_counts {
    uint64_t received, accepted, bytes, rejected[AD_REJECT_COUNT];
    bool paused;
};
/* aiopsd_events_{received,accepted,rejected}_total, aiopsd_collector_bytes_total and
 * aiopsd_collector_paused, labelled collector="<name>". */
void ad_collector_counts_stats(const struct ad_collector_counts *c, const char *name,
                               struct ad_metrics *m);

/* Serves http on listen ("IPv4:port" or "[IPv6]:port", IP literals only: start-up never waits
 * on DNS; port 0 picks a free one) through a listener of ours (close-on-exec, reusable address),
 * and writes the bound port. what names the server in errors ("admin", "collectors.http").
 * Returns 0 or -errno with reterr set. */
int ad_http_listen(struct evhttp *http, struct event_base *base, const char *what,
                   const char *listen, int backlog, int *ret_port, struct ad_err *reterr);

int ad_strlist_copy(struct ad_strlist *dst, const struct ad_strlist *src); /* 0 or -ENOMEM */
void ad_strlist_free(struct ad_strlist *l);                               /* leaves it empty */
