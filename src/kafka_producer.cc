#include "src/kafka_producer.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace scrc {

absl::StatusOr<std::unique_ptr<KafkaProducer>> KafkaProducer::Create(
    const KafkaProperties& common, const char* who) {
  // `common` comes last so a caller can override these defaults.
  KafkaProperties properties({
      {"enable.idempotence", "true"},  // implies acks=all
      {"acks", "all"},
      // 0: no delivery timeout. A result waits out a broker outage.
      {"message.timeout.ms", "0"},
      // Latency matters more than batching: a message goes out at once
      // (linger 1 ms cost ~1.4 ms per hop, measured); messages produced
      // while a request is in flight still share the next one.
      {"linger.ms", "0"},
      // Small requests and responses: no waiting for ACKs of the last.
      {"socket.nagle.disable", "true"},
      {"reconnect.backoff.ms", "100"},
      {"reconnect.backoff.max.ms", "5000"},
      {"message.max.bytes", "1000000"},
  });
  properties.insert(properties.end(), common.begin(), common.end());
  auto conf = MakeKafkaConf(properties, who);
  if (!conf.ok()) return conf.status();
  rd_kafka_conf_set_dr_msg_cb(conf->get(), &KafkaProducer::OnDelivery);
  auto rk = NewKafkaHandle(RD_KAFKA_PRODUCER, *std::move(conf));
  if (!rk.ok()) return rk.status();
  return std::unique_ptr<KafkaProducer>(new KafkaProducer(*std::move(rk)));
}

KafkaProducer::KafkaProducer(KafkaHandle rk) : rk_(std::move(rk)) {
  poller_ = std::thread([this] {
    while (!stop_) rd_kafka_poll(rk_.get(), 100);
  });
}

KafkaProducer::~KafkaProducer() {
  (void)Flush(absl::Seconds(10));
  stop_ = true;
  poller_.join();
  // Reports still owed (brokers away at exit) would leak their callbacks;
  // purging makes librdkafka report them as failed.
  rd_kafka_purge(rk_.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
  rd_kafka_poll(rk_.get(), 0);
}

void KafkaProducer::Publish(const std::string& topic, absl::string_view key,
                            absl::string_view value, DeliveryCallback done) {
  auto* callback = new DeliveryCallback(std::move(done));
  while (true) {
    const rd_kafka_resp_err_t err = rd_kafka_producev(
        rk_.get(), RD_KAFKA_V_TOPIC(topic.c_str()),
        RD_KAFKA_V_KEY(key.data(), key.size()),
        RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_OPAQUE(callback),
        RD_KAFKA_V_END);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return;
    if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      // Only while the brokers are away for long: wait for room.
      absl::SleepFor(absl::Milliseconds(50));
      continue;
    }
    (*callback)(KafkaError(absl::StrCat("publish to ", topic), err));
    delete callback;
    return;
  }
}

absl::Status KafkaProducer::Flush(absl::Duration timeout) {
  const rd_kafka_resp_err_t err = rd_kafka_flush(
      rk_.get(), static_cast<int>(absl::ToInt64Milliseconds(timeout)));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return KafkaError(absl::StrCat("flush (", rd_kafka_outq_len(rk_.get()),
                                   " results not acknowledged)"),
                      err);
  }
  return absl::OkStatus();
}

void KafkaProducer::OnDelivery(rd_kafka_t*, const rd_kafka_message_t* message,
                               void*) {
  auto* callback = static_cast<DeliveryCallback*>(message->_private);
  if (callback == nullptr) return;
  if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    (*callback)(absl::OkStatus());
  } else {
    (*callback)(KafkaError(
        absl::StrCat("deliver to ", rd_kafka_topic_name(message->rkt)),
        message->err));
  }
  delete callback;
}

}  // namespace scrc
