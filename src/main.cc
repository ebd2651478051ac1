// scrc: run, serve, submit, rootfs, doctor.
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
