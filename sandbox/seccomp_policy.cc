#include "sandbox/seccomp_policy.h"

#include <errno.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <memory>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "sandbox/unique_fd.h"

namespace scrc::sandbox {
namespace {

// Denied whatever a profile says: each one lets a program change what the
// box is (mounts, namespaces, root), look into other processes, or reach
// the kernel's attack surface that judges never need.
const std::vector<std::string>& CoreDenied() {
  static const auto* const kNames = new std::vector<std::string>{
      "mount", "umount2", "pivot_root", "chroot", "move_mount", "open_tree",
      "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr",
      "unshare", "setns", "ptrace", "process_vm_readv", "process_vm_writev",
      "kcmp", "pidfd_getfd", "kexec_load", "kexec_file_load", "bpf",
      "perf_event_open", "keyctl", "add_key", "request_key", "reboot",
      "swapon", "swapoff", "init_module", "finit_module", "delete_module",
      "open_by_handle_at", "name_to_handle_at", "userfaultfd",
      "io_uring_setup", "io_uring_enter", "io_uring_register", "acct",
      "settimeofday", "clock_settime", "clock_adjtime", "adjtimex", "syslog",
      "quotactl", "quotactl_fd", "iopl", "ioperm", "uselib", "vhangup",
      "lookup_dcookie", "fanotify_init", "nfsservctl",
  };
  return *kNames;
}

// Denied by default, but a profile may ask for them back.
const std::vector<std::string>& OptionalDenied() {
  static const auto* const kNames = new std::vector<std::string>{
      "personality", "sysfs", "ustat", "mbind", "migrate_pages",
      "move_pages", "set_mempolicy",
  };
  return *kNames;
}

// Namespace flags a program must not pass to clone: a new user namespace
// would hand it capabilities again.
constexpr uint64_t kNamespaceFlags[] = {
    CLONE_NEWUSER, CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWNET,
    CLONE_NEWIPC,  CLONE_NEWUTS, CLONE_NEWCGROUP, CLONE_NEWTIME,
};

struct CtxDeleter {
  void operator()(scmp_filter_ctx ctx) const { seccomp_release(ctx); }
};

absl::Status Check(int rc, absl::string_view what) {
  if (rc >= 0) return absl::OkStatus();
  return absl::InternalError(
      absl::StrCat("seccomp ", what, ": ", strerror(-rc)));
}

}  // namespace

const std::vector<std::string>& DeniedSyscalls() {
  static const auto* const kAll = [] {
    auto* all = new std::vector<std::string>(CoreDenied());
    all->insert(all->end(), OptionalDenied().begin(), OptionalDenied().end());
    all->push_back("clone with namespace flags");
    all->push_back("clone3 (ENOSYS, so libc falls back to clone)");
    return all;
  }();
  return *kAll;
}

absl::StatusOr<SeccompProgram> BuildSeccompProgram(
    const std::vector<std::string>& allow) {
  const absl::flat_hash_set<std::string> core(CoreDenied().begin(),
                                              CoreDenied().end());
  for (const std::string& name : allow) {
    if (core.contains(name)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "seccomp: profile may not allow '", name,
          "': it would let a program leave or change its box"));
    }
  }
  std::unique_ptr<void, CtxDeleter> ctx(seccomp_init(SCMP_ACT_ALLOW));
  if (ctx == nullptr) return absl::InternalError("seccomp_init failed");
  // A syscall of another ABI (int 0x80, x32) bypasses name-based rules;
  // seccomp_init's default bad-arch action kills the process for those.
  auto deny = [&](const std::string& name) -> absl::Status {
    const int nr = seccomp_syscall_resolve_name(name.c_str());
    if (nr == __NR_SCMP_ERROR) return absl::OkStatus();  // not on this arch
    return Check(seccomp_rule_add(ctx.get(), SCMP_ACT_ERRNO(EPERM), nr, 0),
                 absl::StrCat("deny ", name));
  };
  for (const std::string& name : CoreDenied()) {
    if (absl::Status s = deny(name); !s.ok()) return s;
  }
  for (const std::string& name : OptionalDenied()) {
    if (std::find(allow.begin(), allow.end(), name) != allow.end()) continue;
    if (absl::Status s = deny(name); !s.ok()) return s;
  }
  for (uint64_t flag : kNamespaceFlags) {
    absl::Status s = Check(
        seccomp_rule_add(ctx.get(), SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
                         SCMP_A0(SCMP_CMP_MASKED_EQ, flag, flag)),
        "deny clone with namespace flags");
    if (!s.ok()) return s;
  }
  // clone3 takes its flags in memory that seccomp cannot read.
  if (absl::Status s = Check(seccomp_rule_add(ctx.get(), SCMP_ACT_ERRNO(ENOSYS),
                                              SCMP_SYS(clone3), 0),
                             "deny clone3");
      !s.ok()) {
    return s;
  }
  // A binary tree instead of a linear list: the kernel evaluates the filter
  // for every syscall number when it is loaded (its action cache), on the
  // hot path of every run.
  if (absl::Status s = Check(
          seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_OPTIMIZE, 2), "optimize");
      !s.ok()) {
    return s;
  }
  // The child sets no_new_privs itself, before loading.
  if (absl::Status s =
          Check(seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_NNP, 0), "nnp");
      !s.ok()) {
    return s;
  }

  // libseccomp 2.5 exports BPF only to a file descriptor.
  UniqueFd memfd(memfd_create("scrc-seccomp", MFD_CLOEXEC));
  if (!memfd.valid()) {
    return absl::InternalError(absl::StrCat("memfd_create: ", strerror(errno)));
  }
  if (absl::Status s = Check(seccomp_export_bpf(ctx.get(), memfd.get()),
                             "export bpf");
      !s.ok()) {
    return s;
  }
  const off_t size = lseek(memfd.get(), 0, SEEK_END);
  if (size <= 0 || size % sizeof(sock_filter) != 0) {
    return absl::InternalError("seccomp export: unexpected program size");
  }
  SeccompProgram program;
  program.instructions.resize(size / sizeof(sock_filter));
  if (pread(memfd.get(), program.instructions.data(), size, 0) != size) {
    return absl::InternalError(absl::StrCat("seccomp read back: ",
                                            strerror(errno)));
  }
  return program;
}

}  // namespace scrc::sandbox
