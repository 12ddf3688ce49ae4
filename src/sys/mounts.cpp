// SPDX-License-Identifier: GPL-2.0
#include "nettrace/sys/mounts.hpp"

#include <sched.h>
#include <sys/mount.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <spdlog/spdlog.h>

namespace nettrace::sys {
namespace {

constexpr long kTracefsMagic = 0x74726163;
constexpr long kDebugfsMagic = 0x64626720;
constexpr long kBpffsMagic = 0xcafe4a11;

bool is_fs(const std::string& path, long magic) {
  struct statfs st {};
  return statfs(path.c_str(), &st) == 0 && static_cast<long>(st.f_type) == magic;
}

// The first mount we make moves this process into a mount namespace of its own (private propagation): the
// host never sees our mounts, and they vanish with the process however it ends (even SIGKILL).
}  // namespace

bool enter_private_mount_namespace() {
  static int done = -1;
  if (done < 0) {
    done = unshare(CLONE_NEWNS) == 0 && mount("none", "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0;
    if (!done) spdlog::debug("cannot make a private mount namespace: {}", strerror(errno));
  }
  return done;
}

namespace {

bool try_mount(const std::string& type, const std::string& path) {
  if (!enter_private_mount_namespace()) return false;  // never leave a mount on the host
  if (mount(type.c_str(), path.c_str(), type.c_str(), 0, nullptr) == 0) return true;
  spdlog::debug("mount {} on {} failed: {}", type, path, strerror(errno));
  return false;
}

}  // namespace

std::vector<PseudoFs> ensure_pseudo_filesystems(bool mount_missing) {
  struct Spec {
    const char* name;
    const char* type;
    const char* path;
    long magic;
  };
  const Spec specs[] = {{"tracefs", "tracefs", "/sys/kernel/tracing", kTracefsMagic},
                        {"debugfs", "debugfs", "/sys/kernel/debug", kDebugfsMagic},
                        {"bpffs", "bpf", "/sys/fs/bpf", kBpffsMagic}};
  std::vector<PseudoFs> out;
  for (const auto& s : specs) {
    PseudoFs fs{s.name, s.path, is_fs(s.path, s.magic), false};
    if (!fs.mounted && mount_missing && try_mount(s.type, s.path)) fs.mounted = fs.mounted_by_us = true;
    out.push_back(fs);
  }
  return out;
}

std::string tracefs_path(bool mount_if_missing) {
  if (is_fs("/sys/kernel/tracing", kTracefsMagic)) return "/sys/kernel/tracing";
  // Looking at /sys/kernel/debug/tracing automounts tracefs there: only inside our own mount namespace.
  if (enter_private_mount_namespace() && is_fs("/sys/kernel/debug/tracing", kTracefsMagic)) return "/sys/kernel/debug/tracing";
  if (mount_if_missing && try_mount("tracefs", "/sys/kernel/tracing")) return "/sys/kernel/tracing";
  return {};
}

}  // namespace nettrace::sys
