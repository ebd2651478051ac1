#include "src/embedded_kafka.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace scrc {

absl::StatusOr<std::unique_ptr<EmbeddedKafka>> EmbeddedKafka::Start(
    const std::vector<std::string>& topics, int partitions) {
  // The handle only hosts the cluster; it never connects anywhere.
  auto conf = MakeKafkaConf({{"client.id", "scrc-embedded-kafka"}}, "serve");
  if (!conf.ok()) return conf.status();
  auto rk = NewKafkaHandle(RD_KAFKA_PRODUCER, *std::move(conf));
  if (!rk.ok()) return rk.status();
  rd_kafka_mock_cluster_t* cluster = rd_kafka_mock_cluster_new(rk->get(), 1);
  if (cluster == nullptr) {
    return absl::InternalError(
        "start the embedded Kafka broker: rd_kafka_mock_cluster_new failed "
        "(no free port on 127.0.0.1?)");
  }
  std::unique_ptr<EmbeddedKafka> kafka(
      new EmbeddedKafka(*std::move(rk), cluster));
  for (const std::string& topic : topics) {
    const rd_kafka_resp_err_t err =
        rd_kafka_mock_topic_create(cluster, topic.c_str(), partitions, 1);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return KafkaError(
          absl::StrCat("create topic ", topic, " on the embedded broker"), err);
    }
  }
  return kafka;
}

EmbeddedKafka::EmbeddedKafka(KafkaHandle rk, rd_kafka_mock_cluster_t* cluster)
    : rk_(std::move(rk)), cluster_(cluster) {}

EmbeddedKafka::~EmbeddedKafka() { rd_kafka_mock_cluster_destroy(cluster_); }

std::string EmbeddedKafka::bootstrap() const {
  return rd_kafka_mock_cluster_bootstraps(cluster_);
}

}  // namespace scrc
