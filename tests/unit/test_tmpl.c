/* tests/unit/test_tmpl.c: the template miner (models/tmpl.h): masking, the tree, merging and its
 * guards, stable ids (two miners, save/load, wildcards), eviction, parameters, extra masks,
 * pathological lines; and the log-format header stripping (models/logfmt.h). */
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
#include "common/ser.h"
#include "models/logfmt.h"
#include "models/tmpl.h"

static struct ad_tmpl *miner(uint32_t max_templates, const char *const *masks, size_t n_masks)
{
    struct ad_tmpl_cfg cfg = {
        .max_templates = max_templates, .extra_masks = masks, .n_extra_masks = n_masks};
    struct ad_tmpl *t = NULL;
    struct ad_err err;
    assert_int_equal(ad_tmpl_create(&cfg, &t, &err), 0);
    return t;
}

static struct ad_tmpl_match add(struct ad_tmpl *t, const char *line)
{
    struct ad_tmpl_match m;
    assert_int_equal(ad_tmpl_add(t, ad_str_c(line), 0, &m), 0);
    return m;
}

static void assert_text(struct ad_tmpl_match m, const char *want)
{
    if (!ad_str_eq_c(m.text, want))
        fail_msg("template \"%.*s\", expected \"%s\"", (int)m.text.len, m.text.p, want);
}

static void each_variable_kind_is_masked(void **state)
{
    (void)state;
    struct ad_tmpl *t = miner(0, NULL, 0);
    assert_text(
        add(t, "conn from 10.1.2.3:8080 to [192.168.0.1] via fe80::1 and 2001:db8:0:0:0:0:0:1"),
        "conn from <IP> to [<IP>] via <IP> and <IP>");
    assert_text(add(t, "took 12ms and 3.5s, n -42 at 12:30:01 on 2024-01-31 ratio 99% size 1.5e3"),
                "took <NUM> and <NUM>, n <NUM> at <NUM> on <NUM> ratio <NUM> size <NUM>");
    assert_text(add(t, "addr 0x7ffd1234 run deadbeef0123 req 123e4567-e89b-12d3-a456-426614174000"),
                "addr <HEX> run <HEX> req <UUID>");
    assert_text(
        add(t, "open /var/log/syslog: fetch https://example.com/a?b=1 mail bob@example.com"),
        "open <PATH>: fetch <URL> mail <EMAIL>");
    /* A quoted string is not one variable: its words are constants like any other. */
    assert_text(add(t, "exec 'ls -l /tmp' returned \"no such file\" code=7 proto ssh2"),
                "exec 'ls -l <PATH>' returned \"no such file\" code=<NUM> proto <*>");
    /* Compound values are one variable: a list of addresses, a number and its unit, a date. */
    assert_text(add(t, "peers 10.0.0.5,10.11.10.1 sent 1190 bytes (1.16 KB) in 200 ms"),
                "peers <IP> sent <NUM> bytes (<NUM>) in <NUM>");
    assert_text(add(t, "connection from 10.0.0.1 () at Fri Jun 17 07:07:00 2005"),
                "connection from <IP> () at <NUM>");
    /* Package versions are no addresses (dpkg: "1.2.3.4-2", "2.36-9+deb12u4"). */
    assert_text(add(t, "Setting up tzdata (2024.1.2.3-0+deb12u1) and pkg 1.2.3.4-2 now"),
                "Setting up tzdata (<*>) and pkg <NUM> now");
    /* Plain words, key= and key=word stay as they are. */
    assert_text(add(t, "user root logged in rhost= tty=console"),
                "user root logged in rhost= tty=console");
    ad_tmpl_destroy(t);
}

static void line_differing_in_one_token_joins_and_position_becomes_wildcard(void **state)
{
    (void)state;
    struct ad_tmpl *t = miner(0, NULL, 0);
    struct ad_tmpl_match a = add(t, "Accepted password for alice from 10.0.0.1 port 22 ssh2");
    assert_true(a.created);
    assert_text(a, "Accepted password for alice from <IP> port <NUM> <*>");
    uint64_t id = a.id;
    /* A variable of another kind (no plain word on both sides) makes the position <*>. */
    struct ad_tmpl_match b = add(t, "Accepted password for alice from gw7 port 2222 ssh2");
    assert_false(b.created);
    assert_true(b.changed);
    assert_int_equal(b.count, 2);
    assert_text(b, "Accepted password for alice from <*> port <NUM> <*>");
    /* The id is the first line's: gaining a wildcard does not change it. */
    assert_true(b.id == id);
    struct ad_tmpl_match c = add(t, "Accepted password for alice from 10.0.0.3 port 22 ssh2");
    assert_false(c.changed);
    assert_true(c.id == id);
    struct ad_tmpl_stats st;
    ad_tmpl_get_stats(t, &st);
    assert_int_equal(st.templates, 1);
    assert_int_equal(st.changed, 1);
    ad_tmpl_destroy(t);
}

static void other_lengths_and_dissimilar_lines_open_new_templates(void **state)
{
    (void)state;
    struct ad_tmpl *t = miner(0, NULL, 0);
    uint64_t a = add(t, "worker pool started with 8 threads").id;
    struct ad_tmpl_match longer = add(t, "worker pool started with 8 threads and 2 queues");
    assert_true(longer.created);
    assert_true(longer.id != a);
    /* Same length and first tokens, but most positions differ: under the similarity. */
    struct ad_tmpl_match other = add(t, "worker pool drained after long idle time");
    assert_true(other.created);
    assert_true(other.id != a && other.id != longer.id);
    struct ad_tmpl_stats st;
    ad_tmpl_get_stats(t, &st);
    assert_int_equal(st.templates, 3);
    ad_tmpl_destroy(t);
}

static void guards_keep_apart_what_differs_in_a_constant(void **state)
{
    (void)state;
    struct ad_tmpl *t = miner(0, NULL, 0);
    /* Too few other words stay equal to wildcard a word. */
    assert_true(add(t, "cupsd startup succeeded").id != add(t, "cupsd shutdown succeeded").id);
    /* Inflections of one word are different messages. */
    assert_true(add(t, "PAM 1 more authentication failure; logname= uid=0").id !=
                add(t, "PAM 2 more authentication failures; logname= uid=0").id);
    /* An absent field (key=) is not a value. */
    assert_true(add(t, "auth failed for user admin rhost= tty=ssh").id !=
                add(t, "auth failed for user admin rhost=10.0.0.1 tty=ssh").id);
    /* The same variable in another decoration. */
    assert_true(add(t, "session opened for user root by (uid=0)").id !=
                add(t, "session opened for user root by LOGIN(uid=0)").id);
    /* Two word positions differ. */
    assert_true(add(t, "disk sda on host alpha is healthy now").id !=
                add(t, "disk sda on host beta is degraded now").id);
    ad_tmpl_destroy(t);
}

static void list_of_variables_is_one_position(void **state)
{
    (void)state;
    struct ad_tmpl *t = miner(0, NULL, 0);
    struct ad_tmpl_match a = add(t, "ask 10.0.0.1:50010 to delete blk_1 blk_-2 blk_3");
    struct ad_tmpl_match b = add(t, "ask 10.0.0.2:50010 to delete blk_9");
    assert_true(a.id == b.id);
    assert_text(b, "ask <IP> to delete <*>");
    assert_int_equal(a.n_params, 2);
    assert_true(ad_str_eq_c(a.params[1], "blk_1 blk_-2 blk_3"));
    ad_tmpl_destroy(t);
}

static void parameters_are_the_values_at_variable_positions(void **state)
{
    (void)state;
    struct ad_tmpl *t = miner(0, NULL, 0);
    add(t, "Accepted password for bob from 10.0.0.1 port 22 ssh2 rhost=h1.example.com");
    struct ad_tmpl_match m =
        add(t, "Accepted password for bob from 10.0.0.2:7 port 2222 ssh2 rhost=h2.example.com");
    assert_text(m, "Accepted password for bob from <IP> port <NUM> <*> rhost=<*>");
    const char *want[] = {"10.0.0.2:7", "2222", "ssh2", "h2.example.com"};
    assert_int_equal(m.n_params, 4);
    for (int i = 0; i < 4; i++)
        if (!ad_str_eq_c(m.params[i], want[i]))
            fail_msg("param %d: \"%.*s\", expected \"%s\"", i, (int)m.params[i].len, m.params[i].p,
                     want[i]);
    ad_tmpl_destroy(t);
}

static void match_finds_without_learning(void **state)
{
    (void)state;
    struct ad_tmpl *t = miner(0, NULL, 0);
    uint64_t id = add(t, "backup of volume 12 finished in 30s").id;
    struct ad_tmpl_match m;
    assert_int_equal(ad_tmpl_match(t, ad_str_c("backup of volume 7 finished in 2s"), &m), 1);
    assert_true(m.id == id);
    assert_int_equal(ad_tmpl_match(t, ad_str_c("restore of volume 7 failed"), &m), 0);
    struct ad_tmpl_stats st;
    ad_tmpl_get_stats(t, &st);
    assert_int_equal(st.lines, 1);
    assert_int_equal(st.templates, 1);
    ad_tmpl_destroy(t);
}

static const char *const stream[] = {
    "Accepted password for alice from 10.0.0.1 port 22 ssh2",
    "Invalid user test from 10.0.0.9",
    "Accepted password for bob from 10.0.0.2 port 22 ssh2",
    "session opened for user root by (uid=0)",
    "Invalid user oracle from 10.0.0.8",
    "Connection closed by 10.0.0.7 [preauth]",
    "session closed for user root",
    "Received disconnect from 10.0.0.7: 11: Bye Bye [preauth]",
    "Accepted password for carol from 10.0.0.3 port 2022 ssh2",
    "fatal: Write failed: Connection reset by peer [preauth]",
    "Invalid user admin from 10.0.0.6",
    "session opened for user carol by (uid=1000)",
};
#define N_STREAM (sizeof(stream) / sizeof(stream[0]))

struct listing {
    struct ad_buf b;
};

static void list_one(void *ctx, uint64_t id, struct ad_str text, uint64_t count, int64_t last_ns)
{
    ad_buf_printf(&((struct listing *)ctx)->b, "%016llx %llu %lld %.*s\n", (unsigned long long)id,
                  (unsigned long long)count, (long long)last_ns, (int)text.len, text.p);
}

static char *listing(const struct ad_tmpl *t)
{
    struct listing l;
    ad_buf_init(&l.b);
    ad_tmpl_foreach(t, list_one, &l);
    return ad_buf_steal(&l.b, NULL);
}

static void two_miners_fed_the_same_stream_give_the_same_ids(void **state)
{
    (void)state;
    struct ad_tmpl *a = miner(0, NULL, 0), *b = miner(0, NULL, 0);
    for (size_t i = 0; i < N_STREAM; i++) {
        struct ad_tmpl_match ma, mb;
        assert_int_equal(ad_tmpl_add(a, ad_str_c(stream[i]), (int64_t)i, &ma), 0);
        assert_int_equal(ad_tmpl_add(b, ad_str_c(stream[i]), (int64_t)i, &mb), 0);
        assert_true(ma.id == mb.id && ma.id != 0);
        assert_true(ad_str_eq(ma.text, mb.text));
    }
    char *la = listing(a), *lb = listing(b);
    assert_string_equal(la, lb);
    free(la);
    free(lb);
    ad_tmpl_destroy(a);
    ad_tmpl_destroy(b);
}

static void save(const struct ad_tmpl *t, struct ad_buf *b)
{
    ad_buf_init(b);
    struct ad_wr w = {b, 0};
    assert_int_equal(ad_tmpl_save(t, &w), 0);
}

/* A fresh miner loaded from a saved state (which must load). */
static struct ad_tmpl *restarted(const struct ad_buf *b)
{
    struct ad_tmpl *r = miner(0, NULL, 0);
    struct ad_rd rd = ad_rd_make(b->p, b->len);
    struct ad_err err;
    assert_int_equal(ad_tmpl_load(r, &rd, &err), 0);
    return r;
}

/* A restarted miner saves the very bytes it was loaded from. */
static void assert_saves_as(const struct ad_tmpl *t, const struct ad_buf *b)
{
    struct ad_buf b2;
    save(t, &b2);
    assert_int_equal(b->len, b2.len);
    assert_memory_equal(b->p, b2.p, b->len);
    ad_buf_fini(&b2);
}

static void ids_and_templates_survive_save_and_load(void **state)
{
    (void)state;
    struct ad_tmpl *a = miner(0, NULL, 0);
    for (size_t i = 0; i < N_STREAM / 2; i++)
        add(a, stream[i]);
    struct ad_buf b;
    save(a, &b);
    struct ad_tmpl *r = restarted(&b);
    char *la = listing(a), *lr = listing(r);
    assert_string_equal(la, lr);
    free(la);
    free(lr);
    /* The rest of the stream: the restarted miner answers exactly as the one that kept running. */
    for (size_t i = N_STREAM / 2; i < N_STREAM; i++) {
        struct ad_tmpl_match ma = add(a, stream[i]), mr = add(r, stream[i]);
        assert_true(ma.id == mr.id);
        assert_true(ad_str_eq(ma.text, mr.text));
        assert_int_equal(ma.created, mr.created);
        assert_int_equal(ma.count, mr.count);
    }
    struct ad_buf b2, b3;
    save(a, &b2);
    save(r, &b3);
    assert_int_equal(b2.len, b3.len);
    assert_memory_equal(b2.p, b3.p, b2.len);
    ad_buf_fini(&b);
    ad_buf_fini(&b2);
    ad_buf_fini(&b3);
    ad_tmpl_destroy(a);
    ad_tmpl_destroy(r);
}

static void corrupt_or_foreign_state_is_refused_whole(void **state)
{
    (void)state;
    struct ad_tmpl *a = miner(0, NULL, 0);
    for (size_t i = 0; i < N_STREAM; i++)
        add(a, stream[i]);
    struct ad_buf b;
    save(a, &b);
    struct ad_err err;
    /* Every truncation is refused, and leaves the miner empty and usable. */
    for (size_t cut = 0; cut < b.len; cut += 7) {
        struct ad_tmpl *r = miner(0, NULL, 0);
        struct ad_rd rd = ad_rd_make(b.p, cut);
        assert_int_equal(ad_tmpl_load(r, &rd, &err), -EINVAL);
        struct ad_tmpl_stats st;
        ad_tmpl_get_stats(r, &st);
        assert_int_equal(st.templates, 0);
        assert_true(add(r, stream[0]).created);
        ad_tmpl_destroy(r);
    }
    /* A flipped byte in every position either loads or is refused; it never crashes. */
    for (size_t i = 0; i < b.len; i++) {
        struct ad_tmpl *r = miner(0, NULL, 0);
        b.p[i] ^= 0x5a;
        struct ad_rd rd = ad_rd_make(b.p, b.len);
        int rc = ad_tmpl_load(r, &rd, &err);
        assert_true(rc == 0 || rc == -EINVAL);
        b.p[i] ^= 0x5a;
        add(r, stream[1]);
        ad_tmpl_destroy(r);
    }
    /* Another depth: refused. */
    struct ad_tmpl_cfg cfg = {.depth = 5};
    struct ad_tmpl *d;
    assert_int_equal(ad_tmpl_create(&cfg, &d, &err), 0);
    struct ad_rd rd = ad_rd_make(b.p, b.len);
    assert_int_equal(ad_tmpl_load(d, &rd, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "depth"));
    ad_tmpl_destroy(d);
    /* Fewer templates allowed than saved: refused. */
    struct ad_tmpl *small = miner(2, NULL, 0);
    rd = ad_rd_make(b.p, b.len);
    assert_int_equal(ad_tmpl_load(small, &rd, &err), -EINVAL);
    ad_tmpl_destroy(small);
    ad_buf_fini(&b);
    ad_tmpl_destroy(a);
}

static void least_recently_used_template_is_evicted_past_the_bound(void **state)
{
    (void)state;
    struct ad_tmpl *t = miner(3, NULL, 0);
    uint64_t first = add(t, "alpha service started").id;
    add(t, "beta queue drained");
    add(t, "gamma cache warmed");
    add(t, "beta queue drained");  /* used again: alpha is now the oldest */
    add(t, "delta index rebuilt"); /* evicts alpha */
    struct ad_tmpl_stats st;
    ad_tmpl_get_stats(t, &st);
    assert_int_equal(st.templates, 3);
    assert_int_equal(st.evicted, 1);
    struct ad_tmpl_match m;
    assert_int_equal(ad_tmpl_match(t, ad_str_c("beta queue drained"), &m), 1);
    assert_int_equal(ad_tmpl_match(t, ad_str_c("alpha service started"), &m), 0);
    /* Seen again, it is a new template, with the same id (same first line). */
    struct ad_tmpl_match again = add(t, "alpha service started");
    assert_true(again.created);
    assert_true(again.id == first);
    ad_tmpl_get_stats(t, &st);
    assert_int_equal(st.evicted, 2);
    assert_int_equal(st.templates, 3);
    assert_true(st.bytes > 0);
    ad_tmpl_destroy(t);
}

static void extra_masks_apply_and_bad_regex_is_refused(void **state)
{
    (void)state;
    const char *const masks[] = {"BLK=blk_-?[0-9]+", "host=\\b[a-z]+\\.example\\.org\\b"};
    struct ad_tmpl *t = miner(0, masks, 2);
    assert_text(add(t, "served blk_-123 to web.example.org"), "served <BLK> to <host>");
    ad_tmpl_destroy(t);

    const char *const bad[] = {"ok=[0-9]+", "broken=(ab"};
    struct ad_tmpl_cfg cfg = {.extra_masks = bad, .n_extra_masks = 2};
    struct ad_tmpl *b = NULL;
    struct ad_err err;
    assert_int_equal(ad_tmpl_create(&cfg, &b, &err), -EINVAL);
    assert_null(b);
    assert_non_null(strstr(err.msg, "broken"));
    assert_non_null(strstr(err.msg, "offset 3"));
    const char *const noname[] = {"=[0-9]+"};
    cfg.extra_masks = noname;
    cfg.n_extra_masks = 1;
    assert_int_equal(ad_tmpl_create(&cfg, &b, &err), -EINVAL);
}

static void pathological_lines_never_fail(void **state)
{
    (void)state;
    struct ad_tmpl *t = miner(0, NULL, 0);
    size_t big = 64 * 1024;
    char *p = malloc(big + 16);
    struct ad_tmpl_match m, m2;
    struct ad_str cases[8];
    int n = 0;
    cases[n++] = (struct ad_str){"", 0};
    cases[n++] = (struct ad_str){NULL, 0};
    cases[n++] = AD_STR_LIT(" \t\r\n ,;:=[]()'\"<*> ");
    cases[n++] = AD_STR_LIT("\xff\xfe bad \xc3\x28 utf8 \xe2\x82 end");
    cases[n++] = AD_STR_LIT("nul\0inside the\0 line 7");
    cases[n++] = AD_STR_LIT("'unterminated quote and \"another");
    for (int i = 0; i < n; i++) {
        assert_int_equal(ad_tmpl_add(t, cases[i], 0, &m), 0);
        assert_int_equal(ad_tmpl_add(t, cases[i], 0, &m2), 0);
        assert_true(m.id == m2.id && m.id != 0);
    }
    /* 64 KiB: one huge token; then 32 Ki one-letter tokens; then all spaces. */
    memset(p, 'x', big);
    assert_int_equal(ad_tmpl_add(t, (struct ad_str){p, big}, 0, &m), 0);
    for (size_t i = 0; i < big; i += 2)
        p[i] = 'a', p[i + 1] = ' ';
    assert_int_equal(ad_tmpl_add(t, (struct ad_str){p, big}, 0, &m), 0);
    assert_int_equal(ad_tmpl_add(t, (struct ad_str){p, big}, 0, &m2), 0);
    assert_true(m.id == m2.id);
    memset(p, ' ', big);
    assert_int_equal(ad_tmpl_add(t, (struct ad_str){p, big}, 0, &m), 0);
    /* Over max_line: cut and counted. */
    memset(p, '7', big + 16);
    assert_int_equal(ad_tmpl_add(t, (struct ad_str){p, big + 16}, 0, &m), 0);
    struct ad_tmpl_stats st;
    ad_tmpl_get_stats(t, &st);
    assert_int_equal(st.truncated, 1);
    assert_int_equal(st.lines, (uint64_t)(2 * n + 5));
    /* The state with all of that in it round-trips. */
    struct ad_buf b;
    save(t, &b);
    struct ad_tmpl *r = miner(0, NULL, 0);
    struct ad_rd rd = ad_rd_make(b.p, b.len);
    struct ad_err err;
    assert_int_equal(ad_tmpl_load(r, &rd, &err), 0);
    assert_int_equal(ad_tmpl_add(r, cases[4], 0, &m2), 0);
    assert_false(m2.created);
    ad_buf_fini(&b);
    ad_tmpl_destroy(r);
    free(p);
    ad_tmpl_destroy(t);
}

static void log_format_strips_the_header(void **state)
{
    (void)state;
    struct ad_logfmt *f;
    struct ad_err err;
    struct ad_str c;
    assert_int_equal(
        ad_logfmt_compile("<Date> <Time> <Level> <Component>(\\[<PID>\\])?: <Content>", &f, &err),
        0);
    assert_int_equal(ad_logfmt_content(f, ad_str_c("Jan 5 10:00:01 host1 app[42]: it  works "), &c),
                     1);
    assert_true(ad_str_eq_c(c, "it  works"));
    assert_int_equal(ad_logfmt_content(f, ad_str_c("Jan 5 10:00:01 host1 kernel: no pid"), &c), 1);
    assert_true(ad_str_eq_c(c, "no pid"));
    assert_int_equal(ad_logfmt_content(f, ad_str_c("garbage"), &c), 0);
    ad_logfmt_destroy(f);
    assert_int_equal(ad_logfmt_compile("\\[<Time>\\] \\[<Level>\\] <Content>", &f, &err), 0);
    assert_int_equal(ad_logfmt_content(f, ad_str_c("[Sun Dec 04 2005] [error] child 6 died"), &c),
                     1);
    assert_true(ad_str_eq_c(c, "child 6 died"));
    ad_logfmt_destroy(f);
    assert_int_equal(ad_logfmt_compile("<Date> <Time>", &f, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "Content"));
    assert_int_equal(ad_logfmt_compile("<Date> (<Content>", &f, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "offset"));
}

/* Generated fixture: "Invalid user <name> from <IP>" for the first n of five names; the
 * first three open sibling templates (a word differs: not a <*> yet). */
static struct ad_tmpl_match add_users(struct ad_tmpl *t, int n, uint64_t *ids)
{
    static const char *const users[] = {"alice", "bob", "carol", "dave", "erin"};
    struct ad_tmpl_match m = {0};
    for (int i = 0; i < n; i++) {
        char line[96];
        snprintf(line, sizeof(line), "Invalid user %s from 10.0.0.%d", users[i], i + 1);
        m = add(t, line);
        if (i < 3)
            assert_true(m.created);
        ids[i] = m.id;
    }
    return m;
}

/* A user-name position (many words, each seen once or twice) folds into one template once it
 * has shown merge_always distinct words; the folded ids point at the survivor. */
static void a_constant_word_position_folds_once_it_varies(void **state)
{
    (void)state;
    struct ad_tmpl *t = miner(0, NULL, 0);
    uint64_t ids[5];
    struct ad_tmpl_match d = add_users(t, 4, ids);
    assert_false(d.created);
    assert_true(d.changed);
    assert_true(d.id == ids[0]); /* the oldest survives */
    assert_text(d, "Invalid user <*> from <IP>");
    assert_int_equal(d.count, 4);
    struct ad_tmpl_match e = add(t, "Invalid user erin from 10.0.0.5");
    assert_false(e.created || e.changed);
    ids[4] = e.id;
    struct ad_tmpl_stats st;
    ad_tmpl_get_stats(t, &st);
    assert_int_equal(st.templates, 1);
    assert_int_equal(st.merged, 2);
    for (int i = 0; i < 5; i++)
        assert_true(ad_tmpl_resolve(t, ids[i]) == ids[0]);
    assert_true(ad_tmpl_resolve(t, 12345) == 12345); /* unknown: itself */
    ad_tmpl_destroy(t);
}

/* Generated fixture: a position that holds a few words, each frequent ("VM Started", "VM Paused",
 * "VM Resumed"), is a constant: one template per word, interleaved as they come. */
static void few_frequent_words_stay_apart(void **state)
{
    (void)state;
    struct ad_tmpl *t = miner(0, NULL, 0);
    const char *verbs[] = {"Started", "Paused", "Resumed"};
    uint64_t id[3] = {0, 0, 0};
    for (int i = 0; i < 60; i++) {
        char line[96];
        snprintf(line, sizeof(line),
                 "[instance: %08x-1111-2222-3333-444455556666] VM %s (Lifecycle Event)",
                 (unsigned)i * 7919u, verbs[i % 3]);
        struct ad_tmpl_match m = add(t, line);
        if (!id[i % 3])
            id[i % 3] = m.id;
        assert_true(m.id == id[i % 3]);
    }
    assert_true(id[0] != id[1] && id[1] != id[2] && id[0] != id[2]);
    struct ad_tmpl_stats st;
    ad_tmpl_get_stats(t, &st);
    assert_int_equal(st.templates, 3);
    assert_int_equal(st.merged, 0);
    ad_tmpl_destroy(t);

    /* The count rule: with merge_min 3 and merge_mean 2, two frequent words and a third keep
     * apart; a frequent word and two rare ones fold. */
    struct ad_tmpl_cfg cfg = {.merge_min = 3, .merge_mean = 2, .merge_always = 100};
    assert_int_equal(ad_tmpl_create(&cfg, &t, &(struct ad_err){0}), 0);
    for (int i = 0; i < 20; i++)
        add(t, i % 2 ? "VM Paused by host" : "VM Started by host");
    assert_true(add(t, "VM Resumed by host").created);
    ad_tmpl_get_stats(t, &st);
    assert_int_equal(st.templates, 3);
    for (int i = 0; i < 20; i++)
        add(t, "session opened for root now");
    assert_true(add(t, "session opened for guest now").created);
    struct ad_tmpl_match m = add(t, "session opened for test now");
    assert_false(m.created);
    assert_text(m, "session opened for <*> now");
    assert_int_equal(m.count, 22);
    ad_tmpl_destroy(t);
}

static void merges_survive_save_and_load_and_old_states_are_refused(void **state)
{
    (void)state;
    struct ad_tmpl *a = miner(0, NULL, 0);
    uint64_t ids[4];
    add_users(a, 4, ids);
    struct ad_buf b;
    save(a, &b);
    struct ad_tmpl *r = restarted(&b);
    assert_true(ad_tmpl_resolve(r, ids[1]) == ids[0]);
    struct ad_tmpl_stats st;
    ad_tmpl_get_stats(r, &st);
    assert_int_equal(st.merged, 2);
    assert_saves_as(r, &b);
    ad_tmpl_destroy(r);
    /* A version 1 state (before the sibling miner: other token hashes) is refused, saying so. */
    b.p[4] = 1;
    r = miner(0, NULL, 0);
    struct ad_err err;
    struct ad_rd rd = ad_rd_make(b.p, b.len);
    assert_int_equal(ad_tmpl_load(r, &rd, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "version 1"));
    b.p[4] = 9;
    rd = ad_rd_make(b.p, b.len);
    assert_int_equal(ad_tmpl_load(r, &rd, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "unknown version 9"));
    ad_tmpl_destroy(r);
    ad_buf_fini(&b);
    ad_tmpl_destroy(a);
}

/* ---- splits: a folded position that turns out to hold a few frequent constants ---------- */

static const char *const vm_verbs[] = {"Started", "Paused", "Resumed", "Stopped"};

/* Generated fixture: line i of a VM lifecycle stream, the four verbs in turn. */
static struct ad_tmpl_match add_vm(struct ad_tmpl *t, int i)
{
    char line[96];
    snprintf(line, sizeof(line),
             "[instance: %08x-1111-2222-3333-444455556666] VM %s (Lifecycle Event)",
             (unsigned)i * 7919u, vm_verbs[i % 4]);
    return add(t, line);
}

struct story {
    uint64_t from[8], to[8];
    int n;
};
static void collect(void *ctx, uint64_t from, uint64_t to)
{
    struct story *s = ctx;
    if (s->n < 8) {
        s->from[s->n] = from;
        s->to[s->n] = to;
    }
    s->n++;
}

/* Four verbs of similar frequency fold at the 4th distinct word (merge_always), then, once the
 * position has seen split_min lines, split again into four templates; the id story says so. */
static void four_frequent_verbs_fold_then_split(void **state)
{
    (void)state;
    struct ad_tmpl *t = miner(0, NULL, 0);
    uint64_t sib[4];
    for (int i = 0; i < 4; i++)
        sib[i] = add_vm(t, i).id;
    assert_true(sib[3] == sib[0]); /* folded into the oldest */
    struct ad_tmpl_stats st;
    ad_tmpl_get_stats(t, &st);
    assert_int_equal(st.templates, 1);
    assert_int_equal(st.merged, 2);
    int at = -1;
    uint64_t after[4] = {0, 0, 0, 0};
    for (int i = 4; i < 200; i++) {
        struct ad_tmpl_match m = add_vm(t, i);
        if (at < 0 && m.id != sib[0]) {
            at = i; /* the split: the line goes to its verb's new template */
            assert_true(m.changed);
            assert_false(m.created);
        }
        if (at < 0)
            continue;
        assert_false(m.created);
        if (!after[i % 4])
            after[i % 4] = m.id;
        assert_true(m.id == after[i % 4]);
        char want[64];
        snprintf(want, sizeof(want), "[instance: <UUID>] VM %s (Lifecycle Event)", vm_verbs[i % 4]);
        assert_text(m, want);
    }
    assert_int_equal(at, AD_TMPL_DEFAULT_SPLIT_MIN - 1); /* split_min lines seen at the position */
    ad_tmpl_get_stats(t, &st);
    assert_int_equal(st.templates, 5); /* the four verbs and the <*> template for the others */
    assert_int_equal(st.split, 4);
    struct story s = {0};
    ad_tmpl_foreach_split(t, collect, &s);
    assert_int_equal(s.n, 4);
    for (int k = 0; k < 4; k++) {
        assert_true(s.from[k] == sib[0]); /* old id -> each new id */
        assert_true(s.to[k] == after[k]);
    }
    /* The new ids are the hash of their text, as for any template: the verbs that were siblings
     * get their old ids back (live again, they resolve to themselves); the survivor's own verb
     * takes the next seed, its old id staying with the <*> template; the 4th verb, whose line
     * folded, gets the hash of its text. */
    for (int k = 1; k < 3; k++) {
        assert_true(after[k] == sib[k]);
        assert_true(ad_tmpl_resolve(t, sib[k]) == sib[k]);
    }
    assert_true(after[0] != sib[0] && after[3] != sib[0]);
    struct ad_tmpl_match o = add(t, "[instance: 01234567-1111-2222-3333-444455556666] VM Crashed "
                                    "(Lifecycle Event)");
    assert_true(o.id == sib[0]); /* a word past the split joins the <*> template */
    assert_text(o, "[instance: <UUID>] VM <*> (Lifecycle Event)");
    ad_tmpl_destroy(t);
}

/* Generated fixture: user names with a long tail (one frequent, many rare ones) fold and never
 * split: the position behaves like a value. */
static void user_names_with_a_long_tail_do_not_split(void **state)
{
    (void)state;
    struct ad_tmpl *t = miner(0, NULL, 0);
    uint64_t first = 0;
    for (int i = 0; i < 2000; i++) {
        char user[8] = "root", line[96];
        if (i % 3) { /* two lines in three: one of 26 * 26 generated names, most seen once */
            unsigned k = (unsigned)i * 2654435761u >> 7;
            user[0] = (char)('a' + k % 26);
            user[1] = (char)('a' + k / 26 % 26);
            user[2] = (char)('a' + k / 676 % 26);
            user[3] = '\0';
        }
        snprintf(line, sizeof(line), "Accepted password for %s from 10.0.%d.%d port 22", user,
                 i % 200, i % 250);
        struct ad_tmpl_match m = add(t, line);
        if (i == 3)
            first = m.id;
        if (i >= 3)
            assert_true(m.id == first);
    }
    struct ad_tmpl_stats st;
    ad_tmpl_get_stats(t, &st);
    assert_int_equal(st.templates, 1);
    assert_int_equal(st.split, 0);
    struct story s = {0};
    ad_tmpl_foreach_split(t, collect, &s);
    assert_int_equal(s.n, 0);
    ad_tmpl_destroy(t);
}

/* The evidence and the split records are in the state: a miner restarted before the split (while
 * counting) splits at the same line as one that never stopped, and one restarted after it tells
 * the same story; a version 2 state (before splits) still loads. */
static void splits_survive_save_and_load_and_version_2_loads(void **state)
{
    (void)state;
    struct ad_tmpl *a = miner(0, NULL, 0);
    for (int i = 0; i < 60; i++)
        add_vm(a, i);
    struct ad_buf b;
    save(a, &b);
    struct ad_tmpl *r = restarted(&b);
    ad_buf_fini(&b);
    for (int i = 60; i < 200; i++) {
        struct ad_tmpl_match x = add_vm(a, i), y = add_vm(r, i);
        assert_true(x.id == y.id);
        assert_int_equal(x.changed, y.changed);
    }
    struct story sa = {0}, sr = {0};
    ad_tmpl_foreach_split(a, collect, &sa);
    ad_tmpl_foreach_split(r, collect, &sr);
    assert_int_equal(sa.n, 4);
    assert_int_equal(sr.n, 4);
    assert_memory_equal(sa.to, sr.to, sizeof(sa.to));
    save(r, &b);
    struct ad_tmpl *r2 = restarted(&b);
    struct story s2 = {0};
    ad_tmpl_foreach_split(r2, collect, &s2);
    assert_int_equal(s2.n, 4);
    assert_memory_equal(sa.from, s2.from, sizeof(sa.from));
    assert_memory_equal(sa.to, s2.to, sizeof(sa.to));
    struct ad_tmpl_stats st;
    ad_tmpl_get_stats(r2, &st);
    assert_int_equal(st.split, 4);
    assert_int_equal(st.templates, 5);
    assert_saves_as(r2, &b);
    ad_buf_fini(&b);
    ad_tmpl_destroy(r2);
    ad_tmpl_destroy(r);
    ad_tmpl_destroy(a);

    /* A version 2 state: one template, without the flags byte (just before its LRU entry, the
     * fold counter and the fold count) and without the split section (the last 12 bytes). */
    a = miner(0, NULL, 0);
    uint64_t id = add(a, "disk sda is full").id;
    save(a, &b);
    assert_true(b.len > 29);
    size_t flag_at = b.len - 12 - 4 - 8 - 4 - 1;
    assert_int_equal(b.p[flag_at], 0);
    memmove(b.p + flag_at, b.p + flag_at + 1, b.len - flag_at - 1);
    b.len -= 1 + 12;
    b.p[4] = 2;
    r = restarted(&b);
    struct ad_tmpl_match m;
    assert_int_equal(ad_tmpl_match(r, ad_str_c("disk sda is full"), &m), 1);
    assert_true(m.id == id);
    ad_tmpl_get_stats(r, &st);
    assert_int_equal(st.templates, 1);
    assert_int_equal(st.split, 0);
    /* the same bytes as version 3 are refused: a template's flags byte is missing */
    b.p[4] = 3;
    struct ad_tmpl *f = miner(0, NULL, 0);
    struct ad_rd rd = ad_rd_make(b.p, b.len);
    assert_int_equal(ad_tmpl_load(f, &rd, &(struct ad_err){0}), -EINVAL);
    ad_tmpl_destroy(f);
    ad_buf_fini(&b);
    ad_tmpl_destroy(r);
    ad_tmpl_destroy(a);
}

static void json_lines_give_their_message_and_fields(void **state)
{
    (void)state;
    struct ad_logjson j = {0};
    assert_int_equal(
        ad_logjson_parse(ad_str_c(" {\"time\":\"2026-12-04T10:00:01Z\", \"level\":\"info\","
                                  "\"msg\":\"GET \\\"/v2\\\" done\\n\\u00e9\\ud83d\\ude00\","
                                  "\"status\":200,\"ctx\":{\"a\":[1,\"}\"]},\"ok\":true} "),
                         &j),
        1);
    assert_true(ad_str_eq_c(j.message, "GET \"/v2\" done\n\xc3\xa9\xf0\x9f\x98\x80"));
    assert_true(ad_str_eq_c(j.message_key, "msg"));
    assert_int_equal(j.n_fields, 5);
    assert_true(ad_str_eq_c(j.fields[0].key, "time"));
    assert_true(ad_str_eq_c(j.fields[1].value, "info"));
    assert_true(ad_str_eq_c(j.fields[2].key, "status") && ad_str_eq_c(j.fields[2].value, "200"));
    assert_true(ad_str_eq_c(j.fields[3].value, "{\"a\":[1,\"}\"]}"));
    assert_true(ad_str_eq_c(j.fields[4].value, "true"));
    /* msg before message before log, whatever their order; the others are fields. */
    assert_int_equal(ad_logjson_parse(ad_str_c("{\"log\":\"a\",\"message\":\"b\",\"x\":null}"), &j),
                     1);
    assert_true(ad_str_eq_c(j.message, "b"));
    assert_int_equal(j.n_fields, 2);
    assert_true(ad_str_eq_c(j.fields[0].key, "x") || ad_str_eq_c(j.fields[1].key, "x"));
    /* Not JSON lines: text, no message, a message that is no string, malformed, trailing text. */
    const char *no[] = {"plain text",
                        "{\"level\":\"info\"}",
                        "{\"msg\":42}",
                        "{\"msg\":\"a\"",
                        "{\"msg\":\"a\"} tail",
                        "{}",
                        "{\"msg\":\"bad \\x escape\"}",
                        "{\"msg\" \"a\"}"};
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
        if (ad_logjson_parse(ad_str_c(no[i]), &j) != 0)
            fail_msg("\"%s\" taken as a JSON line", no[i]);
    ad_logjson_fini(&j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(each_variable_kind_is_masked),
        cmocka_unit_test(line_differing_in_one_token_joins_and_position_becomes_wildcard),
        cmocka_unit_test(other_lengths_and_dissimilar_lines_open_new_templates),
        cmocka_unit_test(guards_keep_apart_what_differs_in_a_constant),
        cmocka_unit_test(list_of_variables_is_one_position),
        cmocka_unit_test(parameters_are_the_values_at_variable_positions),
        cmocka_unit_test(match_finds_without_learning),
        cmocka_unit_test(two_miners_fed_the_same_stream_give_the_same_ids),
        cmocka_unit_test(ids_and_templates_survive_save_and_load),
        cmocka_unit_test(corrupt_or_foreign_state_is_refused_whole),
        cmocka_unit_test(least_recently_used_template_is_evicted_past_the_bound),
        cmocka_unit_test(extra_masks_apply_and_bad_regex_is_refused),
        cmocka_unit_test(pathological_lines_never_fail),
        cmocka_unit_test(log_format_strips_the_header),
        cmocka_unit_test(a_constant_word_position_folds_once_it_varies),
        cmocka_unit_test(few_frequent_words_stay_apart),
        cmocka_unit_test(merges_survive_save_and_load_and_old_states_are_refused),
        cmocka_unit_test(json_lines_give_their_message_and_fields),
        cmocka_unit_test(four_frequent_verbs_fold_then_split),
        cmocka_unit_test(user_names_with_a_long_tail_do_not_split),
        cmocka_unit_test(splits_survive_save_and_load_and_version_2_loads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
