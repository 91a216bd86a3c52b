/* tests/fuzz/fuzz_silence.c: libFuzzer harness for the silence API (POST /api/v1/silences, no
 * auth needed to reach the parser) and the silences file: the JSON reader (common/json_silence.h),
 * the matcher text syntax (ad_silence_parse, amtool-style `alertname=~"Disk.*"`) and the spec
 * checks and regex compilation of ad_silences_add, as daemon/silence_store.c calls them. The first
 * byte picks: a POST body (odd) or a file (even, an array); the rest is the document. Every added
 * silence must show up in the set's JSON, which must read back; an event is matched against the
 * set. The input as text (NUL-terminated) also goes through ad_silence_parse with options.
 * Built as a fuzzer with -DAD_FUZZ=ON, else replayed by replay_main.c. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/arena.h"
#include "common/buf.h"
#include "common/err.h"
#include "common/event.h"
#include "common/json_silence.h"
#include "models/silence.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW_NS 1796000000000000000LL /* 2026-11-29 */

struct ctx {
    struct ad_silences *set;
    struct ad_arena *arena;
    size_t added;
};

static int take(void *p, const struct ad_jsil *j, size_t index)
{
    (void)index;
    struct ctx *c = p;
    struct ad_silence_spec sp;
    struct ad_err err = {0};
    if (ad_silence_spec_from_json(j, c->arena, &sp, &err) < 0)
        return 0;
    if (sp.n_matchers > AD_SILENCE_MAX_MATCHERS)
        abort();
    char id[AD_SILENCE_ID_SIZE];
    sp.id = AD_STR_NULL; /* generated, so two elements never clash */
    if (ad_silences_add(c->set, &sp, NOW_NS, id, &err) == 0) {
        if (!id[0] || ad_silences_check_expire(c->set, id) != 0)
            abort();
        c->added++;
    }
    return 0;
}

static int count(void *p, const struct ad_jsil *j, size_t index)
{
    (void)j;
    (void)index;
    (*(size_t *)p)++;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > (1 << 16))
        return 0;
    bool array = (data[0] & 1) == 0;
    const char *doc = (const char *)data + 1;
    size_t len = size - 1;
    struct ad_arena arena;
    ad_arena_init(&arena, 4096);
    struct ad_silences *set = NULL;
    if (ad_silences_create(&set) < 0)
        abort();
    struct ctx c = {set, &arena, 0};
    struct ad_err err = {0};
    (void)ad_json_parse_silences(doc, len, array, array ? AD_SILENCE_MAX : 1, &arena, take, &c,
                                 &err);
    if (ad_silences_count(set, AD_SILENCE_ACTIVE, NOW_NS) +
            ad_silences_count(set, AD_SILENCE_PENDING, NOW_NS) +
            ad_silences_count(set, AD_SILENCE_EXPIRED, NOW_NS) != c.added)
        abort();
    struct ad_event ev = {.kind = AD_KIND_ALERT, .time_ns = NOW_NS, .source = AD_STR_LIT("prom"),
                          .resource = AD_STR_LIT("db1"), .service = AD_STR_LIT("db"),
                          .check = AD_STR_LIT("DiskFull")};
    (void)ad_silences_match(set, &ev);
    /* What the daemon would write to its file reads back, with as many silences. */
    struct ad_buf out;
    ad_buf_init(&out);
    if (ad_silences_to_json(set, NULL, true, NOW_NS, &out) < 0)
        abort();
    size_t back = 0;
    struct ad_err err2 = {0};
    if (ad_json_parse_silences(out.p ? out.p : "[]", out.len ? out.len : 2, true, AD_SILENCE_MAX,
                               &arena, count, &back, &err2) < 0 || back != c.added) {
        fprintf(stderr, "fuzz_silence: the set's JSON does not read back (%zu of %zu): %s\n",
                back, c.added, err2.msg);
        abort();
    }
    ad_buf_fini(&out);
    /* The text syntax (models.silence.silences items, the "matchers" string). */
    char *text = malloc(len + 1);
    if (!text)
        abort();
    memcpy(text, doc, len);
    text[len] = '\0';
    struct ad_silence_spec sp;
    if (ad_silence_parse(text, true, &arena, &sp, &err) == 0 &&
        (sp.n_matchers > AD_SILENCE_MAX_MATCHERS || ad_silences_add(set, &sp, NOW_NS, NULL,
                                                                     &err) == -ENOMEM))
        abort();
    free(text);
    ad_silences_unref(set);
    ad_arena_fini(&arena);
    return 0;
}
