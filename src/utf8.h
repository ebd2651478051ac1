// UTF-8 hygiene for strings that go into JSON messages: a program's output
// is arbitrary bytes, a published result must be valid UTF-8.
#ifndef SCRC_SRC_UTF8_H_
#define SCRC_SRC_UTF8_H_

#include <cstddef>
#include <string>
#include <string_view>

namespace scrc {

// `text` with each invalid UTF-8 sequence replaced by U+FFFD.
std::string SanitizeUtf8(std::string_view text);

// Whether `text` is valid UTF-8 (what SanitizeUtf8 leaves unchanged).
bool IsValidUtf8(std::string_view text);

// The largest n' <= n such that text[0, n') does not end inside a
// multi-byte sequence (text is valid UTF-8).
size_t Utf8Boundary(std::string_view text, size_t n);

}  // namespace scrc

#endif  // SCRC_SRC_UTF8_H_
