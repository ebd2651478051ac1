#include "sandbox/supervisor.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>

namespace scrc::sandbox {
namespace {

constexpr size_t kReadChunk = 64 << 10;
constexpr size_t kMaxSetupError = 4096;

void SetNonBlocking(int fd) {
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

// How often the tree's CPU time is read: fine enough to stop a spinning
// program close to its limit, coarse enough to cost nothing.
absl::Duration CpuPollInterval(absl::Duration limit) {
  return std::clamp(limit / 10, absl::Milliseconds(5), absl::Milliseconds(50));
}

struct Stream {
  UniqueFd* fd;
  std::string* data;
  bool* truncated;
};

// Reads what is there. Returns false when the stream went over the cap.
bool Drain(Stream& s, size_t cap) {
  char buf[kReadChunk];
  while (s.fd->valid()) {
    const ssize_t n = read(s.fd->get(), buf, sizeof(buf));
    if (n == 0) {
      s.fd->reset();
      break;
    }
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN) s.fd->reset();
      break;
    }
    const size_t room = cap - std::min(cap, s.data->size());
    s.data->append(buf, std::min(room, static_cast<size_t>(n)));
    if (static_cast<size_t>(n) > room) {
      *s.truncated = true;
      s.fd->reset();  // nothing more is kept; the box is about to die
      return false;
    }
  }
  return true;
}

std::string ReadSmall(int fd, size_t max) {
  std::string out;
  char buf[1024];
  while (out.size() < max) {
    const ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, n);
  }
  return out.substr(0, max);
}

}  // namespace

Supervision Supervise(SupervisedBox& box, const std::string& stdin_data,
                      const Limits& limits, absl::Duration wall_limit,
                      BoxCgroup* cgroup) {
  Supervision sup;
  const size_t cap = limits.output_bytes > 0
                         ? static_cast<size_t>(limits.output_bytes)
                         : SIZE_MAX;
  Stream out{&box.stdout_r, &sup.stdout_data, &sup.stdout_truncated};
  Stream err{&box.stderr_r, &sup.stderr_data, &sup.stderr_truncated};
  SetNonBlocking(box.stdout_r.get());
  SetNonBlocking(box.stderr_r.get());
  size_t stdin_written = 0;
  if (stdin_data.empty()) {
    box.stdin_w.reset();
  } else {
    SetNonBlocking(box.stdin_w.get());
  }
  const bool poll_cpu = cgroup != nullptr && limits.cpu_time > absl::ZeroDuration();
  const absl::Duration cpu_interval = CpuPollInterval(limits.cpu_time);
  const absl::Time deadline = wall_limit > absl::ZeroDuration()
                                  ? box.start + wall_limit
                                  : absl::InfiniteFuture();
  absl::Time next_cpu_check = box.start + cpu_interval;

  auto kill_box = [&](Outcome reason) {
    if (!sup.kill_reason) sup.kill_reason = reason;
    // SIGKILL to the init ends the PID namespace: every process in it dies.
    syscall(SYS_pidfd_send_signal, box.pidfd.get(), SIGKILL, nullptr, 0);
  };

  // The run ends when the init reports the program's end on the status pipe
  // (or the pipe closes: the init died). The init's own exit, which tears the
  // namespaces down, is not waited for here: the caller reaps it later.
  bool ended = false;
  while (!ended) {
    pollfd fds[5];
    int n = 0;
    fds[n++] = {box.status_r.get(), POLLIN, 0};
    fds[n++] = {box.pidfd.get(), POLLIN, 0};
    const int out_i = out.fd->valid() ? n : -1;
    if (out_i >= 0) fds[n++] = {out.fd->get(), POLLIN, 0};
    const int err_i = err.fd->valid() ? n : -1;
    if (err_i >= 0) fds[n++] = {err.fd->get(), POLLIN, 0};
    const int in_i = box.stdin_w.valid() ? n : -1;
    if (in_i >= 0) fds[n++] = {box.stdin_w.get(), POLLOUT, 0};

    const absl::Time now = absl::Now();
    absl::Time wake = sup.kill_reason ? absl::InfiniteFuture() : deadline;
    if (poll_cpu && !sup.kill_reason) wake = std::min(wake, next_cpu_check);
    int timeout_ms = -1;
    if (wake != absl::InfiniteFuture()) {
      timeout_ms = static_cast<int>(
          std::max<int64_t>(0, absl::ToInt64Milliseconds(wake - now) + 1));
    }
    const int ready = poll(fds, n, timeout_ms);
    if (ready < 0 && errno != EINTR) {
      kill_box(Outcome::kWallTimeLimit);  // cannot watch it: do not let it run
    }
    if (ready > 0) {
      if (fds[0].revents != 0 || fds[1].revents != 0) ended = true;
      if (out_i >= 0 && fds[out_i].revents != 0 && !Drain(out, cap)) {
        kill_box(Outcome::kOutputLimit);
      }
      if (err_i >= 0 && fds[err_i].revents != 0 && !Drain(err, cap)) {
        kill_box(Outcome::kOutputLimit);
      }
      if (in_i >= 0 && fds[in_i].revents != 0) {
        const ssize_t w =
            (fds[in_i].revents & POLLOUT)
                ? write(box.stdin_w.get(), stdin_data.data() + stdin_written,
                        std::min<size_t>(stdin_data.size() - stdin_written,
                                         1 << 20))
                : -1;
        if (w > 0) stdin_written += w;
        if ((w < 0 && errno != EAGAIN && errno != EINTR) ||
            stdin_written == stdin_data.size()) {
          box.stdin_w.reset();  // EOF for the program, or it stopped reading
        }
      }
    }
    if (sup.kill_reason || ended) continue;
    const absl::Time after = absl::Now();
    if (after >= deadline) {
      kill_box(Outcome::kWallTimeLimit);
    } else if (poll_cpu && after >= next_cpu_check) {
      next_cpu_check = after + cpu_interval;
      absl::StatusOr<CgroupUsage> usage = cgroup->Usage();
      if (usage.ok() && usage->cpu_time > limits.cpu_time) {
        kill_box(Outcome::kCpuTimeLimit);
      }
    }
  }

  sup.wall_time = absl::Now() - box.start;
  // The program has ended; whatever it left running dies with the init.
  syscall(SYS_pidfd_send_signal, box.pidfd.get(), SIGKILL, nullptr, 0);
  box.stdin_w.reset();
  // Once the init and the program's leftovers are dead every writer is
  // closed: read to EOF.
  for (Stream* s : {&out, &err}) {
    if (s->fd->valid()) {
      fcntl(s->fd->get(), F_SETFL, fcntl(s->fd->get(), F_GETFL) & ~O_NONBLOCK);
      if (!Drain(*s, cap) && !sup.kill_reason) {
        sup.kill_reason = Outcome::kOutputLimit;
      }
    }
  }
  sup.setup_error = ReadSmall(box.error_r.get(), kMaxSetupError);
  ProgramStatus status;
  ssize_t got;
  while ((got = read(box.status_r.get(), &status, sizeof(status))) < 0 &&
         errno == EINTR) {
  }
  if (got == sizeof(status)) sup.program = status;
  return sup;
}

}  // namespace scrc::sandbox
