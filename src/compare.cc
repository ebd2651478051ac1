#include "src/compare.h"

namespace scrc {
namespace {

bool IsTrailingSpace(char c) { return c == ' ' || c == '\t' || c == '\r'; }

std::string_view StripLineEnd(std::string_view line) {
  while (!line.empty() && IsTrailingSpace(line.back())) line.remove_suffix(1);
  return line;
}

// Drops trailing whitespace and trailing empty lines as a whole, so that
// the line-by-line walk below only has to strip each line's end.
std::string_view StripTrailingBlank(std::string_view text) {
  while (!text.empty() && (IsTrailingSpace(text.back()) || text.back() == '\n')) {
    text.remove_suffix(1);
  }
  return text;
}

// Cuts the next line (without its '\n') off the front of `text`.
std::string_view NextLine(std::string_view& text) {
  const size_t end = text.find('\n');
  std::string_view line = text.substr(0, end);
  text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
  return line;
}

}  // namespace

std::optional<size_t> FirstDifferingLine(std::string_view actual,
                                         std::string_view expected) {
  actual = StripTrailingBlank(actual);
  expected = StripTrailingBlank(expected);
  size_t line_number = 1;
  while (!actual.empty() || !expected.empty()) {
    if (actual.empty() != expected.empty()) return line_number;
    if (StripLineEnd(NextLine(actual)) != StripLineEnd(NextLine(expected))) {
      return line_number;
    }
    ++line_number;
  }
  return std::nullopt;
}

}  // namespace scrc
