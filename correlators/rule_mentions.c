/* correlators/rule_mentions.c: the mentions rule (docs/topology.md, "mentions"). Alerts name
 * what they failed to reach: "upstream db-3:5432 timed out", "cannot resolve via dns-1",
 * "read from 10.3.0.7:5432 failed". The CIs of live candidates are indexed under their names
 * and the host forms they appear in (the resource, the host of an instance/host/ip/address
 * label); a new alert whose summary (annotations) or label values name one joins that
 * candidate, the named CI being the cause side. An alert on a CI that a live candidate's
 * alerts named joins it too (the cause seen after its symptom), and so does another alert on a
 * CI the candidate holds. Extraction is one pass over the text per event: words split on
 * separators, a scheme, path and port cut off, a domain's first label tried too, each looked
 * up in a hash index: no pattern per candidate. Bounded: MAX_TOKENS words per event; per
 * candidate, MAX_PER_MEMBER names, mentions and namers per tracked member (max_members). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/event.h"
#include "common/hash.h"
#include "common/ser.h"
#include "correlators/engine.h"

#define MAX_TOKENS 32   /* names looked up per event */
#define MAX_TOKEN_LEN 128
#define MAX_SELF 4      /* the alert's own name forms */
#define MAX_PER_MEMBER 2 /* names, mentions and namers kept per candidate: this x max_members */
#define ROOT_MEMBERS 256 /* members weighed for the root cause (the first ones) */
#define ROOT_MENT 512    /* mentions weighed for the root cause (the first ones) */

struct mkey {
    uint64_t key;
    uint32_t member;    /* the member whose CI has this name */
};
struct ment {
    uint64_t key;
    uint32_t count;     /* member alerts that named it */
};
struct mslot {
    struct mkey *keys;   /* own names indexed (each once) */
    struct ment *ment;   /* names mentioned, with how many alerts named each */
    uint32_t *namers;    /* members that named something (for the root cause) */
    uint32_t n_keys, n_ment, n_namers;
    uint32_t cap_keys, cap_ment, cap_namers;
};

static void mslot_free(struct mslot *ms)
{
    if (!ms)
        return;
    free(ms->keys);
    free(ms->ment);
    free(ms->namers);
    free(ms);
}

/* Room for one more of an array of n (capacity *cap) bounded by limit; false when full or out of
 * memory. */
static bool room(void **v, uint32_t n, uint32_t *cap, uint32_t limit, size_t elem)
{
    if (n >= limit)
        return false;
    if (n < *cap)
        return true;
    uint32_t c = *cap ? *cap * 2 : 8;
    if (c > limit)
        c = limit;
    void *p = realloc(*v, (size_t)c * elem);
    if (!p)
        return false;
    *v = p;
    *cap = c;
    return true;
}

#define ROOM(s, ms, arr, n, cap)                                                                  \
    room((void **)&(ms)->arr, (ms)->n, &(ms)->cap, limit_of(s), sizeof(*(ms)->arr))

/* The words of one event. */
struct tok {
    uint64_t key;
    const char *p;      /* the word as written (for the reason) */
    uint16_t len;
};
struct words {
    uint64_t self[MAX_SELF];
    uint32_t n_self;
    struct tok t[MAX_TOKENS];
    uint32_t n;
};

struct ment_state {
    struct ad_u64map by_name;    /* a CI name or address -> slot holding that CI */
    struct ad_u64map by_mention; /* a name some member alert mentioned -> its slot */
    void **ms;                   /* struct mslot by slot, allocated on first use */
    uint32_t cap;
    /* the words of the last event (match then joined see the same event) */
    const struct ad_event *last_ev;
    uint64_t last_fp;
    int64_t last_time;
    struct words w;
};

static uint32_t limit_of(const struct ad_svcwin *s)
{
    uint64_t l = s->cfg.max_members * MAX_PER_MEMBER;
    return l > UINT32_MAX / 2 ? UINT32_MAX / 2 : (uint32_t)l;
}

static int ment_create(const struct ad_svcwin *s, void **ret)
{
    (void)s;
    struct ment_state *m = calloc(1, sizeof(*m));
    if (!m)
        return -ENOMEM;
    if (ad_u64map_init(&m->by_name, 1024) < 0 || ad_u64map_init(&m->by_mention, 1024) < 0) {
        ad_u64map_fini(&m->by_name);
        free(m);
        return -ENOMEM;
    }
    *ret = m;
    return 0;
}

static void ment_destroy(void *state)
{
    struct ment_state *m = state;
    if (!m)
        return;
    for (uint32_t i = 0; i < m->cap; i++)
        mslot_free(m->ms[i]);
    free(m->ms);
    ad_u64map_fini(&m->by_name);
    ad_u64map_fini(&m->by_mention);
    free(m);
}

static struct mslot *mslot_of(struct ment_state *m, uint32_t idx, bool create)
{
    if (idx >= m->cap && (!create || !ad_sw_cover(&m->ms, &m->cap, idx)))
        return NULL;
    if (!m->ms[idx] && create)
        m->ms[idx] = calloc(1, sizeof(struct mslot));
    return m->ms[idx];
}

/* --- extraction ---------------------------------------------------------------------------- */

static bool word_char(unsigned char c)
{
    return isalnum(c) || c == '.' || c == '-' || c == '_' || c == ':' || c == '/' || c == '@';
}

static uint64_t name_key(const char *p, size_t n)
{
    char low[MAX_TOKEN_LEN];
    for (size_t i = 0; i < n; i++)
        low[i] = (char)tolower((unsigned char)p[i]);
    return ad_u64map_key(ad_hash64(low, n, 0x3e47));
}

static bool all_digits(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)p[i]))
            return false;
    return n > 0;
}

/* The host forms of a word: "http://user@db-3.prod:5432/x" gives "db-3.prod" and "db-3"; an
 * address stays whole. Returns how many (0..2) were written to key[]. */
static int host_forms(const char *p, size_t n, uint64_t key[2])
{
    const char *e = p + n;
    for (const char *q = p; q + 2 < e; q++)
        if (q[0] == ':' && q[1] == '/' && q[2] == '/') { /* scheme */
            p = q + 3;
            break;
        }
    for (const char *q = p; q < e; q++)
        if (*q == '@') /* user@ */
            p = q + 1;
    for (const char *q = p; q < e; q++)
        if (*q == '/') { /* path */
            e = q;
            break;
        }
    while (e > p && (e[-1] == '.' || e[-1] == ':')) /* "dial tcp db-3:5432: refused" */
        e--;
    const char *colon = NULL;
    for (const char *q = p; q < e; q++)
        if (*q == ':')
            colon = q;
    if (colon && all_digits(colon + 1, (size_t)(e - colon - 1)))
        e = colon; /* port */
    while (e > p && (e[-1] == '.' || e[-1] == ':' || e[-1] == '-'))
        e--;
    size_t len = (size_t)(e - p);
    if (len < 2 || len >= MAX_TOKEN_LEN || colon == p)
        return 0;
    /* Host-like only: a digit, '-' or '.' in it, not a plain number ("db-3", "10.0.0.7",
     * "api.internal"); plain words ("timeout", "upstream") name no CI here. */
    bool hostlike = false;
    for (size_t i = 0; i < len && !hostlike; i++)
        hostlike = isdigit((unsigned char)p[i]) || p[i] == '-' || p[i] == '.';
    if (!hostlike || all_digits(p, len))
        return 0;
    int k = 0;
    key[k++] = name_key(p, len);
    const char *dot = memchr(p, '.', len);
    bool address = true;
    for (size_t i = 0; i < len; i++)
        address = address && (isdigit((unsigned char)p[i]) || p[i] == '.');
    if (dot && !address && dot - p >= 2)
        key[k++] = name_key(p, (size_t)(dot - p)); /* the first label of a domain name */
    return k;
}

static bool is_self(const struct words *w, uint64_t key)
{
    for (uint32_t i = 0; i < w->n_self; i++)
        if (w->self[i] == key)
            return true;
    return false;
}

static void add_self(struct words *w, struct ad_str v)
{
    uint64_t k[2];
    int n = v.len ? host_forms(v.p, v.len, k) : 0;
    for (int i = 0; i < n && w->n_self < MAX_SELF; i++)
        if (!is_self(w, k[i]))
            w->self[w->n_self++] = k[i];
}

static bool self_label(struct ad_str name)
{
    return ad_str_eq_c(name, "instance") || ad_str_eq_c(name, "host") ||
           ad_str_eq_c(name, "ip") || ad_str_eq_c(name, "address") ||
           ad_str_eq_c(name, "hostname");
}

/* The names a text mentions, in order, each once, not the alert's own. */
static void scan(struct words *w, struct ad_str text)
{
    const char *p = text.p, *e = text.p + text.len;
    while (p < e && w->n < MAX_TOKENS) {
        while (p < e && !word_char((unsigned char)*p))
            p++;
        const char *s = p;
        while (p < e && word_char((unsigned char)*p))
            p++;
        if (p == s)
            break;
        uint64_t k[2];
        int n = host_forms(s, (size_t)(p - s), k);
        for (int i = 0; i < n && w->n < MAX_TOKENS; i++) {
            bool dup = is_self(w, k[i]);
            for (uint32_t j = 0; j < w->n && !dup; j++)
                dup = w->t[j].key == k[i];
            if (!dup)
                w->t[w->n++] = (struct tok){k[i], s, (uint16_t)(p - s > 100 ? 100 : p - s)};
        }
    }
}

static const struct words *words_of(struct ment_state *m, const struct ad_event *ev)
{
    if (m->last_ev == ev && m->last_fp == ev->fingerprint && m->last_time == ev->time_ns)
        return &m->w;
    struct words *w = &m->w;
    w->n = w->n_self = 0;
    add_self(w, ev->resource);
    for (unsigned i = 0; i < ev->n_labels; i++)
        if (self_label(ev->labels[i].name))
            add_self(w, ev->labels[i].value);
    scan(w, ev->summary);
    for (unsigned i = 0; i < ev->n_labels; i++)
        if (!self_label(ev->labels[i].name))
            scan(w, ev->labels[i].value);
    m->last_ev = ev;
    m->last_fp = ev->fingerprint;
    m->last_time = ev->time_ns;
    return w;
}

/* --- the rule ------------------------------------------------------------------------------ */

static uint32_t ment_match(struct ad_svcwin *s, void *state, const struct ad_event *ev, char *why,
                           size_t n)
{
    struct ment_state *m = state;
    const struct words *w = words_of(m, ev);
    int rl = (int)(ev->resource.len > 100 ? 100 : ev->resource.len);
    uint32_t idx;
    /* The alert names a CI of a live candidate: that CI is the cause side. */
    for (uint32_t i = 0; i < w->n; i++)
        if (ad_u64map_get(&m->by_name, w->t[i].key, &idx) && ad_sw_live(s, idx, ev->time_ns)) {
            snprintf(why, n, "'%.*s' names '%.*s', a CI of the incident", rl, ev->resource.p,
                     (int)w->t[i].len, w->t[i].p);
            return idx;
        }
    /* A live candidate's alerts named this CI: the cause, seen after its symptom. */
    for (uint32_t i = 0; i < w->n_self; i++)
        if (ad_u64map_get(&m->by_mention, w->self[i], &idx) && ad_sw_live(s, idx, ev->time_ns)) {
            snprintf(why, n, "'%.*s' is named by an alert of the incident", rl, ev->resource.p);
            return idx;
        }
    /* Another alert on a CI the candidate holds. */
    if (w->n_self && ad_u64map_get(&m->by_name, w->self[0], &idx) &&
        ad_sw_live(s, idx, ev->time_ns)) {
        snprintf(why, n, "same CI '%.*s'", rl, ev->resource.p);
        return idx;
    }
    return AD_SW_NIL;
}

/* Counts a name the member mentioned; false past the bound (then it is not indexed either, so
 * that nothing points at the slot once it is forgotten). */
static bool note_mention(const struct ad_svcwin *s, struct mslot *ms, uint64_t key, uint32_t count)
{
    for (uint32_t i = 0; i < ms->n_ment; i++)
        if (ms->ment[i].key == key) {
            ms->ment[i].count += count;
            return true;
        }
    if (!ROOM(s, ms, ment, n_ment, cap_ment))
        return false;
    ms->ment[ms->n_ment++] = (struct ment){key, count};
    return true;
}

/* Records one of the candidate's own names; false past the bound. */
static bool note_key(const struct ad_svcwin *s, struct mslot *ms, uint64_t key, uint32_t member)
{
    if (!ROOM(s, ms, keys, n_keys, cap_keys))
        return false;
    ms->keys[ms->n_keys++] = (struct mkey){key, member};
    return true;
}

static void note_namer(const struct ad_svcwin *s, struct mslot *ms, uint32_t member)
{
    if (ROOM(s, ms, namers, n_namers, cap_namers))
        ms->namers[ms->n_namers++] = member;
}

static void ment_joined(struct ad_svcwin *s, void *state, uint32_t idx, const struct ad_event *ev,
                        uint32_t member)
{
    struct ment_state *m = state;
    const struct words *w = words_of(m, ev);
    struct mslot *ms = mslot_of(m, idx, true);
    if (!ms) {
        s->st.oom++;
        return;
    }
    uint32_t v;
    for (uint32_t i = 0; i < w->n_self; i++) {
        /* recorded once per candidate (the index points here exactly when it is) */
        bool known = ad_u64map_get(&m->by_name, w->self[i], &v) && v == idx;
        if (!known)
            known = note_key(s, ms, w->self[i], member);
        /* past the bound only the resource is indexed (forget finds it from the member) */
        if ((known || i == 0) && ad_u64map_put(&m->by_name, w->self[i], idx) < 0)
            s->st.oom++;
    }
    for (uint32_t i = 0; i < w->n; i++)
        if (note_mention(s, ms, w->t[i].key, 1) &&
            ad_u64map_put(&m->by_mention, w->t[i].key, idx) < 0)
            s->st.oom++;
    /* a namer (for the root cause) names a CI some live candidate holds */
    for (uint32_t i = 0; i < w->n; i++)
        if (ad_u64map_get(&m->by_name, w->t[i].key, &v) && ad_sw_live(s, v, ev->time_ns)) {
            note_namer(s, ms, member);
            break;
        }
}

/* After ev joined idx: a live candidate whose alerts named ev's CI (the symptoms of a cause that
 * is only now seen, opened apart because it was not failing yet) is the same incident. */
static uint32_t ment_merge_with(struct ad_svcwin *s, void *state, const struct ad_event *ev,
                                uint32_t idx)
{
    struct ment_state *m = state;
    const struct words *w = words_of(m, ev);
    uint32_t other;
    for (uint32_t i = 0; i < w->n_self; i++)
        if (ad_u64map_get(&m->by_mention, w->self[i], &other) && other != idx &&
            ad_sw_live(s, other, ev->time_ns))
            return other;
    return AD_SW_NIL;
}

/* Moves what candidate from indexed to into (members renumbered after base). */
static void ment_merged(struct ad_svcwin *s, void *state, uint32_t from, uint32_t into,
                        uint32_t base)
{
    struct ment_state *m = state;
    struct mslot *f = mslot_of(m, from, false), *t = f ? mslot_of(m, into, true) : NULL;
    if (!f)
        return;
    uint32_t v;
    for (uint32_t i = 0; i < f->n_keys; i++) {
        bool kept = t && note_key(s, t, f->keys[i].key, f->keys[i].member + base);
        if (ad_u64map_get(&m->by_name, f->keys[i].key, &v) && v == from &&
            (!kept || ad_u64map_put(&m->by_name, f->keys[i].key, into) < 0))
            ad_u64map_del(&m->by_name, f->keys[i].key);
    }
    for (uint32_t i = 0; i < f->n_ment; i++) {
        bool kept = t && note_mention(s, t, f->ment[i].key, f->ment[i].count);
        if (ad_u64map_get(&m->by_mention, f->ment[i].key, &v) && v == from &&
            (!kept || ad_u64map_put(&m->by_mention, f->ment[i].key, into) < 0))
            ad_u64map_del(&m->by_mention, f->ment[i].key);
    }
    for (uint32_t i = 0; t && i < f->n_namers; i++)
        note_namer(s, t, f->namers[i] + base);
    /* the members' own names past the bound (indexed by resource only) */
    const struct ad_candidate *c = &s->slots[from].c;
    for (uint32_t i = 0; i < c->n_members; i++) {
        uint64_t k[2];
        if (host_forms(c->members[i].resource, strlen(c->members[i].resource), k) &&
            ad_u64map_get(&m->by_name, k[0], &v) && v == from &&
            ad_u64map_put(&m->by_name, k[0], into) < 0)
            ad_u64map_del(&m->by_name, k[0]);
    }
    mslot_free(f);
    m->ms[from] = NULL;
}

static uint64_t member_name_key(const struct ad_cand_member *mb)
{
    uint64_t k[2];
    return host_forms(mb->resource, strlen(mb->resource), k) ? k[0] : 0;
}

static void del_if(struct ad_u64map *map, uint64_t key, uint32_t idx)
{
    uint32_t v;
    if (ad_u64map_get(map, key, &v) && v == idx)
        ad_u64map_del(map, key);
}

static void ment_forgot(struct ad_svcwin *s, void *state, uint32_t idx)
{
    struct ment_state *m = state;
    ad_sw_unindex_members(s, &m->by_name, idx, member_name_key);
    struct mslot *ms = mslot_of(m, idx, false);
    if (!ms)
        return;
    for (uint32_t i = 0; i < ms->n_keys; i++)
        del_if(&m->by_name, ms->keys[i].key, idx);
    for (uint32_t i = 0; i < ms->n_ment; i++)
        del_if(&m->by_mention, ms->ment[i].key, idx);
    mslot_free(ms);
    m->ms[idx] = NULL;
}

/* The member the others name (docs/topology.md, "Root cause"): of the members named by other
 * alerts, one that names nothing itself (the end of the chain), the most named, the earliest.
 * False when no member is named. */
bool ad_sw_mentions_root(const struct ad_svcwin *s, uint32_t idx, uint32_t *ret_member)
{
    struct ment_state *m = s->rstate[AD_SW_MENTIONS];
    const struct mslot *ms = mslot_of(m, idx, false);
    if (!ms || ms->n_ment == 0)
        return false;
    const struct ad_candidate *c = &s->slots[idx].c;
    /* The mentions in a small open-addressing table (the first ROOT_MENT of them), the namers
     * among the first ROOT_MEMBERS members as bits: linear in the candidate's size. */
    struct ment tab[2 * ROOT_MENT];
    uint32_t nm = ms->n_ment < ROOT_MENT ? ms->n_ment : ROOT_MENT, size = 16;
    while (size < 2 * nm)
        size *= 2;
    memset(tab, 0, size * sizeof(tab[0]));
    for (uint32_t j = 0; j < nm; j++) {
        uint32_t h = (uint32_t)ms->ment[j].key & (size - 1);
        while (tab[h].key)
            h = (h + 1) & (size - 1);
        tab[h] = ms->ment[j];
    }
    uint64_t namer[ROOT_MEMBERS / 64] = {0};
    for (uint32_t j = 0; j < ms->n_namers; j++)
        if (ms->namers[j] < ROOT_MEMBERS)
            namer[ms->namers[j] / 64] |= 1ull << (ms->namers[j] % 64);
    uint32_t best = AD_SW_NIL, best_n = 0;
    bool best_sink = false;
    for (uint32_t k = 0; k < ms->n_keys; k++) {
        uint32_t mb = ms->keys[k].member, named = 0;
        if (mb >= c->n_members || mb >= ROOT_MEMBERS)
            continue;
        for (uint32_t h = (uint32_t)ms->keys[k].key & (size - 1); tab[h].key;
             h = (h + 1) & (size - 1))
            if (tab[h].key == ms->keys[k].key) {
                named = tab[h].count;
                break;
            }
        if (named == 0)
            continue;
        bool sink = !(namer[mb / 64] >> (mb % 64) & 1);
        if (best == AD_SW_NIL || (sink && !best_sink) ||
            (sink == best_sink && (named > best_n ||
                                   (named == best_n && c->members[mb].first_seen_ns <
                                                           c->members[best].first_seen_ns)))) {
            best = mb;
            best_n = named;
            best_sink = sink;
        }
    }
    if (best == AD_SW_NIL)
        return false;
    *ret_member = best;
    return true;
}

static void ment_stats(const struct ad_svcwin *s, const void *state, struct ad_svcwin_stats *st)
{
    (void)s;
    const struct ment_state *m = state;
    st->bytes += ad_u64map_bytes(&m->by_name) + ad_u64map_bytes(&m->by_mention) +
                 (size_t)m->cap * sizeof(*m->ms);
}

static void ment_save(const struct ad_svcwin *s, const void *state, struct ad_wr *w)
{
    (void)s;
    const struct ment_state *m = state;
    ad_sw_save_map(w, &m->by_name);
    ad_sw_save_map(w, &m->by_mention);
}

static int ment_load(struct ad_svcwin *s, void *state, struct ad_rd *r, uint32_t version)
{
    struct ment_state *m = state;
    if (version < 9)
        return 0;
    int rc = ad_sw_load_map(s, r, &m->by_name);
    return rc < 0 ? rc : ad_sw_load_map(s, r, &m->by_mention);
}

static void ment_save_slot(const void *state, uint32_t idx, struct ad_wr *w)
{
    const struct ment_state *m = state;
    const struct mslot *ms = idx < m->cap ? (const struct mslot *)m->ms[idx] : NULL;
    ad_wr_u32(w, ms ? ms->n_keys : 0);
    for (uint32_t i = 0; ms && i < ms->n_keys; i++) {
        ad_wr_u64(w, ms->keys[i].key);
        ad_wr_u32(w, ms->keys[i].member);
    }
    ad_wr_u32(w, ms ? ms->n_ment : 0);
    for (uint32_t i = 0; ms && i < ms->n_ment; i++) {
        ad_wr_u64(w, ms->ment[i].key);
        ad_wr_u32(w, ms->ment[i].count);
    }
    ad_wr_u32(w, ms ? ms->n_namers : 0);
    for (uint32_t i = 0; ms && i < ms->n_namers; i++)
        ad_wr_u32(w, ms->namers[i]);
}

static int ment_load_slot(void *state, uint32_t idx, struct ad_rd *r, uint32_t version)
{
    struct ment_state *m = state;
    if (version < 9)
        return 0;
    struct mslot *ms = NULL;
    uint32_t n = ad_rd_u32(r);
    if (r->bad || n > r->n / 12)
        return -EINVAL;
    if (n && !(ms = mslot_of(m, idx, true)))
        return -ENOMEM;
    if (n && !(ms->keys = calloc(n, sizeof(*ms->keys))))
        return -ENOMEM;
    for (uint32_t i = 0; i < n; i++) {
        ms->keys[i].key = ad_rd_u64(r);
        ms->keys[i].member = ad_rd_u32(r);
        ms->n_keys = ms->cap_keys = i + 1;
    }
    n = ad_rd_u32(r);
    if (r->bad || n > r->n / 12)
        return -EINVAL;
    if (n && !ms && !(ms = mslot_of(m, idx, true)))
        return -ENOMEM;
    if (n && !(ms->ment = calloc(n, sizeof(*ms->ment))))
        return -ENOMEM;
    for (uint32_t i = 0; i < n; i++) {
        ms->ment[i].key = ad_rd_u64(r);
        ms->ment[i].count = ad_rd_u32(r);
        ms->n_ment = ms->cap_ment = i + 1;
    }
    n = ad_rd_u32(r);
    if (r->bad || n > r->n / 4)
        return -EINVAL;
    if (n && !ms && !(ms = mslot_of(m, idx, true)))
        return -ENOMEM;
    if (n && !(ms->namers = calloc(n, sizeof(*ms->namers))))
        return -ENOMEM;
    for (uint32_t i = 0; i < n; i++) {
        ms->namers[i] = ad_rd_u32(r);
        ms->n_namers = ms->cap_namers = i + 1;
    }
    return r->bad ? -EINVAL : 0;
}

const struct ad_sw_rule ad_sw_rule_mentions = {
    .name = "mentions",
    .create = ment_create,
    .destroy = ment_destroy,
    .match = ment_match,
    .joined = ment_joined,
    .forgot = ment_forgot,
    .merge_with = ment_merge_with,
    .merged = ment_merged,
    .stats = ment_stats,
    .save = ment_save,
    .load = ment_load,
    .save_slot = ment_save_slot,
    .load_slot = ment_load_slot,
};
