// Publishes result messages. Idempotent (acks=all, no duplicates or
// reordering from its own retries) and with no delivery timeout: while the
// brokers are away results wait in memory and are retried, never dropped.
// A thread serves delivery reports.
#ifndef SCRC_SRC_KAFKA_PRODUCER_H_
#define SCRC_SRC_KAFKA_PRODUCER_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "src/kafka_client.h"

namespace scrc {

class KafkaProducer {
 public:
  // Runs once per message, on the delivery thread: OK once the broker has
  // it (all in-sync replicas), else why it can never be delivered.
  using DeliveryCallback = std::function<void(absl::Status)>;

  // `common`: bootstrap servers, security, and overrides of the defaults.
  static absl::StatusOr<std::unique_ptr<KafkaProducer>> Create(
      const KafkaProperties& common, const char* who);
  ~KafkaProducer();  // flushes what is queued (bounded), then stops

  void Publish(const std::string& topic, absl::string_view key,
               absl::string_view value, DeliveryCallback done);

  // Waits until everything published so far was reported.
  absl::Status Flush(absl::Duration timeout);

  rd_kafka_t* handle() { return rk_.get(); }

  // The largest value this producer publishes. Results are cut to fit
  // (SerializeResult) below librdkafka's and the brokers' default limit.
  static constexpr size_t kMaxValueBytes = 900 * 1024;

 private:
  explicit KafkaProducer(KafkaHandle rk);
  static void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* message, void*);

  KafkaHandle rk_;
  std::atomic<bool> stop_{false};
  std::thread poller_;
};

}  // namespace scrc

#endif  // SCRC_SRC_KAFKA_PRODUCER_H_
