// Shared by the sandbox integration tests: temp dirs, C programs compiled
// from source strings with the host's gcc, one sandbox per test process, and
// the host-side checks (processes left behind, files).
#ifndef SCRC_INTEGRATION_SANDBOX_FIXTURE_H_
#define SCRC_INTEGRATION_SANDBOX_FIXTURE_H_

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gtest/gtest.h"
#include "sandbox/cgroup.h"
#include "sandbox/run_spec.h"
#include "sandbox/sandbox.h"

extern char** environ;

namespace scrc::sandbox::testing {

inline constexpr int64_t kMiB = int64_t{1} << 20;

// A directory under /tmp, removed with everything in it. 0755 so that an
// unprivileged box user can traverse it.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "scrc-sbtest") {
    std::string tmpl = absl::StrCat("/tmp/", prefix, "-XXXXXX");
    if (mkdtemp(tmpl.data()) != nullptr && chmod(tmpl.c_str(), 0755) == 0) {
      path_ = tmpl;
    }
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  bool ok() const { return !path_.empty(); }
  const std::string& path() const { return path_; }
  std::string Sub(const std::string& name) const {
    return absl::StrCat(path_, "/", name);
  }

 private:
  std::string path_;
};

inline absl::Status WriteFile(const std::string& path,
                              const std::string& content, mode_t mode = 0644) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  out.close();
  if (!out) {
    return absl::InternalError(absl::StrCat("write ", path, ": ",
                                            strerror(errno)));
  }
  if (chmod(path.c_str(), mode) != 0) {
    return absl::InternalError(absl::StrCat("chmod ", path, ": ",
                                            strerror(errno)));
  }
  return absl::OkStatus();
}

// The file's content, or "" when it cannot be read.
inline std::string ReadFileOrEmpty(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

// A directory owned by `uid`/`gid`, mode 0755 (what the runner does to a box
// dir before a run).
inline absl::Status MakeOwnedDir(const std::string& path, uid_t uid,
                                 gid_t gid) {
  if (mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) {
    return absl::InternalError(absl::StrCat("mkdir ", path, ": ",
                                            strerror(errno)));
  }
  if (chmod(path.c_str(), 0755) != 0 ||
      (geteuid() == 0 && chown(path.c_str(), uid, gid) != 0)) {
    return absl::InternalError(absl::StrCat("chown ", path, ": ",
                                            strerror(errno)));
  }
  return absl::OkStatus();
}

// Runs a host command to its end; stdout and stderr go to `output`.
inline absl::Status RunHostCommand(const std::vector<std::string>& argv,
                                   std::string* output) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return absl::InternalError("pipe2");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 2);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(),
                              environ);
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  if (rc != 0) {
    close(fds[0]);
    return absl::InternalError(absl::StrCat("spawn ", argv[0], ": ",
                                            strerror(rc)));
  }
  char buf[4096];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof(buf))) > 0 ||
         (n < 0 && errno == EINTR)) {
    if (n > 0 && output != nullptr) output->append(buf, n);
  }
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return absl::InternalError(absl::StrCat(absl::StrJoin(argv, " "),
                                            " failed (status ", status, ")"));
  }
  return absl::OkStatus();
}

// Compiles a C program from `source` into dir/name with the host's gcc.
inline absl::Status CompileC(const std::string& dir, const std::string& name,
                             const std::string& source) {
  const std::string src = absl::StrCat(dir, "/", name, ".c");
  if (absl::Status s = WriteFile(src, source); !s.ok()) return s;
  std::string output;
  absl::Status s = RunHostCommand(
      {"gcc", "-O2", "-Wall", "-D_GNU_SOURCE", "-o",
       absl::StrCat(dir, "/", name), src, "-lpthread"},
      &output);
  if (!s.ok()) return absl::InternalError(absl::StrCat(s.message(), "\n", output));
  unlink(src.c_str());
  return absl::OkStatus();
}

// Host pids whose real, effective, saved or filesystem uid is `uid`.
inline std::set<pid_t> PidsOfUid(uid_t uid) {
  std::set<pid_t> pids;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return pids;
  while (dirent* entry = readdir(proc)) {
    int pid = 0;
    if (!absl::SimpleAtoi(entry->d_name, &pid)) continue;
    const std::string status =
        ReadFileOrEmpty(absl::StrCat("/proc/", pid, "/status"));
    for (absl::string_view line : absl::StrSplit(status, '\n')) {
      if (!absl::ConsumePrefix(&line, "Uid:")) continue;
      for (absl::string_view field :
           absl::StrSplit(line, '\t', absl::SkipWhitespace())) {
        uint32_t value = 0;
        if (absl::SimpleAtoi(field, &value) && value == uid) pids.insert(pid);
      }
    }
  }
  closedir(proc);
  return pids;
}

// A host process of its own: forks, becomes `uid` (if given), execs argv.
inline pid_t SpawnSentinel(const std::vector<std::string>& argv,
                           int uid = -1) {
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  // Returns once the child has exec'd (the close-on-exec pipe reads EOF), so
  // that it already has its uid when the caller looks at the host.
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return -1;
  const pid_t pid = fork();
  if (pid == 0) {
    if (uid >= 0 && (setgroups(0, nullptr) != 0 || setgid(uid) != 0 ||
                     setuid(uid) != 0)) {
      _exit(126);
    }
    execv(args[0], args.data());
    _exit(127);
  }
  close(fds[1]);
  char byte;
  while (read(fds[0], &byte, 1) < 0 && errno == EINTR) {
  }
  close(fds[0]);
  return pid;
}

// True while `pid`, a child of ours, has not exited.
inline bool ChildAlive(pid_t pid) {
  int status = 0;
  return waitpid(pid, &status, WNOHANG) == 0;
}

inline void KillAndReap(pid_t pid) {
  kill(pid, SIGKILL);
  while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
  }
}

// "key=value" lines printed by a probe program.
inline std::map<std::string, std::string> ParseKeyValues(
    const std::string& text) {
  std::map<std::string, std::string> out;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    std::pair<std::string, std::string> kv =
        absl::StrSplit(line, absl::MaxSplits('=', 1));
    out[kv.first] = kv.second;
  }
  return out;
}

// Everything about a result, for failure messages.
inline std::string Describe(const RunResult& r) {
  auto head = [](const std::string& s) {
    return s.size() > 600 ? absl::StrCat(s.substr(0, 600), "...") : s;
  };
  return absl::StrCat(
      "outcome=", OutcomeName(r.outcome), " exit=", r.exit_code,
      " signal=", r.term_signal, " cpu=", absl::FormatDuration(r.cpu_time),
      " wall=", absl::FormatDuration(r.wall_time),
      " peak=", r.peak_memory_bytes, " stdout(", r.stdout_data.size(),
      r.stdout_truncated ? ", truncated" : "", ")=[", head(r.stdout_data),
      "] stderr(", r.stderr_data.size(), r.stderr_truncated ? ", truncated" : "",
      ")=[", head(r.stderr_data), "] warnings=[",
      absl::StrJoin(r.warnings, "; "), "]");
}

// One sandbox for the whole test process (runs on it are sequential, as on a
// runner slot). Its box user gets a host uid of its own so that "no process
// of that uid is left" cannot be confused by another runner on the host.
struct SharedSandbox {
  std::unique_ptr<TempDir> state;
  std::unique_ptr<Cgroups> cgroups;
  std::unique_ptr<Sandbox> sandbox;
  absl::Status status;

  static SharedSandbox& Get() {
    static SharedSandbox* const shared = [] {
      auto* s = new SharedSandbox;
      s->state = std::make_unique<TempDir>("scrc-sbstate");
      if (!s->state->ok()) {
        s->status = absl::InternalError("mkdtemp for the state dir failed");
        return s;
      }
      s->cgroups = Cgroups::Detect("");
      SandboxOptions options;
      options.slot_name = "hostile";
      options.state_dir = s->state->Sub("state");
      options.box_host_uid_base = 300000 + getpid() % 50000;
      absl::StatusOr<std::unique_ptr<Sandbox>> sb =
          Sandbox::Create(options, s->cgroups.get());
      if (sb.ok()) {
        s->sandbox = *std::move(sb);
      } else {
        s->status = sb.status();
      }
      // Destroyed at exit so the cgroups and the state dir go away.
      static struct Cleanup {
        ~Cleanup() {
          Get().sandbox.reset();
          Get().cgroups.reset();
          Get().state.reset();
        }
      } cleanup;
      return s;
    }();
    return *shared;
  }
};

// Base of the sandbox tests: a fresh box dir per test, runs that check that
// nothing of the box is left on the host afterwards.
class SandboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SharedSandbox& shared = SharedSandbox::Get();
    ASSERT_TRUE(shared.status.ok()) << shared.status;
    sandbox_ = shared.sandbox.get();
    state_dir_ = shared.state->Sub("state");
    dir_ = std::make_unique<TempDir>();
    ASSERT_TRUE(dir_->ok());
    box_dir_ = dir_->Sub("box");
    ASSERT_TRUE(MakeOwnedDir(box_dir_, box_uid(), sandbox_->box_host_gid()).ok());
  }

  uid_t box_uid() const { return sandbox_->box_host_uid(); }

  // Compiles `source` to /box/<name>.
  void Build(const std::string& name, const std::string& source) {
    absl::Status s = CompileC(box_dir_, name, source);
    ASSERT_TRUE(s.ok()) << s;
  }

  // A spec with short limits; tests change what they exercise. The wall
  // clock is generous everywhere (a loaded host must not turn a CPU verdict
  // into a wall-clock one) except where the wall clock is under test. Where
  // programs are emulated (scripts/vm-cgroup-v2), SCRC_TEST_SLOWDOWN=N
  // gives them N times the CPU time.
  RunSpec Spec(std::vector<std::string> argv) const {
    RunSpec spec;
    spec.argv = std::move(argv);
    spec.env = {"PATH=/usr/bin:/bin"};
    spec.box_dir = box_dir_;
    int slowdown = 1;
    if (const char* v = std::getenv("SCRC_TEST_SLOWDOWN");
        v != nullptr && (!absl::SimpleAtoi(v, &slowdown) || slowdown < 1)) {
      slowdown = 1;
    }
    spec.limits.cpu_time = absl::Seconds(slowdown);
    spec.limits.wall_time = absl::Seconds(20);
    spec.limits.memory_bytes = 256 * kMiB;
    return spec;
  }

  // Runs the spec; afterwards no new process of the box uid may be left on
  // the host (rootless, that uid is ours: what ran before is not counted).
  absl::StatusOr<RunResult> Run(const RunSpec& spec) {
    const std::set<pid_t> before = PidsOfUid(box_uid());
    absl::StatusOr<RunResult> r = sandbox_->Run(spec);
    if (r.ok() && getenv("SCRC_TEST_VERBOSE") != nullptr) {
      std::cerr << absl::StrJoin(spec.argv, " ") << ": " << Describe(*r)
                << "\n";
    }
    if (r.ok()) {
      sandbox_->AwaitEmpty();  // the box's teardown ends in the background
      std::set<pid_t> left = PidsOfUid(box_uid());
      for (pid_t pid : before) left.erase(pid);
      EXPECT_TRUE(left.empty())
          << "processes of the box uid " << box_uid()
          << " left on the host: " << absl::StrJoin(left, ",") << "; "
          << Describe(*r);
    }
    return r;
  }

  Sandbox* sandbox_ = nullptr;
  std::string state_dir_;
  std::unique_ptr<TempDir> dir_;  // test-private host dir; holds box/
  std::string box_dir_;
};

}  // namespace scrc::sandbox::testing

#endif  // SCRC_INTEGRATION_SANDBOX_FIXTURE_H_
