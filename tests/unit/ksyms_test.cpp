// SPDX-License-Identifier: GPL-2.0
// Kernel symbols: kallsyms parsing (tests/data/kallsyms.txt), symbolization, clone ranges and attach targets.

#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "nettrace/core/error.hpp"
#include "nettrace/sys/ksyms.hpp"

namespace nettrace::sys {
namespace {

const std::string kData = NETTRACE_TEST_DATA;

std::string read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const Ksyms& ks() {
  static const Ksyms k = Ksyms::parse(read(kData + "/kallsyms.txt"));
  return k;
}

using Ranges = std::vector<std::pair<uint64_t, uint64_t>>;

TEST(Ksyms, ParseKeepsTextSymbolsOnly) {
  // 22 vmlinux text symbols (T, t, W) + 7 module ones; data, absolute and zeroed addresses are dropped.
  EXPECT_EQ(ks().size(), 29u);
  for (const char* data : {"init_net", "some_bss", "some_rodata", "__ksymtab_kfree_skb_reason", "ovs_dp_data",
                           "fixed_percpu_data", "hidden_by_kptr_restrict"})
    EXPECT_FALSE(ks().resolve(data)) << data;
  EXPECT_EQ(ks().resolve("weak_function"), "weak_function");
}

TEST(Ksyms, ParseEdgeCases) {
  EXPECT_EQ(Ksyms::parse("").size(), 0u);
  EXPECT_EQ(Ksyms::parse("\n\n").size(), 0u);
  EXPECT_EQ(Ksyms::parse("garbage\nffffffff81000000\nffffffff81000000 T").size(), 0u);
  // No trailing newline, upper-case hex.
  auto k = Ksyms::parse("FFFFFFFF81000000 T upper\nffffffff81000010 t last");
  ASSERT_EQ(k.size(), 2u);
  EXPECT_EQ(k.symbolize(0xffffffff81000004ULL), "upper+0x4");
  EXPECT_EQ(k.symbolize(0xffffffff81000010ULL), "last+0x0");
}

TEST(Ksyms, SymbolizeVmlinux) {
  EXPECT_EQ(ks().symbolize(0xffffffff81002105ULL), "kfree_skb_reason+0x5");
  EXPECT_EQ(ks().symbolize(0xffffffff81002100ULL), "kfree_skb_reason+0x0");
  EXPECT_EQ(ks().symbolize(0xffffffff810023ffULL), "kfree_skb_reason+0x2ff");
  EXPECT_EQ(ks().symbolize(0xffffffff81003812ULL), "tcp_v4_rcv.cold+0x12");
  EXPECT_EQ(ks().function(0xffffffff81002105ULL), "kfree_skb_reason");
  // Two names at one address: either is right, and the offset is from that address.
  const auto s = ks().symbolize(0xffffffff81000010ULL);
  EXPECT_TRUE(s == "_text+0x10" || s == "startup_64+0x10") << s;
}

TEST(Ksyms, SymbolizeModules) {
  EXPECT_EQ(ks().symbolize(0xffffffffc0a01410ULL), "ovs_dp_process_packet+0x10 [openvswitch]");
  EXPECT_EQ(ks().symbolize(0xffffffffc0b00400ULL), "tun_get_user.constprop.0+0x0 [tun]");
  EXPECT_EQ(ks().symbolize(0xffffffffc0c00042ULL), "bpf_prog_6deef7357e7b4530_drop_tp+0x42 [bpf]");
  EXPECT_EQ(ks().function(0xffffffffc0a01410ULL), "ovs_dp_process_packet");
  const auto* sym = ks().find(0xffffffffc0a01802ULL);
  ASSERT_NE(sym, nullptr);
  EXPECT_EQ(ks().name(*sym), "queue_userspace_packet.isra.0");
  EXPECT_EQ(ks().module(*sym), "openvswitch");
  const auto* core = ks().find(0xffffffff81002105ULL);
  ASSERT_NE(core, nullptr);
  EXPECT_EQ(ks().module(*core), "");
}

TEST(Ksyms, ModuleOfAFunction) {
  EXPECT_EQ(ks().module_of("ovs_dp_process_packet"), std::optional<std::string>("openvswitch"));
  EXPECT_EQ(ks().module_of("queue_userspace_packet"), std::nullopt);  // only its clone is a symbol
  EXPECT_EQ(ks().module_of("kfree_skb_reason"), std::optional<std::string>(""));
  EXPECT_EQ(ks().module_of("no_such_function"), std::nullopt);
}

TEST(Ksyms, UnknownAddresses) {
  EXPECT_EQ(ks().symbolize(0x1000), "0x1000");
  EXPECT_EQ(ks().symbolize(0xffffffff80ffffffULL), "0xffffffff80ffffff");
  EXPECT_EQ(ks().function(0x1000), "");
  EXPECT_EQ(ks().find(0x1000), nullptr);
  Ksyms empty = Ksyms::parse("");
  EXPECT_EQ(empty.symbolize(0xffffffff81000000ULL), "0xffffffff81000000");
}

TEST(Ksyms, RangesIncludeClones) {
  EXPECT_EQ(ks().ranges("tcp_v4_rcv"), (Ranges{{0xffffffff81003000ULL, 0xffffffff81003800ULL},
                                                {0xffffffff81003800ULL, 0xffffffff81004000ULL}}));
  EXPECT_EQ(ks().ranges("ip_rcv_core"), (Ranges{{0xffffffff81004000ULL, 0xffffffff81004400ULL},
                                                 {0xffffffff81004400ULL, 0xffffffff81004800ULL},
                                                 {0xffffffff81004800ULL, 0xffffffff81005000ULL}}));
  // foo_bar and foo.bar are other functions.
  EXPECT_EQ(ks().ranges("foo"), (Ranges{{0xffffffff81006500ULL, 0xffffffff81006600ULL},
                                        {0xffffffff81006600ULL, 0xffffffff81007000ULL}}));
  // An alias at the same address does not end the range.
  EXPECT_EQ(ks().ranges("_text"), (Ranges{{0xffffffff81000000ULL, 0xffffffff81001000ULL}}));
  EXPECT_EQ(ks().ranges("tun_net_xmit"), (Ranges{{0xffffffffc0b00000ULL, 0xffffffffc0b00400ULL}}));
  // The last symbol has no successor: a one-byte range.
  EXPECT_EQ(ks().ranges("bpf_prog_1234abcd_other"), (Ranges{{0xffffffffc0c00800ULL, 0xffffffffc0c00801ULL}}));
  EXPECT_TRUE(ks().ranges("no_such_function").empty());
  EXPECT_TRUE(ks().ranges("kfree_skb").empty());  // kfree_skb_reason is not a clone of kfree_skb
}

TEST(Ksyms, ResolvePrefersExactThenShortestClone) {
  EXPECT_EQ(ks().resolve("foo"), "foo");
  EXPECT_EQ(ks().resolve("tcp_v4_rcv"), "tcp_v4_rcv");
  EXPECT_EQ(ks().resolve("ip_rcv_core"), "ip_rcv_core.isra.0");
  EXPECT_EQ(ks().resolve("__netif_receive_skb_core"), "__netif_receive_skb_core.constprop.0");
  EXPECT_EQ(ks().resolve("nf_hook_slow"), "nf_hook_slow.lto_priv.0");
  EXPECT_EQ(ks().resolve("tun_get_user"), "tun_get_user.constprop.0");
  EXPECT_EQ(ks().resolve("queue_userspace_packet"), "queue_userspace_packet.isra.0");
  EXPECT_EQ(ks().resolve("ovs_vport_receive"), "ovs_vport_receive");
  EXPECT_FALSE(ks().resolve("kfree_skb"));
  EXPECT_FALSE(ks().resolve("no_such_function"));
}

// A .cold part is a fragment split off a function, not an entry point: never an attach target,
// even when it is the shortest name.
TEST(Ksyms, ResolveNeverPicksColdPart) {
  EXPECT_EQ(ks().resolve("udp_queue_rcv_one_skb"), "udp_queue_rcv_one_skb.part.0");
  auto only_cold = Ksyms::parse("ffffffff81000000 t bar.cold\nffffffff81000100 t baz\n");
  EXPECT_FALSE(only_cold.resolve("bar"));
  EXPECT_EQ(only_cold.ranges("bar").size(), 1u);  // still part of the function's code
}

TEST(Ksyms, LoadFromFile) {
  auto k = Ksyms::load(kData + "/kallsyms.txt");
  EXPECT_EQ(k.size(), ks().size());
  EXPECT_EQ(k.symbolize(0xffffffff81002105ULL), "kfree_skb_reason+0x5");
}

TEST(Ksyms, LoadFailures) {
  try {
    (void)Ksyms::load(kData + "/no-such-kallsyms");
    FAIL() << "no exception";
  } catch (const Error& e) {
    EXPECT_EQ(e.exit_code(), kExitFailure);
    EXPECT_NE(std::string(e.what()).find("no-such-kallsyms"), std::string::npos) << e.what();
  }
  try {
    (void)Ksyms::load(kData + "/kallsyms_restricted.txt");
    FAIL() << "no exception";
  } catch (const Error& e) {
    EXPECT_EQ(e.exit_code(), kExitFailure);
    EXPECT_NE(e.hint().find("root"), std::string::npos) << e.hint();
  }
}

TEST(Ksyms, TracingFramesAreTheTracingMachineryOnly) {
  for (const char* f : {"bpf_prog_6deef7357e7b4530_tp_kfree_skb", "bpf_trace_run4", "__bpf_trace_kfree_skb",
                        "__traceiter_kfree_skb", "bpf_prog_abc [bpf]"})
    EXPECT_TRUE(is_tracing_frame(f)) << f;
  for (const char* f : {"kfree_skb_reason", "__udp4_lib_rcv", "trace_kfree_skb_hit", "sk_skb_reason_drop"})
    EXPECT_FALSE(is_tracing_frame(f)) << f;
}

TEST(IsCloneOf, Accepts) {
  EXPECT_TRUE(is_clone_of("foo", "foo"));
  EXPECT_TRUE(is_clone_of("foo.isra.0", "foo"));
  EXPECT_TRUE(is_clone_of("foo.constprop.12", "foo"));
  EXPECT_TRUE(is_clone_of("foo.part.0", "foo"));
  EXPECT_TRUE(is_clone_of("foo.cold", "foo"));
  EXPECT_TRUE(is_clone_of("foo.isra.0.cold", "foo"));
  EXPECT_TRUE(is_clone_of("foo.constprop.0.isra.0", "foo"));
  EXPECT_TRUE(is_clone_of("foo.lto_priv.0", "foo"));
  EXPECT_TRUE(is_clone_of("foo.hot", "foo"));
  EXPECT_TRUE(is_clone_of("foo.cold.12", "foo"));  // older GCC numbered cold parts
}

TEST(IsCloneOf, Rejects) {
  EXPECT_FALSE(is_clone_of("foobar", "foo"));
  EXPECT_FALSE(is_clone_of("foo_bar", "foo"));
  EXPECT_FALSE(is_clone_of("foo.bar", "foo"));
  EXPECT_FALSE(is_clone_of("foo.isra.0x", "foo"));
  EXPECT_FALSE(is_clone_of("foo.", "foo"));
  EXPECT_FALSE(is_clone_of("foo..isra", "foo"));
  EXPECT_FALSE(is_clone_of("fo", "foo"));
  EXPECT_FALSE(is_clone_of("bar.isra.0", "foo"));
  EXPECT_FALSE(is_clone_of("xfoo.isra.0", "foo"));
  EXPECT_FALSE(is_clone_of("", "foo"));
}

}  // namespace
}  // namespace nettrace::sys

namespace nettrace::sys {
namespace {

// Every address around every symbol of the test file (and below, between and above them): LazyKsyms answers
// what the table answers, in one pass per batch, the table itself only after max_passes passes.
TEST(LazyKsyms, SameAnswersAsTheTable) {
  const std::string path = NETTRACE_TEST_DATA "/kallsyms.txt";
  const Ksyms table = Ksyms::load(path);
  std::vector<uint64_t> addrs{0, 1, 0xffffffff80000000ULL, ~0ULL};
  std::istringstream in(read(path));
  std::string line;
  while (std::getline(in, line)) {
    const uint64_t a = std::stoull(line.substr(0, line.find(' ')), nullptr, 16);
    for (uint64_t d : {0ULL, 1ULL, 0x10ULL, 0xfffULL}) addrs.push_back(a + d);
    if (a) addrs.push_back(a - 1);
  }
  LazyKsyms lazy(path, 1000);
  lazy.prefetch(addrs.data(), addrs.size());
  EXPECT_EQ(lazy.passes(), 1);
  for (uint64_t a : addrs) {
    EXPECT_EQ(lazy.symbolize(a), table.symbolize(a)) << std::hex << a;
    EXPECT_EQ(lazy.function(a), table.function(a)) << std::hex << a;
  }
  EXPECT_EQ(lazy.passes(), 1);  // all answered from the batch
  EXPECT_FALSE(lazy.table_loaded());

  LazyKsyms few(path, 2);
  EXPECT_EQ(few.symbolize(0xffffffff81002105ULL), "kfree_skb_reason+0x5");
  EXPECT_EQ(few.symbolize(0xffffffff81002105ULL), "kfree_skb_reason+0x5");
  EXPECT_EQ(few.passes(), 1);
  (void)few.symbolize(0xffffffff81001001ULL);
  EXPECT_EQ(few.passes(), 2);
  EXPECT_FALSE(few.table_loaded());
  for (uint64_t a : addrs) EXPECT_EQ(few.symbolize(a), table.symbolize(a)) << std::hex << a;  // from the table now
  EXPECT_TRUE(few.table_loaded());
  EXPECT_EQ(few.passes(), 2);
}

TEST(LazyKsyms, UnreadableOrRestrictedGivesRawAddresses) {
  LazyKsyms missing(NETTRACE_TEST_DATA "/no-such-kallsyms");
  EXPECT_EQ(missing.symbolize(0xffffffff81002105ULL), "0xffffffff81002105");
  EXPECT_EQ(missing.function(0xffffffff81002105ULL), "");
  LazyKsyms restricted(NETTRACE_TEST_DATA "/kallsyms_restricted.txt");
  EXPECT_EQ(restricted.symbolize(0xffffffff81002105ULL), "0xffffffff81002105");
  LazyKsyms table_only(NETTRACE_TEST_DATA "/kallsyms_restricted.txt", 0);
  EXPECT_EQ(table_only.symbolize(0xffffffff81002105ULL), "0xffffffff81002105");
}

}  // namespace
}  // namespace nettrace::sys
