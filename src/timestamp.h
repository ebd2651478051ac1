// Timestamps of published results.
#ifndef SCRC_SRC_TIMESTAMP_H_
#define SCRC_SRC_TIMESTAMP_H_

#include <string>

#include "absl/time/time.h"

namespace scrc {

// ISO 8601, UTC, milliseconds: "2025-01-15T10:30:00.123Z".
std::string FormatTimestamp(absl::Time time);

}  // namespace scrc

#endif  // SCRC_SRC_TIMESTAMP_H_
