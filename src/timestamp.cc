#include "src/timestamp.h"

namespace scrc {

std::string FormatTimestamp(absl::Time time) {
  // %E3S: seconds with exactly three fractional digits (truncated).
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", time, absl::UTCTimeZone());
}

}  // namespace scrc
