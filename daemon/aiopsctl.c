/* daemon/aiopsctl.c: offline tools for SREs. Shares the pure pipeline with aiopsd.
 *   aiopsctl replay [-c FILE] [-o OUT] [--summary] [--no-flush] EVENTS.jsonl|-
 *   aiopsctl learn-topology [-c FILE] [-o OUT] [--summary] EVENTS.jsonl|-
 *   aiopsctl publish [--endpoint E] [--socket pub|push] [--rate N] [--topic T]
 *                    [--publisher-id ID] [--no-seq] [--curve-*]
 *                    EVENTS.jsonl|-
 *   aiopsctl curve-keygen NAME
 *   aiopsctl baseline [OPTIONS] SERIES.csv|-   (daemon/ctl_baseline.c)
 *   aiopsctl templates [OPTIONS] LOG|-          (daemon/ctl_templates.c)
 *   aiopsctl check-config FILE */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>

#include "collectors/zmq_auth.h"
#include "common/arena.h"
#include "common/buf.h"
#include "common/err.h"
#include "common/event.h"
#include "common/json.h"
#include "common/seqhdr.h"
#include "common/time.h"
#include "config/config.h"
#include "correlators/candidate.h"
#include "correlators/service_window.h"
#include "daemon/ctl_baseline.h"
#include "daemon/ctl_templates.h"
#include "daemon/pipeline.h"
#include "daemon/sections.h"

#ifndef AD_VERSION
#define AD_VERSION "0.0.0"
#endif

#define MAX_LINE (1u << 20)

static void usage(FILE *f)
{
    fprintf(f,
            "usage: aiopsctl COMMAND [OPTIONS]\n"
            "  replay [-c FILE] [-o OUT] [--summary] [--no-flush] EVENTS.jsonl|-\n"
            "      run the full pipeline offline in event time; candidate changes are written as\n"
            "      JSON lines (docs/redis.md) to OUT or stdout. Deterministic. At the end the\n"
            "      pending updates are emitted, unless --no-flush: then the output is what a\n"
            "      running aiopsd (or one stopped with its pipeline state saved) has written.\n"
            "  learn-topology [-c FILE] [-o OUT] [--summary] EVENTS.jsonl|-\n"
            "      the same run; writes the CI dependencies learned from the events (those that\n"
            "      stand out from chance) in the topology file format, with support and\n"
            "      confidence as comments, to OUT or stdout (docs/topology.md, \"learned\").\n"
            "  publish [--endpoint E] [--socket pub|push] [--rate N] [--wait-subscriber S]\n"
            "          [--topic T] [--publisher-id ID] [--no-seq] EVENTS.jsonl|-\n"
            "      send events to a running aiopsd over ZeroMQ (default: PUB connecting to\n"
            "      tcp://127.0.0.1:5556, waiting for the daemon's subscription first). Each\n"
            "      message is [topic,] \"aiopsd-seq ID N\", event: the daemon counts the\n"
            "      numbers N it never got (default ID: host-pid-time; --no-seq: the bare event).\n"
            "      --curve-server-key FILE  the daemon's CURVE public key (NAME.pub)\n"
            "      --curve-client-key FILE  our CURVE secret key (NAME.key; its NAME.pub must be\n"
            "                               in the daemon's curve_clients_dir)\n"
            "  curve-keygen NAME\n"
            "      write a new CURVE key pair: NAME.key (secret, mode 0600) and NAME.pub\n");
    ad_ctl_baseline_usage(f);
    ad_ctl_templates_usage(f);
    fprintf(f, "  check-config FILE\n"
               "  version\n");
}

static FILE *open_in(const char *path)
{
    if (strcmp(path, "-") == 0)
        return stdin;
    FILE *f = fopen(path, "r");
    if (!f)
        fprintf(stderr, "aiopsctl: %s: %s\n", path, strerror(errno));
    return f;
}

/* Reads one line (without the newline) into buf; returns its length, or -1 at EOF. Lines longer
 * than MAX_LINE are truncated to MAX_LINE + 1 bytes so the parser rejects them as oversize. */
static long read_line(FILE *f, struct ad_buf *buf)
{
    /* fgets in chunks (getc per byte was 40% of a replay); memory stays bounded by MAX_LINE
     * whatever the input. */
    char chunk[65536];
    bool any = false;
    ad_buf_reset(buf);
    while (fgets(chunk, sizeof(chunk), f)) {
        any = true;
        size_t n = strlen(chunk); /* a NUL inside cuts the line there: the parser sees less */
        bool eol = n > 0 && chunk[n - 1] == '\n';
        if (eol)
            n--;
        if (buf->len + n > MAX_LINE + 1)
            n = buf->len > MAX_LINE + 1 ? 0 : MAX_LINE + 1 - buf->len;
        ad_buf_append(buf, chunk, n);
        if (eol)
            break;
    }
    if (!any)
        return -1;
    return (long)buf->len;
}

/* --- replay ----------------------------------------------------------------------------- */

struct replay {
    FILE *out;
    struct ad_buf json;
    uint64_t changes, opened, resolved;
};

static int replay_emit(void *ctx, const struct ad_candidate *c)
{
    struct replay *r = ctx;
    ad_buf_reset(&r->json);
    if (ad_candidate_to_json(c, &r->json) < 0)
        return -ENOMEM;
    fwrite(r->json.p, 1, r->json.len, r->out);
    fputc('\n', r->out);
    r->changes++;
    if (c->state == AD_CAND_OPEN)
        r->opened++;
    else if (c->state == AD_CAND_RESOLVED)
        r->resolved++;
    return 0;
}

static int check_sink(void *ctx, const struct ad_candidate *c)
{
    (void)ctx;
    (void)c;
    return 0;
}

static int load_config(const char *path, struct ad_config **ret)
{
    struct ad_err err = {0};
    char buf[512];
    if (ad_config_load(path, ad_sections(), ret, &err) < 0) {
        fprintf(stderr, "aiopsctl: %s\n", ad_err_str(&err, buf, sizeof(buf)));
        return -1;
    }
    return 0;
}

/* replay, or with learn (learn-topology) the same run with the candidates discarded and the
 * dependencies learned on the way written out in the topology file format. */
static int cmd_replay(int argc, char **argv, bool learn)
{
    static const struct option o[] = {{"config", 1, 0, 'c'},   {"output", 1, 0, 'o'},
                                      {"summary", 0, 0, 's'},  {"no-flush", 0, 0, 'F'},
                                      {"help", 0, 0, 'h'},     {0, 0, 0, 0}};
    const char *cfg_path = NULL, *out_path = NULL;
    bool summary = false, flush = true;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:o:h", o, NULL)) != -1) {
        switch (c) {
        case 'c': cfg_path = optarg; break;
        case 'o': out_path = optarg; break;
        case 's': summary = true; break;
        case 'F': flush = false; break;
        default: usage(c == 'h' ? stdout : stderr); return c == 'h' ? 0 : 2;
        }
    }
    if (optind != argc - 1) {
        usage(stderr);
        return 2;
    }
    struct ad_config *cfg = NULL;
    if (load_config(cfg_path, &cfg) < 0)
        return 1;
    FILE *in = open_in(argv[optind]);
    struct replay rp = {.out = stdout};
    if (out_path && !(rp.out = fopen(out_path, "w"))) {
        fprintf(stderr, "aiopsctl: %s: %s\n", out_path, strerror(errno));
        rp.out = NULL;
    }
    struct ad_json_parser *parser = NULL;
    struct ad_pipeline *pipe = NULL;
    struct ad_err err = {0};
    struct ad_cand_sink sink = {&rp, learn ? check_sink : replay_emit};
    int rc = 1;
    if (!in || !rp.out || ad_json_parser_create(MAX_LINE, &parser) < 0 ||
        ad_pipeline_create(cfg, &sink, &pipe, &err) < 0) {
        if (err.msg[0])
            fprintf(stderr, "aiopsctl: %s\n", err.msg);
        goto out;
    }
    if (learn) {
        struct ad_svcwin *sw = ad_pipeline_correlator(pipe, "service_window");
        if (sw)
            ad_svcwin_learn_all(sw, true);
    }
    struct ad_buf line;
    struct ad_arena arena;
    ad_buf_init(&line);
    ad_arena_init(&arena, 64 * 1024);
    uint64_t lineno = 0, events = 0, rejected = 0, consumed = 0;
    long n;
    /* Events without a timestamp get a fixed receive time so a replay stays deterministic. */
    int64_t now_ns = 0;
    while ((n = read_line(in, &line)) >= 0) {
        lineno++;
        if (n == 0)
            continue;
        struct ad_event ev;
        int r = ad_json_parse_event(parser, line.p, line.len, &arena, now_ns, &ev, &err);
        if (r < 0) {
            rejected++;
            if (rejected <= 10)
                fprintf(stderr, "aiopsctl: %s:%llu: %s\n", argv[optind],
                        (unsigned long long)lineno, err.msg);
        } else {
            events++;
            r = ad_pipeline_process(pipe, &ev);
            if (r == AD_CONSUMED)
                consumed++;
            else if (r < 0)
                rejected++;
        }
        ad_arena_reset(&arena);
    }
    if (flush)
        ad_pipeline_flush(pipe);
    ad_buf_fini(&line);
    ad_arena_fini(&arena);
    if (learn) {
        const struct ad_svcwin *sw = ad_pipeline_correlator(pipe, "service_window");
        ad_buf_reset(&rp.json);
        if (!sw || ad_svcwin_learned_topology(sw, &rp.json) < 0) {
            fprintf(stderr, "aiopsctl: out of memory\n");
            goto out;
        }
        fwrite(rp.json.p, 1, rp.json.len, rp.out);
    }
    if (summary || rejected)
        fprintf(stderr,
                "aiopsctl %s: events=%llu rejected=%llu consumed=%llu (duplicates and learned "
                "metric points) candidate_changes=%llu opened=%llu resolved=%llu\n",
                learn ? "learn-topology" : "replay", (unsigned long long)events, (unsigned long long)rejected,
                (unsigned long long)consumed, (unsigned long long)rp.changes,
                (unsigned long long)rp.opened, (unsigned long long)rp.resolved);
    rc = 0;
out:
    ad_pipeline_destroy(pipe);
    ad_json_parser_destroy(parser);
    if (in && in != stdin)
        fclose(in);
    if (rp.out && rp.out != stdout)
        fclose(rp.out);
    ad_buf_fini(&rp.json);
    ad_config_destroy(cfg);
    return rc;
}

/* --- publish ---------------------------------------------------------------------------- */

static void sleep_ns(int64_t ns)
{
    struct timespec ts = {(time_t)(ns / AD_NS_PER_S), (long)(ns % AD_NS_PER_S)};
    nanosleep(&ts, NULL);
}

/* host-pid-time: unique enough that two runs are two publishers (each counts from 1). */
static void default_publisher_id(char *out, size_t n)
{
    char host[65] = "host";
    gethostname(host, sizeof(host) - 1);
    host[sizeof(host) - 1] = '\0';
    for (char *p = host; *p; p++)
        if (!ad_seq_id_valid(p, 1))
            *p = '-';
    snprintf(out, n, "%.32s-%ld-%llx", host, (long)getpid(),
             (unsigned long long)(ad_now_ns() / 1000000));
}

/* Makes sock a CURVE client: our secret key from client_file (the public half is derived from
 * it), the server's public key from server_file. */
static int curve_client(void *sock, const char *server_file, const char *client_file)
{
    char server[AD_ZMQ_KEY_Z85_LEN + 1], secret[AD_ZMQ_KEY_Z85_LEN + 1],
        public[AD_ZMQ_KEY_Z85_LEN + 1];
    struct ad_err err = {0};
    char buf[512];
    int r = ad_zmq_key_load(server_file, server, &err);
    if (r == 0)
        r = ad_zmq_key_load(client_file, secret, &err);
    if (r < 0) {
        fprintf(stderr, "aiopsctl: %s\n", ad_err_str(&err, buf, sizeof(buf)));
        return r;
    }
    if (zmq_curve_public(public, secret) != 0 ||
        zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, server, AD_ZMQ_KEY_Z85_LEN + 1) != 0 ||
        zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, public, AD_ZMQ_KEY_Z85_LEN + 1) != 0 ||
        zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, secret, AD_ZMQ_KEY_Z85_LEN + 1) != 0) {
        fprintf(stderr, "aiopsctl: cannot enable CURVE: %s\n", zmq_strerror(zmq_errno()));
        r = -1;
    }
    explicit_bzero(secret, sizeof(secret));
    return r;
}

static int write_key(const char *name, const char *ext, const char *what, const char *key,
                     mode_t mode)
{
    char path[4096];
    if ((size_t)snprintf(path, sizeof(path), "%s.%s", name, ext) >= sizeof(path)) {
        fprintf(stderr, "aiopsctl: %s.%s: name too long\n", name, ext);
        return -1;
    }
    /* O_EXCL: never overwrite a key someone relies on. */
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        fprintf(stderr, "aiopsctl: cannot create %s: %s\n", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    fprintf(f, "# aiopsd CURVE %s key (aiopsctl curve-keygen)\n%s\n", what, key);
    if (fclose(f) != 0) {
        fprintf(stderr, "aiopsctl: cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    printf("%s\n", path);
    return 0;
}

static int cmd_curve_keygen(int argc, char **argv)
{
    char public[AD_ZMQ_KEY_Z85_LEN + 1], secret[AD_ZMQ_KEY_Z85_LEN + 1];
    if (argc != 2 || argv[1][0] == '-') {
        usage(stderr);
        return 2;
    }
    if (!zmq_has("curve") || zmq_curve_keypair(public, secret) != 0) {
        fprintf(stderr, "aiopsctl: this libzmq cannot make CURVE keys\n");
        return 1;
    }
    int r = write_key(argv[1], "key", "secret", secret, 0600);
    if (r == 0)
        r = write_key(argv[1], "pub", "public", public, 0644);
    explicit_bzero(secret, sizeof(secret));
    return r == 0 ? 0 : 1;
}

static int cmd_publish(int argc, char **argv)
{
    static const struct option o[] = {
        {"endpoint", 1, 0, 'e'}, {"socket", 1, 0, 's'}, {"rate", 1, 0, 'r'},
        {"bind", 0, 0, 'b'},     {"wait-subscriber", 1, 0, 'w'}, {"topic", 1, 0, 't'},
        {"publisher-id", 1, 0, 'p'}, {"no-seq", 0, 0, 'n'}, {"help", 0, 0, 'h'},
        {"curve-server-key", 1, 0, 'S'}, {"curve-client-key", 1, 0, 'C'}, {0, 0, 0, 0}};
    const char *endpoint = "tcp://127.0.0.1:5556", *type = "pub", *topic = NULL;
    char pub_id[AD_SEQ_ID_MAX + 1] = "";
    const char *curve_server = NULL, *curve_client_key = NULL;
    double rate = 0, wait_s = 10;
    bool bind = false, numbered = true;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "e:s:r:bh", o, NULL)) != -1) {
        switch (c) {
        case 'e': endpoint = optarg; break;
        case 's': type = optarg; break;
        case 'r': rate = atof(optarg); break;
        case 'b': bind = true; break;
        case 'w': wait_s = atof(optarg); break;
        case 't': topic = optarg; break;
        case 'p': snprintf(pub_id, sizeof(pub_id), "%s", optarg); break;
        case 'n': numbered = false; break;
        case 'S': curve_server = optarg; break;
        case 'C': curve_client_key = optarg; break;
        default: usage(c == 'h' ? stdout : stderr); return c == 'h' ? 0 : 2;
        }
    }
    if (optind != argc - 1 || (strcmp(type, "pub") != 0 && strcmp(type, "push") != 0) ||
        !curve_server != !curve_client_key) {
        usage(stderr);
        return 2;
    }
    if (!pub_id[0])
        default_publisher_id(pub_id, sizeof(pub_id));
    char hdr[AD_SEQ_ID_MAX + 48];
    if (numbered && ad_seq_format(hdr, sizeof(hdr), pub_id, 1) < 0) {
        fprintf(stderr, "aiopsctl: --publisher-id: 1 to %d of [A-Za-z0-9._:-], got \"%s\"\n",
                AD_SEQ_ID_MAX, pub_id);
        return 2;
    }
    FILE *in = open_in(argv[optind]);
    if (!in)
        return 1;
    bool pub = strcmp(type, "pub") == 0;
    void *ctx = zmq_ctx_new();
    /* XPUB instead of PUB: it receives the subscriber's subscription, so we know when the daemon
     * is listening instead of sleeping and hoping (PUB drops everything sent before). */
    void *sock = zmq_socket(ctx, pub ? ZMQ_XPUB : ZMQ_PUSH);
    int hwm = 0, linger = 30000, rc = 1;
    zmq_setsockopt(sock, ZMQ_SNDHWM, &hwm, sizeof(hwm));
    zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof(linger));
    if (curve_server && curve_client(sock, curve_server, curve_client_key) < 0)
        goto out;
    if ((bind ? zmq_bind(sock, endpoint) : zmq_connect(sock, endpoint)) != 0) {
        fprintf(stderr, "aiopsctl: %s: %s\n", endpoint, zmq_strerror(zmq_errno()));
        goto out;
    }
    if (pub) {
        int timeout = (int)(wait_s * 1000);
        zmq_setsockopt(sock, ZMQ_RCVTIMEO, &timeout, sizeof(timeout));
        char sub[256];
        if (zmq_recv(sock, sub, sizeof(sub), 0) < 0) {
            fprintf(stderr, "aiopsctl: no subscriber on %s after %.0fs\n", endpoint, wait_s);
            goto out;
        }
    }
    struct ad_buf line;
    ad_buf_init(&line);
    uint64_t sent = 0;
    int64_t t0 = ad_mono_ns();
    while (read_line(in, &line) >= 0) {
        if (line.len == 0)
            continue;
        int hlen = numbered ? ad_seq_format(hdr, sizeof(hdr), pub_id, sent + 1) : 0;
        if ((topic && zmq_send(sock, topic, strlen(topic), ZMQ_SNDMORE) < 0) ||
            (hlen > 0 && zmq_send(sock, hdr, (size_t)hlen, ZMQ_SNDMORE) < 0) ||
            zmq_send(sock, line.p, line.len, 0) < 0) {
            fprintf(stderr, "aiopsctl: send: %s\n", zmq_strerror(zmq_errno()));
            break;
        }
        sent++;
        if (rate > 0) {
            int64_t due = t0 + (int64_t)((double)sent * 1e9 / rate);
            int64_t now = ad_mono_ns();
            if (due > now)
                sleep_ns(due - now);
        }
    }
    ad_buf_fini(&line);
    double secs = (double)(ad_mono_ns() - t0) / 1e9;
    fprintf(stderr, "aiopsctl publish: sent=%llu seconds=%.3f events_per_s=%.0f\n",
            (unsigned long long)sent, secs, secs > 0 ? (double)sent / secs : 0);
    rc = 0;
out:
    zmq_close(sock); /* linger: queued messages are still delivered */
    zmq_ctx_term(ctx);
    if (in != stdin)
        fclose(in);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "replay") == 0)
        return cmd_replay(argc - 1, argv + 1, false);
    if (strcmp(cmd, "learn-topology") == 0)
        return cmd_replay(argc - 1, argv + 1, true);
    if (strcmp(cmd, "publish") == 0)
        return cmd_publish(argc - 1, argv + 1);
    if (strcmp(cmd, "curve-keygen") == 0)
        return cmd_curve_keygen(argc - 1, argv + 1);
    if (strcmp(cmd, "baseline") == 0)
        return ad_ctl_baseline_run(argc - 1, argv + 1);
    if (strcmp(cmd, "templates") == 0)
        return ad_ctl_templates_run(argc - 1, argv + 1);
    if (strcmp(cmd, "check-config") == 0 && argc == 3) {
        struct ad_config *cfg = NULL;
        if (load_config(argv[2], &cfg) < 0)
            return 1;
        /* Build the pipeline once, as aiopsd --check-config does: semantic errors (a topology
         * file, a mask's regex, a detector name) are found too. */
        struct ad_pipeline *p = NULL;
        struct ad_cand_sink sink = {NULL, check_sink};
        struct ad_err err = {0};
        char buf[512];
        int r = ad_pipeline_create(cfg, &sink, &p, &err);
        ad_pipeline_destroy(p);
        ad_config_destroy(cfg);
        if (r < 0) {
            fprintf(stderr, "aiopsctl: %s: %s\n", argv[2], ad_err_str(&err, buf, sizeof(buf)));
            return 1;
        }
        printf("aiopsctl: configuration %s is valid\n", argv[2]);
        return 0;
    }
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("aiopsctl %s\n", AD_VERSION);
        return 0;
    }
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "aiopsctl: unknown command '%s'\n", cmd);
    usage(stderr);
    return 2;
}
