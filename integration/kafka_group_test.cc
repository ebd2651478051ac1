// Three `scrc serve` processes share one consumer group on a 6-partition
// topic; one is SIGKILLed in the middle. Every submission still gets a
// result (its partitions move to the others, uncommitted work is
// redelivered). Duplicates are allowed by at-least-once: counted and
// reported, not failed.
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "integration/kafka_harness.h"

namespace scrc::kafka_test {
namespace {

TEST(KafkaGroupTest, KillingOneOfThreeRunnersLosesNoSubmission) {
  SCRC_REQUIRE_BROKER();
  const TestTopics topics("group");
  constexpr int kPartitions = 6;
  constexpr int kSubmissions = 120;
  ASSERT_TRUE(CreateTopic(topics.scripts, kPartitions).ok());
  ASSERT_TRUE(CreateTopic(topics.results, 1).ok());
  ResultCollector results(topics.results);
  ASSERT_TRUE(results.ok());

  std::vector<std::unique_ptr<ServeProcess>> runners;
  for (int i = 0; i < 3; ++i) {
    runners.push_back(std::make_unique<ServeProcess>(
        topics.Env(1), absl::StrCat(topics.group, "-", i)));
    ASSERT_GT(runners.back()->pid(), 0);
  }
  // Every member holds partitions before the load starts, so the one
  // killed has work in flight.
  for (auto& runner : runners) {
    ASSERT_TRUE(runner->WaitForLog("assigned ", absl::Minutes(2)))
        << runner->Log();
  }

  Sender sender;
  ASSERT_TRUE(sender.ok());
  const std::vector<std::string> ids = SendNumbered(
      sender, topics.scripts, "g", kSubmissions,
      [](const std::string& id, int i) {
        return i % 2 == 0 ? PythonSum(id) : CSum(id);
      });
  ASSERT_TRUE(sender.Flush().empty());

  // Kill the first runner in the middle of the run, once it has published
  // results of its own (so it had work, some of it in flight).
  const auto middle = [&] {
    return results.Count() >= kSubmissions / 3 &&
           runners[0]->Log().find("scrc serve: result ") != std::string::npos;
  };
  const absl::Time guard = absl::Now() + absl::Minutes(5);
  while (absl::Now() < guard && !middle()) {
    results.PollOnce(absl::Milliseconds(100));
  }
  ASSERT_NE(runners[0]->Log().find("scrc serve: result "), std::string::npos)
      << runners[0]->Log();
  runners[0]->Signal(SIGKILL);
  EXPECT_EQ(runners[0]->Wait(absl::Minutes(1)), 128 + SIGKILL);
  const size_t results_at_kill = results.Count();

  EXPECT_TRUE(results.WaitFor(
      ids, absl::Minutes(10),
      [&] { return runners[1]->Running() || runners[2]->Running(); }))
      << results.MissingOf(ids).size() << " results missing\n"
      << runners[1]->Log() << runners[2]->Log();
  // Late duplicates, if any, show up here.
  results.PollOnce(absl::Seconds(2));

  const int duplicates = results.Duplicates();
  std::cout << "[ INFO     ] " << kSubmissions << " submissions, "
            << results.Count() << " results (" << results_at_kill
            << " before the kill), " << duplicates
            << " duplicate(s) from redelivery\n";
  RecordProperty("duplicates", duplicates);
  for (const std::string& id : ids) {
    EXPECT_EQ(results.Summary(id).status, "OK") << id;
  }

  for (int i = 1; i < 3; ++i) runners[i]->Signal(SIGTERM);
  for (int i = 1; i < 3; ++i) {
    EXPECT_EQ(runners[i]->Wait(absl::Minutes(2)), 0) << runners[i]->Log();
  }
  const Offsets offsets =
      GroupOffsets(topics.group, topics.scripts, kPartitions);
  ASSERT_EQ(offsets.committed.size(), static_cast<size_t>(kPartitions));
  for (int p = 0; p < kPartitions; ++p) {
    EXPECT_EQ(offsets.committed[p], offsets.end[p]) << "partition " << p;
  }
}

}  // namespace
}  // namespace scrc::kafka_test
