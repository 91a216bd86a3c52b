/* tests/fuzz/fuzz_series_csv.c: libFuzzer harness for the timestamp,value CSV reader
 * (common/series_csv.h). Any input must end in a bounded number of calls, each returning a
 * documented code: a row whose timestamp points into a short field on the line it names, or
 * -EINVAL with "name:line:col: expected ..." for that line. Built as a fuzzer with -DAD_FUZZ=ON,
 * else replayed by replay_main.c. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/series_csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what, const struct ad_err *err)
{
    fprintf(stderr, "fuzz_series_csv: %s (%s)\n", what, err ? err->msg : "");
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A tmpfile, not fmemopen: a FILE over an empty buffer is refused by some libcs. */
    FILE *f = tmpfile();
    if (!f || (size && fwrite(data, 1, size, f) != size)) {
        if (f)
            fclose(f);
        return 0;
    }
    rewind(f);
    struct ad_csv_reader *r = NULL;
    struct ad_err err = {0};
    if (ad_csv_open(f, "fuzz.csv", &r, &err) < 0)
        fail("open", &err);
    struct ad_csv_row row;
    long last_line = 0;
    int rc;
    /* Each call consumes at least one line, so there are at most size + 1 of them. */
    for (size_t calls = 0; (rc = ad_csv_next(r, &row, &err)) != 0; calls++) {
        if (calls > size + 1)
            fail("no progress", NULL);
        if (rc == 1) {
            if (row.line <= last_line || !row.ts || row.ts_len == 0 || row.ts_len > 64)
                fail("bad row", NULL);
            last_line = row.line;
        } else if (rc == -EINVAL) {
            char want[64];
            snprintf(want, sizeof(want), "fuzz.csv:%d:%d: expected ", err.line, err.col);
            if (err.line <= last_line || err.col < 1 || strncmp(err.msg, want, strlen(want)) != 0)
                fail("bad error", &err);
            last_line = err.line;
        } else {
            fail("unexpected return code", &err);
        }
    }
    ad_csv_close(r);
    fclose(f);
    return 0;
}
