// SPDX-License-Identifier: GPL-2.0
#include "nettrace/sys/kernel_info.hpp"

#include <sys/stat.h>
#include <sys/utsname.h>

#include <fstream>
#include <map>
#include <memory>

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "nettrace/sys/btf_scan.hpp"

namespace nettrace::sys {

std::string kernel_release() {
  utsname u{};
  uname(&u);
  return u.release;
}

bool has_vmlinux_btf() {
  struct stat st {};
  return stat("/sys/kernel/btf/vmlinux", &st) == 0;
}

const char* to_string(ModuleState s) {
  switch (s) {
    case ModuleState::Loaded: return "loaded";
    case ModuleState::Builtin: return "builtin";
    case ModuleState::Available: return "available";
    case ModuleState::Missing: return "missing";
  }
  return "missing";
}

namespace {
bool file_lists_module(const std::string& path, const std::string& name) {
  std::ifstream f(path);
  std::string line;
  std::string alt = name;
  for (auto& c : alt) if (c == '_') c = '-';
  while (std::getline(f, line)) {
    // "kernel/net/openvswitch/openvswitch.ko[.xz]: deps…"
    size_t colon = line.find(':');
    std::string path_part = line.substr(0, colon);
    size_t slash = path_part.rfind('/');
    std::string base = path_part.substr(slash == std::string::npos ? 0 : slash + 1);
    size_t dot = base.find(".ko");
    if (dot == std::string::npos) continue;
    base.resize(dot);
    if (base == name || base == alt) return true;
  }
  return false;
}
}  // namespace

ModuleState module_state(const std::string& name, const std::string& marker) {
  struct stat st {};
  const std::string release = kernel_release();
  const std::string sysmod = "/sys/module/" + name;
  bool in_sys = stat(sysmod.c_str(), &st) == 0;
  if (file_lists_module("/lib/modules/" + release + "/modules.builtin", name)) return ModuleState::Builtin;
  if (in_sys) {
    // Loadable modules have initstate; builtin ones with parameters appear in /sys/module too.
    if (stat((sysmod + "/initstate").c_str(), &st) == 0) return ModuleState::Loaded;
    return ModuleState::Builtin;
  }
  if (file_lists_module("/lib/modules/" + release + "/modules.dep", name)) return ModuleState::Available;
  // Module functions live in the module's own BTF; one in vmlinux BTF means the module is built in.
  if (!marker.empty() && vmlinux_btf() && btf__find_by_name_kind(vmlinux_btf(), marker.c_str(), BTF_KIND_FUNC) > 0)
    return ModuleState::Builtin;
  return ModuleState::Missing;
}

namespace {
std::unique_ptr<btf, void (*)(btf*)> g_vmlinux{nullptr, btf__free};
bool g_vmlinux_tried = false;
}  // namespace

const btf* vmlinux_btf() {
  if (!g_vmlinux_tried) {
    g_vmlinux.reset(btf__load_vmlinux_btf());
    g_vmlinux_tried = true;
  }
  return g_vmlinux.get();
}

void release_vmlinux_btf() {
  g_vmlinux.reset();
  g_vmlinux_tried = false;
  release_kernel_btf();
}

bool btf_has_type(const std::string& name, int kind) { return kernel_btf().find(name, kind) >= 0; }

bool module_btf_has_func(const std::string& module, const std::string& name) {
  static std::map<std::string, std::unique_ptr<btf, void (*)(btf*)>> parsed;
  auto it = parsed.find(module);
  if (it == parsed.end()) {
    btf* split = nullptr;
    if (const btf* base = vmlinux_btf())
      split = btf__parse_split(("/sys/kernel/btf/" + module).c_str(), const_cast<btf*>(base));
    if (libbpf_get_error(split)) split = nullptr;
    it = parsed.emplace(module, std::unique_ptr<btf, void (*)(btf*)>{split, btf__free}).first;
  }
  return it->second && btf__find_by_name_kind(it->second.get(), name.c_str(), BTF_KIND_FUNC) > 0;
}

long peak_rss_kb() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  return 0;
}

}  // namespace nettrace::sys
