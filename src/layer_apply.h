// Applies image layers (tar streams, any compression libarchive reads) onto
// a tree being built, with OCI whiteouts, and without ever writing outside
// the tree, whatever the layer says.
//
// What a layer may not do, and what happens then:
//  - absolute member names, ".." components: the import fails;
//  - a write through a symlink that leads outside the tree (the symlink
//    itself is fine: it is stored as a symlink): the import fails;
//  - a hard link to anything not already in the tree: the import fails;
//  - device nodes: the import fails. Trees never hold devices: the sandbox
//    provides /dev. (mmdebstrap-built trees are packed without /dev.)
//  - setuid/setgid bits: stripped (counted in LayerStats).
// Owners and extended attributes (file capabilities!) are not applied: the
// tree belongs to the importing user and is mounted read-only for an
// unprivileged box user, so only the permission bits matter.
#ifndef SCRC_SRC_LAYER_APPLY_H_
#define SCRC_SRC_LAYER_APPLY_H_

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"

namespace scrc {

struct LayerStats {
  int64_t entries = 0;
  int64_t bytes = 0;           // regular file data written
  int64_t whiteouts = 0;       // ".wh." entries and opaque markers applied
  int64_t setid_stripped = 0;  // files that lost setuid/setgid bits
  std::vector<std::string> warnings;  // things skipped, in words
};

class LayerApplier {
 public:
  // `root_fd`: the tree being built (kept open by the caller; not owned).
  // `whiteouts`: false to unpack a plain archive (a docker-save file) where
  // ".wh." names mean nothing.
  explicit LayerApplier(int root_fd, bool whiteouts = true)
      : root_fd_(root_fd), whiteouts_(whiteouts) {}

  // Reads the tar stream on `fd` (compressed or not) and applies it.
  // `label` names the layer in errors. On error the tree is left
  // half-written: the caller throws it away.
  absl::Status Apply(int fd, const std::string& label);

  // Gives directories their final modes. Until then every directory keeps
  // owner rwx so that later layers can write in it even when unprivileged.
  absl::Status Finish();

  const LayerStats& stats() const { return stats_; }

 private:
  int root_fd_;
  bool whiteouts_;
  LayerStats stats_;
  // Directories whose layer mode lacks owner rwx: path -> final mode.
  absl::flat_hash_map<std::string, mode_t> dir_modes_;
};

}  // namespace scrc

#endif  // SCRC_SRC_LAYER_APPLY_H_
