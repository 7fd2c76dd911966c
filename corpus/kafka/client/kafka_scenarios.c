/* Kafka client scenarios against librdkafka's mock cluster, for the captures
 * in corpus/kafka (run by ../capture.sh, which builds this file).
 *
 *   kafka_scenarios SCENARIO
 *
 * Starts a one-broker mock cluster on 127.0.0.1, prints its port on stdout,
 * waits for a line on stdin (the capture is ready), runs SCENARIO with real
 * librdkafka producer/consumer clients, prints "done" and exits. */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *kTraceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
/* sw8: sample, trace id, segment id, span id, service, instance, endpoint, peer (base64 fields). */
static const char *kSw8 =
    "1-MGFlNzM1ZGUtOTQ5Yy00NjNhLWJhYzctYmQ0ZTcxMDQ0ZDEy-NWI4MTJmODAtMjdhNS00ZDhhLWJjYzMtM2JmMDQ1YTcxMDEy-3-"
    "b3JkZXJz-b3JkZXJzLTE=-L29yZGVycy9wbGFjZQ==-MTI3LjAuMC4xOjkwOTI=";

static void die(const char *what, const char *detail) {
  fprintf(stderr, "kafka_scenarios: %s: %s\n", what, detail);
  exit(1);
}

static void set(rd_kafka_conf_t *conf, const char *name, const char *value) {
  char err[256];
  if (rd_kafka_conf_set(conf, name, value, err, sizeof err) != RD_KAFKA_CONF_OK) die(name, err);
}

static rd_kafka_t *client(rd_kafka_type_t type, const char *bootstraps, const char *extra[][2]) {
  char err[256];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  set(conf, "bootstrap.servers", bootstraps);
  set(conf, "client.id", type == RD_KAFKA_PRODUCER ? "l7conform-producer" : "l7conform-consumer");
  set(conf, "broker.address.family", "v4");
  for (int i = 0; extra != NULL && extra[i][0] != NULL; ++i) set(conf, extra[i][0], extra[i][1]);
  rd_kafka_t *rk = rd_kafka_new(type, conf, err, sizeof err);
  if (rk == NULL) die("rd_kafka_new", err);
  return rk;
}

static void produce(rd_kafka_t *rk, const char *topic, int32_t partition, const char *key, const char *value,
                    int with_headers) {
  rd_kafka_headers_t *headers = NULL;
  if (with_headers) {
    headers = rd_kafka_headers_new(2);
    rd_kafka_header_add(headers, "traceparent", -1, kTraceparent, -1);
    rd_kafka_header_add(headers, "sw8", -1, kSw8, -1);
  }
  rd_kafka_resp_err_t e = rd_kafka_producev(
      rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(partition),
      RD_KAFKA_V_KEY(key, key ? strlen(key) : 0), RD_KAFKA_V_VALUE((void *)value, value ? strlen(value) : 0),
      RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_END);
  if (e) die("produce", rd_kafka_err2str(e));
}

static void flush(rd_kafka_t *rk) {
  if (rd_kafka_flush(rk, 10000) != RD_KAFKA_RESP_ERR_NO_ERROR) die("flush", "timed out");
}

static void produce_headers(const char *bootstraps) {
  const char *extra[][2] = {{"linger.ms", "0"}, {"compression.codec", "none"}, {NULL, NULL}};
  rd_kafka_t *rk = client(RD_KAFKA_PRODUCER, bootstraps, extra);
  produce(rk, "orders", 0, "order-1", "{\"item\":\"book\",\"qty\":1}", 1);
  flush(rk);
  /* Null key and null value: the headers must still be read. */
  produce(rk, "orders", 1, NULL, NULL, 1);
  flush(rk);
  produce(rk, "orders", 0, "order-2", "no trace context here", 0);
  flush(rk);
  rd_kafka_destroy(rk);
}

static void produce_compressed(const char *bootstraps) {
  static const char *codecs[] = {"gzip", "snappy", "lz4", "zstd"};
  for (int i = 0; i < 4; ++i) {
    const char *extra[][2] = {{"linger.ms", "5"}, {"compression.codec", codecs[i]}, {NULL, NULL}};
    rd_kafka_t *rk = client(RD_KAFKA_PRODUCER, bootstraps, extra);
    char topic[64];
    snprintf(topic, sizeof topic, "compressed-%s", codecs[i]);
    for (int n = 0; n < 3; ++n) produce(rk, topic, 0, "k", "a value that repeats, repeats, repeats, repeats", 1);
    flush(rk);
    rd_kafka_destroy(rk);
  }
}

static void produce_error(const char *bootstraps, rd_kafka_mock_cluster_t *mcluster) {
  /* The broker refuses the first two attempts; the producer retries. */
  rd_kafka_mock_push_request_errors(mcluster, 0 /* Produce */, 2, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
                                    RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION);
  const char *extra[][2] = {{"linger.ms", "0"}, {"retry.backoff.ms", "50"}, {NULL, NULL}};
  rd_kafka_t *rk = client(RD_KAFKA_PRODUCER, bootstraps, extra);
  produce(rk, "orders", 0, "order-3", "retried", 1);
  flush(rk);
  rd_kafka_destroy(rk);
}

static void consume_group(const char *bootstraps) {
  const char *pextra[][2] = {{"linger.ms", "0"}, {NULL, NULL}};
  rd_kafka_t *producer = client(RD_KAFKA_PRODUCER, bootstraps, pextra);
  for (int n = 0; n < 3; ++n) produce(producer, "orders", 0, "order", "to be consumed", 1);
  flush(producer);
  rd_kafka_destroy(producer);

  const char *cextra[][2] = {{"group.id", "l7-group"},
                             {"auto.offset.reset", "earliest"},
                             {"enable.auto.commit", "false"},
                             {"session.timeout.ms", "6000"},
                             {"heartbeat.interval.ms", "500"},
                             {"fetch.wait.max.ms", "100"},
                             {NULL, NULL}};
  rd_kafka_t *rk = client(RD_KAFKA_CONSUMER, bootstraps, cextra);
  rd_kafka_poll_set_consumer(rk);
  rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(topics, "orders", RD_KAFKA_PARTITION_UA);
  if (rd_kafka_subscribe(rk, topics)) die("subscribe", "failed");
  rd_kafka_topic_partition_list_destroy(topics);
  int got = 0;
  for (int i = 0; i < 200 && got < 3; ++i) {
    rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
    if (m == NULL) continue;
    if (!m->err) ++got;
    rd_kafka_message_destroy(m);
  }
  if (got < 3) die("consume", "did not receive the messages");
  /* Let a heartbeat or two go out, then commit and leave the group. */
  for (int i = 0; i < 12; ++i) {
    rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
    if (m) rd_kafka_message_destroy(m);
  }
  if (rd_kafka_commit(rk, NULL, 0)) die("commit", "failed");
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
}

int main(int argc, char **argv) {
  if (argc != 2) die("usage", "kafka_scenarios produce-headers|produce-compressed|produce-error|consume-group|serve");
  char err[256];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  rd_kafka_t *owner = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (owner == NULL) die("rd_kafka_new", err);
  rd_kafka_mock_cluster_t *mcluster = rd_kafka_mock_cluster_new(owner, 1);
  if (mcluster == NULL) die("mock cluster", "could not be created");
  const char *bootstraps = rd_kafka_mock_cluster_bootstraps(mcluster);
  rd_kafka_mock_topic_create(mcluster, "orders", 2, 1);
  rd_kafka_mock_topic_create(mcluster, "compressed-gzip", 1, 1);
  rd_kafka_mock_topic_create(mcluster, "compressed-snappy", 1, 1);
  rd_kafka_mock_topic_create(mcluster, "compressed-lz4", 1, 1);
  rd_kafka_mock_topic_create(mcluster, "compressed-zstd", 1, 1);
  rd_kafka_mock_topic_create(mcluster, "audit", 3, 1);
  const char *colon = strrchr(bootstraps, ':');
  printf("%s\n", colon ? colon + 1 : bootstraps);
  fflush(stdout);
  char line[16];
  if (fgets(line, sizeof line, stdin) == NULL) die("stdin", "closed before the go line");

  if (strcmp(argv[1], "produce-headers") == 0) {
    produce_headers(bootstraps);
  } else if (strcmp(argv[1], "produce-compressed") == 0) {
    produce_compressed(bootstraps);
  } else if (strcmp(argv[1], "produce-error") == 0) {
    produce_error(bootstraps, mcluster);
  } else if (strcmp(argv[1], "consume-group") == 0) {
    consume_group(bootstraps);
  } else if (strcmp(argv[1], "serve") == 0) {
    /* For another client (kafkajs): the first FindCoordinator request is
       refused once (the client retries), then the cluster serves until
       stdin closes. */
    rd_kafka_mock_push_request_errors(mcluster, 10 /* FindCoordinator */, 1,
                                      RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE);
    while (fgets(line, sizeof line, stdin) != NULL) {
    }
  } else {
    die("unknown scenario", argv[1]);
  }
  printf("done\n");
  fflush(stdout);
  rd_kafka_mock_cluster_destroy(mcluster);
  rd_kafka_destroy(owner);
  return 0;
}
