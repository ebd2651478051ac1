// Hostile programs against the limits of the sandbox: each test asserts the
// verdict and what is left on the host (the fixture checks after every run
// that no process of the box's host uid survives it).
#include <signal.h>
#include <sys/stat.h>

#include <random>

#include "absl/strings/match.h"
#include "integration/sandbox_fixture.h"
#include "integration/sandbox_programs.h"

namespace scrc::sandbox::testing {
namespace {

using SandboxHostileTest = SandboxTest;

TEST_F(SandboxHostileTest, ForkBombEndsAndLeavesNothing) {
  Build("bomb", R"(
#include <unistd.h>
int main(void) { for (;;) fork(); }
)");
  RunSpec spec = Spec({"/box/bomb"});
  spec.limits.cpu_time = absl::Milliseconds(500);
  spec.limits.pids = 32;
  absl::StatusOr<RunResult> r = Run(spec);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->outcome == Outcome::kCpuTimeLimit ||
              r->outcome == Outcome::kWallTimeLimit)
      << Describe(*r);
  // The host can still make processes.
  std::string out;
  EXPECT_TRUE(RunHostCommand({"/bin/true"}, &out).ok());
}

TEST_F(SandboxHostileTest, PidsLimitCapsProcesses) {
  Build("forker", R"(
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
int main(void) {
  for (int n = 0; n < 100000; ++n) {
    pid_t p = fork();
    if (p == 0) { pause(); _exit(0); }
    if (p < 0) { printf("forked=%d\nerrno=%s\n", n, strerrorname_np(errno)); return 0; }
  }
  printf("forked=unlimited\n");
  return 1;
}
)");
  RunSpec spec = Spec({"/box/forker"});
  spec.limits.pids = 16;
  absl::StatusOr<RunResult> r = Run(spec);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->outcome, Outcome::kExited) << Describe(*r);
  EXPECT_EQ(r->exit_code, 0) << Describe(*r);
  std::map<std::string, std::string> kv = ParseKeyValues(r->stdout_data);
  int forked = -1;
  ASSERT_TRUE(absl::SimpleAtoi(kv["forked"], &forked)) << Describe(*r);
  // The init and the program count too.
  EXPECT_GE(forked, 1);
  EXPECT_LT(forked, spec.limits.pids);
  EXPECT_EQ(kv["errno"], "EAGAIN");
}

TEST_F(SandboxHostileTest, CpuSpinIsCpuTimeLimit) {
  Build("spin", R"(
int main(void) { volatile unsigned long n = 0; for (;;) ++n; }
)");
  RunSpec spec = Spec({"/box/spin"});
  spec.limits.cpu_time = absl::Milliseconds(500);
  absl::StatusOr<RunResult> r = Run(spec);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->outcome, Outcome::kCpuTimeLimit) << Describe(*r);
  EXPECT_GE(r->cpu_time, spec.limits.cpu_time) << Describe(*r);
}

TEST_F(SandboxHostileTest, SleepForeverIsWallTimeLimit) {
  RunSpec spec = Spec({"/bin/sleep", "1000"});
  spec.limits.wall_time = absl::Seconds(1);
  absl::StatusOr<RunResult> r = Run(spec);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->outcome, Outcome::kWallTimeLimit) << Describe(*r);
  EXPECT_GE(r->wall_time, spec.limits.wall_time) << Describe(*r);
  EXPECT_LT(r->cpu_time, spec.limits.cpu_time) << Describe(*r);
}

TEST_F(SandboxHostileTest, MemoryBombIsMemoryLimit) {
  Build("membomb", kMemoryBomb);
  RunSpec spec = Spec({"/box/membomb"});
  spec.limits.memory_bytes = 64 * kMiB;
  absl::StatusOr<RunResult> r = Run(spec);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->outcome, Outcome::kMemoryLimit) << Describe(*r);
  EXPECT_LE(r->peak_memory_bytes, spec.limits.memory_bytes * 11 / 10)
      << Describe(*r);
}

TEST_F(SandboxHostileTest, MemoryJustUnderTheLimitIsMeasured) {
  Build("empty", "int main(void) { return 0; }\n");
  Build("touch", R"(
#include <stdio.h>
#include <stdlib.h>
int main(void) {
  const size_t size = 100 << 20;
  char* p = malloc(size);
  if (p == NULL) return 2;
  for (size_t i = 0; i < size; i += 4096) p[i] = 1;
  printf("touched\n");
  return 0;
}
)");
  RunSpec spec = Spec({"/box/empty"});
  spec.limits.memory_bytes = 160 * kMiB;
  absl::StatusOr<RunResult> base = Run(spec);
  ASSERT_TRUE(base.ok()) << base.status();
  ASSERT_EQ(base->outcome, Outcome::kExited) << Describe(*base);
  spec.argv = {"/box/touch"};
  absl::StatusOr<RunResult> r = Run(spec);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->outcome, Outcome::kExited) << Describe(*r);
  EXPECT_EQ(r->exit_code, 0) << Describe(*r);
  EXPECT_EQ(r->stdout_data, "touched\n");
  const int64_t touched = 100 * kMiB;
  EXPECT_GE(r->peak_memory_bytes, touched) << Describe(*r);
  EXPECT_LE(r->peak_memory_bytes, (touched + base->peak_memory_bytes) * 11 / 10)
      << Describe(*r) << " baseline " << base->peak_memory_bytes;
}

TEST_F(SandboxHostileTest, StdoutFloodIsOutputLimit) {
  Build("flood", R"(
#include <stdio.h>
#include <string.h>
int main(void) {
  static char buf[65536];
  memset(buf, 'x', sizeof(buf));
  for (;;) fwrite(buf, 1, sizeof(buf), stdout);
}
)");
  RunSpec spec = Spec({"/box/flood"});
  spec.limits.output_bytes = 64 << 10;
  absl::StatusOr<RunResult> r = Run(spec);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->outcome, Outcome::kOutputLimit) << Describe(*r);
  EXPECT_TRUE(r->stdout_truncated);
  EXPECT_EQ(r->stdout_data.size(), static_cast<size_t>(spec.limits.output_bytes));
  EXPECT_EQ(r->stdout_data.find_first_not_of('x'), std::string::npos);
  EXPECT_TRUE(r->stderr_data.empty()) << Describe(*r);
}

TEST_F(SandboxHostileTest, StderrFloodIsOutputLimit) {
  Build("flood", R"(
#include <unistd.h>
#include <string.h>
int main(void) {
  static char buf[65536];
  memset(buf, 'e', sizeof(buf));
  for (;;) write(2, buf, sizeof(buf));
}
)");
  RunSpec spec = Spec({"/box/flood"});
  spec.limits.output_bytes = 32 << 10;
  absl::StatusOr<RunResult> r = Run(spec);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->outcome, Outcome::kOutputLimit) << Describe(*r);
  EXPECT_TRUE(r->stderr_truncated);
  EXPECT_FALSE(r->stdout_truncated);
  EXPECT_EQ(r->stderr_data.size(), static_cast<size_t>(spec.limits.output_bytes));
}

TEST_F(SandboxHostileTest, DaemonizedGrandchildDiesWithTheBox) {
  // The grandchild keeps stdout open: the run must still end when the main
  // process does.
  Build("daemon", R"(
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>
int main(void) {
  int fds[2];
  if (pipe(fds) != 0) return 2;
  pid_t child = fork();
  if (child == 0) {
    setsid();
    pid_t grandchild = fork();
    if (grandchild == 0) { sleep(1000); _exit(0); }
    write(fds[1], &grandchild, sizeof(grandchild));
    _exit(0);
  }
  pid_t grandchild = 0;
  if (read(fds[0], &grandchild, sizeof(grandchild)) != sizeof(grandchild)) return 3;
  waitpid(child, NULL, 0);
  printf("grandchild=%s\n", grandchild > 0 && kill(grandchild, 0) == 0 ? "alive" : "dead");
  return 0;
}
)");
  RunSpec spec = Spec({"/box/daemon"});
  absl::StatusOr<RunResult> r = Run(spec);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->outcome, Outcome::kExited) << Describe(*r);
  EXPECT_EQ(r->exit_code, 0) << Describe(*r);
  EXPECT_EQ(r->stdout_data, "grandchild=alive\n");
}

// Each thread (or process) burns 0.4 s of its own CPU: none is over 0.6 s,
// the tree is.
constexpr char kBurner[] = R"(
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
static double Now(clockid_t clock) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}
static void* Burn(void* arg) {
  clockid_t clock = *(clockid_t*)arg;
  volatile unsigned long n = 0;
  while (Now(clock) < 0.4) ++n;
  return NULL;
}
int main(int argc, char** argv) {
  if (argc > 1 && strcmp(argv[1], "processes") == 0) {
    for (int i = 0; i < 2; ++i) {
      if (fork() == 0) {
        clockid_t clock = CLOCK_PROCESS_CPUTIME_ID;
        Burn(&clock);
        _exit(0);
      }
    }
    while (wait(NULL) > 0) {}
  } else {
    pthread_t threads[2];
    clockid_t clock = CLOCK_THREAD_CPUTIME_ID;
    for (int i = 0; i < 2; ++i) pthread_create(&threads[i], NULL, Burn, &clock);
    for (int i = 0; i < 2; ++i) pthread_join(threads[i], NULL);
  }
  printf("done\n");
  return 0;
}
)";

TEST_F(SandboxHostileTest, TwoThreadsCpuTimeIsSummed) {
  Build("burn", kBurner);
  RunSpec spec = Spec({"/box/burn", "threads"});
  spec.limits.cpu_time = absl::Milliseconds(600);
  absl::StatusOr<RunResult> r = Run(spec);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->outcome, Outcome::kCpuTimeLimit) << Describe(*r);
  EXPECT_GT(r->cpu_time, spec.limits.cpu_time) << Describe(*r);
}

TEST_F(SandboxHostileTest, ChildProcessesCpuTimeIsSummed) {
  Build("burn", kBurner);
  RunSpec spec = Spec({"/box/burn", "processes"});
  spec.limits.cpu_time = absl::Milliseconds(600);
  absl::StatusOr<RunResult> r = Run(spec);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->outcome, Outcome::kCpuTimeLimit) << Describe(*r);
  EXPECT_GT(r->cpu_time, spec.limits.cpu_time) << Describe(*r);
}

TEST_F(SandboxHostileTest, TwoSpinningThreadsHitCpuTimeLimit) {
  Build("spin2", R"(
#include <pthread.h>
static void* Spin(void* arg) { volatile unsigned long n = 0; for (;;) ++n; return arg; }
int main(void) {
  pthread_t t;
  pthread_create(&t, NULL, Spin, NULL);
  Spin(NULL);
}
)");
  RunSpec spec = Spec({"/box/spin2"});
  spec.limits.cpu_time = absl::Seconds(1);
  absl::StatusOr<RunResult> r = Run(spec);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->outcome, Outcome::kCpuTimeLimit) << Describe(*r);
  EXPECT_GE(r->cpu_time, spec.limits.cpu_time) << Describe(*r);
}

constexpr char kBigWriter[] = R"(
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/vfs.h>
#include <unistd.h>
int main(int argc, char** argv) {
  if (argc > 2 && strcmp(argv[2], "ignore-xfsz") == 0) signal(SIGXFSZ, SIG_IGN);
  int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) { printf("open=%s\n", strerrorname_np(errno)); return 1; }
  struct statfs fs;
  if (fstatfs(fd, &fs) == 0) printf("fstype=%lx\n", (unsigned long)fs.f_type);
  static char buf[1 << 20];
  memset(buf, 'z', sizeof(buf));
  long long total = 0;
  while (total < (4LL << 30)) {
    ssize_t n = write(fd, buf, sizeof(buf));
    if (n < 0) {
      printf("write=%s\nwritten=%lld\n", strerrorname_np(errno), total);
      return 0;
    }
    total += n;
  }
  printf("write=OK\nwritten=%lld\n", total);
  return 0;
}
)";

TEST_F(SandboxHostileTest, FourGigabyteWriteToBoxIsFileSizeLimit) {
  Build("bigwrite", kBigWriter);
  RunSpec spec = Spec({"/box/bigwrite", "/box/big"});
  spec.box_writable = true;
  spec.limits.file_size_bytes = 16 * kMiB;
  spec.limits.cpu_time = absl::Seconds(5);
  absl::StatusOr<RunResult> r = Run(spec);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->outcome, Outcome::kFileSizeLimit) << Describe(*r);
  struct stat st;
  ASSERT_EQ(stat((box_dir_ + "/big").c_str(), &st), 0);
  EXPECT_LE(st.st_size, spec.limits.file_size_bytes);
  EXPECT_GT(st.st_size, 0);
  EXPECT_EQ(st.st_uid, box_uid());
}

TEST_F(SandboxHostileTest, FileSizeLimitHoldsWhenSigxfszIsIgnored) {
  Build("bigwrite", kBigWriter);
  RunSpec spec = Spec({"/box/bigwrite", "/box/big", "ignore-xfsz"});
  spec.box_writable = true;
  spec.limits.file_size_bytes = 16 * kMiB;
  spec.limits.cpu_time = absl::Seconds(5);
  absl::StatusOr<RunResult> r = Run(spec);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->outcome, Outcome::kExited) << Describe(*r);
  std::map<std::string, std::string> kv = ParseKeyValues(r->stdout_data);
  EXPECT_EQ(kv["write"], "EFBIG") << Describe(*r);
  struct stat st;
  ASSERT_EQ(stat((box_dir_ + "/big").c_str(), &st), 0);
  EXPECT_EQ(st.st_size, spec.limits.file_size_bytes);
}

TEST_F(SandboxHostileTest, FourGigabyteWriteToTmpFillsOnlyItsTmpfs) {
  Build("bigwrite", kBigWriter);
  RunSpec spec = Spec({"/box/bigwrite", "/tmp/big"});
  spec.limits.file_size_bytes = 0;  // no RLIMIT_FSIZE: the tmpfs size stops it
  spec.limits.tmp_bytes = 32 * kMiB;
  spec.limits.cpu_time = absl::Seconds(5);
  absl::StatusOr<RunResult> r = Run(spec);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->outcome, Outcome::kExited) << Describe(*r);
  std::map<std::string, std::string> kv = ParseKeyValues(r->stdout_data);
  EXPECT_EQ(kv["fstype"], "1021994") << "not a tmpfs; " << Describe(*r);
  EXPECT_EQ(kv["write"], "ENOSPC") << Describe(*r);
  int64_t written = -1;
  ASSERT_TRUE(absl::SimpleAtoi(kv["written"], &written)) << Describe(*r);
  EXPECT_LE(written, spec.limits.tmp_bytes);
}

TEST_F(SandboxHostileTest, SegfaultIsSignaled) {
  Build("segv", "int main(void) { *(volatile int*)0 = 1; return 0; }\n");
  absl::StatusOr<RunResult> r = Run(Spec({"/box/segv"}));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->outcome, Outcome::kSignaled) << Describe(*r);
  EXPECT_EQ(r->term_signal, SIGSEGV) << Describe(*r);
}

TEST_F(SandboxHostileTest, AbortIsSignaled) {
  Build("abort", "#include <stdlib.h>\nint main(void) { abort(); }\n");
  absl::StatusOr<RunResult> r = Run(Spec({"/box/abort"}));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->outcome, Outcome::kSignaled) << Describe(*r);
  EXPECT_EQ(r->term_signal, SIGABRT) << Describe(*r);
}

TEST_F(SandboxHostileTest, ExitCodeIsReported) {
  Build("exit3", "int main(void) { return 3; }\n");
  absl::StatusOr<RunResult> r = Run(Spec({"/box/exit3"}));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->outcome, Outcome::kExited) << Describe(*r);
  EXPECT_EQ(r->exit_code, 3);
  EXPECT_EQ(r->term_signal, 0);
  absl::StatusOr<RunResult> ok = Run(Spec({"/bin/true"}));
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->outcome, Outcome::kExited) << Describe(*ok);
  EXPECT_EQ(ok->exit_code, 0);
}

TEST_F(SandboxHostileTest, EightMegabytesOfStdinAreEchoed) {
  std::string input(8 * kMiB, '\0');
  std::mt19937 rng(42);
  for (char& c : input) c = static_cast<char>(rng());
  RunSpec spec = Spec({"/bin/cat"});
  spec.stdin_data = input;
  spec.limits.output_bytes = 8 * kMiB;
  spec.limits.cpu_time = absl::Seconds(5);
  absl::StatusOr<RunResult> r = Run(spec);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->outcome, Outcome::kExited) << OutcomeName(r->outcome);
  EXPECT_EQ(r->exit_code, 0);
  EXPECT_FALSE(r->stdout_truncated);
  EXPECT_EQ(r->stdout_data.size(), input.size());
  EXPECT_TRUE(r->stdout_data == input) << "echoed data differs";
}

TEST_F(SandboxHostileTest, UnreadStdinDoesNotBlockTheRunner) {
  Build("noread", "#include <unistd.h>\nint main(void) { sleep(1); return 0; }\n");
  RunSpec spec = Spec({"/box/noread"});
  spec.stdin_data = std::string(8 * kMiB, 'i');
  absl::StatusOr<RunResult> r = Run(spec);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->outcome, Outcome::kExited) << Describe(*r);
  EXPECT_EQ(r->exit_code, 0);
}

TEST_F(SandboxHostileTest, JavaThreadBombEndsAndLeavesNothing) {
  // Keeps making threads after the first failure, as a hostile program would.
  const std::string java_dir = dir_->Sub("java");
  ASSERT_EQ(mkdir(java_dir.c_str(), 0755), 0);
  ASSERT_TRUE(WriteFile(java_dir + "/Main.java", R"(
public class Main {
  public static void main(String[] args) {
    System.out.println("started");
    System.out.flush();
    int created = 0;
    boolean reported = false;
    while (true) {
      try {
        Thread t = new Thread(() -> {
          try { Thread.sleep(1000000); } catch (InterruptedException e) {}
        });
        t.start();
        ++created;
      } catch (Throwable e) {
        if (!reported) {
          System.out.println("failed_at=" + created);
          System.out.flush();
          reported = true;
        }
      }
    }
  }
}
)").ok());
  std::string javac_output;
  absl::Status javac = RunHostCommand(
      {"/usr/bin/javac", "-d", box_dir_, java_dir + "/Main.java"},
      &javac_output);
  ASSERT_TRUE(javac.ok()) << javac << "\n" << javac_output;
  RunSpec spec = Spec({"/usr/bin/java", "-Xmx256m", "-XX:+UseSerialGC", "-cp",
                       "/box", "Main"});
  spec.limits.memory_bytes = 1024 * kMiB;
  spec.limits.pids = 128;
  spec.limits.cpu_time = absl::Seconds(2);
  absl::StatusOr<RunResult> r = Run(spec);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(absl::StartsWith(r->stdout_data, "started\n")) << Describe(*r);
  std::map<std::string, std::string> kv = ParseKeyValues(r->stdout_data);
  int failed_at = -1;
  ASSERT_TRUE(absl::SimpleAtoi(kv["failed_at"], &failed_at)) << Describe(*r);
  EXPECT_LT(failed_at, spec.limits.pids);
  EXPECT_FALSE(r->outcome == Outcome::kExited && r->exit_code == 0)
      << Describe(*r);
}

}  // namespace
}  // namespace scrc::sandbox::testing
