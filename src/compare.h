// Output comparison of the judge (CONTRACT.md): trailing whitespace at the
// end of each line (spaces, tabs, \r) and trailing empty lines are ignored;
// everything else must match exactly.
#ifndef SCRC_SRC_COMPARE_H_
#define SCRC_SRC_COMPARE_H_

#include <cstddef>
#include <optional>
#include <string_view>

namespace scrc {

// The 1-based number of the first line that differs, or nullopt when the
// outputs match. When one output has more (non-empty) lines, the first line
// beyond the shorter one is reported.
std::optional<size_t> FirstDifferingLine(std::string_view actual,
                                         std::string_view expected);

inline bool OutputMatches(std::string_view actual, std::string_view expected) {
  return !FirstDifferingLine(actual, expected).has_value();
}

}  // namespace scrc

#endif  // SCRC_SRC_COMPARE_H_
