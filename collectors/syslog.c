/* collectors/syslog.c: the syslog collector. UDP datagrams (a plain event on the socket) and TCP
 * streams (evconnlistener + bufferevent, RFC 6587 octet-counted or LF framing per frame; over TLS,
 * RFC 5425: octet-counted only), each message parsed by common/syslog.h into a log event for
 * env->emit. Never blocks the loop; every
 * buffer is bounded (docs/collector-syslog.md, docs/limits.md). */
#include "collectors/collector.h"
#include "collectors/tls.h"
#include "collectors/util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "common/addr.h"
#include "common/arena.h"
#include "common/err.h"
#include "common/event.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/syslog.h"
#include "common/time.h"

#define ARENA_CHUNK (64 * 1024)
#define LISTEN_BACKLOG 128
#define PEER_MAX 64 /* INET6_ADDRSTRLEN and then some */

enum { T3164_RECEIVE = 0, T3164_HEADER };
static const char *const resource_names[] = {"host", "source_ip", NULL};
static const char *const service_names[] = {"app_name", "resource", NULL};
static const char *const time_names[] = {"receive", "header", NULL};

struct syslog_cfg {
    bool enabled;              /* must stay first: AD_COLLECTOR_ENABLED */
    char *udp_listen;          /* "IP:port"; empty: no UDP */
    char *tcp_listen;          /* "IP:port"; empty: no TCP */
    uint64_t max_message_size; /* bytes per message (datagram or frame) */
    uint64_t max_connections;  /* TCP connections at once */
    int64_t idle_timeout_ns;   /* TCP: no byte for this long closes the connection */
    uint64_t batch_max;        /* messages per wakeup (per connection for TCP) */
    uint64_t rcvbuf;           /* UDP SO_RCVBUF; 0 keeps the system default */
    char *source;
    int resource_from; /* enum ad_syslog_resource_from */
    int service_from;  /* enum ad_syslog_service_from */
    int rfc3164_time;  /* T3164_* */
    bool structured_data;
    struct ad_strlist allowed_sources; /* CIDR blocks; empty: every source */
    struct ad_tls_cfg tls; /* TCP only */
};

/* The sockets are built once at start; every option is restart-only. */
static const struct ad_opt syslog_opts[] = {
    AD_OPT_BOOL_R("enabled", "false", struct syslog_cfg, enabled,
                  "Receive syslog messages (RFC 5424, RFC 3164) over UDP and TCP."),
    AD_OPT_STRING_R("udp_listen", "127.0.0.1:5514", "64", struct syslog_cfg, udp_listen,
                    "UDP address to receive on (IP:port, [IPv6]:port); empty: no UDP."),
    AD_OPT_STRING_R("tcp_listen", "127.0.0.1:5514", "64", struct syslog_cfg, tcp_listen,
                    "TCP address to listen on (octet-counted or LF-framed, RFC 6587); empty: no "
                    "TCP."),
    AD_OPT_SIZE_R("max_message_size", "64KiB", "480", "1MiB", struct syslog_cfg, max_message_size,
                  "Largest message (datagram or TCP frame); larger ones are dead-lettered "
                  "(too_large) and skipped without being buffered whole."),
    AD_OPT_UINT_R("max_connections", "256", "1", "65536", struct syslog_cfg, max_connections,
                  "TCP connections at once; further ones are accepted and closed at once."),
    {"idle_timeout", AD_OPT_T_DURATION, "60s", "100ms", "1h",
     offsetof(struct syslog_cfg, idle_timeout_ns), AD_OPT_RESTART, NULL,
     "TCP: a connection that sends nothing for this long is closed (slow clients)."},
    AD_OPT_UINT_R("batch_max", "1024", "1", "1000000", struct syslog_cfg, batch_max,
                  "Messages handled per wakeup (per TCP connection) before the loop gets a turn."),
    AD_OPT_SIZE_R("rcvbuf", "0", "0", "256MiB", struct syslog_cfg, rcvbuf,
                  "UDP socket receive buffer (SO_RCVBUF, capped by net.core.rmem_max); 0: the "
                  "system default."),
    AD_OPT_STRING_R("source", "syslog", "256", struct syslog_cfg, source,
                    "The events' source field."),
    AD_OPT_ENUM_R("resource_from", "host", resource_names, struct syslog_cfg, resource_from,
                  "Event resource: host (HOSTNAME of the header, else the sender's IP) or "
                  "source_ip (always the sender's IP)."),
    AD_OPT_ENUM_R("service_from", "app_name", service_names, struct syslog_cfg, service_from,
                  "Event service: app_name (APP-NAME or TAG, else the resource) or resource."),
    AD_OPT_ENUM_R("rfc3164_time", "receive", time_names, struct syslog_cfg, rfc3164_time,
                  "Time of RFC 3164 messages, whose header has no year or zone: receive time, or "
                  "header (read as UTC, in the year nearest to now)."),
    AD_OPT_BOOL_R("structured_data", "true", struct syslog_cfg, structured_data,
                  "RFC 5424 structured data params become labels \"<SD-ID>.<name>\" (within 32 "
                  "labels per event)."),
    AD_OPT_CIDRLIST_R("allowed_sources", "", struct syslog_cfg, allowed_sources,
                      "Senders allowed (IP addresses or CIDR blocks, e.g. [10.0.0.0/8, ::1]); "
                      "datagrams and TCP connections from others are dropped, counted and logged "
                      "(rate-limited). Empty: every sender."),
    AD_TLS_OPTS(struct syslog_cfg, tls),
    AD_OPT_END,
};

struct sc;

struct conn {
    struct sc *c;
    struct bufferevent *bev;
    struct conn *prev, *next;
    char peer[PEER_MAX];
    size_t peer_len;
    size_t skip;     /* bytes of an oversize octet-counted frame still to discard */
    bool skip_to_lf; /* discarding an oversize LF-framed frame */
    bool eof;        /* the peer closed; what is buffered is handled, then we close */
    bool pending;    /* frames buffered past batch_max or a pause */
    bool unframed;   /* TLS: a frame without octet counting; to be closed */
    size_t buffered; /* input left after the last drain: what is new is counted as bytes */
    int64_t partial_since; /* when the frame now incomplete last made progress; 0: none */
};

struct sc {
    const struct ad_collector_env *env; /* borrowed; outlives us */
    size_t max_msg;
    uint64_t max_conns, batch_max, rcvbuf;
    struct timeval idle;
    char *source; /* our copy: the config may be reloaded */
    struct ad_syslog_map map;
    char udp_where[80], tcp_where[80];
    struct sockaddr_storage udp_addr, tcp_addr;
    socklen_t udp_len, tcp_len;

    int udp_fd;
    struct event *ev_udp;
    char *dgram;                       /* max_msg + 1 bytes: one datagram at a time */
    struct sockaddr_storage last_peer; /* the address whose text is in last_peer_s */
    char last_peer_s[PEER_MAX];
    size_t last_peer_len;
    struct evconnlistener *lis;
    struct ad_tls *tls; /* TCP is TLS (RFC 5425) when set */
    struct conn *conns;
    struct event *ev_more; /* zero timeout: buffered TCP frames after a pause or batch_max */
    struct ad_arena arena;
    int udp_port, tcp_port;

    bool started, paused, stopped;
    unsigned in_cb; /* depth of our callbacks on the stack: destroy() defers the free */
    bool doomed;

    struct ad_cidr *allowed; /* NULL: every source */
    size_t n_allowed;
    uint64_t refused_udp, refused_tcp; /* senders outside allowed_sources */

    struct ad_collector_counts n;
    uint64_t conns_now, conns_total, conns_rejected, idle_timeouts, oversize_udp, oversize_tcp;
    uint64_t slow_frames, tls_unframed;
    uint64_t formats[3]; /* by enum ad_syslog_format */
    uint64_t lenient[6]; /* by enum lenient_what */
};

enum lenient_what { L_NO_PRI, L_TRUNCATED, L_BAD_TIME, L_UTF8, L_CUT, L_LABELS, L_COUNT };
static const char *const lenient_names[L_COUNT] = {
    "no_pri", "truncated_header", "bad_time", "utf8_replaced", "summary_cut", "labels_dropped"};
static const char *const format_names[3] = {"bare", "rfc3164", "rfc5424"};

/* --- re-entrancy ---------------------------------------------------------------------------- */

static void free_state(struct sc *c);
static void close_conn(struct conn *k);

static void enter(struct sc *c)
{
    c->in_cb++;
}

/* Returns false when the collector is gone or stopped (the caller must not touch it, or its
 * connections, any more). */
static bool leave(struct sc *c)
{
    if (--c->in_cb > 0)
        return !c->stopped;
    if (c->doomed) {
        free_state(c);
        return false;
    }
    if (c->stopped) {
        while (c->conns)
            close_conn(c->conns);
        return false;
    }
    return true;
}

/* --- the hot path --------------------------------------------------------------------------- */

static void count_info(struct sc *c, const struct ad_syslog_info *info)
{
    c->formats[info->format]++;
    c->lenient[L_NO_PRI] += info->no_pri;
    c->lenient[L_TRUNCATED] += info->truncated_header;
    c->lenient[L_BAD_TIME] += info->bad_time;
    c->lenient[L_UTF8] += info->utf8_replaced;
    c->lenient[L_CUT] += info->summary_cut;
    c->lenient[L_LABELS] += info->labels_dropped;
}

static void reject(struct sc *c, const char *proto, const char *peer, int code, const char *raw,
                   size_t len, const char *why)
{
    enum ad_reject r = ad_reject_of_text(code);
    c->n.rejected[r]++;
    AD_LOG_RATELIMITED(AD_LOG_WARN, "syslog %s from %s: %s (%s), sending to dead-letter", proto,
                       peer, ad_reject_name(r), why);
    c->env->reject(c->env->sink, "syslog", raw, len, why);
}

/* One message: parse, then emit or reject. */
static void handle(struct sc *c, const char *proto, const char *msg, size_t len, struct ad_str peer,
                   int64_t now_ns)
{
    struct ad_event ev;
    struct ad_syslog_info info;
    struct ad_err err;
    err.msg[0] = '\0';
    c->n.received++;
    int r = ad_syslog_parse(msg, len, peer, now_ns, &c->map, &c->arena, &ev, &info, &err);
    if (r == 0) {
        count_info(c, &info);
        c->n.accepted++;
        c->env->emit(c->env->sink, &ev);
        return;
    }
    reject(c, proto, peer.len ? peer.p : "?", r, msg, len, err.msg[0] ? err.msg : strerror(-r));
}

static void oversize(struct sc *c, const char *proto, const char *peer, const char *head,
                     size_t head_len, size_t frame_len)
{
    char why[128];
    snprintf(why, sizeof(why), "message of %zu bytes exceeds the limit of %zu bytes", frame_len,
             c->max_msg);
    c->n.received++;
    reject(c, proto, peer, -EMSGSIZE, head, head_len, why);
}

static void kick(struct sc *c)
{
    static const struct timeval zero = {0, 0};
    event_add(c->ev_more, &zero);
}

/* Frames buffered on one connection, at most batch_max of them. Returns the messages handled;
 * leaves k->pending set when frames remain that no new read will announce. */
static uint64_t drain_conn(struct conn *k, int64_t now_ns)
{
    struct sc *c = k->c;
    struct evbuffer *in = bufferevent_get_input(k->bev);
    const struct ad_str peer = {k->peer, k->peer_len};
    const size_t window_max = c->max_msg + AD_SYSLOG_FRAME_HEADER_MAX;
    uint64_t got = 0;
    size_t now_len = evbuffer_get_length(in);

    c->n.bytes += now_len > k->buffered ? now_len - k->buffered : 0;
    k->pending = false;
    while (!c->paused && !c->stopped) {
        size_t avail = evbuffer_get_length(in);
        if (avail == 0)
            break;
        if (got == c->batch_max) {
            k->pending = true;
            break;
        }
        if (k->skip) {
            size_t d = avail < k->skip ? avail : k->skip;
            evbuffer_drain(in, d);
            k->skip -= d;
            continue;
        }
        if (k->skip_to_lf) {
            struct evbuffer_ptr lf = evbuffer_search(in, "\n", 1, NULL);
            evbuffer_drain(in, lf.pos < 0 ? avail : (size_t)lf.pos + 1);
            k->skip_to_lf = lf.pos < 0;
            continue;
        }
        size_t win = avail < window_max ? avail : window_max;
        const char *p = (const char *)evbuffer_pullup(in, (ev_ssize_t)win);
        struct ad_syslog_frame fr;
        ad_syslog_frame_next(p, win, c->max_msg, &fr);
        if (fr.kind == AD_SYSLOG_FRAME_MORE)
            break;
        if (fr.kind == AD_SYSLOG_FRAME_OVERSIZE) {
            c->oversize_tcp++;
            got++;
            oversize(c, "tcp", k->peer, p, win, fr.frame_len);
            k->skip = fr.skip;
            k->skip_to_lf = fr.skip_to_lf;
        } else if (c->tls && fr.msg == p) {
            /* An LF-framed frame (no length prefix): RFC 5425 allows only octet counting. The
             * stream is not syslog over TLS, so nothing after this can be trusted either. */
            c->tls_unframed++;
            c->n.received++;
            c->n.rejected[AD_REJECT_MALFORMED]++;
            AD_LOG_RATELIMITED(AD_LOG_WARN,
                               "syslog tls from %s: a frame without octet counting (RFC 5425), "
                               "closing",
                               k->peer);
            c->env->reject(c->env->sink, "syslog", p, fr.len,
                           "syslog over TLS needs octet-counting framing (RFC 5425)");
            got++;
            k->unframed = true; /* serve() closes it */
            break;
        } else if (fr.len > 0) {
            got++;
            handle(c, "tcp", fr.msg, fr.len, peer, now_ns);
        }
        if (c->stopped)
            return got; /* closed from inside emit: the buffer may be going away */
        evbuffer_drain(in, fr.consumed);
    }
    k->buffered = evbuffer_get_length(in);
    return got;
}

/* After EOF: the bytes after the last LF are a last frame without its LF (as rsyslog does). */
static void finish_eof(struct conn *k, int64_t now_ns)
{
    struct sc *c = k->c;
    struct evbuffer *in = bufferevent_get_input(k->bev);
    size_t left = evbuffer_get_length(in);
    if (left > 0 && !k->skip && !k->skip_to_lf && left <= c->max_msg) {
        const char *p = (const char *)evbuffer_pullup(in, (ev_ssize_t)left);
        handle(c, "tcp", p, left, (struct ad_str){k->peer, k->peer_len}, now_ns);
    }
}

/* Slow-loris: a peer that trickles bytes resets the idle timer with each one, so a frame must
 * also be completed within idle_timeout of the last one (progress = a frame handled). True when
 * this connection's incomplete frame is older than that. */
static bool frame_too_slow(struct conn *k, int64_t now_ns, uint64_t got)
{
    struct sc *c = k->c;
    bool partial = k->skip || k->skip_to_lf || evbuffer_get_length(bufferevent_get_input(k->bev));
    if (!partial || k->pending) {
        k->partial_since = 0;
        return false;
    }
    if (got > 0 || k->partial_since == 0) {
        k->partial_since = now_ns;
        return false;
    }
    int64_t limit = (int64_t)c->idle.tv_sec * AD_NS_PER_S + (int64_t)c->idle.tv_usec * AD_NS_PER_US;
    return now_ns - k->partial_since > limit;
}

/* Reads one connection's buffered frames; closes it once the peer has closed and all is read. */
static void serve(struct conn *k, int64_t now_ns)
{
    struct sc *c = k->c;
    uint64_t got = drain_conn(k, now_ns);
    if (!c->stopped && k->unframed) {
        close_conn(k);
    } else if (!c->stopped && !c->paused && !k->eof && frame_too_slow(k, now_ns, got)) {
        c->slow_frames++;
        AD_LOG_RATELIMITED(AD_LOG_WARN,
                           "syslog tcp from %s: a frame still incomplete after idle_timeout, "
                           "closing (slow client)",
                           k->peer);
        close_conn(k);
    } else if (!c->stopped && !c->paused && k->eof && !k->pending) {
        /* Over TLS every frame is octet-counted: bytes left at EOF are a truncated frame. */
        if (!c->tls)
            finish_eof(k, now_ns);
        got++;
        if (!c->stopped)
            close_conn(k);
    } else if (!c->stopped && !c->paused && k->pending) {
        kick(c);
    }
    if (got > 0 && !c->doomed)
        c->env->batch_done(c->env->sink);
    ad_arena_reset(&c->arena);
}

static void on_read(struct bufferevent *bev, void *arg)
{
    struct conn *k = arg;
    struct sc *c = k->c;
    (void)bev;
    enter(c);
    serve(k, ad_now_ns());
    leave(c);
}

static void on_conn_event(struct bufferevent *bev, short what, void *arg)
{
    struct conn *k = arg;
    struct sc *c = k->c;
    (void)bev;
    if (what == BEV_EVENT_CONNECTED)
        return; /* TLS: the handshake is done */
    if (what & BEV_EVENT_EOF) {
        k->eof = true;
        enter(c);
        serve(k, ad_now_ns());
        leave(c);
        return;
    }
    if (what & BEV_EVENT_TIMEOUT) {
        c->idle_timeouts++;
        AD_LOG_RATELIMITED(AD_LOG_WARN, "syslog tcp from %s: nothing received for %ldms, closing",
                           k->peer, (long)c->idle.tv_sec * 1000 + (long)c->idle.tv_usec / 1000);
    } else if (what & BEV_EVENT_ERROR) {
        AD_LOG_RATELIMITED(AD_LOG_WARN, "syslog tcp from %s: %s, closing", k->peer,
                           c->tls ? "TLS or connection error (see aiopsd_tls_handshakes_total)"
                                  : strerror(EVUTIL_SOCKET_ERROR()));
    }
    close_conn(k);
}

/* Every connection with frames left behind by batch_max or a pause. */
static void on_more(evutil_socket_t fd, short what, void *arg)
{
    struct sc *c = arg;
    (void)fd;
    (void)what;
    int64_t now_ns = ad_now_ns();
    enter(c);
    struct conn *k = c->conns, *next;
    for (; k && !c->paused && !c->stopped; k = next) {
        next = k->next; /* serve() may close k */
        if (k->pending || k->eof)
            serve(k, now_ns);
    }
    leave(c);
}

static void peer_text(const struct sockaddr *sa, char *buf, size_t n, size_t *ret_len)
{
    const void *a = sa->sa_family == AF_INET6
                        ? (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr
                        : (const void *)&((const struct sockaddr_in *)sa)->sin_addr;
    if (!inet_ntop(sa->sa_family, a, buf, (socklen_t)n))
        snprintf(buf, n, "?");
    *ret_len = strlen(buf);
}

/* allowed_sources: a sender outside it is dropped before anything of its message is looked at. */
static bool allowed(struct sc *c, const struct sockaddr *sa, const char *proto)
{
    char peer[PEER_MAX];
    size_t len;
    if (!c->allowed || ad_cidr_match(c->allowed, c->n_allowed, sa))
        return true;
    if (proto[0] == 'u')
        c->refused_udp++;
    else
        c->refused_tcp++;
    peer_text(sa, peer, sizeof(peer), &len);
    AD_LOG_RATELIMITED(AD_LOG_WARN, "syslog %s: dropped a %s from %s (not in allowed_sources)",
                       proto, proto[0] == 'u' ? "datagram" : "connection", peer);
    return false;
}

static void on_udp(evutil_socket_t fd, short what, void *arg)
{
    struct sc *c = arg;
    (void)what;
    int64_t now_ns = ad_now_ns();
    uint64_t got = 0;
    enter(c);
    while (!c->paused && !c->stopped && got < c->batch_max) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        /* MSG_TRUNC: the datagram's real length, so an oversize one is told from a full one. */
        ssize_t n = recvfrom(fd, c->dgram, c->max_msg + 1, MSG_TRUNC, (struct sockaddr *)&ss, &sl);
        if (n < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                AD_LOG_RATELIMITED(AD_LOG_ERROR, "syslog udp %s: receive failed: %s", c->udp_where,
                                   strerror(errno));
            break;
        }
        got++;
        if (!allowed(c, (struct sockaddr *)&ss, "udp"))
            continue;
        c->n.bytes += (uint64_t)n;
        if (sl > sizeof(ss) || memcmp(&ss, &c->last_peer, sl) != 0) {
            memcpy(&c->last_peer, &ss, sl);
            peer_text((struct sockaddr *)&ss, c->last_peer_s, sizeof(c->last_peer_s),
                      &c->last_peer_len);
        }
        if ((size_t)n > c->max_msg) {
            c->oversize_udp++;
            oversize(c, "udp", c->last_peer_s, c->dgram, c->max_msg, (size_t)n);
            continue;
        }
        handle(c, "udp", c->dgram, (size_t)n, (struct ad_str){c->last_peer_s, c->last_peer_len},
               now_ns);
    }
    if (got > 0 && !c->doomed)
        c->env->batch_done(c->env->sink);
    ad_arena_reset(&c->arena);
    /* Level-triggered: datagrams left past batch_max fire the event again on the next pass. */
    leave(c);
}

/* --- connections ---------------------------------------------------------------------------- */

static void close_conn(struct conn *k)
{
    struct sc *c = k->c;
    if (k->prev)
        k->prev->next = k->next;
    else
        c->conns = k->next;
    if (k->next)
        k->next->prev = k->prev;
    bufferevent_free(k->bev);
    c->conns_now--;
    free(k);
}

static void on_accept(struct evconnlistener *lis, evutil_socket_t fd, struct sockaddr *sa,
                      int socklen, void *arg)
{
    struct sc *c = arg;
    char peer[PEER_MAX];
    size_t peer_len;
    (void)lis;
    (void)socklen;
    if (!allowed(c, sa, "tcp")) {
        evutil_closesocket(fd);
        return;
    }
    peer_text(sa, peer, sizeof(peer), &peer_len);
    if (c->conns_now >= c->max_conns) {
        c->conns_rejected++;
        AD_LOG_RATELIMITED(AD_LOG_WARN,
                           "syslog tcp %s: %" PRIu64 " connections already (max_connections), "
                           "closing the one from %s",
                           c->tcp_where, c->conns_now, peer);
        evutil_closesocket(fd);
        return;
    }
    struct conn *k = calloc(1, sizeof(*k));
    struct bufferevent *bev = NULL;
    if (k && c->tls)
        bev = ad_tls_accept(c->tls, c->env->base, fd, BEV_OPT_CLOSE_ON_FREE);
    else if (k)
        bev = bufferevent_socket_new(c->env->base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (!bev) {
        AD_LOG_RATELIMITED(AD_LOG_ERROR, "syslog tcp %s: out of memory, closing %s", c->tcp_where,
                           peer);
        evutil_closesocket(fd);
        free(k);
        return;
    }
    k->c = c;
    k->bev = bev;
    memcpy(k->peer, peer, peer_len + 1);
    k->peer_len = peer_len;
    k->next = c->conns;
    if (c->conns)
        c->conns->prev = k;
    c->conns = k;
    c->conns_now++;
    c->conns_total++;
    bufferevent_setcb(bev, on_read, NULL, on_conn_event, k);
    /* Reading stops while a whole window is buffered: a connection holds at most one message. */
    bufferevent_setwatermark(bev, EV_READ, 0, c->max_msg + AD_SYSLOG_FRAME_HEADER_MAX);
    bufferevent_set_timeouts(bev, &c->idle, NULL);
    if (!c->paused)
        bufferevent_enable(bev, EV_READ);
}

static void on_accept_error(struct evconnlistener *lis, void *arg)
{
    struct sc *c = arg;
    (void)lis;
    AD_LOG_RATELIMITED(AD_LOG_ERROR, "syslog tcp %s: accept failed: %s", c->tcp_where,
                       strerror(EVUTIL_SOCKET_ERROR()));
}

/* --- lifecycle ------------------------------------------------------------------------------ */

static int parse_listen(const char *opt, const char *s, struct sockaddr_storage *ss, socklen_t *len,
                        char *where, size_t n, struct ad_err *reterr)
{
    if (ad_addr_parse(s, ss, len) < 0)
        return ad_err_set(reterr, EINVAL,
                          "collectors.syslog.%s: expected IP:port such as 127.0.0.1:5514 or "
                          "[::1]:5514, got \"%s\"",
                          opt, s);
    snprintf(where, n, "%s", s);
    return 0;
}

static int check_cfg(const struct syslog_cfg *cfg, struct ad_err *reterr)
{
    if (!cfg->udp_listen[0] && !cfg->tcp_listen[0])
        return ad_err_set(reterr, EINVAL,
                          "collectors.syslog: udp_listen and tcp_listen are both empty");
    if (!cfg->source[0])
        return ad_err_set(reterr, EINVAL, "collectors.syslog.source: must not be empty");
    return 0;
}

static void sc_destroy(void *state);

static int sc_create(const void *cfgp, const struct ad_collector_env *env, void **ret_state,
                     struct ad_err *reterr)
{
    const struct syslog_cfg *cfg = cfgp;
    int r = check_cfg(cfg, reterr);
    if (r < 0)
        return r;
    struct sc *c = calloc(1, sizeof(*c));
    if (!c)
        return ad_err_set(reterr, ENOMEM, "collectors.syslog: out of memory");
    c->env = env;
    c->udp_fd = -1;
    c->max_msg = (size_t)cfg->max_message_size;
    c->max_conns = cfg->max_connections;
    c->batch_max = cfg->batch_max;
    c->rcvbuf = cfg->rcvbuf;
    c->idle.tv_sec = (time_t)(cfg->idle_timeout_ns / AD_NS_PER_S);
    c->idle.tv_usec = (suseconds_t)(cfg->idle_timeout_ns % AD_NS_PER_S / AD_NS_PER_US);
    ad_arena_init(&c->arena, ARENA_CHUNK);
    if (cfg->allowed_sources.n > 0) {
        c->allowed = calloc(cfg->allowed_sources.n, sizeof(*c->allowed));
        if (!c->allowed) {
            r = ad_err_set(reterr, ENOMEM, "collectors.syslog: out of memory");
            goto out_destroy;
        }
        for (size_t i = 0; i < cfg->allowed_sources.n; i++)
            if (ad_cidr_parse(cfg->allowed_sources.v[i], &c->allowed[c->n_allowed++]) < 0) {
                r = ad_err_set(reterr, EINVAL,
                               "collectors.syslog.allowed_sources: \"%s\" is not an IP address "
                               "or CIDR block",
                               cfg->allowed_sources.v[i]);
                goto out_destroy;
            }
    }
    c->source = strdup(cfg->source);
    if (!c->source) {
        r = ad_err_set(reterr, ENOMEM, "collectors.syslog: out of memory");
        goto out_destroy;
    }
    c->map = (struct ad_syslog_map){.source = ad_str_c(c->source),
                                    .resource_from = cfg->resource_from,
                                    .service_from = cfg->service_from,
                                    .rfc3164_header_time = cfg->rfc3164_time == T3164_HEADER,
                                    .sd_labels = cfg->structured_data,
                                    .max_len = c->max_msg};
    if (cfg->udp_listen[0] &&
        (r = parse_listen("udp_listen", cfg->udp_listen, &c->udp_addr, &c->udp_len, c->udp_where,
                          sizeof(c->udp_where), reterr)) < 0)
        goto out_destroy;
    if (cfg->tcp_listen[0] &&
        (r = parse_listen("tcp_listen", cfg->tcp_listen, &c->tcp_addr, &c->tcp_len, c->tcp_where,
                          sizeof(c->tcp_where), reterr)) < 0)
        goto out_destroy;
    if (ad_tls_cfg_enabled(&cfg->tls) && !cfg->tcp_listen[0]) {
        r = ad_err_set(reterr, EINVAL,
                       "collectors.syslog.tls: TLS is for TCP, but tcp_listen is empty");
        goto out_destroy;
    }
    if (ad_tls_cfg_enabled(&cfg->tls) &&
        (r = ad_tls_create(&cfg->tls, "collectors.syslog", &c->tls, reterr)) < 0)
        goto out_destroy;
    if (cfg->udp_listen[0] && !(c->dgram = malloc(c->max_msg + 1))) {
        r = ad_err_set(reterr, ENOMEM, "collectors.syslog: out of memory");
        goto out_destroy;
    }
    *ret_state = c;
    return 0;

out_destroy:
    sc_destroy(c);
    return r;
}

static int start_udp(struct sc *c, struct ad_err *reterr)
{
    c->udp_fd = socket(c->udp_addr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->udp_fd < 0)
        return ad_err_set(reterr, errno, "collectors.syslog: udp socket: %s", strerror(errno));
    int v = c->rcvbuf > INT32_MAX ? INT32_MAX : (int)c->rcvbuf;
    if (v > 0 && setsockopt(c->udp_fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v)) < 0)
        return ad_err_set(reterr, errno, "collectors.syslog: SO_RCVBUF %d: %s", v, strerror(errno));
    if (bind(c->udp_fd, (struct sockaddr *)&c->udp_addr, c->udp_len) < 0)
        return ad_err_set(reterr, errno, "collectors.syslog: cannot bind udp %s: %s", c->udp_where,
                          strerror(errno));
    c->ev_udp = event_new(c->env->base, c->udp_fd, EV_READ | EV_PERSIST, on_udp, c);
    if (!c->ev_udp || (!c->paused && event_add(c->ev_udp, NULL) != 0))
        return ad_err_set(reterr, ENOMEM, "collectors.syslog: cannot add the udp socket");
    c->udp_port = ad_addr_bound_port(c->udp_fd);
    ad_log(AD_LOG_INFO, "syslog: listening on udp %s (port %d)", c->udp_where, c->udp_port);
    return 0;
}

static int start_tcp(struct sc *c, struct ad_err *reterr)
{
    c->lis =
        evconnlistener_new_bind(c->env->base, on_accept, c,
                                LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
                                LISTEN_BACKLOG, (struct sockaddr *)&c->tcp_addr, (int)c->tcp_len);
    if (!c->lis)
        return ad_err_set(reterr, errno ? errno : EADDRINUSE,
                          "collectors.syslog: cannot listen on tcp %s: %s", c->tcp_where,
                          strerror(errno));
    evconnlistener_set_error_cb(c->lis, on_accept_error);
    if (c->paused)
        evconnlistener_disable(c->lis);
    c->tcp_port = ad_addr_bound_port(evconnlistener_get_fd(c->lis));
    ad_log(AD_LOG_INFO, "syslog: listening on tcp %s (port %d%s)", c->tcp_where, c->tcp_port,
           c->tls ? ", TLS, RFC 5425" : "");
    return 0;
}

static int sc_start(void *state, struct ad_err *reterr)
{
    struct sc *c = state;
    int r;
    if (c->started || c->stopped)
        return ad_err_set(reterr, EINVAL, "collectors.syslog: already started");
    c->ev_more = event_new(c->env->base, -1, 0, on_more, c);
    if (!c->ev_more)
        return ad_err_set(reterr, ENOMEM, "collectors.syslog: out of memory");
    if (c->udp_len && (r = start_udp(c, reterr)) < 0)
        return r;
    if (c->tcp_len && (r = start_tcp(c, reterr)) < 0)
        return r;
    c->started = true;
    return 0;
}

/* Backpressure. UDP datagrams that arrive meanwhile queue in the socket buffer and, once it is
 * full, are dropped by the kernel; TCP peers are stopped by TCP flow control. */
static void sc_pause(void *state)
{
    struct sc *c = state;
    if (c->paused)
        return;
    c->paused = c->n.paused = true;
    if (c->ev_udp)
        event_del(c->ev_udp);
    if (c->ev_more)
        event_del(c->ev_more);
    if (c->lis)
        evconnlistener_disable(c->lis);
    for (struct conn *k = c->conns; k; k = k->next) {
        bufferevent_disable(k->bev, EV_READ);
        k->pending = true; /* frames may be buffered already: looked at on resume */
    }
}

static void sc_resume(void *state)
{
    struct sc *c = state;
    if (!c->paused || c->stopped)
        return;
    c->paused = c->n.paused = false;
    if (!c->started)
        return;
    if (c->ev_udp)
        event_add(c->ev_udp, NULL);
    if (c->lis)
        evconnlistener_enable(c->lis);
    for (struct conn *k = c->conns; k; k = k->next)
        if (!k->eof)
            bufferevent_enable(k->bev, EV_READ);
    /* What was buffered before the pause announces itself no more. */
    kick(c);
}

static void sc_stop(void *state)
{
    struct sc *c = state;
    if (!c || c->stopped)
        return;
    c->stopped = true;
    if (c->ev_udp)
        event_del(c->ev_udp);
    if (c->ev_more)
        event_del(c->ev_more);
    if (c->udp_fd >= 0) {
        close(c->udp_fd);
        c->udp_fd = -1;
    }
    if (c->lis) {
        evconnlistener_free(c->lis);
        c->lis = NULL;
    }
    for (struct conn *k = c->conns; k; k = k->next)
        bufferevent_disable(k->bev, EV_READ | EV_WRITE);
    /* Inside one of our callbacks a connection's buffer may be in use: leave() closes them. */
    if (c->in_cb == 0)
        while (c->conns)
            close_conn(c->conns);
}

static void free_state(struct sc *c)
{
    while (c->conns)
        close_conn(c->conns);
    if (c->ev_udp)
        event_free(c->ev_udp);
    if (c->ev_more)
        event_free(c->ev_more);
    ad_tls_destroy(c->tls); /* after the connections that use it */
    ad_arena_fini(&c->arena);
    free(c->dgram);
    free(c->source);
    free(c->allowed);
    free(c);
}

static void sc_destroy(void *state)
{
    struct sc *c = state;
    if (!c)
        return;
    sc_stop(c);
    if (c->in_cb > 0) {
        c->doomed = true;
        return;
    }
    free_state(c);
}

static void sc_stats(const void *state, struct ad_metrics *m)
{
    const struct sc *c = state;
    char lbl[64];
    ad_collector_counts_stats(&c->n, "syslog", m);
    ad_metrics_gauge(m, "aiopsd_syslog_listen_port", "Port the syslog collector listens on.",
                     "proto=\"udp\"", c->udp_port);
    ad_metrics_gauge(m, "aiopsd_syslog_listen_port", "Port the syslog collector listens on.",
                     "proto=\"tcp\"", c->tcp_port);
    ad_metrics_gauge(m, "aiopsd_syslog_connections", "Syslog TCP connections open.", NULL,
                     (double)c->conns_now);
    ad_metrics_counter(m, "aiopsd_syslog_connections_total", "Syslog TCP connections accepted.",
                       NULL, c->conns_total);
    const char *sh = "Syslog datagrams and TCP connections dropped: the sender is not in "
                     "allowed_sources.";
    ad_metrics_counter(m, "aiopsd_syslog_refused_sources_total", sh, "proto=\"udp\"",
                       c->refused_udp);
    ad_metrics_counter(m, "aiopsd_syslog_refused_sources_total", sh, "proto=\"tcp\"",
                       c->refused_tcp);
    ad_metrics_counter(m, "aiopsd_syslog_connections_rejected_total",
                       "Syslog TCP connections closed at once: max_connections reached.", NULL,
                       c->conns_rejected);
    ad_metrics_counter(m, "aiopsd_syslog_slow_frames_total",
                       "TCP connections closed because a frame stayed incomplete for longer than "
                       "idle_timeout while its bytes trickled in.",
                       NULL, c->slow_frames);
    ad_metrics_counter(m, "aiopsd_syslog_idle_timeouts_total",
                       "Syslog TCP connections closed after idle_timeout without data.", NULL,
                       c->idle_timeouts);
    ad_metrics_counter(m, "aiopsd_syslog_frames_oversize_total",
                       "Syslog messages over max_message_size, skipped.", "proto=\"udp\"",
                       c->oversize_udp);
    ad_metrics_counter(m, "aiopsd_syslog_frames_oversize_total",
                       "Syslog messages over max_message_size, skipped.", "proto=\"tcp\"",
                       c->oversize_tcp);
    if (c->tls) {
        ad_tls_stats(c->tls, "syslog", m);
        ad_metrics_counter(m, "aiopsd_syslog_tls_unframed_total",
                           "Syslog TLS connections closed for a frame without octet counting "
                           "(RFC 5425).",
                           NULL, c->tls_unframed);
    }
    for (int i = 0; i < 3; i++) {
        snprintf(lbl, sizeof(lbl), "format=\"%s\"", format_names[i]);
        ad_metrics_counter(m, "aiopsd_syslog_messages_total",
                           "Syslog messages accepted, by header format.", lbl, c->formats[i]);
    }
    for (int i = 0; i < L_COUNT; i++) {
        snprintf(lbl, sizeof(lbl), "what=\"%s\"", lenient_names[i]);
        ad_metrics_counter(m, "aiopsd_syslog_lenient_total",
                           "Syslog messages accepted despite a flaw, by flaw (labels_dropped "
                           "counts labels).",
                           lbl, c->lenient[i]);
    }
}

static void sc_reload(void *state)
{
    struct sc *c = state;
    struct ad_err err;
    if (c->tls)
        ad_tls_reload(c->tls, &err); /* logs either way */
}

const struct ad_collector_ops ad_collector_syslog = {
    .name = "syslog",
    .doc = "Syslog over UDP and TCP (RFC 5424, RFC 3164; RFC 6587 framing), as log events.",
    .opts = syslog_opts,
    .cfg_size = sizeof(struct syslog_cfg),
    .create = sc_create,
    .start = sc_start,
    .pause = sc_pause,
    .resume = sc_resume,
    .stop = sc_stop,
    .stats = sc_stats,
    .reload = sc_reload,
    .destroy = sc_destroy,
};
