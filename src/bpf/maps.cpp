// SPDX-License-Identifier: GPL-2.0
#include "nettrace/bpf/maps.hpp"

#include <cerrno>

#include <bpf/libbpf.h>
#include <fmt/format.h>

#include "nettrace/core/error.hpp"

namespace nettrace::bpf {

size_t possible_cpus() {
  static size_t cached = 0;
  if (cached) return cached;
  const int n = libbpf_num_possible_cpus();
  if (n <= 0) {
    const int e = n < 0 ? -n : EINVAL;
    if (e == EMFILE || e == ENFILE)
      throw failure(fmt::format("cannot read /sys/devices/system/cpu/possible: {} (raise `ulimit -n`)", strerror(e)));
    throw failure(fmt::format("cannot read the possible CPUs from /sys/devices/system/cpu/possible: {}",
                              n < 0 ? strerror(e) : "no CPU listed"));
  }
  cached = static_cast<size_t>(n);
  return cached;
}

uint64_t read_percpu_sum(int fd, uint32_t slot) {
  std::vector<uint64_t> vals(possible_cpus());
  if (bpf_map_lookup_elem(fd, &slot, vals.data()) != 0) return 0;
  uint64_t sum = 0;
  for (auto v : vals) sum += v;
  return sum;
}

}  // namespace nettrace::bpf
