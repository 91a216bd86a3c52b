/* tests/fuzz/fuzz_event.c: libFuzzer harness for the event JSON codec (common/json.h). Any input
 * must return a documented code with a message; an accepted event must write out as JSON that
 * parses back to the same event (time to the millisecond), and the batch entry point must agree
 * with the single-event one. Built as a fuzzer with -DAD_FUZZ=ON, else replayed by replay_main.c.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/arena.h"
#include "common/buf.h"
#include "common/err.h"
#include "common/event.h"
#include "common/json.h"
#include "common/time.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_MSG (1 << 20)

static void fail(const char *what, const struct ad_err *err, const struct ad_buf *out)
{
    fprintf(stderr, "fuzz_event: %s (%s)\n%s\n", what, err ? err->msg : "",
            out && out->p ? out->p : "");
    abort();
}

static void same_str(struct ad_str a, struct ad_str b, const char *field, const struct ad_buf *out)
{
    if (!ad_str_eq(a, b))
        fail(field, NULL, out);
}

static void same_event(const struct ad_event *a, const struct ad_event *b, const struct ad_buf *out)
{
    if (a->kind != b->kind || a->severity != b->severity || a->status != b->status)
        fail("enum differs after the round trip", NULL, out);
    /* The writer keeps milliseconds; times are never negative. */
    if (b->time_ns != a->time_ns - a->time_ns % AD_NS_PER_MS)
        fail("time differs after the round trip", NULL, out);
    same_str(a->id, b->id, "id", out);
    same_str(a->source, b->source, "source", out);
    same_str(a->resource, b->resource, "resource", out);
    same_str(a->service, b->service, "service", out);
    same_str(a->check, b->check, "check", out);
    same_str(a->summary, b->summary, "summary", out);
    if (a->has_value != b->has_value || (a->has_value && a->value != b->value))
        fail("value differs after the round trip", NULL, out);
    if (a->n_labels != b->n_labels)
        fail("label count differs after the round trip", NULL, out);
    for (unsigned i = 0; i < a->n_labels; i++) {
        same_str(a->labels[i].name, b->labels[i].name, "label name", out);
        same_str(a->labels[i].value, b->labels[i].value, "label value", out);
    }
}

static int count(void *ctx, struct ad_event *ev)
{
    (void)ev;
    (*(int *)ctx)++;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct ad_json_parser *p;
    static struct ad_arena arena;
    static struct ad_buf out;
    if (!p) {
        if (ad_json_parser_create(MAX_MSG, &p) < 0)
            abort();
        ad_arena_init(&arena, 0);
        ad_buf_init(&out);
    }
    const char *buf = (const char *)data;
    struct ad_event ev, back;
    struct ad_err err;
    memset(&err, 0, sizeof(err));
    int r = ad_json_parse_event(p, buf, size, &arena, 42, &ev, &err);
    if (r != 0 && r != -EBADMSG && r != -EMSGSIZE && r != -EILSEQ)
        fail("undocumented return code", &err, NULL);
    if (r < 0 && err.msg[0] == '\0')
        fail("error without a message", &err, NULL);
    int calls = 0;
    int rb = ad_json_parse_events(p, buf, size, &arena, 42, count, &calls, &err);
    if (r == 0 && (rb != 0 || calls != 1))
        fail("ad_json_parse_events disagrees with ad_json_parse_event", &err, NULL);
    if (rb < 0 && calls != 0)
        fail("a rejected batch handed events over", &err, NULL);
    if (r == 0) {
        ad_buf_reset(&out);
        if (ad_event_to_json(&ev, &out) < 0)
            fail("ad_event_to_json failed", NULL, NULL);
        if (ad_json_parse_event(p, out.p, out.len, &arena, 42, &back, &err) != 0)
            fail("the writer's output does not parse", &err, &out);
        same_event(&ev, &back, &out);
    }
    ad_arena_reset(&arena);
    return 0;
}
