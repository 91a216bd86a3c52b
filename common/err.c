/* common/err.c: error detail formatting. */
#include "common/err.h"

#include <stdio.h>

static void vset(struct ad_err *err, const char *fmt, va_list ap)
{
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
}

int ad_err_set(struct ad_err *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vset(err, fmt, ap);
        va_end(ap);
        err->file = NULL;
        err->line = err->col = 0;
    }
    return -code;
}

int ad_err_set_at(struct ad_err *err, int code, const char *file, int line, int col, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vset(err, fmt, ap);
        va_end(ap);
        err->file = file;
        err->line = line;
        err->col = col;
    }
    return -code;
}

const char *ad_err_str(const struct ad_err *err, char *buf, unsigned n)
{
    if (err->file && err->line > 0)
        snprintf(buf, n, "%s:%d:%d: %s", err->file, err->line, err->col, err->msg);
    else if (err->file)
        snprintf(buf, n, "%s: %s", err->file, err->msg);
    else
        snprintf(buf, n, "%s", err->msg);
    return buf;
}
