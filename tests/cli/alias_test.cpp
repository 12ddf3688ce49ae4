// SPDX-License-Identifier: GPL-2.0
// Every alias runs its original's documented command lines (../shared/reference/tool-catalogue.md): the
// original's flags become native ones, presets are defaults that a user's flag replaces, and the result
// parses as the native command would (values checked on this machine: "lo", this process, ksoftirqd).

#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "cli_app.hpp"
#include "nettrace/core/error.hpp"
#include "tools/aliases.hpp"

namespace nettrace {
namespace {

using Args = std::vector<std::string>;

struct Parsed {
  Args native;
  bool runnable = false;  // the parse chose a tool to run
};

Args split(const std::string& line) {
  Args out;
  std::string cur;
  for (char c : line) {
    if (c == ' ') {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

Args translate(const std::string& alias, const std::string& line) {
  CLI::App app{kAppDescription, kAppName};
  RootFlags flags;
  tools::Context ctx;
  build_app(app, flags, ctx);
  auto native = native_args(alias, split(line), app);
  EXPECT_TRUE(native.has_value()) << alias;
  return native.value_or(Args{});
}

Parsed parse(const std::string& alias, const std::string& line) {
  Parsed p;
  CLI::App app{kAppDescription, kAppName};
  RootFlags flags;
  tools::Context ctx;
  build_app(app, flags, ctx);
  p.native = native_args(alias, split(line), app).value_or(Args{});
  Args reversed(p.native.rbegin(), p.native.rend());
  app.parse(reversed);
  p.runnable = static_cast<bool>(ctx.action);
  return p;
}

std::string joined(const Args& a) {
  std::string s;
  for (const auto& x : a) s += (s.empty() ? "" : " ") + x;
  return s;
}

std::string pid() { return std::to_string(getpid()); }

// alias, the original's command line, the native command it must become.
struct Case {
  std::string alias, original, native;
  bool parse = true;  // false: depends on something this machine lacks (ovs-vswitchd, a vnet port)
};

std::vector<Case> cases() {
  const std::string p = pid();
  return {
      {"eth_drop.py", "--interface lo --l4-protocol udp --src-ip 10.0.0.1 --dst-port 53 --type ipv4 --vlan-id 5 --verbose --no-stack-trace --disable-normal-filter",
       "drop --interface lo --l4-protocol udp --src-ip 10.0.0.1 --dst-port 53 --type ipv4 --vlan-id 5 --verbose --no-stack-trace --disable-normal-filter --stack"},
      {"eth_drop.py", "", "drop --stack"},
      {"kernel_drop_stack_stats.bt", "", "drop stacks --group-by stack --top 3 --require-device"},
      {"kernel_drop_stack_stats.bt", "lo 5", "drop stacks --interface lo --interval 5 --group-by stack --top 3 --require-device"},
      {"kernel_drop_stack_stats_summary.py", "-i 10 -d 0 -t 5 -n lo --src-ip 10.0.0.1 --dst-port 80 --l4-protocol tcp",
       "drop stacks -i 10 -d 0 --top 5 --interface lo --src-ip 10.0.0.1 --dst-port 80 --l4-protocol tcp --group-by stack --cumulative"},
      {"kernel_drop_stack_stats_summary_all.py", "--max-entries 10240 --group-by fivetuple -t 3 -i 2",
       "drop stacks --max-entries 10240 --group-by fivetuple --top 3 -i 2"},
      {"kernel_drop_stack_stats_summary_all.py", "", "drop stacks --top 5"},
      {"qdisc_drop_trace.py", "--interface lo --verbose --interval 10 --drops-only --summary",
       "drop qdisc --interface lo --verbose --interval 10 --drops-only --summary --stack"},
      {"drop_monitor_controller.py", "--interface lo --command true --interval 30 --log-dir /tmp/nt-logs",
       "drop monitor --interface lo --command true --interval 30 --log-dir /tmp/nt-logs"},
      {"sched_latency_monitor.sh", "-p ksoftirqd", "cpu schedlat --comm ksoftirqd"},
      {"sched_latency_monitor.sh", "-p ksoftirqd -i 1", "cpu schedlat --comm ksoftirqd --interval 1"},
      {"sched_latency_monitor.sh", "-p ksoftirqd -t 2 -i 1 -v", "cpu schedlat --comm ksoftirqd --interval 1 -v"},
      {"sched_latency_monitor.sh", "--process ksoftirqd --period 2 -l sched.log", "cpu schedlat --comm ksoftirqd --interval 2"},
      {"sched_latency_monitor.sh", "", "cpu schedlat --comm ovs-vswitchd", false},
      {"vhost_wakeup_latency.py", "", "cpu schedlat --comm vhost- --allow-absent --threshold 50us --interval 5 --duration 10"},
      {"vhost_wakeup_latency.py", "-i 1", "cpu schedlat -i 1 --comm vhost- --allow-absent --threshold 50us --duration 10"},
      {"vhost_wakeup_latency.py", "-d 3 -i 1 -v", "cpu schedlat -d 3 -i 1 -v --comm vhost- --allow-absent --threshold 50us"},
      {"ksoftirqd_sched_latency_summary.py", "--interval 1", "cpu schedlat --interval 1 --comm ksoftirqd --per-thread --threshold 100us"},
      {"ksoftirqd_sched_latency_summary.py", "--cpu 0 --interval 1 --duration 3",
       "cpu schedlat --cpu 0 --interval 1 --duration 3 --comm ksoftirqd --per-thread --threshold 100us"},
      {"offcputime-ts.py", "-p " + p + " -f 5", "cpu offcpu -p " + p + " --folded --duration 5"},
      {"offcputime-ts.py", "-t " + p + " -K -d -s -m 100 -M 1000000 -I 2 --ebpf --stack-storage-size 1024 --state 1 10",
       "cpu offcpu --tid " + p + " --kernel-stacks-only --delimited --offset --min-block-time 100 --max-block-time 1000000 --interval 2 --stack-storage-size 1024 --state 1 --duration 10"},
      {"offcputime-ts.py", "-u -U", "cpu offcpu --user-threads-only --user-stacks-only"},
      {"futex.bt", "", "cpu futex"},
      {"cpu_monitor.sh", "-c 0 -i 5 -t 80", "cpu monitor --cpu 0 -i 5 --min-busy 80"},
      {"cpu_monitor.sh", "-l", "cpu monitor --log-file cpu_monitor.log", false},  // parsing opens the file
      {"cpu_monitor.sh", "-l --log-file /tmp/x.log", "cpu monitor --log-file /tmp/x.log", false},
      {"cpu_monitor.sh", "--perf-output /tmp/perf -i 2", "cpu monitor -i 2"},
      {"fast_cpu_monitor.sh", "-k 3 -c 0", "cpu monitor --top 3 --cpu 0 --interval 2"},
      {"fast_cpu_monitor.sh", "", "cpu monitor --interval 2 --top 5"},
      // The virtio tools need a virtio-net interface (this host's eth0; absent elsewhere): translation only.
      {"virtnet_irq_monitor.py", "--irqs 38,39 --interval 2 --trace-cpu", "virtio irq --irqs 38,39 --interval 2 --per-cpu", false},
      {"trace_int_final.bt", "", "virtio irq --interval 1 --spurious", false},
      {"virtnet_poll_monitor.py", "--device eth0 --queue 0 -v", "virtio poll --interface eth0 --queue 0 -v", false},
      {"virtnet_poll_monitor.py", "-d eth0 -q 1", "virtio poll --interface eth0 -q 1", false},
      {"virtnet_poll_stack_stats.bt", "", "virtio poll --stacks --interval 10", false},
      {"trace_virtio_net_rcvbuf.bt", "", "virtio rcvbuf", false},
      {"nic_irq_numa_map.sh", "lo", "doctor --irq lo"},
      {"nic_irq_set_affinity.sh", "lo 0", "doctor --irq lo --set-affinity 0"},
      {"vhost_sched_config_check.sh", "vnet0", "doctor --vhost vnet0"},
      {"pthread_rwlock_wrlock.bt", p, "cpu rwlock --pid " + p},
      {"pthread_rwlock_wrlock-stack.bt", p, "cpu rwlock --pid " + p + " --stack"},
      {"iface_netstat.py", "-n lo -i 2 -t --ebpf", "perf iface --interface lo -i 2 --throughput"},
      {"iface_netstat.py", "--name lo --interval 0.5 --throughput", "perf iface --interface lo --interval 0.5 --throughput"},
      {"qdisc_lateny_details.py", "--dev lo --src-ip 10.0.0.1 --dst-port 443 --proto tcp",
       "perf qdisc --dev lo --src-ip 10.0.0.1 --dst-port 443 --proto tcp"},
      {"qdisc_latency_details.py", "--dev lo", "perf qdisc --dev lo"},
      {"kernel_icmp_rtt.py", "--src-ip 10.0.0.1 --dst-ip 10.0.0.2 --interface lo --latency-ms 1 --direction rx --disable-kernel-stacks",
       "perf icmp-rtt --src-ip 10.0.0.1 --dst-ip 10.0.0.2 --interface lo --latency-ms 1 --direction rx --disable-kernel-stacks"},
      {"system_network_icmp_rtt.py", "--src-ip 10.0.0.1 --dst-ip 10.0.0.2 --phy-interface lo --latency-ms 1",
       "perf icmp-rtt --src-ip 10.0.0.1 --dst-ip 10.0.0.2 --phy-interface lo --latency-ms 1"},
      // rx: the original's --src-ip is the remote pinger (10.0.0.2), nettrace's is this host.
      {"system_network_icmp_rtt.py", "--src-ip 10.0.0.2 --dst-ip 10.0.0.1 --phy-interface lo --direction rx",
       "perf icmp-rtt --src-ip 10.0.0.1 --dst-ip 10.0.0.2 --phy-interface lo --direction rx"},
      {"system_network_latency_details.py", "--phy-interface lo --direction tx --protocol tcp --latency-us 100 --src-ip 10.0.0.1",
       "perf latency --phy-interface lo --direction tx --protocol tcp --latency-us 100 --src-ip 10.0.0.1 --mode details"},
      {"system_network_latency_summary.py", "--phy-interface lo --direction rx --interval 5",
       "perf latency --phy-interface lo --direction rx --interval 5 --mode summary"},
      {"system_network_perfomance_metrics.py", "--internal-interface lo --phy-interface lo --direction both --enable-ct --verbose --latency-us 0",
       "perf latency --internal-interface lo --phy-interface lo --direction both --enable-ct --verbose --latency-us 0 --mode details"},
      {"system_network_performance_metrics.py", "--phy-interface lo", "perf latency --phy-interface lo --mode details"},
      {"system_network_rx_internal_port_latency_details.py", "--internal-interface lo --src-ip 10.0.0.1",
       "perf internal-port --internal-interface lo --src-ip 10.0.0.1"},
      {"enqueue_to_iprec_latency_summary.py", "--interface lo --interval 2", "perf backlog --interface lo --interval 2 --mode summary"},
      {"enqueue_to_iprec_latency_threshold.py", "--interface lo --threshold-us 200",
       "perf backlog --interface lo --threshold-us 200 --mode threshold"},
      {"vm_network_latency_details.py", "--vm-interface lo --phy-interface lo --direction rx",
       "perf vm-latency --vm-interface lo --phy-interface lo --direction rx --mode details", false},
      {"vm_network_latency_summary.py", "--vm-interface lo --phy-interface lo",
       "perf vm-latency --vm-interface lo --phy-interface lo --mode summary", false},
      {"vm_network_performance_metrics.py", "--vm-interface lo --phy-interface lo",
       "perf vm-latency --vm-interface lo --phy-interface lo --mode details", false},
      {"vhost_eventfd_count.py", "", "vhost signal-count --cumulative --interval 1"},
      {"vhost_eventfd_count.bt", "", "vhost signal-count --cumulative --interval 1"},
      {"vhost_eventfd_count.py", "-i 2 -c", "vhost signal-count -i 2 --clear"},
      {"vhost_eventfd_count.py", "--clear --interval 5", "vhost signal-count --clear --interval 5"},
      {"vhost_buf_peek_stats.py", "", "vhost buf-peek --cumulative --interval 1"},
      {"vhost_buf_peek_stats.py", "-c -i 3", "vhost buf-peek --clear -i 3"},
      {"vhost_queue_correlation_simple.py", "", "vhost notify --verbose"},
      {"vhost_queue_correlation_simple.py", "-d vnet0 -q 1 -v", "vhost notify --interface vnet0 --queue 1 -v", false},
      {"vhost_queue_correlation_details.py", "--device vnet0 --queue 0", "vhost notify --interface vnet0 --queue 0 --verbose",
       false},
      // tun ring checks that the device is a tun/tap: these translate, a host without vnet0 cannot parse them.
      {"tun_ring_monitor.py", "--device vnet0 --src-ip 10.0.0.1 --dst-port 5201 --protocol tcp --all -v",
       "tun ring --interface vnet0 --src-ip 10.0.0.1 --dst-port 5201 --protocol tcp --all -v", false},
      {"tun_ring_monitor.py", "-d vnet0 --verbose", "tun ring --interface vnet0 --verbose", false},
      {"tun_ring_monitor", "--src-port 1234 --dst-ip 10.0.0.2", "tun ring --src-port 1234 --dst-ip 10.0.0.2"},
      {"tun-tx-ring-stas.bt", "", "tun ring --all --stack"},
  };
}

TEST(Aliases, OriginalCommandLinesTranslate) {
  for (const auto& c : cases()) {
    SCOPED_TRACE(c.alias + " " + c.original);
    EXPECT_EQ(joined(translate(c.alias, c.original)), c.native);
  }
}

TEST(Aliases, OriginalCommandLinesParse) {
  for (const auto& c : cases()) {
    if (!c.parse) continue;
    SCOPED_TRACE(c.alias + " " + c.original);
    try {
      Parsed p = parse(c.alias, c.original);
      EXPECT_TRUE(p.runnable) << joined(p.native);
    } catch (const CLI::ParseError& e) {
      ADD_FAILURE() << "CLI11: " << e.what() << " in: " << joined(translate(c.alias, c.original));
    } catch (const Error& e) {
      ADD_FAILURE() << e.what() << " in: " << joined(translate(c.alias, c.original));
    }
  }
}

TEST(Aliases, EveryAliasHasACaseAndHelp) {
  const auto all = cases();
  for (const auto& a : tools::aliases()) {
    SCOPED_TRACE(a.alias);
    const bool covered = std::any_of(all.begin(), all.end(), [&](const Case& c) {
      return tools::find_alias(c.alias) == &a;
    });
    EXPECT_TRUE(covered) << "no test case runs the original's command line";
    CLI::App app{kAppDescription, kAppName};
    RootFlags flags;
    tools::Context ctx;
    build_app(app, flags, ctx);
    Args native = *native_args(a.alias, {"--help"}, app);
    Args reversed(native.rbegin(), native.rend());
    EXPECT_THROW(app.parse(reversed), CLI::CallForHelp);
  }
}

TEST(Aliases, PresetsAreDefaultsNotExtraArguments) {
  // A user's spelling of a preset option (any synonym) replaces the preset instead of clashing with it.
  EXPECT_EQ(joined(translate("vhost_wakeup_latency", "--period 2 --threshold-us 10")),
            "cpu schedlat --period 2 --threshold-us 10 --comm vhost- --allow-absent --duration 10");
  EXPECT_EQ(joined(translate("ksoftirqd_sched_latency_summary", "-T --comm ksoftirqd/0")),
            "cpu schedlat -T --comm ksoftirqd/0 --threshold 100us --interval 5");
}

TEST(Aliases, UnplaceableArgumentsAreUsageErrors) {
  EXPECT_THROW(translate("iface_netstat", "-n"), Error);  // a flag of the original without its value
  // A positional argument the original did not take is left to the native parser, which names it.
  EXPECT_THROW(parse("futex", "extra"), CLI::ExtrasError);
}

TEST(Aliases, NativeNameIsNotAnAlias) {
  CLI::App app{kAppDescription, kAppName};
  RootFlags flags;
  tools::Context ctx;
  build_app(app, flags, ctx);
  EXPECT_EQ(joined(*native_args("nettrace", {"drop", "-d", "1"}, app)), "drop -d 1");
  EXPECT_FALSE(native_args("not_a_tool", {}, app).has_value());
}

}  // namespace
}  // namespace nettrace
