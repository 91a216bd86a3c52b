/* tests/tools/ad_kafka_mock.c: a Kafka protocol peer for tests and demos: librdkafka's mock
 * cluster on 127.0.0.1, started in this process, so that the real aiopsd binary can be tested
 * against it.
 *
 *   ad_kafka_mock [--brokers N] [--topic NAME[:PARTITIONS]]...
 *
 * Prints "bootstrap HOST:PORT,..." then "ready" on stdout, then obeys lines on stdin:
 *   down ID | up ID         a broker (or -1: all) stops / starts accepting connections
 *   leader TOPIC P ID       moves a partition's leadership
 *   quit                    (or end of input, or SIGTERM) stops the cluster and exits 0
 * Each command answers "ok" or "error ..." on stdout. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#define MAX_TOPICS 16

static void answer(rd_kafka_resp_err_t err)
{
    if (err)
        printf("error %s\n", rd_kafka_err2str(err));
    else
        printf("ok\n");
    fflush(stdout);
}

int main(int argc, char **argv)
{
    int brokers = 3;
    const char *topics[MAX_TOPICS];
    int parts[MAX_TOPICS], n_topics = 0;
    char names[MAX_TOPICS][256];
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--brokers") == 0 && i + 1 < argc) {
            brokers = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--topic") == 0 && i + 1 < argc && n_topics < MAX_TOPICS) {
            snprintf(names[n_topics], sizeof(names[0]), "%s", argv[++i]);
            char *colon = strchr(names[n_topics], ':');
            parts[n_topics] = colon ? atoi(colon + 1) : 4;
            if (colon)
                *colon = '\0';
            topics[n_topics] = names[n_topics];
            n_topics++;
        } else {
            fprintf(stderr, "usage: ad_kafka_mock [--brokers N] [--topic NAME[:PARTITIONS]]...\n");
            return 2;
        }
    }
    if (n_topics == 0) {
        topics[0] = "aiopsd-events";
        parts[0] = 4;
        n_topics = 1;
    }
    if (brokers < 1 || brokers > 16) {
        fprintf(stderr, "ad_kafka_mock: --brokers must be 1..16\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr));
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (!rk) {
        fprintf(stderr, "ad_kafka_mock: %s\n", errstr);
        return 1;
    }
    rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, brokers);
    if (!mc) {
        fprintf(stderr, "ad_kafka_mock: cannot create the mock cluster\n");
        rd_kafka_destroy(rk);
        return 1;
    }
    for (int i = 0; i < n_topics; i++) {
        rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(mc, topics[i], parts[i], 1);
        if (err) {
            fprintf(stderr, "ad_kafka_mock: topic %s: %s\n", topics[i], rd_kafka_err2str(err));
            return 1;
        }
    }
    printf("bootstrap %s\nready\n", rd_kafka_mock_cluster_bootstraps(mc));
    fflush(stdout);

    char line[512], a[256];
    int id, p;
    while (fgets(line, sizeof(line), stdin)) {
        if (sscanf(line, "down %d", &id) == 1)
            answer(rd_kafka_mock_broker_set_down(mc, id));
        else if (sscanf(line, "up %d", &id) == 1)
            answer(rd_kafka_mock_broker_set_up(mc, id));
        else if (sscanf(line, "leader %255s %d %d", a, &p, &id) == 3)
            answer(rd_kafka_mock_partition_set_leader(mc, a, p, id));
        else if (strncmp(line, "quit", 4) == 0)
            break;
        else {
            printf("error unknown command\n");
            fflush(stdout);
        }
    }
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);
    return 0;
}
