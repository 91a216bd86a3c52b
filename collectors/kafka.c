/* collectors/kafka.c: a consumer in a Kafka consumer group (librdkafka), at least once.
 *
 * Each assigned partition has its own pipeline (a "stream", collectors/collector.h), so the
 * state that correlates a partition's events can move with the partition. The protocol
 * (docs/collector-kafka.md):
 *  - Assignment: for each partition, the checkpoint <prefix>:state:kafka:<group>:<topic>:<p> is
 *    read from Redis (after whatever this process still has queued for it); the stream is
 *    restored from it and the partition is assigned at the checkpoint's position. Without a
 *    checkpoint the stream starts empty at the group's committed offset (or auto.offset.reset).
 *    rd_kafka_assign() is called once every read has answered, outside the rebalance callback.
 *  - Consumption: events go through the partition's stream; bad messages are dead-lettered with
 *    topic/partition@offset. The loop never blocks on Kafka.
 *  - Checkpoints: every checkpoint_interval, a partition that moved has its stream state and next
 *    offset queued to Redis behind everything it produced. When Redis has acknowledged that
 *    entry (and so everything before it), the offset is committed to Kafka. Kill -9 anywhere:
 *    the next owner restores the last stored checkpoint and re-reads from its position; the
 *    re-read events give the same candidate ids and versions, which Redis skips.
 *  - Revocation and stop: a final checkpoint is queued and the stream closed.
 *  - Backpressure: pause() pauses every assigned partition in librdkafka (fetching stops); what
 *    was already fetched is discarded and read again after resume() (seek to our position). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <librdkafka/rdkafka.h>

#include "collectors/collector.h"
#include "collectors/util.h"
#include "common/arena.h"
#include "common/err.h"
#include "common/event.h"
#include "common/json.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/time.h"

#define ARENA_CHUNK (64u << 10)
#define TICK_MS 100                /* commit checks, retries, the safety poll */
#define MAX_PENDING 16             /* checkpoints in flight per partition */
#define RETRY_RESTORE_NS (1000 * AD_NS_PER_MS)
#define MAX_PROPS 256

struct kafka_cfg {
    bool enabled;
    char *brokers;
    struct ad_strlist topics;
    char *group_id;
    struct ad_strlist properties; /* "key=value" librdkafka properties */
    char *properties_file;        /* more of them, e.g. secrets; read at start */
    int64_t checkpoint_interval_ns;
    uint64_t max_message_size;
    uint64_t batch_max;
};

static const struct ad_opt kafka_opts[] = {
    AD_OPT_BOOL_R("enabled", "false", struct kafka_cfg, enabled,
                  "Consume events from Kafka topics in a consumer group."),
    AD_OPT_STRING_R("brokers", "127.0.0.1:9092", "4096", struct kafka_cfg, brokers,
                    "Bootstrap brokers, host:port[,host:port...] (bootstrap.servers)."),
    AD_OPT_STRLIST_R("topics", "aiopsd-events", struct kafka_cfg, topics,
                     "Topics to consume; every message is one event JSON (docs/events.md)."),
    AD_OPT_STRING_R("group_id", "aiopsd", "255", struct kafka_cfg, group_id,
                    "Consumer group: daemons with the same group split the partitions."),
    AD_OPT_STRLIST_R("properties", "", struct kafka_cfg, properties,
                     "More librdkafka properties as key=value, e.g. security.protocol=SASL_SSL, "
                     "sasl.mechanisms=SCRAM-SHA-512, ssl.ca.location=/etc/ssl/ca.pem."),
    AD_OPT_STRING_R("properties_file", "", "4096", struct kafka_cfg, properties_file,
                    "File of key=value librdkafka properties read at start (one per line, # "
                    "comments): the place for secrets such as sasl.password; empty: none."),
    {"checkpoint_interval", AD_OPT_T_DURATION, "1s", "10ms", "10m",
     offsetof(struct kafka_cfg, checkpoint_interval_ns), AD_OPT_RESTART, NULL,
     "How often a partition that moved has its state and offset checkpointed to Redis; offsets "
     "are committed to Kafka once Redis has acknowledged the checkpoint."},
    AD_OPT_SIZE_R("max_message_size", "1MiB", "1KiB", "64MiB", struct kafka_cfg, max_message_size,
                  "Largest event JSON accepted; larger messages are dead-lettered (too_large)."),
    AD_OPT_UINT_R("batch_max", "1024", "1", "1000000", struct kafka_cfg, batch_max,
                  "Messages handled per wakeup before the loop gets a turn."),
    AD_OPT_END,
};

/* Properties aiopsd sets itself: the protocol depends on them. */
static const char *const managed_props[] = {"enable.auto.commit", "enable.auto.offset.store",
                                            "group.id", "bootstrap.servers",
                                            "enable.partition.eof", NULL};


enum pstate {
    P_RESTORING, /* checkpoint read in flight */
    P_RETRY,     /* the read failed: try again at retry_ns */
    P_RESTORED,  /* known position, waiting for the others before rd_kafka_assign() */
    P_READY,     /* assigned and consuming */
};

struct pending {
    int64_t position;
    uint64_t mark;
};

struct part {
    struct kc *c;
    char *topic;
    int32_t partition;
    char key[320];  /* checkpoint key */
    char name[300]; /* "topic/p" */
    struct ad_stream *stream;
    enum pstate st;
    int64_t retry_ns;
    int64_t start;         /* assign offset: a position, or RD_KAFKA_OFFSET_INVALID */
    int64_t next;          /* next offset to handle; -1 until the first message */
    int64_t checkpointed;  /* position of the last checkpoint queued */
    int64_t ckpt_ns;       /* when */
    int64_t committed;     /* last position committed */
    struct pending pend[MAX_PENDING];
    size_t n_pend;
    bool reseek;           /* messages were discarded: seek to next on resume */
};

struct kc {
    const struct ad_collector_env *env;
    const struct ad_stream_env *se;
    rd_kafka_t *rk;
    rd_kafka_queue_t *q;
    int pipe_fd[2];
    struct event *ev_read, *ev_more, *ev_tick;
    char *group;
    struct ad_strlist topics;
    int64_t ckpt_interval_ns;
    size_t max_msg;
    uint64_t batch_max;
    struct ad_json_parser *parser;
    struct ad_arena arena;

    struct part **parts;
    size_t n_parts, cap_parts;
    bool assign_pending; /* assigned by the group, rd_kafka_assign() not called yet */
    bool started, paused, stopped, in_serve;

    struct ad_collector_counts n;
    uint64_t rebalances, commits, commit_failures, consumer_errors, discarded, checkpoints_failed;
};

/* --- helpers ------------------------------------------------------------------------------ */

static struct part *find_part(struct kc *c, const char *topic, int32_t partition)
{
    for (size_t i = 0; i < c->n_parts; i++)
        if (c->parts[i]->partition == partition && strcmp(c->parts[i]->topic, topic) == 0)
            return c->parts[i];
    return NULL;
}

static void kick(struct kc *c)
{
    static const struct timeval zero = {0, 0};
    if (c->ev_more)
        event_add(c->ev_more, &zero);
}

static rd_kafka_topic_partition_list_t *list_of(struct kc *c, bool with_offsets)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)c->n_parts + 1);
    for (size_t i = 0; i < c->n_parts; i++) {
        rd_kafka_topic_partition_t *tp =
            rd_kafka_topic_partition_list_add(l, c->parts[i]->topic, c->parts[i]->partition);
        if (with_offsets)
            tp->offset = c->parts[i]->start;
    }
    return l;
}

/* --- checkpoints and commits ---------------------------------------------------------------- */

static void checkpoint(struct kc *c, struct part *p, int64_t now_ns)
{
    if (p->st != P_READY || p->next < 0 || p->next == p->checkpointed ||
        p->n_pend == MAX_PENDING)
        return;
    uint64_t mark;
    if (c->se->checkpoint(c->se->ctx, p->stream, p->key, (uint64_t)p->next, &mark) < 0) {
        c->checkpoints_failed++;
        return; /* the output is at its bound or out of memory: the next tick tries again */
    }
    p->pend[p->n_pend++] = (struct pending){p->next, mark};
    p->checkpointed = p->next;
    p->ckpt_ns = now_ns;
}

static void commit_acked(struct kc *c)
{
    rd_kafka_topic_partition_list_t *l = NULL;
    for (size_t i = 0; i < c->n_parts; i++) {
        struct part *p = c->parts[i];
        int64_t pos = -1;
        size_t k = 0;
        while (k < p->n_pend && c->se->acked(c->se->ctx, p->pend[k].mark))
            pos = p->pend[k++].position;
        if (k == 0)
            continue;
        memmove(p->pend, p->pend + k, (p->n_pend - k) * sizeof(p->pend[0]));
        p->n_pend -= k;
        if (pos <= p->committed)
            continue;
        if (!l)
            l = rd_kafka_topic_partition_list_new((int)c->n_parts);
        rd_kafka_topic_partition_list_add(l, p->topic, p->partition)->offset = pos;
        p->committed = pos;
    }
    if (!l)
        return;
    rd_kafka_resp_err_t err = rd_kafka_commit(c->rk, l, 1 /* async */);
    if (err) {
        c->commit_failures++;
        AD_LOG_RATELIMITED(AD_LOG_WARN, "kafka: commit failed: %s", rd_kafka_err2str(err));
    }
    rd_kafka_topic_partition_list_destroy(l);
}

static void on_commit(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                      rd_kafka_topic_partition_list_t *offsets, void *opaque)
{
    (void)rk;
    (void)offsets;
    struct kc *c = opaque;
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        c->commits++;
    } else if (err != RD_KAFKA_RESP_ERR__NO_OFFSET) {
        /* Not fatal: the Redis checkpoint is what the next owner starts from. */
        c->commit_failures++;
        AD_LOG_RATELIMITED(AD_LOG_WARN, "kafka: offset commit failed: %s", rd_kafka_err2str(err));
    }
}

/* --- assignment ----------------------------------------------------------------------------- */

static void part_free(struct kc *c, struct part *p)
{
    c->se->close(c->se->ctx, p->stream);
    free(p->topic);
    free(p);
}

static void drop_parts(struct kc *c, bool final_checkpoint)
{
    int64_t now = ad_mono_ns();
    for (size_t i = 0; i < c->n_parts; i++) {
        struct part *p = c->parts[i];
        if (final_checkpoint)
            checkpoint(c, p, now);
        part_free(c, p);
    }
    c->n_parts = 0;
    c->assign_pending = false;
}

static void maybe_assign(struct kc *c)
{
    if (!c->assign_pending)
        return;
    for (size_t i = 0; i < c->n_parts; i++)
        if (c->parts[i]->st != P_RESTORED)
            return;
    rd_kafka_topic_partition_list_t *l = list_of(c, true);
    rd_kafka_resp_err_t err = rd_kafka_assign(c->rk, l);
    if (err) {
        AD_LOG_RATELIMITED(AD_LOG_ERROR, "kafka: assign failed: %s", rd_kafka_err2str(err));
    } else {
        c->assign_pending = false;
        for (size_t i = 0; i < c->n_parts; i++)
            c->parts[i]->st = P_READY;
        if (c->paused)
            rd_kafka_pause_partitions(c->rk, l);
        ad_log(AD_LOG_INFO, "kafka: consuming %zu partition(s) of group %s", c->n_parts,
               c->group);
    }
    rd_kafka_topic_partition_list_destroy(l);
}

static void on_restored(void *arg, int err, bool found, uint64_t position)
{
    struct part *p = arg;
    struct kc *c = p->c;
    if (err < 0 && err != -EINVAL) {
        /* Redis could not answer: without the state the partition cannot start. */
        p->st = P_RETRY;
        p->retry_ns = ad_mono_ns() + RETRY_RESTORE_NS;
        return;
    }
    /* Found: resume there. Not found, or a corrupt checkpoint (the stream was reset, logged): the
     * group's committed offset, else auto.offset.reset. */
    p->start = found ? (int64_t)position : RD_KAFKA_OFFSET_INVALID;
    p->next = found ? (int64_t)position : -1;
    p->checkpointed = p->committed = p->next;
    p->st = P_RESTORED;
    maybe_assign(c);
}

static void request_restore(struct kc *c, struct part *p)
{
    p->st = P_RESTORING;
    if (c->se->restore(c->se->ctx, p->stream, p->key, on_restored, p) < 0) {
        p->st = P_RETRY;
        p->retry_ns = ad_mono_ns() + RETRY_RESTORE_NS;
    }
}

static int add_part(struct kc *c, const char *topic, int32_t partition)
{
    if (c->n_parts == c->cap_parts) {
        size_t cap = c->cap_parts ? c->cap_parts * 2 : 16;
        struct part **v = realloc(c->parts, cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        c->parts = v;
        c->cap_parts = cap;
    }
    struct part *p = calloc(1, sizeof(*p));
    if (!p || !(p->topic = strdup(topic))) {
        free(p);
        return -ENOMEM;
    }
    p->c = c;
    p->partition = partition;
    p->next = p->checkpointed = p->committed = -1;
    snprintf(p->key, sizeof(p->key), "kafka:%s:%s:%" PRId32, c->group, topic, partition);
    snprintf(p->name, sizeof(p->name), "%s/%" PRId32, topic, partition);
    p->stream = c->se->open(c->se->ctx, p->name);
    if (!p->stream) {
        free(p->topic);
        free(p);
        return -ENOMEM;
    }
    c->parts[c->n_parts++] = p;
    return 0;
}

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *tps, void *opaque)
{
    struct kc *c = opaque;
    c->rebalances++;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        drop_parts(c, true);
        for (int i = 0; i < tps->cnt; i++)
            if (add_part(c, tps->elems[i].topic, tps->elems[i].partition) < 0)
                ad_log(AD_LOG_ERROR, "kafka: out of memory for partition %s/%d",
                       tps->elems[i].topic, (int)tps->elems[i].partition);
        ad_log(AD_LOG_INFO, "kafka: %d partition(s) assigned; restoring their state",
               tps->cnt);
        c->assign_pending = true;
        /* rd_kafka_assign() follows once every checkpoint read has answered (maybe_assign). */
        for (size_t i = 0; i < c->n_parts; i++)
            request_restore(c, c->parts[i]);
        if (c->n_parts == 0)
            maybe_assign(c);
        return;
    }
    /* Revoked (or an error): final checkpoints, then give everything back. */
    if (err != RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS)
        ad_log(AD_LOG_WARN, "kafka: rebalance error: %s", rd_kafka_err2str(err));
    ad_log(AD_LOG_INFO, "kafka: %d partition(s) revoked", tps ? tps->cnt : 0);
    drop_parts(c, true);
    rd_kafka_assign(rk, NULL);
}

/* --- consuming ------------------------------------------------------------------------------ */

static void handle(struct kc *c, const rd_kafka_message_t *m)
{
    if (m->err) {
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF)
            return;
        c->consumer_errors++;
        AD_LOG_RATELIMITED(AD_LOG_WARN, "kafka: consumer error: %s",
                           rd_kafka_message_errstr(m));
        return;
    }
    const char *topic = rd_kafka_topic_name(m->rkt);
    struct part *p = find_part(c, topic, m->partition);
    if (!p || p->st != P_READY || c->paused) {
        /* Not ours (any more), or fetched just before a pause: read again later. */
        c->discarded++;
        if (p)
            p->reseek = true;
        return;
    }
    if (p->next >= 0 && m->offset < p->next) {
        c->discarded++; /* delivered again after a seek: already handled */
        return;
    }
    c->n.received++;
    c->n.bytes += m->len;
    p->next = m->offset + 1;

    rd_kafka_timestamp_type_t tst;
    int64_t ts_ms = rd_kafka_message_timestamp(m, &tst);
    /* An event without its own timestamp takes the message's: a re-read gives the same time. */
    int64_t now_ns = ts_ms > 0 ? ts_ms * AD_NS_PER_MS : ad_now_ns();
    struct ad_event ev;
    struct ad_err err = {0};
    int r = m->len > c->max_msg ? -EMSGSIZE
                                : ad_json_parse_event(c->parser, m->payload, m->len, &c->arena,
                                                      now_ns, &ev, &err);
    if (r == 0) {
        c->n.accepted++;
        c->se->emit(c->se->ctx, p->stream, &ev);
        return;
    }
    c->n.rejected[ad_reject_of(r)]++;
    if (!err.msg[0])
        snprintf(err.msg, sizeof(err.msg), "%s", strerror(-r));
    char origin[400];
    snprintf(origin, sizeof(origin), "%s/%" PRId32 "@%" PRId64, topic, m->partition, m->offset);
    AD_LOG_RATELIMITED(AD_LOG_WARN, "kafka %s: %s, sending to dead-letter", origin, err.msg);
    c->se->reject_at(c->se->ctx, "kafka", origin, m->payload, m->len, err.msg);
}

/* Serves librdkafka (rebalances, commits, errors) and handles up to batch_max messages. */
static void serve(struct kc *c)
{
    if (c->stopped || c->in_serve)
        return;
    c->in_serve = true;
    uint64_t n = 0;
    bool more = false;
    while (!c->stopped) {
        if (n == c->batch_max) {
            more = true;
            break;
        }
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c->rk, 0);
        if (!m)
            break;
        handle(c, m);
        rd_kafka_message_destroy(m);
        n++;
    }
    c->in_serve = false;
    if (n) {
        c->env->batch_done(c->env->sink);
        ad_arena_reset(&c->arena);
    }
    if (more && !c->stopped)
        kick(c);
}

static void on_ready(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    struct kc *c = arg;
    char buf[256];
    if (fd >= 0)
        while (read(fd, buf, sizeof(buf)) > 0)
            ;
    serve(c);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct kc *c = arg;
    int64_t now = ad_mono_ns();
    for (size_t i = 0; i < c->n_parts; i++) {
        struct part *p = c->parts[i];
        if (p->st == P_RETRY && now >= p->retry_ns)
            request_restore(c, p);
        else if (p->st == P_READY && now - p->ckpt_ns >= c->ckpt_interval_ns)
            checkpoint(c, p, now);
    }
    commit_acked(c);
    serve(c); /* librdkafka signals the pipe only when its queue becomes non-empty */
}

/* --- config and lifecycle ------------------------------------------------------------------- */

static int set_prop(rd_kafka_conf_t *conf, const char *kv, const char *where, bool user,
                    struct ad_err *reterr)
{
    const char *eq = strchr(kv, '=');
    if (!eq || eq == kv)
        return ad_err_set(reterr, EINVAL, "%s: expected key=value, got \"%s\"", where, kv);
    char key[256], errstr[512];
    size_t kn = (size_t)(eq - kv);
    if (kn >= sizeof(key))
        return ad_err_set(reterr, EINVAL, "%s: property name too long", where);
    memcpy(key, kv, kn);
    key[kn] = '\0';
    while (kn && (key[kn - 1] == ' ' || key[kn - 1] == '\t'))
        key[--kn] = '\0';
    const char *val = eq + 1;
    while (*val == ' ' || *val == '\t')
        val++;
    if (user)
        for (size_t i = 0; managed_props[i]; i++)
            if (strcmp(key, managed_props[i]) == 0)
                return ad_err_set(reterr, EINVAL,
                                  "%s: %s is set by aiopsd (at-least-once protocol, "
                                  "docs/collector-kafka.md); use brokers/group_id instead",
                                  where, key);
    if (user && strcmp(key, "partition.assignment.strategy") == 0 &&
        strstr(val, "cooperative"))
        return ad_err_set(reterr, EINVAL,
                          "%s: partition.assignment.strategy: the cooperative protocol is not "
                          "supported (use range or roundrobin)",
                          where);
    if (rd_kafka_conf_set(conf, key, val, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK)
        /* The value may be a secret: never echo it. */
        return ad_err_set(reterr, EINVAL, "%s: %s: %s", where, key, errstr);
    return 0;
}

static int read_props_file(rd_kafka_conf_t *conf, const char *path, struct ad_err *reterr)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return ad_err_set(reterr, errno, "collectors.kafka.properties_file: cannot open %s: %s",
                          path, strerror(errno));
    char line[4096], where[4200];
    int r = 0, lineno = 0;
    while (r == 0 && fgets(line, sizeof(line), f)) {
        lineno++;
        size_t n = strcspn(line, "\r\n");
        line[n] = '\0';
        const char *s = line;
        while (*s == ' ' || *s == '\t')
            s++;
        if (!*s || *s == '#')
            continue;
        snprintf(where, sizeof(where), "%s:%d", path, lineno);
        r = set_prop(conf, s, where, true, reterr);
    }
    fclose(f);
    return r;
}

static void on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    enum ad_log_level l = level <= 3 ? AD_LOG_ERROR : level <= 4 ? AD_LOG_WARN
                                                    : level <= 6  ? AD_LOG_INFO
                                                                  : AD_LOG_DEBUG;
    AD_LOG_RATELIMITED(l, "librdkafka %s: %s", fac, buf);
}

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    (void)rk;
    struct kc *c = opaque;
    c->consumer_errors++;
    AD_LOG_RATELIMITED(AD_LOG_WARN, "kafka: %s: %s", rd_kafka_err2name((rd_kafka_resp_err_t)err),
                       reason);
}

static void kc_destroy(void *state);

static int kc_create(const void *cfgp, const struct ad_collector_env *env, void **ret_state,
                     struct ad_err *reterr)
{
    const struct kafka_cfg *cfg = cfgp;
    if (!env->streams)
        return ad_err_set(reterr, EINVAL, "collectors.kafka: needs the daemon's stream support");
    if (cfg->topics.n == 0)
        return ad_err_set(reterr, EINVAL, "collectors.kafka.topics: at least one topic needed");
    if (!cfg->group_id[0] || !cfg->brokers[0])
        return ad_err_set(reterr, EINVAL, "collectors.kafka: brokers and group_id must be set");
    struct kc *c = calloc(1, sizeof(*c));
    if (!c)
        return ad_err_set(reterr, ENOMEM, "collectors.kafka: out of memory");
    c->env = env;
    c->se = env->streams;
    c->pipe_fd[0] = c->pipe_fd[1] = -1;
    c->ckpt_interval_ns = cfg->checkpoint_interval_ns;
    c->max_msg = (size_t)cfg->max_message_size;
    c->batch_max = cfg->batch_max;
    ad_arena_init(&c->arena, ARENA_CHUNK);
    int r = 0;
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char errstr[512];
    if (!(c->group = strdup(cfg->group_id)) || ad_strlist_copy(&c->topics, &cfg->topics) < 0 ||
        ad_json_parser_create(c->max_msg, &c->parser) < 0) {
        r = ad_err_set(reterr, ENOMEM, "collectors.kafka: out of memory");
        goto fail;
    }
    /* Defaults first, then the user's properties, then ours that the protocol relies on. */
    static const char *const defaults[] = {"auto.offset.reset=earliest",
                                           "session.timeout.ms=10000",
                                           "queued.max.messages.kbytes=16384",
                                           "client.id=aiopsd", NULL};
    for (size_t i = 0; defaults[i] && r == 0; i++)
        r = set_prop(conf, defaults[i], "collectors.kafka", false, reterr);
    for (size_t i = 0; i < cfg->properties.n && r == 0; i++)
        r = set_prop(conf, cfg->properties.v[i], "collectors.kafka.properties", true, reterr);
    if (r == 0 && cfg->properties_file[0])
        r = read_props_file(conf, cfg->properties_file, reterr);
    char kv[4200];
    snprintf(kv, sizeof(kv), "bootstrap.servers=%s", cfg->brokers);
    if (r == 0)
        r = set_prop(conf, kv, "collectors.kafka.brokers", false, reterr);
    snprintf(kv, sizeof(kv), "group.id=%s", cfg->group_id);
    if (r == 0)
        r = set_prop(conf, kv, "collectors.kafka.group_id", false, reterr);
    static const char *const ours[] = {"enable.auto.commit=false",
                                       "enable.auto.offset.store=false",
                                       "enable.partition.eof=false", NULL};
    for (size_t i = 0; ours[i] && r == 0; i++)
        r = set_prop(conf, ours[i], "collectors.kafka", false, reterr);
    if (r < 0)
        goto fail;
    rd_kafka_conf_set_opaque(conf, c);
    rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
    rd_kafka_conf_set_offset_commit_cb(conf, on_commit);
    rd_kafka_conf_set_error_cb(conf, on_error);
    rd_kafka_conf_set_log_cb(conf, on_log);
    c->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
    if (!c->rk) {
        r = ad_err_set(reterr, EINVAL, "collectors.kafka: %s", errstr);
        goto fail;
    }
    conf = NULL; /* owned by rk now */
    *ret_state = c;
    return 0;

fail:
    if (conf)
        rd_kafka_conf_destroy(conf);
    kc_destroy(c);
    return r;
}

static int kc_start(void *state, struct ad_err *reterr)
{
    struct kc *c = state;
    if (c->started)
        return ad_err_set(reterr, EINVAL, "collectors.kafka: already started");
    rd_kafka_poll_set_consumer(c->rk); /* rebalances, commits and errors come with messages */
    c->q = rd_kafka_queue_get_consumer(c->rk);
    if (!c->q || pipe(c->pipe_fd) != 0)
        return ad_err_set(reterr, errno ? errno : ENOMEM, "collectors.kafka: cannot set up");
    for (int i = 0; i < 2; i++)
        fcntl(c->pipe_fd[i], F_SETFL, fcntl(c->pipe_fd[i], F_GETFL) | O_NONBLOCK);
    fcntl(c->pipe_fd[0], F_SETFD, FD_CLOEXEC);
    fcntl(c->pipe_fd[1], F_SETFD, FD_CLOEXEC);
    rd_kafka_queue_io_event_enable(c->q, c->pipe_fd[1], "1", 1);
    c->ev_read = event_new(c->env->base, c->pipe_fd[0], EV_READ | EV_PERSIST, on_ready, c);
    c->ev_more = event_new(c->env->base, -1, 0, on_ready, c);
    c->ev_tick = event_new(c->env->base, -1, EV_PERSIST, on_tick, c);
    struct timeval tick = {0, TICK_MS * 1000};
    if (!c->ev_read || !c->ev_more || !c->ev_tick || event_add(c->ev_read, NULL) != 0 ||
        event_add(c->ev_tick, &tick) != 0)
        return ad_err_set(reterr, ENOMEM, "collectors.kafka: cannot add to the loop");
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)c->topics.n);
    for (size_t i = 0; i < c->topics.n; i++)
        rd_kafka_topic_partition_list_add(l, c->topics.v[i], RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t err = rd_kafka_subscribe(c->rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    if (err)
        return ad_err_set(reterr, EINVAL, "collectors.kafka: subscribe: %s",
                          rd_kafka_err2str(err));
    c->started = true;
    ad_log(AD_LOG_INFO, "kafka: group %s subscribed to %zu topic(s)", c->group, c->topics.n);
    kick(c);
    return 0;
}

static void kc_pause(void *state)
{
    struct kc *c = state;
    if (c->paused)
        return;
    c->paused = c->n.paused = true;
    if (c->n_parts && !c->assign_pending) {
        rd_kafka_topic_partition_list_t *l = list_of(c, false);
        rd_kafka_pause_partitions(c->rk, l);
        rd_kafka_topic_partition_list_destroy(l);
    }
}

static void kc_resume(void *state)
{
    struct kc *c = state;
    if (!c->paused || c->stopped)
        return;
    c->paused = c->n.paused = false;
    if (!c->n_parts || c->assign_pending)
        return;
    /* Whatever was fetched but discarded while paused is read again from our position. */
    rd_kafka_topic_partition_list_t *seek = rd_kafka_topic_partition_list_new((int)c->n_parts);
    for (size_t i = 0; i < c->n_parts; i++) {
        struct part *p = c->parts[i];
        if (p->reseek && p->next >= 0)
            rd_kafka_topic_partition_list_add(seek, p->topic, p->partition)->offset = p->next;
        p->reseek = false;
    }
    rd_kafka_topic_partition_list_t *l = list_of(c, false);
    rd_kafka_resume_partitions(c->rk, l);
    if (seek->cnt) {
        rd_kafka_error_t *e = rd_kafka_seek_partitions(c->rk, seek, 5000);
        if (e) {
            AD_LOG_RATELIMITED(AD_LOG_WARN, "kafka: seek after resume failed: %s",
                               rd_kafka_error_string(e));
            rd_kafka_error_destroy(e);
        }
    }
    rd_kafka_topic_partition_list_destroy(seek);
    rd_kafka_topic_partition_list_destroy(l);
    kick(c);
}

static void kc_stop(void *state)
{
    struct kc *c = state;
    if (!c || c->stopped)
        return;
    /* Pending candidate changes go out now, then a final checkpoint of each partition. */
    for (size_t i = 0; i < c->n_parts; i++)
        if (c->parts[i]->st == P_READY)
            c->se->flush(c->se->ctx, c->parts[i]->stream);
    drop_parts(c, true);
    c->stopped = true;
    if (c->ev_read)
        event_del(c->ev_read);
    if (c->ev_more)
        event_del(c->ev_more);
    if (c->ev_tick)
        event_del(c->ev_tick);
    if (c->rk && c->started) {
        /* Leaves the group (the revoke callback finds nothing left to do). Offsets are not
         * committed here: the checkpoints queued above are what the next owner starts from. */
        rd_kafka_consumer_close(c->rk);
    }
}

static void kc_destroy(void *state)
{
    struct kc *c = state;
    if (!c)
        return;
    kc_stop(c);
    if (c->q)
        rd_kafka_queue_destroy(c->q);
    if (c->rk)
        rd_kafka_destroy(c->rk);
    for (int i = 0; i < 2; i++)
        if (c->pipe_fd[i] >= 0)
            close(c->pipe_fd[i]);
    if (c->ev_read)
        event_free(c->ev_read);
    if (c->ev_more)
        event_free(c->ev_more);
    if (c->ev_tick)
        event_free(c->ev_tick);
    free(c->parts);
    free(c->group);
    ad_strlist_free(&c->topics);
    ad_json_parser_destroy(c->parser);
    ad_arena_fini(&c->arena);
    free(c);
}

static void kc_stats(const void *state, struct ad_metrics *m)
{
    const struct kc *c = state;
    ad_collector_counts_stats(&c->n, "kafka", m);
    ad_metrics_gauge(m, "aiopsd_kafka_partitions", "Partitions held (assigned or being restored).",
                     NULL, (double)c->n_parts);
    ad_metrics_counter(m, "aiopsd_kafka_rebalances_total", "Rebalance callbacks served.", NULL,
                       c->rebalances);
    const char *h = "Offset commits, issued after Redis acknowledged the checkpoint.";
    ad_metrics_counter(m, "aiopsd_kafka_commits_total", h, "result=\"ok\"", c->commits);
    ad_metrics_counter(m, "aiopsd_kafka_commits_total", h, "result=\"failed\"",
                       c->commit_failures);
    ad_metrics_counter(m, "aiopsd_kafka_consumer_errors_total",
                       "Errors reported by librdkafka (brokers down, etc.).", NULL,
                       c->consumer_errors);
    ad_metrics_counter(m, "aiopsd_kafka_discarded_total",
                       "Messages fetched but not handled (paused, revoked or re-delivered); "
                       "read again later.",
                       NULL, c->discarded);
    for (size_t i = 0; i < c->n_parts; i++) {
        const struct part *p = c->parts[i];
        int64_t lo = 0, hi = 0;
        if (p->st != P_READY || p->next < 0 ||
            rd_kafka_get_watermark_offsets(c->rk, p->topic, p->partition, &lo, &hi) ||
            hi < p->next)
            continue;
        char l[400];
        snprintf(l, sizeof(l), "topic=\"%s\",partition=\"%" PRId32 "\"", p->topic, p->partition);
        ad_metrics_gauge(m, "aiopsd_kafka_lag",
                         "Messages behind the partition's high watermark (last fetch).", l,
                         (double)(hi - p->next));
    }
}

const struct ad_collector_ops ad_collector_kafka = {
    .name = "kafka",
    .doc = "Kafka consumer group, at least once: offsets are committed after Redis has stored "
           "what the messages produced (docs/collector-kafka.md).",
    .opts = kafka_opts,
    .cfg_size = sizeof(struct kafka_cfg),
    .create = kc_create,
    .start = kc_start,
    .pause = kc_pause,
    .resume = kc_resume,
    .stop = kc_stop,
    .stats = kc_stats,
    .destroy = kc_destroy,
};
