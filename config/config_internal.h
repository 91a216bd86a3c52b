/* config/config_internal.h: shared between config.c (loader), config_value.c (value parsers) and
 * config_write.c (example and markdown writers). Nothing outside config/ includes it. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/opt.h"

/* Bounds on what a configuration may contain (docs/config-format.md). */
#define AD_CFG_MAX_FILE (1u << 20)  /* bytes of YAML */
#define AD_CFG_MAX_NODES 65536u     /* YAML nodes (scalars, sequences, mappings) */
#define AD_CFG_MAX_DEPTH 32u        /* nesting of sequences and mappings */
#define AD_CFG_MAX_STRING 4096u     /* default maximum length of a string option */
#define AD_CFG_MAX_ENDPOINT 1024u   /* bytes in an endpoint */
#define AD_CFG_MAX_LIST_ITEMS 4096u /* items in a string list */
#define AD_CFG_MAX_LIST_ITEM 4096u  /* bytes in one string-list item */

/* One parsed value; which member is live depends on the option type. */
union cfg_val {
    bool b;
    int64_t i;  /* INT, DURATION (ns) */
    uint64_t u; /* UINT, SIZE */
    double d;
    int e;
    char *s;             /* STRING, ENDPOINT: owned */
    struct ad_strlist l; /* owned; v has n + 1 slots, v[n] == NULL */
};

/* Parses one scalar (NUL-terminated, len bytes) for opt, including range and length checks.
 * Returns 0, -EINVAL (not a valid value: describe_expected() says what is), or -ENOMEM.
 * On success *ret owns what it points to (cfg_val_free). */
int cfg_parse_scalar(const struct ad_opt *opt, const char *s, size_t len, union cfg_val *ret);
/* Builds a string list from a YAML sequence's items. Same return codes. On -EINVAL *ret_bad is
 * the index of the offending item, or n when the list itself is too long. */
int cfg_strlist_from_items(const char *const *items, const size_t *lens, size_t n,
                           struct ad_strlist *ret, size_t *ret_bad);
/* For a list option with AD_OPT_CIDR: the index of the first item that is not an IP address or
 * CIDR block, or l->n when all are (always l->n without the flag). */
size_t cfg_strlist_check(const struct ad_opt *opt, const struct ad_strlist *l);
/* Checks the table entry itself (type, enum names, parsable min/max). 0 or -EINVAL with a
 * message in why. */
int cfg_check_opt(const struct ad_opt *opt, char *why, size_t n);

/* "a duration between 1s and 7d (e.g. 30s, 5m)": what a valid value looks like. */
void cfg_describe_expected(const struct ad_opt *opt, char *buf, size_t n);
/* "duration", "uint", "enum", ...: short type name for docs. */
const char *cfg_type_name(enum ad_opt_type t);
/* "1s to 7d", "at least 1", "at most 4096 bytes", or "" when unbounded. */
void cfg_describe_range(const struct ad_opt *opt, char *buf, size_t n);

/* Values stored in a section struct at opt->offset. */
void cfg_val_store(void *cfg, const struct ad_opt *opt, union cfg_val *v); /* takes ownership */
void cfg_val_free_at(void *cfg, const struct ad_opt *opt);                 /* leaves it zeroed */
void cfg_val_free(const struct ad_opt *opt, union cfg_val *v);
bool cfg_val_equal_at(const void *a, const void *b, const struct ad_opt *opt);
int cfg_val_copy_at(void *to, const void *from, const struct ad_opt *opt); /* 0 or -ENOMEM */

/* Section-path helpers shared by the loader and the writers. The tree of YAML keys is implied by
 * the dotted paths: "collectors.zmq" puts zmq under collectors. */
/* Index of the section whose path equals prefix[0..plen), or -1. */
int cfg_section_at(const struct ad_section *const *secs, const char *prefix, size_t plen);
/* The idx-th distinct child component under prefix (plen 0 = top level), in first-appearance
 * order: sets *ret_name and *ret_len and returns true, or returns false past the last. */
bool cfg_child(const struct ad_section *const *secs, const char *prefix, size_t plen, size_t idx,
               const char **ret_name, size_t *ret_len);
