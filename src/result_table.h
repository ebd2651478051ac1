// What `scrc submit` shows of the results it receives: one line per result
// as it arrives, and a table at the end.
#ifndef SCRC_SRC_RESULT_TABLE_H_
#define SCRC_SRC_RESULT_TABLE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace scrc {

struct ResultSummary {
  std::string id;
  std::string language;  // from the submission, when known
  std::string status;
  int tests_ok = 0;
  int tests_total = 0;
  std::optional<int64_t> duration_ms;
  int64_t latency_ms = 0;  // from publishing the submission to its result
  std::string error;
};

// Reads the fields shown from a result message.
absl::StatusOr<ResultSummary> ParseResultSummary(absl::string_view json);

// "submission-456  OK  2/2 tests  145 ms  (latency 210 ms)".
std::string FormatResultLine(const ResultSummary& result);

// An aligned table with a header, then a line counting the statuses.
// `missing`: ids that got no result.
std::string FormatResultTable(const std::vector<ResultSummary>& results,
                              const std::vector<std::string>& missing);

}  // namespace scrc

#endif  // SCRC_SRC_RESULT_TABLE_H_
