/* tests/tools/ad_storm.c: deterministic alert-storm generator (JSON lines on stdout).
 * Services with hosts; K injected incidents, each a burst of alerts on one service's hosts that
 * repeat every `repeat` seconds (duplicates), escalate, then resolve; plus background noise.
 * Same seed, same output. Ground truth summary on stderr. */
#include <getopt.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const services[] = {"checkout", "payments", "search",   "catalog",
                                       "auth",     "shipping", "inventory", "frontend",
                                       "billing",  "reviews",  "ads",       "mail"};
static const char *const checks[] = {"HighLatency", "ErrorRate",  "DBConnFail", "DiskFull",
                                     "CPUSaturated", "MemoryPressure", "QueueBacklog",
                                     "HealthCheckFailed"};
static const char *const sev_names[] = {"warning", "minor", "major", "critical"};

struct ev {
    int64_t t_ms;
    int svc, host, check, sev;
    int resolved;
    unsigned seq;
};

static uint64_t rng_state;
static uint32_t rnd(void)
{
    /* xorshift64*: small, deterministic, good enough for test data */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 2685821657736338717ULL) >> 32);
}

static struct ev *evs;
static size_t n_evs, cap_evs;

static void push(int64_t t_ms, int svc, int host, int check, int sev, int resolved)
{
    if (n_evs == cap_evs) {
        cap_evs = cap_evs ? cap_evs * 2 : 4096;
        evs = realloc(evs, cap_evs * sizeof(*evs));
        if (!evs) {
            perror("realloc");
            exit(1);
        }
    }
    evs[n_evs] = (struct ev){t_ms, svc, host, check, sev, resolved, (unsigned)n_evs};
    n_evs++;
}

static int cmp(const void *a, const void *b)
{
    const struct ev *x = a, *y = b;
    if (x->t_ms != y->t_ms)
        return x->t_ms < y->t_ms ? -1 : 1;
    return x->seq < y->seq ? -1 : (x->seq > y->seq);
}

int main(int argc, char **argv)
{
    int n_services = 8, n_hosts = 6, incidents = 12, noise = 40, repeat_s = 15;
    int64_t base_ms = INT64_C(1795510800000); /* 2026-11-24T09:00:00Z */
    int64_t span_s = 3600;
    uint64_t seed = 42;
    long target = 0;
    static const struct option o[] = {
        {"seed", 1, 0, 's'},     {"services", 1, 0, 'S'}, {"hosts", 1, 0, 'H'},
        {"incidents", 1, 0, 'i'}, {"noise", 1, 0, 'n'},  {"repeat", 1, 0, 'r'},
        {"span", 1, 0, 'T'},     {"events", 1, 0, 'e'},  {"help", 0, 0, 'h'},
        {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "h", o, NULL)) != -1) {
        switch (c) {
        case 's': seed = strtoull(optarg, NULL, 10); break;
        case 'S': n_services = atoi(optarg); break;
        case 'H': n_hosts = atoi(optarg); break;
        case 'i': incidents = atoi(optarg); break;
        case 'n': noise = atoi(optarg); break;
        case 'r': repeat_s = atoi(optarg); break;
        case 'T': span_s = atoll(optarg); break;
        case 'e': target = atol(optarg); break;
        default:
            fprintf(stderr, "usage: ad_storm [--seed N] [--services N] [--hosts N] [--incidents N]\n"
                            "                [--noise N] [--repeat S] [--span S] [--events N]\n");
            return c == 'h' ? 0 : 1;
        }
    }
    if (n_services < 1 || n_services > (int)(sizeof(services) / sizeof(services[0])) ||
        n_hosts < 1 || repeat_s < 1 || span_s < 60) {
        fprintf(stderr, "ad_storm: arguments out of range\n");
        return 1;
    }
    rng_state = seed * 0x9E3779B97F4A7C15ULL + 1;

    /* Incidents spaced so that two on one service never fall in one correlation window. */
    long alerts = 0;
    for (int k = 0; k < incidents; k++) {
        int svc = k % n_services;
        int64_t start = (int64_t)k * span_s * 1000 / (incidents ? incidents : 1);
        int n_alerts = 2 + (int)(rnd() % (unsigned)(n_hosts * 2));
        int64_t dur = (120 + rnd() % 480) * 1000;
        for (int a = 0; a < n_alerts; a++) {
            int host = a % n_hosts, check = (int)((unsigned)(k + a / n_hosts) % 8);
            int64_t t0 = start + (int64_t)(rnd() % 60000);
            int sev = (int)(rnd() % 3);
            for (int64_t t = t0; t < start + dur; t += repeat_s * 1000) {
                if (t > t0 + dur / 2 && sev < 3 && rnd() % 4 == 0)
                    sev++; /* escalation */
                push(base_ms + t, svc, host, check, sev, 0);
            }
            push(base_ms + start + dur + (int64_t)(rnd() % 30000), svc, host, check, sev, 1);
            alerts++;
        }
    }
    for (int k = 0; k < noise; k++) {
        int svc = (int)(rnd() % (unsigned)n_services);
        int64_t t = (int64_t)(rnd() % (uint64_t)(span_s * 1000));
        push(base_ms + t, svc, (int)(rnd() % (unsigned)n_hosts) + n_hosts, (int)(rnd() % 8), 0, 0);
        push(base_ms + t + 60000 + (int64_t)(rnd() % 60000), svc, evs[n_evs - 1].host,
             evs[n_evs - 1].check, 0, 1);
        alerts++;
    }
    /* --events N: pad with further duplicate bursts of existing alerts (realistic dup ratio). */
    while (target > 0 && (long)n_evs < target && n_evs > 0) {
        struct ev e = evs[rnd() % n_evs];
        if (!e.resolved)
            push(e.t_ms + (int64_t)(rnd() % 1000), e.svc, e.host, e.check, e.sev, 0);
    }
    qsort(evs, n_evs, sizeof(*evs), cmp);

    for (size_t i = 0; i < n_evs; i++) {
        const struct ev *e = &evs[i];
        int64_t s = e->t_ms / 1000, ms = e->t_ms % 1000;
        printf("{\"kind\":\"alert\",\"source\":\"prometheus\",\"resource\":\"%s-%02d.prod\","
               "\"service\":\"%s\",\"check\":\"%s\",\"severity\":\"%s\",\"status\":\"%s\","
               "\"summary\":\"%s on %s-%02d\",\"labels\":{\"env\":\"prod\",\"team\":\"%s\"},"
               "\"timestamp\":%" PRId64 ".%03d}\n",
               services[e->svc], e->host, services[e->svc], checks[e->check], sev_names[e->sev],
               e->resolved ? "resolved" : "firing", checks[e->check], services[e->svc], e->host,
               services[e->svc], s, (int)ms);
    }
    fprintf(stderr, "ad_storm: events=%zu alerts=%ld incidents=%d noise=%d seed=%llu\n", n_evs,
            alerts, incidents, noise, (unsigned long long)seed);
    free(evs);
    return 0;
}
