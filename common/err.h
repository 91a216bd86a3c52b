/* common/err.h: the one error-detail carrier. Functions return 0 or -errno; details go here. */
#pragma once
#include <stdarg.h>

/* A documented success variant: the event was swallowed (a duplicate), not an error. */
#define AD_CONSUMED 1

struct ad_err {
    char msg[256]; /* human-readable, no trailing newline */
    const char *file; /* config errors: the file (borrowed), else NULL */
    int line;         /* 1-based; 0 when unknown */
    int col;          /* 1-based; 0 when unknown */
};

/* Formats msg; clears file/line/col. Returns -code (code is a positive errno) for `return ad_err_set(...)`. */
int ad_err_set(struct ad_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Same, with a position in a file (gcc form file:line:col: when printed by ad_err_str). */
int ad_err_set_at(struct ad_err *err, int code, const char *file, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
/* "file:line:col: msg" or just "msg"; writes into buf (size n) and returns buf. */
const char *ad_err_str(const struct ad_err *err, char *buf, unsigned n);
