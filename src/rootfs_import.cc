#include "src/rootfs_import.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "src/layer_apply.h"
#include "src/oci_image.h"
#include "src/rootfs_skeleton.h"
#include "src/tree_paths.h"

namespace scrc {
namespace {

constexpr size_t kMaxWarnings = 20;

void Progress(const ImportOptions& options, absl::string_view line) {
  if (options.progress) options.progress(line);
}

absl::StatusOr<UniqueFd> OpenDir(const std::string& path, int flags) {
  const int fd = open(path.c_str(), flags | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return PathError(errno, "open", path);
  return UniqueFd(fd);
}

std::string Mib(int64_t bytes) {
  return absl::StrFormat("%.1f MiB", static_cast<double>(bytes) / (1 << 20));
}

}  // namespace

absl::StatusOr<TreeInfo> ImportRootfs(const RootfsStore& store,
                                      const std::string& source,
                                      const std::string& name,
                                      const ImportOptions& options) {
  absl::Status s = ValidateTreeName(name);
  if (!s.ok()) return s;
  if (!options.replace && store.Exists(name)) {
    return absl::AlreadyExistsError(
        absl::StrCat("rootfs tree '", name, "' already exists in ", store.dir(),
                     " (remove it first, or import with --force)"));
  }
  // "-": a docker-save archive on stdin (`docker save img | scrc rootfs
  // import - --name img`).
  const bool from_stdin = source == "-";
  std::string source_path = "stdin";
  struct stat st;
  if (from_stdin) {
    if (fstat(STDIN_FILENO, &st) != 0) return PathError(errno, "stat", "stdin");
    if (S_ISDIR(st.st_mode)) {
      return absl::InvalidArgumentError("import -: stdin is a directory");
    }
  } else {
    char real[PATH_MAX];
    if (realpath(source.c_str(), real) == nullptr) {
      return PathError(errno, "import", source);
    }
    source_path = real;
    if (stat(real, &st) != 0) return PathError(errno, "stat", source_path);
    if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "import ", source_path,
          ": neither an OCI layout directory nor a docker-save archive file "
          "(use - for an archive on stdin)"));
    }
  }

  absl::StatusOr<std::string> staging_path = store.NewStaging(name);
  if (!staging_path.ok()) return staging_path.status();
  StagingDir staging(*staging_path);  // deleted on every return below
  const std::string tree_dir = absl::StrCat(staging.path(), "/tree");
  if (mkdir(tree_dir.c_str(), 0755) != 0) {
    return PathError(errno, "mkdir", tree_dir);
  }

  UniqueFd image_fd;
  if (S_ISDIR(st.st_mode)) {
    absl::StatusOr<UniqueFd> fd = OpenDir(source_path, O_PATH);
    if (!fd.ok()) return fd.status();
    image_fd = *std::move(fd);
  } else {
    // A docker-save archive names its layers by member path, in an order
    // only manifest.json (often the last member) gives: unpack it first,
    // with the same care as a layer.
    Progress(options, absl::StrCat("unpacking ", source_path));
    const std::string unpacked = absl::StrCat(staging.path(), "/image");
    if (mkdir(unpacked.c_str(), 0700) != 0) {
      return PathError(errno, "mkdir", unpacked);
    }
    absl::StatusOr<UniqueFd> dir = OpenDir(unpacked, O_RDONLY);
    if (!dir.ok()) return dir.status();
    UniqueFd archive_fd;
    if (!from_stdin) {
      const int fd = open(source_path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) return PathError(errno, "open", source_path);
      archive_fd.reset(fd);
    }
    LayerApplier unpack(dir->get(), /*whiteouts=*/false);
    s = unpack.Apply(from_stdin ? STDIN_FILENO : archive_fd.get(), source_path);
    if (s.ok()) s = unpack.Finish();
    if (!s.ok()) return s;
    image_fd = *std::move(dir);
  }

  absl::StatusOr<Image> image = ReadImageDir(image_fd.get(), source_path);
  if (!image.ok()) return image.status();

  absl::StatusOr<UniqueFd> tree = OpenDir(tree_dir, O_RDONLY);
  if (!tree.ok()) return tree.status();
  LayerApplier applier(tree->get());
  const size_t n = image->layers.size();
  for (size_t i = 0; i < n; ++i) {
    const ImageLayer& layer = image->layers[i];
    const std::string label =
        absl::StrCat("layer ", i + 1, "/", n, " (",
                     layer.digest.empty() ? layer.path : layer.digest, ")");
    // O_NONBLOCK: a FIFO planted in the layout must not hang the import.
    absl::StatusOr<UniqueFd> fd =
        OpenBeneath(image_fd.get(), layer.path, O_RDONLY | O_NONBLOCK);
    if (!fd.ok()) {
      return absl::Status(fd.status().code(),
                          absl::StrCat(label, ": ", fd.status().message()));
    }
    struct stat lst;
    if (fstat(fd->get(), &lst) != 0 || !S_ISREG(lst.st_mode)) {
      return absl::InvalidArgumentError(
          absl::StrCat(label, ": ", layer.path, " is not a regular file"));
    }
    Progress(options, absl::StrCat(label, ", ", Mib(lst.st_size)));
    s = applier.Apply(fd->get(), label);
    if (!s.ok()) return s;
  }
  s = applier.Finish();
  if (!s.ok()) return s;

  std::vector<std::string> warnings;
  s = EnsureBoxSkeleton(tree->get(), &warnings);
  if (!s.ok()) return s;
  // The box user is "other" to the tree's files: the root must be
  // traversable whatever the layers said.
  if (fchmod(tree->get(), 0755) != 0)
    return PathError(errno, "chmod", tree_dir);

  const LayerStats& stats = applier.stats();
  if (stats.setid_stripped > 0) {
    warnings.push_back(absl::StrCat("stripped setuid/setgid bits from ",
                                    stats.setid_stripped, " files"));
  }
  for (size_t i = 0; i < stats.warnings.size(); ++i) {
    if (i == kMaxWarnings) {
      warnings.push_back(absl::StrCat("... and ", stats.warnings.size() - i,
                                      " more skipped entries"));
      break;
    }
    warnings.push_back(stats.warnings[i]);
  }

  TreeInfo info;
  info.name = name;
  info.path = store.TreePath(name);
  info.has_metadata = true;
  info.source = source_path;
  info.format = image->format;
  info.manifest_digest = image->manifest_digest;
  info.config_digest = image->config_digest;
  info.tags = image->tags;
  info.imported_at =
      absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::Now(), absl::UTCTimeZone());
  info.layers = static_cast<int64_t>(n);
  info.bytes = stats.bytes;
  info.env = image->env;
  info.working_dir = image->working_dir;
  info.warnings = std::move(warnings);
  tree->reset();
  image_fd.reset();
  s = store.Commit(tree_dir, info, options.replace);
  if (!s.ok()) return s;
  return info;
}

}  // namespace scrc
