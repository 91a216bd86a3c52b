/* collectors/util.c: see util.h. */
#include "collectors/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <event2/listener.h>

#include "common/addr.h"
#include "common/err.h"
#include "common/metrics.h"

static const char *const reject_names[AD_REJECT_COUNT] = {"bad_json", "too_large", "bad_utf8",
                                                          "invalid", "malformed"};

enum ad_reject ad_reject_of(int err)
{
    switch (err) {
    case -EBADMSG:
        return AD_REJECT_BAD_JSON;
    case -EMSGSIZE:
        return AD_REJECT_TOO_LARGE;
    case -EILSEQ:
        return AD_REJECT_BAD_UTF8;
    default:
        return AD_REJECT_INVALID;
    }
}

enum ad_reject ad_reject_of_text(int err)
{
    return err == -EBADMSG ? AD_REJECT_MALFORMED : ad_reject_of(err);
}

const char *ad_reject_name(enum ad_reject r) { return reject_names[r]; }

void ad_collector_counts_stats(const struct ad_collector_counts *c, const char *name,
                               struct ad_metrics *m)
{
    char lbl[128];
    snprintf(lbl, sizeof(lbl), "collector=\"%s\"", name);
    ad_metrics_counter(m, "aiopsd_events_received_total", "Messages received by a collector.", lbl,
                       c->received);
    ad_metrics_counter(m, "aiopsd_events_accepted_total",
                       "Messages that parsed into an event and entered the pipeline.", lbl,
                       c->accepted);
    for (int i = 0; i < AD_REJECT_COUNT; i++) {
        char rl[192];
        snprintf(rl, sizeof(rl), "collector=\"%s\",reason=\"%s\"", name, reject_names[i]);
        ad_metrics_counter(m, "aiopsd_events_rejected_total",
                           "Messages rejected and sent to the dead-letter list, by reason.", rl,
                           c->rejected[i]);
    }
    ad_metrics_counter(m, "aiopsd_collector_bytes_total", "Bytes received by a collector.", lbl,
                       c->bytes);
    ad_metrics_gauge(m, "aiopsd_collector_paused", "1 while a collector is paused (backpressure).",
                     lbl, c->paused ? 1 : 0);
}

void ad_strlist_free(struct ad_strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

int ad_strlist_copy(struct ad_strlist *dst, const struct ad_strlist *src)
{
    dst->n = 0;
    dst->v = calloc(src->n + 1, sizeof(*dst->v));
    if (!dst->v)
        return -ENOMEM;
    for (size_t i = 0; i < src->n; i++) {
        if (!(dst->v[i] = strdup(src->v[i])))
            return -ENOMEM; /* the caller frees what was copied */
        dst->n++;
    }
    return 0;
}

int ad_http_listen(struct evhttp *http, struct event_base *base, const char *what,
                   const char *listen, int backlog, int *ret_port, struct ad_err *reterr)
{
    struct sockaddr_storage ss;
    socklen_t len;
    if (ad_addr_parse(listen, &ss, &len) < 0)
        return ad_err_set(reterr, EINVAL,
                          "%s.listen: expected \"IPv4:port\" or \"[IPv6]:port\" (e.g. "
                          "127.0.0.1:9101), got \"%s\"",
                          what, listen);
    struct evconnlistener *l = evconnlistener_new_bind(
        base, NULL, NULL, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
        backlog, (struct sockaddr *)&ss, (int)len);
    if (!l) {
        int e = errno ? errno : EADDRNOTAVAIL;
        return ad_err_set(reterr, e, "%s: cannot listen on %s: %s", what, listen, strerror(e));
    }
    if (!evhttp_bind_listener(http, l)) {
        evconnlistener_free(l);
        return ad_err_set(reterr, ENOMEM, "%s: cannot listen on %s: out of memory", what, listen);
    }
    *ret_port = ad_addr_bound_port(evconnlistener_get_fd(l));
    return 0;
}
