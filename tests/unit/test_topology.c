/* tests/unit/test_topology.c: the configuration-item graph (parsing with file:line:column
 * errors, heights, walks) and the correlator's linking rules built on it: topology joins across
 * services with the deepest failing CI as root cause, group_by on labels, rule order, reload of
 * the graph, snapshots. */
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
#include "correlators/service_window.h"
#include "correlators/topology.h"
#include "common/minhash.h"
#include "correlators/cooccur.h"
#include "fx_corr.h"
#include "fx_event.h"
#include "fx_svcwin.h"
#include "models/dedup.h"

#define S AD_NS_PER_S

/* lb-1 -> web-1 -> app-1 -> db-1, app-1 -> cache-1; app-2 -> db-1; lone-1 unrelated. */
static const char graph[] = "# shop\n"
                            "node lb-1 service=edge criticality=critical\n"
                            "node web-1 service=frontend\n"
                            "node app-1 service=orders criticality=high\n"
                            "node app-2 service=billing\n"
                            "node db-1 service=orders-db criticality=critical\n"
                            "node cache-1 service=cache criticality=low\n"
                            "node lone-1\n"
                            "\n"
                            "lb-1 -> web-1   # the balancer needs the web tier\n"
                            "web-1 -> app-1\n"
                            "app-1 -> db-1 cache-1\n"
                            "app-2 -> db-1\n";

static struct ad_topology *parse(const char *text)
{
    struct ad_topology *t = NULL;
    struct ad_err err = {0};
    int r = ad_topology_parse("t.txt", text, strlen(text), &t, &err);
    if (r < 0)
        fail_msg("parse: %s", err.msg);
    return t;
}

static uint32_t node(const struct ad_topology *t, const char *name)
{
    uint32_t n = ad_topology_find(t, ad_str_c(name));
    assert_int_not_equal(n, AD_TOPO_NONE);
    return n;
}

static void graph_parses_with_heights_and_attributes(void **state)
{
    (void)state;
    struct ad_topology *t = parse(graph);
    assert_int_equal(ad_topology_nodes(t), 7);
    assert_int_equal(ad_topology_edges(t), 5);
    assert_int_equal(ad_topology_height(t, node(t, "db-1")), 0);
    assert_int_equal(ad_topology_height(t, node(t, "cache-1")), 0);
    assert_int_equal(ad_topology_height(t, node(t, "app-1")), 1);
    assert_int_equal(ad_topology_height(t, node(t, "web-1")), 2);
    assert_int_equal(ad_topology_height(t, node(t, "lb-1")), 3);
    assert_int_equal(ad_topology_criticality(t, node(t, "db-1")), AD_CRIT_CRITICAL);
    assert_int_equal(ad_topology_criticality(t, node(t, "web-1")), AD_CRIT_MEDIUM); /* default */
    assert_string_equal(ad_topology_service(t, node(t, "app-1")), "orders");
    assert_string_equal(ad_topology_service(t, node(t, "lone-1")), "");
    assert_int_equal(ad_topology_find(t, ad_str_c("db-")), AD_TOPO_NONE);
    assert_true(ad_topology_depends(t, node(t, "lb-1"), node(t, "db-1"), 3));
    assert_false(ad_topology_depends(t, node(t, "lb-1"), node(t, "db-1"), 2)); /* 3 hops */
    assert_false(ad_topology_depends(t, node(t, "db-1"), node(t, "app-1"), 5)); /* other way */
    ad_topology_free(t);
}

struct walked {
    char names[16][16];
    uint32_t hops[16];
    size_t n;
    const char *stop_at;
};

static bool record_walk(void *ctx, uint32_t n, uint32_t hops, bool down)
{
    (void)down;
    struct walked *w = ctx;
    (void)n;
    w->hops[w->n] = hops;
    w->n++;
    return false;
}

static void walks_are_nearest_first_and_bounded(void **state)
{
    (void)state;
    struct ad_topology *t = parse(graph);
    struct walked w = {0};
    /* From app-1: 1 hop db-1, cache-1 (dependencies first), web-1; 2 hops app-2, lb-1. */
    assert_false(ad_topology_walk(t, node(t, "app-1"), 2, 100, record_walk, &w));
    assert_int_equal(w.n, 5);
    assert_int_equal(w.hops[0], 1);
    assert_int_equal(w.hops[2], 1);
    assert_int_equal(w.hops[3], 2);
    assert_int_equal(w.hops[4], 2);
    memset(&w, 0, sizeof(w));
    ad_topology_walk(t, node(t, "app-1"), 1, 100, record_walk, &w);
    assert_int_equal(w.n, 3); /* depth bound */
    memset(&w, 0, sizeof(w));
    ad_topology_walk(t, node(t, "app-1"), 5, 2, record_walk, &w);
    assert_int_equal(w.n, 2); /* visit bound */
    memset(&w, 0, sizeof(w));
    ad_topology_walk(t, node(t, "lone-1"), 5, 100, record_walk, &w);
    assert_int_equal(w.n, 0);
    ad_topology_free(t);
}

static void errors_name_line_and_column(void **state)
{
    (void)state;
    static const struct {
        const char *text, *says;
    } cases[] = {
        {"node a\nnode b\na -> b c\n", "t.txt:3:8: unknown CI 'c' (declare it with a node line first)"},
        {"node a\nnode a\n", "t.txt:2:6: CI 'a' declared twice"},
        {"node a criticality=huge\n", "t.txt:1:20: criticality: expected low, medium, high or critical"},
        {"node a colour=red\n", "t.txt:1:8: unknown key 'colour'"},
        {"node a service\n", "t.txt:1:8: expected key=value"},
        {"node a\na depends b\n", "t.txt:2:3: expected 'node <ci>"},
        {"node a\na ->\n", "t.txt:2:5: expected at least one CI after '->'"},
        {"node a\na -> a\n", "t.txt:2:6: CI 'a' cannot depend on itself"},
        {"node\n", "t.txt:1:5: expected a CI name after 'node'"},
        {"x -> y\n", "t.txt:1:1: unknown CI 'x'"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct ad_topology *t = NULL;
        struct ad_err err = {0};
        assert_true(ad_topology_parse("t.txt", cases[i].text, strlen(cases[i].text), &t, &err) < 0);
        assert_null(t);
        if (!strstr(err.msg, cases[i].says))
            fail_msg("case %zu: got \"%s\", want \"%s\"", i, err.msg, cases[i].says);
    }
    struct ad_topology *t = NULL;
    struct ad_err err = {0};
    assert_true(ad_topology_load("/nonexistent/topo.txt", &t, &err) < 0);
    assert_non_null(strstr(err.msg, "/nonexistent/topo.txt: cannot open"));
    /* A cycle loads; heights stop at it. */
    t = parse("node a\nnode b\na -> b\nb -> a\n");
    assert_true(ad_topology_height(t, node(t, "a")) <= 1);
    ad_topology_free(t);
}

/* --- the correlator with topology ------------------------------------------------------------ */

static char *topo_first[] = {"topology", "group_by"};
static char *group_only[] = {"group_by"};
static char *by_service[] = {"service"};
static char *by_cluster[] = {"cluster"};

static struct ad_svcwin_cfg cfg_of(struct fx_corr *f, char **link, size_t n_link, char **group,
                                   size_t n_group)
{
    struct ad_svcwin_cfg sc =
        fx_svcwin_cfg((struct ad_strlist){link, n_link}, (struct ad_strlist){group, n_group});
    sc.topology_file = f->path;
    return sc;
}

static struct fx_corr *fx_new(char **link, size_t n_link, char **group, size_t n_group)
{
    return fx_corr_new(
        fx_svcwin_cfg((struct ad_strlist){link, n_link}, (struct ad_strlist){group, n_group}),
        graph);
}

static const char *last(struct fx_corr *f)
{
    return f->out[f->n - 1];
}

static size_t distinct_ids(struct fx_corr *f)
{
    size_t n = 0;
    for (size_t i = 0; i < f->n; i++) {
        bool seen = false;
        for (size_t j = 0; j < i; j++)
            seen = seen || strcmp(f->id[i], f->id[j]) == 0;
        n += !seen;
    }
    return n;
}

/* One database failure seen across four services, the symptoms first. */
static void cascade(struct fx_corr *f)
{
    fx_corr_feed(f, fx_alert("frontend", "web-1", "HighLatency", FX_T0));
    fx_corr_feed(f, fx_alert("edge", "lb-1", "5xxRate", FX_T0 + 2 * S));
    fx_corr_feed(f, fx_alert("orders", "app-1", "ErrorRate", FX_T0 + 4 * S));
    fx_corr_feed(f, fx_alert("orders-db", "db-1", "DBDown", FX_T0 + 6 * S));
    fx_corr_feed(f, fx_alert("billing", "app-2", "ErrorRate", FX_T0 + 8 * S));
}

/* The cascade of one database failure, across four services, in the order monitoring sees it
 * (the symptoms first): one candidate, the database named as root cause. */
static void a_cascade_across_services_is_one_incident_rooted_at_the_deepest_ci(void **state)
{
    (void)state;
    struct fx_corr *f = fx_new(topo_first, 2, by_service, 1);
    cascade(f);
    fx_corr_feed(f, fx_alert("misc", "lone-1", "DiskFull", FX_T0 + 9 * S)); /* unrelated */
    ad_svcwin_flush(f->corr, &f->sink);
    assert_int_equal(distinct_ids(f), 2);
    /* The last change of the cascade's candidate. */
    const char *j = NULL;
    for (size_t i = 0; i < f->n; i++)
        if (strcmp(f->id[i], f->id[0]) == 0)
            j = f->out[i];
    assert_non_null(strstr(j, "\"alert_count\":5"));
    assert_non_null(strstr(j, "\"root_cause\":{\"ci\":\"db-1\",\"check\":\"DBDown\""));
    assert_non_null(strstr(j, "\"ci\":\"db-1\""));
    assert_non_null(strstr(j, "\"title\":\"DBDown on db-1 and 4 more alerts\""));
    assert_non_null(strstr(j, "\"services\":[\"frontend\",\"edge\",\"orders\",\"orders-db\",\"billing\"]"));
    assert_non_null(strstr(j, "{\"correlator\":\"group_by\",\"reason\":\"same service 'frontend' within 600s\",\"alerts\":1}"));
    assert_non_null(strstr(j, "{\"correlator\":\"topology\",\"reason\":\"'lb-1' depends on 'web-1' (1 hop)\",\"alerts\":4}"));
    fx_corr_free(f);
}

/* A failing dependency explains a new alert better than an unrelated alert already firing on the
 * same CI: the symptom joins the database's incident, not the earlier CPU alert's. */
static void a_failing_dependency_wins_over_the_same_ci(void **state)
{
    (void)state;
    struct fx_corr *f = fx_new(topo_first, 2, by_service, 1);
    fx_corr_feed(f, fx_alert("orders", "app-1", "CPUSaturated", FX_T0));
    fx_corr_feed(f,
                 fx_sev(fx_alert("orders-db", "db-1", "DBDown", FX_T0 + 300 * S), AD_SEV_CRITICAL));
    fx_corr_feed(f, fx_alert("orders", "app-1", "DBConnFail", FX_T0 + 310 * S));
    ad_svcwin_flush(f->corr, &f->sink);
    assert_int_equal(distinct_ids(f), 2);
    const char *db = NULL;
    for (size_t i = 0; i < f->n; i++)
        if (strstr(f->out[i], "\"check\":\"DBDown\""))
            db = f->out[i];
    assert_non_null(db);
    assert_non_null(strstr(db, "\"check\":\"DBConnFail\""));
    assert_null(strstr(db, "CPUSaturated"));
    assert_non_null(strstr(db, "'app-1' depends on 'db-1' (1 hop)"));
    fx_corr_free(f);
}

/* The same alerts without the topology rule: one candidate per service. */
static void without_topology_the_cascade_is_five_incidents(void **state)
{
    (void)state;
    struct fx_corr *f = fx_new(group_only, 1, by_service, 1);
    cascade(f);
    ad_svcwin_flush(f->corr, &f->sink);
    assert_int_equal(distinct_ids(f), 5);
    fx_corr_free(f);
}

/* Out of the window, or farther than topology_depth, links nothing. */
static void topology_links_respect_window_and_depth(void **state)
{
    (void)state;
    struct fx_corr *f = fx_new(topo_first, 2, by_service, 1);
    fx_corr_feed(f, fx_alert("orders-db", "db-1", "DBDown", FX_T0));
    fx_corr_feed(f,
                 fx_alert("edge", "lb-1", "5xxRate", FX_T0 + 1 * S)); /* 3 hops: within depth 3 */
    fx_corr_feed(f, fx_alert("cache", "cache-1", "Evictions", FX_T0 + 700 * S)); /* window passed */
    ad_svcwin_flush(f->corr, &f->sink);
    assert_int_equal(distinct_ids(f), 2);
    fx_corr_free(f);

    char *link[] = {"topology"};
    f = fx_new(link, 1, by_service, 1);
    struct ad_svcwin_cfg sc = cfg_of(f, link, 1, by_service, 1);
    sc.topology_depth = 2;
    ad_svcwin_destroy(f->corr);
    struct ad_err err;
    assert_int_equal(ad_svcwin_create(&sc, &f->corr, &err), 0);
    fx_corr_feed(f, fx_alert("orders-db", "db-1", "DBDown", FX_T0));
    fx_corr_feed(f, fx_alert("edge", "lb-1", "5xxRate", FX_T0 + 1 * S));          /* 3 hops > 2 */
    fx_corr_feed(f, fx_alert("frontend", "web-1", "HighLatency", FX_T0 + 2 * S)); /* 2 hops */
    ad_svcwin_flush(f->corr, &f->sink);
    assert_int_equal(distinct_ids(f), 2);
    /* Only topology in `link`: the opening alert's reason says so. */
    assert_non_null(
        strstr(f->out[0], "\"correlator\":\"topology\",\"reason\":\"first alert on 'db-1'\""));
    fx_corr_free(f);
}

/* group_by on a label joins what no service links (Alertmanager-style, across sources). */
static void group_by_a_label_joins_across_services(void **state)
{
    (void)state;
    struct fx_corr *f = fx_new(group_only, 1, by_cluster, 1);
    struct ad_label eu = {ad_str_c("cluster"), ad_str_c("eu-1")};
    struct ad_label us = {ad_str_c("cluster"), ad_str_c("us-1")};
    struct ad_event a = fx_alert("search", "s-1", "NodeDown", FX_T0);
    a.labels[0] = eu;
    a.n_labels = 1;
    struct ad_event b = fx_alert("mail", "m-1", "NodeDown", FX_T0 + S);
    b.labels[0] = eu;
    b.n_labels = 1;
    struct ad_event c = fx_alert("mail", "m-2", "NodeDown", FX_T0 + 2 * S);
    c.labels[0] = us;
    c.n_labels = 1;
    fx_corr_feed(f, a);
    fx_corr_feed(f, b);
    fx_corr_feed(f, c);
    ad_svcwin_flush(f->corr, &f->sink);
    assert_int_equal(distinct_ids(f), 2);
    assert_non_null(strstr(f->out[0], "same cluster='eu-1' within 600s"));
    fx_corr_free(f);
}

/* SIGHUP re-reads the file: a new dependency links from then on; a broken file changes nothing. */
static void reconfigure_reloads_the_graph_and_keeps_it_when_broken(void **state)
{
    (void)state;
    char *link[] = {"topology"};
    struct fx_corr *f = fx_new(link, 1, by_service, 1);
    struct ad_svcwin_cfg sc = cfg_of(f, link, 1, by_service, 1);
    const struct ad_correlator_ops *ops = &ad_correlator_service_window;
    struct ad_err err = {0};
    fx_corr_feed(f, fx_alert("misc", "lone-1", "DiskFull", FX_T0));
    fx_corr_feed(f, fx_alert("orders-db", "db-1", "DBDown", FX_T0 + S)); /* lone-1 is unrelated */
    char text[1024];
    snprintf(text, sizeof(text), "%slone-1 -> db-1\n", graph);
    fx_corr_write_file(f->path, text);
    assert_int_equal(ops->reconfigure(f->corr, &sc, &err), 0);
    fx_corr_feed(f, fx_alert("misc", "lone-1", "CPU", FX_T0 + 2 * S)); /* joins lone-1's own */
    fx_corr_feed(f, fx_alert("billing", "app-2", "ErrorRate", FX_T0 + 3 * S)); /* joins db-1's */
    fx_corr_write_file(f->path, "node x\nx -> nowhere\n");
    assert_true(ops->reconfigure(f->corr, &sc, &err) < 0);
    assert_non_null(strstr(err.msg, "correlators.service_window.topology_file:"));
    assert_non_null(strstr(err.msg, ":2:6: unknown CI 'nowhere'"));
    fx_corr_feed(f,
                 fx_alert("edge", "lb-1", "5xxRate", FX_T0 + 4 * S)); /* old graph still in use */
    ad_svcwin_flush(f->corr, &f->sink);
    assert_int_equal(distinct_ids(f), 2);
    fx_corr_free(f);
}

/* A snapshot taken mid-incident restores to the same output, CI index and reasons included. */
static void snapshot_with_topology_restores_identically(void **state)
{
    (void)state;
    struct fx_corr *a = fx_new(topo_first, 2, by_service, 1);
    struct fx_corr *b = fx_new(topo_first, 2, by_service, 1);
    fx_corr_feed(a, fx_alert("orders-db", "db-1", "DBDown", FX_T0));
    fx_corr_feed(a, fx_alert("orders", "app-1", "ErrorRate", FX_T0 + S));
    struct ad_buf buf;
    ad_buf_init(&buf);
    struct ad_wr w = {&buf, 0};
    assert_int_equal(ad_svcwin_save(a->corr, &w), 0);
    struct ad_rd r = ad_rd_make(buf.p, buf.len);
    assert_int_equal(ad_svcwin_load(b->corr, &r), 0);
    /* The dedup state moves with the pipeline snapshot; here both see the next alerts fresh. */
    fx_corr_clear(a);
    fx_corr_clear(b);
    struct ad_event next[] = {fx_alert("frontend", "web-1", "HighLatency", FX_T0 + 2 * S),
                              fx_alert("edge", "lb-1", "5xxRate", FX_T0 + 40 * S)};
    for (size_t i = 0; i < 2; i++) {
        fx_corr_feed(a, next[i]);
        fx_corr_feed(b, next[i]);
    }
    ad_svcwin_flush(a->corr, &a->sink);
    ad_svcwin_flush(b->corr, &b->sink);
    assert_true(a->n > 0);
    assert_int_equal(a->n, b->n);
    for (size_t i = 0; i < a->n; i++)
        assert_string_equal(a->out[i], b->out[i]);
    assert_non_null(strstr(a->out[a->n - 1], "\"root_cause\":{\"ci\":\"db-1\""));
    ad_buf_fini(&buf);
    fx_corr_free(a);
    fx_corr_free(b);
}

/* Impact from the CI's criticality and the services affected, urgency from severity and growth,
 * priority from the matrix; it never falls while the candidate lives. */
static void priority_is_impact_times_urgency_and_never_falls(void **state)
{
    (void)state;
    struct fx_corr *f = fx_new(topo_first, 2, by_service, 1);
    /* db-1 is critical: impact high; critical severity: urgency high -> P1. */
    fx_corr_feed(f, fx_sev(fx_alert("orders-db", "db-1", "DBDown", FX_T0), AD_SEV_CRITICAL));
    assert_non_null(strstr(last(f), "\"priority\":\"P1\""));
    assert_non_null(strstr(last(f), "\"impact\":\"high\",\"urgency\":\"high\""));
    assert_non_null(strstr(last(f), "impact high: critical CI 'db-1', 1 service; urgency high: "
                                    "critical severity"));
    /* cache-1 is low: impact low; warning: urgency medium -> P4. */
    fx_corr_feed(f, fx_alert("cache", "cache-1", "Evictions", FX_T0 + 700 * S));
    assert_non_null(strstr(last(f), "\"priority\":\"P4\",\"priority_level\":4,\"impact\":\"low\""));
    /* app-1 (high) depends on cache-1 and joins: impact medium, two services -> P3. */
    fx_corr_feed(f, fx_alert("orders", "app-1", "ErrorRate", FX_T0 + 701 * S));
    assert_non_null(strstr(last(f), "\"priority\":\"P3\""));
    size_t n = f->n;
    /* app-1's alert resolves: the incident keeps P3. */
    struct ad_event r = fx_resolved(fx_alert("orders", "app-1", "ErrorRate", 0), FX_T0 + 702 * S);
    fx_corr_feed(f, r);
    ad_svcwin_flush(f->corr, &f->sink);
    assert_true(f->n > n);
    assert_non_null(strstr(last(f), "\"priority\":\"P3\""));
    fx_corr_free(f);

    /* A custom matrix: everything P5 but impact high x urgency high. */
    char *m[] = {"P1", "P5", "P5", "P5", "P5", "P5", "P5", "P5", "P5"};
    f = fx_new(topo_first, 2, by_service, 1);
    struct ad_svcwin_cfg sc = cfg_of(f, topo_first, 2, by_service, 1);
    sc.priority_matrix = (struct ad_strlist){m, 9};
    ad_svcwin_destroy(f->corr);
    struct ad_err err = {0};
    assert_int_equal(ad_svcwin_create(&sc, &f->corr, &err), 0);
    fx_corr_feed(f, fx_alert("orders", "app-1", "ErrorRate", FX_T0));
    assert_non_null(strstr(last(f), "\"priority\":\"P5\""));
    m[4] = "P6";
    struct ad_svcwin *bad = NULL;
    assert_true(ad_svcwin_create(&sc, &bad, &err) < 0);
    assert_non_null(strstr(err.msg, "priority_matrix: item 5: expected P1..P5, got \"P6\""));
    sc.priority_matrix.n = 4;
    assert_true(ad_svcwin_create(&sc, &bad, &err) < 0);
    assert_non_null(strstr(err.msg, "expected 9 priorities"));
    fx_corr_free(f);
}

static size_t count_problems(struct fx_corr *f, const char *needle)
{
    size_t n = 0;
    for (size_t i = 0; i < f->n; i++)
        n += strstr(f->out[i], "\"type\":\"problem\"") && (!needle || strstr(f->out[i], needle));
    return n;
}

/* One cascade (db-1 down, app-1 failing on it) at time t, resolved 2 minutes later. */
static void outage(struct fx_corr *f, int64_t t)
{
    struct ad_event db = fx_sev(fx_alert("orders-db", "db-1", "DBDown", t), AD_SEV_CRITICAL);
    struct ad_event app = fx_alert("orders", "app-1", "DBConnFail", t + 10 * S);
    fx_corr_feed(f, db);
    fx_corr_feed(f, app);
    fx_corr_feed(f, fx_resolved(app, t + 100 * S));
    fx_corr_feed(f, fx_resolved(db, t + 120 * S));
}

/* Incidents with the same cause (root CI + check) recurring problem_threshold times within
 * problem_period raise a problem candidate listing them; more recurrences update it. */
static void recurring_incidents_raise_a_problem(void **state)
{
    (void)state;
    struct fx_corr *f = fx_new(topo_first, 2, by_service, 1);
    outage(f, FX_T0);
    outage(f, FX_T0 + 3600 * S);
    assert_int_equal(count_problems(f, NULL), 0);
    outage(f, FX_T0 + 7200 * S);
    assert_int_equal(count_problems(f, NULL), 1);
    const char *p = NULL;
    for (size_t i = 0; i < f->n; i++)
        if (strstr(f->out[i], "\"type\":\"problem\""))
            p = f->out[i];
    assert_non_null(strstr(p, "\"state\":\"open\",\"version\":1"));
    assert_non_null(strstr(p, "\"priority\":\"P1\""));
    assert_non_null(strstr(p, "\"cause\":{\"ci\":\"db-1\",\"check\":\"DBDown\"}"));
    assert_non_null(strstr(p, "\"recurrence\":{\"incidents_in_period\":3,\"period_s\":86400,"
                              "\"incidents_total\":3}"));
    assert_non_null(strstr(p, "\"title\":\"Recurring DBDown on db-1: 3 incidents within 86400s\""));
    /* Three distinct incident ids, the first incidents' ones. */
    assert_non_null(strstr(p, f->id[0]));
    outage(f, FX_T0 + 10800 * S);
    assert_int_equal(count_problems(f, "\"version\":2"), 1);
    /* Much later: the old incidents fell out of the period; one alone raises nothing new. */
    size_t before = count_problems(f, NULL);
    outage(f, FX_T0 + 5 * 86400 * S);
    assert_int_equal(count_problems(f, NULL), before);
    fx_corr_free(f);

    /* problem_threshold 0: never. */
    f = fx_new(topo_first, 2, by_service, 1);
    struct ad_svcwin_cfg sc = cfg_of(f, topo_first, 2, by_service, 1);
    sc.problem_threshold = 0;
    ad_svcwin_destroy(f->corr);
    struct ad_err err;
    assert_int_equal(ad_svcwin_create(&sc, &f->corr, &err), 0);
    for (int i = 0; i < 5; i++)
        outage(f, FX_T0 + i * 3600 * S);
    assert_int_equal(count_problems(f, NULL), 0);
    fx_corr_free(f);
}

static double sim(const char *a, const char *b)
{
    struct ad_minhash x, y;
    ad_minhash_init(&x);
    ad_minhash_init(&y);
    ad_minhash_add_text(&x, ad_str_c(a));
    ad_minhash_add_text(&y, ad_str_c(b));
    return ad_minhash_similarity(&x, &y);
}

static void minhash_estimates_token_set_similarity(void **state)
{
    (void)state;
    /* Numbers, case and punctuation do not matter; words do. */
    assert_true(sim("connection refused to db-17:5432", "Connection REFUSED to db-3:5432.") == 1.0);
    assert_true(sim("p99 latency 812ms above 500ms", "p99 latency 1200ms above 500ms") == 1.0);
    assert_true(sim("connection refused to db", "filesystem /data is full on stor") < 0.3);
    /* 5 of 6 words shared: Jaccard 5/7 = 0.71, estimated within +-0.25. */
    double s = sim("replication lag on primary database high now", "replication lag on replica database high now");
    assert_true(s > 0.45 && s < 0.95);
    assert_true(sim("", "anything at all") == 0);
    assert_true(sim("1 2 3 4", "1 2 3 4") == 0); /* no words: nothing to compare */
    struct ad_minhash x, y;
    ad_minhash_init(&x);
    ad_minhash_init(&y);
    ad_minhash_add_text(&x, ad_str_c("disk full on the data volume"));
    ad_minhash_add_text(&y, ad_str_c("DISK FULL on the data volume 97%"));
    for (int b = 0; b < AD_MINHASH_BANDS; b++)
        assert_true(ad_minhash_band(&x, b) == ad_minhash_band(&y, b));
}

/* The text rule joins alerts no label or dependency links, by what they say. */
static void text_rule_joins_alerts_that_say_the_same(void **state)
{
    (void)state;
    char *link[] = {"text"};
    struct fx_corr *f = fx_new(link, 1, by_service, 1);
    struct ad_event a = fx_alert("billing", "bill-7", "DBConnFail", FX_T0);
    a.summary = ad_str_c("connection refused to db-17:5432 (pool exhausted)");
    struct ad_event b = fx_alert("search", "search-2", "DBConnFail", FX_T0 + 5 * S);
    b.summary = ad_str_c("Connection refused to db-3:5432 (pool exhausted)");
    struct ad_event c = fx_alert("search", "search-2", "DiskFull", FX_T0 + 6 * S);
    c.summary = ad_str_c("filesystem /data on search-2 is 97% full");
    fx_corr_feed(f, a);
    fx_corr_feed(f, b);
    fx_corr_feed(f, c);
    ad_svcwin_flush(f->corr, &f->sink);
    assert_int_equal(distinct_ids(f), 2);
    bool found = false;
    for (size_t i = 0; i < f->n; i++)
        found =
            found || strstr(f->out[i], "{\"correlator\":\"text\",\"reason\":\"text like "
                                       "'DBConnFail on bill-7' (similarity 1.00)\",\"alerts\":1}");
    assert_true(found);
    fx_corr_free(f);
    /* group_by alone keeps them apart (different services). */
    f = fx_new(group_only, 1, by_service, 1);
    fx_corr_feed(f, a);
    fx_corr_feed(f, b);
    ad_svcwin_flush(f->corr, &f->sink);
    assert_int_equal(distinct_ids(f), 2);
    fx_corr_free(f);
}

static void cooccurrence_counts_kinds_that_fire_together(void **state)
{
    (void)state;
    struct ad_cooccur *c;
    assert_int_equal(ad_cooccur_create(100, &c), 0);
    struct ad_str ab[] = {ad_str_c("A"), ad_str_c("B")};
    struct ad_str abc[] = {ad_str_c("A"), ad_str_c("B"), ad_str_c("C")};
    struct ad_str a[] = {ad_str_c("A")};
    ad_cooccur_learn(c, ab, 2);
    ad_cooccur_learn(c, ab, 2);
    ad_cooccur_learn(c, abc, 3);
    ad_cooccur_learn(c, a, 1);
    struct ad_cooccur_link l[8];
    size_t n = ad_cooccur_partners(c, ad_str_c("A"), 3, 0.7, l, 8);
    assert_int_equal(n, 1);
    assert_string_equal(l[0].name, "B");
    assert_int_equal(l[0].together, 3);
    assert_int_equal(l[0].incidents, 4);
    assert_true(l[0].confidence == 0.75);
    assert_int_equal(ad_cooccur_partners(c, ad_str_c("A"), 3, 0.8, l, 8), 0); /* confidence */
    assert_int_equal(ad_cooccur_partners(c, ad_str_c("C"), 1, 0.5, l, 8), 2);  /* A and B */
    assert_int_equal(ad_cooccur_partners(c, ad_str_c("Z"), 1, 0.1, l, 8), 0);
    /* Snapshot. */
    struct ad_buf b;
    ad_buf_init(&b);
    struct ad_wr w = {&b, 0};
    assert_int_equal(ad_cooccur_save(c, &w), 0);
    struct ad_cooccur *d;
    assert_int_equal(ad_cooccur_create(100, &d), 0);
    struct ad_rd r = ad_rd_make(b.p, b.len);
    assert_int_equal(ad_cooccur_load(d, &r), 0);
    assert_int_equal(ad_cooccur_partners(d, ad_str_c("A"), 3, 0.7, l, 8), 1);
    assert_int_equal(l[0].together, 3);
    ad_buf_fini(&b);
    ad_cooccur_destroy(d);
    /* Bounded: past max_kinds the rarest kind goes. */
    ad_cooccur_destroy(c);
    assert_int_equal(ad_cooccur_create(2, &c), 0);
    ad_cooccur_learn(c, ab, 2);
    ad_cooccur_learn(c, abc, 3);
    assert_int_equal(ad_cooccur_kinds(c), 2);
    assert_true(ad_cooccur_forgotten(c) >= 1);
    ad_cooccur_destroy(c);
}

/* Learned from resolved incidents: kinds that keep firing together link across services. */
static void cooccurrence_rule_links_kinds_learned_together(void **state)
{
    (void)state;
    char *link[] = {"group_by", "cooccurrence"};
    struct fx_corr *f = fx_new(link, 2, by_service, 1);
    int64_t t = FX_T0;
    for (int i = 0; i < 3; i++, t += 3600 * S) { /* training: same service, both kinds */
        struct ad_event x = fx_alert("shop", "web-9", "HighLatency", t);
        struct ad_event y = fx_alert("shop", "pg-9", "DBConnFail", t + 5 * S);
        fx_corr_feed(f, x);
        fx_corr_feed(f, y);
        fx_corr_feed(f, fx_resolved(x, t + 60 * S));
        fx_corr_feed(f, fx_resolved(y, t + 70 * S));
    }
    size_t before = distinct_ids(f);
    fx_corr_feed(f, fx_alert("checkout", "web-1", "HighLatency", t));
    fx_corr_feed(f, fx_alert("payments", "pg-1", "DBConnFail", t + 5 * S));
    ad_svcwin_flush(f->corr, &f->sink);
    assert_int_equal(distinct_ids(f), before + 1);
    assert_non_null(strstr(last(f), "{\"correlator\":\"cooccurrence\",\"reason\":\"'DBConnFail' "
                                    "fired with 'HighLatency' in 3 of 3 incidents (confidence 1.00)\""));
    fx_corr_free(f);
}

static void bad_rules_are_refused(void **state)
{
    (void)state;
    struct fx_corr *f = fx_new(topo_first, 2, by_service, 1);
    char *bogus[] = {"topology", "magic"};
    char *twice[] = {"group_by", "group_by"};
    struct ad_err err = {0};
    struct ad_svcwin *s = NULL;
    struct ad_svcwin_cfg sc = cfg_of(f, bogus, 2, by_service, 1);
    assert_true(ad_svcwin_create(&sc, &s, &err) < 0);
    assert_non_null(strstr(err.msg, "link: unknown rule 'magic'"));
    sc = cfg_of(f, twice, 2, by_service, 1);
    assert_true(ad_svcwin_create(&sc, &s, &err) < 0);
    assert_non_null(strstr(err.msg, "repeated rule 'group_by'"));
    (void)last;
    fx_corr_free(f);
}

/* The root cause is the CI the most other member CIs depend on, even when an alert on an equally
 * deep CI came first, and it stays the root once it has recovered while others still fire. */
static void the_root_explains_most_of_the_candidate_and_survives_recovery(void **state)
{
    (void)state;
    char *link[] = {"topology"};
    struct fx_corr *f = fx_new(link, 1, by_service, 1);
    fx_corr_feed(f, fx_alert("cache", "cache-1", "CacheSlow", FX_T0));
    fx_corr_feed(f, fx_alert("orders", "app-1", "ErrorRate", FX_T0 + 5 * S));
    struct ad_event db = fx_alert("orders-db", "db-1", "DBDown", FX_T0 + 8 * S);
    fx_corr_feed(f, db); /* app-1 depends on it directly and alerted just before: joins */
    fx_corr_feed(f, fx_alert("billing", "app-2", "DBConnFail", FX_T0 + 10 * S));
    fx_corr_feed(f, fx_alert("frontend", "web-1", "HighLatency", FX_T0 + 12 * S));
    fx_corr_feed(f, fx_alert("edge", "lb-1", "5xxRate", FX_T0 + 14 * S));
    fx_corr_feed(f, fx_resolved(db, FX_T0 + 60 * S));
    ad_svcwin_flush(f->corr, &f->sink);
    assert_int_equal(distinct_ids(f), 1);
    /* db-1 explains app-1, app-2, web-1, lb-1; cache-1 only app-1, web-1, lb-1. */
    assert_non_null(strstr(last(f), "\"root_cause\":{\"ci\":\"db-1\",\"check\":\"DBDown\""));
    assert_non_null(strstr(last(f), "the CI most of the candidate's other CIs depend on"));
    fx_corr_free(f);
}

/* A cause seen after its symptom joins only a direct dependent's candidate: a database alert
 * after the load balancer's (three hops above) opens its own. */
static void a_late_cause_joins_only_a_direct_dependent(void **state)
{
    (void)state;
    char *link[] = {"topology"};
    struct fx_corr *f = fx_new(link, 1, by_service, 1);
    fx_corr_feed(f, fx_alert("edge", "lb-1", "5xxRate", FX_T0));
    fx_corr_feed(f, fx_alert("orders-db", "db-1", "DBDown", FX_T0 + 10 * S));
    ad_svcwin_flush(f->corr, &f->sink);
    assert_int_equal(distinct_ids(f), 2);
    fx_corr_free(f);
}

/* One episode: db-1 fails, app-2 follows after `delay`; both resolve. Returns whether app-2
 * joined db-1's candidate. */
static bool episode(struct fx_corr *f, int64_t t, int64_t delay)
{
    fx_corr_clear(f);
    struct ad_event db = fx_alert("orders-db", "db-1", "DBDown", t);
    struct ad_event app = fx_alert("billing", "app-2", "DBConnFail", t + delay);
    fx_corr_feed(f, db);
    fx_corr_feed(f, app);
    fx_corr_feed(f, fx_resolved(app, t + delay + 30 * S));
    fx_corr_feed(f, fx_resolved(db, t + delay + 40 * S));
    ad_svcwin_flush(f->corr, &f->sink);
    size_t incidents = 0; /* distinct incident ids (problems recur here too) */
    for (size_t i = 0; i < f->n; i++) {
        bool seen = strncmp(f->id[i], "inc-", 4) != 0;
        for (size_t j = 0; j < i && !seen; j++)
            seen = strcmp(f->id[i], f->id[j]) == 0;
        incidents += !seen;
    }
    return incidents == 1;
}

/* topology_learn: once symptoms have followed their cause within a minute many times, a
 * dependent's alert eight minutes after the cause is no longer taken for its symptom; without
 * the learning (or before enough delays were seen) topology_window (10 min) decides. */
static void the_topology_window_is_learned_from_the_delays(void **state)
{
    (void)state;
    char *link[] = {"topology"};
    struct fx_corr *f = fx_new(link, 1, by_service, 1);
    int64_t t = FX_T0;
    assert_true(episode(f, t, 480 * S)); /* nothing learned yet: within 10 minutes */
    for (int i = 0; i < 40; i++)
        assert_true(episode(f, t += 3600 * S, (10 + i % 30) * S));
    struct ad_svcwin_stats st;
    ad_svcwin_get_stats(f->corr, &st);
    assert_true(st.topology_window_learned_ns >= 60 * S);
    assert_true(st.topology_window_learned_ns <= 120 * S);
    assert_false(episode(f, t += 3600 * S, 480 * S));
    ad_svcwin_get_stats(f->corr, &st);
    assert_int_equal(st.topology_late, 1);
    assert_true(episode(f, t += 3600 * S, 20 * S));
    fx_corr_free(f);

    f = fx_new(link, 1, by_service, 1);
    struct ad_svcwin_cfg sc = cfg_of(f, link, 1, by_service, 1);
    sc.topology_learn = false;
    ad_svcwin_destroy(f->corr);
    struct ad_err err;
    assert_int_equal(ad_svcwin_create(&sc, &f->corr, &err), 0);
    t = FX_T0;
    for (int i = 0; i < 40; i++)
        assert_true(episode(f, t += 3600 * S, (10 + i % 30) * S));
    assert_true(episode(f, t += 3600 * S, 480 * S));
    ad_svcwin_get_stats(f->corr, &st);
    assert_int_equal(st.topology_window_learned_ns, 600 * S);
    fx_corr_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(graph_parses_with_heights_and_attributes),
        cmocka_unit_test(walks_are_nearest_first_and_bounded),
        cmocka_unit_test(errors_name_line_and_column),
        cmocka_unit_test(a_cascade_across_services_is_one_incident_rooted_at_the_deepest_ci),
        cmocka_unit_test(without_topology_the_cascade_is_five_incidents),
        cmocka_unit_test(a_failing_dependency_wins_over_the_same_ci),
        cmocka_unit_test(topology_links_respect_window_and_depth),
        cmocka_unit_test(group_by_a_label_joins_across_services),
        cmocka_unit_test(reconfigure_reloads_the_graph_and_keeps_it_when_broken),
        cmocka_unit_test(snapshot_with_topology_restores_identically),
        cmocka_unit_test(priority_is_impact_times_urgency_and_never_falls),
        cmocka_unit_test(recurring_incidents_raise_a_problem),
        cmocka_unit_test(minhash_estimates_token_set_similarity),
        cmocka_unit_test(text_rule_joins_alerts_that_say_the_same),
        cmocka_unit_test(cooccurrence_counts_kinds_that_fire_together),
        cmocka_unit_test(cooccurrence_rule_links_kinds_learned_together),
        cmocka_unit_test(bad_rules_are_refused),
        cmocka_unit_test(the_root_explains_most_of_the_candidate_and_survives_recovery),
        cmocka_unit_test(a_late_cause_joins_only_a_direct_dependent),
        cmocka_unit_test(the_topology_window_is_learned_from_the_delays),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
