// Which offsets of each assigned partition may be committed. Submissions of
// one partition finish out of order (parallel slots), but a committed offset
// N means "everything before N is done", so the commit position is the first
// consumed offset that is not done yet (or one past the last consumed one).
// Not thread-safe: owned by the consumer thread.
#ifndef SCRC_SRC_OFFSET_TRACKER_H_
#define SCRC_SRC_OFFSET_TRACKER_H_

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"

namespace scrc {

struct TopicPartition {
  std::string topic;
  int32_t partition = 0;

  bool operator==(const TopicPartition& other) const {
    return partition == other.partition && topic == other.topic;
  }
  template <typename H>
  friend H AbslHashValue(H h, const TopicPartition& tp) {
    return H::combine(std::move(h), tp.topic, tp.partition);
  }
};

// Names one consumed message of one assignment of its partition: after the
// partition is forgotten (revoked, lost), completing it changes nothing.
struct OffsetTicket {
  TopicPartition tp;
  int64_t offset = 0;
  uint64_t epoch = 0;
};

class OffsetTracker {
 public:
  // Starts tracking `tp` afresh (a new assignment).
  void Assign(const TopicPartition& tp);
  // Stops tracking `tp`; outstanding tickets of it become stale.
  void Forget(const TopicPartition& tp);
  bool IsAssigned(const TopicPartition& tp) const;

  // Records a consumed message. nullopt when `tp` is not assigned or the
  // offset does not follow the ones already recorded (a redelivery).
  std::optional<OffsetTicket> Begin(const TopicPartition& tp, int64_t offset);

  // Gives up the consumed messages of `tp` from `offset` on (taken but not
  // started, and left for redelivery): the commit position never passes
  // `offset` in this assignment.
  void Truncate(const TopicPartition& tp, int64_t offset);

  // Marks the ticket's message done. Returns the new commit position of its
  // partition when it advanced, nullopt otherwise (or for a stale ticket).
  std::optional<int64_t> Complete(const OffsetTicket& ticket);

  // Consumed but not completed, for one partition or all of them.
  int InFlight(const TopicPartition& tp) const;
  int InFlight() const;

  // The offset to commit for `tp` (next one to read), nullopt while nothing
  // of this assignment completed in order.
  std::optional<int64_t> CommitPosition(const TopicPartition& tp) const;
  std::vector<std::pair<TopicPartition, int64_t>> CommitPositions() const;

 private:
  struct Pending {
    int64_t offset;
    bool done;
  };
  struct PartitionState {
    uint64_t epoch = 0;
    std::deque<Pending> pending;  // consumed, increasing offsets
    std::optional<int64_t> position;
    // Set by Truncate: nothing more is taken in this assignment.
    std::optional<int64_t> truncated_at;
  };

  absl::flat_hash_map<TopicPartition, PartitionState> partitions_;
  uint64_t next_epoch_ = 1;
};

}  // namespace scrc

#endif  // SCRC_SRC_OFFSET_TRACKER_H_
