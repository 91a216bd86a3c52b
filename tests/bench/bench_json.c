/* tests/bench/bench_json.c: the JSON library choice, measured (docs/json-choice.md). Parses the
 * same generated events (250-400 bytes, some escapes, some epoch timestamps) fully into struct
 * ad_event with jansson, json-c, yajl, cJSON, simdjson On Demand and aiopsd's own
 * ad_json_parse_event, and prints one line per library, then aiopsd on one typical alert alone.
 * Every library must produce the same events (a checksum over every field); times are printed,
 * never asserted. Usage: bench_json [events_per_run [library]]: default 1000000 per run, best of 3,
 * capped per library so that a slow library's run stays near 2 s; with a library name only that
 * one is timed (jansson still parses the corpus once, as the reference), e.g. for perf record. */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>
#include <jansson.h>
#include <yajl_parse.h>

#include "common/arena.h"
#include "common/err.h"
#include "common/event.h"
#include "common/json.h"
#include "common/time.h"

#define CORPUS_EVENTS 4096
#define NOW_NS INT64_C(1795510800000000000)

/* ---- the schema mapping every library shares (so only the JSON traversal differs) ---- */

struct bmap {
    struct ad_event *ev;
    struct ad_arena *a;
    unsigned seen;
};

enum { S_RES = 1, S_SVC = 2, S_SRC = 4, S_SUM = 8, S_SEV = 16 };

void bmap_begin(struct bmap *m, struct ad_event *ev, struct ad_arena *a);
int bmap_str(struct bmap *m, const char *k, size_t kl, const char *v, size_t vl);
int bmap_num(struct bmap *m, const char *k, size_t kl, double v);
int bmap_label(struct bmap *m, const char *k, size_t kl, const char *v, size_t vl);
int bmap_end(struct bmap *m);

void bmap_begin(struct bmap *m, struct ad_event *ev, struct ad_arena *a)
{
    memset(ev, 0, sizeof(*ev));
    ev->time_ns = NOW_NS;
    m->ev = ev;
    m->a = a;
    m->seen = 0;
}

static bool keq(const char *k, size_t kl, const char *lit)
{
    size_t n = strlen(lit);
    return kl == n && memcmp(k, lit, n) == 0;
}

int bmap_str(struct bmap *m, const char *k, size_t kl, const char *v, size_t vl)
{
    struct ad_event *ev = m->ev;
    struct ad_str s = {v, vl};
    if (keq(k, kl, "kind"))
        return ad_kind_parse(s, &ev->kind);
    if (keq(k, kl, "severity")) {
        m->seen |= S_SEV;
        return ad_severity_parse(s, &ev->severity);
    }
    if (keq(k, kl, "status"))
        return ad_status_parse(s, &ev->status);
    if (keq(k, kl, "timestamp"))
        return ad_time_parse_rfc3339(s, &ev->time_ns);
    struct ad_str *dst = NULL;
    if (keq(k, kl, "resource")) {
        dst = &ev->resource;
        m->seen |= S_RES;
    } else if (keq(k, kl, "service")) {
        dst = &ev->service;
        m->seen |= S_SVC;
    } else if (keq(k, kl, "source")) {
        dst = &ev->source;
        m->seen |= S_SRC;
    } else if (keq(k, kl, "check")) {
        dst = &ev->check;
    } else if (keq(k, kl, "summary") || keq(k, kl, "message")) {
        dst = &ev->summary;
        m->seen |= S_SUM;
    } else if (keq(k, kl, "id")) {
        dst = &ev->id;
    } else {
        return -EBADMSG;
    }
    return ad_arena_strdup(m->a, s, dst);
}

int bmap_num(struct bmap *m, const char *k, size_t kl, double v)
{
    if (keq(k, kl, "timestamp"))
        return ad_epoch_to_ns(v, &m->ev->time_ns);
    if (keq(k, kl, "value")) {
        m->ev->value = v;
        m->ev->has_value = true;
        return 0;
    }
    return -EBADMSG;
}

int bmap_label(struct bmap *m, const char *k, size_t kl, const char *v, size_t vl)
{
    struct ad_event *ev = m->ev;
    if (ev->n_labels >= AD_MAX_LABELS)
        return -EMSGSIZE;
    struct ad_label *l = &ev->labels[ev->n_labels++];
    if (ad_arena_strdup(m->a, (struct ad_str){k, kl}, &l->name) < 0 ||
        ad_arena_strdup(m->a, (struct ad_str){v, vl}, &l->value) < 0)
        return -ENOMEM;
    return 0;
}

/* The defaults of docs/events.md, so every library's event equals ad_json_parse_event's. */
int bmap_end(struct bmap *m)
{
    struct ad_event *ev = m->ev;
    if (!(m->seen & S_RES) || !ev->resource.len)
        return -EBADMSG;
    if (!(m->seen & S_SRC))
        ev->source = AD_STR_LIT("unknown");
    if (!(m->seen & S_SVC) || !ev->service.len)
        ev->service = ev->resource;
    if (!(m->seen & S_SEV))
        ev->severity = ev->kind == AD_KIND_ALERT ? AD_SEV_WARNING : AD_SEV_INFO;
    if (!(m->seen & S_SUM) && ev->kind == AD_KIND_ALERT)
        ev->summary = ev->check;
    return 0;
}

/* ---- jansson: DOM; strings are copied out before the tree is freed ---- */

static int parse_jansson(void *state, const char *buf, size_t len, struct ad_arena *a,
                         struct ad_event *ev)
{
    (void)state;
    json_error_t jerr;
    json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return -EBADMSG;
    int r = json_is_object(root) ? 0 : -EBADMSG;
    struct bmap m;
    bmap_begin(&m, ev, a);
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v)
    {
        if (r < 0)
            break;
        size_t kl = strlen(key);
        if (json_is_string(v)) {
            r = bmap_str(&m, key, kl, json_string_value(v), json_string_length(v));
        } else if (json_is_number(v)) {
            r = bmap_num(&m, key, kl, json_number_value(v));
        } else if (json_is_object(v) && keq(key, kl, "labels")) {
            const char *lk;
            json_t *lv;
            json_object_foreach(v, lk, lv)
            {
                if (!json_is_string(lv) || r < 0) {
                    r = -EBADMSG;
                    break;
                }
                r = bmap_label(&m, lk, strlen(lk), json_string_value(lv), json_string_length(lv));
            }
        } else {
            r = -EBADMSG;
        }
    }
    json_decref(root);
    return r < 0 ? r : bmap_end(&m);
}

/* ---- json-c (bench_json_jsonc.c: its json_object_iter clashes with jansson's) ---- */

void *bench_jsonc_create(void);
void bench_jsonc_destroy(void *state);
int bench_jsonc_parse(void *state, const char *buf, size_t len, struct ad_arena *a,
                      struct ad_event *ev);

/* ---- yajl: SAX callbacks; strings are valid only inside the callback, so copied ---- */

struct yctx {
    struct bmap m;
    int depth;
    bool in_labels;
    char key[256]; /* the pending key: yajl's pointer dies with the callback */
    size_t klen;
    int r;
};

static int y_string(void *c, const unsigned char *s, size_t n)
{
    struct yctx *y = c;
    if (y->in_labels)
        y->r = bmap_label(&y->m, y->key, y->klen, (const char *)s, n);
    else if (y->depth == 1)
        y->r = bmap_str(&y->m, y->key, y->klen, (const char *)s, n);
    else
        y->r = -EBADMSG;
    return y->r == 0;
}

static int y_number(void *c, const char *s, size_t n)
{
    struct yctx *y = c;
    char tmp[64];
    if (y->depth != 1 || n >= sizeof(tmp)) {
        y->r = -EBADMSG;
        return 0;
    }
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    y->r = bmap_num(&y->m, y->key, y->klen, strtod(tmp, NULL));
    return y->r == 0;
}

static int y_start_map(void *c)
{
    struct yctx *y = c;
    if (y->depth == 1 && keq(y->key, y->klen, "labels"))
        y->in_labels = true;
    else if (y->depth != 0)
        return y->r = -EBADMSG, 0;
    y->depth++;
    return 1;
}

static int y_map_key(void *c, const unsigned char *k, size_t n)
{
    struct yctx *y = c;
    if (n >= sizeof(y->key))
        return y->r = -EMSGSIZE, 0;
    memcpy(y->key, k, n);
    y->klen = n;
    return 1;
}

static int y_end_map(void *c)
{
    struct yctx *y = c;
    y->depth--;
    y->in_labels = false;
    return 1;
}

static int y_reject(void *c)
{
    ((struct yctx *)c)->r = -EBADMSG;
    return 0;
}
static int y_reject_bool(void *c, int b)
{
    (void)b;
    return y_reject(c);
}

static const yajl_callbacks ycb = {
    .yajl_null = y_reject,
    .yajl_boolean = y_reject_bool,
    .yajl_number = y_number,
    .yajl_string = y_string,
    .yajl_start_map = y_start_map,
    .yajl_map_key = y_map_key,
    .yajl_end_map = y_end_map,
    .yajl_start_array = y_reject,
    .yajl_end_array = y_reject,
};

static int parse_yajl(void *state, const char *buf, size_t len, struct ad_arena *a,
                      struct ad_event *ev)
{
    (void)state;
    struct yctx y = {.r = 0};
    bmap_begin(&y.m, ev, a);
    /* yajl has no reset: one handle per document is how it is meant to be used. */
    yajl_handle h = yajl_alloc(&ycb, NULL, &y);
    if (!h)
        return -ENOMEM;
    yajl_status st = yajl_parse(h, (const unsigned char *)buf, len);
    if (st == yajl_status_ok)
        st = yajl_complete_parse(h);
    yajl_free(h);
    if (st != yajl_status_ok)
        return y.r < 0 ? y.r : -EBADMSG;
    return bmap_end(&y.m);
}

/* ---- cJSON: DOM over a NUL-free length-bounded buffer; no UTF-8 validation ---- */

static int parse_cjson(void *state, const char *buf, size_t len, struct ad_arena *a,
                       struct ad_event *ev)
{
    (void)state;
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(buf, len, &end, 0);
    if (!root)
        return -EBADMSG;
    int r = cJSON_IsObject(root) && end == buf + len ? 0 : -EBADMSG;
    struct bmap m;
    bmap_begin(&m, ev, a);
    for (cJSON *v = root->child; v && r == 0; v = v->next) {
        size_t kl = strlen(v->string);
        if (cJSON_IsString(v)) {
            r = bmap_str(&m, v->string, kl, v->valuestring, strlen(v->valuestring));
        } else if (cJSON_IsNumber(v)) {
            r = bmap_num(&m, v->string, kl, v->valuedouble);
        } else if (cJSON_IsObject(v) && keq(v->string, kl, "labels")) {
            for (cJSON *l = v->child; l && r == 0; l = l->next)
                r = cJSON_IsString(l) ? bmap_label(&m, l->string, strlen(l->string), l->valuestring,
                                                   strlen(l->valuestring))
                                      : -EBADMSG;
        } else {
            r = -EBADMSG;
        }
    }
    cJSON_Delete(root);
    return r < 0 ? r : bmap_end(&m);
}

/* ---- simdjson ondemand, used plainly (bench_json_simdjson.cpp) ---- */

void *bench_simdjson_create(size_t max_len);
void bench_simdjson_destroy(void *state);
int bench_simdjson_parse(void *state, const char *buf, size_t len, struct ad_arena *a,
                         struct ad_event *ev);

/* ---- aiopsd: the production parser behind common/json.h ---- */

static int parse_aiopsd(void *state, const char *buf, size_t len, struct ad_arena *a,
                        struct ad_event *ev)
{
    struct ad_err err;
    return ad_json_parse_event(state, buf, len, a, NOW_NS, ev, &err);
}

/* ---- the generated corpus ---- */

static uint64_t rng = 0x9E3779B97F4A7C15ULL;
static uint32_t rnd(uint32_t n)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return (uint32_t)(((rng * 2685821657736338717ULL) >> 32) % n);
}

#define PICK(arr) arr[rnd(sizeof(arr) / sizeof(arr[0]))]

static const char *const sources[] = {"prometheus", "zabbix", "nagios", "datadog", "cloudwatch"};
static const char *const services[] = {"checkout", "payments",  "search",   "catalog",
                                       "auth-api", "inventory", "shipping", "frontend"};
static const char *const checks[] = {
    "HighLatency",    "ErrorRate",    "DBConnFail",        "DiskFull",   "CPUSaturated",
    "MemoryPressure", "QueueBacklog", "HealthCheckFailed", "CertExpiry", "PodCrashLoop"};
static const char *const sevs[] = {"critical", "major", "minor",    "warning", "info",
                                   "error",    "warn",  "CRITICAL", "high"};
static const char *const statuses[] = {"firing", "firing", "firing", "resolved", "ok"};
static const char *const regions[] = {"eu-west-1", "us-east-1", "ap-south-1", "eu-central-1"};
static const char *const teams[] = {"payments", "search", "platform", "sre", "checkout"};
/* Summaries: plain, with JSON escapes, and with raw multi-byte UTF-8. */
static const char *const summaries[] = {
    "p99 latency %dms above 500ms for 5 minutes",
    "error rate %d.5%% over the last 10 minutes on all pods",
    "connection pool exhausted after %d attempts (timeout 30s)",
    "disk /var/lib/postgresql is %d%% full, growth 2GB/h",
    "query \\\"SELECT * FROM orders\\\" took %dms\\nplan: seq scan",
    "caf\\u00e9 service d\\u00e9grad\\u00e9: %d erreurs \\ud83d\\ude00",
    "path C:\\\\data\\\\log\\\\app.log rotated after %d MB\\t(ok)",
    ("temp\xc3\xa9rature du n\xc5\x93ud %d\xc2\xb0"
     "C au-dessus du seuil \xe6\x97\xa5\xe6\x9c\xac"), /* one string, split after the escape */
};

struct corpus {
    char *data;
    size_t *off, *len;
    size_t n, bytes, max_len;
};

static int gen_event(char *p, size_t cap, uint32_t i)
{
    int64_t ms = 1795510800000 + (int64_t)i * 137;
    char ts[40];
    int tsform = rnd(10);
    if (tsform < 7)
        snprintf(ts, sizeof(ts), "\"%s\"",
                 ad_time_format_rfc3339(ms * AD_NS_PER_MS, (char[32]){0}, 32));
    else if (tsform < 9)
        snprintf(ts, sizeof(ts), "%" PRId64 ".%03d", ms / 1000, (int)(ms % 1000));
    else
        snprintf(ts, sizeof(ts), "%" PRId64, ms);
    const char *svc = PICK(services);
    uint32_t host = rnd(64);
    int kind = rnd(20); /* 0: log, 1-2: metric, else alert */
    char sum[200];
    snprintf(sum, sizeof(sum), PICK(summaries), (int)rnd(1000));
    char labels[200];
    int nl = snprintf(labels, sizeof(labels), "\"env\":\"prod\",\"region\":\"%s\",\"team\":\"%s\"",
                      PICK(regions), PICK(teams));
    if (rnd(2))
        snprintf(labels + nl, sizeof(labels) - (size_t)nl, ",\"pod\":\"%s-%x-%04u\"", svc,
                 rnd(0xfffff), host);
    if (kind == 0)
        return snprintf(p, cap,
                        "{\"kind\":\"log\",\"source\":\"fluent-bit\",\"resource\":\"%s-%02u.prod\","
                        "\"service\":\"%s\",\"severity\":\"error\",\"message\":\"%s\","
                        "\"labels\":{%s},\"timestamp\":%s}",
                        svc, host, svc, sum, labels, ts);
    if (kind <= 2)
        return snprintf(p, cap,
                        "{\"kind\":\"metric\",\"source\":\"%s\",\"resource\":\"%s-%02u.prod\","
                        "\"service\":\"%s\",\"check\":\"%s\",\"value\":%d.%03d,\"summary\":\"%s\","
                        "\"labels\":{%s},\"timestamp\":%s}",
                        PICK(sources), svc, host, svc, PICK(checks), (int)rnd(100000),
                        (int)rnd(1000), sum, labels, ts);
    return snprintf(
        p, cap,
        "{\"kind\":\"alert\",\"id\":\"%08x-%04x\",\"source\":\"%s\",\"resource\":\"%s-%02u.prod\","
        "\"service\":\"%s\",\"check\":\"%s\",\"severity\":\"%s\",\"status\":\"%s\","
        "\"summary\":\"%s\",\"labels\":{%s},\"timestamp\":%s}",
        rnd(UINT32_MAX), rnd(0xffff), PICK(sources), svc, host, svc, PICK(checks), PICK(sevs),
        PICK(statuses), sum, labels, ts);
}

static void corpus_build(struct corpus *c, size_t n)
{
    c->n = n;
    c->data = malloc(n * 512);
    c->off = calloc(n, sizeof(*c->off));
    c->len = calloc(n, sizeof(*c->len));
    if (!c->data || !c->off || !c->len)
        exit(2);
    size_t pos = 0;
    for (size_t i = 0; i < n; i++) {
        int len = gen_event(c->data + pos, 512, (uint32_t)i);
        if (len <= 0 || len >= 512)
            exit(2);
        c->off[i] = pos;
        c->len[i] = (size_t)len;
        pos += (size_t)len;
        if ((size_t)len > c->max_len)
            c->max_len = (size_t)len;
    }
    c->bytes = pos;
}

/* ---- measuring ---- */

typedef int (*parse_fn)(void *state, const char *buf, size_t len, struct ad_arena *a,
                        struct ad_event *ev);

struct lib {
    const char *name;
    parse_fn parse;
    void *state;
};

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ s[i]) * 0x100000001b3ULL;
    return h;
}

static uint64_t fnv_str(uint64_t h, struct ad_str s)
{
    h = fnv(h, &s.len, sizeof(s.len));
    return fnv(h, s.p, s.len);
}

static uint64_t event_sum(const struct ad_event *ev)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    int e[4] = {ev->kind, ev->severity, ev->status, ev->has_value};
    h = fnv(h, e, sizeof(e));
    h = fnv(h, &ev->time_ns, sizeof(ev->time_ns));
    if (ev->has_value)
        h = fnv(h, &ev->value, sizeof(ev->value));
    struct ad_str f[] = {ev->id, ev->source, ev->resource, ev->service, ev->check, ev->summary};
    for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
        h = fnv_str(h, f[i]);
    for (unsigned i = 0; i < ev->n_labels; i++)
        h = fnv_str(fnv_str(h, ev->labels[i].name), ev->labels[i].value);
    return h;
}

/* One pass over the corpus computing the checksum (not timed). */
static int verify(const struct lib *l, const struct corpus *c, uint64_t *ret_sum)
{
    struct ad_arena a;
    ad_arena_init(&a, 64 * 1024);
    uint64_t sum = 0;
    for (size_t i = 0; i < c->n; i++) {
        struct ad_event ev;
        int r = l->parse(l->state, c->data + c->off[i], c->len[i], &a, &ev);
        if (r < 0) {
            fprintf(stderr, "bench_json: %s failed on event %zu (%s): %.*s\n", l->name, i,
                    strerror(-r), (int)c->len[i], c->data + c->off[i]);
            ad_arena_fini(&a);
            return -1;
        }
        sum += event_sum(&ev);
        ad_arena_reset(&a);
    }
    ad_arena_fini(&a);
    *ret_sum = sum;
    return 0;
}

static volatile uint64_t sink;

static int64_t timed_run(const struct lib *l, const struct corpus *c, size_t n, size_t *ret_bytes)
{
    struct ad_arena a;
    ad_arena_init(&a, 64 * 1024);
    size_t bytes = 0, fails = 0;
    uint64_t acc = 0;
    int64_t t0 = ad_mono_ns();
    for (size_t i = 0, j = 0; i < n; i++, j = j + 1 == c->n ? 0 : j + 1) {
        struct ad_event ev;
        fails += l->parse(l->state, c->data + c->off[j], c->len[j], &a, &ev) < 0;
        acc += ev.n_labels + ev.resource.len;
        bytes += c->len[j];
        ad_arena_reset(&a);
    }
    int64_t t = ad_mono_ns() - t0;
    sink = acc;
    ad_arena_fini(&a);
    if (fails) {
        fprintf(stderr, "bench_json: %s: %zu failures in the timed run\n", l->name, fails);
        exit(1);
    }
    *ret_bytes = bytes;
    return t;
}

int main(int argc, char **argv)
{
    size_t per_run = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
    const char *only = argc > 2 ? argv[2] : NULL; /* one library, e.g. for perf record */
    struct corpus c = {0};
    corpus_build(&c, CORPUS_EVENTS);

    void *tok = bench_jsonc_create();
    struct ad_json_parser *ap = NULL;
    void *sj = bench_simdjson_create(c.max_len);
    if (!tok || !sj || ad_json_parser_create(1 << 20, &ap) < 0)
        return 2;
    struct lib libs[] = {
        {"jansson", parse_jansson, NULL},
        {"json-c", bench_jsonc_parse, tok},
        {"yajl", parse_yajl, NULL},
        {"cjson", parse_cjson, NULL},
        {"simdjson", bench_simdjson_parse, sj},
        {"aiopsd", parse_aiopsd, ap},
    };
    size_t nlibs = sizeof(libs) / sizeof(libs[0]);

    printf("bench_json corpus events=%zu avg_bytes=%.0f max_bytes=%zu per_run=%zu runs=3\n", c.n,
           (double)c.bytes / (double)c.n, c.max_len, per_run);
    uint64_t ref = 0;
    int rc = 0;
    for (size_t i = 0; i < nlibs; i++) {
        if (only && strcmp(only, libs[i].name) != 0 && i != 0)
            continue;
        uint64_t sum;
        if (verify(&libs[i], &c, &sum) < 0)
            return 1;
        if (i == 0)
            ref = sum;
        else if (sum != ref) {
            fprintf(stderr, "bench_json: %s parsed different events than %s\n", libs[i].name,
                    libs[0].name);
            rc = 1;
        }
        if (only && strcmp(only, libs[i].name) != 0)
            continue; /* the reference checksum only */
        /* Calibrate so a slow library's run stays near 2 s and the whole bench under ~30 s. */
        size_t bytes;
        int64_t t = timed_run(&libs[i], &c, 20000, &bytes);
        size_t n = per_run;
        double cap = 2e9 / ((double)t / 20000.0);
        if ((double)n > cap)
            n = (size_t)cap / 1000 * 1000;
        int64_t best = INT64_MAX;
        for (int run = 0; run < 3; run++) {
            t = timed_run(&libs[i], &c, n, &bytes);
            if (t < best)
                best = t;
        }
        double ns = (double)best / (double)n;
        printf("bench_json lib=%s events=%zu ns_per_event=%.0f events_per_s=%.2fM MB_per_s=%.0f\n",
               libs[i].name, n, ns, 1e3 / ns, (double)bytes / ((double)best / 1e9) / 1e6);
        fflush(stdout);
    }
    if (!only || strcmp(only, "aiopsd") == 0) {
        /* The example event of docs/events.md's size class, alone: the per-event target. */
        static char one[] =
            "{\"kind\":\"alert\",\"source\":\"prometheus\",\"resource\":\"db-17.prod\","
            "\"service\":\"checkout\",\"check\":\"HighLatency\",\"severity\":\"major\","
            "\"status\":\"firing\",\"summary\":\"p99 latency 812ms above 500ms\","
            "\"labels\":{\"env\":\"prod\",\"region\":\"eu-west-1\",\"team\":\"payments\"},"
            "\"timestamp\":\"2026-11-24T15:30:00.123Z\"}";
        size_t off = 0, len = sizeof(one) - 1, bytes;
        struct corpus single = {one, &off, &len, 1, len, len};
        int64_t best = INT64_MAX;
        for (int run = 0; run < 3; run++) {
            int64_t t = timed_run(&libs[nlibs - 1], &single, per_run, &bytes);
            if (t < best)
                best = t;
        }
        printf("bench_json lib=aiopsd event_bytes=%zu events=%zu ns_per_event=%.0f\n", len, per_run,
               (double)best / (double)per_run);
    }
    printf("bench_json checksum=%016" PRIx64 " libs_agree=%s parser=\"%s\"\n", ref,
           rc ? "no" : "yes", ad_json_parser_library());
    bench_jsonc_destroy(tok);
    bench_simdjson_destroy(sj);
    ad_json_parser_destroy(ap);
    free(c.data);
    free(c.off);
    free(c.len);
    return rc;
}
