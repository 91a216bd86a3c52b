/* collectors/zmq_auth.h: ZeroMQ CURVE for the zmq collector. The server's secret key comes from
 * a file, the clients allowed in from a directory of public keys, and a ZAP handler
 * (inproc://zeromq.zap.01) in the collector's context admits or refuses each handshake on the
 * libevent loop. A socket monitor counts the handshakes that failed, including peers without
 * CURVE, which never reach ZAP. Key files: docs/collectors.md ("CURVE"). */
#pragma once
#include <stddef.h>
#include <stdint.h>

struct ad_err;
struct ad_metrics;
struct event_base;
struct ad_zmq_auth;

#define AD_ZMQ_KEY_Z85_LEN 40 /* a 32-byte CURVE key in Z85 text */

/* Reads a key file: one Z85 key of 40 characters, optionally after "public-key = " or
 * "secret-key = " (the zmq_cert format's lines), surrounding blanks and comments (#) ignored.
 * ret_z85 gets the 40 characters and a NUL. Returns 0 or -errno with reterr naming the file. */
int ad_zmq_key_load(const char *path, char ret_z85[AD_ZMQ_KEY_Z85_LEN + 1], struct ad_err *reterr);

/* Loads the server's secret key and every "*.pub" file of clients_dir (at least one), and binds
 * the ZAP handler in zctx. what names the component in errors ("collectors.zmq"). The handler is
 * served on base once ad_zmq_auth_start() ran. Returns 0 or -errno with reterr set. */
int ad_zmq_auth_create(void *zctx, struct event_base *base, const char *what,
                       const char *secret_key_file, const char *clients_dir,
                       struct ad_zmq_auth **ret, struct ad_err *reterr);
/* Makes sock a CURVE server under the ZAP handler and monitors its handshakes; before bind. */
int ad_zmq_auth_apply(struct ad_zmq_auth *a, void *sock, struct ad_err *reterr);
/* Adds the ZAP and monitor sockets to the loop (after bind/connect). */
int ad_zmq_auth_start(struct ad_zmq_auth *a, struct ad_err *reterr);
/* Closes the ZAP and monitor sockets and takes them off the loop; before zmq_ctx_term. The
 * server socket must be closed first (it owns the monitor). Idempotent. */
void ad_zmq_auth_stop(struct ad_zmq_auth *a);
/* aiopsd_zmq_curve_{accepted,denied}_total and aiopsd_zmq_handshake_failed_total{reason}. */
void ad_zmq_auth_stats(const struct ad_zmq_auth *a, const char *collector, struct ad_metrics *m);
void ad_zmq_auth_destroy(struct ad_zmq_auth *a); /* NULL-safe; stops first */
