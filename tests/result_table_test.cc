#include "src/result_table.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace scrc {
namespace {

using ::testing::HasSubstr;

TEST(ResultTableTest, SummaryCountsPassedTests) {
  auto r = ParseResultSummary(
      R"({"id":"s-1","status":"WA","duration_ms":12,"error":"test 2: wrong",)"
      R"("tests":[{"status":"OK"},{"status":"WA"},{"status":"-"}]})");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->id, "s-1");
  EXPECT_EQ(r->status, "WA");
  EXPECT_EQ(r->tests_ok, 1);
  EXPECT_EQ(r->tests_total, 3);
  EXPECT_EQ(r->duration_ms, 12);
  EXPECT_EQ(r->error, "test 2: wrong");
}

TEST(ResultTableTest, NonResultsAreRefused) {
  EXPECT_FALSE(ParseResultSummary("not json").ok());
  EXPECT_FALSE(ParseResultSummary(R"({"id":5,"status":"OK"})").ok());
  EXPECT_FALSE(ParseResultSummary(R"(["id","status"])").ok());
}

TEST(ResultTableTest, TableListsResultsMissingOnesAndCounts) {
  ResultSummary ok{"a", "python", "OK", 2, 2, 40, 55, ""};
  ResultSummary wa{"b", "c", "WA", 0, 2, 30, 60, "test 1: wrong answer"};
  const std::string table = FormatResultTable({ok, wa}, {"c-missing"});
  EXPECT_THAT(table, HasSubstr("ID"));
  EXPECT_THAT(table, HasSubstr("2/2"));
  EXPECT_THAT(table, HasSubstr("test 1: wrong answer"));
  EXPECT_THAT(table, HasSubstr("c-missing"));
  EXPECT_THAT(table, HasSubstr("2 result(s): 1 OK, 1 WA; 1 missing"));
  EXPECT_THAT(FormatResultLine(wa), HasSubstr("b  WA  0/2 tests  30 ms"));
}

}  // namespace
}  // namespace scrc
