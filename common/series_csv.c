/* common/series_csv.c: the "timestamp,value" CSV reader behind aiopsctl baseline. One fixed line
 * buffer per reader, so memory stays constant whatever the file's length. Reads only the FILE it
 * is given; opens nothing. */
#include "common/series_csv.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/event.h"
#include "common/str.h"
#include "common/time.h"

/* Longer lines are reported and skipped; a NAB row is about 30 bytes. */
#define MAX_LINE 4096
#define MAX_FIELD 64 /* a timestamp or a number never needs more */
#define STR_(x) #x
#define STR(x) STR_(x)

struct ad_csv_reader {
    FILE *f;            /* borrowed */
    char *name;         /* owned copy, for messages */
    long line;          /* number of the line in buf */
    bool seen_row;      /* the first non-blank line has been read (header decided) */
    size_t len;         /* bytes in buf */
    char buf[MAX_LINE]; /* the current line, without its end of line */
};

/* A field as found: its text without quotes or surrounding spaces, and where it starts. */
struct field {
    const char *p;
    size_t len;
    size_t col; /* 0-based offset of the first byte of the field's text */
};

int ad_csv_open(FILE *f, const char *name, struct ad_csv_reader **ret, struct ad_err *reterr)
{
    if (!f)
        return ad_err_set(reterr, EINVAL, "no input");
    struct ad_csv_reader *r = calloc(1, sizeof(*r));
    if (!r)
        return ad_err_set(reterr, ENOMEM, "out of memory");
    r->f = f;
    r->name = strdup(name ? name : "-");
    if (!r->name) {
        free(r);
        return ad_err_set(reterr, ENOMEM, "out of memory");
    }
    *ret = r;
    return 0;
}

void ad_csv_close(struct ad_csv_reader *r)
{
    if (!r)
        return;
    free(r->name);
    free(r);
}

/* Reads the next line into r->buf. Returns 1, 0 at the end of the file, -EMSGSIZE when the line
 * was longer than the buffer (the rest of it is consumed), or -EIO. A NUL byte is kept as is so
 * that the parser reports it at its column instead of silently cutting the line there. */
static int read_line(struct ad_csv_reader *r)
{
    int c;
    bool any = false, over = false;
    r->len = 0;
    while ((c = getc_unlocked(r->f)) != EOF) {
        any = true;
        if (c == '\n')
            break;
        if (r->len < MAX_LINE)
            r->buf[r->len++] = (char)c;
        else
            over = true;
    }
    if (ferror(r->f))
        return -EIO;
    if (!any)
        return 0;
    r->line++;
    if (r->len > 0 && r->buf[r->len - 1] == '\r')
        r->len--;
    if (r->line == 1 && r->len >= 3 && memcmp(r->buf, "\xEF\xBB\xBF", 3) == 0) {
        memmove(r->buf, r->buf + 3,
                r->len - 3); /* a UTF-8 byte order mark, as spreadsheets write */
        r->len -= 3;
    }
    return over ? -EMSGSIZE : 1;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t';
}

static bool is_blank(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!is_space(p[i]))
            return false;
    return true;
}

/* Formats the offending text for a message: at most 40 bytes, non-printable bytes as '?'. */
static const char *excerpt(const char *p, size_t n, char *buf, size_t size)
{
    size_t k = 0;
    for (size_t i = 0; i < n && k + 4 < size && i < 40; i++)
        buf[k++] = (p[i] >= 0x20 && p[i] < 0x7f) ? p[i] : '?';
    if (n > 40 && k + 4 < size) {
        memcpy(buf + k, "...", 3);
        k += 3;
    }
    buf[k] = '\0';
    return buf;
}

static int fail(struct ad_csv_reader *r, struct ad_err *reterr, size_t col0, const char *what,
                const char *got, size_t got_len)
{
    char ex[64];
    /* The position goes into the message itself, so whoever prints err.msg shows it, and into
     * line/col for callers that want the numbers. */
    int rc =
        ad_err_set(reterr, EINVAL, "%s:%ld:%zu: expected %s", r->name, r->line, col0 + 1, what);
    if (reterr && got) {
        size_t n = strlen(reterr->msg);
        if (got_len == 0)
            snprintf(reterr->msg + n, sizeof(reterr->msg) - n, ", got nothing");
        else
            snprintf(reterr->msg + n, sizeof(reterr->msg) - n, ", got \"%s\"",
                     excerpt(got, got_len, ex, sizeof(ex)));
    }
    if (reterr) {
        reterr->line = (int)r->line;
        reterr->col = (int)col0 + 1;
    }
    return rc;
}

/* Splits off the field starting at *pos: optional spaces, then either "quoted text" or text up to
 * the next comma (trailing spaces dropped), then optional spaces. *pos ends on the comma or at the
 * end of the line. Returns 0, or -EINVAL for an unterminated quote. */
static int split_field(struct ad_csv_reader *r, size_t *pos, struct field *f, struct ad_err *reterr)
{
    const char *b = r->buf;
    size_t i = *pos, n = r->len;
    while (i < n && is_space(b[i]))
        i++;
    if (i < n && b[i] == '"') {
        size_t start = ++i;
        while (i < n && b[i] != '"')
            i++;
        if (i >= n)
            return fail(r, reterr, start - 1, "a closing '\"'", NULL, 0);
        *f = (struct field){b + start, i - start, start};
        i++;
    } else {
        size_t start = i;
        while (i < n && b[i] != ',')
            i++;
        size_t end = i;
        while (end > start && is_space(b[end - 1]))
            end--;
        *f = (struct field){b + start, end - start, start};
    }
    while (i < n && is_space(b[i]))
        i++;
    *pos = i;
    return 0;
}

static bool all_digits(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] < '0' || p[i] > '9')
            return false;
    return n > 0;
}

/* An epoch number, scaled by magnitude as ad_epoch_to_ns() does for events. Whole nanosecond
 * counts are converted without going through a double, which would round them to 256 ns. */
static int parse_epoch(const char *s, size_t n, int64_t *ret_ns)
{
    char *end;
    double v = strtod(s, &end);
    if (end != s + n || n == 0)
        return -EINVAL;
    int64_t ns;
    if (ad_epoch_to_ns(v, &ns) < 0)
        return -EINVAL;
    if (v >= 1e17 && all_digits(s, n)) {
        errno = 0;
        long long exact = strtoll(s, NULL, 10);
        if (errno == 0)
            ns = (int64_t)exact;
    }
    *ret_ns = ns;
    return 0;
}

/* "YYYY-MM-DD HH:MM:SS[.f]" without a zone is UTC; with "T", "Z" or an offset it is RFC 3339. */
static int parse_time(const struct field *f, int64_t *ret_ns)
{
    char s[MAX_FIELD + 2];
    if (f->len == 0 || f->len > MAX_FIELD)
        return -EINVAL;
    memcpy(s, f->p, f->len);
    s[f->len] = '\0';
    if (f->len >= 5 && all_digits(s, 4) && s[4] == '-') {
        if (ad_time_parse_rfc3339((struct ad_str){s, f->len}, ret_ns) == 0)
            return 0;
        s[f->len] = 'Z';
        s[f->len + 1] = '\0';
        return ad_time_parse_rfc3339((struct ad_str){s, f->len + 1}, ret_ns) == 0 ? 0 : -EINVAL;
    }
    return parse_epoch(s, f->len, ret_ns);
}

/* A number as strtod reads it ("1.5", "-2e3", "nan", "inf", "-Infinity"), nothing else around. */
static int parse_value(const struct field *f, double *ret)
{
    char s[MAX_FIELD + 1];
    if (f->len == 0 || f->len > MAX_FIELD || is_space(f->p[0]))
        return -EINVAL;
    memcpy(s, f->p, f->len);
    s[f->len] = '\0';
    char *end;
    double v = strtod(s, &end);
    if (end != s + f->len)
        return -EINVAL;
    *ret = v;
    return 0;
}

#define TS_EXPECTED                                                                                \
    "a timestamp (\"YYYY-MM-DD HH:MM:SS[.ffffff]\" UTC, RFC 3339, or epoch seconds/ms/us/ns)"

/* Parses r->buf as one row. Returns 1, or -EINVAL with the position in reterr. */
static int parse_row(struct ad_csv_reader *r, struct ad_csv_row *row, struct ad_err *reterr)
{
    struct field ts, val;
    size_t pos = 0;
    int rc = split_field(r, &pos, &ts, reterr);
    if (rc < 0)
        return rc;
    if (parse_time(&ts, &row->t_ns) < 0)
        return fail(r, reterr, ts.col, TS_EXPECTED, ts.p, ts.len);
    if (pos >= r->len || r->buf[pos] != ',')
        return fail(r, reterr, pos, "',' after the timestamp", r->buf + pos, r->len - pos);
    pos++;
    if ((rc = split_field(r, &pos, &val, reterr)) < 0)
        return rc;
    if (parse_value(&val, &row->value) < 0)
        return fail(r, reterr, val.col, "a number (\"nan\" and \"inf\" are read too)", val.p,
                    val.len);
    if (pos < r->len)
        return fail(r, reterr, pos, "the end of the line after the value", r->buf + pos,
                    r->len - pos);
    row->ts = ts.p;
    row->ts_len = ts.len;
    row->line = r->line;
    return 1;
}

int ad_csv_next(struct ad_csv_reader *r, struct ad_csv_row *row, struct ad_err *reterr)
{
    for (;;) {
        int rc = read_line(r);
        if (rc == 0)
            return 0;
        if (rc == -EIO)
            return ad_err_set(reterr, EIO, "%s: %s", r->name, strerror(errno));
        if (rc == -EMSGSIZE) {
            r->seen_row = true;
            return fail(r, reterr, MAX_LINE, "a line of at most " STR(MAX_LINE) " bytes", NULL, 0);
        }
        if (is_blank(r->buf, r->len))
            continue;
        bool first = !r->seen_row;
        r->seen_row = true;
        struct ad_err scratch;
        rc = parse_row(r, row, first ? &scratch : reterr);
        if (rc < 0 && first)
            continue; /* the header ("timestamp,value" or whatever the file calls them) */
        return rc;
    }
}
