/* common/time.h: nanosecond times. Event time drives every window; the clock is read once per batch. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "common/str.h"

#define AD_NS_PER_US INT64_C(1000)
#define AD_NS_PER_MS INT64_C(1000000)
#define AD_NS_PER_S INT64_C(1000000000)

int64_t ad_now_ns(void);  /* CLOCK_REALTIME, ns since the Unix epoch */
int64_t ad_mono_ns(void); /* CLOCK_MONOTONIC, ns */

/* Parses RFC 3339 ("2026-11-24T15:30:00Z", "...T15:30:00.123+01:00", also a space for 'T').
 * Returns 0 and writes ns since epoch, or -EINVAL. */
int ad_time_parse_rfc3339(struct ad_str s, int64_t *ret_ns);
/* Formats UTC with millisecond precision: "2026-11-24T15:30:00.123Z". n >= 25. Returns buf. */
char *ad_time_format_rfc3339(int64_t ns, char *buf, size_t n);
