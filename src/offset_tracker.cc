#include "src/offset_tracker.h"

#include <algorithm>

namespace scrc {

void OffsetTracker::Assign(const TopicPartition& tp) {
  PartitionState& state = partitions_[tp];
  state = PartitionState{};
  state.epoch = next_epoch_++;
}

void OffsetTracker::Forget(const TopicPartition& tp) { partitions_.erase(tp); }

bool OffsetTracker::IsAssigned(const TopicPartition& tp) const {
  return partitions_.contains(tp);
}

std::optional<OffsetTicket> OffsetTracker::Begin(const TopicPartition& tp,
                                                 int64_t offset) {
  auto it = partitions_.find(tp);
  if (it == partitions_.end()) return std::nullopt;
  PartitionState& state = it->second;
  const int64_t last = !state.pending.empty() ? state.pending.back().offset
                       : state.position       ? *state.position - 1
                                              : -1;
  if (offset <= last || state.truncated_at) return std::nullopt;
  state.pending.push_back({offset, false});
  return OffsetTicket{tp, offset, state.epoch};
}

void OffsetTracker::Truncate(const TopicPartition& tp, int64_t offset) {
  auto it = partitions_.find(tp);
  if (it == partitions_.end()) return;
  std::deque<Pending>& pending = it->second.pending;
  while (!pending.empty() && pending.back().offset >= offset) {
    pending.pop_back();
  }
  // Done messages after a gap must not be committed past it.
  it->second.truncated_at = offset;
}

std::optional<int64_t> OffsetTracker::Complete(const OffsetTicket& ticket) {
  auto it = partitions_.find(ticket.tp);
  if (it == partitions_.end() || it->second.epoch != ticket.epoch) {
    return std::nullopt;
  }
  PartitionState& state = it->second;
  auto pos = std::lower_bound(
      state.pending.begin(), state.pending.end(), ticket.offset,
      [](const Pending& p, int64_t offset) { return p.offset < offset; });
  if (pos == state.pending.end() || pos->offset != ticket.offset) {
    return std::nullopt;
  }
  pos->done = true;
  bool advanced = false;
  while (!state.pending.empty() && state.pending.front().done) {
    // Offsets may have gaps (compaction, transaction markers): the position
    // is one past the last message done, not a count.
    state.position = state.pending.front().offset + 1;
    state.pending.pop_front();
    advanced = true;
  }
  if (!advanced) return std::nullopt;
  return state.position;
}

int OffsetTracker::InFlight(const TopicPartition& tp) const {
  auto it = partitions_.find(tp);
  if (it == partitions_.end()) return 0;
  return static_cast<int>(
      std::count_if(it->second.pending.begin(), it->second.pending.end(),
                    [](const Pending& p) { return !p.done; }));
}

int OffsetTracker::InFlight() const {
  int total = 0;
  for (const auto& [tp, state] : partitions_) total += InFlight(tp);
  return total;
}

std::optional<int64_t> OffsetTracker::CommitPosition(
    const TopicPartition& tp) const {
  auto it = partitions_.find(tp);
  if (it == partitions_.end()) return std::nullopt;
  return it->second.position;
}

std::vector<std::pair<TopicPartition, int64_t>> OffsetTracker::CommitPositions()
    const {
  std::vector<std::pair<TopicPartition, int64_t>> positions;
  for (const auto& [tp, state] : partitions_) {
    if (state.position) positions.emplace_back(tp, *state.position);
  }
  return positions;
}

}  // namespace scrc
