/* common/series_csv.h: reads a metric series as "timestamp,value" CSV (the Numenta Anomaly
 * Benchmark layout) for aiopsctl baseline and the baseline benches. One row per call, streaming
 * (any file length, constant memory). A first line that does not parse as a row is taken as the
 * header. Timestamps: "YYYY-MM-DD HH:MM:SS[.fff]" (UTC), RFC 3339 ("T", "Z" or an offset), or an
 * epoch number (seconds, ms, us or ns by magnitude, as events' timestamps: docs/events.md).
 * Surrounding spaces and quotes, CRLF and blank lines are accepted. */
#pragma once
#include <stdint.h>
#include <stdio.h>

struct ad_err;
struct ad_csv_reader;

struct ad_csv_row {
    int64_t t_ns;
    double value;      /* may be NaN or inf when the file says so ("nan", "inf"): the caller decides */
    const char *ts;    /* the timestamp field as written (valid until the next call) */
    size_t ts_len;
    long line;         /* 1-based line number in the file */
};

int ad_csv_open(FILE *f, const char *name, struct ad_csv_reader **ret, struct ad_err *reterr);
/* 1 and a row, 0 at the end, or -EINVAL with "name:line:col: what was expected" in reterr (the
 * caller may go on with the next row) / -ENOMEM / -EIO. */
int ad_csv_next(struct ad_csv_reader *r, struct ad_csv_row *row, struct ad_err *reterr);
void ad_csv_close(struct ad_csv_reader *r); /* NULL-safe; does not fclose the FILE */
