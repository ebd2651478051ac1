// The subcommands of the scrc binary. Each returns the process exit code.
#ifndef SCRC_SRC_COMMANDS_H_
#define SCRC_SRC_COMMANDS_H_

#include <string>
#include <vector>

namespace scrc {

using Args = std::vector<std::string>;  // the arguments after the subcommand

int RunCommand(const Args& args);     // cmd_run.cc
int ServeCommand(const Args& args);   // cmd_serve.cc
int SubmitCommand(const Args& args);  // cmd_submit.cc
int RootfsCommand(const Args& args);  // cmd_rootfs.cc
int DoctorCommand(const Args& args);  // cmd_doctor.cc

}  // namespace scrc

#endif  // SCRC_SRC_COMMANDS_H_
