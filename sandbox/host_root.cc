#include "sandbox/host_root.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "sandbox/mount_plan.h"

namespace scrc::sandbox {
namespace {

// Top-level host directories a toolchain may live in. On merged-/usr hosts
// all but /usr are symlinks and are recreated as symlinks.
constexpr const char* kTopLevel[] = {"/usr",   "/bin",   "/sbin", "/lib",
                                     "/lib64", "/lib32", "/libx32"};
// Files copied into the skeleton's /etc (read when programs start).
constexpr const char* kEtcFiles[] = {"ld.so.cache", "ld.so.conf", "localtime",
                                     "nsswitch.conf"};
// /etc directories bound whole: Debian's /usr/bin/java is a symlink through
// /etc/alternatives, and the JDK's conf/ points into /etc/java-17-openjdk.
constexpr const char* kEtcDirPrefixes[] = {"alternatives", "java-",
                                           "python3"};

constexpr char kPasswd[] =
    "root:x:0:0:root:/root:/usr/sbin/nologin\n"
    "box:x:1000:1000:box:/box:/bin/sh\n"
    "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n";
constexpr char kGroup[] = "root:x:0:\nbox:x:1000:\nnogroup:x:65534:\n";
constexpr char kHosts[] = "127.0.0.1 localhost\n::1 localhost\n";

absl::Status Errno(absl::string_view op, absl::string_view path) {
  return absl::InternalError(
      absl::StrCat(op, " ", path, ": ", strerror(errno)));
}

absl::Status MakeDir(const std::string& path) {
  if (mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) {
    return Errno("mkdir", path);
  }
  return absl::OkStatus();
}

absl::Status WriteFile(const std::string& path, absl::string_view content) {
  const std::string tmp = absl::StrCat(path, ".tmp");
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << content;
    if (!out) return Errno("write", tmp);
  }
  chmod(tmp.c_str(), 0644);
  if (rename(tmp.c_str(), path.c_str()) != 0) return Errno("rename", tmp);
  return absl::OkStatus();
}

absl::Status CopyEntry(const std::string& from, const std::string& to) {
  struct stat st;
  if (lstat(from.c_str(), &st) != 0) return absl::OkStatus();  // optional
  unlink(to.c_str());
  if (S_ISLNK(st.st_mode)) {
    char target[4096];
    const ssize_t n = readlink(from.c_str(), target, sizeof(target) - 1);
    if (n < 0) return Errno("readlink", from);
    target[n] = '\0';
    if (symlink(target, to.c_str()) != 0) return Errno("symlink", to);
    return absl::OkStatus();
  }
  if (!S_ISREG(st.st_mode)) return absl::OkStatus();
  std::ifstream in(from, std::ios::binary);
  std::stringstream content;
  content << in.rdbuf();
  return WriteFile(to, content.str());
}

}  // namespace

absl::Status CreateMountPoints(const std::string& root) {
  for (const char* dir : {"", "/proc", "/dev", "/tmp", "/box", "/etc"}) {
    if (absl::Status s = MakeDir(absl::StrCat(root, dir)); !s.ok()) return s;
  }
  for (const char* name : kDeviceNames) {
    const std::string path = absl::StrCat(root, "/dev/", name);
    const int fd = open(path.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
    if (fd < 0) return Errno("create", path);
    close(fd);
  }
  if (absl::Status s = WriteFile(absl::StrCat(root, "/etc/passwd"), kPasswd);
      !s.ok()) {
    return s;
  }
  return WriteFile(absl::StrCat(root, "/etc/group"), kGroup);
}

absl::StatusOr<HostRoot> PrepareHostRoot(const std::string& dir) {
  HostRoot root;
  root.skeleton = dir;
  if (absl::Status s = CreateMountPoints(dir); !s.ok()) return s;
  for (const char* top : kTopLevel) {
    struct stat st;
    if (lstat(top, &st) != 0) continue;
    const std::string target = absl::StrCat(dir, top);
    if (S_ISLNK(st.st_mode)) {
      if (absl::Status s = CopyEntry(top, target); !s.ok()) return s;
    } else if (S_ISDIR(st.st_mode)) {
      if (absl::Status s = MakeDir(target); !s.ok()) return s;
      root.host_binds.push_back(top);
    }
  }
  for (const char* name : kEtcFiles) {
    if (absl::Status s = CopyEntry(absl::StrCat("/etc/", name),
                                   absl::StrCat(dir, "/etc/", name));
        !s.ok()) {
      return s;
    }
  }
  if (absl::Status s = WriteFile(absl::StrCat(dir, "/etc/hosts"), kHosts);
      !s.ok()) {
    return s;
  }
  DIR* etc = opendir("/etc");
  if (etc == nullptr) return Errno("opendir", "/etc");
  while (dirent* entry = readdir(etc)) {
    const std::string name = entry->d_name;
    bool wanted = false;
    for (const char* prefix : kEtcDirPrefixes) {
      wanted = wanted || absl::StartsWith(name, prefix);
    }
    struct stat st;
    const std::string host = absl::StrCat("/etc/", name);
    if (!wanted || lstat(host.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      continue;
    }
    if (absl::Status s = MakeDir(absl::StrCat(dir, host)); !s.ok()) {
      closedir(etc);
      return s;
    }
    root.host_binds.push_back(host);
  }
  closedir(etc);
  return root;
}

}  // namespace scrc::sandbox
