#include "src/executor.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <map>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "sandbox/cgroup.h"
#include "sandbox/sandbox.h"
#include "src/box_dir.h"
#include "src/contract.h"
#include "src/kafka_client.h"
#include "src/profile.h"
#include "src/rootfs_store.h"
#include "src/verdict.h"

namespace scrc {
namespace {

// A judge never runs unbounded: when the message, the runner and the
// profile all leave a limit at 0, these apply.
constexpr absl::Duration kFallbackTimeLimit = absl::Seconds(10);
constexpr int64_t kFallbackMemoryLimit = 512 << 20;

// The box sees /box as its working directory (sandbox mount plan).
constexpr char kBoxCwd[] = "/box";

// Trees a profile's steps run on, resolved once at start.
struct Trees {
  std::string build;  // "" = host mode
  std::string run;
};

struct Slot {
  std::unique_ptr<sandbox::Sandbox> sandbox;
  std::string box_dir;
};

class ExecutorImpl : public Executor {
 public:
  explicit ExecutorImpl(ExecutorOptions options)
      : options_(std::move(options)) {}
  ~ExecutorImpl() override;

  absl::Status Init();
  Result Judge(const Script& script) override;
  std::vector<std::string> Languages() const override {
    return profiles_.Languages();
  }

 private:
  size_t Acquire();
  void Release(size_t slot);
  Result JudgeOn(Slot& slot, const Script& script, const Profile& profile,
                 const Trees& trees);
  // Runs a step; a runner failure is retried once (a transient host
  // problem must not cost the submission its verdict).
  absl::StatusOr<sandbox::RunResult> RunWithRetry(Slot& slot,
                                                  const sandbox::RunSpec& spec,
                                                  const std::string& id,
                                                  std::string_view step);
  sandbox::Limits BuildLimits(const Profile& profile) const;
  // The build cache template of a profile with a build cache (made by a
  // warm-up build on `slot` the first time), or "" when there is none.
  std::string CacheTemplate(Slot& slot, const Profile& profile,
                            const Trees& trees);
  absl::Status WarmUp(Slot& slot, const Profile& profile, const Trees& trees,
                      const std::string& dest);
  absl::StatusOr<sandbox::RunSpec> MakeSpec(const Profile& profile,
                                            const Step& step,
                                            const sandbox::Limits& limits,
                                            const std::string& rootfs,
                                            const std::string& source_file,
                                            const std::string& class_name,
                                            const std::string& box_dir) const;

  ExecutorOptions options_;
  ProfileRegistry profiles_;
  std::map<std::string, Trees, std::less<>> trees_;
  std::unique_ptr<sandbox::Cgroups> cgroups_;
  std::string run_dir_;
  std::vector<Slot> slots_;
  absl::Mutex mu_;
  std::vector<size_t> free_ ABSL_GUARDED_BY(mu_);

  struct Seed {
    absl::Mutex mu;
    bool tried ABSL_GUARDED_BY(mu) = false;
    std::string path ABSL_GUARDED_BY(mu);
  };
  // One per profile with a build cache; the map is fixed after Init.
  std::map<std::string, std::unique_ptr<Seed>, std::less<>> seeds_;
};

// Names a cache template after everything that shapes its content, so a
// changed profile or tree never reuses an old one. (A toolchain upgraded in
// place keeps the name: its old entries just stop matching, and builds are
// cold until SCRC_WORK_DIR/cache is cleared.)
std::string Fingerprint(const Profile& profile, const Trees& trees) {
  uint64_t hash = 1469598103934665603ull;  // FNV-1a
  const auto mix = [&](std::string_view text) {
    for (const char c : text) {
      hash ^= static_cast<unsigned char>(c);
      hash *= 1099511628211ull;
    }
    hash ^= 0xff;  // field separator
    hash *= 1099511628211ull;
  };
  mix(profile.language);
  mix(profile.source_file);
  for (const std::string& arg : profile.build->command) mix(arg);
  for (const auto& [name, value] : profile.env) mix(absl::StrCat(name, "=", value));
  mix(profile.build->cache->dir);
  mix(profile.build->cache->warmup_source);
  mix(trees.build);
  return absl::StrCat(absl::Hex(hash, absl::kZeroPad16));
}

// The tree a step runs on: the reference's *_IMAGE variable when set,
// else the profile's name (host mode under SCRC_HOST_MODE); "" is host mode.
absl::StatusOr<std::string> StepTree(const ExecutorOptions& options,
                                     const std::string& image_env,
                                     const std::string& profile_name) {
  std::string name = options.host_mode ? "" : profile_name;
  if (!image_env.empty()) {
    if (const char* value = std::getenv(image_env.c_str());
        value != nullptr && *value != '\0') {
      name = value;
    }
  }
  absl::StatusOr<std::string> tree = ResolveTree(options.rootfs_dir, name);
  if (!tree.ok() && !image_env.empty()) {
    return absl::Status(
        tree.status().code(),
        absl::StrCat(tree.status().message(), " (the tree is named by ",
                     image_env, " when set, else by the profile)"));
  }
  return tree;
}

ExecutorImpl::~ExecutorImpl() {
  slots_.clear();  // sandboxes first: they may hold state under run_dir_
  if (!run_dir_.empty()) {
    if (absl::Status s = RemoveBoxDir(run_dir_); !s.ok()) {
      LogLine("executor", absl::StrCat("cleanup: ", s.ToString()));
    }
  }
}

absl::Status ExecutorImpl::Init() {
  if (options_.parallel < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "parallel must be >= 1 (got ", options_.parallel, ")"));
  }
  absl::StatusOr<ProfileRegistry> profiles = LoadProfiles(options_.profiles_dir);
  if (!profiles.ok()) return profiles.status();
  profiles_ = *std::move(profiles);

  std::vector<std::string> problems;
  for (const auto& [language, profile] : profiles_.profiles()) {
    Trees trees;
    if (profile.build.has_value()) {
      absl::StatusOr<std::string> t =
          StepTree(options_, profile.build_image_env, profile.build->rootfs);
      if (t.ok()) {
        trees.build = *t;
      } else {
        problems.push_back(absl::StrCat(language, " build: ",
                                        t.status().message()));
      }
    }
    absl::StatusOr<std::string> t =
        StepTree(options_, profile.run_image_env, profile.run.rootfs);
    if (t.ok()) {
      trees.run = *t;
    } else {
      problems.push_back(absl::StrCat(language, " run: ", t.status().message()));
    }
    trees_.emplace(language, std::move(trees));
    if (profile.build.has_value() && profile.build->cache.has_value()) {
      seeds_.emplace(language, std::make_unique<Seed>());
    }
  }
  if (!problems.empty()) {
    return absl::FailedPreconditionError(absl::StrJoin(problems, "\n"));
  }

  if (absl::Status s = PrepareWorkDir(options_.work_dir); !s.ok()) return s;
  if (absl::Status s = SweepStaleRunDirs(options_.work_dir); !s.ok()) {
    LogLine("executor", absl::StrCat("sweeping stale run directories: ",
                                     s.ToString()));
  }
  run_dir_ = RunDirFor(options_.work_dir);
  if (absl::Status s = RemoveBoxDir(run_dir_); !s.ok()) return s;
  if (mkdir(run_dir_.c_str(), 0700) != 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("mkdir ", run_dir_));
  }

  cgroups_ = sandbox::Cgroups::Detect(options_.cgroup_parent);
  for (int i = 0; i < options_.parallel; ++i) {
    sandbox::SandboxOptions so;
    so.slot_name = absl::StrCat("slot", i);
    so.slot_index = i;
    so.state_dir = absl::StrCat(run_dir_, "/state");
    absl::StatusOr<std::unique_ptr<sandbox::Sandbox>> sb =
        sandbox::Sandbox::Create(so, cgroups_.get());
    if (!sb.ok()) {
      return absl::Status(sb.status().code(),
                          absl::StrCat("sandbox slot ", i, ": ",
                                       sb.status().message()));
    }
    slots_.push_back({*std::move(sb), absl::StrCat(run_dir_, "/box", i)});
  }
  absl::MutexLock lock(&mu_);
  for (size_t i = slots_.size(); i > 0; --i) free_.push_back(i - 1);
  return absl::OkStatus();
}

size_t ExecutorImpl::Acquire() {
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(
      +[](std::vector<size_t>* free) { return !free->empty(); }, &free_));
  const size_t slot = free_.back();
  free_.pop_back();
  return slot;
}

void ExecutorImpl::Release(size_t slot) {
  absl::MutexLock lock(&mu_);
  free_.push_back(slot);
}

Result ExecutorImpl::Judge(const Script& script) {
  const Profile* profile = profiles_.Find(script.language);
  if (profile == nullptr) {
    return MakeErrorResult(
        script.id,
        absl::StrCat("language: unsupported '", script.language,
                     "' (supported: ", absl::StrJoin(Languages(), ", "), ")"));
  }
  const size_t slot = Acquire();
  Result result =
      JudgeOn(slots_[slot], script, *profile, trees_.find(script.language)->second);
  Release(slot);
  return result;
}

sandbox::Limits ExecutorImpl::BuildLimits(const Profile& profile) const {
  sandbox::Limits limits;
  limits.output_bytes = options_.max_output_bytes;
  return profile.build->limits.ApplyTo(limits);
}

std::string ExecutorImpl::CacheTemplate(Slot& slot, const Profile& profile,
                                        const Trees& trees) {
  Seed& seed = *seeds_.at(profile.language);
  absl::MutexLock lock(&seed.mu);
  if (seed.tried) return seed.path;
  seed.tried = true;
  const std::string dest =
      absl::StrCat(options_.work_dir, "/cache/", profile.language, "-",
                   Fingerprint(profile, trees));
  struct stat st;
  if (lstat(dest.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    seed.path = dest;
    return seed.path;
  }
  const absl::Time start = absl::Now();
  if (absl::Status s = WarmUp(slot, profile, trees, dest); !s.ok()) {
    LogLine("executor", absl::StrCat(profile.language,
                                     ": no build cache, builds stay cold: ",
                                     s.ToString()));
    return "";
  }
  LogLine("executor",
          absl::StrCat(profile.language, ": build cache made in ",
                       FormatMillis(absl::Now() - start), ": ", dest));
  seed.path = dest;
  return seed.path;
}

absl::Status ExecutorImpl::WarmUp(Slot& slot, const Profile& profile,
                                  const Trees& trees, const std::string& dest) {
  const StepCache& cache = *profile.build->cache;
  const std::string class_name = DetectClass(profile, cache.warmup_source);
  absl::StatusOr<std::string> source_file = ExpandPlaceholders(
      profile.source_file, MakePlaceholders(profile, {.class_name = class_name}));
  if (!source_file.ok()) return source_file.status();
  if (absl::Status s = CreateBoxDir(slot.box_dir, *source_file,
                                    cache.warmup_source,
                                    slot.sandbox->box_host_uid(),
                                    slot.sandbox->box_host_gid());
      !s.ok()) {
    return s;
  }
  const sandbox::Limits limits = BuildLimits(profile);
  absl::StatusOr<sandbox::RunSpec> spec =
      MakeSpec(profile, *profile.build, limits, trees.build, *source_file,
               class_name, slot.box_dir);
  absl::Status status = spec.status();
  if (status.ok()) {
    spec->box_writable = true;
    absl::StatusOr<sandbox::RunResult> run = slot.sandbox->Run(*spec);
    status = run.status();
    if (run.ok()) {
      if (std::optional<std::string> failure = JudgeBuild(*run, limits)) {
        status = absl::FailedPreconditionError(
            absl::StrCat("warm-up build: ", *failure));
      } else {
        status = AdoptCacheTemplate(
            absl::StrCat(slot.box_dir, "/", cache.dir), dest);
      }
    }
  }
  if (absl::Status s = RemoveBoxDir(slot.box_dir); !s.ok() && status.ok()) {
    status = s;
  }
  return status;
}

absl::StatusOr<sandbox::RunSpec> ExecutorImpl::MakeSpec(
    const Profile& profile, const Step& step, const sandbox::Limits& limits,
    const std::string& rootfs, const std::string& source_file,
    const std::string& class_name, const std::string& box_dir) const {
  const Placeholders values = MakePlaceholders(
      profile, {.source_file = source_file,
                .class_name = class_name,
                .memory_bytes = limits.memory_bytes,
                .cpu_time = limits.cpu_time});
  sandbox::RunSpec spec;
  for (const std::string& arg : step.command) {
    absl::StatusOr<std::string> expanded = ExpandPlaceholders(arg, values);
    if (!expanded.ok()) return expanded.status();
    spec.argv.push_back(*std::move(expanded));
  }
  for (const auto& [name, value] : profile.env) {
    absl::StatusOr<std::string> expanded = ExpandPlaceholders(value, values);
    if (!expanded.ok()) return expanded.status();
    spec.env.push_back(absl::StrCat(name, "=", *expanded));
  }
  spec.cwd = kBoxCwd;
  spec.rootfs = rootfs;
  spec.box_dir = box_dir;
  spec.limits = limits;
  spec.seccomp_allow = profile.seccomp_allow;
  return spec;
}

absl::StatusOr<sandbox::RunResult> ExecutorImpl::RunWithRetry(
    Slot& slot, const sandbox::RunSpec& spec, const std::string& id,
    std::string_view step) {
  absl::StatusOr<sandbox::RunResult> run = slot.sandbox->Run(spec);
  if (run.ok()) return run;
  LogLine("executor", absl::StrCat(id, ": ", std::string(step),
                                   ": sandbox failed, retrying once: ",
                                   run.status().ToString()));
  absl::StatusOr<sandbox::RunResult> again = slot.sandbox->Run(spec);
  if (!again.ok()) {
    LogLine("executor", absl::StrCat(id, ": ", std::string(step),
                                     ": sandbox failed again: ",
                                     again.status().ToString()));
  }
  return again;
}

Result ExecutorImpl::JudgeOn(Slot& slot, const Script& script,
                             const Profile& profile, const Trees& trees) {
  const absl::Time start = absl::Now();
  ResultAssembler assembler(script.id, script.tests);

  // Limits of the run: the message, else the runner, else the profile,
  // else the fallback.
  sandbox::Limits run_limits = profile.run.limits.ApplyTo(sandbox::Limits{});
  run_limits.cpu_time =
      script.time_limit_ms > 0 ? absl::Milliseconds(script.time_limit_ms)
      : options_.default_time_limit > absl::ZeroDuration()
          ? options_.default_time_limit
          : profile.run.limits.cpu_time.value_or(kFallbackTimeLimit);
  run_limits.memory_bytes =
      script.memory_limit_bytes > 0 ? script.memory_limit_bytes
      : options_.default_memory_limit > 0
          ? options_.default_memory_limit
          : profile.run.limits.memory_bytes.value_or(kFallbackMemoryLimit);
  run_limits.output_bytes = options_.max_output_bytes;

  // Before the box is made: a first warm-up uses the slot's box directory.
  const std::string cache_template =
      profile.build.has_value() && profile.build->cache.has_value()
          ? CacheTemplate(slot, profile, trees)
          : "";

  const std::string class_name = DetectClass(profile, script.source);
  absl::StatusOr<std::string> source_file = ExpandPlaceholders(
      profile.source_file, MakePlaceholders(profile, {.class_name = class_name}));
  absl::Status setup = source_file.status();
  if (setup.ok()) {
    setup = CreateBoxDir(slot.box_dir, *source_file, script.source,
                         slot.sandbox->box_host_uid(),
                         slot.sandbox->box_host_gid());
  }
  if (setup.ok() && !cache_template.empty()) {
    // Hard links only when the box user cannot write the template's
    // runner-owned files (it is another uid than ours).
    const bool link = slot.sandbox->box_host_uid() != geteuid();
    if (absl::Status s = SeedCache(cache_template, slot.box_dir,
                                   profile.build->cache->dir,
                                   slot.sandbox->box_host_uid(),
                                   slot.sandbox->box_host_gid(), link);
        !s.ok()) {
      // A cold build is slower, not wrong.
      LogLine("executor", absl::StrCat(script.id, ": seeding the build cache: ",
                                       s.ToString()));
    }
  }
  if (!setup.ok()) {
    assembler.AddInternalError(absl::StrCat("box setup: ", setup.ToString()));
    LogLine("executor", absl::StrCat(script.id, ": box setup: ", setup.ToString()));
    (void)RemoveBoxDir(slot.box_dir);
    return std::move(assembler).Finish(absl::Now() - start);
  }

  absl::StatusOr<sandbox::RunSpec> run_spec =
      MakeSpec(profile, profile.run, run_limits, trees.run, *source_file,
               class_name, slot.box_dir);
  // Each run names the one after it, whose box is built meanwhile.
  std::shared_ptr<const sandbox::RunSpec> next_run;
  if (run_spec.ok()) next_run = std::make_shared<sandbox::RunSpec>(*run_spec);

  bool built = true;
  if (profile.build.has_value()) {
    const sandbox::Limits build_limits = BuildLimits(profile);
    absl::StatusOr<sandbox::RunSpec> spec =
        MakeSpec(profile, *profile.build, build_limits, trees.build,
                 *source_file, class_name, slot.box_dir);
    if (spec.ok()) {
      spec->box_writable = true;
      spec->next = next_run;
      absl::StatusOr<sandbox::RunResult> build =
          RunWithRetry(slot, *spec, script.id, "build");
      if (build.ok()) {
        built = assembler.AddBuild(*build, build_limits);
      } else {
        assembler.AddInternalError(
            absl::StrCat("build: sandbox: ", build.status().ToString()));
        built = false;
      }
    } else {
      assembler.AddInternalError(
          absl::StrCat("build: ", spec.status().ToString()));
      built = false;
    }
  }

  if (built) {
    if (!run_spec.ok()) {
      assembler.AddInternalError(
          absl::StrCat("run: ", run_spec.status().ToString()));
    } else if (script.tests.empty()) {
      absl::StatusOr<sandbox::RunResult> run =
          RunWithRetry(slot, *run_spec, script.id, "run");
      if (run.ok()) {
        assembler.AddSingleRun(*run, run_limits, profile.memory_error_markers);
      } else {
        assembler.AddSingleInternalError(
            absl::StrCat("sandbox: ", run.status().ToString()));
      }
    } else {
      while (const std::optional<size_t> index = assembler.NextTest()) {
        run_spec->stdin_data = script.tests[*index].input;
        run_spec->next = *index + 1 < script.tests.size() ? next_run : nullptr;
        absl::StatusOr<sandbox::RunResult> run = RunWithRetry(
            slot, *run_spec, script.id,
            absl::StrCat("test ", script.tests[*index].number));
        if (run.ok()) {
          assembler.AddTest(*run, run_limits, profile.memory_error_markers);
        } else {
          assembler.AddTestInternalError(
              absl::StrCat("sandbox: ", run.status().ToString()));
        }
      }
    }
  }

  slot.sandbox->DropPrepared();  // when a test failed before the last
  if (absl::Status s = RemoveBoxDir(slot.box_dir); !s.ok()) {
    // The next submission on this slot removes it first; say so now.
    LogLine("executor", absl::StrCat(script.id, ": removing ", slot.box_dir,
                                     ": ", s.ToString()));
  }
  return std::move(assembler).Finish(absl::Now() - start);
}

}  // namespace

absl::StatusOr<std::unique_ptr<Executor>> Executor::Create(
    const ExecutorOptions& options) {
  auto executor = std::make_unique<ExecutorImpl>(options);
  if (absl::Status s = executor->Init(); !s.ok()) return s;
  return executor;
}

}  // namespace scrc
