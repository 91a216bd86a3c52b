/* tests/unit/test_pipeline.c: the pure pipeline's snapshot (a Kafka partition's checkpoint), and
 * the silence set shared by all pipelines.
 * Interrupting a stream anywhere, saving, and restoring into a new pipeline must give the very
 * same candidate changes as the uninterrupted run; a corrupt snapshot is refused, never trusted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/arena.h"
#include "common/buf.h"
#include "common/err.h"
#include "config/config.h"
#include "correlators/candidate.h"
#include "daemon/pipeline.h"
#include "daemon/sections.h"
#include "fx_event.h"
#include "models/silence.h"

#define S AD_NS_PER_S
#define N_EVENTS 3000

struct out {
    struct ad_buf text; /* every candidate change, one JSON per line */
    size_t n;
};

static int record(void *ctx, const struct ad_candidate *c)
{
    struct out *o = ctx;
    assert_int_equal(ad_candidate_to_json(c, &o->text), 0);
    assert_int_equal(ad_buf_append(&o->text, "\n", 1), 0);
    o->n++;
    return 0;
}

static struct ad_config *config(void)
{
    struct ad_config *cfg;
    struct ad_err err;
    /* Small bounds, so that eviction, member bounds and expiry are part of the state too. */
    const char *yaml = "models:\n  dedup:\n    max_fingerprints: 1000\n    window: 2m\n"
                       "  baseline:\n    warmup: 20\n    alert_after: 1\n    resolve_after: 1\n"
                       "    thresholds: [\"*/latency above 400 450\"]\n"
                       "correlators:\n  service_window:\n    max_open: 10\n    max_members: 6\n"
                       "    update_interval: 20s\n    retain: 10m\n";
    assert_int_equal(
        ad_config_load_string("test.yaml", yaml, strlen(yaml), ad_sections(), &cfg, &err), 0);
    return cfg;
}

/* A deterministic stream: 12 services, 40 hosts, 6 checks; repeats, escalations, resolves; and
 * metric points that the baseline model learns and turns into alerts. */
static struct ad_event gen(uint64_t i, char *svc, char *host, char *check)
{
    uint64_t x = i * 0x9E3779B97F4A7C15ull;
    x ^= x >> 29;
    snprintf(svc, 16, "svc%llu", (unsigned long long)(x % 12));
    snprintf(host, 16, "h%llu", (unsigned long long)((x >> 8) % 40));
    snprintf(check, 16, "c%llu", (unsigned long long)((x >> 16) % 6));
    struct ad_event ev = fx_alert(svc, host, check, FX_T0 + (int64_t)i * 700 * AD_NS_PER_MS);
    ev.severity = (enum ad_severity)((x >> 24) % 5);
    if ((x >> 32) % 5 == 0)
        ev.status = AD_STATUS_RESOLVED;
    if ((x >> 40) % 4 == 0) { /* a quarter are metric points of 40 series, with rare spikes */
        ev.kind = AD_KIND_METRIC;
        ev.status = AD_STATUS_FIRING;
        snprintf(check, 16, "latency");
        ev.has_value = true;
        ev.value = (x >> 44) % 40 == 0 ? 500 : 50 + (double)((x >> 48) % 5);
    }
    return ev;
}

static void feed(struct ad_pipeline *p, uint64_t from, uint64_t to)
{
    char svc[16], host[16], check[16];
    for (uint64_t i = from; i < to; i++) {
        struct ad_event ev = gen(i, svc, host, check);
        assert_true(ad_pipeline_process(p, &ev) >= 0);
    }
}

static struct ad_pipeline *make(struct ad_config *cfg, struct out *o)
{
    struct ad_cand_sink sink = {o, record};
    struct ad_pipeline *p;
    struct ad_err err;
    assert_int_equal(ad_pipeline_create(cfg, &sink, &p, &err), 0);
    return p;
}

static void restored_run_equals_the_uninterrupted_one(void **state)
{
    (void)state;
    struct ad_config *cfg = config();
    struct out whole = {0};
    ad_buf_init(&whole.text);
    struct ad_pipeline *a = make(cfg, &whole);
    feed(a, 0, N_EVENTS);
    ad_pipeline_flush(a);
    ad_pipeline_destroy(a);
    assert_true(whole.n > 100);
    /* The baseline model's state is part of it: its alerts are in the output. */
    assert_non_null(strstr(whole.text.p, "\"check\":\"baseline:"));

    const uint64_t cuts[] = {1, 17, 500, 1234, 2999};
    for (size_t k = 0; k < sizeof(cuts) / sizeof(cuts[0]); k++) {
        struct out split = {0};
        ad_buf_init(&split.text);
        struct ad_pipeline *b = make(cfg, &split);
        feed(b, 0, cuts[k]);
        struct ad_buf snap;
        ad_buf_init(&snap);
        assert_int_equal(ad_pipeline_save(b, &snap), 0);
        ad_pipeline_destroy(b); /* the process dies here */

        struct ad_pipeline *c = make(cfg, &split);
        struct ad_err err;
        assert_int_equal(ad_pipeline_load(c, snap.p, snap.len, &err), 0);
        /* The restored state saves back to the same bytes. */
        struct ad_buf again;
        ad_buf_init(&again);
        assert_int_equal(ad_pipeline_save(c, &again), 0);
        assert_int_equal(again.len, snap.len);
        assert_memory_equal(again.p, snap.p, snap.len);
        feed(c, cuts[k], N_EVENTS);
        ad_pipeline_flush(c);
        ad_pipeline_destroy(c);
        assert_int_equal(split.n, whole.n);
        assert_string_equal(split.text.p, whole.text.p);
        ad_buf_fini(&again);
        ad_buf_fini(&snap);
        ad_buf_fini(&split.text);
    }
    ad_buf_fini(&whole.text);
    ad_config_destroy(cfg);
}

static void corrupt_snapshots_are_refused(void **state)
{
    (void)state;
    struct ad_config *cfg = config();
    struct out o = {0};
    ad_buf_init(&o.text);
    struct ad_pipeline *a = make(cfg, &o);
    feed(a, 0, 400);
    struct ad_buf snap;
    ad_buf_init(&snap);
    assert_int_equal(ad_pipeline_save(a, &snap), 0);
    ad_pipeline_destroy(a);

    struct ad_err err;
    /* Every truncation is refused (and leaks nothing: the suite also runs under ASan). */
    for (size_t len = 0; len < snap.len; len += 1 + len / 16) {
        struct ad_pipeline *p = make(cfg, &o);
        assert_true(ad_pipeline_load(p, snap.p, len, &err) < 0);
        ad_pipeline_destroy(p);
    }
    /* Flipped bytes either load (a value that is still in range) or are refused; never a crash. */
    size_t refused = 0;
    for (size_t at = 0; at < snap.len; at += 7) {
        snap.p[at] ^= 0x5a;
        struct ad_pipeline *p = make(cfg, &o);
        refused += ad_pipeline_load(p, snap.p, snap.len, &err) < 0;
        ad_pipeline_destroy(p);
        snap.p[at] ^= 0x5a;
    }
    assert_true(refused > 0);
    /* A pipeline that already saw events does not take a snapshot. */
    struct ad_pipeline *p = make(cfg, &o);
    feed(p, 0, 1);
    assert_true(ad_pipeline_load(p, snap.p, snap.len, &err) < 0);
    ad_pipeline_destroy(p);
    ad_buf_fini(&snap);
    ad_buf_fini(&o.text);
    ad_config_destroy(cfg);
}

/* The daemon's case: one silence set for the main pipeline and every partition's. */
static void a_shared_silence_set_applies_to_every_pipeline_and_to_restored_ones(void **state)
{
    (void)state;
    struct ad_config *cfg = config();
    struct out o1 = {0}, o2 = {0};
    ad_buf_init(&o1.text);
    ad_buf_init(&o2.text);
    struct ad_pipeline *p1 = make(cfg, &o1), *p2 = make(cfg, &o2);
    struct ad_silences *set;
    struct ad_arena arena;
    struct ad_silence_spec sp;
    struct ad_err err;
    assert_int_equal(ad_silences_create(&set), 0);
    ad_pipeline_set_silences(p1, set);
    ad_pipeline_set_silences(p2, set);
    ad_arena_init(&arena, 1024);
    assert_int_equal(ad_silence_parse("service=quiet", false, &arena, &sp, &err), 0);
    assert_int_equal(ad_silences_add(set, &sp, FX_T0, NULL, &err), 0);

    struct ad_event ev = fx_alert("quiet", "h1", "c", FX_T0 + S);
    assert_int_equal(ad_pipeline_process(p1, &ev), 0);
    assert_true(ev.flags & AD_EVF_SILENCED);
    ev = fx_alert("quiet", "h2", "c", FX_T0 + S);
    assert_int_equal(ad_pipeline_process(p2, &ev), 0);
    assert_true(ev.flags & AD_EVF_SILENCED);
    assert_int_equal(o1.n + o2.n, 0); /* no incident opened */
    ev = fx_alert("loud", "h3", "c", FX_T0 + S);
    assert_int_equal(ad_pipeline_process(p1, &ev), 0);
    assert_int_equal(o1.n, 1);

    /* Silences are not in the snapshot: a restored pipeline gets the set from the daemon. */
    struct ad_buf snap;
    ad_buf_init(&snap);
    assert_int_equal(ad_pipeline_save(p2, &snap), 0);
    ad_pipeline_destroy(p2);
    p2 = make(cfg, &o2);
    assert_int_equal(ad_pipeline_load(p2, snap.p, snap.len, &err), 0);
    ad_pipeline_set_silences(p2, set);
    ad_silences_unref(set); /* the pipelines keep it alive */
    ev = fx_alert("quiet", "h4", "c", FX_T0 + 2 * S);
    assert_int_equal(ad_pipeline_process(p2, &ev), 0);
    assert_true(ev.flags & AD_EVF_SILENCED);
    assert_int_equal(o2.n, 0);

    ad_pipeline_destroy(p1);
    ad_pipeline_destroy(p2);
    ad_arena_fini(&arena);
    ad_buf_fini(&snap);
    ad_buf_fini(&o1.text);
    ad_buf_fini(&o2.text);
    ad_config_destroy(cfg);
}

/* pipeline.max_future / max_past: an out-of-bounds event never moves the clock (clamped or
 * refused), unless a second resource confirms the new time (a gap in the stream); the pending
 * suspect is part of the snapshot. */
static void out_of_bounds_events_never_move_the_clock_unless_confirmed(void **state)
{
    (void)state;
    struct ad_config *cfg;
    struct ad_err err;
    const char *yaml = "pipeline:\n  max_future: 1h\n  max_past: 1h\n";
    assert_int_equal(
        ad_config_load_string("t.yaml", yaml, strlen(yaml), ad_sections(), &cfg, &err), 0);
    struct out o = {0};
    ad_buf_init(&o.text);
    struct ad_cand_sink sink = {&o, record};
    struct ad_pipeline *p, *q;
    assert_int_equal(ad_pipeline_create(cfg, &sink, &p, &err), 0);
    const int64_t H = 3600 * S;

    struct ad_event ev = fx_alert("svc", "a", "Down", FX_T0);
    assert_int_equal(ad_pipeline_process(p, &ev), 0);
    assert_int_equal(ad_pipeline_now(p), FX_T0);
    /* Two hours ahead: clamped to the stream's time. The same resource again: still clamped. */
    ev = fx_alert("svc", "b", "Down", FX_T0 + 2 * H);
    assert_int_equal(ad_pipeline_process(p, &ev), 0);
    assert_true(ev.flags & AD_EVF_CLAMPED);
    assert_int_equal(ev.time_ns, FX_T0);
    ev = fx_alert("svc", "b", "Slow", FX_T0 + 2 * H + S);
    assert_int_equal(ad_pipeline_process(p, &ev), 0);
    assert_int_equal(ad_pipeline_now(p), FX_T0);
    /* Behind by two hours: clamped, the clock unchanged. Within the bound: kept as it is. */
    ev = fx_alert("svc", "c", "Old", FX_T0 - 2 * H);
    assert_int_equal(ad_pipeline_process(p, &ev), 0);
    assert_int_equal(ev.time_ns, FX_T0);
    ev = fx_alert("svc", "c", "Late", FX_T0 - H / 2);
    assert_int_equal(ad_pipeline_process(p, &ev), 0);
    assert_false(ev.flags & AD_EVF_CLAMPED);
    assert_int_equal(ev.time_ns, FX_T0 - H / 2);

    /* The suspect survives a snapshot: in the restored pipeline another resource confirms it. */
    struct ad_buf snap;
    ad_buf_init(&snap);
    assert_int_equal(ad_pipeline_save(p, &snap), 0);
    assert_int_equal(ad_pipeline_create(cfg, &sink, &q, &err), 0);
    assert_int_equal(ad_pipeline_load(q, snap.p, snap.len, &err), 0);
    ev = fx_alert("svc", "d", "Down", FX_T0 + 2 * H + 10 * S);
    assert_int_equal(ad_pipeline_process(q, &ev), 0);
    assert_false(ev.flags & AD_EVF_CLAMPED);
    assert_int_equal(ad_pipeline_now(q), FX_T0 + 2 * H + 10 * S);

    /* deadletter: refused, the clock unchanged. */
    const char *dl = "pipeline:\n  max_future: 1h\n  out_of_bounds: deadletter\n";
    struct ad_config *cfg2;
    assert_int_equal(ad_config_load_string("t.yaml", dl, strlen(dl), ad_sections(), &cfg2, &err),
                     0);
    assert_int_equal(ad_pipeline_reconfigure(p, cfg2, &err), 0);
    ev = fx_alert("svc", "e", "Down", FX_T0 + 100 * H);
    assert_int_equal(ad_pipeline_process(p, &ev), -ERANGE);
    assert_int_equal(ad_pipeline_now(p), FX_T0);

    ad_pipeline_destroy(p);
    ad_pipeline_destroy(q);
    ad_buf_fini(&snap);
    ad_buf_fini(&o.text);
    ad_config_destroy(cfg);
    ad_config_destroy(cfg2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(restored_run_equals_the_uninterrupted_one),
        cmocka_unit_test(corrupt_snapshots_are_refused),
        cmocka_unit_test(a_shared_silence_set_applies_to_every_pipeline_and_to_restored_ones),
        cmocka_unit_test(out_of_bounds_events_never_move_the_clock_unless_confirmed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
