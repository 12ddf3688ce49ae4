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

// Moves this process into a mount namespace of its own (private propagation), once: the host never sees what
// we mount or what the kernel automounts for us (tracefs under debugfs), and it is gone however we end.
// False when not allowed (no CAP_SYS_ADMIN): then nothing is mounted.
bool enter_private_mount_namespace();
// Mounts tracefs, debugfs and bpffs where missing when mount_missing is true. Never throws.
std::vector<PseudoFs> ensure_pseudo_filesystems(bool mount_missing);
// Mounts tracefs if needed (classic tracepoints read event ids from it); returns its path or "".
std::string tracefs_path(bool mount_if_missing);

}  // namespace nettrace::sys
