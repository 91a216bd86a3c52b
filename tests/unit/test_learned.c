/* tests/unit/test_learned.c: the learned rule (correlators/rule_learned.c): a pair that follows
 * more often than chance is learned in its order and written as a topology file that parses;
 * pairs of chance are not; the rule then joins with its figures as the reason; the state is
 * bounded (halved at its bound) and survives a snapshot and the daemon's state file (saved and
 * loaded back, a corrupt or foreign one refused with why and nothing changed). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/ser.h"
#include "correlators/candidate.h"
#include "correlators/service_window.h"
#include "correlators/topology.h"
#include "fx_event.h"
#include "fx_svcwin.h"

#define S AD_NS_PER_S

static char *with_learned[] = {"learned", "group_by"};
static char *by_service[] = {"service"};

struct fx {
    struct ad_svcwin *corr;
    struct ad_cand_sink sink;
    char last_reason[512];
    char root[64], root_reason[128];
};

static int record(void *ctx, const struct ad_candidate *c)
{
    struct fx *f = ctx;
    if (c->n_members > 1) {
        snprintf(f->root, sizeof(f->root), "%s", c->members[c->root_member].resource);
        snprintf(f->root_reason, sizeof(f->root_reason), "%s",
                 c->root_reason ? c->root_reason : "first alert");
    }
    for (uint32_t i = 0; i < c->n_links; i++)
        if (strcmp(c->links[i].rule, "learned") == 0)
            snprintf(f->last_reason, sizeof(f->last_reason), "%s", c->links[i].reason);
    return 0;
}

static struct fx *fx_new(void)
{
    struct fx *f = calloc(1, sizeof(*f));
    struct ad_svcwin_cfg sc = fx_svcwin_cfg((struct ad_strlist){with_learned, 2},
                                            (struct ad_strlist){by_service, 1});
    struct ad_err err = {0};
    assert_int_equal(ad_svcwin_create(&sc, &f->corr, &err), 0);
    f->sink = (struct ad_cand_sink){f, record};
    return f;
}

static void fx_free(struct fx *f)
{
    ad_svcwin_destroy(f->corr);
    free(f);
}

static uint64_t fp_seq;

/* A new firing alert (as dedup would mark it), then its resolve 5 minutes later. */
static void fire(struct fx *f, const char *svc, const char *ci, int64_t t)
{
    struct ad_event ev = fx_alert(svc, ci, "Down", t);
    ev.fingerprint = ++fp_seq;
    ev.flags = AD_EVF_NEW;
    ad_svcwin_tick(f->corr, t, &f->sink);
    assert_int_equal(ad_svcwin_correlate(f->corr, &ev, &f->sink), 0);
    ev.status = AD_STATUS_RESOLVED;
    ev.flags = AD_EVF_RESOLVED;
    ev.time_ns = t + 300 * S;
    assert_int_equal(ad_svcwin_correlate(f->corr, &ev, &f->sink), 0);
}

/* Eight hours: db-1 fails every hour and app-1 (another service) 40 s later; 30 CIs fail once
 * each at other times; n-1 and n-2 once together. */
static void history(struct fx *f, int hours)
{
    for (int h = 0; h < hours; h++) {
        int64_t t = FX_T0 + (int64_t)h * 3600 * S;
        fire(f, "db", "db-1", t);
        fire(f, "shop", "app-1", t + 40 * S);
        for (int j = 0; j < 4; j++) {
            char ci[16];
            snprintf(ci, sizeof(ci), "o-%d", h * 4 + j);
            fire(f, "misc", ci, t + (900 + 600 * j) * S);
        }
    }
    int64_t t = FX_T0 + (int64_t)hours * 3600 * S;
    fire(f, "misc", "n-1", t);
    fire(f, "misc", "n-2", t + 10 * S);
}

static void a_dependency_stands_out_and_is_written_as_a_topology_file(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    history(f, 8);
    struct ad_buf b;
    ad_buf_init(&b);
    assert_int_equal(ad_svcwin_learned_topology(f->corr, &b), 0);
    ad_buf_append(&b, "", 1);
    assert_non_null(strstr(b.p, "app-1 -> db-1   # support 8, confidence 1.00 (8 of 8 failures of "
                                "db-1), lag 40s\n"));
    assert_null(strstr(b.p, "o-"));  /* one-off failures: chance */
    assert_null(strstr(b.p, "n-2")); /* together once: not enough */
    assert_null(strstr(b.p, "db-1 -> app-1"));
    struct ad_topology *t = NULL;
    struct ad_err err = {0};
    assert_int_equal(ad_topology_parse("learned", b.p, b.len - 1, &t, &err), 0);
    assert_true(ad_topology_depends(t, ad_topology_find(t, ad_str_c("app-1")),
                                    ad_topology_find(t, ad_str_c("db-1")), 1));
    ad_topology_free(t);
    /* The ninth time app-1 joins db-1's incident, and says why. */
    fire(f, "db", "db-1", FX_T0 + 20 * 3600 * S);
    fire(f, "shop", "app-1", FX_T0 + (20 * 3600 + 35) * S);
    assert_string_equal(f->last_reason,
                        "'app-1' followed 'db-1' in 8 of its 9 failures (confidence 0.89, lag "
                        "40s; learned)");
    struct ad_svcwin_stats st;
    ad_svcwin_get_stats(f->corr, &st);
    assert_true(st.joined_by[5] >= 1); /* during the history too, once it stood out */
    ad_buf_fini(&b);
    fx_free(f);
}

/* Without a graph or a mention, the root cause is the CI the others are learned to fail after,
 * even when its alert came second (db-1 seen 5 s after app-1, joined by service). */
static void the_learned_order_names_the_root_cause(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    history(f, 8);
    int64_t t = FX_T0 + 20 * 3600 * S;
    fire(f, "shop", "app-1", t);
    fire(f, "shop", "db-1", t + 5 * S);
    ad_svcwin_flush(f->corr, &f->sink);
    assert_string_equal(f->root, "db-1");
    assert_string_equal(f->root_reason, "the CI the candidate's other CIs are learned to fail after");
    fx_free(f);
}

/* Too few: the same pattern twice is below learn_min_support (3). */
static void a_pair_seen_too_rarely_is_not_learned(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    history(f, 2);
    struct ad_buf b;
    ad_buf_init(&b);
    assert_int_equal(ad_svcwin_learned_topology(f->corr, &b), 0);
    ad_buf_append(&b, "", 1);
    assert_non_null(strstr(b.p, "# aiopsd learned topology: 0 dependencies"));
    assert_null(strstr(b.p, "app-1 ->"));
    ad_buf_fini(&b);
    fx_free(f);
}

/* 20 000 distinct CIs: the table stays within its bound (halved, the rarest dropped). */
static void the_learned_state_is_bounded(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    for (int i = 0; i < 20000; i++) {
        char ci[16];
        snprintf(ci, sizeof(ci), "c-%d", i);
        fire(f, "misc", ci, FX_T0 + (int64_t)i * 20 * S);
    }
    struct ad_svcwin_stats st;
    ad_svcwin_get_stats(f->corr, &st);
    assert_true(st.learned_cis > 0 && st.learned_cis <= 8192);
    assert_true(st.learned_pairs <= 32768);
    fx_free(f);
}

static void learned_text(struct fx *f, struct ad_buf *b)
{
    ad_buf_reset(b);
    assert_int_equal(ad_svcwin_learned_topology(f->corr, b), 0);
    ad_buf_append(b, "", 1);
}

/* a's state saved as x, loaded into b and saved again as y: the same bytes, the same graph. */
static void assert_same_state(struct fx *a, struct fx *b, const struct ad_buf *x,
                              const struct ad_buf *y)
{
    assert_int_equal(x->len, y->len);
    assert_memory_equal(x->p, y->p, x->len);
    struct ad_buf ga, gb;
    ad_buf_init(&ga);
    ad_buf_init(&gb);
    learned_text(a, &ga);
    learned_text(b, &gb);
    assert_string_equal(ga.p, gb.p);
    ad_buf_fini(&ga);
    ad_buf_fini(&gb);
}

/* Saved and restored: the same bytes again and the same graph. */
static void the_learned_state_survives_a_snapshot(void **state)
{
    (void)state;
    struct fx *a = fx_new(), *b = fx_new();
    history(a, 8);
    struct ad_buf x, y;
    ad_buf_init(&x);
    ad_buf_init(&y);
    struct ad_wr w = {&x, 0};
    assert_int_equal(ad_svcwin_save(a->corr, &w), 0);
    struct ad_rd r = ad_rd_make(x.p, x.len);
    assert_int_equal(ad_svcwin_load(b->corr, &r), 0);
    w = (struct ad_wr){&y, 0};
    assert_int_equal(ad_svcwin_save(b->corr, &w), 0);
    assert_same_state(a, b, &x, &y);
    ad_buf_fini(&x);
    ad_buf_fini(&y);
    fx_free(a);
    fx_free(b);
}

/* The state file's payload: loaded into a new correlator, the same graph, the same bytes saved
 * again, and the counts go on from where they were (the ninth onset is counted on the eighth). */
static void the_learned_graph_survives_its_state_file(void **state)
{
    (void)state;
    struct fx *a = fx_new(), *b = fx_new(), *empty = fx_new();
    history(a, 8);
    struct ad_buf x, y, ga;
    ad_buf_init(&x);
    ad_buf_init(&y);
    ad_buf_init(&ga);
    struct ad_err err = {0};
    assert_int_equal(ad_svcwin_learned_save(a->corr, &x), 0);
    assert_int_equal(ad_svcwin_learned_load(b->corr, x.p, x.len, &err), 0);
    assert_int_equal(ad_svcwin_learned_save(b->corr, &y), 0);
    assert_same_state(a, b, &x, &y);
    learned_text(b, &ga);
    assert_non_null(strstr(ga.p, "app-1 -> db-1   # support 8, confidence 1.00"));
    fire(b, "db", "db-1", FX_T0 + 20 * 3600 * S);
    fire(b, "shop", "app-1", FX_T0 + (20 * 3600 + 35) * S);
    assert_string_equal(b->last_reason,
                        "'app-1' followed 'db-1' in 8 of its 9 failures (confidence 0.89, lag "
                        "40s; learned)");
    /* A correlator that never learned saves an empty graph, which loads back as one. */
    ad_buf_reset(&y);
    assert_int_equal(ad_svcwin_learned_save(empty->corr, &y), 0);
    assert_int_equal(ad_svcwin_learned_load(a->corr, y.p, y.len, &err), 0);
    learned_text(a, &ga);
    assert_non_null(strstr(ga.p, "# aiopsd learned topology: 0 dependencies among 0 CIs"));
    ad_buf_fini(&x);
    ad_buf_fini(&y);
    ad_buf_fini(&ga);
    fx_free(a);
    fx_free(b);
    fx_free(empty);
}

/* Refused with why, the running graph untouched: cut short, a byte more, another version, more
 * CIs than the bound; any single cut or flipped byte never crashes. */
static void a_corrupt_learned_state_is_refused(void **state)
{
    (void)state;
    struct fx *a = fx_new(), *b = fx_new();
    history(a, 8);
    history(b, 8);
    struct ad_buf x, bad, before, after;
    ad_buf_init(&x);
    ad_buf_init(&bad);
    ad_buf_init(&before);
    ad_buf_init(&after);
    assert_int_equal(ad_svcwin_learned_save(a->corr, &x), 0);
    learned_text(b, &before);
    struct {
        size_t len; /* of x's bytes, or x.len + 1 with a trailing 0 */
        size_t at;  /* byte overwritten with val (at < len), or SIZE_MAX */
        unsigned char val;
        const char *why;
    } cases[] = {
        {0, SIZE_MAX, 0, "learned topology: truncated"},
        {x.len - 1, SIZE_MAX, 0, "learned topology: truncated in the recent onsets"},
        {x.len + 1, SIZE_MAX, 0, "learned topology: trailing bytes after the learned state"},
        {x.len, 0, 2, "learned topology: an unknown version of the learned state"},
        {x.len, 4 + 24 + 3, 0x7f, "learned topology: more CIs than the bound"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ad_buf_reset(&bad);
        ad_buf_append(&bad, x.p, x.len);
        ad_buf_append(&bad, "", 1);
        if (cases[i].at != SIZE_MAX)
            ((unsigned char *)bad.p)[cases[i].at] = cases[i].val;
        struct ad_err err = {0};
        assert_int_equal(ad_svcwin_learned_load(b->corr, bad.p, cases[i].len, &err), -EINVAL);
        assert_string_equal(err.msg, cases[i].why);
    }
    for (size_t cut = 0; cut < x.len; cut += 13) {
        struct ad_err err = {0};
        assert_int_equal(ad_svcwin_learned_load(b->corr, x.p, cut, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "learned topology: "));
    }
    learned_text(b, &after);
    assert_string_equal(before.p, after.p);
    for (size_t at = 0; at < x.len; at += 11) { /* loaded or refused, never a crash */
        ad_buf_reset(&bad);
        ad_buf_append(&bad, x.p, x.len);
        ((unsigned char *)bad.p)[at] ^= 0xa5;
        struct ad_err err = {0};
        int r = ad_svcwin_learned_load(b->corr, bad.p, bad.len, &err);
        assert_true(r == 0 || r == -EINVAL);
        learned_text(b, &after);
    }
    ad_buf_fini(&x);
    ad_buf_fini(&bad);
    ad_buf_fini(&before);
    ad_buf_fini(&after);
    fx_free(a);
    fx_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_dependency_stands_out_and_is_written_as_a_topology_file),
        cmocka_unit_test(the_learned_order_names_the_root_cause),
        cmocka_unit_test(a_pair_seen_too_rarely_is_not_learned),
        cmocka_unit_test(the_learned_state_is_bounded),
        cmocka_unit_test(the_learned_state_survives_a_snapshot),
        cmocka_unit_test(the_learned_graph_survives_its_state_file),
        cmocka_unit_test(a_corrupt_learned_state_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
