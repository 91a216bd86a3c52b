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
