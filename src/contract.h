// The message contract (CONTRACT.md): script messages in, result messages
// out. Every bad input gets a precise error naming the field and what is
// wrong; nothing here throws or crashes on hostile input.
#ifndef SCRC_SRC_CONTRACT_H_
#define SCRC_SRC_CONTRACT_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "src/result.h"
#include "src/script.h"

namespace scrc {

struct ContractOptions {
  // Languages the loaded profiles support (ProfileRegistry::Languages()).
  std::vector<std::string> languages;
  size_t max_message_bytes = 16 << 20;
  size_t max_source_bytes = 1 << 20;
  size_t max_tests = 1000;
  // A submission may lower the runner's time limit or raise it up to this.
  int64_t max_time_limit_ms = 3600 * 1000;
};

struct ParsedMessage {
  enum Kind { kScript, kDone };
  Kind kind = kScript;
  // The message's id, else the fallback; set even when `error` is not OK
  // whenever the id could be read.
  std::string id;
  // InvalidArgument with every problem found ("tests[3].number: must be an
  // integer; source: must be a non-empty string"); OK for a valid message.
  absl::Status error;
  Script script;  // valid only for kScript with an OK error; id == this->id
};

// `fallback_id`: what the id is when the message has none (the Kafka key,
// else "<topic>-<partition>-<offset>"; "run-<file>" for scrc run).
ParsedMessage ParseScriptMessage(std::string_view json,
                                 std::string_view fallback_id,
                                 const ContractOptions& options);

// The result message. Strings are made valid UTF-8; when the message would
// exceed `max_bytes`, the largest strings (test stdout/stderr/input/
// expected_output/error, then the top level ones) are cut, marking
// `truncated`, until it fits. A result without a timestamp gets "now".
inline constexpr size_t kDefaultMaxResultBytes = 1 << 20;
std::string SerializeResult(const Result& result,
                            size_t max_bytes = kDefaultMaxResultBytes);

// The result of a message that could not be judged: status "-", `error`
// says why.
Result MakeErrorResult(std::string id, std::string error);

}  // namespace scrc

#endif  // SCRC_SRC_CONTRACT_H_
