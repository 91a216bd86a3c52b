/* tests/fuzz/fuzz_config.c: libFuzzer harness for the YAML configuration loader (config/config.h)
 * over a small table with every option type. Any input must either load (and then compare equal
 * to itself and survive a restart-option copy onto itself) or fail with -EINVAL and a message
 * whose position, when given, lies inside the input. The value parsers get the raw bytes too.
 * Built as a fuzzer with -DAD_FUZZ=ON, else replayed over corpus/config by replay_main.c. */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "config/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fz_a {
    bool b;
    int64_t i;
    uint64_t u;
    double d;
    int64_t dur_ns;
    uint64_t size;
};

struct fz_b {
    char *s;
    int e;
    struct ad_strlist l;
    char *ep;
    char *unset;
};

static const char *const colors[] = {"red", "green", "blue", NULL};

static const struct ad_opt a_opts[] = {
    AD_OPT_BOOL_R("b", "off", struct fz_a, b, "bool"),
    AD_OPT_INT("i", "0", "-1000", "1000", struct fz_a, i, "int"),
    AD_OPT_UINT_R("u", "7", "1", NULL, struct fz_a, u, "uint"),
    AD_OPT_DOUBLE("d", "0.5", "-1", "1", struct fz_a, d, "double"),
    AD_OPT_DURATION("dur", "1h30m", "0", "30d", struct fz_a, dur_ns, "duration"),
    AD_OPT_SIZE_R("size", "64KiB", "1", "1GiB", struct fz_a, size, "size"),
    AD_OPT_END,
};

static const struct ad_opt b_opts[] = {
    AD_OPT_STRING_R("s", "text", "32", struct fz_b, s, "string"),
    AD_OPT_ENUM_R("e", "green", colors, struct fz_b, e, "enum"),
    AD_OPT_STRLIST_R("l", "x, y", struct fz_b, l, "list"),
    AD_OPT_ENDPOINT_R("ep", "tcp://*:1", struct fz_b, ep, "endpoint"),
    AD_OPT_STRING("unset", NULL, NULL, struct fz_b, unset, "no default"),
    AD_OPT_END,
};

static const struct ad_section sec_a = {"top", "a", a_opts, sizeof(struct fz_a)};
static const struct ad_section sec_b = {"deep.er.b", "b", b_opts, sizeof(struct fz_b)};
static const struct ad_section sec_c = {"deep.c", "c", b_opts, sizeof(struct fz_b)};
static const struct ad_section *const sections[] = {&sec_a, &sec_b, &sec_c, NULL};

static void fail(const char *what, const struct ad_err *err)
{
    char buf[512];
    fprintf(stderr, "fuzz_config: %s (%s)\n", what, err ? ad_err_str(err, buf, sizeof(buf)) : "");
    abort();
}

static void check_parsers(const uint8_t *data, size_t size)
{
    char s[64];
    if (size >= sizeof(s))
        return;
    memcpy(s, data, size);
    s[size] = '\0';
    int64_t ns;
    uint64_t bytes;
    if (ad_parse_duration(s, &ns) == 0 && ns < 0)
        fail("negative duration accepted", NULL);
    (void)ad_parse_size(s, &bytes);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char name[] = "fuzz.yaml";
    struct ad_config *c = NULL;
    struct ad_err err = {0};

    check_parsers(data, size);
    int r = ad_config_load_string(name, (const char *)data, size, sections, &c, &err);
    if (r == 0) {
        if (!c || !ad_config_get(c, "deep.er.b"))
            fail("loaded config without its sections", NULL);
        if (ad_config_restart_diff(c, c, NULL, NULL) != 0)
            fail("config differs from itself", NULL);
        if (ad_config_keep_restart(c, c) != 0)
            fail("keep_restart onto itself failed", NULL);
        ad_config_destroy(c);
        return 0;
    }
    if (c)
        fail("*ret written on error", &err);
    if (r != -EINVAL && r != -ENOMEM)
        fail("undocumented return code", &err);
    if (err.msg[0] == '\0')
        fail("error without a message", &err);
    if (err.file && err.file != name)
        fail("error names another file", &err);
    if (err.line < 0 || err.col < 0 || (size_t)err.line > size + 2)
        fail("error position outside the input", &err);
    return 0;
}
