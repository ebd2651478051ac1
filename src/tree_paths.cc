#include "src/tree_paths.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace scrc {

absl::Status PathError(int err, absl::string_view op, absl::string_view path) {
  return absl::ErrnoToStatus(err, absl::StrCat(op, " ", path));
}

absl::StatusOr<std::vector<std::string>> CleanRelativePath(
    absl::string_view path) {
  if (path.empty()) return absl::InvalidArgumentError("empty path");
  if (path.front() == '/') {
    return absl::InvalidArgumentError(
        absl::StrCat("absolute path '", path, "' refused"));
  }
  std::vector<std::string> out;
  for (absl::string_view part : absl::StrSplit(path, '/')) {
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      return absl::InvalidArgumentError(
          absl::StrCat("path '", path, "' has a '..' component: refused"));
    }
    out.emplace_back(part);
  }
  return out;
}

std::string JoinPath(const std::vector<std::string>& components, size_t count) {
  if (count == 0) return ".";
  std::string out = components[0];
  for (size_t i = 1; i < count; ++i) absl::StrAppend(&out, "/", components[i]);
  return out;
}

absl::StatusOr<UniqueFd> OpenBeneath(int root_fd, absl::string_view path,
                                     int flags, mode_t mode) {
  std::string p(path);
  open_how how;
  std::memset(&how, 0, sizeof(how));
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  long fd;
  do {
    fd = syscall(SYS_openat2, root_fd, p.c_str(), &how, sizeof(how));
  } while (fd < 0 && (errno == EINTR || errno == EAGAIN));
  if (fd >= 0) return UniqueFd(static_cast<int>(fd));
  const int err = errno;
  if (err == EXDEV) {
    return absl::PermissionDeniedError(absl::StrCat(
        "open ", p,
        ": the path leads outside the tree (through a symlink or '..'): "
        "refused"));
  }
  if (err == ENOSYS) {
    return absl::UnimplementedError(
        absl::StrCat("openat2 ", p, ": not available (needs Linux 5.6+)"));
  }
  return PathError(err, "open", p);
}

absl::StatusOr<UniqueFd> OpenDirBeneath(
    int root_fd, const std::vector<std::string>& components, size_t count,
    bool create) {
  const int flags = O_PATH | O_DIRECTORY;
  absl::StatusOr<UniqueFd> fd =
      OpenBeneath(root_fd, JoinPath(components, count), flags);
  if (fd.ok() || !create || !absl::IsNotFound(fd.status())) return fd;
  // Slow path: some ancestor is missing. Walk from the root, making each
  // missing component; each step is again resolved beneath root_fd.
  absl::StatusOr<UniqueFd> dir = OpenBeneath(root_fd, ".", flags);
  if (!dir.ok()) return dir;
  for (size_t i = 0; i < count; ++i) {
    const std::string prefix = JoinPath(components, i + 1);
    absl::StatusOr<UniqueFd> next = OpenBeneath(root_fd, prefix, flags);
    if (!next.ok() && absl::IsNotFound(next.status())) {
      if (mkdirat(dir->get(), components[i].c_str(), 0755) == 0) {
        // Whatever the umask: the box user must be able to traverse it.
        fchmodat(dir->get(), components[i].c_str(), 0755, 0);
      } else if (errno != EEXIST) {
        return PathError(errno, "mkdir", prefix);
      }
      next = OpenBeneath(root_fd, prefix, flags);
    }
    if (!next.ok()) return next;
    dir = std::move(next);
  }
  return dir;
}

namespace {

// Empties the directory open as `fd` (an O_RDONLY fd), never following
// symlinks.
absl::Status EmptyDir(int fd, absl::string_view path) {
  const int dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (dup_fd < 0) return PathError(errno, "dup", path);
  DIR* d = fdopendir(dup_fd);
  if (d == nullptr) {
    const int err = errno;
    close(dup_fd);
    return PathError(err, "opendir", path);
  }
  absl::Status status;
  std::vector<std::string> names;
  errno = 0;
  while (dirent* e = readdir(d)) {
    if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) {
      continue;
    }
    names.emplace_back(e->d_name);
  }
  if (errno != 0) status = PathError(errno, "readdir", path);
  closedir(d);
  if (!status.ok()) return status;
  for (const std::string& name : names) {
    absl::Status s = RemoveTreeAt(fd, name, absl::StrCat(path, "/", name));
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status RemoveTreeAt(int dir_fd, const std::string& name,
                          absl::string_view path) {
  struct stat st;
  if (fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return absl::OkStatus();
    return PathError(errno, "stat", path);
  }
  if (S_ISDIR(st.st_mode)) {
    // O_NOFOLLOW: the entry could have been swapped for a symlink since the
    // stat; then the open fails instead of emptying the link's target.
    int fd = openat(dir_fd, name.c_str(),
                    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == EACCES) {
      // A 0000 or 0111 directory of ours: give the owner access back.
      if (fchmodat(dir_fd, name.c_str(), 0700, 0) == 0) {
        fd = openat(dir_fd, name.c_str(),
                    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      }
    }
    if (fd < 0) return PathError(errno, "open", path);
    UniqueFd owned(fd);
    if ((st.st_mode & 0700) != 0700 &&
        fchmod(fd, (st.st_mode & 07777) | 0700) != 0) {
      return PathError(errno, "chmod", path);
    }
    absl::Status s = EmptyDir(fd, path);
    if (!s.ok()) return s;
    if (unlinkat(dir_fd, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT) {
      return PathError(errno, "rmdir", path);
    }
    return absl::OkStatus();
  }
  if (unlinkat(dir_fd, name.c_str(), 0) != 0 && errno != ENOENT) {
    return PathError(errno, "unlink", path);
  }
  return absl::OkStatus();
}

absl::Status RemoveTree(const std::string& path) {
  std::string parent = ".";
  std::string base = path;
  const size_t slash = path.find_last_of('/');
  if (slash != std::string::npos) {
    parent = slash == 0 ? "/" : path.substr(0, slash);
    base = path.substr(slash + 1);
  }
  if (base.empty() || base == "." || base == "..") {
    return absl::InvalidArgumentError(
        absl::StrCat("remove ", path, ": not a removable path"));
  }
  const int dir = open(parent.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) {
    if (errno == ENOENT) return absl::OkStatus();
    return PathError(errno, "open", parent);
  }
  UniqueFd owned(dir);
  return RemoveTreeAt(dir, base, path);
}

}  // namespace scrc
