/* tests/integration/test_daemon_attack.c: the real aiopsd under the attacks of issue 15, over
 * loopback, with a real redis-server (docs/security.md, "Bounded under attack"):
 *  - a connection flood on the HTTP collector: it holds max_connections and closes the rest at
 *    once (counted); meanwhile /healthz and /readyz answer, and events from another collector
 *    (ZeroMQ) reach Redis; once the flood goes, the collector serves again;
 *  - a client trickling its request a byte at a time is cut at the request deadline;
 *  - a request without the token is refused on its head: the 401 comes before any of its body;
 *  - out of descriptors (EMFILE): accept errors are counted and logged rate-limited, and the
 *    daemon does not spin; it serves again once descriptors are free. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <zmq.h>

#include "fx_daemon.h"
#include "fx_redis.h"
#include "fx_wait.h"

#define TOKEN "s3cret-flood-t0ken"
#define FLOOD 300
#define MAX_CONNS 50

struct world {
    struct fx_redis redis;
    struct fx_daemon daemon;
    redisContext *rc;
    int http_port;
    char dir[64];
    char token_file[128];
    char body[64 * 1024];
};

static int setup(void **state)
{
    struct world *w = calloc(1, sizeof(*w));
    if (!w || fx_redis_start(&w->redis) != 0)
        return -1;
    w->rc = fx_redis_connect(&w->redis);
    snprintf(w->dir, sizeof(w->dir), "/tmp/aiopsd-attack.XXXXXX");
    if (!mkdtemp(w->dir) || fx_write_file(w->dir, "http.token", TOKEN "\n") != 0)
        return -1;
    snprintf(w->token_file, sizeof(w->token_file), "%s/http.token", w->dir);
    w->http_port = fx_free_port();
    *state = w;
    return w->rc && w->http_port > 0 ? 0 : -1;
}

static int teardown(void **state)
{
    struct world *w = *state;
    if (w->daemon.pid > 0)
        fx_daemon_stop(&w->daemon, 20000);
    redisFree(w->rc);
    fx_redis_stop(&w->redis);
    unlink(w->token_file);
    rmdir(w->dir);
    free(w);
    return 0;
}

static void start(struct world *w, unsigned max_conns, const char *timeout)
{
    char coll[512];
    snprintf(coll, sizeof(coll),
             "  http:\n    enabled: true\n    listen: \"127.0.0.1:%d\"\n"
             "    token_file: \"%s\"\n    max_connections: %u\n    timeout: %s\n",
             w->http_port, w->token_file, max_conns, timeout);
    assert_int_equal(fx_daemon_start_with(&w->daemon, w->redis.port, "pull", coll,
                                          "daemon:\n  idle_tick: 1m\n", true),
                     0);
}

/* The value of one series on /metrics ("name{labels}"), or -1. */
static double series(struct world *w, const char *name_labels)
{
    static char buf[1 << 20];
    if (fx_http_get(w->daemon.admin_port, "/metrics", buf, sizeof(buf)) != 200)
        return -1;
    size_t n = strlen(name_labels);
    for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n"))
        if (strncmp(line, name_labels, n) == 0 && line[n] == ' ')
            return strtod(line + n + 1, NULL);
    return -1;
}

struct series_wait {
    struct world *w;
    const char *name;
    double v;
};

static bool series_is(void *ctx)
{
    struct series_wait *s = ctx;
    return series(s->w, s->name) == s->v;
}

static bool wait_series(struct world *w, const char *name, double v, int ms)
{
    struct series_wait s = {w, name, v};
    return fx_wait_until(series_is, &s, ms);
}

#define REFUSED_LIMIT                                                                              \
    "aiopsd_http_connections_refused_total{listener=\"http\",reason=\"max_connections\"}"
#define REFUSED_DEADLINE                                                                           \
    "aiopsd_http_connections_refused_total{listener=\"http\",reason=\"deadline\"}"
#define OPEN_CONNS "aiopsd_http_connections{listener=\"http\"}"

static int post_events(struct world *w, const char *auth, const char *body)
{
    char headers[256];
    snprintf(headers, sizeof(headers), "Content-Type: application/json\r\n%s", auth ? auth : "");
    return fx_http_request(w->http_port, "POST", "/api/v1/events", headers, body, strlen(body),
                           w->body, sizeof(w->body));
}

static void send_zmq(struct world *w, const char *line)
{
    void *ctx = zmq_ctx_new();
    void *s = zmq_socket(ctx, ZMQ_PUSH);
    int linger = 10000;
    char ep[64];
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof(linger));
    snprintf(ep, sizeof(ep), "tcp://127.0.0.1:%d", w->daemon.zmq_port);
    assert_int_equal(zmq_connect(s, ep), 0);
    assert_int_equal(zmq_send(s, line, strlen(line), 0), (int)strlen(line));
    zmq_close(s);
    zmq_ctx_term(ctx);
}

struct mention {
    struct world *w;
    const char *needle;
};

static bool in_redis(void *ctx)
{
    struct mention *m = ctx;
    return fx_redis_stream_mentions(m->w->rc, "aiopsd:candidates", m->needle) > 0;
}

/* True when the server closed fd (EOF or reset) within ms. */
static bool closed_within(int fd, int ms)
{
    char b[512];
    int64_t end = fx_mono_ms() + ms;
    for (;;) {
        int left = (int)(end - fx_mono_ms());
        struct pollfd p = {fd, POLLIN, 0};
        if (left <= 0 || poll(&p, 1, left) <= 0)
            return false;
        ssize_t k = recv(fd, b, sizeof(b), MSG_DONTWAIT);
        if (k == 0 || (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
            return true;
    }
}

static void a_connection_flood_leaves_health_checks_redis_and_other_collectors_working(void **state)
{
    struct world *w = *state;
    int fds[FLOOD];
    char buf[256];

    start(w, MAX_CONNS, "1h");
    /* Connections that send nothing, as a slowloris flood would. */
    for (int i = 0; i < FLOOD; i++) {
        fds[i] = fx_connect(SOCK_STREAM, w->http_port);
        assert_true(fds[i] >= 0);
    }
    assert_true(wait_series(w, REFUSED_LIMIT, FLOOD - MAX_CONNS, 20000));
    assert_true(series(w, OPEN_CONNS) == MAX_CONNS);
    assert_true(closed_within(fds[FLOOD - 1], 5000)); /* refused ones are closed at once */

    /* Health checks answer while the collector is full. */
    int64_t worst = 0;
    for (int i = 0; i < 20; i++) {
        int64_t t0 = fx_mono_ms();
        assert_int_equal(fx_http_get(w->daemon.admin_port, "/healthz", buf, sizeof(buf)), 200);
        int64_t dt = fx_mono_ms() - t0;
        worst = dt > worst ? dt : worst;
    }
    assert_int_equal(fx_http_get(w->daemon.admin_port, "/readyz", buf, sizeof(buf)), 200);
    printf("flood: %d connections, %d held, %.0f refused; /healthz worst of 20: %lld ms\n", FLOOD,
           MAX_CONNS, series(w, REFUSED_LIMIT), (long long)worst);

    /* Another collector's events still reach Redis. */
    send_zmq(w, "{\"service\":\"pay\",\"resource\":\"flood-db1\",\"check\":\"DiskFull\","
                "\"severity\":\"critical\",\"timestamp\":\"2026-11-24T09:00:00Z\"}");
    struct mention m = {w, "flood-db1"};
    assert_true(fx_wait_until(in_redis, &m, 20000));

    /* The flood goes; the collector serves again. */
    for (int i = 0; i < FLOOD; i++)
        close(fds[i]);
    assert_true(wait_series(w, OPEN_CONNS, 0, 20000));
    assert_int_equal(post_events(w, "Authorization: Bearer " TOKEN "\r\n",
                                 "{\"service\":\"pay\",\"resource\":\"after-flood\",\"check\":"
                                 "\"Cpu\",\"severity\":\"warning\"}"),
                     200);
    assert_int_equal(fx_daemon_stop(&w->daemon, 20000), 0);
}

static void a_trickling_client_is_cut_at_the_deadline(void **state)
{
    struct world *w = *state;
    static const char head[] = "POST /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                               "Authorization: Bearer " TOKEN "\r\nX-Slow: ";
    start(w, MAX_CONNS, "2s");
    int fd = fx_connect(SOCK_STREAM, w->http_port);
    assert_true(fd >= 0);
    int64_t t0 = fx_mono_ms();
    assert_int_equal(fx_send_all(fd, head, sizeof(head) - 1), 0);
    /* One byte every 200 ms: each restarts evhttp's idle timeout, not the deadline. */
    bool cut = false;
    for (int i = 0; i < 100 && !cut; i++) {
        cut = closed_within(fd, 200) || send(fd, "a", 1, MSG_NOSIGNAL) != 1;
    }
    int64_t dt = fx_mono_ms() - t0;
    close(fd);
    printf("trickle: cut after %lld ms (deadline 2000 ms)\n", (long long)dt);
    assert_true(cut);
    assert_true(dt >= 1900 && dt < 8000);
    assert_true(wait_series(w, REFUSED_DEADLINE, 1, 10000));
    assert_int_equal(fx_daemon_stop(&w->daemon, 20000), 0);
}

static void a_request_without_the_token_is_refused_before_its_body(void **state)
{
    struct world *w = *state;
    char resp[1024];
    static const char head[] = "POST /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                               "Content-Type: application/json\r\nAuthorization: Bearer nope\r\n"
                               "Content-Length: 8388608\r\n\r\n";
    start(w, MAX_CONNS, "30s");
    int fd = fx_connect(SOCK_STREAM, w->http_port);
    assert_true(fd >= 0);
    assert_int_equal(fx_send_all(fd, head, sizeof(head) - 1), 0);
    /* Not one byte of the 8 MiB body is sent: the answer comes from the head alone. */
    size_t n = 0;
    int64_t end = fx_mono_ms() + 10000;
    while (n < sizeof(resp) - 1 && fx_mono_ms() < end) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 100) <= 0)
            continue;
        ssize_t k = recv(fd, resp + n, sizeof(resp) - 1 - n, 0);
        if (k <= 0)
            break;
        n += (size_t)k;
    }
    resp[n] = '\0';
    close(fd);
    assert_non_null(strstr(resp, "HTTP/1.1 401 Unauthorized\r\n"));
    assert_non_null(strstr(resp, "WWW-Authenticate: Bearer"));
    assert_int_equal(series(w, "aiopsd_http_requests_refused_early_total{listener=\"http\"}"), 1);
    assert_int_equal(series(w, "aiopsd_collector_bytes_total{collector=\"http\"}"), 0);
    /* With the token, the same collector takes events. */
    assert_int_equal(post_events(w, "Authorization: Bearer " TOKEN "\r\n",
                                 "{\"service\":\"pay\",\"resource\":\"r\",\"check\":\"c\","
                                 "\"severity\":\"warning\"}"),
                     200);
    assert_int_equal(fx_daemon_stop(&w->daemon, 20000), 0);
}

/* --- out of descriptors ------------------------------------------------------------------------
 */

static int open_fds(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
    DIR *d = opendir(path);
    int n = 0;
    if (!d)
        return -1;
    for (struct dirent *e; (e = readdir(d));)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

/* user + system CPU time of pid, in clock ticks. */
static long cpu_ticks(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')');
    long ut = 0, st = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %ld %ld", &ut, &st) != 2)
        return -1;
    return ut + st;
}

static long log_count(struct world *w, const char *needle)
{
    static char buf[4 << 20];
    FILE *f = fopen(w->daemon.log, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    long c = 0;
    for (char *p = strstr(buf, needle); p; p = strstr(p + 1, needle))
        c++;
    return c;
}

static bool accept_failed(void *ctx)
{
    return log_count(ctx, "accept failed") > 0;
}

static void out_of_descriptors_the_daemon_pauses_accepting_instead_of_spinning(void **state)
{
    struct world *w = *state;
    enum { N = 40 };
    int fds[N];
    if (getenv("AD_DAEMON_WRAPPER"))
        skip(); /* valgrind keeps descriptors of its own above the limit */
    start(w, 1000, "1h");
    pid_t pid = w->daemon.pid;
    int used = open_fds(pid);
    assert_true(used > 0);
    struct rlimit old, low;
    assert_int_equal(prlimit(pid, RLIMIT_NOFILE, NULL, &old), 0);
    low = old;
    low.rlim_cur = (rlim_t)used + 10;
    assert_int_equal(prlimit(pid, RLIMIT_NOFILE, &low, NULL), 0);

    for (int i = 0; i < N; i++) {
        fds[i] = fx_connect(SOCK_STREAM, w->http_port);
        assert_true(fds[i] >= 0); /* the kernel's backlog takes what the daemon cannot */
    }
    assert_true(fx_wait_until(accept_failed, w, 10000));
    /* While it lasts: the loop sleeps between tries (100 ms) instead of spinning at 100%. */
    long t0 = cpu_ticks(pid);
    int64_t m0 = fx_mono_ms();
    usleep(1000 * 1000); /* a measurement window, not a synchronisation */
    long ticks = cpu_ticks(pid) - t0;
    int64_t ms = fx_mono_ms() - m0;
    long hz = sysconf(_SC_CLK_TCK);
    printf("EMFILE: %ld ms of CPU in %lld ms; %ld log lines\n", ticks * 1000 / hz, (long long)ms,
           log_count(w, "accept failed"));
    assert_true(ticks * 1000 / hz < ms / 4);
    assert_true(log_count(w, "accept failed") <= 2); /* rate-limited: one per 10 s and listener */

    for (int i = 0; i < N; i++)
        close(fds[i]);
    assert_int_equal(prlimit(pid, RLIMIT_NOFILE, &old, NULL), 0);
    assert_true(fx_daemon_wait_metric(&w->daemon, "aiopsd_http_accept_errors_total", 1, 10000));
    assert_int_equal(post_events(w, "Authorization: Bearer " TOKEN "\r\n",
                                 "{\"service\":\"pay\",\"resource\":\"r\",\"check\":\"c\","
                                 "\"severity\":\"warning\"}"),
                     200);
    assert_int_equal(fx_daemon_stop(&w->daemon, 20000), 0);
}

/* --- configuration warnings --------------------------------------------------------------------
 */

static char *check_config(const char *dir, const char *yaml, int *status)
{
    char cmd[512], cfg[160];
    snprintf(cfg, sizeof(cfg), "%s/w.yaml", dir);
    assert_int_equal(fx_write_file(dir, "w.yaml", yaml), 0);
    snprintf(cmd, sizeof(cmd), "%s/aiopsd --check-config -c %s 2>&1", AD_BINARY_DIR, cfg);
    char *out = fx_run_capture(cmd, status);
    unlink(cfg);
    assert_non_null(out);
    return out;
}

static void open_listeners_and_readable_secrets_are_warned_about(void **state)
{
    struct world *w = *state;
    char yaml[1024];
    int status;
    assert_int_equal(chmod(w->token_file, 0644), 0);
    snprintf(yaml, sizeof(yaml),
             "admin:\n  listen: \"0.0.0.0:0\"\n"
             "collectors:\n  http:\n    enabled: true\n    listen: \"[::]:0\"\n"
             "  syslog:\n    enabled: true\n    udp_listen: \"0.0.0.0:0\"\n"
             "    tcp_listen: \"127.0.0.1:0\"\n"
             "  zmq:\n    endpoints: [\"tcp://*:5556\"]\n"
             "models:\n  silence:\n    file: \"\"\n"
             "outputs:\n  redis:\n    endpoint: \"127.0.0.1:1\"\n");
    char *out = check_config(w->dir, yaml, &status);
    assert_int_equal(status, 0); /* warnings, not errors */
    assert_non_null(strstr(out, "admin.listen is 0.0.0.0:0 (not loopback) without "
                                "admin.write_token_file"));
    assert_non_null(strstr(out, "collectors.http.listen is [::]:0 (not loopback) without "
                                "token_file"));
    assert_non_null(strstr(out, "collectors.syslog.udp_listen is 0.0.0.0:0"));
    assert_null(strstr(out, "collectors.syslog.tcp_listen"));
    assert_non_null(strstr(out, "collectors.zmq.endpoints has tcp://*:5556"));
    free(out);

    /* Every address, but with a token, in a file of mode 0644: only the file is warned about. */
    snprintf(yaml, sizeof(yaml),
             "collectors:\n  http:\n    enabled: true\n    listen: \"0.0.0.0:0\"\n"
             "    token_file: \"%s\"\n",
             w->token_file);
    out = check_config(w->dir, yaml, &status);
    assert_int_equal(status, 0);
    assert_non_null(strstr(out, "collectors.http.token_file: "));
    assert_non_null(strstr(out, "can be read by every user (mode 0644)"));
    assert_null(strstr(out, "collectors.http.listen is"));
    free(out);

    assert_int_equal(chmod(w->token_file, 0600), 0);
    out = check_config(w->dir, yaml, &status);
    assert_int_equal(status, 0);
    assert_null(strstr(out, "security:"));
    free(out);
}

/* --- least privilege ---------------------------------------------------------------------------
 */

static void started_as_root_it_becomes_daemon_user_once_listening(void **state)
{
    struct world *w = *state;
    char coll[512], path[64], buf[4096];
    if (geteuid() != 0 || getenv("AD_DAEMON_WRAPPER"))
        skip();
    struct passwd *pw = getpwnam("nobody");
    if (!pw)
        skip();
    snprintf(coll, sizeof(coll),
             "  http:\n    enabled: true\n    listen: \"127.0.0.1:%d\"\n    token_file: \"%s\"\n",
             w->http_port, w->token_file);
    assert_int_equal(fx_daemon_start_with(&w->daemon, w->redis.port, "pull", coll,
                                          "daemon:\n  idle_tick: 1m\n  user: nobody\n", true),
                     0);
    snprintf(path, sizeof(path), "/proc/%d/status", (int)w->daemon.pid);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    char want[128];
    snprintf(want, sizeof(want), "\nUid:\t%u\t%u\t%u\t%u\n", (unsigned)pw->pw_uid,
             (unsigned)pw->pw_uid, (unsigned)pw->pw_uid, (unsigned)pw->pw_uid);
    assert_non_null(strstr(buf, want));
    snprintf(want, sizeof(want), "\nGid:\t%u\t%u\t%u\t%u\n", (unsigned)pw->pw_gid,
             (unsigned)pw->pw_gid, (unsigned)pw->pw_gid, (unsigned)pw->pw_gid);
    assert_non_null(strstr(buf, want));
    /* Still serving on what it bound as root. */
    assert_int_equal(post_events(w, "Authorization: Bearer " TOKEN "\r\n",
                                 "{\"service\":\"pay\",\"resource\":\"r\",\"check\":\"c\","
                                 "\"severity\":\"warning\"}"),
                     200);
    assert_int_equal(fx_daemon_stop(&w->daemon, 20000), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            a_connection_flood_leaves_health_checks_redis_and_other_collectors_working, setup,
            teardown),
        cmocka_unit_test_setup_teardown(a_trickling_client_is_cut_at_the_deadline, setup, teardown),
        cmocka_unit_test_setup_teardown(a_request_without_the_token_is_refused_before_its_body,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            out_of_descriptors_the_daemon_pauses_accepting_instead_of_spinning, setup, teardown),
        cmocka_unit_test_setup_teardown(open_listeners_and_readable_secrets_are_warned_about, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(started_as_root_it_becomes_daemon_user_once_listening,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
