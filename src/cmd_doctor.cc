// scrc doctor [--cgroup-parent PATH]: what this host lets scrc enforce.
#include <cstdio>
#include <string>

#include "sandbox/cgroup.h"
#include "sandbox/doctor.h"
#include "src/commands.h"
#include "src/rootfs_report.h"

namespace scrc {
namespace {

constexpr char kDoctorUsage[] =
    "usage: scrc doctor [--cgroup-parent PATH]\n"
    "  Prints what this host lets scrc enforce, as 'key: value' lines.\n"
    "  --cgroup-parent PATH  check an operator-given cgroup (e.g. /scrc)\n"
    "                        instead of a child of scrc's own cgroup\n";

}  // namespace

int DoctorCommand(const Args& args) {
  std::string cgroup_parent;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "-h" || arg == "--help") {
      std::fputs(kDoctorUsage, stdout);
      return 0;
    }
    if (arg == "--cgroup-parent" && i + 1 < args.size()) {
      cgroup_parent = args[++i];
    } else if (arg.rfind("--cgroup-parent=", 0) == 0) {
      cgroup_parent = arg.substr(sizeof("--cgroup-parent=") - 1);
    } else {
      std::fprintf(stderr, "scrc doctor: unknown argument '%s'\n%s",
                   arg.c_str(), kDoctorUsage);
      return 2;
    }
  }
  // Detect makes scrc's cgroup parent and removes it again when `cgroups`
  // goes out of scope: the doctor leaves nothing behind.
  const auto cgroups = sandbox::Cgroups::Detect(cgroup_parent);
  std::string report = sandbox::DoctorReport(*cgroups);
  // The rootfs section, from src/rootfs_report.cc.
  report += RootfsDoctorReport();
  std::fputs(report.c_str(), stdout);
  return 0;
}

}  // namespace scrc
