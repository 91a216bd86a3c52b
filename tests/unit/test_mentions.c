/* tests/unit/test_mentions.c: the mentions rule (correlators/rule_mentions.c): an alert that
 * names a CI of a live incident joins it, in the name's forms (host:port, FQDN, URL, an address
 * another alert carries in its instance label); its own name and plain words are no mention; a
 * cause seen after its symptoms joins them and names the root cause; two incidents that turn out
 * to be one are merged; the words looked at per event are bounded; snapshots. */
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
#include "correlators/rule.h"
#include "correlators/service_window.h"
#include "fx_corr.h"
#include "fx_event.h"
#include "fx_svcwin.h"
#include "models/dedup.h"

#define S AD_NS_PER_S

static char *defaults[] = {"topology", "mentions", "group_by"};
static char *by_service[] = {"service"};

static struct fx_corr *fx_new(void)
{
    return fx_corr_new(
        fx_svcwin_cfg((struct ad_strlist){defaults, 3}, (struct ad_strlist){by_service, 1}), NULL);
}

/* An alert with a summary and, when ip is given, an instance label "ip:9100". */
static struct ad_event alert(const char *svc, const char *ci, const char *check, const char *summary,
                             const char *instance, int64_t t)
{
    struct ad_event ev = fx_alert(svc, ci, check, t);
    ev.summary = ad_str_c(summary);
    if (instance) {
        ev.labels[0] = (struct ad_label){ad_str_c("instance"), ad_str_c(instance)};
        ev.n_labels = 1;
    }
    return ev;
}

/* The id of the last change that listed the alert on ci. */
static const char *cand_of(struct fx_corr *f, const char *ci)
{
    char key[96];
    snprintf(key, sizeof(key), "\"resource\":\"%s\"", ci);
    for (size_t i = f->n; i-- > 0;)
        if (strstr(f->out[i], key))
            return f->id[i];
    fail_msg("no candidate lists %s", ci);
    return NULL;
}

static const char *last_of(struct fx_corr *f, const char *id)
{
    for (size_t i = f->n; i-- > 0;)
        if (strcmp(f->id[i], id) == 0)
            return f->out[i];
    return NULL;
}

static void an_alert_naming_a_ci_of_an_incident_joins_it_in_every_form(void **state)
{
    (void)state;
    const char *forms[] = {"connection refused to db-3:5432",
                           "upstream db-3.prod.internal:5432 timed out",
                           "read from http://db-3:5432/ failed", "read from 10.0.0.7:5432 failed",
                           "dial tcp DB-3:5432: connect: connection refused"};
    for (size_t k = 0; k < sizeof(forms) / sizeof(forms[0]); k++) {
        struct fx_corr *f = fx_new();
        fx_corr_feed(f, alert("orders-db", "db-3", "DBDown", "postgres on db-3 down",
                              "10.0.0.7:9100", FX_T0));
        fx_corr_feed(
            f, alert("shop", "app-7", "DBConnFail", forms[k], "10.0.1.1:9100", FX_T0 + 20 * S));
        ad_svcwin_flush(f->corr, &f->sink);
        assert_string_equal(cand_of(f, "app-7"), cand_of(f, "db-3"));
        const char *j = last_of(f, cand_of(f, "app-7"));
        assert_non_null(strstr(j, "\"correlator\":\"mentions\""));
        assert_non_null(strstr(j, "'app-7' names '"));
        /* the root cause is the named CI, without any topology */
        assert_non_null(strstr(j, "\"root_cause\":{\"ci\":\"db-3\""));
        assert_non_null(strstr(j, "the CI the candidate's other alerts name"));
        fx_corr_free(f);
    }
}

/* Its own name, its own address, plain words and numbers name nothing. */
static void own_names_and_plain_words_are_no_mention(void **state)
{
    (void)state;
    struct fx_corr *f = fx_new();
    fx_corr_feed(f, alert("a", "app-9", "CPU", "cpu on app-9 at 97%", "10.0.0.9:9100", FX_T0));
    fx_corr_feed(f, alert("b", "timeout", "Odd", "a CI with a plain name", NULL, FX_T0 + S));
    fx_corr_feed(f, alert("c", "app-10", "Latency", "app-10 (10.0.0.10) slow: timeout after 500 ms",
                          "10.0.0.10:9100", FX_T0 + 2 * S));
    ad_svcwin_flush(f->corr, &f->sink);
    assert_string_not_equal(cand_of(f, "app-10"), cand_of(f, "app-9"));
    assert_string_not_equal(cand_of(f, "app-10"), cand_of(f, "timeout"));
    struct ad_svcwin_stats st;
    ad_svcwin_get_stats(f->corr, &st);
    assert_int_equal(st.joined_by[AD_SW_MENTIONS], 0);
    assert_int_equal(st.opened, 3);
    fx_corr_free(f);
}

/* The symptom first (its cause not failing yet), then the cause: one incident, the cause its
 * root. */
static void a_cause_seen_after_its_symptom_joins_it(void **state)
{
    (void)state;
    struct fx_corr *f = fx_new();
    fx_corr_feed(
        f, alert("shop", "app-7", "DBConnFail", "connection refused to db-3:5432", NULL, FX_T0));
    fx_corr_feed(f, alert("orders-db", "db-3", "DBDown", "postgres down", NULL, FX_T0 + 30 * S));
    ad_svcwin_flush(f->corr, &f->sink);
    assert_string_equal(cand_of(f, "app-7"), cand_of(f, "db-3"));
    const char *j = last_of(f, cand_of(f, "db-3"));
    assert_non_null(strstr(j, "'db-3' is named by an alert of the incident"));
    assert_non_null(strstr(j, "\"root_cause\":{\"ci\":\"db-3\""));
    fx_corr_free(f);
}

/* stor-1 fails; app-7 names db-3 before db-3 fails (its own incident); then db-3 names stor-1:
 * the two incidents are one, app-7's is merged into stor-1's and says so. */
static void incidents_that_turn_out_one_are_merged(void **state)
{
    (void)state;
    struct fx_corr *f = fx_new();
    fx_corr_feed(f,
                 alert("storage", "stor-1", "DiskFull", "filesystem full on stor-1", NULL, FX_T0));
    fx_corr_feed(f, alert("shop", "app-7", "DBConnFail", "connection refused to db-3:5432", NULL,
                          FX_T0 + 10 * S));
    char merged[AD_CAND_ID_LEN + 1];
    snprintf(merged, sizeof(merged), "%s", cand_of(f, "app-7"));
    assert_string_not_equal(merged, cand_of(f, "stor-1"));
    fx_corr_feed(f, alert("orders-db", "db-3", "IOLatency", "nfs server stor-1:2049 not responding",
                          NULL, FX_T0 + 40 * S));
    fx_corr_feed(f, alert("shop", "app-7", "DBConnFail", "connection refused to db-3:5432", NULL,
                          FX_T0 + 70 * S)); /* a repeat: routed to where app-7 is now */
    ad_svcwin_flush(f->corr, &f->sink);
    const char *into = cand_of(f, "stor-1");
    const char *j = last_of(f, into);
    assert_non_null(strstr(j, "\"resource\":\"app-7\""));
    assert_non_null(strstr(j, "\"resource\":\"db-3\""));
    assert_non_null(strstr(j, "\"root_cause\":{\"ci\":\"stor-1\""));
    const char *gone = last_of(f, merged);
    assert_non_null(gone);
    char want[96];
    snprintf(want, sizeof(want), "\"merged_into\":\"%s\"", into);
    assert_non_null(strstr(gone, want));
    assert_null(strstr(gone, "\"resource\":\"app-7\""));
    struct ad_svcwin_stats st;
    ad_svcwin_get_stats(f->corr, &st);
    assert_int_equal(st.merged, 1);
    assert_int_equal(st.unknown_fingerprint, 0);
    assert_int_equal(st.open, 1);
    fx_corr_free(f);
}

/* Only the first words of a text are looked up (32): a name past them does not join. */
static void the_words_looked_up_per_event_are_bounded(void **state)
{
    (void)state;
    struct fx_corr *f = fx_new();
    fx_corr_feed(f, alert("x", "h-99", "Down", "down", NULL, FX_T0));
    char text[2048] = "";
    for (int i = 0; i < 40; i++) {
        char w[16];
        snprintf(w, sizeof(w), "n-%d ", i);
        strcat(text, w);
    }
    strcat(text, "h-99");
    fx_corr_feed(f, alert("y", "app-1", "Fail", text, NULL, FX_T0 + S));
    fx_corr_feed(f, alert("z", "app-2", "Fail", "then h-99 again", NULL, FX_T0 + 2 * S));
    ad_svcwin_flush(f->corr, &f->sink);
    assert_string_not_equal(cand_of(f, "app-1"), cand_of(f, "h-99"));
    assert_string_equal(cand_of(f, "app-2"), cand_of(f, "h-99"));
    fx_corr_free(f);
}

/* A snapshot mid-incident (names, mentions, namers) continues like the original. */
static void snapshot_keeps_what_was_named(void **state)
{
    (void)state;
    struct fx_corr *a = fx_new(), *b = fx_new(), *c = fx_new();
    struct ad_event before[] = {
        alert("shop", "app-7", "DBConnFail", "connection refused to db-3:5432", NULL, FX_T0),
        alert("storage", "stor-1", "DiskFull", "full", "10.9.0.1:9100", FX_T0 + S),
    };
    for (size_t i = 0; i < 2; i++) {
        fx_corr_feed(a, before[i]);
        fx_corr_feed(c, before[i]); /* c: the dedup state b would have had */
    }
    struct ad_buf x, y;
    ad_buf_init(&x);
    struct ad_wr w = {&x, 0};
    assert_int_equal(ad_svcwin_save(a->corr, &w), 0);
    struct ad_rd r = ad_rd_make(x.p, x.len);
    assert_int_equal(ad_svcwin_load(b->corr, &r), 0);
    ad_buf_init(&y);
    w = (struct ad_wr){&y, 0};
    assert_int_equal(ad_svcwin_save(b->corr, &w), 0);
    assert_int_equal(x.len, y.len);
    assert_memory_equal(x.p, y.p, x.len);
    ad_dedup_destroy(b->dedup);
    b->dedup = c->dedup;
    c->dedup = NULL;
    fx_corr_clear(a);
    struct ad_event after[] = {
        alert("orders-db", "db-3", "IOLatency", "nfs server 10.9.0.1:2049 stuck", NULL,
              FX_T0 + 20 * S),
        alert("web", "web-1", "HTTP5xx", "upstream app-7:8080 returned 503", NULL, FX_T0 + 30 * S),
    };
    for (size_t i = 0; i < 2; i++) {
        fx_corr_feed(a, after[i]);
        fx_corr_feed(b, after[i]);
    }
    ad_svcwin_flush(a->corr, &a->sink);
    ad_svcwin_flush(b->corr, &b->sink);
    assert_true(a->n >= 2);
    assert_int_equal(a->n, b->n);
    for (size_t i = 0; i < a->n; i++)
        assert_string_equal(a->out[i], b->out[i]);
    assert_string_equal(cand_of(b, "web-1"), cand_of(b, "stor-1"));
    ad_buf_fini(&x);
    ad_buf_fini(&y);
    fx_corr_free(a);
    fx_corr_free(b);
    fx_corr_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(an_alert_naming_a_ci_of_an_incident_joins_it_in_every_form),
        cmocka_unit_test(own_names_and_plain_words_are_no_mention),
        cmocka_unit_test(a_cause_seen_after_its_symptom_joins_it),
        cmocka_unit_test(incidents_that_turn_out_one_are_merged),
        cmocka_unit_test(the_words_looked_up_per_event_are_bounded),
        cmocka_unit_test(snapshot_keeps_what_was_named),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
