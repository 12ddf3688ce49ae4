// SPDX-License-Identifier: GPL-2.0
#pragma once
// Reading BPF maps from the host: the possible-CPU count (per-CPU values), per-CPU sums, whole-map dumps and
// interval deltas. Every tool reads its maps through these, so a per-CPU read is sized once, correctly.

#include <array>
#include <cstdint>
#include <cstring>
#include <map>
#include <utility>
#include <vector>

#include <bpf/bpf.h>

namespace nettrace::bpf {

// Number of possible CPUs: the length of every per-CPU map value. Throws nettrace::Error (exit 1) naming
// /sys/devices/system/cpu/possible when it cannot be read: a guess would let the kernel write past a
// buffer sized for fewer CPUs.
[[nodiscard]] size_t possible_cpus();

// One per-CPU value of type V per possible CPU; empty when the key is absent.
template <class V, class K>
[[nodiscard]] std::vector<V> read_percpu(int fd, const K& key) {
  std::vector<V> vals(possible_cpus());
  if (bpf_map_lookup_elem(fd, &key, vals.data()) != 0) return {};
  return vals;
}

// Per-CPU u64 counters of a BPF_MAP_TYPE_PERCPU_ARRAY with N slots, summed over CPUs.
template <size_t N>
[[nodiscard]] std::array<uint64_t, N> read_percpu_counters(int fd) {
  std::array<uint64_t, N> out{};
  std::vector<uint64_t> vals(possible_cpus());
  for (uint32_t i = 0; i < N; i++) {
    if (bpf_map_lookup_elem(fd, &i, vals.data()) != 0) continue;
    for (auto v : vals) out[i] += v;
  }
  return out;
}

// One slot of a per-CPU u64 array, summed over CPUs.
[[nodiscard]] uint64_t read_percpu_sum(int fd, uint32_t slot);

// All entries of a (non-per-CPU) hash map.
template <class K, class V>
[[nodiscard]] std::vector<std::pair<K, V>> dump_map(int fd) {
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

// Every key of a map.
template <class K>
[[nodiscard]] std::vector<K> map_keys(int fd) {
  std::vector<K> out;
  K key{}, next{};
  const K* prev = nullptr;
  while (bpf_map_get_next_key(fd, prev, &next) == 0) {
    out.push_back(next);
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

}  // namespace nettrace::bpf
