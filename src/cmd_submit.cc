// scrc submit [--timeout D] [--repeat N] [--max-in-flight N] [--jsonl]
//             FILE...
// Sends script messages (one JSON message per file, "-" for stdin) to
// KAFKA_TOPIC and prints each result from KAFKA_RESULTS_TOPIC as it
// arrives, then a table. Exit 0 when every submission got its result, 1
// when some did not within the timeout, 2 for unusable arguments.
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "rapidjson/document.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"
#include "src/commands.h"
#include "src/config.h"
#include "src/kafka_config.h"
#include "src/kafka_producer.h"
#include "src/result_table.h"
#include "src/results_tail.h"

namespace scrc {
namespace {

constexpr char kUsage[] =
    "usage: scrc submit [--timeout DURATION] [--repeat N] [--max-in-flight N] "
    "[--jsonl] FILE...\n"
    "  FILE             a JSON script message (\"-\": standard input)\n"
    "  --timeout D      give up when no result came for D (default 60s)\n"
    "  --repeat N       send every file N times, with ids <id>-1..<id>-N\n"
    "  --max-in-flight N  at most N submissions awaiting results at once\n"
    "  --jsonl          print {\"latency_ms\":N,\"result\":{...}} lines on "
    "stdout, the table on stderr\n"
    "environment: KAFKA_BROKERS, KAFKA_TOPIC, KAFKA_RESULTS_TOPIC (and "
    "KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_*)\n";

struct SubmitArgs {
  absl::Duration timeout = absl::Seconds(60);
  int repeat = 1;
  int max_in_flight = 0;  // 0: all at once
  bool jsonl = false;
  std::vector<std::string> files;
};

struct Submission {
  std::string id;
  std::string language;
  std::string payload;
};

bool ParseArgs(const Args& args, SubmitArgs& out) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    const bool has_value = i + 1 < args.size();
    if (a == "--timeout" && has_value) {
      auto d = ParseGoDuration(args[++i]);
      if (!d.ok() || *d <= absl::ZeroDuration()) return false;
      out.timeout = *d;
    } else if (a == "--repeat" && has_value) {
      if (!absl::SimpleAtoi(args[++i], &out.repeat) || out.repeat < 1) {
        return false;
      }
    } else if (a == "--max-in-flight" && has_value) {
      if (!absl::SimpleAtoi(args[++i], &out.max_in_flight) ||
          out.max_in_flight < 1) {
        return false;
      }
    } else if (a == "--jsonl") {
      out.jsonl = true;
    } else if (a == "-" || a.empty() || a[0] != '-') {
      out.files.push_back(a);
    } else {
      return false;
    }
  }
  return !out.files.empty();
}

absl::StatusOr<std::string> ReadInput(const std::string& path) {
  std::ostringstream text;
  if (path == "-") {
    text << std::cin.rdbuf();
    return text.str();
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat("read ", path, ": ", std::strerror(errno)));
  }
  text << in.rdbuf();
  return text.str();
}

std::string Stem(const std::string& path) {
  if (path == "-") return "stdin";
  std::string name = path.substr(path.find_last_of('/') + 1);
  const size_t dot = name.rfind('.');
  return dot == std::string::npos || dot == 0 ? name : name.substr(0, dot);
}

// Copies of one file's message. A message without an id is sent with a
// fresh one so its result can be told apart from earlier runs'; a file that
// is not a JSON object is sent as it is (the runner answers it with "-",
// keyed by the Kafka key we set).
std::vector<Submission> MakeSubmissions(const std::string& path,
                                        const std::string& text, int repeat,
                                        std::mt19937_64& random) {
  rapidjson::Document doc;
  doc.Parse(text.data(), text.size());
  const bool object = !doc.HasParseError() && doc.IsObject();
  std::string base_id, language;
  if (object && doc.HasMember("id") && doc["id"].IsString() &&
      doc["id"].GetStringLength() > 0) {
    base_id = doc["id"].GetString();
  } else {
    base_id = absl::StrCat(Stem(path), "-", absl::Hex(random() & 0xffffff));
  }
  if (object && doc.HasMember("language") && doc["language"].IsString()) {
    language = doc["language"].GetString();
  }
  std::vector<Submission> out;
  for (int k = 1; k <= repeat; ++k) {
    Submission s;
    s.id = repeat == 1 ? base_id : absl::StrCat(base_id, "-", k);
    s.language = language;
    if (object && (repeat > 1 || !doc.HasMember("id"))) {
      rapidjson::Value id(s.id.c_str(), doc.GetAllocator());
      if (doc.HasMember("id")) {
        doc["id"] = id;
      } else {
        doc.AddMember("id", id, doc.GetAllocator());
      }
      rapidjson::StringBuffer buffer;
      rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
      doc.Accept(writer);
      s.payload = buffer.GetString();
    } else {
      s.payload = text;
    }
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace

int SubmitCommand(const Args& args) {
  SubmitArgs opts;
  if (!ParseArgs(args, opts)) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  ConfigErrors errors;
  const KafkaConfig kafka = ReadKafkaConfig(ProcessEnv(), errors);
  if (absl::Status s = errors.ToStatus(); !s.ok()) {
    std::fprintf(stderr, "scrc submit: %s\n", std::string(s.message()).c_str());
    return 1;
  }

  std::mt19937_64 random(std::random_device{}());
  std::vector<Submission> submissions;
  for (const std::string& file : opts.files) {
    auto text = ReadInput(file);
    if (!text.ok()) {
      std::fprintf(stderr, "scrc submit: %s\n",
                   std::string(text.status().message()).c_str());
      return 2;
    }
    for (Submission& s : MakeSubmissions(file, *text, opts.repeat, random)) {
      submissions.push_back(std::move(s));
    }
  }

  KafkaProperties common = KafkaCommonProperties(kafka);
  // Submissions may be large; the broker decides what it accepts.
  common.emplace_back("message.max.bytes", "67108864");
  // Open the results before sending: nothing published after this is missed.
  auto tail = ResultsTail::Open(common, kafka.results_topic, absl::Seconds(30));
  if (!tail.ok()) {
    std::fprintf(stderr, "scrc submit: %s (KAFKA_BROKERS=%s)\n",
                 std::string(tail.status().message()).c_str(),
                 kafka.brokers.c_str());
    return 1;
  }
  // Before the producer: its delivery callbacks use them until it is gone.
  absl::Mutex failed_mu;
  std::vector<std::string> failed;  // ids whose publish failed
  auto producer = KafkaProducer::Create(common, "submit");
  if (!producer.ok()) {
    std::fprintf(stderr, "scrc submit: %s\n",
                 std::string(producer.status().message()).c_str());
    return 1;
  }
  // Connected and the topic's leader known before the clock starts: a
  // fresh producer's first message otherwise waits, now and then, for
  // librdkafka's 1 s metadata timer, which would count as latency.
  if (auto ready = TopicPartitionCount((*producer)->handle(), kafka.topic,
                                       absl::Seconds(30));
      !ready.ok()) {
    std::fprintf(stderr, "scrc submit: %s (KAFKA_BROKERS=%s)\n",
                 std::string(ready.status().message()).c_str(),
                 kafka.brokers.c_str());
    return 1;
  }

  absl::flat_hash_map<std::string, size_t> pending;  // id -> index
  absl::flat_hash_map<std::string, absl::Time> sent_at;
  absl::flat_hash_set<std::string> answered;
  std::vector<ResultSummary> results;
  int duplicates = 0;
  size_t next = 0;
  absl::Time last_progress = absl::Now();
  FILE* table_out = opts.jsonl ? stderr : stdout;

  while (true) {
    {
      absl::MutexLock lock(&failed_mu);
      for (const std::string& id : failed) {
        std::fprintf(stderr, "scrc submit: %s was not sent\n", id.c_str());
        pending.erase(id);
      }
      failed.clear();
    }
    while (next < submissions.size() &&
           (opts.max_in_flight == 0 ||
            static_cast<int>(pending.size()) < opts.max_in_flight)) {
      const Submission& s = submissions[next];
      pending[s.id] = next;
      sent_at[s.id] = absl::Now();
      (*producer)->Publish(kafka.topic, s.id, s.payload,
                           [&failed_mu, &failed, id = s.id](absl::Status st) {
                             if (st.ok()) return;
                             std::fprintf(stderr, "scrc submit: %s: %s\n",
                                          id.c_str(),
                                          std::string(st.message()).c_str());
                             absl::MutexLock lock(&failed_mu);
                             failed.push_back(id);
                           });
      ++next;
    }
    if (pending.empty() && next == submissions.size()) break;
    if (absl::Now() - last_progress > opts.timeout) break;
    for (const TailRecord& record : (*tail)->Poll(absl::Milliseconds(100))) {
      auto summary = ParseResultSummary(record.value);
      if (!summary.ok()) continue;  // not a result of ours
      auto it = pending.find(summary->id);
      if (it == pending.end()) {
        if (answered.contains(summary->id)) ++duplicates;
        continue;
      }
      summary->language = submissions[it->second].language;
      summary->latency_ms =
          absl::ToInt64Milliseconds(absl::Now() - sent_at[summary->id]);
      pending.erase(it);
      answered.insert(summary->id);
      last_progress = absl::Now();
      if (opts.jsonl) {
        std::printf("{\"latency_ms\":%lld,\"result\":%s}\n",
                    static_cast<long long>(summary->latency_ms),
                    record.value.c_str());
      } else {
        std::printf("%s\n", FormatResultLine(*summary).c_str());
      }
      std::fflush(stdout);
      results.push_back(*std::move(summary));
    }
  }

  std::vector<std::string> missing;
  for (const Submission& s : submissions) {
    if (!answered.contains(s.id)) missing.push_back(s.id);
  }
  std::fprintf(table_out, "\n%s", FormatResultTable(results, missing).c_str());
  if (duplicates > 0) {
    std::fprintf(table_out, "%d duplicate result(s) ignored\n", duplicates);
  }
  if (!missing.empty()) {
    std::fprintf(stderr,
                 "scrc submit: %zu submission(s) got no result within %s of "
                 "the last one (is `scrc serve` running on %s, topic %s?)\n",
                 missing.size(), absl::FormatDuration(opts.timeout).c_str(),
                 kafka.brokers.c_str(), kafka.topic.c_str());
    return 1;
  }
  return 0;
}

}  // namespace scrc
