#include "src/contract.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"
#include "src/utf8.h"

namespace scrc {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

ContractOptions Options() {
  ContractOptions o;
  o.languages = {"c", "cpp", "go", "java", "python"};
  return o;
}

ParsedMessage Parse(const std::string& json,
                    const ContractOptions& options = Options()) {
  return ParseScriptMessage(json, "fallback-7", options);
}

std::string ErrorOf(const std::string& json,
                    const ContractOptions& options = Options()) {
  const ParsedMessage m = Parse(json, options);
  EXPECT_FALSE(m.error.ok()) << json;
  return std::string(m.error.message());
}

constexpr char kValid[] = R"({
  "type": "script", "id": "submission-456", "language": "c",
  "source": "int main(){}",
  "limits": {"time_limit_ms": 2000, "memory_limit_bytes": 67108864},
  "tests": [
    {"number": 2, "input": "10 20\n", "expected_output": "30\n"},
    {"number": 1, "input": "2 3\n", "expected_output": "5\n"}
  ]})";

TEST(ParseScriptMessageTest, ValidMessage) {
  const ParsedMessage m = Parse(kValid);
  ASSERT_TRUE(m.error.ok()) << m.error;
  EXPECT_EQ(m.kind, ParsedMessage::kScript);
  EXPECT_EQ(m.id, "submission-456");
  EXPECT_EQ(m.script.id, "submission-456");
  EXPECT_EQ(m.script.language, "c");
  EXPECT_EQ(m.script.source, "int main(){}");
  EXPECT_EQ(m.script.time_limit_ms, 2000);
  EXPECT_EQ(m.script.memory_limit_bytes, 67108864);
  ASSERT_EQ(m.script.tests.size(), 2u);
  // Sorted by number.
  EXPECT_EQ(m.script.tests[0].number, 1);
  EXPECT_EQ(m.script.tests[0].input, "2 3\n");
  EXPECT_EQ(m.script.tests[0].expected_output, "5\n");
  EXPECT_EQ(m.script.tests[1].number, 2);
}

TEST(ParseScriptMessageTest, MinimalMessageTakesDefaults) {
  const ParsedMessage m =
      Parse(R"js({"language": "python", "source": "print(1)"})js");
  ASSERT_TRUE(m.error.ok()) << m.error;
  EXPECT_EQ(m.id, "fallback-7");
  EXPECT_EQ(m.script.id, "fallback-7");
  EXPECT_EQ(m.script.time_limit_ms, 0);
  EXPECT_EQ(m.script.memory_limit_bytes, 0);
  EXPECT_TRUE(m.script.tests.empty());
}

TEST(ParseScriptMessageTest, NullOptionalFieldsAreAbsent) {
  const ParsedMessage m = Parse(
      R"({"id": null, "type": null, "language": "go", "source": "x",
          "limits": null, "tests": [{"number": null, "input": null,
          "expected_output": null}]})");
  ASSERT_TRUE(m.error.ok()) << m.error;
  EXPECT_EQ(m.id, "fallback-7");
  ASSERT_EQ(m.script.tests.size(), 1u);
  EXPECT_EQ(m.script.tests[0].number, 1);
  EXPECT_EQ(m.script.tests[0].input, "");
  EXPECT_FALSE(m.script.tests[0].expected_output.has_value());
}

TEST(ParseScriptMessageTest, EmptyIdFallsBack) {
  EXPECT_EQ(Parse(R"({"id": "", "language": "c", "source": "x"})").id,
            "fallback-7");
}

TEST(ParseScriptMessageTest, TestsAreAutoNumberedByPosition) {
  const ParsedMessage m = Parse(
      R"({"language": "c", "source": "x",
          "tests": [{"input": "a"}, {"number": 0, "input": "b"}, {}]})");
  ASSERT_TRUE(m.error.ok()) << m.error;
  ASSERT_EQ(m.script.tests.size(), 3u);
  EXPECT_EQ(m.script.tests[0].number, 1);
  EXPECT_EQ(m.script.tests[0].input, "a");
  EXPECT_EQ(m.script.tests[1].number, 2);
  EXPECT_EQ(m.script.tests[1].input, "b");
  EXPECT_EQ(m.script.tests[2].number, 3);
}

TEST(ParseScriptMessageTest, DoneMessage) {
  const ParsedMessage m = Parse(R"({"type": "done"})");
  ASSERT_TRUE(m.error.ok()) << m.error;
  EXPECT_EQ(m.kind, ParsedMessage::kDone);
  EXPECT_EQ(m.id, "fallback-7");
  EXPECT_EQ(Parse(R"({"type": "done", "id": "end-1"})").id, "end-1");
}

TEST(ParseScriptMessageTest, NotJson) {
  EXPECT_THAT(ErrorOf("this is not json"),
              StartsWith("invalid JSON at offset 1: Invalid value."));
  EXPECT_THAT(ErrorOf(R"({"language": "c" "source": "x"})"),
              StartsWith("invalid JSON at offset 17: Missing a comma"));
  EXPECT_THAT(ErrorOf(""), StartsWith("invalid JSON at offset 0: "));
  EXPECT_THAT(ErrorOf(R"({"language": "c"} trailing)"),
              HasSubstr("must not be followed by other values"));
}

TEST(ParseScriptMessageTest, InvalidUtf8IsInvalidJson) {
  EXPECT_THAT(ErrorOf("{\"language\": \"c\", \"source\": \"\xff\"}"),
              StartsWith("invalid JSON at offset"));
}

TEST(ParseScriptMessageTest, IdIsRecoveredFromBrokenJson) {
  const ParsedMessage m =
      Parse(R"({"id": "sub-9", "language": "c", "source": "x",)");
  EXPECT_FALSE(m.error.ok());
  EXPECT_EQ(m.id, "sub-9");
  // An "id" nested deeper, or after the error, is not taken.
  EXPECT_EQ(Parse(R"({"tests": [{"id": "nested"}], oops})").id, "fallback-7");
  EXPECT_EQ(Parse(R"({"x": oops, "id": "late"})").id, "fallback-7");
  // A string that merely contains "id" is not taken either.
  EXPECT_EQ(Parse(R"({"source": "\"id\": \"fake\"", bad})").id, "fallback-7");
}

TEST(ParseScriptMessageTest, DeepNestingDoesNotCrash) {
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  EXPECT_THAT(ErrorOf(deep), HasSubstr("must be a JSON object (got array)"));
  const std::string broken = std::string(100000, '[');
  EXPECT_THAT(ErrorOf(broken), StartsWith("invalid JSON"));
}

TEST(ParseScriptMessageTest, NotAnObject) {
  EXPECT_EQ(ErrorOf("[1, 2]"), "message: must be a JSON object (got array)");
  EXPECT_EQ(ErrorOf("\"x\""), "message: must be a JSON object (got string)");
  EXPECT_EQ(ErrorOf("null"), "message: must be a JSON object (got null)");
}

TEST(ParseScriptMessageTest, WrongTypesNameTheField) {
  EXPECT_EQ(ErrorOf(R"({"id": 5, "language": "c", "source": "x"})"),
            "id: must be a string (got number)");
  EXPECT_EQ(ErrorOf(R"({"type": 1, "language": "c", "source": "x"})"),
            "type: must be a string (got number)");
  EXPECT_EQ(ErrorOf(R"({"type": "run", "language": "c", "source": "x"})"),
            "type: must be \"script\" or \"done\" (got 'run')");
  EXPECT_EQ(ErrorOf(R"({"language": ["c"], "source": "x"})"),
            "language: must be a string (got array)");
  EXPECT_EQ(ErrorOf(R"({"language": "c", "source": 42})"),
            "source: must be a non-empty string (got number)");
  EXPECT_EQ(ErrorOf(R"({"language": "c", "source": "x", "limits": 5})"),
            "limits: must be an object (got number)");
  EXPECT_EQ(ErrorOf(R"({"language": "c", "source": "x",
                        "limits": {"time_limit_ms": "2s"}})"),
            "limits.time_limit_ms: must be an integer (got string)");
  EXPECT_EQ(ErrorOf(R"({"language": "c", "source": "x",
                        "limits": {"memory_limit_bytes": 1.5}})"),
            "limits.memory_limit_bytes: must be an integer (got number)");
  EXPECT_EQ(ErrorOf(R"({"language": "c", "source": "x", "tests": {}})"),
            "tests: must be an array (got object)");
  EXPECT_EQ(ErrorOf(R"({"language": "c", "source": "x",
                        "tests": [{}, {}, {}, 7]})"),
            "tests[3]: must be an object (got number)");
  EXPECT_EQ(ErrorOf(R"({"language": "c", "source": "x",
                        "tests": [{}, {}, {}, {"number": "4"}]})"),
            "tests[3].number: must be an integer (got string)");
  EXPECT_EQ(ErrorOf(R"({"language": "c", "source": "x",
                        "tests": [{"input": 3}]})"),
            "tests[0].input: must be a string (got number)");
  EXPECT_EQ(ErrorOf(R"({"language": "c", "source": "x",
                        "tests": [{"expected_output": false}]})"),
            "tests[0].expected_output: must be a string (got boolean)");
}

TEST(ParseScriptMessageTest, NegativeAndHugeLimits) {
  EXPECT_EQ(ErrorOf(R"({"language": "c", "source": "x",
                        "limits": {"time_limit_ms": -1}})"),
            "limits.time_limit_ms: must be >= 0 (got -1)");
  EXPECT_EQ(ErrorOf(R"({"language": "c", "source": "x",
                        "limits": {"memory_limit_bytes": -5}})"),
            "limits.memory_limit_bytes: must be >= 0 (got -5)");
  EXPECT_EQ(ErrorOf(R"({"language": "c", "source": "x",
                        "limits": {"memory_limit_bytes": 18446744073709551615}})"),
            "limits.memory_limit_bytes: out of range (got 18446744073709551615)");
  EXPECT_EQ(ErrorOf(R"({"language": "c", "source": "x",
                        "limits": {"time_limit_ms": 3600001}})"),
            "limits.time_limit_ms: must be <= 3600000 (got 3600001)");
  EXPECT_EQ(ErrorOf(R"({"language": "c", "source": "x",
                        "tests": [{"number": -2}]})"),
            "tests[0].number: must be >= 0 (got -2)");
}

TEST(ParseScriptMessageTest, MissingOrEmptySource) {
  EXPECT_EQ(ErrorOf(R"({"language": "c", "source": ""})"),
            "source: must be a non-empty string");
  EXPECT_EQ(ErrorOf(R"({"language": "c"})"),
            "source: required (a non-empty string)");
}

TEST(ParseScriptMessageTest, UnknownOrMissingLanguage) {
  EXPECT_EQ(ErrorOf(R"({"language": "rust", "source": "fn main(){}"})"),
            "language: unsupported 'rust' (supported: c, cpp, go, java, "
            "python)");
  EXPECT_EQ(ErrorOf(R"({"source": "x"})"),
            "language: required (supported: c, cpp, go, java, python)");
  // Case matters, as in the reference.
  EXPECT_THAT(ErrorOf(R"({"language": "C", "source": "x"})"),
              StartsWith("language: unsupported 'C'"));
}

TEST(ParseScriptMessageTest, DuplicateTestNumbers) {
  EXPECT_EQ(ErrorOf(R"({"language": "c", "source": "x",
                        "tests": [{"number": 1}, {"number": 2},
                                  {"number": 1}]})"),
            "tests[2].number: duplicate test number 1, also used by tests[0]");
  // An explicit number that collides with a position.
  EXPECT_EQ(ErrorOf(R"({"language": "c", "source": "x",
                        "tests": [{"number": 2}, {}]})"),
            "tests[1].number: duplicate test number 2 (auto-assigned from "
            "its position), also used by tests[0]");
}

TEST(ParseScriptMessageTest, TooManyTests) {
  ContractOptions options = Options();
  options.max_tests = 3;
  EXPECT_EQ(ErrorOf(R"({"language": "c", "source": "x",
                        "tests": [{}, {}, {}, {}]})",
                    options),
            "tests: too many (4; limit 3)");
  EXPECT_TRUE(Parse(R"({"language": "c", "source": "x",
                        "tests": [{}, {}, {}]})",
                    options)
                  .error.ok());
}

TEST(ParseScriptMessageTest, HugeSource) {
  const std::string big(1024 * 1024 + 1, 'x');
  EXPECT_EQ(ErrorOf(R"({"language": "c", "source": ")" + big + "\"}"),
            "source: too large (1048577 bytes; limit 1 MiB)");
  const std::string fits(1024 * 1024, 'x');
  EXPECT_TRUE(Parse(R"({"language": "c", "source": ")" + fits + "\"}")
                  .error.ok());
}

TEST(ParseScriptMessageTest, HugeMessage) {
  ContractOptions options = Options();
  options.max_message_bytes = 100;
  const std::string json = R"({"id": "big-1", "language": "c", "source": ")" +
                           std::string(200, 'x') + "\"}";
  const ParsedMessage m = Parse(json, options);
  EXPECT_EQ(m.error.message(), "message: too large (" +
                                   std::to_string(json.size()) +
                                   " bytes; limit 100 bytes)");
  EXPECT_EQ(m.id, "big-1");
}

TEST(ParseScriptMessageTest, EveryProblemIsReportedWithTheId) {
  const ParsedMessage m = Parse(
      R"({"id": "s-1", "language": "rust", "source": "",
          "limits": {"time_limit_ms": -1}})");
  EXPECT_EQ(m.id, "s-1");
  EXPECT_EQ(m.error.message(),
            "language: unsupported 'rust' (supported: c, cpp, go, java, "
            "python); source: must be a non-empty string; "
            "limits.time_limit_ms: must be >= 0 (got -1)");
  EXPECT_TRUE(m.script.source.empty());  // nothing half-parsed leaks out
}

TEST(ParseScriptMessageTest, ManyProblemsAreCapped) {
  std::string tests = "[";
  for (int i = 0; i < 50; ++i) tests += std::string(i ? "," : "") + "5";
  tests += "]";
  const std::string e =
      ErrorOf(R"({"language": "c", "source": "x", "tests": )" + tests + "}");
  EXPECT_THAT(e, HasSubstr("tests[9]: must be an object"));
  EXPECT_THAT(e, HasSubstr("; ... and 40 more"));
}

TEST(ParseScriptMessageTest, UnknownFieldsAreIgnored) {
  EXPECT_TRUE(Parse(R"({"language": "c", "source": "x", "priority": 3})")
                  .error.ok());
}

Result SampleResult() {
  Result r;
  r.id = "submission-456";
  r.status = Verdict::kWA;
  r.run.exit_code = 0;
  r.run.duration_ms = 145;
  r.run.cpu_time_ms = 80;
  r.run.wall_time_ms = 90;
  r.run.memory_bytes = 1 << 20;
  r.run.stderr_data = "warning: x\n";
  r.timestamp = "2025-01-15T10:30:00.123Z";
  TestResult t1;
  t1.number = 1;
  t1.status = Verdict::kWA;
  t1.run.exit_code = 0;
  t1.run.duration_ms = 45;
  t1.run.stdout_data = "6\n";
  t1.input = "2 3\n";
  t1.expected_output = "5\n";
  t1.error = "wrong answer: line 1 differs from the expected output";
  TestResult t2;
  t2.number = 2;
  t2.status = Verdict::kNotRun;
  t2.input = "1 1\n";
  r.tests = {t1, t2};
  return r;
}

TEST(SerializeResultTest, AllFieldsOfTheContract) {
  const std::string json = SerializeResult(SampleResult());
  rapidjson::Document d;
  d.Parse(json.c_str());
  ASSERT_FALSE(d.HasParseError()) << json;
  EXPECT_STREQ(d["id"].GetString(), "submission-456");
  EXPECT_STREQ(d["status"].GetString(), "WA");
  EXPECT_EQ(d["exit_code"].GetInt(), 0);
  EXPECT_STREQ(d["stdout"].GetString(), "");
  EXPECT_STREQ(d["stderr"].GetString(), "warning: x\n");
  EXPECT_EQ(d["duration_ms"].GetInt(), 145);
  EXPECT_EQ(d["cpu_time_ms"].GetInt(), 80);
  EXPECT_EQ(d["wall_time_ms"].GetInt(), 90);
  EXPECT_EQ(d["memory_bytes"].GetInt(), 1 << 20);
  EXPECT_FALSE(d["truncated"].GetBool());
  EXPECT_STREQ(d["error"].GetString(), "");
  EXPECT_STREQ(d["timestamp"].GetString(), "2025-01-15T10:30:00.123Z");
  ASSERT_EQ(d["tests"].Size(), 2u);
  const auto& t1 = d["tests"][0];
  EXPECT_EQ(t1["number"].GetInt(), 1);
  EXPECT_STREQ(t1["status"].GetString(), "WA");
  EXPECT_EQ(t1["exit_code"].GetInt(), 0);
  EXPECT_EQ(t1["duration_ms"].GetInt(), 45);
  EXPECT_STREQ(t1["stdout"].GetString(), "6\n");
  EXPECT_STREQ(t1["stderr"].GetString(), "");
  EXPECT_STREQ(t1["input"].GetString(), "2 3\n");
  EXPECT_STREQ(t1["expected_output"].GetString(), "5\n");
  EXPECT_THAT(t1["error"].GetString(), HasSubstr("wrong answer"));
  const auto& t2 = d["tests"][1];
  EXPECT_STREQ(t2["status"].GetString(), "-");
  // Absent optional values are null, not 0.
  EXPECT_TRUE(t2["exit_code"].IsNull());
  EXPECT_TRUE(t2["duration_ms"].IsNull());
  EXPECT_TRUE(t2["cpu_time_ms"].IsNull());
  EXPECT_TRUE(t2["memory_bytes"].IsNull());
  EXPECT_TRUE(t2["expected_output"].IsNull());
}

TEST(SerializeResultTest, TimestampIsSetWhenMissing) {
  Result r = SampleResult();
  r.timestamp.clear();
  rapidjson::Document d;
  d.Parse(SerializeResult(r).c_str());
  const std::string ts = d["timestamp"].GetString();
  // 2025-01-15T10:30:00.123Z
  ASSERT_EQ(ts.size(), 24u) << ts;
  EXPECT_EQ(ts[10], 'T');
  EXPECT_EQ(ts[19], '.');
  EXPECT_EQ(ts.back(), 'Z');
}

TEST(SerializeResultTest, ErrorResult) {
  const Result r = MakeErrorResult("bad-1", "source: must be a non-empty string");
  rapidjson::Document d;
  d.Parse(SerializeResult(r).c_str());
  ASSERT_FALSE(d.HasParseError());
  EXPECT_STREQ(d["id"].GetString(), "bad-1");
  EXPECT_STREQ(d["status"].GetString(), "-");
  EXPECT_STREQ(d["error"].GetString(), "source: must be a non-empty string");
  EXPECT_TRUE(d["exit_code"].IsNull());
  EXPECT_TRUE(d["duration_ms"].IsNull());
  EXPECT_EQ(d["tests"].Size(), 0u);
}

TEST(SerializeResultTest, BinaryOutputBecomesValidUtf8) {
  Result r = SampleResult();
  r.tests[0].run.stdout_data = std::string("ok\xff\xfe\0end", 8);
  const std::string json = SerializeResult(r);
  EXPECT_TRUE(IsValidUtf8(json));
  rapidjson::Document d;
  d.Parse<rapidjson::kParseValidateEncodingFlag>(json.c_str(), json.size());
  ASSERT_FALSE(d.HasParseError());
  const auto& out = d["tests"][0]["stdout"];
  EXPECT_EQ(std::string(out.GetString(), out.GetStringLength()),
            std::string("ok\xEF\xBF\xBD\xEF\xBF\xBD\0end", 12));
}

// Serialized, parsed back as a script-like view: every test field survives.
TEST(SerializeResultTest, RoundTrip) {
  Result r = SampleResult();
  r.tests[0].run.stdout_data = "line \"quoted\" \\ \t tab\n\x01\n";
  const std::string json = SerializeResult(r);
  rapidjson::Document d;
  d.Parse(json.c_str(), json.size());
  ASSERT_FALSE(d.HasParseError());
  const auto& out = d["tests"][0]["stdout"];
  EXPECT_EQ(std::string(out.GetString(), out.GetStringLength()),
            r.tests[0].run.stdout_data);
  EXPECT_EQ(SerializeResult(r), json);  // deterministic
}

TEST(SerializeResultTest, ManyLargeTestsFitTheBudget) {
  Result r = SampleResult();
  r.tests.clear();
  for (int i = 1; i <= 100; ++i) {
    TestResult t;
    t.number = i;
    t.status = Verdict::kOK;
    t.run.exit_code = 0;
    t.run.stdout_data = std::string(64 << 10, 'o');
    t.run.stderr_data = std::string(100, 'e');
    t.input = std::string(64 << 10, '\n');  // escapes to twice its size
    t.expected_output = std::string(64 << 10, 'o');
    r.tests.push_back(t);
  }
  const size_t budget = 1 << 20;
  const std::string json = SerializeResult(r, budget);
  EXPECT_LE(json.size(), budget);
  EXPECT_GT(json.size(), budget * 9 / 10);  // cut, not emptied
  rapidjson::Document d;
  d.Parse(json.c_str(), json.size());
  ASSERT_FALSE(d.HasParseError());
  ASSERT_EQ(d["tests"].Size(), 100u);
  for (const auto& t : d["tests"].GetArray()) {
    EXPECT_TRUE(t["truncated"].GetBool());
    EXPECT_LT(t["stdout"].GetStringLength(), 64u << 10);
    EXPECT_EQ(t["stderr"].GetStringLength(), 100u);  // small ones are kept
  }
}

TEST(SerializeResultTest, SmallResultIsNotTouched) {
  const Result r = SampleResult();
  const std::string json = SerializeResult(r, 1 << 20);
  EXPECT_EQ(json.find("\"truncated\":true"), std::string::npos);
}

TEST(SerializeResultTest, CutsAtCharacterBoundaries) {
  Result r = SampleResult();
  std::string text;
  for (int i = 0; i < 20000; ++i) text += "\xC3\xA9";  // é
  r.run.stdout_data = text;
  const std::string json = SerializeResult(r, 10000);
  EXPECT_LE(json.size(), 10000u);
  EXPECT_TRUE(IsValidUtf8(json));
  rapidjson::Document d;
  d.Parse(json.c_str(), json.size());
  ASSERT_FALSE(d.HasParseError());
  EXPECT_TRUE(d["truncated"].GetBool());
}

TEST(SerializeResultTest, TinyBudgetStillGivesTheVerdict) {
  Result r = SampleResult();
  for (int i = 0; i < 50; ++i) r.tests.push_back(r.tests[1]);
  const std::string json = SerializeResult(r, 600);
  EXPECT_LE(json.size(), 600u);
  rapidjson::Document d;
  d.Parse(json.c_str(), json.size());
  ASSERT_FALSE(d.HasParseError()) << json;
  EXPECT_STREQ(d["status"].GetString(), "WA");
  EXPECT_THAT(d["error"].GetString(), HasSubstr("result too large"));
}

}  // namespace
}  // namespace scrc
