// Reads a topic from its end as of the moment it was opened, outside any
// consumer group (nothing committed, no rebalance): what `scrc submit` and
// the tests use to see the results of the submissions they send next.
#ifndef SCRC_SRC_RESULTS_TAIL_H_
#define SCRC_SRC_RESULTS_TAIL_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "src/kafka_client.h"

namespace scrc {

struct TailRecord {
  std::string key;
  std::string value;
  int32_t partition = 0;
  int64_t offset = 0;
};

class ResultsTail {
 public:
  // Creates the topic through the broker's auto-creation when it is
  // missing, and waits (up to `timeout`) until its partitions are known.
  // `from_beginning`: read what the topic already holds too.
  static absl::StatusOr<std::unique_ptr<ResultsTail>> Open(
      const KafkaProperties& common, const std::string& topic,
      absl::Duration timeout, bool from_beginning = false);

  // Records that arrived within `timeout` (possibly none).
  std::vector<TailRecord> Poll(absl::Duration timeout);

 private:
  explicit ResultsTail(KafkaHandle rk) : rk_(std::move(rk)) {}
  KafkaHandle rk_;
};

// The partition count of `topic`, asking for auto-creation when missing.
absl::StatusOr<int> TopicPartitionCount(rd_kafka_t* rk,
                                        const std::string& topic,
                                        absl::Duration timeout);

}  // namespace scrc

#endif  // SCRC_SRC_RESULTS_TAIL_H_
