// Sources of hostile C programs used by more than one sandbox test (and by
// the rootless probe). Each prints "name=result" lines.
#ifndef SCRC_INTEGRATION_SANDBOX_PROGRAMS_H_
#define SCRC_INTEGRATION_SANDBOX_PROGRAMS_H_

#include <string>

#include "absl/strings/str_cat.h"

namespace scrc::sandbox::testing {

// Prints "name=OK" or "name=<errno name>" for a call that returns -1 on error.
inline constexpr char kTryHeader[] = R"(
#include <errno.h>
#include <stdio.h>
#include <string.h>
#define TRY(name, call)                                               \
  do {                                                                \
    errno = 0;                                                        \
    long rc_ = (long)(call);                                          \
    printf("%s=%s\n", name, rc_ == -1 ? strerrorname_np(errno) : "OK"); \
    fflush(stdout);                                                   \
  } while (0)
)";

inline std::string WithTry(const std::string& body) {
  return absl::StrCat(kTryHeader, body);
}

// Allocates and touches 16 MiB at a time, forever. The first time malloc
// fails (RLIMIT_AS) it prints "allocated_mib=N" and goes on trying.
inline constexpr char kMemoryBomb[] = R"(
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(void) {
  long mib = 0;
  int reported = 0;
  for (;;) {
    char* p = malloc(16 << 20);
    if (p != NULL) {
      memset(p, 1, 16 << 20);
      mib += 16;
    } else if (!reported) {
      printf("allocated_mib=%ld\n", mib);
      fflush(stdout);
      reported = 1;
    }
  }
}
)";

// Prints its environment ("env=K=V") and what it can read of its own and the
// box init's environment and memory ("read ..." or the errno name). The init
// is a copy of the runner, so its memory holds the runner's secrets.
inline const std::string kEnvironDumper = WithTry(R"(
#include <fcntl.h>
#include <unistd.h>
extern char** environ;
/* Prints the file with NULs as spaces: "name=read ...", "name=ERRNO" if it
   cannot be opened, "name=opened, read ERRNO" (an open /proc/pid/mem is
   already access to the memory). */
static void Dump(const char* name, const char* path) {
  char buf[65536];
  int fd = open(path, O_RDONLY);
  if (fd < 0) { printf("%s=%s\n", name, strerrorname_np(errno)); return; }
  ssize_t n = read(fd, buf, sizeof(buf) - 1);
  if (n < 0) { printf("%s=opened, read %s\n", name, strerrorname_np(errno)); return; }
  for (ssize_t i = 0; i < n; ++i) if (buf[i] == '\0' || buf[i] == '\n') buf[i] = ' ';
  buf[n] = '\0';
  printf("%s=read %s\n", name, buf);
}
int main(void) {
  for (char** e = environ; *e != NULL; ++e) printf("env=%s\n", *e);
  Dump("self_environ", "/proc/self/environ");
  Dump("init_environ", "/proc/1/environ");
  Dump("init_mem", "/proc/1/mem");
  return 0;
}
)");

}  // namespace scrc::sandbox::testing

#endif  // SCRC_INTEGRATION_SANDBOX_PROGRAMS_H_
