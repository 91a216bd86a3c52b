/* daemon/svg_plot.h: a self-contained SVG chart of a metric series and the baseline learned for
 * it (aiopsctl baseline --plot), for an SRE to open in a browser. Pure: builds the document in a
 * buffer; the caller writes it out. */
#pragma once
#include <stddef.h>
#include <stdint.h>

struct ad_buf;

/* Above this many points the series is decimated per pixel column: the value line keeps each
 * column's minimum and maximum, the band the column's outer edges, the flagged points the
 * column's highest and lowest. The document stays a few hundred KiB whatever the length. */
#define AD_SVG_DECIMATE_ABOVE 4000

struct ad_svg_series {
    const char *title;    /* heading, e.g. the file name (XML-escaped here); may be NULL */
    const char *subtitle; /* second line, e.g. detector and season; may be NULL */
    size_t n;             /* points in each array */
    const int64_t *t_ns;  /* non-decreasing, ns since the epoch (axis in UTC) */
    const double *value;  /* NaN or inf: a gap in the line */
    /* The learned baseline; NaN where the detector was not warm (no band drawn there). Each may
     * be NULL (nothing of it drawn). */
    const double *expected, *lower, *upper;
    const double *score; /* anomaly score, shown on the red dots (points outside [lower,
                          * upper]); may be NULL */
    int width, height;   /* pixels; 0 for 1200 x 480 */
};

/* Appends the SVG document for s to out. Returns 0, -EINVAL (n > 0 without t_ns or value, or a
 * size below 320 x 200), or -ENOMEM. */
int ad_svg_plot(const struct ad_svg_series *s, struct ad_buf *out);
