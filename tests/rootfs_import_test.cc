// Import of OCI layouts and docker-save archives that the test builds
// itself with libarchive: the good ones must give exactly the expected
// tree, the hostile ones a clear error, nothing written outside the store,
// and nothing half-made left in it.
#include "src/rootfs_import.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "gtest/gtest.h"
#include "src/oci_image.h"
#include "src/rootfs_store.h"
#include "src/tree_paths.h"

namespace scrc {
namespace {

using Lines = std::vector<std::string>;

// gmock is not linked into unit_tests: small stand-ins.
::testing::AssertionResult HasSubstr(absl::string_view text,
                                     absl::string_view part) {
  if (text.find(part) != absl::string_view::npos) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure()
         << "'" << text << "' does not contain '" << part << "'";
}
::testing::AssertionResult HasLine(const Lines& lines, absl::string_view line) {
  for (const std::string& l : lines) {
    if (l == line) return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << "no line '" << line << "' in:\n"
                                       << absl::StrJoin(lines, "\n");
}

// One tar member.
struct M {
  enum Kind { kFile, kDir, kSymlink, kHardlink, kCharDev, kFifo };
  Kind kind;
  std::string path;
  std::string data;  // file content, or link target
  mode_t mode = 0644;
};
M File(std::string path, std::string data, mode_t mode = 0644) {
  return {M::kFile, std::move(path), std::move(data), mode};
}
M Dir(std::string path, mode_t mode = 0755) {
  return {M::kDir, std::move(path), "", mode};
}
M Symlink(std::string path, std::string target) {
  return {M::kSymlink, std::move(path), std::move(target), 0777};
}
M Hardlink(std::string path, std::string target) {
  return {M::kHardlink, std::move(path), std::move(target), 0644};
}

enum class Compression { kNone, kGzip, kZstd };

int AppendToString(archive*, void* out, const void* buf, size_t n) {
  static_cast<std::string*>(out)->append(static_cast<const char*>(buf), n);
  return 0;
}
la_ssize_t WriteCb(archive* a, void* out, const void* buf, size_t n) {
  AppendToString(a, out, buf, n);
  return static_cast<la_ssize_t>(n);
}

std::string Tar(const std::vector<M>& members,
                Compression compression = Compression::kNone) {
  std::string out;
  archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  if (compression == Compression::kGzip) archive_write_add_filter_gzip(a);
  if (compression == Compression::kZstd) archive_write_add_filter_zstd(a);
  archive_write_set_bytes_in_last_block(a, 1);
  EXPECT_EQ(archive_write_open(a, &out, nullptr, WriteCb, nullptr), ARCHIVE_OK)
      << archive_error_string(a);
  for (const M& m : members) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, m.path.c_str());
    archive_entry_set_perm(e, m.mode);
    archive_entry_set_mtime(e, 1700000000, 0);
    switch (m.kind) {
      case M::kFile:
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_size(e, static_cast<la_int64_t>(m.data.size()));
        break;
      case M::kDir:
        archive_entry_set_filetype(e, AE_IFDIR);
        break;
      case M::kSymlink:
        archive_entry_set_filetype(e, AE_IFLNK);
        archive_entry_set_symlink(e, m.data.c_str());
        break;
      case M::kHardlink:
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_hardlink(e, m.data.c_str());
        archive_entry_set_size(e, 0);
        break;
      case M::kCharDev:
        archive_entry_set_filetype(e, AE_IFCHR);
        archive_entry_set_rdevmajor(e, 1);
        archive_entry_set_rdevminor(e, 3);
        break;
      case M::kFifo:
        archive_entry_set_filetype(e, AE_IFIFO);
        break;
    }
    EXPECT_EQ(archive_write_header(a, e), ARCHIVE_OK)
        << archive_error_string(a);
    if (m.kind == M::kFile && !m.data.empty()) {
      EXPECT_EQ(archive_write_data(a, m.data.data(), m.data.size()),
                static_cast<la_ssize_t>(m.data.size()));
    }
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
  return out;
}

void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream(path, std::ios::binary) << data;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A digest-shaped name for the n-th blob (digests are not recomputed by the
// importer, only checked for shape).
std::string FakeDigest(int n) { return absl::StrFormat("sha256:%064x", n); }
std::string Hex(const std::string& digest) { return digest.substr(7); }

// Writes an OCI image layout with `layers` into `dir`; returns the
// manifest digest.
std::string MakeOciLayout(const std::string& dir,
                          const std::vector<std::string>& layers) {
  mkdir(dir.c_str(), 0755);
  mkdir((dir + "/blobs").c_str(), 0755);
  mkdir((dir + "/blobs/sha256").c_str(), 0755);
  int n = 100;
  std::vector<std::string> descs;
  for (const std::string& layer : layers) {
    const std::string d = FakeDigest(++n);
    WriteFile(dir + "/blobs/sha256/" + Hex(d), layer);
    descs.push_back(absl::StrFormat(
        R"({"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"%s","size":%d})",
        d, layer.size()));
  }
  const std::string config_digest = FakeDigest(1);
  WriteFile(
      dir + "/blobs/sha256/" + Hex(config_digest),
      R"({"architecture":"amd64","os":"linux","config":{"Env":["PATH=/usr/bin:/bin","LANG=C.UTF-8"],"WorkingDir":"/w"},"rootfs":{"type":"layers","diff_ids":[]}})");
  const std::string manifest_digest = FakeDigest(2);
  WriteFile(
      dir + "/blobs/sha256/" + Hex(manifest_digest),
      absl::StrFormat(
          R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":1},"layers":[%s]})",
          config_digest, absl::StrJoin(descs, ",")));
  WriteFile(
      dir + "/index.json",
      absl::StrFormat(
          R"({"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"%s","size":1,"annotations":{"org.opencontainers.image.ref.name":"test:1"}}]})",
          manifest_digest));
  WriteFile(dir + "/oci-layout", R"({"imageLayoutVersion":"1.0.0"})");
  return manifest_digest;
}

// "type mode path [content|-> target]" for every entry under `root`,
// sorted; the walk never follows symlinks.
void Walk(const std::string& root, const std::string& rel,
          std::vector<std::string>* out) {
  DIR* d = opendir((root + "/" + rel).c_str());
  ASSERT_NE(d, nullptr) << rel;
  std::vector<std::string> names;
  while (dirent* e = readdir(d)) {
    const std::string name = e->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  closedir(d);
  for (const std::string& name : names) {
    const std::string p = rel.empty() ? name : rel + "/" + name;
    const std::string full = root + "/" + p;
    struct stat st;
    ASSERT_EQ(lstat(full.c_str(), &st), 0) << p;
    const std::string mode = absl::StrFormat("%04o", st.st_mode & 07777);
    if (S_ISDIR(st.st_mode)) {
      out->push_back(absl::StrCat("d ", mode, " ", p));
      Walk(root, p, out);
    } else if (S_ISREG(st.st_mode)) {
      out->push_back(absl::StrCat("f ", mode, " ", p, " =", ReadFile(full)));
    } else if (S_ISLNK(st.st_mode)) {
      char target[4096];
      const ssize_t n = readlink(full.c_str(), target, sizeof(target));
      out->push_back(absl::StrCat("l ", p, " -> ", std::string(target, n)));
    } else if (S_ISFIFO(st.st_mode)) {
      out->push_back(absl::StrCat("p ", mode, " ", p));
    } else {
      out->push_back(absl::StrCat("? ", p));
    }
  }
}

std::vector<std::string> Listing(const std::string& root) {
  std::vector<std::string> out;
  Walk(root, "", &out);
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> DirEntries(const std::string& dir) {
  std::vector<std::string> out;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      const std::string name = e->d_name;
      if (name != "." && name != "..") out.push_back(name);
    }
    closedir(d);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// What EnsureBoxSkeleton adds to a tree that has none of it.
std::vector<std::string> WithSkeleton(std::vector<std::string> lines) {
  for (const char* line :
       {"d 0755 box", "d 0755 dev", "d 0755 proc", "d 0755 tmp", "d 0755 etc",
        "f 0666 dev/full =", "f 0666 dev/null =", "f 0666 dev/random =",
        "f 0666 dev/urandom =", "f 0666 dev/zero =",
        "f 0644 etc/group =root:x:0:\nbox:x:1000:\n",
        "f 0644 etc/passwd =root:x:0:0:root:/root:/bin/sh\n"
        "box:x:1000:1000:box:/tmp:/bin/sh\n"}) {
    if (std::find(lines.begin(), lines.end(), line) == lines.end()) {
      lines.push_back(line);
    }
  }
  std::sort(lines.begin(), lines.end());
  return lines;
}

class RootfsImportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/scrc-rootfs-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    base_ = tmpl;
    store_dir_ = base_ + "/store";
    outside_ = base_ + "/outside";
    ASSERT_EQ(mkdir(outside_.c_str(), 0755), 0);
    WriteFile(outside_ + "/sentinel", "untouched");
    store_ = std::make_unique<RootfsStore>(store_dir_);
  }
  void TearDown() override { ASSERT_TRUE(RemoveTree(base_).ok()); }

  absl::StatusOr<TreeInfo> ImportLayers(const std::vector<std::string>& layers,
                                        const std::string& name = "t",
                                        bool replace = false) {
    const std::string layout = absl::StrCat(base_, "/layout-", ++layouts_);
    MakeOciLayout(layout, layers);
    ImportOptions options;
    options.replace = replace;
    return ImportRootfs(*store_, layout, name, options);
  }

  // A hostile import: fails with `message`, leaves the outside untouched and
  // the store empty.
  void ExpectRefused(const std::vector<std::string>& layers,
                     const std::string& message) {
    absl::StatusOr<TreeInfo> info = ImportLayers(layers);
    ASSERT_FALSE(info.ok()) << "hostile image was imported";
    EXPECT_TRUE(HasSubstr(info.status().message(), message));
    EXPECT_EQ(DirEntries(outside_), (Lines{"sentinel"}));
    EXPECT_EQ(ReadFile(outside_ + "/sentinel"), "untouched");
    EXPECT_TRUE(DirEntries(store_dir_).empty());
    EXPECT_EQ(DirEntries(base_ + "/layout-" + std::to_string(layouts_) +
                         "/blobs/sha256")
                  .size(),
              layers.size() + 2);
  }

  std::string base_, store_dir_, outside_;
  std::unique_ptr<RootfsStore> store_;
  int layouts_ = 0;
};

TEST_F(RootfsImportTest, LayersWhiteoutsOpaqueDirsAndLinksGiveTheExactTree) {
  const std::string layer1 = Tar({Dir("etc"),
                                  Dir("usr"),
                                  Dir("usr/lib"),
                                  File("usr/lib/a.so", "A"),
                                  Dir("usr/bin"),
                                  File("usr/bin/tool", "tool1", 0755),
                                  File("usr/bin/su", "su", 04755),
                                  File("usr/bin/wall", "w", 02755),
                                  Dir("opt"),
                                  Dir("opt/keep"),
                                  File("opt/keep/x", "x"),
                                  Dir("opt/keep/sub"),
                                  File("opt/keep/sub/deep", "d"),
                                  Dir("data"),
                                  File("data/old", "old"),
                                  File("data/stay", "stay"),
                                  Symlink("lib", "usr/lib"),
                                  Symlink("chain1", "chain2"),
                                  Symlink("chain2", "/usr/lib/a.so"),
                                  Dir("ro", 0555),
                                  File("ro/f", "r"),
                                  File("replace", "was a file")},
                                 Compression::kGzip);
  const std::string layer2 = Tar({
      File("data/.wh.old", ""),
      Dir("opt/keep"),
      File("opt/keep/z", "z"),
      // The opaque marker after an entry of the same layer: that entry stays.
      File("opt/keep/.wh..wh..opq", ""),
      File("usr/bin/tool", "tool2", 0755),
      // Through an internal relative symlink: lands in usr/lib.
      File("lib/b.so", "B"),
      Hardlink("usr/bin/tool-link", "usr/bin/tool"),
      {M::kFifo, "run/fifo", "", 0600},
      File("ro/g", "g", 0444),
      File("usr/.wh.missing", ""),
  });
  const std::string layer3 =
      Tar({Dir("replace", 0700), File("replace/inner", "i"),
           File(".wh.chain1", "")},
          Compression::kZstd);
  absl::StatusOr<TreeInfo> info = ImportLayers({layer1, layer2, layer3});
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->path, store_dir_ + "/t");
  EXPECT_EQ(info->manifest_digest, FakeDigest(2));
  EXPECT_EQ(info->config_digest, FakeDigest(1));
  EXPECT_EQ(info->layers, 3);
  EXPECT_EQ(info->env, (Lines{"PATH=/usr/bin:/bin", "LANG=C.UTF-8"}));
  EXPECT_EQ(info->working_dir, "/w");
  EXPECT_EQ(info->tags, (Lines{"test:1"}));
  EXPECT_EQ(info->warnings,
            (Lines{"stripped setuid/setgid bits from 2 files"}));

  EXPECT_EQ(Listing(info->path), (WithSkeleton({
                                     "d 0755 data",
                                     "f 0644 data/stay =stay",
                                     "d 0755 opt",
                                     "d 0755 opt/keep",
                                     "f 0644 opt/keep/z =z",
                                     "d 0755 usr",
                                     "d 0755 usr/lib",
                                     "f 0644 usr/lib/a.so =A",
                                     "f 0644 usr/lib/b.so =B",
                                     "d 0755 usr/bin",
                                     "f 0755 usr/bin/tool =tool2",
                                     "f 0755 usr/bin/tool-link =tool2",
                                     "f 0755 usr/bin/su =su",
                                     "f 0755 usr/bin/wall =w",
                                     "l lib -> usr/lib",
                                     "l chain2 -> /usr/lib/a.so",
                                     "d 0555 ro",
                                     "f 0644 ro/f =r",
                                     "f 0444 ro/g =g",
                                     "d 0755 run",
                                     "p 0600 run/fifo",
                                     "d 0700 replace",
                                     "f 0644 replace/inner =i",
                                 })));
  struct stat a, b;
  ASSERT_EQ(stat((info->path + "/usr/bin/tool").c_str(), &a), 0);
  ASSERT_EQ(stat((info->path + "/usr/bin/tool-link").c_str(), &b), 0);
  EXPECT_EQ(a.st_ino, b.st_ino) << "hard link became a copy";
  EXPECT_EQ(DirEntries(store_dir_), (Lines{"t", "t.json"}));
  EXPECT_EQ(DirEntries(outside_), (Lines{"sentinel"}));
}

TEST_F(RootfsImportTest, OpaqueMarkerBeforeNewEntriesHidesOnlyLowerLayers) {
  absl::StatusOr<TreeInfo> info = ImportLayers({
      Tar({Dir("d"), File("d/old", "o"), Dir("d/sub"), File("d/sub/x", "x"),
           File("top", "t")}),
      Tar({File("d/.wh..wh..opq", ""), Dir("d/sub"), File("d/sub/y", "y")}),
  });
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(Listing(info->path),
            (WithSkeleton({"d 0755 d", "d 0755 d/sub", "f 0644 d/sub/y =y",
                           "f 0644 top =t"})));
}

TEST_F(RootfsImportTest, SkeletonReplacesWhatWouldMisleadMountsAndKeepsUsers) {
  absl::StatusOr<TreeInfo> info = ImportLayers({Tar({
      Symlink("tmp", "/var/tmp"),
      Dir("dev"),
      Symlink("dev/null", "/etc/shadow"),
      File("dev/zero", "", 0600),
      Dir("etc"),
      File("etc/passwd",
           "root:x:0:0::/root:/bin/ash\nnode:x:1000:1000::/home/node:/bin/sh"),
      Symlink("etc/group", "/outside/group"),
  })});
  ASSERT_TRUE(info.ok()) << info.status();
  std::vector<std::string> listing = Listing(info->path);
  EXPECT_TRUE(HasLine(listing, "d 0755 tmp"));
  EXPECT_TRUE(HasLine(listing, "f 0666 dev/null ="));
  EXPECT_TRUE(HasLine(listing, "f 0600 dev/zero ="));
  // uid 1000 exists already: kept as it is; the group file is made anew.
  EXPECT_TRUE(HasLine(listing,
                      "f 0644 etc/passwd =root:x:0:0::/root:/bin/ash\n"
                      "node:x:1000:1000::/home/node:/bin/sh"));
  EXPECT_TRUE(HasLine(listing, "f 0644 etc/group =root:x:0:\nbox:x:1000:\n"));
  EXPECT_TRUE(HasSubstr(absl::StrJoin(info->warnings, "\n"), "replaced /tmp"));
}

TEST_F(RootfsImportTest, DockerSaveLegacyArchive) {
  const std::string config_hex = Hex(FakeDigest(7));
  const std::string archive_path = base_ + "/image.tar.gz";
  WriteFile(
      archive_path,
      Tar({Dir("aaa"),
           File("aaa/layer.tar", Tar({File("a", "1"), File("b", "2")})),
           Dir("bbb"),
           File("bbb/layer.tar", Tar({File(".wh.a", ""), File("c", "3")})),
           File(config_hex + ".json",
                R"({"os":"linux","config":{"Env":["X=1"]}})"),
           File(
               "manifest.json",
               absl::StrFormat(
                   R"([{"Config":"%s.json","RepoTags":["img:2"],"Layers":["aaa/layer.tar","bbb/layer.tar"]}])",
                   config_hex))},
          Compression::kGzip));
  absl::StatusOr<TreeInfo> info = ImportRootfs(*store_, archive_path, "legacy");
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->format, "docker-archive");
  EXPECT_EQ(info->manifest_digest, "");
  EXPECT_EQ(info->digest(), FakeDigest(7));
  EXPECT_EQ(info->tags, (Lines{"img:2"}));
  EXPECT_EQ(Listing(info->path),
            (WithSkeleton({"f 0644 b =2", "f 0644 c =3"})));
  EXPECT_EQ(DirEntries(store_dir_), (Lines{"legacy", "legacy.json"}));
}

TEST_F(RootfsImportTest, DockerSaveOciArchive) {
  // Docker 25+: an OCI layout plus manifest.json in one tar.
  const std::string layout = base_ + "/oci";
  const std::string manifest_digest =
      MakeOciLayout(layout, {Tar({File("hello", "world")})});
  const std::string layer_hex = Hex(FakeDigest(101));
  std::vector<M> members = {
      File("oci-layout", ReadFile(layout + "/oci-layout")),
      File("index.json", ReadFile(layout + "/index.json")),
      File("manifest.json",
           absl::StrFormat(
               R"([{"Config":"blobs/sha256/%s","Layers":["blobs/sha256/%s"]}])",
               Hex(FakeDigest(1)), layer_hex))};
  for (const std::string& blob : DirEntries(layout + "/blobs/sha256")) {
    members.push_back(File("blobs/sha256/" + blob,
                           ReadFile(layout + "/blobs/sha256/" + blob)));
  }
  const std::string archive_path = base_ + "/image.tar";
  WriteFile(archive_path, Tar(members));
  absl::StatusOr<TreeInfo> info = ImportRootfs(*store_, archive_path, "new");
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->manifest_digest, manifest_digest);
  EXPECT_EQ(Listing(info->path), (WithSkeleton({"f 0644 hello =world"})));
}

TEST_F(RootfsImportTest, MultiPlatformIndexPicksThisHost) {
  const std::string layout = base_ + "/multi";
  const std::string amd64 =
      MakeOciLayout(layout, {Tar({File("arch", "amd64")})});
  // An index blob listing an arm64 manifest (which must not be read: its
  // digest names no blob) and the amd64 one; index.json points at it.
  const std::string nested = FakeDigest(9);
  WriteFile(
      layout + "/blobs/sha256/" + Hex(nested),
      absl::StrFormat(
          R"({"schemaVersion":2,"manifests":[)"
          R"({"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"%s","platform":{"os":"linux","architecture":"arm64"}},)"
          R"({"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"%s","platform":{"os":"linux","architecture":"amd64"}},)"
          R"({"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"%s","platform":{"os":"unknown","architecture":"unknown"}}]})",
          FakeDigest(10), amd64, FakeDigest(11)));
  WriteFile(
      layout + "/index.json",
      absl::StrFormat(R"({"schemaVersion":2,"manifests":[{"digest":"%s"}]})",
                      nested));
  absl::StatusOr<TreeInfo> info = ImportRootfs(*store_, layout, "multi");
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->manifest_digest, amd64);
  EXPECT_EQ(ReadFile(info->path + "/arch"), "amd64");
}

TEST_F(RootfsImportTest, LayoutFilesMayNotPointOutsideTheLayout) {
  const std::string layout = base_ + "/sneaky";
  MakeOciLayout(layout, {Tar({File("a", "b")})});
  WriteFile(outside_ + "/index.json", ReadFile(layout + "/index.json"));
  unlink((layout + "/index.json").c_str());
  ASSERT_EQ(symlink((outside_ + "/index.json").c_str(),
                    (layout + "/index.json").c_str()),
            0);
  absl::StatusOr<TreeInfo> info = ImportRootfs(*store_, layout, "t");
  ASSERT_FALSE(info.ok());
  EXPECT_TRUE(HasSubstr(info.status().message(), "leads outside the tree"));
  // A FIFO as a layer blob is refused, not waited on.
  const std::string fifo_layout = base_ + "/fifo";
  MakeOciLayout(fifo_layout, {Tar({File("a", "b")})});
  const std::string blob =
      fifo_layout + "/blobs/sha256/" + Hex(FakeDigest(101));
  unlink(blob.c_str());
  ASSERT_EQ(mkfifo(blob.c_str(), 0644), 0);
  info = ImportRootfs(*store_, fifo_layout, "t");
  ASSERT_FALSE(info.ok());
  EXPECT_TRUE(HasSubstr(info.status().message(), "is not a regular file"));
  EXPECT_TRUE(DirEntries(store_dir_).empty());
}

TEST_F(RootfsImportTest, RefusesPathTraversal) {
  ExpectRefused({Tar({File("../outside/pwned", "x")})}, "'..'");
  ExpectRefused({Tar({File("a/../../outside/pwned", "x")})}, "'..'");
}

TEST_F(RootfsImportTest, RefusesAbsolutePaths) {
  ExpectRefused({Tar({File(outside_ + "/pwned", "x")})}, "absolute path");
}

TEST_F(RootfsImportTest, RefusesWritingThroughASymlinkThatLeavesTheTree) {
  // Absolute and relative escapes, in a later layer and in the same one.
  ExpectRefused(
      {Tar({Symlink("evil", outside_)}), Tar({File("evil/pwned", "x")})},
      "leads outside the tree");
  ExpectRefused({Tar({Symlink("evil", "../../../outside")}),
                 Tar({File("evil/pwned", "x")})},
                "leads outside the tree");
  ExpectRefused({Tar({Dir("a"), Symlink("a/evil", "../../../../outside"),
                      File("a/evil/pwned", "x")})},
                "leads outside the tree");
  // A chain: each hop looks harmless.
  ExpectRefused({Tar({Symlink("one", "two"), Symlink("two", outside_)}),
                 Tar({Dir("one/newdir"), File("one/newdir/pwned", "x")})},
                "leads outside the tree");
  // Whiteouts and opaque markers must not delete through one either.
  ExpectRefused(
      {Tar({Symlink("evil", outside_)}), Tar({File("evil/.wh.sentinel", "")})},
      "leads outside the tree");
  ExpectRefused(
      {Tar({Symlink("evil", outside_)}), Tar({File("evil/.wh..wh..opq", "")})},
      "evil");
}

TEST_F(RootfsImportTest, RefusesHardLinksToOutside) {
  ExpectRefused({Tar({Hardlink("hl", "../outside/sentinel")})}, "'..'");
  ExpectRefused({Tar({Hardlink("hl", outside_ + "/sentinel")})}, "absolute");
  ExpectRefused({Tar({Symlink("evil", outside_)}),
                 Tar({Hardlink("hl", "evil/sentinel")})},
                "not in the tree");
}

TEST_F(RootfsImportTest, RefusesDeviceNodes) {
  ExpectRefused({Tar({Dir("dev"), {M::kCharDev, "dev/mem", "", 0666}})},
                "device node dev/mem (1,3): refused");
}

TEST_F(RootfsImportTest, RefusesNonTarLayersAndBadDigests) {
  ExpectRefused({"this is not a tar stream, not even compressed"},
                "not a readable tar stream");
  const std::string layout = base_ + "/bad";
  MakeOciLayout(layout, {Tar({File("a", "b")})});
  WriteFile(
      layout + "/index.json",
      R"({"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:../../../outside/sentinel"}]})");
  absl::StatusOr<TreeInfo> info = ImportRootfs(*store_, layout, "t");
  ASSERT_FALSE(info.ok());
  EXPECT_TRUE(
      HasSubstr(info.status().message(), "is not a sha256/sha512 digest"));
  EXPECT_TRUE(DirEntries(store_dir_).empty());
}

TEST_F(RootfsImportTest, FailedReplaceKeepsTheOldTreeAndForceReplaces) {
  ASSERT_TRUE(ImportLayers({Tar({File("v", "1")})}).ok());
  absl::StatusOr<TreeInfo> again = ImportLayers({Tar({File("v", "2")})});
  ASSERT_FALSE(again.ok());
  EXPECT_TRUE(HasSubstr(again.status().message(), "already exists"));
  absl::StatusOr<TreeInfo> hostile =
      ImportLayers({Tar({File("../x", "2")})}, "t", /*replace=*/true);
  ASSERT_FALSE(hostile.ok());
  EXPECT_EQ(ReadFile(store_dir_ + "/t/v"), "1");
  absl::StatusOr<TreeInfo> forced =
      ImportLayers({Tar({Dir("d", 0555), File("d/v", "2")})}, "t",
                   /*replace=*/true);
  ASSERT_TRUE(forced.ok()) << forced.status();
  EXPECT_EQ(ReadFile(store_dir_ + "/t/d/v"), "2");
  EXPECT_EQ(DirEntries(store_dir_), (Lines{"t", "t.json"}));
}

TEST_F(RootfsImportTest, ListResolveAndRemove) {
  ASSERT_TRUE(ImportLayers({Tar({Dir("ro", 0555), File("ro/f", "x", 0400)})},
                           "python:3.12-alpine")
                  .ok());
  absl::StatusOr<std::vector<TreeInfo>> trees = store_->List();
  ASSERT_TRUE(trees.ok()) << trees.status();
  ASSERT_EQ(trees->size(), 1u);
  EXPECT_EQ((*trees)[0].name, "python:3.12-alpine");
  EXPECT_TRUE((*trees)[0].has_metadata);
  EXPECT_EQ((*trees)[0].digest(), FakeDigest(2));
  EXPECT_EQ((*trees)[0].layers, 1);

  EXPECT_EQ(*ResolveTree(store_dir_, "python:3.12-alpine"),
            store_dir_ + "/python:3.12-alpine");
  EXPECT_EQ(*ResolveTree(store_dir_, ""), "");
  EXPECT_EQ(*ResolveTree(store_dir_, "host"), "");
  absl::StatusOr<std::string> missing = ResolveTree(store_dir_, "go");
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(absl::IsNotFound(missing.status()));
  EXPECT_TRUE(HasSubstr(missing.status().message(), "scrc rootfs import"));
  EXPECT_FALSE(ResolveTree(store_dir_, "../etc").ok());

  ASSERT_TRUE(store_->Remove("python:3.12-alpine").ok());
  EXPECT_TRUE(DirEntries(store_dir_).empty());
  EXPECT_TRUE(absl::IsNotFound(store_->Remove("python:3.12-alpine")));
}

TEST_F(RootfsImportTest, RefusesBadNames) {
  for (const char* name : {"", "host", "../x", "a/b", ".hidden", "-x"}) {
    EXPECT_FALSE(ValidateTreeName(name).ok()) << name;
  }
  EXPECT_TRUE(ValidateTreeName("eclipse-temurin:21-jre-alpine").ok());
}

TEST(BlobPathTest, OnlyWellFormedDigestsBecomePaths) {
  EXPECT_EQ(*BlobPath(FakeDigest(1)), "blobs/sha256/" + Hex(FakeDigest(1)));
  EXPECT_FALSE(BlobPath("sha256:../../etc/passwd").ok());
  EXPECT_FALSE(BlobPath("md5:d41d8cd98f00b204e9800998ecf8427e").ok());
  EXPECT_FALSE(BlobPath(absl::StrCat("sha256:", std::string(64, 'A'))).ok());
}

}  // namespace
}  // namespace scrc
