/* common/addr.h: listen addresses of the HTTP servers ("127.0.0.1:9101", "[::1]:9102"). IP literals
 * only, so start-up never waits on DNS. Pure: parsing only, no socket is opened. */
#pragma once
#include <stddef.h>
#include <sys/socket.h>

/* Parses "IPv4:port" or "[IPv6]:port" (port 0..65535; 0 lets the kernel pick one) into *ret and
 * its length. Returns 0 or -EINVAL. */
int ad_addr_parse(const char *s, struct sockaddr_storage *ret, socklen_t *ret_len);
/* The port of an AF_INET or AF_INET6 address (host order), 0 for anything else. */
int ad_addr_port(const struct sockaddr_storage *ss);
/* The port socket fd is bound to (what port 0 became), 0 when it cannot be told. */
int ad_addr_bound_port(int fd);
/* The host part of s for log lines ("127.0.0.1", "[::1]"): at most n - 1 bytes, NUL-terminated. */
void ad_addr_host(const char *s, char *buf, size_t n);
