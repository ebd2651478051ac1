#include "src/config.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"

#ifndef SCRC_SOURCE_DIR
#define SCRC_SOURCE_DIR "."
#endif

namespace scrc {
namespace {

constexpr int64_t kMiB = 1 << 20;

// Shown quoted in messages: short, and without control characters.
std::string Shown(std::string_view value) {
  std::string out;
  for (char c : value.substr(0, 64)) {
    out += static_cast<unsigned char>(c) < 0x20 ? '?' : c;
  }
  if (value.size() > 64) out += "...";
  return absl::StrCat("'", out, "'");
}

std::optional<std::string> NonEmpty(const EnvLookup& env,
                                    const std::string& name) {
  std::optional<std::string> value = env(name);
  if (value.has_value() && value->empty()) return std::nullopt;
  return value;
}

void CheckDirectory(const std::string& variable, const std::string& path,
                    ConfigErrors& errors) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    errors.Add(variable, absl::StrCat(Shown(path), ": ", std::strerror(errno)));
  } else if (!S_ISDIR(st.st_mode)) {
    errors.Add(variable, absl::StrCat(Shown(path), " is not a directory"));
  }
}

}  // namespace

void ConfigErrors::Add(std::string_view variable, std::string_view problem) {
  problems_.push_back(
      absl::StrCat(std::string(variable), ": ", std::string(problem)));
}

absl::Status ConfigErrors::ToStatus() const {
  if (problems_.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      "invalid configuration (", problems_.size(),
      problems_.size() == 1 ? " problem" : " problems", "):\n  ",
      absl::StrJoin(problems_, "\n  ")));
}

EnvLookup ProcessEnv() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

std::string EnvString(const EnvLookup& env, const std::string& name,
                      std::string default_value) {
  return NonEmpty(env, name).value_or(std::move(default_value));
}

int64_t EnvInt(const EnvLookup& env, const std::string& name,
               int64_t default_value, int64_t min, int64_t max,
               ConfigErrors& errors) {
  const std::optional<std::string> text = NonEmpty(env, name);
  if (!text.has_value()) return default_value;
  int64_t value;
  const std::string range =
      max == std::numeric_limits<int64_t>::max()
          ? absl::StrCat(">= ", min)
          : absl::StrCat("between ", min, " and ", max);
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(*text), &value)) {
    errors.Add(name, absl::StrCat("must be an integer ", range, " (got ",
                                  Shown(*text), ")"));
    return default_value;
  }
  if (value < min || value > max) {
    errors.Add(name, absl::StrCat("must be ", range, " (got ", value, ")"));
    return default_value;
  }
  return value;
}

absl::StatusOr<absl::Duration> ParseGoDuration(std::string_view text) {
  const std::string trimmed(absl::StripAsciiWhitespace(
      absl::string_view(text.data(), text.size())));
  // Go also spells microseconds with a micro sign or a Greek mu.
  const std::string spelled = absl::StrReplaceAll(
      trimmed, {{"\u00b5s", "us"}, {"\u03bcs", "us"}});
  absl::Duration d;
  // absl's syntax is Go's, plus "inf": refuse what Go would not take.
  if (trimmed.empty() || absl::StrContains(trimmed, "inf") ||
      !absl::ParseDuration(spelled, &d)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid duration ", Shown(trimmed),
        " (a number with a unit: 5s, 2m30s, 1500ms; or 0)"));
  }
  if (d < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("must not be negative (got ", Shown(trimmed), ")"));
  }
  return d;
}

absl::Duration EnvDuration(const EnvLookup& env, const std::string& name,
                           absl::Duration default_value, absl::Duration max,
                           ConfigErrors& errors) {
  const std::optional<std::string> text = NonEmpty(env, name);
  if (!text.has_value()) return default_value;
  absl::StatusOr<absl::Duration> d = ParseGoDuration(*text);
  if (!d.ok()) {
    errors.Add(name, std::string(d.status().message()));
    return default_value;
  }
  if (*d > max) {
    errors.Add(name, absl::StrCat("must be at most ", absl::FormatDuration(max),
                                  " (got ", Shown(*text), ")"));
    return default_value;
  }
  return *d;
}

bool EnvBool(const EnvLookup& env, const std::string& name,
             bool default_value, ConfigErrors& errors) {
  const std::optional<std::string> text = NonEmpty(env, name);
  if (!text.has_value()) return default_value;
  const std::string v = absl::AsciiStrToLower(*text);
  if (v == "1" || v == "true" || v == "yes" || v == "on") return true;
  if (v == "0" || v == "false" || v == "no" || v == "off") return false;
  errors.Add(name, absl::StrCat("must be true or false (got ", Shown(*text),
                                ")"));
  return default_value;
}

std::string DefaultWorkDir() { return absl::StrCat("/tmp/scrc-", geteuid()); }

std::string DefaultProfilesDir() {
  return absl::StrCat(SCRC_SOURCE_DIR, "/profiles");
}

ExecutorOptions ReadExecutorOptions(const EnvLookup& env,
                                    ConfigErrors& errors) {
  ExecutorOptions o;
  o.parallel = static_cast<int>(
      EnvInt(env, "RUNNER_MAX_PARALLEL", 1, 1, 1024, errors));
  o.default_time_limit = EnvDuration(env, "RUNNER_TIME_LIMIT",
                                     absl::ZeroDuration(), absl::Hours(1),
                                     errors);
  o.default_memory_limit =
      EnvInt(env, "RUNNER_MEMORY_LIMIT", 0, 0,
             std::numeric_limits<int64_t>::max(), errors);
  if (o.default_memory_limit > 0 && o.default_memory_limit < kMiB) {
    errors.Add("RUNNER_MEMORY_LIMIT",
               absl::StrCat("must be 0 (none) or at least 1 MiB (",
                            kMiB, " bytes; got ", o.default_memory_limit,
                            ")"));
    o.default_memory_limit = 0;
  }
  o.max_output_bytes = EnvInt(env, "RUNNER_MAX_OUTPUT_BYTES", 65536, 1,
                              64 * kMiB, errors);

  o.work_dir = EnvString(env, "SCRC_WORK_DIR", DefaultWorkDir());
  if (o.work_dir[0] != '/') {
    errors.Add("SCRC_WORK_DIR",
               absl::StrCat("must be an absolute path (got ", Shown(o.work_dir),
                            ")"));
  }
  o.profiles_dir = EnvString(env, "SCRC_PROFILES_DIR", DefaultProfilesDir());
  CheckDirectory("SCRC_PROFILES_DIR", o.profiles_dir, errors);
  o.rootfs_dir = EnvString(env, "SCRC_ROOTFS_DIR", "");
  if (!o.rootfs_dir.empty() && o.rootfs_dir[0] != '/') {
    errors.Add("SCRC_ROOTFS_DIR",
               absl::StrCat("must be an absolute path (got ",
                            Shown(o.rootfs_dir), ")"));
  }
  o.cgroup_parent = EnvString(env, "SCRC_CGROUP_PARENT", "");
  o.host_mode = EnvBool(env, "SCRC_HOST_MODE", false, errors);
  if (!o.cgroup_parent.empty()) {
    const std::vector<std::string> parts =
        absl::StrSplit(o.cgroup_parent, '/', absl::SkipEmpty());
    bool dotdot = false;
    for (const std::string& p : parts) dotdot |= (p == ".." || p == ".");
    if (o.cgroup_parent[0] != '/' || dotdot) {
      errors.Add("SCRC_CGROUP_PARENT",
                 absl::StrCat("must be an absolute cgroup path such as /scrc, "
                              "without . or .. (got ",
                              Shown(o.cgroup_parent), ")"));
    }
  }
  return o;
}

}  // namespace scrc
