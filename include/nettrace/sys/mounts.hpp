// SPDX-License-Identifier: GPL-2.0
#pragma once
// Pseudo filesystems BPF tooling relies on. Many hosts boot without them.

#include <string>
#include <vector>

namespace nettrace::sys {

struct PseudoFs {
  std::string name;   // "tracefs"
  std::string path;   // "/sys/kernel/tracing"
  bool mounted;       // mounted (before or by us)
  bool mounted_by_us;
};

// Mounts tracefs, debugfs and bpffs where missing when mount_missing is true. Never throws.
std::vector<PseudoFs> ensure_pseudo_filesystems(bool mount_missing);
// Mounts tracefs if needed (classic tracepoints read event ids from it); returns its path or "".
std::string tracefs_path(bool mount_if_missing);

}  // namespace nettrace::sys
