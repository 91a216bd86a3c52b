/* common/syslog.c: see syslog.h. Pure: no I/O, no clock reads. The mapping tables and every
 * leniency are documented in docs/collector-syslog.md; keep the two in step. */
#include "common/syslog.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/arena.h"
#include "common/err.h"
#include "common/event.h"
#include "common/time.h"
#include "common/utf8.h"

#define PRI_MAX 191    /* facility 23, severity 7 */
#define PRI_BARE 13    /* user.notice, what a line without <PRI> gets (as rsyslog) */
#define TAG_MAX 48     /* RFC 3164 says 32; real tags ("postfix/submission/smtpd") run longer */
#define PROCID_MAX 128 /* RFC 5424's bound for PROCID, used for 3164's "[pid]" too */
#define TS3164_LEN 15  /* "Mmm dd hh:mm:ss" */
#define YEAR_2262_NS (INT64_C(9214646400) * AD_NS_PER_S) /* 2262-01-01, the end of event time */

static const char *const facilities[24] = {
    "kern",   "user",   "mail",     "daemon", "auth",   "syslog", "lpr",    "news",
    "uucp",   "cron",   "authpriv", "ftp",    "ntp",    "audit",  "alert",  "clock",
    "local0", "local1", "local2",   "local3", "local4", "local5", "local6", "local7",
};
static const char *const severities[8] = {"emerg",   "alert",  "crit", "err",
                                          "warning", "notice", "info", "debug"};
/* Syslog severity onto aiopsd's scale, the same as the JSON aliases of docs/events.md. */
static const enum ad_severity sev_map[8] = {
    AD_SEV_CRITICAL, AD_SEV_CRITICAL, AD_SEV_CRITICAL, AD_SEV_MAJOR,
    AD_SEV_WARNING,  AD_SEV_INFO,     AD_SEV_INFO,     AD_SEV_INFO,
};

const char *ad_syslog_facility_name(unsigned facility)
{
    return facility < 24 ? facilities[facility] : NULL;
}

const char *ad_syslog_severity_name(unsigned severity)
{
    return severity < 8 ? severities[severity] : NULL;
}

/* The pieces of a message before they become an event. Empty slices are absent (nil). */
struct parsed {
    unsigned pri;
    struct ad_str host, app, procid, msgid, msg;
    int64_t time_ns;
    bool has_time;
    struct ad_event *ev; /* labels from structured data go straight in */
};

struct ctx {
    const struct ad_syslog_map *map;
    struct ad_arena *arena;
    int64_t now_ns;
    struct ad_syslog_info info;
    struct ad_err *err;
};

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_print(char c) /* PRINTUSASCII of RFC 5424: %d33-126 */
{
    return c > ' ' && c < 0x7f;
}

/* --- framing ------------------------------------------------------------------------------- */

void ad_syslog_frame_next(const char *p, size_t n, size_t max, struct ad_syslog_frame *ret)
{
    memset(ret, 0, sizeof(*ret));
    if (n == 0)
        return;
    if (p[0] >= '1' && p[0] <= '9') {
        size_t i = 0, v = 0;
        while (i < n && i < 9 && is_digit(p[i]))
            v = v * 10 + (size_t)(p[i++] - '0');
        if (i == n)
            return; /* only digits so far: the header may still be arriving */
        if (p[i] == ' ') {
            size_t hdr = i + 1;
            ret->octet_counted = true;
            ret->frame_len = v;
            if (v > max) {
                ret->kind = AD_SYSLOG_FRAME_OVERSIZE;
                ret->consumed = hdr;
                ret->skip = v;
                return;
            }
            if (n - hdr < v)
                return;
            ret->kind = AD_SYSLOG_FRAME_MSG;
            ret->msg = p + hdr;
            ret->len = v;
            ret->consumed = hdr + v;
            return;
        }
        /* "2026-..." or ten digits: not a length, so the frame ends at LF. */
    }
    size_t look = n < max + 1 ? n : max + 1;
    const char *lf = memchr(p, '\n', look);
    if (lf) {
        size_t k = (size_t)(lf - p);
        ret->consumed = k + 1;
        if (k > max) {
            ret->kind = AD_SYSLOG_FRAME_OVERSIZE;
            ret->frame_len = k;
            return;
        }
        ret->kind = AD_SYSLOG_FRAME_MSG;
        ret->msg = p;
        ret->len = k > 0 && p[k - 1] == '\r' ? k - 1 : k;
        return;
    }
    if (n > max) {
        ret->kind = AD_SYSLOG_FRAME_OVERSIZE;
        ret->consumed = n;
        ret->skip_to_lf = true;
        ret->frame_len = n;
    }
}

/* --- header pieces ------------------------------------------------------------------------- */

/* "<PRI>": 1-3 digits without a leading zero (except "0"), at most 191. */
static int parse_pri(const char **pp, const char *end, unsigned *ret, struct ad_err *err)
{
    const char *p = *pp + 1; /* past '<' */
    unsigned v = 0;
    size_t nd = 0;
    while (p < end && is_digit(*p) && nd < 4) {
        v = v * 10 + (unsigned)(*p++ - '0');
        nd++;
    }
    if (nd == 0 || nd > 3 || p >= end || *p != '>')
        return ad_err_set(err, EBADMSG, "bad PRI: expected <0> to <191> at the start");
    if (nd > 1 && (*pp)[1] == '0')
        return ad_err_set(err, EBADMSG, "bad PRI: leading zero");
    if (v > PRI_MAX)
        return ad_err_set(err, EBADMSG, "bad PRI: %u is above 191", v);
    *ret = v;
    *pp = p + 1;
    return 0;
}

/* The next space-separated token at *pp (possibly empty); *pp moves past one space after it.
 * Returns false at the end of the input. */
static bool token(const char **pp, const char *end, struct ad_str *ret)
{
    const char *p = *pp;
    if (p >= end)
        return false;
    const char *sp = memchr(p, ' ', (size_t)(end - p));
    const char *e = sp ? sp : end;
    *ret = (struct ad_str){p, (size_t)(e - p)};
    *pp = sp ? sp + 1 : end;
    return true;
}

static bool in_range(int64_t ns)
{
    return ns >= 0 && ns < YEAR_2262_NS;
}

/* RFC 3339 time into m, or the receive time and info.bad_time. */
static void set_time_3339(struct ctx *c, struct parsed *m, struct ad_str s)
{
    int64_t ns;
    if (ad_time_parse_rfc3339(s, &ns) == 0 && in_range(ns)) {
        m->time_ns = ns;
        m->has_time = true;
        return;
    }
    c->info.bad_time = true;
}

/* A 5424 header field: "-" is nil; otherwise printable ASCII within max bytes. */
static int header_field(struct ctx *c, struct ad_str tok, const char *name, size_t max,
                        struct ad_str *ret)
{
    if (tok.len == 1 && tok.p[0] == '-') {
        *ret = AD_STR_NULL;
        return 0;
    }
    if (tok.len > max)
        return ad_err_set(c->err, EMSGSIZE, "%s: longer than %zu bytes", name, max);
    for (size_t i = 0; i < tok.len; i++)
        if (!is_print(tok.p[i]))
            return ad_err_set(c->err, EBADMSG, "%s: byte 0x%02x is not printable ASCII", name,
                              (unsigned char)tok.p[i]);
    *ret = tok;
    return 0;
}

/* --- structured data ----------------------------------------------------------------------- */

static bool is_sd_name(char c)
{
    return is_print(c) && c != '=' && c != ']' && c != '"';
}

static struct ad_str sd_name(const char **pp, const char *end)
{
    const char *p = *pp;
    while (p < end && is_sd_name(*p))
        p++;
    struct ad_str s = {*pp, (size_t)(p - *pp)};
    *pp = p;
    return s;
}

/* The value between quotes at *pp (past the opening quote); *pp moves past the closing quote.
 * Escapes (\" \\ \]) are undone into the arena only when present. */
static int sd_value(struct ctx *c, const char **pp, const char *end, struct ad_str *ret)
{
    const char *p = *pp;
    bool escaped = false;
    while (p < end && *p != '"') {
        if (*p == '\\' && p + 1 < end) {
            escaped = true;
            p++;
        }
        p++;
    }
    if (p >= end)
        return ad_err_set(c->err, EBADMSG, "structured data: unterminated value");
    struct ad_str v = {*pp, (size_t)(p - *pp)};
    *pp = p + 1;
    if (escaped) {
        char *out = ad_arena_alloc(c->arena, v.len + 1);
        if (!out)
            return ad_err_set(c->err, ENOMEM, "out of memory");
        size_t o = 0;
        for (size_t i = 0; i < v.len; i++) {
            /* RFC 5424 6.3.3: only \" \\ \] are escapes; any other backslash stays. */
            if (v.p[i] == '\\' && i + 1 < v.len &&
                (v.p[i + 1] == '"' || v.p[i + 1] == '\\' || v.p[i + 1] == ']'))
                i++;
            out[o++] = v.p[i];
        }
        out[o] = '\0';
        v = (struct ad_str){out, o};
    }
    *ret = v;
    return 0;
}

static int add_sd_label(struct ctx *c, struct ad_event *ev, struct ad_str id, struct ad_str name,
                        struct ad_str value)
{
    if (!c->map->sd_labels)
        return 0;
    size_t nlen = id.len + 1 + name.len;
    if (ev->n_labels >= AD_MAX_LABELS || nlen > AD_MAX_FIELD_LEN || value.len > AD_MAX_FIELD_LEN) {
        if (c->info.labels_dropped < UINT8_MAX)
            c->info.labels_dropped++;
        return 0;
    }
    char *n = ad_arena_alloc(c->arena, nlen + 1);
    if (!n)
        return ad_err_set(c->err, ENOMEM, "out of memory");
    memcpy(n, id.p, id.len);
    n[id.len] = '.';
    memcpy(n + id.len + 1, name.p, name.len);
    n[nlen] = '\0';
    if (ad_utf8_repair(value, c->arena, &value, &c->info.utf8_replaced) < 0)
        return ad_err_set(c->err, ENOMEM, "out of memory");
    ev->labels[ev->n_labels++] = (struct ad_label){{n, nlen}, value};
    return 0;
}

/* One SD-ELEMENT "[id name="value" ...]" at *pp (on the '['). */
static int sd_element(struct ctx *c, const char **pp, const char *end, struct ad_event *ev)
{
    const char *p = *pp + 1;
    struct ad_str id = sd_name(&p, end);
    if (id.len == 0)
        return ad_err_set(c->err, EBADMSG, "structured data: missing SD-ID after '['");
    while (p < end && *p == ' ') {
        p++;
        struct ad_str name = sd_name(&p, end), value;
        if (name.len == 0 || end - p < 2 || p[0] != '=' || p[1] != '"')
            return ad_err_set(c->err, EBADMSG,
                              "structured data: expected name=\"value\" in [%.*s ...]",
                              (int)(id.len > 40 ? 40 : id.len), id.p);
        p += 2;
        int r = sd_value(c, &p, end, &value);
        if (r < 0)
            return r;
        if ((r = add_sd_label(c, ev, id, name, value)) < 0)
            return r;
    }
    if (p >= end || *p != ']')
        return ad_err_set(c->err, EBADMSG, "structured data: expected ']' to close [%.*s",
                          (int)(id.len > 40 ? 40 : id.len), id.p);
    *pp = p + 1;
    return 0;
}

/* --- RFC 5424 ------------------------------------------------------------------------------ */

/* After "<PRI>1 ": TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD [SP MSG]. A header cut short
 * leaves the missing fields nil (info.truncated_header). */
static int parse_5424(struct ctx *c, const char *p, const char *end, struct parsed *m)
{
    static const char *const names[5] = {"TIMESTAMP", "HOSTNAME", "APP-NAME", "PROCID", "MSGID"};
    struct ad_str *dst[5] = {NULL, &m->host, &m->app, &m->procid, &m->msgid};
    struct ad_str tok, ts = AD_STR_NULL;
    int r;

    for (int i = 0; i < 5; i++) {
        if (!token(&p, end, &tok)) {
            c->info.truncated_header = true;
            goto done;
        }
        /* RFC 5424's own bounds (APP-NAME 48, HOSTNAME 255...) are not enforced: refusing a
         * 49-byte app name would lose a log. AD_MAX_FIELD_LEN is. */
        r = header_field(c, tok, names[i], AD_MAX_FIELD_LEN, i == 0 ? &ts : dst[i]);
        if (r < 0)
            return r;
    }
    if (p >= end) {
        c->info.truncated_header = true; /* no SD at all */
        goto done;
    }
    if (*p == '-') {
        p++;
    } else if (*p == '[') {
        while (p < end && *p == '[')
            if ((r = sd_element(c, &p, end, m->ev)) < 0)
                return r;
    } else {
        return ad_err_set(c->err, EBADMSG, "structured data: expected '-' or '['");
    }
    if (p < end) {
        if (*p != ' ')
            return ad_err_set(c->err, EBADMSG, "expected a space after the structured data");
        p++;
        /* RFC 5424 6.4: a BOM announces UTF-8; it is not part of the text. */
        if (end - p >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
            p += 3;
        m->msg = (struct ad_str){p, (size_t)(end - p)};
    }
done:
    if (ts.len)
        set_time_3339(c, m, ts);
    return 0;
}

/* --- RFC 3164 ------------------------------------------------------------------------------ */

static int month_of(const char *p)
{
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    for (int i = 0; i < 12; i++)
        if (memcmp(months + 3 * i, p, 3) == 0)
            return i;
    return -1;
}

static bool two_digits(const char *p, bool lead_space, int *ret)
{
    if (!is_digit(p[1]) || !(is_digit(p[0]) || (lead_space && p[0] == ' ')))
        return false;
    *ret = (p[0] == ' ' ? 0 : (p[0] - '0') * 10) + (p[1] - '0');
    return true;
}

/* The UTC time of "Mmm dd hh:mm:ss" in the year that puts it nearest to now (a December
 * message read on 1 January belongs to last year). False when no year gives a real date. */
static bool time_3164(int mon, int day, int h, int mi, int s, int64_t now_ns, int64_t *ret_ns)
{
    time_t now_s = (time_t)(now_ns / AD_NS_PER_S), best = 0;
    struct tm now_tm;
    bool found = false;
    if (!gmtime_r(&now_s, &now_tm))
        return false;
    for (int y = now_tm.tm_year - 1; y <= now_tm.tm_year + 1; y++) {
        struct tm tm = {
            .tm_year = y, .tm_mon = mon, .tm_mday = day, .tm_hour = h, .tm_min = mi, .tm_sec = s};
        time_t t = timegm(&tm);
        if (t == (time_t)-1 || tm.tm_mon != mon) /* Feb 29 of a common year rolls over */
            continue;
        if (!found || llabs((long long)(t - now_s)) < llabs((long long)(best - now_s)))
            best = t;
        found = true;
    }
    if (!found || !in_range((int64_t)best * AD_NS_PER_S))
        return false;
    *ret_ns = (int64_t)best * AD_NS_PER_S;
    return true;
}

/* "Mmm dd hh:mm:ss" followed by a space or the end. */
static bool ts_3164(struct ctx *c, const char **pp, const char *end, struct parsed *m)
{
    const char *p = *pp;
    int mon, day, h, mi, s;
    if (end - p < TS3164_LEN || (end - p > TS3164_LEN && p[TS3164_LEN] != ' '))
        return false;
    if ((mon = month_of(p)) < 0 || p[3] != ' ' || !two_digits(p + 4, true, &day) || p[6] != ' ' ||
        !two_digits(p + 7, false, &h) || p[9] != ':' || !two_digits(p + 10, false, &mi) ||
        p[12] != ':' || !two_digits(p + 13, false, &s))
        return false;
    if (day < 1 || day > 31 || h > 23 || mi > 59 || s > 60)
        return false;
    *pp = p + (end - p > TS3164_LEN ? TS3164_LEN + 1 : TS3164_LEN);
    if (!c->map->rfc3164_header_time)
        return true;
    if (time_3164(mon, day, h, mi, s == 60 ? 59 : s, c->now_ns, &m->time_ns))
        m->has_time = true;
    else
        c->info.bad_time = true;
    return true;
}

/* A timestamp where 3164 has one: "Mmm dd hh:mm:ss", or an RFC 3339 one as rsyslog's
 * forwarding formats send. */
static bool timestamp_3164(struct ctx *c, const char **pp, const char *end, struct parsed *m)
{
    if (ts_3164(c, pp, end, m))
        return true;
    const char *p = *pp;
    struct ad_str tok;
    if (end - p < 20 || !is_digit(p[0]) || p[4] != '-' || !token(&p, end, &tok))
        return false;
    set_time_3339(c, m, tok);
    *pp = p;
    return true;
}

static bool is_host_char(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '.' ||
           c == '-' || c == '_' || c == ':';
}

/* HOSTNAME after the timestamp: a token of host characters that does not end in ':' (then it
 * is a TAG: many senders leave the host out) and is followed by more text. */
static void host_3164(const char **pp, const char *end, struct parsed *m)
{
    const char *p = *pp, *q = p;
    while (q < end && is_host_char(*q))
        q++;
    if (q == p || q >= end || *q != ' ' || q[-1] == ':' || q - p > 255)
        return;
    m->host = (struct ad_str){p, (size_t)(q - p)};
    *pp = q + 1;
}

static bool is_tag_char(char c)
{
    return is_print(c) && c != ':' && c != '[' && c != ']';
}

/* TAG, "TAG:", "TAG[pid]" or "TAG[pid]:", then one optional space. Without a ':' or '[' right
 * after the word, there is no tag and the word is the start of the message. */
static void tag_3164(const char **pp, const char *end, struct parsed *m)
{
    const char *p = *pp, *q = p;
    while (q < end && q - p <= TAG_MAX && is_tag_char(*q))
        q++;
    if (q == p || q >= end || q - p > TAG_MAX || (*q != ':' && *q != '['))
        return;
    struct ad_str tag = {p, (size_t)(q - p)}, pid = AD_STR_NULL;
    if (*q == '[') {
        const char *close =
            memchr(q, ']', (size_t)(end - q) < PROCID_MAX + 2 ? (size_t)(end - q) : PROCID_MAX + 2);
        if (!close)
            return;
        for (const char *s = q + 1; s < close; s++)
            if (!is_print(*s))
                return;
        pid = (struct ad_str){q + 1, (size_t)(close - q - 1)};
        q = close + 1;
        if (q < end && *q == ':')
            q++;
    } else {
        q++;
    }
    if (q < end && *q == ' ')
        q++;
    m->app = tag;
    m->procid = pid;
    *pp = q;
}

static void parse_3164(struct ctx *c, const char *p, const char *end, struct parsed *m)
{
    if (timestamp_3164(c, &p, end, m))
        host_3164(&p, end, m);
    tag_3164(&p, end, m);
    m->msg = (struct ad_str){p, (size_t)(end - p)};
}

/* A line without <PRI> is taken only if it reads as text: UTF-8 without control characters
 * other than TAB. Anything else is binary garbage. */
static int check_text(struct ctx *c, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)p[i] < 0x20 && p[i] != '\t')
            return ad_err_set(c->err, EBADMSG,
                              "no <PRI> and not text: control byte 0x%02x at offset %zu",
                              (unsigned char)p[i], i);
    if (!ad_utf8_valid(p, n))
        return ad_err_set(c->err, EILSEQ, "no <PRI> and not text: invalid UTF-8");
    return 0;
}

/* --- the event ----------------------------------------------------------------------------- */

static void add_label(struct ad_event *ev, const char *name, struct ad_str value)
{
    if (value.len && ev->n_labels < AD_MAX_LABELS)
        ev->labels[ev->n_labels++] = (struct ad_label){ad_str_c(name), value};
}

/* Header labels go first, before any structured data: they are moved to the front. */
static void header_labels(struct ad_event *ev, const struct parsed *m, struct ad_str peer,
                          bool peer_label)
{
    struct ad_label sd[AD_MAX_LABELS];
    uint8_t n_sd = ev->n_labels;
    memcpy(sd, ev->labels, n_sd * sizeof(sd[0]));
    ev->n_labels = 0;
    add_label(ev, "facility", ad_str_c(facilities[m->pri >> 3]));
    add_label(ev, "syslog_severity", ad_str_c(severities[m->pri & 7]));
    if (peer_label)
        add_label(ev, "source_ip", peer);
    add_label(ev, "procid", m->procid);
    add_label(ev, "msgid", m->msgid);
    for (uint8_t i = 0; i < n_sd && ev->n_labels < AD_MAX_LABELS; i++)
        ev->labels[ev->n_labels++] = sd[i];
}

static int build(struct ctx *c, struct parsed *m, struct ad_str peer, struct ad_event *ev)
{
    const struct ad_syslog_map *map = c->map;
    uint8_t before = ev->n_labels;

    ev->kind = AD_KIND_LOG;
    ev->status = AD_STATUS_FIRING;
    ev->severity = sev_map[m->pri & 7];
    ev->time_ns = m->has_time ? m->time_ns : c->now_ns;
    ev->source = map->source;
    if (map->resource_from == AD_SYSLOG_RESOURCE_SOURCE_IP || m->host.len == 0)
        ev->resource = peer.len ? peer : m->host;
    else
        ev->resource = m->host;
    if (ev->resource.len == 0)
        ev->resource = AD_STR_LIT("unknown");
    ev->service = map->service_from == AD_SYSLOG_SERVICE_APP && m->app.len ? m->app : ev->resource;
    ev->check = m->app.len ? m->app : AD_STR_LIT("syslog");

    struct ad_str msg;
    if (ad_utf8_repair(m->msg, c->arena, &msg, &c->info.utf8_replaced) < 0)
        return ad_err_set(c->err, ENOMEM, "out of memory");
    if (msg.len > AD_MAX_SUMMARY_LEN) {
        msg = ad_utf8_cut(msg, AD_MAX_SUMMARY_LEN);
        c->info.summary_cut = true;
    }
    /* A log needs a non-empty message (docs/events.md); RFC 5424's nil stands in. */
    ev->summary = msg.len ? msg : AD_STR_LIT("-");

    bool peer_label = peer.len && !ad_str_eq(ev->resource, peer);
    header_labels(ev, m, peer, peer_label);
    /* Structured data that no longer fits behind the header labels. */
    unsigned header_n = 2 + peer_label + (m->procid.len > 0) + (m->msgid.len > 0);
    if (before + header_n > AD_MAX_LABELS) {
        unsigned lost = before + header_n - AD_MAX_LABELS + c->info.labels_dropped;
        c->info.labels_dropped = lost > UINT8_MAX ? UINT8_MAX : (uint8_t)lost;
    }
    return 0;
}

int ad_syslog_parse(const char *buf, size_t len, struct ad_str peer, int64_t now_ns,
                    const struct ad_syslog_map *map, struct ad_arena *arena, struct ad_event *ret,
                    struct ad_syslog_info *ret_info, struct ad_err *reterr)
{
    struct ctx c = {.map = map, .arena = arena, .now_ns = now_ns, .err = reterr};
    struct ad_event ev;
    struct parsed m = {.ev = &ev};
    int r;

    if (ret_info)
        memset(ret_info, 0, sizeof(*ret_info));
    if (map->max_len && len > map->max_len)
        return ad_err_set(reterr, EMSGSIZE, "message of %zu bytes exceeds the limit of %zu bytes",
                          len, map->max_len);
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == '\0'))
        len--;
    if (len == 0)
        return ad_err_set(reterr, EBADMSG, "empty message");
    const char *nul = memchr(buf, '\0', len);
    if (nul)
        return ad_err_set(reterr, EBADMSG, "NUL byte at offset %zu", (size_t)(nul - buf));

    memset(&ev, 0, sizeof(ev));
    const char *p = buf, *end = buf + len;
    if (*p != '<') {
        if ((r = check_text(&c, p, len)) < 0)
            return r;
        c.info.no_pri = true;
        c.info.format = AD_SYSLOG_BARE;
        m.pri = PRI_BARE;
        parse_3164(&c, p, end, &m);
    } else {
        if ((r = parse_pri(&p, end, &m.pri, reterr)) < 0)
            return r;
        if (end - p >= 2 && p[0] == '1' && p[1] == ' ') {
            c.info.format = AD_SYSLOG_RFC5424;
            if ((r = parse_5424(&c, p + 2, end, &m)) < 0)
                return r;
        } else {
            c.info.format = AD_SYSLOG_RFC3164;
            parse_3164(&c, p, end, &m);
        }
    }
    if ((r = build(&c, &m, peer, &ev)) < 0)
        return r;
    *ret = ev;
    if (ret_info)
        *ret_info = c.info;
    return 0;
}
