// The consumer of script messages: a member of the runners' consumer group
// with the cooperative-sticky assignor (a rebalance moves only the
// partitions that change owner; the others keep working). Offsets are
// committed only as the owner stores them (at-least-once). Use from one
// thread: the rebalance listener runs inside Poll().
#ifndef SCRC_SRC_KAFKA_CONSUMER_H_
#define SCRC_SRC_KAFKA_CONSUMER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "src/kafka_client.h"
#include "src/offset_tracker.h"

namespace scrc {

class RebalanceListener {
 public:
  virtual ~RebalanceListener() = default;
  // After the partitions were added to the assignment.
  virtual void OnAssigned(const std::vector<TopicPartition>& partitions) = 0;
  // Before they are removed. `lost`: another member may own them already
  // (session expired); committing for them would fail or clobber its work.
  virtual void OnRevoked(const std::vector<TopicPartition>& partitions,
                         bool lost) = 0;
};

class KafkaConsumer {
 public:
  // `common`: bootstrap servers, security, and overrides of the defaults.
  static absl::StatusOr<std::unique_ptr<KafkaConsumer>> Create(
      const KafkaProperties& common, const std::string& group_id,
      RebalanceListener* listener, const char* who);
  ~KafkaConsumer();

  absl::Status Subscribe(const std::string& topic);

  // A message, or null when none came within the timeout. Consumer errors
  // (a topic not there yet, brokers away) are logged, not returned: they
  // are transient for a long-running service.
  KafkaMessage Poll(int timeout_ms);
  // Makes a Poll() in progress return now (from any thread).
  void Wake();

  void Pause(const std::vector<TopicPartition>& partitions);
  void Resume(const std::vector<TopicPartition>& partitions);
  std::vector<TopicPartition> Assignment();

  // Stores positions for the next automatic commit.
  void Store(const std::vector<std::pair<TopicPartition, int64_t>>& positions);
  // Commits positions now and waits for the broker's answer.
  absl::Status CommitSync(
      const std::vector<std::pair<TopicPartition, int64_t>>& positions);

  // Leaves the group (revoking everything through the listener).
  void Close();

 private:
  KafkaConsumer(KafkaHandle rk, RebalanceListener* listener);
  static void OnRebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                          rd_kafka_topic_partition_list_t* partitions,
                          void* opaque);

  KafkaHandle rk_;
  rd_kafka_queue_t* queue_;  // the consumer queue, for Wake()
  RebalanceListener* listener_;
  bool closed_ = false;
};

// Conversions between librdkafka's lists and ours.
std::vector<TopicPartition> ToTopicPartitions(
    const rd_kafka_topic_partition_list_t* list);
KafkaPartitionList ToKafkaList(const std::vector<TopicPartition>& partitions);

}  // namespace scrc

#endif  // SCRC_SRC_KAFKA_CONSUMER_H_
