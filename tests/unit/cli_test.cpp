// SPDX-License-Identifier: GPL-2.0
// Shared CLI pieces: durations, filter validators, nt_filter construction and the option groups (in-process).

#include <net/if.h>

#include <gtest/gtest.h>

#include "nettrace/cli/common_options.hpp"
#include "nettrace/cli/filter_options.hpp"
#include "nettrace/core/error.hpp"
#include "nettrace/sys/netdev.hpp"

namespace nettrace::cli {
namespace {

// Runs fn, expects a usage error (exit 2) whose message names every needle.
template <class Fn>
void expect_usage_error(Fn&& fn, std::initializer_list<std::string> needles) {
  try {
    fn();
    ADD_FAILURE() << "no exception";
  } catch (const Error& e) {
    EXPECT_EQ(e.exit_code(), kExitUsage) << e.what();
    for (const auto& n : needles) EXPECT_NE(std::string(e.what()).find(n), std::string::npos) << e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "not a nettrace::Error: " << e.what();
  }
}

TEST(ParseSeconds, Valid) {
  EXPECT_DOUBLE_EQ(parse_seconds("10", "--duration"), 10);
  EXPECT_DOUBLE_EQ(parse_seconds("0", "--duration"), 0);
  EXPECT_DOUBLE_EQ(parse_seconds("2.5", "--duration"), 2.5);
  EXPECT_DOUBLE_EQ(parse_seconds("1.5s", "--duration"), 1.5);
  EXPECT_DOUBLE_EQ(parse_seconds("500ms", "--duration"), 0.5);
  EXPECT_DOUBLE_EQ(parse_seconds("2m", "--duration"), 120);
  EXPECT_DOUBLE_EQ(parse_seconds("2min", "--duration"), 120);
  EXPECT_DOUBLE_EQ(parse_seconds("1h", "--duration"), 3600);
  EXPECT_DOUBLE_EQ(parse_seconds("315360000", "--duration"), kMaxSeconds);
}

// Found by fuzzing (UBSan): --duration 1e300 overflowed the conversion to nanoseconds in RunClock and the run loops.
TEST(ParseSeconds, TooLargeForNanosecondsIsUsageError) {
  for (const char* big : {"1e300", "315360001", "1e10", "18446744074", "1e300ms", "5256001m", "87601h"}) {
    SCOPED_TRACE(big);
    expect_usage_error([&] { (void)parse_seconds(big, "--duration"); }, {"--duration", "'" + std::string(big) + "'"});
  }
}

TEST(ParseSeconds, InvalidIsUsageErrorNamingFlagAndValue) {
  for (const char* bad : {"abc", "-1", "10x", "", "s", "1.5 s", "-0.5s", "nan", "inf", "1e999"}) {
    SCOPED_TRACE(bad);
    expect_usage_error([&] { (void)parse_seconds(bad, "--interval"); }, {"--interval", "'" + std::string(bad) + "'"});
  }
}

TEST(CheckIp, Results) {
  for (const char* ok : {"10.0.0.1", "0.0.0.0", "255.255.255.255", "::1", "2001:db8::2", "fe80::1", "::ffff:10.0.0.1"})
    EXPECT_EQ(check_ip(ok), "") << ok;
  for (const char* bad : {"", "10.0.0.256", "10.0.0", "10.0.0.1/24", "host.example", "2001:db8:::1", " 10.0.0.1"}) {
    const auto msg = check_ip(bad);
    EXPECT_NE(msg, "") << bad;
    EXPECT_NE(msg.find("'" + std::string(bad) + "'"), std::string::npos) << msg;
  }
}

TEST(CheckProtocol, Results) {
  for (const char* ok : {"tcp", "UDP", "icmp", "icmpv6", "icmp6", "all", "ALL", "1", "17", "255", "047"})
    EXPECT_EQ(check_protocol(ok), "") << ok;
  for (const char* bad : {"sctp", "0", "256", "1000", "-1", "t cp", "6x"}) {
    const auto msg = check_protocol(bad);
    EXPECT_NE(msg, "") << bad;
    EXPECT_NE(msg.find(bad), std::string::npos) << msg;
  }
  EXPECT_EQ(protocol_number("tcp"), NT_IPPROTO_TCP);
  EXPECT_EQ(protocol_number("Udp"), NT_IPPROTO_UDP);
  EXPECT_EQ(protocol_number("icmp"), NT_IPPROTO_ICMP);
  EXPECT_EQ(protocol_number("icmpv6"), NT_IPPROTO_ICMPV6);
  EXPECT_EQ(protocol_number("all"), 0);
  EXPECT_EQ(protocol_number(""), 0);
  EXPECT_EQ(protocol_number("132"), 132);
  EXPECT_EQ(protocol_number("bogus"), -1);
  EXPECT_EQ(protocol_name(6), "tcp");
  EXPECT_EQ(protocol_name(17), "udp");
  EXPECT_EQ(protocol_name(1), "icmp");
  EXPECT_EQ(protocol_name(58), "icmpv6");
  EXPECT_EQ(protocol_name(132), "132");
}

TEST(CheckEthType, Results) {
  for (const char* ok : {"all", "other", "arp", "RARP", "ipv4", "ip", "IPv6", "lldp", "flow_control", "0x88cc",
                         "0x1", "0X88B5", "0xffff"})
    EXPECT_EQ(check_eth_type(ok), "") << ok;
  for (const char* bad : {"", "0x", "0x12345", "0xzz", "ethernet", "88cc", "vlan"}) {
    const auto msg = check_eth_type(bad);
    EXPECT_NE(msg, "") << bad;
    EXPECT_NE(msg.find("'" + std::string(bad) + "'"), std::string::npos) << msg;
  }
}

TEST(CheckInterface, Results) {
  EXPECT_EQ(check_interface("lo"), "");
  const auto msg = check_interface("nt-no-such0");
  EXPECT_NE(msg.find("'nt-no-such0'"), std::string::npos) << msg;
}

TEST(BuildFilter, DefaultsMatchEverything) {
  const nt_filter f = build_filter({});
  const nt_filter zero{};
  EXPECT_EQ(std::memcmp(&f, &zero, sizeof(f)), 0);
  EXPECT_FALSE(nt_filter_needs_packet(&f));
}

TEST(BuildFilter, Ipv4Addresses) {
  FilterOptions o;
  o.src_ip = "10.0.0.1";
  o.dst_ip = "192.168.1.254";
  const nt_filter f = build_filter(o);
  EXPECT_EQ(f.family, 4);
  EXPECT_EQ(f.has_saddr, 1);
  EXPECT_EQ(f.has_daddr, 1);
  const uint8_t s[16] = {10, 0, 0, 1}, d[16] = {192, 168, 1, 254};
  EXPECT_EQ(std::memcmp(f.saddr, s, 16), 0);
  EXPECT_EQ(std::memcmp(f.daddr, d, 16), 0);
}

TEST(BuildFilter, Ipv6AddressOneSide) {
  FilterOptions o;
  o.dst_ip = "2001:db8::2";
  const nt_filter f = build_filter(o);
  EXPECT_EQ(f.family, 6);
  EXPECT_EQ(f.has_saddr, 0);
  EXPECT_EQ(f.has_daddr, 1);
  const uint8_t d[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
  EXPECT_EQ(std::memcmp(f.daddr, d, 16), 0);
  o.dst_ip.clear();
  o.src_ip = "10.1.2.3";
  EXPECT_EQ(build_filter(o).family, 4);
}

TEST(BuildFilter, MismatchedFamiliesAreUsageErrors) {
  FilterOptions o;
  o.src_ip = "10.0.0.1";
  o.dst_ip = "::1";
  expect_usage_error([&] { (void)build_filter(o); }, {"10.0.0.1", "::1"});
  o.src_ip = "fe80::1";
  o.dst_ip = "10.0.0.2";
  expect_usage_error([&] { (void)build_filter(o); }, {"fe80::1", "10.0.0.2"});
}

TEST(BuildFilter, BadValuesAreUsageErrors) {
  {
    FilterOptions o;
    o.src_ip = "10.0.0.300";
    expect_usage_error([&] { (void)build_filter(o); }, {"10.0.0.300"});
  }
  {
    FilterOptions o;
    o.dst_ip = "nonsense";
    expect_usage_error([&] { (void)build_filter(o); }, {"nonsense"});
  }
  {
    FilterOptions o;
    o.protocol = "sctp";
    expect_usage_error([&] { (void)build_filter(o); }, {"sctp"});
  }
  {
    FilterOptions o;
    o.eth_type = "vlan";
    expect_usage_error([&] { (void)build_filter(o); }, {"vlan"});
  }
  for (int port : {-1, 65536, 100000}) {
    FilterOptions o;
    o.src_port = port;
    expect_usage_error([&] { (void)build_filter(o); }, {std::to_string(port)});
    FilterOptions d;
    d.dst_port = port;
    expect_usage_error([&] { (void)build_filter(d); }, {std::to_string(port)});
  }
  {
    FilterOptions o;
    o.interface = "nt-no-such0";
    expect_usage_error([&] { (void)build_filter(o); }, {"nt-no-such0"});
  }
}

// A malformed hexadecimal EtherType must be a usage error too, not a std::invalid_argument from stoul
// or a silently truncated value.
TEST(BuildFilter, BadHexEthTypeIsUsageError) {
  for (const char* bad : {"0xzz", "0x", "0x12345"}) {
    SCOPED_TRACE(bad);
    FilterOptions o;
    o.eth_type = bad;
    expect_usage_error([&] { (void)build_filter(o); }, {bad});
  }
}

TEST(BuildFilter, Ports) {
  FilterOptions o;
  o.src_port = 1234;
  o.dst_port = 65535;
  const nt_filter f = build_filter(o);
  EXPECT_EQ(f.sport, 1234);
  EXPECT_EQ(f.dport, 65535);
}

TEST(BuildFilter, Protocol) {
  FilterOptions o;
  for (auto [name, num] : {std::pair{"tcp", 6}, {"UDP", 17}, {"icmp", 1}, {"icmpv6", 58}, {"47", 47}, {"all", 0}}) {
    o.protocol = name;
    EXPECT_EQ(build_filter(o).l4_proto, num) << name;
  }
}

TEST(BuildFilter, Vlan) {
  FilterOptions o;
  EXPECT_EQ(build_filter(o).has_vlan, 0);
  o.vlan_id = 0;
  auto f = build_filter(o);
  EXPECT_EQ(f.has_vlan, 1);
  EXPECT_EQ(f.vlan_id, 0);
  o.vlan_id = 4095;
  f = build_filter(o);
  EXPECT_EQ(f.has_vlan, 1);
  EXPECT_EQ(f.vlan_id, 4095);
}

TEST(BuildFilter, EthTypes) {
  struct Case {
    const char* name;
    uint8_t match;
    uint16_t proto;
  };
  for (const auto& c : {Case{"all", NT_ETH_ANY, 0}, Case{"ALL", NT_ETH_ANY, 0}, Case{"other", NT_ETH_OTHER, 0},
                        Case{"arp", NT_ETH_EXACT, NT_ETH_P_ARP}, Case{"rarp", NT_ETH_EXACT, NT_ETH_P_RARP},
                        Case{"ipv4", NT_ETH_EXACT, NT_ETH_P_IP}, Case{"ip", NT_ETH_EXACT, NT_ETH_P_IP},
                        Case{"IPv6", NT_ETH_EXACT, NT_ETH_P_IPV6}, Case{"lldp", NT_ETH_EXACT, NT_ETH_P_LLDP},
                        Case{"flow_control", NT_ETH_EXACT, NT_ETH_P_PAUSE}, Case{"0x88b5", NT_ETH_EXACT, 0x88b5},
                        Case{"0X88CC", NT_ETH_EXACT, 0x88cc}, Case{"0x1", NT_ETH_EXACT, 1}}) {
    FilterOptions o;
    o.eth_type = c.name;
    const nt_filter f = build_filter(o);
    EXPECT_EQ(f.eth_match, c.match) << c.name;
    EXPECT_EQ(f.eth_proto, c.proto) << c.name;
  }
}

TEST(BuildFilter, Interface) {
  const unsigned lo = if_nametoindex("lo");
  if (lo == 0) GTEST_SKIP() << "no loopback device in this network namespace";
  FilterOptions o;
  o.interface = "lo";
  const nt_filter f = build_filter(o);
  EXPECT_EQ(f.ifindex, lo);
  EXPECT_EQ(f.netns, sys::current_netns_inum());
  EXPECT_NE(f.netns, 0u);
  EXPECT_TRUE(nt_filter_match_dev(&f, lo, f.netns));
  EXPECT_FALSE(nt_filter_match_dev(&f, lo, f.netns + 1));
}

TEST(DescribeFilter, ActiveFiltersInFlagOrder) {
  FilterOptions o;
  EXPECT_TRUE(describe_filter(o).empty());
  o.src_ip = "10.0.0.1";
  o.dst_ip = "10.0.0.2";
  o.src_port = 1;
  o.dst_port = 2;
  o.protocol = "UDP";
  o.eth_type = "IPv4";
  o.vlan_id = 7;
  o.interface = "eth0";
  using P = std::pair<std::string, std::string>;
  EXPECT_EQ(describe_filter(o), (std::vector<P>{{"type", "ipv4"},
                                                {"src_ip", "10.0.0.1"},
                                                {"dst_ip", "10.0.0.2"},
                                                {"src_port", "1"},
                                                {"dst_port", "2"},
                                                {"protocol", "udp"},
                                                {"vlan_id", "7"},
                                                {"interface", "eth0"}}));
  FilterOptions p;
  p.protocol = "all";
  p.vlan_id = 0;
  EXPECT_EQ(describe_filter(p), (std::vector<P>{{"vlan_id", "0"}}));
}

// The option group, parsed in-process with CLI11 (the nettrace binary itself is tested elsewhere).
TEST(FilterOptionsCli, ParsesAndValidates) {
  {
    CLI::App app;
    FilterOptions o;
    add_filter_options(app, o);
    app.parse("--src-ip 10.0.0.1 --dst 10.0.0.2 --sport 5 --dport 53 --proto udp --type ipv4 --vlan-id 9 --dev lo",
              false);
    EXPECT_EQ(o.src_ip, "10.0.0.1");
    EXPECT_EQ(o.dst_ip, "10.0.0.2");
    EXPECT_EQ(o.src_port, 5);
    EXPECT_EQ(o.dst_port, 53);
    EXPECT_EQ(o.protocol, "udp");
    EXPECT_EQ(o.eth_type, "ipv4");
    EXPECT_EQ(o.vlan_id, 9);
    EXPECT_EQ(o.interface, "lo");
  }
  for (const char* bad : {"--src-ip 10.0.0.256", "--dst-port 70000", "--src-port -1", "--dport 8o", "--vlan-id 4096",
                          "--vlan-id -2", "--l4-protocol sctp", "--type 0xzz", "--interface nt-no-such0"}) {
    SCOPED_TRACE(bad);
    CLI::App app;
    FilterOptions o;
    add_filter_options(app, o);
    EXPECT_THROW(app.parse(bad, false), CLI::ValidationError);
  }
}

TEST(FilterOptionsCli, FieldSubsetAndInterfaceSpellings) {
  CLI::App app;
  FilterOptions o;
  add_filter_options(app, o, kFilterPorts | kFilterInterface);
  app.parse("-I lo --dport 1", false);
  EXPECT_EQ(o.interface, "lo");
  for (const char* synonym : {"--interface lo", "--dev lo", "--device lo"}) {
    CLI::App a;
    FilterOptions f;
    add_filter_options(a, f, kFilterInterface);
    a.parse(synonym, false);
    EXPECT_EQ(f.interface, "lo") << synonym;
  }
  EXPECT_EQ(o.dst_port, 1);
  CLI::App app2;
  add_filter_options(app2, o, kFilterPorts);
  EXPECT_THROW(app2.parse("--src-ip 10.0.0.1", false), CLI::ExtrasError);
}

TEST(CommonOptionsCli, DurationAndInterval) {
  CLI::App app;
  CommonOptions o;
  add_duration_option(app, o, 5);
  add_interval_option(app, o, 1, "--period");
  EXPECT_DOUBLE_EQ(o.duration_s, 5);
  EXPECT_DOUBLE_EQ(o.interval_s, 1);
  app.parse("--duration 500ms -i 2m", false);
  EXPECT_DOUBLE_EQ(o.duration_s, 0.5);
  EXPECT_DOUBLE_EQ(o.interval_s, 120);
  CLI::App syn;
  add_interval_option(syn, o, 1, "--period");
  syn.parse("--period 3", false);
  EXPECT_DOUBLE_EQ(o.interval_s, 3);
  for (const char* bad : {"-d abc", "-d -1", "-d 10x", "-i 0"}) {
    SCOPED_TRACE(bad);
    CLI::App a;
    CommonOptions c;
    add_duration_option(a, c);
    add_interval_option(a, c, 1);
    EXPECT_THROW(a.parse(bad, false), CLI::ValidationError);
  }
}

TEST(CommonOptionsCli, ThresholdIsADurationWithUnits) {
  EXPECT_DOUBLE_EQ(parse_threshold_us("500us", "--threshold", "us"), 500);
  EXPECT_DOUBLE_EQ(parse_threshold_us("10ms", "--threshold", "us"), 10000);
  EXPECT_DOUBLE_EQ(parse_threshold_us("1s", "--threshold", "us"), 1e6);
  EXPECT_DOUBLE_EQ(parse_threshold_us("250ns", "--threshold", "us"), 0.25);
  EXPECT_DOUBLE_EQ(parse_threshold_us("50", "--threshold", "us"), 50);      // bare: the flag's unit
  EXPECT_DOUBLE_EQ(parse_threshold_us("2", "--latency-ms", "ms"), 2000);
  EXPECT_DOUBLE_EQ(parse_threshold_us("1.5", "--threshold", "us"), 1.5);
  for (const char* bad : {"abc", "-1", "10x", "1e400", ""}) EXPECT_THROW((void)parse_threshold_us(bad, "--threshold", "us"), Error) << bad;
  double us = -1;
  CLI::App app;
  add_threshold_option(app, us, "Slow", "us", "--threshold-us");
  app.parse("--threshold-us 75", false);
  EXPECT_DOUBLE_EQ(us, 75);
  CLI::App app2;
  add_threshold_option(app2, us, "Slow");
  app2.parse("--threshold 2ms", false);
  EXPECT_DOUBLE_EQ(us, 2000);
  CLI::App app3;
  add_threshold_option(app3, us, "Slow");
  EXPECT_THROW(app3.parse("--threshold 5parsecs", false), CLI::ValidationError);
}

}  // namespace
}  // namespace nettrace::cli
