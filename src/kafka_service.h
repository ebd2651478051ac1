// `scrc serve`'s engine: script messages from the consumer group go to
// RUNNER_MAX_PARALLEL worker threads that judge them on the executor and
// publish the results; a submission's offset is committed only once its
// result is acknowledged, in order per partition (OffsetTracker).
//
// Flow control: submissions taken wait in a bounded queue for a free slot.
// When the queue is full (so every slot is busy) the assigned partitions
// are paused, and the consumer keeps polling (group membership, rebalances)
// until the queue is half empty. The queue lets a slot that frees start the
// next submission at once, without a fetch round trip, and covers the fetch
// that follows a resume (KafkaConsumer::Resume makes that one start at
// once; librdkafka 2.0.2 alone waits ~700 ms). On SIGTERM and on a revoke,
// what waits in the queue is given up uncommitted (the next owner judges
// it); what runs is finished, published and committed first.
//
// Threads: the consumer thread (Run) owns the consumer, the tracker and the
// flow control; workers judge and publish; the producer's thread reports
// deliveries. Workers and deliveries talk back through one event queue.
#ifndef SCRC_SRC_KAFKA_SERVICE_H_
#define SCRC_SRC_KAFKA_SERVICE_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "src/contract.h"
#include "src/executor.h"
#include "src/kafka_client.h"
#include "src/kafka_consumer.h"
#include "src/kafka_producer.h"
#include "src/offset_tracker.h"

namespace scrc {

struct KafkaServiceOptions {
  KafkaProperties common;  // bootstrap servers, security
  std::string topic;
  std::string results_topic;
  std::string group_id;
  int parallel = 1;
  int64_t script_expected = 0;  // 0: unlimited
  ContractOptions contract;
};

class KafkaService : private RebalanceListener {
 public:
  // `stop`: set (by a signal handler) to drain and exit.
  KafkaService(KafkaServiceOptions options, Executor* executor,
               const std::atomic<bool>* stop);
  ~KafkaService() override;

  // Consumes until stopped (signal, SCRIPT_EXPECTED, a "done" message) or a
  // fatal Kafka error. Returns the process exit code.
  int Run();

 private:
  struct Job {
    OffsetTicket ticket;
    ParsedMessage message;
    size_t bytes = 0;  // of the Kafka message, for the queue's bound
  };
  struct Event {
    enum Kind { kSlotFree, kDelivered } kind;
    OffsetTicket ticket;
    std::string id;
    std::string status;  // the verdict published
    absl::Status delivery;
    bool fallback = false;  // the result replacing an undeliverable one
  };

  void HandleMessage(const rd_kafka_message_t& message);
  // `drop_queued`: give up what was taken but not started (redelivered
  // later) rather than judging it first.
  void BeginStop(const std::string& why, bool drop_queued);
  // Removes queued jobs of `partitions` (all when empty) and truncates the
  // tracker there. Returns how many.
  int DropQueued(const std::vector<TopicPartition>& partitions);
  void UpdateFlow();
  // Applies queued events; `wait` blocks up to that long for the first one.
  void ProcessEvents(absl::Duration wait);
  void OnDelivered(const Event& event);
  void Publish(const OffsetTicket& ticket, const Result& result, bool fallback);
  void WorkerLoop();
  void PushEvent(Event event);
  absl::Status CommitAll();

  void OnAssigned(const std::vector<TopicPartition>& partitions) override;
  void OnRevoked(const std::vector<TopicPartition>& partitions,
                 bool lost) override;

  const KafkaServiceOptions options_;
  Executor* const executor_;
  const std::atomic<bool>* const stop_;

  std::unique_ptr<KafkaProducer> producer_;
  std::unique_ptr<KafkaConsumer> consumer_;

  // Consumer thread only.
  OffsetTracker tracker_;
  int outstanding_ = 0;  // accepted, not yet handed to the producer
  bool paused_ = false;
  bool stopping_ = false;
  bool fatal_ = false;
  bool in_revoke_ = false;
  int64_t accepted_ = 0;
  int64_t published_ = 0;

  absl::Mutex jobs_mu_;
  std::deque<Job> jobs_ ABSL_GUARDED_BY(jobs_mu_);
  size_t queued_bytes_ ABSL_GUARDED_BY(jobs_mu_) = 0;
  bool workers_exit_ ABSL_GUARDED_BY(jobs_mu_) = false;

  absl::Mutex events_mu_;
  std::vector<Event> events_ ABSL_GUARDED_BY(events_mu_);

  std::vector<std::thread> workers_;
};

}  // namespace scrc

#endif  // SCRC_SRC_KAFKA_SERVICE_H_
