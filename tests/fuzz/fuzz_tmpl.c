/* tests/fuzz/fuzz_tmpl.c: libFuzzer harness for the log template miner (models/tmpl.c). The input
 * is cut at newlines into log lines (any bytes: NUL, invalid UTF-8, huge tokens) and mined by a
 * small miner (8 templates, so eviction runs); every match must be consistent (a non-zero id, a
 * template text, parameters inside the line), the state must save, load into a fresh miner and
 * save back to the same bytes, and the loaded miner must give the same ids for the same lines.
 * Every id resolves (through the folds) to a live template, and each line is also read as a JSON
 * line (models/logfmt.h), whose message and fields must stay within bounds.
 * Built as a fuzzer with -DAD_FUZZ=ON, else replayed by replay_main.c. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/ser.h"
#include "models/logfmt.h"
#include "models/tmpl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_LINES 64

struct live {
    uint64_t id[MAX_LINES];
    size_t n;
};

static void add_live(void *ctx, uint64_t id, struct ad_str text, uint64_t count, int64_t last_ns)
{
    (void)text;
    (void)count;
    (void)last_ns;
    struct live *lv = ctx;
    if (lv->n < MAX_LINES)
        lv->id[lv->n++] = id;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (1 << 18))
        return 0;
    struct ad_tmpl_cfg cfg = {
        .similarity = 0.5, .depth = 4, .max_children = 8, .max_templates = 8, .max_line = 4096};
    struct ad_tmpl *a = NULL, *b = NULL;
    struct ad_err err = {0};
    if (ad_tmpl_create(&cfg, &a, &err) < 0 || ad_tmpl_create(&cfg, &b, &err) < 0)
        abort();
    struct ad_str lines[MAX_LINES];
    size_t n = 0, start = 0;
    for (size_t i = 0; i <= size && n < MAX_LINES; i++)
        if (i == size || data[i] == '\n') {
            lines[n++] = (struct ad_str){(const char *)data + start, i - start};
            start = i + 1;
        }
    struct ad_logjson j = {0};
    for (size_t i = 0; i < n; i++) {
        int jr = ad_logjson_parse(lines[i], &j);
        if (jr < 0 || (jr == 1 && (j.message.len > lines[i].len || !j.message_key.p)) ||
            j.n_fields > AD_LOGJSON_MAX_FIELDS)
            abort();
    }
    ad_logjson_fini(&j);
    uint64_t ids[MAX_LINES];
    for (size_t i = 0; i < n; i++) {
        struct ad_tmpl_match m;
        if (ad_tmpl_add(a, lines[i], (int64_t)i, &m) < 0)
            abort();
        ids[i] = m.id;
        if (m.id == 0 || !m.text.p || m.n_params > AD_TMPL_MAX_PARAMS || m.count == 0)
            abort();
        for (uint32_t k = 0; k < m.n_params; k++) /* parameters are slices of the line */
            if (m.params[k].len && (m.params[k].p < lines[i].p ||
                                    m.params[k].p + m.params[k].len > lines[i].p + lines[i].len))
                abort();
    }
    struct ad_tmpl_stats st;
    ad_tmpl_get_stats(a, &st);
    struct live lv = {.n = 0};
    ad_tmpl_foreach(a, add_live, &lv);
    for (size_t i = 0; i < n && st.evicted == 0; i++) { /* without eviction, every id lives on */
        uint64_t r = ad_tmpl_resolve(a, ids[i]);
        bool found = false;
        for (size_t k = 0; k < lv.n && !found; k++)
            found = lv.id[k] == r;
        if (!found)
            abort();
    }
    struct ad_buf s1, s2;
    ad_buf_init(&s1);
    ad_buf_init(&s2);
    struct ad_wr w1 = {&s1, 0}, w2 = {&s2, 0};
    if (ad_tmpl_save(a, &w1) < 0 || w1.err)
        abort();
    struct ad_rd r = ad_rd_make(s1.p, s1.len);
    if (ad_tmpl_load(b, &r, &err) < 0) {
        fprintf(stderr, "fuzz_tmpl: a saved state does not load: %s\n", err.msg);
        abort();
    }
    if (ad_tmpl_save(b, &w2) < 0 || s1.len != s2.len || memcmp(s1.p, s2.p, s1.len) != 0)
        abort();
    /* Both go on the same way. */
    for (size_t i = 0; i < n; i++) {
        struct ad_tmpl_match ma, mb;
        if (ad_tmpl_add(a, lines[i], (int64_t)(n + i), &ma) < 0 ||
            ad_tmpl_add(b, lines[i], (int64_t)(n + i), &mb) < 0 || ma.id != mb.id)
            abort();
    }
    /* A truncated state is refused, never trusted. */
    if (s1.len > 1) {
        struct ad_tmpl *c = NULL;
        if (ad_tmpl_create(&cfg, &c, &err) < 0)
            abort();
        struct ad_rd rt = ad_rd_make(s1.p, s1.len / 2);
        (void)ad_tmpl_load(c, &rt, &err);
        ad_tmpl_destroy(c);
    }
    ad_buf_fini(&s1);
    ad_buf_fini(&s2);
    ad_tmpl_destroy(a);
    ad_tmpl_destroy(b);
    return 0;
}
