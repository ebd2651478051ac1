// The runner's directories on the host: the work directory (0700, owned by
// the runner: nothing in it is reachable by other users), one run
// directory per runner process inside it, and one box directory per slot,
// made fresh for each submission and removed after it.
#ifndef SCRC_SRC_BOX_DIR_H_
#define SCRC_SRC_BOX_DIR_H_

#include <sys/types.h>

#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace scrc {

// Creates `path` (and missing parents, 0755) as a 0700 directory owned by
// the effective uid. An existing one must be a real directory (not a
// symlink) owned by us; its mode is tightened to 0700.
absl::Status PrepareWorkDir(const std::string& path);

// Removes the run directories ("run-<pid>") of runner processes that are
// gone (a crash leaves them behind). Best effort: returns the first error.
absl::Status SweepStaleRunDirs(const std::string& work_dir);

// The run directory of this process: <work_dir>/run-<pid>.
std::string RunDirFor(const std::string& work_dir);

// Makes a fresh box directory at `path` (removing a leftover one first)
// with `file_name` holding `content`, both owned by uid/gid (the box user
// on the host), the directory 0700 and the file 0644.
absl::Status CreateBoxDir(const std::string& path, std::string_view file_name,
                          std::string_view content, uid_t uid, gid_t gid);

// Build caches (profile.h, StepCache). A warm-up build leaves a cache
// directory in its box; AdoptCacheTemplate makes it the runner's (owned by
// the runner, files read-only) and moves it to `dest` atomically: when
// another runner process got there first, its template is kept and ours
// dropped.
absl::Status AdoptCacheTemplate(const std::string& dir,
                                const std::string& dest);

// Places a copy of a cache template at <box_dir>/<rel_dir> (parents inside
// the fresh box directory made as needed), owned
// by uid/gid so the build can add entries. With `link`, files below the top
// level are hard links to the template's read-only, runner-owned files
// (immutable content-addressed entries: no copy); top-level files (mutable
// bookkeeping such as Go's trim.txt) are always copied. `link` must be
// false when the box user is the runner's own uid (rootless): it could
// then chmod and rewrite the shared files.
absl::Status SeedCache(const std::string& from, const std::string& box_dir,
                       const std::string& rel_dir, uid_t uid, gid_t gid,
                       bool link);

// Removes a box directory and everything the program left in it, without
// following symlinks.
absl::Status RemoveBoxDir(const std::string& path);

}  // namespace scrc

#endif  // SCRC_SRC_BOX_DIR_H_
