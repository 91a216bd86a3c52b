/* models/logfmt.h: log header formats in the logparser benchmark notation, e.g.
 * "<Date> <Time> <Pid> <Level> <Component>: <Content>", compiled once to an anchored PCRE2 regex
 * that cuts a raw line down to its <Content>: the message the template miner should see
 * (aiopsctl templates --content-regex, presets, bench_templates). Pure: no I/O. */
#pragma once
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
