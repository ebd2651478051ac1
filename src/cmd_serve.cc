// scrc serve [--embedded-kafka [--partitions N] [--bootstrap-file PATH]]
// Consumes script messages from Kafka and publishes their results until
// SIGTERM/SIGINT (drain, commit, exit 0), SCRIPT_EXPECTED submissions, or a
// "done" message. Configuration comes from the environment (CONTRACT.md);
// every problem is listed at once and the exit code is 1.
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "src/commands.h"
#include "src/config.h"
#include "src/contract.h"
#include "src/embedded_kafka.h"
#include "src/executor.h"
#include "src/kafka_config.h"
#include "src/kafka_service.h"
#include "src/profile.h"

namespace scrc {
namespace {

constexpr char kUsage[] =
    "usage: scrc serve [--embedded-kafka [--partitions N] "
    "[--bootstrap-file PATH]]\n"
    "  --embedded-kafka       run an in-process Kafka broker (librdkafka's "
    "mock\n"
    "                         cluster, in memory) instead of KAFKA_BROKERS\n"
    "  --partitions N         partitions of its topics (default 3)\n"
    "  --bootstrap-file PATH  write its address there once it is up\n"
    "environment: see CONTRACT.md (KAFKA_*, RUNNER_*, SCRIPT_EXPECTED, "
    "SCRC_*)\n";

struct ServeArgs {
  bool embedded = false;
  int partitions = 3;
  std::string bootstrap_file;
};

std::atomic<bool> g_stop{false};
std::atomic<int64_t> g_first_signal_ms{0};

int64_t MonotonicMs() {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);  // async-signal-safe
  return int64_t{now.tv_sec} * 1000 + now.tv_nsec / 1000000;
}

void OnStopSignal(int) {
  if (!g_stop.exchange(true)) {
    g_first_signal_ms = MonotonicMs();
    return;
  }
  // A second signal, later than the echo of the first that `timeout` or a
  // shell may send to the whole process group: the operator does not want
  // to wait for the drain.
  if (MonotonicMs() - g_first_signal_ms < 1000) return;
  static const char kMessage[] =
      "scrc serve: second signal, exiting without draining\n";
  (void)!write(STDERR_FILENO, kMessage, sizeof(kMessage) - 1);
  _exit(130);
}

bool ParseArgs(const Args& args, ServeArgs& out) {
  bool partitions_set = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    const bool has_value = i + 1 < args.size();
    if (a == "--embedded-kafka") {
      out.embedded = true;
    } else if (a == "--partitions" && has_value) {
      if (!absl::SimpleAtoi(args[++i], &out.partitions) || out.partitions < 1 ||
          out.partitions > 1000) {
        return false;
      }
      partitions_set = true;
    } else if (a == "--bootstrap-file" && has_value) {
      out.bootstrap_file = args[++i];
    } else {
      return false;
    }
  }
  // These shape the embedded broker only.
  return out.embedded || (!partitions_set && out.bootstrap_file.empty());
}

std::string DescribeExecutorOptions(const ExecutorOptions& o,
                                    const std::vector<std::string>& languages) {
  std::string out;
  const auto line = [&out](const char* name, const std::string& value) {
    absl::StrAppendFormat(&out, "  %-24s %s\n", name, value);
  };
  line("RUNNER_MAX_PARALLEL", absl::StrCat(o.parallel));
  line("RUNNER_TIME_LIMIT", o.default_time_limit == absl::ZeroDuration()
                                ? "0 (profile default)"
                                : absl::FormatDuration(o.default_time_limit));
  line("RUNNER_MEMORY_LIMIT", o.default_memory_limit == 0
                                  ? "0 (profile default)"
                                  : absl::StrCat(o.default_memory_limit));
  line("RUNNER_MAX_OUTPUT_BYTES", absl::StrCat(o.max_output_bytes));
  line("SCRC_WORK_DIR", o.work_dir);
  line("SCRC_PROFILES_DIR", o.profiles_dir);
  line("SCRC_ROOTFS_DIR", o.rootfs_dir.empty() ? "(unset)" : o.rootfs_dir);
  line("languages", absl::StrJoin(languages, ", "));
  return out;
}

// Written whole, then renamed: a reader never sees half an address.
bool WriteBootstrapFile(const std::string& path, const std::string& address) {
  const std::string tmp = absl::StrCat(path, ".tmp");
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << address << "\n";
    if (!out.good()) return false;
  }
  return std::rename(tmp.c_str(), path.c_str()) == 0;
}

void Fail(const absl::Status& status) {
  std::fprintf(stderr, "scrc serve: %s\n",
               std::string(status.message()).c_str());
}

}  // namespace

int ServeCommand(const Args& args) {
  ServeArgs serve;
  if (!ParseArgs(args, serve)) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  ConfigErrors errors;
  const EnvLookup env = ProcessEnv();
  const ExecutorOptions executor_options = ReadExecutorOptions(env, errors);
  KafkaConfig kafka = ReadKafkaConfig(env, errors);
  if (absl::Status s = errors.ToStatus(); !s.ok()) {
    Fail(s);
    return 1;
  }
  auto profiles = LoadProfiles(executor_options.profiles_dir);
  if (!profiles.ok()) {
    Fail(profiles.status());
    return 1;
  }

  std::unique_ptr<EmbeddedKafka> embedded;
  if (serve.embedded) {
    auto started = EmbeddedKafka::Start({kafka.topic, kafka.results_topic},
                                        serve.partitions);
    if (!started.ok()) {
      Fail(started.status());
      return 1;
    }
    embedded = *std::move(started);
    kafka.brokers = embedded->bootstrap();
    kafka.security_protocol.clear();
    kafka.sasl_username.clear();
    std::printf("KAFKA_BROKERS=%s\n", kafka.brokers.c_str());
    std::fflush(stdout);
    if (!serve.bootstrap_file.empty() &&
        !WriteBootstrapFile(serve.bootstrap_file, kafka.brokers)) {
      Fail(absl::InternalError(absl::StrCat("write ", serve.bootstrap_file,
                                            ": ", std::strerror(errno))));
      return 1;
    }
  }

  const std::vector<std::string> languages = profiles->Languages();
  std::fprintf(stderr, "scrc serve: configuration\n%s%s%s",
               DescribeKafkaConfig(kafka).c_str(),
               DescribeExecutorOptions(executor_options, languages).c_str(),
               embedded
                   ? absl::StrFormat("  %-24s %s (%d partitions, in memory)\n",
                                     "embedded Kafka broker", kafka.brokers,
                                     serve.partitions)
                         .c_str()
                   : "");

  auto executor = Executor::Create(executor_options);
  if (!executor.ok()) {
    Fail(executor.status());
    return 1;
  }

  struct sigaction action = {};
  action.sa_handler = OnStopSignal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);
  signal(SIGPIPE, SIG_IGN);

  KafkaServiceOptions options;
  options.common = KafkaCommonProperties(kafka);
  options.topic = kafka.topic;
  options.results_topic = kafka.results_topic;
  options.group_id = kafka.group_id;
  options.parallel = executor_options.parallel;
  options.script_expected = kafka.script_expected;
  options.contract.languages = languages;
  KafkaService service(std::move(options), executor->get(), &g_stop);
  return service.Run();
}

}  // namespace scrc
