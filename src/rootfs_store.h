// Where rootfs trees live, by name: <dir>/<name>/ is the tree (the box's
// root), <dir>/<name>.json what it was made from (image digest, source,
// date). The directory is SCRC_ROOTFS_DIR, by default
// /var/cache/scrc/rootfs for root and
// ${XDG_CACHE_HOME:-$HOME/.cache}/scrc/rootfs for anyone else; never inside the
// repository.
//
// A tree appears whole or not at all: it is built in a staging directory
// beside its final place and renamed in. Trees are never modified in place.
#ifndef SCRC_SRC_ROOTFS_STORE_H_
#define SCRC_SRC_ROOTFS_STORE_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace scrc {

// What <name>.json records.
struct TreeInfo {
  std::string name;
  std::string path;             // the tree directory
  bool has_metadata = false;    // false: <name>.json missing or unreadable
  std::string source;           // what was imported (absolute path)
  std::string format;           // "oci-layout" or "docker-archive"
  std::string manifest_digest;  // empty for legacy docker-save archives
  std::string config_digest;    // the image id
  std::vector<std::string> tags;
  std::string imported_at;  // RFC 3339, UTC
  int64_t layers = 0;
  int64_t bytes = 0;             // file data written
  std::vector<std::string> env;  // the image's config.Env (PATH, ...)
  std::string working_dir;       // the image's config.WorkingDir
  std::vector<std::string> warnings;

  // The manifest digest, else the image id, else "-".
  std::string digest() const;
};

// SCRC_ROOTFS_DIR, else the default above.
std::string DefaultRootfsDir();

// Names are [A-Za-z0-9][A-Za-z0-9._:+-]* up to 128 characters, so that
// "python:3.12-alpine" works as a name, and "host" is reserved.
absl::Status ValidateTreeName(absl::string_view name);

// The tree directory for a profile's rootfs name, checked to exist.
// `rootfs_dir` empty: DefaultRootfsDir(). `name` empty or "host": host mode,
// returns "" (RunSpec.rootfs empty). A missing tree is a NotFound error
// that says how to make it.
absl::StatusOr<std::string> ResolveTree(absl::string_view rootfs_dir,
                                        absl::string_view name);

class RootfsStore {
 public:
  // `dir` empty: DefaultRootfsDir().
  explicit RootfsStore(std::string dir = "");

  const std::string& dir() const { return dir_; }
  std::string TreePath(absl::string_view name) const;
  std::string MetadataPath(absl::string_view name) const;

  bool Exists(absl::string_view name) const;
  absl::StatusOr<TreeInfo> Get(absl::string_view name) const;
  // All trees, sorted by name. A missing store directory is an empty list.
  absl::StatusOr<std::vector<TreeInfo>> List() const;
  // Renames the tree away first (it disappears at once for new boxes), then
  // deletes it. Boxes already running on it keep their mount.
  absl::Status Remove(absl::string_view name) const;

  // A staging directory for building `name`:
  // <dir>/.staging-<name>-<pid>-XXXXXX. Staging directories left by dead
  // importers are removed on the way.
  absl::StatusOr<std::string> NewStaging(absl::string_view name) const;
  // Moves `tree_dir` (inside a staging directory) to TreePath(info.name) and
  // writes the metadata. Without `replace` an existing tree is an error;
  // with it the old tree is swapped out atomically (RENAME_EXCHANGE) and
  // left at `tree_dir` for the caller to delete with its staging directory.
  absl::Status Commit(const std::string& tree_dir, const TreeInfo& info,
                      bool replace) const;

 private:
  std::string dir_;
};

// Deletes a staging directory when it goes out of scope.
class StagingDir {
 public:
  explicit StagingDir(std::string path) : path_(std::move(path)) {}
  StagingDir(const StagingDir&) = delete;
  StagingDir& operator=(const StagingDir&) = delete;
  ~StagingDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace scrc

#endif  // SCRC_SRC_ROOTFS_STORE_H_
