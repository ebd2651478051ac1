// Small reads and writes of cgroup control files, with errors that name the
// file and the errno. Shared by cgroup_v1, cgroup_v2, cgroup and doctor.
#ifndef SCRC_SANDBOX_CGROUP_FILES_H_
#define SCRC_SANDBOX_CGROUP_FILES_H_

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "sandbox/unique_fd.h"

namespace scrc::sandbox {

// "<op> <path>: <strerror(err)>", plus a hint for the errnos a person can do
// something about (EACCES: delegation; EBUSY: no internal processes).
absl::Status CgroupErrno(int err, absl::string_view op, absl::string_view path);

// A control file kept open across runs: the hot path then costs one
// pread/pwrite at offset 0 instead of open + io + close. Move-only.
class CgroupFile {
 public:
  // flags are open(2) flags; O_CLOEXEC is always added.
  static absl::StatusOr<CgroupFile> Open(std::string path, int flags);

  bool is_open() const { return fd_.valid(); }
  int fd() const { return fd_.get(); }
  const std::string& path() const { return path_; }
  void Close() { fd_.reset(); }

  absl::Status Write(absl::string_view value) const;
  // The whole file (kernfs regenerates it on a read at offset 0).
  absl::StatusOr<std::string> Read() const;
  // A single-value file such as cpuacct.usage; "max" reads as INT64_MAX.
  absl::StatusOr<int64_t> ReadInt64() const;
  // The value of `key` in a flat-keyed file ("key value" lines), 0 when the
  // key is absent (older kernels lack some counters).
  absl::StatusOr<int64_t> ReadKey(absl::string_view key) const;

 private:
  UniqueFd fd_;
  std::string path_;
};

// Opens a control file that may be missing (older kernel, controller not
// enabled): then `file` stays closed and the result is OK.
absl::Status OpenOptionalCgroupFile(const std::string& path, int flags,
                                    CgroupFile* file);

// One-shot helpers for files touched once (setup, detection, doctor).
absl::Status WriteCgroupFile(const std::string& path, absl::string_view value);
absl::StatusOr<std::string> ReadCgroupFile(const std::string& path);

// Parses one integer ("max" is INT64_MAX); the error names `path`.
absl::StatusOr<int64_t> ParseCgroupInt64(absl::string_view text,
                                         absl::string_view path);
// Finds `key` in flat-keyed text ("key value" lines). False when the key is
// missing or its value is not an integer.
bool FindCgroupKey(absl::string_view text, absl::string_view key,
                   int64_t* value);
// Pids listed one per line (cgroup.procs).
std::vector<pid_t> ParsePidList(absl::string_view text);
// Space-separated names (cgroup.controllers, cgroup.subtree_control).
bool HasWord(absl::string_view text, absl::string_view word);

bool PathExists(const std::string& path);
// Names of the child cgroups (subdirectories) of `dir`.
std::vector<std::string> ChildCgroups(const std::string& dir);
// A box cgroup name: letters, digits, '-' and '_' only, so that it is never
// a path nor the name of a control file.
bool ValidCgroupName(absl::string_view name);

// The names of the box cgroups a Cgroups made (to remove at its end).
// Thread-safe: slots create their boxes from their own threads.
class BoxNames {
 public:
  // InvalidArgument unless ValidCgroupName(name).
  static absl::Status Check(const std::string& name);
  void Add(const std::string& name);
  std::vector<std::string> All() const;

 private:
  mutable absl::Mutex mu_;
  std::vector<std::string> names_ ABSL_GUARDED_BY(mu_);
};

}  // namespace scrc::sandbox

#endif  // SCRC_SANDBOX_CGROUP_FILES_H_
