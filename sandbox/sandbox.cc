#include "sandbox/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <sys/capability.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cmath>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "sandbox/child.h"
#include "sandbox/host_root.h"
#include "sandbox/mount_plan.h"
#include "sandbox/namespaces.h"
#include "sandbox/seccomp_policy.h"
#include "sandbox/supervisor.h"

namespace scrc::sandbox {
namespace {

constexpr char kDefaultPath[] = "/usr/local/bin:/usr/bin:/bin";

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
  ~SandboxImpl() override {
    if (no_caps_ != nullptr) cap_free(no_caps_);
  }

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
      absl::StatusOr<std::unique_ptr<BoxCgroup>> box =
          cgroups->CreateBox(options_.slot_name);
      if (!box.ok()) return box.status();
      cgroup_ = std::move(*box);
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
    return absl::OkStatus();
  }

  uid_t box_host_uid() const override { return host_uid_; }
  gid_t box_host_gid() const override { return host_gid_; }

  absl::StatusOr<RunResult> Run(const RunSpec& spec) override;

 private:
  absl::StatusOr<const SeccompProgram*> Seccomp(
      const std::vector<std::string>& allow);
  std::vector<ChildRlimit> Rlimits(const Limits& limits,
                                   std::vector<std::string>* warnings) const;
  RunResult Judge(const RunSpec& spec, Supervision& sup,
                  std::vector<std::string> warnings);

  SandboxOptions options_;
  CgroupCapabilities cgroup_caps_;
  bool rootless_ = false;
  uid_t host_uid_ = 0;
  gid_t host_gid_ = 0;
  UniqueFd netns_;       // reused by every run of this slot (root only)
  UniqueFd host_netns_;  // where the calling thread goes back to
  std::unique_ptr<BoxCgroup> cgroup_;
  HostRoot host_root_;
  cap_t no_caps_ = nullptr;
  std::map<std::vector<std::string>, SeccompProgram> seccomp_cache_;
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

absl::StatusOr<RunResult> SandboxImpl::Run(const RunSpec& spec) {
  if (spec.argv.empty()) return absl::InvalidArgumentError("empty argv");
  std::vector<std::string> warnings;
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
  child.rlimits = Rlimits(spec.limits, &warnings);
  child.seccomp = &fprog;
  child.no_caps = no_caps_;
  child.cwd = spec.cwd.c_str();
  child.argv = argv.data();
  child.envp = envp.data();
  for (const std::string& c : candidates) child.exec_candidates.push_back(c.c_str());

  if (cgroup_ != nullptr) {
    if (absl::Status s =
            cgroup_->Prepare(spec.limits.memory_bytes, spec.limits.pids);
        !s.ok()) {
      return s;
    }
  }

  int pidfd = -1;
  clone_args args = {};
  args.flags = kBoxNamespaces | CLONE_PIDFD;
  args.pidfd = reinterpret_cast<uint64_t>(&pidfd);
  args.exit_signal = SIGCHLD;
  const int cgroup_fd = cgroup_ != nullptr ? cgroup_->clone_into_fd() : -1;
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
  const absl::Time start = absl::Now();
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

  SupervisedBox box;
  box.pidfd.reset(pidfd);
  box.start = start;
  box.stdin_w = std::move(in->write);
  box.stdout_r = std::move(out->read);
  box.stderr_r = std::move(err->read);
  box.error_r = std::move(error->read);
  box.status_r = std::move(status->read);
  for (UniqueFd* end : {&in->read, &out->write, &err->write, &sync->read,
                        &error->write, &status->write}) {
    end->reset();
  }

  absl::Status setup = WriteIdMaps(
      static_cast<pid_t>(pid),
      {kBoxUid, host_uid_, kBoxGid, host_gid_, /*deny_setgroups=*/rootless_});
  if (setup.ok() && cgroup_ != nullptr && cgroup_fd < 0) {
    setup = cgroup_->Attach(static_cast<pid_t>(pid));
  }
  if (setup.ok()) {
    const char go = 1;
    if (write(sync->write.get(), &go, 1) != 1) setup = Errno("release box");
  }
  sync->write.reset();  // on failure the child reads EOF and exits
  absl::Duration wall = spec.limits.wall_time;
  if (wall == absl::ZeroDuration() && spec.limits.cpu_time > absl::ZeroDuration()) {
    wall = 2 * spec.limits.cpu_time + absl::Seconds(1);
  }
  Supervision sup = Supervise(box, spec.stdin_data, spec.limits, wall,
                              cgroup_.get());
  if (cgroup_ != nullptr) {
    if (absl::Status s = cgroup_->KillAll(); !s.ok() && setup.ok()) setup = s;
  }
  if (!setup.ok()) return setup;
  if (!sup.setup_error.empty() && !sup.kill_reason) {
    return absl::InternalError(absl::StrCat("box setup: ", sup.setup_error));
  }
  return Judge(spec, sup, std::move(warnings));
}

RunResult SandboxImpl::Judge(const RunSpec& spec, Supervision& sup,
                             std::vector<std::string> warnings) {
  RunResult r;
  r.stdout_data = std::move(sup.stdout_data);
  r.stderr_data = std::move(sup.stderr_data);
  r.stdout_truncated = sup.stdout_truncated;
  r.stderr_truncated = sup.stderr_truncated;
  r.wall_time = sup.wall_time;
  bool oom = false;
  if (sup.program) {
    const rusage& u = sup.program->usage;
    r.cpu_time = absl::DurationFromTimeval(u.ru_utime) +
                 absl::DurationFromTimeval(u.ru_stime);
    r.peak_memory_bytes = static_cast<int64_t>(u.ru_maxrss) * 1024;
  }
  if (cgroup_ != nullptr) {
    absl::StatusOr<CgroupUsage> usage = cgroup_->Usage();
    if (usage.ok()) {
      if (cgroup_caps_.cpu_accounting) r.cpu_time = usage->cpu_time;
      if (cgroup_caps_.memory) r.peak_memory_bytes = usage->peak_memory_bytes;
      oom = usage->oom_killed;
    } else {
      warnings.push_back(absl::StrCat("cgroup usage: ", usage.status().message()));
    }
  }
  const bool cpu_over = spec.limits.cpu_time > absl::ZeroDuration() &&
                        r.cpu_time > spec.limits.cpu_time;
  const int ws = sup.program ? sup.program->wait_status : 0;
  if (sup.program) {
    r.exit_code = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
    r.term_signal = WIFSIGNALED(ws) ? WTERMSIG(ws) : 0;
  } else {
    r.exit_code = 128 + SIGKILL;
    r.term_signal = SIGKILL;
  }
  if (sup.kill_reason) {
    r.outcome = *sup.kill_reason;
  } else if (oom) {
    r.outcome = Outcome::kMemoryLimit;
  } else if (r.term_signal == SIGXCPU || cpu_over) {
    r.outcome = Outcome::kCpuTimeLimit;
  } else if (r.term_signal == SIGXFSZ) {
    r.outcome = Outcome::kFileSizeLimit;
  } else if (!sup.program) {
    // The init died without a word and nobody killed it: the memory cap
    // (v1 may kill the init first) is the only thing that does that.
    r.outcome = Outcome::kMemoryLimit;
  } else {
    r.outcome = r.term_signal != 0 ? Outcome::kSignaled : Outcome::kExited;
  }
  r.warnings = std::move(warnings);
  return r;
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
