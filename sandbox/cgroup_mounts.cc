#include "sandbox/cgroup_mounts.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace scrc::sandbox {
namespace {

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string Unescape(absl::string_view s) {
  auto octal = [&](size_t i) { return s[i] >= '0' && s[i] <= '7'; };
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && octal(i + 1) && octal(i + 2) &&
        octal(i + 3)) {
      out.push_back(static_cast<char>((s[i + 1] - '0') * 64 +
                                      (s[i + 2] - '0') * 8 + (s[i + 3] - '0')));
      i += 3;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

bool Contains(const std::vector<std::string>& v, absl::string_view x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

}  // namespace

std::vector<ProcCgroup> ParseProcCgroup(absl::string_view text) {
  std::vector<ProcCgroup> out;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    // The path may itself contain ':', so split only twice.
    std::vector<absl::string_view> f =
        absl::StrSplit(line, absl::MaxSplits(':', 2));
    if (f.size() != 3) continue;
    ProcCgroup pc;
    if (!absl::SimpleAtoi(f[0], &pc.id)) continue;
    for (absl::string_view c : absl::StrSplit(f[1], ',', absl::SkipEmpty())) {
      pc.controllers.emplace_back(c);
    }
    pc.path = std::string(f[2]);
    out.push_back(std::move(pc));
  }
  return out;
}

std::vector<CgroupMount> ParseCgroupMounts(absl::string_view mountinfo) {
  std::vector<CgroupMount> out;
  for (absl::string_view line :
       absl::StrSplit(mountinfo, '\n', absl::SkipEmpty())) {
    // id parent maj:min root mount_point options [optional...] - fstype
    // source super_options
    std::vector<absl::string_view> f = absl::StrSplit(line, ' ');
    auto dash = std::find(f.begin() + std::min<size_t>(6, f.size()), f.end(),
                          absl::string_view("-"));
    if (f.size() < 6 || dash == f.end() || f.end() - dash < 4) continue;
    const absl::string_view fstype = dash[1];
    if (fstype != "cgroup" && fstype != "cgroup2") continue;
    CgroupMount m;
    m.v2 = fstype == "cgroup2";
    m.root = Unescape(f[3]);
    m.mount_point = Unescape(f[4]);
    if (!m.v2) {
      for (absl::string_view opt : absl::StrSplit(dash[3], ',')) {
        if (opt != "rw" && opt != "ro" && !absl::StrContains(opt, '=')) {
          m.controllers.emplace_back(opt);
        }
      }
    }
    out.push_back(std::move(m));
  }
  return out;
}

std::string CgroupDirectory(const CgroupMount& mount, absl::string_view path) {
  absl::string_view root = mount.root;
  if (root == "/") root = "";
  if (!absl::StartsWith(path, root)) return "";
  absl::string_view rest = path.substr(root.size());
  if (!rest.empty() && rest[0] != '/') return "";  // /a is not below /ab
  if (rest == "/") rest = "";
  return absl::StrCat(mount.mount_point, rest);
}

absl::StatusOr<CgroupHierarchy> FindV2Hierarchy(
    const std::vector<ProcCgroup>& procs,
    const std::vector<CgroupMount>& mounts) {
  auto line = std::find_if(procs.begin(), procs.end(), [](const ProcCgroup& p) {
    return p.id == 0 && p.controllers.empty();
  });
  if (line == procs.end()) {
    return absl::NotFoundError(
        "cgroup v2: no '0::' line in /proc/self/cgroup (kernel without "
        "cgroup2)");
  }
  bool mounted = false;
  for (const CgroupMount& m : mounts) {
    if (!m.v2) continue;
    mounted = true;
    std::string dir = CgroupDirectory(m, line->path);
    if (!dir.empty()) return CgroupHierarchy{m, line->path, std::move(dir)};
  }
  return absl::NotFoundError(
      mounted ? absl::StrCat("cgroup v2: our cgroup ", line->path,
                             " is not visible under any cgroup2 mount")
              : std::string("cgroup v2: no cgroup2 mount in "
                            "/proc/self/mountinfo"));
}

absl::StatusOr<CgroupHierarchy> FindV1Hierarchy(
    const std::vector<ProcCgroup>& procs,
    const std::vector<CgroupMount>& mounts, absl::string_view controller) {
  auto line = std::find_if(
      procs.begin(), procs.end(),
      [&](const ProcCgroup& p) { return Contains(p.controllers, controller); });
  if (line == procs.end()) {
    return absl::NotFoundError(absl::StrCat(
        "cgroup v1 ", controller,
        ": no hierarchy with it in /proc/self/cgroup (not mounted, or on "
        "cgroup v2)"));
  }
  for (const CgroupMount& m : mounts) {
    if (m.v2 || !Contains(m.controllers, controller)) continue;
    std::string dir = CgroupDirectory(m, line->path);
    if (!dir.empty()) return CgroupHierarchy{m, line->path, std::move(dir)};
  }
  return absl::NotFoundError(
      absl::StrCat("cgroup v1 ", controller, ": our cgroup ", line->path,
                   " is not visible under any mount of that hierarchy"));
}

}  // namespace scrc::sandbox
