// The reference's end-of-stream marker: a {"type":"done"} message makes the
// runner finish what it took before it and exit 0. The marker itself gets
// no result and is committed (a restarted runner does not stop on it
// again); what follows it is left for the next runner.
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "integration/kafka_harness.h"

namespace scrc::kafka_test {
namespace {

TEST(KafkaDoneTest, DoneMessageStopsTheRunnerAfterTheWorkBeforeIt) {
  SCRC_REQUIRE_BROKER();
  const TestTopics topics("done");
  ASSERT_TRUE(CreateTopic(topics.scripts, 1).ok());
  ASSERT_TRUE(CreateTopic(topics.results, 1).ok());
  ResultCollector results(topics.results);
  ASSERT_TRUE(results.ok());

  const std::vector<std::string> before = {"d0", "d1", "d2"};
  const std::vector<std::string> after = {"d4", "d5"};
  Sender sender;
  ASSERT_TRUE(sender.ok());
  for (const std::string& id : before) {
    sender.Send(topics.scripts, id, ScriptJson(PythonSum(id)));
  }
  sender.Send(topics.scripts, "d3", R"({"type":"done","id":"d3"})");
  for (const std::string& id : after) {
    sender.Send(topics.scripts, id, ScriptJson(CSum(id)));
  }
  ASSERT_TRUE(sender.Flush().empty());

  ServeProcess serve(topics.Env(1), topics.group);
  EXPECT_EQ(serve.Wait(absl::Minutes(3)), 0) << serve.Log();
  EXPECT_TRUE(results.WaitFor(before, absl::Minutes(1))) << serve.Log();
  results.PollOnce(absl::Seconds(2));
  for (const std::string& id : before) {
    EXPECT_EQ(results.Summary(id).status, "OK") << id;
  }
  EXPECT_FALSE(results.by_id().contains("d3"));
  EXPECT_EQ(results.Count(), before.size()) << serve.Log();

  Offsets offsets = GroupOffsets(topics.group, topics.scripts, 1);
  ASSERT_EQ(offsets.committed.size(), 1u);
  EXPECT_EQ(offsets.committed[0], 4);  // d0..d2 and the marker

  // A runner started later judges what came after the marker.
  ServeProcess next(topics.Env(1), topics.group + "-next");
  EXPECT_TRUE(results.WaitFor(after, absl::Minutes(2), [&] {
    return next.Running();
  })) << next.Log();
  next.Signal(SIGTERM);
  EXPECT_EQ(next.Wait(absl::Minutes(2)), 0) << next.Log();
  EXPECT_EQ(results.Duplicates(), 0);
}

}  // namespace
}  // namespace scrc::kafka_test
