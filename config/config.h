/* config/config.h: YAML configuration (libyaml) validated against option tables.
 * Errors name file:line:column and the expected form (gcc style). */
#pragma once
#include <stdbool.h>
#include <stdio.h>

#include "config/opt.h"

struct ad_err;

struct ad_config {
    char *file;                                 /* path loaded, or NULL for built-in defaults */
    const struct ad_section *const *sections;   /* NULL-terminated, borrowed (static tables) */
    size_t n;                                   /* number of sections */
    void **cfg;                                 /* cfg[i]: struct of sections[i]->cfg_size, owned */
};

/* Loads path (NULL: defaults only) against sections (NULL-terminated, static). Every option not in
 * the file takes its default. Unknown keys, wrong types and out-of-range values are errors with
 * file, line and column in *reterr. Returns 0, -EINVAL (config error), -ENOENT/-EACCES (file),
 * -ENOMEM. On error *ret is untouched. */
int ad_config_load(const char *path, const struct ad_section *const *sections,
                   struct ad_config **ret, struct ad_err *reterr);
/* Same, from a memory buffer; name is used in error messages. */
int ad_config_load_string(const char *name, const char *yaml, size_t len,
                          const struct ad_section *const *sections, struct ad_config **ret,
                          struct ad_err *reterr);
void ad_config_destroy(struct ad_config *c); /* NULL-safe */

/* The section's filled struct, or NULL when path is not a known section. */
void *ad_config_get(const struct ad_config *c, const char *path);

/* Options marked AD_OPT_RESTART whose value differs between a and b: calls fn for each
 * ("collectors.zmq.endpoints"). Returns the count. */
typedef void (*ad_config_diff_fn)(void *ctx, const char *section, const struct ad_opt *opt);
int ad_config_restart_diff(const struct ad_config *a, const struct ad_config *b,
                           ad_config_diff_fn fn, void *ctx);
/* Copies the value of each AD_OPT_RESTART option from `from` into `to` (used on reload so that
 * restart-only options keep their running value). */
int ad_config_keep_restart(struct ad_config *to, const struct ad_config *from);

/* Writes the commented example YAML (every option, its default and doc) / the markdown reference. */
int ad_config_write_example(FILE *f, const struct ad_section *const *sections);
int ad_config_write_markdown(FILE *f, const struct ad_section *const *sections);

/* Parsers for single values, shared with the loader and with tests. Return 0 or -EINVAL. */
int ad_parse_duration(const char *s, int64_t *ret_ns);
int ad_parse_size(const char *s, uint64_t *ret_bytes);
