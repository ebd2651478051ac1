#include "src/compare.h"

#include "gtest/gtest.h"

namespace scrc {
namespace {

TEST(CompareTest, ExactMatch) {
  EXPECT_TRUE(OutputMatches("5\n", "5\n"));
  EXPECT_TRUE(OutputMatches("", ""));
  EXPECT_TRUE(OutputMatches("a b\nc\n", "a b\nc\n"));
}

TEST(CompareTest, TrailingWhitespaceOfEachLineIsIgnored) {
  EXPECT_TRUE(OutputMatches("5   \n", "5\n"));
  EXPECT_TRUE(OutputMatches("5\t\r\n6 \n", "5\n6\n"));
  EXPECT_TRUE(OutputMatches("5\r\n", "5\n"));  // Windows line ends
  EXPECT_TRUE(OutputMatches("a\n \nb", "a\n\nb"));
}

TEST(CompareTest, TrailingEmptyLinesAreIgnored) {
  EXPECT_TRUE(OutputMatches("5", "5\n"));
  EXPECT_TRUE(OutputMatches("5\n\n\n", "5\n"));
  EXPECT_TRUE(OutputMatches("5\n \n\t\n", "5"));
  EXPECT_TRUE(OutputMatches("\n\n", ""));
}

TEST(CompareTest, EverythingElseMustMatch) {
  EXPECT_FALSE(OutputMatches("6\n", "5\n"));
  EXPECT_FALSE(OutputMatches(" 5\n", "5\n"));     // leading space counts
  EXPECT_FALSE(OutputMatches("a  b\n", "a b\n"));  // inner spaces count
  EXPECT_FALSE(OutputMatches("a\n\nb\n", "a\nb\n"));  // inner empty lines
  EXPECT_FALSE(OutputMatches("\n5\n", "5\n"));     // leading empty lines
  EXPECT_FALSE(OutputMatches("5\n", ""));
  EXPECT_FALSE(OutputMatches("", "5"));
  EXPECT_FALSE(OutputMatches("5\n6\n", "5\n"));
  EXPECT_FALSE(OutputMatches("Yes\n", "yes\n"));   // case counts
  EXPECT_FALSE(OutputMatches("5\v\n", "5\n"));     // only space, tab, \r
  EXPECT_FALSE(OutputMatches(std::string_view("5\0", 2), "5"));
}

TEST(CompareTest, FirstDifferingLine) {
  EXPECT_EQ(FirstDifferingLine("1\n2\n3\n", "1\n2\n4\n"), 3u);
  EXPECT_EQ(FirstDifferingLine("1\n", "1\n2\n"), 2u);
  EXPECT_EQ(FirstDifferingLine("1\n2\n", "1\n"), 2u);
  EXPECT_EQ(FirstDifferingLine("x", "y"), 1u);
  EXPECT_EQ(FirstDifferingLine("1 \n2\n", "1\n2"), std::nullopt);
}

}  // namespace
}  // namespace scrc
