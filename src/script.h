// A submission as the runner sees it, after the message was validated.
#ifndef SCRC_SRC_SCRIPT_H_
#define SCRC_SRC_SCRIPT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace scrc {

struct TestCase {
  int64_t number = 0;
  std::string input;
  std::optional<std::string> expected_output;  // absent: any output is OK
};

struct Script {
  std::string id;
  std::string language;
  std::string source;
  int64_t time_limit_ms = 0;       // 0: the runner default
  int64_t memory_limit_bytes = 0;  // 0: the runner default
  std::vector<TestCase> tests;     // sorted by number
};

}  // namespace scrc

#endif  // SCRC_SRC_SCRIPT_H_
