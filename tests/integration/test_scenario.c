/* tests/integration/test_scenario.c: the scenario generator (tests/tools/ad_scenario.c) and the
 * evaluation code (tests/fixtures/fx_eval.c) behind bench_correlate. The generator must be
 * deterministic and its ground truth consistent with its topology and events; the metrics must
 * give the textbook values on crafted cases. docs/evaluation.md. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fx_daemon.h"
#include "fx_eval.h"

#define GEN AD_BINARY_DIR "/tests/ad_scenario"
#define CTL AD_BINARY_DIR "/aiopsctl"
#define ARGS "--cis 300 --incidents 15 --noise-rate 120 --flapping 4 --hop-prob 0.8"

static char dir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/aiopsd-scen.XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Runs ad_scenario with seed into dir/<tag>.{events,truth,topology}. */
static void generate(const char *tag, unsigned seed, const char *args)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd),
             GEN " --seed %u %s --out-events %s/%s.events --out-truth %s/%s.truth "
                 "--out-topology %s/%s.topology 2>/dev/null",
             seed, args, dir, tag, dir, tag, dir, tag);
    int st;
    char *out = fx_run_capture(cmd, &st);
    assert_non_null(out);
    free(out);
    assert_int_equal(st, 0);
}

static char *slurp(const char *tag, const char *ext, size_t *len)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s.%s", dir, tag, ext);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *p = malloc((size_t)n + 1);
    assert_non_null(p);
    assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
    p[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return p;
}

static void test_deterministic(void **state)
{
    (void)state;
    generate("a", 7, ARGS);
    generate("b", 7, ARGS);
    generate("c", 8, ARGS);
    const char *exts[] = {"events", "truth", "topology"};
    for (int i = 0; i < 3; i++) {
        size_t na, nb, nc;
        char *a = slurp("a", exts[i], &na), *b = slurp("b", exts[i], &nb),
             *c = slurp("c", exts[i], &nc);
        assert_true(na > 0);
        assert_int_equal(na, nb);
        assert_memory_equal(a, b, na);
        assert_false(na == nc && memcmp(a, c, na) == 0); /* another seed, another scenario */
        free(a);
        free(b);
        free(c);
    }
}

/* --- topology ----------------------------------------------------------------------------- */

struct topo {
    char (*name)[64];
    char (*svc)[64];
    int **deps, *n_deps;
    int n;
};

static int topo_find(const struct topo *t, const char *name)
{
    for (int i = 0; i < t->n; i++)
        if (strcmp(t->name[i], name) == 0)
            return i;
    return -1;
}

static void topo_load(struct topo *t, const char *tag)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s.topology", dir, tag);
    char **lines;
    long n = fx_read_lines(path, &lines);
    assert_true(n > 0);
    memset(t, 0, sizeof(*t));
    t->name = calloc((size_t)n, sizeof(*t->name));
    t->svc = calloc((size_t)n, sizeof(*t->svc));
    t->deps = calloc((size_t)n, sizeof(*t->deps));
    t->n_deps = calloc((size_t)n, sizeof(int));
    bool edges_started = false;
    for (long i = 0; i < n; i++) {
        char *l = lines[i];
        if (l[0] == '#' || l[0] == '\0')
            continue;
        if (strncmp(l, "node ", 5) == 0) {
            char name[64], svc[64], crit[64];
            assert_false(edges_started);
            assert_int_equal(sscanf(l, "node %63s service=%63s criticality=%63s", name, svc, crit), 3);
            assert_true(strcmp(crit, "low") == 0 || strcmp(crit, "medium") == 0 ||
                        strcmp(crit, "high") == 0 || strcmp(crit, "critical") == 0);
            assert_int_equal(topo_find(t, name), -1);
            snprintf(t->name[t->n], 64, "%s", name);
            snprintf(t->svc[t->n], 64, "%s", svc);
            t->n++;
            continue;
        }
        edges_started = true;
        char *save = NULL, *tok = strtok_r(l, " ", &save);
        int from = topo_find(t, tok);
        assert_true(from >= 0); /* a node line came before */
        tok = strtok_r(NULL, " ", &save);
        assert_non_null(tok);
        assert_string_equal(tok, "->");
        while ((tok = strtok_r(NULL, " ", &save))) {
            int to = topo_find(t, tok);
            assert_true(to >= 0);
            t->deps[from] = realloc(t->deps[from], (size_t)(t->n_deps[from] + 1) * sizeof(int));
            t->deps[from][t->n_deps[from]++] = to;
        }
        assert_true(t->n_deps[from] > 0);
    }
    fx_lines_free(lines);
}

static void topo_free(struct topo *t)
{
    for (int i = 0; i < t->n; i++)
        free(t->deps[i]);
    free(t->deps);
    free(t->n_deps);
    free(t->name);
    free(t->svc);
}

/* Whether a depends on b, directly or transitively. */
static bool depends_on(const struct topo *t, int a, int b, char *seen)
{
    if (a == b)
        return true;
    if (seen[a])
        return false;
    seen[a] = 1;
    for (int i = 0; i < t->n_deps[a]; i++)
        if (depends_on(t, t->deps[a][i], b, seen))
            return true;
    return false;
}

/* --- storm profiles (issue 14) -------------------------------------------------------------- */

/* The CI a summary word names: "db-3", "db-3:5432", "db-3.prod.internal:5432",
 * "http://db-3:5432/" or an address "10.3.0.7:5432" another alert carries as its instance. */
static int named_ci(const struct topo *t, char (*ip)[32], const char *word)
{
    char w[128];
    const char *p = strncmp(word, "http://", 7) == 0 ? word + 7 : word;
    size_t k = 0;
    while (p[k] && p[k] != ':' && p[k] != '/' && k + 1 < sizeof(w)) {
        w[k] = p[k];
        k++;
    }
    w[k] = '\0';
    char *dot = strstr(w, ".prod.internal");
    if (dot)
        *dot = '\0';
    int ci = topo_find(t, w);
    for (int i = 0; ci < 0 && i < t->n; i++)
        if (ip[i][0] && strcmp(ip[i], w) == 0)
            ci = i;
    return ci;
}

/* storm-a and storm-b: deterministic; causes on databases, caches, storage, load balancers and
 * DNS; every CI a firing alert names (but its own) has an alert of the same incident, and each
 * profile names CIs in its own forms. */
static void test_storm_profiles(void **state)
{
    (void)state;
    const char *profiles[] = {"storm-a", "storm-b"};
    for (int pi = 0; pi < 2; pi++) {
        char args[256];
        snprintf(args, sizeof(args),
                 "--profile %s --cis 600 --incidents 12 --duration 12h --noise-rate 4 "
                 "--flapping 0 --hop-prob 0.8", profiles[pi]);
        generate("s1", 5, args);
        generate("s2", 5, args);
        size_t n1, n2;
        char *a = slurp("s1", "events", &n1), *b = slurp("s2", "events", &n2);
        assert_int_equal(n1, n2);
        assert_memory_equal(a, b, n1);
        free(a);
        free(b);
        struct topo t;
        topo_load(&t, "s1");
        char path[256], **ev, **tr;
        snprintf(path, sizeof(path), "%s/s1.events", dir);
        long n_ev = fx_read_lines(path, &ev);
        snprintf(path, sizeof(path), "%s/s1.truth", dir);
        long n_tr = fx_read_lines(path, &tr);
        assert_true(n_ev > 100 && n_tr > n_ev);
        char (*ip)[32] = calloc((size_t)t.n, sizeof(*ip));
        long *inc_of_ci = calloc((size_t)t.n * 16, sizeof(long)); /* incidents seen per CI */
        int *n_inc_of_ci = calloc((size_t)t.n, sizeof(int));
        for (long i = 0; i < n_ev; i++) {
            char res[64], v[64];
            assert_true(fx_json_field(ev[i], "resource", res, sizeof(res)));
            int ci = topo_find(&t, res);
            assert_true(ci >= 0);
            const char *in = strstr(ev[i], "\"instance\":\"");
            assert_non_null(in);
            sscanf(in + 12, "%31[0-9.]", ip[ci]);
            if (!fx_json_field(tr[i], "incident", v, sizeof(v)) || atol(v) <= 0)
                continue;
            bool known = false;
            for (int k = 0; k < n_inc_of_ci[ci]; k++)
                known = known || inc_of_ci[(size_t)ci * 16 + (size_t)k] == atol(v);
            if (!known && n_inc_of_ci[ci] < 16)
                inc_of_ci[(size_t)ci * 16 + (size_t)n_inc_of_ci[ci]++] = atol(v);
        }
        long named = 0, forms_ip = 0, forms_fqdn = 0, forms_port = 0;
        for (long i = 0; i < n_ev; i++) {
            char res[64], sum[256], st[16], v[64];
            fx_json_field(ev[i], "resource", res, sizeof(res));
            fx_json_field(ev[i], "summary", sum, sizeof(sum));
            fx_json_field(ev[i], "status", st, sizeof(st));
            if (strcmp(st, "firing") != 0 || !fx_json_field(tr[i], "incident", v, sizeof(v)) ||
                atol(v) <= 0)
                continue;
            long inc = atol(v);
            char *save = NULL;
            for (char *w = strtok_r(sum, " ,()", &save); w; w = strtok_r(NULL, " ,()", &save)) {
                int ci = named_ci(&t, ip, w);
                if (ci < 0 || strcmp(t.name[ci], res) == 0)
                    continue;
                named++;
                forms_ip += w[0] == '1' && w[1] == '0' && w[2] == '.';
                forms_fqdn += strstr(w, ".prod.internal") != NULL;
                forms_port += strchr(w, ':') != NULL;
                bool same = false;
                for (int k = 0; k < n_inc_of_ci[ci]; k++)
                    same = same || inc_of_ci[(size_t)ci * 16 + (size_t)k] == inc;
                if (!same)
                    fail_msg("%s line %ld names %s, which has no alert of incident %ld",
                             profiles[pi], i + 1, t.name[ci], inc);
            }
        }
        assert_true(named > 20);
        assert_true(forms_port > 0);
        if (pi == 0) {
            assert_int_equal(forms_ip + forms_fqdn, 0);
        } else {
            assert_true(forms_ip > 0);
            assert_true(forms_fqdn > 0);
        }
        /* the causes */
        for (long i = n_ev; i < n_tr; i++) {
            char root[64];
            assert_true(fx_json_field(tr[i], "root", root, sizeof(root)));
            assert_true(strncmp(root, "db-", 3) == 0 || strncmp(root, "cache-", 6) == 0 ||
                        strncmp(root, "stor-", 5) == 0 || strncmp(root, "lb-", 3) == 0 ||
                        strncmp(root, "dns-", 4) == 0);
        }
        free(ip);
        free(inc_of_ci);
        free(n_inc_of_ci);
        for (long i = 0; i < n_ev; i++)
            free(ev[i]);
        free(ev);
        for (long i = 0; i < n_tr; i++)
            free(tr[i]);
        free(tr);
        topo_free(&t);
    }
}

static void test_truth_consistent(void **state)
{
    (void)state;
    generate("t", 11, ARGS);
    struct topo t;
    topo_load(&t, "t");
    assert_int_equal(t.n, 300);
    char path[256], **ev, **tr;
    snprintf(path, sizeof(path), "%s/t.events", dir);
    long n_ev = fx_read_lines(path, &ev);
    snprintf(path, sizeof(path), "%s/t.truth", dir);
    long n_tr = fx_read_lines(path, &tr);
    assert_true(n_ev > 100);

    /* truth: one line per event line, then one summary per incident */
    long n_inc = 0;
    for (long i = n_ev; i < n_tr; i++) {
        char v[64];
        assert_false(fx_json_field(tr[i], "line", v, sizeof(v)));
        assert_true(fx_json_field(tr[i], "incident", v, sizeof(v)));
        assert_int_equal(atol(v), ++n_inc);
    }
    assert_int_equal(n_inc, 15);
    int *first_ci = calloc((size_t)n_inc + 1, sizeof(int));
    long *alerts_of = calloc((size_t)n_inc + 1, sizeof(long));
    char *seen_alert = calloc((size_t)n_ev + 1, 1), *seen = malloc((size_t)t.n);
    int64_t prev = 0;
    long flapping_resolves = 0, max_repeats = 0, *firing_of = calloc((size_t)n_ev + 1, sizeof(long));
    for (long i = 0; i < n_ev; i++) {
        char v[256], res[64], check[64], root[64], ts[64], status[16], svc[64];
        assert_true(fx_json_field(tr[i], "line", v, sizeof(v)));
        assert_int_equal(atol(v), i + 1);
        assert_true(fx_json_field(ev[i], "kind", v, sizeof(v)));
        assert_string_equal(v, "alert");
        assert_true(fx_json_field(ev[i], "resource", res, sizeof(res)));
        assert_true(fx_json_field(ev[i], "check", check, sizeof(check)));
        assert_true(fx_json_field(ev[i], "service", svc, sizeof(svc)));
        assert_true(fx_json_field(ev[i], "status", status, sizeof(status)));
        assert_true(fx_json_field(ev[i], "summary", v, sizeof(v)));
        assert_true(fx_json_field(ev[i], "timestamp", ts, sizeof(ts)));
        int ci = topo_find(&t, res);
        assert_true(ci >= 0);
        assert_string_equal(svc, t.svc[ci]);
        int64_t ms = fx_eval_time_ms(ts);
        assert_true(ms > 0);
        assert_true(ms >= prev); /* sorted by time */
        prev = ms;
        assert_true(fx_json_field(tr[i], "alert", v, sizeof(v)));
        long a = atol(v);
        assert_true(a >= 0 && a < n_ev);
        bool firing = strcmp(status, "firing") == 0;
        if (firing && ++firing_of[a] > max_repeats)
            max_repeats = firing_of[a];
        assert_true(fx_json_field(tr[i], "incident", v, sizeof(v)));
        if (strcmp(v, "null") == 0) {
            flapping_resolves += !firing;
            continue;
        }
        long k = atol(v);
        assert_true(k >= 1 && k <= n_inc);
        assert_true(fx_json_field(tr[i], "root", root, sizeof(root)));
        int r = topo_find(&t, root);
        assert_true(r >= 0);
        if (!first_ci[k]) { /* the root alerts first within its incident */
            assert_string_equal(res, root);
            first_ci[k] = 1;
        }
        memset(seen, 0, (size_t)t.n);
        assert_true(depends_on(&t, ci, r, seen)); /* cascades follow the dependencies */
        if (!seen_alert[a]) {
            seen_alert[a] = 1;
            alerts_of[k]++;
        }
    }
    for (long k = 1; k <= n_inc; k++) {
        char v[64];
        assert_true(first_ci[k]);
        assert_true(fx_json_field(tr[n_ev + k - 1], "alerts", v, sizeof(v)));
        assert_int_equal(atol(v), alerts_of[k]);
    }
    assert_true(max_repeats >= 5);       /* duplicates */
    assert_true(flapping_resolves >= 10); /* noise resolves, flapping toggles */
    free(first_ci);
    free(alerts_of);
    free(seen_alert);
    free(seen);
    free(firing_of);
    fx_lines_free(ev);
    fx_lines_free(tr);
    topo_free(&t);

    /* Every event is valid for the daemon's parser. */
    char cmd[512];
    snprintf(cmd, sizeof(cmd), CTL " replay --summary -o /dev/null %s/t.events 2>&1", dir);
    int st;
    char *out = fx_run_capture(cmd, &st);
    assert_non_null(out);
    assert_int_equal(st, 0);
    assert_non_null(strstr(out, "rejected=0"));
    free(out);
}

/* --- metrics ----------------------------------------------------------------------------- */

static void test_pair_metrics(void **state)
{
    (void)state;
    struct fx_pair_metrics m;
    const long truth[] = {0, 0, 0, 1, 1, -1, -1};
    /* perfect: same partition under other labels */
    const long perfect[] = {5, 5, 5, 9, 9, 2, 3};
    fx_eval_pairs(truth, perfect, 7, &m);
    assert_true(m.true_pairs == 4 && m.pred_pairs == 4 && m.both == 4);
    assert_true(m.precision == 1 && m.recall == 1 && m.f1 == 1);
    /* everything in one candidate: recall 1, precision 4/21 */
    const long one[] = {0, 0, 0, 0, 0, 0, 0};
    fx_eval_pairs(truth, one, 7, &m);
    assert_true(m.recall == 1);
    assert_true(fabs(m.precision - 4.0 / 21) < 1e-12);
    assert_true(fabs(m.f1 - 2 * (4.0 / 21) / (4.0 / 21 + 1)) < 1e-12);
    /* singletons: no pair claimed, precision 1, recall 0 */
    const long single[] = {-1, -1, -1, -1, -1, -1, -1};
    fx_eval_pairs(truth, single, 7, &m);
    assert_true(m.pred_pairs == 0 && m.precision == 1 && m.recall == 0);
    assert_true(m.f1 == 2 * 1.0 * 0 / 1.0 || m.f1 == 0);
    /* a split incident: {0,0} + {0} + {1,1}: P = 2/2, R = 2/4 */
    const long split[] = {1, 1, 2, 3, 3, 4, 5};
    fx_eval_pairs(truth, split, 7, &m);
    assert_true(m.precision == 1 && m.recall == 0.5);
    assert_true(fabs(m.f1 - 2.0 / 3) < 1e-12);

    /* top-1 root: incident 0 mostly in candidate 1 (root "db-1": right), incident 1 in
     * candidate 0 (root "web-1", truth "net-1": wrong), incident 2 in no candidate */
    const long tl[] = {0, 0, 0, 1, 1, 2, -1};
    const long pl[] = {1, 1, 0, 0, 0, -1, 1};
    const char *true_root[] = {"db-1", "net-1", "app-1"};
    const char *cand_root[] = {"web-1", "db-1"};
    assert_int_equal(fx_eval_root_top1(tl, pl, 7, true_root, 3, cand_root, 2), 1);
    const char *cand_root2[] = {"net-1", "db-1"};
    assert_int_equal(fx_eval_root_top1(tl, pl, 7, true_root, 3, cand_root2, 2), 2);

    double q[] = {5, 1, 4, 2, 3, 10, 6, 7, 9, 8};
    assert_true(fx_eval_quantile(q, 10, 0.5) == 5);
    assert_true(fx_eval_quantile(q, 10, 0.95) == 10);
    assert_true(isnan(fx_eval_quantile(q, 0, 0.5)));
    assert_true(fx_eval_time_ms("2026-11-24T09:00:00Z") == INT64_C(1795510800000));
    assert_true(fx_eval_time_ms("2026-11-24T09:00:01.5Z") == INT64_C(1795510801500));
    assert_true(fx_eval_time_ms("2026-11-24T09:00:01.250Z") == INT64_C(1795510801250));
    assert_true(fx_eval_time_ms("yesterday") == -1);
}

static void write_file(const char *name, const char *text)
{
    assert_int_equal(fx_write_file(dir, name, text), 0);
}

#define EV(res, check, status, t)                                                            \
    "{\"kind\":\"alert\",\"resource\":\"" res "\",\"service\":\"s\",\"check\":\"" check      \
    "\",\"status\":\"" status "\",\"timestamp\":\"2026-11-24T09:00:" t "Z\"}\n"
#define MEMBER(res, check, fs, ls)                                                           \
    "{\"resource\":\"" res "\",\"check\":\"" check "\",\"first_seen\":\"2026-11-24T09:00:" fs \
    "Z\",\"last_seen\":\"2026-11-24T09:00:" ls "Z\"}"

/* A crafted scenario: incident 1 (root db-1: db-1, app-1, web-1), one noise alert (net-9), and
 * a replay output where app-1 and web-1 share a candidate whose root is app-1 and db-1 and the
 * noise alert share another whose root_cause names db-1. */
static void test_eval_files(void **state)
{
    (void)state;
    write_file("x.events", EV("db-1", "DBDown", "firing", "00.000")
                               EV("net-9", "NTPDrift", "firing", "01.000")
                               EV("app-1", "DBConnFail", "firing", "10.000")
                               EV("db-1", "DBDown", "firing", "40.000")
                               EV("web-1", "HTTP5xx", "firing", "50.000")
                               EV("db-1", "DBDown", "resolved", "59.000"));
    write_file("x.truth", "{\"line\":1,\"alert\":0,\"incident\":1,\"root\":\"db-1\"}\n"
                          "{\"line\":2,\"alert\":1,\"incident\":null,\"root\":null}\n"
                          "{\"line\":3,\"alert\":2,\"incident\":1,\"root\":\"db-1\"}\n"
                          "{\"line\":4,\"alert\":0,\"incident\":1,\"root\":\"db-1\"}\n"
                          "{\"line\":5,\"alert\":3,\"incident\":1,\"root\":\"db-1\"}\n"
                          "{\"line\":6,\"alert\":0,\"incident\":1,\"root\":\"db-1\"}\n"
                          "{\"incident\":1,\"root\":\"db-1\",\"start\":\"2026-11-24T09:00:00.000Z\","
                          "\"alerts\":3}\n");
    write_file("x.cands",
               "{\"id\":\"inc-a\",\"version\":1,\"ci\":\"db-1\",\"updated_at\":\"2026-11-24T09:00:"
               "02.000Z\",\"alerts\":[" MEMBER("db-1", "DBDown", "00.000", "00.000") "]}\n"
               "{\"id\":\"inc-b\",\"version\":1,\"ci\":\"app-1\",\"updated_at\":\"2026-11-24T09:00:"
               "10.000Z\",\"alerts\":[" MEMBER("app-1", "DBConnFail", "10.000", "10.000") "]}\n"
               "{\"id\":\"inc-a\",\"version\":2,\"ci\":\"db-1\",\"root_cause\":{\"ci\":\"db-1\"},"
               "\"updated_at\":\"2026-11-24T09:00:59.000Z\",\"alerts\":["
               MEMBER("db-1", "DBDown", "00.000", "59.000") ","
               MEMBER("net-9", "NTPDrift", "01.000", "01.000") "]}\n"
               "{\"id\":\"inc-b\",\"version\":2,\"ci\":\"app-1\",\"updated_at\":\"2026-11-24T09:00:"
               "50.000Z\",\"alerts\":[" MEMBER("app-1", "DBConnFail", "10.000", "10.000") ","
               MEMBER("web-1", "HTTP5xx", "50.000", "50.000") "]}\n");
    char ev[256], tr[256], ca[256];
    snprintf(ev, sizeof(ev), "%s/x.events", dir);
    snprintf(tr, sizeof(tr), "%s/x.truth", dir);
    snprintf(ca, sizeof(ca), "%s/x.cands", dir);
    struct fx_eval_result r;
    assert_int_equal(fx_eval_files(ev, tr, ca, &r), 0);
    assert_int_equal(r.events, 6);
    assert_int_equal(r.alerts, 4);
    assert_int_equal(r.noise_alerts, 1);
    assert_int_equal(r.incidents, 1);
    assert_int_equal(r.changes, 4);
    assert_int_equal(r.candidates, 2);
    assert_int_equal(r.unlisted, 0);
    assert_true(fabs(r.noise_reduction_events - (1 - 2.0 / 6)) < 1e-12);
    assert_true(fabs(r.noise_reduction_alerts - 0.5) < 1e-12);
    /* true pairs: 3 (db-1, app-1, web-1); predicted: {db-1, net-9}, {app-1, web-1}; both: 1 */
    assert_true(r.pairs.true_pairs == 3 && r.pairs.pred_pairs == 2 && r.pairs.both == 1);
    assert_true(r.pairs.precision == 0.5);
    assert_true(fabs(r.pairs.recall - 1.0 / 3) < 1e-12);
    /* incident 1: 2 alerts in inc-b (root app-1), 1 in inc-a: wrong */
    assert_int_equal(r.root_correct, 0);
    assert_true(r.root_top1 == 0);
    /* its first alert (db-1 at :00) was first listed by inc-a v1 at :02 */
    assert_int_equal(r.ttfc_n, 1);
    assert_true(r.ttfc_median_s == 2.0 && r.ttfc_p95_s == 2.0);

    /* A candidate line that is not one fails the evaluation. */
    write_file("y.cands", "{\"not\":\"a candidate\"}\n");
    snprintf(ca, sizeof(ca), "%s/y.cands", dir);
    assert_int_equal(fx_eval_files(ev, tr, ca, &r), -1);
}

/* The whole chain on a generated scenario: replay with every member listed, then evaluate. */
static void test_eval_replay(void **state)
{
    (void)state;
    generate("r", 3, ARGS);
    write_file("r.yaml", "correlators:\n  service_window:\n    max_listed: 1000000\n"
                         "    max_members: 100000\n");
    char cmd[512];
    snprintf(cmd, sizeof(cmd), CTL " replay -c %s/r.yaml -o %s/r.cands %s/r.events", dir, dir, dir);
    int st;
    char *out = fx_run_capture(cmd, &st);
    assert_non_null(out);
    free(out);
    assert_int_equal(st, 0);
    char ev[256], tr[256], ca[256];
    snprintf(ev, sizeof(ev), "%s/r.events", dir);
    snprintf(tr, sizeof(tr), "%s/r.truth", dir);
    snprintf(ca, sizeof(ca), "%s/r.cands", dir);
    struct fx_eval_result r;
    assert_int_equal(fx_eval_files(ev, tr, ca, &r), 0);
    assert_int_equal(r.incidents, 15);
    assert_true(r.candidates > 0 && r.candidates < r.alerts);
    assert_int_equal(r.unlisted, 0); /* every alert is in some candidate */
    assert_int_equal(r.ttfc_n, 15);
    assert_true(r.pairs.precision >= 0 && r.pairs.precision <= 1);
    assert_true(r.pairs.recall > 0 && r.pairs.recall <= 1);
    assert_true(r.root_top1 >= 0 && r.root_top1 <= 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_truth_consistent),
        cmocka_unit_test(test_storm_profiles),
        cmocka_unit_test(test_pair_metrics),
        cmocka_unit_test(test_eval_files),
        cmocka_unit_test(test_eval_replay),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
