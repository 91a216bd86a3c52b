/* config/config_write.c: the example configuration and the markdown reference, both generated
 * from the option tables so they cannot drift from what the loader accepts. */
#include "config/config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "config/config_internal.h"

#define WIDTH 100 /* wrap comments like the code: 100 columns */

/* --- example YAML ----------------------------------------------------------------------------- */

/* Text that YAML reads back as the same plain string, never as null or a structure. */
static bool plain_safe(const char *s)
{
    if (!isalnum((unsigned char)s[0]) && s[0] != '/')
        return false;
    for (const char *p = s; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("._/-+", *p))
            return false;
    return strcmp(s, "null") && strcmp(s, "Null") && strcmp(s, "NULL");
}

static void put_scalar(FILE *f, const char *s)
{
    if (plain_safe(s)) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20 || *p == 0x7f)
            fprintf(f, "\\x%02x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

/* "# text" wrapped at WIDTH columns, indented. */
static void put_comment(FILE *f, int indent, const char *text)
{
    const char *p = text;
    while (*p) {
        while (*p == ' ')
            p++;
        if (!*p)
            break;
        size_t room = WIDTH > indent + 2 ? (size_t)(WIDTH - indent - 2) : 20;
        size_t n = strlen(p);
        if (n > room) {
            size_t cut = room;
            while (cut > 0 && p[cut] != ' ')
                cut--;
            if (cut == 0) /* one long word: let it overflow rather than split it */
                cut = strcspn(p, " ");
            n = cut;
        }
        fprintf(f, "%*s# %.*s\n", indent, "", (int)n, p);
        p += n;
    }
}

static void put_value(FILE *f, const struct ad_opt *o)
{
    if (o->type != AD_OPT_T_STRLIST) {
        put_scalar(f, o->def ? o->def : "");
        return;
    }
    union cfg_val v;
    if (cfg_parse_scalar(o, o->def ? o->def : "", o->def ? strlen(o->def) : 0, &v) < 0) {
        put_scalar(f, o->def ? o->def : ""); /* a broken default: loading will say so */
        return;
    }
    fputc('[', f);
    for (size_t i = 0; i < v.l.n; i++) {
        if (i)
            fputs(", ", f);
        put_scalar(f, v.l.v[i]);
    }
    fputc(']', f);
    cfg_val_free(o, &v);
}

/* name: o->name without its group ("cert_file" for tls.cert_file, written under "tls:"). */
static void put_option(FILE *f, int indent, const struct ad_opt *o, const char *name, bool first)
{
    char range[160], line[512];
    size_t n;
    if (!first)
        fputc('\n', f);
    if (o->doc)
        put_comment(f, indent, o->doc);
    cfg_describe_range(o, range, sizeof(range));
    n = (size_t)snprintf(line, sizeof(line), "Type: %s", cfg_type_name(o->type));
    if (o->type == AD_OPT_T_ENUM) {
        for (size_t i = 0; o->enum_names && o->enum_names[i] && n < sizeof(line); i++)
            n += (size_t)snprintf(line + n, sizeof(line) - n, "%s%s", i ? ", " : " (",
                                  o->enum_names[i]);
        if (n < sizeof(line))
            n += (size_t)snprintf(line + n, sizeof(line) - n, ")");
    }
    if (range[0] && n < sizeof(line))
        n += (size_t)snprintf(line + n, sizeof(line) - n, ", %s", range);
    if (n < sizeof(line))
        n += (size_t)snprintf(line + n, sizeof(line) - n, ". Default: %s.",
                              !o->def     ? "unset"
                              : o->def[0] ? o->def
                                          : "empty");
    if ((o->flags & AD_OPT_RESTART) && n < sizeof(line))
        snprintf(line + n, sizeof(line) - n, " (restart required)");
    put_comment(f, indent, line);
    if (!o->def && (o->type == AD_OPT_T_STRING || o->type == AD_OPT_T_ENDPOINT)) {
        fprintf(f, "%*s# %s: \"\"\n", indent, "", name);
        return;
    }
    fprintf(f, "%*s%s: ", indent, "", name);
    put_value(f, o);
    fputc('\n', f);
}

/* The options of the section at prefix, then each child path as a nested mapping. Items are
 * separated by blank lines, except right under their parent key. */
static void put_level(FILE *f, const struct ad_section *const *secs, const char *prefix,
                      size_t plen, int indent)
{
    bool first = plen > 0;
    int si = cfg_section_at(secs, prefix, plen);
    const struct ad_opt *opts = si >= 0 ? secs[si]->opts : NULL;
    for (size_t i = 0; opts && opts[i].name; i++, first = false) {
        const char *dot = strchr(opts[i].name, '.');
        if (!dot) {
            put_option(f, indent, &opts[i], opts[i].name, first);
            continue;
        }
        /* A group (tls.cert_file, tls.key_file): its key once, then its members under it. */
        size_t glen = (size_t)(dot - opts[i].name);
        bool starts = i == 0 || strncmp(opts[i - 1].name, opts[i].name, glen + 1) != 0;
        if (starts) {
            if (!first)
                fputc('\n', f);
            fprintf(f, "%*s%.*s:\n", indent, "", (int)glen, opts[i].name);
        }
        put_option(f, indent + 2, &opts[i], dot + 1, starts);
    }
    const char *name;
    size_t len;
    for (size_t c = 0; cfg_child(secs, prefix, plen, c, &name, &len); c++, first = false) {
        size_t skip = plen ? plen + 1 : 0;
        const char *cprefix = name - skip;
        int ci = cfg_section_at(secs, cprefix, skip + len);
        if (!first)
            fputc('\n', f);
        if (ci >= 0 && secs[ci]->doc)
            put_comment(f, indent, secs[ci]->doc);
        fprintf(f, "%*s%.*s:\n", indent, "", (int)len, name);
        put_level(f, secs, cprefix, skip + len, indent + 2);
    }
}

int ad_config_write_example(FILE *f, const struct ad_section *const *sections)
{
    fputs(
        "# aiopsd configuration (YAML).\n"
        "# Generated by `aiopsd --print-config-example` from the option tables. Every option is\n"
        "# shown with its built-in default, so this file as written changes nothing.\n"
        "# Durations: 500ms, 30s, 5m, 2h, 7d, 1h30m. Sizes: 512, 64KiB, 16MiB, 1GiB (KiB/MiB/GiB\n"
        "# are powers of 1024, KB/MB/GB powers of 1000). Lists: [a, b] or \"a,b\".\n"
        "# SIGHUP reloads the file; options marked (restart required) keep their running value\n"
        "# until the next restart. See docs/config-format.md.\n",
        f);
    if (sections)
        put_level(f, sections, "", 0, 0);
    return ferror(f) ? -EIO : 0;
}

/* --- markdown reference ----------------------------------------------------------------------- */

/* A table cell: pipes escaped, line breaks flattened. */
static void put_cell(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        if (*s == '|')
            fputs("\\|", f);
        else if (*s == '\n' || *s == '\r')
            fputc(' ', f);
        else
            fputc(*s, f);
    }
}

static void put_row(FILE *f, const struct ad_opt *o)
{
    char range[160];
    fputs("| `", f);
    put_cell(f, o->name);
    fprintf(f, "` | %s", cfg_type_name(o->type));
    for (size_t i = 0; o->type == AD_OPT_T_ENUM && o->enum_names && o->enum_names[i]; i++) {
        fputs(i ? ", `" : ": `", f);
        put_cell(f, o->enum_names[i]);
        fputc('`', f);
    }
    fputs(" | ", f);
    if (!o->def) {
        fputs("(unset)", f);
    } else if (!o->def[0]) {
        fputs("(empty)", f);
    } else {
        fputc('`', f);
        put_cell(f, o->def);
        fputc('`', f);
    }
    cfg_describe_range(o, range, sizeof(range));
    fputs(" | ", f);
    put_cell(f, range);
    fprintf(f, " | %s | ", (o->flags & AD_OPT_RESTART) ? "restart" : "yes");
    put_cell(f, o->doc);
    fputs(" |\n", f);
}

int ad_config_write_markdown(FILE *f, const struct ad_section *const *sections)
{
    fputs("# aiopsd configuration reference\n\n"
          "Generated by `aiopsd --print-config-docs` from the option tables; do not edit by hand.\n"
          "The file format (types, units, lists, endpoints, reload) is explained in\n"
          "[config-format.md](config-format.md). In the *reload* column, `yes` means a SIGHUP\n"
          "applies a new value and `restart` means the running value is kept until a restart.\n",
          f);
    for (size_t i = 0; sections && sections[i]; i++) {
        const struct ad_section *s = sections[i];
        fprintf(f, "\n## `%s`\n\n", s->path);
        if (s->doc)
            fprintf(f, "%s\n\n", s->doc);
        if (!s->opts || !s->opts[0].name) {
            fputs("No options.\n", f);
            continue;
        }
        fputs("| option | type | default | range | reload | description |\n"
              "|---|---|---|---|---|---|\n",
              f);
        for (size_t j = 0; s->opts[j].name; j++)
            put_row(f, &s->opts[j]);
    }
    return ferror(f) ? -EIO : 0;
}
