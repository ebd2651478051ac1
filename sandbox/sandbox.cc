#include "sandbox/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <sys/capability.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <deque>
#include <map>
#include <optional>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "sandbox/child.h"
#include "sandbox/host_root.h"
#include "sandbox/judge.h"
#include "sandbox/mount_plan.h"
#include "sandbox/namespaces.h"
#include "sandbox/seccomp_policy.h"
#include "sandbox/supervisor.h"

namespace scrc::sandbox {
namespace {

constexpr char kDefaultPath[] = "/usr/local/bin:/usr/bin:/bin";

// Identities of the directories a box binds by path.
std::vector<std::pair<dev_t, ino_t>> BoundDirs(const RunSpec& spec) {
  std::vector<std::pair<dev_t, ino_t>> out;
  for (const std::string* path : {&spec.box_dir, &spec.rootfs}) {
    struct stat st = {};
    if (!path->empty() && stat(path->c_str(), &st) == 0) {
      out.push_back({st.st_dev, st.st_ino});
    } else {
      out.push_back({0, 0});
    }
  }
  return out;
}

absl::Status Errno(absl::string_view what) {
  return absl::InternalError(absl::StrCat(what, ": ", strerror(errno)));
}

struct Pipe {
  UniqueFd read;
  UniqueFd write;
};

absl::StatusOr<Pipe> MakePipe() {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return Errno("pipe2");
  return Pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

rlimit Both(rlim_t value) { return {value, value}; }

// A cloned box init: built (or building) and waiting for its start byte, or
// started and not yet reaped.
struct LiveBox {
  SupervisedBox io;
  // The directories bound at spawn: a path that now names another
  // directory (a new box dir, a re-imported tree) needs a new box.
  std::vector<std::pair<dev_t, ino_t>> dirs;
  UniqueFd sync_w;  // one byte: the uid map is written; one more: start
  std::vector<std::string> warnings;  // limits this box cannot enforce
  BoxCgroup* cgroup = nullptr;
};

// Work for a slot's background thread: reap a box, or build one ahead.
struct BackgroundTask {
  std::optional<LiveBox> reap;
  std::optional<RunSpec> spawn;
  BoxCgroup* cgroup = nullptr;  // where to build it
};

// argv/envp for execve: pointers into strings the caller keeps alive.
std::vector<char*> CStrings(const std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (const std::string& s : strings) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

// execve does not search PATH; resolve argv[0] against the profile's PATH
// (not the runner's) here, where allocating is still allowed.
std::vector<std::string> ExecCandidates(const RunSpec& spec) {
  const std::string& program = spec.argv[0];
  if (program.find('/') != std::string::npos) return {program};
  std::string path = kDefaultPath;
  for (const std::string& var : spec.env) {
    if (absl::StartsWith(var, "PATH=")) path = var.substr(5);
  }
  std::vector<std::string> out;
  for (absl::string_view dir : absl::StrSplit(path, ':', absl::SkipEmpty())) {
    out.push_back(absl::StrCat(dir, "/", program));
  }
  return out;
}

class SandboxImpl : public Sandbox {
 public:
  SandboxImpl(const SandboxOptions& options, const CgroupCapabilities& caps)
      : options_(options), cgroup_caps_(caps) {}
  ~SandboxImpl() override;

  absl::Status Init(Cgroups* cgroups) {
    // A program that stops reading its stdin must not kill the runner.
    signal(SIGPIPE, SIG_IGN);
    rootless_ = geteuid() != 0;
    if (rootless_) {
      host_uid_ = geteuid();
      host_gid_ = getegid();
    } else {
      host_uid_ = options_.box_host_uid_base + options_.slot_index;
      host_gid_ = host_uid_;
    }
    if (!rootless_) {
      absl::StatusOr<UniqueFd> netns = CreateLoopbackNetns();
      if (!netns.ok()) return netns.status();
      netns_ = std::move(*netns);
      host_netns_.reset(open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC));
      if (!host_netns_.valid()) return Errno("open /proc/self/ns/net");
    }
    if (cgroup_caps_.version != 0) {
      // Two per slot: the next box is built in one while a program runs in
      // the other.
      for (int i = 0; i < 2; ++i) {
        absl::StatusOr<std::unique_ptr<BoxCgroup>> box = cgroups->CreateBox(
            absl::StrCat(options_.slot_name, i == 0 ? "" : "-next"));
        if (!box.ok()) return box.status();
        cgroups_[i] = std::move(*box);
      }
    }
    if (mkdir(options_.state_dir.c_str(), 0755) != 0 && errno != EEXIST) {
      return Errno(absl::StrCat("mkdir ", options_.state_dir));
    }
    absl::StatusOr<HostRoot> host = PrepareHostRoot(
        absl::StrCat(options_.state_dir, "/hostroot-", options_.slot_name));
    if (!host.ok()) return host.status();
    host_root_ = std::move(*host);
    no_caps_ = cap_init();
    if (no_caps_ == nullptr) return Errno("cap_init");
    cmdline_ = OwnCommandLine();
    background_ = std::thread([this] { Background(); });
    return absl::OkStatus();
  }

  uid_t box_host_uid() const override { return host_uid_; }
  gid_t box_host_gid() const override { return host_gid_; }

  absl::StatusOr<RunResult> Run(const RunSpec& spec) override;
  void AwaitEmpty() override;
  void DropPrepared() override;

 private:
  absl::StatusOr<const SeccompProgram*> Seccomp(
      const std::vector<std::string>& allow);
  std::vector<ChildRlimit> Rlimits(const Limits& limits,
                                   std::vector<std::string>* warnings) const;
  // Clones a box init for `spec` into `cgroup` (null: none), maps its ids
  // and lets it build the box; it then waits for the start byte.
  absl::StatusOr<LiveBox> Spawn(const RunSpec& spec, BoxCgroup* cgroup);
  // Kills the box's init, waits for it (the namespaces' teardown) and for
  // its cgroup to be empty.
  absl::Status Reap(LiveBox& box);
  // The slot's other cgroup: where the next box is built.
  BoxCgroup* Other(BoxCgroup* cgroup) const {
    return cgroup == cgroups_[0].get() ? cgroups_[1].get() : cgroups_[0].get();
  }
  void Enqueue(BackgroundTask task);
  void AwaitIdle();  // every queued task done
  // The background thread: reaps boxes, builds the next one, in order.
  void Background();

  SandboxOptions options_;
  CgroupCapabilities cgroup_caps_;
  bool rootless_ = false;
  uid_t host_uid_ = 0;
  gid_t host_gid_ = 0;
  UniqueFd netns_;       // reused by every run of this slot (root only)
  UniqueFd host_netns_;  // where the calling thread goes back to
  std::unique_ptr<BoxCgroup> cgroups_[2];  // both null without cgroups
  HostRoot host_root_;
  cap_t no_caps_ = nullptr;
  std::pair<char*, size_t> cmdline_ = {nullptr, 0};  // blanked in each box
  std::map<std::vector<std::string>, SeccompProgram> seccomp_cache_;

  // The background thread's queue. A queued reap empties a cgroup before a
  // later queued spawn puts the next box in it.
  absl::Mutex mu_;
  std::deque<BackgroundTask> tasks_ ABSL_GUARDED_BY(mu_);
  int busy_ ABSL_GUARDED_BY(mu_) = 0;    // tasks queued or running
  int spawns_ ABSL_GUARDED_BY(mu_) = 0;  // of which spawns
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status reap_status_ ABSL_GUARDED_BY(mu_);  // first failed reap
  std::optional<LiveBox> warm_ ABSL_GUARDED_BY(mu_);  // built, not started
  RunSpec warm_spec_ ABSL_GUARDED_BY(mu_);
  std::thread background_;
};

absl::StatusOr<const SeccompProgram*> SandboxImpl::Seccomp(
    const std::vector<std::string>& allow) {
  auto it = seccomp_cache_.find(allow);
  if (it == seccomp_cache_.end()) {
    absl::StatusOr<SeccompProgram> program = BuildSeccompProgram(allow);
    if (!program.ok()) return program.status();
    it = seccomp_cache_.emplace(allow, std::move(*program)).first;
  }
  return &it->second;
}

std::vector<ChildRlimit> SandboxImpl::Rlimits(
    const Limits& limits, std::vector<std::string>* warnings) const {
  std::vector<ChildRlimit> out = {
      {RLIMIT_CORE, Both(0)},
      {RLIMIT_FSIZE, Both(limits.file_size_bytes > 0 ? limits.file_size_bytes
                                                     : RLIM_INFINITY)},
      {RLIMIT_NOFILE, Both(limits.open_files > 0 ? limits.open_files : 1024)},
      {RLIMIT_STACK, Both(limits.stack_bytes > 0 ? limits.stack_bytes
                                                 : RLIM_INFINITY)},
      {RLIMIT_MEMLOCK, Both(0)},
      {RLIMIT_MSGQUEUE, Both(0)},
  };
  if (limits.cpu_time > absl::ZeroDuration()) {
    // A backstop per process; the tree's CPU time is watched by the parent
    // through the cgroup, to the millisecond.
    const rlim_t seconds = static_cast<rlim_t>(
        std::ceil(absl::ToDoubleSeconds(limits.cpu_time))) + 1;
    out.push_back({RLIMIT_CPU, {seconds, seconds + 1}});
    if (!cgroup_caps_.cpu_accounting) {
      warnings->push_back(
          "cpu time: no cgroup accounting; RLIMIT_CPU per process only "
          "(whole seconds, children not summed)");
    }
  }
  if (limits.pids > 0 && !cgroup_caps_.pids) {
    if (!rootless_) {
      // As root each slot has its own host uid, so RLIMIT_NPROC counts
      // exactly this box's processes.
      out.push_back({RLIMIT_NPROC, Both(limits.pids)});
    }
    warnings->push_back(rootless_
                            ? "pids: no pids cgroup and no uid of its own; "
                              "process count not limited"
                            : "pids: no pids cgroup; RLIMIT_NPROC instead");
  }
  if (limits.memory_bytes > 0 && !cgroup_caps_.memory) {
    out.push_back({RLIMIT_AS, Both(limits.memory_bytes)});
    warnings->push_back(
        "memory: no memory cgroup; RLIMIT_AS instead (address space, per "
        "process), peak memory from getrusage");
  }
  return out;
}

absl::StatusOr<LiveBox> SandboxImpl::Spawn(const RunSpec& spec,
                                           BoxCgroup* cgroup) {
  if (spec.argv.empty()) return absl::InvalidArgumentError("empty argv");
  LiveBox box;
  box.dirs = BoundDirs(spec);
  box.cgroup = cgroup;
  const bool host_mode = spec.rootfs.empty();
  absl::StatusOr<MountPlan> plan = BuildMountPlan(
      spec, host_mode ? host_root_.skeleton : spec.rootfs,
      host_mode ? host_root_.host_binds : std::vector<std::string>{});
  if (!plan.ok()) return plan.status();
  absl::StatusOr<const SeccompProgram*> seccomp = Seccomp(spec.seccomp_allow);
  if (!seccomp.ok()) return seccomp.status();
  const sock_fprog fprog = (*seccomp)->fprog();

  const std::vector<std::string> candidates = ExecCandidates(spec);
  std::vector<char*> argv = CStrings(spec.argv);
  std::vector<char*> envp = CStrings(spec.env);

  absl::StatusOr<Pipe> in = MakePipe(), out = MakePipe(), err = MakePipe(),
                       sync = MakePipe(), error = MakePipe(),
                       status = MakePipe();
  for (const auto* p : {&in, &out, &err, &sync, &error, &status}) {
    if (!p->ok()) return p->status();
  }

  ChildPlan child;
  child.sync_fd = sync->read.get();
  child.stdin_fd = in->read.get();
  child.stdout_fd = out->write.get();
  child.stderr_fd = err->write.get();
  child.error_fd = error->write.get();
  child.status_fd = status->write.get();
  child.mounts = &*plan;
  child.loopback_up = !netns_.valid();
  child.drop_groups = !rootless_;
  child.uid = kBoxUid;
  child.gid = kBoxGid;
  child.rlimits = Rlimits(spec.limits, &box.warnings);
  child.seccomp = &fprog;
  child.no_caps = no_caps_;
  child.cwd = spec.cwd.c_str();
  child.argv = argv.data();
  child.envp = envp.data();
  for (const std::string& c : candidates) child.exec_candidates.push_back(c.c_str());
  child.cmdline = cmdline_.first;
  child.cmdline_size = cmdline_.second;

  if (cgroup != nullptr) {
    if (absl::Status s =
            cgroup->Prepare(spec.limits.memory_bytes, spec.limits.pids);
        !s.ok()) {
      return s;
    }
  }

  int pidfd = -1;
  clone_args args = {};
  args.flags = kBoxNamespaces | CLONE_PIDFD;
  args.pidfd = reinterpret_cast<uint64_t>(&pidfd);
  args.exit_signal = SIGCHLD;
  const int cgroup_fd = cgroup != nullptr ? cgroup->clone_into_fd() : -1;
  if (cgroup_fd >= 0) {
    args.flags |= CLONE_INTO_CGROUP;
    args.cgroup = static_cast<uint64_t>(cgroup_fd);
  }
  if (netns_.valid()) {
    // The child inherits this thread's network namespace: step into the
    // slot's empty one just for the clone.
    if (setns(netns_.get(), CLONE_NEWNET) != 0) return Errno("setns netns");
  } else {
    args.flags |= CLONE_NEWNET;
  }
  const long pid = syscall(SYS_clone3, &args, sizeof(args));
  if (pid == 0) RunBoxInit(child);
  const int clone_errno = errno;
  if (netns_.valid() && setns(host_netns_.get(), CLONE_NEWNET) != 0) {
    // This thread would keep running in the empty namespace.
    std::abort();
  }
  if (pid < 0) {
    errno = clone_errno;
    return Errno("clone3 (see scrc doctor: user namespaces)");
  }

  box.io.pidfd.reset(pidfd);
  box.io.stdin_w = std::move(in->write);
  box.io.stdout_r = std::move(out->read);
  box.io.stderr_r = std::move(err->read);
  box.io.error_r = std::move(error->read);
  box.io.status_r = std::move(status->read);
  box.sync_w = std::move(sync->write);
  for (UniqueFd* end : {&in->read, &out->write, &err->write, &sync->read,
                        &error->write, &status->write}) {
    end->reset();
  }

  absl::Status setup = WriteIdMaps(
      static_cast<pid_t>(pid),
      {kBoxUid, host_uid_, kBoxGid, host_gid_, /*deny_setgroups=*/rootless_});
  if (setup.ok()) {
    // The init builds the box now and then waits for the start byte.
    const char go = 1;
    if (write(box.sync_w.get(), &go, 1) != 1) setup = Errno("release box");
  }
  if (setup.ok() && cgroup != nullptr && cgroup_fd < 0) {
    // Meanwhile (a v1 move may wait for an RCU grace period); the program
    // starts only after this, so it never runs outside the cgroup.
    setup = cgroup->Attach(static_cast<pid_t>(pid));
  }
  if (!setup.ok()) {
    Reap(box).IgnoreError();  // the init reads EOF and exits
    return setup;
  }
  return box;
}

absl::Status SandboxImpl::Reap(LiveBox& box) {
  box.sync_w.reset();
  syscall(SYS_pidfd_send_signal, box.io.pidfd.get(), SIGKILL, nullptr, 0);
  siginfo_t info = {};
  while (waitid(static_cast<idtype_t>(P_PIDFD), box.io.pidfd.get(), &info,
                WEXITED) < 0 &&
         errno == EINTR) {
  }
  box.io.pidfd.reset();
  return box.cgroup != nullptr ? box.cgroup->KillAll() : absl::OkStatus();
}

absl::StatusOr<RunResult> SandboxImpl::Run(const RunSpec& spec) {
  std::optional<LiveBox> box;
  {
    // A box being built ahead is ready (or failed) once no spawn is queued.
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(
        +[](int* spawns) { return *spawns == 0; }, &spawns_));
    if (!reap_status_.ok()) {
      // A box could not be cleared; its cgroup is suspect.
      absl::Status s = std::exchange(reap_status_, absl::OkStatus());
      return absl::InternalError(absl::StrCat("last box: ", s.message()));
    }
    if (warm_.has_value() && SameBox(warm_spec_, spec) &&
        warm_->dirs == BoundDirs(spec)) {
      box = std::exchange(warm_, std::nullopt);
    }
  }
  if (!box.has_value()) {
    // Build it here, once everything before is cleared away.
    AwaitIdle();
    std::optional<LiveBox> unused;
    {
      absl::MutexLock lock(&mu_);
      unused = std::exchange(warm_, std::nullopt);
    }
    if (unused.has_value()) {
      if (absl::Status s = Reap(*unused); !s.ok()) return s;
    }
    absl::StatusOr<LiveBox> spawned = Spawn(spec, cgroups_[0].get());
    if (!spawned.ok()) return spawned.status();
    box = std::move(*spawned);
  }
  BoxCgroup* const cgroup = box->cgroup;

  absl::Status started =
      cgroup != nullptr ? cgroup->ResetCounters() : absl::OkStatus();
  box->io.start = absl::Now();
  if (started.ok()) {
    // If the init died while building the box, its error pipe says why.
    const char go = 1;
    (void)!write(box->sync_w.get(), &go, 1);
  }
  box->sync_w.reset();  // without the byte the init reads EOF and exits
  if (spec.next != nullptr) {
    // Built in the other cgroup while this program runs.
    BackgroundTask next;
    next.spawn = *spec.next;
    next.spawn->stdin_data.clear();
    next.spawn->next.reset();
    next.cgroup = Other(cgroup);
    Enqueue(std::move(next));
  }
  absl::Duration wall = spec.limits.wall_time;
  if (wall == absl::ZeroDuration() && spec.limits.cpu_time > absl::ZeroDuration()) {
    wall = 2 * spec.limits.cpu_time + absl::Seconds(1);
  }
  Supervision sup =
      Supervise(box->io, spec.stdin_data, spec.limits, wall, cgroup);
  std::optional<absl::StatusOr<CgroupUsage>> usage;
  if (cgroup != nullptr) usage = cgroup->Usage();
  std::vector<std::string> warnings = std::move(box->warnings);

  // Reaping the init (the namespaces' teardown) happens in the background,
  // before anything else uses its cgroup.
  BackgroundTask reap;
  reap.reap = std::move(box);
  Enqueue(std::move(reap));
  if (!started.ok()) return started;
  if (!sup.setup_error.empty() && !sup.kill_reason) {
    return absl::InternalError(absl::StrCat("box setup: ", sup.setup_error));
  }
  return Judge(spec, sup, usage.has_value() ? &*usage : nullptr, cgroup_caps_,
               std::move(warnings));
}

void SandboxImpl::Enqueue(BackgroundTask task) {
  absl::MutexLock lock(&mu_);
  if (task.spawn.has_value()) ++spawns_;
  ++busy_;
  tasks_.push_back(std::move(task));
}

void SandboxImpl::AwaitIdle() {
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(+[](int* busy) { return *busy == 0; }, &busy_));
}

void SandboxImpl::Background() {
  while (true) {
    BackgroundTask task;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](SandboxImpl* self) ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->mu_) {
            return !self->tasks_.empty() || self->stopping_;
          },
          this));
      if (tasks_.empty()) return;  // stopping, nothing left to do
      task = std::move(tasks_.front());
      tasks_.pop_front();
    }
    absl::Status reaped = absl::OkStatus();
    std::optional<absl::StatusOr<LiveBox>> built;
    if (task.reap.has_value()) {
      reaped = Reap(*task.reap);
    } else if (task.spawn.has_value()) {
      bool cleared = false;
      {
        absl::MutexLock lock(&mu_);
        cleared = reap_status_.ok();  // never build in a cgroup not emptied
      }
      // A failed spawn is no error yet: the run builds its box and says.
      if (cleared) built = Spawn(*task.spawn, task.cgroup);
    }
    std::optional<LiveBox> replaced;
    absl::MutexLock lock(&mu_);
    if (!reaped.ok() && reap_status_.ok()) reap_status_ = reaped;
    if (built.has_value() && built->ok()) {
      replaced = std::exchange(warm_, std::move(**built));
      warm_spec_ = std::move(*task.spawn);
    }
    if (task.spawn.has_value()) --spawns_;
    --busy_;
    if (replaced.has_value()) {
      // Not expected (one box ahead at most); never leave one behind.
      BackgroundTask again;
      again.reap = std::move(replaced);
      ++busy_;
      tasks_.push_back(std::move(again));
    }
  }
}

void SandboxImpl::AwaitEmpty() { AwaitIdle(); }

void SandboxImpl::DropPrepared() {
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(
      +[](int* spawns) { return *spawns == 0; }, &spawns_));
  if (!warm_.has_value()) return;
  BackgroundTask task;
  task.reap = std::exchange(warm_, std::nullopt);
  ++busy_;
  tasks_.push_back(std::move(task));
}

SandboxImpl::~SandboxImpl() {
  DropPrepared();
  AwaitIdle();
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (background_.joinable()) background_.join();
  if (no_caps_ != nullptr) cap_free(no_caps_);
}

}  // namespace

absl::StatusOr<std::unique_ptr<Sandbox>> Sandbox::Create(
    const SandboxOptions& options, Cgroups* cgroups) {
  auto sandbox =
      std::make_unique<SandboxImpl>(options, cgroups->capabilities());
  if (absl::Status s = sandbox->Init(cgroups); !s.ok()) return s;
  return sandbox;
}

}  // namespace scrc::sandbox
