// What the consumer, the producer, the embedded broker and `scrc submit`
// share on top of librdkafka's C API: owning handles, configuration from a
// property list with errors as absl::Status, and log lines that say what is
// wrong with the brokers without flooding the log while they are away.
#ifndef SCRC_SRC_KAFKA_CLIENT_H_
#define SCRC_SRC_KAFKA_CLIENT_H_

#include <librdkafka/rdkafka.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace scrc {

struct KafkaHandleDeleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
};
using KafkaHandle = std::unique_ptr<rd_kafka_t, KafkaHandleDeleter>;

struct KafkaConfDeleter {
  void operator()(rd_kafka_conf_t* conf) const { rd_kafka_conf_destroy(conf); }
};
using KafkaConf = std::unique_ptr<rd_kafka_conf_t, KafkaConfDeleter>;

struct KafkaMessageDeleter {
  void operator()(rd_kafka_message_t* m) const { rd_kafka_message_destroy(m); }
};
using KafkaMessage = std::unique_ptr<rd_kafka_message_t, KafkaMessageDeleter>;

struct KafkaPartitionListDeleter {
  void operator()(rd_kafka_topic_partition_list_t* list) const {
    rd_kafka_topic_partition_list_destroy(list);
  }
};
using KafkaPartitionList =
    std::unique_ptr<rd_kafka_topic_partition_list_t, KafkaPartitionListDeleter>;

// librdkafka properties, in the order they are set.
using KafkaProperties = std::vector<std::pair<std::string, std::string>>;

// "<op>: <librdkafka's text for err>", Unavailable for transient errors.
absl::Status KafkaError(absl::string_view op, rd_kafka_resp_err_t err);

// A configuration with `properties` set and scrc's log and error callbacks
// installed; `who` prefixes their lines ("serve", "submit").
absl::StatusOr<KafkaConf> MakeKafkaConf(const KafkaProperties& properties,
                                        const char* who);

// Takes the configuration (even on failure).
absl::StatusOr<KafkaHandle> NewKafkaHandle(rd_kafka_type_t type,
                                           KafkaConf conf);

// A timestamped line on stderr: "2025-01-15T10:30:00.123Z scrc serve: ...".
void LogLine(absl::string_view who, absl::string_view text);

// True once a fatal error was reported on any handle (an idempotent
// producer that cannot keep its guarantees): the process must stop.
bool KafkaFatalErrorSeen();

// Says so once when brokers were reported unreachable before: call on a
// sign of life (a message consumed, a delivery acknowledged).
void NoteKafkaReachable();

}  // namespace scrc

#endif  // SCRC_SRC_KAFKA_CLIENT_H_
