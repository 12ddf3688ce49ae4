// SPDX-License-Identifier: GPL-2.0
// libFuzzer target: the shared packet parser (include/nettrace/abi/pkt.h) compiled for the host, over arbitrary
// bytes and lengths, in the two ways it is called.
//
// Input: byte 0 = mode and the pre-set VLAN depth, bytes 1-2 = EtherType for nt_parse_l3, bytes 3-4 = a length,
// the rest = the packet.
//  - exact: the packet alone in a heap buffer of exactly its size (ASan guards both ends), len = its size:
//    nt_parse_eth, and nt_parse_l3 at an offset taken from the length bytes (clamped to the packet).
//  - bpf: as in the kernel (bpf/include/nt/skb.bpf.h), a zeroed NT_BUF_SIZE buffer holding the packet, len up
//    to NT_PKT_MAX from the length bytes, at most what the buffer holds.
// Every parse must stay inside [0, len) — ASan checks that — and its result must be self-consistent.
// With NETTRACE_FUZZ_SEED_DIR set, every frame of the unit tests' catalogue (tests/unit/test_packets.hpp) is
// written there as a seed, in both modes.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "nettrace/abi/filter.h"
#include "nettrace/abi/pkt.h"
#include "test_packets.hpp"

namespace {

void check(const nt_pkt& p, int ret, uint64_t len, int vlan_depth_before) {
  // Offsets the parser reports are within the headers it read.
  if (p.l3 != NT_L3_NONE && p.l3_off > len) abort();
  if ((p.flags & NT_PKT_HAS_L4) && p.l4_off + 8u > len) abort();
  if ((p.flags & NT_PKT_HAS_L4) && p.l3 != NT_L3_IPV4 && p.l3 != NT_L3_IPV6) abort();
  if (p.vlan_depth > 2 || p.vlan_depth < vlan_depth_before) abort();
  if (ret != 0 && ret != -1) abort();
  if ((p.flags & NT_PKT_TRUNCATED) && ret == 0) abort();
  if (p.vlan[0] > 0x0fff && vlan_depth_before == 0) abort();
  if (p.vlan[1] > 0x0fff) abort();
}

void run_eth(const uint8_t* b, uint64_t len, uint8_t preset_depth) {
  nt_pkt p{};
  if (preset_depth) {  // a tag the NIC stripped (skb->vlan_tci), as the BPF side pre-fills it
    p.vlan[0] = 42;
    p.vlan_depth = 1;
  }
  const int depth = p.vlan_depth;
  const int ret = nt_parse_eth(b, len, &p);
  check(p, ret, len, depth);
  // The filter over the result: a match-everything filter matches, and matching is pure.
  nt_filter any{};
  if (!nt_filter_match_pkt(&any, &p)) abort();
}

void run_l3(const uint8_t* b, uint64_t len, uint64_t off, uint16_t proto) {
  nt_pkt p{};
  const int ret = nt_parse_l3(b, len, off, proto, &p);
  check(p, ret, len, 0);
  if (p.eth_proto != proto) abort();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const char* dir = getenv("NETTRACE_FUZZ_SEED_DIR");
  if (!dir) return 0;
  for (const auto& f : nettrace::test::frame_catalogue()) {
    for (uint8_t mode : {0, 1}) {
      std::string seed = {static_cast<char>(mode), 0x08, 0x00, static_cast<char>(f.bytes.size() >> 8),
                          static_cast<char>(f.bytes.size() & 0xff)};
      seed.append(f.bytes.begin(), f.bytes.end());
      const std::string path = std::string(dir) + "/frame-" + f.name + "-" + std::to_string(mode);
      if (FILE* out = fopen(path.c_str(), "we")) {
        fwrite(seed.data(), 1, seed.size(), out);
        fclose(out);
      }
    }
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 5) return -1;
  const uint8_t mode = data[0];
  const uint16_t proto = static_cast<uint16_t>(data[1] << 8 | data[2]);
  const uint16_t lenword = static_cast<uint16_t>(data[3] << 8 | data[4]);
  const uint8_t* pkt = data + 5;
  const size_t n = size - 5;

  if (!(mode & 1)) {
    // Exactly n bytes on the heap: any read outside is an ASan report. (new[0] still gives a unique pointer.)
    std::unique_ptr<uint8_t[]> buf(new uint8_t[n]);
    if (n) std::memcpy(buf.get(), pkt, n);
    run_eth(buf.get(), n, mode & 2);
    run_l3(buf.get(), n, n ? lenword % (n + 1) : 0, proto);
  } else {
    // The kernel's way: the headers copied into an NT_BUF_SIZE buffer, len clamped to NT_PKT_MAX.
    uint8_t buf[NT_BUF_SIZE] = {};
    const size_t copied = n < NT_PKT_MAX ? n : NT_PKT_MAX;
    std::memcpy(buf, pkt, copied);
    uint64_t len = lenword;
    if (len > NT_PKT_MAX) len = NT_PKT_MAX;
    // Only what was copied is the packet; the rest of buf is zero, as a short skb leaves it.
    if (len > copied) len = copied;
    run_eth(buf, len, mode & 2);
    run_l3(buf, len, 0, proto);
  }
  return 0;
}
