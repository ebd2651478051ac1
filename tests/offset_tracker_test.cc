#include "src/offset_tracker.h"

#include <optional>

#include "gtest/gtest.h"

namespace scrc {
namespace {

const TopicPartition kP0{"scripts", 0};
const TopicPartition kP1{"scripts", 1};

TEST(OffsetTrackerTest, OutOfOrderCompletionCommitsOnlyTheContiguousPrefix) {
  OffsetTracker tracker;
  tracker.Assign(kP0);
  auto t10 = tracker.Begin(kP0, 10);
  auto t11 = tracker.Begin(kP0, 11);
  auto t12 = tracker.Begin(kP0, 12);
  ASSERT_TRUE(t10 && t11 && t12);
  EXPECT_EQ(tracker.InFlight(kP0), 3);

  EXPECT_EQ(tracker.Complete(*t12), std::nullopt);
  EXPECT_EQ(tracker.Complete(*t11), std::nullopt);
  EXPECT_EQ(tracker.CommitPosition(kP0), std::nullopt);
  EXPECT_EQ(tracker.InFlight(kP0), 1);

  EXPECT_EQ(tracker.Complete(*t10), 13);
  EXPECT_EQ(tracker.CommitPosition(kP0), 13);
  EXPECT_EQ(tracker.InFlight(kP0), 0);
}

TEST(OffsetTrackerTest, GapsInOffsetsDoNotBlockTheCommit) {
  OffsetTracker tracker;
  tracker.Assign(kP0);
  auto a = tracker.Begin(kP0, 5);
  auto b = tracker.Begin(kP0, 9);  // 6..8 were transaction markers
  EXPECT_EQ(tracker.Complete(*a), 6);
  EXPECT_EQ(tracker.Complete(*b), 10);
}

TEST(OffsetTrackerTest, PartitionsAreIndependent) {
  OffsetTracker tracker;
  tracker.Assign(kP0);
  tracker.Assign(kP1);
  auto a = tracker.Begin(kP0, 0);
  auto b = tracker.Begin(kP1, 0);
  auto c = tracker.Begin(kP1, 1);
  EXPECT_EQ(tracker.InFlight(), 3);
  EXPECT_EQ(tracker.Complete(*c), std::nullopt);
  EXPECT_EQ(tracker.Complete(*a), 1);
  EXPECT_EQ(tracker.CommitPosition(kP1), std::nullopt);
  EXPECT_EQ(tracker.Complete(*b), 2);
  auto positions = tracker.CommitPositions();
  EXPECT_EQ(positions.size(), 2u);
}

TEST(OffsetTrackerTest, ForgottenPartitionIgnoresLateCompletions) {
  OffsetTracker tracker;
  tracker.Assign(kP0);
  auto old_ticket = tracker.Begin(kP0, 3);
  tracker.Forget(kP0);
  EXPECT_FALSE(tracker.IsAssigned(kP0));
  EXPECT_EQ(tracker.Begin(kP0, 4), std::nullopt);
  EXPECT_EQ(tracker.Complete(*old_ticket), std::nullopt);

  // Assigned again (say after a lost assignment): the old ticket must not
  // complete offset 3 of the new assignment, which will redeliver it.
  tracker.Assign(kP0);
  auto redelivered = tracker.Begin(kP0, 3);
  ASSERT_TRUE(redelivered);
  EXPECT_EQ(tracker.Complete(*old_ticket), std::nullopt);
  EXPECT_EQ(tracker.InFlight(kP0), 1);
  EXPECT_EQ(tracker.Complete(*redelivered), 4);
}

TEST(OffsetTrackerTest, RedeliveredOffsetIsRejected) {
  OffsetTracker tracker;
  tracker.Assign(kP0);
  auto a = tracker.Begin(kP0, 7);
  EXPECT_EQ(tracker.Begin(kP0, 7), std::nullopt);
  EXPECT_EQ(tracker.Complete(*a), 8);
  EXPECT_EQ(tracker.Begin(kP0, 6), std::nullopt);
  EXPECT_TRUE(tracker.Begin(kP0, 8));
}

TEST(OffsetTrackerTest, CompletingTwiceChangesNothing) {
  OffsetTracker tracker;
  tracker.Assign(kP0);
  auto a = tracker.Begin(kP0, 0);
  auto b = tracker.Begin(kP0, 1);
  EXPECT_EQ(tracker.Complete(*a), 1);
  EXPECT_EQ(tracker.Complete(*a), std::nullopt);
  EXPECT_EQ(tracker.InFlight(kP0), 1);
  EXPECT_EQ(tracker.Complete(*b), 2);
}

TEST(OffsetTrackerTest, UnassignedPartitionIsNotTracked) {
  OffsetTracker tracker;
  EXPECT_EQ(tracker.Begin(kP1, 0), std::nullopt);
  EXPECT_EQ(tracker.InFlight(), 0);
  EXPECT_TRUE(tracker.CommitPositions().empty());
}

TEST(OffsetTrackerTest, TruncatedTailIsNeverCommitted) {
  OffsetTracker tracker;
  tracker.Assign(kP0);
  auto running = tracker.Begin(kP0, 0);
  auto queued1 = tracker.Begin(kP0, 1);
  auto queued2 = tracker.Begin(kP0, 2);
  ASSERT_TRUE(running && queued1 && queued2);
  // Stopping: the queued ones are given up, the running one finishes.
  tracker.Truncate(kP0, 1);
  EXPECT_EQ(tracker.InFlight(kP0), 1);
  EXPECT_EQ(tracker.Begin(kP0, 3), std::nullopt);
  EXPECT_EQ(tracker.Complete(*queued2), std::nullopt);
  EXPECT_EQ(tracker.Complete(*running), 1);
  EXPECT_EQ(tracker.CommitPosition(kP0), 1);
}

}  // namespace
}  // namespace scrc
