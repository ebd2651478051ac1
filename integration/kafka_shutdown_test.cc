// SIGTERM while the slots are busy: the runner takes nothing new, finishes
// what it took, publishes and commits it, and exits 0. A second runner in
// the same group then judges exactly the rest: nothing lost, nothing twice.
#include <dirent.h>

#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "integration/kafka_harness.h"

namespace scrc::kafka_test {
namespace {

// True when `pid` has a descendant: a box is running a submission.
bool HasDescendant(pid_t pid) {
  std::map<pid_t, pid_t> parent;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return false;
  while (dirent* entry = readdir(proc)) {
    const pid_t p = static_cast<pid_t>(std::atoi(entry->d_name));
    if (p <= 0) continue;
    std::ifstream stat(absl::StrCat("/proc/", p, "/stat"));
    std::string line;
    if (!std::getline(stat, line)) continue;
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses.
    const size_t close = line.rfind(')');
    if (close == std::string::npos) continue;
    char state = 0;
    int ppid = 0;
    if (std::sscanf(line.c_str() + close + 1, " %c %d", &state, &ppid) == 2) {
      parent[p] = ppid;
    }
  }
  closedir(proc);
  for (const auto& [p, pp] : parent) {
    for (pid_t up = pp; up > 1; up = parent.count(up) ? parent[up] : 0) {
      if (up == pid) return true;
    }
  }
  return false;
}

// A few seconds of CPU, then the right answer.
ScriptSpec SlowSum(const std::string& id) {
  ScriptSpec spec = PythonSum(id);
  spec.source =
      "s = 0\nfor i in range(15_000_000):\n    s += i\n"
      "a, b = map(int, input().split())\nprint(a + b if s > 0 else 0)\n";
  spec.tests.resize(1);
  spec.time_limit_ms = 60000;
  return spec;
}

TEST(KafkaShutdownTest, SigtermDrainsPublishesAndCommitsInFlightWork) {
  SCRC_REQUIRE_BROKER();
  const TestTopics topics("shutdown");
  constexpr int kSubmissions = 8;
  ASSERT_TRUE(CreateTopic(topics.scripts, 1).ok());
  ASSERT_TRUE(CreateTopic(topics.results, 1).ok());
  ResultCollector results(topics.results);
  ASSERT_TRUE(results.ok());

  ServeProcess first(topics.Env(2), topics.group + "-first");
  ASSERT_GT(first.pid(), 0);
  ASSERT_TRUE(first.WaitForLog("assigned ", absl::Minutes(2))) << first.Log();

  Sender sender;
  ASSERT_TRUE(sender.ok());
  const std::vector<std::string> ids =
      SendNumbered(sender, topics.scripts, "s", kSubmissions,
                   [](const std::string& id, int) { return SlowSum(id); });
  ASSERT_TRUE(sender.Flush().empty());

  const absl::Time guard = absl::Now() + absl::Minutes(2);
  while (absl::Now() < guard && !HasDescendant(first.pid())) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  ASSERT_TRUE(HasDescendant(first.pid())) << first.Log();
  first.Signal(SIGTERM);
  ASSERT_EQ(first.Wait(absl::Minutes(5)), 0) << first.Log();

  // What the first runner took is a prefix of the partition: all of it was
  // published, and the committed offset is right after it.
  results.PollOnce(absl::Seconds(2));
  const size_t taken = results.Count();
  ASSERT_GE(taken, 1u) << first.Log();
  ASSERT_LT(taken, static_cast<size_t>(kSubmissions))
      << "the runner took everything before SIGTERM; the test proves less";
  for (size_t i = 0; i < taken; ++i) {
    EXPECT_EQ(results.Summary(ids[i]).status, "OK") << ids[i];
  }
  Offsets offsets = GroupOffsets(topics.group, topics.scripts, 1);
  ASSERT_EQ(offsets.committed.size(), 1u);
  EXPECT_EQ(offsets.committed[0], static_cast<int64_t>(taken));

  // The rest goes to the next runner of the group, and only the rest.
  std::map<std::string, std::string> env = topics.Env(2);
  env["SCRIPT_EXPECTED"] = absl::StrCat(kSubmissions - taken);
  ServeProcess second(env, topics.group + "-second");
  EXPECT_EQ(second.Wait(absl::Minutes(5)), 0) << second.Log();
  EXPECT_TRUE(results.WaitFor(ids, absl::Minutes(1)))
      << results.MissingOf(ids).size() << " results missing\n"
      << second.Log();
  results.PollOnce(absl::Seconds(1));
  EXPECT_EQ(results.Duplicates(), 0);
  for (const std::string& id : ids) {
    EXPECT_EQ(results.Summary(id).status, "OK") << id;
  }
  offsets = GroupOffsets(topics.group, topics.scripts, 1);
  ASSERT_EQ(offsets.committed.size(), 1u);
  EXPECT_EQ(offsets.committed[0], kSubmissions);
}

}  // namespace
}  // namespace scrc::kafka_test
