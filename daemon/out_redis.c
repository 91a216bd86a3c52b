/* daemon/out_redis.c: the Redis output. Candidate changes and dead letters wait in a bounded FIFO
 * of pre-serialized commands until Redis acknowledges them; each one is a single EVALSHA of one
 * Lua script, so a resend after a lost reply is harmless (docs/redis.md). Never blocks the loop. */
#include "daemon/out_redis.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/event.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/json.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/ser.h"
#include "common/time.h"
#include "correlators/candidate.h"

/* --- options ------------------------------------------------------------------------------ */

/* The output is built once at start and never reconfigured, so every option is restart-only:
 * a reload that changes one says so in the log instead of silently ignoring it. opt.h has _R
 * variants for some types only; the entries below spell the flag out for the rest. */
#define R_UINT(n, d, lo, hi, f, doc)                                                               \
    {                                                                                              \
        n, AD_OPT_T_UINT, d, lo, hi, offsetof(struct ad_redis_cfg, f), AD_OPT_RESTART, NULL, doc   \
    }
#define R_DURATION(n, d, lo, hi, f, doc)                                                           \
    {                                                                                              \
        n, AD_OPT_T_DURATION, d, lo, hi, offsetof(struct ad_redis_cfg, f), AD_OPT_RESTART, NULL,   \
            doc                                                                                    \
    }

static const struct ad_opt redis_opts[] = {
    AD_OPT_ENDPOINT_R("endpoint", "127.0.0.1:6379", struct ad_redis_cfg, endpoint,
                      "Redis server: host:port, [v6addr]:port, tcp://host:port or unix:/path. A "
                      "host name is resolved once, at start."),
    AD_OPT_STRING_R("prefix", "aiopsd", "64", struct ad_redis_cfg, prefix,
                    "Prefix of every key written (<prefix>:candidates, <prefix>:candidate:<id>, "
                    "<prefix>:queue:incidents, <prefix>:queue:problems, <prefix>:deadletter)."),
    AD_OPT_STRING_R("password_file", "", "4096", struct ad_redis_cfg, password_file,
                    "File holding the Redis password on its first line (or an ACL user name, "
                    "then the password on the second line); empty: no AUTH. Read at start."),
    R_UINT("db", "0", "0", "1000000", db, "Database number selected after connecting."),
    R_UINT("max_buffer", "100000", "10", "10000000", max_buffer,
           "Entries queued or awaiting acknowledgement before collectors are paused "
           "(backpressure); past twice this, new entries are shed and counted."),
    R_UINT("stream_maxlen", "100000", "100", "1000000000", stream_maxlen,
           "Approximate length bound of the <prefix>:candidates stream (XADD MAXLEN ~)."),
    R_UINT("deadletter_max", "10000", "1", "100000000", deadletter_max,
           "Newest dead-letter records kept in <prefix>:deadletter (LTRIM)."),
    R_DURATION("connect_timeout", "2s", "10ms", "1m", connect_timeout_ns,
               "Bound on connecting and on the handshake (AUTH, SELECT, SCRIPT LOAD); then the "
               "attempt is abandoned and retried."),
    R_DURATION("reconnect_min", "100ms", "10ms", "1m", reconnect_min_ns,
               "First delay before reconnecting; doubles after each failed attempt."),
    R_DURATION("reconnect_max", "10s", "10ms", "10m", reconnect_max_ns,
               "Upper bound of the reconnect delay."),
    R_DURATION("state_ttl", "7d", "0s", "3650d", state_ttl_ns,
               "Expiry of <prefix>:candidate:<id> once the candidate is resolved; 0s keeps it."),
    AD_OPT_END,
};

const struct ad_section ad_redis_section = {
    "outputs.redis",
    "Redis output: candidates to a stream, a hash per candidate and a work queue; dead letters "
    "to a capped list (docs/redis.md).",
    redis_opts,
    sizeof(struct ad_redis_cfg),
};

/* --- the script ----------------------------------------------------------------------------- */

/* One script for both kinds, so one SCRIPT LOAD per connection and one NOSCRIPT path.
 * Candidate: KEYS = hash, stream, queue; ARGV = "c", version, id, state, priority, priority_level,
 * severity, service, ci, title, alert_count, first_seen, last_seen, updated_at, json,
 * stream_maxlen, ttl_s. The version check makes a resend of an applied change a no-op (0).
 * Dead letter: KEYS = list; ARGV = "d", record, max.
 * Checkpoint write: KEYS = hash; ARGV = "s", position, state: refused (0) when the hash already
 * holds a later position (a slower former owner of a Kafka partition cannot regress it).
 * Checkpoint read: KEYS = hash; ARGV = "g"; replies [position, state] (nils when absent).
 * A script is atomic but not transactional: on Redis 7, which checks each command a script runs
 * against the user's ACL, a refused XADD after the HSET would leave the version written and the
 * resend skipped as a duplicate. So every write is checked first (redis.acl_check_cmd, Redis 7;
 * absent before, where scripts run unchecked) and a refusal is a NOPERM before any write. */
static const char SCRIPT[] =
    "local function denied(...)\n"
    "  if redis.acl_check_cmd and not redis.acl_check_cmd(...) then\n"
    "    local a = {...}\n"
    "    return redis.error_reply('NOPERM this user has no permissions to run the ' .. a[1] ..\n"
    "      ' command on ' .. a[2])\n"
    "  end\n"
    "end\n"
    "if ARGV[1] == 's' then\n"
    "  local cur = tonumber(redis.call('HGET', KEYS[1], 'position'))\n"
    "  if cur and cur > tonumber(ARGV[2]) then return 0 end\n"
    "  local no = denied('HSET', KEYS[1], 'position', '0')\n"
    "  if no then return no end\n"
    "  redis.call('HSET', KEYS[1], 'position', ARGV[2], 'state', ARGV[3])\n"
    "  return 1\n"
    "end\n"
    "if ARGV[1] == 'g' then\n"
    "  return redis.call('HMGET', KEYS[1], 'position', 'state')\n"
    "end\n"
    "if ARGV[1] == 'd' then\n"
    "  local no = denied('LPUSH', KEYS[1], 'x') or denied('LTRIM', KEYS[1], '0', '1')\n"
    "  if no then return no end\n"
    "  redis.call('LPUSH', KEYS[1], ARGV[2])\n"
    "  redis.call('LTRIM', KEYS[1], 0, tonumber(ARGV[3]) - 1)\n"
    "  return 1\n"
    "end\n"
    "local a = ARGV\n"
    "local cur = tonumber(redis.call('HGET', KEYS[1], 'version')) or 0\n"
    "if cur >= tonumber(a[2]) then return 0 end\n"
    "local no = denied('HSET', KEYS[1], 'id', 'x') or\n"
    "  denied('XADD', KEYS[2], 'MAXLEN', '~', '1', '*', 'id', 'x') or\n"
    "  denied('LPUSH', KEYS[3], 'x') or denied('EXPIRE', KEYS[1], '1') or\n"
    "  denied('PERSIST', KEYS[1])\n"
    "if no then return no end\n"
    "redis.call('HSET', KEYS[1], 'id', a[3], 'state', a[4], 'version', a[2], 'priority', a[5],\n"
    "  'priority_level', a[6], 'severity', a[7], 'service', a[8], 'ci', a[9], 'title', a[10],\n"
    "  'alert_count', a[11], 'first_seen', a[12], 'last_seen', a[13], 'updated_at', a[14],\n"
    "  'json', a[15])\n"
    "redis.call('XADD', KEYS[2], 'MAXLEN', '~', a[16], '*', 'id', a[3], 'state', a[4],\n"
    "  'version', a[2], 'priority', a[5], 'json', a[15])\n"
    "redis.call('LPUSH', KEYS[3], a[15])\n"
    "local ttl = tonumber(a[17])\n"
    "if a[4] == 'resolved' and ttl > 0 then\n"
    "  redis.call('EXPIRE', KEYS[1], ttl)\n"
    "else\n"
    "  redis.call('PERSIST', KEYS[1])\n"
    "end\n"
    "return 1\n";

/* --- state ---------------------------------------------------------------------------------- */

enum kind { KIND_CANDIDATE = 0, KIND_DEADLETTER, KIND_STATE, KIND_GET, KIND_COUNT };
static const char *const kind_label[KIND_COUNT] = {"kind=\"candidate\"", "kind=\"deadletter\"",
                                                   "kind=\"checkpoint\"",
                                                   "kind=\"checkpoint_read\""};

/* One queued write: the RESP encoding of the script's arguments after the script reference
 * (numkeys, keys, argv). The EVALSHA/EVAL head is prepended when sending, so the same entry
 * can go either way. */
struct entry {
    char *tail; /* owned */
    uint32_t len;
    uint16_t argc;
    uint8_t kind;
    ad_out_redis_state_fn cb; /* KIND_GET: answer, or NULL once cancelled */
    void *cb_arg;
};

enum conn {
    CONN_IDLE,       /* not started */
    CONN_WAIT,       /* waiting for the reconnect timer */
    CONN_CONNECTING, /* TCP/unix connect in progress */
    CONN_HANDSHAKE,  /* AUTH / SELECT / SCRIPT LOAD sent, not answered yet */
    CONN_READY,      /* entries flow */
};

enum logged { LOGGED_NONE, LOGGED_UP, LOGGED_DOWN };

#define MAX_INFLIGHT 1024                /* pipelined, unacknowledged commands */
#define MAX_INFLIGHT_BYTES (16u << 20)   /* bound on hiredis's output buffer */
#define BUFFER_BYTES_SOFT (256ull << 20) /* is_full past this many bytes; shed at 2x */
#define DEADLETTER_MAX_RAW (64u << 10)   /* raw bytes kept in a dead-letter record */
#define TCP_USER_TIMEOUT_MS 30000        /* a peer that stops acking TCP data is dropped */
#define HANDSHAKE_SCRIPT ((void *)1)     /* privdata of the setup commands */
#define HANDSHAKE_OTHER ((void *)2)

struct ad_out_redis {
    struct event_base *base; /* borrowed */

    /* Copied from the config at create. */
    char *endpoint; /* for logs */
    char *host;     /* numeric address, or NULL for unix */
    int port;
    char *unix_path; /* or NULL */
    char *user, *password;
    uint64_t db, max_buffer, stream_maxlen, deadletter_max;
    int64_t connect_timeout_ns, reconnect_min_ns, reconnect_max_ns;
    uint64_t ttl_s;
    char *prefix;
    char *key_stream, *key_queue, *key_queue_problems, *key_dead;

    /* Connection. */
    redisAsyncContext *ac; /* NULL unless CONNECTING, HANDSHAKE or READY */
    enum conn st;
    enum logged logged;
    bool started, use_eval, use_eval_next;
    char sha[41];
    int64_t backoff_ns;
    uint64_t rng;
    struct event *ev_timer; /* reconnect delay (WAIT) or connect timeout (CONNECTING/HANDSHAKE) */
    struct event *ev_kick;  /* runs user callbacks outside hiredis callbacks */
    struct event *ev_drain; /* drain() deadline */

    /* Queue: ring[(head + i) & (cap - 1)] for i < n; the first `inflight` are sent. */
    struct entry *ring;
    size_t cap, head, n, inflight;
    uint64_t head_seq; /* sequence number of ring[head], carried as reply privdata */
    uint64_t bytes;    /* tail bytes queued */
    uint64_t inflight_bytes;

    /* Backpressure and shutdown. */
    bool full_latched, drain_cb_due;
    void (*on_drain)(void *ctx);
    void *on_drain_ctx;
    bool draining, drain_expired;
    void (*done)(void *ctx, bool all_acked);
    void *done_ctx;

    /* Scratch, reused (no allocation per submit in steady state apart from the entry). */
    struct ad_buf json, tail, cmd;

    /* Counters. */
    uint64_t written[KIND_COUNT], dup_skipped, state_stale, shed_bound, shed_shutdown, reconnects;
    uint64_t err_dropped, err_retried, err_connect, connect_timeouts, err_refused;
    /* The last error reply that kept the head entry queued (a permission, OOM, READONLY...):
     * readiness says it until Redis applies a write again. "" when writes flow. */
    char refused[200];
};

/* --- small helpers -------------------------------------------------------------------------- */

static uint64_t next_rand(struct ad_out_redis *r)
{
    /* xorshift64*: jitter only, no quality needed. */
    r->rng ^= r->rng >> 12;
    r->rng ^= r->rng << 25;
    r->rng ^= r->rng >> 27;
    return r->rng * 0x2545F4914F6CDD1DULL;
}

static struct timeval tv_of(int64_t ns)
{
    if (ns < 0)
        ns = 0;
    return (struct timeval){.tv_sec = (time_t)(ns / AD_NS_PER_S),
                            .tv_usec = (suseconds_t)(ns % AD_NS_PER_S / 1000)};
}

static char *concat3(const char *a, const char *b, const char *c)
{
    size_t na = strlen(a), nb = strlen(b), nc = strlen(c);
    char *s = malloc(na + nb + nc + 1);
    if (!s)
        return NULL;
    memcpy(s, a, na);
    memcpy(s + na, b, nb);
    memcpy(s + na + nb, c, nc + 1);
    return s;
}

static void kick(struct ad_out_redis *r)
{
    event_active(r->ev_kick, EV_TIMEOUT, 1);
}

static struct entry *at(const struct ad_out_redis *r, size_t i)
{
    return &r->ring[(r->head + i) & (r->cap - 1)];
}

/* --- RESP encoding -------------------------------------------------------------------------- */

static int resp_arg(struct ad_buf *b, const char *p, size_t n)
{
    int r = ad_buf_printf(b, "$%zu\r\n", n);
    if (r >= 0)
        r = ad_buf_append(b, p, n);
    if (r >= 0)
        r = ad_buf_append(b, "\r\n", 2);
    return r < 0 ? r : 0;
}

static int resp_cstr(struct ad_buf *b, const char *s)
{
    return resp_arg(b, s ? s : "", s ? strlen(s) : 0);
}

/* One argument made of three parts: "<prefix>:candidate:<id>". */
static int resp_key(struct ad_buf *b, const char *x, const char *y, const char *z)
{
    size_t nx = strlen(x), ny = strlen(y), nz = strlen(z);
    int r = ad_buf_printf(b, "$%zu\r\n", nx + ny + nz);
    r = r ? r : ad_buf_append(b, x, nx);
    r = r ? r : ad_buf_append(b, y, ny);
    r = r ? r : ad_buf_append(b, z, nz);
    r = r ? r : ad_buf_append(b, "\r\n", 2);
    return r;
}

static int resp_u64(struct ad_buf *b, uint64_t v)
{
    char num[24];
    int n = snprintf(num, sizeof(num), "%llu", (unsigned long long)v);
    return resp_arg(b, num, (size_t)n);
}

static int resp_time(struct ad_buf *b, int64_t ns)
{
    char ts[40];
    return resp_cstr(b, ad_time_format_rfc3339(ns, ts, sizeof(ts)));
}

/* --- queue ---------------------------------------------------------------------------------- */

static int ring_grow(struct ad_out_redis *r)
{
    size_t ncap = r->cap ? r->cap * 2 : 1024;
    struct entry *nr = malloc(ncap * sizeof(*nr));
    if (!nr)
        return -ENOMEM;
    for (size_t i = 0; i < r->n; i++)
        nr[i] = *at(r, i);
    free(r->ring);
    r->ring = nr;
    r->cap = ncap;
    r->head = 0;
    return 0;
}

static void pump(struct ad_out_redis *r);

/* Copies r->tail into a new entry at the back of the queue and starts sending it. */
static int push_tail(struct ad_out_redis *r, enum kind kind, uint16_t argc)
{
    if (r->n == r->cap && ring_grow(r) < 0)
        return -ENOMEM;
    char *copy = malloc(r->tail.len);
    if (!copy)
        return -ENOMEM;
    memcpy(copy, r->tail.p, r->tail.len);
    *at(r, r->n) = (struct entry){copy, (uint32_t)r->tail.len, argc, (uint8_t)kind, NULL, NULL};
    r->n++;
    r->bytes += r->tail.len;
    if (ad_out_redis_is_full(r))
        r->full_latched = true;
    pump(r);
    return 0;
}

/* The head entry was answered (written, skipped or dropped). */
static void pop_head(struct ad_out_redis *r)
{
    struct entry *e = at(r, 0);
    r->bytes -= e->len;
    r->inflight_bytes -= e->len;
    free(e->tail);
    e->tail = NULL;
    r->head = (r->head + 1) & (r->cap - 1);
    r->n--;
    r->inflight--;
    r->head_seq++;
    if (r->full_latched && r->n < r->max_buffer / 2 && r->bytes < BUFFER_BYTES_SOFT / 2) {
        r->full_latched = false;
        r->drain_cb_due = true;
        kick(r);
    }
    if (r->draining && r->n == 0)
        kick(r);
}

/* Admission check shared by both submit kinds: 0, -ESHUTDOWN or -ENOBUFS (counted). */
static int admit(struct ad_out_redis *r)
{
    if (r->draining) {
        r->shed_shutdown++;
        return -ESHUTDOWN;
    }
    if (r->n >= 2 * r->max_buffer || r->bytes >= 2 * BUFFER_BYTES_SOFT) {
        r->shed_bound++;
        AD_LOG_RATELIMITED(AD_LOG_WARN,
                           "redis %s: buffer at its hard bound (%zu entries), shedding output",
                           r->endpoint, r->n);
        return -ENOBUFS;
    }
    return 0;
}

/* --- connection ----------------------------------------------------------------------------- */

static void connect_now(struct ad_out_redis *r);

static void log_down(struct ad_out_redis *r, const char *why)
{
    if (r->logged == LOGGED_DOWN)
        return;
    if (r->logged == LOGGED_UP)
        ad_log(AD_LOG_NOTICE,
               "redis %s: connection lost (%s); buffering (%zu queued) and reconnecting",
               r->endpoint, why, r->n);
    else
        ad_log(AD_LOG_WARN, "redis %s: cannot connect (%s); buffering and retrying with backoff",
               r->endpoint, why);
    r->logged = LOGGED_DOWN;
}

/* Forgets the context: its remaining callbacks see data == NULL and do nothing. Safe inside a
 * hiredis reply callback (hiredis defers the free until the callback returns); never called
 * from the connect callback, where hiredis 0.14 does not allow it. */
static void drop_conn(struct ad_out_redis *r)
{
    redisAsyncContext *ac = r->ac;
    r->ac = NULL;
    if (ac) {
        ac->data = NULL;
        redisAsyncFree(ac);
    }
}

static void schedule_retry(struct ad_out_redis *r)
{
    /* +-10% jitter so that many daemons restarted together do not reconnect in lockstep. */
    int64_t d = r->backoff_ns;
    int64_t span = d / 5;
    if (span > 0)
        d = d - span / 2 + (int64_t)(next_rand(r) % (uint64_t)span);
    r->backoff_ns =
        r->backoff_ns > r->reconnect_max_ns / 2 ? r->reconnect_max_ns : r->backoff_ns * 2;
    r->st = CONN_WAIT;
    struct timeval tv = tv_of(d);
    evtimer_add(r->ev_timer, &tv);
}

/* The connection is gone (or never came up): every unacknowledged entry will be resent, in
 * order, on the next connection. */
static void conn_lost(struct ad_out_redis *r, const char *why)
{
    evtimer_del(r->ev_timer);
    r->inflight = 0;
    r->inflight_bytes = 0;
    log_down(r, why);
    schedule_retry(r);
}

/* We hung up ourselves after a NOSCRIPT or a transient error reply, which was already logged:
 * the link itself is fine, so no "connection lost" / "connected" pair per retry. A real failure
 * of the next attempt is still logged by log_down. */
static void reconnect_quietly(struct ad_out_redis *r)
{
    evtimer_del(r->ev_timer);
    r->inflight = 0;
    r->inflight_bytes = 0;
    schedule_retry(r);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct ad_out_redis *r = arg;
    if (r->st == CONN_WAIT) {
        r->reconnects++;
        connect_now(r);
        return;
    }
    /* Connect or handshake took longer than connect_timeout. */
    r->connect_timeouts++;
    r->err_connect++;
    drop_conn(r);
    conn_lost(r, "connect timeout");
}

static void on_reply(redisAsyncContext *ac, void *reply, void *privdata);

static void became_ready(struct ad_out_redis *r)
{
    evtimer_del(r->ev_timer);
    r->st = CONN_READY;
    if (r->logged != LOGGED_UP)
        ad_log(AD_LOG_NOTICE, "redis %s: connected (%zu entries queued)", r->endpoint, r->n);
    r->logged = LOGGED_UP;
    if (r->n == 0)
        r->backoff_ns = r->reconnect_min_ns;
    pump(r);
}

static void on_setup(redisAsyncContext *ac, void *reply_, void *privdata)
{
    struct ad_out_redis *r = ac->data;
    redisReply *reply = reply_;
    if (!r || r->ac != ac || !reply)
        return;
    if (reply->type == REDIS_REPLY_ERROR) {
        char why[160];
        snprintf(why, sizeof(why), "handshake: %s", reply->str);
        AD_LOG_RATELIMITED(AD_LOG_ERROR, "redis %s: %s", r->endpoint, why);
        r->err_connect++;
        drop_conn(r);
        conn_lost(r, why);
        return;
    }
    if (privdata != HANDSHAKE_SCRIPT)
        return;
    if (reply->type != REDIS_REPLY_STRING || reply->len != 40) {
        r->err_connect++;
        drop_conn(r);
        conn_lost(r, "handshake: unexpected SCRIPT LOAD reply");
        return;
    }
    memcpy(r->sha, reply->str, 40);
    r->sha[40] = '\0';
    became_ready(r);
}

static void on_connect(const redisAsyncContext *cac, int status)
{
    redisAsyncContext *ac = (redisAsyncContext *)cac;
    struct ad_out_redis *r = ac->data;
    if (!r || r->ac != ac)
        return;
    if (status != REDIS_OK) {
        /* hiredis frees the context when this returns. */
        r->ac = NULL;
        r->err_connect++;
        conn_lost(r, ac->errstr ? ac->errstr : "connect failed");
        return;
    }
    r->st = CONN_HANDSHAKE;
    if (!r->unix_path) {
        redisEnableKeepAlive(&ac->c);
        unsigned int ms = TCP_USER_TIMEOUT_MS;
        setsockopt(ac->c.fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &ms, sizeof(ms));
    }
    r->use_eval = r->use_eval_next;
    r->use_eval_next = false;
    /* AUTH and SELECT first; entries wait for the SCRIPT LOAD answer, so that a failed AUTH
     * cannot turn every queued entry into a NOAUTH error. */
    if (r->password) {
        if (r->user) {
            const char *argv[] = {"AUTH", r->user, r->password};
            redisAsyncCommandArgv(ac, on_setup, HANDSHAKE_OTHER, 3, argv, NULL);
        } else {
            const char *argv[] = {"AUTH", r->password};
            redisAsyncCommandArgv(ac, on_setup, HANDSHAKE_OTHER, 2, argv, NULL);
        }
    }
    if (r->db) {
        char db[24];
        snprintf(db, sizeof(db), "%llu", (unsigned long long)r->db);
        const char *argv[] = {"SELECT", db};
        redisAsyncCommandArgv(ac, on_setup, HANDSHAKE_OTHER, 2, argv, NULL);
    }
    const char *argv[] = {"SCRIPT", "LOAD", SCRIPT};
    size_t lens[] = {6, 4, sizeof(SCRIPT) - 1};
    redisAsyncCommandArgv(ac, on_setup, HANDSHAKE_SCRIPT, 3, argv, lens);
}

static void on_disconnect(const redisAsyncContext *cac, int status)
{
    (void)status;
    redisAsyncContext *ac = (redisAsyncContext *)cac;
    struct ad_out_redis *r = ac->data;
    if (!r || r->ac != ac)
        return;
    r->ac = NULL; /* hiredis frees it */
    if (r->st != CONN_READY)
        r->err_connect++;
    conn_lost(r, ac->errstr ? ac->errstr : "disconnected");
}

static void connect_now(struct ad_out_redis *r)
{
    redisAsyncContext *ac =
        r->unix_path ? redisAsyncConnectUnix(r->unix_path) : redisAsyncConnect(r->host, r->port);
    if (!ac || ac->err) {
        char why[160];
        snprintf(why, sizeof(why), "%s", ac ? ac->errstr : "out of memory");
        if (ac)
            redisAsyncFree(ac);
        r->err_connect++;
        conn_lost(r, why);
        return;
    }
    ac->data = r;
    if (redisLibeventAttach(ac, r->base) != REDIS_OK) {
        redisAsyncFree(ac);
        r->err_connect++;
        conn_lost(r, "cannot attach to the event loop");
        return;
    }
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    r->ac = ac;
    r->st = CONN_CONNECTING;
    struct timeval tv = tv_of(r->connect_timeout_ns);
    evtimer_add(r->ev_timer, &tv);
}

/* --- sending and replies -------------------------------------------------------------------- */

/* "*<argc>\r\n$7\r\nEVALSHA\r\n$40\r\n<sha>\r\n" + tail, or the same with EVAL and the script. */
static int format_entry(struct ad_out_redis *r, const struct entry *e)
{
    struct ad_buf *b = &r->cmd;
    ad_buf_reset(b);
    int rc = ad_buf_printf(b, "*%u\r\n", (unsigned)e->argc + 2);
    if (rc >= 0)
        rc = r->use_eval ? resp_cstr(b, "EVAL") : resp_cstr(b, "EVALSHA");
    if (rc >= 0)
        rc = r->use_eval ? resp_arg(b, SCRIPT, sizeof(SCRIPT) - 1) : resp_arg(b, r->sha, 40);
    if (rc >= 0)
        rc = ad_buf_append(b, e->tail, e->len);
    return rc < 0 ? rc : 0;
}

static void pump(struct ad_out_redis *r)
{
    while (r->st == CONN_READY && r->inflight < r->n && r->inflight < MAX_INFLIGHT &&
           r->inflight_bytes < MAX_INFLIGHT_BYTES) {
        const struct entry *e = at(r, r->inflight);
        void *seq = (void *)(uintptr_t)(r->head_seq + r->inflight);
        if (format_entry(r, e) < 0 ||
            redisAsyncFormattedCommand(r->ac, on_reply, seq, r->cmd.p, r->cmd.len) != REDIS_OK)
            return; /* out of memory or disconnecting: the entry stays queued */
        r->inflight++;
        r->inflight_bytes += e->len;
    }
}

static bool has_prefix(const char *s, const char *p)
{
    return strncmp(s, p, strlen(p)) == 0;
}

/* A refusal by the ACL: NOPERM from a command, or, from inside the script on Redis 7, an ERR
 * saying the user "can't run this command" or "can't access" a key. An operator fixes it with
 * ACL SETUSER, so it is "not now" rather than "never". */
static bool permission_error(const char *msg)
{
    return has_prefix(msg, "NOPERM") || strstr(msg, "NOPERM") ||
           strstr(msg, "user executing the script can't") || strstr(msg, "no permissions");
}

/* Errors that say "not now" rather than "never": the entry is kept and retried after a
 * reconnect with backoff, so that a failover, a restart, maxmemory or an ACL that is being
 * fixed does not lose output. */
static bool transient_error(const char *msg)
{
    static const char *const codes[] = {"LOADING", "BUSY",   "TRYAGAIN", "MASTERDOWN",  "READONLY",
                                        "NOAUTH",  "NOPERM", "OOM",      "CLUSTERDOWN", NULL};
    for (size_t i = 0; codes[i]; i++)
        if (has_prefix(msg, codes[i]))
            return true;
    return permission_error(msg) || strstr(msg, "OOM command not allowed") != NULL;
}

/* A checkpoint read came back: [position, state], both nil when there is none. */
static void answer_get(struct ad_out_redis *r, const struct entry *e, const redisReply *reply)
{
    r->written[KIND_GET]++;
    if (!e->cb)
        return; /* cancelled */
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2) {
        e->cb(e->cb_arg, -EPROTO, false, 0, NULL, 0);
        return;
    }
    const redisReply *pos = reply->element[0], *st = reply->element[1];
    if (pos->type != REDIS_REPLY_STRING || st->type != REDIS_REPLY_STRING) {
        e->cb(e->cb_arg, 0, false, 0, NULL, 0);
        return;
    }
    char *end;
    unsigned long long p = strtoull(pos->str, &end, 10);
    if (end == pos->str || *end) {
        e->cb(e->cb_arg, -EPROTO, false, 0, NULL, 0);
        return;
    }
    e->cb(e->cb_arg, 0, true, (uint64_t)p, st->str, st->len);
}

static void on_reply(redisAsyncContext *ac, void *reply_, void *privdata)
{
    struct ad_out_redis *r = ac->data;
    redisReply *reply = reply_;
    /* NULL replies come from a connection being torn down: its entries are resent. */
    if (!r || r->ac != ac || !reply)
        return;
    if (r->inflight == 0 || (uint64_t)(uintptr_t)privdata != r->head_seq) {
        AD_LOG_RATELIMITED(AD_LOG_ERROR, "redis %s: reply out of order; reconnecting", r->endpoint);
        drop_conn(r);
        conn_lost(r, "reply out of order");
        return;
    }
    const struct entry *e = at(r, 0);
    if (reply->type == REDIS_REPLY_ERROR) {
        const char *msg = reply->str ? reply->str : "";
        if (has_prefix(msg, "NOSCRIPT")) {
            /* The script cache was flushed under us: reconnect and send with EVAL. */
            ad_log(AD_LOG_WARN, "redis %s: script not cached (%s); resending with EVAL",
                   r->endpoint, msg);
            r->use_eval_next = true;
            r->err_retried++;
            drop_conn(r);
            reconnect_quietly(r);
            return;
        }
        if (transient_error(msg)) {
            r->err_retried++;
            r->err_refused += permission_error(msg);
            snprintf(r->refused, sizeof(r->refused), "%s refused, retrying: %s",
                     kind_label[e->kind], msg);
            AD_LOG_RATELIMITED(AD_LOG_ERROR, "redis %s: %s; reconnecting and retrying",
                               r->endpoint, msg);
            drop_conn(r);
            reconnect_quietly(r);
            return;
        }
        /* Anything else (a script error, WRONGTYPE on a key someone else created) would fail
         * again on every resend: count it, drop the entry, keep the queue moving. */
        r->err_dropped++;
        AD_LOG_RATELIMITED(AD_LOG_ERROR, "redis %s: %s failed, entry dropped: %s", r->endpoint,
                           kind_label[e->kind], msg);
        if (e->kind == KIND_GET && e->cb)
            e->cb(e->cb_arg, -EIO, false, 0, NULL, 0);
    } else if (e->kind == KIND_GET) {
        answer_get(r, e, reply);
    } else if (reply->type == REDIS_REPLY_INTEGER && reply->integer == 1) {
        r->written[e->kind]++;
    } else if (reply->type == REDIS_REPLY_INTEGER && reply->integer == 0) {
        if (e->kind == KIND_STATE)
            r->state_stale++;
        else
            r->dup_skipped++;
    } else {
        r->err_dropped++;
        AD_LOG_RATELIMITED(AD_LOG_ERROR, "redis %s: unexpected reply type %d, entry dropped",
                           r->endpoint, reply->type);
    }
    r->backoff_ns = r->reconnect_min_ns; /* progress: the next outage starts from the minimum */
    if (r->refused[0]) {
        ad_log(AD_LOG_NOTICE, "redis %s: writes accepted again", r->endpoint);
        r->refused[0] = '\0';
    }
    pop_head(r);
    pump(r);
}

/* --- user callbacks ------------------------------------------------------------------------- */

/* Runs from the loop, never from inside hiredis, so callbacks may submit or destroy freely
 * (destroying r in on_drain and also having a drain pending is the caller's problem). */
static void on_kick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct ad_out_redis *r = arg;
    bool call_drain = r->drain_cb_due && r->on_drain;
    void (*drain_cb)(void *) = r->on_drain;
    void *drain_ctx = r->on_drain_ctx;
    r->drain_cb_due = false;

    void (*done)(void *, bool) = NULL;
    void *done_ctx = NULL;
    bool all_acked = r->n == 0;
    if (r->done && (all_acked || r->drain_expired)) {
        done = r->done;
        done_ctx = r->done_ctx;
        r->done = NULL;
        evtimer_del(r->ev_drain);
    }
    if (call_drain)
        drain_cb(drain_ctx);
    if (done)
        done(done_ctx, all_acked);
}

static void on_drain_timeout(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct ad_out_redis *r = arg;
    r->drain_expired = true;
    kick(r);
}

/* --- create / destroy ----------------------------------------------------------------------- */

static int parse_endpoint(struct ad_out_redis *r, const char *ep, struct ad_err *reterr)
{
    if (strncmp(ep, "unix:", 5) == 0 || strncmp(ep, "ipc://", 6) == 0) {
        const char *path = ep + (ep[0] == 'u' ? 5 : 6);
        if (!*path)
            return ad_err_set(reterr, EINVAL, "outputs.redis.endpoint: empty unix socket path");
        r->unix_path = strdup(path);
        return r->unix_path ? 0 : -ENOMEM;
    }
    if (strncmp(ep, "tcp://", 6) == 0)
        ep += 6;
    const char *host = ep, *colon;
    size_t hlen;
    if (*ep == '[') {
        const char *close = strchr(ep, ']');
        if (!close || close[1] != ':')
            return ad_err_set(reterr, EINVAL, "outputs.redis.endpoint: bad address \"%s\"", ep);
        host = ep + 1;
        hlen = (size_t)(close - host);
        colon = close + 1;
    } else {
        colon = strrchr(ep, ':');
        if (!colon)
            return ad_err_set(reterr, EINVAL, "outputs.redis.endpoint: no port in \"%s\"", ep);
        hlen = (size_t)(colon - ep);
    }
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (hlen == 0 || *end || port < 1 || port > 65535)
        return ad_err_set(reterr, EINVAL, "outputs.redis.endpoint: bad host or port in \"%s\"", ep);
    char name[256];
    if (hlen >= sizeof(name))
        return ad_err_set(reterr, EINVAL, "outputs.redis.endpoint: host name too long");
    memcpy(name, host, hlen);
    name[hlen] = '\0';

    /* hiredis resolves names with a blocking getaddrinfo on every attempt; resolve once here,
     * at start, and hand it the numeric address. */
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST};
    struct addrinfo *res = NULL;
    int g = getaddrinfo(name, NULL, &hints, &res);
    if (g != 0) {
        hints.ai_flags = AI_ADDRCONFIG;
        g = getaddrinfo(name, NULL, &hints, &res);
        if (g != 0)
            return ad_err_set(reterr, EINVAL, "outputs.redis.endpoint: cannot resolve \"%s\": %s",
                              name, gai_strerror(g));
        char num[64];
        if (getnameinfo(res->ai_addr, res->ai_addrlen, num, sizeof(num), NULL, 0, NI_NUMERICHOST) !=
            0) {
            freeaddrinfo(res);
            return ad_err_set(reterr, EINVAL, "outputs.redis.endpoint: cannot use \"%s\"", name);
        }
        ad_log(AD_LOG_INFO, "redis: %s resolved to %s (once, at start)", name, num);
        snprintf(name, sizeof(name), "%s", num);
    }
    freeaddrinfo(res);
    r->host = strdup(name);
    r->port = (int)port;
    return r->host ? 0 : -ENOMEM;
}

/* First line: the password; with two lines, user name then password. */
static int read_password(struct ad_out_redis *r, const char *path, struct ad_err *reterr)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return ad_err_set(reterr, errno, "outputs.redis.password_file: %s: %s", path,
                          strerror(errno));
    char l1[1024] = "", l2[1024] = "";
    bool one = fgets(l1, sizeof(l1), f) != NULL;
    bool two = one && fgets(l2, sizeof(l2), f) != NULL;
    fclose(f);
    l1[strcspn(l1, "\r\n")] = '\0';
    l2[strcspn(l2, "\r\n")] = '\0';
    if (two && l2[0]) {
        r->user = strdup(l1);
        r->password = strdup(l2);
        if (!r->user || !r->password)
            return -ENOMEM;
    } else {
        if (!l1[0])
            return ad_err_set(reterr, EINVAL, "outputs.redis.password_file: %s is empty", path);
        r->password = strdup(l1);
        if (!r->password)
            return -ENOMEM;
    }
    return 0;
}

int ad_out_redis_create(const struct ad_redis_cfg *cfg, struct event_base *base,
                        struct ad_out_redis **ret, struct ad_err *reterr)
{
    if (!cfg || !base)
        return ad_err_set(reterr, EINVAL, "outputs.redis: no configuration");
    if (cfg->max_buffer < 2 || cfg->reconnect_min_ns <= 0 || cfg->connect_timeout_ns <= 0)
        return ad_err_set(reterr, EINVAL,
                          "outputs.redis: max_buffer, reconnect_min and "
                          "connect_timeout must be positive");
    if (cfg->reconnect_max_ns < cfg->reconnect_min_ns)
        return ad_err_set(reterr, EINVAL,
                          "outputs.redis.reconnect_max: must not be below reconnect_min");
    const char *prefix = cfg->prefix && *cfg->prefix ? cfg->prefix : "aiopsd";
    const char *endpoint = cfg->endpoint && *cfg->endpoint ? cfg->endpoint : "127.0.0.1:6379";

    struct ad_out_redis *r = calloc(1, sizeof(*r));
    if (!r)
        return ad_err_set(reterr, ENOMEM, "out of memory");
    int rc = -ENOMEM;
    r->base = base;
    r->db = cfg->db;
    r->max_buffer = cfg->max_buffer;
    r->stream_maxlen = cfg->stream_maxlen ? cfg->stream_maxlen : 1;
    r->deadletter_max = cfg->deadletter_max ? cfg->deadletter_max : 1;
    r->connect_timeout_ns = cfg->connect_timeout_ns;
    r->reconnect_min_ns = cfg->reconnect_min_ns;
    r->reconnect_max_ns = cfg->reconnect_max_ns;
    r->backoff_ns = cfg->reconnect_min_ns;
    r->ttl_s =
        cfg->state_ttl_ns > 0 ? (uint64_t)((cfg->state_ttl_ns + AD_NS_PER_S - 1) / AD_NS_PER_S) : 0;
    r->rng = (uint64_t)ad_mono_ns() ^ (uint64_t)(uintptr_t)r ^ 0x9e3779b97f4a7c15ULL;
    ad_buf_init(&r->json);
    ad_buf_init(&r->tail);
    ad_buf_init(&r->cmd);

    r->endpoint = strdup(endpoint);
    r->prefix = strdup(prefix);
    r->key_stream = concat3(prefix, ":candidates", "");
    r->key_queue = concat3(prefix, ":queue:incidents", "");
    r->key_queue_problems = concat3(prefix, ":queue:problems", "");
    r->key_dead = concat3(prefix, ":deadletter", "");
    if (!r->endpoint || !r->prefix || !r->key_stream || !r->key_queue || !r->key_queue_problems ||
        !r->key_dead)
        goto fail;
    rc = parse_endpoint(r, endpoint, reterr);
    if (rc < 0)
        goto fail;
    if (cfg->password_file && *cfg->password_file) {
        rc = read_password(r, cfg->password_file, reterr);
        if (rc < 0)
            goto fail;
    }
    rc = -ENOMEM;
    r->ev_timer = evtimer_new(base, on_timer, r);
    r->ev_kick = event_new(base, -1, 0, on_kick, r);
    r->ev_drain = evtimer_new(base, on_drain_timeout, r);
    if (!r->ev_timer || !r->ev_kick || !r->ev_drain || ring_grow(r) < 0)
        goto fail;
    *ret = r;
    return 0;

fail:
    if (rc == -ENOMEM)
        ad_err_set(reterr, ENOMEM, "out of memory");
    ad_out_redis_destroy(r);
    return rc;
}

void ad_out_redis_destroy(struct ad_out_redis *r)
{
    if (!r)
        return;
    drop_conn(r);
    if (r->ev_timer)
        event_free(r->ev_timer);
    if (r->ev_kick)
        event_free(r->ev_kick);
    if (r->ev_drain)
        event_free(r->ev_drain);
    for (size_t i = 0; i < r->n; i++)
        free(at(r, i)->tail);
    free(r->ring);
    ad_buf_fini(&r->json);
    ad_buf_fini(&r->tail);
    ad_buf_fini(&r->cmd);
    free(r->endpoint);
    free(r->host);
    free(r->unix_path);
    if (r->password)
        memset(r->password, 0, strlen(r->password));
    free(r->user);
    free(r->password);
    free(r->prefix);
    free(r->key_stream);
    free(r->key_queue);
    free(r->key_queue_problems);
    free(r->key_dead);
    free(r);
}

int ad_out_redis_start(struct ad_out_redis *r)
{
    if (r->started)
        return 0;
    r->started = true;
    connect_now(r);
    return 0;
}

/* --- submit --------------------------------------------------------------------------------- */

int ad_out_redis_submit_candidate(struct ad_out_redis *r, const struct ad_candidate *c)
{
    int rc = admit(r);
    if (rc < 0)
        return rc;
    ad_buf_reset(&r->json);
    rc = ad_candidate_to_json(c, &r->json);
    if (rc < 0)
        return rc;

    char prio[16];
    snprintf(prio, sizeof(prio), "P%d", c->priority);
    struct ad_buf *b = &r->tail;
    ad_buf_reset(b);
    /* numkeys, 3 keys, 17 args. */
    rc = resp_cstr(b, "3");
    rc = rc ? rc : resp_key(b, r->prefix, ":candidate:", c->id);
    rc = rc ? rc : resp_cstr(b, r->key_stream);
    /* Problems go to their own work queue (ITIL problem management), on the same stream. */
    rc = rc ? rc : resp_cstr(b, c->type == AD_CAND_PROBLEM ? r->key_queue_problems : r->key_queue);
    rc = rc ? rc : resp_cstr(b, "c");
    rc = rc ? rc : resp_u64(b, c->version);
    rc = rc ? rc : resp_cstr(b, c->id);
    rc = rc ? rc : resp_cstr(b, ad_cand_state_name(c->state));
    rc = rc ? rc : resp_cstr(b, prio);
    rc = rc ? rc : resp_u64(b, (uint64_t)(c->priority > 0 ? c->priority : 0));
    rc = rc ? rc : resp_cstr(b, ad_severity_name(c->severity));
    rc = rc ? rc : resp_cstr(b, c->service);
    rc = rc ? rc : resp_cstr(b, c->ci);
    rc = rc ? rc : resp_cstr(b, c->title);
    rc = rc ? rc : resp_u64(b, c->alert_count);
    rc = rc ? rc : resp_time(b, c->first_seen_ns);
    rc = rc ? rc : resp_time(b, c->last_seen_ns);
    rc = rc ? rc : resp_time(b, c->updated_ns);
    rc = rc ? rc : resp_arg(b, r->json.p, r->json.len);
    rc = rc ? rc : resp_u64(b, r->stream_maxlen);
    rc = rc ? rc : resp_u64(b, r->ttl_s);
    if (rc < 0)
        return -ENOMEM;
    return push_tail(r, KIND_CANDIDATE, 21);
}

static bool utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t k;
        uint32_t cp, min;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            k = 1, cp = c & 0x1F, min = 0x80;
        } else if ((c & 0xF0) == 0xE0) {
            k = 2, cp = c & 0x0F, min = 0x800;
        } else if ((c & 0xF8) == 0xF0) {
            k = 3, cp = c & 0x07, min = 0x10000;
        } else {
            return false;
        }
        if (n - i <= k)
            return false;
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + j] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += k + 1;
    }
    return true;
}

static int base64(struct ad_buf *out, const unsigned char *s, size_t n)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    int rc = ad_buf_reserve(out, (n + 2) / 3 * 4 + 1);
    if (rc < 0)
        return rc;
    char *o = out->p + out->len;
    size_t i = 0;
    for (; i + 2 < n; i += 3) {
        uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
        *o++ = tab[v >> 18];
        *o++ = tab[(v >> 12) & 63];
        *o++ = tab[(v >> 6) & 63];
        *o++ = tab[v & 63];
    }
    if (i < n) {
        uint32_t v = (uint32_t)s[i] << 16 | (i + 1 < n ? (uint32_t)s[i + 1] << 8 : 0);
        *o++ = tab[v >> 18];
        *o++ = tab[(v >> 12) & 63];
        *o++ = i + 1 < n ? tab[(v >> 6) & 63] : '=';
        *o++ = '=';
    }
    out->len = (size_t)(o - out->p);
    out->p[out->len] = '\0';
    return 0;
}

/* {"collector","reason","received_at","raw"|"raw_base64"[,"raw_len","truncated"]} */
static int deadletter_json(struct ad_out_redis *r, const char *collector, const char *origin,
                           const void *raw, size_t len, const char *reason, int64_t now_ns)
{
    const unsigned char *s = raw ? raw : (const unsigned char *)"";
    size_t keep = len > DEADLETTER_MAX_RAW ? DEADLETTER_MAX_RAW : len;
    bool text = utf8_valid(s, keep);
    /* A cut may split a character: back off to its start before judging the text. */
    for (size_t back = 1; !text && keep < len && back <= 3 && back < keep; back++)
        if (utf8_valid(s, keep - back)) {
            keep -= back;
            text = true;
        }
    char ts[40];
    struct ad_jsonw w;
    ad_buf_reset(&r->json);
    ad_jsonw_init(&w, &r->json);
    ad_jsonw_obj_begin(&w);
    ad_jsonw_key(&w, "collector");
    ad_jsonw_cstr(&w, collector ? collector : "unknown");
    if (origin && *origin) {
        ad_jsonw_key(&w, "origin");
        ad_jsonw_cstr(&w, origin);
    }
    ad_jsonw_key(&w, "reason");
    ad_jsonw_cstr(&w, reason ? reason : "");
    ad_jsonw_key(&w, "received_at");
    ad_jsonw_cstr(&w, ad_time_format_rfc3339(now_ns, ts, sizeof(ts)));
    if (text) {
        ad_jsonw_key(&w, "raw");
        ad_jsonw_str(&w, (struct ad_str){(const char *)s, keep});
    } else {
        /* r->cmd is free here: it is only used while pump() formats a command. */
        ad_buf_reset(&r->cmd);
        if (base64(&r->cmd, s, keep) < 0)
            return -ENOMEM;
        ad_jsonw_key(&w, "raw_base64");
        ad_jsonw_str(&w, (struct ad_str){r->cmd.p, r->cmd.len});
    }
    if (keep < len) {
        ad_jsonw_key(&w, "raw_len");
        ad_jsonw_uint(&w, len);
        ad_jsonw_key(&w, "truncated");
        ad_jsonw_bool(&w, true);
    }
    ad_jsonw_obj_end(&w);
    return ad_jsonw_finish(&w);
}

int ad_out_redis_submit_deadletter(struct ad_out_redis *r, const char *collector, const void *raw,
                                   size_t len, const char *reason, int64_t now_ns)
{
    return ad_out_redis_submit_deadletter_at(r, collector, NULL, raw, len, reason, now_ns);
}

int ad_out_redis_submit_deadletter_at(struct ad_out_redis *r, const char *collector,
                                      const char *origin, const void *raw, size_t len,
                                      const char *reason, int64_t now_ns)
{
    int rc = admit(r);
    if (rc < 0)
        return rc;
    rc = deadletter_json(r, collector, origin, raw, len, reason, now_ns);
    if (rc < 0)
        return rc;
    struct ad_buf *b = &r->tail;
    ad_buf_reset(b);
    rc = resp_cstr(b, "1");
    rc = rc ? rc : resp_cstr(b, r->key_dead);
    rc = rc ? rc : resp_cstr(b, "d");
    rc = rc ? rc : resp_arg(b, r->json.p, r->json.len);
    rc = rc ? rc : resp_u64(b, r->deadletter_max);
    if (rc < 0)
        return -ENOMEM;
    return push_tail(r, KIND_DEADLETTER, 5);
}

/* --- checkpoints ----------------------------------------------------------------------------- */

int ad_out_redis_submit_state(struct ad_out_redis *r, const char *key, uint64_t position,
                              const void *state, size_t len)
{
    int rc = admit(r);
    if (rc < 0)
        return rc;
    struct ad_buf *b = &r->tail;
    ad_buf_reset(b);
    rc = resp_cstr(b, "1");
    rc = rc ? rc : resp_key(b, r->prefix, ":state:", key);
    rc = rc ? rc : resp_cstr(b, "s");
    rc = rc ? rc : resp_u64(b, position);
    rc = rc ? rc : resp_arg(b, state, len);
    if (rc < 0)
        return -ENOMEM;
    return push_tail(r, KIND_STATE, 5);
}

int ad_out_redis_get_state(struct ad_out_redis *r, const char *key, ad_out_redis_state_fn cb,
                           void *arg)
{
    int rc = admit(r);
    if (rc < 0)
        return rc;
    struct ad_buf *b = &r->tail;
    ad_buf_reset(b);
    rc = resp_cstr(b, "1");
    rc = rc ? rc : resp_key(b, r->prefix, ":state:", key);
    rc = rc ? rc : resp_cstr(b, "g");
    if (rc < 0)
        return -ENOMEM;
    rc = push_tail(r, KIND_GET, 3);
    if (rc == 0) {
        struct entry *e = at(r, r->n - 1);
        e->cb = cb;
        e->cb_arg = arg;
    }
    return rc;
}

void ad_out_redis_cancel_gets(struct ad_out_redis *r, void *arg)
{
    for (size_t i = 0; i < r->n; i++)
        if (at(r, i)->kind == KIND_GET && at(r, i)->cb_arg == arg)
            at(r, i)->cb = NULL;
}

/* --- the unacknowledged entries across a restart ------------------------------------------ */

#define PENDING_VERSION 1u
#define PENDING_MAX_ARGC 64

void ad_out_redis_save_pending(const struct ad_out_redis *r, struct ad_wr *w)
{
    uint64_t n = 0;
    for (size_t i = 0; i < r->n; i++)
        n += at(r, i)->kind != KIND_GET;
    ad_wr_u32(w, PENDING_VERSION);
    ad_wr_u64(w, n);
    for (size_t i = 0; i < r->n; i++) {
        const struct entry *e = at(r, i);
        if (e->kind == KIND_GET)
            continue; /* a read answers a caller of this run only */
        ad_wr_u8(w, e->kind);
        ad_wr_u32(w, e->argc);
        ad_wr_bytes(w, e->tail, e->len);
    }
}

/* One saved entry; false when it is not one this version writes. */
static bool read_pending(struct ad_rd *rd, uint8_t *kind, uint32_t *argc, struct ad_rd *tail)
{
    *kind = ad_rd_u8(rd);
    *argc = ad_rd_u32(rd);
    *tail = ad_rd_sub(rd);
    return !rd->bad && *kind < KIND_GET && *argc >= 1 && *argc <= PENDING_MAX_ARGC &&
           tail->n > 0 && tail->n < UINT32_MAX && tail->p[0] == '$';
}

int ad_out_redis_restore_pending(struct ad_out_redis *r, struct ad_rd *rd, size_t *ret_n,
                                 struct ad_err *reterr)
{
    /* Checked whole first: nothing is queued from a state that turns out corrupt. */
    struct ad_rd chk = *rd;
    uint32_t version = ad_rd_u32(&chk);
    uint64_t n = ad_rd_u64(&chk);
    if (chk.bad || version != PENDING_VERSION || n > chk.n)
        return ad_err_set(reterr, EINVAL, "redis output: corrupt pending entries header");
    for (uint64_t i = 0; i < n; i++) {
        uint8_t kind;
        uint32_t argc;
        struct ad_rd tail;
        if (!read_pending(&chk, &kind, &argc, &tail))
            return ad_err_set(reterr, EINVAL, "redis output: corrupt pending entry %llu",
                              (unsigned long long)i);
    }
    (void)ad_rd_u32(rd);
    (void)ad_rd_u64(rd);
    for (uint64_t i = 0; i < n; i++) {
        uint8_t kind;
        uint32_t argc;
        struct ad_rd tail;
        read_pending(rd, &kind, &argc, &tail);
        ad_buf_reset(&r->tail);
        if (ad_buf_append(&r->tail, tail.p, tail.n) < 0 ||
            push_tail(r, (enum kind)kind, (uint16_t)argc) < 0)
            return ad_err_set(reterr, ENOMEM, "redis output: out of memory");
    }
    *rd = chk;
    *ret_n = (size_t)n;
    return 0;
}

uint64_t ad_out_redis_mark(const struct ad_out_redis *r) { return r->head_seq + r->n; }

bool ad_out_redis_acked(const struct ad_out_redis *r, uint64_t mark) { return r->head_seq >= mark; }

/* --- backpressure, shutdown, stats ---------------------------------------------------------- */

bool ad_out_redis_is_full(const struct ad_out_redis *r)
{
    return r->n >= r->max_buffer || r->bytes >= BUFFER_BYTES_SOFT;
}

void ad_out_redis_on_drain(struct ad_out_redis *r, void (*cb)(void *ctx), void *ctx)
{
    r->on_drain = cb;
    r->on_drain_ctx = ctx;
}

bool ad_out_redis_is_connected(const struct ad_out_redis *r)
{
    return r->st == CONN_READY;
}

const char *ad_out_redis_refused(const struct ad_out_redis *r)
{
    return r->refused[0] ? r->refused : NULL;
}

size_t ad_out_redis_depth(const struct ad_out_redis *r)
{
    return r->n;
}

void ad_out_redis_drain(struct ad_out_redis *r, int64_t timeout_ns,
                        void (*done)(void *ctx, bool all_acked), void *ctx)
{
    if (r->draining || !done)
        return; /* one drain per output: a second call is ignored */
    r->draining = true;
    r->done = done;
    r->done_ctx = ctx;
    if (!r->started)
        ad_out_redis_start(r);
    pump(r);
    if (r->n == 0 || timeout_ns <= 0) {
        r->drain_expired = true;
        kick(r);
        return;
    }
    struct timeval tv = tv_of(timeout_ns);
    evtimer_add(r->ev_drain, &tv);
}

void ad_out_redis_stats(const struct ad_out_redis *r, struct ad_metrics *m)
{
    ad_metrics_gauge(m, "aiopsd_redis_connected", "1 while the Redis output is connected.", NULL,
                     r->st == CONN_READY);
    ad_metrics_gauge(m, "aiopsd_redis_buffer_depth",
                     "Entries queued for Redis or awaiting acknowledgement.", NULL, (double)r->n);
    ad_metrics_gauge(m, "aiopsd_redis_buffer_bytes", "Bytes of the entries in the Redis buffer.",
                     NULL, (double)r->bytes);
    ad_metrics_gauge(m, "aiopsd_redis_inflight", "Entries sent to Redis and not yet answered.",
                     NULL, (double)r->inflight);
    for (int k = 0; k < KIND_COUNT; k++)
        ad_metrics_counter(m, "aiopsd_redis_written_total",
                           "Entries written to Redis (acknowledged and applied).", kind_label[k],
                           r->written[k]);
    ad_metrics_counter(m, "aiopsd_redis_duplicates_skipped_total",
                       "Candidate changes Redis already had (same or newer version): resends "
                       "after a lost reply.",
                       NULL, r->dup_skipped);
    ad_metrics_counter(m, "aiopsd_redis_checkpoints_stale_total",
                       "Checkpoints Redis refused because it holds a later position (a partition's "
                       "former owner writing late).",
                       NULL, r->state_stale);
    const char *help = "Redis errors: dropped (entry discarded), retried (entry kept, "
                       "reconnected), connect (failed attempt or handshake).";
    ad_metrics_counter(m, "aiopsd_redis_errors_total", help, "type=\"dropped\"", r->err_dropped);
    ad_metrics_counter(m, "aiopsd_redis_errors_total", help, "type=\"retried\"", r->err_retried);
    ad_metrics_counter(m, "aiopsd_redis_errors_total", help, "type=\"connect\"", r->err_connect);
    ad_metrics_counter(m, "aiopsd_redis_permission_errors_total",
                       "Writes the ACL refused (NOPERM, \"can't run this command\"); kept and "
                       "retried, also counted in errors_total{type=\"retried\"}.",
                       NULL, r->err_refused);
    ad_metrics_gauge(m, "aiopsd_redis_writes_refused",
                     "1 while Redis refuses the head entry with an error that is retried "
                     "(permission, OOM, READONLY...); /readyz answers 503 meanwhile.",
                     NULL, r->refused[0] != '\0');
    ad_metrics_counter(m, "aiopsd_redis_connect_timeouts_total",
                       "Connection attempts abandoned after connect_timeout.", NULL,
                       r->connect_timeouts);
    ad_metrics_counter(m, "aiopsd_redis_reconnects_total",
                       "Connection attempts after the first (each retry counts).", NULL,
                       r->reconnects);
    ad_metrics_counter(m, "aiopsd_redis_shed_total",
                       "Entries refused: buffer at twice max_buffer, or submitted after drain.",
                       "reason=\"bound\"", r->shed_bound);
    ad_metrics_counter(m, "aiopsd_redis_shed_total",
                       "Entries refused: buffer at twice max_buffer, or submitted after drain.",
                       "reason=\"shutdown\"", r->shed_shutdown);
}
