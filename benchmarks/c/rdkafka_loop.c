/*
 * The reference for `make bench`: the smallest honest C loop over librdkafka.
 *
 *   rdkafka_loop produce <brokers> <topic> <records> <value-bytes>
 *   rdkafka_loop consume <brokers> <topic> <records>
 *
 * produce: idempotent (acks=all), linger.ms=1, every record in flight, keys k0..k63, then flush;
 * consume: partition 0 assigned from the beginning until <records> records were read, timed
 * from the assignment (the first fetch's set-up is part of it, as for every contender).
 * Prints one JSON line: {"records":N,"seconds":S,"cpu_seconds":C} (wall time from the first
 * produce / the subscription to the last delivery report / record; CPU time of the process).
 */
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu(void) {
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6 + usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6;
}

static long delivered, failed;

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *message, void *opaque) {
    (void)rk; (void)opaque;
    if (message->err) failed++; else delivered++;
}

static void set(rd_kafka_conf_t *conf, const char *name, const char *value) {
    char error[512];
    if (rd_kafka_conf_set(conf, name, value, error, sizeof error) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "%s: %s\n", name, error);
        exit(2);
    }
}

static int produce(const char *brokers, const char *topic, long records, int size) {
    char error[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    set(conf, "bootstrap.servers", brokers);
    set(conf, "enable.idempotence", "true");
    set(conf, "acks", "all");
    set(conf, "linger.ms", "1");
    set(conf, "queue.buffering.max.messages", "1000000");
    set(conf, "broker.address.family", "v4");
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof error);
    if (!rk) { fprintf(stderr, "%s\n", error); return 2; }
    char *value = malloc(size);
    memset(value, 'x', size);
    char key[16];
    double cpu0 = cpu(), t0 = now();
    for (long i = 0; i < records; i++) {
        int length = snprintf(key, sizeof key, "k%ld", i % 64);
        for (;;) {
            rd_kafka_resp_err_t err = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, length),
                                                       RD_KAFKA_V_VALUE(value, size), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
            if (err == RD_KAFKA_RESP_ERR_NO_ERROR) break;
            if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) { fprintf(stderr, "produce: %s\n", rd_kafka_err2str(err)); return 1; }
            rd_kafka_poll(rk, 10);
        }
        rd_kafka_poll(rk, 0);
    }
    rd_kafka_flush(rk, 120000);
    double seconds = now() - t0, cpuSeconds = cpu() - cpu0;
    rd_kafka_destroy(rk);
    if (failed || delivered != records) { fprintf(stderr, "delivered %ld, failed %ld\n", delivered, failed); return 1; }
    printf("{\"records\":%ld,\"seconds\":%.6f,\"cpu_seconds\":%.6f}\n", records, seconds, cpuSeconds);
    return 0;
}

static int consume(const char *brokers, const char *topic, long records) {
    char error[512], group[64];
    snprintf(group, sizeof group, "bench-c-%ld-%d", (long)time(NULL), getpid());
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    set(conf, "bootstrap.servers", brokers);
    set(conf, "group.id", group);
    set(conf, "auto.offset.reset", "earliest");
    set(conf, "enable.auto.commit", "false");
    set(conf, "broker.address.family", "v4");
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, error, sizeof error);
    if (!rk) { fprintf(stderr, "%s\n", error); return 2; }
    rd_kafka_poll_set_consumer(rk);
    /* Partition 0 from the beginning, assigned (no group rebalance in the measurement). */
    rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(topics, topic, 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
    double cpu0 = cpu(), t0 = now(), start = t0;
    rd_kafka_assign(rk, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    long read = 0;
    size_t bytes = 0;
    while (read < records) {
        rd_kafka_message_t *message = rd_kafka_consumer_poll(rk, 1000);
        if (!message) { if (now() - start > 120) { fprintf(stderr, "timed out after %ld records\n", read); return 1; } continue; }
        if (!message->err) { read++; bytes += message->len; }
        rd_kafka_message_destroy(message);
    }
    double seconds = now() - t0, cpuSeconds = cpu() - cpu0;
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    printf("{\"records\":%ld,\"seconds\":%.6f,\"cpu_seconds\":%.6f,\"bytes\":%zu}\n", read, seconds, cpuSeconds, bytes);
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 6 && strcmp(argv[1], "produce") == 0) return produce(argv[2], argv[3], atol(argv[4]), atoi(argv[5]));
    if (argc == 5 && strcmp(argv[1], "consume") == 0) return consume(argv[2], argv[3], atol(argv[4]));
    fprintf(stderr, "usage: %s produce <brokers> <topic> <records> <value-bytes> | consume <brokers> <topic> <records>\n", argv[0]);
    return 2;
}
