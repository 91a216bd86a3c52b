/* tests/unit/test_silence.c: silences: the matcher syntax and its errors, anchored regexes, negative
 * matchers, labels, start and end in event time, expiry, the flag on events, config reload, the
 * shared set, and the JSON documents of the API and the silences file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/arena.h"
#include "common/buf.h"
#include "common/err.h"
#include "common/json_silence.h"
#include "fx_event.h"
#include "models/model.h"
#include "models/silence.h"

#define S AD_NS_PER_S

static struct ad_event with_label(struct ad_event ev, const char *name, const char *value)
{
    ev.labels[ev.n_labels].name = ad_str_c(name);
    ev.labels[ev.n_labels].value = ad_str_c(value);
    ev.n_labels++;
    return ev;
}

/* A set holding the given config items; fails the test when they are refused. */
static struct ad_silences *set_of(char **items, size_t n)
{
    struct ad_silences *s;
    struct ad_err err = {0};
    struct ad_strlist l = {items, n};
    assert_int_equal(ad_silences_create(&s), 0);
    int r = ad_silences_set_config(s, &l, &err);
    if (r < 0)
        fail_msg("%s", err.msg);
    return s;
}

static bool silenced(struct ad_silences *s, struct ad_event ev) { return ad_silences_match(s, &ev); }

static int config_error(const char *item, struct ad_err *err)
{
    struct ad_silences *s;
    char *items[] = {"service=ok", (char *)item};
    struct ad_strlist l = {items, 2};
    assert_int_equal(ad_silences_create(&s), 0);
    int r = ad_silences_set_config(s, &l, err);
    assert_int_equal(ad_silences_count(s, AD_SILENCE_ACTIVE, FX_T0), 0); /* all or nothing */
    ad_silences_unref(s);
    return r;
}

static void the_text_syntax_reads_matchers_and_options(void **state)
{
    (void)state;
    struct ad_arena a;
    struct ad_silence_spec sp;
    struct ad_err err = {0};
    ad_arena_init(&a, 1024);
    assert_int_equal(ad_silence_parse("service=checkout check=~Disk.* end=2026-12-24T06:00:00Z "
                                      "comment=\"disk swap, \\\"night\\\"\"",
                                      true, &a, &sp, &err), 0);
    assert_int_equal(sp.n_matchers, 2);
    assert_true(ad_str_eq_c(sp.matchers[0].name, "service"));
    assert_true(ad_str_eq_c(sp.matchers[0].value, "checkout"));
    assert_true(sp.matchers[0].is_equal && !sp.matchers[0].is_regex);
    assert_true(ad_str_eq_c(sp.matchers[1].value, "Disk.*"));
    assert_true(sp.matchers[1].is_equal && sp.matchers[1].is_regex);
    assert_int_equal(sp.start_ns, AD_SILENCE_OPEN_START);
    int64_t end;
    assert_int_equal(ad_time_parse_rfc3339(ad_str_c("2026-12-24T06:00:00Z"), &end), 0);
    assert_int_equal(sp.end_ns, end);
    assert_true(ad_str_eq_c(sp.comment, "disk swap, \"night\""));

    /* Alertmanager's brace form, commas, quoted values with blanks, negative operators. */
    assert_int_equal(ad_silence_parse("{service=\"web shop\", env!~\"dev|test\",host!=db1}", false,
                                      &a, &sp, &err), 0);
    assert_int_equal(sp.n_matchers, 3);
    assert_true(ad_str_eq_c(sp.matchers[0].value, "web shop"));
    assert_true(sp.matchers[1].is_regex && !sp.matchers[1].is_equal);
    assert_true(!sp.matchers[2].is_regex && !sp.matchers[2].is_equal);
    ad_arena_fini(&a);
}

static void syntax_errors_say_what_is_wrong(void **state)
{
    (void)state;
    static const struct {
        const char *text, *msg;
    } bad[] = {
        {"", "no matchers"},
        {"end=2026-12-24T06:00:00Z", "no matchers"},
        {"service", "expected =, !=, =~ or !~"},
        {"service=\"checkout", "unterminated"},
        {"service=a end=tomorrow", "end: expected an RFC 3339 time"},
        {"service=a end=2026-12-24T06:00:00Z end=2026-12-25T06:00:00Z", "end= given twice"},
        {"{service=a", "missing closing }"},
        {"service=a}", "unexpected }"},
        {"=a", "expected a name"},
    };
    struct ad_arena a;
    struct ad_silence_spec sp;
    ad_arena_init(&a, 1024);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct ad_err err = {0};
        assert_int_equal(ad_silence_parse(bad[i].text, true, &a, &sp, &err), -EINVAL);
        if (!strstr(err.msg, bad[i].msg))
            fail_msg("\"%s\": got \"%s\", expected \"%s\"", bad[i].text, err.msg, bad[i].msg);
    }
    struct ad_err err = {0};
    assert_int_equal(ad_silence_parse("service=a comment=x", false, &a, &sp, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "comment= is not a matcher here"));
    ad_arena_fini(&a);
}

static void config_errors_name_the_item(void **state)
{
    (void)state;
    struct ad_err err = {0};
    assert_int_equal(config_error("check=~(Disk", &err), -EINVAL);
    assert_non_null(strstr(err.msg, "models.silence.silences[1]: check: bad regex \"(Disk\""));
    assert_int_equal(config_error("env=~.*", &err), -EINVAL);
    assert_non_null(strstr(err.msg, "models.silence.silences[1]: at least one matcher must not "
                                    "match the empty string"));
    assert_int_equal(config_error("service=a start=2026-12-24T06:00:00Z end=2026-12-24T05:00:00Z",
                                  &err), -EINVAL);
    assert_non_null(strstr(err.msg, "[1]: the end is not after the start"));
    assert_int_equal(config_error("service=ok", &err), -EINVAL);
    assert_non_null(strstr(err.msg, "models.silence.silences[1]: the same as [0]"));
}

static void regexes_are_anchored_at_both_ends(void **state)
{
    (void)state;
    char *items[] = {"check=~Disk"};
    struct ad_silences *s = set_of(items, 1);
    assert_true(silenced(s, fx_alert("shop", "db1", "Disk", FX_T0)));
    assert_false(silenced(s, fx_alert("shop", "db1", "DiskFull", FX_T0)));
    assert_false(silenced(s, fx_alert("shop", "db1", "NoDisk", FX_T0)));
    ad_silences_unref(s);

    char *prefix[] = {"check=~Disk.*|CPU"};
    s = set_of(prefix, 1);
    assert_true(silenced(s, fx_alert("shop", "db1", "DiskFull", FX_T0)));
    assert_true(silenced(s, fx_alert("shop", "db1", "CPU", FX_T0)));
    assert_false(silenced(s, fx_alert("shop", "db1", "CPUHigh", FX_T0)));
    ad_silences_unref(s);
}

static void negative_matchers_and_fields(void **state)
{
    (void)state;
    char *items[] = {"service!=checkout check!~Disk.* severity=critical"};
    struct ad_silences *s = set_of(items, 1);
    struct ad_event ev = fx_sev(fx_alert("shop", "db1", "CPUHigh", FX_T0), AD_SEV_CRITICAL);
    assert_true(silenced(s, ev));
    assert_false(silenced(s, fx_sev(fx_alert("checkout", "db1", "CPUHigh", FX_T0),
                                    AD_SEV_CRITICAL)));
    assert_false(silenced(s, fx_sev(fx_alert("shop", "db1", "DiskFull", FX_T0),
                                    AD_SEV_CRITICAL)));
    assert_false(silenced(s, fx_alert("shop", "db1", "CPUHigh", FX_T0))); /* warning */
    ad_silences_unref(s);

    char *kinds[] = {"resource=db1 source=test kind=alert"};
    s = set_of(kinds, 1);
    assert_true(silenced(s, fx_alert("shop", "db1", "X", FX_T0)));
    ev = fx_alert("shop", "db1", "X", FX_T0);
    ev.kind = AD_KIND_LOG; /* only alerts are silenced */
    assert_false(silenced(s, ev));
    ad_silences_unref(s);
}

static void label_matchers_see_labels_and_absent_labels_as_empty(void **state)
{
    (void)state;
    char *items[] = {"env=prod team!=payments"};
    struct ad_silences *s = set_of(items, 1);
    struct ad_event ev = fx_alert("shop", "db1", "X", FX_T0);
    assert_false(silenced(s, ev));
    assert_true(silenced(s, with_label(ev, "env", "prod")));
    assert_false(silenced(s, with_label(with_label(ev, "env", "prod"), "team", "payments")));
    assert_false(silenced(s, with_label(ev, "env", "production")));
    ad_silences_unref(s);
}

static void start_and_end_are_judged_in_event_time(void **state)
{
    (void)state;
    char *items[] = {"service=shop start=2026-11-24T09:01:00Z end=2026-11-24T09:02:00Z"};
    struct ad_silences *s = set_of(items, 1);
    assert_false(silenced(s, fx_alert("shop", "db1", "X", FX_T0)));
    assert_true(silenced(s, fx_alert("shop", "db1", "X", FX_T0 + 60 * S)));
    assert_true(silenced(s, fx_alert("shop", "db1", "X", FX_T0 + 119 * S)));
    assert_false(silenced(s, fx_alert("shop", "db1", "X", FX_T0 + 120 * S)));
    /* A maintenance window is a silence whose start is still ahead. */
    assert_int_equal(ad_silences_count(s, AD_SILENCE_PENDING, FX_T0), 1);
    assert_int_equal(ad_silences_count(s, AD_SILENCE_ACTIVE, FX_T0 + 60 * S), 1);
    assert_int_equal(ad_silences_count(s, AD_SILENCE_EXPIRED, FX_T0 + 120 * S), 1);
    ad_silences_unref(s);
}

/* A set with the config silence service=other and two run-time silences service=shop added at
 * FX_T0 (ids in id and id2). */
static struct ad_silences *two_run_time(struct ad_arena *a, char *id, char *id2)
{
    char *items[] = {"service=other"};
    struct ad_silences *s = set_of(items, 1);
    struct ad_silence_spec sp;
    struct ad_err err = {0};
    ad_arena_init(a, 1024);
    assert_int_equal(ad_silence_parse("service=shop", false, a, &sp, &err), 0);
    assert_int_equal(ad_silences_add(s, &sp, FX_T0, id, &err), 0);
    assert_int_equal(ad_silences_add(s, &sp, FX_T0, id2, &err), 0);
    return s;
}

static void run_time_silences_start_now_expire_and_are_dropped_after_retention(void **state)
{
    (void)state;
    struct ad_arena a;
    char id[AD_SILENCE_ID_SIZE], id2[AD_SILENCE_ID_SIZE];
    struct ad_silences *s = two_run_time(&a, id, id2);
    assert_int_equal(strlen(id), 36); /* a UUID */
    assert_string_not_equal(id, id2);
    assert_false(silenced(s, fx_alert("shop", "db1", "X", FX_T0 - S))); /* before "now" */
    assert_true(silenced(s, fx_alert("shop", "db1", "X", FX_T0 + 3600 * S)));

    assert_int_equal(ad_silences_expire(s, id, FX_T0 + 10 * S), 0);
    assert_int_equal(ad_silences_expire(s, id2, FX_T0 + 10 * S), 0);
    assert_int_equal(ad_silences_expire(s, id, FX_T0 + 20 * S), 0); /* again: fine */
    assert_false(silenced(s, fx_alert("shop", "db1", "X", FX_T0 + 10 * S)));
    assert_true(silenced(s, fx_alert("shop", "db1", "X", FX_T0 + 9 * S)));
    assert_int_equal(ad_silences_expire(s, "nope", FX_T0), -ENOENT);
    char cfg_id[AD_SILENCE_ID_SIZE];
    struct ad_buf b;
    ad_buf_init(&b);
    assert_int_equal(ad_silences_to_json(s, NULL, false, FX_T0, &b), 0);
    assert_int_equal(sscanf(b.p, "[{\"id\":\"%20[^\"]\"", cfg_id), 1);
    assert_int_equal(ad_silences_expire(s, cfg_id, FX_T0), -EPERM);

    assert_int_equal(ad_silences_gc(s, FX_T0 + 3600 * S, 7200 * S), 0);
    assert_int_equal(ad_silences_gc(s, FX_T0 + 7211 * S, 7200 * S), 2);
    assert_int_equal(ad_silences_count(s, AD_SILENCE_EXPIRED, FX_T0 + 7211 * S), 0);
    assert_int_equal(ad_silences_count(s, AD_SILENCE_ACTIVE, FX_T0 + 7211 * S), 1); /* config */
    ad_buf_fini(&b);
    ad_arena_fini(&a);
    ad_silences_unref(s);
}

/* The silence store takes back a change it could not persist: an expire by restoring the
 * times, an add by removing the silence; config silences are refused. */
static void an_unpersisted_change_can_be_taken_back(void **state)
{
    (void)state;
    struct ad_arena a;
    char id[AD_SILENCE_ID_SIZE], keep[AD_SILENCE_ID_SIZE];
    struct ad_silences *s = two_run_time(&a, keep, id);

    struct ad_silence_times before, after;
    assert_int_equal(ad_silences_get_times(s, id, &before), 0);
    assert_int_equal(ad_silences_expire(s, id, FX_T0 + 10 * S), 0);
    assert_int_equal(ad_silences_get_times(s, id, &after), 0);
    assert_true(after.end_ns == FX_T0 + 10 * S);
    uint64_t gen = ad_silences_generation(s);
    assert_int_equal(ad_silences_set_times(s, id, &before), 0);
    assert_true(ad_silences_generation(s) > gen);
    assert_int_equal(ad_silences_get_times(s, id, &after), 0);
    assert_true(after.start_ns == before.start_ns && after.end_ns == before.end_ns &&
                after.updated_ns == before.updated_ns);

    assert_int_equal(ad_silences_count(s, AD_SILENCE_ACTIVE, FX_T0 + S), 3);
    assert_int_equal(ad_silences_remove(s, id), 0);
    assert_int_equal(ad_silences_remove(s, id), -ENOENT);
    assert_int_equal(ad_silences_get_times(s, id, &after), -ENOENT);
    assert_int_equal(ad_silences_count(s, AD_SILENCE_ACTIVE, FX_T0 + S), 2);
    assert_int_equal(ad_silences_check_expire(s, keep), 0); /* the other one stays */

    char cfg_id[AD_SILENCE_ID_SIZE];
    struct ad_buf b;
    ad_buf_init(&b);
    assert_int_equal(ad_silences_to_json(s, NULL, false, FX_T0, &b), 0);
    assert_int_equal(sscanf(b.p, "[{\"id\":\"%20[^\"]\"", cfg_id), 1);
    assert_int_equal(ad_silences_remove(s, cfg_id), -EPERM);
    assert_int_equal(ad_silences_set_times(s, cfg_id, &before), -EPERM);
    ad_buf_fini(&b);
    ad_arena_fini(&a);
    ad_silences_unref(s);
}

static char *model_items[] = {"service=shop check=~Disk.*", "resource=db9"};

static void *model_new(char **items, size_t n)
{
    struct ad_silence_cfg cfg = {.silences = {items, n}, .file = "", .retention_ns = 3600 * S};
    struct ad_err err = {0};
    void *m = NULL;
    assert_int_equal(ad_model_silence.create(&cfg, &m, &err), 0);
    return m;
}

static void the_model_flags_silenced_alerts_and_counts_matches(void **state)
{
    (void)state;
    void *m = model_new(model_items, 2);
    struct ad_event ev = fx_alert("shop", "db1", "DiskFull", FX_T0);
    ev.flags = AD_EVF_NEW;
    assert_int_equal(ad_model_silence.observe(m, &ev), 0);
    assert_int_equal(ev.flags, AD_EVF_NEW | AD_EVF_SILENCED);
    ev = fx_alert("shop", "db1", "CPUHigh", FX_T0);
    assert_int_equal(ad_model_silence.observe(m, &ev), 0);
    assert_int_equal(ev.flags & AD_EVF_SILENCED, 0);
    ev = fx_alert("shop", "db9", "DiskFull", FX_T0); /* both silences match */
    assert_int_equal(ad_model_silence.observe(m, &ev), 0);
    assert_true(ev.flags & AD_EVF_SILENCED);

    struct ad_buf b;
    ad_buf_init(&b);
    assert_int_equal(ad_silences_to_json(ad_silence_set_of(m), NULL, false, FX_T0, &b), 0);
    assert_non_null(strstr(b.p, "\"origin\":\"config\",\"matched\":2}"));
    assert_non_null(strstr(b.p, "\"createdBy\":\"config\""));
    assert_non_null(strstr(b.p, "{\"name\":\"check\",\"value\":\"Disk.*\",\"isRegex\":true,"
                                "\"isEqual\":true}"));
    assert_non_null(strstr(b.p, "\"status\":{\"state\":\"active\"}"));
    assert_non_null(strstr(b.p, "\"startsAt\":null,\"endsAt\":null"));
    ad_buf_fini(&b);
    ad_model_silence.destroy(m);
}

static void a_config_reload_replaces_config_silences_and_keeps_counts_of_unchanged_ones(void **state)
{
    (void)state;
    void *m = model_new(model_items, 2);
    struct ad_silences *set = ad_silence_set_of(m);
    struct ad_event ev = fx_alert("shop", "db1", "DiskFull", FX_T0);
    ad_model_silence.observe(m, &ev);
    struct ad_arena a;
    struct ad_silence_spec sp;
    struct ad_err err = {0};
    ad_arena_init(&a, 1024);
    assert_int_equal(ad_silence_parse("service=api", false, &a, &sp, &err), 0);
    assert_int_equal(ad_silences_add(set, &sp, FX_T0, NULL, &err), 0);

    char *bad[] = {"service=shop check=~Disk.*", "check=~["};
    struct ad_silence_cfg cfg = {.silences = {bad, 2}, .file = ""};
    assert_int_equal(ad_model_silence.reconfigure(m, &cfg, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "models.silence.silences[1]"));
    ev = fx_alert("x", "db9", "X", FX_T0); /* the old config is still in force */
    ad_model_silence.observe(m, &ev);
    assert_true(ev.flags & AD_EVF_SILENCED);

    char *next[] = {"service=shop check=~Disk.*", "service=new"};
    cfg.silences = (struct ad_strlist){next, 2};
    assert_int_equal(ad_model_silence.reconfigure(m, &cfg, &err), 0);
    ev = fx_alert("x", "db9", "X", FX_T0);
    ad_model_silence.observe(m, &ev);
    assert_false(ev.flags & AD_EVF_SILENCED);
    ev = fx_alert("new", "h", "X", FX_T0);
    ad_model_silence.observe(m, &ev);
    assert_true(ev.flags & AD_EVF_SILENCED);
    ev = fx_alert("api", "h", "X", FX_T0 + S); /* run-time silences survive a reload */
    ad_model_silence.observe(m, &ev);
    assert_true(ev.flags & AD_EVF_SILENCED);

    struct ad_buf b;
    ad_buf_init(&b);
    assert_int_equal(ad_silences_to_json(set, NULL, false, FX_T0, &b), 0);
    /* The unchanged item kept its id and its count (1); the new one starts at 1. */
    assert_non_null(strstr(b.p, "\"value\":\"Disk.*\",\"isRegex\":true,\"isEqual\":true}],"
                                "\"startsAt\":null,\"endsAt\":null,\"updatedAt\":null,"
                                "\"createdBy\":\"config\",\"comment\":\"\",\"origin\":\"config\","
                                "\"matched\":1}"));
    assert_null(strstr(b.p, "db9"));
    ad_buf_fini(&b);
    ad_arena_fini(&a);
    ad_model_silence.destroy(m);
}

static void pipelines_attached_to_one_set_share_run_time_silences(void **state)
{
    (void)state;
    void *m1 = model_new(NULL, 0), *m2 = model_new(NULL, 0);
    struct ad_silences *shared = set_of(model_items, 2);
    ad_silence_attach(m1, shared);
    ad_silence_attach(m2, shared);
    struct ad_arena a;
    struct ad_silence_spec sp;
    struct ad_err err = {0};
    char id[AD_SILENCE_ID_SIZE];
    ad_arena_init(&a, 1024);
    assert_int_equal(ad_silence_parse("service=late", false, &a, &sp, &err), 0);
    assert_int_equal(ad_silences_add(shared, &sp, FX_T0, id, &err), 0);
    struct ad_event e1 = fx_alert("late", "h1", "X", FX_T0), e2 = fx_alert("late", "h2", "X", FX_T0);
    ad_model_silence.observe(m1, &e1);
    ad_model_silence.observe(m2, &e2);
    assert_true((e1.flags & e2.flags) & AD_EVF_SILENCED);

    /* A reload of a pipeline leaves the shared set to its owner. */
    char *other[] = {"service=zzz"};
    struct ad_silence_cfg cfg = {.silences = {other, 1}, .file = ""};
    assert_int_equal(ad_model_silence.reconfigure(m1, &cfg, &err), 0);
    struct ad_buf b;
    ad_buf_init(&b);
    assert_int_equal(ad_silences_to_json(shared, id, false, FX_T0, &b), 0);
    assert_non_null(strstr(b.p, "\"matched\":2}"));
    assert_null(strstr(b.p, "zzz"));
    ad_buf_fini(&b);
    /* References: the owner may go first; the models keep the set alive. */
    ad_silences_unref(shared);
    e1 = fx_alert("shop", "h", "DiskFull", FX_T0);
    ad_model_silence.observe(m2, &e1);
    assert_true(e1.flags & AD_EVF_SILENCED);
    ad_model_silence.destroy(m1);
    ad_model_silence.destroy(m2);
    ad_arena_fini(&a);
}

struct got {
    struct ad_jsil v[4];
    size_t n;
};

static int collect(void *ctx, const struct ad_jsil *s, size_t idx)
{
    struct got *g = ctx;
    assert_int_equal(idx, g->n);
    g->v[g->n++] = *s;
    return 0;
}

static int parse_json(const char *doc, bool array, struct ad_arena *a, struct got *g,
                      struct ad_err *err)
{
    memset(g, 0, sizeof(*g));
    return ad_json_parse_silences(doc, strlen(doc), array, 4, a, collect, g, err);
}

static void the_api_accepts_alertmanager_silences(void **state)
{
    (void)state;
    struct ad_arena a;
    struct got g;
    struct ad_err err = {0};
    ad_arena_init(&a, 4096);
    assert_int_equal(parse_json("{\"matchers\":[{\"name\":\"service\",\"value\":\"checkout\","
                                "\"isRegex\":false},{\"name\":\"check\",\"value\":\"Disk.*\","
                                "\"isRegex\":true,\"isEqual\":false}],\"startsAt\":"
                                "\"2026-11-24T09:00:00Z\",\"endsAt\":\"2026-11-24T11:00:00Z\","
                                "\"createdBy\":\"ann\",\"comment\":\"disk \\u00e9\"}",
                                false, &a, &g, &err), 0);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.v[0].n_matchers, 2);
    assert_true(g.v[0].matchers[0].is_equal); /* isEqual defaults to true */
    assert_true(g.v[0].matchers[1].is_regex && !g.v[0].matchers[1].is_equal);
    assert_true(ad_str_eq_c(g.v[0].comment, "disk \xc3\xa9"));
    assert_true(ad_str_eq_c(g.v[0].created_by, "ann"));
    assert_null(g.v[0].id.p);

    assert_int_equal(parse_json("{\"matchers\":\"service=checkout\",\"startsAt\":null}", false,
                                &a, &g, &err), 0);
    assert_true(ad_str_eq_c(g.v[0].matchers_text, "service=checkout"));
    assert_null(g.v[0].starts_at.p);

    static const struct {
        const char *doc, *msg;
        int rc;
    } bad[] = {
        {"{\"matchers\":[{\"name\":\"a\",\"value\":\"b\",\"isRegex\":\"yes\"}]}",
         "matchers[0].isRegex: expected true or false", -EBADMSG},
        {"{\"matchers\":[{\"name\":\"a\"}]}", "matchers[0]: expected \"name\" and \"value\"",
         -EBADMSG},
        {"{\"matchers\":\"a=b\",\"endAt\":\"x\"}", "unknown field 'endAt'", -EBADMSG},
        {"{\"comment\":\"x\"}", "\"matchers\" is missing", -EBADMSG},
        {"{\"matchers\":5}", "matchers: expected an array", -EBADMSG},
        {"{\"matchers\":\"a=b\",\"endsAt\":3}", "endsAt: expected a string", -EBADMSG},
        {"{\"matchers\":\"a=b\"", "", -EBADMSG},
        {"[]", "silence: expected a JSON object", -EBADMSG},
        {"{\"matchers\":\"a=b\"} x", "trailing", -EBADMSG},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int r = parse_json(bad[i].doc, false, &a, &g, &err);
        if (r != bad[i].rc || !strstr(err.msg, bad[i].msg))
            fail_msg("%s: got %d \"%s\"", bad[i].doc, r, err.msg);
        assert_int_equal(g.n, 0);
    }
    /* Arrays (the silences file): all or nothing, errors carry the index. */
    assert_int_equal(parse_json("[{\"id\":\"a\",\"matchers\":\"x=y\",\"status\":{\"state\":"
                                "\"active\"},\"matched\":3,\"origin\":\"api\"},"
                                "{\"matchers\":[],\"comment\":1}]", true, &a, &g, &err), -EBADMSG);
    assert_int_equal(g.n, 0);
    assert_string_equal(err.msg, "silences[1]: comment: expected a string");
    ad_arena_fini(&a);
}

struct reload {
    struct ad_silences *s;
};

static int readd(void *ctx, const struct ad_jsil *j, size_t idx)
{
    (void)idx;
    struct reload *rl = ctx;
    struct ad_silence_spec sp;
    struct ad_err err = {0};
    memset(&sp, 0, sizeof(sp));
    for (size_t i = 0; i < j->n_matchers; i++)
        sp.matchers[i] = (struct ad_silence_matcher_spec){j->matchers[i].name,
                                                          j->matchers[i].value,
                                                          j->matchers[i].is_regex,
                                                          j->matchers[i].is_equal};
    sp.n_matchers = j->n_matchers;
    sp.id = j->id;
    assert_int_equal(ad_time_parse_rfc3339(j->starts_at, &sp.start_ns), 0);
    assert_int_equal(ad_time_parse_rfc3339(j->ends_at, &sp.end_ns), 0);
    sp.comment = j->comment;
    sp.created_by = j->created_by;
    return ad_silences_add(rl->s, &sp, FX_T0, NULL, &err);
}

static void the_persisted_form_reads_back_with_the_same_ids(void **state)
{
    (void)state;
    char *items[] = {"service=cfg"};
    struct ad_silences *s = set_of(items, 1), *back = set_of(NULL, 0);
    struct ad_arena a;
    struct ad_silence_spec sp;
    struct ad_err err = {0};
    char id[AD_SILENCE_ID_SIZE];
    ad_arena_init(&a, 4096);
    assert_int_equal(ad_silence_parse("{env=\"a \\\"b\\\"\", check=~\"Disk|CPU\"}", false, &a,
                                      &sp, &err), 0);
    sp.end_ns = FX_T0 + 3600 * S;
    sp.comment = ad_str_c("maintenance");
    sp.created_by = ad_str_c("ann");
    assert_int_equal(ad_silences_add(s, &sp, FX_T0, id, &err), 0);

    struct ad_buf b1, b2;
    ad_buf_init(&b1);
    ad_buf_init(&b2);
    assert_int_equal(ad_silences_to_json(s, NULL, true, FX_T0, &b1), 0);
    assert_null(strstr(b1.p, "service")); /* config silences are not persisted */
    struct reload rl = {back};
    assert_int_equal(ad_json_parse_silences(b1.p, b1.len, true, 8, &a, readd, &rl, &err), 0);
    assert_int_equal(ad_silences_to_json(back, NULL, true, FX_T0, &b2), 0);
    assert_string_equal(b1.p, b2.p);
    assert_non_null(strstr(b2.p, id));
    assert_true(silenced(back, with_label(fx_alert("s", "h", "CPU", FX_T0), "env", "a \"b\"")));
    ad_buf_fini(&b1);
    ad_buf_fini(&b2);
    ad_arena_fini(&a);
    ad_silences_unref(s);
    ad_silences_unref(back);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_text_syntax_reads_matchers_and_options),
        cmocka_unit_test(syntax_errors_say_what_is_wrong),
        cmocka_unit_test(config_errors_name_the_item),
        cmocka_unit_test(regexes_are_anchored_at_both_ends),
        cmocka_unit_test(negative_matchers_and_fields),
        cmocka_unit_test(label_matchers_see_labels_and_absent_labels_as_empty),
        cmocka_unit_test(start_and_end_are_judged_in_event_time),
        cmocka_unit_test(run_time_silences_start_now_expire_and_are_dropped_after_retention),
        cmocka_unit_test(an_unpersisted_change_can_be_taken_back),
        cmocka_unit_test(the_model_flags_silenced_alerts_and_counts_matches),
        cmocka_unit_test(a_config_reload_replaces_config_silences_and_keeps_counts_of_unchanged_ones),
        cmocka_unit_test(pipelines_attached_to_one_set_share_run_time_silences),
        cmocka_unit_test(the_api_accepts_alertmanager_silences),
        cmocka_unit_test(the_persisted_form_reads_back_with_the_same_ids),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
