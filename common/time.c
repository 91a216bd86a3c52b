/* common/time.c: clocks and RFC 3339 conversion without locale or TZ dependence. */
#include "common/time.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

int64_t ad_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * AD_NS_PER_S + ts.tv_nsec;
}

int64_t ad_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * AD_NS_PER_S + ts.tv_nsec;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar (Howard Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static int digits(const char *p, const char *end, int n, int *ret)
{
    int v = 0;
    if (end - p < n)
        return -1;
    for (int i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    *ret = v;
    return 0;
}

int ad_time_parse_rfc3339(struct ad_str s, int64_t *ret_ns)
{
    const char *p = s.p, *end = s.p + s.len;
    int Y, M, D, h, m, sec;
    int64_t frac_ns = 0;

    if (!p || digits(p, end, 4, &Y) || end - p < 5 || p[4] != '-')
        return -EINVAL;
    p += 5;
    if (digits(p, end, 2, &M) || end - p < 3 || p[2] != '-')
        return -EINVAL;
    p += 3;
    if (digits(p, end, 2, &D) || end - p < 3 || (p[2] != 'T' && p[2] != 't' && p[2] != ' '))
        return -EINVAL;
    p += 3;
    if (digits(p, end, 2, &h) || end - p < 3 || p[2] != ':')
        return -EINVAL;
    p += 3;
    if (digits(p, end, 2, &m) || end - p < 3 || p[2] != ':')
        return -EINVAL;
    p += 3;
    if (digits(p, end, 2, &sec))
        return -EINVAL;
    p += 2;
    if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60)
        return -EINVAL;
    if (p < end && *p == '.') {
        int64_t scale = AD_NS_PER_S / 10;
        p++;
        if (p >= end || *p < '0' || *p > '9')
            return -EINVAL;
        while (p < end && *p >= '0' && *p <= '9') {
            frac_ns += (*p - '0') * scale;
            scale /= 10;
            p++;
        }
    }
    int64_t off_s = 0;
    if (p < end && (*p == 'Z' || *p == 'z')) {
        p++;
    } else if (p < end && (*p == '+' || *p == '-')) {
        int oh, om, sign = *p == '-' ? -1 : 1;
        p++;
        if (digits(p, end, 2, &oh) || end - p < 5 || p[2] != ':' || digits(p + 3, end, 2, &om))
            return -EINVAL;
        if (oh > 23 || om > 59)
            return -EINVAL;
        off_s = sign * (oh * 3600 + om * 60);
        p += 5;
    } else {
        return -EINVAL;
    }
    if (p != end)
        return -EINVAL;
    int64_t secs = days_from_civil(Y, (unsigned)M, (unsigned)D) * 86400 + h * 3600 + m * 60 + sec - off_s;
    /* int64 nanoseconds span 1677-09-21 to 2262-04-11; outside that the time cannot be held. */
    if (secs <= INT64_MIN / AD_NS_PER_S || secs >= INT64_MAX / AD_NS_PER_S)
        return -ERANGE;
    *ret_ns = secs * AD_NS_PER_S + frac_ns;
    return 0;
}

char *ad_time_format_rfc3339(int64_t ns, char *buf, size_t n)
{
    time_t secs = (time_t)(ns >= 0 ? ns / AD_NS_PER_S : (ns - AD_NS_PER_S + 1) / AD_NS_PER_S);
    int ms = (int)((ns - (int64_t)secs * AD_NS_PER_S) / AD_NS_PER_MS);
    struct tm tm;
    gmtime_r(&secs, &tm);
    snprintf(buf, n, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
    return buf;
}
