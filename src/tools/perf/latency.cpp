// SPDX-License-Identifier: GPL-2.0
// The stage-correlated latency tools: `perf latency` (system_network_latency_details/_summary,
// system_network_perfomance_metrics) and `perf icmp-rtt` (kernel_icmp_rtt, system_network_icmp_rtt).
// Each is a stage table over one engine (engine.hpp). See docs/tools/perf.md.

#include <cmath>
#include <set>
#include <string>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "nettrace/cli/help.hpp"
#include "nettrace/core/error.hpp"
#include "nettrace/sys/netdev.hpp"
#include "tools/perf/engine.hpp"
#include "tools/perf/perf.hpp"

namespace nettrace::tools::perf {
namespace {

struct LatencyCli {
  EngineOptions eng;
  std::string direction = "both";
  std::string mode = "details";
  double threshold_us = -1;
  CLI::Option* threshold_opt = nullptr;   // --threshold / --latency-us
  CLI::Option* latency_ms_opt = nullptr;  // --latency-ms (the originals' spelling; bare numbers in ms)
  bool disable_stacks = false;
  bool summary = false;  // icmp-rtt: histograms only
};

Direction parse_direction(const std::string& d) {
  if (d == "tx") return Direction::Tx;
  if (d == "rx") return Direction::Rx;
  return Direction::Both;
}

void add_engine_flags(CLI::App& app, LatencyCli& c) {
  cli::add_output_options(app, c.eng.common);
  cli::add_duration_option(app, c.eng.common);
  app.add_option("--phy-interface", c.eng.phy, "Physical interface(s), comma-separated for bond members (at most 2)")
      ->delimiter(',')
      ->option_text("NAME[,NAME]");
  app.add_option("--internal-interface", c.eng.internal, "OVS internal port carrying the host's address")
      ->option_text("NAME");
  c.threshold_opt = cli::add_threshold_option(app, c.threshold_us, "Only packets whose total latency is at least this",
                                              "us", "--latency-us");
  c.latency_ms_opt = app.add_option_function<std::string>(
                            "--latency-ms",
                            [&c](const std::string& v) { c.threshold_us = cli::parse_threshold_us(v, "--latency-ms", "ms"); },
                            "Same as --threshold, bare numbers in milliseconds")
                         ->group("");
  app.add_flag("--disable-kernel-stacks", c.disable_stacks, "Do not capture a kernel stack per stage");
  app.add_flag("--verbose,-v", c.eng.verbose, "Every stage's device/CPU/queue/skb in text, all histograms");
  app.add_option("--max-flows", c.eng.max_flows, "Packets in flight tracked at once (LRU)")
      ->check(CLI::Range(64, 1 << 20));
  app.add_option("--flow-timeout", c.eng.max_gap_s,
                 "Seconds a packet may sit between two stages before it counts as incomplete")
      ->check(CLI::Range(0.001, 3600.0));
}

void finish_engine(LatencyCli& c) {
  if (c.threshold_opt->count() && c.latency_ms_opt->count())
    throw usage_error("--threshold (--latency-us) and --latency-ms are exclusive; give one");
  if (c.threshold_us >= 0) c.eng.threshold_ns = static_cast<uint64_t>(c.threshold_us * 1e3);
  c.eng.stacks = !c.disable_stacks;
  if (c.eng.phy.size() > NT_LAT_PHY_MAX)
    throw usage_error(fmt::format("--phy-interface: at most {} interfaces, got '{}'", NT_LAT_PHY_MAX,
                                  fmt::join(c.eng.phy, ",")));
  for (const auto& p : c.eng.phy) {
    std::string err = cli::check_interface(p);
    if (!err.empty()) throw usage_error("--phy-interface: " + err);
  }
  for (const auto* p : {&c.eng.internal, &c.eng.vnet})
    if (!p->empty()) {
      std::string err = cli::check_interface(*p);
      if (!err.empty()) throw usage_error((p == &c.eng.internal ? "--internal-interface: " : "--vm-interface: ") + err);
    }
  if (!c.eng.vnet.empty() && sys::is_loopback(c.eng.vnet))
    throw usage_error(fmt::format("--vm-interface: '{}' is the loopback device, not a VM's tap/vnet port", c.eng.vnet));
}

// perf latency and perf vm-latency: a path in both directions, per packet or as histograms.
void add_path_flags(CLI::App& app, LatencyCli& c, const char* direction_help) {
  app.add_option("--direction", c.direction, direction_help)->check(CLI::IsMember({"tx", "rx", "both"}));
  app.add_option("--mode", c.mode, "details (one record per packet) or summary (histograms per interval)")
      ->check(CLI::IsMember({"details", "summary"}));
  app.add_flag("--enable-ct", c.eng.enable_ct, "Add the conntrack stage (nf_conntrack_in)");
  cli::add_interval_option(app, c.eng.common, 0);
}

void finish_path(LatencyCli& c, const char* phy_role, const char* title) {
  finish_engine(c);
  if (c.eng.phy.empty()) throw usage_error(fmt::format("--phy-interface is required (the interface {})", phy_role));
  c.eng.details = c.mode == "details";
  if (!c.eng.details && c.eng.common.interval_s == 0) c.eng.common.interval_s = 5;
  c.eng.title = fmt::format("{} ({}, direction {})", title, c.mode, c.direction);
}

}  // namespace

std::vector<bpf::Hook> latency_hooks() {
  std::vector<bpf::Hook> out;
  for (int h = 0; h < NT_LH_COUNT; h++) out.push_back(hook_spec(static_cast<nt_lat_hook>(h)));
  for (auto& h : skb_free_hooks()) out.push_back(std::move(h));
  return out;
}

void setup_latency(CLI::App& perf, Context& ctx) {
  // perf latency: system network latency through the host stack and OVS, per stage.
  auto lat = std::make_shared<LatencyCli>();
  auto* la = perf.add_subcommand(
      "latency", "Per-packet latency through the host stack and OVS, stage by stage (system_network_latency_*)");
  add_engine_flags(*la, *lat);
  cli::add_filter_options(*la, lat->eng.filter, cli::kFilterAddresses | cli::kFilterPorts | cli::kFilterProtocol);
  add_path_flags(*la, *lat, "tx (host -> wire), rx (wire -> host) or both");
  cli::add_examples(*la, {"nettrace perf latency --phy-interface eth0 --direction rx --protocol tcp",
                          "nettrace perf latency --phy-interface eth0,eth1 --internal-interface br-int --threshold 1ms",
                          "nettrace perf latency --phy-interface eth0 --mode summary -i 5 --json"});
  la->callback([lat, &ctx] {
    finish_path(*lat, "packets leave/enter by", "System Network Latency");
    ctx.action = [lat] { return run_engine(system_latency_table(parse_direction(lat->direction)), lat->eng); };
  });

  // perf vm-latency: VM traffic through its vnet port, OVS and the physical port.
  auto vm = std::make_shared<LatencyCli>();
  auto* va = perf.add_subcommand(
      "vm-latency", "Per-packet latency of VM traffic: vnet <-> OVS <-> physical port, stage by stage (vm_network_latency_*)");
  add_engine_flags(*va, *vm);
  cli::add_filter_options(*va, vm->eng.filter, cli::kFilterAddresses | cli::kFilterPorts | cli::kFilterProtocol);
  va->add_option("--vm-interface", vm->eng.vnet, "The VM's vnet/tap interface")->required();
  auto* vmip = va->add_option("--vm-ip", vm->eng.filter.src_ip, "The VM's address (same as --src-ip: the VM's side)")
                   ->check(cli::check_ip);
  vmip->excludes("--src-ip");
  add_path_flags(*va, *vm, "tx (VM -> wire), rx (wire -> VM) or both");
  cli::add_examples(*va, {"nettrace perf vm-latency --vm-interface vnet0 --phy-interface eth0",
                          "nettrace perf vm-latency --vm-interface vnet0 --phy-interface eth0 --mode summary -i 5"});
  va->callback([vm, &ctx] {
    finish_path(*vm, "VM traffic leaves/enters by", "VM Network Latency");
    ctx.action = [vm] { return run_engine(vm_latency_table(parse_direction(vm->direction)), vm->eng); };
  });

  // perf icmp-rtt: ICMP echo request out and reply in (or in and out), stage by stage.
  auto rtt = std::make_shared<LatencyCli>();
  rtt->direction = "tx";
  auto* ra = perf.add_subcommand("icmp-rtt", "ICMP echo round trip through the host stack and OVS, stage by stage "
                                             "(kernel_icmp_rtt, system_network_icmp_rtt)");
  add_engine_flags(*ra, *rtt);
  ra->add_option("--src-ip,--src", rtt->eng.filter.src_ip, "This host's address (both directions)")
      ->required()
      ->check(cli::check_ip);
  ra->add_option("--dst-ip,--dst", rtt->eng.filter.dst_ip, "The remote address (both directions)")
      ->required()
      ->check(cli::check_ip);
  ra->add_option("--direction", rtt->direction, "tx: this host pings the remote; rx: the remote pings this host")
      ->check(CLI::IsMember({"tx", "rx"}));
  ra->add_option("-I,--interface", rtt->eng.phy, "Same as --phy-interface (kernel_icmp_rtt)")->delimiter(',')->group("");
  ra->add_flag("--summary", rtt->summary, "Histograms per interval instead of one record per echo");
  cli::add_interval_option(*ra, rtt->eng.common, 0);
  cli::add_examples(*ra, {"nettrace perf icmp-rtt --src-ip 10.0.0.1 --dst-ip 10.0.0.2 --phy-interface eth0",
                          "nettrace perf icmp-rtt --src-ip 10.0.0.1 --dst-ip 10.0.0.2 --phy-interface eth0 --direction rx --threshold 1ms",
                          "nettrace perf icmp-rtt --src-ip 10.0.0.1 --dst-ip 10.0.0.2 --phy-interface eth0 --summary -i 5"});
  ra->callback([rtt, &ctx] {
    finish_engine(*rtt);
    // The originals disagree on --src-ip with --direction rx (system_network_icmp_rtt: the remote pinger); here
    // it is always this host's, and a non-local one would silently match nothing.
    if (!sys::is_local_address(rtt->eng.filter.src_ip))
      spdlog::warn("--src-ip {} is not an address of this host (network namespace): --src-ip is this host's address "
                   "in both directions, the remote is --dst-ip", rtt->eng.filter.src_ip);
    rtt->eng.filter.protocol = "all";
    rtt->eng.details = !rtt->summary;
    if (rtt->summary && rtt->eng.common.interval_s == 0) rtt->eng.common.interval_s = 5;
    rtt->eng.title = fmt::format("ICMP RTT {} ({})", rtt->direction == "tx" ? "TX (local -> remote)" : "RX (remote -> local)",
                                 fmt::format("local {} remote {}", rtt->eng.filter.src_ip, rtt->eng.filter.dst_ip));
    ctx.action = [rtt] { return run_engine(icmp_rtt_table(parse_direction(rtt->direction)), rtt->eng); };
  });

  // perf internal-port: wire -> host through an OVS internal port, the receive backlog broken down.
  auto ip = std::make_shared<LatencyCli>();
  ip->mode = "summary";
  auto* ia = perf.add_subcommand("internal-port",
                                 "Receive through an OVS internal port, stage by stage: OVS -> internal port -> backlog "
                                 "-> IP -> TCP/UDP, with the enqueue/receive CPU migration "
                                 "(system_network_rx_internal_port_latency_details)");
  add_engine_flags(*ia, *ip);
  cli::add_filter_options(*ia, ip->eng.filter, cli::kFilterAddresses | cli::kFilterPorts | cli::kFilterProtocol);
  ia->add_option("--mode", ip->mode, "summary (histograms per interval) or details (one record per packet)")
      ->check(CLI::IsMember({"details", "summary"}));
  cli::add_interval_option(*ia, ip->eng.common, 0);
  cli::add_examples(*ia, {"nettrace perf internal-port --internal-interface br-int -i 5",
                          "nettrace perf internal-port --internal-interface br-int --mode details --threshold 200us"});
  ia->callback([ip, &ctx] {
    finish_engine(*ip);
    ip->eng.details = ip->mode == "details";
    if (!ip->eng.details && ip->eng.common.interval_s == 0) ip->eng.common.interval_s = 5;
    ip->eng.title = fmt::format("Internal Port RX Latency ({})", ip->mode);
    const bool internal = !ip->eng.internal.empty();
    ctx.action = [ip, internal] { return run_engine(internal_port_table(internal), ip->eng); };
  });

  // perf backlog: one interface's receive backlog, enqueue -> receive (-> ip_rcv), with the CPUs.
  struct BacklogCli {
    EngineOptions eng;
    std::string iface, mode = "summary";
    double threshold_us = -1;
    bool disable_stacks = false;
  };
  auto bl = std::make_shared<BacklogCli>();
  auto* ba = perf.add_subcommand("backlog",
                                 "Receive backlog of one interface: enqueue_to_backlog -> __netif_receive_skb (-> ip_rcv), "
                                 "enqueue and receive CPU (enqueue_to_iprec_latency_summary, _threshold)");
  cli::add_output_options(*ba, bl->eng.common);
  cli::add_duration_option(*ba, bl->eng.common);
  ba->add_option("-I,--interface", bl->iface, "The receiving interface")->required()->option_text("NAME");
  cli::add_filter_options(*ba, bl->eng.filter, cli::kFilterAddresses | cli::kFilterPorts | cli::kFilterProtocol);
  ba->add_option("--mode", bl->mode,
                 "summary: enqueue -> receive -> ip_rcv histograms per interval; threshold: one event per packet "
                 "whose enqueue -> receive latency reaches --threshold")
      ->check(CLI::IsMember({"summary", "threshold"}))
      ->capture_default_str();
  cli::add_threshold_option(*ba, bl->threshold_us,
                            "One record per packet at least this slow (--mode threshold: default 1ms; summary: none)",
                            "us", "--threshold-us");
  ba->add_flag("--disable-kernel-stacks", bl->disable_stacks, "Do not capture a kernel stack per stage");
  ba->add_flag("--verbose,-v", bl->eng.verbose, "Every stage's device/CPU/queue/skb in text, all histograms");
  ba->add_option("--max-flows", bl->eng.max_flows, "Packets in flight tracked at once (LRU)")
      ->check(CLI::Range(64, 1 << 20));
  ba->add_option("--flow-timeout", bl->eng.max_gap_s,
                 "Seconds a packet may sit between two stages before it counts as incomplete")
      ->check(CLI::Range(0.001, 3600.0));
  cli::add_interval_option(*ba, bl->eng.common, 0);
  cli::add_examples(*ba, {"nettrace perf backlog -I eth0 -i 5", "nettrace perf backlog -I eth0 --mode threshold --threshold 500us"});
  ba->callback([bl, &ctx] {
    if (std::string err = cli::check_interface(bl->iface); !err.empty()) throw usage_error("--interface: " + err);
    bl->eng.phy = {bl->iface};
    const bool threshold = bl->mode == "threshold";
    const double t = bl->threshold_us >= 0 ? bl->threshold_us : threshold ? 1000 : -1;
    bl->eng.details = t >= 0;
    bl->eng.threshold_ns = t >= 0 ? static_cast<uint64_t>(t * 1e3) : 0;
    bl->eng.stacks = !bl->disable_stacks;
    if (!threshold && bl->eng.common.interval_s == 0) bl->eng.common.interval_s = 5;
    bl->eng.title = fmt::format("Backlog Latency {} ({})", bl->iface,
                                threshold ? fmt::format("threshold {} us", t) : std::string("summary"));
    ctx.action = [bl, threshold] { return run_engine(backlog_table(!threshold), bl->eng); };
  });
}

}  // namespace nettrace::tools::perf
