#include "src/contract.h"

#include <algorithm>
#include <cstring>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "rapidjson/document.h"
#include "src/json_type.h"
#include "rapidjson/error/en.h"
#include "rapidjson/reader.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"
#include "src/timestamp.h"
#include "src/utf8.h"
#include "src/verdict.h"

namespace scrc {
namespace {

using rapidjson::Value;

// Iterative: a deeply nested hostile message must not exhaust the stack.
constexpr unsigned kParseFlags =
    rapidjson::kParseValidateEncodingFlag | rapidjson::kParseIterativeFlag;

// Problems listed in one error before "... and N more".
constexpr size_t kMaxListedProblems = 10;

class Problems {
 public:
  void Add(std::string problem) {
    if (listed_.size() < kMaxListedProblems) {
      listed_.push_back(std::move(problem));
    } else {
      ++unlisted_;
    }
  }
  bool empty() const { return listed_.empty(); }
  absl::Status ToStatus() const {
    if (listed_.empty()) return absl::OkStatus();
    std::string text = absl::StrJoin(listed_, "; ");
    if (unlisted_ > 0) absl::StrAppend(&text, "; ... and ", unlisted_, " more");
    return absl::InvalidArgumentError(text);
  }

 private:
  std::vector<std::string> listed_;
  size_t unlisted_ = 0;
};

std::string_view View(const Value& v) {
  return std::string_view(v.GetString(), v.GetStringLength());
}

// A value from the message quoted in an error: short and printable.
std::string Quote(std::string_view text) {
  constexpr size_t kMax = 64;
  std::string out = "'";
  for (char c : text.substr(0, kMax)) {
    out += (static_cast<unsigned char>(c) < 0x20) ? '?' : c;
  }
  if (text.size() > kMax) out += "...";
  out += "'";
  return SanitizeUtf8(out);
}

// Finds the top-level "id" of a message that failed to parse, from the
// events the SAX reader delivered before the error.
class IdFinder
    : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>, IdFinder> {
 public:
  bool Default() {
    want_ = false;
    return true;
  }
  bool String(const char* text, rapidjson::SizeType length, bool) {
    if (want_ && depth_ == 1 && length > 0) {
      id_ = std::string(text, length);
      return false;  // found: stop reading
    }
    want_ = false;
    return true;
  }
  bool Key(const char* text, rapidjson::SizeType length, bool) {
    want_ = depth_ == 1 && length == 2 && std::memcmp(text, "id", 2) == 0;
    return true;
  }
  bool StartObject() { return Open(); }
  bool StartArray() { return Open(); }
  bool EndObject(rapidjson::SizeType) { return Close(); }
  bool EndArray(rapidjson::SizeType) { return Close(); }

  const std::optional<std::string>& id() const { return id_; }

 private:
  bool Open() {
    ++depth_;
    want_ = false;
    return true;
  }
  bool Close() {
    --depth_;
    want_ = false;
    return true;
  }
  int depth_ = 0;
  bool want_ = false;
  std::optional<std::string> id_;
};

std::optional<std::string> IdFromBrokenMessage(std::string_view json) {
  IdFinder finder;
  rapidjson::Reader reader;
  rapidjson::MemoryStream memory(json.data(), json.size());
  rapidjson::EncodedInputStream<rapidjson::UTF8<>, rapidjson::MemoryStream>
      stream(memory);
  reader.Parse<kParseFlags>(stream, finder);
  return finder.id();
}

// An optional integer field that must be >= 0; nullopt when absent, null
// or wrong (then a problem is recorded).
std::optional<int64_t> ReadNonNegative(const Value& object, const char* key,
                                       const std::string& field,
                                       Problems& problems) {
  const auto it = object.FindMember(key);
  if (it == object.MemberEnd() || it->value.IsNull()) return std::nullopt;
  const Value& v = it->value;
  if (v.IsInt64()) {
    if (v.GetInt64() < 0) {
      problems.Add(absl::StrCat(field, ": must be >= 0 (got ", v.GetInt64(),
                                ")"));
      return std::nullopt;
    }
    return v.GetInt64();
  }
  if (v.IsUint64()) {
    problems.Add(absl::StrCat(field, ": out of range (got ", v.GetUint64(),
                              ")"));
  } else {
    problems.Add(absl::StrCat(field, ": must be an integer (got ",
                              JsonTypeName(v), ")"));
  }
  return std::nullopt;
}

// An optional string field; nullopt when absent or null.
std::optional<std::string> ReadOptionalString(const Value& object,
                                              const char* key,
                                              const std::string& field,
                                              Problems& problems) {
  const auto it = object.FindMember(key);
  if (it == object.MemberEnd() || it->value.IsNull()) return std::nullopt;
  if (!it->value.IsString()) {
    problems.Add(absl::StrCat(field, ": must be a string (got ",
                              JsonTypeName(it->value), ")"));
    return std::nullopt;
  }
  return std::string(View(it->value));
}

void ParseLimits(const Value& root, const ContractOptions& options,
                 Script& script, Problems& problems) {
  const auto it = root.FindMember("limits");
  if (it == root.MemberEnd() || it->value.IsNull()) return;
  if (!it->value.IsObject()) {
    problems.Add(absl::StrCat("limits: must be an object (got ",
                              JsonTypeName(it->value), ")"));
    return;
  }
  const Value& limits = it->value;
  if (auto t = ReadNonNegative(limits, "time_limit_ms",
                               "limits.time_limit_ms", problems)) {
    if (*t > options.max_time_limit_ms) {
      problems.Add(absl::StrCat("limits.time_limit_ms: must be <= ",
                                options.max_time_limit_ms, " (got ", *t,
                                ")"));
    } else {
      script.time_limit_ms = *t;
    }
  }
  if (auto m = ReadNonNegative(limits, "memory_limit_bytes",
                               "limits.memory_limit_bytes", problems)) {
    script.memory_limit_bytes = *m;
  }
}

void ParseTests(const Value& root, const ContractOptions& options,
                Script& script, Problems& problems) {
  const auto it = root.FindMember("tests");
  if (it == root.MemberEnd() || it->value.IsNull()) return;
  if (!it->value.IsArray()) {
    problems.Add(absl::StrCat("tests: must be an array (got ",
                              JsonTypeName(it->value), ")"));
    return;
  }
  const Value& tests = it->value;
  if (tests.Size() > options.max_tests) {
    problems.Add(absl::StrCat("tests: too many (", tests.Size(), "; limit ",
                              options.max_tests, ")"));
    return;
  }
  // number -> (index in the message, whether it was auto-assigned)
  std::vector<std::pair<int64_t, size_t>> seen;
  std::vector<bool> automatic;
  for (rapidjson::SizeType i = 0; i < tests.Size(); ++i) {
    const std::string field = absl::StrCat("tests[", i, "]");
    const Value& t = tests[i];
    if (!t.IsObject()) {
      problems.Add(absl::StrCat(field, ": must be an object (got ",
                                JsonTypeName(t), ")"));
      continue;
    }
    TestCase test;
    // As the reference runner: absent or 0 means "its position, from 1".
    const std::optional<int64_t> number =
        ReadNonNegative(t, "number", field + ".number", problems);
    const bool is_auto = !number.has_value() || *number == 0;
    test.number = is_auto ? static_cast<int64_t>(i) + 1 : *number;
    if (auto input = ReadOptionalString(t, "input", field + ".input",
                                        problems)) {
      test.input = *std::move(input);
    }
    test.expected_output = ReadOptionalString(
        t, "expected_output", field + ".expected_output", problems);
    seen.emplace_back(test.number, i);
    automatic.push_back(is_auto);
    script.tests.push_back(std::move(test));
  }
  // Duplicates: sort (number, index) pairs and compare neighbours.
  std::vector<size_t> order(seen.size());
  for (size_t k = 0; k < order.size(); ++k) order[k] = k;
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return seen[a] < seen[b]; });
  for (size_t k = 1; k < order.size(); ++k) {
    const auto& [number, index] = seen[order[k]];
    const auto& [prev_number, prev_index] = seen[order[k - 1]];
    if (number != prev_number) continue;
    problems.Add(absl::StrCat(
        "tests[", index, "].number: duplicate test number ", number,
        automatic[order[k]] ? " (auto-assigned from its position)" : "",
        ", also used by tests[", prev_index, "]"));
  }
  std::stable_sort(
      script.tests.begin(), script.tests.end(),
      [](const TestCase& a, const TestCase& b) { return a.number < b.number; });
}

void ParseLanguage(const Value& root, const ContractOptions& options,
                   Script& script, Problems& problems) {
  const std::string supported = absl::StrJoin(options.languages, ", ");
  const auto it = root.FindMember("language");
  if (it == root.MemberEnd() || it->value.IsNull()) {
    problems.Add(absl::StrCat("language: required (supported: ", supported,
                              ")"));
    return;
  }
  if (!it->value.IsString()) {
    problems.Add(absl::StrCat("language: must be a string (got ",
                              JsonTypeName(it->value), ")"));
    return;
  }
  const std::string_view language = View(it->value);
  if (std::find(options.languages.begin(), options.languages.end(),
                language) == options.languages.end()) {
    problems.Add(absl::StrCat("language: unsupported ", Quote(language),
                              " (supported: ", supported, ")"));
    return;
  }
  script.language = std::string(language);
}

void ParseSource(const Value& root, const ContractOptions& options,
                 Script& script, Problems& problems) {
  const auto it = root.FindMember("source");
  if (it == root.MemberEnd() || it->value.IsNull()) {
    problems.Add("source: required (a non-empty string)");
    return;
  }
  if (!it->value.IsString() || it->value.GetStringLength() == 0) {
    problems.Add(it->value.IsString()
                     ? std::string("source: must be a non-empty string")
                     : absl::StrCat("source: must be a non-empty string (got ",
                                    JsonTypeName(it->value), ")"));
    return;
  }
  if (it->value.GetStringLength() > options.max_source_bytes) {
    problems.Add(absl::StrCat("source: too large (",
                              it->value.GetStringLength(), " bytes; limit ",
                              FormatBytes(options.max_source_bytes), ")"));
    return;
  }
  script.source = std::string(View(it->value));
}

}  // namespace

ParsedMessage ParseScriptMessage(std::string_view json,
                                 std::string_view fallback_id,
                                 const ContractOptions& options) {
  ParsedMessage out;
  out.id = std::string(fallback_id);
  if (json.size() > options.max_message_bytes) {
    out.id = IdFromBrokenMessage(json.substr(0, 4096)).value_or(out.id);
    out.error = absl::InvalidArgumentError(absl::StrCat(
        "message: too large (", json.size(), " bytes; limit ",
        FormatBytes(options.max_message_bytes), ")"));
    return out;
  }
  rapidjson::Document doc;
  doc.Parse<kParseFlags>(json.data(), json.size());
  if (doc.HasParseError()) {
    out.id = IdFromBrokenMessage(json).value_or(out.id);
    out.error = absl::InvalidArgumentError(
        absl::StrCat("invalid JSON at offset ", doc.GetErrorOffset(), ": ",
                     rapidjson::GetParseError_En(doc.GetParseError())));
    return out;
  }
  if (!doc.IsObject()) {
    out.error = absl::InvalidArgumentError(absl::StrCat(
        "message: must be a JSON object (got ", JsonTypeName(doc), ")"));
    return out;
  }

  Problems problems;
  if (auto id = ReadOptionalString(doc, "id", "id", problems);
      id.has_value() && !id->empty()) {
    out.id = *std::move(id);
  }
  if (auto type = ReadOptionalString(doc, "type", "type", problems)) {
    if (*type == "done") {
      out.kind = ParsedMessage::kDone;
    } else if (*type != "script") {
      problems.Add(absl::StrCat("type: must be \"script\" or \"done\" (got ",
                                Quote(*type), ")"));
    }
  }
  if (out.kind == ParsedMessage::kScript) {
    ParseLanguage(doc, options, out.script, problems);
    ParseSource(doc, options, out.script, problems);
    ParseLimits(doc, options, out.script, problems);
    ParseTests(doc, options, out.script, problems);
  }
  out.error = problems.ToStatus();
  if (out.error.ok()) {
    out.script.id = out.id;
  } else {
    out.script = Script{};
  }
  return out;
}

}  // namespace scrc
