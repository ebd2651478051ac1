#include "src/rootfs_skeleton.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "sandbox/sandbox.h"
#include "src/tree_paths.h"

namespace scrc {
namespace {

// Makes `name` in dir_fd a directory (kind == S_IFDIR) or an empty-able
// regular file (S_IFREG), replacing whatever else is there.
absl::Status EnsureEntry(int dir_fd, const std::string& name,
                         const std::string& path, mode_t kind,
                         std::vector<std::string>* warnings) {
  struct stat st;
  if (fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
    if ((st.st_mode & S_IFMT) == kind) return absl::OkStatus();
    warnings->push_back(
        absl::StrCat("replaced /", path, " (not a ",
                     kind == S_IFDIR ? "directory" : "regular file",
                     "): the sandbox mounts over it"));
    absl::Status s = RemoveTreeAt(dir_fd, name, path);
    if (!s.ok()) return s;
  } else if (errno != ENOENT) {
    return PathError(errno, "stat", path);
  }
  if (kind == S_IFDIR) {
    if (mkdirat(dir_fd, name.c_str(), 0755) != 0 ||
        fchmodat(dir_fd, name.c_str(), 0755, 0) != 0) {
      return PathError(errno, "mkdir", path);
    }
    return absl::OkStatus();
  }
  const int fd =
      openat(dir_fd, name.c_str(),
             O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) return PathError(errno, "create", path);
  UniqueFd owned(fd);
  if (fchmod(fd, 0666) != 0) return PathError(errno, "chmod", path);
  return absl::OkStatus();
}

// The content of etc/<name>, or "" when missing or not a regular file (a
// symlink is not followed: it gets replaced).
absl::StatusOr<std::string> ReadEtcFile(int etc_fd, const char* name) {
  const int fd = openat(etc_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT || errno == ELOOP) return std::string();
    return PathError(errno, "open", absl::StrCat("etc/", name));
  }
  UniqueFd owned(fd);
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return std::string();
  std::string out;
  char buf[8192];
  for (;;) {
    const ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return PathError(errno, "read", absl::StrCat("etc/", name));
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

absl::Status WriteEtcFile(int etc_fd, const char* name,
                          const std::string& content) {
  const std::string tmp = absl::StrCat(".", name, ".scrc-new");
  const std::string path = absl::StrCat("etc/", name);
  unlinkat(etc_fd, tmp.c_str(), 0);
  const int fd =
      openat(etc_fd, tmp.c_str(),
             O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) return PathError(errno, "create", path);
  UniqueFd owned(fd);
  size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return PathError(errno, "write", path);
    done += static_cast<size_t>(n);
  }
  if (fchmod(fd, 0644) != 0) return PathError(errno, "chmod", path);
  // rename replaces the entry itself: a symlink there is not written through.
  if (renameat(etc_fd, tmp.c_str(), etc_fd, name) != 0) {
    return PathError(errno, "rename to", path);
  }
  return absl::OkStatus();
}

// Adds `line` for id 1000 to etc/<name> unless an entry has that id (third
// field). `root_line` starts a file that did not exist.
absl::Status EnsureIdEntry(int etc_fd, const char* name, unsigned id,
                           const std::string& box_line,
                           const std::string& root_line) {
  absl::StatusOr<std::string> content = ReadEtcFile(etc_fd, name);
  if (!content.ok()) return content.status();
  const std::string want = absl::StrCat(id);
  for (absl::string_view line : absl::StrSplit(*content, '\n')) {
    std::vector<absl::string_view> fields = absl::StrSplit(line, ':');
    if (fields.size() >= 3 && fields[2] == want) return absl::OkStatus();
  }
  std::string out = *content;
  if (out.empty()) out = root_line;
  if (out.back() != '\n') out += '\n';
  out += box_line;
  return WriteEtcFile(etc_fd, name, out);
}

}  // namespace

absl::Status EnsureBoxSkeleton(int root_fd,
                               std::vector<std::string>* warnings) {
  for (const char* dir : {"proc", "dev", "tmp", "box", "etc"}) {
    absl::Status s = EnsureEntry(root_fd, dir, dir, S_IFDIR, warnings);
    if (!s.ok()) return s;
  }
  // /tmp in images is 1777; it is a tmpfs in the box anyway.
  absl::StatusOr<UniqueFd> dev =
      OpenBeneath(root_fd, "dev", O_PATH | O_DIRECTORY | O_NOFOLLOW);
  if (!dev.ok()) return dev.status();
  for (const char* node : {"null", "zero", "full", "random", "urandom"}) {
    absl::Status s = EnsureEntry(dev->get(), node, absl::StrCat("dev/", node),
                                 S_IFREG, warnings);
    if (!s.ok()) return s;
  }
  absl::StatusOr<UniqueFd> etc =
      OpenBeneath(root_fd, "etc", O_PATH | O_DIRECTORY | O_NOFOLLOW);
  if (!etc.ok()) return etc.status();
  const unsigned uid = sandbox::kBoxUid;
  const unsigned gid = sandbox::kBoxGid;
  absl::Status s = EnsureIdEntry(
      etc->get(), "passwd", uid,
      absl::StrCat("box:x:", uid, ":", gid, ":box:/tmp:/bin/sh\n"),
      "root:x:0:0:root:/root:/bin/sh\n");
  if (!s.ok()) return s;
  return EnsureIdEntry(etc->get(), "group", gid,
                       absl::StrCat("box:x:", gid, ":\n"), "root:x:0:\n");
}

}  // namespace scrc
