#include "src/kafka_consumer.h"

#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"

namespace scrc {
namespace {

const char* g_consumer_who = "serve";

void LogError(rd_kafka_error_t* error, absl::string_view op) {
  if (error == nullptr) return;
  LogLine(g_consumer_who,
          absl::StrCat("kafka: ", op, ": ", rd_kafka_error_string(error)));
  rd_kafka_error_destroy(error);
}

}  // namespace

std::vector<TopicPartition> ToTopicPartitions(
    const rd_kafka_topic_partition_list_t* list) {
  std::vector<TopicPartition> partitions;
  if (list == nullptr) return partitions;
  for (int i = 0; i < list->cnt; ++i) {
    partitions.push_back({list->elems[i].topic, list->elems[i].partition});
  }
  return partitions;
}

KafkaPartitionList ToKafkaList(const std::vector<TopicPartition>& partitions) {
  KafkaPartitionList list(
      rd_kafka_topic_partition_list_new(static_cast<int>(partitions.size())));
  for (const TopicPartition& tp : partitions) {
    rd_kafka_topic_partition_list_add(list.get(), tp.topic.c_str(),
                                      tp.partition);
  }
  return list;
}

absl::StatusOr<std::unique_ptr<KafkaConsumer>> KafkaConsumer::Create(
    const KafkaProperties& common, const std::string& group_id,
    RebalanceListener* listener, const char* who) {
  g_consumer_who = who;
  // `common` comes last so a caller can override these defaults.
  KafkaProperties properties({
      {"group.id", group_id},
      {"partition.assignment.strategy", "cooperative-sticky"},
      // Offsets are stored by us once a result is acknowledged, and
      // committed by librdkafka's timer (plus explicitly on revoke and
      // shutdown).
      {"enable.auto.commit", "true"},
      {"enable.auto.offset.store", "false"},
      // What a killed runner published but had not committed yet is judged
      // again by the next owner: about a second of results at most. Shorter
      // costs the broker a commit request (and a write) every interval.
      {"auto.commit.interval.ms", "1000"},
      // Submissions sent before the first runner started are judged.
      {"auto.offset.reset", "earliest"},
      {"allow.auto.create.topics", "true"},
      // A 50 MiB message must be fetched (and answered with an error),
      // not wedge the partition.
      {"fetch.max.bytes", "67108864"},
      {"receive.message.max.bytes", "134217728"},
      {"queued.max.messages.kbytes", "131072"},
      // How long the broker holds a fetch at the end of the partitions. A
      // message produced meanwhile answers it at once, so this bounds only
      // the empty fetches (one per interval while idle). After a resume
      // the next fetch may wait for one in flight, while the queue still
      // holds half its jobs (KafkaService::UpdateFlow).
      {"fetch.wait.max.ms", "500"},
      // A fetch answered while its partition was paused is discarded as
      // outdated and backs off like an error; keep that short.
      {"fetch.error.backoff.ms", "20"},
      // A revoke waits for the submissions in flight.
      {"max.poll.interval.ms", "600000"},
      {"reconnect.backoff.ms", "100"},
      {"reconnect.backoff.max.ms", "5000"},
      // Small fetch requests: Nagle held some back by milliseconds.
      {"socket.nagle.disable", "true"},
  });
  properties.insert(properties.end(), common.begin(), common.end());
  auto conf = MakeKafkaConf(properties, who);
  if (!conf.ok()) return conf.status();
  std::unique_ptr<KafkaConsumer> consumer(new KafkaConsumer(nullptr, listener));
  rd_kafka_conf_set_opaque(conf->get(), consumer.get());
  rd_kafka_conf_set_rebalance_cb(conf->get(), &KafkaConsumer::OnRebalance);
  auto rk = NewKafkaHandle(RD_KAFKA_CONSUMER, *std::move(conf));
  if (!rk.ok()) return rk.status();
  consumer->rk_ = *std::move(rk);
  // Route the main queue (errors, logs) into the consumer queue, so one
  // Poll() serves everything.
  rd_kafka_poll_set_consumer(consumer->rk_.get());
  consumer->queue_ = rd_kafka_queue_get_consumer(consumer->rk_.get());
  return consumer;
}

KafkaConsumer::KafkaConsumer(KafkaHandle rk, RebalanceListener* listener)
    : rk_(std::move(rk)), queue_(nullptr), listener_(listener) {}

KafkaConsumer::~KafkaConsumer() {
  Close();
  if (queue_ != nullptr) rd_kafka_queue_destroy(queue_);
}

absl::Status KafkaConsumer::Subscribe(const std::string& topic) {
  KafkaPartitionList list(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(list.get(), topic.c_str(),
                                    RD_KAFKA_PARTITION_UA);
  const rd_kafka_resp_err_t err = rd_kafka_subscribe(rk_.get(), list.get());
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return KafkaError(absl::StrCat("subscribe to ", topic), err);
  }
  return absl::OkStatus();
}

KafkaMessage KafkaConsumer::Poll(int timeout_ms) {
  KafkaMessage message(rd_kafka_consumer_poll(rk_.get(), timeout_ms));
  if (message == nullptr || message->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    return message;
  }
  // End of partition and the like are events, not submissions.
  if (message->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
    LogLine(g_consumer_who,
            absl::StrCat("kafka: consume: ",
                         rd_kafka_message_errstr(message.get())));
  }
  return nullptr;
}

void KafkaConsumer::Wake() { rd_kafka_queue_yield(queue_); }

void KafkaConsumer::Pause(const std::vector<TopicPartition>& partitions) {
  if (partitions.empty()) return;
  KafkaPartitionList list = ToKafkaList(partitions);
  rd_kafka_pause_partitions(rk_.get(), list.get());
}

void KafkaConsumer::Resume(const std::vector<TopicPartition>& partitions) {
  if (partitions.empty()) return;
  KafkaPartitionList list = ToKafkaList(partitions);
  rd_kafka_resume_partitions(rk_.get(), list.get());
  // librdkafka 2.0.2 fetches a partition resumed after a pause of a few
  // hundred ms or more only ~700 ms later (measured: every time). A seek to
  // where the application stands (the next message it has not been given,
  // so nothing is skipped or taken twice) makes it fetch at once (1-2 ms).
  // Partitions that gave us nothing yet have no position and are left as
  // they are.
  if (rd_kafka_position(rk_.get(), list.get()) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return;
  }
  KafkaPartitionList positioned(rd_kafka_topic_partition_list_new(list->cnt));
  for (int i = 0; i < list->cnt; ++i) {
    const rd_kafka_topic_partition_t& tp = list->elems[i];
    if (tp.err != RD_KAFKA_RESP_ERR_NO_ERROR || tp.offset < 0) continue;
    rd_kafka_topic_partition_list_add(positioned.get(), tp.topic, tp.partition)
        ->offset = tp.offset;
  }
  if (positioned->cnt == 0) return;
  // Asynchronous (timeout 0): the consumer thread does not wait.
  LogError(rd_kafka_seek_partitions(rk_.get(), positioned.get(), 0),
           "seek after resume");
}

std::vector<TopicPartition> KafkaConsumer::Assignment() {
  rd_kafka_topic_partition_list_t* list = nullptr;
  if (rd_kafka_assignment(rk_.get(), &list) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return {};
  }
  KafkaPartitionList owned(list);
  return ToTopicPartitions(list);
}

namespace {

KafkaPartitionList PositionList(
    const std::vector<std::pair<TopicPartition, int64_t>>& positions) {
  KafkaPartitionList list(
      rd_kafka_topic_partition_list_new(static_cast<int>(positions.size())));
  for (const auto& [tp, offset] : positions) {
    rd_kafka_topic_partition_list_add(list.get(), tp.topic.c_str(),
                                      tp.partition)
        ->offset = offset;
  }
  return list;
}

}  // namespace

void KafkaConsumer::Store(
    const std::vector<std::pair<TopicPartition, int64_t>>& positions) {
  if (positions.empty()) return;
  KafkaPartitionList list = PositionList(positions);
  // Fails only for partitions no longer assigned: their new owner redoes
  // the work, which at-least-once allows.
  (void)rd_kafka_offsets_store(rk_.get(), list.get());
}

absl::Status KafkaConsumer::CommitSync(
    const std::vector<std::pair<TopicPartition, int64_t>>& positions) {
  if (positions.empty()) return absl::OkStatus();
  KafkaPartitionList list = PositionList(positions);
  const rd_kafka_resp_err_t err = rd_kafka_commit(rk_.get(), list.get(), 0);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR &&
      err != RD_KAFKA_RESP_ERR__NO_OFFSET) {
    return KafkaError("commit offsets", err);
  }
  for (int i = 0; i < list->cnt; ++i) {
    const rd_kafka_resp_err_t part_err = list->elems[i].err;
    if (part_err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return KafkaError(absl::StrCat("commit offset of ", list->elems[i].topic,
                                     "[", list->elems[i].partition, "]"),
                        part_err);
    }
  }
  return absl::OkStatus();
}

void KafkaConsumer::Close() {
  if (closed_ || rk_ == nullptr) return;
  closed_ = true;
  rd_kafka_consumer_close(rk_.get());
}

void KafkaConsumer::OnRebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                                rd_kafka_topic_partition_list_t* partitions,
                                void* opaque) {
  auto* self = static_cast<KafkaConsumer*>(opaque);
  const bool cooperative =
      std::strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
  const std::vector<TopicPartition> list = ToTopicPartitions(partitions);
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    if (cooperative) {
      LogError(rd_kafka_incremental_assign(rk, partitions), "assign");
    } else {
      rd_kafka_assign(rk, partitions);
    }
    self->listener_->OnAssigned(list);
    return;
  }
  if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
    self->listener_->OnRevoked(list, rd_kafka_assignment_lost(rk) != 0);
    if (cooperative) {
      LogError(rd_kafka_incremental_unassign(rk, partitions), "unassign");
    } else {
      rd_kafka_assign(rk, nullptr);
    }
    return;
  }
  LogLine(g_consumer_who,
          absl::StrCat("kafka: rebalance failed: ", rd_kafka_err2str(err)));
  self->listener_->OnRevoked(list, /*lost=*/true);
  rd_kafka_assign(rk, nullptr);
}

}  // namespace scrc
