#include "src/kafka_client.h"

#include <atomic>
#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "src/timestamp.h"

namespace scrc {
namespace {

std::atomic<const char*> g_who{"scrc"};
std::atomic<bool> g_fatal{false};

// While brokers are away librdkafka reports the same failure on every
// reconnect attempt; one line per error text per 30 s is enough to read.
class ErrorThrottle {
 public:
  bool ShouldLog(const std::string& text, int* suppressed) {
    absl::MutexLock lock(&mu_);
    const absl::Time now = absl::Now();
    if (text == last_text_ && now - last_logged_ < absl::Seconds(30)) {
      ++suppressed_;
      return false;
    }
    *suppressed = text == last_text_ ? suppressed_ : 0;
    last_text_ = text;
    last_logged_ = now;
    suppressed_ = 0;
    return true;
  }

 private:
  absl::Mutex mu_;
  std::string last_text_ ABSL_GUARDED_BY(mu_);
  absl::Time last_logged_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  int suppressed_ ABSL_GUARDED_BY(mu_) = 0;
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
    LogLine(g_who.load(), absl::StrCat("kafka: fatal error (", rd_kafka_err2name(orig),
                                "): ", fatal, "; stopping"));
    return;
  }
  if (code == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
    text = absl::StrCat("kafka: all brokers are down (", reason,
                        "); waiting for them, reconnecting with backoff");
  } else if (code == RD_KAFKA_RESP_ERR__TRANSPORT ||
             code == RD_KAFKA_RESP_ERR__RESOLVE) {
    text = absl::StrCat("kafka: broker unreachable: ", reason,
                        "; reconnecting with backoff");
  } else {
    text = absl::StrCat("kafka: ", rd_kafka_err2name(code), ": ", reason);
  }
  int suppressed = 0;
  if (!Throttle().ShouldLog(text, &suppressed)) return;
  if (suppressed > 0) {
    absl::StrAppend(&text, " (", suppressed, " more like it in the last 30s)");
  }
  LogLine(g_who.load(), text);
}

void OnLog(const rd_kafka_t*, int level, const char* facility,
           const char* message) {
  // Connection failures already come through OnError, rate limited.
  if (level > 4) return;
  const std::string text = absl::StrCat("librdkafka ", facility, ": ", message);
  int suppressed = 0;
  if (Throttle().ShouldLog(text, &suppressed)) LogLine(g_who.load(), text);
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
    return absl::InvalidArgumentError(
        absl::StrCat("create kafka ",
                     type == RD_KAFKA_PRODUCER ? "producer" : "consumer", ": ",
                     error));
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

}  // namespace scrc
