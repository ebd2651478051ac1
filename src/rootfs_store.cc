#include "src/rootfs_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "rapidjson/document.h"
#include "rapidjson/prettywriter.h"
#include "rapidjson/stringbuffer.h"
#include "src/tree_paths.h"

namespace scrc {
namespace {

constexpr char kStagingPrefix[] = ".staging-";

std::string Getenv(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? "" : v;
}

absl::Status MakeDirs(const std::string& path) {
  std::string prefix;
  for (size_t pos = 0; pos != std::string::npos;) {
    pos = path.find('/', pos + 1);
    prefix = path.substr(0, pos);
    if (prefix.empty()) continue;
    if (mkdir(prefix.c_str(), 0755) != 0 && errno != EEXIST) {
      return PathError(errno, "mkdir", prefix);
    }
  }
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return PathError(errno, "stat", path);
  if (!S_ISDIR(st.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, " is not a directory"));
  }
  return absl::OkStatus();
}

bool IsDir(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

void WriteStrings(rapidjson::PrettyWriter<rapidjson::StringBuffer>& w,
                  const char* key, const std::vector<std::string>& values) {
  w.Key(key);
  w.StartArray();
  for (const std::string& v : values) w.String(v.c_str(), v.size());
  w.EndArray();
}

std::string MetadataJson(const TreeInfo& info) {
  rapidjson::StringBuffer buf;
  rapidjson::PrettyWriter<rapidjson::StringBuffer> w(buf);
  auto str = [&w](const char* key, const std::string& v) {
    w.Key(key);
    w.String(v.c_str(), v.size());
  };
  w.StartObject();
  str("name", info.name);
  str("source", info.source);
  str("format", info.format);
  str("manifest_digest", info.manifest_digest);
  str("config_digest", info.config_digest);
  WriteStrings(w, "tags", info.tags);
  str("imported_at", info.imported_at);
  w.Key("layers");
  w.Int64(info.layers);
  w.Key("bytes");
  w.Int64(info.bytes);
  WriteStrings(w, "env", info.env);
  str("working_dir", info.working_dir);
  WriteStrings(w, "warnings", info.warnings);
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize()) + "\n";
}

void ReadStrings(const rapidjson::Value& doc, const char* key,
                 std::vector<std::string>* out) {
  auto it = doc.FindMember(key);
  if (it == doc.MemberEnd() || !it->value.IsArray()) return;
  for (const rapidjson::Value& v : it->value.GetArray()) {
    if (v.IsString()) out->emplace_back(v.GetString(), v.GetStringLength());
  }
}

bool ParseMetadata(const std::string& text, TreeInfo* info) {
  rapidjson::Document doc;
  doc.Parse(text.c_str(), text.size());
  if (doc.HasParseError() || !doc.IsObject()) return false;
  auto str = [&doc](const char* key, std::string* out) {
    auto it = doc.FindMember(key);
    if (it != doc.MemberEnd() && it->value.IsString()) {
      out->assign(it->value.GetString(), it->value.GetStringLength());
    }
  };
  auto num = [&doc](const char* key, int64_t* out) {
    auto it = doc.FindMember(key);
    if (it != doc.MemberEnd() && it->value.IsInt64())
      *out = it->value.GetInt64();
  };
  str("source", &info->source);
  str("format", &info->format);
  str("manifest_digest", &info->manifest_digest);
  str("config_digest", &info->config_digest);
  str("imported_at", &info->imported_at);
  str("working_dir", &info->working_dir);
  num("layers", &info->layers);
  num("bytes", &info->bytes);
  ReadStrings(doc, "tags", &info->tags);
  ReadStrings(doc, "env", &info->env);
  ReadStrings(doc, "warnings", &info->warnings);
  return true;
}

absl::Status WriteFileAtomic(const std::string& path,
                             const std::string& content) {
  const std::string tmp = absl::StrCat(path, ".tmp-", getpid());
  const int fd = open(
      tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) return PathError(errno, "create", tmp);
  UniqueFd owned(fd);
  size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      unlink(tmp.c_str());
      return PathError(err, "write", tmp);
    }
    done += static_cast<size_t>(n);
  }
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    unlink(tmp.c_str());
    return PathError(err, "rename to", path);
  }
  return absl::OkStatus();
}

// ".staging-<name>-<pid>-XXXXXX" of a process that is gone.
bool IsStaleStaging(const std::string& entry) {
  if (!absl::StartsWith(entry, kStagingPrefix)) return false;
  const size_t last = entry.rfind('-');
  if (last == std::string::npos || last == 0) return false;
  const size_t before = entry.rfind('-', last - 1);
  if (before == std::string::npos) return false;
  int pid;
  if (!absl::SimpleAtoi(entry.substr(before + 1, last - before - 1), &pid) ||
      pid <= 0) {
    return false;
  }
  return kill(pid, 0) != 0 && errno == ESRCH;
}

}  // namespace

std::string TreeInfo::digest() const {
  if (!manifest_digest.empty()) return manifest_digest;
  if (!config_digest.empty()) return config_digest;
  return "-";
}

std::string DefaultRootfsDir() {
  std::string dir = Getenv("SCRC_ROOTFS_DIR");
  if (!dir.empty()) return dir;
  if (geteuid() == 0) return "/var/cache/scrc/rootfs";
  std::string cache = Getenv("XDG_CACHE_HOME");
  if (cache.empty() || cache[0] != '/') {
    std::string home = Getenv("HOME");
    if (home.empty()) {
      if (const passwd* pw = getpwuid(geteuid())) home = pw->pw_dir;
    }
    cache = absl::StrCat(home, "/.cache");
  }
  return absl::StrCat(cache, "/scrc/rootfs");
}

absl::Status ValidateTreeName(absl::string_view name) {
  bool ok = !name.empty() && name.size() <= 128 &&
            absl::ascii_isalnum(name[0]) && name != "host";
  for (char c : name) {
    ok = ok && (absl::ascii_isalnum(c) || c == '.' || c == '_' || c == ':' ||
                c == '+' || c == '-');
  }
  if (ok) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      "rootfs name '", name,
      "' is invalid: use letters, digits and . _ : + - (starting with a "
      "letter or digit, at most 128), and not 'host'"));
}

absl::StatusOr<std::string> ResolveTree(absl::string_view rootfs_dir,
                                        absl::string_view name) {
  if (name.empty() || name == "host") return std::string();
  absl::Status s = ValidateTreeName(name);
  if (!s.ok()) return s;
  RootfsStore store{std::string(rootfs_dir)};
  const std::string path = store.TreePath(name);
  if (!IsDir(path)) {
    return absl::NotFoundError(
        absl::StrCat("rootfs tree '", name, "' not found in ", store.dir(),
                     " (make it with `scrc rootfs import IMAGE --name ", name,
                     "` or scripts/build-rootfs; see scrc doctor)"));
  }
  return path;
}

RootfsStore::RootfsStore(std::string dir)
    : dir_(dir.empty() ? DefaultRootfsDir() : std::move(dir)) {
  while (dir_.size() > 1 && dir_.back() == '/') dir_.pop_back();
}

std::string RootfsStore::TreePath(absl::string_view name) const {
  return absl::StrCat(dir_, "/", name);
}

std::string RootfsStore::MetadataPath(absl::string_view name) const {
  return absl::StrCat(dir_, "/", name, ".json");
}

bool RootfsStore::Exists(absl::string_view name) const {
  return ValidateTreeName(name).ok() && IsDir(TreePath(name));
}

absl::StatusOr<TreeInfo> RootfsStore::Get(absl::string_view name) const {
  absl::Status s = ValidateTreeName(name);
  if (!s.ok()) return s;
  TreeInfo info;
  info.name = std::string(name);
  info.path = TreePath(name);
  if (!IsDir(info.path)) {
    return absl::NotFoundError(
        absl::StrCat("rootfs tree '", name, "' not found in ", dir_));
  }
  std::ifstream in(MetadataPath(name));
  if (in) {
    std::stringstream text;
    text << in.rdbuf();
    info.has_metadata = ParseMetadata(text.str(), &info);
  }
  return info;
}

absl::StatusOr<std::vector<TreeInfo>> RootfsStore::List() const {
  std::vector<TreeInfo> out;
  DIR* d = opendir(dir_.c_str());
  if (d == nullptr) {
    if (errno == ENOENT) return out;
    return PathError(errno, "opendir", dir_);
  }
  std::vector<std::string> names;
  while (dirent* e = readdir(d)) {
    const std::string name = e->d_name;
    if (ValidateTreeName(name).ok() && IsDir(TreePath(name))) {
      names.push_back(name);
    }
  }
  closedir(d);
  std::sort(names.begin(), names.end());
  for (const std::string& name : names) {
    absl::StatusOr<TreeInfo> info = Get(name);
    if (info.ok()) out.push_back(*std::move(info));
  }
  return out;
}

absl::Status RootfsStore::Remove(absl::string_view name) const {
  absl::Status s = ValidateTreeName(name);
  if (!s.ok()) return s;
  const bool has_tree = IsDir(TreePath(name));
  const bool has_meta = access(MetadataPath(name).c_str(), F_OK) == 0;
  if (!has_tree && !has_meta) {
    return absl::NotFoundError(
        absl::StrCat("rootfs tree '", name, "' not found in ", dir_));
  }
  if (has_tree) {
    absl::StatusOr<std::string> staging = NewStaging(name);
    if (!staging.ok()) return staging.status();
    StagingDir cleanup(*staging);
    const std::string away = absl::StrCat(*staging, "/tree");
    if (rename(TreePath(name).c_str(), away.c_str()) != 0) {
      return PathError(errno, "rename", TreePath(name));
    }
    if (unlink(MetadataPath(name).c_str()) != 0 && errno != ENOENT) {
      return PathError(errno, "unlink", MetadataPath(name));
    }
    return RemoveTree(*staging);
  }
  if (unlink(MetadataPath(name).c_str()) != 0 && errno != ENOENT) {
    return PathError(errno, "unlink", MetadataPath(name));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> RootfsStore::NewStaging(
    absl::string_view name) const {
  absl::Status s = ValidateTreeName(name);
  if (!s.ok()) return s;
  s = MakeDirs(dir_);
  if (!s.ok()) return s;
  // Importers killed mid-way leave their staging directory behind.
  if (DIR* d = opendir(dir_.c_str())) {
    std::vector<std::string> stale;
    while (dirent* e = readdir(d)) {
      if (IsStaleStaging(e->d_name)) stale.emplace_back(e->d_name);
    }
    closedir(d);
    for (const std::string& entry : stale) {
      RemoveTree(absl::StrCat(dir_, "/", entry)).IgnoreError();
    }
  }
  std::string tmpl =
      absl::StrCat(dir_, "/", kStagingPrefix, name, "-", getpid(), "-XXXXXX");
  if (mkdtemp(tmpl.data()) == nullptr) {
    return PathError(errno, "mkdtemp", tmpl);
  }
  return tmpl;
}

absl::Status RootfsStore::Commit(const std::string& tree_dir,
                                 const TreeInfo& info, bool replace) const {
  absl::Status s = ValidateTreeName(info.name);
  if (!s.ok()) return s;
  const std::string target = TreePath(info.name);
  const std::string meta_tmp =
      absl::StrCat(dir_, "/.", info.name, ".json.new-", getpid());
  s = WriteFileAtomic(meta_tmp, MetadataJson(info));
  if (!s.ok()) return s;
  const bool exchange = replace && IsDir(target);
  if (renameat2(AT_FDCWD, tree_dir.c_str(), AT_FDCWD, target.c_str(),
                exchange ? RENAME_EXCHANGE : RENAME_NOREPLACE) != 0) {
    const int err = errno;
    unlink(meta_tmp.c_str());
    if (err == EEXIST) {
      return absl::AlreadyExistsError(
          absl::StrCat("rootfs tree '", info.name, "' already exists in ", dir_,
                       " (remove it first, or import with --force)"));
    }
    return PathError(err, "rename to", target);
  }
  if (rename(meta_tmp.c_str(), MetadataPath(info.name).c_str()) != 0) {
    const int err = errno;
    unlink(meta_tmp.c_str());
    return PathError(err, "rename to", MetadataPath(info.name));
  }
  return absl::OkStatus();
}

StagingDir::~StagingDir() {
  if (!path_.empty()) RemoveTree(path_).IgnoreError();
}

}  // namespace scrc
