// SPDX-License-Identifier: GPL-2.0
#pragma once
// Host side of bpf/cpu_common.bpf.h: every cpu skeleton has the same filter rodata, filter maps and
// counters, so one template configures them all.

#include <array>
#include <cstring>
#include <map>
#include <vector>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fmt/format.h>

#include "nettrace/abi/cpu.h"
#include "nettrace/core/error.hpp"
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

inline Counters read_counters(int fd) {
  Counters out{};
  const int ncpu = libbpf_num_possible_cpus();
  std::vector<uint64_t> vals(static_cast<size_t>(ncpu > 0 ? ncpu : 1));
  for (uint32_t i = 0; i < NT_CPU_NCOUNTERS; i++) {
    if (bpf_map_lookup_elem(fd, &i, vals.data()) != 0) continue;
    for (auto v : vals) out[i] += v;
  }
  return out;
}

// All entries of a hash map.
template <class K, class V>
std::vector<std::pair<K, V>> dump_map(int fd) {
  std::vector<std::pair<K, V>> out;
  K key{}, next{};
  const K* prev = nullptr;
  while (bpf_map_get_next_key(fd, prev, &next) == 0) {
    V v{};
    if (bpf_map_lookup_elem(fd, &next, &v) == 0) out.emplace_back(next, v);
    key = next;
    prev = &key;
  }
  return out;
}

// Memory-order comparison of BPF map keys (plain structs; the BPF side zeroes their padding).
template <class K>
struct MemLess {
  bool operator()(const K& a, const K& b) const { return memcmp(&a, &b, sizeof(a)) < 0; }
};

// A BPF hash map of running totals, reported as what changed since the previous report.
// subtract(total, earlier) turns a total into the change (earlier is V{} for a new key) and returns
// whether there is anything to report.
template <class K, class V>
class MapDeltas {
 public:
  explicit MapDeltas(int fd = -1) : fd_(fd) {}
  // since_start: the totals since attach (a run's summary), leaving the base of the intervals alone.
  template <class Subtract>
  std::vector<std::pair<K, V>> read(bool since_start, Subtract subtract) {
    std::map<K, V, MemLess<K>> now;
    for (auto& [k, v] : dump_map<K, V>(fd_)) now[k] = v;
    std::vector<std::pair<K, V>> out;
    const V none{};
    for (const auto& [k, v] : now) {
      V d = v;
      const V* earlier = &none;
      if (!since_start)
        if (auto it = base_.find(k); it != base_.end()) earlier = &it->second;
      if (subtract(d, *earlier)) out.emplace_back(k, d);
    }
    if (!since_start) base_ = std::move(now);
    return out;
  }

 private:
  int fd_;
  std::map<K, V, MemLess<K>> base_;
};

// MapDeltas' subtract for the wait histograms of futex and rwlock (count, total, errors, log2 slots).
template <class V>
bool subtract_waits(V& d, const V& earlier) {
  d.count -= earlier.count;
  d.total_ns -= earlier.total_ns;
  d.errors -= earlier.errors;
  for (int s = 0; s < NT_CPU_HIST_SLOTS; s++) d.slots[s] -= earlier.slots[s];
  return d.count != 0;
}

inline std::string comm_str(const char* c) { return std::string(c, strnlen(c, NT_CPU_COMMLEN)); }

}  // namespace nettrace::tools::cpu
