/* tests/unit/test_correlate.c: the service-window correlator fed through dedup, as the pipeline
 * does: open, join, coalesced updates, escalation, resolve, reopen, bounds, deterministic ids. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "correlators/candidate.h"
#include "correlators/service_window.h"
#include "fx_event.h"
#include "fx_svcwin.h"
#include "models/dedup.h"

#define S AD_NS_PER_S
#define MAX_SEEN 256

struct seen {
    char id[AD_CAND_ID_LEN + 1];
    enum ad_cand_state state;
    uint32_t version, alert_count, alerts_firing;
    int priority;
    char service[32];
};

struct fx {
    struct ad_dedup *dedup;
    struct ad_svcwin *corr;
    struct ad_cand_sink sink;
    struct seen seen[MAX_SEEN];
    size_t n;
};

static int record(void *ctx, const struct ad_candidate *c)
{
    struct fx *f = ctx;
    assert_true(f->n < MAX_SEEN);
    struct seen *s = &f->seen[f->n++];
    memcpy(s->id, c->id, sizeof(s->id));
    s->state = c->state;
    s->version = c->version;
    s->alert_count = c->alert_count;
    s->alerts_firing = c->alerts_firing;
    s->priority = c->priority;
    snprintf(s->service, sizeof(s->service), "%s", c->service);
    return 0;
}

static char *identity[] = {"source", "resource", "check"};
static char *links[] = {"topology", "group_by"};
static char *by_service[] = {"service"};

static struct fx *fx_new(uint64_t max_open, uint64_t max_members)
{
    struct fx *f = calloc(1, sizeof(*f));
    struct ad_dedup_cfg dc = {300 * S, 3600 * S, 10000, {identity, 3}, {NULL, 0}};
    struct ad_svcwin_cfg sc = fx_svcwin_cfg((struct ad_strlist){links, 2},
                                            (struct ad_strlist){by_service, 1});
    sc.max_open = max_open;
    sc.max_members = max_members;
    struct ad_err err;
    assert_int_equal(ad_dedup_create(&dc, &f->dedup, &err), 0);
    assert_int_equal(ad_svcwin_create(&sc, &f->corr, &err), 0);
    f->sink = (struct ad_cand_sink){f, record};
    return f;
}

static int setup(void **state)
{
    *state = fx_new(10000, 1000);
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    ad_svcwin_destroy(f->corr);
    ad_dedup_destroy(f->dedup);
    free(f);
    return 0;
}

/* Runs one event through dedup then the correlator, like ad_pipeline_process. */
static void feed(struct fx *f, struct ad_event ev)
{
    ad_svcwin_tick(f->corr, ev.time_ns, &f->sink);
    if (ad_dedup_observe(f->dedup, &ev) == 0)
        assert_int_equal(ad_svcwin_correlate(f->corr, &ev, &f->sink), 0);
}

static void alerts_of_one_service_within_the_window_make_one_candidate(void **state)
{
    struct fx *f = *state;
    feed(f, fx_alert("checkout", "web1", "HighLatency", FX_T0));
    feed(f, fx_alert("checkout", "web2", "HighLatency", FX_T0 + 5 * S));
    feed(f, fx_alert("checkout", "db1", "DBConnFail", FX_T0 + 10 * S));
    feed(f, fx_alert("payments", "pay1", "ErrorRate", FX_T0 + 11 * S));
    ad_svcwin_flush(f->corr, &f->sink);
    /* open checkout, open payments, then one coalesced update of checkout on flush */
    assert_int_equal(f->n, 3);
    assert_int_equal(f->seen[0].state, AD_CAND_OPEN);
    assert_string_equal(f->seen[0].service, "checkout");
    assert_int_equal(f->seen[0].version, 1);
    assert_string_equal(f->seen[1].service, "payments");
    assert_string_not_equal(f->seen[0].id, f->seen[1].id);
    assert_int_equal(f->seen[2].state, AD_CAND_UPDATED);
    assert_string_equal(f->seen[2].id, f->seen[0].id);
    assert_int_equal(f->seen[2].alert_count, 3);
    assert_int_equal(f->seen[2].version, 2);
}

static void duplicates_do_not_add_members(void **state)
{
    struct fx *f = *state;
    for (int i = 0; i < 50; i++)
        feed(f, fx_alert("checkout", "web1", "HighLatency", FX_T0 + i * S));
    ad_svcwin_flush(f->corr, &f->sink);
    assert_int_equal(f->n, 1);
    assert_int_equal(f->seen[0].alert_count, 1);
}

static void an_alert_after_the_window_opens_a_new_candidate(void **state)
{
    struct fx *f = *state;
    feed(f, fx_alert("checkout", "web1", "HighLatency", FX_T0));
    feed(f, fx_alert("checkout", "web2", "ErrorRate", FX_T0 + 601 * S));
    assert_int_equal(f->n, 2);
    assert_int_equal(f->seen[1].state, AD_CAND_OPEN);
    assert_string_not_equal(f->seen[0].id, f->seen[1].id);
}

static void updates_are_coalesced_per_interval(void **state)
{
    struct fx *f = *state;
    char host[16];
    for (int i = 0; i < 100; i++) { /* 100 new alerts, one per second */
        snprintf(host, sizeof(host), "web%d", i);
        feed(f, fx_alert("checkout", host, "HighLatency", FX_T0 + i * S));
    }
    ad_svcwin_flush(f->corr, &f->sink);
    /* open at 0 s, an immediate update when the 10th alert within urgency_window raised the
     * urgency (P3 -> P2, docs/priority.md), updates at 30, 60, 90 s, and the flush of what
     * joined after 90 s */
    assert_int_equal(f->n, 6);
    assert_int_equal(f->seen[0].priority, 3);
    assert_int_equal(f->seen[1].priority, 2);
    assert_int_equal(f->seen[1].alert_count, 10);
    assert_int_equal(f->seen[5].alert_count, 100);
    for (size_t i = 1; i < f->n; i++)
        assert_int_equal(f->seen[i].version, i + 1);
}

static void escalation_changes_priority_immediately(void **state)
{
    struct fx *f = *state;
    struct ad_event a = fx_alert("checkout", "web1", "HighLatency", FX_T0);
    feed(f, a);
    /* No topology: impact medium. Warning: urgency medium -> P3; critical: high -> P2. */
    assert_int_equal(f->seen[0].priority, 3);
    feed(f, fx_sev(fx_at(a, FX_T0 + 2 * S), AD_SEV_CRITICAL));
    assert_int_equal(f->n, 2);
    assert_int_equal(f->seen[1].priority, 2);
    assert_int_equal(f->seen[1].state, AD_CAND_UPDATED);
}

static void all_members_resolved_resolves_the_candidate_and_refire_reopens_it(void **state)
{
    struct fx *f = *state;
    struct ad_event a = fx_alert("checkout", "web1", "HighLatency", FX_T0);
    struct ad_event b = fx_alert("checkout", "web2", "HighLatency", FX_T0 + S);
    feed(f, a);
    feed(f, b);
    feed(f, fx_resolved(a, FX_T0 + 60 * S));
    size_t before = f->n;
    feed(f, fx_resolved(b, FX_T0 + 61 * S));
    assert_int_equal(f->n, before + 1);
    assert_int_equal(f->seen[f->n - 1].state, AD_CAND_RESOLVED);
    assert_int_equal(f->seen[f->n - 1].alerts_firing, 0);
    feed(f, fx_at(a, FX_T0 + 120 * S)); /* fires again within the window: reopened */
    assert_int_equal(f->seen[f->n - 1].state, AD_CAND_UPDATED);
    assert_string_equal(f->seen[f->n - 1].id, f->seen[0].id);
    assert_int_equal(f->seen[f->n - 1].alerts_firing, 1);
}

static void same_stream_gives_same_ids(void **state)
{
    (void)state;
    char ids[2][4][AD_CAND_ID_LEN + 1];
    for (int run = 0; run < 2; run++) {
        struct fx *f = fx_new(10000, 1000);
        feed(f, fx_alert("a", "h1", "x", FX_T0));
        feed(f, fx_alert("b", "h2", "y", FX_T0 + S));
        feed(f, fx_alert("a", "h1", "x", FX_T0 + 700 * S));
        feed(f, fx_alert("c", "h3", "z", FX_T0 + 701 * S));
        assert_int_equal(f->n, 4);
        for (int i = 0; i < 4; i++)
            memcpy(ids[run][i], f->seen[i].id, sizeof(ids[run][i]));
        void *st = f;
        teardown(&st);
    }
    for (int i = 0; i < 4; i++)
        assert_string_equal(ids[0][i], ids[1][i]);
}

static void open_candidates_are_bounded_with_eviction(void **state)
{
    (void)state;
    struct fx *f = fx_new(10, 1000);
    char svc[16];
    for (int i = 0; i < 25; i++) {
        snprintf(svc, sizeof(svc), "svc%d", i);
        feed(f, fx_alert(svc, svc, "x", FX_T0 + i * S)); /* distinct fingerprints */
    }
    struct ad_svcwin_stats st;
    ad_svcwin_get_stats(f->corr, &st);
    assert_int_equal(st.open, 10);
    assert_int_equal(st.evicted, 15);
    assert_int_equal(st.opened, 25);
    void *s = f;
    teardown(&s);
}

static void members_past_the_bound_are_counted_not_tracked(void **state)
{
    (void)state;
    struct fx *f = fx_new(100, 5);
    char host[16];
    for (int i = 0; i < 8; i++) {
        snprintf(host, sizeof(host), "h%d", i);
        feed(f, fx_alert("svc", host, "x", FX_T0 + i * S));
    }
    ad_svcwin_flush(f->corr, &f->sink);
    assert_int_equal(f->seen[f->n - 1].alert_count, 8);
    struct ad_svcwin_stats st;
    ad_svcwin_get_stats(f->corr, &st);
    assert_int_equal(st.members_omitted, 3);
    assert_int_equal(st.tracked_alerts, 5);
    void *s = f;
    teardown(&s);
}

static void resolved_candidates_are_forgotten_after_retain(void **state)
{
    struct fx *f = *state;
    struct ad_event a = fx_alert("checkout", "web1", "HighLatency", FX_T0);
    feed(f, a);
    feed(f, fx_resolved(a, FX_T0 + 10 * S));
    ad_svcwin_tick(f->corr, FX_T0 + 3611 * S, &f->sink);
    struct ad_svcwin_stats st;
    ad_svcwin_get_stats(f->corr, &st);
    assert_int_equal(st.open, 0);
    assert_int_equal(st.forgotten, 1);
    assert_int_equal(st.tracked_alerts, 0);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(alerts_of_one_service_within_the_window_make_one_candidate),
        T(duplicates_do_not_add_members),
        T(an_alert_after_the_window_opens_a_new_candidate),
        T(updates_are_coalesced_per_interval),
        T(escalation_changes_priority_immediately),
        T(all_members_resolved_resolves_the_candidate_and_refire_reopens_it),
        cmocka_unit_test(same_stream_gives_same_ids),
        cmocka_unit_test(open_candidates_are_bounded_with_eviction),
        cmocka_unit_test(members_past_the_bound_are_counted_not_tracked),
        T(resolved_candidates_are_forgotten_after_retain),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
