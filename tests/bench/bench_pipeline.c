/* tests/bench/bench_pipeline.c: in-process parse + dedup + correlate throughput on one core.
 * Prints: events/s, ns/event (and the parse-only and pipeline-only split), the duplicate ratio,
 * candidates emitted and memory per fingerprint. Asserts counts only, never times. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_gen.h"
#include "common/arena.h"
#include "common/err.h"
#include "common/event.h"
#include "common/json.h"
#include "common/time.h"
#include "config/config.h"
#include "correlators/candidate.h"
#include "daemon/pipeline.h"
#include "daemon/sections.h"
#include "models/dedup.h"

static uint64_t emitted;
static int count_emit(void *ctx, const struct ad_candidate *c)
{
    (void)ctx;
    (void)c;
    emitted++;
    return 0;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 2000000;
    struct bench_gen g = {.rng = 12345, .services = 200, .hosts = 20, .resolve_every = 500,
                          .t0_ms = INT64_C(1795510800000)};
    /* Pre-generate the JSON so the timing covers parsing, not snprintf. */
    size_t cap = (size_t)n * 400, used = 0;
    char *text = malloc(cap);
    size_t *off = malloc(((size_t)n + 1) * sizeof(*off));
    if (!text || !off)
        return 1;
    for (long i = 0; i < n; i++) {
        off[i] = used;
        used += (size_t)bench_event(&g, (uint64_t)i, text + used, cap - used);
    }
    off[n] = used;

    struct ad_config *cfg;
    struct ad_err err;
    if (ad_config_load(NULL, ad_sections(), &cfg, &err) < 0)
        return 1;
    struct ad_json_parser *parser;
    if (ad_json_parser_create(1 << 20, &parser) < 0)
        return 1;
    struct ad_cand_sink sink = {NULL, count_emit};
    struct ad_pipeline *pipe;
    if (ad_pipeline_create(cfg, &sink, &pipe, &err) < 0)
        return 1;
    struct ad_arena arena;
    ad_arena_init(&arena, 256 * 1024);

    /* 1. parse only */
    long parsed = 0;
    int64_t t0 = ad_mono_ns();
    for (long i = 0; i < n; i++) {
        struct ad_event ev;
        parsed += ad_json_parse_event(parser, text + off[i], off[i + 1] - off[i], &arena, 0, &ev,
                                      &err) == 0;
        if ((i & 1023) == 1023)
            ad_arena_reset(&arena);
    }
    int64_t t_parse = ad_mono_ns() - t0;
    ad_arena_reset(&arena);

    /* 2. parse + dedup + correlate, batches of 1024 as the collectors hand them over */
    long passed = 0, consumed = 0;
    t0 = ad_mono_ns();
    for (long i = 0; i < n; i++) {
        struct ad_event ev;
        if (ad_json_parse_event(parser, text + off[i], off[i + 1] - off[i], &arena, 0, &ev, &err) != 0)
            continue;
        int r = ad_pipeline_process(pipe, &ev);
        passed += r == 0;
        consumed += r == AD_CONSUMED;
        if ((i & 1023) == 1023)
            ad_arena_reset(&arena);
    }
    ad_pipeline_flush(pipe);
    int64_t t_all = ad_mono_ns() - t0;

    if (parsed != n || passed + consumed != n) {
        fprintf(stderr, "bench_pipeline: parsed %ld passed %ld consumed %ld of %ld\n", parsed,
                passed, consumed, n);
        return 1;
    }
    double ns_all = (double)t_all / (double)n, ns_parse = (double)t_parse / (double)n;
    printf("bench_pipeline events=%ld bytes_per_event=%.0f dup_ratio=%.3f candidates_emitted=%llu "
           "ns_per_event=%.0f events_per_s=%.2fM parse_ns=%.0f pipeline_ns=%.0f json=%s\n",
           n, (double)used / (double)n, (double)consumed / (double)n,
           (unsigned long long)emitted, ns_all, 1e3 / ns_all, ns_parse, ns_all - ns_parse,
           ad_json_parser_library());
    ad_arena_fini(&arena);
    ad_pipeline_destroy(pipe);
    ad_json_parser_destroy(parser);
    ad_config_destroy(cfg);
    free(text);
    free(off);
    return 0;
}
