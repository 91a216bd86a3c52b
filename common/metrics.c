/* common/metrics.c: Prometheus text format writer.
 * The buffer is a valid exposition after every call: a family's HELP/TYPE appear once and all
 * its samples stay together, even when several modules (or several pipelines) report the same
 * family at different times; a sample reported again with the same labels is added to the one
 * already there (so per-partition pipelines sum up). Expositions are a few hundred lines, so
 * the searches and inserts below cost nothing measurable. */
#include "common/metrics.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"

void ad_metrics_init(struct ad_metrics *m, struct ad_buf *out)
{
    m->out = out;
    m->last_family = NULL;
}

/* Start of the line beginning with `prefix` inside [from, to), or NULL. */
static char *find_line(char *from, char *to, const char *prefix, size_t n)
{
    for (char *p = from; p && p + n <= to;) {
        if (memcmp(p, prefix, n) == 0)
            return p;
        p = memchr(p, '\n', (size_t)(to - p));
        p = p ? p + 1 : NULL;
    }
    return NULL;
}

/* Replaces [at, at + old_len) of the buffer with s. */
static void splice(struct ad_buf *b, size_t at, size_t old_len, const char *s, size_t n)
{
    if (n > old_len && ad_buf_reserve(b, n - old_len) < 0)
        return;
    memmove(b->p + at + n, b->p + at + old_len, b->len - at - old_len + 1);
    memcpy(b->p + at, s, n);
    b->len = b->len - old_len + n;
}

static void sample(struct ad_metrics *m, const char *name, const char *help, const char *type,
                   const char *labels, bool is_int, uint64_t iv, double dv)
{
    struct ad_buf *b = m->out;
    char key[512], type_line[256];
    int kn = labels && *labels ? snprintf(key, sizeof(key), "%s{%s} ", name, labels)
                               : snprintf(key, sizeof(key), "%s ", name);
    int tn = snprintf(type_line, sizeof(type_line), "# TYPE %s %s\n", name, type);
    if (kn <= 0 || (size_t)kn >= sizeof(key) || tn <= 0 || (size_t)tn >= sizeof(type_line))
        return;
    char *end = b->p ? b->p + b->len : NULL;
    char *fam = b->p ? find_line(b->p, end, type_line, (size_t)tn) : NULL;
    if (!fam) {
        ad_buf_printf(b, "# HELP %s %s\n%s", name, help, type_line);
        if (is_int)
            ad_buf_printf(b, "%s%" PRIu64 "\n", key, iv);
        else
            ad_buf_printf(b, "%s%.17g\n", key, dv);
        m->last_family = name;
        return;
    }
    char *body = fam + tn;
    char *next = find_line(body, end, "# HELP ", 7);
    char *block_end = next ? next : end;
    char *line = find_line(body, block_end, key, (size_t)kn);
    char val[64];
    if (line) {
        char *v = line + kn, *eol = memchr(v, '\n', (size_t)(block_end - v));
        if (!eol)
            return;
        int vn = is_int ? snprintf(val, sizeof(val), "%" PRIu64, (uint64_t)strtoull(v, NULL, 10) + iv)
                        : snprintf(val, sizeof(val), "%.17g", strtod(v, NULL) + dv);
        splice(b, (size_t)(v - b->p), (size_t)(eol - v), val, (size_t)vn);
        return;
    }
    char text[600];
    int n = is_int ? snprintf(text, sizeof(text), "%s%" PRIu64 "\n", key, iv)
                   : snprintf(text, sizeof(text), "%s%.17g\n", key, dv);
    if (n > 0 && (size_t)n < sizeof(text))
        splice(b, (size_t)(block_end - b->p), 0, text, (size_t)n);
}

void ad_metrics_counter(struct ad_metrics *m, const char *name, const char *help, const char *labels,
                        uint64_t v)
{
    sample(m, name, help, "counter", labels, true, v, 0);
}

void ad_metrics_gauge(struct ad_metrics *m, const char *name, const char *help, const char *labels,
                      double v)
{
    sample(m, name, help, "gauge", labels, false, 0, v);
}
