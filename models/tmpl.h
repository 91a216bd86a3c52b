/* models/tmpl.h: online log template mining (issue 7, docs/templates.md), Drain family: masking of
 * variables (IPv4/IPv6, numbers, hex, UUIDs, paths, durations, e-mails, quoted strings, plus
 * configured regexes compiled once), a fixed-depth prefix tree keyed by token count and leading
 * tokens, a similarity threshold, merging with <*> wildcards, and parameter extraction. One
 * struct ad_tmpl is one namespace (the baseline for "per service": the model keeps one per
 * service). Pure: no I/O, no clock (time arrives as an argument), deterministic: the same lines
 * in the same order give the same templates and ids on any machine.
 *
 * Template ids are stable: derived from the masked text of the template's first line (not its
 * current text, which gains wildcards), so the same template keeps its id across restarts (the
 * state is saved and loaded) and across two miners fed the same stream. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/str.h"

struct ad_buf;
struct ad_err;
struct ad_rd;
struct ad_tmpl;
struct ad_wr;

#define AD_TMPL_MAX_PARAMS 32 /* parameters extracted per line; more are not extracted */

/* Defaults, tuned once for all data sets (docs/templates.md); a 0 in the config means these. */
#define AD_TMPL_DEFAULT_SIMILARITY 0.6
#define AD_TMPL_DEFAULT_DEPTH 4
#define AD_TMPL_DEFAULT_MAX_CHILDREN 100
#define AD_TMPL_DEFAULT_MAX_TEMPLATES 10000
#define AD_TMPL_DEFAULT_MAX_LINE 65536
#define AD_TMPL_DEFAULT_MERGE_MIN 4      /* distinct words at one position before it may merge */
#define AD_TMPL_DEFAULT_MERGE_MEAN 1.0   /* ... when all but the most frequent average at most this */
#define AD_TMPL_DEFAULT_MERGE_ALWAYS 4   /* distinct words that merge whatever their counts */
#define AD_TMPL_DEFAULT_SPLIT_MIN 128    /* lines at a folded position before it may split */
#define AD_TMPL_SPLIT_NEVER UINT32_MAX   /* split_min that turns splitting off */
#define AD_TMPL_MAX_MERGES 4096          /* old id -> new id records kept (oldest dropped) */
#define AD_TMPL_MAX_SPLITS 1024          /* old id -> new id split records kept (oldest dropped) */

struct ad_tmpl_cfg {
    double similarity;       /* Drain's st: share of equal tokens to join a template (0.4-0.7) */
    uint32_t depth;          /* prefix-tree depth (Drain's depth, >= 3) */
    uint32_t max_children;   /* children per tree node before tokens go to the wildcard child */
    uint32_t max_templates;  /* per miner; the least recently used is evicted past it */
    uint32_t max_line;       /* bytes of a line looked at; longer lines are cut (counted) */
    /* Constant or variable, from the data: lines that differ from a template in one plain word
     * open sibling templates; the siblings fold into one with <*> there once the position
     * holds merge_always distinct words, or merge_min of which the most frequent has at least
     * as many lines as the others together and the others average at most merge_mean lines
     * (docs/templates.md). */
    uint32_t merge_min;
    double merge_mean;
    uint32_t merge_always;
    /* After a fold, the folded position's words are counted; once split_min lines have been
     * seen there and a few words, each frequent, none dominating, cover nearly all of them,
     * the template splits again: one template per frequent word (docs/templates.md). */
    uint32_t split_min;
    const char *const *extra_masks; /* "name=regex" items (POSIX ERE or PCRE2), n_extra_masks */
    size_t n_extra_masks;
};

/* What one line matched. Pointers are valid until the next call on the miner. */
struct ad_tmpl_match {
    uint64_t id;             /* stable template id (never 0) */
    struct ad_str text;      /* the template: tokens with <*> (and <IP>, <NUM>... mask names) */
    bool created;            /* the line opened a new template */
    bool changed;            /* the line turned a position of an existing template into <*> */
    uint64_t count;          /* lines the template has matched, this one included */
    uint32_t n_params;
    struct ad_str params[AD_TMPL_MAX_PARAMS]; /* the line's values at the variable positions */
};

struct ad_tmpl_stats {
    uint64_t lines, created, changed, evicted, truncated, merged; /* merged: templates folded */
    uint64_t split; /* templates split off a folded one */
    size_t templates, bytes;  /* live templates; memory of the miner (tree, templates, text) */
};

/* 0, or -EINVAL with the bad mask named in reterr, or -ENOMEM. The config is copied. */
int ad_tmpl_create(const struct ad_tmpl_cfg *cfg, struct ad_tmpl **ret, struct ad_err *reterr);
void ad_tmpl_destroy(struct ad_tmpl *t); /* NULL-safe */
/* Mines one line (any bytes: empty, 64 KiB, invalid UTF-8, all delimiters: never fails on
 * content). now_ns orders LRU eviction. 0, or -ENOMEM (the line is not learned). */
int ad_tmpl_add(struct ad_tmpl *t, struct ad_str line, int64_t now_ns, struct ad_tmpl_match *out);
/* The same lookup without learning (aiopsctl, tests): 1 and *out when a template matches, 0 when
 * none does. */
int ad_tmpl_match(const struct ad_tmpl *t, struct ad_str line, struct ad_tmpl_match *out);
/* Calls fn for every live template (id, text, count, last-used time), in a deterministic order. */
void ad_tmpl_foreach(const struct ad_tmpl *t,
                     void (*fn)(void *ctx, uint64_t id, struct ad_str text, uint64_t count,
                                int64_t last_ns),
                     void *ctx);
/* The id story: a template folded into another by a merge keeps pointing at it. Returns the
 * id that now stands for `id` (itself when it was never merged). Deterministic, bounded:
 * the last AD_TMPL_MAX_MERGES merges are remembered. */
uint64_t ad_tmpl_resolve(const struct ad_tmpl *t, uint64_t id);
/* Calls fn for every remembered merge (old id -> the id it was folded into), oldest first. */
void ad_tmpl_foreach_merge(const struct ad_tmpl *t, void (*fn)(void *ctx, uint64_t from, uint64_t to),
                           void *ctx);
/* The split story: a folded template that split again into one template per frequent word
 * (old id -> each new id), oldest first; the last AD_TMPL_MAX_SPLITS records are remembered.
 * The old id stays live (the other words); lines mined before keep it. */
void ad_tmpl_foreach_split(const struct ad_tmpl *t,
                           void (*fn)(void *ctx, uint64_t from, uint64_t to), void *ctx);
void ad_tmpl_get_stats(const struct ad_tmpl *t, struct ad_tmpl_stats *ret);
/* Versioned state (templates, counts, tree) so ids survive restarts; load into a fresh miner
 * built with the same config; a corrupt state is refused (-EINVAL, nothing half-loaded). */
int ad_tmpl_save(const struct ad_tmpl *t, struct ad_wr *w);
int ad_tmpl_load(struct ad_tmpl *t, struct ad_rd *r, struct ad_err *reterr);
