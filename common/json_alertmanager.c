/* common/json_alertmanager.c: the mapping of one Prometheus Alertmanager alert (webhook payload
 * version 4) onto an event, independent of the JSON library: which labels give which field, the
 * status and time rules, bounds and error texts (docs/collector-http.md). The shim
 * (json_simdjson.cpp) walks the payload. Pure: no I/O, no clock (the receive time is passed in). */
#include "common/json_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "common/event.h"
#include "common/json.h"
#include "common/utf8.h"

#define QUOTE_MAX 40 /* bytes of a label name echoed in an error message */
#define BIT(k) (UINT32_C(1) << (k))

static const char *const amk_names[AD_AMK_COUNT] = {
    [AD_AMK_OTHER] = "",
    [AD_AMK_ALERTS] = "alerts",
    [AD_AMK_TRUNCATED] = "truncatedAlerts",
    [AD_AMK_STATUS] = "status",
    [AD_AMK_LABELS] = "labels",
    [AD_AMK_ANNOTATIONS] = "annotations",
    [AD_AMK_STARTS_AT] = "startsAt",
    [AD_AMK_ENDS_AT] = "endsAt",
    [AD_AMK_FINGERPRINT] = "fingerprint",
    [AD_AMK_SUMMARY] = "summary",
    [AD_AMK_DESCRIPTION] = "description",
};

#define L(s) (sizeof(s) - 1)
static const size_t amk_lens[AD_AMK_COUNT] = {
    [AD_AMK_ALERTS] = L("alerts"),
    [AD_AMK_TRUNCATED] = L("truncatedAlerts"),
    [AD_AMK_STATUS] = L("status"),
    [AD_AMK_LABELS] = L("labels"),
    [AD_AMK_ANNOTATIONS] = L("annotations"),
    [AD_AMK_STARTS_AT] = L("startsAt"),
    [AD_AMK_ENDS_AT] = L("endsAt"),
    [AD_AMK_FINGERPRINT] = L("fingerprint"),
    [AD_AMK_SUMMARY] = L("summary"),
    [AD_AMK_DESCRIPTION] = L("description"),
};
#undef L

/* The keys known at each level, by enum range. */
static const struct {
    enum ad_amk first, last;
} levels[] = {
    [AD_AM_TOP] = {AD_AMK_ALERTS, AD_AMK_TRUNCATED},
    [AD_AM_ALERT] = {AD_AMK_STATUS, AD_AMK_FINGERPRINT},
    [AD_AM_ANNOTATION] = {AD_AMK_SUMMARY, AD_AMK_DESCRIPTION},
};

void ad_am_begin(struct ad_am_alert *a, const struct ad_am_map *map, struct ad_event *ev,
                 struct ad_arena *arena, struct ad_err *err)
{
    ad_jev_begin(&a->jev, ev, arena, err);
    a->map = map;
    memset(a->str, 0, sizeof(a->str));
    a->seen = 0;
    a->alertname = a->severity = a->resource = a->service = AD_STR_NULL;
    a->resource_rank = map->n_resource_labels;
    a->service_rank = map->n_service_labels;
    a->labels_dropped = 0;
}

/* A key or label name decoded (escapes are legal JSON, if rare); NULL slice when it cannot be. */
static struct ad_str name_of(struct ad_am_alert *a, struct ad_jraw raw)
{
    struct ad_str s;
    const char *why;
    if (ad_jraw_str(a->jev.arena, raw, AD_MAX_FIELD_LEN, &s, &why) < 0)
        return AD_STR_NULL;
    return s;
}

int ad_am_key(struct ad_am_alert *a, enum ad_am_level level, struct ad_jraw key)
{
    /* Keys are plain ASCII names: only a key with an escape needs decoding first. */
    struct ad_str k = key.escaped ? name_of(a, key) : (struct ad_str){key.p, key.len};
    for (int i = levels[level].first; i <= (int)levels[level].last; i++) {
        if (k.len != amk_lens[i] || memcmp(k.p, amk_names[i], k.len) != 0)
            continue;
        if (a->seen & BIT(i))
            return ad_err_set(a->jev.err, EBADMSG, "duplicate field '%s'", amk_names[i]);
        a->seen |= BIT(i);
        return i;
    }
    return AD_AMK_OTHER;
}

int ad_am_string(struct ad_am_alert *a, enum ad_amk k, struct ad_jraw s)
{
    /* A summary may be long free text: it is cut (on a character boundary) rather than refused,
     * so that a verbose runbook annotation does not cost the alert. */
    size_t max = k == AD_AMK_SUMMARY || k == AD_AMK_DESCRIPTION ? SIZE_MAX : AD_MAX_FIELD_LEN;
    const char *why;
    int r = ad_jraw_str(a->jev.arena, s, max, &a->str[k], &why);
    if (r == -EMSGSIZE)
        return ad_err_set(a->jev.err, EMSGSIZE, "field '%s': longer than %d bytes", amk_names[k],
                          AD_MAX_FIELD_LEN);
    if (r < 0)
        return ad_err_set(a->jev.err, -r, "field '%s': %s", amk_names[k], why);
    return 0;
}

static int label_error(struct ad_am_alert *a, int code, struct ad_str name, const char *tail)
{
    char q[64];
    ad_jev_quote(q, sizeof(q), name.p, name.len, QUOTE_MAX);
    return ad_err_set(a->jev.err, code, "label '%s': %s", q, tail);
}

int ad_am_label_type_error(struct ad_am_alert *a, struct ad_jraw name)
{
    return label_error(a, EBADMSG, (struct ad_str){name.p, name.len}, "expected a string");
}

int ad_am_type_error(struct ad_am_alert *a, enum ad_amk k)
{
    const char *what = k == AD_AMK_LABELS || k == AD_AMK_ANNOTATIONS ? "an object"
                       : k == AD_AMK_ALERTS                           ? "an array"
                                                                      : "a string";
    return ad_err_set(a->jev.err, EBADMSG, "field '%s': expected %s", amk_names[k], what);
}

/* Index of name in list (n when absent). */
static size_t rank_in(const struct ad_str *list, size_t n, struct ad_str name)
{
    for (size_t i = 0; i < n; i++)
        if (ad_str_eq(list[i], name))
            return i;
    return n;
}

/* Remembers the labels the mapping reads: the first of each name wins, and for the resource and
 * the service the one earliest in the configured list. Empty values count as absent. */
static void note_special(struct ad_am_alert *a, struct ad_str name, struct ad_str value)
{
    if (value.len == 0)
        return;
    if (ad_str_eq_c(name, "alertname") && !a->alertname.p)
        a->alertname = value;
    else if (ad_str_eq_c(name, "severity") && !a->severity.p)
        a->severity = value;
    const struct ad_am_map *m = a->map;
    size_t r = rank_in(m->resource_labels, m->n_resource_labels, name);
    if (r < a->resource_rank) {
        a->resource_rank = r;
        a->resource = value;
    }
    r = rank_in(m->service_labels, m->n_service_labels, name);
    if (r < a->service_rank) {
        a->service_rank = r;
        a->service = value;
    }
}

int ad_am_label(struct ad_am_alert *a, struct ad_jraw rname, struct ad_jraw rvalue)
{
    struct ad_event *ev = a->jev.ev;
    struct ad_str name, value;
    const char *why;
    int r = ad_jraw_str(a->jev.arena, rname, AD_MAX_FIELD_LEN, &name, &why);
    if (r == -EMSGSIZE)
        return ad_err_set(a->jev.err, EMSGSIZE, "label name longer than %d bytes",
                          AD_MAX_FIELD_LEN);
    if (r < 0)
        return ad_err_set(a->jev.err, -r, "label name: %s", why);
    if (name.len == 0)
        return ad_err_set(a->jev.err, EBADMSG, "empty label name");
    r = ad_jraw_str(a->jev.arena, rvalue, AD_MAX_FIELD_LEN, &value, &why);
    if (r == -EMSGSIZE)
        return label_error(a, EMSGSIZE, name, "longer than 4096 bytes");
    if (r < 0)
        return label_error(a, -r, name, why);
    note_special(a, name, value);
    /* Past the event's bound the labels still count for the mapping above, but are not kept:
     * dropping them (counted) beats refusing an alert Alertmanager will not send again. */
    if (ev->n_labels >= AD_MAX_LABELS) {
        a->labels_dropped++;
        return 0;
    }
    for (unsigned i = 0; i < ev->n_labels; i++)
        if (ad_str_eq(ev->labels[i].name, name))
            return label_error(a, EBADMSG, name, "given twice");
    ev->labels[ev->n_labels++] = (struct ad_label){name, value};
    return 0;
}

/* Go's zero time ("0001-01-01T00:00:00Z") is how Alertmanager says "no end yet". */
static bool is_zero_time(struct ad_str s)
{
    return s.len >= 5 && memcmp(s.p, "0001-", 5) == 0;
}

/* 0 and *ret_ns, 1 when the key is absent or the zero time, or -EBADMSG. */
static int alert_time(struct ad_am_alert *a, enum ad_amk k, int64_t *ret_ns)
{
    struct ad_str s = a->str[k];
    if (!(a->seen & BIT(k)) || s.len == 0 || is_zero_time(s))
        return 1;
    return ad_json_time(s, amk_names[k], "RFC 3339 (2026-11-24T15:30:00Z)", a->jev.err, ret_ns);
}


static int set_status(struct ad_am_alert *a, int64_t ends_ns, bool has_end, int64_t now_ns)
{
    struct ad_event *ev = a->jev.ev;
    struct ad_str st = a->str[AD_AMK_STATUS];
    /* Alertmanager decides firing/resolved from endsAt when it sends; its word is kept rather
     * than re-deciding with our clock, which may disagree with the sender's by a few seconds. */
    if (st.len > 0) {
        if (ad_status_parse(st, &ev->status) == 0)
            return 0;
        char q[64];
        ad_jev_quote(q, sizeof(q), st.p, st.len, QUOTE_MAX);
        return ad_err_set(a->jev.err, EBADMSG,
                          "field 'status': unknown value '%s' (expected firing or resolved)", q);
    }
    ev->status = has_end && ends_ns <= now_ns ? AD_STATUS_RESOLVED : AD_STATUS_FIRING;
    return 0;
}

int ad_am_end(struct ad_am_alert *a, int64_t now_ns)
{
    struct ad_event *ev = a->jev.ev;
    int64_t starts_ns = now_ns, ends_ns = now_ns;
    int rs = alert_time(a, AD_AMK_STARTS_AT, &starts_ns);
    if (rs < 0)
        return rs;
    int re = alert_time(a, AD_AMK_ENDS_AT, &ends_ns);
    if (re < 0)
        return re;
    if (!a->alertname.p)
        return ad_err_set(a->jev.err, EBADMSG, "missing label 'alertname'");
    int r = set_status(a, ends_ns, re == 0, now_ns);
    if (r < 0)
        return r;

    ev->kind = AD_KIND_ALERT;
    ev->source = AD_STR_LIT("alertmanager");
    ev->check = a->alertname;
    ev->resource = a->resource.p ? a->resource : a->alertname;
    ev->service = a->service.p ? a->service : ev->resource;
    if (!a->severity.p || ad_severity_parse(a->severity, &ev->severity) < 0)
        ev->severity = AD_SEV_WARNING;
    ev->time_ns = ev->status == AD_STATUS_RESOLVED ? ends_ns : starts_ns;
    struct ad_str sum = a->str[AD_AMK_SUMMARY].len ? a->str[AD_AMK_SUMMARY]
                                                   : a->str[AD_AMK_DESCRIPTION];
    ev->summary = sum.len ? ad_utf8_cut(sum, AD_MAX_SUMMARY_LEN) : ev->check;
    ev->id = a->str[AD_AMK_FINGERPRINT].p ? a->str[AD_AMK_FINGERPRINT] : AD_STR_LIT("");
    return 0;
}
