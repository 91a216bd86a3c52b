/* collectors/zmq.c: the ZeroMQ collector (SUB or PULL). Brings libzmq onto the libevent loop
 * through ZMQ_FD and turns each message into an ad_event for env->emit. Never blocks the loop:
 * every receive is ZMQ_DONTWAIT and one wakeup handles at most batch_max messages. Wire format:
 * docs/collectors.md. */
#include "collectors/collector.h"
#include "collectors/util.h"
#include "collectors/zmq_auth.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <zmq.h>

#include "common/arena.h"
#include "common/err.h"
#include "common/event.h"
#include "common/json.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/seqhdr.h"
#include "common/time.h"

#define ARENA_CHUNK (64 * 1024)
/* libzmq drops frames over ZMQ_MAXMSGSIZE on the wire (and disconnects the peer). The cap sits
 * above max_message_size by this much so that a single-frame "topic {json}" whose JSON fits still
 * arrives, and a message just over the limit is counted and dead-lettered instead of vanishing. */
#define ENVELOPE_ALLOWANCE (64 * 1024)
/* Publishers whose sequence numbers are followed (common/seqhdr.h); later ones are counted. */
#define MAX_PUBLISHERS 256

enum zmq_type { ZT_SUB = 0, ZT_PULL };
enum zmq_mode { ZM_BIND = 0, ZM_CONNECT };
static const char *const type_names[] = {"sub", "pull", NULL};
static const char *const mode_names[] = {"bind", "connect", NULL};

struct zmq_cfg {
    bool enabled;                /* must stay first: AD_COLLECTOR_ENABLED */
    int type;                    /* enum zmq_type */
    int mode;                    /* enum zmq_mode */
    struct ad_strlist endpoints; /* "tcp://host:port", "ipc://path", ... */
    struct ad_strlist topics;    /* SUB prefixes; empty = everything */
    uint64_t rcvhwm;             /* messages queued inside libzmq */
    uint64_t max_message_size;   /* bytes of event JSON */
    uint64_t batch_max;          /* messages per wakeup */
    char *curve_secret_key_file; /* "" = no CURVE */
    char *curve_clients_dir;     /* allowed client public keys (*.pub) */
};

/* The socket is built once at start; every option is restart-only (a reload that changes one
 * logs that it needs a restart). */
static const struct ad_opt zmq_opts[] = {
    AD_OPT_BOOL_R("enabled", "true", struct zmq_cfg, enabled, "Receive events over ZeroMQ."),
    AD_OPT_ENUM_R("type", "sub", type_names, struct zmq_cfg, type,
                  "Socket type: sub (from PUB/XPUB publishers; at most once: a PUB drops at "
                  "its high-water mark, counted per publisher from \"aiopsd-seq\" headers) or "
                  "pull (from PUSH senders; lossless while aiopsd runs: senders block)."),
    AD_OPT_ENUM_R("mode", "bind", mode_names, struct zmq_cfg, mode,
                  "bind: senders connect to us; connect: we connect to senders that bind."),
    AD_OPT_STRLIST_R("endpoints", "tcp://127.0.0.1:5556", struct zmq_cfg, endpoints,
                     "ZeroMQ endpoints to bind or connect (tcp://host:port, ipc://path)."),
    AD_OPT_STRLIST_R("topics", "", struct zmq_cfg, topics,
                   "SUB only: topic prefixes to subscribe to; empty subscribes to everything."),
    AD_OPT_UINT_R("rcvhwm", "100000", "1", "10000000", struct zmq_cfg, rcvhwm,
                "Messages queued inside libzmq (ZMQ_RCVHWM); past it PUB peers drop, PUSH peers "
                "block."),
    AD_OPT_SIZE_R("max_message_size", "1MiB", "1KiB", "64MiB", struct zmq_cfg, max_message_size,
                "Largest event JSON accepted; larger ones are dead-lettered (too_large)."),
    AD_OPT_UINT_R("batch_max", "1024", "1", "1000000", struct zmq_cfg, batch_max,
                "Messages handled per wakeup before the loop gets a turn (Redis I/O)."),
    AD_OPT_STRING_R("curve_secret_key_file", "", "4096", struct zmq_cfg, curve_secret_key_file,
                    "CURVE: the server's secret key file (aiopsctl curve-keygen); empty = no "
                    "encryption or authentication. Needs curve_clients_dir."),
    AD_OPT_STRING_R("curve_clients_dir", "", "4096", struct zmq_cfg, curve_clients_dir,
                    "CURVE: directory of the allowed clients' public key files (*.pub); any "
                    "other client is refused by the ZAP handler."),
    AD_OPT_END,
};


struct zc {
    const struct ad_collector_env *env; /* borrowed; outlives us */
    int type, mode;
    struct ad_strlist endpoints, topics; /* our own copies: the config may be reloaded */
    int rcvhwm;
    size_t max_msg;
    uint64_t batch_max;
    char where[256]; /* endpoints, for log lines */

    void *zctx, *sock;
    zmq_msg_t msg;         /* the frame being handled; emptied after each batch */
    struct event *ev_read; /* ZMQ_FD readable (edge: see drain()) */
    struct event *ev_more; /* zero timeout: more is queued than one batch took */
    struct ad_arena arena; /* escaped strings of one batch */
    struct ad_json_parser *parser;
    struct ad_zmq_auth *auth; /* CURVE on; NULL = off */

    bool started, paused, stopped;
    bool in_drain; /* inside drain(): destroy() defers the free to its end */
    bool doomed;   /* destroy() was called from a callback of ours */

    struct ad_collector_counts n;
    struct ad_seq_tracker *seq; /* per-publisher sequence numbers */
    uint64_t seq_bad;           /* malformed "aiopsd-seq" frames */
};

/* --- helpers ------------------------------------------------------------------------------- */

/* True when libzmq has a message for us. Reading ZMQ_EVENTS also makes libzmq process its pending
 * commands, which is what re-arms the edge on ZMQ_FD when it answers "nothing". */
static bool readable(struct zc *c)
{
    int events = 0;
    size_t n = sizeof(events);
    if (zmq_getsockopt(c->sock, ZMQ_EVENTS, &events, &n) != 0)
        return false;
    return (events & ZMQ_POLLIN) != 0;
}

/* A single frame is either the JSON itself (its first non-blank byte is '{') or
 * "topic<space>{json}", the form PUB senders use to get a topic without multipart. */
static void strip_topic(const char **p, size_t *len)
{
    const char *s = *p, *end = s + *len, *q = s;
    if (end - q >= 3 && memcmp(q, "\xEF\xBB\xBF", 3) == 0)
        q += 3; /* a byte order mark: the parser skips it too */
    while (q < end && (*q == ' ' || *q == '\t' || *q == '\r' || *q == '\n'))
        q++;
    if (q < end && *q == '{')
        return;
    const char *sp = memchr(s, ' ', *len);
    if (!sp)
        return; /* no topic either: the parser says what is wrong with it */
    *p = sp + 1;
    *len = (size_t)(end - *p);
}

/* --- the hot path -------------------------------------------------------------------------- */

static void handle(struct zc *c, const char *raw, size_t raw_len, size_t frames, int64_t now_ns)
{
    const char *json = raw;
    size_t len = raw_len;
    struct ad_event ev;
    struct ad_err err;

    /* With two frames or more, the earlier ones are the envelope (the topic) and were dropped. */
    if (frames == 1)
        strip_topic(&json, &len);
    err.msg[0] = '\0';
    int r = ad_json_parse_event(c->parser, json, len, &c->arena, now_ns, &ev, &err);
    if (r == 0) {
        c->n.accepted++;
        c->env->emit(c->env->sink, &ev);
        return;
    }
    enum ad_reject why = ad_reject_of(r);
    c->n.rejected[why]++;
    if (!err.msg[0])
        snprintf(err.msg, sizeof(err.msg), "%s", strerror(-r));
    AD_LOG_RATELIMITED(AD_LOG_WARN, "zmq %s: %s (%s), sending to dead-letter", c->where,
                       ad_reject_name(why), err.msg);
    c->env->reject(c->env->sink, "zmq", raw, raw_len, err.msg);
}

/* Receives one whole message (every frame; libzmq delivers multipart messages atomically) and
 * handles its last frame. Returns 1 when a message was handled, 0 when none was queued, or -errno
 * when the socket failed. */
/* A frame of the envelope: the sequence header of its publisher, if it is one (id and *seq are
 * written only then). */
static void envelope_frame(struct zc *c, char *id, uint64_t *seq)
{
    int r = ad_seq_parse(zmq_msg_data(&c->msg), zmq_msg_size(&c->msg), id, seq);
    if (r < 0) {
        c->seq_bad++;
        AD_LOG_RATELIMITED(AD_LOG_WARN, "zmq %s: malformed \"%s\" frame ignored", c->where,
                           AD_SEQ_MAGIC "<publisher> <seq>");
    }
}

/* The message carried a sequence header: count what its publisher sent that never came. */
static void sequence(struct zc *c, const char *id, uint64_t seq)
{
    int64_t missing = ad_seq_observe(c->seq, id, seq);
    if (missing > 0)
        AD_LOG_RATELIMITED(AD_LOG_WARN,
                           "zmq %s: publisher %s: %lld events missing before seq %llu (lost "
                           "on the way: slow joiner, PUB high-water mark or a restart)",
                           c->where, id, (long long)missing, (unsigned long long)seq);
}

static int recv_one(struct zc *c, int64_t now_ns)
{
    size_t frames = 0, bytes = 0;
    char id[AD_SEQ_ID_MAX + 1];
    uint64_t seq = 0;
    for (;;) {
        int n = zmq_msg_recv(&c->msg, c->sock, ZMQ_DONTWAIT);
        if (n < 0) {
            int e = zmq_errno();
            if (e == EINTR)
                continue;
            if (e == EAGAIN && frames == 0)
                return 0;
            return -e;
        }
        frames++;
        bytes += (size_t)n;
        if (!zmq_msg_more(&c->msg))
            break;
        envelope_frame(c, id, &seq);
    }
    c->n.received++;
    if (seq)
        sequence(c, id, seq);
    c->n.bytes += bytes;
    handle(c, zmq_msg_data(&c->msg), zmq_msg_size(&c->msg), frames, now_ns);
    return 1;
}

static void free_state(struct zc *c);

/* Calls drain() again on the next loop iteration. A zero timeout rather than event_active():
 * libevent runs an event activated from a callback in the same pass over the active queue, before
 * it polls again, so a busy socket would starve the Redis connection. A timeout fires only after
 * the next poll, behind the I/O callbacks that poll made ready. */
static void kick(struct zc *c)
{
    static const struct timeval zero = {0, 0};
    event_add(c->ev_more, &zero);
}

/* ZMQ_FD is not a data socket: it signals "ZMQ_EVENTS may have changed", and only once per change
 * (an edge). So:
 *  - ZMQ_EVENTS is re-read after every receive and before returning. A receive can consume the
 *    signal on ZMQ_FD while leaving messages queued; returning to the loop at that point would
 *    leave them stuck until some later message happened to signal again. Only a ZMQ_EVENTS
 *    without ZMQ_POLLIN re-arms the edge, so that is the only state in which we may go back to
 *    waiting on the fd.
 *  - When the batch cap is reached while ZMQ_POLLIN is still set, no edge will come for what is
 *    already queued, so we schedule ev_more ourselves (kick()). */
static void drain(struct zc *c)
{
    if (c->paused || c->stopped)
        return;
    c->in_drain = true;
    int64_t now_ns = ad_now_ns(); /* receive time of the whole batch */
    uint64_t tries = 0, got = 0;
    bool more = false;

    while (!c->paused && !c->stopped) {
        if (!readable(c))
            break;
        if (tries == c->batch_max) {
            more = true;
            break;
        }
        tries++; /* counts the rare EAGAIN after POLLIN too, so the loop stays bounded */
        int r = recv_one(c, now_ns);
        if (r < 0) {
            /* Not rescheduled: a socket that keeps failing would spin the loop. */
            AD_LOG_RATELIMITED(AD_LOG_ERROR, "zmq %s: receive failed: %s", c->where,
                               zmq_strerror(-r));
            break;
        }
        got += (uint64_t)r;
    }
    if (got > 0)
        c->env->batch_done(c->env->sink);
    ad_arena_reset(&c->arena);
    /* Give back the last frame's buffer now rather than at the next message. */
    zmq_msg_close(&c->msg);
    zmq_msg_init(&c->msg);
    c->in_drain = false;
    if (c->doomed) {
        free_state(c);
        return;
    }
    if (more && !c->paused && !c->stopped)
        kick(c);
}

static void on_ready(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    drain(arg);
}

/* --- lifecycle ----------------------------------------------------------------------------- */

static int set_int(struct zc *c, int opt, int v, const char *name, struct ad_err *reterr)
{
    if (zmq_setsockopt(c->sock, opt, &v, sizeof(v)) == 0)
        return 0;
    int e = zmq_errno();
    return ad_err_set(reterr, e, "collectors.zmq: cannot set %s: %s", name, zmq_strerror(e));
}

static int subscribe(struct zc *c, const char *topic, struct ad_err *reterr)
{
    if (zmq_setsockopt(c->sock, ZMQ_SUBSCRIBE, topic, strlen(topic)) == 0)
        return 0;
    int e = zmq_errno();
    return ad_err_set(reterr, e, "collectors.zmq: cannot subscribe to \"%s\": %s", topic,
                      zmq_strerror(e));
}

static int make_socket(struct zc *c, const struct zmq_cfg *cfg, struct ad_err *reterr)
{
    int64_t wire_max = (int64_t)c->max_msg + ENVELOPE_ALLOWANCE;
    int r;

    c->zctx = zmq_ctx_new();
    if (!c->zctx)
        return ad_err_set(reterr, ENOMEM, "collectors.zmq: cannot create a ZeroMQ context");
    /* The ZAP handler is bound before the socket can accept anyone: a CURVE server without a
     * handler would let every client in. */
    if (cfg->curve_secret_key_file[0] &&
        (r = ad_zmq_auth_create(c->zctx, c->env->base, "collectors.zmq", cfg->curve_secret_key_file,
                                cfg->curve_clients_dir, &c->auth, reterr)) < 0)
        return r;
    c->sock = zmq_socket(c->zctx, c->type == ZT_SUB ? ZMQ_SUB : ZMQ_PULL);
    if (!c->sock) {
        int e = zmq_errno();
        return ad_err_set(reterr, e, "collectors.zmq: cannot create the socket: %s",
                          zmq_strerror(e));
    }
    if (c->auth && (r = ad_zmq_auth_apply(c->auth, c->sock, reterr)) < 0)
        return r;
    if ((r = set_int(c, ZMQ_RCVHWM, c->rcvhwm, "ZMQ_RCVHWM", reterr)) < 0 ||
        (r = set_int(c, ZMQ_LINGER, 0, "ZMQ_LINGER", reterr)) < 0)
        return r;
    if (zmq_setsockopt(c->sock, ZMQ_MAXMSGSIZE, &wire_max, sizeof(wire_max)) != 0) {
        int e = zmq_errno();
        return ad_err_set(reterr, e, "collectors.zmq: cannot set ZMQ_MAXMSGSIZE: %s",
                          zmq_strerror(e));
    }
    if (c->type != ZT_SUB)
        return 0;
    if (c->topics.n == 0)
        return subscribe(c, "", reterr); /* the empty prefix: everything */
    for (size_t i = 0; i < c->topics.n; i++)
        if ((r = subscribe(c, c->topics.v[i], reterr)) < 0)
            return r;
    return 0;
}

static int check_cfg(const struct zmq_cfg *cfg, struct ad_err *reterr)
{
    if (cfg->endpoints.n == 0)
        return ad_err_set(reterr, EINVAL, "collectors.zmq.endpoints: at least one endpoint needed");
    for (size_t i = 0; i < cfg->endpoints.n; i++)
        if (!strstr(cfg->endpoints.v[i], "://"))
            return ad_err_set(reterr, EINVAL,
                              "collectors.zmq.endpoints: expected a ZeroMQ endpoint such as "
                              "tcp://127.0.0.1:5556 or ipc:///run/aiopsd.sock, got \"%s\"",
                              cfg->endpoints.v[i]);
    if (cfg->type != ZT_SUB && cfg->topics.n > 0)
        return ad_err_set(reterr, EINVAL,
                          "collectors.zmq.topics: only a sub socket has topics (type is pull)");
    bool key = cfg->curve_secret_key_file && cfg->curve_secret_key_file[0];
    bool dir = cfg->curve_clients_dir && cfg->curve_clients_dir[0];
    if (key != dir)
        return ad_err_set(reterr, EINVAL,
                          "collectors.zmq: curve_secret_key_file and curve_clients_dir go together "
                          "(%s is missing)",
                          key ? "curve_clients_dir" : "curve_secret_key_file");
    if (key && !zmq_has("curve"))
        return ad_err_set(reterr, ENOTSUP,
                          "collectors.zmq.curve_secret_key_file: this libzmq has no CURVE");
    if (cfg->max_message_size == 0 || cfg->max_message_size > INT32_MAX || cfg->batch_max == 0 ||
        cfg->rcvhwm == 0)
        return ad_err_set(reterr, EINVAL,
                          "collectors.zmq: max_message_size, batch_max and rcvhwm must be > 0");
    return 0;
}

static void describe(struct zc *c)
{
    size_t off = 0;
    c->where[0] = '\0';
    for (size_t i = 0; i < c->endpoints.n && off + 1 < sizeof(c->where); i++) {
        int n = snprintf(c->where + off, sizeof(c->where) - off, "%s%s", i ? "," : "",
                         c->endpoints.v[i]);
        if (n < 0)
            break;
        off += (size_t)n;
    }
}

static void zc_destroy(void *state);

static int zc_create(const void *cfgp, const struct ad_collector_env *env, void **ret_state,
                     struct ad_err *reterr)
{
    const struct zmq_cfg *cfg = cfgp;
    int r = check_cfg(cfg, reterr);
    if (r < 0)
        return r;
    struct zc *c = calloc(1, sizeof(*c));
    if (!c)
        return ad_err_set(reterr, ENOMEM, "collectors.zmq: out of memory");
    c->env = env;
    c->type = cfg->type;
    c->mode = cfg->mode;
    c->rcvhwm = cfg->rcvhwm > INT_MAX ? INT_MAX : (int)cfg->rcvhwm;
    c->max_msg = (size_t)cfg->max_message_size;
    c->batch_max = cfg->batch_max;
    zmq_msg_init(&c->msg);
    ad_arena_init(&c->arena, ARENA_CHUNK);
    if (ad_strlist_copy(&c->endpoints, &cfg->endpoints) < 0 || ad_strlist_copy(&c->topics, &cfg->topics) < 0) {
        r = ad_err_set(reterr, ENOMEM, "collectors.zmq: out of memory");
        goto out_destroy;
    }
    describe(c);
    r = ad_json_parser_create(c->max_msg, &c->parser);
    if (r < 0) {
        ad_err_set(reterr, -r, "collectors.zmq: cannot create the JSON parser: %s", strerror(-r));
        goto out_destroy;
    }
    if (ad_seq_tracker_create(MAX_PUBLISHERS, &c->seq) < 0) {
        r = ad_err_set(reterr, ENOMEM, "collectors.zmq: out of memory");
        goto out_destroy;
    }
    r = make_socket(c, cfg, reterr);
    if (r < 0)
        goto out_destroy;
    *ret_state = c;
    return 0;

out_destroy:
    zc_destroy(c);
    return r;
}

static int zc_start(void *state, struct ad_err *reterr)
{
    struct zc *c = state;
    const bool bind = c->mode == ZM_BIND;
    int fd;
    size_t n = sizeof(fd);

    if (c->started || c->stopped)
        return ad_err_set(reterr, EINVAL, "collectors.zmq: already started");
    for (size_t i = 0; i < c->endpoints.n; i++) {
        const char *ep = c->endpoints.v[i];
        if ((bind ? zmq_bind(c->sock, ep) : zmq_connect(c->sock, ep)) != 0) {
            int e = zmq_errno();
            return ad_err_set(reterr, e, "collectors.zmq: cannot %s %s: %s",
                              bind ? "bind" : "connect to", ep, zmq_strerror(e));
        }
    }
    if (zmq_getsockopt(c->sock, ZMQ_FD, &fd, &n) != 0) {
        int e = zmq_errno();
        return ad_err_set(reterr, e, "collectors.zmq: cannot get ZMQ_FD: %s", zmq_strerror(e));
    }
    c->ev_read = event_new(c->env->base, fd, EV_READ | EV_PERSIST, on_ready, c);
    c->ev_more = event_new(c->env->base, -1, 0, on_ready, c);
    if (!c->ev_read || !c->ev_more || event_add(c->ev_read, NULL) != 0)
        return ad_err_set(reterr, ENOMEM, "collectors.zmq: cannot add the socket to the loop");
    if (c->auth && ad_zmq_auth_start(c->auth, reterr) < 0)
        return -ENOMEM;
    c->started = true;
    /* Anything that arrived between bind/connect and event_add produced its edge already. */
    if (c->paused)
        event_del(c->ev_read);
    else
        kick(c);
    ad_log(AD_LOG_INFO, "zmq: %s %s %s%s", c->type == ZT_SUB ? "SUB" : "PULL",
           bind ? "bound to" : "connected to", c->where, c->auth ? " (CURVE)" : "");
    return 0;
}

static void zc_pause(void *state)
{
    struct zc *c = state;
    if (c->paused)
        return;
    c->paused = c->n.paused = true;
    /* Also cancels a pending kick(). */
    if (c->ev_read)
        event_del(c->ev_read);
    if (c->ev_more)
        event_del(c->ev_more);
}

static void zc_resume(void *state)
{
    struct zc *c = state;
    if (!c->paused || c->stopped)
        return;
    c->paused = c->n.paused = false;
    if (!c->started)
        return;
    event_add(c->ev_read, NULL);
    /* Messages that queued while paused signalled ZMQ_FD when nobody listened: that edge is gone,
     * so drain once by hand. */
    kick(c);
}

static void zc_stop(void *state)
{
    struct zc *c = state;
    if (!c)
        return;
    c->stopped = true;
    if (c->ev_read)
        event_del(c->ev_read);
    if (c->ev_more)
        event_del(c->ev_more);
    /* LINGER is 0: what is queued inside libzmq is dropped (at-most-once, docs/collectors.md). */
    if (c->sock) {
        zmq_close(c->sock);
        c->sock = NULL;
    }
    ad_zmq_auth_stop(c->auth); /* after the socket, which owns the monitor; before the term */
    if (c->zctx) {
        while (zmq_ctx_term(c->zctx) != 0 && zmq_errno() == EINTR)
            ;
        c->zctx = NULL;
    }
}

static void free_state(struct zc *c)
{
    if (c->ev_read)
        event_free(c->ev_read);
    if (c->ev_more)
        event_free(c->ev_more);
    zmq_msg_close(&c->msg);
    ad_json_parser_destroy(c->parser);
    ad_zmq_auth_destroy(c->auth);
    ad_arena_fini(&c->arena);
    ad_strlist_free(&c->endpoints);
    ad_strlist_free(&c->topics);
    ad_seq_tracker_destroy(c->seq);
    free(c);
}

static void zc_destroy(void *state)
{
    struct zc *c = state;
    if (!c)
        return;
    zc_stop(c);
    /* Called from emit/reject/batch_done inside drain(): free when drain() unwinds. */
    if (c->in_drain) {
        c->doomed = true;
        return;
    }
    free_state(c);
}

static void zc_stats(const void *state, struct ad_metrics *m)
{
    const struct zc *c = state;
    ad_collector_counts_stats(&c->n, "zmq", m);
    const char *gh = "Events a ZeroMQ publisher numbered that never arrived (gaps in its "
                     "\"aiopsd-seq\" sequence), by publisher.";
    const char *rh = "Times a publisher's sequence went backwards (it restarted).";
    char l[AD_SEQ_ID_MAX + 16];
    for (size_t i = 0; i < ad_seq_count(c->seq); i++) {
        const struct ad_seq_pub *p = ad_seq_at(c->seq, i);
        snprintf(l, sizeof(l), "publisher=\"%s\"", p->id); /* ids never need escaping */
        ad_metrics_counter(m, "aiopsd_zmq_sequence_gaps_total", gh, l, p->gaps);
        ad_metrics_counter(m, "aiopsd_zmq_sequence_resets_total", rh, l, p->resets);
    }
    ad_metrics_gauge(m, "aiopsd_zmq_publishers",
                     "Publishers whose sequence numbers are followed.", NULL,
                     (double)ad_seq_count(c->seq));
    ad_metrics_counter(m, "aiopsd_zmq_sequence_untracked_total",
                       "Numbered messages of publishers past the first 256 (not followed).",
                       NULL, ad_seq_untracked(c->seq));
    ad_metrics_counter(m, "aiopsd_zmq_sequence_malformed_total",
                       "Envelope frames starting \"aiopsd-seq \" that could not be parsed.", NULL,
                       c->seq_bad);
    if (c->auth)
        ad_zmq_auth_stats(c->auth, "zmq", m);
}

const struct ad_collector_ops ad_collector_zmq = {
    .name = "zmq",
    .doc = "ZeroMQ SUB or PULL socket receiving one event JSON per message.",
    .opts = zmq_opts,
    .cfg_size = sizeof(struct zmq_cfg),
    .create = zc_create,
    .start = zc_start,
    .pause = zc_pause,
    .resume = zc_resume,
    .stop = zc_stop,
    .stats = zc_stats,
    .destroy = zc_destroy,
};
