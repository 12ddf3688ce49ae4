// SPDX-License-Identifier: GPL-2.0
// BPF_PROG_TEST_RUN: the shared parser and filter run in the kernel (bpf/testing/parse_shim.bpf.c) on crafted
// packets, and every result must equal what the host-compiled code gives for the same bytes.

#include <net/if.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>
#include <string>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "nettrace/abi/filter.h"
#include "nettrace/abi/pkt.h"
#include "test_packets.hpp"
// The skeleton names ABI structs, so it comes after them.
#include "parse_shim.skel.h"

namespace nettrace::test {
namespace {

constexpr uint32_t kModeEth = 0;
constexpr uint32_t kModeL3 = 1;
constexpr size_t kPadTo = 128;  // enough for any EtherType's minimum in BPF_PROG_TEST_RUN

std::string g_libbpf_log;

int capture_libbpf(enum libbpf_print_level, const char* fmt, va_list ap) {
  char buf[1024];
  vsnprintf(buf, sizeof(buf), fmt, ap);
  g_libbpf_log += buf;
  return 0;
}

std::string dump(const nt_pkt& p) {
  auto hex = [](const uint8_t* a, size_t n) {
    std::string s;
    for (size_t i = 0; i < n; i++) s += fmt::format("{:02x}", a[i]);
    return s;
  };
  return fmt::format(
      "eth_proto=0x{:04x} vlan={}/{} depth={} l3={} l4={} flags=0x{:02x} saddr={} daddr={} sport={} dport={} "
      "ip_len={} ip_id={} frag_off={} ttl={} tcp_flags={} seq={} ack={} icmp={}/{}/{}/{} arp_op={} l3_off={} "
      "l4_off={} src_mac={} dst_mac={}",
      p.eth_proto, p.vlan[0], p.vlan[1], p.vlan_depth, p.l3, p.l4_proto, p.flags, hex(p.saddr, 16), hex(p.daddr, 16),
      p.sport, p.dport, p.ip_len, p.ip_id, p.frag_off, p.ttl, p.tcp_flags, p.tcp_seq, p.tcp_ack, p.icmp_type,
      p.icmp_code, p.icmp_id, p.icmp_seq, p.arp_op, p.l3_off, p.l4_off, hex(p.src_mac, 6), hex(p.dst_mac, 6));
}

struct Result {
  int ret = 0;
  int match = 0;
  int match_dev = 0;
  nt_pkt pkt{};
};

struct Input {
  const Bytes* data;
  const nt_filter* filter;
  uint32_t mode = kModeEth;
  uint16_t l3_proto = 0;
  nt_pkt preset{};
  uint32_t ctx_ifindex = 0;  // 0: the default device (loopback)
  uint32_t netns = 0;
};

// The host-compiled code on the same bytes. It parses the whole buffer: the parser itself must stop at
// NT_PKT_MAX, the shim copies at most that much.
Result host_run(const Input& in) {
  Result r;
  r.pkt = in.preset;
  if (in.mode == kModeL3) {
    const Bytes l3(in.data->begin() + 14, in.data->end());
    r.ret = nt_parse_l3(l3.data(), l3.size(), 0, in.l3_proto, &r.pkt);
  } else {
    r.ret = nt_parse_eth(in.data->data(), in.data->size(), &r.pkt);
  }
  r.match = nt_filter_match_pkt(in.filter, &r.pkt);
  return r;
}

class ParseShim : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    libbpf_set_print(capture_libbpf);
    skel_ = parse_shim_bpf::open_and_load();
    if (!skel_) {
      const int e = errno;
      if (e == EPERM)
        skip_ = fmt::format("loading BPF programs needs root (CAP_BPF and CAP_NET_ADMIN, or CAP_SYS_ADMIN): {}",
                            strerror(e));
      else
        load_error_ = fmt::format("cannot load parse_shim: {}\n{}", strerror(e), g_libbpf_log);
    }
  }
  static void TearDownTestSuite() {
    parse_shim_bpf::destroy(skel_);
    skel_ = nullptr;
  }
  void SetUp() override {
    if (!skip_.empty()) GTEST_SKIP() << skip_;
    ASSERT_NE(skel_, nullptr) << load_error_;
  }

  // Runs the shim once; fails the test when the syscall or the program fails. A frame the kernel refuses
  // as too short for its EtherType (EINVAL) is padded with 0xa5 and its real length passed in shim_limit,
  // so bytes past the length are there to be (wrongly) read.
  static Result bpf_run(const Input& in) {
    auto* bss = skel_->bss;
    bss->shim_filter = *in.filter;
    bss->shim_preset = in.preset;
    bss->shim_mode = in.mode;
    bss->shim_l3_proto = in.l3_proto;
    bss->shim_netns = in.netns;
    const size_t skip = in.mode == kModeL3 ? 14 : 0;
    const size_t payload = in.data->size() - skip;
    Bytes padded;
    int err = 0;
    bpf_test_run_opts opts{};
    for (int attempt = 0; attempt < 2; attempt++) {
      const Bytes& data = attempt == 0 ? *in.data : padded;
      bss->shim_limit = attempt == 0 ? 0 : static_cast<uint32_t>(payload);
      std::memset(&bss->shim_pkt, 0xee, sizeof(bss->shim_pkt));  // poison: the program must overwrite it
      bss->shim_ret = bss->shim_match = bss->shim_match_dev = -7;
      const uint32_t runs = bss->shim_runs;
      opts = {};
      opts.sz = sizeof(opts);
      opts.data_in = data.data();
      opts.data_size_in = static_cast<uint32_t>(data.size());
      opts.repeat = 1;
      __sk_buff ctx{};
      if (in.ctx_ifindex) {
        ctx.ifindex = in.ctx_ifindex;
        opts.ctx_in = &ctx;
        opts.ctx_size_in = sizeof(ctx);
      }
      err = bpf_prog_test_run_opts(bpf_program__fd(skel_->progs.parse_shim), &opts);
      if (err == -EINVAL && attempt == 0 && in.data->size() < kPadTo) {
        padded = *in.data;
        padded.resize(kPadTo, 0xa5);
        continue;
      }
      if (err == 0) {
        EXPECT_EQ(bss->shim_runs, runs + 1);
      }
      break;
    }
    EXPECT_EQ(err, 0) << "BPF_PROG_TEST_RUN on " << in.data->size() << " bytes: " << strerror(-err);
    EXPECT_EQ(opts.retval, 0u) << "shim returned early (1: too short, 2: bpf_skb_load_bytes failed)";
    EXPECT_EQ(bss->shim_parse_len, std::min<size_t>(payload, NT_PKT_MAX));
    Result r;
    r.ret = bss->shim_ret;
    r.match = bss->shim_match;
    r.match_dev = bss->shim_match_dev;
    r.pkt = bss->shim_pkt;
    return r;
  }

  // Runs both and compares everything; returns the kernel's result.
  static Result compare(const Input& in, const std::string& what) {
    const Result k = bpf_run(in);
    const Result h = host_run(in);
    EXPECT_EQ(k.ret, h.ret) << what;
    EXPECT_EQ(k.match, h.match) << what;
    EXPECT_EQ(std::memcmp(&k.pkt, &h.pkt, sizeof(nt_pkt)), 0) << what << "\n  bpf:  " << dump(k.pkt)
                                                             << "\n  host: " << dump(h.pkt);
    return k;
  }

  static Result run_eth(const Bytes& b, const nt_filter& f = {}) {
    Input in{&b, &f};
    return compare(in, "frame of " + std::to_string(b.size()) + " bytes");
  }

  static inline parse_shim_bpf* skel_ = nullptr;
  static inline std::string skip_;
  static inline std::string load_error_;
};

const Frame& frame(const std::string& name) {
  static const auto frames = frame_catalogue();
  for (const auto& f : frames)
    if (f.name == name) return f;
  throw std::runtime_error("no frame " + name);
}

TEST_F(ParseShim, EveryFrameEveryFilterMatchesHost) {
  const auto frames = frame_catalogue();
  const auto filters = filter_catalogue();
  for (const auto& fr : frames) {
    for (const auto& nf : filters) {
      Input in{&fr.bytes, &nf.filter};
      compare(in, fr.name + " / " + nf.name);
      if (HasFailure()) return;  // one mismatch is enough to read
    }
  }
}

TEST_F(ParseShim, TruncatedPrefixesMatchHost) {
  // BPF_PROG_TEST_RUN for tc needs at least an Ethernet header; shorter prefixes are unit-tested on the host.
  for (const auto& fr : frame_catalogue()) {
    for (size_t len = 14; len <= fr.bytes.size(); len++) {
      const Bytes prefix(fr.bytes.begin(), fr.bytes.begin() + static_cast<long>(len));
      const nt_filter any{};
      Input in{&prefix, &any};
      const Result k = compare(in, fmt::format("{} cut at {}", fr.name, len));
      EXPECT_EQ((k.pkt.flags & NT_PKT_TRUNCATED) != 0, len < fr.full_len) << fr.name << " len " << len;
      if (HasFailure()) return;
    }
  }
}

TEST_F(ParseShim, Ipv4TcpUdpIcmp) {
  {
    const Result k = run_eth(frame("ipv4_tcp").bytes);
    EXPECT_EQ(k.ret, 0);
    EXPECT_EQ(k.pkt.l3, NT_L3_IPV4);
    EXPECT_EQ(k.pkt.l4_proto, NT_IPPROTO_TCP);
    EXPECT_EQ(k.pkt.flags, NT_PKT_HAS_L2 | NT_PKT_HAS_L4);
    EXPECT_EQ(k.pkt.sport, 40000);
    EXPECT_EQ(k.pkt.dport, 80);
    EXPECT_EQ(k.pkt.tcp_seq, 0x01020304u);
    EXPECT_EQ(std::memcmp(k.pkt.saddr, kIp4A.data(), 4), 0);
  }
  {
    const Result k = run_eth(frame("ipv4_udp").bytes);
    EXPECT_EQ(k.pkt.l4_proto, NT_IPPROTO_UDP);
    EXPECT_EQ(k.pkt.dport, 53);
  }
  {
    const Result k = run_eth(frame("ipv4_icmp").bytes);
    EXPECT_EQ(k.pkt.l4_proto, NT_IPPROTO_ICMP);
    EXPECT_EQ(k.pkt.icmp_type, 8);
    EXPECT_EQ(k.pkt.icmp_id, 0x4242);
    EXPECT_EQ(k.pkt.icmp_seq, 7);
  }
}

TEST_F(ParseShim, VlanOneAndTwoTags) {
  {
    const Result k = run_eth(frame("vlan_ipv4_udp").bytes);
    EXPECT_EQ(k.pkt.vlan_depth, 1);
    EXPECT_EQ(k.pkt.vlan[0], 100);
    EXPECT_EQ(k.pkt.l3_off, 18);
    EXPECT_EQ(k.pkt.dport, 53);
  }
  {
    const Result k = run_eth(frame("qinq_ipv4_tcp").bytes);
    EXPECT_EQ(k.pkt.vlan_depth, 2);
    EXPECT_EQ(k.pkt.vlan[0], 200);
    EXPECT_EQ(k.pkt.vlan[1], 300);
    EXPECT_EQ(k.pkt.l3_off, 22);
    EXPECT_EQ(k.pkt.sport, 40000);
  }
  {
    nt_filter inner{};
    inner.has_vlan = 1;
    inner.vlan_id = 300;
    EXPECT_EQ(run_eth(frame("qinq_ipv4_tcp").bytes, inner).match, 1);
    inner.vlan_id = 301;
    EXPECT_EQ(run_eth(frame("qinq_ipv4_tcp").bytes, inner).match, 0);
  }
}

TEST_F(ParseShim, StrippedTagPreset) {
  const auto& b = frame("vlan_ipv4_udp").bytes;
  const nt_filter any{};
  Input in{&b, &any};
  in.preset.vlan[0] = 5;
  in.preset.vlan_depth = 1;
  const Result k = compare(in, "preset vlan 5");
  EXPECT_EQ(k.pkt.vlan_depth, 2);
  EXPECT_EQ(k.pkt.vlan[0], 5);
  EXPECT_EQ(k.pkt.vlan[1], 100);
}

TEST_F(ParseShim, Ipv6ExtensionHeaders) {
  {
    const Result k = run_eth(frame("ipv6_hbh_dst_udp").bytes);
    EXPECT_EQ(k.ret, 0);
    EXPECT_EQ(k.pkt.l3, NT_L3_IPV6);
    EXPECT_EQ(k.pkt.l4_proto, NT_IPPROTO_UDP);
    EXPECT_EQ(k.pkt.l4_off, 14 + 40 + 8 + 24);
    EXPECT_EQ(k.pkt.dport, 53);
    EXPECT_EQ(std::memcmp(k.pkt.saddr, kIp6A.data(), 16), 0);
  }
  {
    const Result k = run_eth(frame("ipv6_hbh_fragment_udp").bytes);
    EXPECT_EQ(k.pkt.flags, NT_PKT_HAS_L2 | NT_PKT_FRAGMENT | NT_PKT_HAS_L4);
    EXPECT_EQ(k.pkt.ip_id, 7);
  }
  {
    const Result k = run_eth(frame("ipv6_later_fragment").bytes);
    EXPECT_EQ(k.pkt.flags, NT_PKT_HAS_L2 | NT_PKT_FRAGMENT | NT_PKT_LATER_FRAG);
    EXPECT_EQ(k.pkt.frag_off, 181 * 8);
  }
  {
    // Four extension headers of 40 bytes put UDP past NT_PKT_MAX: truncated in the kernel as on the host.
    const auto b = cat({eth(NT_ETH_P_IPV6), ipv6(0, 168), ipv6_ext(60, 4), ipv6_ext(60, 4), ipv6_ext(60, 4),
                        ipv6_ext(NT_IPPROTO_UDP, 4), udp(1, 2)});
    const Result k = run_eth(b);
    EXPECT_EQ(k.ret, -1);
    EXPECT_TRUE(k.pkt.flags & NT_PKT_TRUNCATED);
  }
}

TEST_F(ParseShim, Arp) {
  const Result k = run_eth(frame("arp_request").bytes);
  EXPECT_EQ(k.ret, 0);
  EXPECT_EQ(k.pkt.l3, NT_L3_ARP);
  EXPECT_EQ(k.pkt.arp_op, 1);
  EXPECT_EQ(std::memcmp(k.pkt.saddr, kIp4A.data(), 4), 0);
  EXPECT_EQ(std::memcmp(k.pkt.daddr, kIp4B.data(), 4), 0);
  nt_filter f{};
  f.eth_match = NT_ETH_EXACT;
  f.eth_proto = NT_ETH_P_ARP;
  EXPECT_EQ(run_eth(frame("arp_request").bytes, f).match, 1);
  EXPECT_EQ(run_eth(frame("ipv4_udp").bytes, f).match, 0);
}

TEST_F(ParseShim, Truncated) {
  const auto& b = frame("ipv4_tcp").bytes;
  const Bytes cut(b.begin(), b.begin() + 40);  // inside TCP
  const Result k = run_eth(cut);
  EXPECT_EQ(k.ret, -1);
  EXPECT_EQ(k.pkt.flags, NT_PKT_HAS_L2 | NT_PKT_TRUNCATED);
  EXPECT_EQ(k.pkt.l3, NT_L3_IPV4);
  EXPECT_EQ(k.pkt.sport, 0);
  nt_filter port{};
  port.dport = 80;
  EXPECT_EQ(run_eth(cut, port).match, 0);
  EXPECT_EQ(run_eth(b, port).match, 1);
}

TEST_F(ParseShim, LongPacketCopiesNtPktMax) {
  const auto b = cat({eth(NT_ETH_P_IP), ipv4(NT_IPPROTO_UDP, 1008), udp(7, 9, 1000)});
  ASSERT_GT(b.size(), 1000u);
  const Result k = run_eth(b);  // bpf_run checks that exactly NT_PKT_MAX bytes were parsed
  EXPECT_EQ(skel_->bss->shim_copied, static_cast<uint32_t>(NT_PKT_MAX));
  EXPECT_EQ(k.ret, 0);
  EXPECT_EQ(k.pkt.ip_len, 1028);
  EXPECT_EQ(k.pkt.dport, 9);
}

TEST_F(ParseShim, L3WithoutEthernetHeader) {
  struct Case {
    const char* name;
    Bytes l3;
    uint16_t proto;
  };
  const Case cases[] = {
      {"ipv4_udp", cat({ipv4(NT_IPPROTO_UDP, 12), udp(5353, 53)}), NT_ETH_P_IP},
      {"ipv6_tcp", cat({ipv6(NT_IPPROTO_TCP, 20), tcp(1, 2)}), NT_ETH_P_IPV6},
      {"ipv6_hbh_udp", cat({ipv6(0, 20), ipv6_ext(NT_IPPROTO_UDP), udp(3, 4)}), NT_ETH_P_IPV6},
      {"arp", arp(2, kIp4B, kIp4A), NT_ETH_P_ARP},
      {"other", Bytes(20, 0x11), 0x88b5},
      {"ipv4_truncated", Bytes(10, 0x45), NT_ETH_P_IP},
  };
  for (const auto& c : cases) {
    // The kernel needs an Ethernet header in front; the shim skips it.
    const Bytes data = cat({eth(c.proto), c.l3});
    for (const auto& nf : filter_catalogue()) {
      Input in{&data, &nf.filter};
      in.mode = kModeL3;
      in.l3_proto = c.proto;
      const Result k = compare(in, std::string(c.name) + " / " + nf.name);
      EXPECT_FALSE(k.pkt.flags & NT_PKT_HAS_L2) << c.name;
      EXPECT_EQ(k.pkt.l3_off, 0) << c.name;
      if (HasFailure()) return;
    }
  }
}

TEST_F(ParseShim, DeviceFilter) {
  const auto& b = frame("ipv4_udp").bytes;
  const unsigned lo = if_nametoindex("lo");
  ASSERT_NE(lo, 0u) << "no loopback device";
  nt_filter f{};
  f.ifindex = lo;
  f.netns = 4026531840u;
  Input in{&b, &f};
  in.netns = 4026531840u;
  EXPECT_EQ(bpf_run(in).match_dev, 1);  // BPF_PROG_TEST_RUN runs on the loopback device by default
  in.ctx_ifindex = lo;
  EXPECT_EQ(bpf_run(in).match_dev, 1);
  in.netns = 1;
  EXPECT_EQ(bpf_run(in).match_dev, 0);
  in.netns = 4026531840u;
  f.ifindex = lo + 1000;
  EXPECT_EQ(bpf_run(in).match_dev, 0);
  f = {};
  EXPECT_EQ(bpf_run(in).match_dev, 1);
  // Another device, when this namespace has one.
  unsigned other = 0;
  if (auto* ifs = if_nameindex()) {
    for (auto* i = ifs; i->if_index; i++)
      if (i->if_index != lo) {
        other = i->if_index;
        break;
      }
    if_freenameindex(ifs);
  }
  if (other) {
    in.ctx_ifindex = other;
    f.ifindex = other;
    EXPECT_EQ(bpf_run(in).match_dev, 1);
    f.ifindex = lo;
    EXPECT_EQ(bpf_run(in).match_dev, 0);
  }
}

// Differential fuzzing: random byte flips and cuts of the catalogue frames, kernel against host.
TEST_F(ParseShim, MutatedFramesMatchHost) {
  std::mt19937 rng(20240102);
  const auto frames = frame_catalogue();
  const auto filters = filter_catalogue();
  for (int i = 0; i < 3000; i++) {
    const auto& fr = frames[rng() % frames.size()];
    Bytes b = fr.bytes;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < flips; k++) b[rng() % b.size()] = static_cast<uint8_t>(rng());
    if (rng() % 3 == 0) b.resize(14 + rng() % (b.size() - 13));
    const auto& nf = filters[rng() % filters.size()];
    Input in{&b, &nf.filter};
    compare(in, fmt::format("mutation {} of {} with {}", i, fr.name, nf.name));
    if (HasFailure()) return;
  }
}

}  // namespace
}  // namespace nettrace::test
