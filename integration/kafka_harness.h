// Shared by the integration/kafka_*_test.cc files: the real broker from
// scripts/kafka (127.0.0.1:9092, or KAFKA_TEST_BROKERS), real `scrc serve`
// processes, and helpers to send submissions, collect results and read the
// group's committed offsets. Waits are bounded by generous guards so a
// broken runner fails the test instead of hanging it; nothing here asserts
// on how long anything took.
#ifndef SCRC_INTEGRATION_KAFKA_HARNESS_H_
#define SCRC_INTEGRATION_KAFKA_HARNESS_H_

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"
#include "src/kafka_client.h"
#include "src/kafka_producer.h"
#include "src/result_table.h"
#include "src/results_tail.h"

extern char** environ;

namespace scrc::kafka_test {

inline std::string Brokers() {
  const char* env = std::getenv("KAFKA_TEST_BROKERS");
  return env != nullptr && *env != '\0' ? env : "127.0.0.1:9092";
}

inline KafkaProperties Common() {
  return {{"bootstrap.servers", Brokers()}, {"message.max.bytes", "67108864"}};
}

// Empty when the broker answers metadata, else why not.
inline std::string CheckBroker() {
  auto conf = MakeKafkaConf(Common(), "test");
  if (!conf.ok()) return std::string(conf.status().message());
  auto rk = NewKafkaHandle(RD_KAFKA_PRODUCER, *std::move(conf));
  if (!rk.ok()) return std::string(rk.status().message());
  const rd_kafka_metadata_t* metadata = nullptr;
  const rd_kafka_resp_err_t err =
      rd_kafka_metadata(rk->get(), 0, nullptr, &metadata, 10000);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return rd_kafka_err2str(err);
  rd_kafka_metadata_destroy(metadata);
  return "";
}

// Asked once per test binary: every Kafka test skips at once without one.
inline const std::string& BrokerProblem() {
  static const std::string* problem = new std::string(CheckBroker());
  return *problem;
}

#define SCRC_REQUIRE_BROKER()                                                \
  do {                                                                       \
    const std::string problem = ::scrc::kafka_test::BrokerProblem();         \
    if (!problem.empty()) {                                                  \
      GTEST_SKIP() << "no Kafka broker at " << ::scrc::kafka_test::Brokers() \
                   << " (" << problem                                        \
                   << "); start one with scripts/kafka start";               \
    }                                                                        \
  } while (0)

// Topic and group names no earlier run used.
inline std::string UniqueName(const std::string& prefix) {
  return absl::StrCat("scrc-test-", prefix, "-", getpid(), "-",
                      absl::ToUnixMillis(absl::Now()));
}

inline absl::Status CreateTopic(const std::string& name, int partitions) {
  auto conf = MakeKafkaConf(Common(), "test");
  if (!conf.ok()) return conf.status();
  auto rk = NewKafkaHandle(RD_KAFKA_PRODUCER, *std::move(conf));
  if (!rk.ok()) return rk.status();
  char error[512];
  rd_kafka_NewTopic_t* topic =
      rd_kafka_NewTopic_new(name.c_str(), partitions, 1, error, sizeof(error));
  if (topic == nullptr) return absl::InvalidArgumentError(error);
  rd_kafka_queue_t* queue = rd_kafka_queue_new(rk->get());
  rd_kafka_CreateTopics(rk->get(), &topic, 1, nullptr, queue);
  rd_kafka_event_t* event = rd_kafka_queue_poll(queue, 30000);
  absl::Status status = absl::DeadlineExceededError("create topic: no answer");
  if (event != nullptr) {
    status = absl::OkStatus();
    if (rd_kafka_event_error(event) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      status = absl::InternalError(rd_kafka_event_error_string(event));
    } else {
      size_t count = 0;
      const rd_kafka_topic_result_t** results =
          rd_kafka_CreateTopics_result_topics(
              rd_kafka_event_CreateTopics_result(event), &count);
      for (size_t i = 0; i < count; ++i) {
        if (rd_kafka_topic_result_error(results[i]) !=
            RD_KAFKA_RESP_ERR_NO_ERROR) {
          status = absl::InternalError(
              absl::StrCat("create topic ", name, ": ",
                           rd_kafka_topic_result_error_string(results[i])));
        }
      }
    }
    rd_kafka_event_destroy(event);
  }
  rd_kafka_queue_destroy(queue);
  rd_kafka_NewTopic_destroy(topic);
  return status;
}

// One script message, serialized with RapidJSON so sources need no hand
// escaping. `tests`: (input, expected_output) pairs.
struct ScriptSpec {
  std::string id;
  std::string language;
  std::string source;
  std::vector<std::pair<std::string, std::string>> tests;
  int64_t time_limit_ms = 0;
  int64_t memory_limit_bytes = 0;
};

inline std::string ScriptJson(const ScriptSpec& spec) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.StartObject();
  w.Key("type");
  w.String("script");
  if (!spec.id.empty()) {
    w.Key("id");
    w.String(spec.id.c_str());
  }
  w.Key("language");
  w.String(spec.language.c_str());
  w.Key("source");
  w.String(spec.source.data(), spec.source.size());
  w.Key("limits");
  w.StartObject();
  w.Key("time_limit_ms");
  w.Int64(spec.time_limit_ms);
  w.Key("memory_limit_bytes");
  w.Int64(spec.memory_limit_bytes);
  w.EndObject();
  w.Key("tests");
  w.StartArray();
  for (const auto& [input, expected] : spec.tests) {
    w.StartObject();
    w.Key("input");
    w.String(input.c_str());
    w.Key("expected_output");
    w.String(expected.c_str());
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return buffer.GetString();
}

// Sends messages and waits until the broker acknowledged all of them.
class Sender {
 public:
  Sender() {
    auto producer = KafkaProducer::Create(Common(), "test");
    if (producer.ok()) producer_ = *std::move(producer);
  }
  bool ok() const { return producer_ != nullptr; }

  void Send(const std::string& topic, const std::string& key,
            const std::string& value) {
    producer_->Publish(topic, key, value, [this, key](absl::Status s) {
      if (s.ok()) return;
      absl::MutexLock lock(&mu_);
      failures_.push_back(absl::StrCat(key, ": ", s.message()));
    });
  }

  // Failures so far (after waiting for every acknowledgement).
  std::vector<std::string> Flush() {
    absl::Status s = producer_->Flush(absl::Minutes(2));
    absl::MutexLock lock(&mu_);
    if (!s.ok()) failures_.push_back(std::string(s.message()));
    return failures_;
  }

 private:
  absl::Mutex mu_;
  std::vector<std::string> failures_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<KafkaProducer> producer_;
};

// Sends `count` scripts with ids <prefix>0, <prefix>1, ... to `topic`, each
// made by `make(id, i)`; returns the ids. Flush the sender afterwards.
inline std::vector<std::string> SendNumbered(
    Sender& sender, const std::string& topic, const std::string& prefix,
    int count,
    const std::function<ScriptSpec(const std::string&, int)>& make) {
  std::vector<std::string> ids;
  for (int i = 0; i < count; ++i) {
    const std::string id = absl::StrCat(prefix, i);
    ids.push_back(id);
    sender.Send(topic, id, ScriptJson(make(id, i)));
  }
  return ids;
}

// Every result on a topic, by id (more than one entry: a duplicate).
class ResultCollector {
 public:
  explicit ResultCollector(const std::string& topic) {
    auto tail = ResultsTail::Open(Common(), topic, absl::Seconds(30), true);
    if (tail.ok()) tail_ = *std::move(tail);
  }
  bool ok() const { return tail_ != nullptr; }

  void PollOnce(absl::Duration wait) {
    for (TailRecord& record : tail_->Poll(wait)) {
      auto summary = ParseResultSummary(record.value);
      const std::string id = summary.ok() ? summary->id : "(unparsable)";
      by_id_[id].push_back(std::move(record.value));
      keys_[id].push_back(std::move(record.key));
    }
  }

  // Polls until every id in `ids` has a result, `guard` passes, or
  // `alive` (the runners) says false. Returns true when all arrived.
  bool WaitFor(const std::vector<std::string>& ids, absl::Duration guard,
               const std::function<bool()>& alive = nullptr) {
    const absl::Time deadline = absl::Now() + guard;
    while (absl::Now() < deadline) {
      if (MissingOf(ids).empty()) return true;
      if (alive && !alive()) {
        PollOnce(absl::Seconds(2));  // what was published before the end
        break;
      }
      PollOnce(absl::Milliseconds(200));
    }
    return MissingOf(ids).empty();
  }

  std::vector<std::string> MissingOf(
      const std::vector<std::string>& ids) const {
    std::vector<std::string> missing;
    for (const std::string& id : ids) {
      if (!by_id_.contains(id)) missing.push_back(id);
    }
    return missing;
  }

  size_t Count() const {
    size_t n = 0;
    for (const auto& [id, values] : by_id_) n += values.size();
    return n;
  }
  int Duplicates() const {
    int n = 0;
    for (const auto& [id, values] : by_id_) n += values.size() - 1;
    return n;
  }
  const std::map<std::string, std::vector<std::string>>& by_id() const {
    return by_id_;
  }
  const std::map<std::string, std::vector<std::string>>& keys() const {
    return keys_;
  }
  // The first result of `id`, parsed.
  ResultSummary Summary(const std::string& id) const {
    auto it = by_id_.find(id);
    if (it == by_id_.end()) return {};
    auto s = ParseResultSummary(it->second.front());
    return s.ok() ? *s : ResultSummary{};
  }

 private:
  std::unique_ptr<ResultsTail> tail_;
  std::map<std::string, std::vector<std::string>> by_id_;
  std::map<std::string, std::vector<std::string>> keys_;
};

// Committed offsets of `group` and end offsets, per partition of `topic`.
struct Offsets {
  std::vector<int64_t> committed;  // RD_KAFKA_OFFSET_INVALID when none
  std::vector<int64_t> end;
};

inline Offsets GroupOffsets(const std::string& group, const std::string& topic,
                            int partitions) {
  Offsets out;
  KafkaProperties properties = Common();
  properties.emplace_back("group.id", group);
  auto conf = MakeKafkaConf(properties, "test");
  if (!conf.ok()) return out;
  auto rk = NewKafkaHandle(RD_KAFKA_CONSUMER, *std::move(conf));
  if (!rk.ok()) return out;
  KafkaPartitionList list(rd_kafka_topic_partition_list_new(partitions));
  for (int p = 0; p < partitions; ++p) {
    rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), p);
  }
  if (rd_kafka_committed(rk->get(), list.get(), 30000) !=
      RD_KAFKA_RESP_ERR_NO_ERROR) {
    return out;
  }
  for (int p = 0; p < partitions; ++p) {
    out.committed.push_back(list->elems[p].offset);
    int64_t low = 0, high = 0;
    rd_kafka_query_watermark_offsets(rk->get(), topic.c_str(), p, &low, &high,
                                     30000);
    out.end.push_back(high);
  }
  rd_kafka_consumer_close(rk->get());
  return out;
}

// A `scrc serve` subprocess with the test's environment on top of ours;
// its stderr goes to a log file shown when a test fails.
class ServeProcess {
 public:
  ServeProcess(const std::map<std::string, std::string>& env,
               const std::string& name)
      : log_path_(absl::StrCat(::testing::TempDir(), "/", name, ".log")) {
    std::map<std::string, std::string> merged;
    for (char** e = environ; *e != nullptr; ++e) {
      const std::string entry(*e);
      const size_t eq = entry.find('=');
      if (eq != std::string::npos) {
        merged[entry.substr(0, eq)] = entry.substr(eq + 1);
      }
    }
    merged["KAFKA_BROKERS"] = Brokers();
    // Kafka tests judge on the host's tools unless told otherwise.
    merged.emplace("SCRC_HOST_MODE", "1");
    for (const auto& [k, v] : env) merged[k] = v;
    std::vector<std::string> storage;
    for (const auto& [k, v] : merged)
      storage.push_back(absl::StrCat(k, "=", v));
    std::vector<char*> envp;
    for (std::string& s : storage) envp.push_back(s.data());
    envp.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, log_path_.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null",
                                     O_WRONLY, 0);
    std::string binary = SCRC_BINARY;
    std::string serve = "serve";
    char* argv[] = {binary.data(), serve.data(), nullptr};
    if (posix_spawn(&pid_, binary.c_str(), &actions, nullptr, argv,
                    envp.data()) != 0) {
      pid_ = -1;
    }
    posix_spawn_file_actions_destroy(&actions);
  }

  ~ServeProcess() {
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }

  pid_t pid() const { return pid_; }
  void Signal(int sig) {
    if (pid_ > 0 && !exited_) kill(pid_, sig);
  }

  // Exit code (128 + signal when killed), or -1 when it still ran after
  // `guard` (it is then killed).
  int Wait(absl::Duration guard) {
    if (pid_ <= 0) return -1;
    if (exited_) return code_;
    const absl::Time deadline = absl::Now() + guard;
    while (true) {
      int status = 0;
      const pid_t r = waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        exited_ = true;
        code_ =
            WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        return code_;
      }
      if (absl::Now() > deadline) {
        kill(pid_, SIGKILL);
        waitpid(pid_, nullptr, 0);
        exited_ = true;
        code_ = -1;
        return -1;
      }
      absl::SleepFor(absl::Milliseconds(50));
    }
  }

  bool Running() {
    if (pid_ <= 0 || exited_) return false;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      exited_ = true;
      code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      return false;
    }
    return true;
  }

  std::string Log() const {
    std::ifstream in(log_path_);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

  // Polls the log until it contains `text` (or `guard` passes).
  bool WaitForLog(const std::string& text, absl::Duration guard) {
    const absl::Time deadline = absl::Now() + guard;
    while (absl::Now() < deadline) {
      if (Log().find(text) != std::string::npos) return true;
      if (!Running()) return Log().find(text) != std::string::npos;
      absl::SleepFor(absl::Milliseconds(100));
    }
    return false;
  }

 private:
  std::string log_path_;
  pid_t pid_ = -1;
  bool exited_ = false;
  int code_ = -1;
};

// The environment of one test's runners: unique topics and group.
struct TestTopics {
  std::string scripts;
  std::string results;
  std::string group;

  explicit TestTopics(const std::string& name)
      : scripts(UniqueName(name + "-scripts")),
        results(UniqueName(name + "-results")),
        group(UniqueName(name + "-group")) {}

  std::map<std::string, std::string> Env(int parallel) const {
    return {{"KAFKA_TOPIC", scripts},
            {"KAFKA_RESULTS_TOPIC", results},
            {"KAFKA_GROUP_ID", group},
            {"RUNNER_MAX_PARALLEL", absl::StrCat(parallel)}};
  }
};

// Sources with a known verdict, for the usual a+b tests.
inline std::vector<std::pair<std::string, std::string>> SumTests() {
  return {{"2 3\n", "5\n"}, {"10 20\n", "30\n"}};
}

inline ScriptSpec PythonSum(const std::string& id) {
  return {id, "python", "a,b=map(int,input().split())\nprint(a+b)\n",
          SumTests()};
}

inline ScriptSpec CSum(const std::string& id) {
  return {id, "c",
          "#include <stdio.h>\nint main(){int a,b;scanf(\"%d %d\",&a,&b);"
          "printf(\"%d\\n\",a+b);return 0;}\n",
          SumTests()};
}

}  // namespace scrc::kafka_test

#endif  // SCRC_INTEGRATION_KAFKA_HARNESS_H_
