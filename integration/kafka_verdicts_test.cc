// 300 submissions across the five languages and the outcomes OK, WA, TL,
// ML, BF, RE through a real broker and a real `scrc serve`: exactly one
// result each, the right verdict, and every offset committed at the end
// (the runner stops by itself after SCRIPT_EXPECTED submissions).
#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "integration/kafka_harness.h"

namespace scrc::kafka_test {
namespace {

struct Case {
  ScriptSpec spec;  // id is set per submission
  std::string verdict;
  int weight;  // how many of the 300; expensive builds (go, java) are rare
};

std::vector<Case> Cases() {
  const auto tests = SumTests();
  return {
      {PythonSum(""), "OK", 70},
      {{"", "python", "a,b=map(int,input().split())\nprint(a-b)\n", tests},
       "WA",
       30},
      {{"", "python", "while True:\n    pass\n", tests, 500}, "TL", 4},
      {{"", "python", "x = bytearray(512*1024*1024)\nprint(len(x))\n", tests, 0,
        64 << 20},
       "ML",
       10},
      {{"", "python", "def f(:\n", tests}, "BF", 15},
      {{"", "python", "import sys\nsys.exit(3)\n", tests}, "RE", 15},
      {CSum(""), "OK", 65},
      {{"", "c",
        "#include <stdio.h>\nint main(){int a,b;scanf(\"%d %d\",&a,&b);"
        "printf(\"%d\\n\",a*b);return 0;}\n",
        tests},
       "WA",
       30},
      {{"", "c", "int main(){volatile unsigned long x=0;for(;;)x++;}\n", tests,
        500},
       "TL",
       4},
      // Every page touched, so no compiler can elide the allocation.
      {{"", "c",
        "#include <stdio.h>\n#include <stdlib.h>\nint main(){size_t "
        "n=512u<<20;char*p=malloc(n);if(!p)return 2;for(size_t "
        "i=0;i<n;i+=4096)p[i]=(char)i;long s=0;for(size_t "
        "i=0;i<n;i+=4096)s+=p[i];printf(\"%ld\\n\",s);return 0;}\n",
        tests, 0, 64 << 20},
       "ML",
       5},
      {{"", "c", "int main( {\n", tests}, "BF", 15},
      {{"", "c", "int main(){volatile int*p=0;return *p;}\n", tests}, "RE", 15},
      {{"", "cpp",
        "#include <iostream>\nint main(){int a,b;std::cin>>a>>b;"
        "std::cout<<a+b<<\"\\n\";}\n",
        tests},
       "OK",
       10},
      {{"", "cpp",
        "#include <iostream>\nint main(){int a,b;std::cin>>a>>b;"
        "std::cout<<a-b<<\"\\n\";}\n",
        tests},
       "WA",
       6},
      {{"", "java",
        "import java.util.*;\npublic class Main{public static void "
        "main(String[] a){Scanner s=new Scanner(System.in);int "
        "x=s.nextInt(),y=s.nextInt();System.out.println(x+y);}}\n",
        tests},
       "OK",
       4},
      {{"", "go",
        "package main\nimport \"fmt\"\nfunc main(){var a,b int\n"
        "fmt.Scan(&a,&b)\nfmt.Println(a+b)}\n",
        tests},
       "OK",
       2},
  };
}

TEST(KafkaVerdictsTest, ThreeHundredSubmissionsOneResultEachAllCommitted) {
  SCRC_REQUIRE_BROKER();
  const TestTopics topics("verdicts");
  constexpr int kPartitions = 3;
  ASSERT_TRUE(CreateTopic(topics.scripts, kPartitions).ok());
  ASSERT_TRUE(CreateTopic(topics.results, 1).ok());

  // Interleave the cases so every language shows up throughout the run.
  std::vector<const Case*> order;
  const std::vector<Case> cases = Cases();
  int max_weight = 0;
  for (const Case& c : cases) max_weight = std::max(max_weight, c.weight);
  for (int round = 0; round < max_weight; ++round) {
    for (const Case& c : cases) {
      if (round < c.weight) order.push_back(&c);
    }
  }
  ASSERT_EQ(order.size(), 300u);

  std::vector<std::string> ids;
  std::map<std::string, std::string> expected;
  Sender sender;
  ASSERT_TRUE(sender.ok());
  for (size_t i = 0; i < order.size(); ++i) {
    ScriptSpec spec = order[i]->spec;
    spec.id = absl::StrCat("v", i, "-", spec.language, "-", order[i]->verdict);
    ids.push_back(spec.id);
    expected[spec.id] = order[i]->verdict;
    sender.Send(topics.scripts, spec.id, ScriptJson(spec));
  }
  ASSERT_TRUE(sender.Flush().empty());

  ResultCollector results(topics.results);
  ASSERT_TRUE(results.ok());
  std::map<std::string, std::string> env = topics.Env(2);
  env["SCRIPT_EXPECTED"] = "300";
  ServeProcess serve(env, topics.group);
  ASSERT_GT(serve.pid(), 0);

  // SCRIPT_EXPECTED: the runner drains, commits and exits 0 by itself.
  EXPECT_EQ(serve.Wait(absl::Minutes(25)), 0) << serve.Log();
  EXPECT_TRUE(results.WaitFor(ids, absl::Minutes(1)))
      << results.MissingOf(ids).size() << " results missing\n"
      << serve.Log();

  int wrong = 0;
  for (const std::string& id : ids) {
    auto it = results.by_id().find(id);
    if (it == results.by_id().end()) continue;
    EXPECT_EQ(it->second.size(), 1u) << id << " has duplicate results";
    const ResultSummary summary = results.Summary(id);
    if (summary.status != expected[id] && ++wrong <= 10) {
      ADD_FAILURE() << id << ": got " << summary.status << " (" << summary.error
                    << "), want " << expected[id];
    }
    // Results are keyed by submission id.
    EXPECT_EQ(results.keys().at(id).front(), id);
  }
  EXPECT_EQ(wrong, 0);
  EXPECT_EQ(results.Count(), 300u);

  const Offsets offsets =
      GroupOffsets(topics.group, topics.scripts, kPartitions);
  ASSERT_EQ(offsets.committed.size(), static_cast<size_t>(kPartitions));
  int64_t total = 0;
  for (int p = 0; p < kPartitions; ++p) {
    EXPECT_EQ(offsets.committed[p], offsets.end[p]) << "partition " << p;
    total += offsets.end[p];
  }
  EXPECT_EQ(total, 300);
}

}  // namespace
}  // namespace scrc::kafka_test
