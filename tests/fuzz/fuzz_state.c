/* tests/fuzz/fuzz_state.c: libFuzzer harness for every state loader that takes bytes: the load op
 * of each model (models/registry.c: baseline, templates and its miner, dedup, silence match
 * counts, flap), of each correlator (correlators/registry.c) and the silences' match counts
 * (ad_silences_load_counts, the pipeline state's part for the shared set), which the daemon's state files
 * and the Kafka checkpoints feed after the file header check. The first byte picks the loader
 * (modulo their number, registry order: models, correlators, silence counts); the rest is the payload, loaded
 * into a fresh state made from the default config. A load must either refuse (the state is then
 * destroyed, as the daemon does) or give a state that saves, and whose saved image loads again
 * into another fresh state and saves to the same bytes.
 * Built as a fuzzer with -DAD_FUZZ=ON, else replayed by replay_main.c. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/ser.h"
#include "config/config.h"
#include "correlators/correlator.h"
#include "models/model.h"
#include "models/silence.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_LOADERS 16

struct loader {
    char path[64]; /* config section */
    int (*create)(const void *cfg, void **ret_state, struct ad_err *reterr);
    void (*destroy)(void *state);
    int (*save)(const void *state, struct ad_wr *w);
    int (*load)(void *state, struct ad_rd *r, struct ad_err *reterr);
};

static struct loader loaders[MAX_LOADERS];
static size_t n_loaders;
static struct ad_config *config; /* every section at its defaults */

static void add(const char *prefix, const char *name, const char *doc, const struct ad_opt *opts,
                size_t cfg_size, struct ad_section *secs, size_t *n_secs)
{
    if (*n_secs + 1 >= MAX_LOADERS) /* one left for the silence counts */
        abort();
    snprintf(loaders[*n_secs].path, sizeof(loaders[*n_secs].path), "%s.%s", prefix, name);
    secs[*n_secs] = (struct ad_section){loaders[*n_secs].path, doc, opts, cfg_size};
    (*n_secs)++;
}

/* The shared silence set's match counts, with two config silences whose ids a load can name. */
static int counts_create(const void *cfg, void **ret_state, struct ad_err *reterr)
{
    (void)cfg;
    static char s1[] = "check=DiskFull", s2[] = "service=~\"db.*\" comment=maintenance";
    static char *items[] = {s1, s2};
    struct ad_strlist list = {items, 2};
    struct ad_silences *s = NULL;
    int r = ad_silences_create(&s);
    if (r == 0 && (r = ad_silences_set_config(s, &list, reterr)) < 0)
        ad_silences_unref(s);
    if (r == 0)
        *ret_state = s;
    return r;
}

static void counts_destroy(void *state)
{
    ad_silences_unref(state);
}

static int counts_save(const void *state, struct ad_wr *w)
{
    ad_silences_save_counts(state, w);
    return 0;
}

static int counts_load(void *state, struct ad_rd *r, struct ad_err *reterr)
{
    return ad_silences_load_counts(state, r, reterr);
}

static void setup(void)
{
    static struct ad_section secs[MAX_LOADERS];
    static const struct ad_section *list[MAX_LOADERS + 1];
    size_t n = 0;
    for (size_t i = 0; ad_models[i]; i++) {
        const struct ad_model_ops *m = ad_models[i];
        if (!m->load)
            continue;
        loaders[n].create = m->create;
        loaders[n].destroy = m->destroy;
        loaders[n].save = m->save;
        loaders[n].load = m->load;
        add("models", m->name, m->doc, m->opts, m->cfg_size, secs, &n);
    }
    for (size_t i = 0; ad_correlators[i]; i++) {
        const struct ad_correlator_ops *c = ad_correlators[i];
        if (!c->load)
            continue;
        loaders[n].create = c->create;
        loaders[n].destroy = c->destroy;
        loaders[n].save = c->save;
        loaders[n].load = c->load;
        add("correlators", c->name, c->doc, c->opts, c->cfg_size, secs, &n);
    }
    for (size_t i = 0; i < n; i++)
        list[i] = &secs[i];
    list[n] = NULL;
    /* Not a config section: ad_config_get gives NULL, which counts_create ignores. */
    loaders[n] = (struct loader){"silences.counts", counts_create, counts_destroy, counts_save,
                                 counts_load};
    n_loaders = n + 1;
    struct ad_err err = {0};
    if (n == 0 || ad_config_load_string("fuzz_state", "{}\n", 3, list, &config, &err) < 0) {
        fprintf(stderr, "fuzz_state: %s\n", err.msg);
        abort();
    }
}

/* A fresh state of loader l with its default config. */
static void *fresh(const struct loader *l)
{
    void *st = NULL;
    struct ad_err err = {0};
    if (l->create(ad_config_get(config, l->path), &st, &err) < 0) {
        fprintf(stderr, "fuzz_state: %s: %s\n", l->path, err.msg);
        abort();
    }
    return st;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!config)
        setup();
    if (size < 1 || size > (1 << 18))
        return 0;
    const struct loader *l = &loaders[data[0] % n_loaders];
    struct ad_err err = {0};
    void *a = fresh(l);
    struct ad_rd r = ad_rd_make(data + 1, size - 1);
    if (l->load(a, &r, &err) < 0) {
        l->destroy(a);
        return 0;
    }
    struct ad_buf s1, s2;
    ad_buf_init(&s1);
    ad_buf_init(&s2);
    struct ad_wr w1 = {&s1, 0}, w2 = {&s2, 0};
    if (l->save(a, &w1) < 0 || w1.err)
        abort();
    void *b = fresh(l);
    struct ad_rd r1 = ad_rd_make(s1.p, s1.len);
    if (l->load(b, &r1, &err) < 0) {
        fprintf(stderr, "fuzz_state: %s: a saved state does not load: %s\n", l->path, err.msg);
        abort();
    }
    if (l->save(b, &w2) < 0 || w2.err || s1.len != s2.len || memcmp(s1.p, s2.p, s1.len) != 0) {
        fprintf(stderr, "fuzz_state: %s: a loaded state saves differently\n", l->path);
        abort();
    }
    ad_buf_fini(&s1);
    ad_buf_fini(&s2);
    l->destroy(a);
    l->destroy(b);
    return 0;
}
