/* tests/fuzz/fuzz_alertmanager.c: libFuzzer harness for Alertmanager webhook payloads
 * (ad_json_parse_alertmanager). Any input returns 0 or a documented error with a message; on
 * success every event handed over is a well-formed alert (check set, known enums), and the count
 * matches what the info says. Built as a fuzzer with -DAD_FUZZ=ON, else replayed by replay_main.c. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/arena.h"
#include "common/err.h"
#include "common/event.h"
#include "common/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_MSG (1 << 20)

struct seen {
    uint64_t n;
};

static int check_event(void *ctx, struct ad_event *ev)
{
    struct seen *s = ctx;
    if (ev->kind != AD_KIND_ALERT || ev->check.len == 0 || ev->resource.len == 0 ||
        ev->service.len == 0 || (unsigned)ev->severity > AD_SEV_CRITICAL ||
        (unsigned)ev->status > AD_STATUS_RESOLVED || ev->n_labels > AD_MAX_LABELS ||
        ev->summary.len > AD_MAX_SUMMARY_LEN) {
        fprintf(stderr, "fuzz_alertmanager: malformed event\n");
        abort();
    }
    s->n++;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct ad_json_parser *p;
    static struct ad_arena arena;
    static int ready;
    if (!ready) {
        if (ad_json_parser_create(MAX_MSG, &p) < 0)
            abort();
        ad_arena_init(&arena, 64 * 1024);
        ready = 1;
    }
    if (size > MAX_MSG)
        return 0;
    struct ad_str res[] = {AD_STR_LIT("instance"), AD_STR_LIT("host"), AD_STR_LIT("job")};
    struct ad_str svc[] = {AD_STR_LIT("service"), AD_STR_LIT("job")};
    struct ad_am_map map = {res, 3, svc, 2};
    struct ad_am_info info;
    struct ad_err err = {0};
    struct seen s = {0};
    int r = ad_json_parse_alertmanager(p, (const char *)data, size, &arena,
                                       INT64_C(1795510800000000000), &map, check_event, &s, &info,
                                       &err);
    if (r == 0 && s.n != info.alerts) {
        fprintf(stderr, "fuzz_alertmanager: %llu events, info says %llu\n",
                (unsigned long long)s.n, (unsigned long long)info.alerts);
        abort();
    }
    if (r < 0 && (s.n != 0 || !err.msg[0])) {
        fprintf(stderr, "fuzz_alertmanager: error %d with %llu events handed over or no message\n", r,
                (unsigned long long)s.n);
        abort();
    }
    ad_arena_reset(&arena);
    return 0;
}
