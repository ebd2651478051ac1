// scrc rootfs import|list|remove: the rootfs trees boxes run on.
#include <cstdio>
#include <string>

#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "src/commands.h"
#include "src/rootfs_import.h"
#include "src/rootfs_store.h"

namespace scrc {
namespace {

constexpr char kRootfsUsage[] =
    "usage: scrc rootfs import SOURCE --name NAME [--force]\n"
    "       scrc rootfs list\n"
    "       scrc rootfs remove NAME\n"
    "  SOURCE is an OCI image layout directory or a `docker save` archive\n"
    "  (- reads the archive from stdin: docker save IMG | scrc rootfs ...).\n"
    "  Trees live in $SCRC_ROOTFS_DIR (default /var/cache/scrc/rootfs for\n"
    "  root, ${XDG_CACHE_HOME:-~/.cache}/scrc/rootfs otherwise).\n"
    "  --force  replace an existing tree of that name\n";

int Usage(const char* problem) {
  std::fprintf(stderr, "scrc rootfs: %s\n%s", problem, kRootfsUsage);
  return 2;
}

int Import(const Args& args) {
  std::string source, name;
  ImportOptions options;
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--name" && i + 1 < args.size()) {
      name = args[++i];
    } else if (arg.rfind("--name=", 0) == 0) {
      name = arg.substr(7);
    } else if (arg == "--force") {
      options.replace = true;
    } else if (!arg.empty() && (arg[0] != '-' || arg == "-") &&
               source.empty()) {
      source = arg;
    } else {
      return Usage(("unexpected argument '" + arg + "'").c_str());
    }
  }
  if (source.empty() || name.empty())
    return Usage("import needs SOURCE and --name");
  options.progress = [](absl::string_view line) {
    std::fprintf(stderr, "%.*s\n", static_cast<int>(line.size()), line.data());
  };
  const RootfsStore store;
  const absl::Time start = absl::Now();
  absl::StatusOr<TreeInfo> info = ImportRootfs(store, source, name, options);
  if (!info.ok()) {
    std::fprintf(stderr, "scrc rootfs import: %s\n",
                 std::string(info.status().message()).c_str());
    return 1;
  }
  for (const std::string& w : info->warnings) {
    std::fprintf(stderr, "warning: %s\n", w.c_str());
  }
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  std::printf("imported %s: %s, %lld layers, %.1f MiB in %.1f s, at %s\n",
              info->name.c_str(), info->digest().c_str(),
              static_cast<long long>(info->layers),
              static_cast<double>(info->bytes) / (1 << 20), seconds,
              info->path.c_str());
  return 0;
}

int List() {
  const RootfsStore store;
  absl::StatusOr<std::vector<TreeInfo>> trees = store.List();
  if (!trees.ok()) {
    std::fprintf(stderr, "scrc rootfs list: %s\n",
                 std::string(trees.status().message()).c_str());
    return 1;
  }
  // One tree per line, space separated, the source last (it may hold
  // spaces): easy for people and for `awk '{print $1}'`.
  std::printf("# %s\n# NAME DIGEST LAYERS MIB IMPORTED SOURCE\n",
              store.dir().c_str());
  for (const TreeInfo& t : *trees) {
    std::printf("%s %s %lld %.1f %s %s\n", t.name.c_str(), t.digest().c_str(),
                static_cast<long long>(t.layers),
                static_cast<double>(t.bytes) / (1 << 20),
                t.imported_at.empty() ? "-" : t.imported_at.c_str(),
                t.source.empty() ? "-" : t.source.c_str());
  }
  return 0;
}

int Remove(const Args& args) {
  if (args.size() != 2) return Usage("remove needs exactly one NAME");
  const RootfsStore store;
  absl::Status s = store.Remove(args[1]);
  if (!s.ok()) {
    std::fprintf(stderr, "scrc rootfs remove: %s\n",
                 std::string(s.message()).c_str());
    return 1;
  }
  std::printf("removed %s\n", args[1].c_str());
  return 0;
}

}  // namespace

int RootfsCommand(const Args& args) {
  if (args.empty()) return Usage("missing subcommand");
  const std::string& sub = args[0];
  if (sub == "-h" || sub == "--help" || sub == "help") {
    std::fputs(kRootfsUsage, stdout);
    return 0;
  }
  if (sub == "import") return Import(args);
  if (sub == "list" && args.size() == 1) return List();
  if (sub == "remove") return Remove(args);
  return Usage(("unknown subcommand '" + sub + "'").c_str());
}

}  // namespace scrc
