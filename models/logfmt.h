/* models/logfmt.h: log header formats in the logparser benchmark notation, e.g.
 * "<Date> <Time> <Pid> <Level> <Component>: <Content>", compiled once to an anchored PCRE2 regex
 * that cuts a raw line down to its <Content>: the message the template miner should see
 * (aiopsctl templates --content-regex, presets, bench_templates). Pure: no I/O. */
#pragma once
#include <stdint.h>

#include "common/str.h"

struct ad_err;
struct ad_logfmt;

/* Each <Name> is a field matched lazily (.*?); the text between fields is a regular expression
 * (\[ a literal bracket, (...)? an optional part) in which every run of spaces matches one or
 * more whitespace characters; the whole is anchored at both ends. The format needs a <Content>
 * field. 0, -EINVAL (reterr names the problem and the PCRE2 error offset) or -ENOMEM. */
int ad_logfmt_compile(const char *format, struct ad_logfmt **ret, struct ad_err *reterr);
void ad_logfmt_destroy(struct ad_logfmt *f); /* NULL-safe */
/* 1 and *ret = the Content slice of line (borrowed from line) when the line, stripped of
 * surrounding whitespace, has the format; 0 when it does not. Uses match data kept in f: one
 * caller at a time. */
int ad_logfmt_content(struct ad_logfmt *f, struct ad_str line, struct ad_str *ret);

/* JSON lines (one object per line, as container runtimes and structured loggers write them):
 * the message is the string value of the first of "msg", "message", "log" present at the top
 * level, unescaped; every other top-level field is kept as key and value (strings unescaped,
 * numbers, true/false/null as written, objects and arrays as their raw text), in order, up to
 * AD_LOGJSON_MAX_FIELDS. Strings live in j->buf (grown as needed; free with ad_logjson_fini). */
#define AD_LOGJSON_MAX_FIELDS 32

struct ad_logjson_field {
    struct ad_str key, value;
};

struct ad_logjson {
    struct ad_str message, message_key;
    uint32_t n_fields, n_dropped; /* n_dropped: fields past AD_LOGJSON_MAX_FIELDS */
    struct ad_logjson_field fields[AD_LOGJSON_MAX_FIELDS];
    char *buf;
    size_t cap;
};

/* 1 when line (surrounding whitespace ignored) is one JSON object with a string message field,
 * 0 when it is not (not an object, malformed, or no message), -ENOMEM. */
int ad_logjson_parse(struct ad_str line, struct ad_logjson *j);
void ad_logjson_fini(struct ad_logjson *j);
