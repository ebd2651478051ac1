// The rootfs part of `scrc doctor`: the trees in the store with their
// digests, and for each profile step the tree it will run on (the
// reference's *_IMAGE variable when set, else the profile's rootfs), with
// the ones that are missing called out.
#include "src/rootfs_report.h"

#include <cstdlib>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "src/config.h"
#include "src/profile.h"
#include "src/rootfs_store.h"

namespace scrc {
namespace {

// "host mode", "tree NAME: ok" or "tree NAME: MISSING ...", counting the
// missing ones.
std::string StepLine(const RootfsStore& store, const std::string& image_env,
                     const std::string& profile_rootfs, int* missing) {
  std::string name = profile_rootfs;
  std::string from = "profile";
  if (!image_env.empty()) {
    if (const char* v = std::getenv(image_env.c_str()); v && *v) {
      name = v;
      from = image_env;
    }
  }
  if (name.empty() || name == "host") {
    return absl::StrCat("host mode (", image_env.empty() ? "" : image_env,
                        image_env.empty() ? "" : " unset, ", "profile rootfs '",
                        profile_rootfs, "')");
  }
  if (!ValidateTreeName(name).ok()) {
    ++*missing;
    return absl::StrCat("tree '", name, "' (", from,
                        "): INVALID NAME (letters, digits, . _ : + -)");
  }
  if (store.Exists(name)) {
    absl::StatusOr<TreeInfo> info = store.Get(name);
    return absl::StrCat("tree ", name, " (", from, "): ok, ",
                        info.ok() ? info->digest() : "-");
  }
  ++*missing;
  return absl::StrCat("tree ", name, " (", from,
                      "): MISSING (scripts/build-rootfs or `scrc rootfs "
                      "import IMAGE --name ",
                      name, "`)");
}

}  // namespace

std::string RootfsDoctorReport() {
  const EnvLookup env = ProcessEnv();
  const RootfsStore store(EnvString(env, "SCRC_ROOTFS_DIR", ""));
  std::string out = absl::StrCat("rootfs dir: ", store.dir(), "\n");
  absl::StatusOr<std::vector<TreeInfo>> trees = store.List();
  if (!trees.ok()) {
    absl::StrAppend(
        &out, "rootfs trees: cannot list: ", trees.status().message(), "\n");
  } else {
    absl::StrAppend(&out, "rootfs trees: ", trees->size(), "\n");
    for (const TreeInfo& t : *trees) {
      absl::StrAppend(
          &out, "rootfs tree ", t.name, ": ", t.digest(),
          absl::StrFormat(", %d layers, %.1f MiB, imported %s", t.layers,
                          static_cast<double>(t.bytes) / (1 << 20),
                          t.imported_at.empty() ? "-" : t.imported_at),
          t.has_metadata ? "" : " (no metadata)", "\n");
    }
  }
  const std::string profiles_dir =
      EnvString(env, "SCRC_PROFILES_DIR", DefaultProfilesDir());
  absl::StatusOr<ProfileRegistry> profiles = LoadProfiles(profiles_dir);
  if (!profiles.ok()) {
    absl::StrAppend(&out, "rootfs profiles: cannot load ", profiles_dir, ": ",
                    profiles.status().message(), "\n");
    return out;
  }
  int missing = 0;
  for (const auto& [language, profile] : profiles->profiles()) {
    if (profile.build.has_value()) {
      absl::StrAppend(&out, "rootfs profile ", language, " build: ",
                      StepLine(store, profile.build_image_env,
                               profile.build->rootfs, &missing),
                      "\n");
    }
    absl::StrAppend(
        &out, "rootfs profile ", language, " run: ",
        StepLine(store, profile.run_image_env, profile.run.rootfs, &missing),
        "\n");
  }
  absl::StrAppend(&out, "rootfs missing trees: ",
                  missing == 0 ? "none" : absl::StrCat(missing), "\n");
  return out;
}

}  // namespace scrc
