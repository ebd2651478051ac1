#include "sandbox/cgroup_v1.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "sandbox/cgroup_files.h"
#include "sandbox/cgroup_stale.h"

namespace scrc::sandbox {
namespace {

constexpr absl::Duration kKillTimeout = absl::Seconds(5);
constexpr int64_t kUnlimited = std::numeric_limits<int64_t>::max();

// A box's cgroup in one hierarchy, and the runner's own cgroup there.
struct BoxDir {
  std::string dir;
  std::string home;         // empty: unknown, the init is attached instead
  CgroupFile procs, tasks;  // of dir
  CgroupFile home_tasks;
};

class BoxCgroupV1 : public BoxCgroup {
 public:
  BoxCgroupV1(const CgroupV1Homes& homes, std::string memory_dir,
              std::string pids_dir, std::string cpuacct_dir)
      : memory_dir_(std::move(memory_dir)),
        pids_dir_(std::move(pids_dir)),
        cpuacct_dir_(std::move(cpuacct_dir)) {
    auto add = [this](const std::string& dir, const std::string& home) {
      if (dir.empty()) return;
      for (const BoxDir& d : hierarchies_) {
        if (d.dir == dir) return;  // co-mounted with one added before
      }
      hierarchies_.push_back(BoxDir{.dir = dir, .home = home});
    };
    add(memory_dir_, homes.memory);
    add(pids_dir_, homes.pids);
    add(cpuacct_dir_, homes.cpuacct);
  }

  ~BoxCgroupV1() override {
    KillAll().IgnoreError();
    const std::vector<std::string> dirs = Dirs();
    hierarchies_.clear();  // closes their files first
    for (const std::string& dir : dirs) rmdir(dir.c_str());
  }

  // Makes the cgroup in every hierarchy (taking over stale ones) and opens
  // the files every run touches.
  absl::Status Open() {
    for (BoxDir& h : hierarchies_) {
      absl::Status status = MakeDir(h.dir);
      if (!status.ok()) return status;
      absl::StatusOr<CgroupFile> procs =
          CgroupFile::Open(absl::StrCat(h.dir, "/cgroup.procs"), O_WRONLY);
      if (!procs.ok()) return procs.status();
      h.procs = *std::move(procs);
      // Without both tasks files, the init is attached after clone.
      absl::StatusOr<CgroupFile> tasks =
          CgroupFile::Open(absl::StrCat(h.dir, "/tasks"), O_WRONLY);
      absl::StatusOr<CgroupFile> home_tasks =
          h.home.empty()
              ? absl::NotFoundError("no home")
              : CgroupFile::Open(absl::StrCat(h.home, "/tasks"), O_WRONLY);
      if (tasks.ok() && home_tasks.ok()) {
        h.tasks = *std::move(tasks);
        h.home_tasks = *std::move(home_tasks);
      } else {
        can_enter_ = false;
      }
    }
    absl::Status status;
    auto open_file = [&](const std::string& dir, const char* name, int flags,
                         CgroupFile* file, bool optional = false) {
      if (!status.ok()) return;
      absl::StatusOr<CgroupFile> f =
          CgroupFile::Open(absl::StrCat(dir, "/", name), flags);
      if (f.ok()) {
        *file = *std::move(f);
      } else if (!optional || !absl::IsNotFound(f.status())) {
        status = f.status();
      }
    };
    if (!memory_dir_.empty()) {
      open_file(memory_dir_, "memory.limit_in_bytes", O_WRONLY, &limit_);
      // Present only with swap accounting (swapaccount=1).
      open_file(memory_dir_, "memory.memsw.limit_in_bytes", O_WRONLY, &memsw_,
                true);
      open_file(memory_dir_, "memory.max_usage_in_bytes", O_RDWR, &max_usage_);
      open_file(memory_dir_, "memory.oom_control", O_RDONLY, &oom_control_);
      open_file(memory_dir_, "memory.failcnt", O_RDONLY, &failcnt_);
    }
    if (!pids_dir_.empty()) {
      open_file(pids_dir_, "pids.max", O_WRONLY, &pids_max_);
      open_file(pids_dir_, "pids.events", O_RDONLY, &pids_events_, true);
    }
    if (!cpuacct_dir_.empty()) {
      open_file(cpuacct_dir_, "cpuacct.usage", O_RDWR, &cpu_usage_);
    }
    return status;
  }

  absl::Status Prepare(int64_t memory_bytes, int64_t pids) override {
    if (!memory_dir_.empty()) {
      absl::Status status =
          SetMemoryLimit(memory_bytes > 0 ? memory_bytes : kUnlimited);
      if (!status.ok()) return status;
    }
    if (!pids_dir_.empty()) {
      absl::Status status =
          pids_max_.Write(pids > 0 ? absl::StrCat(pids) : "max");
      if (!status.ok()) return status;
    }
    return absl::OkStatus();
  }

  absl::Status ResetCounters() override {
    if (!memory_dir_.empty()) {
      // Any write resets the watermark to the current usage.
      absl::Status status = max_usage_.Write("0");
      if (!status.ok()) return status;
      absl::StatusOr<int64_t> ooms = OomCount();
      if (!ooms.ok()) return ooms.status();
      ooms0_ = *ooms;
    }
    if (!pids_dir_.empty()) {
      absl::StatusOr<int64_t> hits = PidsHits();
      if (!hits.ok()) return hits.status();
      pids_hits0_ = *hits;
    }
    if (!cpuacct_dir_.empty()) {
      absl::Status status = cpu_usage_.Write("0");
      if (!status.ok()) return status;
    }
    return absl::OkStatus();
  }

  int clone_into_fd() const override { return -1; }

  absl::Status Attach(pid_t pid) override {
    const std::string text = absl::StrCat(pid);
    for (const BoxDir& h : hierarchies_) {
      absl::Status status = h.procs.Write(text);
      if (!status.ok()) return status;
    }
    return absl::OkStatus();
  }

  // "0" in a v1 tasks file moves the writing thread alone, which recent
  // kernels (here 6.18) do without taking cgroup_threadgroup_rwsem for
  // writing: no RCU grace period. Older ones take it, as Attach() does.
  bool EnterThread() override {
    if (!can_enter_) return false;
    for (size_t i = 0; i < hierarchies_.size(); ++i) {
      if (!hierarchies_[i].tasks.Write("0").ok()) {
        can_enter_ = false;  // e.g. EACCES: attach from now on
        Leave(i);
        return false;
      }
    }
    return true;
  }

  void LeaveThread() override { Leave(hierarchies_.size()); }

  absl::StatusOr<CgroupUsage> Usage() override {
    CgroupUsage usage;
    if (!cpuacct_dir_.empty()) {
      absl::StatusOr<int64_t> ns = cpu_usage_.ReadInt64();
      if (!ns.ok()) return ns.status();
      usage.cpu_time = absl::Nanoseconds(*ns);
    }
    if (!memory_dir_.empty()) {
      absl::StatusOr<int64_t> peak = max_usage_.ReadInt64();
      if (!peak.ok()) return peak.status();
      usage.peak_memory_bytes = *peak;
      absl::StatusOr<int64_t> ooms = OomCount();
      if (!ooms.ok()) return ooms.status();
      usage.oom_killed = *ooms > ooms0_;
    }
    if (!pids_dir_.empty()) {
      absl::StatusOr<int64_t> hits = PidsHits();
      if (!hits.ok()) return hits.status();
      usage.pids_limit_hit = *hits > pids_hits0_;
    }
    return usage;
  }

  absl::Status KillAll() override { return KillCgroupV1(Dirs(), kKillTimeout); }

 private:
  // Moves the calling thread home in the first `entered` hierarchies. A
  // runner thread left in a box's cgroup would count against the box's
  // limits and be killed with it: not a state to go on from.
  void Leave(size_t entered) {
    for (size_t i = 0; i < entered; ++i) {
      absl::Status status = hierarchies_[i].home_tasks.Write("0");
      if (!status.ok()) {
        std::fprintf(stderr,
                     "scrc: cannot move a runner thread out of box cgroup "
                     "%s: %s\n",
                     hierarchies_[i].dir.c_str(),
                     std::string(status.message()).c_str());
        std::abort();
      }
    }
  }

  static absl::Status MakeDir(const std::string& dir) {
    if (mkdir(dir.c_str(), 0755) == 0) return absl::OkStatus();
    if (errno != EEXIST) return CgroupErrno(errno, "mkdir", dir);
    // Left by a runner that crashed: its processes die, the cgroup is
    // remade so no counter or limit of the old one carries over.
    absl::Status status = KillCgroupV1({dir}, kKillTimeout);
    if (!status.ok()) return status;
    if (rmdir(dir.c_str()) != 0) {
      return CgroupErrno(errno, "rmdir stale box cgroup", dir);
    }
    if (mkdir(dir.c_str(), 0755) != 0) return CgroupErrno(errno, "mkdir", dir);
    return absl::OkStatus();
  }

  // memory.memsw.limit_in_bytes (memory + swap) may never be below
  // memory.limit_in_bytes, so the order of the two writes depends on
  // whether the limit goes up or down.
  absl::Status SetMemoryLimit(int64_t bytes) {
    const std::string text = bytes == kUnlimited ? "-1" : absl::StrCat(bytes);
    const bool raise = bytes > limit_bytes_;
    absl::Status status;
    if (raise && memsw_.is_open()) status = memsw_.Write(text);
    if (status.ok()) status = limit_.Write(text);
    if (status.ok() && !raise && memsw_.is_open()) status = memsw_.Write(text);
    if (!status.ok()) {
      limit_bytes_ = -1;  // unknown now: the next call raises memsw first
      return status;
    }
    limit_bytes_ = bytes;
    return absl::OkStatus();
  }

  // memory.oom_control counts OOM kills since 4.13; before that, hitting
  // the limit (failcnt) is the closest sign, though reclaim may have saved
  // the run.
  absl::StatusOr<int64_t> OomCount() const {
    absl::StatusOr<std::string> text = oom_control_.Read();
    if (!text.ok()) return text.status();
    int64_t kills = 0;
    if (FindCgroupKey(*text, "oom_kill", &kills)) return kills;
    return failcnt_.ReadInt64();
  }

  absl::StatusOr<int64_t> PidsHits() const {
    if (!pids_events_.is_open()) return 0;
    return pids_events_.ReadKey("max");
  }

  std::vector<std::string> Dirs() const {
    std::vector<std::string> dirs;
    for (const BoxDir& h : hierarchies_) dirs.push_back(h.dir);
    return dirs;
  }

  const std::string memory_dir_, pids_dir_, cpuacct_dir_;
  std::vector<BoxDir> hierarchies_;
  bool can_enter_ = true;
  CgroupFile limit_, memsw_, max_usage_, oom_control_, failcnt_;
  CgroupFile pids_max_, pids_events_;
  CgroupFile cpu_usage_;
  int64_t limit_bytes_ = kUnlimited;  // what limit_ holds now
  int64_t ooms0_ = 0;
  int64_t pids_hits0_ = 0;
};

}  // namespace

absl::Status KillCgroupV1(const std::vector<std::string>& dirs,
                          absl::Duration timeout) {
  // v1 has no cgroup.kill and no "populated" event: signal what is listed,
  // look again, until every list is empty. A fork racing a kill shows up in
  // the next round; the pids limit bounds how many rounds that takes.
  const absl::Time deadline = absl::Now() + timeout;
  const pid_t self = getpid();
  absl::Duration nap = absl::Microseconds(100);
  for (;;) {
    bool empty = true;
    for (const std::string& dir : dirs) {
      // A fresh open each round: v1 caches the pid list of an open file.
      absl::StatusOr<std::string> text =
          ReadCgroupFile(absl::StrCat(dir, "/cgroup.procs"));
      if (!text.ok()) return text.status();
      for (pid_t pid : ParsePidList(*text)) {
        empty = false;
        // A runner thread is never left in a box's cgroup (LeaveThread);
        // if one were, the runner must not kill itself with the box.
        if (pid != self) kill(pid, SIGKILL);
      }
    }
    if (empty) return absl::OkStatus();
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          "kill processes of ", absl::StrJoin(dirs, ", "), ": still alive ",
          "after ", absl::FormatDuration(timeout),
          " (stuck in uninterruptible sleep?)"));
    }
    absl::SleepFor(nap);
    nap = std::min(nap * 2, absl::Milliseconds(10));
  }
}

absl::StatusOr<std::unique_ptr<CgroupsV1>> CgroupsV1::Create(
    const CgroupV1Options& options) {
  std::unique_ptr<CgroupsV1> cgroups(new CgroupsV1());
  absl::Status status = cgroups->Init(options);
  if (!status.ok()) return status;  // the destructor undoes what Init did
  return cgroups;
}

std::string CgroupsV1::MakeParent(const std::string& controller,
                                  const std::string& dir, bool own_existing) {
  if (dir.empty()) return "";  // not mounted: the caller says why
  for (const Parent& p : parents_) {
    if (p.dir == dir) return dir;  // co-mounted with a controller done before
  }
  Parent parent{dir, true};
  if (mkdir(dir.c_str(), 0755) != 0) {
    if (errno != EEXIST) {
      caps_.notes.push_back(absl::StrCat(
          controller, ": ", CgroupErrno(errno, "mkdir", dir).message()));
      return "";
    }
    parent.owned = own_existing;
  } else if (own_existing) {
    // Our own child of the start cgroup: swept if we die unable to remove it.
    MarkCgroupMaker(dir);
  }
  parents_.push_back(parent);
  return dir;
}

absl::Status CgroupsV1::Init(const CgroupV1Options& options) {
  memory_dir_ =
      MakeParent("memory", options.memory_parent, options.own_existing);
  pids_dir_ = MakeParent("pids", options.pids_parent, options.own_existing);
  cpuacct_dir_ =
      MakeParent("cpuacct", options.cpuacct_parent, options.own_existing);
  if (parents_.empty()) {
    return absl::UnavailableError(absl::StrCat(
        "cgroup v1: no usable controller", caps_.notes.empty() ? "" : ": ",
        absl::StrJoin(caps_.notes, "; ")));
  }
  if (!memory_dir_.empty()) {
    // Old kernels default to flat accounting: the limit of the box must
    // cover the processes of its children too.
    const std::string hierarchy =
        absl::StrCat(memory_dir_, "/memory.use_hierarchy");
    absl::StatusOr<std::string> text = ReadCgroupFile(hierarchy);
    if (text.ok() && text->starts_with("0")) {
      WriteCgroupFile(hierarchy, "1").IgnoreError();
    }
    if (!PathExists(
            absl::StrCat(memory_dir_, "/memory.memsw.limit_in_bytes"))) {
      caps_.notes.push_back(
          "memory: no memory.memsw.limit_in_bytes (swap accounting off, boot "
          "with swapaccount=1): swap is not limited");
    }
  }
  homes_ = options.homes;
  caps_.version = 1;
  caps_.memory = caps_.memory_peak = !memory_dir_.empty();
  caps_.pids = !pids_dir_.empty();
  caps_.cpu_accounting = !cpuacct_dir_.empty();
  std::vector<std::string> where;
  if (caps_.memory) where.push_back(absl::StrCat("memory:", memory_dir_));
  if (caps_.pids) where.push_back(absl::StrCat("pids:", pids_dir_));
  if (caps_.cpu_accounting)
    where.push_back(absl::StrCat("cpuacct:", cpuacct_dir_));
  caps_.parent = absl::StrJoin(where, " ");
  caps_.notes.push_back(
      "cgroup v1: no cgroup.kill (boxes are killed by signalling each "
      "listed process) and no CLONE_INTO_CGROUP (the thread that clones a "
      "box's init steps into the box's cgroups for the clone)");
  return absl::OkStatus();
}

CgroupsV1::~CgroupsV1() {
  const std::vector<std::string> boxes = boxes_.All();
  for (const Parent& parent : parents_) {
    // Everything below a parent we own is ours, stale boxes included.
    const std::vector<std::string> children =
        parent.owned ? ChildCgroups(parent.dir) : boxes;
    for (const std::string& name : children) {
      const std::string box = absl::StrCat(parent.dir, "/", name);
      if (!PathExists(box)) continue;
      KillCgroupV1({box}, kKillTimeout).IgnoreError();
      rmdir(box.c_str());
    }
    if (parent.owned) rmdir(parent.dir.c_str());
  }
}

absl::StatusOr<std::unique_ptr<BoxCgroup>> CgroupsV1::CreateBox(
    const std::string& name) {
  if (absl::Status s = BoxNames::Check(name); !s.ok()) return s;
  auto in = [&](const std::string& parent) {
    return parent.empty() ? std::string() : absl::StrCat(parent, "/", name);
  };
  auto box = std::make_unique<BoxCgroupV1>(homes_, in(memory_dir_),
                                           in(pids_dir_), in(cpuacct_dir_));
  absl::Status status = box->Open();
  if (!status.ok()) return status;
  boxes_.Add(name);
  return box;
}

}  // namespace scrc::sandbox
