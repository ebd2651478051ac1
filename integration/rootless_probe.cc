// Runs a few boxes as whatever user starts it and prints what came of them
// as "run.key=value" lines; sandbox_rootless_test starts it as `nobody`.
//
// Usage: rootless_probe <state_dir> <box_dir>
// The box dir holds the programs the test compiled: membomb, environ.
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "sandbox/cgroup.h"
#include "sandbox/run_spec.h"
#include "sandbox/sandbox.h"

namespace scrc::sandbox {
namespace {

// Prints the result of one run; stdout lines come out as name.out.<line>.
bool RunAndPrint(Sandbox& sandbox, const std::string& name, RunSpec spec) {
  absl::StatusOr<RunResult> r = sandbox.Run(spec);
  if (!r.ok()) {
    printf("%s.error=%s\n", name.c_str(), r.status().ToString().c_str());
    return false;
  }
  const char* n = name.c_str();
  printf("%s.outcome=%s\n%s.exit=%d\n%s.wall_ms=%lld\n%s.peak=%lld\n"
         "%s.warnings=%s\n",
         n, OutcomeName(r->outcome), n, r->exit_code, n,
         static_cast<long long>(absl::ToInt64Milliseconds(r->wall_time)), n,
         static_cast<long long>(r->peak_memory_bytes), n,
         absl::StrJoin(r->warnings, "; ").c_str());
  for (absl::string_view line :
       absl::StrSplit(r->stdout_data, '\n', absl::SkipEmpty())) {
    printf("%s.out.%s\n", name.c_str(), std::string(line).c_str());
  }
  fflush(stdout);
  return true;
}

int Main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s <state_dir> <box_dir>\n", argv[0]);
    return 2;
  }
  // Whatever happens below, the probe must not hang its test.
  alarm(120);
  printf("probe.uid=%d\n", static_cast<int>(geteuid()));
  std::unique_ptr<Cgroups> cgroups = Cgroups::Detect("");
  printf("probe.cgroup_version=%d\n", cgroups->capabilities().version);
  SandboxOptions options;
  options.slot_name = "rootless";
  options.state_dir = argv[1];
  absl::StatusOr<std::unique_ptr<Sandbox>> sandbox =
      Sandbox::Create(options, cgroups.get());
  if (!sandbox.ok()) {
    printf("probe.create_error=%s\n", sandbox.status().ToString().c_str());
    return 1;
  }
  auto spec = [&](std::vector<std::string> args) {
    RunSpec s;
    s.argv = std::move(args);
    s.env = {"PATH=/usr/bin:/bin"};
    s.box_dir = argv[2];
    s.limits.cpu_time = absl::Seconds(1);
    s.limits.wall_time = absl::Seconds(3);
    return s;
  };
  // Only the bomb gets a memory limit: rootless, that is RLIMIT_AS, which an
  // ASan build's box init (a copy of this process) cannot live under.
  RunSpec membomb = spec({"/box/membomb"});
  membomb.limits.memory_bytes = 64 << 20;
  bool ok = RunAndPrint(**sandbox, "true", spec({"/bin/true"}));
  ok &= RunAndPrint(**sandbox, "id",
                    spec({"/bin/sh", "-c", "echo uid=$(id -u)"}));
  ok &= RunAndPrint(**sandbox, "membomb", membomb);
  ok &= RunAndPrint(**sandbox, "environ", spec({"/box/environ"}));
  ok &= RunAndPrint(
      **sandbox, "daemon",
      spec({"/bin/sh", "-c", "setsid sh -c 'sleep 1000 & sleep 1000' & echo started=yes"}));
  return ok ? 0 : 1;
}

}  // namespace
}  // namespace scrc::sandbox

int main(int argc, char** argv) { return scrc::sandbox::Main(argc, argv); }
