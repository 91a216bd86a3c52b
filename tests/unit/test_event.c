/* tests/unit/test_event.c: the event JSON codec of common/json.h against docs/events.md: every
 * kind with its defaults, every documented rejection with its exact code, the docs' examples
 * (tests/data/events/), the writer's escaping and the parse -> write -> parse round trip. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/arena.h"
#include "common/buf.h"
#include "common/err.h"
#include "common/event.h"
#include "common/json.h"
#include "common/time.h"

#define NOW INT64_C(1795510800000000000)   /* 2026-11-24T09:00:00Z, the "receive time" */
#define T1530 INT64_C(1795534200000000000) /* 2026-11-24T15:30:00Z */
#define MAX_MSG (256 * 1024)

struct fx {
    struct ad_json_parser *p;
    struct ad_arena arena;
    struct ad_event ev;
    struct ad_err err;
};

static struct fx *F;

static int setup(void **state)
{
    F = calloc(1, sizeof(*F));
    if (!F || ad_json_parser_create(MAX_MSG, &F->p) < 0)
        return -1;
    ad_arena_init(&F->arena, 0);
    *state = F;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ad_json_parser_destroy(F->p);
    ad_arena_fini(&F->arena);
    free(F);
    F = NULL;
    return 0;
}

static int parse_n(const char *json, size_t len)
{
    memset(&F->err, 0, sizeof(F->err));
    ad_arena_reset(&F->arena);
    return ad_json_parse_event(F->p, json, len, &F->arena, NOW, &F->ev, &F->err);
}

static int parse(const char *json)
{
    return parse_n(json, strlen(json));
}

#define assert_str(slice, lit) assert_true(ad_str_eq_c((slice), (lit)))
#define assert_label(ev, name, val) assert_str(ad_event_label(&(ev), AD_STR_LIT(name)), (val))
/* The return code and a piece of the message, printed when they differ. */
#define assert_rejects(json, code, needle)                                                         \
    do {                                                                                           \
        int r_ = parse(json);                                                                      \
        if (r_ != (code) || !strstr(F->err.msg, (needle)))                                         \
            print_error("input: %s\nreturned %d (%s), expected %d; err: %s\n", (json), r_,         \
                        strerror(-r_), (code), F->err.msg);                                        \
        assert_int_equal(r_, (code));                                                              \
        assert_non_null(strstr(F->err.msg, (needle)));                                             \
    } while (0)

static char *read_file(const char *path, size_t *ret_len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    struct ad_buf b;
    ad_buf_init(&b);
    char tmp[4096];
    size_t n;
    while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
        assert_int_equal(ad_buf_append(&b, tmp, n), 0);
    fclose(f);
    return ad_buf_steal(&b, ret_len);
}

static char *fixture(const char *name, size_t *ret_len)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/events/%s", AD_TEST_DATA_DIR, name);
    return read_file(path, ret_len);
}

/* ---- valid events and their defaults ---- */

static void full_alert_fixture_sets_every_field(void **state)
{
    (void)state;
    size_t len;
    char *json = fixture("alert.json", &len);
    assert_int_equal(parse_n(json, len), 0);
    struct ad_event *ev = &F->ev;
    assert_int_equal(ev->kind, AD_KIND_ALERT);
    assert_str(ev->id, "am-4f2a9c1e");
    assert_str(ev->source, "prometheus");
    assert_str(ev->resource, "db-17.prod");
    assert_str(ev->service, "checkout");
    assert_str(ev->check, "HighLatency");
    assert_int_equal(ev->severity, AD_SEV_MAJOR);
    assert_int_equal(ev->status, AD_STATUS_FIRING);
    assert_str(ev->summary, "p99 latency 812ms above 500ms");
    assert_int_equal(ev->n_labels, 3);
    assert_label(*ev, "env", "prod");
    assert_label(*ev, "region", "eu-west-1");
    assert_label(*ev, "team", "payments");
    assert_true(ev->has_value);
    assert_true(ev->value == 812.0);
    assert_true(ev->time_ns == T1530 + 123 * AD_NS_PER_MS);
    assert_int_equal(ev->fingerprint, 0);
    assert_int_equal(ev->template_id, 0);
    assert_int_equal(ev->flags, 0);
    free(json);
}

static void minimal_alert_gets_the_documented_defaults(void **state)
{
    (void)state;
    size_t len;
    char *json = fixture("alert-minimal.json", &len);
    assert_int_equal(parse_n(json, len), 0);
    struct ad_event *ev = &F->ev;
    assert_int_equal(ev->kind, AD_KIND_ALERT);
    assert_str(ev->id, "");
    assert_non_null(ev->id.p);
    assert_str(ev->source, "unknown");
    assert_str(ev->resource, "web-03.prod");
    assert_str(ev->service, "web-03.prod");
    assert_str(ev->check, "DiskFull");
    assert_int_equal(ev->severity, AD_SEV_WARNING);
    assert_int_equal(ev->status, AD_STATUS_FIRING);
    assert_str(ev->summary, "DiskFull");
    assert_int_equal(ev->n_labels, 0);
    assert_false(ev->has_value);
    assert_true(ev->time_ns == NOW);
    free(json);
}

static void log_fixture_decodes_escapes_and_keeps_literal_label_values(void **state)
{
    (void)state;
    size_t len;
    char *json = fixture("log.json", &len);
    assert_int_equal(parse_n(json, len), 0);
    struct ad_event *ev = &F->ev;
    assert_int_equal(ev->kind, AD_KIND_LOG);
    assert_str(ev->source, "fluent-bit");
    assert_str(ev->service, "auth-api");
    assert_int_equal(ev->severity, AD_SEV_MAJOR); /* "error" */
    assert_str(ev->summary, "token refresh failed: upstream \"idp\" returned 503\nretrying in 5s");
    assert_str(ev->check, "");
    assert_label(*ev, "pod", "auth-api-7f9c-x2");
    assert_label(*ev, "attempt", "3");
    assert_label(*ev, "tls", "true");
    assert_true(ev->time_ns == T1530 + 500 * AD_NS_PER_MS);
    free(json);
}

static void metric_fixture_has_value_and_info_severity(void **state)
{
    (void)state;
    size_t len;
    char *json = fixture("metric.json", &len);
    assert_int_equal(parse_n(json, len), 0);
    struct ad_event *ev = &F->ev;
    assert_int_equal(ev->kind, AD_KIND_METRIC);
    assert_str(ev->check, "CPUUtilization");
    assert_true(ev->has_value);
    assert_true(ev->value == 97.5);
    assert_int_equal(ev->severity, AD_SEV_INFO);
    assert_int_equal(ev->status, AD_STATUS_FIRING);
    assert_str(ev->summary, "");
    assert_true(ev->time_ns == T1530 + 123 * AD_NS_PER_MS);
    free(json);
}

static void every_fixture_appears_verbatim_in_docs_events_md(void **state)
{
    (void)state;
    static const char *const names[] = {"alert.json", "alert-minimal.json", "log.json",
                                        "metric.json"};
    size_t dlen;
    char *doc = read_file(AD_SOURCE_DIR "/docs/events.md", &dlen);
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        size_t len;
        char *json = fixture(names[i], &len);
        assert_int_equal(parse_n(json, len), 0);
        while (len && json[len - 1] == '\n')
            json[--len] = '\0';
        if (!strstr(doc, json))
            print_error("docs/events.md lacks tests/data/events/%s\n", names[i]);
        assert_non_null(strstr(doc, json));
        free(json);
    }
    free(doc);
}

static void log_and_metric_default_to_info_and_alert_summary_defaults_to_check(void **state)
{
    (void)state;
    assert_int_equal(parse("{\"kind\":\"log\",\"resource\":\"h\",\"message\":\"m\"}"), 0);
    assert_int_equal(F->ev.severity, AD_SEV_INFO);
    assert_str(F->ev.summary, "m");
    assert_int_equal(
        parse("{\"kind\":\"metric\",\"resource\":\"h\",\"check\":\"c\",\"value\":-1e3}"), 0);
    assert_int_equal(F->ev.severity, AD_SEV_INFO);
    assert_true(F->ev.value == -1000.0);
    assert_int_equal(parse("{\"resource\":\"h\",\"check\":\"c\",\"summary\":\"\",\"source\":\"\","
                           "\"service\":\"\"}"),
                     0);
    assert_str(F->ev.summary, "c");
    assert_str(F->ev.source, "unknown");
    assert_str(F->ev.service, "h");
    assert_int_equal(parse("{\"resource\":\"h\",\"check\":\"c\",\"message\":\"via message\"}"), 0);
    assert_str(F->ev.summary, "via message");
}

static void severity_and_status_aliases_are_case_insensitive(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        enum ad_severity sev;
    } sevs[] = {{"CRITICAL", AD_SEV_CRITICAL}, {"Error", AD_SEV_MAJOR},
                {"warn", AD_SEV_WARNING},      {"low", AD_SEV_MINOR},
                {"debug", AD_SEV_INFO},        {"disaster", AD_SEV_CRITICAL}};
    for (size_t i = 0; i < sizeof(sevs) / sizeof(sevs[0]); i++) {
        char json[128];
        snprintf(json, sizeof(json), "{\"resource\":\"h\",\"check\":\"c\",\"severity\":\"%s\"}",
                 sevs[i].name);
        assert_int_equal(parse(json), 0);
        assert_int_equal(F->ev.severity, sevs[i].sev);
    }
    assert_int_equal(parse("{\"resource\":\"h\",\"check\":\"c\",\"status\":\"OK\"}"), 0);
    assert_int_equal(F->ev.status, AD_STATUS_RESOLVED);
    assert_int_equal(parse("{\"resource\":\"h\",\"check\":\"c\",\"status\":\"Problem\"}"), 0);
    assert_int_equal(F->ev.status, AD_STATUS_FIRING);
    assert_int_equal(parse("{\"resource\":\"h\",\"check\":\"c\",\"kind\":\"ALERT\"}"), 0);
    assert_int_equal(F->ev.kind, AD_KIND_ALERT);
}

static void strings_without_escapes_point_into_the_input(void **state)
{
    (void)state;
    const char *json =
        "{\"resource\":\"db-1\",\"check\":\"c\\u0041\",\"labels\":{\"k\":\"v\",\"n\":12}}";
    assert_int_equal(parse(json), 0);
    assert_ptr_equal(F->ev.resource.p, strstr(json, "db-1"));
    assert_ptr_equal(F->ev.labels[0].name.p, strstr(json, "{\"k\"") + 2);
    assert_ptr_equal(F->ev.labels[1].value.p, strstr(json, "12"));
    /* The escaped one was decoded elsewhere (the arena). */
    assert_str(F->ev.check, "cA");
    assert_true(F->ev.check.p < json || F->ev.check.p > json + strlen(json));
}

static void escapes_are_decoded(void **state)
{
    (void)state;
    assert_int_equal(parse("{\"resource\":\"h\",\"check\":\"c\",\"summary\":"
                           "\"q\\\" b\\\\ s\\/ \\b\\f\\n\\r\\t \\u00e9 \\u20AC \\ud83d\\ude00\"}"),
                     0);
    assert_str(F->ev.summary, "q\" b\\ s/ \b\f\n\r\t \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
    /* Keys may be escaped too. */
    assert_int_equal(
        parse("{\"\\u0072esource\":\"h\",\"check\":\"c\",\"labels\":{\"a\\nb\":\"x\"}}"), 0);
    assert_str(F->ev.resource, "h");
    assert_label(F->ev, "a\nb", "x");
}

static void rfc3339_and_epoch_timestamps_give_the_same_time(void **state)
{
    (void)state;
    static const char *const forms[] = {
        "\"2026-11-24T15:30:00.250Z\"",
        "\"2026-11-24T16:30:00.25+01:00\"",
        "\"2026-11-24 15:30:00.250z\"",
        "1795534200.25",
        "1795534200250",
        "1795534200250000",
        "1795534200250000000",
    };
    for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        char json[160];
        snprintf(json, sizeof(json), "{\"resource\":\"h\",\"check\":\"c\",\"timestamp\":%s}",
                 forms[i]);
        assert_int_equal(parse(json), 0);
        assert_true(F->ev.time_ns == T1530 + 250 * AD_NS_PER_MS);
    }
    /* Integer nanoseconds are kept exactly (a double would round them). */
    assert_int_equal(
        parse("{\"resource\":\"h\",\"check\":\"c\",\"timestamp\":1795534200123456789}"), 0);
    assert_true(F->ev.time_ns == INT64_C(1795534200123456789));
    assert_int_equal(parse("{\"resource\":\"h\",\"check\":\"c\",\"timestamp\":0}"), 0);
    assert_true(F->ev.time_ns == 0);
    /* The last accepted instant, in both forms. */
    assert_int_equal(
        parse("{\"resource\":\"h\",\"check\":\"c\",\"timestamp\":9214646399999999999}"), 0);
    assert_true(F->ev.time_ns == INT64_C(9214646399999999999));
    assert_int_equal(parse("{\"resource\":\"h\",\"check\":\"c\",\"timestamp\":\"2261-12-31T23:59:"
                           "59.999999999Z\"}"),
                     0);
    assert_true(F->ev.time_ns == INT64_C(9214646399999999999));
}

static void bad_timestamps_are_rejected(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "-1",
        "-1.5",
        "1e30",
        "18446744073709551615",
        "\"yesterday\"",
        "\"2026-13-01T00:00:00Z\"",
        "\"2026-11-24T15:30:00\"",
        "\"1969-12-31T23:59:59Z\"",
        "\"9999-12-31T23:59:59Z\"",
        "\"1970-01-01T00:30:00+01:00\"",
        "\"\"",
        "true",
        "null",
        "{}",
        "[1]",
        "9214646400000000000",
        "9223372036854775807",
        "\"2261-12-31T23:59:59-00:01\"",
        "\"2262-01-01T00:00:00Z\"",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char json[160];
        snprintf(json, sizeof(json), "{\"resource\":\"h\",\"check\":\"c\",\"timestamp\":%s}",
                 bad[i]);
        assert_rejects(json, -EBADMSG, "field 'timestamp'");
    }
}

/* ---- malformed input ---- */

static void every_truncation_of_an_event_is_malformed(void **state)
{
    (void)state;
    size_t len;
    char *json = fixture("alert.json", &len);
    while (len && (json[len - 1] == '\n' || json[len - 1] == ' '))
        len--;
    for (size_t n = 0; n < len; n++) {
        int r = parse_n(json, n);
        if (r != -EBADMSG)
            print_error("prefix of %zu bytes: %d (%s)\n", n, r, F->err.msg);
        assert_int_equal(r, -EBADMSG);
    }
    assert_int_equal(parse_n(json, len), 0);
    free(json);
}

static void top_level_must_be_an_object(void **state)
{
    (void)state;
    assert_rejects("[{\"resource\":\"h\",\"check\":\"c\"}]", -EBADMSG, "expected a JSON object");
    assert_rejects("\"resource\"", -EBADMSG, "expected a JSON object");
    assert_rejects("42", -EBADMSG, "expected a JSON object");
    assert_rejects("null", -EBADMSG, "expected a JSON object");
    assert_rejects("", -EBADMSG, "empty");
    assert_rejects("  \n ", -EBADMSG, "empty");
}

static void trailing_garbage_is_malformed_but_whitespace_is_fine(void **state)
{
    (void)state;
    assert_int_equal(parse(" \t{\"resource\":\"h\",\"check\":\"c\"}\r\n "), 0);
    /* A leading byte order mark is ignored (RFC 8259 allows it), and only there. */
    assert_int_equal(parse("\xEF\xBB\xBF{\"resource\":\"h\",\"check\":\"c\"}"), 0);
    assert_rejects(" \xEF\xBB\xBF{\"resource\":\"h\",\"check\":\"c\"}", -EBADMSG, "");
    assert_rejects("{\"resource\":\"h\",\"check\":\"c\"} x", -EBADMSG, "malformed JSON");
    assert_rejects("{\"resource\":\"h\",\"check\":\"c\"}{}", -EBADMSG, "trailing");
    assert_rejects("{\"resource\":\"h\",\"check\":\"c\"}}", -EBADMSG, "trailing");
    assert_rejects("{\"resource\":\"h\",\"check\":\"c\"},", -EBADMSG, "malformed JSON");
    assert_rejects("{\"resource\":\"h\",\"check\":\"c\",}", -EBADMSG, "malformed JSON");
    assert_rejects("{\"resource\":\"h\" \"check\":\"c\"}", -EBADMSG, "malformed JSON");
    assert_rejects("{\"resource\":\"h\",\"check\":\"c\"\"}", -EBADMSG, "malformed JSON");
    assert_rejects("{\"resource\":'h',\"check\":\"c\"}", -EBADMSG, "");
    assert_rejects("{\"resource\":\"h\tx\",\"check\":\"c\"}", -EBADMSG, "control character");
    /* A raw NUL byte after the object is not whitespace. */
    assert_int_equal(parse_n("{\"resource\":\"h\",\"check\":\"c\"}\0", 29), -EBADMSG);
}

static void wrong_types_are_rejected_naming_the_field(void **state)
{
    (void)state;
    static const struct {
        const char *field, *value, *expect;
    } cases[] = {
        {"id", "1", "expected a string"},
        {"kind", "null", "expected a string"},
        {"source", "[]", "expected a string"},
        {"resource", "{}", "expected a string"},
        {"service", "true", "expected a string"},
        {"check", "3.5", "expected a string"},
        {"severity", "4", "expected a string"},
        {"status", "false", "expected a string"},
        {"summary", "[\"x\"]", "expected a string"},
        {"message", "null", "expected a string"},
        {"labels", "[]", "expected an object"},
        {"labels", "\"env=prod\"", "expected an object"},
        {"value", "\"12\"", "expected a number"},
        {"value", "null", "expected a number"},
        {"timestamp", "true", "expected an RFC 3339 string or an epoch number"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char json[200], msg[100];
        /* resource/check first unless they are the field under test (duplicates would win). */
        if (strcmp(cases[i].field, "resource") == 0)
            snprintf(json, sizeof(json), "{\"check\":\"c\",\"resource\":%s}", cases[i].value);
        else if (strcmp(cases[i].field, "check") == 0)
            snprintf(json, sizeof(json), "{\"resource\":\"h\",\"check\":%s}", cases[i].value);
        else
            snprintf(json, sizeof(json), "{\"resource\":\"h\",\"check\":\"c\",\"%s\":%s}",
                     cases[i].field, cases[i].value);
        snprintf(msg, sizeof(msg), "field '%s': %s", cases[i].field, cases[i].expect);
        assert_rejects(json, -EBADMSG, msg);
    }
}

static void unknown_field_is_rejected_by_name(void **state)
{
    (void)state;
    assert_int_equal(parse("{\"resource\":\"h\",\"check\":\"c\",\"foo\":1}"), -EBADMSG);
    assert_string_equal(F->err.msg, "unknown field 'foo'");
    assert_rejects("{\"Resource\":\"h\"}", -EBADMSG, "unknown field 'Resource'");
    /* A long name is cut, and control characters are not echoed. */
    assert_rejects("{\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\":1}",
                   -EBADMSG, "unknown field 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...'");
    assert_rejects("{\"a\\nb\":1}", -EBADMSG, "unknown field 'a?b'");
}

static void duplicate_fields_are_rejected(void **state)
{
    (void)state;
    assert_int_equal(parse("{\"resource\":\"h\",\"check\":\"c\",\"resource\":\"h2\"}"), -EBADMSG);
    assert_string_equal(F->err.msg, "duplicate field 'resource'");
    assert_rejects("{\"resource\":\"h\",\"check\":\"c\",\"summary\":\"a\",\"message\":\"b\"}",
                   -EBADMSG, "'summary' and 'message'");
    assert_rejects("{\"resource\":\"h\",\"check\":\"c\",\"labels\":{},\"labels\":{}}", -EBADMSG,
                   "duplicate field 'labels'");
    assert_rejects("{\"resource\":\"h\",\"check\":\"c\",\"labels\":{\"a\":\"1\",\"a\":\"2\"}}",
                   -EBADMSG, "label 'a': given twice");
}

static void bad_enum_values_are_rejected_naming_the_value(void **state)
{
    (void)state;
    assert_rejects("{\"resource\":\"h\",\"check\":\"c\",\"kind\":\"trace\"}", -EBADMSG,
                   "field 'kind': unknown value 'trace'");
    assert_rejects("{\"resource\":\"h\",\"check\":\"c\",\"severity\":\"sev1\"}", -EBADMSG,
                   "field 'severity': unknown value 'sev1'");
    assert_rejects("{\"resource\":\"h\",\"check\":\"c\",\"status\":\"acked\"}", -EBADMSG,
                   "field 'status': unknown value 'acked'");
    assert_rejects("{\"resource\":\"h\",\"check\":\"c\",\"severity\":\"\"}", -EBADMSG,
                   "unknown value ''");
    assert_rejects("{\"resource\":\"h\",\"check\":\"c\",\"severity\":"
                   "\"0123456789012345678901234567890123456789-and-more\"}",
                   -EBADMSG, "unknown value '0123456789012345678901234567890123456789...'");
}

static void missing_required_fields_are_named_per_kind(void **state)
{
    (void)state;
    static const struct {
        const char *json, *msg;
    } cases[] = {
        {"{\"check\":\"c\"}", "missing required field 'resource'"},
        {"{\"resource\":\"\",\"check\":\"c\"}", "field 'resource': must not be empty"},
        {"{\"resource\":\"h\"}", "missing required field 'check'"},
        {"{\"kind\":\"metric\",\"resource\":\"h\",\"value\":1}", "missing required field 'check'"},
        {"{\"kind\":\"metric\",\"resource\":\"h\",\"check\":\"c\"}",
         "missing required field 'value'"},
        {"{\"kind\":\"log\",\"resource\":\"h\"}", "missing required field 'message'"},
        {"{\"kind\":\"log\",\"resource\":\"h\",\"summary\":\"\"}",
         "field 'summary': must not be empty"},
        {"{\"kind\":\"log\",\"message\":\"m\"}", "missing required field 'resource'"},
        {"{}", "missing required field 'resource'"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(parse(cases[i].json), -EBADMSG);
        assert_string_equal(F->err.msg, cases[i].msg);
    }
}

/* ---- bounds ---- */

static char *event_with(const char *field, size_t n, char fill, bool escaped)
{
    struct ad_buf b;
    ad_buf_init(&b);
    assert_int_equal(ad_buf_printf(&b, "{\"resource\":\"h\",\"check\":\"c\",\"%s\":\"", field), 0);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(escaped ? ad_buf_puts(&b, "\\u0041") : ad_buf_append(&b, &fill, 1), 0);
    assert_int_equal(ad_buf_puts(&b, "\"}"), 0);
    return ad_buf_steal(&b, NULL);
}

static void message_over_max_msg_is_rejected_before_parsing(void **state)
{
    (void)state;
    struct ad_json_parser *small;
    assert_int_equal(ad_json_parser_create(64, &small), 0);
    char json[80];
    memset(json, ' ', sizeof(json));
    memcpy(json, "{\"resource\":\"h\",\"check\":\"c\"}", 28);
    assert_int_equal(ad_json_parse_event(small, json, 64, &F->arena, NOW, &F->ev, &F->err), 0);
    assert_int_equal(ad_json_parse_event(small, json, 65, &F->arena, NOW, &F->ev, &F->err),
                     -EMSGSIZE);
    /* Before parsing: garbage over the bound is "too large", not "malformed". */
    assert_int_equal(
        ad_json_parse_event(small,
                            "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
                            65, &F->arena, NOW, &F->ev, &F->err),
        -EMSGSIZE);
    assert_non_null(strstr(F->err.msg, "65 bytes"));
    ad_json_parser_destroy(small);
    assert_int_equal(ad_json_parser_create(0, &small), -EINVAL);
}

static void string_fields_over_their_bound_are_rejected(void **state)
{
    (void)state;
    char *json = event_with("source", AD_MAX_FIELD_LEN, 's', false);
    assert_int_equal(parse(json), 0);
    assert_int_equal(F->ev.source.len, AD_MAX_FIELD_LEN);
    free(json);
    json = event_with("source", AD_MAX_FIELD_LEN + 1, 's', false);
    assert_rejects(json, -EMSGSIZE, "field 'source': longer than 4096 bytes");
    free(json);
    /* The bound applies to the decoded string: 4096 escapes decode to 4096 bytes. */
    json = event_with("id", AD_MAX_FIELD_LEN, 0, true);
    assert_int_equal(parse(json), 0);
    assert_int_equal(F->ev.id.len, AD_MAX_FIELD_LEN);
    free(json);
    json = event_with("id", AD_MAX_FIELD_LEN + 1, 0, true);
    assert_rejects(json, -EMSGSIZE, "field 'id': longer than 4096 bytes");
    free(json);
    json = event_with("summary", AD_MAX_SUMMARY_LEN, 'x', false);
    assert_int_equal(parse(json), 0);
    assert_int_equal(F->ev.summary.len, AD_MAX_SUMMARY_LEN);
    free(json);
    json = event_with("summary", AD_MAX_SUMMARY_LEN + 1, 'x', false);
    assert_rejects(json, -EMSGSIZE, "field 'summary': longer than 65536 bytes");
    free(json);
    json = event_with("message", AD_MAX_SUMMARY_LEN + 1, 'x', false);
    assert_rejects(json, -EMSGSIZE, "field 'message'");
    free(json);
}

static void label_names_and_values_over_their_bound_are_rejected(void **state)
{
    (void)state;
    struct ad_buf b;
    ad_buf_init(&b);
    ad_buf_puts(&b, "{\"resource\":\"h\",\"check\":\"c\",\"labels\":{\"k\":\"");
    for (int i = 0; i <= AD_MAX_FIELD_LEN; i++)
        ad_buf_puts(&b, "v");
    ad_buf_puts(&b, "\"}}");
    assert_rejects(b.p, -EMSGSIZE, "label 'k': longer than 4096 bytes");
    ad_buf_reset(&b);
    ad_buf_puts(&b, "{\"resource\":\"h\",\"check\":\"c\",\"labels\":{\"");
    for (int i = 0; i <= AD_MAX_FIELD_LEN; i++)
        ad_buf_puts(&b, "k");
    ad_buf_puts(&b, "\":\"v\"}}");
    assert_rejects(b.p, -EMSGSIZE, "field 'labels': longer than 4096 bytes");
    ad_buf_fini(&b);
}

static char *event_with_labels(int n)
{
    struct ad_buf b;
    ad_buf_init(&b);
    ad_buf_puts(&b, "{\"resource\":\"h\",\"check\":\"c\",\"labels\":{");
    for (int i = 0; i < n; i++)
        ad_buf_printf(&b, "%s\"l%d\":\"v%d\"", i ? "," : "", i, i);
    ad_buf_puts(&b, "}}");
    return ad_buf_steal(&b, NULL);
}

static void more_than_32_labels_are_rejected(void **state)
{
    (void)state;
    char *json = event_with_labels(AD_MAX_LABELS);
    assert_int_equal(parse(json), 0);
    assert_int_equal(F->ev.n_labels, AD_MAX_LABELS);
    assert_label(F->ev, "l31", "v31");
    free(json);
    json = event_with_labels(AD_MAX_LABELS + 1);
    assert_rejects(json, -EMSGSIZE, "field 'labels': more than 32 labels");
    free(json);
}

static void label_values_may_be_strings_numbers_or_bools_only(void **state)
{
    (void)state;
    assert_int_equal(
        parse("{\"resource\":\"h\",\"check\":\"c\",\"labels\":{\"a\":-1.5e3 ,\"b\":false,"
              "\"c\":\"\",\"d\":0}}"),
        0);
    assert_label(F->ev, "a", "-1.5e3");
    assert_label(F->ev, "b", "false");
    assert_label(F->ev, "c", "");
    assert_label(F->ev, "d", "0");
    assert_rejects("{\"resource\":\"h\",\"check\":\"c\",\"labels\":{\"a\":null}}", -EBADMSG,
                   "label 'a': expected a string, number or bool");
    assert_rejects("{\"resource\":\"h\",\"check\":\"c\",\"labels\":{\"a\":[]}}", -EBADMSG,
                   "label 'a': expected a string, number or bool");
    assert_rejects("{\"resource\":\"h\",\"check\":\"c\",\"labels\":{\"a\":{}}}", -EBADMSG,
                   "label 'a': expected a string, number or bool");
    assert_rejects("{\"resource\":\"h\",\"check\":\"c\",\"labels\":{\"a\":01}}", -EBADMSG,
                   "labels");
    assert_rejects("{\"resource\":\"h\",\"check\":\"c\",\"labels\":{\"a\":tru}}", -EBADMSG,
                   "labels");
    assert_rejects("{\"resource\":\"h\",\"check\":\"c\",\"labels\":{\"\":\"x\"}}", -EBADMSG,
                   "empty label name");
}

/* ---- encoding ---- */

static void invalid_utf8_anywhere_is_rejected(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "{\"resource\":\"h\xff\",\"check\":\"c\"}",            /* value: not UTF-8 at all */
        "{\"res\xc3\",\"resource\":\"h\",\"check\":\"c\"}",    /* key: truncated sequence */
        "{\"resource\":\"\xc0\xaf\",\"check\":\"c\"}",         /* overlong '/' */
        "{\"resource\":\"\xe0\x80\xaf\",\"check\":\"c\"}",     /* overlong, 3 bytes */
        "{\"resource\":\"\xed\xa0\x80\",\"check\":\"c\"}",     /* a surrogate, encoded */
        "{\"resource\":\"\xf4\x90\x80\x80\",\"check\":\"c\"}", /* above U+10FFFF */
        "{\"resource\":\"h\",\"check\":\"c\",\"labels\":{\"k\xfe\":\"v\"}}",
        "{\"resource\":\"h\",\"check\":\"c\"} \xff", /* even after the object */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_rejects(bad[i], -EILSEQ, "invalid UTF-8");
    /* Valid multi-byte UTF-8 passes untouched. */
    assert_int_equal(
        parse("{\"resource\":\"n\xc5\x93ud-\xe6\x97\xa5-\xf0\x9f\x98\x80\",\"check\":\"c\"}"), 0);
    assert_str(F->ev.resource, "n\xc5\x93ud-\xe6\x97\xa5-\xf0\x9f\x98\x80");
}

static void lone_surrogate_escapes_are_invalid_utf8(void **state)
{
    (void)state;
    assert_rejects("{\"resource\":\"\\ud800\",\"check\":\"c\"}", -EILSEQ,
                   "field 'resource': lone high surrogate");
    assert_rejects("{\"resource\":\"\\udc00x\",\"check\":\"c\"}", -EILSEQ, "lone low surrogate");
    assert_rejects("{\"resource\":\"\\ud800\\u0041\",\"check\":\"c\"}", -EILSEQ,
                   "lone high surrogate");
    assert_rejects("{\"resource\":\"h\",\"check\":\"c\",\"labels\":{\"\\udfff\":\"v\"}}", -EILSEQ,
                   "lone low surrogate");
}

static void nul_escape_is_rejected_in_values_and_keys(void **state)
{
    (void)state;
    assert_rejects("{\"resource\":\"a\\u0000b\",\"check\":\"c\"}", -EBADMSG,
                   "field 'resource': contains a NUL character");
    assert_rejects("{\"resource\":\"h\",\"check\":\"c\",\"labels\":{\"k\":\"\\u0000\"}}", -EBADMSG,
                   "NUL");
    assert_rejects("{\"resource\":\"h\",\"check\":\"c\",\"labels\":{\"\\u0000\":\"v\"}}", -EBADMSG,
                   "NUL");
    assert_rejects("{\"re\\u0000\":\"h\"}", -EBADMSG, "NUL");
}

static void bad_escapes_are_malformed(void **state)
{
    (void)state;
    assert_rejects("{\"resource\":\"a\\qb\",\"check\":\"c\"}", -EBADMSG, "bad escape");
    assert_rejects("{\"resource\":\"a\\u12G4\",\"check\":\"c\"}", -EBADMSG, "bad \\u escape");
    assert_rejects("{\"resource\":\"a\\u12\",\"check\":\"c\"}", -EBADMSG, "bad \\u escape");
}

static void a_failed_parse_leaves_ret_untouched(void **state)
{
    (void)state;
    struct ad_event ev;
    memset(&ev, 0xA5, sizeof(ev));
    struct ad_event copy = ev;
    const char *json = "{\"resource\":\"h\",\"check\":\"c\",\"severity\":\"bogus\"}";
    assert_int_equal(ad_json_parse_event(F->p, json, strlen(json), &F->arena, NOW, &ev, &F->err),
                     -EBADMSG);
    assert_memory_equal(&ev, &copy, sizeof(ev));
}

static void parser_grows_for_a_large_message_within_max_msg(void **state)
{
    (void)state;
    char *json = event_with("summary", 60000, 'y', false); /* above the initial 16 KiB */
    assert_int_equal(parse(json), 0);
    assert_int_equal(F->ev.summary.len, 60000);
    free(json);
    assert_int_equal(parse("{\"resource\":\"h\",\"check\":\"c\"}"), 0);
}

static void parser_names_its_library(void **state)
{
    (void)state;
    assert_non_null(strstr(ad_json_parser_library(), "simdjson 3."));
}

/* ---- the writer ---- */

static void writer_places_commas_and_nests(void **state)
{
    (void)state;
    struct ad_buf b;
    struct ad_jsonw w;
    ad_buf_init(&b);
    ad_jsonw_init(&w, &b);
    ad_jsonw_obj_begin(&w);
    ad_jsonw_key(&w, "a");
    ad_jsonw_int(&w, -5);
    ad_jsonw_key(&w, "b");
    ad_jsonw_arr_begin(&w);
    ad_jsonw_uint(&w, UINT64_MAX);
    ad_jsonw_bool(&w, true);
    ad_jsonw_null(&w);
    ad_jsonw_cstr(&w, NULL);
    ad_jsonw_obj_begin(&w);
    ad_jsonw_obj_end(&w);
    ad_jsonw_arr_begin(&w);
    ad_jsonw_arr_end(&w);
    ad_jsonw_str(&w, AD_STR_LIT("s"));
    ad_jsonw_arr_end(&w);
    ad_jsonw_key(&w, "c");
    ad_jsonw_double(&w, 0.1);
    ad_jsonw_obj_end(&w);
    assert_int_equal(ad_jsonw_finish(&w), 0);
    assert_string_equal(b.p, "{\"a\":-5,\"b\":[18446744073709551615,true,null,null,{},[],\"s\"],"
                             "\"c\":0.1}");
    ad_buf_fini(&b);
}

static void writer_escapes_quotes_backslashes_and_control_characters(void **state)
{
    (void)state;
    struct ad_buf b;
    struct ad_jsonw w;
    ad_buf_init(&b);
    ad_jsonw_init(&w, &b);
    ad_jsonw_obj_begin(&w);
    ad_jsonw_key(&w, "k\"\n");
    ad_jsonw_str(&w, (struct ad_str){"q\" b\\ \n\r\t\b\f \x01\x1f\x7f /\0z", 19});
    ad_jsonw_obj_end(&w);
    assert_int_equal(ad_jsonw_finish(&w), 0);
    assert_string_equal(
        b.p, "{\"k\\\"\\n\":\"q\\\" b\\\\ \\n\\r\\t\\b\\f \\u0001\\u001f\x7f /\\u0000z\"}");
    ad_buf_fini(&b);
}

static void writer_replaces_invalid_utf8_so_output_stays_valid(void **state)
{
    (void)state;
    struct ad_buf b;
    struct ad_jsonw w;
    ad_buf_init(&b);
    ad_jsonw_init(&w, &b);
    ad_jsonw_str(&w, ad_str_c("a\xff"
                              "b\xc3\xa9"
                              "c\xc0\xaf"
                              "d\xed\xa0\x80"
                              "e\xe6\x97"));
    assert_int_equal(ad_jsonw_finish(&w), 0);
    assert_string_equal(b.p, "\"a\xef\xbf\xbd"
                             "b\xc3\xa9"
                             "c\xef\xbf\xbd\xef\xbf\xbd"
                             "d\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
                             "e\xef\xbf\xbd\xef\xbf\xbd\"");
    /* What it wrote parses. */
    ad_buf_reset(&b);
    struct ad_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.resource = ad_str_c("h\xff\xfe");
    ev.check = ad_str_c("c\x80");
    assert_int_equal(ad_event_to_json(&ev, &b), 0);
    assert_int_equal(parse(b.p), 0);
    assert_str(F->ev.resource, "h\xef\xbf\xbd\xef\xbf\xbd");
    ad_buf_fini(&b);
}

static void writer_doubles_round_trip_and_non_finite_is_null(void **state)
{
    (void)state;
    static const double vals[] = {0.1, 1.0 / 3.0, -2.5e-300,          1e300,
                                  812, 0,         4503599627370497.0, 5e-324};
    struct ad_buf b;
    struct ad_jsonw w;
    ad_buf_init(&b);
    for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
        ad_buf_reset(&b);
        ad_jsonw_init(&w, &b);
        ad_jsonw_double(&w, vals[i]);
        assert_true(strtod(b.p, NULL) == vals[i]);
    }
    ad_buf_reset(&b);
    ad_jsonw_init(&w, &b);
    ad_jsonw_arr_begin(&w);
    ad_jsonw_double(&w, NAN);
    ad_jsonw_double(&w, INFINITY);
    ad_jsonw_double(&w, 812);
    ad_jsonw_arr_end(&w);
    assert_string_equal(b.p, "[null,null,812]");
    ad_buf_fini(&b);
}

static void writer_reports_nesting_past_its_bound(void **state)
{
    (void)state;
    struct ad_buf b;
    struct ad_jsonw w;
    ad_buf_init(&b);
    ad_jsonw_init(&w, &b);
    for (int i = 0; i < AD_JSONW_MAX_DEPTH + 2; i++)
        ad_jsonw_arr_begin(&w);
    assert_int_equal(ad_jsonw_finish(&w), -ENOBUFS);
    ad_buf_fini(&b);
}

static void assert_same_event(const struct ad_event *a, const struct ad_event *b)
{
    assert_int_equal(a->kind, b->kind);
    assert_int_equal(a->severity, b->severity);
    assert_int_equal(a->status, b->status);
    assert_true(a->time_ns == b->time_ns);
    assert_true(ad_str_eq(a->id, b->id));
    assert_true(ad_str_eq(a->source, b->source));
    assert_true(ad_str_eq(a->resource, b->resource));
    assert_true(ad_str_eq(a->service, b->service));
    assert_true(ad_str_eq(a->check, b->check));
    assert_true(ad_str_eq(a->summary, b->summary));
    assert_int_equal(a->has_value, b->has_value);
    if (a->has_value)
        assert_true(a->value == b->value);
    assert_int_equal(a->n_labels, b->n_labels);
    for (unsigned i = 0; i < a->n_labels; i++) {
        assert_true(ad_str_eq(a->labels[i].name, b->labels[i].name));
        assert_true(ad_str_eq(a->labels[i].value, b->labels[i].value));
    }
}

static void events_round_trip_through_the_writer(void **state)
{
    (void)state;
    static const char *const names[] = {"alert.json", "alert-minimal.json", "log.json",
                                        "metric.json"};
    struct ad_arena keep;
    ad_arena_init(&keep, 0);
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        size_t len;
        char *json = fixture(names[i], &len);
        struct ad_event first;
        struct ad_err err;
        assert_int_equal(ad_json_parse_event(F->p, json, len, &keep, NOW, &first, &err), 0);
        struct ad_buf b;
        ad_buf_init(&b);
        assert_int_equal(ad_event_to_json(&first, &b), 0);
        assert_int_equal(parse_n(b.p, b.len), 0);
        assert_same_event(&first, &F->ev);
        ad_buf_fini(&b);
        free(json);
    }
    /* Escapes and control characters survive the trip. */
    const char *json = "{\"resource\":\"a\\\"b\\\\c\",\"check\":\"\\u0001\\u001f\\t\","
                       "\"summary\":\"caf\\u00e9 \\ud83d\\ude00\",\"labels\":{\"k\\n\":\"v\\/\"}}";
    struct ad_event first;
    assert_int_equal(ad_json_parse_event(F->p, json, strlen(json), &keep, NOW, &first, &F->err), 0);
    struct ad_buf b;
    ad_buf_init(&b);
    assert_int_equal(ad_event_to_json(&first, &b), 0);
    assert_int_equal(parse_n(b.p, b.len), 0);
    assert_same_event(&first, &F->ev);
    ad_buf_fini(&b);
    ad_arena_fini(&keep);
}

static void event_json_has_the_documented_shape(void **state)
{
    (void)state;
    assert_int_equal(parse("{\"resource\":\"h\",\"check\":\"c\",\"labels\":{\"n\":5},\"value\":1.5,"
                           "\"timestamp\":\"2026-11-24T15:30:00.123456Z\",\"id\":\"x\"}"),
                     0);
    struct ad_buf b;
    ad_buf_init(&b);
    assert_int_equal(ad_event_to_json(&F->ev, &b), 0);
    assert_string_equal(
        b.p, "{\"kind\":\"alert\",\"id\":\"x\",\"source\":\"unknown\",\"resource\":\"h\","
             "\"service\":\"h\",\"check\":\"c\",\"severity\":\"warning\","
             "\"status\":\"firing\",\"summary\":\"c\",\"labels\":{\"n\":\"5\"},"
             "\"value\":1.5,\"timestamp\":\"2026-11-24T15:30:00.123Z\"}");
    ad_buf_fini(&b);
}

static void writer_output_of_the_full_alert_is_the_one_in_the_docs(void **state)
{
    (void)state;
    size_t len, dlen;
    char *json = fixture("alert.json", &len);
    char *doc = read_file(AD_SOURCE_DIR "/docs/events.md", &dlen);
    assert_int_equal(parse_n(json, len), 0);
    struct ad_buf b;
    ad_buf_init(&b);
    assert_int_equal(ad_event_to_json(&F->ev, &b), 0);
    assert_int_equal(ad_buf_puts(&b, "\n"), 0);
    if (!strstr(doc, b.p))
        print_error("docs/events.md lacks the line %s", b.p);
    assert_non_null(strstr(doc, b.p));
    ad_buf_fini(&b);
    free(doc);
    free(json);
}

/* ---- arrays (HTTP collector) ---- */

struct sink {
    int calls;
    int fail_at; /* call index that returns -EAGAIN; -1 never */
    char checks[8][16];
};

static int collect(void *ctx, struct ad_event *ev)
{
    struct sink *s = ctx;
    if (s->calls == s->fail_at)
        return -EAGAIN;
    if (s->calls < 8)
        snprintf(s->checks[s->calls], sizeof(s->checks[0]), "%.*s", (int)ev->check.len,
                 ev->check.p);
    s->calls++;
    return 0;
}

static int parse_array(const char *json, struct sink *s)
{
    memset(&F->err, 0, sizeof(F->err));
    return ad_json_parse_events(F->p, json, strlen(json), &F->arena, NOW, collect, s, &F->err);
}

static void parse_events_hands_over_each_element_of_an_array_or_one_object(void **state)
{
    (void)state;
    struct sink s = {.fail_at = -1};
    assert_int_equal(
        parse_array(" [{\"resource\":\"h\",\"check\":\"a\"}, {\"resource\":\"h\",\"check\":\"b\"},"
                    "{\"kind\":\"log\",\"resource\":\"h\",\"message\":\"m\"}] ",
                    &s),
        0);
    assert_int_equal(s.calls, 3);
    assert_string_equal(s.checks[0], "a");
    assert_string_equal(s.checks[1], "b");
    assert_string_equal(s.checks[2], "");
    memset(&s, 0, sizeof(s));
    s.fail_at = -1;
    assert_int_equal(parse_array("{\"resource\":\"h\",\"check\":\"one\"}", &s), 0);
    assert_int_equal(s.calls, 1);
    assert_string_equal(s.checks[0], "one");
    s.calls = 0;
    assert_int_equal(parse_array("[]", &s), 0);
    assert_int_equal(s.calls, 0);
    assert_int_equal(ad_json_parse_events(F->p, "[]", 2, &F->arena, NOW, NULL, NULL, &F->err),
                     -EINVAL);
}

static void parse_events_names_the_bad_index_and_hands_over_nothing(void **state)
{
    (void)state;
    struct sink s = {.fail_at = -1};
    const char *json =
        "[{\"resource\":\"h\",\"check\":\"a\"},{\"resource\":\"h\",\"check\":\"b\"},"
        "{\"resource\":\"h\",\"check\":\"c\"},{\"kind\":\"metric\",\"resource\":\"h\","
        "\"value\":1}]";
    assert_int_equal(parse_array(json, &s), -EBADMSG);
    assert_string_equal(F->err.msg, "event[3]: missing required field 'check'");
    assert_int_equal(s.calls, 0);
    assert_int_equal(parse_array("[{\"resource\":\"h\",\"check\":\"a\"}, 7]", &s), -EBADMSG);
    assert_string_equal(F->err.msg, "event[1]: expected a JSON object");
    assert_int_equal(
        parse_array("[{\"resource\":\"h\",\"check\":\"a\"},{\"resource\":\"\\ud800\"}]", &s),
        -EILSEQ);
    assert_non_null(strstr(F->err.msg, "event[1]: field 'resource'"));
    assert_int_equal(parse_array("[{\"resource\":\"h\",\"check\":\"a\"}] x", &s), -EBADMSG);
    assert_int_equal(parse_array("[{\"resource\":\"h\",\"check\":\"a\"}", &s), -EBADMSG);
    assert_int_equal(parse_array("\"events\"", &s), -EBADMSG);
    assert_int_equal(s.calls, 0);
}

static void parse_events_stops_when_the_callback_fails(void **state)
{
    (void)state;
    struct sink s = {.fail_at = 1};
    assert_int_equal(
        parse_array("[{\"resource\":\"h\",\"check\":\"a\"},{\"resource\":\"h\",\"check\":\"b\"},"
                    "{\"resource\":\"h\",\"check\":\"c\"}]",
                    &s),
        -EAGAIN);
    assert_int_equal(s.calls, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(full_alert_fixture_sets_every_field),
        cmocka_unit_test(minimal_alert_gets_the_documented_defaults),
        cmocka_unit_test(log_fixture_decodes_escapes_and_keeps_literal_label_values),
        cmocka_unit_test(metric_fixture_has_value_and_info_severity),
        cmocka_unit_test(every_fixture_appears_verbatim_in_docs_events_md),
        cmocka_unit_test(log_and_metric_default_to_info_and_alert_summary_defaults_to_check),
        cmocka_unit_test(severity_and_status_aliases_are_case_insensitive),
        cmocka_unit_test(strings_without_escapes_point_into_the_input),
        cmocka_unit_test(escapes_are_decoded),
        cmocka_unit_test(rfc3339_and_epoch_timestamps_give_the_same_time),
        cmocka_unit_test(bad_timestamps_are_rejected),
        cmocka_unit_test(every_truncation_of_an_event_is_malformed),
        cmocka_unit_test(top_level_must_be_an_object),
        cmocka_unit_test(trailing_garbage_is_malformed_but_whitespace_is_fine),
        cmocka_unit_test(wrong_types_are_rejected_naming_the_field),
        cmocka_unit_test(unknown_field_is_rejected_by_name),
        cmocka_unit_test(duplicate_fields_are_rejected),
        cmocka_unit_test(bad_enum_values_are_rejected_naming_the_value),
        cmocka_unit_test(missing_required_fields_are_named_per_kind),
        cmocka_unit_test(message_over_max_msg_is_rejected_before_parsing),
        cmocka_unit_test(string_fields_over_their_bound_are_rejected),
        cmocka_unit_test(label_names_and_values_over_their_bound_are_rejected),
        cmocka_unit_test(more_than_32_labels_are_rejected),
        cmocka_unit_test(label_values_may_be_strings_numbers_or_bools_only),
        cmocka_unit_test(invalid_utf8_anywhere_is_rejected),
        cmocka_unit_test(lone_surrogate_escapes_are_invalid_utf8),
        cmocka_unit_test(nul_escape_is_rejected_in_values_and_keys),
        cmocka_unit_test(bad_escapes_are_malformed),
        cmocka_unit_test(a_failed_parse_leaves_ret_untouched),
        cmocka_unit_test(parser_grows_for_a_large_message_within_max_msg),
        cmocka_unit_test(parser_names_its_library),
        cmocka_unit_test(writer_places_commas_and_nests),
        cmocka_unit_test(writer_escapes_quotes_backslashes_and_control_characters),
        cmocka_unit_test(writer_replaces_invalid_utf8_so_output_stays_valid),
        cmocka_unit_test(writer_doubles_round_trip_and_non_finite_is_null),
        cmocka_unit_test(writer_reports_nesting_past_its_bound),
        cmocka_unit_test(events_round_trip_through_the_writer),
        cmocka_unit_test(event_json_has_the_documented_shape),
        cmocka_unit_test(writer_output_of_the_full_alert_is_the_one_in_the_docs),
        cmocka_unit_test(parse_events_hands_over_each_element_of_an_array_or_one_object),
        cmocka_unit_test(parse_events_names_the_bad_index_and_hands_over_nothing),
        cmocka_unit_test(parse_events_stops_when_the_callback_fails),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
