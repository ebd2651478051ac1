// What every rootfs tree must hold for the sandbox to use it as a box root,
// made after the layers are applied:
//  - directories /proc, /dev, /tmp, /box (mount points);
//  - empty regular files /dev/null, /dev/zero, /dev/full, /dev/random,
//    /dev/urandom (the host's devices are bind-mounted onto them; the tree
//    never holds device nodes);
//  - /etc/passwd and /etc/group entries for the box user, uid/gid 1000
//    ("box", home /tmp), unless the image already has uid/gid 1000.
// Anything else found at those names (a symlink, a file where a directory
// must be) is replaced: a mount point must not lead elsewhere.
#ifndef SCRC_SRC_ROOTFS_SKELETON_H_
#define SCRC_SRC_ROOTFS_SKELETON_H_

#include <string>
#include <vector>

#include "absl/status/status.h"

namespace scrc {

// `root_fd`: the tree. Replacements are described in `warnings`.
absl::Status EnsureBoxSkeleton(int root_fd, std::vector<std::string>* warnings);

}  // namespace scrc

#endif  // SCRC_SRC_ROOTFS_SKELETON_H_
