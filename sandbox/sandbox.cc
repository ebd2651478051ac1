#include "sandbox/sandbox.h"

#include <signal.h>

#include <deque>
#include <optional>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "sandbox/box_factory.h"
#include "sandbox/judge.h"
#include "sandbox/supervisor.h"

namespace scrc::sandbox {
namespace {

// Work for a slot's background thread: reap a box, or build one ahead.
struct BackgroundTask {
  std::optional<LiveBox> reap;
  std::optional<RunSpec> spawn;
  BoxCgroup* cgroup = nullptr;  // where to build it
};

class SandboxImpl : public Sandbox {
 public:
  SandboxImpl(const SandboxOptions& options, const CgroupCapabilities& caps)
      : options_(options), cgroup_caps_(caps) {}
  ~SandboxImpl() override;

  absl::Status Init(Cgroups* cgroups) {
    // A program that stops reading its stdin must not kill the runner.
    signal(SIGPIPE, SIG_IGN);
    absl::StatusOr<std::unique_ptr<BoxFactory>> factory =
        BoxFactory::Create(options_, cgroup_caps_);
    if (!factory.ok()) return factory.status();
    factory_ = std::move(*factory);
    if (cgroup_caps_.version != 0) {
      // Two per slot: the next box is built in one while a program runs in
      // the other.
      for (int i = 0; i < 2; ++i) {
        absl::StatusOr<std::unique_ptr<BoxCgroup>> box = cgroups->CreateBox(
            absl::StrCat(options_.slot_name, i == 0 ? "" : "-next"));
        if (!box.ok()) return box.status();
        cgroups_[i] = std::move(*box);
      }
    }
    background_ = std::thread([this] { Background(); });
    return absl::OkStatus();
  }

  uid_t box_host_uid() const override { return factory_->host_uid(); }
  gid_t box_host_gid() const override { return factory_->host_gid(); }

  absl::StatusOr<RunResult> Run(const RunSpec& spec) override;
  void AwaitEmpty() override;
  void DropPrepared() override;

 private:
  // The slot's other cgroup: where the next box is built.
  BoxCgroup* Other(BoxCgroup* cgroup) const {
    return cgroup == cgroups_[0].get() ? cgroups_[1].get() : cgroups_[0].get();
  }
  void Enqueue(BackgroundTask task);
  void AwaitIdle();  // every queued task done
  // The background thread: reaps boxes, builds the next one, in order.
  void Background();

  SandboxOptions options_;
  CgroupCapabilities cgroup_caps_;
  std::unique_ptr<BoxFactory> factory_;
  std::unique_ptr<BoxCgroup> cgroups_[2];  // both null without cgroups

  // The background thread's queue. A queued reap empties a cgroup before a
  // later queued spawn puts the next box in it.
  absl::Mutex mu_;
  std::deque<BackgroundTask> tasks_ ABSL_GUARDED_BY(mu_);
  int busy_ ABSL_GUARDED_BY(mu_) = 0;    // tasks queued or running
  int spawns_ ABSL_GUARDED_BY(mu_) = 0;  // of which spawns
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status reap_status_ ABSL_GUARDED_BY(mu_);  // first failed reap
  std::optional<LiveBox> warm_ ABSL_GUARDED_BY(mu_);  // built, not started
  RunSpec warm_spec_ ABSL_GUARDED_BY(mu_);
  std::thread background_;
};

absl::StatusOr<RunResult> SandboxImpl::Run(const RunSpec& spec) {
  std::optional<LiveBox> box;
  {
    // A box being built ahead is ready (or failed) once no spawn is queued.
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(
        +[](int* spawns) { return *spawns == 0; }, &spawns_));
    if (!reap_status_.ok()) {
      // A box could not be cleared; its cgroup is suspect.
      absl::Status s = std::exchange(reap_status_, absl::OkStatus());
      return absl::InternalError(absl::StrCat("last box: ", s.message()));
    }
    if (warm_.has_value() && SameBox(warm_spec_, spec) &&
        BoxFactory::BindsSameDirs(*warm_, spec)) {
      box = std::exchange(warm_, std::nullopt);
    }
  }
  if (!box.has_value()) {
    // Build it here, once everything before is cleared away.
    AwaitIdle();
    std::optional<LiveBox> unused;
    {
      absl::MutexLock lock(&mu_);
      unused = std::exchange(warm_, std::nullopt);
    }
    if (unused.has_value()) {
      if (absl::Status s = BoxFactory::Reap(*unused); !s.ok()) return s;
    }
    absl::StatusOr<LiveBox> spawned =
        factory_->Spawn(spec, cgroups_[0].get());
    if (!spawned.ok()) return spawned.status();
    box = std::move(*spawned);
  }
  BoxCgroup* const cgroup = box->cgroup;

  absl::Status started =
      cgroup != nullptr ? cgroup->ResetCounters() : absl::OkStatus();
  box->io.start = absl::Now();
  if (started.ok()) {
    // If the init died while building the box, its error pipe says why.
    const char go = 1;
    (void)!write(box->sync_w.get(), &go, 1);
  }
  box->sync_w.reset();  // without the byte the init reads EOF and exits
  if (spec.next != nullptr) {
    // Built in the other cgroup while this program runs.
    BackgroundTask next;
    next.spawn = *spec.next;
    next.spawn->stdin_data.clear();
    next.spawn->next.reset();
    next.cgroup = Other(cgroup);
    Enqueue(std::move(next));
  }
  absl::Duration wall = spec.limits.wall_time;
  if (wall == absl::ZeroDuration() && spec.limits.cpu_time > absl::ZeroDuration()) {
    wall = 2 * spec.limits.cpu_time + absl::Seconds(1);
  }
  Supervision sup =
      Supervise(box->io, spec.stdin_data, spec.limits, wall, cgroup);
  std::optional<absl::StatusOr<CgroupUsage>> usage;
  if (cgroup != nullptr) usage = cgroup->Usage();
  std::vector<std::string> warnings = std::move(box->warnings);

  // Reaping the init (the namespaces' teardown) happens in the background,
  // before anything else uses its cgroup.
  BackgroundTask reap;
  reap.reap = std::move(box);
  Enqueue(std::move(reap));
  if (!started.ok()) return started;
  if (!sup.setup_error.empty() && !sup.kill_reason) {
    return absl::InternalError(absl::StrCat("box setup: ", sup.setup_error));
  }
  return Judge(spec, sup, usage.has_value() ? &*usage : nullptr, cgroup_caps_,
               std::move(warnings));
}

void SandboxImpl::Enqueue(BackgroundTask task) {
  absl::MutexLock lock(&mu_);
  if (task.spawn.has_value()) ++spawns_;
  ++busy_;
  tasks_.push_back(std::move(task));
}

void SandboxImpl::AwaitIdle() {
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(+[](int* busy) { return *busy == 0; }, &busy_));
}

void SandboxImpl::Background() {
  while (true) {
    BackgroundTask task;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](SandboxImpl* self) ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->mu_) {
            return !self->tasks_.empty() || self->stopping_;
          },
          this));
      if (tasks_.empty()) return;  // stopping, nothing left to do
      task = std::move(tasks_.front());
      tasks_.pop_front();
    }
    absl::Status reaped = absl::OkStatus();
    std::optional<absl::StatusOr<LiveBox>> built;
    if (task.reap.has_value()) {
      reaped = BoxFactory::Reap(*task.reap);
    } else if (task.spawn.has_value()) {
      bool cleared = false;
      {
        absl::MutexLock lock(&mu_);
        cleared = reap_status_.ok();  // never build in a cgroup not emptied
      }
      // A failed spawn is no error yet: the run builds its box and says.
      if (cleared) built = factory_->Spawn(*task.spawn, task.cgroup);
    }
    std::optional<LiveBox> replaced;
    absl::MutexLock lock(&mu_);
    if (!reaped.ok() && reap_status_.ok()) reap_status_ = reaped;
    if (built.has_value() && built->ok()) {
      replaced = std::exchange(warm_, std::move(**built));
      warm_spec_ = std::move(*task.spawn);
    }
    if (task.spawn.has_value()) --spawns_;
    --busy_;
    if (replaced.has_value()) {
      // Not expected (one box ahead at most); never leave one behind.
      BackgroundTask again;
      again.reap = std::move(replaced);
      ++busy_;
      tasks_.push_back(std::move(again));
    }
  }
}

void SandboxImpl::AwaitEmpty() { AwaitIdle(); }

void SandboxImpl::DropPrepared() {
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(
      +[](int* spawns) { return *spawns == 0; }, &spawns_));
  if (!warm_.has_value()) return;
  BackgroundTask task;
  task.reap = std::exchange(warm_, std::nullopt);
  ++busy_;
  tasks_.push_back(std::move(task));
}

SandboxImpl::~SandboxImpl() {
  DropPrepared();
  AwaitIdle();
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (background_.joinable()) background_.join();
}

}  // namespace

absl::StatusOr<std::unique_ptr<Sandbox>> Sandbox::Create(
    const SandboxOptions& options, Cgroups* cgroups) {
  auto sandbox =
      std::make_unique<SandboxImpl>(options, cgroups->capabilities());
  if (absl::Status s = sandbox->Init(cgroups); !s.ok()) return s;
  return sandbox;
}

}  // namespace scrc::sandbox
