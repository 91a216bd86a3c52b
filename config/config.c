/* config/config.c: loads YAML (libyaml events) into the section structs described by the option
 * tables. The file is read into a small node tree first so that syntax errors are reported before
 * meaning errors, then walked against the section paths; the first error wins, with its position.
 */
#include "config/config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yaml.h>

#include "common/err.h"
#include "config/config_internal.h"

/* --- section paths ---------------------------------------------------------------------------- */

int cfg_section_at(const struct ad_section *const *secs, const char *prefix, size_t plen)
{
    for (int i = 0; secs && secs[i]; i++)
        if (strlen(secs[i]->path) == plen && memcmp(secs[i]->path, prefix, plen) == 0)
            return i;
    return -1;
}

/* The component of path right after prefix ("collectors" + "collectors.zmq.x" → "zmq"). */
static bool next_component(const char *path, const char *prefix, size_t plen, const char **ret,
                           size_t *ret_len)
{
    const char *p = path;
    if (plen > 0) {
        if (strncmp(path, prefix, plen) != 0 || path[plen] != '.')
            return false;
        p = path + plen + 1;
    }
    const char *dot = strchr(p, '.');
    size_t n = dot ? (size_t)(dot - p) : strlen(p);
    if (n == 0)
        return false;
    *ret = p;
    *ret_len = n;
    return true;
}

bool cfg_child(const struct ad_section *const *secs, const char *prefix, size_t plen, size_t idx,
               const char **ret_name, size_t *ret_len)
{
    size_t seen = 0;
    for (size_t i = 0; secs && secs[i]; i++) {
        const char *name;
        size_t n;
        if (!next_component(secs[i]->path, prefix, plen, &name, &n))
            continue;
        bool dup = false;
        for (size_t j = 0; j < i && !dup; j++) {
            const char *other;
            size_t on;
            dup = next_component(secs[j]->path, prefix, plen, &other, &on) && on == n &&
                  memcmp(other, name, n) == 0;
        }
        if (dup)
            continue;
        if (seen++ == idx) {
            *ret_name = name;
            *ret_len = n;
            return true;
        }
    }
    return false;
}

/* --- the node tree ---------------------------------------------------------------------------- */

enum node_kind { N_SCALAR, N_SEQ, N_MAP };

struct node {
    enum node_kind kind;
    bool null;     /* a plain, untagged "", "~" or "null": the value is absent */
    int line, col; /* 1-based */
    char *text;    /* scalars: NUL-terminated (may hold an embedded NUL; see len) */
    size_t len;
    struct node **kids; /* sequences: items; mappings: key, value, key, value... */
    size_t n, cap;
};

static void node_free(struct node *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->n; i++)
        node_free(n->kids[i]); /* depth is bounded by AD_CFG_MAX_DEPTH */
    free(n->kids);
    free(n->text);
    free(n);
}

static const char *kind_name(const struct node *n)
{
    if (n->kind == N_MAP)
        return "a mapping";
    if (n->kind == N_SEQ)
        return "a sequence";
    return n->null ? "null" : "a scalar";
}

struct load {
    const char *file; /* for messages; borrowed from the caller (or static) */
    const char *yaml; /* the input, to turn reader offsets into positions */
    size_t len;
    const struct ad_section *const *secs;
    struct ad_config *c;
    struct ad_err *err;
};

static int err_at(struct load *ld, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int err_at(struct load *ld, int line, int col, const char *fmt, ...)
{
    char msg[sizeof(ld->err->msg)];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return ad_err_set_at(ld->err, EINVAL, ld->file, line, col, "%s", msg);
}

/* Writes s as a short printable excerpt for messages: control bytes become '?', long values are
 * cut at a character boundary and marked with "...". */
static const char *excerpt(const char *s, size_t len, char *buf, size_t n)
{
    const size_t keep = 48;
    size_t o = 0, i = 0;
    for (; i < len && i < keep && o + 1 < n; i++)
        buf[o++] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? '?' : s[i];
    if (i < len) {
        while (o > 0 && ((unsigned char)buf[o - 1] & 0xc0) == 0x80)
            o--; /* drop a trailing partial UTF-8 sequence */
        if (o > 0 && (unsigned char)buf[o - 1] >= 0xc0)
            o--;
        if (o + 4 < n) {
            memcpy(buf + o, "...", 3);
            o += 3;
        }
    }
    buf[o] = '\0';
    return buf;
}

/* 1-based line and column of a byte offset, for reader errors, which carry no mark. */
static void offset_pos(const struct load *ld, size_t off, int *line, int *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < off && i < ld->len; i++) {
        if (ld->yaml[i] == '\n') {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
}

static int syntax_error(struct load *ld, const yaml_parser_t *p)
{
    if (p->error == YAML_MEMORY_ERROR)
        return ad_err_set(ld->err, ENOMEM, "out of memory while parsing %s", ld->file);
    const char *problem = p->problem ? p->problem : "unknown error";
    if (p->error == YAML_READER_ERROR) {
        int line, col;
        offset_pos(ld, p->problem_offset, &line, &col);
        return err_at(ld, line, col, "YAML: %s", problem);
    }
    int line = (int)p->problem_mark.line + 1, col = (int)p->problem_mark.column + 1;
    if (p->context)
        return err_at(ld, line, col, "YAML syntax error: %s (%s at line %d column %d)", problem,
                      p->context, (int)p->context_mark.line + 1, (int)p->context_mark.column + 1);
    return err_at(ld, line, col, "YAML syntax error: %s", problem);
}

struct builder {
    struct node *stack[AD_CFG_MAX_DEPTH];
    size_t depth;
    struct node *root;
    size_t count;
};

static int attach(struct builder *b, struct node *n)
{
    if (b->depth == 0) {
        b->root = n;
        return 0;
    }
    struct node *parent = b->stack[b->depth - 1];
    if (parent->n == parent->cap) {
        size_t cap = parent->cap ? parent->cap * 2 : 8;
        struct node **k = realloc(parent->kids, cap * sizeof(*k));
        if (!k)
            return -ENOMEM;
        parent->kids = k;
        parent->cap = cap;
    }
    parent->kids[parent->n++] = n;
    return 0;
}

static bool is_null_scalar(const yaml_event_t *ev)
{
    const char *v = (const char *)ev->data.scalar.value;
    if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE || !ev->data.scalar.plain_implicit)
        return false;
    return !strcmp(v, "") || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") ||
           !strcmp(v, "NULL");
}

/* Adds the node for a scalar or collection-start event to the tree. */
static int add_node(struct load *ld, struct builder *b, const yaml_event_t *ev)
{
    int line = (int)ev->start_mark.line + 1, col = (int)ev->start_mark.column + 1;
    if (++b->count > AD_CFG_MAX_NODES)
        return err_at(ld, line, col, "too many YAML nodes (at most %u)", AD_CFG_MAX_NODES);
    bool collection = ev->type != YAML_SCALAR_EVENT;
    if (collection && b->depth == AD_CFG_MAX_DEPTH)
        return err_at(ld, line, col, "YAML nested deeper than %u levels", AD_CFG_MAX_DEPTH);
    struct node *n = calloc(1, sizeof(*n));
    if (!n)
        return ad_err_set(ld->err, ENOMEM, "out of memory");
    n->line = line;
    n->col = col;
    if (ev->type == YAML_SCALAR_EVENT) {
        n->kind = N_SCALAR;
        n->len = ev->data.scalar.length;
        n->null = is_null_scalar(ev);
        n->text = malloc(n->len + 1);
        if (n->text) {
            memcpy(n->text, ev->data.scalar.value, n->len);
            n->text[n->len] = '\0';
        }
    } else {
        n->kind = ev->type == YAML_MAPPING_START_EVENT ? N_MAP : N_SEQ;
    }
    if ((n->kind == N_SCALAR && !n->text) || attach(b, n) < 0) {
        node_free(n);
        return ad_err_set(ld->err, ENOMEM, "out of memory");
    }
    if (collection)
        b->stack[b->depth++] = n;
    return 0;
}

/* One event into the tree. Returns 1 at the end of the stream, 0 to go on, or -errno. */
static int on_event(struct load *ld, struct builder *b, const yaml_event_t *ev, int *docs)
{
    int line = (int)ev->start_mark.line + 1, col = (int)ev->start_mark.column + 1;
    switch (ev->type) {
    case YAML_STREAM_END_EVENT:
        return 1;
    case YAML_DOCUMENT_START_EVENT:
        if ((*docs)++ > 0)
            return err_at(ld, line, col,
                          "a second YAML document: the configuration is one document");
        return 0;
    case YAML_ALIAS_EVENT:
        return err_at(ld, line, col, "YAML aliases (*%s) are not supported; repeat the value",
                      (const char *)ev->data.alias.anchor);
    case YAML_SCALAR_EVENT:
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT:
        return add_node(ld, b, ev);
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        if (b->depth > 0)
            b->depth--;
        return 0;
    default:
        return 0;
    }
}

static int parse_tree(struct load *ld, struct node **ret)
{
    yaml_parser_t p;
    struct builder b = {.depth = 0};
    int docs = 0, r = 0;

    if (!yaml_parser_initialize(&p))
        return ad_err_set(ld->err, ENOMEM, "out of memory");
    yaml_parser_set_input_string(&p, (const unsigned char *)ld->yaml, ld->len);
    while (r == 0) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&p, &ev)) {
            r = syntax_error(ld, &p);
            break;
        }
        r = on_event(ld, &b, &ev, &docs);
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&p);
    if (r < 0) {
        node_free(b.root);
        return r;
    }
    *ret = b.root; /* NULL for an empty stream */
    return 0;
}

/* --- unknown keys ----------------------------------------------------------------------------- */

/* Edit distance, or a large value for long names (hints are for typos in short keys). */
static size_t distance(const char *a, size_t al, const char *b, size_t bl)
{
    enum { MAXL = 64 };
    size_t row[MAXL + 1];
    if (al > MAXL || bl > MAXL)
        return SIZE_MAX;
    for (size_t j = 0; j <= bl; j++)
        row[j] = j;
    for (size_t i = 1; i <= al; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= bl; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[bl];
}

/* Every key valid under a prefix: the options of the section there, then the child paths. */
struct keys {
    const struct ad_section *const *secs;
    const char *prefix;
    size_t plen;
    const struct ad_section *sec; /* NULL: no section at this prefix */
};

static bool key_at(const struct keys *k, size_t idx, const char **name, size_t *len)
{
    size_t nopts = 0;
    while (k->sec && k->sec->opts && k->sec->opts[nopts].name)
        nopts++;
    if (idx < nopts) {
        *name = k->sec->opts[idx].name;
        *len = strlen(*name);
        return true;
    }
    return cfg_child(k->secs, k->prefix, k->plen, idx - nopts, name, len);
}

static bool is_prefix(const char *a, size_t al, const char *b, size_t bl)
{
    return al >= 2 && al < bl && memcmp(a, b, al) == 0;
}

/* "; did you mean 'window'?" when a valid key is within two edits or shares a prefix, else the
 * list of valid keys. */
static void hint(const struct keys *k, const char *key, size_t klen, char *buf, size_t n)
{
    const char *name, *best = NULL, *pre = NULL;
    size_t len, best_len = 0, pre_len = 0, best_d = 3;
    for (size_t i = 0; key_at(k, i, &name, &len); i++) {
        size_t d = distance(key, klen, name, len);
        if (d < best_d && d < len) {
            best = name;
            best_len = len;
            best_d = d;
        }
        if (!pre && (is_prefix(key, klen, name, len) || is_prefix(name, len, key, klen))) {
            pre = name;
            pre_len = len;
        }
    }
    if (!best) {
        best = pre;
        best_len = pre_len;
    }
    if (best) {
        snprintf(buf, n, "; did you mean '%.*s'?", (int)best_len, best);
        return;
    }
    size_t o = (size_t)snprintf(buf, n, "; valid keys here:");
    bool any = false;
    for (size_t i = 0; key_at(k, i, &name, &len) && o < n; i++) {
        int w = snprintf(buf + o, n - o, "%s %.*s", any ? "," : "", (int)len, name);
        if (w < 0)
            break;
        o += (size_t)w;
        any = true;
    }
    if (!any)
        snprintf(buf, n, "; nothing is configurable here");
}

/* --- walking the tree against the sections ---------------------------------------------------- */

static int set_list_from_seq(struct load *ld, const char *path, const struct ad_opt *o,
                             const struct node *v, union cfg_val *val)
{
    const char **items = calloc(v->n + 1, sizeof(*items));
    size_t *lens = calloc(v->n + 1, sizeof(*lens));
    int r = 0;
    if (!items || !lens) {
        r = ad_err_set(ld->err, ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < v->n; i++) {
        const struct node *it = v->kids[i];
        if (it->kind != N_SCALAR || it->null) {
            r = err_at(ld, it->line, it->col, "%s.%s: expected a scalar list item, got %s", path,
                       o->name, kind_name(it));
            goto out;
        }
        items[i] = it->text;
        /* an embedded NUL makes the item invalid: the consumer would see a shorter name */
        lens[i] = strlen(it->text) == it->len ? it->len : 0;
    }
    size_t bad;
    r = cfg_strlist_from_items(items, lens, v->n, &val->l, &bad);
    if (r == -ENOMEM) {
        ad_err_set(ld->err, ENOMEM, "out of memory");
    } else if (r < 0 && bad == v->n) {
        r = err_at(ld, v->line, v->col, "%s.%s: a list of at most %u items expected, got %zu", path,
                   o->name, AD_CFG_MAX_LIST_ITEMS, v->n);
    } else if (r < 0) {
        char ex[64];
        const struct node *it = v->kids[bad];
        r = err_at(ld, it->line, it->col,
                   "%s.%s: list items must be non-empty names of at most %u bytes, got \"%s\"",
                   path, o->name, AD_CFG_MAX_LIST_ITEM, excerpt(it->text, it->len, ex, sizeof(ex)));
    } else if ((bad = cfg_strlist_check(o, &val->l)) != val->l.n) {
        char ex[64];
        const struct node *it = v->kids[bad];
        r = err_at(ld, it->line, it->col,
                   "%s.%s: expected an IP address or CIDR block (e.g. 10.0.0.0/8, 192.0.2.7, "
                   "fd00::/8), got \"%s\"",
                   path, o->name, excerpt(it->text, it->len, ex, sizeof(ex)));
        cfg_val_free(o, val);
    }
out:
    free(items);
    free(lens);
    return r;
}

static int set_option(struct load *ld, size_t si, const char *path, const struct ad_opt *o,
                      const struct node *v)
{
    union cfg_val val = {0};
    char want[160], ex[64];
    int r;

    cfg_describe_expected(o, want, sizeof(want));
    if (o->type == AD_OPT_T_STRLIST && v->kind == N_SEQ) {
        r = set_list_from_seq(ld, path, o, v, &val);
        if (r < 0)
            return r;
    } else if (v->kind != N_SCALAR) {
        return err_at(ld, v->line, v->col, "%s.%s: expected %s, got %s", path, o->name,
                      o->type == AD_OPT_T_STRLIST ? "a sequence or a comma-separated string"
                                                  : "a scalar",
                      kind_name(v));
    } else if (v->null) {
        /* Only an option whose built-in default is "unset" can be set back to unset. */
        if (o->def || (o->type != AD_OPT_T_STRING && o->type != AD_OPT_T_ENDPOINT))
            return err_at(ld, v->line, v->col,
                          "%s.%s: expected %s, got null (remove the key to use the default)", path,
                          o->name, want);
    } else {
        r = cfg_parse_scalar(o, v->text, v->len, &val);
        if (r == -ENOMEM)
            return ad_err_set(ld->err, ENOMEM, "out of memory");
        if (r < 0 && o->type == AD_OPT_T_STRING && strlen(v->text) == v->len)
            return err_at(ld, v->line, v->col, "%s.%s: expected %s, got %zu bytes", path, o->name,
                          want, v->len);
        if (r < 0)
            return err_at(ld, v->line, v->col, "%s.%s: expected %s, got \"%s\"", path, o->name,
                          want, excerpt(v->text, v->len, ex, sizeof(ex)));
    }
    cfg_val_store(ld->c->cfg[si], o, &val);
    return 0;
}

static const struct ad_opt *find_opt(const struct ad_section *sec, const char *name, size_t len)
{
    for (size_t i = 0; sec && sec->opts && sec->opts[i].name; i++)
        if (strlen(sec->opts[i].name) == len && memcmp(sec->opts[i].name, name, len) == 0)
            return &sec->opts[i];
    return NULL;
}

static int walk_map(struct load *ld, const struct node *m, const char *prefix, size_t plen);

/* The child path component under k named like key, or NULL. */
static const char *find_child(const struct keys *k, const struct node *key)
{
    const char *child;
    size_t clen;
    for (size_t c = 0; cfg_child(k->secs, k->prefix, k->plen, c, &child, &clen); c++)
        if (clen == key->len && memcmp(child, key->text, clen) == 0)
            return child;
    return NULL;
}

/* Options named "group.name" are written as a nested mapping inside their section
 * (`tls: {cert_file: ...}` for tls.cert_file). True when some option of sec is in the group key. */
static bool is_group(const struct ad_section *sec, const char *key, size_t len)
{
    for (size_t i = 0; sec && sec->opts && sec->opts[i].name; i++)
        if (strncmp(sec->opts[i].name, key, len) == 0 && sec->opts[i].name[len] == '.')
            return true;
    return false;
}

/* The keys of group g ("cert_file, key_file") for an error message. */
static void group_keys(const struct ad_section *sec, const struct node *g, char *buf, size_t n)
{
    size_t o = 0;
    buf[0] = '\0';
    for (size_t i = 0; sec->opts[i].name && o < n; i++) {
        const char *name = sec->opts[i].name;
        if (strncmp(name, g->text, g->len) != 0 || name[g->len] != '.')
            continue;
        int w = snprintf(buf + o, n - o, "%s%s", o ? ", " : "", name + g->len + 1);
        if (w < 0)
            break;
        o += (size_t)w;
    }
}

/* The mapping m under group key g of the section at k. */
static int walk_group(struct load *ld, const struct keys *k, const struct node *g,
                      const struct node *m)
{
    const char *path = k->sec->path;
    char name[128], ex[64], valid[256];
    if (m->kind == N_SCALAR && m->null)
        return 0; /* "tls:" with nothing under it: all defaults */
    if (m->kind != N_MAP)
        return err_at(ld, m->line, m->col, "%s.%.*s: expected a mapping, got %s", path,
                      (int)g->len, g->text, kind_name(m));
    for (size_t i = 0; i + 1 < m->n; i += 2) {
        const struct node *key = m->kids[i];
        const struct ad_opt *o = NULL;
        if (key->kind == N_SCALAR && !key->null && g->len + key->len + 2 <= sizeof(name)) {
            snprintf(name, sizeof(name), "%.*s.%.*s", (int)g->len, g->text, (int)key->len,
                     key->text);
            o = find_opt(k->sec, name, g->len + key->len + 1);
        }
        if (!o) {
            group_keys(k->sec, g, valid, sizeof(valid));
            return err_at(ld, key->line, key->col, "%s.%.*s: unknown key '%s'; valid keys here: %s",
                          path, (int)g->len, g->text,
                          excerpt(key->text, key->kind == N_SCALAR ? key->len : 0, ex, sizeof(ex)),
                          valid);
        }
        for (size_t j = 0; j < i; j += 2)
            if (m->kids[j]->len == key->len && memcmp(m->kids[j]->text, key->text, key->len) == 0)
                return err_at(ld, key->line, key->col,
                              "%s.%.*s: duplicate key '%s' (first given on line %d)", path,
                              (int)g->len, g->text, excerpt(key->text, key->len, ex, sizeof(ex)),
                              m->kids[j]->line);
        int r = set_option(ld, (size_t)cfg_section_at(ld->secs, k->prefix, k->plen), path, o,
                           m->kids[i + 1]);
        if (r < 0)
            return r;
    }
    return 0;
}

/* One key and its value in the mapping at k: the key must be valid and new. */
static int walk_pair(struct load *ld, const struct node *m, size_t i, const struct keys *k)
{
    const struct node *key = m->kids[i], *val = m->kids[i + 1];
    char ex[64], more[200];
    if (key->kind != N_SCALAR || key->null)
        return err_at(ld, key->line, key->col, "%.*s%sexpected a scalar key, got %s", (int)k->plen,
                      k->prefix, k->plen ? ": " : "", kind_name(key));
    const struct ad_opt *o = find_opt(k->sec, key->text, key->len);
    if (o && memchr(key->text, '.', key->len))
        o = NULL; /* a group's member is only written nested (walk_group) */
    const char *child = o ? NULL : find_child(k, key);
    bool group = !o && !child && is_group(k->sec, key->text, key->len);
    if (!o && !child && !group) {
        hint(k, key->text, key->len, more, sizeof(more));
        excerpt(key->text, key->len, ex, sizeof(ex));
        if (k->plen == 0)
            return err_at(ld, key->line, key->col, "unknown section '%s'%s", ex, more);
        return err_at(ld, key->line, key->col, "%.*s: unknown key '%s'%s", (int)k->plen, k->prefix,
                      ex, more);
    }
    /* Every earlier key was valid, so this scan is bounded by the number of valid keys. */
    for (size_t j = 0; j < i; j += 2) {
        const struct node *prev = m->kids[j];
        if (prev->len == key->len && memcmp(prev->text, key->text, key->len) == 0)
            return err_at(ld, key->line, key->col,
                          "%.*s%sduplicate key '%s' (first given on line %d)", (int)k->plen,
                          k->prefix, k->plen ? ": " : "", excerpt(key->text, key->len, ex, 64),
                          prev->line);
    }
    if (o)
        return set_option(ld, (size_t)cfg_section_at(ld->secs, k->prefix, k->plen), k->sec->path, o,
                          val);
    if (group)
        return walk_group(ld, k, key, val);
    /* The child's name points into a section path that starts with the prefix, so that path
     * is the longer prefix, without copying. */
    size_t skip = k->plen ? k->plen + 1 : 0;
    return walk_map(ld, val, child - skip, skip + key->len);
}

static int walk_map(struct load *ld, const struct node *m, const char *prefix, size_t plen)
{
    if (m->kind == N_SCALAR && m->null)
        return 0; /* "section:" with nothing under it: all defaults */
    if (m->kind != N_MAP) {
        if (plen == 0)
            return err_at(ld, m->line, m->col,
                          "expected a mapping of sections at the top level, got %s", kind_name(m));
        return err_at(ld, m->line, m->col, "%.*s: expected a mapping, got %s", (int)plen, prefix,
                      kind_name(m));
    }
    int si = cfg_section_at(ld->secs, prefix, plen);
    struct keys k = {ld->secs, prefix, plen, si >= 0 ? ld->secs[si] : NULL};
    for (size_t i = 0; i + 1 < m->n; i += 2) {
        int r = walk_pair(ld, m, i, &k);
        if (r < 0)
            return r;
    }
    return 0;
}

/* --- defaults and the config object ----------------------------------------------------------- */

static int check_tables(struct load *ld)
{
    char why[160];
    for (size_t i = 0; ld->secs[i]; i++) {
        const struct ad_section *s = ld->secs[i];
        if (cfg_section_at(ld->secs, s->path, strlen(s->path)) != (int)i)
            return ad_err_set(ld->err, EINVAL, "section '%s' is declared twice", s->path);
        for (size_t j = 0; s->opts && s->opts[j].name; j++) {
            const struct ad_opt *o = &s->opts[j];
            if (find_opt(s, o->name, strlen(o->name)) != o)
                return ad_err_set(ld->err, EINVAL, "%s: option '%s' is declared twice", s->path,
                                  o->name);
            if (cfg_check_opt(o, why, sizeof(why)) < 0)
                return ad_err_set(ld->err, EINVAL, "%s.%s: %s", s->path, o->name, why);
        }
    }
    return 0;
}

static int apply_default(struct load *ld, size_t si, const struct ad_opt *o)
{
    const char *path = ld->secs[si]->path;
    union cfg_val v = {0};
    char want[160];
    if (!o->def) {
        if (o->type == AD_OPT_T_STRING || o->type == AD_OPT_T_ENDPOINT)
            return 0; /* unset: NULL */
        if (o->type != AD_OPT_T_STRLIST)
            return ad_err_set(ld->err, EINVAL, "%s.%s: no built-in default", path, o->name);
        if (cfg_parse_scalar(o, "", 0, &v) < 0)
            return ad_err_set(ld->err, ENOMEM, "out of memory");
    } else {
        int r = cfg_parse_scalar(o, o->def, strlen(o->def), &v);
        if (r == -ENOMEM)
            return ad_err_set(ld->err, ENOMEM, "out of memory");
        if (r < 0) {
            cfg_describe_expected(o, want, sizeof(want));
            return ad_err_set(ld->err, EINVAL, "%s.%s: built-in default: expected %s, got \"%s\"",
                              path, o->name, want, o->def);
        }
    }
    cfg_val_store(ld->c->cfg[si], o, &v);
    return 0;
}

static int config_new(struct load *ld, const char *name)
{
    struct ad_config *c = calloc(1, sizeof(*c));
    if (!c)
        return ad_err_set(ld->err, ENOMEM, "out of memory");
    ld->c = c;
    c->sections = ld->secs;
    while (ld->secs[c->n])
        c->n++;
    c->cfg = calloc(c->n ? c->n : 1, sizeof(c->cfg[0]));
    if (!c->cfg || (name && !(c->file = strdup(name))))
        return ad_err_set(ld->err, ENOMEM, "out of memory");
    for (size_t i = 0; i < c->n; i++) {
        size_t sz = ld->secs[i]->cfg_size;
        if (!(c->cfg[i] = calloc(1, sz ? sz : 1)))
            return ad_err_set(ld->err, ENOMEM, "out of memory");
    }
    return 0;
}

static const struct ad_section *const no_sections[] = {NULL};

/* name: the file name for messages (NULL: defaults only, no input). */
static int load(const char *name, const char *msgname, const char *yaml, size_t len,
                const struct ad_section *const *secs, struct ad_config **ret, struct ad_err *reterr)
{
    struct load ld = {msgname, yaml ? yaml : "", yaml ? len : 0, secs ? secs : no_sections, NULL,
                      reterr};
    struct node *root = NULL;
    int r = check_tables(&ld);
    if (r == 0)
        r = config_new(&ld, name);
    for (size_t i = 0; r == 0 && i < ld.c->n; i++)
        for (size_t j = 0; r == 0 && ld.secs[i]->opts && ld.secs[i]->opts[j].name; j++)
            r = apply_default(&ld, i, &ld.secs[i]->opts[j]);
    if (r == 0 && yaml)
        r = parse_tree(&ld, &root);
    if (r == 0 && root)
        r = walk_map(&ld, root, "", 0);
    node_free(root);
    if (r < 0) {
        ad_config_destroy(ld.c);
        return r;
    }
    *ret = ld.c;
    return 0;
}

int ad_config_load_string(const char *name, const char *yaml, size_t len,
                          const struct ad_section *const *sections, struct ad_config **ret,
                          struct ad_err *reterr)
{
    const char *msgname = name ? name : "<string>";
    if (len > AD_CFG_MAX_FILE)
        return ad_err_set(reterr, EINVAL, "%s: configuration larger than %u bytes", msgname,
                          AD_CFG_MAX_FILE);
    return load(name, msgname, yaml ? yaml : "", yaml ? len : 0, sections, ret, reterr);
}

/* Reads at most AD_CFG_MAX_FILE + 1 bytes, so an oversized file is detected without trusting
 * st_size (which is 0 for pipes and /proc files). */
static int read_all(int fd, char **ret, size_t *ret_len)
{
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    if (!buf)
        return -ENOMEM;
    for (;;) {
        if (len == cap) {
            if (cap > AD_CFG_MAX_FILE) {
                free(buf);
                return -EFBIG;
            }
            char *b = realloc(buf, cap * 2);
            if (!b) {
                free(buf);
                return -ENOMEM;
            }
            buf = b;
            cap *= 2;
        }
        ssize_t n = read(fd, buf + len, cap - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            free(buf);
            return -e;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    if (len > AD_CFG_MAX_FILE) {
        free(buf);
        return -EFBIG;
    }
    *ret = buf;
    *ret_len = len;
    return 0;
}

int ad_config_load(const char *path, const struct ad_section *const *sections,
                   struct ad_config **ret, struct ad_err *reterr)
{
    if (!path)
        return load(NULL, NULL, NULL, 0, sections, ret, reterr);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        return ad_err_set(reterr, e, "cannot open configuration file %s: %s", path, strerror(e));
    }
    char *buf = NULL;
    size_t len = 0;
    int r = read_all(fd, &buf, &len);
    close(fd);
    if (r == -EFBIG)
        return ad_err_set(reterr, EINVAL, "configuration file %s is larger than %u bytes", path,
                          AD_CFG_MAX_FILE);
    if (r < 0)
        return ad_err_set(reterr, -r, "cannot read configuration file %s: %s", path, strerror(-r));
    r = load(path, path, buf, len, sections, ret, reterr);
    free(buf);
    return r;
}

void ad_config_destroy(struct ad_config *c)
{
    if (!c)
        return;
    for (size_t i = 0; c->cfg && i < c->n; i++) {
        if (!c->cfg[i])
            continue;
        for (size_t j = 0; c->sections[i]->opts && c->sections[i]->opts[j].name; j++)
            cfg_val_free_at(c->cfg[i], &c->sections[i]->opts[j]);
        free(c->cfg[i]);
    }
    free(c->cfg);
    free(c->file);
    free(c);
}

void *ad_config_get(const struct ad_config *c, const char *path)
{
    if (!c || !path)
        return NULL;
    int i = cfg_section_at(c->sections, path, strlen(path));
    return i >= 0 ? c->cfg[i] : NULL;
}

/* --- reload support --------------------------------------------------------------------------- */

/* Index in c of the section with sec's path and table, or -1. */
static int same_section(const struct ad_config *c, const struct ad_section *sec)
{
    int i = cfg_section_at(c->sections, sec->path, strlen(sec->path));
    return i >= 0 && c->sections[i]->opts == sec->opts ? i : -1;
}

int ad_config_restart_diff(const struct ad_config *a, const struct ad_config *b,
                           ad_config_diff_fn fn, void *ctx)
{
    int count = 0;
    for (size_t i = 0; a && b && i < a->n; i++) {
        const struct ad_section *sec = a->sections[i];
        int j = same_section(b, sec);
        for (size_t k = 0; j >= 0 && sec->opts && sec->opts[k].name; k++) {
            const struct ad_opt *o = &sec->opts[k];
            if (!(o->flags & AD_OPT_RESTART) || cfg_val_equal_at(a->cfg[i], b->cfg[j], o))
                continue;
            if (fn)
                fn(ctx, sec->path, o);
            count++;
        }
    }
    return count;
}

int ad_config_keep_restart(struct ad_config *to, const struct ad_config *from)
{
    if (!to || !from)
        return -EINVAL;
    for (size_t i = 0; i < to->n; i++) {
        const struct ad_section *sec = to->sections[i];
        int j = same_section(from, sec);
        for (size_t k = 0; j >= 0 && sec->opts && sec->opts[k].name; k++) {
            const struct ad_opt *o = &sec->opts[k];
            if (!(o->flags & AD_OPT_RESTART))
                continue;
            int r = cfg_val_copy_at(to->cfg[i], from->cfg[j], o);
            if (r < 0)
                return r;
        }
    }
    return 0;
}
