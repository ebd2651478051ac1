#include "src/layer_apply.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "src/tree_paths.h"

namespace scrc {
namespace {

constexpr char kOpaqueMarker[] = ".wh..wh..opq";
constexpr char kWhiteoutPrefix[] = ".wh.";
constexpr char kWhiteoutMetaPrefix[] = ".wh..wh.";  // aufs bookkeeping

struct ArchiveFree {
  void operator()(archive* a) const { archive_read_free(a); }
};

// The permission bits a tree keeps: everything but setuid/setgid.
mode_t KeptMode(mode_t mode) { return mode & 01777; }

absl::Status Prefixed(const std::string& label, const absl::Status& s) {
  return absl::Status(s.code(), absl::StrCat(label, ": ", s.message()));
}

// One Apply() call: the state that lives for one layer.
class LayerRun {
 public:
  LayerRun(int root_fd, bool whiteouts, LayerStats* stats,
           absl::flat_hash_map<std::string, mode_t>* dir_modes)
      : root_fd_(root_fd),
        whiteouts_(whiteouts),
        stats_(stats),
        dir_modes_(dir_modes) {}

  absl::Status Entry(archive* a, archive_entry* e);

 private:
  absl::Status Opaque(const std::vector<std::string>& dir);
  absl::Status OpaqueClean(int dir_fd, const std::string& prefix);
  absl::Status Whiteout(const std::vector<std::string>& comps,
                        const std::string& name);
  absl::Status WriteFile(archive* a, int parent, const std::string& name,
                         const std::string& path, archive_entry* e,
                         mode_t mode);
  absl::Status MakeDir(int parent, const std::string& name,
                       const std::string& path, mode_t mode, bool exists);
  void MarkWritten(const std::vector<std::string>& comps);

  int root_fd_;
  bool whiteouts_;
  LayerStats* stats_;
  absl::flat_hash_map<std::string, mode_t>* dir_modes_;
  // Paths this layer wrote (and their ancestors): an opaque marker hides
  // only what lower layers left, whatever the order of the tar members.
  absl::flat_hash_set<std::string> written_;
};

void LayerRun::MarkWritten(const std::vector<std::string>& comps) {
  for (size_t i = 1; i <= comps.size(); ++i) {
    written_.insert(JoinPath(comps, i));
  }
}

absl::Status LayerRun::Entry(archive* a, archive_entry* e) {
  const char* raw = archive_entry_pathname(e);
  if (raw == nullptr)
    return absl::InvalidArgumentError("member without a name");
  absl::StatusOr<std::vector<std::string>> comps = CleanRelativePath(raw);
  if (!comps.ok()) return comps.status();
  if (comps->empty()) return absl::OkStatus();  // "./": the root itself
  const std::string path = JoinPath(*comps);
  const std::string& name = comps->back();
  ++stats_->entries;

  if (whiteouts_) {
    for (const std::string& c : *comps) {
      if (absl::StartsWith(c, kWhiteoutMetaPrefix) && c != kOpaqueMarker) {
        stats_->warnings.push_back(
            absl::StrCat("skipped aufs metadata ", path));
        return absl::OkStatus();
      }
    }
    if (name == kOpaqueMarker) {
      ++stats_->whiteouts;
      return Opaque({comps->begin(), comps->end() - 1});
    }
    if (absl::StartsWith(name, kWhiteoutPrefix)) {
      ++stats_->whiteouts;
      return Whiteout(*comps, name.substr(std::strlen(kWhiteoutPrefix)));
    }
  }

  const char* hardlink = archive_entry_hardlink(e);
  const mode_t type = hardlink ? AE_IFREG : archive_entry_filetype(e);
  const mode_t mode = KeptMode(archive_entry_perm(e));
  if (type == AE_IFCHR || type == AE_IFBLK) {
    return absl::PermissionDeniedError(absl::StrCat(
        "device node ", path, " (", archive_entry_rdevmajor(e), ",",
        archive_entry_rdevminor(e),
        "): refused; trees never hold devices, the sandbox provides /dev"));
  }
  if (type == AE_IFSOCK) {
    stats_->warnings.push_back(absl::StrCat("skipped socket ", path));
    return absl::OkStatus();
  }
  if (type != AE_IFREG && type != AE_IFDIR && type != AE_IFLNK &&
      type != AE_IFIFO) {
    return absl::InvalidArgumentError(
        absl::StrCat("member ", path, " has unknown type ", type));
  }
  if (!hardlink && type != AE_IFDIR && (archive_entry_perm(e) & 06000)) {
    ++stats_->setid_stripped;
  }
  MarkWritten(*comps);

  absl::StatusOr<UniqueFd> parent =
      OpenDirBeneath(root_fd_, *comps, comps->size() - 1, /*create=*/true);
  if (!parent.ok()) return parent.status();
  const int pfd = parent->get();

  // Whatever lower layers left at this name goes, except that a directory
  // over a directory merges.
  struct stat st;
  bool exists = false;
  if (fstatat(pfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
    if (S_ISDIR(st.st_mode) && type == AE_IFDIR) {
      exists = true;
    } else {
      absl::Status s = RemoveTreeAt(pfd, name, path);
      if (!s.ok()) return s;
    }
  } else if (errno != ENOENT) {
    return PathError(errno, "stat", path);
  }

  if (hardlink) {
    absl::StatusOr<std::vector<std::string>> target =
        CleanRelativePath(hardlink);
    if (!target.ok() || target->empty()) {
      return absl::PermissionDeniedError(absl::StrCat(
          "hard link ", path, " -> ", hardlink, ": ",
          target.ok() ? "empty target" : target.status().message()));
    }
    absl::StatusOr<UniqueFd> tparent =
        OpenDirBeneath(root_fd_, *target, target->size() - 1, /*create=*/false);
    if (!tparent.ok()) {
      return absl::PermissionDeniedError(absl::StrCat(
          "hard link ", path, " -> ", hardlink,
          ": target is not in the tree: ", tparent.status().message()));
    }
    // Flags 0: a symlink target is linked itself, never followed.
    if (linkat(tparent->get(), target->back().c_str(), pfd, name.c_str(), 0) !=
        0) {
      const int err = errno;
      if (err == ENOENT) {
        return absl::PermissionDeniedError(
            absl::StrCat("hard link ", path, " -> ", hardlink,
                         ": target is not in the tree"));
      }
      return PathError(err, absl::StrCat("link ", hardlink, " to"), path);
    }
    return absl::OkStatus();
  }

  switch (type) {
    case AE_IFDIR:
      return MakeDir(pfd, name, path, mode, exists);
    case AE_IFREG:
      return WriteFile(a, pfd, name, path, e, mode);
    case AE_IFLNK: {
      const char* target = archive_entry_symlink(e);
      if (target == nullptr || *target == '\0') {
        return absl::InvalidArgumentError(
            absl::StrCat("symlink ", path, " has no target"));
      }
      // Stored as is: a symlink is only ever followed beneath the tree here,
      // and inside the box its root is the tree.
      if (symlinkat(target, pfd, name.c_str()) != 0) {
        return PathError(errno, "symlink", path);
      }
      const timespec times[2] = {
          {archive_entry_mtime(e), archive_entry_mtime_nsec(e)},
          {archive_entry_mtime(e), archive_entry_mtime_nsec(e)}};
      utimensat(pfd, name.c_str(), times, AT_SYMLINK_NOFOLLOW);
      return absl::OkStatus();
    }
    case AE_IFIFO:
      if (mkfifoat(pfd, name.c_str(), 0600) != 0 ||
          fchmodat(pfd, name.c_str(), mode, 0) != 0) {
        return PathError(errno, "mkfifo", path);
      }
      return absl::OkStatus();
  }
  return absl::InternalError("unreachable");
}

absl::Status LayerRun::MakeDir(int parent, const std::string& name,
                               const std::string& path, mode_t mode,
                               bool exists) {
  if (!exists && mkdirat(parent, name.c_str(), 0700) != 0) {
    return PathError(errno, "mkdir", path);
  }
  // Owner rwx while the import runs; the layer's mode is set by Finish().
  const mode_t now = mode | 0700;
  if (fchmodat(parent, name.c_str(), now, 0) != 0) {
    return PathError(errno, "chmod", path);
  }
  if (now != mode) {
    (*dir_modes_)[path] = mode;
  } else {
    dir_modes_->erase(path);
  }
  return absl::OkStatus();
}

absl::Status LayerRun::WriteFile(archive* a, int parent,
                                 const std::string& name,
                                 const std::string& path, archive_entry* e,
                                 mode_t mode) {
  const int fd =
      openat(parent, name.c_str(),
             O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return PathError(errno, "create", path);
  UniqueFd owned(fd);
  const void* buf;
  size_t size;
  la_int64_t offset;
  for (;;) {
    const int r = archive_read_data_block(a, &buf, &size, &offset);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) {
      return absl::DataLossError(
          absl::StrCat("read ", path, ": ", archive_error_string(a)));
    }
    const char* p = static_cast<const char*>(buf);
    while (size > 0) {
      const ssize_t n = pwrite(fd, p, size, offset);
      if (n < 0) {
        if (errno == EINTR) continue;
        return PathError(errno, "write", path);
      }
      p += n;
      size -= static_cast<size_t>(n);
      offset += n;
      stats_->bytes += n;
    }
  }
  // Sparse members can end in a hole.
  if (archive_entry_size_is_set(e) &&
      ftruncate(fd, archive_entry_size(e)) != 0) {
    return PathError(errno, "truncate", path);
  }
  if (fchmod(fd, mode) != 0) return PathError(errno, "chmod", path);
  const timespec times[2] = {
      {archive_entry_mtime(e), archive_entry_mtime_nsec(e)},
      {archive_entry_mtime(e), archive_entry_mtime_nsec(e)}};
  futimens(fd, times);
  return absl::OkStatus();
}

absl::Status LayerRun::Whiteout(const std::vector<std::string>& comps,
                                const std::string& name) {
  const std::string path =
      comps.size() == 1
          ? name
          : absl::StrCat(JoinPath(comps, comps.size() - 1), "/", name);
  if (name.empty() || name == "." || name == "..") {
    return absl::InvalidArgumentError(
        absl::StrCat("whiteout ", JoinPath(comps), " names no file"));
  }
  absl::StatusOr<UniqueFd> parent =
      OpenDirBeneath(root_fd_, comps, comps.size() - 1, /*create=*/false);
  if (!parent.ok()) {
    // Nothing below a missing directory to hide.
    if (absl::IsNotFound(parent.status())) return absl::OkStatus();
    return parent.status();
  }
  return RemoveTreeAt(parent->get(), name, path);
}

absl::Status LayerRun::Opaque(const std::vector<std::string>& dir) {
  MarkWritten(dir);
  if (dir.empty()) {
    absl::StatusOr<UniqueFd> root =
        OpenBeneath(root_fd_, ".", O_RDONLY | O_DIRECTORY);
    if (!root.ok()) return root.status();
    return OpaqueClean(root->get(), "");
  }
  const std::string path = JoinPath(dir);
  absl::StatusOr<UniqueFd> parent =
      OpenDirBeneath(root_fd_, dir, dir.size() - 1, /*create=*/false);
  if (!parent.ok()) {
    if (absl::IsNotFound(parent.status())) return absl::OkStatus();
    return parent.status();
  }
  struct stat st;
  if (fstatat(parent->get(), dir.back().c_str(), &st, AT_SYMLINK_NOFOLLOW) !=
      0) {
    if (errno == ENOENT) return absl::OkStatus();
    return PathError(errno, "stat", path);
  }
  if (!S_ISDIR(st.st_mode)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "opaque marker in ", path,
        ", which is not a directory (a symlink or file): refused"));
  }
  const int fd = openat(parent->get(), dir.back().c_str(),
                        O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return PathError(errno, "open", path);
  UniqueFd owned(fd);
  return OpaqueClean(fd, path);
}

absl::Status LayerRun::OpaqueClean(int dir_fd, const std::string& prefix) {
  std::vector<std::string> names;
  {
    const int dup_fd = fcntl(dir_fd, F_DUPFD_CLOEXEC, 0);
    if (dup_fd < 0) return PathError(errno, "dup", prefix);
    DIR* d = fdopendir(dup_fd);
    if (d == nullptr) {
      close(dup_fd);
      return PathError(errno, "opendir", prefix);
    }
    while (dirent* de = readdir(d)) {
      if (std::strcmp(de->d_name, ".") != 0 &&
          std::strcmp(de->d_name, "..") != 0) {
        names.emplace_back(de->d_name);
      }
    }
    closedir(d);
  }
  for (const std::string& name : names) {
    const std::string child =
        prefix.empty() ? name : absl::StrCat(prefix, "/", name);
    if (!written_.contains(child)) {
      absl::Status s = RemoveTreeAt(dir_fd, name, child);
      if (!s.ok()) return s;
      continue;
    }
    // Kept by this layer: if it is a directory, what lower layers put in
    // it is hidden too.
    const int fd = openat(dir_fd, name.c_str(),
                          O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) continue;  // not a directory
    UniqueFd owned(fd);
    absl::Status s = OpaqueClean(fd, child);
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status LayerApplier::Apply(int fd, const std::string& label) {
  std::unique_ptr<archive, ArchiveFree> a(archive_read_new());
  if (!a) return absl::ResourceExhaustedError("archive_read_new failed");
  archive_read_support_filter_all(a.get());  // gzip, zstd, xz, bzip2, ...
  archive_read_support_format_tar(a.get());
  archive_read_support_format_empty(a.get());  // empty layers
  if (archive_read_open_fd(a.get(), fd, 1 << 20) != ARCHIVE_OK) {
    return absl::InvalidArgumentError(absl::StrCat(
        label, ": not a readable tar stream: ", archive_error_string(a.get())));
  }
  LayerRun run(root_fd_, whiteouts_, &stats_, &dir_modes_);
  absl::Status status;
  for (;;) {
    archive_entry* e;
    const int r = archive_read_next_header(a.get(), &e);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) {
      status = absl::InvalidArgumentError(absl::StrCat(
          label,
          ": not a readable tar stream: ", archive_error_string(a.get())));
      break;
    }
    status = run.Entry(a.get(), e);
    if (!status.ok()) {
      status = Prefixed(label, status);
      break;
    }
  }
  return status;
}

absl::Status LayerApplier::Finish() {
  // Deepest first: a parent losing owner search permission must not stop
  // us from reaching its children.
  std::vector<std::pair<std::string, mode_t>> dirs(dir_modes_.begin(),
                                                   dir_modes_.end());
  std::sort(dirs.begin(), dirs.end(), [](const auto& x, const auto& y) {
    return std::count(x.first.begin(), x.first.end(), '/') >
           std::count(y.first.begin(), y.first.end(), '/');
  });
  for (const auto& [path, mode] : dirs) {
    absl::StatusOr<UniqueFd> fd =
        OpenBeneath(root_fd_, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    if (!fd.ok()) continue;  // replaced or removed by a later layer
    if (fchmod(fd->get(), mode) != 0) return PathError(errno, "chmod", path);
  }
  dir_modes_.clear();
  return absl::OkStatus();
}

}  // namespace scrc
