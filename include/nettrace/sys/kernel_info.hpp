// SPDX-License-Identifier: GPL-2.0
#pragma once
// Facts about the running kernel read from /proc and /sys.

#include <string>

struct btf;

namespace nettrace::sys {

// The running kernel's BTF, parsed once and shared; nullptr without BTF. release_vmlinux_btf() drops it and
// the raw scan (sys::kernel_btf()); bpf::Skeleton::load() calls it, so peak memory stays low.
[[nodiscard]] const btf* vmlinux_btf();
void release_vmlinux_btf();

[[nodiscard]] std::string kernel_release();  // uname -r
// This process's peak resident set (VmHWM, KiB), for --debug phase timings; 0 when unknown.
[[nodiscard]] long peak_rss_kb();
[[nodiscard]] bool has_vmlinux_btf();

enum class ModuleState { Loaded, Builtin, Available, Missing };
[[nodiscard]] const char* to_string(ModuleState s);
// Loaded (/sys/module/NAME with refcnt or initstate), builtin (modules.builtin), available (a .ko under
// /lib/modules/RELEASE), or missing.
// `marker`: a function only that module defines; when neither /sys/module nor modules.builtin knows the module
// (a built-in module without parameters on a system without /lib/modules), the marker in vmlinux BTF says built in.
[[nodiscard]] ModuleState module_state(const std::string& name, const std::string& marker = {});
// True when kernel BTF has a type of that name and kind (BTF_KIND_*).
[[nodiscard]] bool btf_has_type(const std::string& name, int kind);
// Whether a loaded module's BTF (/sys/kernel/btf/<module>, split off vmlinux's) has this function: fentry
// can attach to it (libbpf searches module BTF too). Each module's BTF is parsed once per process.
[[nodiscard]] bool module_btf_has_func(const std::string& module, const std::string& name);

}  // namespace nettrace::sys
