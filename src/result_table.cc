#include "src/result_table.h"

#include <algorithm>
#include <map>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "rapidjson/document.h"
#include "rapidjson/error/en.h"

namespace scrc {
namespace {

// Errors can be long (every problem of a message); a table shows the start.
std::string Shorten(absl::string_view text, size_t max) {
  std::string out(text.substr(0, max));
  std::replace(out.begin(), out.end(), '\n', ' ');
  if (text.size() > max) out += "...";
  return out;
}

std::string Tests(const ResultSummary& r) {
  return r.tests_total == 0 ? std::string("-")
                            : absl::StrCat(r.tests_ok, "/", r.tests_total);
}

std::string Duration(const ResultSummary& r) {
  return r.duration_ms ? absl::StrCat(*r.duration_ms) : std::string("-");
}

}  // namespace

absl::StatusOr<ResultSummary> ParseResultSummary(absl::string_view json) {
  rapidjson::Document doc;
  doc.Parse(json.data(), json.size());
  if (doc.HasParseError()) {
    return absl::InvalidArgumentError(
        absl::StrCat("result is not JSON: ",
                     rapidjson::GetParseError_En(doc.GetParseError()),
                     " at byte ", doc.GetErrorOffset()));
  }
  if (!doc.IsObject() || !doc.HasMember("id") || !doc["id"].IsString() ||
      !doc.HasMember("status") || !doc["status"].IsString()) {
    return absl::InvalidArgumentError(
        "result has no string \"id\" and \"status\"");
  }
  ResultSummary r;
  r.id = doc["id"].GetString();
  r.status = doc["status"].GetString();
  if (doc.HasMember("duration_ms") && doc["duration_ms"].IsInt64()) {
    r.duration_ms = doc["duration_ms"].GetInt64();
  }
  if (doc.HasMember("error") && doc["error"].IsString()) {
    r.error = doc["error"].GetString();
  }
  if (doc.HasMember("tests") && doc["tests"].IsArray()) {
    for (const auto& test : doc["tests"].GetArray()) {
      ++r.tests_total;
      if (test.IsObject() && test.HasMember("status") &&
          test["status"].IsString() &&
          std::string(test["status"].GetString()) == "OK") {
        ++r.tests_ok;
      }
    }
  }
  return r;
}

std::string FormatResultLine(const ResultSummary& r) {
  std::string line = absl::StrCat(r.id, "  ", r.status);
  if (r.tests_total > 0) {
    absl::StrAppend(&line, "  ", r.tests_ok, "/", r.tests_total, " tests");
  }
  if (r.duration_ms) absl::StrAppend(&line, "  ", *r.duration_ms, " ms");
  absl::StrAppend(&line, "  (latency ", r.latency_ms, " ms)");
  if (!r.error.empty()) absl::StrAppend(&line, "  ", Shorten(r.error, 200));
  return line;
}

std::string FormatResultTable(const std::vector<ResultSummary>& results,
                              const std::vector<std::string>& missing) {
  size_t id_width = 2, language_width = 8;
  for (const ResultSummary& r : results) {
    id_width = std::max(id_width, r.id.size());
    language_width = std::max(language_width, r.language.size());
  }
  for (const std::string& id : missing)
    id_width = std::max(id_width, id.size());
  const auto row = [&](absl::string_view id, absl::string_view language,
                       absl::string_view status, absl::string_view tests,
                       absl::string_view time, absl::string_view latency,
                       absl::string_view error) {
    return absl::StrFormat("%-*s  %-*s  %-6s  %-7s  %8s  %11s  %s\n", id_width,
                           id, language_width, language, status, tests, time,
                           latency, error);
  };
  std::string out = row("ID", "LANGUAGE", "STATUS", "TESTS", "TIME(ms)",
                        "LATENCY(ms)", "ERROR");
  std::map<std::string, int> counts;
  for (const ResultSummary& r : results) {
    ++counts[r.status];
    out += row(r.id, r.language, r.status, Tests(r), Duration(r),
               absl::StrCat(r.latency_ms), Shorten(r.error, 60));
  }
  for (const std::string& id : missing) {
    out += row(id, "", "?", "", "", "", "no result");
  }
  absl::StrAppend(&out, results.size(), " result(s): ",
                  absl::StrJoin(counts, ", ",
                                [](std::string* o,
                                   const std::pair<const std::string, int>& c) {
                                  absl::StrAppend(o, c.second, " ", c.first);
                                }));
  if (!missing.empty()) absl::StrAppend(&out, "; ", missing.size(), " missing");
  out += "\n";
  return out;
}

}  // namespace scrc
