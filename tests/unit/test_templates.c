/* tests/unit/test_templates.c: the templates model (models/templates.c) around the miner: log
 * events leave it with their template, new templates after the learning period and template
 * rate bursts become alerts (and resolve), the state survives a save/load with the same ids, and
 * the whole pipeline lists the templates involved in the incident. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"
#include "config/config.h"
#include "correlators/candidate.h"
#include "daemon/pipeline.h"
#include "daemon/sections.h"
#include "fx_event.h"
#include "models/templates.h"

#define S AD_NS_PER_S
#define MIN (60 * S)

struct fx {
    struct ad_config *cfg;
    struct ad_templates *t;
};

static struct fx make(const char *opts)
{
    char yaml[2048];
    snprintf(yaml, sizeof(yaml), "models:\n  templates:\n%s", opts);
    struct ad_err err = {0};
    struct fx f = {NULL, NULL};
    if (ad_config_load_string("t.yaml", yaml, strlen(yaml), ad_sections(), &f.cfg, &err) < 0)
        fail_msg("config: %s", err.msg);
    assert_int_equal(ad_templates_create(ad_config_get(f.cfg, "models.templates"), &f.t, &err), 0);
    return f;
}

static void done(struct fx *f)
{
    ad_templates_destroy(f->t);
    ad_config_destroy(f->cfg);
}

static struct ad_event logline(const char *svc, const char *host, const char *msg, int64_t t)
{
    struct ad_event ev = fx_alert(svc, host, "", t);
    ev.kind = AD_KIND_LOG;
    ev.severity = AD_SEV_INFO;
    ev.summary = ad_str_c(msg);
    return ev;
}

/* Observes one line; copies the alerts it produced into out (at most n); returns how many. */
static int feed(struct fx *f, struct ad_event *ev, struct ad_event *out, char (*checks)[64], int n)
{
    assert_int_equal(ad_templates_observe(f->t, ev), 0);
    int k = 0;
    struct ad_event a;
    while (ad_templates_take(f->t, &a) == 1) {
        if (k < n) {
            out[k] = a;
            snprintf(checks[k], 64, "%.*s", (int)a.check.len, a.check.p);
        }
        k++;
    }
    return k;
}

static int tick(struct fx *f, int64_t now, struct ad_event *out, char (*checks)[64], int n)
{
    ad_templates_expire(f->t, now);
    int k = 0;
    struct ad_event a;
    while (ad_templates_take(f->t, &a) == 1) {
        if (k < n) {
            out[k] = a;
            snprintf(checks[k], 64, "%.*s", (int)a.check.len, a.check.p);
        }
        k++;
    }
    return k;
}

static void log_events_carry_their_template_and_parameters(void **state)
{
    (void)state;
    struct fx f = make("    learning_period: 0s\n    alert_new: false\n");
    struct ad_event a = logline("db", "db-1", "connection to 10.0.0.1 refused after 30 ms", FX_T0);
    struct ad_event b = logline("db", "db-1", "connection to 10.0.0.7 refused after 45 ms", FX_T0 + S);
    struct ad_event out[4];
    char checks[4][64];
    assert_int_equal(feed(&f, &a, out, checks, 4), 0);
    uint64_t id = a.template_id;
    assert_true(id != 0);
    assert_int_equal(feed(&f, &b, out, checks, 4), 0);
    assert_true(b.template_id == id);
    char text[256];
    snprintf(text, sizeof(text), "%.*s", (int)b.template_text.len, b.template_text.p);
    assert_null(strstr(text, "10.0.0.7")); /* the address is a variable */
    assert_non_null(strstr(text, "connection to"));
    assert_true(b.n_params >= 1);
    bool found = false;
    for (uint8_t i = 0; i < b.n_params; i++)
        found = found || ad_str_eq_c(b.params[i], "10.0.0.7");
    assert_true(found);
    /* A bad extra mask in the config is refused, naming the item and the regex error. */
    struct ad_config *bad = NULL;
    struct ad_templates *bt = NULL;
    struct ad_err err = {0};
    const char *yaml = "models:\n  templates:\n    masks: [\"ok=[0-9]+\", \"broken=(ab\"]\n";
    assert_int_equal(ad_config_load_string("t.yaml", yaml, strlen(yaml), ad_sections(), &bad, &err), 0);
    assert_int_equal(ad_templates_create(ad_config_get(bad, "models.templates"), &bt, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "models.templates.masks[1]: mask \"broken\": bad regex at offset 3"));
    ad_config_destroy(bad);
    /* Another service has its own templates; alerts and metrics pass untouched. */
    struct ad_event c = logline("web", "web-1", "connection to 10.0.0.1 refused after 30 ms", FX_T0 + 2 * S);
    assert_int_equal(feed(&f, &c, out, checks, 4), 0);
    struct ad_templates_stats st;
    ad_templates_get_stats(f.t, &st);
    assert_int_equal(st.services, 2);
    assert_int_equal(st.lines, 3);
    struct ad_event al = fx_alert("web", "web-1", "CPU", FX_T0 + 3 * S);
    assert_int_equal(ad_templates_observe(f.t, &al), 0);
    assert_true(al.template_id == 0);
    done(&f);
}

static void new_templates_alert_after_the_learning_period_and_resolve(void **state)
{
    (void)state;
    struct fx f = make("    learning_period: 10m\n    new_hold: 30m\n    alert_rate: false\n");
    struct ad_event out[4];
    char checks[4][64];
    struct ad_event a = logline("db", "db-1", "checkpoint starting: time", FX_T0);
    assert_int_equal(feed(&f, &a, out, checks, 4), 0); /* learning: no alert */
    struct ad_event b = logline("db", "db-1", "FATAL: could not open relation 1663/16384/2619", FX_T0 + 11 * MIN);
    assert_int_equal(feed(&f, &b, out, checks, 4), 1);
    char want[64];
    snprintf(want, sizeof(want), "log:new:%016llx", (unsigned long long)b.template_id);
    assert_string_equal(checks[0], want);
    assert_int_equal(out[0].kind, AD_KIND_ALERT);
    assert_int_equal(out[0].status, AD_STATUS_FIRING);
    assert_true(out[0].template_id == b.template_id);
    assert_true(ad_str_eq_c(out[0].resource, "db-1"));
    assert_true(ad_str_eq_c(out[0].service, "db"));
    assert_non_null(fx_label(&out[0], "template_id"));
    assert_non_null(strstr(out[0].summary.p, "new log template in db: FATAL: could not open relation"));
    /* The same template again: no new alert. */
    struct ad_event c = logline("db", "db-1", "FATAL: could not open relation 1663/16384/2700", FX_T0 + 12 * MIN);
    assert_int_equal(feed(&f, &c, out, checks, 4), 0);
    /* new_hold later it resolves, from expire(). */
    assert_int_equal(tick(&f, FX_T0 + 20 * MIN, out, checks, 4), 0);
    assert_int_equal(tick(&f, FX_T0 + 42 * MIN, out, checks, 4), 1);
    assert_string_equal(checks[0], want);
    assert_int_equal(out[0].status, AD_STATUS_RESOLVED);
    done(&f);
}

static void a_burst_of_one_template_raises_a_rate_alert_that_resolves(void **state)
{
    (void)state;
    struct fx f = make("    alert_new: false\n    rate_warmup: 30\n    rate_min: 10\n"
                       "    rate_resolve_after: 2\n");
    struct ad_event out[8];
    char checks[8][64];
    char msg[128];
    int64_t t = FX_T0;
    int raised = 0;
    /* Two lines a minute for an hour: the usual rate. */
    for (int m = 0; m < 60; m++)
        for (int k = 0; k < 2; k++) {
            snprintf(msg, sizeof(msg), "retrying request %d to backend 10.1.1.%d", m * 2 + k, k);
            struct ad_event ev = logline("api", "api-1", msg, t + m * MIN + k * 20 * S);
            raised += feed(&f, &ev, out, checks, 8);
        }
    assert_int_equal(raised, 0);
    /* 200 in the next minute. */
    t += 60 * MIN;
    for (int k = 0; k < 200; k++) {
        snprintf(msg, sizeof(msg), "retrying request %d to backend 10.1.1.%d", 1000 + k, k % 7);
        struct ad_event ev = logline("api", "api-1", msg, t + k * 250 * AD_NS_PER_MS);
        raised += feed(&f, &ev, out, checks, 8);
    }
    assert_int_equal(raised, 0); /* the minute is not over yet */
    /* The minute ends: expire closes it. */
    assert_int_equal(tick(&f, t + MIN + S, out, checks, 8), 1);
    assert_true(strncmp(checks[0], "log:rate:", 9) == 0);
    assert_int_equal(out[0].status, AD_STATUS_FIRING);
    assert_true(out[0].has_value && out[0].value == 200);
    assert_string_equal(fx_label(&out[0], "log_rate"), "200");
    /* Back to two a minute: two quiet intervals resolve it. */
    int resolved = 0;
    for (int m = 1; m < 5; m++) {
        for (int k = 0; k < 2; k++) {
            snprintf(msg, sizeof(msg), "retrying request %d to backend 10.1.1.%d", 5000 + m * 2 + k, k);
            struct ad_event ev = logline("api", "api-1", msg, t + m * MIN + k * 20 * S);
            int n = feed(&f, &ev, out, checks, 8);
            for (int i = 0; i < n && i < 8; i++)
                resolved += out[i].status == AD_STATUS_RESOLVED;
        }
    }
    assert_int_equal(resolved, 1);
    struct ad_templates_stats st;
    ad_templates_get_stats(f.t, &st);
    assert_int_equal(st.rate_raised, 1);
    assert_int_equal(st.rate_resolved, 1);
    done(&f);
}

static void state_round_trip_keeps_ids_and_knowledge(void **state)
{
    (void)state;
    const char *opts = "    learning_period: 0s\n";
    struct fx a = make(opts), b = make(opts);
    struct ad_event out[4];
    char checks[4][64];
    const char *lines[] = {"session 4411 opened from 10.0.0.1", "disk /dev/sda1 is 91% full",
                           "job 17 finished in 3.2s"};
    uint64_t ids[3];
    for (int i = 0; i < 3; i++) {
        struct ad_event ev = logline("app", "app-1", lines[i], FX_T0 + i * S);
        feed(&a, &ev, out, checks, 4);
        ids[i] = ev.template_id;
    }
    struct ad_buf img;
    ad_buf_init(&img);
    assert_int_equal(ad_templates_save(a.t, &img), 0);
    struct ad_err err = {0};
    assert_int_equal(ad_templates_load(b.t, img.p, img.len, &err), 0);
    /* Known templates: the same ids, and no "new template" alert for them. */
    const char *again[] = {"session 4523 opened from 10.0.0.9", "disk /dev/sdb2 is 95% full",
                           "job 18 finished in 0.4s"};
    for (int i = 0; i < 3; i++) {
        struct ad_event ev = logline("app", "app-1", again[i], FX_T0 + (10 + i) * S);
        assert_int_equal(feed(&b, &ev, out, checks, 4), 0);
        assert_true(ev.template_id == ids[i]);
    }
    /* A truncated state is refused and leaves nothing behind. */
    struct fx c = make(opts);
    assert_int_equal(ad_templates_load(c.t, img.p, img.len - 3, &err), -EINVAL);
    struct ad_templates_stats st;
    ad_templates_get_stats(c.t, &st);
    assert_int_equal(st.services, 0);
    ad_buf_fini(&img);
    done(&a);
    done(&b);
    done(&c);
}

struct seen {
    struct ad_buf text;
    int n;
};
static int record(void *ctx, const struct ad_candidate *c)
{
    struct seen *s = ctx;
    assert_int_equal(ad_candidate_to_json(c, &s->text), 0);
    assert_int_equal(ad_buf_puts(&s->text, "\n"), 0);
    s->n++;
    return 0;
}

/* The pipeline: a new template after the learning period opens an incident that lists it. */
static void the_incident_lists_the_templates_involved(void **state)
{
    (void)state;
    struct ad_err err = {0};
    const char *yaml = "models:\n  templates:\n    learning_period: 1m\n";
    struct ad_config *cfg = NULL;
    assert_int_equal(ad_config_load_string("t.yaml", yaml, strlen(yaml), ad_sections(), &cfg, &err), 0);
    struct seen s = {.n = 0};
    ad_buf_init(&s.text);
    struct ad_cand_sink sink = {&s, record};
    struct ad_pipeline *p;
    assert_int_equal(ad_pipeline_create(cfg, &sink, &p, &err), 0);
    struct ad_event a = logline("db", "db-1", "checkpoint complete: wrote 120 buffers", FX_T0);
    assert_int_equal(ad_pipeline_process(p, &a), 0);
    assert_int_equal(s.n, 0); /* logs alone open nothing */
    struct ad_event b = logline("db", "db-1", "PANIC: could not write to file pg_wal/000000010000", FX_T0 + 5 * MIN);
    assert_int_equal(ad_pipeline_process(p, &b), 0);
    ad_pipeline_flush(p);
    assert_true(s.n >= 1);
    assert_non_null(strstr(s.text.p, "\"templates\":[{\"id\":\""));
    assert_non_null(strstr(s.text.p, "\"template\":\"PANIC: could not write to file"));
    assert_non_null(strstr(s.text.p, "\"check\":\"log:new:"));
    ad_pipeline_destroy(p);
    ad_buf_fini(&s.text);
    ad_config_destroy(cfg);
}

/* The value of label `name` of ev, or "" when absent. */
static struct ad_str label_of(const struct ad_event *ev, const char *name)
{
    for (uint8_t i = 0; i < ev->n_labels; i++)
        if (ad_str_eq_c(ev->labels[i].name, name))
            return ev->labels[i].value;
    return AD_STR_LIT("");
}

static void json_messages_are_mined_by_their_msg_and_fields_become_labels(void **state)
{
    (void)state;
    struct ad_event out[4];
    char checks[4][64];
    const char *line = "{\"level\":\"info\",\"msg\":\"request done in 12 ms\",\"status\":200}";
    for (int json = 1; json >= 0; json--) {
        struct fx f = make(json ? "    learning_period: 0s\n    alert_new: false\n"
                                : "    learning_period: 0s\n    alert_new: false\n    json: false\n");
        struct ad_event a = logline("api", "api-1", line, FX_T0);
        a.labels[0] = (struct ad_label){AD_STR_LIT("level"), AD_STR_LIT("warn")};
        a.n_labels = 1;
        assert_int_equal(feed(&f, &a, out, checks, 4), 0);
        struct ad_templates_stats st;
        ad_templates_get_stats(f.t, &st);
        if (json) {
            assert_true(ad_str_eq_c(a.template_text, "request done in <NUM>"));
            assert_true(ad_str_eq_c(label_of(&a, "status"), "200"));
            assert_true(ad_str_eq_c(label_of(&a, "level"), "warn")); /* the event's own label wins */
            assert_int_equal(a.n_labels, 2);
            assert_int_equal(st.json_lines, 1);
        } else {
            assert_true(a.template_text.len > 0 && a.template_text.p[0] == '{');
            assert_int_equal(a.n_labels, 1);
            assert_int_equal(st.json_lines, 0);
        }
        done(&f);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(log_events_carry_their_template_and_parameters),
        cmocka_unit_test(new_templates_alert_after_the_learning_period_and_resolve),
        cmocka_unit_test(a_burst_of_one_template_raises_a_rate_alert_that_resolves),
        cmocka_unit_test(state_round_trip_keeps_ids_and_knowledge),
        cmocka_unit_test(the_incident_lists_the_templates_involved),
        cmocka_unit_test(json_messages_are_mined_by_their_msg_and_fields_become_labels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
