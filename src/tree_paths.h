// Path handling inside a directory tree that must never be escaped: the
// rootfs being imported, an image layout, the rootfs store. Every lookup is
// made relative to a directory fd with openat2(RESOLVE_BENEATH), so neither
// ".." nor a symlink planted in the tree can lead a write outside it.
#ifndef SCRC_SRC_TREE_PATHS_H_
#define SCRC_SRC_TREE_PATHS_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "sandbox/unique_fd.h"

namespace scrc {

using sandbox::UniqueFd;

// "op path: strerror(err)", with the absl code that matches errno.
absl::Status PathError(int err, absl::string_view op, absl::string_view path);

// Splits an archive member name into its components, dropping "." and empty
// ones ("./usr//bin/" -> {"usr", "bin"}). Absolute names and ".." components
// are refused: a layer names paths inside its tree, nothing else.
absl::StatusOr<std::vector<std::string>> CleanRelativePath(
    absl::string_view path);

// Joins components with '/'; {} is ".".
std::string JoinPath(const std::vector<std::string>& components, size_t count);
inline std::string JoinPath(const std::vector<std::string>& components) {
  return JoinPath(components, components.size());
}

// openat2(root_fd, path, flags, RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS).
// Symlinks inside the tree are followed while they stay beneath root_fd; one
// that leads out (absolute, or too many "..") fails with a clear error.
// `path` is relative; "." is root_fd itself.
absl::StatusOr<UniqueFd> OpenBeneath(int root_fd, absl::string_view path,
                                     int flags, mode_t mode = 0);

// Opens directory `components[0, count)` beneath root_fd as an O_PATH fd
// usable with the *at calls. With `create`, missing directories are made
// (mode 0755) one component at a time, each also resolved beneath root_fd.
absl::StatusOr<UniqueFd> OpenDirBeneath(
    int root_fd, const std::vector<std::string>& components, size_t count,
    bool create);

// Removes `name` in dir_fd and, if it is a directory, everything below it,
// never following a symlink. Directories without owner write/search
// permission are made so first (trees keep 0555 directories). `path` is for
// error messages. A missing `name` is not an error.
absl::Status RemoveTreeAt(int dir_fd, const std::string& name,
                          absl::string_view path);

// RemoveTreeAt for a whole path; a missing path is not an error.
absl::Status RemoveTree(const std::string& path);

}  // namespace scrc

#endif  // SCRC_SRC_TREE_PATHS_H_
