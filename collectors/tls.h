/* collectors/tls.h: TLS (OpenSSL) for the listeners: the HTTP collector, syslog over TCP and the
 * admin server. One ad_tls holds the certificate, key and optional client CA of one listener,
 * re-read on SIGHUP: new connections get the new certificate, open ones keep theirs, and a new
 * set that does not load is refused with the reason logged while the running one stays.
 * docs/security.md ("Transport encryption"). */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "config/opt.h"

struct ad_err;
struct ad_metrics;
struct ad_tls;
struct bufferevent;
struct event_base;

/* The options of one listener, written as the group `tls: {cert_file, key_file, client_ca_file}`
 * in its section. Paths are kept until a restart; the files' contents are re-read on SIGHUP. */
struct ad_tls_cfg {
    char *cert_file;      /* PEM certificate chain; "" = no TLS */
    char *key_file;       /* PEM private key */
    char *client_ca_file; /* PEM CAs; when set, clients must present a certificate they signed */
};

#define AD_TLS_OPTS(T, f)                                                                          \
    AD_OPT_STRING_R("tls.cert_file", "", "4096", T, f.cert_file,                                   \
                    "TLS: PEM certificate (chain) of this listener; empty = plain TCP. The file "  \
                    "is re-read on SIGHUP (a new path needs a restart)."),                         \
        AD_OPT_STRING_R("tls.key_file", "", "4096", T, f.key_file,                                 \
                        "TLS: PEM private key of the certificate. Re-read on SIGHUP."),            \
        AD_OPT_STRING_R("tls.client_ca_file", "", "4096", T, f.client_ca_file,                     \
                        "TLS: PEM CA certificates; when set, clients must present a "              \
                        "certificate signed by one of them. Re-read on SIGHUP.")

/* True when cfg turns TLS on (a cert_file is given). */
bool ad_tls_cfg_enabled(const struct ad_tls_cfg *cfg);

/* Loads the files of cfg for the listener named what ("collectors.http"); cfg's strings are
 * copied. Returns 0, or -errno with reterr naming the option and file (a missing key_file, an
 * unreadable or malformed file, a key that does not match the certificate). */
int ad_tls_create(const struct ad_tls_cfg *cfg, const char *what, struct ad_tls **ret,
                  struct ad_err *reterr);
void ad_tls_destroy(struct ad_tls *t); /* NULL-safe; after every connection using it is gone */

/* Re-reads the files. On success new connections use them (logged at notice with the new
 * certificate's subject and serial); on failure the running ones stay and the reason is logged
 * at error. Returns 0 or -errno (reterr set). */
int ad_tls_reload(struct ad_tls *t, struct ad_err *reterr);

/* An evhttp connection's bufferevent (ad_http_guard_cfg.new_bev, ctx: the struct ad_tls): a TLS
 * one for the socket evhttp accepts. Never NULL: out of memory aborts rather than let evhttp
 * fall back to a plain connection on a TLS port. */
struct bufferevent *ad_tls_http_bev(struct event_base *base, void *tls);
/* A server-side TLS bufferevent for the accepted socket fd (options: BEV_OPT_*); NULL when out
 * of memory (fd is then still the caller's). */
struct bufferevent *ad_tls_accept(struct ad_tls *t, struct event_base *base, int fd, int options);

/* aiopsd_tls_handshakes_total{listener,result}, aiopsd_tls_reloads_total{listener,result} and
 * aiopsd_tls_certificate_expiry_seconds{listener}. */
void ad_tls_stats(const struct ad_tls *t, const char *listener, struct ad_metrics *m);
