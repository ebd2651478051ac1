#include "sandbox/mount_plan.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"

namespace scrc::sandbox {
namespace {

absl::Status RequireMountPoint(const std::string& root, const char* path,
                               bool directory) {
  const std::string full = absl::StrCat(root, path);
  struct stat st;
  if (lstat(full.c_str(), &st) != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "root ", root, " lacks the mount point ", path, ": ", strerror(errno),
        " (re-import the rootfs tree; see scrc rootfs import)"));
  }
  if (directory ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat("root ", root, ": mount point ", path, " must be a ",
                     directory ? "directory" : "regular file"));
  }
  return absl::OkStatus();
}

int SetAttr(const char* path, uint64_t set, bool recursive) {
  mount_attr attr = {};
  attr.attr_set = set;
  return static_cast<int>(
      syscall(SYS_mount_setattr, AT_FDCWD, path,
              recursive ? AT_RECURSIVE : 0, &attr, sizeof(attr)));
}

}  // namespace

absl::StatusOr<MountPlan> BuildMountPlan(
    const RunSpec& spec, const std::string& root,
    const std::vector<std::string>& host_binds) {
  for (const char* dir : {"/proc", "/dev", "/tmp", "/box"}) {
    if (absl::Status s = RequireMountPoint(root, dir, true); !s.ok()) return s;
  }
  MountPlan plan;
  plan.root = root;
  using Kind = MountOp::Kind;
  // The root must be a mount point of its own for pivot_root.
  plan.ops.push_back({Kind::kBind, root, root});
  for (const std::string& path : host_binds) {
    plan.ops.push_back({Kind::kBind, path, absl::StrCat(root, path)});
  }
  for (const char* name : kDeviceNames) {
    const std::string dev = absl::StrCat("/dev/", name);
    if (absl::Status s = RequireMountPoint(root, dev.c_str(), false); !s.ok()) {
      return s;
    }
    plan.ops.push_back({Kind::kBind, dev, absl::StrCat(root, dev)});
  }
  for (const BindMount& extra : spec.extra_mounts) {
    if (extra.writable) continue;  // bound after the read-only pass
    plan.ops.push_back({Kind::kBind, extra.source,
                        absl::StrCat(root, extra.target)});
  }
  // One pass makes the whole tree read-only; what must be writable is
  // mounted after it.
  plan.ops.push_back({Kind::kReadOnlyAll, "", root});
  plan.ops.push_back({Kind::kProc, "proc", absl::StrCat(root, "/proc")});
  plan.ops.push_back(
      {Kind::kTmpfs, "tmpfs", absl::StrCat(root, "/tmp"),
       absl::StrCat("size=", spec.limits.tmp_bytes > 0 ? spec.limits.tmp_bytes
                                                       : int64_t{64} << 20,
                    ",nr_inodes=16384,mode=1777")});
  plan.ops.push_back({Kind::kBox, spec.box_dir, absl::StrCat(root, "/box"), "",
                      spec.box_writable});
  for (const BindMount& extra : spec.extra_mounts) {
    if (!extra.writable) continue;
    plan.ops.push_back({Kind::kBox, extra.source,
                        absl::StrCat(root, extra.target), "", true});
  }
  return plan;
}

int ExecuteMountPlan(const MountPlan& plan, const char** failed_op) {
  constexpr unsigned long kNoDevSuidExec = MS_NOSUID | MS_NODEV | MS_NOEXEC;
  for (const MountOp& op : plan.ops) {
    *failed_op = op.target.c_str();
    const char* target = op.target.c_str();
    int rc = 0;
    switch (op.kind) {
      case MountOp::Kind::kBind:
        rc = mount(op.source.c_str(), target, nullptr, MS_BIND | MS_REC,
                   nullptr);
        break;
      case MountOp::Kind::kReadOnlyAll:
        rc = SetAttr(target, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID, true);
        break;
      case MountOp::Kind::kProc:
        rc = mount("proc", target, "proc", kNoDevSuidExec | MS_RDONLY,
                   nullptr);
        break;
      case MountOp::Kind::kTmpfs:
        rc = mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV,
                   op.data.c_str());
        break;
      case MountOp::Kind::kBox:
        rc = mount(op.source.c_str(), target, nullptr, MS_BIND, nullptr);
        if (rc == 0) {
          rc = SetAttr(target,
                       MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
                           (op.writable ? 0 : MOUNT_ATTR_RDONLY),
                       false);
        }
        break;
    }
    if (rc != 0) return -1;
  }
  // pivot_root(".", ".") stacks the old root on the new one; detaching it
  // leaves nothing of the host reachable.
  *failed_op = "pivot_root";
  if (chdir(plan.root.c_str()) != 0) return -1;
  if (syscall(SYS_pivot_root, ".", ".") != 0) return -1;
  *failed_op = "detach old root";
  if (umount2(".", MNT_DETACH) != 0) return -1;
  return 0;
}

}  // namespace scrc::sandbox
