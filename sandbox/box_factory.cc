#include "sandbox/box_factory.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "sandbox/mount_plan.h"
#include "sandbox/namespaces.h"

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

}  // namespace

absl::StatusOr<std::unique_ptr<BoxFactory>> BoxFactory::Create(
    const SandboxOptions& options, const CgroupCapabilities& caps) {
  std::unique_ptr<BoxFactory> factory(new BoxFactory(options, caps));
  if (absl::Status s = factory->Init(); !s.ok()) return s;
  return factory;
}

BoxFactory::~BoxFactory() {
  if (no_caps_ != nullptr) cap_free(no_caps_);
}

absl::Status BoxFactory::Init() {
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
  return absl::OkStatus();
}

bool BoxFactory::BindsSameDirs(const LiveBox& box, const RunSpec& spec) {
  return box.dirs == BoundDirs(spec);
}

absl::StatusOr<const SeccompProgram*> BoxFactory::Seccomp(
    const std::vector<std::string>& allow) {
  auto it = seccomp_cache_.find(allow);
  if (it == seccomp_cache_.end()) {
    absl::StatusOr<SeccompProgram> program = BuildSeccompProgram(allow);
    if (!program.ok()) return program.status();
    it = seccomp_cache_.emplace(allow, std::move(*program)).first;
  }
  return &it->second;
}

std::vector<ChildRlimit> BoxFactory::Rlimits(
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

absl::StatusOr<LiveBox> BoxFactory::Spawn(const RunSpec& spec,
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
  const bool entered =
      cgroup != nullptr && cgroup_fd < 0 && cgroup->EnterThread();
  const long pid = syscall(SYS_clone3, &args, sizeof(args));
  if (pid == 0) RunBoxInit(child);
  const int clone_errno = errno;
  if (entered) cgroup->LeaveThread();
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
  if (setup.ok() && cgroup != nullptr && cgroup_fd < 0 && !entered) {
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

absl::Status BoxFactory::Reap(LiveBox& box) {
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

}  // namespace scrc::sandbox
