#include "src/kafka_service.h"

#include <algorithm>
#include <string_view>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"

namespace scrc {
namespace {

constexpr char kWho[] = "serve";

// Bytes of submissions waiting for a slot: beyond this the partitions are
// paused even when the queue has room.
constexpr size_t kMaxQueuedBytes = 64 << 20;

std::string Describe(const std::vector<TopicPartition>& partitions) {
  return absl::StrJoin(partitions, ", ",
                       [](std::string* out, const TopicPartition& tp) {
                         absl::StrAppend(out, tp.topic, "[", tp.partition, "]");
                       });
}

std::string Where(const OffsetTicket& ticket) {
  return absl::StrCat(ticket.tp.topic, "[", ticket.tp.partition, "]@",
                      ticket.offset);
}

}  // namespace

KafkaService::KafkaService(KafkaServiceOptions options, Executor* executor,
                           const std::atomic<bool>* stop)
    : options_(std::move(options)), executor_(executor), stop_(stop) {}

KafkaService::~KafkaService() {
  // Their callbacks use the members below: gone first.
  producer_.reset();
  consumer_.reset();
  {
    absl::MutexLock lock(&jobs_mu_);
    workers_exit_ = true;
  }
  for (std::thread& worker : workers_) worker.join();
}

int KafkaService::Run() {
  auto producer = KafkaProducer::Create(options_.common, kWho);
  if (!producer.ok()) {
    LogLine(kWho, producer.status().message());
    return 1;
  }
  producer_ = *std::move(producer);
  auto consumer =
      KafkaConsumer::Create(options_.common, options_.group_id, this, kWho);
  if (!consumer.ok()) {
    LogLine(kWho, consumer.status().message());
    return 1;
  }
  consumer_ = *std::move(consumer);
  if (absl::Status s = consumer_->Subscribe(options_.topic); !s.ok()) {
    LogLine(kWho, s.message());
    return 1;
  }
  for (int i = 0; i < options_.parallel; ++i) {
    workers_.emplace_back([this] { WorkerLoop(); });
  }
  LogLine(kWho, absl::StrCat("consuming ", options_.topic, " in group ",
                             options_.group_id, ", results to ",
                             options_.results_topic, ", ", options_.parallel,
                             " slot(s)"));

  while (true) {
    if (stop_->load() && !stopping_) {
      BeginStop("signal received", /*drop_queued=*/true);
    }
    if (KafkaFatalErrorSeen()) fatal_ = true;
    if (fatal_) break;
    if (stopping_ && outstanding_ == 0 && tracker_.InFlight() == 0) break;
    UpdateFlow();
    KafkaMessage message = consumer_->Poll(100);
    if (message != nullptr) {
      NoteKafkaReachable();
      HandleMessage(*message);
    }
    ProcessEvents(absl::ZeroDuration());
  }

  {
    absl::MutexLock lock(&jobs_mu_);
    if (fatal_) {  // redelivered to the next runner
      jobs_.clear();
      queued_bytes_ = 0;
    }
    workers_exit_ = true;
  }
  for (std::thread& worker : workers_) worker.join();
  workers_.clear();
  ProcessEvents(absl::ZeroDuration());

  if (!fatal_) {
    if (absl::Status s = producer_->Flush(absl::Seconds(30)); !s.ok()) {
      LogLine(kWho, s.message());
    }
    ProcessEvents(absl::ZeroDuration());
  }
  // What was acknowledged is committed even after a fatal error.
  if (absl::Status s = CommitAll(); !s.ok()) {
    LogLine(kWho, absl::StrCat("final commit failed: ", s.message(),
                               " (the next owner will judge those again)"));
  }
  consumer_->Close();
  LogLine(kWho, absl::StrCat("stopped: ", accepted_, " submission(s) taken, ",
                             published_, " result(s) published",
                             fatal_ ? "; exiting on a fatal error" : ""));
  producer_.reset();
  consumer_.reset();
  return fatal_ ? 1 : 0;
}

void KafkaService::HandleMessage(const rd_kafka_message_t& message) {
  // Not taken: its offset stays uncommitted, so it is redelivered.
  if (stopping_ || fatal_) return;
  const TopicPartition tp{rd_kafka_topic_name(message.rkt), message.partition};
  const std::optional<OffsetTicket> ticket = tracker_.Begin(tp, message.offset);
  if (!ticket) {
    // Not ours any more, or already taken in this assignment.
    return;
  }
  const std::string fallback_id =
      message.key_len > 0
          ? std::string(static_cast<const char*>(message.key), message.key_len)
          : absl::StrCat(tp.topic, "-", tp.partition, "-", message.offset);
  const std::string_view payload(message.payload != nullptr
                                     ? static_cast<const char*>(message.payload)
                                     : "",
                                 message.len);
  ParsedMessage parsed =
      ParseScriptMessage(payload, fallback_id, options_.contract);
  if (parsed.kind == ParsedMessage::kDone) {
    if (auto position = tracker_.Complete(*ticket)) {
      consumer_->Store({{tp, *position}});
    }
    BeginStop(absl::StrCat("\"done\" message at ", Where(*ticket)),
              /*drop_queued=*/false);
    return;
  }
  ++accepted_;
  ++outstanding_;
  {
    absl::MutexLock lock(&jobs_mu_);
    jobs_.push_back(Job{*ticket, std::move(parsed), message.len});
    queued_bytes_ += message.len;
  }
  if (options_.script_expected > 0 && accepted_ >= options_.script_expected) {
    BeginStop(absl::StrCat("SCRIPT_EXPECTED=", options_.script_expected,
                           " submissions taken"),
              /*drop_queued=*/false);
  }
}

void KafkaService::BeginStop(const std::string& why, bool drop_queued) {
  if (stopping_) return;
  stopping_ = true;
  const int dropped = drop_queued ? DropQueued({}) : 0;
  LogLine(kWho, absl::StrCat(why, ": no new submissions; finishing ",
                             tracker_.InFlight(), " in flight",
                             dropped > 0 ? absl::StrCat(", ", dropped,
                                                        " not started are "
                                                        "left for redelivery")
                                         : ""));
}

int KafkaService::DropQueued(const std::vector<TopicPartition>& partitions) {
  const absl::flat_hash_set<TopicPartition> which(partitions.begin(),
                                                  partitions.end());
  // Per partition, the queued jobs are its newest consumed messages (the
  // queue is FIFO), so dropping them truncates the tracker's tail.
  absl::flat_hash_map<TopicPartition, int64_t> first_dropped;
  int dropped = 0;
  {
    absl::MutexLock lock(&jobs_mu_);
    std::deque<Job> kept;
    for (Job& job : jobs_) {
      if (which.empty() || which.contains(job.ticket.tp)) {
        auto [it, inserted] =
            first_dropped.emplace(job.ticket.tp, job.ticket.offset);
        if (!inserted) it->second = std::min(it->second, job.ticket.offset);
        queued_bytes_ -= job.bytes;
        ++dropped;
      } else {
        kept.push_back(std::move(job));
      }
    }
    jobs_.swap(kept);
  }
  for (const auto& [tp, offset] : first_dropped) tracker_.Truncate(tp, offset);
  outstanding_ -= dropped;
  return dropped;
}

void KafkaService::UpdateFlow() {
  if (in_revoke_) return;
  size_t queued = 0, bytes = 0;
  {
    absl::MutexLock lock(&jobs_mu_);
    queued = jobs_.size();
    bytes = queued_bytes_;
  }
  // Paused partitions fetch nothing, yet the consumer keeps polling, so the
  // group membership stays alive however long the slots are busy.
  // Resuming at half full leaves work for the slots while the fetch that
  // follows a resume comes back.
  const size_t max_queued =
      std::max<size_t>(64, 16 * static_cast<size_t>(options_.parallel));
  bool pause;
  if (stopping_ || fatal_) {
    pause = true;
  } else if (paused_) {
    pause = queued > max_queued / 2 || bytes > kMaxQueuedBytes / 2;
  } else {
    pause = queued >= max_queued || bytes >= kMaxQueuedBytes;
  }
  if (pause == paused_) return;
  const std::vector<TopicPartition> assignment = consumer_->Assignment();
  if (pause) {
    consumer_->Pause(assignment);
  } else {
    consumer_->Resume(assignment);
  }
  paused_ = pause;
}

void KafkaService::WorkerLoop() {
  while (true) {
    Job job;
    {
      absl::MutexLock lock(&jobs_mu_);
      jobs_mu_.Await(absl::Condition(
          +[](KafkaService* self)
               ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->jobs_mu_) {
                 return !self->jobs_.empty() || self->workers_exit_;
               },
          this));
      if (jobs_.empty()) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
      queued_bytes_ -= job.bytes;
    }
    Result result =
        job.message.error.ok()
            ? executor_->Judge(job.message.script)
            : MakeErrorResult(job.message.id,
                              std::string(job.message.error.message()));
    result.id = job.message.id;
    Publish(job.ticket, result, /*fallback=*/false);
    PushEvent(Event{Event::kSlotFree, job.ticket});
  }
}

void KafkaService::Publish(const OffsetTicket& ticket, const Result& result,
                           bool fallback) {
  const std::string json =
      SerializeResult(result, KafkaProducer::kMaxValueBytes);
  Event delivered{Event::kDelivered,          ticket,           result.id,
                  VerdictName(result.status), absl::OkStatus(), fallback};
  producer_->Publish(options_.results_topic, result.id, json,
                     [this, delivered](absl::Status status) mutable {
                       delivered.delivery = std::move(status);
                       PushEvent(std::move(delivered));
                     });
}

void KafkaService::PushEvent(Event event) {
  {
    absl::MutexLock lock(&events_mu_);
    events_.push_back(std::move(event));
  }
  consumer_->Wake();
}

void KafkaService::ProcessEvents(absl::Duration wait) {
  std::vector<Event> events;
  {
    absl::MutexLock lock(&events_mu_);
    if (wait > absl::ZeroDuration()) {
      events_mu_.AwaitWithTimeout(
          absl::Condition(
              +[](std::vector<Event>* queue) { return !queue->empty(); },
              &events_),
          wait);
    }
    events.swap(events_);
  }
  for (const Event& event : events) {
    if (event.kind == Event::kSlotFree) {
      --outstanding_;
    } else {
      OnDelivered(event);
    }
  }
}

void KafkaService::OnDelivered(const Event& event) {
  if (event.delivery.ok()) {
    NoteKafkaReachable();
    ++published_;
    if (auto position = tracker_.Complete(event.ticket)) {
      consumer_->Store({{event.ticket.tp, *position}});
    }
    LogLine(kWho, absl::StrCat("result ", event.id, ": ", event.status, " (",
                               Where(event.ticket), ")"));
    return;
  }
  if (!event.fallback && !KafkaFatalErrorSeen()) {
    // E.g. refused by the broker as too large for the results topic: the
    // submission still gets an answer, one that always fits.
    LogLine(kWho,
            absl::StrCat("result ", event.id, " (", event.status,
                         ") could not be published: ", event.delivery.message(),
                         "; publishing an IE result instead"));
    Result result = MakeErrorResult(
        event.id, absl::StrCat("the result could not be published: ",
                               event.delivery.message()));
    result.status = Verdict::kIE;
    Publish(event.ticket, result, /*fallback=*/true);
    return;
  }
  LogLine(kWho, absl::StrCat("cannot publish results (",
                             event.delivery.message(), "); stopping, ",
                             Where(event.ticket), " stays uncommitted"));
  fatal_ = true;
}

absl::Status KafkaService::CommitAll() {
  return consumer_->CommitSync(tracker_.CommitPositions());
}

void KafkaService::OnAssigned(const std::vector<TopicPartition>& partitions) {
  for (const TopicPartition& tp : partitions) tracker_.Assign(tp);
  // A partition joining while the slots are full must wait like the others.
  if (paused_) consumer_->Pause(partitions);
  if (!partitions.empty()) {
    LogLine(kWho, absl::StrCat("assigned ", Describe(partitions)));
  }
}

void KafkaService::OnRevoked(const std::vector<TopicPartition>& partitions,
                             bool lost) {
  if (partitions.empty()) return;
  in_revoke_ = true;
  if (lost) {
    // Another member may own them already: committing would be wrong, and
    // work not started is left to it.
    for (const TopicPartition& tp : partitions) tracker_.Forget(tp);
    const int dropped = DropQueued(partitions);
    LogLine(kWho, absl::StrCat("lost ", Describe(partitions), "; ", dropped,
                               " queued submission(s) dropped, uncommitted "
                               "work will be redelivered"));
    in_revoke_ = false;
    return;
  }
  // What has not started is left to the next owner (not committed); what
  // runs is finished, published and committed first.
  const int dropped = DropQueued(partitions);
  const auto in_flight = [&] {
    int total = 0;
    for (const TopicPartition& tp : partitions) total += tracker_.InFlight(tp);
    return total;
  };
  if (const int n = in_flight(); n > 0) {
    LogLine(kWho,
            absl::StrCat("revoking ", Describe(partitions), ": finishing ", n,
                         " submission(s) in flight first (", dropped,
                         " not started are left to the next owner)"));
  }
  absl::Time next_log = absl::Now() + absl::Seconds(30);
  while (in_flight() > 0 && !fatal_ && !KafkaFatalErrorSeen()) {
    ProcessEvents(absl::Milliseconds(100));
    if (absl::Now() > next_log) {
      LogLine(kWho, absl::StrCat("revoke still waiting for ", in_flight(),
                                 " submission(s)"));
      next_log = absl::Now() + absl::Seconds(30);
    }
  }
  std::vector<std::pair<TopicPartition, int64_t>> positions;
  for (const TopicPartition& tp : partitions) {
    if (auto position = tracker_.CommitPosition(tp)) {
      positions.emplace_back(tp, *position);
    }
    tracker_.Forget(tp);
  }
  if (absl::Status s = consumer_->CommitSync(positions); !s.ok()) {
    LogLine(kWho, absl::StrCat("commit on revoke failed: ", s.message()));
  }
  LogLine(kWho, absl::StrCat("revoked ", Describe(partitions)));
  in_revoke_ = false;
}

}  // namespace scrc
