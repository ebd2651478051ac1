// scrc: run, serve, submit, rootfs, doctor.
#include <malloc.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "src/commands.h"

namespace {

constexpr char kUsage[] =
    "usage: scrc COMMAND [ARGS]\n"
    "  run FILE|-          judge one script message, print its result\n"
    "  serve               consume scripts from Kafka, publish results\n"
    "  submit FILES...     send script messages to Kafka, print results\n"
    "  rootfs import|list|remove   manage rootfs trees\n"
    "  doctor              what this host lets scrc enforce\n";

}  // namespace

int main(int argc, char** argv) {
  // Each box's init is a fork of this process: the fewer anonymous pages
  // and mappings it has, the less every box costs. An arena per thread
  // (glibc's default, up to 8 per core) gave `scrc serve` ~20 more mappings
  // and ~70-110 us more CPU per clone (measured: 425-500 us against
  // 536-571 us per clone3 during a burst); per-thread caches keep the one
  // arena's lock off the common paths.
  mallopt(M_ARENA_MAX, 1);
  if (argc < 2) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  const std::string command = argv[1];
  const scrc::Args args(argv + 2, argv + argc);
  if (command == "run") return scrc::RunCommand(args);
  if (command == "serve") return scrc::ServeCommand(args);
  if (command == "submit") return scrc::SubmitCommand(args);
  if (command == "rootfs") return scrc::RootfsCommand(args);
  if (command == "doctor") return scrc::DoctorCommand(args);
  if (command == "-h" || command == "--help" || command == "help") {
    std::fputs(kUsage, stdout);
    return 0;
  }
  std::fprintf(stderr, "scrc: unknown command '%s'\n%s", command.c_str(),
               kUsage);
  return 2;
}
