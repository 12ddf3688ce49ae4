// SPDX-License-Identifier: GPL-2.0
// libFuzzer target: the filter flags' validation and their translation to struct nt_filter
// (src/cli/filter_options.cpp), the duration parser (src/cli/common_options.cpp) and the cpu tools' id and CPU
// lists (src/tools/cpu/cpu_util.cpp), then the filter against a packet parsed from the same input.
//
// Input: up to 8 NUL-separated fields — src-ip, dst-ip, protocol, type, interface, duration, id/CPU list,
// numbers — then the rest is a packet. The numbers field's bytes give the ports, the VLAN id and the CPU count.
// Every function must return or throw nettrace::Error, and what build_filter() accepts its validators accept.
// With NETTRACE_FUZZ_SEED_DIR set, seeds of documented flag values over the unit tests' frames are written there.

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "nettrace/abi/filter.h"
#include "nettrace/abi/pkt.h"
#include "nettrace/cli/common_options.hpp"
#include "nettrace/cli/filter_options.hpp"
#include "nettrace/core/error.hpp"
#include "test_packets.hpp"
#include "tools/cpu/cpu_util.hpp"

using namespace nettrace;

namespace {

int32_t num(const std::string& s, size_t i) {
  int32_t v = 0;
  if (s.size() >= (i + 1) * 4) std::memcpy(&v, s.data() + i * 4, 4);
  return v;
}

template <typename F>
void expect_ok_or_error(F&& f) {
  try {
    f();
  } catch (const Error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const char* dir = getenv("NETTRACE_FUZZ_SEED_DIR");
  if (!dir) return 0;
  // src-ip, dst-ip, protocol, type, interface, duration, list, numbers (sport, dport, vlan, flags, cpus)
  const std::vector<std::vector<std::string>> values = {
      {"10.0.0.1", "10.0.0.2", "tcp", "ipv4", "lo", "5", "1,2", std::string("\x50\0\0\0\x50\0\0\0\x0b\0\0\0\0\x01", 14)},
      {"2001:db8::1", "2001:db8::2", "udp", "ipv6", "", "500ms", "0-3,8", ""},
      {"", "10.0.0.2", "icmp", "arp", "", "2m", "1", ""},
      {"::ffff:10.0.0.1", "", "17", "0x8100", "", "1.5s", "7-7", ""},
      {"", "", "all", "other", "", "1h", "", ""},
  };
  int n = 0;
  for (const auto& v : values)
    for (const auto& f : nettrace::test::frame_catalogue()) {
      std::string seed;
      for (const auto& field : v) seed += field + '\0';
      seed.append(f.bytes.begin(), f.bytes.end());
      const std::string path = std::string(dir) + "/seed-" + std::to_string(n++);
      if (FILE* out = fopen(path.c_str(), "we")) {
        fwrite(seed.data(), 1, seed.size(), out);
        fclose(out);
      }
    }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string in(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> fields;
  size_t start = 0;
  while (fields.size() < 8) {
    size_t end = in.find('\0', start);
    if (end == std::string::npos) end = in.size();
    fields.push_back(in.substr(start, end - start));
    start = end < in.size() ? end + 1 : in.size();
  }
  const std::string packet = in.substr(start);

  cli::FilterOptions f;
  f.src_ip = fields[0];
  f.dst_ip = fields[1];
  f.protocol = fields[2];
  f.eth_type = fields[3];
  f.interface = fields[4];
  // Ports and VLAN: mostly in range, sometimes anything (build_filter must reject, not wrap).
  const std::string& nums = fields[7];
  const int32_t r0 = num(nums, 0), r1 = num(nums, 1), r2 = num(nums, 2);
  f.src_port = nums.size() > 12 && nums[12] & 1 ? r0 : r0 & 0xffff;
  f.dst_port = nums.size() > 12 && nums[12] & 2 ? r1 : r1 & 0xffff;
  f.vlan_id = nums.size() > 12 && nums[12] & 4 ? r2 : (r2 & 0x1fff) - 1;

  // The validators CLI11 runs on each flag: a message or nothing, never an exception.
  const bool ip_ok = cli::check_ip(f.src_ip).empty() && cli::check_ip(f.dst_ip).empty();
  const bool proto_ok = cli::check_protocol(f.protocol).empty();
  const bool type_ok = cli::check_eth_type(f.eth_type).empty();
  const int proto = cli::protocol_number(f.protocol);
  if ((proto >= 0) != proto_ok || proto > 255) abort();
  (void)cli::protocol_name(proto);
  (void)cli::protocol_name(static_cast<int>(static_cast<uint8_t>(nums.empty() ? 0 : nums[0])));
  if (!f.interface.empty()) (void)cli::check_interface(f.interface);

  expect_ok_or_error([&] {
    const nt_filter flt = cli::build_filter(f);
    // Accepted values passed their validators (empty addresses are "any").
    if (!f.src_ip.empty() && !cli::check_ip(f.src_ip).empty()) abort();
    if (!f.dst_ip.empty() && !cli::check_ip(f.dst_ip).empty()) abort();
    if (!proto_ok || !type_ok) abort();
    if (flt.has_vlan && flt.vlan_id > 4095) abort();
    if ((flt.has_saddr || flt.has_daddr) && flt.family != 4 && flt.family != 6) abort();
    (void)cli::describe_filter(f);

    // The filter against the packet, as the BPF side runs it.
    nt_pkt p{};
    const size_t len = packet.size() < NT_PKT_MAX ? packet.size() : NT_PKT_MAX;
    uint8_t buf[NT_BUF_SIZE] = {};
    std::memcpy(buf, packet.data(), len);
    (void)nt_parse_eth(buf, len, &p);
    const int m = nt_filter_match_pkt(&flt, &p);
    if (m != 0 && m != 1) abort();
    if (!nt_filter_needs_packet(&flt) && !m) abort();  // a filter that needs nothing matches everything
    (void)nt_filter_match_dev(&flt, static_cast<uint32_t>(r0), static_cast<uint32_t>(r1));
  });
  (void)ip_ok;

  // Durations and intervals ("10", "2.5", "500ms", "2m").
  expect_ok_or_error([&] {
    const double s = cli::parse_seconds(fields[5], "--duration");
    if (!(s >= 0) || !std::isfinite(s) || s > cli::kMaxSeconds) abort();
  });

  // The cpu tools' lists: --pid/--tid ids, --cpus lists against a fuzzed CPU count.
  expect_ok_or_error([&] {
    for (uint32_t id : tools::cpu::parse_id_list(fields[6], "--pid"))
      if (id == 0) abort();
  });
  expect_ok_or_error([&] {
    const int ncpus = 1 + (nums.size() > 13 ? static_cast<uint8_t>(nums[13]) * 16 : 0);
    int prev = -1;
    for (int c : tools::cpu::parse_cpu_list(fields[6], ncpus, "--cpus")) {
      if (c <= prev || c >= ncpus) abort();
      prev = c;
    }
  });
  return 0;
}
