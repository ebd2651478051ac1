#include "src/results_tail.h"

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace scrc {

absl::StatusOr<int> TopicPartitionCount(rd_kafka_t* rk,
                                        const std::string& topic,
                                        absl::Duration timeout) {
  rd_kafka_topic_t* handle = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
  const absl::Time deadline = absl::Now() + timeout;
  absl::Status last = absl::DeadlineExceededError("no answer");
  while (true) {
    const rd_kafka_metadata_t* metadata = nullptr;
    const int wait_ms = static_cast<int>(std::max<int64_t>(
        100, absl::ToInt64Milliseconds(deadline - absl::Now())));
    rd_kafka_resp_err_t err =
        rd_kafka_metadata(rk, 0, handle, &metadata, std::min(wait_ms, 5000));
    int partitions = 0;
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (metadata->topic_cnt == 1) {
        err = metadata->topics[0].err;
        partitions = metadata->topics[0].partition_cnt;
      }
      rd_kafka_metadata_destroy(metadata);
    }
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR && partitions > 0) {
      rd_kafka_topic_destroy(handle);
      return partitions;
    }
    last = KafkaError(absl::StrCat("metadata of topic ", topic), err);
    if (absl::Now() >= deadline) break;
    // Auto-creation takes a moment to show in metadata.
    absl::SleepFor(absl::Milliseconds(200));
  }
  rd_kafka_topic_destroy(handle);
  return last;
}

absl::StatusOr<std::unique_ptr<ResultsTail>> ResultsTail::Open(
    const KafkaProperties& common, const std::string& topic,
    absl::Duration timeout, bool from_beginning) {
  KafkaProperties properties = {
      {"allow.auto.create.topics", "true"},
      {"enable.auto.commit", "false"},
      {"enable.partition.eof", "false"},
      // The broker answers a waiting fetch as soon as a result arrives, so
      // a long wait costs no latency, and fewer empty fetches less CPU on
      // a machine that also judges.
      {"fetch.wait.max.ms", "100"},
      {"socket.nagle.disable", "true"},
      // librdkafka wants a group for assign(); it is never joined.
      {"group.id", "scrc-results-tail"},
  };
  properties.insert(properties.end(), common.begin(), common.end());
  auto conf = MakeKafkaConf(properties, "submit");
  if (!conf.ok()) return conf.status();
  auto rk = NewKafkaHandle(RD_KAFKA_CONSUMER, *std::move(conf));
  if (!rk.ok()) return rk.status();
  rd_kafka_poll_set_consumer(rk->get());
  auto partitions = TopicPartitionCount(rk->get(), topic, timeout);
  if (!partitions.ok()) return partitions.status();

  KafkaPartitionList list(rd_kafka_topic_partition_list_new(*partitions));
  for (int p = 0; p < *partitions; ++p) {
    int64_t low = 0, high = 0;
    if (!from_beginning) {
      const rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(
          rk->get(), topic.c_str(), p, &low, &high,
          static_cast<int>(absl::ToInt64Milliseconds(timeout)));
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        return KafkaError(absl::StrCat("end offset of ", topic, "[", p, "]"),
                          err);
      }
    }
    rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), p)->offset =
        from_beginning ? RD_KAFKA_OFFSET_BEGINNING : high;
  }
  const rd_kafka_resp_err_t err = rd_kafka_assign(rk->get(), list.get());
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return KafkaError(absl::StrCat("assign ", topic), err);
  }
  return std::unique_ptr<ResultsTail>(new ResultsTail(*std::move(rk)));
}

std::vector<TailRecord> ResultsTail::Poll(absl::Duration timeout) {
  std::vector<TailRecord> records;
  const absl::Time deadline = absl::Now() + timeout;
  int wait_ms = static_cast<int>(absl::ToInt64Milliseconds(timeout));
  while (true) {
    KafkaMessage message(rd_kafka_consumer_poll(rk_.get(), wait_ms));
    if (message == nullptr) break;
    if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      TailRecord record;
      if (message->key != nullptr) {
        record.key.assign(static_cast<const char*>(message->key),
                          message->key_len);
      }
      if (message->payload != nullptr) {
        record.value.assign(static_cast<const char*>(message->payload),
                            message->len);
      }
      record.partition = message->partition;
      record.offset = message->offset;
      records.push_back(std::move(record));
    } else if (message->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      LogLine("submit", absl::StrCat("kafka: read results: ",
                                     rd_kafka_message_errstr(message.get())));
    }
    // Drain what is already there without waiting again.
    wait_ms = 0;
    if (absl::Now() >= deadline && !records.empty()) break;
  }
  return records;
}

}  // namespace scrc
