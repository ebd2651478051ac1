// scrc run [--parallel N] FILE|- [FILE...]: judges script messages exactly
// as the service would and prints the result messages, one line each, in
// the order of the files. Several files share one executor with N slots,
// so this is also the service's judging without Kafka (scripts/bench-kafka
// measures against it). The verdict is in the JSON; the exit code says
// only whether scrc itself could do its job (0), was misused (2) or is
// misconfigured (1).
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "src/commands.h"
#include "src/config.h"
#include "src/contract.h"
#include "src/executor.h"

namespace scrc {
namespace {

constexpr char kRunUsage[] =
    "usage: scrc run [--parallel N] FILE|- [FILE...]\n"
    "  Judges script messages (JSON, CONTRACT.md) read from the FILEs or\n"
    "  stdin (\"-\", once) and prints each result message on one line of\n"
    "  stdout, in the order of the FILEs. --parallel N: judge on N slots of\n"
    "  one executor, as `scrc serve` with RUNNER_MAX_PARALLEL=N (default 1).\n"
    "  Exit code 0 whatever the verdicts; 1 for a configuration error; 2 for\n"
    "  unusable arguments.\n"
    "  Configuration: RUNNER_TIME_LIMIT, RUNNER_MEMORY_LIMIT,\n"
    "  RUNNER_MAX_OUTPUT_BYTES, SCRC_WORK_DIR, SCRC_PROFILES_DIR,\n"
    "  SCRC_ROOTFS_DIR, SCRC_CGROUP_PARENT.\n";

struct RunArgs {
  int parallel = 1;
  std::vector<std::string> files;
};

// An error message, or empty when the arguments are usable.
std::string ParseRunArgs(const Args& args, RunArgs& out) {
  bool stdin_seen = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--parallel") {
      if (i + 1 == args.size() || !absl::SimpleAtoi(args[i + 1], &out.parallel) ||
          out.parallel < 1 || out.parallel > 1024) {
        return "--parallel wants a number from 1 to 1024";
      }
      ++i;
    } else if (a == "-") {
      if (stdin_seen) return "- (stdin) given twice";
      stdin_seen = true;
      out.files.push_back(a);
    } else if (a.empty() || a[0] == '-') {
      return absl::StrCat("unknown option '", a, "'");
    } else {
      out.files.push_back(a);
    }
  }
  if (out.files.empty()) return "missing FILE (or - for stdin)";
  return "";
}

std::string BaseName(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// The message in `file`, or nullopt after printing why it cannot be read.
std::optional<std::string> ReadMessage(const std::string& file) {
  if (file == "-") {
    return std::string(std::istreambuf_iterator<char>(std::cin),
                       std::istreambuf_iterator<char>());
  }
  struct stat st;
  int err = stat(file.c_str(), &st) != 0 ? errno
            : S_ISDIR(st.st_mode)        ? EISDIR
                                         : 0;
  std::ifstream in(file, std::ios::binary);
  if (err == 0 && !in) err = errno != 0 ? errno : EIO;
  if (err != 0) {
    std::fprintf(stderr, "scrc run: cannot read '%s': %s\n%s", file.c_str(),
                 std::strerror(err), kRunUsage);
    return std::nullopt;
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

Result JudgeMessage(Executor& executor, const ContractOptions& contract,
                    const std::string& file, const std::string& message) {
  const std::string fallback_id =
      absl::StrCat("run-", file == "-" ? "stdin" : BaseName(file));
  ParsedMessage parsed = ParseScriptMessage(message, fallback_id, contract);
  if (!parsed.error.ok()) {
    return MakeErrorResult(parsed.id, std::string(parsed.error.message()));
  }
  if (parsed.kind == ParsedMessage::kDone) {
    return MakeErrorResult(
        parsed.id, "type: \"done\" marks the end of a stream; nothing to judge");
  }
  return executor.Judge(parsed.script);
}

}  // namespace

int RunCommand(const Args& args) {
  if (args.size() == 1 && (args[0] == "-h" || args[0] == "--help")) {
    std::fputs(kRunUsage, stdout);
    return 0;
  }
  RunArgs run;
  if (const std::string error = ParseRunArgs(args, run); !error.empty()) {
    std::fprintf(stderr, "scrc run: %s\n%s", error.c_str(), kRunUsage);
    return 2;
  }
  // All read first: an unreadable file is a usage error before any work.
  std::vector<std::string> messages;
  for (const std::string& file : run.files) {
    std::optional<std::string> message = ReadMessage(file);
    if (!message) return 2;
    messages.push_back(*std::move(message));
  }

  ConfigErrors errors;
  ExecutorOptions options = ReadExecutorOptions(ProcessEnv(), errors);
  if (absl::Status s = errors.ToStatus(); !s.ok()) {
    std::fprintf(stderr, "scrc run: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  const int slots =
      std::min(run.parallel, static_cast<int>(run.files.size()));
  options.parallel = slots;
  absl::StatusOr<std::unique_ptr<Executor>> executor = Executor::Create(options);
  if (!executor.ok()) {
    std::fprintf(stderr, "scrc run: %s\n",
                 std::string(executor.status().message()).c_str());
    return 1;
  }
  ContractOptions contract;
  contract.languages = (*executor)->Languages();

  // Workers take the files in order; each result is printed as soon as it
  // and all before it are done, so the output follows the files.
  std::atomic<size_t> next_file{0};
  absl::Mutex out_mu;
  std::vector<std::optional<std::string>> done(run.files.size());
  size_t next_print = 0;
  bool write_failed = false;
  const auto worker = [&] {
    for (size_t i = next_file++; i < run.files.size(); i = next_file++) {
      std::string json = SerializeResult(
          JudgeMessage(**executor, contract, run.files[i], messages[i]));
      json.push_back('\n');
      absl::MutexLock lock(&out_mu);
      done[i] = std::move(json);
      for (; next_print < done.size() && done[next_print]; ++next_print) {
        const std::string& line = *done[next_print];
        if (std::fwrite(line.data(), 1, line.size(), stdout) != line.size()) {
          write_failed = true;
        }
        done[next_print].reset();
      }
      if (std::fflush(stdout) != 0) write_failed = true;
    }
  };
  std::vector<std::thread> workers;
  for (int i = 1; i < slots; ++i) workers.emplace_back(worker);
  worker();
  for (std::thread& t : workers) t.join();
  return write_failed ? 1 : 0;
}

}  // namespace scrc
