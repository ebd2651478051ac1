// `scrc serve --embedded-kafka`: librdkafka's mock cluster, a Kafka-protocol
// broker inside this process on a random 127.0.0.1 port, so the service and
// `scrc submit` run with nothing installed. It keeps everything in memory
// and lives as long as the process: for demos and trials, not production.
#ifndef SCRC_SRC_EMBEDDED_KAFKA_H_
#define SCRC_SRC_EMBEDDED_KAFKA_H_

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "src/kafka_client.h"

namespace scrc {

class EmbeddedKafka {
 public:
  // One broker, `topics` created with `partitions` partitions each.
  static absl::StatusOr<std::unique_ptr<EmbeddedKafka>> Start(
      const std::vector<std::string>& topics, int partitions);
  ~EmbeddedKafka();

  // "127.0.0.1:PORT", for KAFKA_BROKERS.
  std::string bootstrap() const;

 private:
  EmbeddedKafka(KafkaHandle rk, rd_kafka_mock_cluster_t* cluster);

  KafkaHandle rk_;  // the mock cluster runs on this handle's threads
  rd_kafka_mock_cluster_t* cluster_;
};

}  // namespace scrc

#endif  // SCRC_SRC_EMBEDDED_KAFKA_H_
