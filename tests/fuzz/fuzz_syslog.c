/* tests/fuzz/fuzz_syslog.c: libFuzzer harness for the syslog parser and RFC 6587 framer
 * (common/syslog.h). Any input must return a documented code with a message; an accepted event
 * must be a well-formed log event (non-empty resource and summary, valid UTF-8 without NUL in
 * every string, labels within the bound, time in range); the framer must make progress and stay
 * inside its window. Built as a fuzzer with -DAD_FUZZ=ON, else replayed by replay_main.c. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/arena.h"
#include "common/err.h"
#include "common/event.h"
#include "common/syslog.h"
#include "common/time.h"
#include "common/utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW INT64_C(1795510800000000000) /* 2026-11-24T09:00:00Z */
#define MAX_MSG (64 * 1024)
#define FRAME_MAX 64 /* small, so that inputs reach the oversize paths */

static void fail(const char *what, const struct ad_err *err)
{
    fprintf(stderr, "fuzz_syslog: %s (%s)\n", what, err ? err->msg : "");
    abort();
}

static void check_str(struct ad_str s, bool non_empty, const char *field)
{
    if (non_empty && s.len == 0)
        fail(field, NULL);
    if (s.len && (!s.p || memchr(s.p, '\0', s.len) || !ad_utf8_valid(s.p, s.len)))
        fail(field, NULL);
}

static void check_event(const struct ad_event *ev)
{
    if (ev->kind != AD_KIND_LOG || (unsigned)ev->severity >= AD_SEV_COUNT)
        fail("kind or severity", NULL);
    if (ev->time_ns < 0)
        fail("time", NULL);
    check_str(ev->source, true, "source");
    check_str(ev->resource, true, "resource");
    check_str(ev->service, true, "service");
    check_str(ev->check, true, "check");
    check_str(ev->summary, true, "summary");
    if (ev->summary.len > AD_MAX_SUMMARY_LEN || ev->resource.len > AD_MAX_FIELD_LEN)
        fail("field bound", NULL);
    if (ev->n_labels > AD_MAX_LABELS)
        fail("label bound", NULL);
    for (unsigned i = 0; i < ev->n_labels; i++) {
        check_str(ev->labels[i].name, true, "label name");
        check_str(ev->labels[i].value, false, "label value"); /* PARAM-VALUE may be "" */
    }
}

static void parse_one(const char *buf, size_t size, const struct ad_syslog_map *map,
                      struct ad_arena *arena)
{
    struct ad_event ev;
    struct ad_syslog_info info;
    struct ad_err err;
    memset(&err, 0, sizeof(err));
    int r = ad_syslog_parse(buf, size, AD_STR_LIT("192.0.2.1"), NOW, map, arena, &ev, &info, &err);
    if (r != 0 && r != -EBADMSG && r != -EMSGSIZE && r != -EILSEQ)
        fail("undocumented return code", &err);
    if (r < 0 && err.msg[0] == '\0')
        fail("error without a message", &err);
    if (r == 0)
        check_event(&ev);
}

/* The input as a TCP stream: every frame found must lie inside the window, and every step
 * must consume something or ask for more. */
static void frames(const char *p, size_t n)
{
    size_t off = 0, skip = 0;
    while (off < n) {
        if (skip) {
            size_t d = n - off < skip ? n - off : skip;
            off += d;
            skip -= d;
            continue;
        }
        size_t win = n - off < FRAME_MAX + AD_SYSLOG_FRAME_HEADER_MAX
                         ? n - off
                         : FRAME_MAX + AD_SYSLOG_FRAME_HEADER_MAX;
        struct ad_syslog_frame fr;
        ad_syslog_frame_next(p + off, win, FRAME_MAX, &fr);
        if (fr.kind == AD_SYSLOG_FRAME_MORE) {
            if (win == FRAME_MAX + AD_SYSLOG_FRAME_HEADER_MAX)
                fail("a full window must decide", NULL);
            break;
        }
        if (fr.consumed == 0 || fr.consumed > win)
            fail("frame consumed nothing or more than the window", NULL);
        if (fr.kind == AD_SYSLOG_FRAME_MSG &&
            (fr.msg < p + off || fr.msg + fr.len > p + off + win || fr.len > FRAME_MAX))
            fail("frame outside the window or over max", NULL);
        if (fr.kind == AD_SYSLOG_FRAME_OVERSIZE && fr.skip_to_lf) {
            const char *lf = memchr(p + off + fr.consumed, '\n', n - off - fr.consumed);
            off = lf ? (size_t)(lf - p) + 1 : n;
            continue;
        }
        off += fr.consumed;
        skip = fr.skip;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct ad_arena arena;
    static bool init;
    if (!init) {
        ad_arena_init(&arena, 0);
        init = true;
    }
    const char *buf = (const char *)data;
    struct ad_syslog_map map = {.source = AD_STR_LIT("syslog"),
                                .resource_from = AD_SYSLOG_RESOURCE_HOST,
                                .service_from = AD_SYSLOG_SERVICE_APP,
                                .rfc3164_header_time = false,
                                .sd_labels = true,
                                .max_len = MAX_MSG};
    parse_one(buf, size, &map, &arena);
    map.resource_from = AD_SYSLOG_RESOURCE_SOURCE_IP;
    map.service_from = AD_SYSLOG_SERVICE_RESOURCE;
    map.rfc3164_header_time = true;
    map.sd_labels = false;
    map.max_len = 0;
    parse_one(buf, size, &map, &arena);
    frames(buf, size);
    ad_arena_reset(&arena);
    return 0;
}
