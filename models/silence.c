/* models/silence.c: silences and maintenance windows: the matcher syntax, the shared silence set
 * and the model that marks silenced alerts (docs/silences.md). Pure: no I/O, no clock: activity
 * is judged by event time, and wall-clock times (creation, expiry) are passed in by the daemon. */
#include "models/silence.h"

#include <errno.h>
#include <inttypes.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/arena.h"
#include "common/buf.h"
#include "common/err.h"
#include "common/event.h"
#include "common/hash.h"
#include "common/json.h"
#include "common/json_silence.h"
#include "common/metrics.h"
#include "common/ser.h"
#include "common/time.h"
#include "models/model.h"

enum field { F_SOURCE, F_RESOURCE, F_SERVICE, F_CHECK, F_SEVERITY, F_KIND, F_LABEL };
static const char *const field_names[] = {"source", "resource", "service", "check", "severity",
                                          "kind"};
#define N_FIELDS (sizeof(field_names) / sizeof(field_names[0]))

struct matcher {
    char *name;
    char *value;      /* the text as given (a regex unanchored) */
    enum field field; /* F_LABEL: name is a label name */
    bool is_regex, is_equal;
    regex_t re;       /* compiled once, anchored: ^(value)$ */
};

struct silence {
    char id[AD_SILENCE_ID_SIZE];
    bool from_config;
    struct matcher m[AD_SILENCE_MAX_MATCHERS];
    size_t n;
    int64_t start_ns, end_ns, updated_ns;
    char *created_by, *comment;
    uint64_t matched; /* alert events matched while active */
};

struct ad_silences {
    unsigned refs;
    struct silence **v; /* config silences first, then run-time ones in creation order */
    size_t n;
    uint64_t generation;
};

const char *ad_silence_state_name(enum ad_silence_state st)
{
    switch (st) {
    case AD_SILENCE_PENDING: return "pending";
    case AD_SILENCE_ACTIVE: return "active";
    case AD_SILENCE_EXPIRED: return "expired";
    }
    return "?";
}

/* --- text syntax ------------------------------------------------------------------------- */

static bool is_sep(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ','; }

/* A name runs up to an operator character, a separator or a quote. */
static bool is_name_char(char c) { return c && !is_sep(c) && !strchr("=!~\"{}", c); }

/* Reads a value at *pp: "quoted" (\" and \\ decoded, other escapes kept for regexes) or bare
 * up to a separator or the closing brace. */
static int read_value(const char **pp, struct ad_arena *arena, struct ad_str *ret,
                      struct ad_err *reterr)
{
    const char *p = *pp;
    if (*p != '"') {
        const char *b = p;
        while (*p && !is_sep(*p) && *p != '}')
            p++;
        *pp = p;
        return ad_arena_strdup(arena, (struct ad_str){b, (size_t)(p - b)}, ret) < 0
                   ? ad_err_set(reterr, ENOMEM, "out of memory")
                   : 0;
    }
    p++;
    char *out = ad_arena_alloc(arena, strlen(p) + 1);
    if (!out)
        return ad_err_set(reterr, ENOMEM, "out of memory");
    size_t n = 0;
    for (; *p && *p != '"'; p++) {
        if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
            p++;
        else if (*p == '\\' && !p[1])
            break;
        out[n++] = *p;
    }
    if (*p != '"')
        return ad_err_set(reterr, EINVAL, "unterminated quoted value");
    out[n] = '\0';
    *pp = p + 1;
    *ret = (struct ad_str){out, n};
    return 0;
}

static int parse_time(struct ad_str name, struct ad_str v, int64_t *ret, struct ad_err *reterr)
{
    if (ad_time_parse_rfc3339(v, ret) < 0)
        return ad_err_set(reterr, EINVAL, "%.*s: expected an RFC 3339 time (e.g. "
                          "2026-12-24T06:00:00Z), got \"%.*s\"", (int)name.len, name.p,
                          (int)(v.len > 64 ? 64 : v.len), v.p);
    return 0;
}

/* start=, end= and comment= (operator "=" only): true when it was one. */
static int take_option(struct ad_silence_spec *sp, struct ad_str name, struct ad_str v,
                       unsigned *seen, struct ad_err *reterr)
{
    static const char *const opts[] = {"start", "end", "comment"};
    unsigned k = 0;
    while (k < 3 && !ad_str_eq_c(name, opts[k]))
        k++;
    if (k == 3)
        return 0;
    if (*seen & (1u << k))
        return ad_err_set(reterr, EINVAL, "%s= given twice", opts[k]);
    *seen |= 1u << k;
    int r = 0;
    if (k == 0)
        r = parse_time(name, v, &sp->start_ns, reterr);
    else if (k == 1)
        r = parse_time(name, v, &sp->end_ns, reterr);
    else if (v.len > AD_SILENCE_MAX_TEXT)
        r = ad_err_set(reterr, EINVAL, "comment: longer than %d bytes", AD_SILENCE_MAX_TEXT);
    else
        sp->comment = v;
    return r < 0 ? r : 1;
}

int ad_silence_parse(const char *text, bool allow_options, struct ad_arena *arena,
                     struct ad_silence_spec *ret, struct ad_err *reterr)
{
    memset(ret, 0, sizeof(*ret));
    ret->start_ns = AD_SILENCE_OPEN_START;
    ret->end_ns = AD_SILENCE_OPEN_END;
    const char *p = text;
    unsigned seen = 0;
    bool brace = false;

    while (is_sep(*p))
        p++;
    if (*p == '{') {
        brace = true;
        p++;
    }
    for (;;) {
        while (is_sep(*p))
            p++;
        if (!*p || *p == '}')
            break;
        const char *b = p;
        while (is_name_char(*p))
            p++;
        struct ad_str name = {b, (size_t)(p - b)};
        if (name.len == 0)
            return ad_err_set(reterr, EINVAL, "expected a name at \"%.20s\"", p);
        if (name.len > AD_SILENCE_MAX_NAME)
            return ad_err_set(reterr, EINVAL, "name longer than %d bytes", AD_SILENCE_MAX_NAME);
        struct ad_silence_matcher_spec m = {.name = name, .is_equal = true};
        if (p[0] == '=' && p[1] == '~')
            m.is_regex = true, p += 2;
        else if (p[0] == '!' && p[1] == '~')
            m.is_regex = true, m.is_equal = false, p += 2;
        else if (p[0] == '!' && p[1] == '=')
            m.is_equal = false, p += 2;
        else if (p[0] == '=')
            p += 1;
        else
            return ad_err_set(reterr, EINVAL, "%.*s: expected =, !=, =~ or !~ after the name",
                              (int)name.len, name.p);
        int r = read_value(&p, arena, &m.value, reterr);
        if (r < 0)
            return r;
        if (m.value.len > AD_SILENCE_MAX_VALUE)
            return ad_err_set(reterr, EINVAL, "%.*s: value longer than %d bytes", (int)name.len,
                              name.p, AD_SILENCE_MAX_VALUE);
        if (m.is_equal && !m.is_regex) {
            r = take_option(ret, name, m.value, &seen, reterr);
            if (r < 0)
                return r;
            if (r > 0 && !allow_options)
                return ad_err_set(reterr, EINVAL, "%.*s= is not a matcher here (use the "
                                  "startsAt, endsAt and comment fields)", (int)name.len, name.p);
            if (r > 0)
                continue;
        }
        if (ret->n_matchers == AD_SILENCE_MAX_MATCHERS)
            return ad_err_set(reterr, EINVAL, "more than %d matchers", AD_SILENCE_MAX_MATCHERS);
        if (ad_arena_strdup(arena, name, &m.name) < 0)
            return ad_err_set(reterr, ENOMEM, "out of memory");
        ret->matchers[ret->n_matchers++] = m;
    }
    if (brace != (*p == '}'))
        return ad_err_set(reterr, EINVAL, brace ? "missing closing }" : "unexpected }");
    if (*p == '}') {
        p++;
        while (is_sep(*p))
            p++;
        if (*p)
            return ad_err_set(reterr, EINVAL, "unexpected text after }");
    }
    if (ret->n_matchers == 0)
        return ad_err_set(reterr, EINVAL, "no matchers (e.g. service=checkout check=~\"Disk.*\")");
    return 0;
}

/* --- one silence --------------------------------------------------------------------------- */

static void silence_free(struct silence *si)
{
    if (!si)
        return;
    for (size_t i = 0; i < si->n; i++) {
        free(si->m[i].name);
        free(si->m[i].value);
        if (si->m[i].is_regex)
            regfree(&si->m[i].re);
    }
    free(si->created_by);
    free(si->comment);
    free(si);
}

static char *dup_str(struct ad_str s) { return strndup(s.p ? s.p : "", s.len); }

static int compile(struct matcher *m, struct ad_err *reterr)
{
    /* Anchored at both ends, as Alertmanager does: check=~Disk matches "Disk", not "DiskFull". */
    size_t n = strlen(m->value) + 5;
    char *pat = malloc(n);
    if (!pat)
        return ad_err_set(reterr, ENOMEM, "out of memory");
    snprintf(pat, n, "^(%s)$", m->value);
    int rc = regcomp(&m->re, pat, REG_EXTENDED | REG_NOSUB);
    free(pat);
    if (rc != 0) {
        char why[128];
        regerror(rc, &m->re, why, sizeof(why));
        return ad_err_set(reterr, EINVAL, "%s: bad regex \"%.64s\": %s", m->name, m->value, why);
    }
    return 0;
}

static bool matcher_test(const struct matcher *m, struct ad_str v)
{
    bool eq;
    if (!m->is_regex) {
        eq = ad_str_eq(v, ad_str_c(m->value));
    } else {
        /* regexec wants a C string; event fields are bounded (AD_MAX_FIELD_LEN). */
        char buf[AD_MAX_FIELD_LEN + 1];
        if (v.len > AD_MAX_FIELD_LEN)
            v.len = AD_MAX_FIELD_LEN;
        if (v.len)
            memcpy(buf, v.p, v.len);
        buf[v.len] = '\0';
        eq = regexec(&m->re, buf, 0, NULL, 0) == 0;
    }
    return eq == m->is_equal;
}

static int build(const struct ad_silence_spec *sp, struct silence **ret, struct ad_err *reterr)
{
    if (sp->n_matchers == 0 || sp->n_matchers > AD_SILENCE_MAX_MATCHERS)
        return ad_err_set(reterr, EINVAL, "expected 1 to %d matchers", AD_SILENCE_MAX_MATCHERS);
    if (sp->end_ns <= sp->start_ns)
        return ad_err_set(reterr, EINVAL, "the end is not after the start");
    if (sp->created_by.len > AD_SILENCE_MAX_TEXT || sp->comment.len > AD_SILENCE_MAX_TEXT)
        return ad_err_set(reterr, EINVAL, "comment or createdBy longer than %d bytes",
                          AD_SILENCE_MAX_TEXT);
    struct silence *si = calloc(1, sizeof(*si));
    if (!si)
        return ad_err_set(reterr, ENOMEM, "out of memory");
    si->start_ns = sp->start_ns;
    si->end_ns = sp->end_ns;
    si->updated_ns = sp->updated_ns;
    si->created_by = dup_str(sp->created_by);
    si->comment = dup_str(sp->comment);
    int r = si->created_by && si->comment ? 0 : ad_err_set(reterr, ENOMEM, "out of memory");
    bool all_match_empty = true;
    for (size_t i = 0; i < sp->n_matchers && r == 0; i++) {
        const struct ad_silence_matcher_spec *ms = &sp->matchers[i];
        struct matcher *m = &si->m[i];
        if (ms->name.len == 0 || ms->name.len > AD_SILENCE_MAX_NAME ||
            ms->value.len > AD_SILENCE_MAX_VALUE) {
            r = ad_err_set(reterr, EINVAL, "matchers[%zu]: expected a name of 1 to %d bytes and "
                           "a value of at most %d", i, AD_SILENCE_MAX_NAME, AD_SILENCE_MAX_VALUE);
            break;
        }
        m->name = dup_str(ms->name);
        m->value = dup_str(ms->value);
        if (!m->name || !m->value) {
            free(m->name);
            free(m->value);
            r = ad_err_set(reterr, ENOMEM, "out of memory");
            break;
        }
        m->is_regex = ms->is_regex;
        m->is_equal = ms->is_equal;
        m->field = F_LABEL;
        for (size_t f = 0; f < N_FIELDS; f++)
            if (strcmp(m->name, field_names[f]) == 0)
                m->field = (enum field)f;
        if (m->is_regex && (r = compile(m, reterr)) < 0) {
            m->is_regex = false; /* nothing to regfree */
            si->n = i + 1;
            break;
        }
        si->n = i + 1;
        all_match_empty = all_match_empty && matcher_test(m, AD_STR_LIT(""));
    }
    if (r == 0 && all_match_empty)
        r = ad_err_set(reterr, EINVAL, "at least one matcher must not match the empty string "
                       "(this silence would match every alert)");
    if (r < 0) {
        silence_free(si);
        return r;
    }
    *ret = si;
    return 0;
}

static struct ad_str value_of(const struct ad_event *ev, const struct matcher *m)
{
    switch (m->field) {
    case F_SOURCE: return ev->source;
    case F_RESOURCE: return ev->resource;
    case F_SERVICE: return ev->service;
    case F_CHECK: return ev->check;
    case F_SEVERITY: return ad_str_c(ad_severity_name(ev->severity));
    case F_KIND: return ad_str_c(ad_kind_name(ev->kind));
    case F_LABEL: break;
    }
    return ad_event_label(ev, ad_str_c(m->name));
}

static bool silence_matches(const struct silence *si, const struct ad_event *ev)
{
    if (ev->time_ns < si->start_ns || ev->time_ns >= si->end_ns)
        return false;
    for (size_t i = 0; i < si->n; i++)
        if (!matcher_test(&si->m[i], value_of(ev, &si->m[i])))
            return false;
    return true;
}

static enum ad_silence_state state_at(const struct silence *si, int64_t now_ns)
{
    if (now_ns < si->start_ns)
        return AD_SILENCE_PENDING;
    return now_ns < si->end_ns ? AD_SILENCE_ACTIVE : AD_SILENCE_EXPIRED;
}

/* --- the set ------------------------------------------------------------------------------- */

int ad_silences_create(struct ad_silences **ret)
{
    struct ad_silences *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->v = calloc(AD_SILENCE_MAX, sizeof(*s->v));
    if (!s->v) {
        free(s);
        return -ENOMEM;
    }
    s->refs = 1;
    *ret = s;
    return 0;
}

struct ad_silences *ad_silences_ref(struct ad_silences *s)
{
    s->refs++;
    return s;
}

void ad_silences_unref(struct ad_silences *s)
{
    if (!s || --s->refs > 0)
        return;
    for (size_t i = 0; i < s->n; i++)
        silence_free(s->v[i]);
    free(s->v);
    free(s);
}

static struct silence *find(const struct ad_silences *s, const char *id, size_t *ret_idx)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->v[i]->id, id) == 0) {
            if (ret_idx)
                *ret_idx = i;
            return s->v[i];
        }
    return NULL;
}

static size_t n_config(const struct ad_silences *s)
{
    size_t n = 0;
    while (n < s->n && s->v[n]->from_config)
        n++;
    return n;
}

int ad_silences_set_config(struct ad_silences *s, const struct ad_strlist *items,
                           struct ad_err *reterr)
{
    size_t old = n_config(s), rt = s->n - old;
    if (items->n + rt > AD_SILENCE_MAX)
        return ad_err_set(reterr, ENOSPC, "models.silence.silences: more than %d silences",
                          AD_SILENCE_MAX);
    struct silence **next = calloc(items->n ? items->n : 1, sizeof(*next));
    struct ad_arena arena;
    int r = next ? 0 : ad_err_set(reterr, ENOMEM, "models.silence.silences: out of memory");
    ad_arena_init(&arena, 4096);
    size_t i = 0;
    for (; i < items->n && r == 0; i++) {
        struct ad_silence_spec sp;
        char id[AD_SILENCE_ID_SIZE];
        snprintf(id, sizeof(id), "cfg-%016" PRIx64, ad_hash64(items->v[i], strlen(items->v[i]),
                                                               0x51e9ce));
        for (size_t k = 0; k < i && r == 0; k++)
            if (strcmp(next[k]->id, id) == 0)
                r = ad_err_set(reterr, EINVAL, "models.silence.silences[%zu]: the same as [%zu]",
                               i, k);
        if (r == 0)
            r = ad_silence_parse(items->v[i], true, &arena, &sp, reterr);
        if (r == 0) {
            sp.created_by = AD_STR_LIT("config");
            r = build(&sp, &next[i], reterr);
        }
        if (r < 0) {
            char msg[sizeof(reterr->msg)];
            snprintf(msg, sizeof(msg), "%s", reterr->msg);
            ad_err_set(reterr, -r, "models.silence.silences[%zu]: %s", i, msg);
            break;
        }
        memcpy(next[i]->id, id, sizeof(id));
        next[i]->from_config = true;
        ad_arena_reset(&arena);
    }
    ad_arena_fini(&arena);
    if (r < 0) {
        for (size_t k = 0; next && k < items->n; k++)
            silence_free(next[k]);
        free(next);
        return r;
    }
    /* Swap: an item whose text did not change keeps its match count. */
    for (size_t k = 0; k < items->n; k++) {
        struct silence *prev = find(s, next[k]->id, NULL);
        if (prev && prev->from_config)
            next[k]->matched = prev->matched;
    }
    for (size_t k = 0; k < old; k++)
        silence_free(s->v[k]);
    memmove(&s->v[items->n], &s->v[old], rt * sizeof(*s->v));
    memcpy(s->v, next, items->n * sizeof(*next));
    s->n = items->n + rt;
    s->generation++;
    free(next);
    return 0;
}

static void make_uuid(const struct ad_silences *s, const struct silence *si, int64_t now_ns,
                      char *out)
{
    uint64_t h = ad_hash64(&now_ns, sizeof(now_ns), s->generation);
    for (size_t i = 0; i < si->n; i++) {
        h = ad_hash_field(h, ad_str_c(si->m[i].name));
        h = ad_hash_field(h, ad_str_c(si->m[i].value));
    }
    uint64_t h2 = ad_hash64(&h, sizeof(h), s->n);
    /* Version 4 layout, so tools that validate UUIDs accept it. */
    snprintf(out, AD_SILENCE_ID_SIZE, "%08" PRIx32 "-%04" PRIx32 "-4%03" PRIx32 "-%04" PRIx32
             "-%012" PRIx64, (uint32_t)(h >> 32), (uint32_t)(h >> 16) & 0xffff,
             (uint32_t)h & 0xfff, (uint32_t)(0x8000 | ((h2 >> 48) & 0x3fff)),
             h2 & UINT64_C(0xffffffffffff));
}

int ad_silences_add(struct ad_silences *s, const struct ad_silence_spec *spec, int64_t now_ns,
                    char *ret_id, struct ad_err *reterr)
{
    if (s->n == AD_SILENCE_MAX)
        return ad_err_set(reterr, ENOSPC, "%d silences already (expire some)", AD_SILENCE_MAX);
    if (spec->id.len >= AD_SILENCE_ID_SIZE)
        return ad_err_set(reterr, EINVAL, "id longer than %d bytes", AD_SILENCE_ID_SIZE - 1);
    struct ad_silence_spec sp = *spec;
    if (sp.start_ns == AD_SILENCE_OPEN_START)
        sp.start_ns = now_ns;
    if (sp.updated_ns == 0)
        sp.updated_ns = now_ns;
    struct silence *si;
    int r = build(&sp, &si, reterr);
    if (r < 0)
        return r;
    if (spec->id.len) {
        memcpy(si->id, spec->id.p, spec->id.len);
        if (find(s, si->id, NULL)) {
            silence_free(si);
            return ad_err_set(reterr, EEXIST, "silence %s exists already", si->id);
        }
    } else {
        do
            make_uuid(s, si, now_ns++, si->id);
        while (find(s, si->id, NULL));
    }
    s->v[s->n++] = si;
    s->generation++;
    if (ret_id)
        memcpy(ret_id, si->id, AD_SILENCE_ID_SIZE);
    return 0;
}

int ad_silences_check_expire(const struct ad_silences *s, const char *id)
{
    const struct silence *si = find(s, id, NULL);
    return !si ? -ENOENT : si->from_config ? -EPERM : 0;
}

int ad_silences_expire(struct ad_silences *s, const char *id, int64_t now_ns)
{
    int r = ad_silences_check_expire(s, id);
    if (r < 0)
        return r;
    struct silence *si = find(s, id, NULL);
    if (si->end_ns <= now_ns)
        return 0;
    if (si->start_ns > now_ns)
        si->start_ns = now_ns;
    si->end_ns = now_ns;
    si->updated_ns = now_ns;
    s->generation++;
    return 0;
}

int ad_silences_get_times(const struct ad_silences *s, const char *id,
                          struct ad_silence_times *ret)
{
    const struct silence *si = find(s, id, NULL);
    if (!si)
        return -ENOENT;
    *ret = (struct ad_silence_times){si->start_ns, si->end_ns, si->updated_ns};
    return 0;
}

int ad_silences_set_times(struct ad_silences *s, const char *id, const struct ad_silence_times *t)
{
    int r = ad_silences_check_expire(s, id);
    if (r < 0)
        return r;
    struct silence *si = find(s, id, NULL);
    si->start_ns = t->start_ns;
    si->end_ns = t->end_ns;
    si->updated_ns = t->updated_ns;
    s->generation++;
    return 0;
}

int ad_silences_remove(struct ad_silences *s, const char *id)
{
    size_t i = 0;
    int r = ad_silences_check_expire(s, id);
    if (r < 0)
        return r;
    struct silence *si = find(s, id, &i);
    silence_free(si);
    memmove(&s->v[i], &s->v[i + 1], (s->n - i - 1) * sizeof(*s->v));
    s->n--;
    s->generation++;
    return 0;
}

size_t ad_silences_gc(struct ad_silences *s, int64_t now_ns, int64_t retention_ns)
{
    size_t kept = 0, dropped = 0;
    for (size_t i = 0; i < s->n; i++) {
        struct silence *si = s->v[i];
        if (!si->from_config && si->end_ns <= now_ns - retention_ns) {
            silence_free(si);
            dropped++;
        } else {
            s->v[kept++] = si;
        }
    }
    s->n = kept;
    if (dropped)
        s->generation++;
    return dropped;
}

bool ad_silences_match(struct ad_silences *s, const struct ad_event *ev)
{
    if (ev->kind != AD_KIND_ALERT)
        return false;
    bool any = false;
    for (size_t i = 0; i < s->n; i++)
        if (silence_matches(s->v[i], ev)) {
            s->v[i]->matched++;
            any = true;
        }
    return any;
}

uint64_t ad_silences_generation(const struct ad_silences *s) { return s->generation; }

void ad_silences_save_counts(const struct ad_silences *s, struct ad_wr *w)
{
    ad_wr_u32(w, (uint32_t)s->n);
    for (size_t i = 0; i < s->n; i++) {
        ad_wr_cstr(w, s->v[i]->id);
        ad_wr_u64(w, s->v[i]->matched);
    }
}

int ad_silences_load_counts(struct ad_silences *s, struct ad_rd *r, struct ad_err *reterr)
{
    uint32_t n = ad_rd_u32(r);
    if (r->bad || n > AD_SILENCE_MAX)
        return ad_err_set(reterr, EINVAL, "silences: corrupt match counts");
    for (uint32_t k = 0; k < n; k++) {
        char *id = ad_rd_strdup(r, AD_SILENCE_ID_SIZE);
        uint64_t matched = ad_rd_u64(r);
        if (r->bad || !id) {
            free(id);
            return ad_err_set(reterr, EINVAL, "silences: corrupt match count %u", k);
        }
        for (size_t i = 0; i < s->n; i++)
            if (strcmp(s->v[i]->id, id) == 0)
                s->v[i]->matched = matched;
        free(id);
    }
    return 0;
}

size_t ad_silences_count(const struct ad_silences *s, enum ad_silence_state st, int64_t now_ns)
{
    size_t n = 0;
    for (size_t i = 0; i < s->n; i++)
        n += state_at(s->v[i], now_ns) == st;
    return n;
}

static void time_or_null(struct ad_jsonw *w, const char *key, int64_t ns, bool open)
{
    char t[40];
    ad_jsonw_key(w, key);
    if (open)
        ad_jsonw_null(w);
    else
        ad_jsonw_cstr(w, ad_time_format_rfc3339(ns, t, sizeof(t)));
}

static void write_one(struct ad_jsonw *w, const struct silence *si, int64_t now_ns)
{
    ad_jsonw_obj_begin(w);
    ad_jsonw_key(w, "id");
    ad_jsonw_cstr(w, si->id);
    ad_jsonw_key(w, "status");
    ad_jsonw_obj_begin(w);
    ad_jsonw_key(w, "state");
    ad_jsonw_cstr(w, ad_silence_state_name(state_at(si, now_ns)));
    ad_jsonw_obj_end(w);
    ad_jsonw_key(w, "matchers");
    ad_jsonw_arr_begin(w);
    for (size_t i = 0; i < si->n; i++) {
        ad_jsonw_obj_begin(w);
        ad_jsonw_key(w, "name");
        ad_jsonw_cstr(w, si->m[i].name);
        ad_jsonw_key(w, "value");
        ad_jsonw_cstr(w, si->m[i].value);
        ad_jsonw_key(w, "isRegex");
        ad_jsonw_bool(w, si->m[i].is_regex);
        ad_jsonw_key(w, "isEqual");
        ad_jsonw_bool(w, si->m[i].is_equal);
        ad_jsonw_obj_end(w);
    }
    ad_jsonw_arr_end(w);
    time_or_null(w, "startsAt", si->start_ns, si->start_ns == AD_SILENCE_OPEN_START);
    time_or_null(w, "endsAt", si->end_ns, si->end_ns == AD_SILENCE_OPEN_END);
    time_or_null(w, "updatedAt", si->updated_ns, si->updated_ns == 0);
    ad_jsonw_key(w, "createdBy");
    ad_jsonw_cstr(w, si->created_by);
    ad_jsonw_key(w, "comment");
    ad_jsonw_cstr(w, si->comment);
    ad_jsonw_key(w, "origin");
    ad_jsonw_cstr(w, si->from_config ? "config" : "api");
    ad_jsonw_key(w, "matched");
    ad_jsonw_uint(w, si->matched);
    ad_jsonw_obj_end(w);
}

int ad_silences_to_json(const struct ad_silences *s, const char *id, bool runtime_only,
                        int64_t now_ns, struct ad_buf *out)
{
    struct ad_jsonw w;
    ad_jsonw_init(&w, out);
    if (id) {
        const struct silence *si = find(s, id, NULL);
        if (!si)
            return -ENOENT;
        write_one(&w, si, now_ns);
    } else {
        ad_jsonw_arr_begin(&w);
        for (size_t i = 0; i < s->n; i++)
            if (!runtime_only || !s->v[i]->from_config)
                write_one(&w, s->v[i], now_ns);
        ad_jsonw_arr_end(&w);
    }
    return ad_jsonw_finish(&w) < 0 ? -ENOMEM : 0;
}

/* --- model ops ------------------------------------------------------------------------------ */

struct model {
    struct ad_silences *set; /* own, or the daemon's shared set (ad_silence_attach) */
    bool shared;
    uint64_t silenced;       /* alert events this instance marked */
};

void ad_silence_attach(void *model_state, struct ad_silences *s)
{
    struct model *m = model_state;
    ad_silences_unref(m->set);
    m->set = ad_silences_ref(s);
    m->shared = true;
}

struct ad_silences *ad_silence_set_of(void *model_state)
{
    return ((struct model *)model_state)->set;
}

static const struct ad_opt silence_opts[] = {
    AD_OPT_STRLIST("silences", "", struct ad_silence_cfg, silences,
                   "Silences and maintenance windows: \"matchers [start=RFC3339] [end=RFC3339] "
                   "[comment=TEXT]\", e.g. \"service=checkout check=~Disk.* "
                   "end=2026-12-24T06:00:00Z\" (docs/silences.md)."),
    AD_OPT_STRING_R("file", "", "4096", struct ad_silence_cfg, file,
                    "Run-time silences (POST /api/v1/silences) are persisted in this JSON file, "
                    "e.g. /var/lib/aiopsd/silences.json; empty: kept in memory only."),
    AD_OPT_DURATION("retention", "5d", "0s", "90d", struct ad_silence_cfg, retention_ns,
                    "Expired run-time silences stay listed this long, then are dropped."),
    AD_OPT_END,
};

static void op_destroy(void *state)
{
    struct model *m = state;
    if (!m)
        return;
    ad_silences_unref(m->set);
    free(m);
}

static int op_create(const void *cfg, void **ret, struct ad_err *reterr)
{
    const struct ad_silence_cfg *c = cfg;
    struct model *m = calloc(1, sizeof(*m));
    if (!m || ad_silences_create(&m->set) < 0) {
        free(m);
        return ad_err_set(reterr, ENOMEM, "models.silence: out of memory");
    }
    int r = ad_silences_set_config(m->set, &c->silences, reterr);
    if (r < 0) {
        op_destroy(m);
        return r;
    }
    *ret = m;
    return 0;
}

static int op_reconfigure(void *state, const void *cfg, struct ad_err *reterr)
{
    struct model *m = state;
    const struct ad_silence_cfg *c = cfg;
    /* A shared set belongs to the daemon, which reloads it once for every pipeline. */
    return m->shared ? 0 : ad_silences_set_config(m->set, &c->silences, reterr);
}

static int op_observe(void *state, struct ad_event *ev)
{
    struct model *m = state;
    if (ad_silences_match(m->set, ev)) {
        ev->flags |= AD_EVF_SILENCED;
        m->silenced++;
    }
    return 0;
}

static void op_stats(const void *state, struct ad_metrics *mt)
{
    const struct model *m = state;
    ad_metrics_counter(mt, "aiopsd_silence_matched_events_total",
                       "Alert events an active silence matched (marked silenced).", NULL,
                       m->silenced);
}

/* No save/load: silences are not part of a partition snapshot; they come from the config and
 * the daemon's silences file, and are the same for every pipeline. */
const struct ad_model_ops ad_model_silence = {
    .name = "silence",
    .doc = "Silences and maintenance windows: matching alerts are counted but open no incident.",
    .opts = silence_opts,
    .cfg_size = sizeof(struct ad_silence_cfg),
    .create = op_create,
    .reconfigure = op_reconfigure,
    .observe = op_observe,
    .stats = op_stats,
    .destroy = op_destroy,
};

/* --- JSON documents (common/json_silence.h) to specs ------------------------------------ */

static int json_time(struct ad_str s, const char *what, int64_t *ret, struct ad_err *reterr)
{
    return s.p ? parse_time((struct ad_str){what, strlen(what)}, s, ret, reterr) : 0;
}

/* One silence object (POST body or file element) to a spec; strings stay in the arena. */
int ad_silence_spec_from_json(const struct ad_jsil *j, struct ad_arena *arena,
                              struct ad_silence_spec *sp, struct ad_err *reterr)
{
    int r;
    if (j->matchers_text.p) {
        r = ad_silence_parse(j->matchers_text.p, false, arena, sp, reterr);
        if (r < 0) {
            char msg[sizeof(reterr->msg)];
            snprintf(msg, sizeof(msg), "%s", reterr->msg);
            return ad_err_set(reterr, -r, "matchers: %s", msg);
        }
    } else {
        memset(sp, 0, sizeof(*sp));
        sp->start_ns = AD_SILENCE_OPEN_START;
        sp->end_ns = AD_SILENCE_OPEN_END;
        for (size_t i = 0; i < j->n_matchers; i++)
            sp->matchers[i] = (struct ad_silence_matcher_spec){
                j->matchers[i].name, j->matchers[i].value, j->matchers[i].is_regex,
                j->matchers[i].is_equal};
        sp->n_matchers = j->n_matchers;
    }
    if ((r = json_time(j->starts_at, "startsAt", &sp->start_ns, reterr)) < 0 ||
        (r = json_time(j->ends_at, "endsAt", &sp->end_ns, reterr)) < 0 ||
        (r = json_time(j->updated_at, "updatedAt", &sp->updated_ns, reterr)) < 0)
        return r;
    sp->id = j->id.p ? j->id : AD_STR_NULL;
    sp->created_by = j->created_by.p ? j->created_by : AD_STR_NULL;
    sp->comment = j->comment.p ? j->comment : AD_STR_NULL;
    return 0;
}
