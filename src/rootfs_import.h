// `scrc rootfs import`: an OCI image layout directory or a `docker save`
// archive (tar, possibly compressed) becomes a rootfs tree in the store.
// Layers are applied in order by LayerApplier (layer_apply.h, which says
// what a hostile layer can and cannot do), the box skeleton is added
// (rootfs_skeleton.h), and the tree is renamed into place only when all of
// that succeeded: a failed import leaves nothing behind.
#ifndef SCRC_SRC_ROOTFS_IMPORT_H_
#define SCRC_SRC_ROOTFS_IMPORT_H_

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "src/rootfs_store.h"

namespace scrc {

struct ImportOptions {
  bool replace = false;  // --force: swap out an existing tree of that name
  // Called with one line of progress at a time ("layer 2/5 ..."), or null.
  std::function<void(absl::string_view)> progress;
};

absl::StatusOr<TreeInfo> ImportRootfs(const RootfsStore& store,
                                      const std::string& source,
                                      const std::string& name,
                                      const ImportOptions& options = {});

}  // namespace scrc

#endif  // SCRC_SRC_ROOTFS_IMPORT_H_
