// The Kafka side of the configuration (CONTRACT.md): KAFKA_BROKERS,
// KAFKA_TOPIC, KAFKA_GROUP_ID, KAFKA_RESULTS_TOPIC, SCRIPT_EXPECTED, and
// for secured clusters KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_MECHANISM,
// KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD. Problems go to the shared
// ConfigErrors (config.h), so one message lists everything wrong.
#ifndef SCRC_SRC_KAFKA_CONFIG_H_
#define SCRC_SRC_KAFKA_CONFIG_H_

#include <cstdint>
#include <string>

#include "src/config.h"
#include "src/kafka_client.h"

namespace scrc {

struct KafkaConfig {
  std::string brokers = "kafka:9092";
  std::string topic = "scripts";
  std::string group_id = "scrc-runner";
  std::string results_topic = "script-results";
  int64_t script_expected = 0;    // 0: unlimited
  std::string security_protocol;  // empty: librdkafka's default, plaintext
  std::string sasl_mechanism;
  std::string sasl_username;
  std::string sasl_password;
};

KafkaConfig ReadKafkaConfig(const EnvLookup& env, ConfigErrors& errors);

// bootstrap.servers and the security properties, for every client.
KafkaProperties KafkaCommonProperties(const KafkaConfig& config);

// "  KAFKA_BROKERS        127.0.0.1:9092\n..." with the password masked.
std::string DescribeKafkaConfig(const KafkaConfig& config);

}  // namespace scrc

#endif  // SCRC_SRC_KAFKA_CONFIG_H_
