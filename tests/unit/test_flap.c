/* tests/unit/test_flap.c: flapping detection (percent state change with hysteresis, bounds,
 * expiry, snapshots) and what the correlator does with flapping members: no candidate updates
 * until the alert settles; all-resolved-while-flapping and quiet candidates resolve on ticks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/ser.h"
#include "correlators/candidate.h"
#include "correlators/service_window.h"
#include "fx_event.h"
#include "fx_svcwin.h"
#include "models/dedup.h"
#include "models/flap.h"

#define S AD_NS_PER_S
#define MAX_SEEN 256

static struct ad_flap *flap_new(uint64_t max_tracked)
{
    struct ad_flap_cfg cfg = {true, 50, 25, max_tracked, 3600 * S};
    struct ad_flap *f = NULL;
    struct ad_err err;
    assert_int_equal(ad_flap_create(&cfg, &f, &err), 0);
    return f;
}

/* One observation of fingerprint fp in status st; returns whether it came out flagged. */
static bool obs(struct ad_flap *f, uint64_t fp, enum ad_status st, int64_t t)
{
    struct ad_event ev = fx_alert("svc", "host", "check", t);
    ev.fingerprint = fp;
    ev.status = st;
    assert_int_equal(ad_flap_observe(f, &ev), 0);
    return (ev.flags & AD_EVF_FLAPPING) != 0;
}

static void toggling_alert_starts_and_stops_flapping_with_hysteresis(void **state)
{
    (void)state;
    struct ad_flap *f = flap_new(1000);
    int64_t t = FX_T0;
    /* 20 observations changing state each time: 100%. It starts flapping once the weighted
     * changes pass 50%: after the 10th change (newest weigh most: 10 changes = 57.9%). */
    int started_at = -1;
    for (int i = 0; i < 20; i++) {
        bool fl = obs(f, 7, i % 2 ? AD_STATUS_RESOLVED : AD_STATUS_FIRING, t += S);
        if (fl && started_at < 0)
            started_at = i;
    }
    assert_int_equal(started_at, 9); /* the first observation has no history */
    assert_true(fabs(ad_flap_percent(f, 7) - 95.0) < 5.1); /* 19 of 20 changed */
    /* Steady now: repeats of firing. It stays flapping while the share is above 25%. */
    int stopped_at = -1;
    obs(f, 7, AD_STATUS_FIRING, t += S);
    for (int i = 0; i < 20; i++)
        if (!obs(f, 7, AD_STATUS_FIRING, t += S) && stopped_at < 0)
            stopped_at = i;
    assert_true(stopped_at > 5);  /* not at the first quiet observation: hysteresis */
    assert_true(stopped_at < 20); /* but it settles */
    struct ad_flap_stats st;
    ad_flap_get_stats(f, &st);
    assert_int_equal(st.started, 1);
    assert_int_equal(st.stopped, 1);
    assert_int_equal(st.flapping, 0);
    /* An alert that changes rarely never flaps. */
    for (int i = 0; i < 40; i++)
        assert_false(obs(f, 8, i % 8 == 0 ? AD_STATUS_RESOLVED : AD_STATUS_FIRING, t += S));
    ad_flap_destroy(f);
}

static void bounds_expiry_and_snapshot(void **state)
{
    (void)state;
    struct ad_flap *f = flap_new(16);
    for (uint64_t fp = 1; fp <= 20; fp++)
        obs(f, fp, AD_STATUS_FIRING, FX_T0);
    struct ad_flap_stats st;
    ad_flap_get_stats(f, &st);
    assert_int_equal(st.tracked, 16);
    assert_int_equal(st.untracked, 4);
    /* Make fp 3 flap, then snapshot and restore: the restored model judges the same. */
    int64_t t = FX_T0;
    for (int i = 0; i < 12; i++)
        obs(f, 3, i % 2 ? AD_STATUS_FIRING : AD_STATUS_RESOLVED, t += S);
    struct ad_buf b;
    ad_buf_init(&b);
    struct ad_wr w = {&b, 0};
    assert_int_equal(ad_model_flap.save(f, &w), 0);
    struct ad_flap *g = flap_new(16);
    struct ad_rd r = ad_rd_make(b.p, b.len);
    struct ad_err err;
    assert_int_equal(ad_model_flap.load(g, &r, &err), 0);
    assert_true(fabs(ad_flap_percent(f, 3) - ad_flap_percent(g, 3)) < 1e-9);
    for (int i = 0; i < 10; i++) {
        enum ad_status st2 = i % 3 ? AD_STATUS_FIRING : AD_STATUS_RESOLVED;
        assert_int_equal(obs(f, 3, st2, t + i * S), obs(g, 3, st2, t + i * S));
    }
    /* A truncated snapshot is refused. */
    struct ad_flap *h = flap_new(16);
    r = ad_rd_make(b.p, b.len / 2);
    assert_true(ad_model_flap.load(h, &r, &err) < 0);
    ad_flap_destroy(h);
    /* Expiry forgets what was not seen for expire_after (event time). */
    ad_model_flap.expire(f, t + 7200 * S);
    ad_flap_get_stats(f, &st);
    assert_int_equal(st.tracked, 0);
    assert_int_equal(st.expired, 16);
    ad_buf_fini(&b);
    ad_flap_destroy(f);
    ad_flap_destroy(g);
}

/* --- with dedup and the correlator, as the pipeline runs them ------------------------------ */

struct fx {
    struct ad_dedup *dedup;
    struct ad_flap *flap;
    struct ad_svcwin *corr;
    struct ad_cand_sink sink;
    char json[MAX_SEEN][2048];
    size_t n;
};

static int record(void *ctx, const struct ad_candidate *c)
{
    struct fx *f = ctx;
    assert_true(f->n < MAX_SEEN);
    struct ad_buf b;
    ad_buf_init(&b);
    assert_int_equal(ad_candidate_to_json(c, &b), 0);
    snprintf(f->json[f->n++], sizeof(f->json[0]), "%.*s", (int)b.len, b.p);
    ad_buf_fini(&b);
    return 0;
}

static char *identity[] = {"source", "resource", "check"};
static char *links[] = {"group_by"};
static char *by_service[] = {"service"};

static struct fx *fx_new(int64_t resolve_after_ns)
{
    struct fx *f = calloc(1, sizeof(*f));
    struct ad_dedup_cfg dc = {300 * S, 3600 * S, 10000, {identity, 3}, {NULL, 0}};
    struct ad_svcwin_cfg sc = fx_svcwin_cfg((struct ad_strlist){links, 1},
                                            (struct ad_strlist){by_service, 1});
    sc.resolve_after_ns = resolve_after_ns;
    struct ad_err err;
    assert_int_equal(ad_dedup_create(&dc, &f->dedup, &err), 0);
    f->flap = flap_new(1000);
    assert_int_equal(ad_svcwin_create(&sc, &f->corr, &err), 0);
    f->sink = (struct ad_cand_sink){f, record};
    return f;
}

static void fx_free(struct fx *f)
{
    ad_svcwin_destroy(f->corr);
    ad_flap_destroy(f->flap);
    ad_dedup_destroy(f->dedup);
    free(f);
}

static void feed(struct fx *f, struct ad_event ev)
{
    ad_svcwin_tick(f->corr, ev.time_ns, &f->sink);
    if (ad_dedup_observe(f->dedup, &ev) != 0)
        return;
    ad_flap_observe(f->flap, &ev);
    assert_int_equal(ad_svcwin_correlate(f->corr, &ev, &f->sink), 0);
}

static void a_flapping_member_stops_updating_its_incident_until_it_settles(void **state)
{
    (void)state;
    struct fx *f = fx_new(0);
    struct ad_event a = fx_alert("web", "web-1", "HealthCheckFailed", FX_T0);
    struct ad_event other = fx_alert("web", "web-2", "HighLatency", FX_T0 + S);
    feed(f, a);
    feed(f, other); /* keeps the candidate firing while web-1 flaps */
    int64_t t = FX_T0 + 2 * S;
    size_t before_flap = 0;
    for (int i = 0; i < 40; i++) { /* toggling every 10 s: resolve, fire, resolve, ... */
        t += 10 * S;
        feed(f, i % 2 ? fx_at(a, t) : fx_resolved(a, t));
        if (i == 12)
            before_flap = f->n;
    }
    size_t during = f->n - before_flap;
    /* While flapping, its toggles emit nothing (without flap detection: one update per toggle,
     * each resolve/reopen being immediate). */
    assert_true(during <= 1);
    struct ad_svcwin_stats cs;
    ad_svcwin_get_stats(f->corr, &cs);
    assert_true(cs.flapping_quiet >= 20);
    /* The member says so in the candidate when it is next emitted. */
    struct ad_event b = fx_alert("web", "web-3", "DiskFull", t + S);
    feed(f, b);
    ad_svcwin_flush(f->corr, &f->sink);
    assert_non_null(strstr(f->json[f->n - 1], "\"check\":\"HealthCheckFailed\""));
    assert_non_null(strstr(f->json[f->n - 1], "\"flapping\":true"));
    /* It settles: firing steadily (repeats past the dedup window) for a while. */
    for (int i = 0; i < 30; i++) {
        t += 301 * S;
        feed(f, fx_at(a, t));
        feed(f, fx_at(other, t));
    }
    ad_svcwin_flush(f->corr, &f->sink);
    assert_null(strstr(f->json[f->n - 1], "\"flapping\":true"));
    fx_free(f);
}

static void resolved_while_flapping_resolves_when_quiet(void **state)
{
    (void)state;
    struct fx *f = fx_new(0);
    struct ad_event a = fx_alert("web", "web-1", "HealthCheckFailed", FX_T0);
    feed(f, a);
    int64_t t = FX_T0;
    for (int i = 0; i < 24; i++) { /* ends with a resolve */
        t += 5 * S;
        feed(f, i % 2 ? fx_resolved(a, t) : fx_at(a, t));
    }
    /* Its last resolve was followed quietly; the next tick after update_interval resolves. */
    feed(f, fx_alert("other", "db-1", "DBDown", t + 31 * S));
    bool resolved = false;
    for (size_t i = 0; i < f->n; i++)
        resolved = resolved || (strstr(f->json[i], "\"service\":\"web\"") &&
                                strstr(f->json[i], "\"resolved_because\":\"all alerts resolved\""));
    assert_true(resolved);
    fx_free(f);
}

static void resolve_after_closes_a_quiet_incident(void **state)
{
    (void)state;
    struct fx *f = fx_new(3600 * S);
    feed(f, fx_alert("web", "web-1", "HealthCheckFailed", FX_T0)); /* never resolved */
    feed(f, fx_alert("db", "db-1", "DBDown", FX_T0 + 1800 * S));
    assert_null(strstr(f->json[f->n - 1], "resolved_because"));
    feed(f, fx_alert("db", "db-2", "DBDown", FX_T0 + 3601 * S));
    bool quiet = false;
    for (size_t i = 0; i < f->n; i++)
        quiet = quiet || (strstr(f->json[i], "\"service\":\"web\"") &&
                          strstr(f->json[i], "\"state\":\"resolved\"") &&
                          strstr(f->json[i], "\"resolved_because\":\"quiet\""));
    assert_true(quiet);
    fx_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(toggling_alert_starts_and_stops_flapping_with_hysteresis),
        cmocka_unit_test(bounds_expiry_and_snapshot),
        cmocka_unit_test(a_flapping_member_stops_updating_its_incident_until_it_settles),
        cmocka_unit_test(resolved_while_flapping_resolves_when_quiet),
        cmocka_unit_test(resolve_after_closes_a_quiet_incident),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
