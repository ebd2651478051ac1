// SerializeResult and MakeErrorResult of contract.h: the result message,
// always valid UTF-8 JSON, always within its byte budget.
#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"
#include "src/contract.h"
#include "src/timestamp.h"
#include "src/utf8.h"
#include "src/verdict.h"

namespace scrc {
namespace {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

// Rounds of cutting before giving up on the tests' details.
constexpr int kTrimRounds = 8;

void WriteString(JsonWriter& w, std::string_view text) {
  w.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
}

void WriteKey(JsonWriter& w, const char* key) { w.Key(key); }

template <typename T>
void WriteOptional(JsonWriter& w, const char* key, const std::optional<T>& v) {
  WriteKey(w, key);
  if (v.has_value()) {
    w.Int64(*v);
  } else {
    w.Null();
  }
}

void WriteMeasurements(JsonWriter& w, const RunReport& run) {
  WriteOptional(w, "duration_ms", run.duration_ms);
  WriteOptional(w, "cpu_time_ms", run.cpu_time_ms);
  WriteOptional(w, "wall_time_ms", run.wall_time_ms);
  WriteOptional(w, "memory_bytes", run.memory_bytes);
}

std::string Write(const Result& r) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  WriteKey(w, "id");
  WriteString(w, r.id);
  WriteKey(w, "status");
  w.String(VerdictName(r.status));
  WriteOptional(w, "exit_code", r.run.exit_code);
  WriteKey(w, "stdout");
  WriteString(w, r.run.stdout_data);
  WriteKey(w, "stderr");
  WriteString(w, r.run.stderr_data);
  WriteMeasurements(w, r.run);
  WriteKey(w, "truncated");
  w.Bool(r.run.truncated);
  WriteKey(w, "error");
  WriteString(w, r.error);
  WriteKey(w, "tests");
  w.StartArray();
  for (const TestResult& t : r.tests) {
    w.StartObject();
    WriteKey(w, "number");
    w.Int64(t.number);
    WriteKey(w, "status");
    w.String(VerdictName(t.status));
    WriteOptional(w, "exit_code", t.run.exit_code);
    WriteMeasurements(w, t.run);
    WriteKey(w, "stdout");
    WriteString(w, t.run.stdout_data);
    WriteKey(w, "stderr");
    WriteString(w, t.run.stderr_data);
    WriteKey(w, "truncated");
    w.Bool(t.run.truncated);
    WriteKey(w, "input");
    WriteString(w, t.input);
    WriteKey(w, "expected_output");
    if (t.expected_output.has_value()) {
      WriteString(w, *t.expected_output);
    } else {
      w.Null();
    }
    WriteKey(w, "error");
    WriteString(w, t.error);
    w.EndObject();
  }
  w.EndArray();
  WriteKey(w, "timestamp");
  WriteString(w, r.timestamp);
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

// Bytes a character takes once escaped by the writer.
size_t EscapedSize(unsigned char c) {
  switch (c) {
    case '"': case '\\': case '\b': case '\f': case '\n': case '\r': case '\t':
      return 2;
    default:
      return c < 0x20 ? 6 : 1;
  }
}

size_t EscapedSize(std::string_view text) {
  size_t size = 0;
  for (char c : text) size += EscapedSize(static_cast<unsigned char>(c));
  return size;
}

// Cuts valid UTF-8 `text` so that its escaped form takes at most `budget`.
void CutToEscapedSize(std::string& text, size_t budget) {
  size_t used = 0, n = 0;
  while (n < text.size()) {
    const size_t c = EscapedSize(static_cast<unsigned char>(text[n]));
    if (used + c > budget) break;
    used += c;
    ++n;
  }
  text.resize(Utf8Boundary(text, n));
}

struct Trimmable {
  std::string* text;
  bool* truncated;  // null: nothing to mark (error strings)
};

std::vector<Trimmable> Trimmables(Result& r) {
  std::vector<Trimmable> out;
  out.push_back({&r.run.stdout_data, &r.run.truncated});
  out.push_back({&r.run.stderr_data, &r.run.truncated});
  out.push_back({&r.error, nullptr});
  for (TestResult& t : r.tests) {
    out.push_back({&t.run.stdout_data, &t.run.truncated});
    out.push_back({&t.run.stderr_data, &t.run.truncated});
    out.push_back({&t.input, &t.run.truncated});
    if (t.expected_output.has_value()) {
      out.push_back({&*t.expected_output, &t.run.truncated});
    }
    out.push_back({&t.error, &t.run.truncated});
  }
  return out;
}

// Cuts the largest strings to a common cap ("water filling") so that at
// least `excess` escaped bytes go; small strings are left alone.
void CutLargest(Result& r, size_t excess) {
  std::vector<Trimmable> fields = Trimmables(r);
  std::vector<size_t> sizes;
  sizes.reserve(fields.size());
  for (const Trimmable& f : fields) sizes.push_back(EscapedSize(*f.text));
  const auto removed_at = [&](size_t cap) {
    size_t removed = 0;
    for (size_t s : sizes) removed += s > cap ? s - cap : 0;
    return removed;
  };
  // The largest cap that removes enough.
  size_t lo = 0, hi = *std::max_element(sizes.begin(), sizes.end());
  while (lo < hi) {
    const size_t mid = lo + (hi - lo + 1) / 2;
    if (removed_at(mid) >= excess) {
      lo = mid;
    } else {
      hi = mid - 1;
    }
  }
  for (size_t i = 0; i < fields.size(); ++i) {
    if (sizes[i] <= lo) continue;
    CutToEscapedSize(*fields[i].text, lo);
    if (fields[i].truncated != nullptr) *fields[i].truncated = true;
  }
}

void SanitizeStrings(Result& r) {
  r.id = SanitizeUtf8(r.id);
  for (const Trimmable& f : Trimmables(r)) *f.text = SanitizeUtf8(*f.text);
}

}  // namespace

Result MakeErrorResult(std::string id, std::string error) {
  Result result;
  result.id = std::move(id);
  result.status = Verdict::kNotRun;
  result.error = std::move(error);
  return result;
}

std::string SerializeResult(const Result& result, size_t max_bytes) {
  Result r = result;
  if (r.timestamp.empty()) r.timestamp = FormatTimestamp(absl::Now());
  SanitizeStrings(r);
  std::string json = Write(r);
  for (int round = 0; json.size() > max_bytes && round < kTrimRounds;
       ++round) {
    CutLargest(r, json.size() - max_bytes);
    json = Write(r);
  }
  if (json.size() <= max_bytes) return json;
  // Even empty strings do not fit (a tiny budget, or a huge id): publish
  // the verdict and say why the details are missing.
  const size_t tests = r.tests.size();
  r.tests.clear();
  r.run.stdout_data.clear();
  r.run.stderr_data.clear();
  r.run.truncated = true;
  r.error = absl::StrCat("result too large for ", max_bytes,
                         " bytes; the details of ", tests,
                         " tests were dropped");
  json = Write(r);
  if (json.size() > max_bytes && r.id.size() > 256) {
    r.id.resize(Utf8Boundary(r.id, 256));
    json = Write(r);
  }
  return json;
}

}  // namespace scrc
