#include "sandbox/cgroup_stale.h"

#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstdint>
#include <optional>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "sandbox/cgroup_files.h"
#include "sandbox/cgroup_v1.h"

namespace scrc::sandbox {
namespace {

constexpr char kMakerXattr[] = "user.scrc.maker";
constexpr absl::Duration kKillTimeout = absl::Seconds(5);

// Where a pid means the same process: one boot, one PID namespace.
std::string PidScope() {
  absl::StatusOr<std::string> boot =
      ReadCgroupFile("/proc/sys/kernel/random/boot_id");
  struct stat ns;
  if (!boot.ok() || stat("/proc/self/ns/pid", &ns) != 0) return "";
  return absl::StrCat(absl::StripAsciiWhitespace(*boot), " ", ns.st_ino);
}

// Field 22 of /proc/<pid>/stat: start time in clock ticks since boot; tells
// a process from a later one that got the same pid. None when there is no
// such process or it has ended (a zombie no one reaped yet).
std::optional<uint64_t> StartTime(pid_t pid) {
  absl::StatusOr<std::string> stat =
      ReadCgroupFile(absl::StrCat("/proc/", pid, "/stat"));
  if (!stat.ok()) return std::nullopt;
  const size_t paren = stat->rfind(')');  // the name may hold anything
  if (paren == std::string::npos) return std::nullopt;
  const std::vector<absl::string_view> fields =
      absl::StrSplit(absl::string_view(*stat).substr(paren + 2), ' ');
  uint64_t ticks = 0;  // field 22 is the 20th after the name
  if (fields.size() < 20 || !absl::SimpleAtoi(fields[19], &ticks) ||
      fields[0] == "Z" || fields[0] == "X") {
    return std::nullopt;
  }
  return ticks;
}

std::string Mark(pid_t pid, uint64_t start) {
  return absl::StrCat(PidScope(), " ", pid, " ", start);
}

// Removes `dir` and the cgroups below it, deepest first.
void RemoveTree(const std::string& dir) {
  for (const std::string& child : ChildCgroups(dir)) {
    RemoveTree(absl::StrCat(dir, "/", child));
  }
  rmdir(dir.c_str());
}

void CollectTree(const std::string& dir, std::vector<std::string>* out) {
  out->push_back(dir);
  for (const std::string& child : ChildCgroups(dir)) {
    CollectTree(absl::StrCat(dir, "/", child), out);
  }
}

}  // namespace

bool MarkCgroupMaker(const std::string& dir) {
  const std::optional<uint64_t> start = StartTime(getpid());
  if (!start || PidScope().empty()) return false;
  const std::string mark = Mark(getpid(), *start);
  return setxattr(dir.c_str(), kMakerXattr, mark.data(), mark.size(), 0) == 0;
}

std::vector<std::string> SweepStaleCgroups(const std::string& start_dir) {
  std::vector<std::string> removed;
  const std::string scope = PidScope();
  if (scope.empty()) return removed;
  for (const std::string& name : ChildCgroups(start_dir)) {
    pid_t pid = 0;
    absl::string_view digits = name;
    if (!absl::ConsumePrefix(&digits, "scrc-") ||
        !absl::SimpleAtoi(digits, &pid) || pid <= 0 || pid == getpid()) {
      continue;
    }
    const std::string dir = absl::StrCat(start_dir, "/", name);
    char value[256];
    const ssize_t size =
        getxattr(dir.c_str(), kMakerXattr, value, sizeof(value));
    if (size <= 0) continue;  // not marked: not provably ours
    const std::string mark(value, static_cast<size_t>(size));
    if (!absl::StartsWith(mark, absl::StrCat(scope, " ", pid, " "))) {
      continue;  // another boot or PID namespace: its pid means nothing here
    }
    const std::optional<uint64_t> start = StartTime(pid);
    if (start && mark == Mark(pid, *start)) continue;  // its maker runs
    std::vector<std::string> tree;
    CollectTree(dir, &tree);
    // Listing cgroup.procs works on v1 and v2 alike.
    if (!KillCgroupV1(tree, kKillTimeout).ok()) continue;
    RemoveTree(dir);
    if (!PathExists(dir)) removed.push_back(dir);
  }
  return removed;
}

}  // namespace scrc::sandbox
