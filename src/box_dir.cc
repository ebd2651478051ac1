#include "src/box_dir.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/functional/function_ref.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "sandbox/unique_fd.h"
#include "src/tree_paths.h"

namespace scrc {
namespace {

using sandbox::UniqueFd;

absl::Status Errno(int err, std::string_view op, std::string_view path) {
  return absl::ErrnoToStatus(
      err, absl::StrCat(std::string(op), " ", std::string(path)));
}

absl::Status MakeParents(const std::string& path) {
  for (size_t slash = path.find('/', 1); slash != std::string::npos;
       slash = path.find('/', slash + 1)) {
    const std::string parent = path.substr(0, slash);
    if (mkdir(parent.c_str(), 0755) != 0 && errno != EEXIST) {
      return Errno(errno, "mkdir", parent);
    }
  }
  return absl::OkStatus();
}

absl::Status WriteAll(int fd, std::string_view data, std::string_view path) {
  while (!data.empty()) {
    const ssize_t n = write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Errno(errno, "write", path);
    data.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

absl::Status CopyFileAt(int src_dir, int dst_dir, const char* name,
                        uid_t uid, gid_t gid, std::string_view path) {
  const int in = openat(src_dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (in < 0) return Errno(errno, "open", path);
  UniqueFd src(in);
  const int out = openat(dst_dir, name,
                         O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                         0644);
  if (out < 0) return Errno(errno, "create", path);
  UniqueFd dst(out);
  char buffer[64 << 10];
  for (;;) {
    const ssize_t n = read(src.get(), buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Errno(errno, "read", path);
    if (n == 0) break;
    if (absl::Status s = WriteAll(dst.get(), std::string_view(buffer, n), path);
        !s.ok()) {
      return s;
    }
  }
  if (fchown(dst.get(), uid, gid) != 0) return Errno(errno, "chown", path);
  return absl::OkStatus();
}

// Calls `visit(name, child_path, stat)` for each entry of `dir` (not "."
// or ".."), stat not following symlinks; stops at the first error.
absl::Status ForEachEntryAt(
    int dir, const std::string& path,
    absl::FunctionRef<absl::Status(const char*, const std::string&,
                                   const struct stat&)>
        visit) {
  const int dup_fd = dup(dir);
  if (dup_fd < 0) return Errno(errno, "dup", path);
  DIR* d = fdopendir(dup_fd);
  if (d == nullptr) {
    close(dup_fd);
    return Errno(errno, "opendir", path);
  }
  absl::Status status;
  while (const dirent* e = readdir(d)) {
    const std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    const std::string child = absl::StrCat(path, "/", name);
    struct stat st;
    status = fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0
                 ? Errno(errno, "stat", child)
                 : visit(name.c_str(), child, st);
    if (!status.ok()) break;
  }
  closedir(d);
  return status;
}

UniqueFd OpenSubdirAt(int dir, const char* name) {
  return UniqueFd(
      openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
}

// Copies (or links) the entries of src_dir into dst_dir; symlinks and
// special files are skipped: a cache holds neither.
absl::Status SeedDirAt(int src_dir, int dst_dir, const std::string& path,
                       uid_t uid, gid_t gid, bool link, bool top) {
  return ForEachEntryAt(
      src_dir, path,
      [&](const char* name, const std::string& child,
          const struct stat& st) -> absl::Status {
        if (S_ISDIR(st.st_mode)) {
          if (mkdirat(dst_dir, name, 0755) != 0 ||
              fchownat(dst_dir, name, uid, gid, AT_SYMLINK_NOFOLLOW) != 0) {
            return Errno(errno, "mkdir", child);
          }
          UniqueFd sub_src = OpenSubdirAt(src_dir, name);
          UniqueFd sub_dst = OpenSubdirAt(dst_dir, name);
          if (!sub_src.valid() || !sub_dst.valid()) {
            return Errno(errno, "open", child);
          }
          return SeedDirAt(sub_src.get(), sub_dst.get(), child, uid, gid, link,
                           /*top=*/false);
        }
        if (!S_ISREG(st.st_mode)) return absl::OkStatus();
        if (link && !top) {
          return linkat(src_dir, name, dst_dir, name, 0) != 0
                     ? Errno(errno, "link", child)
                     : absl::OkStatus();
        }
        return CopyFileAt(src_dir, dst_dir, name, uid, gid, child);
      });
}

// Owner: the runner; files read-only for everyone (box users read them
// through hard links), directories 0755.
absl::Status AdoptDirAt(int dir, const std::string& path) {
  if (fchown(dir, geteuid(), getegid()) != 0 || fchmod(dir, 0755) != 0) {
    return Errno(errno, "chown/chmod", path);
  }
  return ForEachEntryAt(
      dir, path,
      [&](const char* name, const std::string& child,
          const struct stat& st) -> absl::Status {
        if (S_ISDIR(st.st_mode)) {
          UniqueFd sub = OpenSubdirAt(dir, name);
          return sub.valid() ? AdoptDirAt(sub.get(), child)
                             : Errno(errno, "open", child);
        }
        if (S_ISREG(st.st_mode)) {
          if (fchownat(dir, name, geteuid(), getegid(), AT_SYMLINK_NOFOLLOW) !=
                  0 ||
              fchmodat(dir, name, 0444, 0) != 0) {
            return Errno(errno, "chown/chmod", child);
          }
          return absl::OkStatus();
        }
        // A symlink or a special file has no place in a template.
        return unlinkat(dir, name, 0) != 0 ? Errno(errno, "unlink", child)
                                           : absl::OkStatus();
      });
}

}  // namespace

absl::Status AdoptCacheTemplate(const std::string& dir,
                                const std::string& dest) {
  const int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
                                       O_CLOEXEC);
  if (fd < 0) return Errno(errno, "open", dir);
  UniqueFd owned(fd);
  if (absl::Status s = AdoptDirAt(fd, dir); !s.ok()) return s;
  if (absl::Status s = MakeParents(dest); !s.ok()) return s;
  if (rename(dir.c_str(), dest.c_str()) != 0) {
    if (errno == EEXIST || errno == ENOTEMPTY) return RemoveTree(dir);
    return Errno(errno, absl::StrCat("rename ", dir, " to"), dest);
  }
  return absl::OkStatus();
}

absl::Status SeedCache(const std::string& from, const std::string& box_dir,
                       const std::string& rel_dir, uid_t uid, gid_t gid,
                       bool link) {
  const std::string to = absl::StrCat(box_dir, "/", rel_dir);
  // Parents inside the box dir belong to the box user too.
  for (size_t slash = rel_dir.find('/'); slash != std::string::npos;
       slash = rel_dir.find('/', slash + 1)) {
    const std::string parent =
        absl::StrCat(box_dir, "/", rel_dir.substr(0, slash));
    if (mkdir(parent.c_str(), 0755) == 0) {
      if (chown(parent.c_str(), uid, gid) != 0) {
        return Errno(errno, "chown", parent);
      }
    } else if (errno != EEXIST) {
      return Errno(errno, "mkdir", parent);
    }
  }
  if (mkdir(to.c_str(), 0755) != 0) return Errno(errno, "mkdir", to);
  if (chown(to.c_str(), uid, gid) != 0) return Errno(errno, "chown", to);
  const int s = open(from.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
                                       O_CLOEXEC);
  const int t = open(to.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
                                     O_CLOEXEC);
  UniqueFd src(s), dst(t);
  if (s < 0) return Errno(errno, "open", from);
  if (t < 0) return Errno(errno, "open", to);
  return SeedDirAt(src.get(), dst.get(), to, uid, gid, link, /*top=*/true);
}

absl::Status PrepareWorkDir(const std::string& path) {
  if (path.empty() || path[0] != '/') {
    return absl::InvalidArgumentError(
        absl::StrCat("work directory '", path, "' must be an absolute path"));
  }
  if (absl::Status s = MakeParents(path); !s.ok()) return s;
  if (mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) {
    return Errno(errno, "mkdir", path);
  }
  // O_NOFOLLOW + fstat: judge the directory itself, not what a planted
  // symlink at its name points to.
  const int fd = open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
                                        O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    return absl::FailedPreconditionError(absl::StrCat(
        "open work directory ", path, ": ", std::strerror(err),
        err == ELOOP || err == ENOTDIR ? " (it must be a real directory)" : "",
        " (set SCRC_WORK_DIR)"));
  }
  UniqueFd dir(fd);
  struct stat st;
  if (fstat(dir.get(), &st) != 0) return Errno(errno, "stat", path);
  if (st.st_uid != geteuid()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "work directory ", path, " is owned by uid ", st.st_uid, ", not by uid ",
        geteuid(), " which runs scrc: refused (set SCRC_WORK_DIR)"));
  }
  if ((st.st_mode & 07777) != 0700 && fchmod(dir.get(), 0700) != 0) {
    return Errno(errno, "chmod 0700", path);
  }
  return absl::OkStatus();
}

std::string RunDirFor(const std::string& work_dir) {
  return absl::StrCat(work_dir, "/run-", getpid());
}

absl::Status SweepStaleRunDirs(const std::string& work_dir) {
  DIR* d = opendir(work_dir.c_str());
  if (d == nullptr) return Errno(errno, "open", work_dir);
  std::vector<std::string> stale;
  while (const dirent* e = readdir(d)) {
    const absl::string_view name = e->d_name;
    int pid;
    if (!absl::StartsWith(name, "run-") ||
        !absl::SimpleAtoi(name.substr(4), &pid) || pid <= 0) {
      continue;
    }
    // ESRCH: no such process. (A recycled pid keeps its directory until
    // that process is gone too: never a wrong removal, at worst a late one.)
    if (pid != getpid() && kill(pid, 0) != 0 && errno == ESRCH) {
      stale.emplace_back(name);
    }
  }
  closedir(d);
  absl::Status first;
  for (const std::string& name : stale) {
    absl::Status s = RemoveTree(absl::StrCat(work_dir, "/", name));
    if (first.ok()) first = s;
  }
  return first;
}

absl::Status CreateBoxDir(const std::string& path, std::string_view file_name,
                          std::string_view content, uid_t uid, gid_t gid) {
  if (absl::Status s = RemoveTree(path); !s.ok()) return s;
  if (mkdir(path.c_str(), 0700) != 0) return Errno(errno, "mkdir", path);
  const int dir_fd =
      open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dir_fd < 0) return Errno(errno, "open", path);
  UniqueFd dir(dir_fd);
  const std::string name(file_name);
  const std::string file_path = absl::StrCat(path, "/", name);
  if (name.empty() || name == "." || name == ".." ||
      name.find('/') != std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("source file name '", name, "' is not a plain name"));
  }
  const int fd = openat(dir.get(), name.c_str(),
                        O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                        0644);
  if (fd < 0) return Errno(errno, "create", file_path);
  UniqueFd file(fd);
  if (absl::Status s = WriteAll(file.get(), content, file_path); !s.ok()) {
    return s;
  }
  if (fchown(file.get(), uid, gid) != 0) return Errno(errno, "chown", file_path);
  if (fchown(dir.get(), uid, gid) != 0) return Errno(errno, "chown", path);
  return absl::OkStatus();
}

absl::Status RemoveBoxDir(const std::string& path) { return RemoveTree(path); }

}  // namespace scrc
