// Bad input never stops the runner: every malformed message gets a result
// with status "-" and an error naming what is wrong, its offset is
// committed, and good submissions around it are judged as usual.
#include <map>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "integration/kafka_harness.h"

namespace scrc::kafka_test {
namespace {

struct BadInput {
  std::string id;  // also the Kafka key
  std::string payload;
  std::vector<std::string> error_parts;  // each must be in `error`
};

std::vector<BadInput> BadInputs() {
  std::vector<BadInput> bad = {
      {"bad-json",
       R"({"id":"bad-json","language":"python","source":)",
       {"invalid JSON at offset"}},
      {"missing-fields",
       R"({"id":"missing-fields"})",
       {"language: required", "source: required"}},
      {"wrong-types",
       R"j({"id":"wrong-types","language":5,"source":"print(1)",)j"
       R"j("limits":{"time_limit_ms":-1},"tests":"no"})j",
       {"language: must be a string", "limits.time_limit_ms: must be >= 0",
        "tests: must be an array"}},
      {"unknown-language",
       R"({"id":"unknown-language","language":"cobol","source":"x"})",
       {"language: unsupported", "cobol"}},
      {"not-an-object", "[1,2,3]", {"must be a JSON object"}},
      {"empty-message", "", {"invalid JSON"}},
      {"bad-type",
       R"({"id":"bad-type","type":"quit","language":"c",)"
       R"("source":"int main(){}"})",
       {"type: must be \"script\" or \"done\""}},
  };
  ScriptSpec huge = PythonSum("huge-source");
  huge.source = std::string(50 << 20, '#');
  bad.push_back({"huge-source", ScriptJson(huge), {"message: too large"}});
  ScriptSpec many = PythonSum("many-tests");
  many.tests.assign(10000, {"1 2\n", "3\n"});
  bad.push_back({"many-tests", ScriptJson(many), {"tests: too many"}});
  return bad;
}

TEST(KafkaBadInputTest, EveryBadMessageIsAnsweredAndTheRunnerGoesOn) {
  SCRC_REQUIRE_BROKER();
  const TestTopics topics("bad-input");
  ASSERT_TRUE(CreateTopic(topics.scripts, 1).ok());
  ASSERT_TRUE(CreateTopic(topics.results, 1).ok());
  ResultCollector results(topics.results);
  ASSERT_TRUE(results.ok());

  const std::vector<BadInput> bad = BadInputs();
  std::vector<std::string> ids, good;
  Sender sender;
  ASSERT_TRUE(sender.ok());
  for (size_t i = 0; i < bad.size(); ++i) {
    sender.Send(topics.scripts, bad[i].id, bad[i].payload);
    ids.push_back(bad[i].id);
    const std::string ok_id = absl::StrCat("good-", i);
    sender.Send(topics.scripts, ok_id, ScriptJson(PythonSum(ok_id)));
    ids.push_back(ok_id);
    good.push_back(ok_id);
  }
  // No key and no id: the result is named after the message's position.
  sender.Send(topics.scripts, "", "\xff\xfe not json at all");
  const std::string last = "good-last";
  sender.Send(topics.scripts, last, ScriptJson(CSum(last)));
  ids.push_back(last);
  good.push_back(last);
  const std::vector<std::string> failures = sender.Flush();
  ASSERT_TRUE(failures.empty())
      << failures.front()
      << " (does the broker accept 50 MiB messages? scripts/kafka sets "
         "message.max.bytes=64 MiB)";

  ServeProcess serve(topics.Env(1), topics.group);
  ASSERT_GT(serve.pid(), 0);
  ASSERT_TRUE(
      results.WaitFor(ids, absl::Minutes(5), [&] { return serve.Running(); }))
      << results.MissingOf(ids).size() << " results missing\n"
      << serve.Log();
  EXPECT_TRUE(serve.Running()) << serve.Log();

  for (const BadInput& input : bad) {
    const ResultSummary r = results.Summary(input.id);
    EXPECT_EQ(r.status, "-") << input.id << ": " << r.error;
    for (const std::string& part : input.error_parts) {
      EXPECT_NE(r.error.find(part), std::string::npos)
          << input.id << ": error '" << r.error << "' lacks '" << part << "'";
    }
    // The answer to a 50 MiB message stays small.
    EXPECT_LT(results.by_id().at(input.id).front().size(), 64u << 10)
        << input.id;
  }
  for (const std::string& id : good) {
    EXPECT_EQ(results.Summary(id).status, "OK") << id;
  }
  // The keyless message: id "<topic>-<partition>-<offset>".
  const std::string keyless_id =
      absl::StrCat(topics.scripts, "-0-", 2 * bad.size());
  results.WaitFor({keyless_id}, absl::Seconds(30));
  ASSERT_TRUE(results.by_id().contains(keyless_id))
      << "no result named " << keyless_id;
  EXPECT_EQ(results.Summary(keyless_id).status, "-");
  EXPECT_NE(results.Summary(keyless_id).error.find("invalid JSON"),
            std::string::npos);

  serve.Signal(SIGTERM);
  EXPECT_EQ(serve.Wait(absl::Minutes(2)), 0) << serve.Log();
  const Offsets offsets = GroupOffsets(topics.group, topics.scripts, 1);
  ASSERT_EQ(offsets.committed.size(), 1u);
  EXPECT_EQ(offsets.committed[0], offsets.end[0]);
  EXPECT_EQ(offsets.end[0], static_cast<int64_t>(ids.size() + 1));
  EXPECT_EQ(results.Duplicates(), 0);
}

}  // namespace
}  // namespace scrc::kafka_test
