/* common/addr.c: see addr.h. */
#include "common/addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ad_addr_parse(const char *s, struct sockaddr_storage *ret, socklen_t *ret_len)
{
    const char *colon = s ? strrchr(s, ':') : NULL;
    char host[64], *end;

    if (!colon || colon[1] < '0' || colon[1] > '9')
        return -EINVAL;
    unsigned long port = strtoul(colon + 1, &end, 10);
    if (*end != '\0' || port > 65535)
        return -EINVAL;
    const bool v6 = s[0] == '[';
    const char *h = s;
    size_t n = (size_t)(colon - s);
    if (v6) {
        if (n < 2 || colon[-1] != ']')
            return -EINVAL;
        h++;
        n -= 2;
    }
    if (n == 0 || n >= sizeof(host))
        return -EINVAL;
    memcpy(host, h, n);
    host[n] = '\0';

    memset(ret, 0, sizeof(*ret));
    if (v6) {
        struct sockaddr_in6 *sa = (struct sockaddr_in6 *)ret;
        sa->sin6_family = AF_INET6;
        sa->sin6_port = htons((uint16_t)port);
        *ret_len = (socklen_t)sizeof(*sa);
        return inet_pton(AF_INET6, host, &sa->sin6_addr) == 1 ? 0 : -EINVAL;
    }
    struct sockaddr_in *sa = (struct sockaddr_in *)ret;
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)port);
    *ret_len = (socklen_t)sizeof(*sa);
    return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -EINVAL;
}

int ad_addr_port(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
    if (ss->ss_family == AF_INET)
        return ntohs(((const struct sockaddr_in *)ss)->sin_port);
    return 0;
}

int ad_addr_bound_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
        return 0;
    return ad_addr_port(&ss);
}

void ad_addr_host(const char *s, char *buf, size_t n)
{
    const char *colon = strrchr(s, ':');
    int len = colon ? (int)(colon - s) : (int)strlen(s);
    snprintf(buf, n, "%.*s", len, s);
}

static bool prefix_bits_clear(const uint8_t *a, unsigned prefix, unsigned bits)
{
    for (unsigned i = prefix; i < bits; i++)
        if (a[i / 8] & (0x80u >> (i % 8)))
            return false;
    return true;
}

int ad_cidr_parse(const char *s, struct ad_cidr *ret)
{
    char host[64];
    const char *slash = s ? strchr(s, '/') : NULL;
    size_t n = slash ? (size_t)(slash - s) : (s ? strlen(s) : 0);
    struct ad_cidr c = {0};

    if (n == 0 || n >= sizeof(host))
        return -EINVAL;
    memcpy(host, s, n);
    host[n] = '\0';
    if (inet_pton(AF_INET, host, c.addr) == 1) {
        c.family = AF_INET;
        c.prefix = 32;
    } else if (inet_pton(AF_INET6, host, c.addr) == 1) {
        c.family = AF_INET6;
        c.prefix = 128;
    } else {
        return -EINVAL;
    }
    if (slash) {
        char *end;
        unsigned long p = slash[1] >= '0' && slash[1] <= '9' ? strtoul(slash + 1, &end, 10) : 999;
        if (p > c.prefix || *end != '\0')
            return -EINVAL;
        unsigned bits = c.prefix;
        c.prefix = (unsigned)p;
        if (!prefix_bits_clear(c.addr, c.prefix, bits))
            return -EINVAL;
    }
    *ret = c;
    return 0;
}

static bool prefix_equal(const uint8_t *a, const uint8_t *b, unsigned prefix)
{
    unsigned full = prefix / 8, rest = prefix % 8;
    if (memcmp(a, b, full) != 0)
        return false;
    return rest == 0 || ((a[full] ^ b[full]) & (0xffu << (8 - rest))) == 0;
}

bool ad_cidr_match(const struct ad_cidr *v, size_t n, const struct sockaddr *sa)
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    const uint8_t *a4 = NULL, *a6 = NULL;
    if (sa->sa_family == AF_INET) {
        a4 = (const uint8_t *)&((const struct sockaddr_in *)(const void *)sa)->sin_addr;
    } else if (sa->sa_family == AF_INET6) {
        a6 = (const uint8_t *)&((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
        if (memcmp(a6, mapped, sizeof(mapped)) == 0)
            a4 = a6 + 12;
    }
    for (size_t i = 0; i < n; i++) {
        if (v[i].family == AF_INET && a4 && prefix_equal(a4, v[i].addr, v[i].prefix))
            return true;
        if (v[i].family == AF_INET6 && a6 && prefix_equal(a6, v[i].addr, v[i].prefix))
            return true;
    }
    return false;
}

/* The host part of "host:port", "[v6]:port", "tcp://host:port" into buf; false for other forms. */
static bool host_of(const char *s, char *buf, size_t n)
{
    if (strncmp(s, "tcp://", 6) == 0)
        s += 6;
    else if (strstr(s, "://"))
        return false; /* ipc://, inproc://: no network */
    const char *colon = strrchr(s, ':');
    if (!colon)
        return false;
    size_t len = (size_t)(colon - s);
    if (len >= 2 && s[0] == '[' && colon[-1] == ']') {
        s++;
        len -= 2;
    }
    if (len >= n)
        return false;
    memcpy(buf, s, len);
    buf[len] = '\0';
    return true;
}

bool ad_addr_is_any(const char *s)
{
    char h[64];
    if (!s || !host_of(s, h, sizeof(h)))
        return false;
    return strcmp(h, "0.0.0.0") == 0 || strcmp(h, "::") == 0 || strcmp(h, "*") == 0 ||
           strcmp(h, "") == 0;
}

bool ad_addr_is_local(const char *s)
{
    char h[64];
    uint8_t a[16];
    if (!s || !s[0] || (strstr(s, "://") && strncmp(s, "tcp://", 6) != 0))
        return true; /* disabled, or ipc:// and the like */
    if (!host_of(s, h, sizeof(h)))
        return false;
    if (inet_pton(AF_INET, h, a) == 1)
        return a[0] == 127;
    if (inet_pton(AF_INET6, h, a) == 1)
        return memcmp(a, (const uint8_t[16]){0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 16) ==
               0;
    return strcmp(h, "localhost") == 0;
}
