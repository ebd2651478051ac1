// scrc run FILE|-: judges one script message exactly as the service would
// and prints the result message. The verdict is in the JSON; the exit code
// says only whether scrc itself could do its job (0), was misused (2) or
// is misconfigured (1).
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "src/commands.h"
#include "src/config.h"
#include "src/contract.h"
#include "src/executor.h"

namespace scrc {
namespace {

constexpr char kRunUsage[] =
    "usage: scrc run FILE|-\n"
    "  Judges one script message (JSON, CONTRACT.md) read from FILE or stdin\n"
    "  and prints the result message on stdout. Exit code 0 whatever the\n"
    "  verdict; 1 for a configuration error; 2 for unusable arguments.\n"
    "  Configuration: RUNNER_TIME_LIMIT, RUNNER_MEMORY_LIMIT,\n"
    "  RUNNER_MAX_OUTPUT_BYTES, SCRC_WORK_DIR, SCRC_PROFILES_DIR,\n"
    "  SCRC_ROOTFS_DIR, SCRC_CGROUP_PARENT.\n";

std::string BaseName(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

int RunCommand(const Args& args) {
  if (args.size() == 1 && (args[0] == "-h" || args[0] == "--help")) {
    std::fputs(kRunUsage, stdout);
    return 0;
  }
  if (args.size() != 1) {
    std::fprintf(stderr, "scrc run: %s\n%s",
                 args.empty() ? "missing FILE (or - for stdin)"
                              : "too many arguments",
                 kRunUsage);
    return 2;
  }
  const std::string& file = args[0];
  std::string message;
  if (file == "-") {
    message.assign(std::istreambuf_iterator<char>(std::cin),
                   std::istreambuf_iterator<char>());
  } else {
    struct stat st;
    int err = stat(file.c_str(), &st) != 0 ? errno
              : S_ISDIR(st.st_mode)        ? EISDIR
                                           : 0;
    std::ifstream in(file, std::ios::binary);
    if (err == 0 && !in) err = errno != 0 ? errno : EIO;
    if (err != 0) {
      std::fprintf(stderr, "scrc run: cannot read '%s': %s\n%s", file.c_str(),
                   std::strerror(err), kRunUsage);
      return 2;
    }
    std::ostringstream text;
    text << in.rdbuf();
    message = text.str();
  }

  ConfigErrors errors;
  ExecutorOptions options = ReadExecutorOptions(ProcessEnv(), errors);
  if (absl::Status s = errors.ToStatus(); !s.ok()) {
    std::fprintf(stderr, "scrc run: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  options.parallel = 1;  // one submission: one slot
  absl::StatusOr<std::unique_ptr<Executor>> executor = Executor::Create(options);
  if (!executor.ok()) {
    std::fprintf(stderr, "scrc run: %s\n",
                 std::string(executor.status().message()).c_str());
    return 1;
  }

  ContractOptions contract;
  contract.languages = (*executor)->Languages();
  const std::string fallback_id =
      absl::StrCat("run-", file == "-" ? "stdin" : BaseName(file));
  ParsedMessage parsed = ParseScriptMessage(message, fallback_id, contract);
  Result result;
  if (!parsed.error.ok()) {
    result = MakeErrorResult(parsed.id, std::string(parsed.error.message()));
  } else if (parsed.kind == ParsedMessage::kDone) {
    result = MakeErrorResult(
        parsed.id, "type: \"done\" marks the end of a stream; nothing to judge");
  } else {
    result = (*executor)->Judge(parsed.script);
  }
  const std::string json = SerializeResult(result);
  std::fwrite(json.data(), 1, json.size(), stdout);
  std::fputc('\n', stdout);
  return std::fflush(stdout) == 0 ? 0 : 1;
}

}  // namespace scrc
