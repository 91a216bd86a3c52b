/* tests/unit/test_dedup.c: fingerprints, suppression window, escalation, resolve, bounds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>

#include "common/err.h"
#include "fx_event.h"
#include "models/dedup.h"

#define S AD_NS_PER_S

static char *identity_default[] = {"source", "resource", "check"};
static char *labels_env[] = {"env"};

static struct ad_dedup_cfg cfg_default(void)
{
    return (struct ad_dedup_cfg){
        .window_ns = 300 * S,
        .expire_after_ns = 3600 * S,
        .max_fingerprints = 1000,
        .identity = {identity_default, 3},
    };
}

static int setup(void **state)
{
    struct ad_dedup_cfg cfg = cfg_default();
    struct ad_err err;
    return ad_dedup_create(&cfg, (struct ad_dedup **)state, &err);
}

static int teardown(void **state)
{
    ad_dedup_destroy(*state);
    return 0;
}

static void first_firing_is_new_and_repeat_inside_window_is_suppressed(void **state)
{
    struct ad_dedup *d = *state;
    struct ad_event ev = fx_alert("shop", "db1", "disk_full", FX_T0);
    assert_int_equal(ad_dedup_observe(d, &ev), 0);
    assert_true(ev.flags & AD_EVF_NEW);
    assert_true(ev.fingerprint != 0);
    struct ad_event again = fx_at(ev, FX_T0 + 60 * S);
    assert_int_equal(ad_dedup_observe(d, &again), AD_CONSUMED);
    assert_true(again.fingerprint == ev.fingerprint);
}

static void repeat_after_the_window_is_passed_on_once(void **state)
{
    struct ad_dedup *d = *state;
    struct ad_event ev = fx_alert("shop", "db1", "disk_full", FX_T0);
    assert_int_equal(ad_dedup_observe(d, &ev), 0);
    struct ad_event later = fx_at(ev, FX_T0 + 301 * S);
    assert_int_equal(ad_dedup_observe(d, &later), 0);
    assert_true(later.flags & AD_EVF_REPEAT);
    struct ad_event soon = fx_at(ev, FX_T0 + 302 * S);
    assert_int_equal(ad_dedup_observe(d, &soon), AD_CONSUMED);
}

static void higher_severity_passes_as_escalation_lower_is_suppressed(void **state)
{
    struct ad_dedup *d = *state;
    struct ad_event ev = fx_alert("shop", "db1", "disk_full", FX_T0);
    assert_int_equal(ad_dedup_observe(d, &ev), 0);
    struct ad_event up = fx_sev(fx_at(ev, FX_T0 + S), AD_SEV_CRITICAL);
    assert_int_equal(ad_dedup_observe(d, &up), 0);
    assert_true(up.flags & AD_EVF_ESCALATED);
    struct ad_event down = fx_sev(fx_at(ev, FX_T0 + 2 * S), AD_SEV_MINOR);
    assert_int_equal(ad_dedup_observe(d, &down), AD_CONSUMED);
}

static void resolve_closes_and_a_new_firing_reopens(void **state)
{
    struct ad_dedup *d = *state;
    struct ad_event ev = fx_alert("shop", "db1", "disk_full", FX_T0);
    assert_int_equal(ad_dedup_observe(d, &ev), 0);
    struct ad_event res = fx_resolved(ev, FX_T0 + 10 * S);
    assert_int_equal(ad_dedup_observe(d, &res), 0);
    assert_true(res.flags & AD_EVF_RESOLVED);
    struct ad_event res2 = fx_resolved(ev, FX_T0 + 11 * S);
    assert_int_equal(ad_dedup_observe(d, &res2), AD_CONSUMED);
    struct ad_event again = fx_at(ev, FX_T0 + 12 * S);
    assert_int_equal(ad_dedup_observe(d, &again), 0);
    assert_true(again.flags & AD_EVF_NEW);
}

static void resolve_of_unknown_alert_is_consumed_and_counted(void **state)
{
    struct ad_dedup *d = *state;
    struct ad_event res = fx_resolved(fx_alert("shop", "db9", "gone", FX_T0), FX_T0);
    assert_int_equal(ad_dedup_observe(d, &res), AD_CONSUMED);
    struct ad_dedup_stats st;
    ad_dedup_get_stats(d, &st);
    assert_int_equal(st.orphan_resolved, 1);
    assert_int_equal(st.tracked, 0);
}

static void late_event_older_than_the_last_state_change_is_stale(void **state)
{
    struct ad_dedup *d = *state;
    struct ad_event ev = fx_alert("shop", "db1", "disk_full", FX_T0);
    assert_int_equal(ad_dedup_observe(d, &ev), 0);
    struct ad_event res = fx_resolved(ev, FX_T0 + 100 * S);
    assert_int_equal(ad_dedup_observe(d, &res), 0);
    struct ad_event late = fx_at(ev, FX_T0 + 50 * S); /* a firing from before the resolve */
    assert_int_equal(ad_dedup_observe(d, &late), AD_CONSUMED);
    struct ad_dedup_stats st;
    ad_dedup_get_stats(d, &st);
    assert_int_equal(st.stale, 1);
}

static void identity_fields_and_labels_decide_the_fingerprint(void **state)
{
    (void)state;
    struct ad_dedup_cfg cfg = cfg_default();
    cfg.identity_labels = (struct ad_strlist){labels_env, 1};
    struct ad_dedup *d;
    struct ad_err err;
    assert_int_equal(ad_dedup_create(&cfg, &d, &err), 0);
    struct ad_event a = fx_alert("shop", "db1", "disk_full", FX_T0);
    struct ad_event b = a;
    b.summary = ad_str_c("other text");   /* not in the identity */
    b.service = ad_str_c("other service");
    assert_true(ad_dedup_fingerprint(d, &a) == ad_dedup_fingerprint(d, &b));
    b.labels[0] = (struct ad_label){ad_str_c("env"), ad_str_c("prod")};
    b.n_labels = 1;
    assert_true(ad_dedup_fingerprint(d, &a) != ad_dedup_fingerprint(d, &b));
    struct ad_event c = fx_alert("shop", "db2", "disk_full", FX_T0);
    assert_true(ad_dedup_fingerprint(d, &a) != ad_dedup_fingerprint(d, &c));
    ad_dedup_destroy(d);
}

static void unknown_identity_field_is_a_config_error(void **state)
{
    (void)state;
    static char *bad[] = {"resource", "hostname"};
    struct ad_dedup_cfg cfg = cfg_default();
    cfg.identity = (struct ad_strlist){bad, 2};
    struct ad_dedup *d = NULL;
    struct ad_err err;
    assert_int_equal(ad_dedup_create(&cfg, &d, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "hostname"));
    assert_null(d);
}

static void bound_evicts_least_recently_seen(void **state)
{
    (void)state;
    struct ad_dedup_cfg cfg = cfg_default();
    cfg.max_fingerprints = 1000;
    struct ad_dedup *d;
    struct ad_err err;
    assert_int_equal(ad_dedup_create(&cfg, &d, &err), 0);
    char name[32];
    for (int i = 0; i < 1500; i++) {
        snprintf(name, sizeof(name), "host%d", i);
        struct ad_event ev = fx_alert("shop", name, "ping", FX_T0 + i);
        assert_int_equal(ad_dedup_observe(d, &ev), 0);
    }
    struct ad_dedup_stats st;
    ad_dedup_get_stats(d, &st);
    assert_int_equal(st.tracked, 1000);
    assert_int_equal(st.evicted, 500);
    /* host0 was evicted: it is new again; host1499 is still tracked: a duplicate. */
    struct ad_event old = fx_alert("shop", "host0", "ping", FX_T0 + 2000);
    assert_int_equal(ad_dedup_observe(d, &old), 0);
    assert_true(old.flags & AD_EVF_NEW);
    struct ad_event recent = fx_alert("shop", "host1499", "ping", FX_T0 + 2001);
    assert_int_equal(ad_dedup_observe(d, &recent), AD_CONSUMED);
    assert_true(st.bytes / st.tracked < 200); /* memory per fingerprint stays small */
    ad_dedup_destroy(d);
}

static void expiry_forgets_fingerprints_in_bounded_steps(void **state)
{
    struct ad_dedup *d = *state;
    char name[32];
    for (int i = 0; i < 100; i++) {
        snprintf(name, sizeof(name), "host%d", i);
        struct ad_event ev = fx_alert("shop", name, "ping", FX_T0 + i * S);
        assert_int_equal(ad_dedup_observe(d, &ev), 0);
    }
    /* expire_after is 1 h: at T0+1h+50.5s the first 51 records (seen at 0..50 s) are too old. */
    assert_int_equal(ad_dedup_expire(d, FX_T0 + 3650 * S + S / 2, 10), 10);
    assert_int_equal(ad_dedup_expire(d, FX_T0 + 3650 * S + S / 2, 1000), 41);
    struct ad_dedup_stats st;
    ad_dedup_get_stats(d, &st);
    assert_int_equal(st.tracked, 49);
    assert_int_equal(st.expired, 51);
}

static void logs_and_metrics_pass_untouched(void **state)
{
    struct ad_dedup *d = *state;
    struct ad_event ev = fx_alert("shop", "db1", "cpu", FX_T0);
    ev.kind = AD_KIND_METRIC;
    assert_int_equal(ad_dedup_observe(d, &ev), 0);
    assert_int_equal(ad_dedup_observe(d, &ev), 0);
    assert_true(ev.fingerprint == 0);
    assert_int_equal(ev.flags, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(first_firing_is_new_and_repeat_inside_window_is_suppressed,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(repeat_after_the_window_is_passed_on_once, setup, teardown),
        cmocka_unit_test_setup_teardown(higher_severity_passes_as_escalation_lower_is_suppressed,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(resolve_closes_and_a_new_firing_reopens, setup, teardown),
        cmocka_unit_test_setup_teardown(resolve_of_unknown_alert_is_consumed_and_counted, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(late_event_older_than_the_last_state_change_is_stale,
                                        setup, teardown),
        cmocka_unit_test(identity_fields_and_labels_decide_the_fingerprint),
        cmocka_unit_test(unknown_identity_field_is_a_config_error),
        cmocka_unit_test(bound_evicts_least_recently_seen),
        cmocka_unit_test_setup_teardown(expiry_forgets_fingerprints_in_bounded_steps, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(logs_and_metrics_pass_untouched, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
