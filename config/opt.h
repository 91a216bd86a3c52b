/* config/opt.h: option tables. Each module declares its options once; the YAML loader, validator,
 * --check-config, --print-config-example and docs/config.md are all driven by these tables. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum ad_opt_type {
    AD_OPT_T_END = 0,
    AD_OPT_T_BOOL,     /* dest: bool */
    AD_OPT_T_INT,      /* dest: int64_t; min/max as text */
    AD_OPT_T_UINT,     /* dest: uint64_t; min/max as text */
    AD_OPT_T_DOUBLE,   /* dest: double; min/max as text */
    AD_OPT_T_DURATION, /* dest: int64_t ns; text "500ms", "30s", "5m", "2h", "7d"; min/max as text */
    AD_OPT_T_SIZE,     /* dest: uint64_t bytes; text "512", "64KiB", "16MiB", "1GiB"; min/max */
    AD_OPT_T_STRING,   /* dest: char * (owned by the config); max = maximum length as text */
    AD_OPT_T_ENUM,     /* dest: int (index into enum_names) */
    AD_OPT_T_STRLIST,  /* dest: struct ad_strlist (owned by the config); YAML sequence or "a,b" */
    AD_OPT_T_ENDPOINT, /* dest: char *; "host:port", "[v6]:port" or "tcp://host:port" / "ipc://path" */
};

#define AD_OPT_RESTART (1u << 0) /* a SIGHUP reload cannot change it: logged, old value kept */
#define AD_OPT_CIDR (1u << 1) /* STRLIST: every item an IP address or CIDR block (common/addr.h) */

struct ad_strlist {
    char **v; /* n NUL-terminated strings */
    size_t n;
};

struct ad_opt {
    const char *name;
    enum ad_opt_type type;
    const char *def; /* default, as text; parsed by the same code as file values */
    const char *min; /* NULL = unbounded; for STRING the maximum length */
    const char *max;
    size_t offset;   /* offsetof(cfg struct, field) */
    unsigned flags;  /* AD_OPT_RESTART */
    const char *const *enum_names; /* AD_OPT_T_ENUM: NULL-terminated */
    const char *doc; /* one line */
};

#define AD_OPT_BOOL(n, d, T, f, doc) {n, AD_OPT_T_BOOL, d, NULL, NULL, offsetof(T, f), 0, NULL, doc}
#define AD_OPT_INT(n, d, lo, hi, T, f, doc) {n, AD_OPT_T_INT, d, lo, hi, offsetof(T, f), 0, NULL, doc}
#define AD_OPT_UINT(n, d, lo, hi, T, f, doc) {n, AD_OPT_T_UINT, d, lo, hi, offsetof(T, f), 0, NULL, doc}
#define AD_OPT_DOUBLE(n, d, lo, hi, T, f, doc) \
    {n, AD_OPT_T_DOUBLE, d, lo, hi, offsetof(T, f), 0, NULL, doc}
#define AD_OPT_DURATION(n, d, lo, hi, T, f, doc) \
    {n, AD_OPT_T_DURATION, d, lo, hi, offsetof(T, f), 0, NULL, doc}
#define AD_OPT_SIZE(n, d, lo, hi, T, f, doc) {n, AD_OPT_T_SIZE, d, lo, hi, offsetof(T, f), 0, NULL, doc}
#define AD_OPT_STRING(n, d, maxlen, T, f, doc) \
    {n, AD_OPT_T_STRING, d, NULL, maxlen, offsetof(T, f), 0, NULL, doc}
#define AD_OPT_ENUM(n, d, names, T, f, doc) \
    {n, AD_OPT_T_ENUM, d, NULL, NULL, offsetof(T, f), 0, names, doc}
#define AD_OPT_STRLIST(n, d, T, f, doc) \
    {n, AD_OPT_T_STRLIST, d, NULL, NULL, offsetof(T, f), 0, NULL, doc}
#define AD_OPT_ENDPOINT(n, d, T, f, doc) \
    {n, AD_OPT_T_ENDPOINT, d, NULL, NULL, offsetof(T, f), 0, NULL, doc}
/* Wrap any entry to mark it restart-only: AD_OPT_RESTART_ONLY(AD_OPT_ENDPOINT(...)) is not C;
 * instead use the _R variants below. */
#define AD_OPT_STRING_R(n, d, maxlen, T, f, doc) \
    {n, AD_OPT_T_STRING, d, NULL, maxlen, offsetof(T, f), AD_OPT_RESTART, NULL, doc}
#define AD_OPT_ENDPOINT_R(n, d, T, f, doc) \
    {n, AD_OPT_T_ENDPOINT, d, NULL, NULL, offsetof(T, f), AD_OPT_RESTART, NULL, doc}
#define AD_OPT_CIDRLIST_R(n, d, T, f, doc) \
    {n, AD_OPT_T_STRLIST, d, NULL, NULL, offsetof(T, f), AD_OPT_RESTART | AD_OPT_CIDR, NULL, doc}
#define AD_OPT_STRLIST_R(n, d, T, f, doc) \
    {n, AD_OPT_T_STRLIST, d, NULL, NULL, offsetof(T, f), AD_OPT_RESTART, NULL, doc}
#define AD_OPT_ENUM_R(n, d, names, T, f, doc) \
    {n, AD_OPT_T_ENUM, d, NULL, NULL, offsetof(T, f), AD_OPT_RESTART, names, doc}
#define AD_OPT_BOOL_R(n, d, T, f, doc) \
    {n, AD_OPT_T_BOOL, d, NULL, NULL, offsetof(T, f), AD_OPT_RESTART, NULL, doc}
#define AD_OPT_UINT_R(n, d, lo, hi, T, f, doc) \
    {n, AD_OPT_T_UINT, d, lo, hi, offsetof(T, f), AD_OPT_RESTART, NULL, doc}
#define AD_OPT_SIZE_R(n, d, lo, hi, T, f, doc) \
    {n, AD_OPT_T_SIZE, d, lo, hi, offsetof(T, f), AD_OPT_RESTART, NULL, doc}
#define AD_OPT_END {NULL, AD_OPT_T_END, NULL, NULL, NULL, 0, 0, NULL, NULL}

/* A config section: a dotted path ("models.dedup") and the table that fills a struct of cfg_size. */
struct ad_section {
    const char *path;
    const char *doc;
    const struct ad_opt *opts;
    size_t cfg_size;
};
