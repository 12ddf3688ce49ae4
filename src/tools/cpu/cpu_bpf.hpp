// SPDX-License-Identifier: GPL-2.0
#pragma once
// Host side of bpf/cpu_common.bpf.h: every cpu skeleton has the same filter rodata, filter maps and
// counters, so one template configures them all. Generic map reading is in nettrace/bpf/maps.hpp.

#include <array>
#include <cstring>
#include <vector>

#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "nettrace/abi/cpu.h"
#include "nettrace/bpf/maps.hpp"
#include "nettrace/core/error.hpp"
#include "nettrace/core/histogram.hpp"
#include "nettrace/core/session.hpp"
#include "tools/cpu/cpu.hpp"

namespace nettrace::tools::cpu {

using Counters = std::array<uint64_t, NT_CPU_NCOUNTERS>;

// Before load: which filters are on.
template <class Skel>
void configure_filter(Skel* s, const TaskFilter& f) {
  auto* ro = s->rodata;
  ro->cfg_filter_tgid = !f.tgids.empty();
  ro->cfg_filter_tid = !f.tids.empty();
  const size_t n = std::min(f.comm.size(), static_cast<size_t>(NT_CPU_COMMLEN - 1));
  ro->cfg_comm_len = static_cast<uint32_t>(n);
  memcpy(const_cast<char*>(ro->cfg_comm), f.comm.data(), n);
  ro->cfg_self_tgid = static_cast<uint32_t>(getpid());
  ro->cfg_filter_cpu = !f.cpus.empty();
  for (int c : f.cpus)
    if (c >= 0 && c < NT_CPU_MAX_CPUS) ro->cfg_cpus[c / 64] |= 1ULL << (c % 64);
}

// After load, before attach: the id sets.
template <class Skel>
void fill_filter_maps(Skel* s, const TaskFilter& f) {
  const uint8_t one = 1;
  if (f.tgids.size() > NT_CPU_MAX_FILTER_IDS || f.tids.size() > NT_CPU_MAX_FILTER_IDS)
    throw usage_error(fmt::format("at most {} ids per --pid/--tid list", NT_CPU_MAX_FILTER_IDS));
  for (uint32_t id : f.tgids) bpf_map_update_elem(bpf_map__fd(s->maps.filter_tgids), &id, &one, BPF_ANY);
  for (uint32_t id : f.tids) bpf_map_update_elem(bpf_map__fd(s->maps.filter_tids), &id, &one, BPF_ANY);
}

// The cpu counters (bpf/cpu_common.bpf.h), summed over CPUs.
inline Counters read_counters(int fd) { return bpf::read_percpu_counters<NT_CPU_NCOUNTERS>(fd); }

// The session's housekeeping slots of the cpu counters (every cpu skeleton has the same).
inline core::CounterSlots counter_slots(int fd) {
  return {fd, NT_CPU_RB_LOST, NT_CPU_MAP_FULL, {NT_CPU_KSTACK_FAIL, NT_CPU_USTACK_FAIL}};
}

// What changed since the previous call.
class CounterDeltas {
 public:
  Counters next(const Counters& now) {
    Counters d{};
    for (size_t i = 0; i < now.size(); i++) d[i] = now[i] - prev_[i];
    prev_ = now;
    return d;
  }

 private:
  Counters prev_{};
};


// The frames of a stack-trace map entry, innermost first; empty for a failed capture (id < 0).
inline std::vector<uint64_t> read_stack(int fd, int32_t id) {
  std::vector<uint64_t> out;
  if (id < 0) return out;
  std::vector<uint64_t> frames(NT_CPU_STACK_DEPTH);
  if (bpf_map_lookup_elem(fd, &id, frames.data()) != 0) return out;
  for (auto a : frames) {
    if (!a) break;
    out.push_back(a);
  }
  return out;
}

// MapDeltas' subtract for the wait histograms of futex and rwlock (histogram, errors).
template <class V>
bool subtract_waits(V& d, const V& earlier) {
  d.hist = core::Histogram(d.hist).minus(core::Histogram(earlier.hist)).raw();
  d.errors -= earlier.errors;
  return d.hist.count != 0;
}

inline std::string comm_str(const char* c) { return std::string(c, strnlen(c, NT_CPU_COMMLEN)); }

}  // namespace nettrace::tools::cpu
