/* daemon/out_redis.h: Redis output. hiredis async on the libevent loop; bounded in-order buffer,
 * reconnect with backoff, idempotent writes (a Lua script keyed on candidate id + version), so a
 * resend after a lost reply never duplicates a stream entry. docs/redis.md is the schema. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/opt.h"

struct event_base;
struct ad_candidate;
struct ad_err;
struct ad_metrics;
struct ad_out_redis;

struct ad_redis_cfg {
    char *endpoint;          /* "127.0.0.1:6379" or "unix:/path" */
    char *prefix;            /* key prefix, default "aiopsd" */
    char *password_file;     /* empty: no AUTH */
    uint64_t db;             /* SELECT */
    uint64_t max_buffer;     /* entries queued (unacknowledged) before collectors are paused */
    uint64_t stream_maxlen;  /* XADD MAXLEN ~ */
    uint64_t deadletter_max; /* LTRIM bound of <prefix>:deadletter */
    int64_t connect_timeout_ns;
    int64_t reconnect_min_ns;
    int64_t reconnect_max_ns;
    int64_t state_ttl_ns;    /* EXPIRE of <prefix>:candidate:<id> after resolve; 0 = never */
};
extern const struct ad_section ad_redis_section; /* "outputs.redis" */

int ad_out_redis_create(const struct ad_redis_cfg *cfg, struct event_base *base,
                        struct ad_out_redis **ret, struct ad_err *reterr);
void ad_out_redis_destroy(struct ad_out_redis *r); /* NULL-safe; drops what is unsent */
int ad_out_redis_start(struct ad_out_redis *r);    /* connects (async); never blocks */

/* Queue a candidate change (serialized now; c is borrowed). 0, or (the entry is shed and
 * counted) -ENOBUFS past the hard bound (2 x max_buffer entries or 512 MiB), -ESHUTDOWN after
 * ad_out_redis_drain() began, -ENOMEM. */
int ad_out_redis_submit_candidate(struct ad_out_redis *r, const struct ad_candidate *c);
/* Queue a dead-letter record {collector, reason, time, raw (as text, or base64 if not UTF-8)}. */
int ad_out_redis_submit_deadletter(struct ad_out_redis *r, const char *collector, const void *raw,
                                   size_t len, const char *reason, int64_t now_ns);

/* The same, with where the message came from (e.g. "kafka events/3@1234"). */
int ad_out_redis_submit_deadletter_at(struct ad_out_redis *r, const char *collector,
                                      const char *origin, const void *raw, size_t len,
                                      const char *reason, int64_t now_ns);

/* Checkpoints (docs/collector-kafka.md): <prefix>:state:<key> is a hash {position, state}. The
 * write goes through the same ordered queue as everything else, so once it is acknowledged every
 * entry submitted before it is too. A write with a lower position than the stored one is refused
 * by Redis (counted), so a former owner cannot regress the checkpoint. */
int ad_out_redis_submit_state(struct ad_out_redis *r, const char *key, uint64_t position,
                              const void *state, size_t len);
/* Reads a checkpoint, after everything already queued. cb(arg, 0, found, position, state, len)
 * runs once on the loop (state borrowed for the call), or cb(arg, -errno, ...) when Redis
 * answered with an error; while Redis is down the read waits in the queue like any entry. */
typedef void (*ad_out_redis_state_fn)(void *arg, int err, bool found, uint64_t position,
                                      const void *state, size_t len);
int ad_out_redis_get_state(struct ad_out_redis *r, const char *key, ad_out_redis_state_fn cb,
                           void *arg);
/* Pending reads with this arg will not call back (their owner is going away). */
void ad_out_redis_cancel_gets(struct ad_out_redis *r, void *arg);
/* Ordering marks: every entry submitted before ad_out_redis_mark() was taken has been answered
 * by Redis once ad_out_redis_acked(mark) is true. */
uint64_t ad_out_redis_mark(const struct ad_out_redis *r);
bool ad_out_redis_acked(const struct ad_out_redis *r, uint64_t mark);

/* Restarts (docs/reliability.md): every entry not acknowledged yet (candidate changes, dead
 * letters, checkpoints; not reads) appended to w, in order. Restoring them queues them again at
 * the back of r, to be resent once connected (writes are idempotent per (id, version)); it is
 * checked whole first: on error (-EINVAL corrupt, with why in reterr) nothing was queued.
 * *ret_n: entries queued. rd is left after them. */
struct ad_wr;
struct ad_rd;
void ad_out_redis_save_pending(const struct ad_out_redis *r, struct ad_wr *w);
int ad_out_redis_restore_pending(struct ad_out_redis *r, struct ad_rd *rd, size_t *ret_n,
                                 struct ad_err *reterr);

/* Backpressure: true while queued >= max_buffer. When the queue drains below max_buffer/2 the
 * drain callback fires (the daemon resumes collectors). */
bool ad_out_redis_is_full(const struct ad_out_redis *r);
void ad_out_redis_on_drain(struct ad_out_redis *r, void (*cb)(void *ctx), void *ctx);
bool ad_out_redis_is_connected(const struct ad_out_redis *r);
/* While Redis refuses writes with an error that is retried (NOPERM and the other ACL refusals,
 * OOM, READONLY...): what it said, for /readyz; NULL once a write is applied again. */
const char *ad_out_redis_refused(const struct ad_out_redis *r);
size_t ad_out_redis_depth(const struct ad_out_redis *r); /* queued + in flight */

/* Shutdown: stop accepting, send what is queued, call done(ctx, all_acked) when the queue is empty
 * or after timeout_ns, whichever comes first. */
void ad_out_redis_drain(struct ad_out_redis *r, int64_t timeout_ns,
                        void (*done)(void *ctx, bool all_acked), void *ctx);
void ad_out_redis_stats(const struct ad_out_redis *r, struct ad_metrics *m);
