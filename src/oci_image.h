// Reads which layers make an image, in order, from an image directory: an
// OCI image layout (oci-layout, index.json, blobs/<alg>/<hex>) or an
// unpacked `docker save` archive (manifest.json; the legacy <id>/layer.tar
// form and the newer one that is also an OCI layout).
//
// Every file is opened beneath the image directory (tree_paths.h), and
// digests and layer paths are checked before they become paths: an image
// cannot point the import at a file outside itself. Blob digests are taken
// as the image states them, not recomputed.
#ifndef SCRC_SRC_OCI_IMAGE_H_
#define SCRC_SRC_OCI_IMAGE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace scrc {

struct ImageLayer {
  std::string path;        // file relative to the image directory
  std::string digest;      // "sha256:<hex>", empty when the image has none
  std::string media_type;  // empty for legacy docker-save layers
};

struct Image {
  std::string format;              // "oci-layout" or "docker-archive"
  std::string manifest_digest;     // empty for a legacy docker-save archive
  std::string config_digest;       // the image id
  std::vector<ImageLayer> layers;  // bottom first
  std::vector<std::string> env;    // config.Env, "K=V" (e.g. PATH)
  std::string working_dir;         // config.WorkingDir
  std::vector<std::string> tags;   // ref names / RepoTags, for people
};

// `dir_fd` is the image directory; `dir_name` names it in errors.
absl::StatusOr<Image> ReadImageDir(int dir_fd, absl::string_view dir_name);

// "sha256:<64 hex>" (or sha512) -> "blobs/sha256/<hex>"; anything else is
// refused.
absl::StatusOr<std::string> BlobPath(absl::string_view digest);

}  // namespace scrc

#endif  // SCRC_SRC_OCI_IMAGE_H_
