#include "src/oci_image.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "rapidjson/document.h"
#include "rapidjson/error/en.h"
#include "src/tree_paths.h"

namespace scrc {
namespace {

constexpr off_t kMaxJsonBytes = 16 << 20;
constexpr int kMaxIndexDepth = 4;

#if defined(__x86_64__)
constexpr char kHostArch[] = "amd64";
#elif defined(__aarch64__)
constexpr char kHostArch[] = "arm64";
#else
constexpr char kHostArch[] = "";
#endif

bool IsManifestType(absl::string_view t) {
  return t == "application/vnd.oci.image.manifest.v1+json" ||
         t == "application/vnd.docker.distribution.manifest.v2+json";
}
bool IsIndexType(absl::string_view t) {
  return t == "application/vnd.oci.image.index.v1+json" ||
         t == "application/vnd.docker.distribution.manifest.list.v2+json";
}

std::string Str(const rapidjson::Value& v, const char* key) {
  if (!v.IsObject()) return "";
  auto it = v.FindMember(key);
  if (it == v.MemberEnd() || !it->value.IsString()) return "";
  return std::string(it->value.GetString(), it->value.GetStringLength());
}

const rapidjson::Value* Member(const rapidjson::Value& v, const char* key) {
  if (!v.IsObject()) return nullptr;
  auto it = v.FindMember(key);
  return it == v.MemberEnd() ? nullptr : &it->value;
}

class Reader {
 public:
  Reader(int dir_fd, absl::string_view name) : fd_(dir_fd), name_(name) {}

  absl::StatusOr<Image> Read();

 private:
  absl::Status Error(absl::string_view what) const {
    return absl::InvalidArgumentError(
        absl::StrCat("image ", name_, ": ", what));
  }
  bool Exists(const char* path) const {
    struct stat st;
    return fstatat(fd_, path, &st, AT_SYMLINK_NOFOLLOW) == 0;
  }
  absl::Status ReadJson(const std::string& path, rapidjson::Document* doc);
  absl::Status ReadOci(Image* image);
  absl::Status SelectManifest(const rapidjson::Value& index, int depth,
                              Image* image);
  absl::Status ReadManifest(const std::string& digest, int depth, Image* image);
  absl::Status ReadDocker(Image* image);
  absl::Status ReadConfig(const std::string& path, Image* image);

  int fd_;
  std::string name_;
};

absl::Status Reader::ReadJson(const std::string& path,
                              rapidjson::Document* doc) {
  // O_NONBLOCK: a FIFO planted in the layout must not hang the import.
  absl::StatusOr<UniqueFd> fd = OpenBeneath(fd_, path, O_RDONLY | O_NONBLOCK);
  if (!fd.ok()) return Error(fd.status().message());
  struct stat st;
  if (fstat(fd->get(), &st) != 0)
    return Error(PathError(errno, "stat", path).message());
  if (!S_ISREG(st.st_mode) || st.st_size > kMaxJsonBytes) {
    return Error(absl::StrCat(path, ": not a regular file of at most 16 MiB"));
  }
  std::string text(static_cast<size_t>(st.st_size), '\0');
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = read(fd->get(), text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error(PathError(errno, "read", path).message());
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  text.resize(done);
  doc->Parse(text.c_str(), text.size());
  if (doc->HasParseError()) {
    return Error(
        absl::StrCat(path, ": bad JSON at offset ", doc->GetErrorOffset(), ": ",
                     rapidjson::GetParseError_En(doc->GetParseError())));
  }
  return absl::OkStatus();
}

absl::StatusOr<Image> Reader::Read() {
  Image image;
  absl::Status s;
  // The newer docker-save form holds both; index.json gives the manifest
  // digest, so it wins.
  if (Exists("index.json")) {
    image.format = "oci-layout";
    s = ReadOci(&image);
  } else if (Exists("manifest.json")) {
    image.format = "docker-archive";
    s = ReadDocker(&image);
  } else {
    s = Error(
        "neither an OCI image layout (no index.json) nor a docker-save "
        "archive (no manifest.json)");
  }
  if (!s.ok()) return s;
  if (image.layers.empty()) return Error("the image has no layers");
  return image;
}

absl::Status Reader::ReadOci(Image* image) {
  rapidjson::Document index;
  absl::Status s = ReadJson("index.json", &index);
  if (!s.ok()) return s;
  return SelectManifest(index, 0, image);
}

absl::Status Reader::SelectManifest(const rapidjson::Value& index, int depth,
                                    Image* image) {
  const rapidjson::Value* list = Member(index, "manifests");
  if (list == nullptr || !list->IsArray()) {
    return Error("index has no \"manifests\" array");
  }
  std::vector<const rapidjson::Value*> picks;
  std::vector<std::string> seen;
  for (const rapidjson::Value& m : list->GetArray()) {
    const std::string type = Str(m, "mediaType");
    // No media type: older layouts; the blob itself says what it is.
    if (!type.empty() && !IsManifestType(type) && !IsIndexType(type)) continue;
    if (const rapidjson::Value* p = Member(m, "platform")) {
      const std::string os = Str(*p, "os");
      const std::string arch = Str(*p, "architecture");
      seen.push_back(absl::StrCat(os, "/", arch));
      if (os != "linux" || (*kHostArch && arch != kHostArch)) continue;
    }
    const bool duplicate = std::any_of(
        picks.begin(), picks.end(), [&m](const rapidjson::Value* p) {
          return Str(*p, "digest") == Str(m, "digest");
        });
    if (!duplicate) picks.push_back(&m);
  }
  if (picks.empty()) {
    return Error(
        absl::StrCat("no manifest for linux/", kHostArch, " (platforms: ",
                     seen.empty() ? "none" : absl::StrJoin(seen, ", "), ")"));
  }
  if (picks.size() > 1) {
    std::vector<std::string> refs;
    for (const rapidjson::Value* m : picks) {
      const rapidjson::Value* ann = Member(*m, "annotations");
      std::string ref =
          ann ? Str(*ann, "org.opencontainers.image.ref.name") : "";
      refs.push_back(ref.empty() ? Str(*m, "digest") : ref);
    }
    return Error(absl::StrCat("index lists ", picks.size(), " images (",
                              absl::StrJoin(refs, ", "),
                              "); export a layout that holds one"));
  }
  const rapidjson::Value& m = *picks[0];
  const std::string digest = Str(m, "digest");
  if (const rapidjson::Value* ann = Member(m, "annotations")) {
    std::string ref = Str(*ann, "org.opencontainers.image.ref.name");
    if (ref.empty()) ref = Str(*ann, "io.containerd.image.name");
    if (!ref.empty()) image->tags.push_back(ref);
  }
  return ReadManifest(digest, depth, image);
}

absl::Status Reader::ReadManifest(const std::string& digest, int depth,
                                  Image* image) {
  absl::StatusOr<std::string> path = BlobPath(digest);
  if (!path.ok()) return Error(path.status().message());
  rapidjson::Document manifest;
  absl::Status s = ReadJson(*path, &manifest);
  if (!s.ok()) return s;
  if (Member(manifest, "manifests") != nullptr) {  // an index (multi-arch)
    if (depth >= kMaxIndexDepth) return Error("indexes nested too deep");
    return SelectManifest(manifest, depth + 1, image);
  }
  image->manifest_digest = digest;
  const rapidjson::Value* config = Member(manifest, "config");
  if (config == nullptr) return Error("manifest has no config");
  image->config_digest = Str(*config, "digest");
  absl::StatusOr<std::string> config_path = BlobPath(image->config_digest);
  if (!config_path.ok()) return Error(config_path.status().message());
  s = ReadConfig(*config_path, image);
  if (!s.ok()) return s;
  const rapidjson::Value* layers = Member(manifest, "layers");
  if (layers == nullptr || !layers->IsArray()) {
    return Error("manifest has no \"layers\" array");
  }
  for (const rapidjson::Value& l : layers->GetArray()) {
    ImageLayer layer;
    layer.digest = Str(l, "digest");
    layer.media_type = Str(l, "mediaType");
    if (!absl::StrContains(layer.media_type, "tar") ||
        absl::StrContains(layer.media_type, "encrypted")) {
      return Error(absl::StrCat("layer ", layer.digest, " has media type '",
                                layer.media_type, "', not a tar layer"));
    }
    absl::StatusOr<std::string> lp = BlobPath(layer.digest);
    if (!lp.ok()) return Error(lp.status().message());
    layer.path = *lp;
    image->layers.push_back(std::move(layer));
  }
  return absl::OkStatus();
}

absl::Status Reader::ReadDocker(Image* image) {
  rapidjson::Document doc;
  absl::Status s = ReadJson("manifest.json", &doc);
  if (!s.ok()) return s;
  if (!doc.IsArray() || doc.Empty()) {
    return Error("manifest.json is not a non-empty array");
  }
  if (doc.Size() > 1) {
    std::vector<std::string> tags;
    for (const rapidjson::Value& m : doc.GetArray()) {
      const rapidjson::Value* t = Member(m, "RepoTags");
      if (t && t->IsArray() && !t->Empty() && (*t)[0].IsString()) {
        tags.push_back((*t)[0].GetString());
      }
    }
    return Error(absl::StrCat("manifest.json lists ", doc.Size(), " images (",
                              absl::StrJoin(tags, ", "),
                              "); `docker save` one image at a time"));
  }
  const rapidjson::Value& m = doc[0];
  if (const rapidjson::Value* t = Member(m, "RepoTags"); t && t->IsArray()) {
    for (const rapidjson::Value& tag : t->GetArray()) {
      if (tag.IsString()) image->tags.push_back(tag.GetString());
    }
  }
  // The image id is the digest of its config: "<hex>.json" in the legacy
  // form, "blobs/sha256/<hex>" in the newer one.
  const std::string config = Str(m, "Config");
  absl::StatusOr<std::vector<std::string>> config_path =
      CleanRelativePath(config);
  if (!config_path.ok() || config_path->empty()) {
    return Error(absl::StrCat("manifest.json Config '", config,
                              "' is not a path in the archive"));
  }
  std::string hex = config_path->back();
  if (absl::EndsWith(hex, ".json")) hex.resize(hex.size() - 5);
  if (BlobPath(absl::StrCat("sha256:", hex)).ok()) {
    image->config_digest = absl::StrCat("sha256:", hex);
  }
  s = ReadConfig(JoinPath(*config_path), image);
  if (!s.ok()) return s;
  const rapidjson::Value* layers = Member(m, "Layers");
  if (layers == nullptr || !layers->IsArray()) {
    return Error("manifest.json has no \"Layers\" array");
  }
  for (const rapidjson::Value& l : layers->GetArray()) {
    if (!l.IsString()) return Error("manifest.json Layers holds a non-string");
    absl::StatusOr<std::vector<std::string>> p =
        CleanRelativePath(l.GetString());
    if (!p.ok() || p->empty()) {
      return Error(absl::StrCat("layer path '", l.GetString(),
                                "' is not a path in the archive"));
    }
    ImageLayer layer;
    layer.path = JoinPath(*p);
    if (p->size() == 3 && (*p)[0] == "blobs" && (*p)[1] == "sha256" &&
        BlobPath(absl::StrCat("sha256:", (*p)[2])).ok()) {
      layer.digest = absl::StrCat("sha256:", (*p)[2]);
    }
    image->layers.push_back(std::move(layer));
  }
  return absl::OkStatus();
}

absl::Status Reader::ReadConfig(const std::string& path, Image* image) {
  rapidjson::Document doc;
  absl::Status s = ReadJson(path, &doc);
  if (!s.ok()) return s;
  const std::string os = Str(doc, "os");
  const std::string arch = Str(doc, "architecture");
  if (!os.empty() && os != "linux") {
    return Error(absl::StrCat("the image is for os '", os, "', not linux"));
  }
  if (!arch.empty() && *kHostArch && arch != kHostArch) {
    return Error(absl::StrCat("the image is for architecture '", arch,
                              "', this host is ", kHostArch));
  }
  if (const rapidjson::Value* c = Member(doc, "config")) {
    if (const rapidjson::Value* env = Member(*c, "Env");
        env && env->IsArray()) {
      for (const rapidjson::Value& e : env->GetArray()) {
        if (e.IsString()) image->env.push_back(e.GetString());
      }
    }
    image->working_dir = Str(*c, "WorkingDir");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> BlobPath(absl::string_view digest) {
  const size_t colon = digest.find(':');
  if (colon != absl::string_view::npos) {
    const absl::string_view alg = digest.substr(0, colon);
    const absl::string_view hex = digest.substr(colon + 1);
    const size_t want = alg == "sha256" ? 64 : alg == "sha512" ? 128 : 0;
    bool ok = want != 0 && hex.size() == want;
    for (char c : hex)
      ok = ok && absl::ascii_isxdigit(c) && !absl::ascii_isupper(c);
    if (ok) return absl::StrCat("blobs/", alg, "/", hex);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("'", digest, "' is not a sha256/sha512 digest"));
}

absl::StatusOr<Image> ReadImageDir(int dir_fd, absl::string_view dir_name) {
  return Reader(dir_fd, dir_name).Read();
}

}  // namespace scrc
