/* config/config_value.c: the one parser for option values. Built-in defaults, min/max bounds and
 * file values all go through it, so a table entry that does not parse fails a test, not a user.
 * Pure: no I/O. */
#include "config/config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/addr.h"
#include "config/config_internal.h"

/* --- raw parsers (no range) ------------------------------------------------------------------- */

static int parse_bool(const char *s, bool *ret)
{
    static const char *const yes[] = {"true", "yes", "on"};
    static const char *const no[] = {"false", "no", "off"};
    for (size_t i = 0; i < 3; i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *ret = true;
            return 0;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *ret = false;
            return 0;
        }
    }
    return -EINVAL;
}

/* Decimal digits only, into *ret with overflow detection; returns the count consumed (0 = none or
 * overflow, which callers treat alike). */
static size_t parse_digits(const char *s, uint64_t *ret)
{
    uint64_t v = 0;
    size_t i = 0;
    for (; isdigit((unsigned char)s[i]); i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return 0;
        v = v * 10 + d;
    }
    *ret = v;
    return i;
}

static int parse_u64(const char *s, uint64_t *ret)
{
    uint64_t v;
    size_t n = parse_digits(s, &v);
    if (n == 0 || s[n] != '\0')
        return -EINVAL;
    *ret = v;
    return 0;
}

static int parse_i64(const char *s, int64_t *ret)
{
    bool neg = false;
    if (*s == '-' || *s == '+')
        neg = *s++ == '-';
    uint64_t v;
    if (parse_u64(s, &v) < 0)
        return -EINVAL;
    if (neg) {
        if (v > (uint64_t)INT64_MAX + 1)
            return -EINVAL;
        *ret = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
    } else {
        if (v > (uint64_t)INT64_MAX)
            return -EINVAL;
        *ret = (int64_t)v;
    }
    return 0;
}

static int parse_double(const char *s, double *ret)
{
    /* strtod would skip leading blanks and accept "nan", "inf" and hex; none is a sane setting. */
    if (!(isdigit((unsigned char)*s) || *s == '-' || *s == '+' || *s == '.'))
        return -EINVAL;
    for (const char *p = s; *p; p++)
        if (*p == 'x' || *p == 'X')
            return -EINVAL;
    char *end;
    errno = 0;
    double d = strtod(s, &end);
    if (end == s || *end != '\0' || errno == ERANGE || !isfinite(d))
        return -EINVAL;
    *ret = d;
    return 0;
}

struct unit {
    const char *name;
    uint64_t mult;
};

/* Longest names first where one is a prefix of another ("ms" before "m"). */
static const struct unit duration_units[] = {
    {"ns", 1ull},
    {"us", 1000ull},
    {"ms", 1000000ull},
    {"s", 1000000000ull},
    {"m", 60ull * 1000000000ull},
    {"h", 3600ull * 1000000000ull},
    {"d", 86400ull * 1000000000ull},
};

int ad_parse_duration(const char *s, int64_t *ret_ns)
{
    if (!s || !*s)
        return -EINVAL;
    uint64_t v;
    size_t n = parse_digits(s, &v);
    if (n > 0 && s[n] == '\0') { /* a bare number: only zero needs no unit */
        if (v != 0)
            return -EINVAL;
        *ret_ns = 0;
        return 0;
    }
    unsigned __int128 total = 0;
    const char *p = s;
    while (*p) {
        n = parse_digits(p, &v);
        if (n == 0)
            return -EINVAL;
        p += n;
        const struct unit *u = NULL;
        for (size_t i = 0; i < sizeof(duration_units) / sizeof(duration_units[0]); i++) {
            size_t ul = strlen(duration_units[i].name);
            if (strncmp(p, duration_units[i].name, ul) == 0 && !isalpha((unsigned char)p[ul])) {
                u = &duration_units[i];
                break;
            }
        }
        if (!u)
            return -EINVAL;
        p += strlen(u->name);
        total += (unsigned __int128)v * u->mult;
        if (total > INT64_MAX)
            return -EINVAL;
    }
    *ret_ns = (int64_t)total;
    return 0;
}

static const struct unit size_units[] = {
    {"", 1ull},
    {"b", 1ull},
    {"kb", 1000ull},
    {"mb", 1000ull * 1000},
    {"gb", 1000ull * 1000 * 1000},
    {"tb", 1000ull * 1000 * 1000 * 1000},
    {"kib", 1ull << 10},
    {"mib", 1ull << 20},
    {"gib", 1ull << 30},
    {"tib", 1ull << 40},
};

int ad_parse_size(const char *s, uint64_t *ret_bytes)
{
    if (!s)
        return -EINVAL;
    uint64_t v;
    size_t n = parse_digits(s, &v);
    if (n == 0)
        return -EINVAL;
    const char *u = s + n;
    if (*u == ' ' && u[1] != '\0') /* "64 KiB" reads naturally; one blank is allowed */
        u++;
    for (size_t i = 0; i < sizeof(size_units) / sizeof(size_units[0]); i++) {
        if (strcasecmp(u, size_units[i].name) != 0)
            continue;
        if (v > UINT64_MAX / size_units[i].mult)
            return -EINVAL;
        *ret_bytes = v * size_units[i].mult;
        return 0;
    }
    return -EINVAL;
}

static int parse_enum(const struct ad_opt *opt, const char *s, int *ret)
{
    for (int i = 0; opt->enum_names && opt->enum_names[i]; i++) {
        if (strcasecmp(s, opt->enum_names[i]) == 0) {
            *ret = i;
            return 0;
        }
    }
    return -EINVAL;
}

/* --- endpoints -------------------------------------------------------------------------------- */

static bool valid_port(const char *s)
{
    uint64_t v;
    size_t n = parse_digits(s, &v);
    return n > 0 && n <= 5 && s[n] == '\0' && v >= 1 && v <= 65535;
}

static bool valid_host(const char *h, size_t n)
{
    if (n == 1 && h[0] == '*')
        return true;
    if (n == 0 || n > 253)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)h[i]) && h[i] != '-' && h[i] != '.' && h[i] != '_')
            return false;
    return true;
}

static bool valid_v6(const char *h, size_t n)
{
    if (n < 2 || n > 64)
        return false;
    bool zone = false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)h[i];
        if (zone) {
            if (!isalnum(c) && c != '-' && c != '_' && c != '.')
                return false;
        } else if (c == '%') {
            zone = true;
        } else if (!isxdigit(c) && c != ':' && c != '.') {
            return false;
        }
    }
    return memchr(h, ':', n) != NULL;
}

static bool valid_host_port(const char *s)
{
    if (*s == '[') {
        const char *close = strchr(s, ']');
        return close && valid_v6(s + 1, (size_t)(close - s - 1)) && close[1] == ':' &&
               valid_port(close + 2);
    }
    const char *colon = strchr(s, ':');
    /* A second colon means an unbracketed IPv6 address, whose port would be ambiguous. */
    return colon && !strchr(colon + 1, ':') && valid_host(s, (size_t)(colon - s)) &&
           valid_port(colon + 1);
}

static bool valid_path(const char *p)
{
    if (!*p)
        return false;
    for (; *p; p++)
        if (iscntrl((unsigned char)*p))
            return false;
    return true;
}

static int parse_endpoint(const char *s)
{
    if (strncmp(s, "tcp://", 6) == 0)
        return valid_host_port(s + 6) ? 0 : -EINVAL;
    if (strncmp(s, "ipc://", 6) == 0)
        return valid_path(s + 6) ? 0 : -EINVAL;
    if (strncmp(s, "unix:", 5) == 0)
        return valid_path(s + 5) ? 0 : -EINVAL;
    if (strstr(s, "://"))
        return -EINVAL; /* a transport we do not speak */
    return valid_host_port(s) ? 0 : -EINVAL;
}

/* --- string lists ----------------------------------------------------------------------------- */

static void strlist_free(struct ad_strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

/* Room for n items plus a NULL after the last, so lists can also be walked to NULL. */
static int strlist_alloc(struct ad_strlist *l, size_t n)
{
    l->n = 0;
    l->v = calloc(n + 1, sizeof(l->v[0]));
    return l->v ? 0 : -ENOMEM;
}

/* Appends a copy of the n bytes at p; strlist_alloc left room for it. */
static int strlist_push(struct ad_strlist *l, const char *p, size_t n)
{
    char *s = strndup(p, n);
    if (!s)
        return -ENOMEM;
    l->v[l->n++] = s;
    return 0;
}

static bool valid_item(size_t len)
{
    return len > 0 && len <= AD_CFG_MAX_LIST_ITEM;
}

int cfg_strlist_from_items(const char *const *items, const size_t *lens, size_t n,
                           struct ad_strlist *ret, size_t *ret_bad)
{
    *ret_bad = n;
    if (n > AD_CFG_MAX_LIST_ITEMS)
        return -EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (!valid_item(lens[i])) {
            *ret_bad = i;
            return -EINVAL;
        }
    }
    struct ad_strlist l;
    if (strlist_alloc(&l, n) < 0)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        if (strlist_push(&l, items[i], lens[i]) < 0) {
            strlist_free(&l);
            return -ENOMEM;
        }
    }
    *ret = l;
    return 0;
}

size_t cfg_strlist_check(const struct ad_opt *opt, const struct ad_strlist *l)
{
    struct ad_cidr c;
    for (size_t i = 0; (opt->flags & AD_OPT_CIDR) && i < l->n; i++)
        if (ad_cidr_parse(l->v[i], &c) < 0)
            return i;
    return l->n;
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* "a, b,c" → {"a", "b", "c"}; blank or empty text → the empty list; an empty item is an error
 * (a stray comma is more likely a typo than a wish for an empty name). */
static int split_list(const char *s, struct ad_strlist *ret)
{
    size_t count = 1;
    bool blank = true;
    for (const char *p = s; *p; p++) {
        count += *p == ',';
        blank = blank && is_blank(*p);
    }
    if (blank)
        return strlist_alloc(ret, 0);
    if (count > AD_CFG_MAX_LIST_ITEMS)
        return -EINVAL;
    struct ad_strlist l;
    if (strlist_alloc(&l, count) < 0)
        return -ENOMEM;
    const char *p = s;
    for (;;) {
        const char *end = strchr(p, ',');
        if (!end)
            end = p + strlen(p);
        const char *a = p, *b = end;
        while (a < b && is_blank(*a))
            a++;
        while (b > a && is_blank(b[-1]))
            b--;
        if (!valid_item((size_t)(b - a))) {
            strlist_free(&l);
            return -EINVAL;
        }
        if (strlist_push(&l, a, (size_t)(b - a)) < 0) {
            strlist_free(&l);
            return -ENOMEM;
        }
        if (*end == '\0')
            break;
        p = end + 1;
    }
    *ret = l;
    return 0;
}

/* --- ranges ----------------------------------------------------------------------------------- */

static uint64_t string_max(const struct ad_opt *opt)
{
    uint64_t max = AD_CFG_MAX_STRING;
    if (opt->max)
        parse_u64(opt->max, &max); /* cfg_check_opt vetted it */
    return max;
}

/* Raw parse of a bound or value of a ranged type into v (no range check). */
static int parse_ranged(enum ad_opt_type t, const char *s, union cfg_val *v)
{
    switch (t) {
    case AD_OPT_T_INT:
        return parse_i64(s, &v->i);
    case AD_OPT_T_UINT:
        return parse_u64(s, &v->u);
    case AD_OPT_T_DOUBLE:
        return parse_double(s, &v->d);
    case AD_OPT_T_DURATION:
        return ad_parse_duration(s, &v->i);
    case AD_OPT_T_SIZE:
        return ad_parse_size(s, &v->u);
    default:
        return -EINVAL;
    }
}

static bool is_ranged(enum ad_opt_type t)
{
    return t == AD_OPT_T_INT || t == AD_OPT_T_UINT || t == AD_OPT_T_DOUBLE ||
           t == AD_OPT_T_DURATION || t == AD_OPT_T_SIZE;
}

/* -1, 0, 1 as a is below, equal to or above b. */
static int cmp_val(enum ad_opt_type t, const union cfg_val *a, const union cfg_val *b)
{
    switch (t) {
    case AD_OPT_T_INT:
    case AD_OPT_T_DURATION:
        return (a->i > b->i) - (a->i < b->i);
    case AD_OPT_T_UINT:
    case AD_OPT_T_SIZE:
        return (a->u > b->u) - (a->u < b->u);
    default:
        return (a->d > b->d) - (a->d < b->d);
    }
}

static bool in_range(const struct ad_opt *opt, const union cfg_val *v)
{
    union cfg_val bound;
    if (opt->min && parse_ranged(opt->type, opt->min, &bound) == 0 &&
        cmp_val(opt->type, v, &bound) < 0)
        return false;
    if (opt->max && parse_ranged(opt->type, opt->max, &bound) == 0 &&
        cmp_val(opt->type, v, &bound) > 0)
        return false;
    return true;
}

int cfg_check_opt(const struct ad_opt *opt, char *why, size_t n)
{
    union cfg_val lo, hi;
    switch (opt->type) {
    case AD_OPT_T_BOOL:
    case AD_OPT_T_STRLIST:
    case AD_OPT_T_ENDPOINT:
        return 0;
    case AD_OPT_T_ENUM:
        if (!opt->enum_names || !opt->enum_names[0]) {
            snprintf(why, n, "enum option without names");
            return -EINVAL;
        }
        return 0;
    case AD_OPT_T_STRING:
        if (opt->max && parse_u64(opt->max, &hi.u) < 0) {
            snprintf(why, n, "built-in maximum length \"%s\" is not a number", opt->max);
            return -EINVAL;
        }
        return 0;
    default:
        break;
    }
    if (!is_ranged(opt->type)) {
        snprintf(why, n, "unknown option type %d", (int)opt->type);
        return -EINVAL;
    }
    const char *tn = cfg_type_name(opt->type);
    if (opt->min && parse_ranged(opt->type, opt->min, &lo) < 0) {
        snprintf(why, n, "built-in minimum \"%s\" is not a valid %s", opt->min, tn);
        return -EINVAL;
    }
    if (opt->max && parse_ranged(opt->type, opt->max, &hi) < 0) {
        snprintf(why, n, "built-in maximum \"%s\" is not a valid %s", opt->max, tn);
        return -EINVAL;
    }
    if (opt->min && opt->max && cmp_val(opt->type, &lo, &hi) > 0) {
        snprintf(why, n, "built-in minimum %s is above the maximum %s", opt->min, opt->max);
        return -EINVAL;
    }
    return 0;
}

/* --- the value parser ------------------------------------------------------------------------- */

int cfg_parse_scalar(const struct ad_opt *opt, const char *s, size_t len, union cfg_val *ret)
{
    union cfg_val v = {0};
    int r = -EINVAL;
    if (strlen(s) != len)
        return -EINVAL; /* an embedded NUL ("\0" in a quoted scalar) */
    switch (opt->type) {
    case AD_OPT_T_BOOL:
        r = parse_bool(s, &v.b);
        break;
    case AD_OPT_T_INT:
    case AD_OPT_T_UINT:
    case AD_OPT_T_DOUBLE:
    case AD_OPT_T_DURATION:
    case AD_OPT_T_SIZE:
        r = parse_ranged(opt->type, s, &v);
        if (r == 0 && !in_range(opt, &v))
            r = -EINVAL;
        break;
    case AD_OPT_T_STRING:
        if (len > string_max(opt))
            break;
        v.s = strdup(s);
        r = v.s ? 0 : -ENOMEM;
        break;
    case AD_OPT_T_ENUM:
        r = parse_enum(opt, s, &v.e);
        break;
    case AD_OPT_T_STRLIST:
        r = split_list(s, &v.l);
        if (r == 0 && cfg_strlist_check(opt, &v.l) != v.l.n) {
            strlist_free(&v.l);
            r = -EINVAL;
        }
        break;
    case AD_OPT_T_ENDPOINT:
        if (len > AD_CFG_MAX_ENDPOINT || parse_endpoint(s) < 0)
            break;
        v.s = strdup(s);
        r = v.s ? 0 : -ENOMEM;
        break;
    default:
        break;
    }
    if (r == 0)
        *ret = v;
    return r;
}

/* --- descriptions ----------------------------------------------------------------------------- */

const char *cfg_type_name(enum ad_opt_type t)
{
    switch (t) {
    case AD_OPT_T_BOOL:
        return "bool";
    case AD_OPT_T_INT:
        return "int";
    case AD_OPT_T_UINT:
        return "uint";
    case AD_OPT_T_DOUBLE:
        return "double";
    case AD_OPT_T_DURATION:
        return "duration";
    case AD_OPT_T_SIZE:
        return "size";
    case AD_OPT_T_STRING:
        return "string";
    case AD_OPT_T_ENUM:
        return "enum";
    case AD_OPT_T_STRLIST:
        return "string list";
    case AD_OPT_T_ENDPOINT:
        return "endpoint";
    default:
        return "unknown";
    }
}

void cfg_describe_range(const struct ad_opt *opt, char *buf, size_t n)
{
    buf[0] = '\0';
    if (opt->type == AD_OPT_T_STRING)
        snprintf(buf, n, "at most %llu bytes", (unsigned long long)string_max(opt));
    else if (!is_ranged(opt->type))
        return;
    else if (opt->min && opt->max)
        snprintf(buf, n, "%s to %s", opt->min, opt->max);
    else if (opt->min)
        snprintf(buf, n, "at least %s", opt->min);
    else if (opt->max)
        snprintf(buf, n, "at most %s", opt->max);
}

/* Appends the enum names, comma-separated, bounded by n. */
static void join_names(const struct ad_opt *opt, char *buf, size_t n)
{
    size_t used = strlen(buf);
    for (size_t i = 0; opt->enum_names && opt->enum_names[i] && used < n; i++) {
        int w = snprintf(buf + used, n - used, "%s%s", i ? ", " : "", opt->enum_names[i]);
        if (w < 0)
            return;
        used += (size_t)w;
    }
}

void cfg_describe_expected(const struct ad_opt *opt, char *buf, size_t n)
{
    const char *what = "";
    const char *eg = "";
    switch (opt->type) {
    case AD_OPT_T_BOOL:
        snprintf(buf, n, "true or false (also yes/no, on/off)");
        return;
    case AD_OPT_T_STRING:
        snprintf(buf, n, "a string of at most %llu bytes", (unsigned long long)string_max(opt));
        return;
    case AD_OPT_T_ENUM:
        snprintf(buf, n, "one of ");
        join_names(opt, buf, n);
        return;
    case AD_OPT_T_STRLIST:
        snprintf(buf, n, opt->flags & AD_OPT_CIDR
                             ? "a sequence or a comma-separated string of IP addresses or CIDR "
                               "blocks (e.g. 10.0.0.0/8, 192.0.2.7, fd00::/8)"
                             : "a sequence or a comma-separated string of non-empty names");
        return;
    case AD_OPT_T_ENDPOINT:
        snprintf(buf, n,
                 "an endpoint (host:port, [v6addr]:port, tcp://host:port, "
                 "ipc:///path or unix:/path; port 1-65535)");
        return;
    case AD_OPT_T_INT:
        what = "an integer";
        break;
    case AD_OPT_T_UINT:
        what = "a non-negative integer";
        break;
    case AD_OPT_T_DOUBLE:
        what = "a number";
        break;
    case AD_OPT_T_DURATION:
        what = "a duration";
        eg = " (e.g. 30s, 5m)";
        break;
    case AD_OPT_T_SIZE:
        what = "a size";
        eg = " (e.g. 512, 64KiB, 16MiB)";
        break;
    default:
        snprintf(buf, n, "a value");
        return;
    }
    if (opt->min && opt->max)
        snprintf(buf, n, "%s between %s and %s%s", what, opt->min, opt->max, eg);
    else if (opt->min)
        snprintf(buf, n, "%s of at least %s%s", what, opt->min, eg);
    else if (opt->max)
        snprintf(buf, n, "%s of at most %s%s", what, opt->max, eg);
    else
        snprintf(buf, n, "%s%s", what, eg);
}

/* --- values in section structs ---------------------------------------------------------------- */

static void *at(void *cfg, const struct ad_opt *opt)
{
    return (char *)cfg + opt->offset;
}

static const void *at_c(const void *cfg, const struct ad_opt *opt)
{
    return (const char *)cfg + opt->offset;
}

void cfg_val_free(const struct ad_opt *opt, union cfg_val *v)
{
    if (opt->type == AD_OPT_T_STRING || opt->type == AD_OPT_T_ENDPOINT) {
        free(v->s);
        v->s = NULL;
    } else if (opt->type == AD_OPT_T_STRLIST) {
        strlist_free(&v->l);
    }
}

void cfg_val_free_at(void *cfg, const struct ad_opt *opt)
{
    void *p = at(cfg, opt);
    if (opt->type == AD_OPT_T_STRING || opt->type == AD_OPT_T_ENDPOINT) {
        char *s;
        memcpy(&s, p, sizeof(s));
        free(s);
        memset(p, 0, sizeof(s));
    } else if (opt->type == AD_OPT_T_STRLIST) {
        struct ad_strlist l;
        memcpy(&l, p, sizeof(l));
        strlist_free(&l);
        memset(p, 0, sizeof(l));
    }
}

void cfg_val_store(void *cfg, const struct ad_opt *opt, union cfg_val *v)
{
    void *p = at(cfg, opt);
    cfg_val_free_at(cfg, opt);
    switch (opt->type) {
    case AD_OPT_T_BOOL:
        memcpy(p, &v->b, sizeof(v->b));
        break;
    case AD_OPT_T_INT:
    case AD_OPT_T_DURATION:
        memcpy(p, &v->i, sizeof(v->i));
        break;
    case AD_OPT_T_UINT:
    case AD_OPT_T_SIZE:
        memcpy(p, &v->u, sizeof(v->u));
        break;
    case AD_OPT_T_DOUBLE:
        memcpy(p, &v->d, sizeof(v->d));
        break;
    case AD_OPT_T_ENUM:
        memcpy(p, &v->e, sizeof(v->e));
        break;
    case AD_OPT_T_STRING:
    case AD_OPT_T_ENDPOINT:
        memcpy(p, &v->s, sizeof(v->s));
        v->s = NULL;
        break;
    case AD_OPT_T_STRLIST:
        memcpy(p, &v->l, sizeof(v->l));
        v->l = (struct ad_strlist){NULL, 0};
        break;
    default:
        break;
    }
}

static size_t val_size(enum ad_opt_type t)
{
    switch (t) {
    case AD_OPT_T_BOOL:
        return sizeof(bool);
    case AD_OPT_T_INT:
    case AD_OPT_T_DURATION:
        return sizeof(int64_t);
    case AD_OPT_T_UINT:
    case AD_OPT_T_SIZE:
        return sizeof(uint64_t);
    case AD_OPT_T_DOUBLE:
        return sizeof(double);
    case AD_OPT_T_ENUM:
        return sizeof(int);
    default:
        return 0;
    }
}

bool cfg_val_equal_at(const void *a, const void *b, const struct ad_opt *opt)
{
    const void *pa = at_c(a, opt), *pb = at_c(b, opt);
    if (opt->type == AD_OPT_T_STRING || opt->type == AD_OPT_T_ENDPOINT) {
        const char *sa, *sb;
        memcpy(&sa, pa, sizeof(sa));
        memcpy(&sb, pb, sizeof(sb));
        return sa == sb || (sa && sb && strcmp(sa, sb) == 0);
    }
    if (opt->type == AD_OPT_T_STRLIST) {
        struct ad_strlist la, lb;
        memcpy(&la, pa, sizeof(la));
        memcpy(&lb, pb, sizeof(lb));
        if (la.n != lb.n)
            return false;
        for (size_t i = 0; i < la.n; i++)
            if (strcmp(la.v[i], lb.v[i]) != 0)
                return false;
        return true;
    }
    if (opt->type == AD_OPT_T_DOUBLE) {
        double da, db;
        memcpy(&da, pa, sizeof(da));
        memcpy(&db, pb, sizeof(db));
        return da == db;
    }
    return memcmp(pa, pb, val_size(opt->type)) == 0;
}

int cfg_val_copy_at(void *to, const void *from, const struct ad_opt *opt)
{
    const void *src = at_c(from, opt);
    union cfg_val v = {0};
    if (opt->type == AD_OPT_T_STRING || opt->type == AD_OPT_T_ENDPOINT) {
        const char *s;
        memcpy(&s, src, sizeof(s));
        if (s && !(v.s = strdup(s)))
            return -ENOMEM;
    } else if (opt->type == AD_OPT_T_STRLIST) {
        struct ad_strlist l;
        memcpy(&l, src, sizeof(l));
        if (strlist_alloc(&v.l, l.n) < 0)
            return -ENOMEM;
        for (size_t i = 0; i < l.n; i++) {
            if (strlist_push(&v.l, l.v[i], strlen(l.v[i])) < 0) {
                strlist_free(&v.l);
                return -ENOMEM;
            }
        }
    } else {
        memcpy(&v, src, val_size(opt->type));
        /* the union's first bytes are each scalar member, so a raw copy lands in the right one */
    }
    cfg_val_store(to, opt, &v);
    return 0;
}
