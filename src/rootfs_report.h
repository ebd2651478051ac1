// The rootfs part of `scrc doctor`: which rootfs trees are installed and
// usable. Owned by the rootfs engineer (rootfs_report.cc).
#ifndef SCRC_SRC_ROOTFS_REPORT_H_
#define SCRC_SRC_ROOTFS_REPORT_H_

#include <string>

namespace scrc {

// `key: value` lines, each ending in '\n', appended to the doctor report.
std::string RootfsDoctorReport();

}  // namespace scrc

#endif  // SCRC_SRC_ROOTFS_REPORT_H_
