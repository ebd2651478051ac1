#include "sandbox/namespaces.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "absl/strings/str_cat.h"

namespace scrc::sandbox {
namespace {

absl::Status WriteProcFile(pid_t pid, const char* name,
                           const std::string& value) {
  const std::string path = absl::StrCat("/proc/", pid, "/", name);
  UniqueFd fd(open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd.valid() ||
      write(fd.get(), value.data(), value.size()) !=
          static_cast<ssize_t>(value.size())) {
    return absl::InternalError(absl::StrCat("write ", path, " '", value,
                                            "': ", strerror(errno)));
  }
  return absl::OkStatus();
}

absl::Status SetLoopbackUp() {
  nl_sock* sock = nl_socket_alloc();
  if (sock == nullptr) return absl::InternalError("libnl: socket alloc");
  absl::Status status;
  rtnl_link* link = nullptr;
  rtnl_link* change = nullptr;
  int rc = nl_connect(sock, NETLINK_ROUTE);
  if (rc == 0) rc = rtnl_link_get_kernel(sock, 0, "lo", &link);
  if (rc == 0) {
    change = rtnl_link_alloc();
    rtnl_link_set_flags(change, IFF_UP);
    rc = rtnl_link_change(sock, link, change, 0);
  }
  if (rc != 0) {
    status = absl::InternalError(
        absl::StrCat("libnl: bring loopback up: ", nl_geterror(rc)));
  }
  if (change != nullptr) rtnl_link_put(change);
  if (link != nullptr) rtnl_link_put(link);
  nl_socket_free(sock);
  return status;
}

}  // namespace

absl::Status WriteIdMaps(pid_t pid, const IdMapping& m) {
  if (m.deny_setgroups) {
    if (absl::Status s = WriteProcFile(pid, "setgroups", "deny"); !s.ok()) {
      return s;
    }
  }
  if (absl::Status s = WriteProcFile(
          pid, "uid_map", absl::StrCat(m.inside_uid, " ", m.host_uid, " 1"));
      !s.ok()) {
    return s;
  }
  return WriteProcFile(pid, "gid_map",
                       absl::StrCat(m.inside_gid, " ", m.host_gid, " 1"));
}

absl::StatusOr<UniqueFd> CreateLoopbackNetns() {
  // Network namespaces are per thread, so this thread can step into a new
  // one and back while the others carry on.
  UniqueFd original(open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
  if (!original.valid()) {
    return absl::InternalError(
        absl::StrCat("open /proc/thread-self/ns/net: ", strerror(errno)));
  }
  if (unshare(CLONE_NEWNET) != 0) {
    return absl::PermissionDeniedError(
        absl::StrCat("unshare(CLONE_NEWNET): ", strerror(errno)));
  }
  UniqueFd created(open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
  absl::Status status = created.valid()
                            ? SetLoopbackUp()
                            : absl::InternalError(absl::StrCat(
                                  "open new netns: ", strerror(errno)));
  if (setns(original.get(), CLONE_NEWNET) != 0) {
    // The thread would stay in the empty namespace: no way to go on.
    return absl::InternalError(
        absl::StrCat("setns back to the host network: ", strerror(errno)));
  }
  if (!status.ok()) return status;
  return created;
}

int BringUpLoopbackInChild() {
  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  ifreq req;
  memset(&req, 0, sizeof(req));
  memcpy(req.ifr_name, "lo", 3);
  req.ifr_flags = IFF_UP | IFF_RUNNING;
  const int rc = ioctl(fd, SIOCSIFFLAGS, &req);
  close(fd);
  return rc;
}

bool UserNamespacesWork() {
  const pid_t pid =
      static_cast<pid_t>(syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0));
  if (pid == 0) _exit(0);
  if (pid < 0) return false;
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

}  // namespace scrc::sandbox
