/* tests/unit/test_config.c: the YAML loader against tables defined here with every option type:
 * defaults, each type's valid and invalid forms, ranges, exact file:line:col of errors, hints,
 * the example round trip, the markdown reference and the reload helpers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "config/config.h"

/* --- test tables ------------------------------------------------------------------------------ */

struct t_daemon {
    int log_level;
    char *state_dir;
    bool verbose;
    char *password; /* no default: NULL */
};

struct t_zmq {
    char *endpoint;
    struct ad_strlist peers;
    uint64_t max_message_size;
    bool enabled;
};

struct t_kafka {
    struct ad_strlist brokers;
    char *group;
    char *tls_cert, *tls_key; /* a group: written as tls: {cert_file, key_file} */
};

struct t_dedup {
    int64_t window_ns;
    int64_t offset;
    uint64_t count;
    double ratio;
    struct ad_strlist labels;
    char *redis;
};

static const char *const levels[] = {"error", "warn", "info", "debug", NULL};

static const struct ad_opt daemon_opts[] = {
    AD_OPT_ENUM("log_level", "info", levels, struct t_daemon, log_level, "Least severe level."),
    AD_OPT_STRING_R("state_dir", "/var/lib/aiopsd", "4096", struct t_daemon, state_dir,
                    "Directory for state."),
    AD_OPT_BOOL("verbose", "false", struct t_daemon, verbose, "Chatty | noisy."),
    AD_OPT_STRING("password", NULL, "64", struct t_daemon, password, "Optional secret."),
    AD_OPT_END,
};

static const struct ad_opt zmq_opts[] = {
    AD_OPT_ENDPOINT_R("endpoint", "tcp://*:5556", struct t_zmq, endpoint, "Where to bind."),
    AD_OPT_STRLIST("peers", "a, b,c", struct t_zmq, peers, "Peer names."),
    AD_OPT_SIZE("max_message_size", "1MiB", "1KiB", "64MiB", struct t_zmq, max_message_size,
                "Largest message accepted."),
    AD_OPT_BOOL("enabled", "true", struct t_zmq, enabled, "Whether the collector runs."),
    AD_OPT_END,
};

static const struct ad_opt kafka_opts[] = {
    AD_OPT_STRLIST_R("brokers", "localhost:9092", struct t_kafka, brokers, "Bootstrap brokers."),
    AD_OPT_STRING("group", "aiopsd", "16", struct t_kafka, group, "Consumer group."),
    AD_OPT_STRING("tls.cert_file", "", "64", struct t_kafka, tls_cert, "Certificate."),
    AD_OPT_STRING("tls.key_file", "", "64", struct t_kafka, tls_key, "Private key."),
    AD_OPT_END,
};

static const struct ad_opt dedup_opts[] = {
    AD_OPT_DURATION("window", "5m", "1s", "7d", struct t_dedup, window_ns, "Suppression window."),
    AD_OPT_INT("offset", "-5", "-100", "100", struct t_dedup, offset, "A signed knob."),
    AD_OPT_UINT("count", "10", "1", "1000", struct t_dedup, count, "An unsigned knob."),
    AD_OPT_DOUBLE("ratio", "0.5", "0", "1", struct t_dedup, ratio, "A fraction."),
    AD_OPT_STRLIST("labels", "", struct t_dedup, labels, "Label names."),
    AD_OPT_ENDPOINT("redis", "127.0.0.1:6379", struct t_dedup, redis, "Redis server."),
    AD_OPT_END,
};

static const struct ad_section sec_daemon = {"daemon", "Process-wide settings.", daemon_opts,
                                             sizeof(struct t_daemon)};
static const struct ad_section sec_zmq = {"collectors.zmq", "ZeroMQ collector.", zmq_opts,
                                          sizeof(struct t_zmq)};
static const struct ad_section sec_kafka = {"collectors.kafka", "Kafka collector.", kafka_opts,
                                            sizeof(struct t_kafka)};
static const struct ad_section sec_dedup = {"models.dedup", "Duplicate suppression.", dedup_opts,
                                            sizeof(struct t_dedup)};
static const struct ad_section *const sections[] = {&sec_daemon, &sec_zmq, &sec_kafka, &sec_dedup,
                                                    NULL};

#define NS_PER_S 1000000000LL

/* --- helpers ---------------------------------------------------------------------------------- */

static struct ad_config *load_ok(const char *yaml)
{
    struct ad_config *c = NULL;
    struct ad_err err = {0};
    char buf[512];
    int r = ad_config_load_string("t.yaml", yaml, strlen(yaml), sections, &c, &err);
    if (r != 0)
        fail_msg("unexpected error: %s", ad_err_str(&err, buf, sizeof(buf)));
    assert_non_null(c);
    return c;
}

/* Loads yaml expecting -EINVAL; returns "file:line:col: msg" (static buffer). */
static const char *load_err(const char *yaml)
{
    static char buf[512];
    struct ad_config *c = (struct ad_config *)&c; /* must stay untouched on error */
    struct ad_config *const sentinel = c;
    struct ad_err err = {0};
    int r = ad_config_load_string("t.yaml", yaml, strlen(yaml), sections, &c, &err);
    assert_int_equal(r, -EINVAL);
    assert_ptr_equal(c, sentinel);
    return ad_err_str(&err, buf, sizeof(buf));
}

static void assert_contains(const char *hay, const char *needle)
{
    if (!strstr(hay, needle))
        fail_msg("\"%s\" does not contain \"%s\"", hay, needle);
}

static void assert_prefix(const char *s, const char *prefix)
{
    if (strncmp(s, prefix, strlen(prefix)) != 0)
        fail_msg("\"%s\" does not start with \"%s\"", s, prefix);
}

static void assert_list(const struct ad_strlist *l, size_t n, const char *const *want)
{
    assert_int_equal(l->n, n);
    assert_non_null(l->v);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(l->v[i], want[i]);
    assert_null(l->v[n]);
}

/* One option of models.dedup set to value: loads and returns the config. */
static struct ad_config *dedup_with(const char *key, const char *value)
{
    char yaml[512];
    snprintf(yaml, sizeof(yaml), "models:\n  dedup:\n    %s: %s\n", key, value);
    return load_ok(yaml);
}

static const char *dedup_err(const char *key, const char *value)
{
    char yaml[512];
    snprintf(yaml, sizeof(yaml), "models:\n  dedup:\n    %s: %s\n", key, value);
    return load_err(yaml);
}

/* Field-by-field equality of two configs loaded against `sections`, by option type. */
static void assert_same_values(const struct ad_config *a, const struct ad_config *b)
{
    for (size_t i = 0; sections[i]; i++) {
        const char *pa = ad_config_get(a, sections[i]->path);
        const char *pb = ad_config_get(b, sections[i]->path);
        assert_non_null(pa);
        assert_non_null(pb);
        for (const struct ad_opt *o = sections[i]->opts; o->name; o++) {
            const char *x = pa + o->offset, *y = pb + o->offset;
            switch (o->type) {
            case AD_OPT_T_STRING:
            case AD_OPT_T_ENDPOINT: {
                const char *s = *(char *const *)x, *t = *(char *const *)y;
                if (s || t) {
                    assert_non_null(s);
                    assert_non_null(t);
                    assert_string_equal(s, t);
                }
                break;
            }
            case AD_OPT_T_STRLIST: {
                const struct ad_strlist *l = (const void *)x, *m = (const void *)y;
                assert_list(m, l->n, (const char *const *)l->v);
                break;
            }
            case AD_OPT_T_DOUBLE:
                assert_true(*(const double *)x == *(const double *)y);
                break;
            case AD_OPT_T_BOOL:
                assert_int_equal(*(const bool *)x, *(const bool *)y);
                break;
            case AD_OPT_T_ENUM:
                assert_int_equal(*(const int *)x, *(const int *)y);
                break;
            default:
                assert_memory_equal(x, y, 8);
                break;
            }
        }
    }
}

/* --- defaults --------------------------------------------------------------------------------- */

static void no_file_gives_every_default(void **state)
{
    (void)state;
    struct ad_config *c = NULL;
    struct ad_err err = {0};
    assert_int_equal(ad_config_load(NULL, sections, &c, &err), 0);
    assert_null(c->file);
    assert_int_equal(c->n, 4);

    const struct t_daemon *d = ad_config_get(c, "daemon");
    assert_int_equal(d->log_level, 2);
    assert_string_equal(d->state_dir, "/var/lib/aiopsd");
    assert_false(d->verbose);
    assert_null(d->password);

    const struct t_zmq *z = ad_config_get(c, "collectors.zmq");
    assert_string_equal(z->endpoint, "tcp://*:5556");
    assert_list(&z->peers, 3, (const char *const[]){"a", "b", "c"});
    assert_int_equal(z->max_message_size, 1 << 20);
    assert_true(z->enabled);

    const struct t_kafka *k = ad_config_get(c, "collectors.kafka");
    assert_list(&k->brokers, 1, (const char *const[]){"localhost:9092"});
    assert_string_equal(k->group, "aiopsd");

    const struct t_dedup *m = ad_config_get(c, "models.dedup");
    assert_int_equal(m->window_ns, 300 * NS_PER_S);
    assert_int_equal(m->offset, -5);
    assert_int_equal(m->count, 10);
    assert_true(m->ratio == 0.5);
    assert_list(&m->labels, 0, NULL);
    assert_string_equal(m->redis, "127.0.0.1:6379");

    assert_null(ad_config_get(c, "models"));
    assert_null(ad_config_get(c, "models.dedupe"));
    assert_null(ad_config_get(c, NULL));
    ad_config_destroy(c);
}

static void empty_and_comment_only_files_give_defaults(void **state)
{
    (void)state;
    const char *inputs[] = {"",
                            "# nothing here\n\n   # still nothing\n",
                            "---\n",
                            "~\n",
                            "---\n...\n",
                            "models:\n",
                            "models:\n  dedup:\n",
                            "models: {}\n",
                            "collectors: ~\n"};
    struct ad_config *def = load_ok("");
    for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
        struct ad_config *c = load_ok(inputs[i]);
        assert_same_values(c, def);
        ad_config_destroy(c);
    }
    ad_config_destroy(def);
}

static void file_values_override_defaults_and_others_keep_them(void **state)
{
    (void)state;
    struct ad_config *c = load_ok("# a full file\n"
                                  "daemon:\n"
                                  "  log_level: debug\n"
                                  "  verbose: yes\n"
                                  "collectors:\n"
                                  "  zmq:\n"
                                  "    endpoint: \"tcp://127.0.0.1:7000\"\n"
                                  "    peers: [x, 'y z']\n"
                                  "  kafka: {group: g1}\n"
                                  "models:\n"
                                  "  dedup:\n"
                                  "    window: 1h30m\n"
                                  "    ratio: 0.25\n");
    const struct t_daemon *d = ad_config_get(c, "daemon");
    assert_int_equal(d->log_level, 3);
    assert_true(d->verbose);
    assert_string_equal(d->state_dir, "/var/lib/aiopsd");
    const struct t_zmq *z = ad_config_get(c, "collectors.zmq");
    assert_string_equal(z->endpoint, "tcp://127.0.0.1:7000");
    assert_list(&z->peers, 2, (const char *const[]){"x", "y z"});
    assert_int_equal(z->max_message_size, 1 << 20);
    const struct t_kafka *k = ad_config_get(c, "collectors.kafka");
    assert_string_equal(k->group, "g1");
    const struct t_dedup *m = ad_config_get(c, "models.dedup");
    assert_int_equal(m->window_ns, 5400 * NS_PER_S);
    assert_true(m->ratio == 0.25);
    assert_int_equal(m->count, 10);
    ad_config_destroy(c);
}

/* --- types ------------------------------------------------------------------------------------ */

static void bool_accepts_true_false_yes_no_on_off_in_any_case(void **state)
{
    (void)state;
    const char *t[] = {"true", "True", "YES", "on", "On"};
    const char *f[] = {"false", "FALSE", "no", "No", "off", "OFF"};
    char yaml[128];
    for (size_t i = 0; i < 5; i++) {
        snprintf(yaml, sizeof(yaml), "daemon:\n  verbose: %s\n", t[i]);
        struct ad_config *c = load_ok(yaml);
        assert_true(((struct t_daemon *)ad_config_get(c, "daemon"))->verbose);
        ad_config_destroy(c);
    }
    for (size_t i = 0; i < 6; i++) {
        snprintf(yaml, sizeof(yaml), "collectors:\n  zmq:\n    enabled: %s\n", f[i]);
        struct ad_config *c = load_ok(yaml);
        assert_false(((struct t_zmq *)ad_config_get(c, "collectors.zmq"))->enabled);
        ad_config_destroy(c);
    }
    assert_string_equal(load_err("daemon:\n  verbose: maybe\n"),
                        "t.yaml:2:12: daemon.verbose: expected true or false (also yes/no, "
                        "on/off), got \"maybe\"");
    assert_contains(load_err("daemon:\n  verbose: 1\n"), "got \"1\"");
}

static void int_takes_a_signed_decimal_within_its_range(void **state)
{
    (void)state;
    const struct {
        const char *in;
        int64_t want;
    } ok[] = {{"-100", -100}, {"+7", 7}, {"100", 100}, {"0", 0}, {"'-3'", -3}};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        struct ad_config *c = dedup_with("offset", ok[i].in);
        assert_int_equal(((struct t_dedup *)ad_config_get(c, "models.dedup"))->offset, ok[i].want);
        ad_config_destroy(c);
    }
    assert_string_equal(dedup_err("offset", "101"),
                        "t.yaml:3:13: models.dedup.offset: expected an integer between -100 and "
                        "100, got \"101\"");
    const char *bad[] = {"-101", "1.5",  "12abc", "\"\"", "99999999999999999999",
                         "--1",  "0x10", "1e2",   "' 5'"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_contains(dedup_err("offset", bad[i]), "expected an integer between -100 and 100");
}

static void uint_rejects_signs_and_values_outside_its_range(void **state)
{
    (void)state;
    struct ad_config *c = dedup_with("count", "1000");
    assert_int_equal(((struct t_dedup *)ad_config_get(c, "models.dedup"))->count, 1000);
    ad_config_destroy(c);
    const char *bad[] = {"-1", "0", "1001", "+5", "18446744073709551616", "5.0"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_contains(dedup_err("count", bad[i]),
                        "models.dedup.count: expected a non-negative integer between 1 and 1000");
}

static void double_takes_finite_decimals_only(void **state)
{
    (void)state;
    const struct {
        const char *in;
        double want;
    } ok[] = {{"0.25", 0.25}, {"1", 1.0}, {"0", 0.0}, {"1e-1", 0.1}, {".5", 0.5}};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        struct ad_config *c = dedup_with("ratio", ok[i].in);
        assert_true(((struct t_dedup *)ad_config_get(c, "models.dedup"))->ratio == ok[i].want);
        ad_config_destroy(c);
    }
    const char *bad[] = {"nan", "inf", "0x1p-2", "2", "-0.1", "0.5x", "1e999", "\" 0.5\""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_contains(dedup_err("ratio", bad[i]), "expected a number between 0 and 1, got");
}

static void duration_parser_reads_units_and_compounds(void **state)
{
    (void)state;
    const struct {
        const char *in;
        int64_t want;
    } ok[] = {
        {"500ms", 500000000LL},
        {"30s", 30 * NS_PER_S},
        {"5m", 300 * NS_PER_S},
        {"2h", 7200 * NS_PER_S},
        {"7d", 604800 * NS_PER_S},
        {"1h30m", 5400 * NS_PER_S},
        {"0", 0},
        {"0s", 0},
        {"1ns", 1},
        {"3us", 3000},
        {"1m1s1ms", 61001000000LL},
        {"106751d", 106751LL * 86400 * NS_PER_S},
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        int64_t v = -1;
        assert_int_equal(ad_parse_duration(ok[i].in, &v), 0);
        assert_int_equal(v, ok[i].want);
    }
    const char *bad[] = {"",        "5",   "-5s",  "5 minutes", "5x",
                         "1h30",    "s",   "0.5s", "1S",        "5mins",
                         "106752d", "+5s", " 5s",  "5s ",       "99999999999999999999s"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int64_t v = 42;
        if (ad_parse_duration(bad[i], &v) != -EINVAL)
            fail_msg("\"%s\" was accepted", bad[i]);
        assert_int_equal(v, 42);
    }
    assert_int_equal(ad_parse_duration(NULL, &(int64_t){0}), -EINVAL);
}

static void duration_option_enforces_its_range_with_the_position(void **state)
{
    (void)state;
    assert_string_equal(dedup_err("window", "\"5 minutes\""),
                        "t.yaml:3:13: models.dedup.window: expected a duration between 1s and 7d "
                        "(e.g. 30s, 5m), got \"5 minutes\"");
    assert_contains(dedup_err("window", "500ms"), "got \"500ms\"");
    assert_contains(dedup_err("window", "7d1ns"), "got \"7d1ns\"");
    struct ad_config *c = dedup_with("window", "7d");
    assert_int_equal(((struct t_dedup *)ad_config_get(c, "models.dedup"))->window_ns,
                     7 * 86400 * NS_PER_S);
    ad_config_destroy(c);
}

static void size_parser_reads_binary_and_decimal_units(void **state)
{
    (void)state;
    const struct {
        const char *in;
        uint64_t want;
    } ok[] = {{"512", 512},
              {"0", 0},
              {"512B", 512},
              {"64KiB", 64 << 10},
              {"16MiB", 16 << 20},
              {"1GiB", 1ULL << 30},
              {"2TiB", 2ULL << 40},
              {"1KB", 1000},
              {"3MB", 3000000},
              {"1GB", 1000000000},
              {"64 KiB", 64 << 10},
              {"64kib", 64 << 10},
              {"16777215TiB", 16777215ULL << 40 /* the largest whole TiB count */}};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        uint64_t v = 0;
        if (ad_parse_size(ok[i].in, &v) != 0)
            fail_msg("\"%s\" was rejected", ok[i].in);
        assert_int_equal(v, ok[i].want);
    }
    const char *bad[] = {"",        "1.5MiB",      "-1",
                         "KiB",     "16Mi",        "16 ",
                         "16  MiB", "16777216TiB", "18446744073709551616",
                         "5 x",     " 5"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint64_t v = 42;
        if (ad_parse_size(bad[i], &v) != -EINVAL)
            fail_msg("\"%s\" was accepted", bad[i]);
        assert_int_equal(v, 42);
    }
    assert_string_equal(load_err("collectors:\n  zmq:\n    max_message_size: 65MiB\n"),
                        "t.yaml:3:23: collectors.zmq.max_message_size: expected a size between "
                        "1KiB and 64MiB (e.g. 512, 64KiB, 16MiB), got \"65MiB\"");
    assert_contains(load_err("collectors:\n  zmq:\n    max_message_size: 1023\n"), "got \"1023\"");
}

static void string_is_bounded_by_its_maximum_length(void **state)
{
    (void)state;
    struct ad_config *c = load_ok("collectors:\n  kafka:\n    group: \"0123456789abcdef\"\n");
    assert_string_equal(((struct t_kafka *)ad_config_get(c, "collectors.kafka"))->group,
                        "0123456789abcdef");
    ad_config_destroy(c);
    c = load_ok("collectors:\n  kafka:\n    group: ''\n");
    assert_string_equal(((struct t_kafka *)ad_config_get(c, "collectors.kafka"))->group, "");
    ad_config_destroy(c);
    c = load_ok("collectors:\n  kafka:\n    group: 42\n"); /* a number is text to a string */
    assert_string_equal(((struct t_kafka *)ad_config_get(c, "collectors.kafka"))->group, "42");
    ad_config_destroy(c);
    assert_string_equal(load_err("collectors:\n  kafka:\n    group: 0123456789abcdefg\n"),
                        "t.yaml:3:12: collectors.kafka.group: expected a string of at most 16 "
                        "bytes, got 17 bytes");
    assert_contains(load_err("collectors:\n  kafka:\n    group: \"a\\0b\"\n"),
                    "expected a string of at most 16 bytes, got \"a?b\"");
}

static void null_is_refused_unless_the_default_is_unset(void **state)
{
    (void)state;
    assert_string_equal(load_err("daemon:\n  state_dir:\n  verbose: true\n"),
                        "t.yaml:2:13: daemon.state_dir: expected a string of at most 4096 bytes, "
                        "got null (remove the key to use the default)");
    assert_contains(dedup_err("window", "~"), "got null");
    struct ad_config *c = load_ok("daemon:\n  password: s3cret\n");
    assert_string_equal(((struct t_daemon *)ad_config_get(c, "daemon"))->password, "s3cret");
    ad_config_destroy(c);
    c = load_ok("daemon:\n  password: null\n");
    assert_null(((struct t_daemon *)ad_config_get(c, "daemon"))->password);
    ad_config_destroy(c);
    /* Quoted, it is the word, not null. */
    c = load_ok("daemon:\n  password: \"null\"\n");
    assert_string_equal(((struct t_daemon *)ad_config_get(c, "daemon"))->password, "null");
    ad_config_destroy(c);
}

static void enum_matches_names_in_any_case_and_lists_them_when_not(void **state)
{
    (void)state;
    struct ad_config *c = load_ok("daemon:\n  log_level: WARN\n");
    assert_int_equal(((struct t_daemon *)ad_config_get(c, "daemon"))->log_level, 1);
    ad_config_destroy(c);
    assert_string_equal(load_err("daemon:\n  log_level: verbose\n"),
                        "t.yaml:2:14: daemon.log_level: expected one of error, warn, info, debug, "
                        "got \"verbose\"");
}

static void strlist_takes_a_sequence_or_a_comma_separated_string(void **state)
{
    (void)state;
    struct ad_config *c = dedup_with("labels", "[env, 'team name', \"a,b\"]");
    assert_list(&((struct t_dedup *)ad_config_get(c, "models.dedup"))->labels, 3,
                (const char *const[]){"env", "team name", "a,b"});
    ad_config_destroy(c);
    c = load_ok("models:\n  dedup:\n    labels:\n      - env\n      - dc\n");
    assert_list(&((struct t_dedup *)ad_config_get(c, "models.dedup"))->labels, 2,
                (const char *const[]){"env", "dc"});
    ad_config_destroy(c);
    c = dedup_with("labels", "\" env ,dc,\tzone \"");
    assert_list(&((struct t_dedup *)ad_config_get(c, "models.dedup"))->labels, 3,
                (const char *const[]){"env", "dc", "zone"});
    ad_config_destroy(c);
    const char *empty[] = {"[]", "\"\"", "\"  \""};
    for (size_t i = 0; i < 3; i++) {
        c = dedup_with("labels", empty[i]);
        assert_list(&((struct t_dedup *)ad_config_get(c, "models.dedup"))->labels, 0, NULL);
        ad_config_destroy(c);
    }
    assert_string_equal(dedup_err("labels", "{a: b}"),
                        "t.yaml:3:13: models.dedup.labels: expected a sequence or a "
                        "comma-separated string, got a mapping");
    assert_string_equal(dedup_err("labels", "[a, [b]]"),
                        "t.yaml:3:17: models.dedup.labels: expected a scalar list item, got a "
                        "sequence");
    assert_string_equal(dedup_err("labels", "[a, '']"),
                        "t.yaml:3:17: models.dedup.labels: list items must be non-empty names of "
                        "at most 4096 bytes, got \"\"");
    assert_contains(dedup_err("labels", "[a, ~]"), "expected a scalar list item, got null");
    assert_contains(dedup_err("labels", "a,,b"), "got \"a,,b\"");
    assert_contains(dedup_err("labels", "'a,b,'"), "comma-separated string of non-empty names");
}

static void endpoint_accepts_the_documented_forms_only(void **state)
{
    (void)state;
    const char *ok[] = {"localhost:6379",
                        "10.0.0.1:1",
                        "'[::1]:65535'",
                        "'[fe80::1%eth0]:80'",
                        "tcp://host:5556",
                        "'tcp://*:5556'",
                        "tcp://[::]:5556",
                        "ipc:///run/a.sock",
                        "unix:/run/redis.sock",
                        "'*:80'",
                        "my_host.example-1.org:443"};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        struct ad_config *c = dedup_with("redis", ok[i]);
        const char *got = ((struct t_dedup *)ad_config_get(c, "models.dedup"))->redis;
        char want[64];
        snprintf(want, sizeof(want), "%s", ok[i][0] == '\'' ? ok[i] + 1 : ok[i]);
        if (ok[i][0] == '\'')
            want[strlen(want) - 1] = '\0';
        assert_string_equal(got, want);
        ad_config_destroy(c);
    }
    const char *bad[] = {"host",      "host:0",  "host:65536", "'::1:80'",  "tcp://", "'udp://h:1'",
                         "ipc://",    "'unix:'", "'[zz]:80'",  "h:80x",     "':80'",  "'h :80'",
                         "'[::1]80'", "tcp://h", "'host:-1'",  "'h:080000'"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_contains(dedup_err("redis", bad[i]),
                        "models.dedup.redis: expected an endpoint (host:port, [v6addr]:port, "
                        "tcp://host:port, ipc:///path or unix:/path; port 1-65535), got");
}

/* --- structure errors ------------------------------------------------------------------------- */

static void unknown_key_names_its_line_and_column_and_suggests(void **state)
{
    (void)state;
    assert_string_equal(load_err("models:\n  dedup:\n    windw: 5m\n"),
                        "t.yaml:3:5: models.dedup: unknown key 'windw'; did you mean 'window'?");
    /* A prefix is a hint too, and so are child sections. */
    assert_contains(load_err("models:\n  dedup:\n    win: 5m\n"), "did you mean 'window'?");
    assert_string_equal(load_err("collectors:\n  zqm: {}\n"),
                        "t.yaml:2:3: collectors: unknown key 'zqm'; did you mean 'zmq'?");
    /* No close name: the valid keys are listed. */
    assert_string_equal(load_err("models:\n  dedup:\n    zzzzzzzz: 1\n"),
                        "t.yaml:3:5: models.dedup: unknown key 'zzzzzzzz'; valid keys here: "
                        "window, offset, count, ratio, labels, redis");
}

static void unknown_section_is_an_error_with_a_hint(void **state)
{
    (void)state;
    assert_string_equal(load_err("# comment\nmodles:\n  dedup: {}\n"),
                        "t.yaml:2:1: unknown section 'modles'; did you mean 'models'?");
    assert_string_equal(load_err("outputs: {}\n"),
                        "t.yaml:1:1: unknown section 'outputs'; valid keys here: daemon, "
                        "collectors, models");
}

static void wrong_node_kinds_are_named(void **state)
{
    (void)state;
    assert_string_equal(load_err("models: 5\n"),
                        "t.yaml:1:9: models: expected a mapping, got a scalar");
    assert_string_equal(load_err("models:\n  - dedup\n"),
                        "t.yaml:2:3: models: expected a mapping, got a sequence");
    assert_string_equal(load_err("models:\n  dedup:\n    window: {a: 1}\n"),
                        "t.yaml:3:13: models.dedup.window: expected a scalar, got a mapping");
    assert_string_equal(load_err("daemon:\n  verbose: [true]\n"),
                        "t.yaml:2:12: daemon.verbose: expected a scalar, got a sequence");
    assert_string_equal(load_err("- a\n- b\n"),
                        "t.yaml:1:1: expected a mapping of sections at the top level, got a "
                        "sequence");
    assert_contains(load_err("just words\n"), "at the top level, got a scalar");
    assert_string_equal(load_err("? [a]\n: 1\n"),
                        "t.yaml:1:3: expected a scalar key, got a sequence");
}

static void duplicate_keys_are_errors_at_the_second(void **state)
{
    (void)state;
    assert_string_equal(load_err("models:\n  dedup:\n    window: 5m\n    count: 3\n"
                                 "    window: 6m\n"),
                        "t.yaml:5:5: models.dedup: duplicate key 'window' (first given on line 3)");
    assert_string_equal(load_err("models: {}\ndaemon: {}\nmodels: {}\n"),
                        "t.yaml:3:1: duplicate key 'models' (first given on line 1)");
}

static void yaml_syntax_errors_carry_libyaml_position_and_problem(void **state)
{
    (void)state;
    assert_string_equal(load_err("daemon:\n  verbose: true\n  log_level: a: b\n"),
                        "t.yaml:3:15: YAML syntax error: mapping values are not allowed in this "
                        "context");
    assert_prefix(load_err("models:\n  dedup:\n    labels: [a, b\n"),
                  "t.yaml:4:1: YAML syntax error: ");
    assert_prefix(load_err("daemon:\n\tverbose: true\n"), "t.yaml:2:1: YAML syntax error: ");
    /* A syntax error later in the file wins over a meaning error earlier in it. */
    assert_prefix(load_err("bogus: 1\ndaemon: [\n"), "t.yaml:3:1: YAML syntax error");
    /* Invalid UTF-8: a reader error, positioned from its byte offset. */
    assert_prefix(load_err("daemon:\n  password: \"\xff\"\n"), "t.yaml:2:14: YAML: ");
}

static void aliases_and_second_documents_are_refused(void **state)
{
    (void)state;
    assert_string_equal(load_err("models:\n  dedup:\n    window: &w 5m\n    count: *w\n"),
                        "t.yaml:4:12: YAML aliases (*w) are not supported; repeat the value");
    assert_string_equal(load_err("daemon: {}\n---\nmodels: {}\n"),
                        "t.yaml:2:1: a second YAML document: the configuration is one document");
}

static void limits_on_size_and_nesting_hold(void **state)
{
    (void)state;
    size_t n = (1u << 20) + 1;
    char *big = malloc(n + 1);
    assert_non_null(big);
    memset(big, '#', n);
    big[n] = '\0';
    struct ad_config *c = NULL;
    struct ad_err err = {0};
    assert_int_equal(ad_config_load_string("big.yaml", big, n, sections, &c, &err), -EINVAL);
    assert_null(c);
    assert_contains(err.msg, "larger than");
    free(big);

    char deep[256] = "daemon: ";
    for (int i = 0; i < 40; i++)
        strcat(deep, "[");
    assert_contains(load_err(deep), "nested deeper than 32 levels");
}

/* --- files ------------------------------------------------------------------------------------ */

static void a_missing_file_is_enoent_naming_the_file(void **state)
{
    (void)state;
    struct ad_config *c = NULL;
    struct ad_err err = {0};
    const char *path = AD_TEST_DATA_DIR "/config/does-not-exist.yaml";
    assert_int_equal(ad_config_load(path, sections, &c, &err), -ENOENT);
    assert_null(c);
    assert_contains(err.msg, path);
    assert_int_equal(ad_config_load(AD_TEST_DATA_DIR "/config", sections, &c, &err), -EISDIR);
    assert_null(c);
}

static void fixture_files_load_or_fail_with_their_path(void **state)
{
    (void)state;
    struct ad_config *c = NULL;
    struct ad_err err = {0};
    char buf[512];
    const char *good = AD_TEST_DATA_DIR "/config/valid.yaml";
    if (ad_config_load(good, sections, &c, &err) != 0)
        fail_msg("%s", ad_err_str(&err, buf, sizeof(buf)));
    assert_string_equal(c->file, good);
    const struct t_dedup *m = ad_config_get(c, "models.dedup");
    assert_int_equal(m->window_ns, 90 * NS_PER_S);
    assert_list(&m->labels, 2, (const char *const[]){"env", "team"});
    assert_string_equal(((struct t_zmq *)ad_config_get(c, "collectors.zmq"))->endpoint,
                        "ipc:///run/aiopsd/events.sock");
    ad_config_destroy(c);
    c = NULL;

    const char *bad = AD_TEST_DATA_DIR "/config/unknown-key.yaml";
    assert_int_equal(ad_config_load(bad, sections, &c, &err), -EINVAL);
    assert_null(c);
    assert_ptr_equal(err.file, bad); /* the caller's string: valid after the call */
    assert_int_equal(err.line, 6);
    assert_int_equal(err.col, 5);
    assert_contains(err.msg, "did you mean 'window'?");
}

/* --- tables ----------------------------------------------------------------------------------- */

struct t_bad {
    int64_t x;
};

static void a_bad_builtin_default_or_bound_fails_naming_the_option(void **state)
{
    (void)state;
    static const struct ad_opt bad_def[] = {
        AD_OPT_DURATION("x", "5 min", "1s", "1h", struct t_bad, x, "doc"), AD_OPT_END};
    static const struct ad_opt bad_min[] = {
        AD_OPT_DURATION("x", "5m", "one", "1h", struct t_bad, x, "doc"), AD_OPT_END};
    static const struct ad_opt out_of_range[] = {
        AD_OPT_INT("x", "0", "1", "10", struct t_bad, x, "doc"), AD_OPT_END};
    static const struct ad_section s1 = {"a.b", "", bad_def, sizeof(struct t_bad)};
    static const struct ad_section s2 = {"a.b", "", bad_min, sizeof(struct t_bad)};
    static const struct ad_section s3 = {"a.b", "", out_of_range, sizeof(struct t_bad)};
    const struct ad_section *l1[] = {&s1, NULL}, *l2[] = {&s2, NULL}, *l3[] = {&s3, NULL};
    struct ad_config *c = NULL;
    struct ad_err err = {0};
    assert_int_equal(ad_config_load(NULL, l1, &c, &err), -EINVAL);
    assert_string_equal(err.msg, "a.b.x: built-in default: expected a duration between 1s and 1h "
                                 "(e.g. 30s, 5m), got \"5 min\"");
    assert_null(err.file);
    assert_int_equal(ad_config_load(NULL, l2, &c, &err), -EINVAL);
    assert_string_equal(err.msg, "a.b.x: built-in minimum \"one\" is not a valid duration");
    assert_int_equal(ad_config_load_string("x", "", 0, l3, &c, &err), -EINVAL);
    assert_contains(err.msg, "a.b.x: built-in default: expected an integer between 1 and 10");
    assert_null(c);
}

/* --- generated files -------------------------------------------------------------------------- */

static void example_loads_back_to_exactly_the_defaults(void **state)
{
    (void)state;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    assert_int_equal(ad_config_write_example(f, sections), 0);
    assert_int_equal(fclose(f), 0);

    /* collectors.zmq and collectors.kafka share one collectors: mapping */
    assert_non_null(strstr(text, "\ncollectors:\n"));
    assert_null(strstr(strstr(text, "\ncollectors:\n") + 1, "\ncollectors:\n"));
    assert_non_null(strstr(text, "  # Suppression window.\n"));
    assert_non_null(strstr(text, "# Type: duration, 1s to 7d. Default: 5m.\n    window: 5m\n"));
    assert_non_null(strstr(text, "Default: tcp://*:5556. (restart required)\n"
                                 "    endpoint: \"tcp://*:5556\"\n"));
    assert_non_null(strstr(text, "peers: [a, b, c]\n"));
    assert_non_null(strstr(text, "labels: []\n"));
    assert_non_null(strstr(text, "# Type: enum (error, warn, info, debug). Default: info.\n"));
    assert_non_null(strstr(text, "  # password: \"\"\n"));

    struct ad_config *ex = NULL, *def = NULL;
    struct ad_err err = {0};
    char buf[512];
    if (ad_config_load_string("example.yaml", text, len, sections, &ex, &err) != 0)
        fail_msg("%s\n%s", ad_err_str(&err, buf, sizeof(buf)), text);
    assert_int_equal(ad_config_load(NULL, sections, &def, &err), 0);
    assert_same_values(ex, def);
    assert_int_equal(ad_config_restart_diff(ex, def, NULL, NULL), 0);
    ad_config_destroy(ex);
    ad_config_destroy(def);
    free(text);
}

static void markdown_has_one_table_per_section(void **state)
{
    (void)state;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    assert_int_equal(ad_config_write_markdown(f, sections), 0);
    assert_int_equal(fclose(f), 0);
    size_t tables = 0;
    for (const char *p = text; (p = strstr(p, "| option | type | default | range | reload |")); p++)
        tables++;
    assert_int_equal(tables, 4);
    assert_non_null(strstr(text, "\n## `models.dedup`\n\nDuplicate suppression.\n"));
    assert_non_null(strstr(text, "| `window` | duration | `5m` | 1s to 7d | yes | Suppression "
                                 "window. |\n"));
    assert_non_null(strstr(text, "| `endpoint` | endpoint | `tcp://*:5556` |  | restart |"));
    assert_non_null(strstr(text, "| `verbose` | bool | `false` |  | yes | Chatty \\| noisy. |"));
    assert_non_null(strstr(text, "| `log_level` | enum: `error`, `warn`, `info`, `debug` |"));
    assert_non_null(strstr(text, "| `password` | string | (unset) | at most 64 bytes |"));
    free(text);
}

/* --- reload ----------------------------------------------------------------------------------- */

struct diff_log {
    int n;
    char names[8][64];
};

static void on_diff(void *ctx, const char *section, const struct ad_opt *opt)
{
    struct diff_log *d = ctx;
    if (d->n < 8)
        snprintf(d->names[d->n], sizeof(d->names[0]), "%s.%s", section, opt->name);
    d->n++;
}

static void restart_diff_names_changed_restart_options_and_keep_copies_them(void **state)
{
    (void)state;
    struct ad_config *running = load_ok("collectors:\n  kafka:\n    brokers: [k1:9092]\n");
    struct ad_config *next = load_ok("daemon:\n  state_dir: /srv/a\n  verbose: on\n"
                                     "collectors:\n"
                                     "  zmq: {endpoint: 'tcp://*:6000'}\n"
                                     "  kafka:\n    brokers: [k1:9092]\n"
                                     "models:\n  dedup: {window: 1m}\n");
    struct diff_log log = {0};
    assert_int_equal(ad_config_restart_diff(running, next, on_diff, &log), 2);
    assert_int_equal(log.n, 2);
    assert_string_equal(log.names[0], "daemon.state_dir");
    assert_string_equal(log.names[1], "collectors.zmq.endpoint");

    struct ad_config *other = load_ok("collectors:\n  kafka:\n    brokers: [k1:9092, k2:9092]\n");
    assert_int_equal(ad_config_restart_diff(running, other, NULL, NULL), 1);

    assert_int_equal(ad_config_keep_restart(next, running), 0);
    assert_int_equal(ad_config_keep_restart(other, running), 0);
    /* The copies are deep: the running config can go first. */
    ad_config_destroy(running);
    assert_string_equal(((struct t_daemon *)ad_config_get(next, "daemon"))->state_dir,
                        "/var/lib/aiopsd");
    assert_true(((struct t_daemon *)ad_config_get(next, "daemon"))->verbose);
    assert_string_equal(((struct t_zmq *)ad_config_get(next, "collectors.zmq"))->endpoint,
                        "tcp://*:5556");
    assert_int_equal(((struct t_dedup *)ad_config_get(next, "models.dedup"))->window_ns,
                     60 * NS_PER_S);
    assert_list(&((struct t_kafka *)ad_config_get(other, "collectors.kafka"))->brokers, 1,
                (const char *const[]){"k1:9092"});
    assert_int_equal(ad_config_restart_diff(next, other, NULL, NULL), 0);
    assert_int_equal(ad_config_restart_diff(NULL, other, NULL, NULL), 0);
    assert_int_equal(ad_config_keep_restart(NULL, other), -EINVAL);
    ad_config_destroy(next);
    ad_config_destroy(other);
}

static void grouped_options_are_a_nested_mapping_with_positions(void **state)
{
    (void)state;
    struct ad_config *c =
        load_ok("collectors:\n  kafka:\n    group: g\n    tls:\n      key_file: k.pem\n"
                "      cert_file: c.pem\n");
    const struct t_kafka *k = ad_config_get(c, "collectors.kafka");
    assert_string_equal(k->tls_cert, "c.pem");
    assert_string_equal(k->tls_key, "k.pem");
    ad_config_destroy(c);
    c = load_ok("collectors:\n  kafka:\n    tls:\n");
    k = ad_config_get(c, "collectors.kafka");
    assert_string_equal(k->tls_cert, "");
    ad_config_destroy(c);

    assert_string_equal(load_err("collectors:\n  kafka:\n    tls:\n      cert: x\n"),
                        "t.yaml:4:7: collectors.kafka.tls: unknown key 'cert'; valid keys "
                        "here: cert_file, key_file");
    assert_string_equal(load_err("collectors:\n  kafka:\n    tls: x.pem\n"),
                        "t.yaml:3:10: collectors.kafka.tls: expected a mapping, got a scalar");
    assert_prefix(load_err("collectors:\n  kafka:\n    tls:\n      cert_file: a\n"
                           "      cert_file: b\n"),
                  "t.yaml:5:7: collectors.kafka.tls: duplicate key 'cert_file'");
    assert_contains(load_err("collectors:\n  kafka:\n    tls:\n      cert_file: [a]\n"),
                    "collectors.kafka.tls.cert_file: expected");
    /* The dotted name itself is not a key. */
    assert_contains(load_err("collectors:\n  kafka:\n    tls.cert_file: a\n"), "unknown key");
}

static void destroy_accepts_null(void **state)
{
    (void)state;
    ad_config_destroy(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(no_file_gives_every_default),
        cmocka_unit_test(empty_and_comment_only_files_give_defaults),
        cmocka_unit_test(file_values_override_defaults_and_others_keep_them),
        cmocka_unit_test(bool_accepts_true_false_yes_no_on_off_in_any_case),
        cmocka_unit_test(int_takes_a_signed_decimal_within_its_range),
        cmocka_unit_test(uint_rejects_signs_and_values_outside_its_range),
        cmocka_unit_test(double_takes_finite_decimals_only),
        cmocka_unit_test(duration_parser_reads_units_and_compounds),
        cmocka_unit_test(duration_option_enforces_its_range_with_the_position),
        cmocka_unit_test(size_parser_reads_binary_and_decimal_units),
        cmocka_unit_test(string_is_bounded_by_its_maximum_length),
        cmocka_unit_test(null_is_refused_unless_the_default_is_unset),
        cmocka_unit_test(enum_matches_names_in_any_case_and_lists_them_when_not),
        cmocka_unit_test(strlist_takes_a_sequence_or_a_comma_separated_string),
        cmocka_unit_test(endpoint_accepts_the_documented_forms_only),
        cmocka_unit_test(unknown_key_names_its_line_and_column_and_suggests),
        cmocka_unit_test(unknown_section_is_an_error_with_a_hint),
        cmocka_unit_test(wrong_node_kinds_are_named),
        cmocka_unit_test(duplicate_keys_are_errors_at_the_second),
        cmocka_unit_test(yaml_syntax_errors_carry_libyaml_position_and_problem),
        cmocka_unit_test(aliases_and_second_documents_are_refused),
        cmocka_unit_test(limits_on_size_and_nesting_hold),
        cmocka_unit_test(a_missing_file_is_enoent_naming_the_file),
        cmocka_unit_test(fixture_files_load_or_fail_with_their_path),
        cmocka_unit_test(a_bad_builtin_default_or_bound_fails_naming_the_option),
        cmocka_unit_test(example_loads_back_to_exactly_the_defaults),
        cmocka_unit_test(markdown_has_one_table_per_section),
        cmocka_unit_test(restart_diff_names_changed_restart_options_and_keep_copies_them),
        cmocka_unit_test(grouped_options_are_a_nested_mapping_with_positions),
        cmocka_unit_test(destroy_accepts_null),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
