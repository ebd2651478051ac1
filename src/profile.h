// Language profiles: a language is data (profiles/<language>.json), not
// code. A profile names the source file, an optional build step, the run
// step, the environment (the only one a submission sees: nothing of the
// runner's environment reaches it), limits of its own, seccomp additions,
// and the reference's variables that pick its rootfs trees.
//
// Commands, the source file name and env values may use placeholders,
// expanded per submission by the executor:
//   {source}        the source file name ("main.c", "Solution.java")
//   {class}         the Java public class (class_detect "java"), else
//                   default_class
//   {memory_mb}     the run's memory limit in MiB
//   {heap_mb}       a managed heap sized from it (see HeapSizing)
//   {time_limit_s}  the run's CPU time limit in seconds, rounded up
//   {time_limit_ms} the same in milliseconds
// "{{" and "}}" stand for literal braces. An unknown placeholder is an
// error when the profile is loaded, never at run time.
#ifndef SCRC_SRC_PROFILE_H_
#define SCRC_SRC_PROFILE_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "sandbox/run_spec.h"

namespace scrc {

// Limits a profile sets for one step; unset ones keep the runner's.
// Keys in the file: cpu_time_ms, wall_time_ms, memory_bytes, pids,
// output_bytes, file_size_bytes, open_files, stack_bytes, tmp_bytes.
struct StepLimits {
  std::optional<absl::Duration> cpu_time;
  std::optional<absl::Duration> wall_time;
  std::optional<int64_t> memory_bytes;
  std::optional<int64_t> pids;
  std::optional<int64_t> output_bytes;
  std::optional<int64_t> file_size_bytes;
  std::optional<int64_t> open_files;
  std::optional<int64_t> stack_bytes;
  std::optional<int64_t> tmp_bytes;

  // `base` with the limits this step sets.
  sandbox::Limits ApplyTo(sandbox::Limits base) const;
};

// A build cache seeded from a warm-up build: the first submission of the
// language builds `warmup_source` once; the cache directory it leaves is
// kept by the runner and a copy of it is placed in each later box before
// its build (Go compiles the standard library into its cache: 15 s cold,
// well under one warm). Each box gets its own copy: nothing a submission
// writes reaches another.
struct StepCache {
  std::string dir;  // relative to the box ("/box/<dir>" inside)
  std::string warmup_source;
};

struct Step {
  std::vector<std::string> command;  // argv, with placeholders
  // Name of the rootfs tree (SCRC_ROOTFS_DIR/<name>); empty or "host":
  // host mode.
  std::string rootfs;
  // Build step: its own fixed limits (a compiler bomb ends as BF, never a
  // hang). Run step: cpu_time/memory_bytes are only the defaults used when
  // neither the message nor the runner gives a limit; the rest apply.
  StepLimits limits;
  std::optional<StepCache> cache;  // build step only
};

// {heap_mb} = max(min_mb, memory_mb * percent / 100 - headroom_mb): the
// runtime keeps its own memory (code, metaspace, threads) beside the heap
// inside the cgroup limit.
struct HeapSizing {
  int64_t percent = 75;
  int64_t headroom_mb = 0;
  int64_t min_mb = 8;
};

struct Profile {
  std::string language;
  std::string origin;       // the file it was loaded from, for messages
  std::string source_file;  // placeholders allowed ({class})
  std::optional<Step> build;
  Step run;
  // The box's whole environment, sorted by name.
  std::vector<std::pair<std::string, std::string>> env;
  std::vector<std::string> seccomp_allow;
  // Substrings of the output (stderr or stdout) that mean "ran out of the
  // memory it was given" when the program failed
  // (java.lang.OutOfMemoryError, MemoryError).
  std::vector<std::string> memory_error_markers;
  std::string class_detect;  // "" or "java"
  std::string default_class = "Main";
  HeapSizing heap;
  // The reference runner's variables (C_IMAGE, C_RUN_IMAGE, C_WORKDIR): a
  // non-empty *_IMAGE value names the tree of that step instead of
  // `rootfs`. The *_WORKDIR name is kept for reports only: a box always
  // works in /box.
  std::string build_image_env;
  std::string run_image_env;
  std::string workdir_env;
};

class ProfileRegistry {
 public:
  // Fails on a second profile for the same language.
  absl::Status Add(Profile profile);
  const Profile* Find(std::string_view language) const;
  // Sorted: what a message may name in `language`.
  std::vector<std::string> Languages() const;
  const std::map<std::string, Profile, std::less<>>& profiles() const {
    return profiles_;
  }

 private:
  std::map<std::string, Profile, std::less<>> profiles_;
};

// Parses one profile file's text; `origin` names it in errors
// ("profiles/c.json: build.command: must be a non-empty array of strings").
absl::StatusOr<Profile> ParseProfile(std::string_view json,
                                     std::string_view origin);

// Loads every *.json in `dir`. Reports every broken file, not just the
// first.
absl::StatusOr<ProfileRegistry> LoadProfiles(const std::string& dir);

using Placeholders = std::map<std::string, std::string, std::less<>>;

// Values of the placeholders for one submission.
struct PlaceholderInputs {
  std::string source_file;  // already expanded
  std::string class_name;
  int64_t memory_bytes = 0;
  absl::Duration cpu_time = absl::ZeroDuration();
};
Placeholders MakePlaceholders(const Profile& profile,
                              const PlaceholderInputs& inputs);

// Expands {name} from `values`; "{{"/"}}" are literal braces. Unknown or
// unterminated placeholders are errors.
absl::StatusOr<std::string> ExpandPlaceholders(std::string_view text,
                                               const Placeholders& values);

// The class name a source file must be named after: the top-level public
// class (or interface, enum, record) of a Java source, if any. Comments,
// strings, char literals and nested classes are skipped.
std::optional<std::string> JavaPublicClass(std::string_view source);

// The class for {class} and the expanded source file name.
std::string DetectClass(const Profile& profile, std::string_view source);

}  // namespace scrc

#endif  // SCRC_SRC_PROFILE_H_
