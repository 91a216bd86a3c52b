/* tests/unit/test_syslog.c: the pure syslog parser and RFC 6587 framer of common/syslog.h against
 * docs/collector-syslog.md: the RFC 5424 and RFC 3164 examples, the severity table, the field
 * mapping options, every leniency and every rejection with its exact code. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/arena.h"
#include "common/err.h"
#include "common/event.h"
#include "common/syslog.h"
#include "common/time.h"

#define NOW INT64_C(1795510800000000000) /* 2026-11-24T09:00:00Z, the "receive time" */
#define PEER "192.0.2.7"

struct fx {
    struct ad_arena arena;
    struct ad_syslog_map map;
    struct ad_event ev;
    struct ad_syslog_info info;
    struct ad_err err;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    ad_arena_init(&f->arena, 4096);
    f->map = (struct ad_syslog_map){.source = AD_STR_LIT("syslog"),
                                    .resource_from = AD_SYSLOG_RESOURCE_HOST,
                                    .service_from = AD_SYSLOG_SERVICE_APP,
                                    .rfc3164_header_time = false,
                                    .sd_labels = true,
                                    .max_len = 65536};
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    ad_arena_fini(&f->arena);
    free(f);
    return 0;
}

static int parse_n(struct fx *f, const char *s, size_t n)
{
    memset(&f->err, 0, sizeof(f->err));
    return ad_syslog_parse(s, n, ad_str_c(PEER), NOW, &f->map, &f->arena, &f->ev, &f->info,
                           &f->err);
}

static int parse(struct fx *f, const char *s)
{
    return parse_n(f, s, strlen(s));
}

static void assert_str(struct ad_str s, const char *want)
{
    if (!ad_str_eq_c(s, want))
        fail_msg("got \"%.*s\", want \"%s\"", (int)s.len, s.p ? s.p : "", want);
}

static void assert_label(const struct ad_event *ev, const char *name, const char *want)
{
    struct ad_str v = ad_event_label(ev, ad_str_c(name));
    if (!want) {
        assert_null(v.p);
        return;
    }
    assert_non_null(v.p);
    assert_str(v, want);
}

static int64_t t3339(const char *s)
{
    int64_t ns = 0;
    assert_int_equal(ad_time_parse_rfc3339(ad_str_c(s), &ns), 0);
    return ns;
}

/* --- RFC 5424 ------------------------------------------------------------------------------- */

static void rfc5424_example_1_maps_host_app_msgid_and_time(void **state)
{
    struct fx *f = *state;
    assert_int_equal(parse(f, "<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - "
                              "\xEF\xBB\xBF'su root' failed for lonvick on /dev/pts/8"),
                     0);
    assert_int_equal(f->info.format, AD_SYSLOG_RFC5424);
    assert_int_equal(f->ev.kind, AD_KIND_LOG);
    assert_int_equal(f->ev.severity, AD_SEV_CRITICAL); /* crit */
    assert_str(f->ev.source, "syslog");
    assert_str(f->ev.resource, "mymachine.example.com");
    assert_str(f->ev.service, "su");
    assert_str(f->ev.check, "su");
    assert_str(f->ev.summary, "'su root' failed for lonvick on /dev/pts/8"); /* BOM dropped */
    assert_true(f->ev.time_ns == t3339("2003-10-11T22:14:15.003Z"));
    assert_label(&f->ev, "facility", "auth");
    assert_label(&f->ev, "syslog_severity", "crit");
    assert_label(&f->ev, "msgid", "ID47");
    assert_label(&f->ev, "procid", NULL);
    assert_label(&f->ev, "source_ip", PEER);
}

static void rfc5424_example_2_keeps_procid_and_zone(void **state)
{
    struct fx *f = *state;
    assert_int_equal(parse(f, "<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - "
                              "%% It's time to make the do-nuts."),
                     0);
    assert_int_equal(f->ev.severity, AD_SEV_INFO); /* notice */
    assert_str(f->ev.resource, "192.0.2.1");
    assert_str(f->ev.service, "myproc");
    assert_str(f->ev.summary, "%% It's time to make the do-nuts.");
    assert_true(f->ev.time_ns == t3339("2003-08-24T12:14:15.000003Z"));
    assert_label(&f->ev, "facility", "local4");
    assert_label(&f->ev, "syslog_severity", "notice");
    assert_label(&f->ev, "procid", "8710");
    assert_label(&f->ev, "msgid", NULL);
}

static void rfc5424_structured_data_becomes_labels(void **state)
{
    struct fx *f = *state;
    assert_int_equal(parse(f, "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - "
                              "ID47 [exampleSDID@32473 iut=\"3\" eventSource=\"Application\" "
                              "eventID=\"1011\"][examplePriority@32473 class=\"high\"]"),
                     0);
    assert_label(&f->ev, "exampleSDID@32473.iut", "3");
    assert_label(&f->ev, "exampleSDID@32473.eventSource", "Application");
    assert_label(&f->ev, "exampleSDID@32473.eventID", "1011");
    assert_label(&f->ev, "examplePriority@32473.class", "high");
    /* Header labels come first, then the structured data in order. */
    assert_str(f->ev.labels[0].name, "facility");
    assert_str(f->ev.labels[4].name, "exampleSDID@32473.iut");
    assert_str(f->ev.summary, "-"); /* no MSG: RFC 5424's nil */
    assert_false(f->info.truncated_header);
}

static void rfc5424_sd_escapes_are_undone(void **state)
{
    struct fx *f = *state;
    assert_int_equal(parse(f, "<14>1 - h a - - [x@1 q=\"a\\\"b\\]c\\\\d\\e\"] m"), 0);
    assert_label(&f->ev, "x@1.q", "a\"b]c\\d\\e");
    assert_str(f->ev.summary, "m");
}

static void rfc5424_nil_fields_fall_back(void **state)
{
    struct fx *f = *state;
    assert_int_equal(parse(f, "<11>1 - - - - - - disk full"), 0);
    assert_str(f->ev.resource, PEER);        /* no host: the sender's address */
    assert_str(f->ev.service, PEER);         /* no app: the resource */
    assert_str(f->ev.check, "syslog");       /* no app */
    assert_true(f->ev.time_ns == NOW);       /* no time: receive time */
    assert_label(&f->ev, "source_ip", NULL); /* it is the resource already */
    assert_int_equal(f->ev.severity, AD_SEV_MAJOR);
}

static void severity_table_follows_the_docs(void **state)
{
    struct fx *f = *state;
    static const enum ad_severity want[8] = {AD_SEV_CRITICAL, AD_SEV_CRITICAL, AD_SEV_CRITICAL,
                                             AD_SEV_MAJOR,    AD_SEV_WARNING,  AD_SEV_INFO,
                                             AD_SEV_INFO,     AD_SEV_INFO};
    static const char *const names[8] = {"emerg",   "alert",  "crit", "err",
                                         "warning", "notice", "info", "debug"};
    for (int facility = 0; facility < 24; facility += 23) {
        for (int sev = 0; sev < 8; sev++) {
            char m[64];
            snprintf(m, sizeof(m), "<%d>1 - h a - - - x", facility * 8 + sev);
            assert_int_equal(parse(f, m), 0);
            assert_int_equal(f->ev.severity, want[sev]);
            assert_label(&f->ev, "syslog_severity", names[sev]);
            assert_label(&f->ev, "facility", facility ? "local7" : "kern");
        }
    }
    assert_null(ad_syslog_facility_name(24));
    assert_null(ad_syslog_severity_name(8));
}

static void truncated_5424_header_is_accepted_with_nil_fields(void **state)
{
    struct fx *f = *state;
    assert_int_equal(parse(f, "<13>1 2026-01-01T00:00:00Z web-1"), 0);
    assert_true(f->info.truncated_header);
    assert_str(f->ev.resource, "web-1");
    assert_str(f->ev.check, "syslog");
    assert_str(f->ev.summary, "-");
    assert_true(f->ev.time_ns == t3339("2026-01-01T00:00:00Z"));

    assert_int_equal(parse(f, "<13>1 "), 0);
    assert_true(f->info.truncated_header);
    assert_str(f->ev.resource, PEER);
    assert_int_equal(parse(f, "<13>1 - h app 1 id"), 0); /* no SD */
    assert_true(f->info.truncated_header);
    assert_label(&f->ev, "msgid", "id");
}

static void bad_5424_timestamp_takes_receive_time(void **state)
{
    struct fx *f = *state;
    assert_int_equal(parse(f, "<13>1 2026-13-01T00:00:00Z h a - - - m"), 0);
    assert_true(f->info.bad_time);
    assert_true(f->ev.time_ns == NOW);
    assert_int_equal(parse(f, "<13>1 1969-12-31T23:59:59Z h a - - - m"), 0); /* before 1970 */
    assert_true(f->info.bad_time);
    assert_int_equal(parse(f, "<13>1 2026-01-01T00:00:00 h a - - - m"), 0); /* no zone */
    assert_true(f->info.bad_time);
}

static void malformed_structured_data_is_rejected(void **state)
{
    struct fx *f = *state;
    const char *bad[] = {
        "<13>1 - h a - - [x@1 a=\"b\" m", /* no ']' */
        "<13>1 - h a - - [x@1 a=b] m",    /* no quotes */
        "<13>1 - h a - - [x@1 a=\"b] m",  /* unterminated value */
        "<13>1 - h a - - [] m",           /* no SD-ID */
        "<13>1 - h a - - x m",            /* neither - nor [ */
        "<13>1 - h a - - [x@1]m",         /* no space before MSG */
        "<13>1 - h\x01 a - - - m",        /* control byte in HOSTNAME */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int r = parse(f, bad[i]);
        if (r != -EBADMSG)
            fail_msg("%s: got %d (%s)", bad[i], r, f->err.msg);
        assert_true(f->err.msg[0] != '\0');
    }
}

static void huge_structured_data_is_bounded_by_max_labels(void **state)
{
    struct fx *f = *state;
    char m[8192];
    size_t o = (size_t)snprintf(m, sizeof(m), "<13>1 - h a - - [big@1");
    for (int i = 0; i < 100; i++)
        o += (size_t)snprintf(m + o, sizeof(m) - o, " p%d=\"%d\"", i, i);
    snprintf(m + o, sizeof(m) - o, "] tail");
    assert_int_equal(parse(f, m), 0);
    assert_int_equal(f->ev.n_labels, AD_MAX_LABELS);
    assert_true(f->info.labels_dropped >= 100 - (AD_MAX_LABELS - 3));
    assert_label(&f->ev, "facility", "user"); /* header labels are never the ones dropped */
    assert_label(&f->ev, "big@1.p0", "0");
    assert_str(f->ev.summary, "tail");

    f->map.sd_labels = false;
    assert_int_equal(parse(f, m), 0);
    assert_int_equal(f->ev.n_labels, 3); /* facility, syslog_severity, source_ip */
    assert_int_equal(f->info.labels_dropped, 0);
}

/* --- RFC 3164 ------------------------------------------------------------------------------- */

static void rfc3164_example_maps_host_and_tag(void **state)
{
    struct fx *f = *state;
    assert_int_equal(
        parse(f, "<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8\n"),
        0);
    assert_int_equal(f->info.format, AD_SYSLOG_RFC3164);
    assert_int_equal(f->ev.severity, AD_SEV_CRITICAL);
    assert_str(f->ev.resource, "mymachine");
    assert_str(f->ev.service, "su");
    assert_str(f->ev.check, "su");
    assert_str(f->ev.summary, "'su root' failed for lonvick on /dev/pts/8");
    assert_true(f->ev.time_ns == NOW); /* default: receive time */
    assert_label(&f->ev, "facility", "auth");
}

static void rfc3164_header_time_is_utc_in_the_nearest_year(void **state)
{
    struct fx *f = *state;
    f->map.rfc3164_header_time = true;
    assert_int_equal(parse(f, "<34>Oct 11 22:14:15 mymachine su: x"), 0);
    assert_true(f->ev.time_ns == t3339("2026-10-11T22:14:15Z"));
    assert_int_equal(parse(f, "<34>Nov  4 01:02:03 mymachine su: x"), 0); /* space-padded day */
    assert_true(f->ev.time_ns == t3339("2026-11-04T01:02:03Z"));

    /* Year rollover, both ways. */
    int64_t now = t3339("2027-01-01T00:00:10Z");
    assert_int_equal(ad_syslog_parse("<13>Dec 31 23:59:50 h t: x", 26, ad_str_c(PEER), now, &f->map,
                                     &f->arena, &f->ev, &f->info, &f->err),
                     0);
    assert_true(f->ev.time_ns == t3339("2026-12-31T23:59:50Z"));
    now = t3339("2026-12-31T23:59:59Z");
    assert_int_equal(ad_syslog_parse("<13>Jan  1 00:00:05 h t: x", 26, ad_str_c(PEER), now, &f->map,
                                     &f->arena, &f->ev, &f->info, &f->err),
                     0);
    assert_true(f->ev.time_ns == t3339("2027-01-01T00:00:05Z"));
    /* Feb 29 exists only in a leap year: the nearest one of the three candidates. */
    now = t3339("2028-03-01T00:00:00Z");
    assert_int_equal(ad_syslog_parse("<13>Feb 29 12:00:00 h t: x", 26, ad_str_c(PEER), now, &f->map,
                                     &f->arena, &f->ev, &f->info, &f->err),
                     0);
    assert_true(f->ev.time_ns == t3339("2028-02-29T12:00:00Z"));
    now = t3339("2026-03-01T00:00:00Z"); /* 2025, 2026, 2027: none is a leap year */
    assert_int_equal(ad_syslog_parse("<13>Feb 29 12:00:00 h t: x", 26, ad_str_c(PEER), now, &f->map,
                                     &f->arena, &f->ev, &f->info, &f->err),
                     0);
    assert_true(f->info.bad_time);
    assert_true(f->ev.time_ns == now);
}

static void rfc3164_pid_and_missing_host(void **state)
{
    struct fx *f = *state;
    assert_int_equal(parse(f, "<30>Nov 24 09:00:00 web-1 sshd[1234]: Accepted publickey"), 0);
    assert_str(f->ev.resource, "web-1");
    assert_str(f->ev.service, "sshd");
    assert_label(&f->ev, "procid", "1234");
    assert_str(f->ev.summary, "Accepted publickey");

    /* No host: the first word ends in ':' or carries [pid], so it is the tag. */
    assert_int_equal(parse(f, "<30>Nov 24 09:00:00 sshd[99]: no host here"), 0);
    assert_str(f->ev.resource, PEER);
    assert_str(f->ev.service, "sshd");
    assert_label(&f->ev, "procid", "99");
    assert_int_equal(parse(f, "<30>Nov 24 09:00:00 cron: x"), 0);
    assert_str(f->ev.resource, PEER);
    assert_str(f->ev.check, "cron");
}

static void rfc3164_without_tag_uses_the_resource(void **state)
{
    struct fx *f = *state;
    /* RFC 3164's own example: "Use" is followed by a space, so it is text, not a tag. */
    assert_int_equal(parse(f, "<13>Feb  5 17:32:18 10.0.0.99 Use the BFG!"), 0);
    assert_str(f->ev.resource, "10.0.0.99");
    assert_str(f->ev.service, "10.0.0.99");
    assert_str(f->ev.check, "syslog");
    assert_str(f->ev.summary, "Use the BFG!");
    /* No timestamp at all: the whole rest is the message (a tag still counts). */
    assert_int_equal(parse(f, "<13>just some text"), 0);
    assert_str(f->ev.resource, PEER);
    assert_str(f->ev.summary, "just some text");
    assert_int_equal(parse(f, "<13>postfix/smtpd[7]: connect from x"), 0);
    assert_str(f->ev.service, "postfix/smtpd");
    assert_str(f->ev.summary, "connect from x");
}

static void rsyslog_forward_format_with_rfc3339_time(void **state)
{
    struct fx *f = *state;
    assert_int_equal(parse(f, "<86>2026-11-24T09:30:00.5+01:00 db-2 sudo: pam_unix ok"), 0);
    assert_true(f->ev.time_ns == t3339("2026-11-24T08:30:00.5Z"));
    assert_str(f->ev.resource, "db-2");
    assert_str(f->ev.service, "sudo");
    assert_label(&f->ev, "facility", "authpriv");
}

/* --- options, leniency, rejections ------------------------------------------------------------ */

static void mapping_options_change_resource_and_service(void **state)
{
    struct fx *f = *state;
    f->map.resource_from = AD_SYSLOG_RESOURCE_SOURCE_IP;
    assert_int_equal(parse(f, "<14>1 - spoofed app - - - m"), 0);
    assert_str(f->ev.resource, PEER);
    assert_str(f->ev.service, "app");
    assert_label(&f->ev, "source_ip", NULL);
    f->map.resource_from = AD_SYSLOG_RESOURCE_HOST;
    f->map.service_from = AD_SYSLOG_SERVICE_RESOURCE;
    assert_int_equal(parse(f, "<14>1 - host app - - - m"), 0);
    assert_str(f->ev.service, "host");
    assert_str(f->ev.check, "app");
    /* No peer address (a test, a replay) and no host: "unknown". */
    assert_int_equal(
        ad_syslog_parse("<14>x", 5, AD_STR_NULL, NOW, &f->map, &f->arena, &f->ev, NULL, &f->err),
        0);
    assert_str(f->ev.resource, "unknown");
}

static void line_without_pri_is_user_notice(void **state)
{
    struct fx *f = *state;
    assert_int_equal(parse(f, "plain text line\r\n"), 0);
    assert_true(f->info.no_pri);
    assert_int_equal(f->info.format, AD_SYSLOG_BARE);
    assert_int_equal(f->ev.severity, AD_SEV_INFO);
    assert_label(&f->ev, "facility", "user");
    assert_label(&f->ev, "syslog_severity", "notice");
    assert_str(f->ev.resource, PEER);
    assert_str(f->ev.summary, "plain text line");
    assert_int_equal(parse(f, "Nov 24 09:00:00 web-3 nginx: up"), 0); /* a header without PRI */
    assert_str(f->ev.resource, "web-3");
    assert_str(f->ev.service, "nginx");
}

static void invalid_utf8_in_msg_is_replaced(void **state)
{
    struct fx *f = *state;
    assert_int_equal(parse(f, "<13>1 - h a - - - caf\xE9 \xC0\xAF ok"), 0);
    assert_true(f->info.utf8_replaced);
    assert_str(f->ev.summary, "caf\xEF\xBF\xBD \xEF\xBF\xBD\xEF\xBF\xBD ok");
    assert_int_equal(parse(f, "<13>1 - h a - - [x@1 v=\"\xFF\"] m"), 0);
    assert_label(&f->ev, "x@1.v", "\xEF\xBF\xBD");
    assert_int_equal(parse(f, "<13>1 - h a - - - caf\xC3\xA9"), 0); /* valid: kept as is */
    assert_false(f->info.utf8_replaced);
}

static void hostile_input_is_rejected_with_its_code(void **state)
{
    struct fx *f = *state;
    static const struct {
        const char *s;
        size_t n;
        int code;
    } cases[] = {
        {"", 0, -EBADMSG},
        {"\n\r\n", 3, -EBADMSG},
        {"<", 1, -EBADMSG},
        {"<>", 2, -EBADMSG},
        {"<13", 3, -EBADMSG},
        {"<999>1 - h a - - - m", 20, -EBADMSG},
        {"<192>x", 6, -EBADMSG},
        {"<1234>x", 7, -EBADMSG},
        {"<01>x", 5, -EBADMSG},
        {"<13>a\0b", 7, -EBADMSG},
        {"\x01\x02garbage\xff", 10, -EBADMSG},
        {"text \xff\xfe", 7, -EILSEQ},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int r = parse_n(f, cases[i].s, cases[i].n);
        if (r != cases[i].code)
            fail_msg("case %zu: got %d (%s), want %d", i, r, f->err.msg, cases[i].code);
        assert_true(f->err.msg[0] != '\0');
    }
    /* Trailing NULs, like the terminators some old senders add, are not "inside". */
    assert_int_equal(parse_n(f, "<13>ok\0\0", 8), 0);
    assert_str(f->ev.summary, "ok");
    assert_int_equal(parse(f, "<0>x"), 0);
}

static void oversize_message_is_emsgsize(void **state)
{
    struct fx *f = *state;
    f->map.max_len = 16;
    assert_int_equal(parse(f, "<13>1 - h a - - - 0123456789"), -EMSGSIZE);
    assert_int_equal(parse(f, "<13>0123456789ab"), 0);
    f->map.max_len = 0;
    /* A header field over AD_MAX_FIELD_LEN. */
    size_t n = AD_MAX_FIELD_LEN + 64;
    char *m = malloc(n + 1);
    assert_non_null(m);
    memcpy(m, "<13>1 - ", 8);
    memset(m + 8, 'h', n - 8);
    m[n] = '\0';
    assert_int_equal(parse(f, m), -EMSGSIZE);
    free(m);
}

static void long_message_is_cut_on_a_character_boundary(void **state)
{
    struct fx *f = *state;
    f->map.max_len = 0;
    size_t n = AD_MAX_SUMMARY_LEN + 100;
    char *m = malloc(n + 1);
    assert_non_null(m);
    memcpy(m, "<13>", 4);
    for (size_t i = 4; i + 1 < n; i += 2)
        memcpy(m + i, "\xC3\xA9", 2);
    n -= (n - 4) % 2;
    m[n] = '\0';
    assert_int_equal(parse_n(f, m, n), 0);
    assert_true(f->info.summary_cut);
    assert_int_equal(f->ev.summary.len, AD_MAX_SUMMARY_LEN);
    assert_int_equal((unsigned char)f->ev.summary.p[f->ev.summary.len - 2], 0xC3);
    free(m);
}

static void every_prefix_parses_or_fails_cleanly(void **state)
{
    struct fx *f = *state;
    const char *msgs[] = {
        "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog 12 ID47 "
        "[exampleSDID@32473 iut=\"3\" eventSource=\"App\\\"x\"] BOMAn application event",
        "<34>Oct 11 22:14:15 mymachine su[12]: 'su root' failed",
    };
    for (size_t k = 0; k < 2; k++) {
        size_t len = strlen(msgs[k]);
        for (size_t n = 0; n <= len; n++) {
            int r = parse_n(f, msgs[k], n);
            assert_true(r == 0 || r == -EBADMSG);
            if (r == 0)
                assert_true(f->ev.resource.len > 0 && f->ev.summary.len > 0);
        }
        ad_arena_reset(&f->arena);
    }
}

/* --- framing ---------------------------------------------------------------------------------- */

static void frame_octet_counted_and_lf(void **state)
{
    (void)state;
    struct ad_syslog_frame fr;
    const char *s = "5 <1>ab<2>x\r\n";
    ad_syslog_frame_next(s, strlen(s), 100, &fr);
    assert_int_equal(fr.kind, AD_SYSLOG_FRAME_MSG);
    assert_true(fr.octet_counted);
    assert_int_equal(fr.len, 5);
    assert_memory_equal(fr.msg, "<1>ab", 5);
    assert_int_equal(fr.consumed, 7);
    ad_syslog_frame_next(s + 7, strlen(s) - 7, 100, &fr);
    assert_int_equal(fr.kind, AD_SYSLOG_FRAME_MSG);
    assert_false(fr.octet_counted);
    assert_int_equal(fr.len, 4); /* CR dropped */
    assert_int_equal(fr.consumed, 6);

    ad_syslog_frame_next("\n", 1, 100, &fr); /* an empty line */
    assert_int_equal(fr.kind, AD_SYSLOG_FRAME_MSG);
    assert_int_equal(fr.len, 0);
    assert_int_equal(fr.consumed, 1);
    /* A date is not a length. */
    ad_syslog_frame_next("2026-01-01 x\n", 13, 100, &fr);
    assert_int_equal(fr.kind, AD_SYSLOG_FRAME_MSG);
    assert_false(fr.octet_counted);
    assert_int_equal(fr.len, 12);
    ad_syslog_frame_next("1234567890 x\n", 13, 100, &fr); /* ten digits: not a length either */
    assert_false(fr.octet_counted);
}

static void frame_waits_for_more(void **state)
{
    (void)state;
    struct ad_syslog_frame fr;
    const char *parts[] = {"", "1", "12", "12 ", "12 <13>abc", "<13>no newline yet"};
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
        ad_syslog_frame_next(parts[i], strlen(parts[i]), 100, &fr);
        assert_int_equal(fr.kind, AD_SYSLOG_FRAME_MORE);
        assert_int_equal(fr.consumed, 0);
    }
}

static void frame_oversize_is_skipped(void **state)
{
    (void)state;
    struct ad_syslog_frame fr;
    ad_syslog_frame_next("5000 <13>...", 12, 100, &fr);
    assert_int_equal(fr.kind, AD_SYSLOG_FRAME_OVERSIZE);
    assert_true(fr.octet_counted);
    assert_int_equal(fr.consumed, 5);
    assert_int_equal(fr.skip, 5000);

    char big[300];
    memset(big, 'x', sizeof(big));
    ad_syslog_frame_next(big, sizeof(big), 100, &fr);
    assert_int_equal(fr.kind, AD_SYSLOG_FRAME_OVERSIZE);
    assert_true(fr.skip_to_lf);
    assert_int_equal(fr.consumed, sizeof(big));
    big[150] = '\n'; /* beyond max + 1: still oversize, without skipping past the LF */
    ad_syslog_frame_next(big, sizeof(big), 100, &fr);
    assert_int_equal(fr.kind, AD_SYSLOG_FRAME_OVERSIZE);
    assert_true(fr.skip_to_lf);
    big[150] = 'x';
    big[100] = '\n'; /* exactly max bytes before it: fits */
    ad_syslog_frame_next(big, sizeof(big), 100, &fr);
    assert_int_equal(fr.kind, AD_SYSLOG_FRAME_MSG);
    assert_int_equal(fr.len, 100);
    /* A window of max + header bytes always decides. */
    ad_syslog_frame_next("99 <13>", 7, 100, &fr);
    assert_int_equal(fr.kind, AD_SYSLOG_FRAME_MORE);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(rfc5424_example_1_maps_host_app_msgid_and_time),
        T(rfc5424_example_2_keeps_procid_and_zone),
        T(rfc5424_structured_data_becomes_labels),
        T(rfc5424_sd_escapes_are_undone),
        T(rfc5424_nil_fields_fall_back),
        T(severity_table_follows_the_docs),
        T(truncated_5424_header_is_accepted_with_nil_fields),
        T(bad_5424_timestamp_takes_receive_time),
        T(malformed_structured_data_is_rejected),
        T(huge_structured_data_is_bounded_by_max_labels),
        T(rfc3164_example_maps_host_and_tag),
        T(rfc3164_header_time_is_utc_in_the_nearest_year),
        T(rfc3164_pid_and_missing_host),
        T(rfc3164_without_tag_uses_the_resource),
        T(rsyslog_forward_format_with_rfc3339_time),
        T(mapping_options_change_resource_and_service),
        T(line_without_pri_is_user_notice),
        T(invalid_utf8_in_msg_is_replaced),
        T(hostile_input_is_rejected_with_its_code),
        T(oversize_message_is_emsgsize),
        T(long_message_is_cut_on_a_character_boundary),
        T(every_prefix_parses_or_fails_cleanly),
        T(frame_octet_counted_and_lf),
        T(frame_waits_for_more),
        T(frame_oversize_is_skipped),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
