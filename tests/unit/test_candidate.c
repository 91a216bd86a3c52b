/* tests/unit/test_candidate.c: the candidate JSON that ITSM consumers read (docs/redis.md),
 * checked by parsing it back with an independent parser (jansson): every documented field, the
 * member bound, and hostile strings that must stay valid JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/time.h"
#include "correlators/candidate.h"

#define T0 INT64_C(1795510800000000000) /* 2026-11-24T09:00:00Z */

static void add_member(struct ad_candidate *c, const char *resource, const char *check,
                       enum ad_severity sev, enum ad_status st, int64_t t)
{
    if (c->n_members == c->cap_members) {
        c->cap_members = c->cap_members ? c->cap_members * 2 : 4;
        c->members = realloc(c->members, c->cap_members * sizeof(*c->members));
    }
    struct ad_cand_member *m = &c->members[c->n_members++];
    memset(m, 0, sizeof(*m));
    m->fingerprint = 0xabcdef0123456789ull + c->n_members;
    m->resource = strdup(resource);
    m->check = strdup(check);
    m->severity = sev;
    m->status = st;
    m->first_seen_ns = t;
    m->last_seen_ns = t + AD_NS_PER_S;
    m->count = 3;
}

static void make(struct ad_candidate *c)
{
    memset(c, 0, sizeof(*c));
    snprintf(c->id, sizeof(c->id), "inc-0123456789abcdef");
    c->state = AD_CAND_UPDATED;
    c->version = 7;
    c->priority = 2;
    c->severity = AD_SEV_MAJOR;
    c->service = strdup("checkout");
    c->ci = strdup("db-1.prod");
    c->title = strdup("DBConnFail on db-1.prod and 2 more alerts");
    c->alert_count = 3;
    c->alerts_firing = 2;
    c->event_count = 42;
    c->first_seen_ns = T0;
    c->last_seen_ns = T0 + 90 * AD_NS_PER_S + 250 * AD_NS_PER_MS;
    c->updated_ns = c->last_seen_ns;
    c->correlator = "service_window";
    c->reason = strdup("same service 'checkout' within 600s");
    add_member(c, "db-1.prod", "DBConnFail", AD_SEV_MAJOR, AD_STATUS_FIRING, T0);
    add_member(c, "web-1.prod", "ErrorRate", AD_SEV_MINOR, AD_STATUS_FIRING, T0);
    add_member(c, "db-1.prod", "DiskFull", AD_SEV_WARNING, AD_STATUS_RESOLVED, T0);
}

static json_t *to_json(const struct ad_candidate *c)
{
    struct ad_buf b;
    ad_buf_init(&b);
    assert_int_equal(ad_candidate_to_json(c, &b), 0);
    json_error_t err;
    json_t *j = json_loadb(b.p, b.len, JSON_REJECT_DUPLICATES, &err);
    if (!j)
        fail_msg("candidate JSON does not parse: %s at %d: %.*s", err.text, err.position,
                 (int)b.len, b.p);
    ad_buf_fini(&b);
    return j;
}

static const char *str(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    assert_non_null(v);
    assert_true(json_is_string(v));
    return json_string_value(v);
}

static json_int_t num(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    assert_non_null(v);
    assert_true(json_is_integer(v));
    return json_integer_value(v);
}

static void every_documented_field_is_there_with_its_value(void **state)
{
    (void)state;
    struct ad_candidate c;
    make(&c);
    json_t *j = to_json(&c);
    assert_string_equal(str(j, "id"), "inc-0123456789abcdef");
    assert_string_equal(str(j, "message_key"), "inc-0123456789abcdef");
    assert_string_equal(str(j, "type"), "incident");
    assert_string_equal(str(j, "source"), "aiopsd");
    assert_string_equal(str(j, "state"), "updated");
    assert_string_equal(str(j, "resolution_state"), "New");
    assert_int_equal(num(j, "version"), 7);
    assert_string_equal(str(j, "priority"), "P2");
    assert_int_equal(num(j, "priority_level"), 2);
    assert_string_equal(str(j, "severity"), "major");
    assert_int_equal(num(j, "severity_code"), 2);
    assert_string_equal(str(j, "service"), "checkout");
    assert_string_equal(str(j, "ci"), "db-1.prod");
    assert_string_equal(str(j, "title"), "DBConnFail on db-1.prod and 2 more alerts");
    assert_int_equal(num(j, "alert_count"), 3);
    assert_int_equal(num(j, "alerts_firing"), 2);
    assert_int_equal(num(j, "event_count"), 42);
    assert_string_equal(str(j, "first_seen"), "2026-11-24T09:00:00.000Z");
    assert_string_equal(str(j, "last_seen"), "2026-11-24T09:01:30.250Z");
    assert_string_equal(str(j, "updated_at"), "2026-11-24T09:01:30.250Z");
    json_t *alerts = json_object_get(j, "alerts");
    assert_int_equal(json_array_size(alerts), 3);
    json_t *a1 = json_array_get(alerts, 1);
    assert_string_equal(str(a1, "fingerprint"), "abcdef012345678b");
    assert_string_equal(str(a1, "resource"), "web-1.prod");
    assert_string_equal(str(a1, "check"), "ErrorRate");
    assert_string_equal(str(a1, "severity"), "minor");
    assert_string_equal(str(a1, "status"), "firing");
    assert_int_equal(num(a1, "count"), 3);
    assert_string_equal(str(json_array_get(alerts, 2), "status"), "resolved");
    assert_int_equal(num(j, "alerts_omitted"), 0);
    /* distinct CIs, in order of first appearance */
    json_t *cis = json_object_get(j, "cis");
    assert_int_equal(json_array_size(cis), 2);
    assert_string_equal(json_string_value(json_array_get(cis, 0)), "db-1.prod");
    assert_string_equal(json_string_value(json_array_get(cis, 1)), "web-1.prod");
    json_t *corr = json_array_get(json_object_get(j, "correlation"), 0);
    assert_string_equal(str(corr, "correlator"), "service_window");
    assert_string_equal(str(corr, "reason"), "same service 'checkout' within 600s");
    json_decref(j);
    ad_candidate_fini(&c);
    assert_null(c.members);
}

static void resolved_maps_to_closing_and_open_to_new(void **state)
{
    (void)state;
    struct ad_candidate c;
    make(&c);
    c.state = AD_CAND_RESOLVED;
    json_t *j = to_json(&c);
    assert_string_equal(str(j, "state"), "resolved");
    assert_string_equal(str(j, "resolution_state"), "Closing");
    json_decref(j);
    c.state = AD_CAND_OPEN;
    j = to_json(&c);
    assert_string_equal(str(j, "state"), "open");
    assert_string_equal(str(j, "resolution_state"), "New");
    json_decref(j);
    ad_candidate_fini(&c);
}

static void members_past_the_listing_bound_are_counted(void **state)
{
    (void)state;
    struct ad_candidate c;
    make(&c);
    char host[32];
    for (int i = 0; i < 40; i++) {
        snprintf(host, sizeof(host), "h%02d", i);
        add_member(&c, host, "X", AD_SEV_INFO, AD_STATUS_FIRING, T0);
    }
    c.members_omitted = 5; /* past max_members: counted by the correlator, not tracked */
    json_t *j = to_json(&c);
    assert_int_equal(json_array_size(json_object_get(j, "alerts")), AD_CAND_MAX_LISTED);
    assert_int_equal(num(j, "alerts_omitted"), 43 - AD_CAND_MAX_LISTED + 5);
    assert_int_equal(json_array_size(json_object_get(j, "cis")), AD_CAND_MAX_LISTED);
    json_decref(j);
    /* max_listed (the correlator's option) moves the bound both ways. */
    c.max_listed = 5;
    j = to_json(&c);
    assert_int_equal(json_array_size(json_object_get(j, "alerts")), 5);
    assert_int_equal(num(j, "alerts_omitted"), 43 - 5 + 5);
    assert_int_equal(json_array_size(json_object_get(j, "cis")), 5);
    json_decref(j);
    c.max_listed = 1000;
    j = to_json(&c);
    assert_int_equal(json_array_size(json_object_get(j, "alerts")), 43); /* make()'s 3 too */
    assert_int_equal(num(j, "alerts_omitted"), 5);
    json_decref(j);
    ad_candidate_fini(&c);
}

static void hostile_strings_stay_valid_json(void **state)
{
    (void)state;
    struct ad_candidate c;
    make(&c);
    free(c.service);
    c.service = strdup("a\"b\\c\n\t\x01</script>");
    free(c.title);
    c.title = strdup("bad utf8 \xff\xfe end");
    free(c.members[0].resource);
    c.members[0].resource = strdup("\xe2\x82"); /* truncated sequence */
    json_t *j = to_json(&c);
    assert_string_equal(str(j, "service"), "a\"b\\c\n\t\x01</script>");
    /* invalid bytes become U+FFFD, never raw bytes in the document */
    const char *t = str(j, "title");
    assert_non_null(strstr(t, "\xef\xbf\xbd"));
    assert_null(strchr(t, '\xff'));
    json_decref(j);
    ad_candidate_fini(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_documented_field_is_there_with_its_value),
        cmocka_unit_test(resolved_maps_to_closing_and_open_to_new),
        cmocka_unit_test(members_past_the_listing_bound_are_counted),
        cmocka_unit_test(hostile_strings_stay_valid_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
