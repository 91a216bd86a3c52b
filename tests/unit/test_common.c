/* tests/unit/test_common.c: u64map, arena, buf, time, hash and log helpers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "common/arena.h"
#include "common/buf.h"
#include "common/event.h"
#include "common/hash.h"
#include "common/metrics.h"
#include "common/seqhdr.h"
#include "common/time.h"
#include "common/u64map.h"

static void map_finds_what_was_put_and_forgets_what_was_deleted(void **state)
{
    (void)state;
    struct ad_u64map m;
    assert_int_equal(ad_u64map_init(&m, 4), 0);
    /* Enough keys to force several growths and long probe runs (keys share low bits). */
    const uint32_t n = 20000;
    for (uint32_t i = 1; i <= n; i++)
        assert_int_equal(ad_u64map_put(&m, (uint64_t)i << 20, i), 0);
    assert_int_equal(m.n, n);
    for (uint32_t i = 1; i <= n; i += 2)
        assert_true(ad_u64map_del(&m, (uint64_t)i << 20));
    assert_false(ad_u64map_del(&m, (uint64_t)1 << 20));
    for (uint32_t i = 1; i <= n; i++) {
        uint32_t v = 0;
        bool found = ad_u64map_get(&m, (uint64_t)i << 20, &v);
        assert_int_equal(found, i % 2 == 0);
        if (found)
            assert_int_equal(v, i);
    }
    assert_int_equal(m.n, n / 2);
    ad_u64map_fini(&m);
}

static void map_delete_keeps_wrapped_probe_runs_reachable(void **state)
{
    (void)state;
    struct ad_u64map m;
    assert_int_equal(ad_u64map_init(&m, 4), 0); /* 16 slots */
    size_t cap = m.cap;
    /* Keys homed at the last slots wrap around to the start of the table. */
    for (uint64_t k = 0; k < 6; k++)
        assert_int_equal(ad_u64map_put(&m, (cap - 2) + k * cap, (uint32_t)k), 0);
    assert_true(ad_u64map_del(&m, cap - 2));
    for (uint64_t k = 1; k < 6; k++) {
        uint32_t v;
        assert_true(ad_u64map_get(&m, (cap - 2) + k * cap, &v));
        assert_int_equal(v, k);
    }
    ad_u64map_fini(&m);
}

static void arena_reset_keeps_one_chunk_and_big_allocations_work(void **state)
{
    (void)state;
    struct ad_arena a;
    ad_arena_init(&a, 1024);
    char *p = ad_arena_alloc(&a, 10);
    assert_non_null(p);
    assert_int_equal((uintptr_t)p % 8, 0);
    char *big = ad_arena_alloc(&a, 100000);
    assert_non_null(big);
    memset(big, 'x', 100000);
    struct ad_str s;
    assert_int_equal(ad_arena_strdup(&a, AD_STR_LIT("hello"), &s), 0);
    assert_int_equal(s.len, 5);
    assert_string_equal(s.p, "hello");
    ad_arena_reset(&a);
    assert_non_null(ad_arena_alloc(&a, 16));
    ad_arena_fini(&a);
    assert_null(a.head);
}

static void buf_grows_and_formats(void **state)
{
    (void)state;
    struct ad_buf b;
    ad_buf_init(&b);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(ad_buf_printf(&b, "%d,", i), 0);
    assert_true(b.len > 3000);
    assert_memory_equal(b.p, "0,1,2,", 6);
    ad_buf_reset(&b);
    assert_int_equal(b.len, 0);
    ad_buf_fini(&b);
}

static void rfc3339_parses_offsets_fractions_and_rejects_junk(void **state)
{
    (void)state;
    int64_t ns;
    assert_int_equal(ad_time_parse_rfc3339(AD_STR_LIT("2026-11-24T09:00:00Z"), &ns), 0);
    assert_true(ns == INT64_C(1795510800) * AD_NS_PER_S);
    assert_int_equal(ad_time_parse_rfc3339(AD_STR_LIT("2026-11-24T10:00:00.5+01:00"), &ns), 0);
    assert_true(ns == INT64_C(1795510800) * AD_NS_PER_S + 500 * AD_NS_PER_MS);
    assert_int_equal(ad_time_parse_rfc3339(AD_STR_LIT("1970-01-01 00:00:01z"), &ns), 0);
    assert_true(ns == AD_NS_PER_S);
    assert_int_equal(ad_time_parse_rfc3339(AD_STR_LIT("2026-13-01T00:00:00Z"), &ns), -EINVAL);
    /* outside int64 nanoseconds (1677..2262): refused, not wrapped */
    assert_int_equal(ad_time_parse_rfc3339(AD_STR_LIT("9999-12-31T23:59:59Z"), &ns), -ERANGE);
    assert_int_equal(ad_time_parse_rfc3339(AD_STR_LIT("1000-01-01T00:00:00Z"), &ns), -ERANGE);
    assert_int_equal(ad_time_parse_rfc3339(AD_STR_LIT("2262-01-01T00:00:00Z"), &ns), 0);
    assert_int_equal(ad_time_parse_rfc3339(AD_STR_LIT("2026-11-24T09:00:00"), &ns), -EINVAL);
    assert_int_equal(ad_time_parse_rfc3339(AD_STR_LIT("2026-11-24T09:00:00Zjunk"), &ns), -EINVAL);
    assert_int_equal(ad_time_parse_rfc3339(AD_STR_LIT("yesterday"), &ns), -EINVAL);
    char buf[40];
    assert_string_equal(ad_time_format_rfc3339(INT64_C(1795510800123000000), buf, sizeof(buf)),
                        "2026-11-24T09:00:00.123Z");
}

static void epoch_numbers_are_scaled_by_magnitude(void **state)
{
    (void)state;
    int64_t ns;
    assert_int_equal(ad_epoch_to_ns(1795510800.25, &ns), 0); /* .25 is exact in binary */
    assert_true(ns == INT64_C(1795510800250000000));
    assert_int_equal(ad_epoch_to_ns(1795510800.123, &ns), 0); /* within a microsecond */
    assert_true(llabs(ns - INT64_C(1795510800123000000)) < 1000);
    assert_int_equal(ad_epoch_to_ns(1795510800250.0, &ns), 0); /* ms */
    assert_true(ns == INT64_C(1795510800250000000));
    assert_int_equal(ad_epoch_to_ns(-1, &ns), -EINVAL);
}

static void severity_and_status_aliases_map_to_the_scale(void **state)
{
    (void)state;
    enum ad_severity s;
    enum ad_status st;
    assert_int_equal(ad_severity_parse(AD_STR_LIT("CRITICAL"), &s), 0);
    assert_int_equal(s, AD_SEV_CRITICAL);
    assert_int_equal(ad_severity_parse(AD_STR_LIT("error"), &s), 0);
    assert_int_equal(s, AD_SEV_MAJOR);
    assert_int_equal(ad_severity_parse(AD_STR_LIT("warn"), &s), 0);
    assert_int_equal(s, AD_SEV_WARNING);
    assert_int_equal(ad_severity_parse(AD_STR_LIT("catastrophic"), &s), -EINVAL);
    assert_int_equal(ad_status_parse(AD_STR_LIT("ok"), &st), 0);
    assert_int_equal(st, AD_STATUS_RESOLVED);
    assert_int_equal(ad_severity_snow_code(AD_SEV_CRITICAL), 1);
    assert_int_equal(ad_severity_snow_code(AD_SEV_INFO), 5);
}

static void field_hash_depends_on_boundaries(void **state)
{
    (void)state;
    uint64_t a = ad_hash_field(ad_hash_field(0, AD_STR_LIT("ab")), AD_STR_LIT("c"));
    uint64_t b = ad_hash_field(ad_hash_field(0, AD_STR_LIT("a")), AD_STR_LIT("bc"));
    assert_true(a != b);
    assert_true(ad_hash_field(0, AD_STR_LIT("x")) == ad_hash_field(0, AD_STR_LIT("x")));
}

static void metrics_write_help_once_per_family(void **state)
{
    (void)state;
    struct ad_buf b;
    struct ad_metrics m;
    ad_buf_init(&b);
    ad_metrics_init(&m, &b);
    ad_metrics_counter(&m, "x_total", "Things.", "k=\"a\"", 1);
    ad_metrics_counter(&m, "x_total", "Things.", "k=\"b\"", 2);
    ad_metrics_gauge(&m, "y", "Level.", NULL, 0.5);
    assert_string_equal(b.p, "# HELP x_total Things.\n# TYPE x_total counter\nx_total{k=\"a\"} 1\n"
                             "x_total{k=\"b\"} 2\n# HELP y Level.\n# TYPE y gauge\ny 0.5\n");
    ad_buf_fini(&b);
}

/* Several pipelines report the same families at different times: one HELP/TYPE per family,
 * its samples together, and the same series summed. */
static void metrics_group_families_and_sum_repeated_series(void **state)
{
    (void)state;
    struct ad_buf b;
    struct ad_metrics m;
    ad_buf_init(&b);
    ad_metrics_init(&m, &b);
    ad_metrics_counter(&m, "x_total", "Things.", "k=\"a\"", 1);
    ad_metrics_gauge(&m, "y", "Level.", NULL, 0.5);
    ad_metrics_counter(&m, "x_total", "Things.", "k=\"a\"", 10);
    ad_metrics_counter(&m, "x_total", "Things.", "k=\"b\"", 7);
    ad_metrics_gauge(&m, "y", "Level.", NULL, 2);
    ad_metrics_gauge(&m, "y_more", "Prefix of another family.", NULL, 3);
    assert_string_equal(b.p, "# HELP x_total Things.\n# TYPE x_total counter\nx_total{k=\"a\"} 11\n"
                             "x_total{k=\"b\"} 7\n# HELP y Level.\n# TYPE y gauge\ny 2.5\n"
                             "# HELP y_more Prefix of another family.\n# TYPE y_more gauge\ny_more 3\n");
    ad_buf_fini(&b);
}

static void seq_headers_round_trip_and_junk_is_refused(void **state)
{
    (void)state;
    char buf[128], id[AD_SEQ_ID_MAX + 1];
    uint64_t seq = 0;
    int n = ad_seq_format(buf, sizeof(buf), "host-1.a:b_c", 42);
    assert_int_equal(n, (int)strlen("aiopsd-seq host-1.a:b_c 42"));
    assert_int_equal(ad_seq_parse(buf, (size_t)n, id, &seq), 1);
    assert_string_equal(id, "host-1.a:b_c");
    assert_true(seq == 42);
    assert_int_equal(ad_seq_format(buf, sizeof(buf), "bad id", 1), -EINVAL);
    assert_int_equal(ad_seq_format(buf, sizeof(buf), "", 1), -EINVAL);
    assert_int_equal(ad_seq_format(buf, 12, "abc", 1), -EINVAL); /* too small */
    /* Not a header at all: a topic, an event. */
    assert_int_equal(ad_seq_parse("alerts", 6, id, &seq), 0);
    assert_int_equal(ad_seq_parse("{\"a\":1}", 7, id, &seq), 0);
    /* Headers that are wrong. */
    static const char *const bad[] = {"aiopsd-seq ", "aiopsd-seq p", "aiopsd-seq p ",
                                      "aiopsd-seq p 0", "aiopsd-seq p 12x", "aiopsd-seq p q 1",
                                      "aiopsd-seq p 99999999999999999999", "aiopsd-seq \xff 1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(ad_seq_parse(bad[i], strlen(bad[i]), id, &seq), -EINVAL);
    memset(buf, 'a', sizeof(buf));
    memcpy(buf, "aiopsd-seq ", 11);
    memcpy(buf + 11 + AD_SEQ_ID_MAX + 1, " 1", 2); /* an id one byte too long */
    assert_int_equal(ad_seq_parse(buf, 11 + AD_SEQ_ID_MAX + 3, id, &seq), -EINVAL);
}

static void seq_tracker_counts_what_each_publisher_lost(void **state)
{
    (void)state;
    struct ad_seq_tracker *t;
    assert_int_equal(ad_seq_tracker_create(2, &t), 0);
    /* Publisher a: 1..10, then 16..20: 5 missing. */
    int64_t missing = 0;
    for (uint64_t s = 1; s <= 10; s++)
        missing += ad_seq_observe(t, "a", s);
    assert_true(missing == 0);
    assert_true(ad_seq_observe(t, "a", 16) == 5);
    for (uint64_t s = 17; s <= 20; s++)
        assert_true(ad_seq_observe(t, "a", s) == 0);
    /* Publisher b joins at 3: 2 were sent before we heard it. */
    assert_true(ad_seq_observe(t, "b", 3) == 2);
    /* a restarts: back to 1, nothing missing, one reset. */
    assert_true(ad_seq_observe(t, "a", 1) == 0);
    assert_true(ad_seq_observe(t, "a", 3) == 1);
    /* A third publisher does not fit. */
    assert_true(ad_seq_observe(t, "c", 1) == -1);
    assert_int_equal(ad_seq_count(t), 2);
    const struct ad_seq_pub *a = ad_seq_at(t, 0), *b = ad_seq_at(t, 1);
    assert_string_equal(a->id, "a");
    assert_true(a->gaps == 6 && a->resets == 1 && a->received == 17 && a->last == 3);
    assert_string_equal(b->id, "b");
    assert_true(b->gaps == 2 && b->resets == 0 && b->received == 1);
    assert_true(ad_seq_untracked(t) == 1);
    ad_seq_tracker_destroy(t);
}

static struct sockaddr_storage sa_of(int family, const char *ip)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    ss.ss_family = (sa_family_t)family;
    void *a = family == AF_INET ? (void *)&((struct sockaddr_in *)&ss)->sin_addr
                                : (void *)&((struct sockaddr_in6 *)&ss)->sin6_addr;
    assert_int_equal(inet_pton(family, ip, a), 1);
    return ss;
}

static void cidr_blocks_parse_and_match(void **state)
{
    (void)state;
    struct ad_cidr v[3];
    assert_int_equal(ad_cidr_parse("10.0.0.0/8", &v[0]), 0);
    assert_int_equal(ad_cidr_parse("192.0.2.7", &v[1]), 0);
    assert_int_equal(v[1].prefix, 32);
    assert_int_equal(ad_cidr_parse("fd00::/8", &v[2]), 0);
    const char *bad[] = {"", "10.0.0.0/33", "10.1.2.3/8", "10.0.0.0/", "10.0.0/8", "x",
                         "fd00::/129", "10.0.0.0/8x", "/8", "::1/-1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(ad_cidr_parse(bad[i], &v[0]), -EINVAL);
    assert_int_equal(ad_cidr_parse("10.0.0.0/8", &v[0]), 0);

    struct sockaddr_storage in = sa_of(AF_INET, "10.200.3.4"), out = sa_of(AF_INET, "11.0.0.1");
    struct sockaddr_storage host = sa_of(AF_INET, "192.0.2.7"), near = sa_of(AF_INET, "192.0.2.8");
    struct sockaddr_storage v6 = sa_of(AF_INET6, "fdab::1"), v6out = sa_of(AF_INET6, "fe80::1");
    struct sockaddr_storage mapped = sa_of(AF_INET6, "::ffff:10.9.9.9");
    assert_true(ad_cidr_match(v, 3, (struct sockaddr *)&in));
    assert_false(ad_cidr_match(v, 3, (struct sockaddr *)&out));
    assert_true(ad_cidr_match(v, 3, (struct sockaddr *)&host));
    assert_false(ad_cidr_match(v, 3, (struct sockaddr *)&near));
    assert_true(ad_cidr_match(v, 3, (struct sockaddr *)&v6));
    assert_false(ad_cidr_match(v, 3, (struct sockaddr *)&v6out));
    assert_true(ad_cidr_match(v, 3, (struct sockaddr *)&mapped));
    assert_false(ad_cidr_match(v, 0, (struct sockaddr *)&in));
    assert_int_equal(ad_cidr_parse("0.0.0.0/0", &v[0]), 0);
    assert_true(ad_cidr_match(v, 1, (struct sockaddr *)&out));
}

static void listen_addresses_are_told_any_or_local(void **state)
{
    (void)state;
    assert_true(ad_addr_is_any("0.0.0.0:9101"));
    assert_true(ad_addr_is_any("[::]:9101"));
    assert_true(ad_addr_is_any("tcp://*:5556"));
    assert_true(ad_addr_is_any("tcp://0.0.0.0:5556"));
    assert_false(ad_addr_is_any("127.0.0.1:9101"));
    assert_false(ad_addr_is_any("ipc:///run/x"));
    assert_true(ad_addr_is_local("127.0.0.1:9101"));
    assert_true(ad_addr_is_local("[::1]:9101"));
    assert_true(ad_addr_is_local("tcp://127.0.0.1:5556"));
    assert_true(ad_addr_is_local("ipc:///run/x"));
    assert_true(ad_addr_is_local(""));
    assert_false(ad_addr_is_local("10.0.0.1:9101"));
    assert_false(ad_addr_is_local("0.0.0.0:9101"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(map_finds_what_was_put_and_forgets_what_was_deleted),
        cmocka_unit_test(seq_headers_round_trip_and_junk_is_refused),
        cmocka_unit_test(seq_tracker_counts_what_each_publisher_lost),
        cmocka_unit_test(map_delete_keeps_wrapped_probe_runs_reachable),
        cmocka_unit_test(arena_reset_keeps_one_chunk_and_big_allocations_work),
        cmocka_unit_test(buf_grows_and_formats),
        cmocka_unit_test(rfc3339_parses_offsets_fractions_and_rejects_junk),
        cmocka_unit_test(epoch_numbers_are_scaled_by_magnitude),
        cmocka_unit_test(severity_and_status_aliases_map_to_the_scale),
        cmocka_unit_test(field_hash_depends_on_boundaries),
        cmocka_unit_test(metrics_write_help_once_per_family),
        cmocka_unit_test(metrics_group_families_and_sum_repeated_series),
        cmocka_unit_test(cidr_blocks_parse_and_match),
        cmocka_unit_test(listen_addresses_are_told_any_or_local),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
