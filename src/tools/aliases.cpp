// SPDX-License-Identifier: GPL-2.0
#include "tools/aliases.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <optional>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "nettrace/core/error.hpp"

namespace nettrace::tools {
namespace {

// Flags shared by several originals.
const AliasFlag kEbpf{{"--ebpf"}, "", false, "", "--ebpf (print the BPF program) has no meaning here: ignored"};

AliasFlag to(std::vector<std::string> original, std::string native, bool takes_value = true) {
  return {std::move(original), std::move(native), takes_value, "", ""};
}

}  // namespace

const std::vector<AliasSpec>& aliases() {
  // The originals' flags are in ../shared/reference/tool-catalogue.md (and docs/tools.md); only the flags a
  // native command spells differently are listed, the rest pass through.
  static const std::vector<AliasSpec> list = {
      {"eth_drop", {"drop"}, {{"--stack", ""}}, {}, {}},
      {"kernel_drop_stack_stats", {"drop", "stacks"}, {{"--group-by", "stack"}, {"--top", "3"}, {"--require-device", ""}},
       {}, {"--interface", "--interval"}},
      {"kernel_drop_stack_stats_summary", {"drop", "stacks"}, {{"--group-by", "stack"}, {"--cumulative", ""}, {"--top", "5"}},
       {to({"-t", "--top"}, "--top"), to({"-n", "--name"}, "--interface")}, {}},
      {"kernel_drop_stack_stats_summary_all", {"drop", "stacks"}, {{"--top", "5"}},
       {to({"-t", "--top"}, "--top"), to({"-n", "--name"}, "--interface")}, {}},
      {"qdisc_drop_trace", {"drop", "qdisc"}, {{"--stack", ""}}, {}, {}},
      {"drop_monitor_controller", {"drop", "monitor"}, {}, {}, {}},
      {"sched_latency_monitor", {"cpu", "schedlat"}, {{"--comm", "ovs-vswitchd"}},
       {to({"-p", "--process"}, "--comm"), to({"-t", "--period"}, "--interval"), to({"-i", "--interval"}, "--interval"),
        {{"-l", "--log"}, "", true, "", "-l/--log: nettrace writes its report to stdout; redirect it to keep a log"}},
       {}},
      {"vhost_wakeup_latency", {"cpu", "schedlat"},
       {{"--comm", "vhost-"}, {"--allow-absent", ""}, {"--threshold", "50us"}, {"--interval", "5"}, {"--duration", "10"}},
       {}, {}},
      {"ksoftirqd_sched_latency_summary", {"cpu", "schedlat"},
       {{"--comm", "ksoftirqd"}, {"--per-thread", ""}, {"--threshold", "100us"}, {"--interval", "5"}}, {}, {}},
      {"offcputime-ts", {"cpu", "offcpu"}, {},
       {to({"-t", "--tid"}, "--tid"), to({"-u"}, "--user-threads-only", false), to({"-k"}, "--kernel-threads-only", false),
        to({"-U"}, "--user-stacks-only", false), to({"-K"}, "--kernel-stacks-only", false),
        to({"-d"}, "--delimited", false), to({"-f"}, "--folded", false), to({"-s"}, "--offset", false),
        to({"-m"}, "--min-block-time"), to({"-M"}, "--max-block-time"), to({"-I"}, "--interval"), kEbpf},
       {"--duration"}},
      {"virtnet_irq_monitor", {"virtio", "irq"}, {}, {to({"--trace-cpu"}, "--per-cpu", false)}, {}},
      {"trace_int_final", {"virtio", "irq"}, {{"--interval", "1"}, {"--spurious", ""}}, {}, {}},
      {"virtnet_poll_monitor", {"virtio", "poll"}, {}, {to({"-d", "--device"}, "--interface")}, {}},
      {"trace_virtio_net_rcvbuf", {"virtio", "rcvbuf"}, {}, {}, {}},
      {"virtnet_poll_stack_stats", {"virtio", "poll"}, {{"--stacks", ""}, {"--interval", "10"}}, {}, {}},
      {"futex", {"cpu", "futex"}, {}, {}, {}},
      {"cpu_monitor", {"cpu", "monitor"}, {},
       {to({"-c", "--cpus"}, "--cpu"), to({"-t", "--threshold"}, "--min-busy"),
        {{"-l", "--log"}, "--log-file", false, "cpu_monitor.log", ""},
        {{"--perf-output"}, "", true, "", "--perf-output: stacks are sampled in-process (no perf.data): ignored"}},
       {}},
      {"fast_cpu_monitor", {"cpu", "monitor"}, {{"--interval", "2"}, {"--top", "5"}},
       {to({"-c", "--cpus"}, "--cpu"), to({"-t", "--threshold"}, "--min-busy"), to({"-k", "--topk"}, "--top"),
        {{"-l", "--log"}, "--log-file", false, "fast_cpu_monitor.log", ""}},
       {}},
      {"pthread_rwlock_wrlock", {"cpu", "rwlock"}, {}, {}, {"--pid"}},
      {"pthread_rwlock_wrlock-stack", {"cpu", "rwlock"}, {{"--stack", ""}}, {}, {"--pid"}},
      {"iface_netstat", {"perf", "iface"}, {},
       {to({"-n", "--name"}, "--interface"), to({"-t", "--throughput"}, "--throughput", false), kEbpf}, {}},
      {"qdisc_lateny_details", {"perf", "qdisc"}, {}, {}, {}},
      {"nic_irq_numa_map", {"doctor"}, {}, {}, {"--irq"}},
      {"nic_irq_set_affinity", {"doctor"}, {}, {}, {"--irq", "--set-affinity"}},
      {"vhost_sched_config_check", {"doctor"}, {}, {}, {"--vhost"}},
      {"qdisc_latency_details", {"perf", "qdisc"}, {}, {}, {}},
      {"kernel_icmp_rtt", {"perf", "icmp-rtt"}, {}, {}, {}},
      {"system_network_icmp_rtt", {"perf", "icmp-rtt"}, {}, {}, {}, true},
      {"system_network_latency_details", {"perf", "latency"}, {{"--mode", "details"}}, {}, {}},
      {"system_network_latency_summary", {"perf", "latency"}, {{"--mode", "summary"}}, {}, {}},
      {"system_network_perfomance_metrics", {"perf", "latency"}, {{"--mode", "details"}}, {}, {}},
      {"system_network_performance_metrics", {"perf", "latency"}, {{"--mode", "details"}}, {}, {}},
      {"system_network_rx_internal_port_latency_details", {"perf", "internal-port"}, {}, {}, {}},
      {"enqueue_to_iprec_latency_summary", {"perf", "backlog"}, {{"--mode", "summary"}}, {}, {}},
      {"enqueue_to_iprec_latency_threshold", {"perf", "backlog"}, {{"--mode", "threshold"}}, {}, {}},
      {"vm_network_latency_details", {"perf", "vm-latency"}, {{"--mode", "details"}}, {}, {}},
      {"vm_network_latency_summary", {"perf", "vm-latency"}, {{"--mode", "summary"}}, {}, {}},
      {"tun_ring_monitor", {"tun", "ring"}, {}, {to({"-d", "--device"}, "--interface")}, {}},
      {"tun-tx-ring-stas", {"tun", "ring"}, {{"--all", ""}, {"--stack", ""}}, {}, {}},
      {"vm_network_performance_metrics", {"perf", "vm-latency"}, {{"--mode", "details"}}, {}, {}},
      // The counting originals count since the start unless -c/--clear, every 1 s; the correlation ones print
      // a block per event (--verbose).
      {"vhost_eventfd_count", {"vhost", "signal-count"}, {{"--cumulative", ""}, {"--interval", "1"}},
       {to({"-c", "--clear"}, "--clear", false)}, {}},
      {"vhost_buf_peek_stats", {"vhost", "buf-peek"}, {{"--cumulative", ""}, {"--interval", "1"}},
       {to({"-c", "--clear"}, "--clear", false)}, {}},
      {"vhost_queue_correlation_simple", {"vhost", "notify"}, {{"--verbose", ""}},
       {to({"-d", "--device"}, "--interface"), to({"-q", "--queue"}, "--queue")}, {}},
      {"vhost_queue_correlation_details", {"vhost", "notify"}, {{"--verbose", ""}},
       {to({"-d", "--device"}, "--interface"), to({"-q", "--queue"}, "--queue")}, {}},
  };
  return list;
}

std::string strip_script_extension(std::string name) {
  for (const std::string ext : {".py", ".bt", ".sh"}) {
    if (name.size() > ext.size() && name.compare(name.size() - ext.size(), ext.size(), ext) == 0) {
      name.resize(name.size() - ext.size());
      break;
    }
  }
  return name;
}

const AliasSpec* find_alias(std::string name) {
  name = strip_script_extension(std::move(name));
  for (const auto& a : aliases())
    if (name == a.alias) return &a;
  return nullptr;
}

namespace {

// One native option as written: its tokens and the option they set (nullptr: a positional argument, or a
// spelling the native parser will judge).
struct Segment {
  std::vector<std::string> tokens;
  const CLI::Option* option = nullptr;
};

bool looks_like_flag(const std::string& a) {
  if (a.size() < 2 || a[0] != '-') return false;
  return !(std::isdigit(static_cast<unsigned char>(a[1])) || a[1] == '.');  // -1, -.5: values
}

std::string flag_name(const std::string& a) {
  auto eq = a.find('=');
  return a.rfind("--", 0) == 0 && eq != std::string::npos ? a.substr(0, eq) : a;
}

const CLI::Option* option_of(CLI::App& cmd, const std::string& token) {
  if (!looks_like_flag(token)) return nullptr;
  return cmd.get_option_no_throw(flag_name(token));
}

bool single_valued(const CLI::Option* o) {
  return o != nullptr && o->get_type_size() != 0 && o->get_expected_max() == 1;
}

}  // namespace

std::string alias_help(const AliasSpec& alias) {
  std::string out = fmt::format("{} runs `nettrace {}`", alias.alias, fmt::join(alias.command, " "));
  std::vector<std::string> presets;
  for (const auto& [flag, value] : alias.presets) presets.push_back(value.empty() ? flag : flag + " " + value);
  if (!presets.empty()) out += fmt::format(" with the defaults {}", fmt::join(presets, " "));
  out += ".";
  for (const auto& f : alias.flags) {
    const std::string names = fmt::format("{}", fmt::join(f.original, "/"));
    if (f.native.empty()) out += fmt::format("\n  {}: ignored", names);
    else if (!f.value.empty()) out += fmt::format("\n  {} is {} {}", names, f.native, f.value);
    else out += fmt::format("\n  {} is {}", names, f.native);
  }
  for (size_t i = 0; i < alias.positional.size(); i++)
    out += fmt::format("\n  positional argument {} is {}", i + 1, alias.positional[i]);
  if (alias.swap_addresses_for_rx) out += "\n  with --direction rx, --src-ip is the remote pinger (as in the original)";
  return out;
}

std::vector<std::string> translate_alias(const AliasSpec& alias, const std::vector<std::string>& args, CLI::App& root) {
  CLI::App* cmd = &root;
  for (const auto& name : alias.command) cmd = cmd->get_subcommand(name);
  cmd->footer(cmd->get_footer() + "\n\n" + alias_help(alias));

  std::vector<Segment> segs;
  std::vector<std::pair<std::string, std::string>> defaults = alias.presets;
  size_t positional = 0;
  for (size_t i = 0; i < args.size(); i++) {
    const std::string& a = args[i];
    if (a == "--") {
      for (; i < args.size(); i++) segs.push_back({{args[i]}, nullptr});
      break;
    }
    const std::string name = flag_name(a);
    const bool inline_value = name.size() != a.size();
    auto f = std::find_if(alias.flags.begin(), alias.flags.end(), [&](const AliasFlag& x) {
      return std::find(x.original.begin(), x.original.end(), name) != x.original.end();
    });
    if (f != alias.flags.end()) {
      std::optional<std::string> value;
      if (f->takes_value) {
        if (inline_value) value = a.substr(name.size() + 1);
        else if (i + 1 < args.size()) value = args[++i];
        else throw usage_error(fmt::format("{}: {} needs a value", alias.alias, name));
      }
      if (!f->note.empty()) fmt::print(stderr, "nettrace: note: {}\n", f->note);
      if (f->native.empty()) continue;
      if (!f->value.empty()) {  // a switch of the original that stands for a native option's value: a default
        defaults.emplace_back(f->native, f->value);
        continue;
      }
      Segment s{{f->native}, cmd->get_option_no_throw(f->native)};
      if (value) s.tokens.push_back(*value);
      segs.push_back(std::move(s));
      continue;
    }
    if (looks_like_flag(a)) {  // a native spelling: passes through with its value
      Segment s{{a}, option_of(*cmd, a)};
      if (single_valued(s.option) && !inline_value && i + 1 < args.size()) s.tokens.push_back(args[++i]);
      segs.push_back(std::move(s));
      continue;
    }
    if (positional < alias.positional.size()) {
      const std::string& native = alias.positional[positional++];
      segs.push_back({{native, a}, cmd->get_option_no_throw(native)});
      continue;
    }
    segs.push_back({{a}, nullptr});  // the native parser names an argument nobody takes
  }

  // A single-valued option given twice (e.g. -t and -i of sched_latency_monitor, both the interval): the last wins.
  for (size_t i = 0; i < segs.size(); i++) {
    if (!single_valued(segs[i].option)) continue;
    for (size_t j = i + 1; j < segs.size(); j++)
      if (segs[j].option == segs[i].option) {
        segs[i].tokens.clear();
        break;
      }
  }

  if (alias.swap_addresses_for_rx) {
    const CLI::Option* dir = cmd->get_option_no_throw("--direction");
    const CLI::Option* src = cmd->get_option_no_throw("--src-ip");
    const CLI::Option* dst = cmd->get_option_no_throw("--dst-ip");
    auto value_of = [&](const CLI::Option* o) -> std::string* {
      for (auto& s : segs)
        if (s.option == o && s.tokens.size() == 2) return &s.tokens[1];
      return nullptr;
    };
    std::string* d = value_of(dir);
    std::string *s = value_of(src), *t = value_of(dst);
    if (d && *d == "rx" && s && t) {
      fmt::print(stderr, "nettrace: note: {} --direction rx: the original's --src-ip is the remote pinger; "
                         "nettrace's --src-ip is this host (both swapped)\n", alias.alias);
      std::swap(*s, *t);
    }
  }

  std::vector<std::string> out = alias.command;
  for (const auto& s : segs) out.insert(out.end(), s.tokens.begin(), s.tokens.end());
  for (const auto& [flag, value] : defaults) {
    const CLI::Option* o = cmd->get_option_no_throw(flag);
    const bool given = std::any_of(segs.begin(), segs.end(), [&](const Segment& s) {
      return !s.tokens.empty() && s.option != nullptr && s.option == o;
    });
    if (given) continue;
    out.push_back(flag);
    if (!value.empty()) out.push_back(value);
  }
  return out;
}

}  // namespace nettrace::tools
