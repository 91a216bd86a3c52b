/* collectors/zmq_auth.c: CURVE keys, the ZAP handler and the handshake monitor of the zmq
 * collector (zmq_auth.h). Everything runs on the libevent loop: ZAP requests are answered as they
 * arrive on the REP socket's ZMQ_FD; nothing here blocks. */
#include "collectors/zmq_auth.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <zmq.h>

#include "common/err.h"
#include "common/log.h"
#include "common/metrics.h"

#define ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define ZAP_DOMAIN "aiopsd"
#define KEY_FILE_MAX 4096
#define MAX_CLIENTS 65536
#define DRAIN_MAX 256 /* messages per wakeup on a ZAP or monitor socket */
#define ZAP_FRAMES 8  /* version, id, domain, address, identity, mechanism, credentials (+1) */

enum hs_reason { HS_AUTH = 0, HS_PROTOCOL, HS_OTHER, HS_COUNT };
static const char *const hs_names[HS_COUNT] = {"auth", "protocol", "other"};

/* One inproc socket served on the loop through its edge-triggered ZMQ_FD. */
struct zsock {
    struct ad_zmq_auth *a;
    void *sock;
    struct event *ev_read, *ev_more;
    void (*handle)(struct ad_zmq_auth *a, zmq_msg_t *frames, size_t n);
};

struct ad_zmq_auth {
    char what[64];
    struct event_base *base;
    void *zctx;
    uint8_t secret[32];
    uint8_t (*clients)[32]; /* allowed public keys */
    size_t n_clients;
    struct zsock zap, mon;
    char mon_ep[64];
    uint64_t accepted, denied, failed[HS_COUNT];
};

/* --- key files ------------------------------------------------------------------------------- */

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* The key in text: the first line that is, without surrounding blanks, 40 characters of valid
 * Z85, or that holds one between double quotes (zmq_cert's `public-key = "..."`). Comments and
 * other lines are skipped: Z85 has no blank or quote, so a comment never decodes as a key (a test
 * by position, such as a leading '#', would not do: '#' and '=' are Z85 characters). */
static int find_key(char *text, uint8_t ret_bin[32], const char **ret_key)
{
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        char *q1 = strchr(line, '"'), *q2 = q1 ? strchr(q1 + 1, '"') : NULL;
        if (q1 && q2) {
            line = q1 + 1;
            *q2 = '\0';
        }
        while (is_blank(*line))
            line++;
        size_t n = strlen(line);
        while (n > 0 && is_blank(line[n - 1]))
            line[--n] = '\0';
        if (n == AD_ZMQ_KEY_Z85_LEN && zmq_z85_decode(ret_bin, line)) {
            *ret_key = line;
            return 0;
        }
    }
    return -EBADMSG;
}

int ad_zmq_key_load(const char *path, char ret_z85[AD_ZMQ_KEY_Z85_LEN + 1], struct ad_err *reterr)
{
    char buf[KEY_FILE_MAX + 1];
    FILE *f = fopen(path, "re");
    if (!f)
        return ad_err_set(reterr, errno, "cannot read CURVE key file %s: %s", path,
                          strerror(errno));
    size_t n = fread(buf, 1, sizeof(buf), f);
    bool err = ferror(f);
    fclose(f);
    if (err || n > KEY_FILE_MAX)
        return ad_err_set(reterr, err ? EIO : EMSGSIZE, "cannot read CURVE key file %s: %s", path,
                          err ? "read error" : "larger than 4 KiB");
    buf[n] = '\0';
    const char *key = NULL;
    uint8_t bin[32];
    int r = find_key(buf, bin, &key);
    if (r == 0)
        memcpy(ret_z85, key, AD_ZMQ_KEY_Z85_LEN + 1);
    explicit_bzero(buf, sizeof(buf)); /* it may hold a secret key */
    explicit_bzero(bin, sizeof(bin));
    if (r < 0)
        return ad_err_set(reterr, EBADMSG,
                          "CURVE key file %s: expected one 40-character Z85 key (as written by "
                          "aiopsctl curve-keygen)",
                          path);
    return 0;
}

static bool has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n > m && strcmp(s + n - m, suffix) == 0;
}

static int add_client(struct ad_zmq_auth *a, const char *dir, const char *name,
                      struct ad_err *reterr)
{
    char path[4096], z85[AD_ZMQ_KEY_Z85_LEN + 1];
    if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
        return ad_err_set(reterr, ENAMETOOLONG, "%s: path too long: %s/%s", a->what, dir, name);
    int r = ad_zmq_key_load(path, z85, reterr);
    if (r < 0)
        return r;
    if (a->n_clients == MAX_CLIENTS)
        return ad_err_set(reterr, ENOBUFS, "%s: more than %d client keys in %s", a->what,
                          MAX_CLIENTS, dir);
    void *p = realloc(a->clients, (a->n_clients + 1) * sizeof(*a->clients));
    if (!p)
        return ad_err_set(reterr, ENOMEM, "%s: out of memory", a->what);
    a->clients = p;
    zmq_z85_decode(a->clients[a->n_clients++], z85);
    return 0;
}

static int load_clients(struct ad_zmq_auth *a, const char *dir, struct ad_err *reterr)
{
    DIR *d = opendir(dir);
    if (!d)
        return ad_err_set(reterr, errno, "%s: cannot open the client key directory %s: %s", a->what,
                          dir, strerror(errno));
    int r = 0;
    struct dirent *e;
    while (r == 0 && (e = readdir(d)))
        if (e->d_name[0] != '.' && has_suffix(e->d_name, ".pub"))
            r = add_client(a, dir, e->d_name, reterr);
    closedir(d);
    if (r == 0 && a->n_clients == 0)
        r = ad_err_set(reterr, ENOENT,
                       "%s: no client public key (*.pub) in %s: no client could connect", a->what,
                       dir);
    return r;
}

/* --- sockets on the loop --------------------------------------------------------------------- */

static bool readable(void *sock)
{
    int events = 0;
    size_t n = sizeof(events);
    return zmq_getsockopt(sock, ZMQ_EVENTS, &events, &n) == 0 && (events & ZMQ_POLLIN);
}

/* Receives one whole message into frames (at most ZAP_FRAMES kept; the rest is discarded). */
static int recv_msg(void *sock, zmq_msg_t *frames, size_t *ret_n)
{
    size_t n = 0;
    zmq_msg_t extra;
    for (;;) {
        zmq_msg_t *m = n < ZAP_FRAMES ? &frames[n] : &extra;
        zmq_msg_init(m);
        if (zmq_msg_recv(m, sock, ZMQ_DONTWAIT) < 0) {
            int e = zmq_errno();
            zmq_msg_close(m);
            for (size_t i = 0; i < n && i < ZAP_FRAMES; i++)
                zmq_msg_close(&frames[i]);
            return -e;
        }
        bool more = zmq_msg_more(m);
        if (m == &extra)
            zmq_msg_close(m);
        n++;
        if (!more)
            break;
    }
    *ret_n = n < ZAP_FRAMES ? n : ZAP_FRAMES;
    return 0;
}

static void zsock_drain(struct zsock *z)
{
    zmq_msg_t frames[ZAP_FRAMES];
    for (int i = 0; i < DRAIN_MAX; i++) {
        size_t n = 0;
        if (!readable(z->sock) || recv_msg(z->sock, frames, &n) < 0)
            return;
        z->handle(z->a, frames, n);
        for (size_t j = 0; j < n; j++)
            zmq_msg_close(&frames[j]);
    }
    /* Still readable: no new edge will come for what is queued (see zmq.c's drain()). */
    if (readable(z->sock)) {
        static const struct timeval zero = {0, 0};
        event_add(z->ev_more, &zero);
    }
}

static void on_zsock(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    zsock_drain(arg);
}

static int zsock_start(struct zsock *z, struct event_base *base)
{
    int fd;
    size_t n = sizeof(fd);
    if (zmq_getsockopt(z->sock, ZMQ_FD, &fd, &n) != 0)
        return -zmq_errno();
    z->ev_read = event_new(base, fd, EV_READ | EV_PERSIST, on_zsock, z);
    z->ev_more = event_new(base, -1, 0, on_zsock, z);
    if (!z->ev_read || !z->ev_more || event_add(z->ev_read, NULL) != 0)
        return -ENOMEM;
    zsock_drain(z); /* what came before event_add produced its edge already */
    return 0;
}

static void zsock_stop(struct zsock *z)
{
    if (z->ev_read)
        event_free(z->ev_read);
    if (z->ev_more)
        event_free(z->ev_more);
    z->ev_read = z->ev_more = NULL;
    if (z->sock)
        zmq_close(z->sock);
    z->sock = NULL;
}

static void *inproc_socket(void *zctx, int type)
{
    void *s = zmq_socket(zctx, type);
    int zero = 0;
    if (s)
        zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof(zero));
    return s;
}

/* --- ZAP (RFC 27) ---------------------------------------------------------------------------- */

static bool frame_is(zmq_msg_t *m, const char *s)
{
    size_t n = strlen(s);
    return zmq_msg_size(m) == n && memcmp(zmq_msg_data(m), s, n) == 0;
}

static bool allowed(const struct ad_zmq_auth *a, const void *key)
{
    for (size_t i = 0; i < a->n_clients; i++)
        if (memcmp(a->clients[i], key, 32) == 0)
            return true;
    return false;
}

static void reply(void *sock, zmq_msg_t *id, const char *code, const char *text)
{
    zmq_send(sock, "1.0", 3, ZMQ_SNDMORE | ZMQ_DONTWAIT);
    zmq_send(sock, zmq_msg_data(id), zmq_msg_size(id), ZMQ_SNDMORE | ZMQ_DONTWAIT);
    zmq_send(sock, code, strlen(code), ZMQ_SNDMORE | ZMQ_DONTWAIT);
    zmq_send(sock, text, strlen(text), ZMQ_SNDMORE | ZMQ_DONTWAIT);
    zmq_send(sock, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT); /* user id */
    zmq_send(sock, "", 0, ZMQ_DONTWAIT);               /* metadata */
}

static void on_zap(struct ad_zmq_auth *a, zmq_msg_t *f, size_t n)
{
    /* A REP socket must answer every request it took, or it stops receiving. */
    if (n < 6 || !frame_is(&f[0], "1.0")) {
        if (n >= 2)
            reply(a->zap.sock, &f[1], "500", "malformed ZAP request");
        return;
    }
    char addr[64];
    snprintf(addr, sizeof(addr), "%.*s", (int)zmq_msg_size(&f[3]),
             (const char *)zmq_msg_data(&f[3]));
    bool ok = n >= 7 && frame_is(&f[5], "CURVE") && zmq_msg_size(&f[6]) == 32 &&
              allowed(a, zmq_msg_data(&f[6]));
    if (ok) {
        a->accepted++;
        reply(a->zap.sock, &f[1], "200", "OK");
        return;
    }
    a->denied++;
    char z85[AD_ZMQ_KEY_Z85_LEN + 1] = "?";
    if (n >= 7 && zmq_msg_size(&f[6]) == 32)
        zmq_z85_encode(z85, zmq_msg_data(&f[6]), 32);
    AD_LOG_RATELIMITED(AD_LOG_WARN, "%s: CURVE client %s from %s is not allowed: refused", a->what,
                       z85, addr);
    reply(a->zap.sock, &f[1], "400", "unknown client key");
}

static void on_monitor(struct ad_zmq_auth *a, zmq_msg_t *f, size_t n)
{
    if (n < 1 || zmq_msg_size(&f[0]) < 6)
        return;
    uint16_t ev;
    memcpy(&ev, zmq_msg_data(&f[0]), sizeof(ev));
    if (ev == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
        a->failed[HS_AUTH]++;
    else if (ev == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL)
        a->failed[HS_PROTOCOL]++;
    else if (ev == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL)
        a->failed[HS_OTHER]++;
    else
        return;
    /* Peers without CURVE end here without passing through ZAP. */
    if (ev != ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
        AD_LOG_RATELIMITED(AD_LOG_WARN, "%s: handshake failed with %.*s (not a CURVE client?)",
                           a->what, n > 1 ? (int)zmq_msg_size(&f[1]) : 0,
                           n > 1 ? (const char *)zmq_msg_data(&f[1]) : "");
}

/* --- lifecycle ------------------------------------------------------------------------------- */

int ad_zmq_auth_create(void *zctx, struct event_base *base, const char *what,
                       const char *secret_key_file, const char *clients_dir,
                       struct ad_zmq_auth **ret, struct ad_err *reterr)
{
    char z85[AD_ZMQ_KEY_Z85_LEN + 1];
    struct ad_zmq_auth *a = calloc(1, sizeof(*a));
    if (!a)
        return ad_err_set(reterr, ENOMEM, "%s: out of memory", what);
    snprintf(a->what, sizeof(a->what), "%s", what);
    a->base = base;
    a->zctx = zctx;
    a->zap = (struct zsock){a, NULL, NULL, NULL, on_zap};
    a->mon = (struct zsock){a, NULL, NULL, NULL, on_monitor};
    int r = ad_zmq_key_load(secret_key_file, z85, reterr);
    if (r < 0)
        goto out_destroy;
    zmq_z85_decode(a->secret, z85);
    explicit_bzero(z85, sizeof(z85));
    if ((r = load_clients(a, clients_dir, reterr)) < 0)
        goto out_destroy;
    a->zap.sock = inproc_socket(zctx, ZMQ_REP);
    if (!a->zap.sock || zmq_bind(a->zap.sock, ZAP_ENDPOINT) != 0) {
        int e = zmq_errno();
        r = ad_err_set(reterr, e, "%s: cannot bind the ZAP handler %s: %s", what, ZAP_ENDPOINT,
                       zmq_strerror(e));
        goto out_destroy;
    }
    *ret = a;
    return 0;

out_destroy:
    ad_zmq_auth_destroy(a);
    return r;
}

int ad_zmq_auth_apply(struct ad_zmq_auth *a, void *sock, struct ad_err *reterr)
{
    int one = 1;
    int events = ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                 ZMQ_EVENT_HANDSHAKE_FAILED_AUTH;
    snprintf(a->mon_ep, sizeof(a->mon_ep), "inproc://aiopsd-zmq-monitor-%p", (void *)a);
    if (zmq_setsockopt(sock, ZMQ_CURVE_SERVER, &one, sizeof(one)) != 0 ||
        zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, a->secret, sizeof(a->secret)) != 0 ||
        zmq_setsockopt(sock, ZMQ_ZAP_DOMAIN, ZAP_DOMAIN, strlen(ZAP_DOMAIN)) != 0 ||
        zmq_socket_monitor(sock, a->mon_ep, events) != 0)
        goto fail;
    a->mon.sock = inproc_socket(a->zctx, ZMQ_PAIR);
    if (!a->mon.sock || zmq_connect(a->mon.sock, a->mon_ep) != 0)
        goto fail;
    return 0;
fail:;
    int e = zmq_errno();
    return ad_err_set(reterr, e, "%s: cannot enable CURVE: %s%s", a->what, zmq_strerror(e),
                      zmq_has("curve") ? "" : " (this libzmq has no CURVE)");
}

int ad_zmq_auth_start(struct ad_zmq_auth *a, struct ad_err *reterr)
{
    int r = zsock_start(&a->zap, a->base);
    if (r == 0 && a->mon.sock)
        r = zsock_start(&a->mon, a->base);
    if (r < 0)
        return ad_err_set(reterr, -r, "%s: cannot add the ZAP handler to the loop: %s", a->what,
                          zmq_strerror(-r));
    return 0;
}

void ad_zmq_auth_stop(struct ad_zmq_auth *a)
{
    if (!a)
        return;
    zsock_stop(&a->mon);
    zsock_stop(&a->zap);
}

void ad_zmq_auth_stats(const struct ad_zmq_auth *a, const char *collector, struct ad_metrics *m)
{
    char lbl[128];
    snprintf(lbl, sizeof(lbl), "collector=\"%s\"", collector);
    ad_metrics_counter(m, "aiopsd_zmq_curve_accepted_total",
                       "CURVE handshakes whose client key is in the allowed directory.", lbl,
                       a->accepted);
    ad_metrics_counter(m, "aiopsd_zmq_curve_denied_total",
                       "CURVE handshakes refused: the client key is not allowed.", lbl, a->denied);
    for (int i = 0; i < HS_COUNT; i++) {
        char rl[192];
        snprintf(rl, sizeof(rl), "collector=\"%s\",reason=\"%s\"", collector, hs_names[i]);
        ad_metrics_counter(m, "aiopsd_zmq_handshake_failed_total",
                           "ZeroMQ handshakes that failed (auth: refused by ZAP; protocol: e.g. a "
                           "peer without CURVE), by reason.",
                           rl, a->failed[i]);
    }
}

void ad_zmq_auth_destroy(struct ad_zmq_auth *a)
{
    if (!a)
        return;
    ad_zmq_auth_stop(a);
    explicit_bzero(a->secret, sizeof(a->secret));
    free(a->clients);
    free(a);
}
