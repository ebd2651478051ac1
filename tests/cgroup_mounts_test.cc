// Parsing /proc/self/cgroup, /proc/self/mountinfo and cgroup control files.
#include "sandbox/cgroup_mounts.h"

#include <limits>

#include "gtest/gtest.h"
#include "sandbox/cgroup_files.h"

namespace scrc::sandbox {
namespace {

// A hybrid host like the test machine, plus a co-mounted cpu,cpuacct and a
// container-style mount whose root is not "/".
constexpr char kProcCgroup[] =
    "9:name=systemd:/\n"
    "8:pids:/\n"
    "4:memory:/process_api/abc\n"
    "2:cpu,cpuacct:/a:b\n"
    "0::/user.slice/x.scope\n";

constexpr char kMountinfo[] =
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime shared:7 - cgroup cgroup "
    "rw,memory\n"
    "33 31 0:30 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup "
    "rw,cpu,cpuacct\n"
    "39 31 0:36 /docker/x /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids\n"
    "40 31 0:37 / /sys/fs/cgroup/systemd rw - cgroup cgroup "
    "rw,xattr,name=systemd\n"
    "41 31 0:38 / /sys/fs/cgroup/uni\\040fied rw - cgroup2 cgroup2 rw\n";

TEST(CgroupMountsTest, ParsesProcSelfCgroup) {
  const std::vector<ProcCgroup> procs = ParseProcCgroup(kProcCgroup);
  ASSERT_EQ(procs.size(), 5u);
  EXPECT_EQ(procs[2].controllers, std::vector<std::string>{"memory"});
  EXPECT_EQ(procs[2].path, "/process_api/abc");
  EXPECT_EQ(procs[3].controllers, (std::vector<std::string>{"cpu", "cpuacct"}));
  EXPECT_EQ(procs[3].path, "/a:b");  // ':' inside a path is kept
  EXPECT_EQ(procs[4].id, 0);
  EXPECT_TRUE(procs[4].controllers.empty());
}

TEST(CgroupMountsTest, ParsesCgroupMountsOnly) {
  const std::vector<CgroupMount> mounts = ParseCgroupMounts(kMountinfo);
  ASSERT_EQ(mounts.size(), 5u);  // not the tmpfs
  EXPECT_EQ(mounts[0].mount_point, "/sys/fs/cgroup/memory");
  EXPECT_EQ(mounts[0].controllers, std::vector<std::string>{"memory"});
  EXPECT_TRUE(mounts[4].v2);
  EXPECT_EQ(mounts[4].mount_point, "/sys/fs/cgroup/uni fied");  // \040
}

TEST(CgroupMountsTest, FindsEachHierarchy) {
  const auto procs = ParseProcCgroup(kProcCgroup);
  const auto mounts = ParseCgroupMounts(kMountinfo);
  absl::StatusOr<CgroupHierarchy> memory =
      FindV1Hierarchy(procs, mounts, "memory");
  ASSERT_TRUE(memory.ok()) << memory.status();
  EXPECT_EQ(memory->dir, "/sys/fs/cgroup/memory/process_api/abc");
  absl::StatusOr<CgroupHierarchy> cpuacct =
      FindV1Hierarchy(procs, mounts, "cpuacct");
  ASSERT_TRUE(cpuacct.ok()) << cpuacct.status();
  EXPECT_EQ(cpuacct->dir, "/sys/fs/cgroup/cpu,cpuacct/a:b");
  // pids: we are at "/", the mount shows only /docker/x: not visible.
  EXPECT_FALSE(FindV1Hierarchy(procs, mounts, "pids").ok());
  EXPECT_FALSE(FindV1Hierarchy(procs, mounts, "blkio").ok());
  absl::StatusOr<CgroupHierarchy> v2 = FindV2Hierarchy(procs, mounts);
  ASSERT_TRUE(v2.ok()) << v2.status();
  EXPECT_EQ(v2->dir, "/sys/fs/cgroup/uni fied/user.slice/x.scope");
}

TEST(CgroupMountsTest, DirectoryRespectsTheMountRoot) {
  CgroupMount m{.v2 = true, .root = "/docker/x", .mount_point = "/cg"};
  EXPECT_EQ(CgroupDirectory(m, "/docker/x"), "/cg");
  EXPECT_EQ(CgroupDirectory(m, "/docker/x/box"), "/cg/box");
  EXPECT_EQ(CgroupDirectory(m, "/docker/xy"), "");
  EXPECT_EQ(CgroupDirectory(m, "/other"), "");
  m.root = "/";
  EXPECT_EQ(CgroupDirectory(m, "/"), "/cg");
  EXPECT_EQ(CgroupDirectory(m, "/scrc"), "/cg/scrc");
}

TEST(CgroupFilesTest, ParsesValuesAndKeys) {
  EXPECT_EQ(ParseCgroupInt64("123\n", "f").value(), 123);
  EXPECT_EQ(ParseCgroupInt64("max\n", "f").value(),
            std::numeric_limits<int64_t>::max());
  EXPECT_FALSE(ParseCgroupInt64("12x", "f").ok());
  int64_t v = 0;
  const char events[] = "low 0\nhigh 0\nmax 4\noom 1\noom_kill 2\n";
  EXPECT_TRUE(FindCgroupKey(events, "oom_kill", &v));
  EXPECT_EQ(v, 2);
  EXPECT_TRUE(FindCgroupKey(events, "oom", &v));  // not a prefix match
  EXPECT_EQ(v, 1);
  EXPECT_FALSE(FindCgroupKey(events, "oom_group_kill", &v));
  EXPECT_EQ(ParsePidList("12\n7\n\n"), (std::vector<pid_t>{12, 7}));
  EXPECT_TRUE(HasWord("cpu memory pids\n", "pids"));
  EXPECT_FALSE(HasWord("cpuset memory", "cpu"));
  EXPECT_TRUE(ValidCgroupName("slot-0_a"));
  EXPECT_FALSE(ValidCgroupName(""));
  EXPECT_FALSE(ValidCgroupName(".."));
  EXPECT_FALSE(ValidCgroupName("a/b"));
  EXPECT_FALSE(ValidCgroupName("memory.max"));
}

TEST(CgroupFilesTest, ErrorsNameTheFileAndTheCause) {
  absl::Status s = WriteCgroupFile("/nonexistent/cgroup.procs", "1");
  EXPECT_TRUE(absl::IsNotFound(s));
  EXPECT_NE(s.message().find("/nonexistent/cgroup.procs"), std::string::npos);
  s = CgroupErrno(EACCES, "write", "/sys/fs/cgroup/x/memory.max");
  EXPECT_NE(s.message().find("Permission denied"), std::string::npos);
  EXPECT_NE(s.message().find("scrc doctor"), std::string::npos);
}

}  // namespace
}  // namespace scrc::sandbox
