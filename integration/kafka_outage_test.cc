// The broker goes away for 20 s in the middle of a run (scripts/kafka stop,
// then start on the same data directory): the runner waits it out and no
// submission is lost. Needs the broker that scripts/kafka manages.
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "integration/kafka_harness.h"

namespace scrc::kafka_test {
namespace {

const std::string kKafkaScript =
    absl::StrCat(SCRC_SOURCE_DIR, "/scripts/kafka");

// The brokers under test are the one scripts/kafka runs (same port).
bool BrokerIsOurs() {
  const char* port = std::getenv("SCRC_KAFKA_PORT");
  const std::string ours = absl::StrCat(
      "127.0.0.1:", port != nullptr && *port != '\0' ? port : "9092");
  if (Brokers() != ours) return false;
  return std::system((kKafkaScript + " status >/dev/null 2>&1").c_str()) == 0;
}

// Starts the broker again whatever happens to the test, so the tests
// after this one still have it.
class BrokerRestarter {
 public:
  ~BrokerRestarter() {
    if (stopped_) Start();
  }
  bool Stop() {
    stopped_ = true;
    return std::system((kKafkaScript + " stop").c_str()) == 0;
  }
  bool Start() {
    const bool ok = std::system((kKafkaScript + " start").c_str()) == 0;
    if (ok) stopped_ = false;
    return ok;
  }

 private:
  bool stopped_ = false;
};

TEST(KafkaOutageTest, BrokerDownForTwentySecondsLosesNothing) {
  SCRC_REQUIRE_BROKER();
  if (!BrokerIsOurs()) {
    GTEST_SKIP() << "needs the broker of scripts/kafka (it stops and starts "
                    "it): KAFKA_TEST_BROKERS names another one, or "
                    "scripts/kafka status says it is not running";
  }
  const TestTopics topics("outage");
  constexpr int kPartitions = 3;
  constexpr int kSubmissions = 60;
  ASSERT_TRUE(CreateTopic(topics.scripts, kPartitions).ok());
  ASSERT_TRUE(CreateTopic(topics.results, 1).ok());
  ResultCollector results(topics.results);
  ASSERT_TRUE(results.ok());

  Sender sender;
  ASSERT_TRUE(sender.ok());
  const std::vector<std::string> ids = SendNumbered(
      sender, topics.scripts, "o", kSubmissions,
      [](const std::string& id, int i) {
        return i % 2 == 0 ? PythonSum(id) : CSum(id);
      });
  ASSERT_TRUE(sender.Flush().empty());

  ServeProcess serve(topics.Env(2), topics.group);
  ASSERT_GT(serve.pid(), 0);
  const absl::Time guard = absl::Now() + absl::Minutes(5);
  while (absl::Now() < guard && results.Count() < 10) {
    results.PollOnce(absl::Milliseconds(200));
  }
  ASSERT_GE(results.Count(), 10u) << serve.Log();

  {
    BrokerRestarter broker;
    ASSERT_TRUE(broker.Stop());
    const size_t results_before_outage = results.Count();
    // Arranging the outage, not measuring anything.
    absl::SleepFor(absl::Seconds(20));
    EXPECT_TRUE(serve.Running()) << serve.Log();
    ASSERT_TRUE(broker.Start());
    std::cout << "[ INFO     ] " << results_before_outage
              << " results before the outage\n";
  }

  EXPECT_TRUE(
      results.WaitFor(ids, absl::Minutes(10), [&] { return serve.Running(); }))
      << results.MissingOf(ids).size() << " results missing\n"
      << serve.Log();
  EXPECT_TRUE(serve.Running()) << serve.Log();
  for (const std::string& id : ids) {
    EXPECT_EQ(results.Summary(id).status, "OK") << id;
  }
  std::cout << "[ INFO     ] " << results.Duplicates()
            << " duplicate(s) from redelivery\n";
  RecordProperty("duplicates", results.Duplicates());
  // The runner said what was wrong while the broker was away.
  EXPECT_NE(serve.Log().find("kafka: "), std::string::npos);

  serve.Signal(SIGTERM);
  EXPECT_EQ(serve.Wait(absl::Minutes(2)), 0) << serve.Log();
  const Offsets offsets =
      GroupOffsets(topics.group, topics.scripts, kPartitions);
  ASSERT_EQ(offsets.committed.size(), static_cast<size_t>(kPartitions));
  for (int p = 0; p < kPartitions; ++p) {
    EXPECT_EQ(offsets.committed[p], offsets.end[p]) << "partition " << p;
  }
}

}  // namespace
}  // namespace scrc::kafka_test
