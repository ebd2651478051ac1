#include "src/kafka_client.h"

#include <atomic>
#include <cstdio>
#include <cstring>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "src/timestamp.h"

namespace scrc {
namespace {

std::atomic<const char*> g_who{"scrc"};
std::atomic<bool> g_fatal{false};

std::atomic<bool> g_outage{false};

// While brokers are away librdkafka reports a failure on every reconnect
// attempt; one line per kind of failure per 30 s is enough to read.
class ErrorThrottle {
 public:
  bool ShouldLog(const std::string& kind, int* suppressed) {
    absl::MutexLock lock(&mu_);
    const absl::Time now = absl::Now();
    Entry& entry = entries_[kind];
    if (now - entry.last_logged < absl::Seconds(30)) {
      ++entry.suppressed;
      return false;
    }
    *suppressed = entry.suppressed;
    entry.last_logged = now;
    entry.suppressed = 0;
    return true;
  }

 private:
  struct Entry {
    absl::Time last_logged = absl::InfinitePast();
    int suppressed = 0;
  };
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Entry> entries_ ABSL_GUARDED_BY(mu_);
};

ErrorThrottle& Throttle() {
  static ErrorThrottle* throttle = new ErrorThrottle;
  return *throttle;
}

void OnError(rd_kafka_t* rk, int err, const char* reason, void*) {
  const auto code = static_cast<rd_kafka_resp_err_t>(err);
  std::string text;
  if (code == RD_KAFKA_RESP_ERR__FATAL) {
    char fatal[512];
    const rd_kafka_resp_err_t orig =
        rd_kafka_fatal_error(rk, fatal, sizeof(fatal));
    g_fatal = true;
    LogLine(g_who.load(),
            absl::StrCat("kafka: fatal error (", rd_kafka_err2name(orig),
                         "): ", fatal, "; stopping"));
    return;
  }
  if (code == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
    g_outage = true;
    text = absl::StrCat("kafka: all brokers are down (", reason,
                        "); results are kept and retried, reconnecting with "
                        "backoff");
  } else if (code == RD_KAFKA_RESP_ERR__TRANSPORT ||
             code == RD_KAFKA_RESP_ERR__RESOLVE) {
    g_outage = true;
    text = absl::StrCat("kafka: broker unreachable: ", reason,
                        "; reconnecting with backoff");
  } else {
    text = absl::StrCat("kafka: ", rd_kafka_err2name(code), ": ", reason);
  }
  int suppressed = 0;
  if (!Throttle().ShouldLog(rd_kafka_err2name(code), &suppressed)) return;
  if (suppressed > 0) {
    absl::StrAppend(&text, " (", suppressed, " more like it in the last 30s)");
  }
  LogLine(g_who.load(), text);
}

void OnLog(const rd_kafka_t*, int level, const char* facility,
           const char* message) {
  // Connection failures (FAIL) already come through OnError.
  if (level > 4 || std::strcmp(facility, "FAIL") == 0) return;
  int suppressed = 0;
  if (!Throttle().ShouldLog(absl::StrCat("log:", facility), &suppressed)) {
    return;
  }
  std::string text = absl::StrCat("librdkafka ", facility, ": ", message);
  if (suppressed > 0) {
    absl::StrAppend(&text, " (", suppressed, " more in the last 30s)");
  }
  LogLine(g_who.load(), text);
}

}  // namespace

absl::Status KafkaError(absl::string_view op, rd_kafka_resp_err_t err) {
  const std::string text = absl::StrCat(op, ": ", rd_kafka_err2str(err));
  switch (err) {
    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
    case RD_KAFKA_RESP_ERR__QUEUE_FULL:
      return absl::UnavailableError(text);
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
      return absl::OutOfRangeError(text);
    default:
      return absl::InternalError(text);
  }
}

absl::StatusOr<KafkaConf> MakeKafkaConf(const KafkaProperties& properties,
                                        const char* who) {
  g_who = who;
  KafkaConf conf(rd_kafka_conf_new());
  char error[512];
  // Brokers close idle connections (connections.max.idle.ms); that is not
  // an outage worth a log line.
  rd_kafka_conf_set(conf.get(), "log.connection.close", "false", error,
                    sizeof(error));
  for (const auto& [name, value] : properties) {
    if (rd_kafka_conf_set(conf.get(), name.c_str(), value.c_str(), error,
                          sizeof(error)) != RD_KAFKA_CONF_OK) {
      return absl::InvalidArgumentError(
          absl::StrCat("kafka property ", name, ": ", error));
    }
  }
  rd_kafka_conf_set_error_cb(conf.get(), OnError);
  rd_kafka_conf_set_log_cb(conf.get(), OnLog);
  return conf;
}

absl::StatusOr<KafkaHandle> NewKafkaHandle(rd_kafka_type_t type,
                                           KafkaConf conf) {
  char error[512];
  // rd_kafka_new owns the configuration only when it succeeds.
  rd_kafka_t* rk = rd_kafka_new(type, conf.get(), error, sizeof(error));
  if (rk == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "create kafka ", type == RD_KAFKA_PRODUCER ? "producer" : "consumer",
        ": ", error));
  }
  conf.release();
  return KafkaHandle(rk);
}

void LogLine(absl::string_view who, absl::string_view text) {
  const std::string line = absl::StrCat(FormatTimestamp(absl::Now()), " scrc ",
                                        who, ": ", text, "\n");
  std::fwrite(line.data(), 1, line.size(), stderr);
}

bool KafkaFatalErrorSeen() { return g_fatal; }

void NoteKafkaReachable() {
  if (g_outage.exchange(false)) {
    LogLine(g_who.load(), "kafka: brokers reachable again");
  }
}

}  // namespace scrc
