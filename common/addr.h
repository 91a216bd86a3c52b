/* common/addr.h: listen addresses of the HTTP servers ("127.0.0.1:9101", "[::1]:9102"). IP literals
 * only, so start-up never waits on DNS. Pure: parsing only, no socket is opened. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
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

/* An address block for allow-lists: "10.0.0.0/8", "192.0.2.7" (a /32), "fd00::/8", "::1". */
struct ad_cidr {
    int family;       /* AF_INET or AF_INET6 */
    uint8_t addr[16]; /* network order; the first 4 bytes for AF_INET */
    unsigned prefix;  /* 0..32 or 0..128 */
};
/* Parses s (NUL-terminated) into *ret. Host bits set below the prefix are refused ("10.1.2.3/8"
 * is probably a typo). Returns 0 or -EINVAL. */
int ad_cidr_parse(const char *s, struct ad_cidr *ret);
/* True when sa (AF_INET or AF_INET6) is inside one of the n blocks. An IPv4-mapped IPv6 address
 * (::ffff:10.1.2.3) matches IPv4 blocks. */
bool ad_cidr_match(const struct ad_cidr *v, size_t n, const struct sockaddr *sa);
/* True when s ("0.0.0.0:514", "[::]:9101", "tcp://0.0.0.0:5556", a ZeroMQ "*" host) listens on
 * every address rather than on one. */
bool ad_addr_is_any(const char *s);
/* True when s ("127.0.0.1:9101", "[::1]:9101", "tcp://127.0.0.1:5556", "ipc://...") listens on
 * loopback only (or on no network at all). */
bool ad_addr_is_local(const char *s);
