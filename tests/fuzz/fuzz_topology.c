/* tests/fuzz/fuzz_topology.c: libFuzzer harness for the topology file parser
 * (ad_topology_parse). Any input parses or is refused with "name:line:column: ..."; a parsed graph
 * answers lookups, heights and bounded walks without fault. Built as a fuzzer with -DAD_FUZZ=ON,
 * else replayed by replay_main.c. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "correlators/topology.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool count(void *ctx, uint32_t node, uint32_t hops, bool down)
{
    (void)node;
    (void)down;
    uint32_t *n = ctx;
    if (hops == 0 || hops > 4)
        abort();
    (*n)++;
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (1 << 20))
        return 0;
    struct ad_topology *t = NULL;
    struct ad_err err = {0};
    int r = ad_topology_parse("f.txt", (const char *)data, size, &t, &err);
    if (r < 0) {
        if (t || strncmp(err.msg, "f.txt", 5) != 0) {
            fprintf(stderr, "fuzz_topology: error without its location: %s\n", err.msg);
            abort();
        }
        return 0;
    }
    uint32_t n = ad_topology_nodes(t);
    for (uint32_t i = 0; i < n && i < 64; i++) {
        const char *name = ad_topology_name(t, i);
        if (ad_topology_find(t, ad_str_c(name)) != i || ad_topology_height(t, i) > n)
            abort();
        uint32_t seen = 0;
        ad_topology_walk(t, i, 4, 100, count, &seen);
        if (seen > 100 || seen >= n + 1)
            abort();
    }
    ad_topology_free(t);
    return 0;
}
