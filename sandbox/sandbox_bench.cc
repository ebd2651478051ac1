// Sandbox cost against the physical limit: the same program started bare
// (fork + exec + wait, stdout through a pipe) and in a box, interleaved so
// all see the same machine load. Prints median wall times and the ratios.
// Two boxes per program: "cold" builds the box inside the measured call (a
// submission's first test); "warm" runs with RunSpec::next, so its
// box was built while the slot was idle (every later test of a submission).
// Usage: sandbox_bench [--runs N] [--rootfs DIR] [--box DIR] NAME=PROGRAM...
//   e.g. sandbox_bench --box /tmp/b true=/bin/true hello=/box/hello
// A program under /box/ is the file of that name in the --box directory
// (started from there when bare).
// Arguments of one program are joined by ',' : py=/usr/bin/python3,-c,pass
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "sandbox/sandbox.h"

namespace {

using scrc::sandbox::Cgroups;
using scrc::sandbox::RunSpec;
using scrc::sandbox::Sandbox;

absl::Duration Median(std::vector<absl::Duration> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

absl::Duration RunBare(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) std::abort();
  const absl::Time start = absl::Now();
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], 1);
    execv(args[0], args.data());
    _exit(127);
  }
  close(out[1]);
  char buf[4096];
  while (read(out[0], buf, sizeof(buf)) > 0) {
  }
  int status = 0;
  waitpid(pid, &status, 0);
  const absl::Duration took = absl::Now() - start;
  close(out[0]);
  return took;
}

}  // namespace

int main(int argc, char** argv) {
  int runs = 200;
  std::string rootfs;
  std::string box_arg;
  std::vector<std::pair<std::string, std::vector<std::string>>> programs;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--runs" && i + 1 < argc) {
      runs = std::atoi(argv[++i]);
    } else if (arg == "--box" && i + 1 < argc) {
      box_arg = argv[++i];
    } else if (arg == "--rootfs" && i + 1 < argc) {
      rootfs = argv[++i];
    } else if (auto eq = arg.find('='); eq != std::string::npos) {
      programs.push_back({arg.substr(0, eq),
                          absl::StrSplit(arg.substr(eq + 1), ',')});
    } else {
      std::fprintf(stderr, "usage: %s [--runs N] [--rootfs DIR] NAME=PROG[,ARG]...\n",
                   argv[0]);
      return 2;
    }
  }
  auto cgroups = Cgroups::Detect("");
  char state[] = "/tmp/scrc-bench-XXXXXX";
  if (mkdtemp(state) == nullptr) return 1;
  scrc::sandbox::SandboxOptions options;
  options.state_dir = std::string(state) + "/state";
  auto warm_box = Sandbox::Create(options, cgroups.get());
  options.slot_name = "slot1";
  options.slot_index = 1;
  auto cold_box = Sandbox::Create(options, cgroups.get());
  for (auto* created : {&warm_box, &cold_box}) {
    if (!created->ok()) {
      std::fprintf(stderr, "sandbox: %s\n",
                   std::string(created->status().message()).c_str());
      return 1;
    }
  }
  const std::string box =
      box_arg.empty() ? std::string(state) + "/box" : box_arg;
  mkdir(box.c_str(), 0755);
  std::printf("%-10s %9s %9s %9s %9s %9s %7s %7s\n", "program", "bare_ms",
              "cold_ms", "warm_ms", "+cold_ms", "+warm_ms", "cold_x",
              "warm_x");
  std::vector<std::tuple<std::string, double, double, double>> back_to_back;
  for (const auto& [name, program] : programs) {
    RunSpec spec;
    spec.argv = program;
    spec.env = {"PATH=/usr/bin:/bin"};
    spec.box_dir = box;
    spec.rootfs = rootfs;
    spec.limits.cpu_time = absl::Seconds(5);
    spec.limits.memory_bytes = int64_t{256} << 20;
    RunSpec warm_spec = spec;
    warm_spec.next = std::make_shared<RunSpec>(spec);
    std::vector<std::string> bare_program = program;
    for (std::string& arg : bare_program) {
      if (arg.rfind("/box/", 0) == 0) arg = box + arg.substr(4);
    }
    std::vector<absl::Duration> bare, cold, warm;
    auto timed = [&](Sandbox& sandbox, const RunSpec& s,
                     std::vector<absl::Duration>& times) {
      const absl::Time start = absl::Now();
      auto result = sandbox.Run(s);
      times.push_back(absl::Now() - start);
      if (!result.ok() || result->exit_code != 0) {
        std::fprintf(stderr, "%s failed in the box: %s\n", name.c_str(),
                     result.ok() ? result->stderr_data.c_str()
                                 : std::string(result.status().message()).c_str());
        std::exit(1);
      }
    };
    for (int i = 0; i < runs; ++i) {
      bare.push_back(RunBare(bare_program));
      timed(**cold_box, spec, cold);
      timed(**warm_box, warm_spec, warm);
    }
    const double b = absl::ToDoubleMilliseconds(Median(bare));
    const double c = absl::ToDoubleMilliseconds(Median(cold));
    const double w = absl::ToDoubleMilliseconds(Median(warm));
    std::printf("%-10s %9.3f %9.3f %9.3f %9.3f %9.3f %7.2f %7.2f\n",
                name.c_str(), b, c, w, c - b, w - b, c / b, w / b);
    // Back to back, as the tests of one submission run: no idle time
    // between runs, so building the next box competes with this one.
    std::vector<absl::Duration> ignored;
    absl::Time start = absl::Now();
    for (int i = 0; i < runs; ++i) RunBare(bare_program);
    const absl::Duration bare_total = absl::Now() - start;
    start = absl::Now();
    for (int i = 0; i < runs; ++i) timed(**warm_box, warm_spec, ignored);
    const absl::Duration warm_total = absl::Now() - start;
    start = absl::Now();
    for (int i = 0; i < runs; ++i) timed(**cold_box, spec, ignored);
    const absl::Duration cold_total = absl::Now() - start;
    back_to_back.push_back({name, absl::ToDoubleMilliseconds(bare_total) / runs,
                            absl::ToDoubleMilliseconds(cold_total) / runs,
                            absl::ToDoubleMilliseconds(warm_total) / runs});
  }
  std::printf("back to back (mean per run, %d runs in a row):\n", runs);
  std::printf("%-10s %9s %9s %9s %9s %9s %7s %7s\n", "program", "bare_ms",
              "cold_ms", "warm_ms", "+cold_ms", "+warm_ms", "cold_x",
              "warm_x");
  for (const auto& [name, b, c, w] : back_to_back) {
    std::printf("%-10s %9.3f %9.3f %9.3f %9.3f %9.3f %7.2f %7.2f\n",
                name.c_str(), b, c, w, c - b, w - b, c / b, w / b);
  }
  std::string rm = std::string("rm -rf ") + state;
  return std::system(rm.c_str()) == 0 ? 0 : 1;
}
