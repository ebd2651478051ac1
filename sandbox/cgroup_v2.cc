#include "sandbox/cgroup_v2.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "sandbox/cgroup_stale.h"
#include "sandbox/cgroup_v2_kill.h"
#include "sandbox/unique_fd.h"

namespace scrc::sandbox {
namespace {

constexpr absl::Duration kKillTimeout = absl::Seconds(5);

// memory.peak, opened so that "reset" starts a run's watermark from zero
// (kernel 6.12+). Before 6.12 the file is read-only, yet root still opens
// it for writing (DAC override) and only the write fails, with EINVAL: so
// the test is a write.
absl::StatusOr<CgroupFile> OpenResettablePeak(const std::string& path) {
  absl::StatusOr<CgroupFile> file = CgroupFile::Open(path, O_RDWR);
  if (!file.ok()) return file.status();
  if (absl::Status status = file->Write("reset"); !status.ok()) return status;
  return file;
}

class BoxCgroupV2 : public BoxCgroup {
 public:
  BoxCgroupV2(std::string dir, bool memory, bool pids, bool use_kill,
              bool recreate_each_run)
      : dir_(std::move(dir)),
        memory_(memory),
        pids_(pids),
        use_kill_(use_kill),
        recreate_each_run_(recreate_each_run) {}

  ~BoxCgroupV2() override {
    if (events_.is_open()) KillAll().IgnoreError();
    CloseFiles();
    rmdir(dir_.c_str());
  }

  // Makes the cgroup (taking over a stale one of the same name) and opens
  // the files every run touches.
  absl::Status Open() {
    absl::Status status = MakeDir();
    if (!status.ok()) return status;
    return OpenFiles();
  }

  absl::Status Prepare(int64_t memory_bytes, int64_t pids) override {
    absl::Status status;
    if (recreate_each_run_) {
      // The only way to reset memory.peak before kernel 6.12.
      CloseFiles();
      if (rmdir(dir_.c_str()) != 0) return CgroupErrno(errno, "rmdir", dir_);
      status = Open();
      if (!status.ok()) return status;
    }
    if (memory_) {
      status = memory_max_.Write(memory_bytes > 0 ? absl::StrCat(memory_bytes)
                                                  : "max");
      if (!status.ok()) return status;
    }
    if (pids_) {
      status = pids_max_.Write(pids > 0 ? absl::StrCat(pids) : "max");
      if (!status.ok()) return status;
    }
    return absl::OkStatus();
  }

  absl::Status ResetCounters() override {
    if (memory_) {
      // 6.12+: resets the watermark for reads through this fd only, so
      // nobody else's reader is disturbed.
      if (peak_per_fd_) {
        absl::Status status = memory_peak_.Write("reset");
        if (!status.ok()) return status;
      }
      absl::StatusOr<int64_t> ooms = OomKills();
      if (!ooms.ok()) return ooms.status();
      oom_kills0_ = *ooms;
    }
    if (pids_) {
      absl::StatusOr<int64_t> hits = pids_events_.ReadKey("max");
      if (!hits.ok()) return hits.status();
      pids_hits0_ = *hits;
    }
    absl::StatusOr<int64_t> usec = cpu_stat_.ReadKey("usage_usec");
    if (!usec.ok()) return usec.status();
    cpu_usec0_ = *usec;
    return absl::OkStatus();
  }

  int clone_into_fd() const override { return dir_fd_.get(); }

  absl::Status Attach(pid_t pid) override {
    return procs_.Write(absl::StrCat(pid));
  }

  absl::StatusOr<CgroupUsage> Usage() override {
    CgroupUsage usage;
    absl::StatusOr<int64_t> usec = cpu_stat_.ReadKey("usage_usec");
    if (!usec.ok()) return usec.status();
    usage.cpu_time = absl::Microseconds(*usec - cpu_usec0_);
    if (memory_) {
      if (memory_peak_.is_open()) {
        absl::StatusOr<int64_t> peak = memory_peak_.ReadInt64();
        if (!peak.ok()) return peak.status();
        usage.peak_memory_bytes = *peak;
      }
      absl::StatusOr<int64_t> ooms = OomKills();
      if (!ooms.ok()) return ooms.status();
      usage.oom_killed = *ooms > oom_kills0_;
    }
    if (pids_) {
      absl::StatusOr<int64_t> hits = pids_events_.ReadKey("max");
      if (!hits.ok()) return hits.status();
      usage.pids_limit_hit = *hits > pids_hits0_;
    }
    return usage;
  }

  absl::Status KillAll() override {
    return KillCgroupV2With(dir_, kill_, events_, kKillTimeout);
  }

 private:
  absl::Status MakeDir() {
    if (mkdir(dir_.c_str(), 0755) == 0) return absl::OkStatus();
    if (errno != EEXIST) return CgroupErrno(errno, "mkdir", dir_);
    // Left by a runner that crashed: its processes die, the cgroup is
    // remade so no counter or setting of the old one carries over.
    absl::Status status = KillCgroupV2(dir_, kKillTimeout);
    if (!status.ok()) return status;
    if (rmdir(dir_.c_str()) != 0) {
      return CgroupErrno(errno, "rmdir stale box cgroup", dir_);
    }
    if (mkdir(dir_.c_str(), 0755) != 0)
      return CgroupErrno(errno, "mkdir", dir_);
    return absl::OkStatus();
  }

  absl::Status OpenFiles() {
    dir_fd_.reset(open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dir_fd_.valid()) return CgroupErrno(errno, "open", dir_);
    absl::Status status;
    auto open_file = [&](const char* name, int flags, CgroupFile* file) {
      if (!status.ok()) return;
      absl::StatusOr<CgroupFile> f =
          CgroupFile::Open(absl::StrCat(dir_, "/", name), flags);
      if (f.ok()) {
        *file = *std::move(f);
      } else {
        status = f.status();
      }
    };
    open_file("cgroup.procs", O_WRONLY, &procs_);
    open_file("cgroup.events", O_RDONLY, &events_);
    open_file("cpu.stat", O_RDONLY, &cpu_stat_);
    if (memory_) {
      open_file("memory.max", O_WRONLY, &memory_max_);
      open_file("memory.events", O_RDONLY, &memory_events_);
    }
    if (pids_) {
      open_file("pids.max", O_WRONLY, &pids_max_);
      open_file("pids.events", O_RDONLY, &pids_events_);
    }
    if (!status.ok()) return status;
    if (use_kill_) {
      status = OpenOptionalCgroupFile(absl::StrCat(dir_, "/cgroup.kill"),
                                      O_WRONLY, &kill_);
      if (!status.ok()) return status;
    }
    if (!memory_) return absl::OkStatus();
    // The whole box dies on OOM (a half-killed program is a confusing
    // verdict), and swap is no way around the memory limit.
    status = WriteCgroupFile(absl::StrCat(dir_, "/memory.oom.group"), "1");
    if (!status.ok()) return status;
    status = WriteCgroupFile(absl::StrCat(dir_, "/memory.swap.max"), "0");
    if (!status.ok() && !absl::IsNotFound(status)) return status;
    // memory.peak: writable (reset per fd) on 6.12+, read-only on 5.19+.
    const std::string peak = absl::StrCat(dir_, "/memory.peak");
    peak_per_fd_ = false;
    if (!recreate_each_run_) {
      absl::StatusOr<CgroupFile> f = OpenResettablePeak(peak);
      if (f.ok()) {
        memory_peak_ = *std::move(f);
        peak_per_fd_ = true;
        return absl::OkStatus();
      }
    }
    status = OpenOptionalCgroupFile(peak, O_RDONLY, &memory_peak_);
    if (!status.ok()) return status;
    // Read-only memory.peak: only a fresh cgroup starts from zero.
    if (memory_peak_.is_open()) recreate_each_run_ = true;
    return absl::OkStatus();
  }

  void CloseFiles() {
    for (CgroupFile* f :
         {&procs_, &events_, &kill_, &cpu_stat_, &memory_max_, &memory_peak_,
          &memory_events_, &pids_max_, &pids_events_}) {
      f->Close();
    }
    dir_fd_.reset();
  }

  // Counted per killed task and per group kill; either going up means the
  // OOM killer ran in this box.
  absl::StatusOr<int64_t> OomKills() const {
    absl::StatusOr<std::string> text = memory_events_.Read();
    if (!text.ok()) return text.status();
    int64_t kills = 0, group_kills = 0;
    FindCgroupKey(*text, "oom_kill", &kills);
    FindCgroupKey(*text, "oom_group_kill", &group_kills);
    return kills + group_kills;
  }

  const std::string dir_;
  const bool memory_;
  const bool pids_;
  const bool use_kill_;
  bool recreate_each_run_;
  bool peak_per_fd_ = false;
  UniqueFd dir_fd_;
  CgroupFile procs_, events_, kill_, cpu_stat_;
  CgroupFile memory_max_, memory_peak_, memory_events_;
  CgroupFile pids_max_, pids_events_;
  int64_t cpu_usec0_ = 0;
  int64_t oom_kills0_ = 0;
  int64_t pids_hits0_ = 0;
};

}  // namespace

CgroupsV2::CgroupsV2(const CgroupV2Options& options) : options_(options) {}

absl::StatusOr<std::unique_ptr<CgroupsV2>> CgroupsV2::Create(
    const CgroupV2Options& options) {
  std::unique_ptr<CgroupsV2> cgroups(new CgroupsV2(options));
  absl::Status status = cgroups->Init();
  if (!status.ok()) return status;  // the destructor undoes what Init did
  return cgroups;
}

absl::Status CgroupsV2::Init() {
  const std::string& dir = options_.parent_dir;
  if (mkdir(dir.c_str(), 0755) == 0) {
    owned_ = true;
    // Our own child of the start cgroup: swept if we die unable to remove it.
    if (options_.own_existing) MarkCgroupMaker(dir);
  } else if (errno == EEXIST) {
    owned_ = options_.own_existing;
  } else {
    return CgroupErrno(errno, "mkdir", dir);
  }
  caps_.version = 2;
  caps_.parent = dir;
  std::vector<std::string> wanted = options_.extra_controllers;
  if (options_.memory) wanted.push_back("memory");
  if (options_.pids) wanted.push_back("pids");
  if (!options_.start_dir.empty()) {
    absl::StatusOr<std::unique_ptr<V2Delegation>> d =
        V2Delegation::Enable(options_.start_dir, dir, wanted);
    if (d.ok()) {
      delegation_ = *std::move(d);
    } else {
      caps_.notes.push_back(std::string(d.status().message()));
    }
  }
  absl::StatusOr<std::string> offered =
      ReadCgroupFile(absl::StrCat(dir, "/cgroup.controllers"));
  if (!offered.ok()) return offered.status();
  const std::string subtree = absl::StrCat(dir, "/cgroup.subtree_control");
  absl::StatusOr<std::string> enabled = ReadCgroupFile(subtree);
  if (!enabled.ok()) return enabled.status();
  // scrc's parent never holds a process, so it may enable controllers for
  // its children.
  for (const std::string& name : wanted) {
    if (!HasWord(*offered, name)) {
      caps_.notes.push_back(absl::StrCat(
          name, ": controller not offered to ", dir,
          " (its parent's "
          "cgroup.subtree_control lacks it; systemd: Delegate=yes)"));
      continue;
    }
    if (HasWord(*enabled, name)) continue;
    absl::Status status = WriteCgroupFile(subtree, absl::StrCat("+", name));
    if (status.ok()) {
      enabled_.push_back(name);
    } else {
      caps_.notes.push_back(absl::StrCat(name, ": ", status.message()));
    }
  }
  absl::StatusOr<std::string> now = ReadCgroupFile(subtree);
  if (!now.ok()) return now.status();
  caps_.memory = options_.memory && HasWord(*now, "memory");
  caps_.pids = options_.pids && HasWord(*now, "pids");
  caps_.cpu_accounting = PathExists(absl::StrCat(dir, "/cpu.stat"));
  caps_.kill = PathExists(absl::StrCat(dir, "/cgroup.kill"));
  if (!caps_.kill) {
    caps_.notes.push_back(
        "cgroup.kill missing (kernel < 5.14): boxes are killed by freezing "
        "them and signalling each process");
  }
  caps_.clone_into = CloneIntoCgroupSupported();
  if (caps_.kill && caps_.clone_into && KillPoisonsCloneInto(dir)) {
    caps_.kill = false;
    caps_.notes.push_back(
        "cgroup.kill not used: this kernel SIGKILLs every child cloned "
        "later into a cgroup that was once killed (fixed upstream by "
        "\"cgroup: fix spurious SIGKILL of CLONE_INTO_CGROUP children\"); "
        "boxes are killed by freezing them and signalling each process");
  }
  if (!caps_.clone_into) {
    caps_.notes.push_back(
        "clone3(CLONE_INTO_CGROUP) unavailable (kernel < 5.7 or filtered): "
        "boxes are attached after clone");
  }
  if (caps_.memory) {
    const std::string peak = absl::StrCat(dir, "/memory.peak");
    caps_.memory_peak = PathExists(peak);
    if (!caps_.memory_peak) {
      caps_.notes.push_back(
          "memory.peak missing (kernel < 5.19): peak memory not measured");
    } else if (options_.recreate_each_run || !OpenResettablePeak(peak).ok()) {
      caps_.notes.push_back(
          "memory.peak cannot be reset (kernel < 6.12): box cgroups are "
          "recreated before each run");
    }
  }
  return absl::OkStatus();
}

CgroupsV2::~CgroupsV2() {
  const std::string& dir = options_.parent_dir;
  std::vector<std::string> children;
  if (owned_) {
    // Everything below a parent we own is ours, stale boxes included.
    children = ChildCgroups(dir);
  } else {
    children = boxes_.All();
  }
  for (const std::string& name : children) {
    if (delegation_ != nullptr && name == kRunnerCgroup) continue;  // us
    const std::string box = absl::StrCat(dir, "/", name);
    if (!PathExists(box)) continue;
    KillCgroupV2(box, kKillTimeout).IgnoreError();
    rmdir(box.c_str());
  }
  // Undo in reverse: our parent's controllers, then the start cgroup's
  // (which the kernel refuses while a child still uses them), then scrc
  // moves back to where it started.
  const std::string subtree = absl::StrCat(dir, "/cgroup.subtree_control");
  for (const std::string& name : enabled_) {
    WriteCgroupFile(subtree, absl::StrCat("-", name)).IgnoreError();
  }
  delegation_.reset();
  if (owned_) rmdir(dir.c_str());
}

absl::StatusOr<std::unique_ptr<BoxCgroup>> CgroupsV2::CreateBox(
    const std::string& name) {
  if (absl::Status s = BoxNames::Check(name); !s.ok()) return s;
  auto box = std::make_unique<BoxCgroupV2>(
      absl::StrCat(options_.parent_dir, "/", name), caps_.memory, caps_.pids,
      caps_.kill, options_.recreate_each_run);
  absl::Status status = box->Open();
  if (!status.ok()) return status;
  boxes_.Add(name);
  return box;
}

}  // namespace scrc::sandbox
