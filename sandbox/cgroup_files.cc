#include "sandbox/cgroup_files.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace scrc::sandbox {
namespace {

absl::StatusCode CodeFor(int err) {
  switch (err) {
    case ENOENT:
      return absl::StatusCode::kNotFound;
    case EACCES:
    case EPERM:
    case EROFS:
      return absl::StatusCode::kPermissionDenied;
    case EBUSY:
      return absl::StatusCode::kFailedPrecondition;
    case EINVAL:
      return absl::StatusCode::kInvalidArgument;
    default:
      return absl::StatusCode::kInternal;
  }
}

const char* HintFor(int err) {
  switch (err) {
    case EACCES:
    case EPERM:
    case EROFS:
      return " (cgroup not delegated to this user; see scrc doctor)";
    case EBUSY:
      return " (cgroup busy: it has processes of its own or children; "
             "cgroup v2 allows controllers only in cgroups without "
             "processes)";
    default:
      return "";
  }
}

}  // namespace

absl::Status CgroupErrno(int err, absl::string_view op,
                         absl::string_view path) {
  return absl::Status(
      CodeFor(err),
      absl::StrCat(op, " ", path, ": ", std::strerror(err), HintFor(err)));
}

absl::StatusOr<CgroupFile> CgroupFile::Open(std::string path, int flags) {
  CgroupFile file;
  file.fd_.reset(open(path.c_str(), flags | O_CLOEXEC));
  if (!file.fd_.valid()) return CgroupErrno(errno, "open", path);
  file.path_ = std::move(path);
  return file;
}

absl::Status CgroupFile::Write(absl::string_view value) const {
  // Control files take a whole value per write(2); a short write is an error.
  const ssize_t n = pwrite(fd_.get(), value.data(), value.size(), 0);
  if (n < 0) {
    return CgroupErrno(errno, absl::StrCat("write '", value, "' to"), path_);
  }
  if (static_cast<size_t>(n) != value.size()) {
    return absl::InternalError(
        absl::StrCat("write '", value, "' to ", path_, ": short write"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> CgroupFile::Read() const {
  std::string out;
  char buf[4096];
  for (off_t off = 0;;) {
    const ssize_t n = pread(fd_.get(), buf, sizeof(buf), off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return CgroupErrno(errno, "read", path_);
    }
    if (n == 0) break;
    out.append(buf, n);
    off += n;
  }
  return out;
}

absl::StatusOr<int64_t> CgroupFile::ReadInt64() const {
  absl::StatusOr<std::string> text = Read();
  if (!text.ok()) return text.status();
  return ParseCgroupInt64(*text, path_);
}

absl::StatusOr<int64_t> CgroupFile::ReadKey(absl::string_view key) const {
  absl::StatusOr<std::string> text = Read();
  if (!text.ok()) return text.status();
  int64_t value = 0;
  FindCgroupKey(*text, key, &value);
  return value;
}

absl::Status OpenOptionalCgroupFile(const std::string& path, int flags,
                                    CgroupFile* file) {
  absl::StatusOr<CgroupFile> f = CgroupFile::Open(path, flags);
  if (f.ok()) {
    *file = *std::move(f);
  } else if (!absl::IsNotFound(f.status())) {
    return f.status();
  }
  return absl::OkStatus();
}

absl::Status WriteCgroupFile(const std::string& path, absl::string_view value) {
  absl::StatusOr<CgroupFile> file = CgroupFile::Open(path, O_WRONLY);
  if (!file.ok()) return file.status();
  return file->Write(value);
}

absl::StatusOr<std::string> ReadCgroupFile(const std::string& path) {
  absl::StatusOr<CgroupFile> file = CgroupFile::Open(path, O_RDONLY);
  if (!file.ok()) return file.status();
  return file->Read();
}

absl::StatusOr<int64_t> ParseCgroupInt64(absl::string_view text,
                                         absl::string_view path) {
  text = absl::StripAsciiWhitespace(text);
  if (text == "max") return std::numeric_limits<int64_t>::max();
  int64_t value = 0;
  if (!absl::SimpleAtoi(text, &value)) {
    return absl::DataLossError(
        absl::StrCat("parse ", path, ": not an integer: '", text, "'"));
  }
  return value;
}

bool FindCgroupKey(absl::string_view text, absl::string_view key,
                   int64_t* value) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    const size_t space = line.find(' ');
    if (space == absl::string_view::npos || line.substr(0, space) != key) {
      continue;
    }
    return absl::SimpleAtoi(line.substr(space + 1), value);
  }
  return false;
}

std::vector<pid_t> ParsePidList(absl::string_view text) {
  std::vector<pid_t> pids;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    pid_t pid = 0;
    if (absl::SimpleAtoi(line, &pid) && pid > 0) pids.push_back(pid);
  }
  return pids;
}

bool HasWord(absl::string_view text, absl::string_view word) {
  for (absl::string_view w :
       absl::StrSplit(text, absl::ByAnyChar(" \n"), absl::SkipEmpty())) {
    if (w == word) return true;
  }
  return false;
}

bool PathExists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

std::vector<std::string> ChildCgroups(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return names;
  while (struct dirent* e = readdir(d)) {
    const absl::string_view name = e->d_name;
    if (e->d_type == DT_DIR && name != "." && name != "..") {
      names.emplace_back(name);
    }
  }
  closedir(d);
  return names;
}

bool ValidCgroupName(absl::string_view name) {
  return !name.empty() && name.size() <= 64 &&
         std::all_of(name.begin(), name.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  (c >= '0' && c <= '9') || c == '-' || c == '_';
         });
}

absl::Status BoxNames::Check(const std::string& name) {
  if (ValidCgroupName(name)) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      "box cgroup name '", name, "': use letters, digits, '-' and '_'"));
}

void BoxNames::Add(const std::string& name) {
  absl::MutexLock lock(&mu_);
  if (std::find(names_.begin(), names_.end(), name) == names_.end()) {
    names_.push_back(name);
  }
}

std::vector<std::string> BoxNames::All() const {
  absl::MutexLock lock(&mu_);
  return names_;
}

}  // namespace scrc::sandbox
