/* collectors/tls.c: OpenSSL server contexts for the listeners (tls.h). A reload builds a complete
 * new SSL_CTX and swaps it in only when it loaded: connections already open hold a reference to
 * the old one (SSL_new takes one), so it lives until the last of them closes. */
#include "collectors/tls.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "common/err.h"
#include "common/log.h"
#include "common/metrics.h"

struct ad_tls {
    char what[64];                               /* "collectors.http", for messages */
    char *cert_file, *key_file, *client_ca_file; /* our copies */
    SSL_CTX *ctx;                                /* what new connections get */
    int64_t not_after_s;                         /* the certificate's expiry, Unix seconds */
    uint64_t handshakes_ok, handshakes_failed, reloads_ok, reloads_failed;
};

bool ad_tls_cfg_enabled(const struct ad_tls_cfg *cfg)
{
    return cfg && cfg->cert_file && cfg->cert_file[0];
}

/* "PEM routines: no start line": the first (root) and, when it differs, the last reason in
 * OpenSSL's error queue, which is then emptied. */
static const char *ssl_reason(char *buf, size_t n)
{
    unsigned long first = ERR_peek_error(), last = ERR_peek_last_error();
    const char *fl = ERR_lib_error_string(first), *fr = ERR_reason_error_string(first);
    const char *ll = ERR_lib_error_string(last), *lr = ERR_reason_error_string(last);
    if (first == 0)
        snprintf(buf, n, "unknown error");
    else if (last == first)
        snprintf(buf, n, "%s: %s", fl ? fl : "OpenSSL", fr ? fr : "error");
    else
        snprintf(buf, n, "%s: %s (%s: %s)", fl ? fl : "OpenSSL", fr ? fr : "error",
                 ll ? ll : "OpenSSL", lr ? lr : "error");
    ERR_clear_error();
    return buf;
}

/* Counts handshakes. A failed one ends with an exit from the state machine while an error sits
 * in OpenSSL's queue (a want-read exit leaves none); bufferevent_openssl reads that queue only
 * after SSL_do_handshake returned, i.e. after this callback. */
static void info_cb(const SSL *ssl, int where, int ret)
{
    struct ad_tls *t = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
    if (!t)
        return;
    if (where & SSL_CB_HANDSHAKE_DONE)
        t->handshakes_ok++;
    else if ((where & SSL_CB_EXIT) && ret <= 0 && ERR_peek_error() != 0)
        t->handshakes_failed++;
}

static int load_error(struct ad_tls *t, const char *opt, const char *path, struct ad_err *reterr)
{
    char why[256];
    return ad_err_set(reterr, EINVAL, "%s.tls.%s: cannot load %s: %s", t->what, opt, path,
                      ssl_reason(why, sizeof(why)));
}

/* A new context from the files; *ret_ctx only on success. */
static int build(struct ad_tls *t, SSL_CTX **ret_ctx, int64_t *ret_not_after, struct ad_err *reterr)
{
    int r = 0;
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx)
        return ad_err_set(reterr, ENOMEM, "%s: cannot create a TLS context", t->what);
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    if (SSL_CTX_use_certificate_chain_file(ctx, t->cert_file) != 1) {
        r = load_error(t, "cert_file", t->cert_file, reterr);
        goto out_free;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, t->key_file, SSL_FILETYPE_PEM) != 1) {
        r = load_error(t, "key_file", t->key_file, reterr);
        goto out_free;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        char why[256];
        r = ad_err_set(reterr, EINVAL, "%s.tls.key_file: %s does not match the certificate %s: %s",
                       t->what, t->key_file, t->cert_file, ssl_reason(why, sizeof(why)));
        goto out_free;
    }
    if (t->client_ca_file[0]) {
        STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(t->client_ca_file);
        if (!names || SSL_CTX_load_verify_locations(ctx, t->client_ca_file, NULL) != 1) {
            if (names)
                sk_X509_NAME_pop_free(names, X509_NAME_free);
            r = load_error(t, "client_ca_file", t->client_ca_file, reterr);
            goto out_free;
        }
        SSL_CTX_set_client_CA_list(ctx, names); /* takes names */
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    }
    /* Needed for session resumption when client certificates are verified. */
    SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"aiopsd", 6);
    SSL_CTX_set_app_data(ctx, t);
    SSL_CTX_set_info_callback(ctx, info_cb);
    struct tm tm;
    X509 *x = SSL_CTX_get0_certificate(ctx);
    *ret_not_after =
        x && ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) == 1 ? (int64_t)timegm(&tm) : 0;
    *ret_ctx = ctx;
    return 0;

out_free:
    SSL_CTX_free(ctx);
    return r;
}

/* "subject CN=x, serial 3E9" of the context's certificate, for the log. */
static void describe(SSL_CTX *ctx, char *buf, size_t n)
{
    X509 *x = SSL_CTX_get0_certificate(ctx);
    char subject[256] = "?";
    char *serial = NULL;
    if (x) {
        X509_NAME_oneline(X509_get_subject_name(x), subject, sizeof(subject));
        BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
        serial = bn ? BN_bn2hex(bn) : NULL;
        BN_free(bn);
    }
    snprintf(buf, n, "subject %s, serial %s", subject, serial ? serial : "?");
    OPENSSL_free(serial);
}

int ad_tls_create(const struct ad_tls_cfg *cfg, const char *what, struct ad_tls **ret,
                  struct ad_err *reterr)
{
    if (!cfg->key_file || !cfg->key_file[0])
        return ad_err_set(reterr, EINVAL, "%s.tls.key_file: needed with tls.cert_file", what);
    struct ad_tls *t = calloc(1, sizeof(*t));
    if (!t)
        return ad_err_set(reterr, ENOMEM, "%s: out of memory", what);
    snprintf(t->what, sizeof(t->what), "%s", what);
    t->cert_file = strdup(cfg->cert_file);
    t->key_file = strdup(cfg->key_file);
    t->client_ca_file = strdup(cfg->client_ca_file ? cfg->client_ca_file : "");
    int r;
    if (!t->cert_file || !t->key_file || !t->client_ca_file) {
        r = ad_err_set(reterr, ENOMEM, "%s: out of memory", what);
        goto out_destroy;
    }
    if ((r = build(t, &t->ctx, &t->not_after_s, reterr)) < 0)
        goto out_destroy;
    char desc[512];
    describe(t->ctx, desc, sizeof(desc));
    ad_log(AD_LOG_INFO, "%s: TLS certificate %s%s", what, desc,
           t->client_ca_file[0] ? "; client certificates required" : "");
    *ret = t;
    return 0;

out_destroy:
    ad_tls_destroy(t);
    return r;
}

int ad_tls_reload(struct ad_tls *t, struct ad_err *reterr)
{
    SSL_CTX *ctx = NULL;
    int64_t not_after = 0;
    int r = build(t, &ctx, &not_after, reterr);
    if (r < 0) {
        char buf[512];
        t->reloads_failed++;
        ad_log(AD_LOG_ERROR, "%s: new TLS certificate refused, keeping the running one: %s",
               t->what, ad_err_str(reterr, buf, sizeof(buf)));
        return r;
    }
    SSL_CTX_free(t->ctx); /* open connections hold their own reference */
    t->ctx = ctx;
    t->not_after_s = not_after;
    t->reloads_ok++;
    char desc[512];
    describe(ctx, desc, sizeof(desc));
    ad_log(AD_LOG_NOTICE, "%s: TLS certificate reloaded: %s", t->what, desc);
    return 0;
}

struct bufferevent *ad_tls_accept(struct ad_tls *t, struct event_base *base, int fd, int options)
{
    SSL *ssl = SSL_new(t->ctx);
    if (!ssl)
        return NULL;
    struct bufferevent *bev =
        bufferevent_openssl_socket_new(base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING, options);
    if (!bev) {
        /* With BEV_OPT_CLOSE_ON_FREE a failed constructor has freed ssl already. */
        if (!(options & BEV_OPT_CLOSE_ON_FREE))
            SSL_free(ssl);
        return NULL;
    }
    /* A client that closes without close_notify is an end of stream, not an error. */
    bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    return bev;
}

struct bufferevent *ad_tls_http_bev(struct event_base *base, void *arg)
{
    /* fd -1: evhttp sets the accepted socket on it. A NULL here (out of memory) would make evhttp
     * fall back to a plain connection, so there is none: SSL_new failing aborts the process
     * rather than serve in clear on a TLS port. */
    struct bufferevent *bev =
        ad_tls_accept(arg, base, -1, BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
    if (!bev) {
        ad_log(AD_LOG_ERROR, "TLS: out of memory for a new connection; exiting");
        abort();
    }
    return bev;
}

void ad_tls_stats(const struct ad_tls *t, const char *listener, struct ad_metrics *m)
{
    char lbl[128];
    static const char hs_help[] = "TLS handshakes on a listener, by result.";
    static const char rl_help[] = "SIGHUP re-reads of a listener's TLS files, by result.";
    snprintf(lbl, sizeof(lbl), "listener=\"%s\",result=\"ok\"", listener);
    ad_metrics_counter(m, "aiopsd_tls_handshakes_total", hs_help, lbl, t->handshakes_ok);
    ad_metrics_counter(m, "aiopsd_tls_reloads_total", rl_help, lbl, t->reloads_ok);
    snprintf(lbl, sizeof(lbl), "listener=\"%s\",result=\"failed\"", listener);
    ad_metrics_counter(m, "aiopsd_tls_handshakes_total", hs_help, lbl, t->handshakes_failed);
    ad_metrics_counter(m, "aiopsd_tls_reloads_total", rl_help, lbl, t->reloads_failed);
    snprintf(lbl, sizeof(lbl), "listener=\"%s\"", listener);
    ad_metrics_gauge(m, "aiopsd_tls_certificate_expiry_timestamp_seconds",
                     "When the served certificate expires (Unix time).", lbl,
                     (double)t->not_after_s);
}

void ad_tls_destroy(struct ad_tls *t)
{
    if (!t)
        return;
    SSL_CTX_free(t->ctx);
    free(t->cert_file);
    free(t->key_file);
    free(t->client_ca_file);
    free(t);
}
