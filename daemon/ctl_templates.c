/* daemon/ctl_templates.c: see ctl_templates.h. The lines are mined in one pass, in order, as the
 * daemon would mine one service's messages; each line's template id is kept (8 bytes a line) so
 * the output can name every line's final template once all lines are in. */
#include "daemon/ctl_templates.h"

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/u64map.h"
#include "config/config.h"
#include "daemon/sections.h"
#include "models/logfmt.h"
#include "models/templates.h"
#include "models/tmpl.h"

/* The timestamps of syslog files: BSD "Jun 14 15:16:01" and RFC 3339 (rsyslog's default file
 * format since Debian 12: "2026-12-04T10:00:01.123456+00:00"). */
#define TS_BSD "[A-Z][a-z]{2} \\d{1,2} \\d\\d:\\d\\d:\\d\\d"
#define TS_3339 "\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(?:\\.\\d+)?(?:Z|[+-]\\d\\d:\\d\\d)"

/* Header formats of common log layouts, in the notation of --content-regex; format NULL: JSON
 * lines (the message from msg/message/log). */
static const struct {
    const char *name, *format, *doc;
} presets[] = {
    {"syslog", "(?:" TS_BSD "|" TS_3339 ") <Host> <Tag>: <Content>",
     "syslog files, BSD or RFC 3339 timestamps: 'Jun 14 15:16:01 host sshd[1234]: message'"},
    {"syslog-rfc3339", TS_3339 " <Host> <Tag>: <Content>",
     "rsyslog's RFC 3339 files: '2026-12-04T10:00:01.123456+00:00 host sshd[123]: message'"},
    {"json", NULL, "JSON lines: the message from \"msg\", \"message\" or \"log\""},
    {"log4j", "<Date> <Time> <Level> <Component>: <Content>",
     "'2015-10-18 18:01:47,978 INFO org.apache.Foo: message'"},
    {"hadoop", "<Date> <Time> <Pid> <Level> <Component>: <Content>",
     "Hadoop/HDFS log4j layout with the pid: '081109 203615 148 INFO dfs.DataNode: message'"},
    {"apache-error", "\\[<Time>\\] \\[<Level>\\] <Content>",
     "Apache error_log: '[Sun Dec 04 04:47:44 2005] [notice] message'"},
};

void ad_ctl_templates_usage(FILE *f)
{
    fprintf(f, "  templates [-c FILE] [--preset NAME | --content-regex FORMAT] [--summary]\n"
               "            FILE|-\n"
               "      mine raw log lines into templates with the daemon's miner: one line per\n"
               "      input line, <template id> TAB <template> (--preset json: TAB the line's\n"
               "      other fields as key=value); --summary: templates by count.\n"
               "      Presets:");
    for (size_t i = 0; i < sizeof(presets) / sizeof(presets[0]); i++)
        fprintf(f, " %s", presets[i].name);
    fprintf(f, ". docs/templates.md\n");
}

struct line_ids {
    uint64_t *v;
    char **fields; /* --preset json: the line's other fields, "k=v k=v" (NULL: none) */
    size_t n, cap;
};

/* A JSON line's fields other than its message, as key=value pairs (values as they are). */
static char *fields_text(const struct ad_logjson *lj)
{
    size_t len = 1;
    for (uint32_t i = 0; i < lj->n_fields; i++)
        len += lj->fields[i].key.len + lj->fields[i].value.len + 2;
    char *t = lj->n_fields ? malloc(len) : NULL, *p = t;
    for (uint32_t i = 0; t && i < lj->n_fields; i++)
        p += sprintf(p, "%s%.*s=%.*s", i ? " " : "", (int)lj->fields[i].key.len,
                     lj->fields[i].key.p, (int)lj->fields[i].value.len, lj->fields[i].value.p);
    return t;
}

/* The latest text of each template (it gains wildcards as lines come), by id. */
struct texts {
    struct ad_u64map by_id;
    char **text;
    uint64_t *count;
    size_t n, cap;
};

static int texts_put(struct texts *t, uint64_t id, struct ad_str text, uint64_t count)
{
    uint32_t i;
    char *c = strndup(text.p ? text.p : "", text.len);
    if (!c)
        return -ENOMEM;
    if (ad_u64map_get(&t->by_id, ad_u64map_key(id), &i)) {
        free(t->text[i]);
        t->text[i] = c;
        t->count[i] = count;
        return 0;
    }
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        char **tx = realloc(t->text, cap * sizeof(*tx));
        if (tx)
            t->text = tx;
        uint64_t *ct = tx ? realloc(t->count, cap * sizeof(*ct)) : NULL;
        if (!ct) {
            free(c);
            return -ENOMEM;
        }
        t->count = ct;
        t->cap = cap;
    }
    if (ad_u64map_put(&t->by_id, ad_u64map_key(id), (uint32_t)t->n) < 0) {
        free(c);
        return -ENOMEM;
    }
    t->text[t->n] = c;
    t->count[t->n++] = count;
    return 0;
}

static const char *texts_get(const struct texts *t, uint64_t id, uint64_t *count)
{
    uint32_t i;
    if (!ad_u64map_get(&t->by_id, ad_u64map_key(id), &i))
        return "";
    if (count)
        *count = t->count[i];
    return t->text[i];
}

static void final_text(void *ctx, uint64_t id, struct ad_str text, uint64_t count, int64_t last_ns)
{
    (void)last_ns;
    texts_put(ctx, id, text, count);
}

/* Prints text with tabs and newlines as spaces (one output line per input line). */
static void put_flat(const char *s)
{
    for (; *s; s++)
        putchar(*s == '\t' || *s == '\n' || *s == '\r' ? ' ' : *s);
}

/* The id story in --summary: a template folded into another, or split again into one template
 * per frequent word (one line per new id), old id -> new id. */
static void print_story(void *ctx, uint64_t from, uint64_t to)
{
    printf("%-10s %016llx -> %016llx\n", (const char *)ctx, (unsigned long long)from,
           (unsigned long long)to);
}

struct order {
    uint64_t id, count;
};
static int by_count(const void *a, const void *b)
{
    const struct order *x = a, *y = b;
    if (x->count != y->count)
        return x->count < y->count ? 1 : -1;
    return x->id < y->id ? -1 : x->id > y->id;
}

static int parse_args(int argc, char **argv, const char **config, const char **format, bool *json,
                      bool *summary, const char **path)
{
    static const struct option o[] = {{"config", 1, 0, 'c'},        {"preset", 1, 0, 'p'},
                                      {"content-regex", 1, 0, 'r'}, {"summary", 0, 0, 's'},
                                      {"help", 0, 0, 'h'},          {0, 0, 0, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:h", o, NULL)) != -1) {
        switch (c) {
        case 'c':
            *config = optarg;
            break;
        case 'r':
            *format = optarg;
            *json = false;
            break;
        case 's':
            *summary = true;
            break;
        case 'p': {
            size_t i = 0, n = sizeof(presets) / sizeof(presets[0]);
            while (i < n && strcmp(presets[i].name, optarg) != 0)
                i++;
            if (i == n) {
                fprintf(stderr, "aiopsctl templates: unknown preset '%s' (valid:", optarg);
                for (i = 0; i < n; i++)
                    fprintf(stderr, " %s", presets[i].name);
                fprintf(stderr, ")\n");
                return 2;
            }
            *format = presets[i].format;
            *json = !presets[i].format;
            break;
        }
        case 'h':
            ad_ctl_templates_usage(stdout);
            return -1;
        default:
            ad_ctl_templates_usage(stderr);
            return 2;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "aiopsctl templates: expected one input file (or - for stdin)\n");
        ad_ctl_templates_usage(stderr);
        return 2;
    }
    *path = argv[optind];
    return 0;
}

/* The miner's settings from models.templates of the config (or the built-in defaults). */
static int miner_config(const char *path, struct ad_config **cfg, struct ad_tmpl_cfg *mc)
{
    struct ad_err err = {0};
    char buf[512];
    int r = path ? ad_config_load(path, ad_sections(), cfg, &err)
                 : ad_config_load_string("built-in", "", 0, ad_sections(), cfg, &err);
    if (r < 0) {
        fprintf(stderr, "aiopsctl templates: %s\n", ad_err_str(&err, buf, sizeof(buf)));
        return -1;
    }
    const struct ad_templates_cfg *t = ad_config_get(*cfg, "models.templates");
    ad_templates_tmpl_cfg(t, mc);
    return 0;
}

int ad_ctl_templates_run(int argc, char **argv)
{
    const char *config = NULL, *format = NULL, *path = NULL;
    bool summary = false, json = false;
    int rc = parse_args(argc, argv, &config, &format, &json, &summary, &path);
    if (rc)
        return rc < 0 ? 0 : rc;
    struct ad_config *cfg = NULL;
    struct ad_tmpl_cfg mc;
    if (miner_config(config, &cfg, &mc) < 0)
        return 2;
    struct ad_err err = {0};
    char ebuf[512];
    struct ad_logfmt *fmt = NULL;
    struct ad_tmpl *miner = NULL;
    if (format && ad_logfmt_compile(format, &fmt, &err) < 0) {
        fprintf(stderr, "aiopsctl templates: --content-regex: %s\n",
                ad_err_str(&err, ebuf, sizeof(ebuf)));
        ad_config_destroy(cfg);
        return 2;
    }
    if (ad_tmpl_create(&mc, &miner, &err) < 0) {
        fprintf(stderr, "aiopsctl templates: %s\n", ad_err_str(&err, ebuf, sizeof(ebuf)));
        ad_logfmt_destroy(fmt);
        ad_config_destroy(cfg);
        return 2;
    }
    FILE *in = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (!in) {
        fprintf(stderr, "aiopsctl templates: %s: %s\n", path, strerror(errno));
        ad_tmpl_destroy(miner);
        ad_logfmt_destroy(fmt);
        ad_config_destroy(cfg);
        return 1;
    }
    struct line_ids ids = {0};
    struct ad_logjson lj = {0};
    struct texts texts = {0};
    ad_u64map_init(&texts.by_id, 256);
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    uint64_t lines = 0, unmatched = 0;
    rc = 0;
    while ((len = getline(&line, &cap, in)) >= 0) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            len--;
        struct ad_str s = {line, (size_t)len}, content = s;
        int in_format = fmt ? ad_logfmt_content(fmt, s, &content) : 1;
        char *fields = NULL;
        if (json && (in_format = ad_logjson_parse(s, &lj)) == 1) {
            content = lj.message; /* the other fields are not mined: shown beside the template */
            fields = fields_text(&lj);
            if (lj.n_fields && !fields)
                in_format = -ENOMEM;
        }
        if (in_format < 0) {
            fprintf(stderr, "aiopsctl templates: out of memory\n");
            free(fields);
            rc = 1;
            break;
        }
        if (in_format == 0) {
            unmatched++;
            content = s; /* not in the format: the whole line is the message */
        }
        struct ad_tmpl_match m;
        if (ad_tmpl_add(miner, content, (int64_t)lines, &m) < 0 ||
            (m.created || m.changed ? texts_put(&texts, m.id, m.text, m.count) : 0) < 0) {
            fprintf(stderr, "aiopsctl templates: out of memory\n");
            free(fields);
            rc = 1;
            break;
        }
        if (ids.n == ids.cap) {
            size_t nc = ids.cap ? ids.cap * 2 : 4096;
            uint64_t *v = realloc(ids.v, nc * sizeof(*v));
            if (v)
                ids.v = v;
            char **f = v ? realloc(ids.fields, nc * sizeof(*f)) : NULL;
            if (!f) {
                fprintf(stderr, "aiopsctl templates: out of memory\n");
                free(fields);
                rc = 1;
                break;
            }
            ids.fields = f;
            ids.cap = nc;
        }
        ids.fields[ids.n] = fields;
        ids.v[ids.n++] = m.id;
        lines++;
    }
    if (rc == 0 && ferror(in)) {
        fprintf(stderr, "aiopsctl templates: %s: %s\n", path, strerror(errno));
        rc = 1;
    }
    free(line);
    if (in != stdin)
        fclose(in);
    ad_tmpl_foreach(miner, final_text, &texts); /* the final text of every live template */
    for (size_t i = 0; i < ids.n; i++) /* a template folded into another: the survivor's id */
        ids.v[i] = ad_tmpl_resolve(miner, ids.v[i]);
    if (rc == 0 && !summary) {
        for (size_t i = 0; i < ids.n; i++) {
            printf("%016llx\t", (unsigned long long)ids.v[i]);
            put_flat(texts_get(&texts, ids.v[i], NULL));
            if (ids.fields[i]) {
                putchar('\t');
                put_flat(ids.fields[i]);
            }
            putchar('\n');
        }
    } else if (rc == 0) {
        /* Lines per template counted here (a template evicted and seen again counts once). */
        struct order *o = calloc(texts.n ? texts.n : 1, sizeof(*o));
        for (size_t i = 0; o && i < ids.n; i++) {
            uint32_t k;
            if (ad_u64map_get(&texts.by_id, ad_u64map_key(ids.v[i]), &k)) {
                o[k].id = ids.v[i];
                o[k].count++;
            }
        }
        if (o) {
            qsort(o, texts.n, sizeof(*o), by_count);
            printf("%-10s %-16s %s\n", "LINES", "ID", "TEMPLATE");
            for (size_t i = 0; i < texts.n && o[i].count; i++) {
                printf("%-10llu %016llx ", (unsigned long long)o[i].count,
                       (unsigned long long)o[i].id);
                put_flat(texts_get(&texts, o[i].id, NULL));
                putchar('\n');
            }
        }
        free(o);
        ad_tmpl_foreach_merge(miner, print_story, "folded");
        ad_tmpl_foreach_split(miner, print_story, "split");
    }
    struct ad_tmpl_stats st;
    ad_tmpl_get_stats(miner, &st);
    fprintf(stderr, "aiopsctl templates: %llu lines, %zu templates", (unsigned long long)lines,
            st.templates);
    if (fmt || json)
        fprintf(stderr, ", %llu not in the format (mined whole)", (unsigned long long)unmatched);
    if (st.evicted)
        fprintf(stderr, ", %llu evicted", (unsigned long long)st.evicted);
    fputc('\n', stderr);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "aiopsctl templates: stdout: %s\n", strerror(errno));
        rc = 1;
    }
    for (size_t i = 0; i < texts.n; i++)
        free(texts.text[i]);
    free(texts.text);
    free(texts.count);
    ad_u64map_fini(&texts.by_id);
    for (size_t i = 0; i < ids.n; i++)
        free(ids.fields[i]);
    free(ids.fields);
    free(ids.v);
    ad_logjson_fini(&lj);
    ad_tmpl_destroy(miner);
    ad_logfmt_destroy(fmt);
    ad_config_destroy(cfg);
    return rc;
}
