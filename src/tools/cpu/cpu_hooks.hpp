// SPDX-License-Identifier: GPL-2.0
#pragma once
// Hooks of each cpu subcommand (for the probe plan and `nettrace doctor`).

#include <string>
#include <vector>

#include "nettrace/bpf/probe_plan.hpp"

namespace nettrace::tools::cpu {

// sched:<event> via tp_btf, else raw_tp; programs are named tpbtf_<event> / rawtp_<event>.
[[nodiscard]] bpf::Hook sched_hook(const std::string& event, bool required = true);

[[nodiscard]] std::vector<bpf::Hook> schedlat_hooks();
[[nodiscard]] std::vector<bpf::Hook> offcpu_hooks();
[[nodiscard]] std::vector<bpf::Hook> futex_hooks();
[[nodiscard]] std::vector<bpf::Hook> monitor_hooks();

}  // namespace nettrace::tools::cpu
