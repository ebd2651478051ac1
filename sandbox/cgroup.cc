// Cgroups::Detect: picks cgroup v2, else v1, else nothing, once at start.
#include "sandbox/cgroup.h"

#include <unistd.h>

#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"
#include "sandbox/cgroup_files.h"
#include "sandbox/cgroup_mounts.h"
#include "sandbox/cgroup_stale.h"
#include "sandbox/cgroup_v1.h"
#include "sandbox/cgroup_v2.h"

namespace scrc::sandbox {
namespace {

// Without cgroups the sandbox still runs: limits come from rlimits and the
// PID namespace kills the tree. Every call succeeds and measures nothing.
class BoxCgroupNone : public BoxCgroup {
 public:
  absl::Status Prepare(int64_t, int64_t) override { return absl::OkStatus(); }
  absl::Status ResetCounters() override { return absl::OkStatus(); }
  int clone_into_fd() const override { return -1; }
  absl::Status Attach(pid_t) override { return absl::OkStatus(); }
  absl::StatusOr<CgroupUsage> Usage() override { return CgroupUsage(); }
  absl::Status KillAll() override { return absl::OkStatus(); }
};

class CgroupsNone : public Cgroups {
 public:
  explicit CgroupsNone(std::vector<std::string> notes) {
    caps_.notes = std::move(notes);
    caps_.notes.push_back(
        "no writable cgroup hierarchy: memory limit falls back to RLIMIT_AS, "
        "pids to RLIMIT_NPROC, CPU time to RLIMIT_CPU of the main process "
        "only; peak memory and OOM kills are not measured; the box's tree is "
        "killed through its PID namespace");
  }
  const CgroupCapabilities& capabilities() const override { return caps_; }
  absl::StatusOr<std::unique_ptr<BoxCgroup>> CreateBox(
      const std::string&) override {
    return std::make_unique<BoxCgroupNone>();
  }

 private:
  CgroupCapabilities caps_;
};

int Score(const Cgroups& c) {
  return c.capabilities().memory + c.capabilities().pids;
}

template <typename T>
void AddNotes(T* cgroups, const std::vector<std::string>& notes) {
  for (const std::string& note : notes) cgroups->AddNote(note);
}

}  // namespace

std::unique_ptr<Cgroups> Cgroups::Detect(const std::string& parent_override) {
  std::vector<std::string> notes;
  absl::StatusOr<std::string> self = ReadCgroupFile("/proc/self/cgroup");
  absl::StatusOr<std::string> mountinfo =
      ReadCgroupFile("/proc/self/mountinfo");
  if (!self.ok() || !mountinfo.ok()) {
    notes.push_back(std::string(
        (!self.ok() ? self.status() : mountinfo.status()).message()));
    return std::make_unique<CgroupsNone>(std::move(notes));
  }
  const std::vector<ProcCgroup> procs = ParseProcCgroup(*self);
  const std::vector<CgroupMount> mounts = ParseCgroupMounts(*mountinfo);

  // Default: a new child of the cgroup we start in, named after us, so two
  // runners never share one and a crashed runner's leftovers are known ours.
  const bool own_existing = parent_override.empty();
  auto parent_dir = [&](const CgroupHierarchy& h, absl::string_view what) {
    if (parent_override.empty()) {
      return absl::StrCat(h.dir, "/scrc-", getpid());
    }
    std::string dir = CgroupDirectory(h.mount, parent_override);
    if (dir.empty()) {
      notes.push_back(absl::StrCat(what, ": cgroup ", parent_override,
                                   " is not visible under ",
                                   h.mount.mount_point));
    }
    return dir;
  };

  // Our parents are children of the start cgroup: so are those of runners
  // killed before they could remove theirs.
  std::vector<std::string> swept;  // said whichever hierarchy is chosen
  auto sweep = [&](const CgroupHierarchy& h) {
    if (!parent_override.empty()) return;
    for (const std::string& dir : SweepStaleCgroups(h.dir)) {
      swept.push_back(
          absl::StrCat("removed ", dir, ", left by a runner that was killed"));
    }
  };

  std::unique_ptr<CgroupsV2> v2;
  const absl::StatusOr<CgroupHierarchy> v2_hierarchy =
      FindV2Hierarchy(procs, mounts);
  if (v2_hierarchy.ok()) sweep(*v2_hierarchy);
  if (!v2_hierarchy.ok()) {
    notes.push_back(std::string(v2_hierarchy.status().message()));
  } else if (std::string dir = parent_dir(*v2_hierarchy, "cgroup v2");
             !dir.empty()) {
    // An operator-given parent is prepared for us; our own child of the
    // start cgroup may need the start cgroup's controllers enabled.
    absl::StatusOr<std::unique_ptr<CgroupsV2>> c = CgroupsV2::Create(
        {.parent_dir = dir,
         .own_existing = own_existing,
         .start_dir =
             parent_override.empty() ? v2_hierarchy->dir : std::string()});
    if (!c.ok()) {
      notes.push_back(absl::StrCat("cgroup v2: ", c.status().message()));
    } else if (Score(**c) == 2) {
      AddNotes(c->get(), swept);
      return *std::move(c);
    } else {
      v2 = *std::move(c);
      for (const std::string& note : v2->capabilities().notes) {
        notes.push_back(absl::StrCat("cgroup v2: ", note));
      }
    }
  }

  CgroupV1Options options{.own_existing = own_existing};
  for (auto [controller, field, home] :
       {std::tuple{"memory", &options.memory_parent, &options.homes.memory},
        std::tuple{"pids", &options.pids_parent, &options.homes.pids},
        std::tuple{"cpuacct", &options.cpuacct_parent,
                   &options.homes.cpuacct}}) {
    absl::StatusOr<CgroupHierarchy> h =
        FindV1Hierarchy(procs, mounts, controller);
    if (h.ok()) {
      sweep(*h);
      *field = parent_dir(*h, absl::StrCat("cgroup v1 ", controller));
      *home = h->dir;
    } else {
      notes.push_back(std::string(h.status().message()));
    }
  }
  std::unique_ptr<CgroupsV1> v1;
  if (!options.memory_parent.empty() || !options.pids_parent.empty() ||
      !options.cpuacct_parent.empty()) {
    absl::StatusOr<std::unique_ptr<CgroupsV1>> c = CgroupsV1::Create(options);
    if (c.ok()) {
      v1 = *std::move(c);
    } else {
      notes.push_back(std::string(c.status().message()));
    }
  }

  // Whichever enforces more; v2 on a tie (it kills and measures better).
  if (v1 != nullptr && (v2 == nullptr || Score(*v1) > Score(*v2))) {
    AddNotes(v1.get(), notes);
    AddNotes(v1.get(), swept);
    return v1;
  }
  if (v2 != nullptr) {
    AddNotes(v2.get(), swept);  // its own notes already say what it lacks
    return v2;
  }
  notes.insert(notes.end(), swept.begin(), swept.end());
  return std::make_unique<CgroupsNone>(std::move(notes));
}

}  // namespace scrc::sandbox
