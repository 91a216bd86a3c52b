/* tests/unit/test_rules.c: the correlator's linking-rule interface (correlators/rule.h): the rule
 * table, the link option naming every rule, snapshots with each rule's own section (save, load,
 * save identical; a foreign or damaged section refused) and compatibility with the version 8
 * snapshot written before the rules had files of their own. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/ser.h"
#include "correlators/candidate.h"
#include "correlators/rule.h"
#include "correlators/service_window.h"
#include "fx_corr.h"
#include "fx_event.h"
#include "fx_svcwin.h"
#include "models/dedup.h"
#include "svcwin_v8_snapshot.h"

#define S AD_NS_PER_S

static char *all_rules[] = {"topology", "group_by", "text", "cooccurrence"};
static char *by_service[] = {"service"};
static const char graph[] = "node lb-1 service=edge criticality=critical\n"
                            "node web-1 service=frontend\n"
                            "node app-1 service=orders criticality=high\n"
                            "node app-2 service=billing\n"
                            "node db-1 service=orders-db criticality=critical\n"
                            "node lone-1\n"
                            "lb-1 -> web-1\nweb-1 -> app-1\napp-1 -> db-1\napp-2 -> db-1\n";

static struct fx_corr *fx_new(void)
{
    return fx_corr_new(
        fx_svcwin_cfg((struct ad_strlist){all_rules, 4}, (struct ad_strlist){by_service, 1}),
        graph);
}

/* The history the version 8 snapshot was taken after (see svcwin_v8_snapshot.h). */
static void history(struct fx_corr *f)
{
    struct ad_event ev[] = {
        fx_alert("orders-db", "db-1", "DBDown", FX_T0),
        fx_alert("orders", "app-1", "ErrorRate", FX_T0 + S),
        fx_alert("misc", "lone-1", "DiskFull", FX_T0 + 2 * S),
        fx_alert("misc", "lone-1", "NTPDrift", FX_T0 + 3 * S),
        fx_resolved(fx_alert("misc", "lone-1", "DiskFull", 0), FX_T0 + 60 * S),
        fx_resolved(fx_alert("misc", "lone-1", "NTPDrift", 0), FX_T0 + 61 * S),
        fx_alert("billing", "app-2", "ErrorRate", FX_T0 + 70 * S),
    };
    for (size_t i = 0; i < sizeof(ev) / sizeof(ev[0]); i++)
        fx_corr_feed(f, ev[i]);
}

/* What comes after: joins by topology and group, a resolve by fingerprint, a co-occurrence. */
static void continuation(struct fx_corr *f)
{
    struct ad_event ev[] = {
        fx_alert("frontend", "web-1", "HighLatency", FX_T0 + 90 * S),
        fx_alert("edge", "lb-1", "5xxRate", FX_T0 + 100 * S),
        fx_alert("billing", "app-2", "CPUSaturated", FX_T0 + 110 * S),
        fx_resolved(fx_alert("orders-db", "db-1", "DBDown", 0), FX_T0 + 200 * S),
        fx_alert("misc", "lone-1", "DiskFull", FX_T0 + 2000 * S),
        fx_alert("misc", "lone-1", "NTPDrift", FX_T0 + 2001 * S),
    };
    for (size_t i = 0; i < sizeof(ev) / sizeof(ev[0]); i++)
        fx_corr_feed(f, ev[i]);
    ad_svcwin_flush(f->corr, &f->sink);
}

static void save(struct fx_corr *f, struct ad_buf *b)
{
    ad_buf_init(b);
    struct ad_wr w = {b, 0};
    assert_int_equal(ad_svcwin_save(f->corr, &w), 0);
}

static void rule_table_has_unique_names_and_every_hook_a_rule_needs(void **state)
{
    (void)state;
    size_t n = ad_sw_rule_count();
    assert_true(n >= 4 && n <= AD_SW_MAX_RULES);
    assert_string_equal(ad_sw_rules[AD_SW_TOPOLOGY]->name, "topology");
    assert_string_equal(ad_sw_rules[AD_SW_GROUP_BY]->name, "group_by");
    for (size_t i = 0; i < n; i++) {
        const struct ad_sw_rule *r = ad_sw_rules[i];
        assert_non_null(r->match);
        assert_true((r->create == NULL) == (r->destroy == NULL));
        assert_true((r->save == NULL) == (r->load == NULL));
        assert_true((r->save_slot == NULL) == (r->load_slot == NULL));
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(ad_sw_rules[j]->name, r->name);
    }
    assert_null(ad_sw_rules[n]);
}

/* An unknown rule in link names every rule of the table. */
static void link_errors_name_every_rule(void **state)
{
    (void)state;
    char *bad[] = {"group_by", "telepathy"};
    struct ad_svcwin_cfg sc = fx_svcwin_cfg((struct ad_strlist){bad, 2},
                                            (struct ad_strlist){by_service, 1});
    struct ad_svcwin *s = NULL;
    struct ad_err err = {0};
    assert_true(ad_svcwin_create(&sc, &s, &err) < 0);
    assert_non_null(strstr(err.msg, "unknown rule 'telepathy'"));
    for (size_t i = 0; ad_sw_rules[i]; i++)
        assert_non_null(strstr(err.msg, ad_sw_rules[i]->name));
    char *twice[] = {"group_by", "group_by"};
    sc.link = (struct ad_strlist){twice, 2};
    assert_true(ad_svcwin_create(&sc, &s, &err) < 0);
    assert_non_null(strstr(err.msg, "repeated rule 'group_by'"));
}

/* The snapshot written before the rules had files of their own restores to a correlator that
 * continues exactly like one that saw the history itself. */
static void snapshot_of_version_8_loads_and_continues_identically(void **state)
{
    (void)state;
    struct fx_corr *a = fx_new(), *b = fx_new();
    history(a);
    struct ad_rd r = ad_rd_make(svcwin_v8, sizeof(svcwin_v8));
    assert_int_equal(ad_svcwin_load(b->corr, &r), 0);
    /* b's dedup did not see the history: give it the same by replaying it into a spare one. */
    struct fx_corr *c = fx_new();
    history(c);
    ad_dedup_destroy(b->dedup);
    b->dedup = c->dedup;
    c->dedup = NULL;
    fx_corr_clear(a);
    continuation(a);
    continuation(b);
    assert_true(a->n >= 4);
    assert_int_equal(a->n, b->n);
    for (size_t i = 0; i < a->n; i++)
        assert_string_equal(a->out[i], b->out[i]);
    /* the continuation used what v8 held: the CI index (topology), the group index and the
     * fingerprints (the resolve) */
    assert_non_null(strstr(a->out[0], "\"correlator\":\"topology\""));
    struct ad_svcwin_stats st;
    ad_svcwin_get_stats(b->corr, &st);
    assert_true(st.joined_by[AD_SW_TOPOLOGY] >= 2);
    assert_int_equal(st.unknown_fingerprint, 0);
    fx_corr_free(a);
    fx_corr_free(b);
    fx_corr_free(c);
}

/* Version 9: save, load, save gives the same bytes; each rule's section is named and sized. */
static void snapshot_round_trips_and_refuses_damaged_rule_sections(void **state)
{
    (void)state;
    struct fx_corr *a = fx_new(), *b = fx_new();
    history(a);
    struct ad_buf x, y;
    save(a, &x);
    struct ad_rd r = ad_rd_make(x.p, x.len);
    assert_int_equal(ad_svcwin_load(b->corr, &r), 0);
    save(b, &y);
    assert_int_equal(x.len, y.len);
    assert_memory_equal(x.p, y.p, x.len);
    /* A rule name the table does not have. */
    char *name = memmem(x.p, x.len, "cooccurrence", 12);
    assert_non_null(name);
    memcpy(name, "cooccurrencX", 12);
    struct fx_corr *c = fx_new();
    r = ad_rd_make(x.p, x.len);
    assert_int_equal(ad_svcwin_load(c->corr, &r), -EINVAL);
    fx_corr_free(c);
    /* Every truncation is refused, none crashes. */
    for (size_t cut = 0; cut < y.len; cut += 7) {
        c = fx_new();
        r = ad_rd_make(y.p, cut);
        assert_true(ad_svcwin_load(c->corr, &r) < 0);
        fx_corr_free(c);
    }
    ad_buf_fini(&x);
    ad_buf_fini(&y);
    fx_corr_free(a);
    fx_corr_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rule_table_has_unique_names_and_every_hook_a_rule_needs),
        cmocka_unit_test(link_errors_name_every_rule),
        cmocka_unit_test(snapshot_of_version_8_loads_and_continues_identically),
        cmocka_unit_test(snapshot_round_trips_and_refuses_damaged_rule_sections),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
