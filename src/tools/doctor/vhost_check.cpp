// SPDX-License-Identifier: GPL-2.0
#include "tools/doctor/vhost_check.hpp"

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "nettrace/core/error.hpp"
#include "nettrace/core/session.hpp"
#include "nettrace/core/timefmt.hpp"
#include "nettrace/output/output.hpp"
#include "nettrace/output/report.hpp"
#include "nettrace/sys/files.hpp"
#include "nettrace/sys/netdev.hpp"
#include "tools/cpu/cpu_util.hpp"

namespace nettrace::tools::doctor {
namespace {

constexpr unsigned kPfKthread = 0x00200000;  // include/linux/sched.h PF_KTHREAD (ABI: /proc/PID/stat flags)

std::vector<std::string> numeric_entries(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = opendir(dir.c_str());
  if (!d) return out;
  while (auto* e = readdir(d))
    if (e->d_name[0] >= '0' && e->d_name[0] <= '9') out.emplace_back(e->d_name);
  closedir(d);
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return std::stoul(a) < std::stoul(b); });
  return out;
}

// "Cpus_allowed_list:\t0-3" of /proc/PID/task/TID/status.
std::string status_field(const std::string& path, std::string_view key) {
  std::ifstream f(path);
  std::string line;
  while (std::getline(f, line))
    if (line.rfind(key, 0) == 0 && line.size() > key.size() && line[key.size()] == ':') {
      auto v = line.substr(key.size() + 1);
      v.erase(0, v.find_first_not_of(" \t"));
      return v;
    }
  return {};
}

std::string cmdline_of(const std::string& pid) {
  std::string c = sys::read_text("/proc/" + pid + "/cmdline");
  while (!c.empty() && c.back() == '\0') c.pop_back();
  std::replace(c.begin(), c.end(), '\0', ' ');
  return c;
}

std::map<int, std::vector<int>> numa_nodes() {
  std::map<int, std::vector<int>> nodes;
  DIR* d = opendir("/sys/devices/system/node");
  if (!d) return nodes;
  while (auto* e = readdir(d)) {
    int n = 0;
    if (std::string_view(e->d_name).rfind("node", 0) != 0) continue;
    auto [p, ec] = std::from_chars(e->d_name + 4, e->d_name + std::strlen(e->d_name), n);
    if (ec != std::errc() || *p) continue;
    std::string list = sys::read_first_line(fmt::format("/sys/devices/system/node/node{}/cpulist", n));
    try {
      nodes[n] = list.empty() ? std::vector<int>{} : cpu::parse_cpu_list(list, 1 << 20, "cpulist");
    } catch (const Error&) {
      nodes[n] = {};
    }
  }
  closedir(d);
  return nodes;
}

std::string nodes_for(const std::string& cpu_list, const std::map<int, std::vector<int>>& nodes) {
  std::vector<int> cpus;
  try {
    cpus = cpu::parse_cpu_list(cpu_list, 1 << 20, "affinity");
  } catch (const Error&) {
    return "-";
  }
  std::set<int> hit;
  for (const auto& [n, list] : nodes)
    for (int c : cpus)
      if (std::binary_search(list.begin(), list.end(), c)) hit.insert(n);
  return hit.empty() ? "-" : fmt::format("{}", fmt::join(hit, ","));
}

struct Thread {
  std::string pid, tid, kind;  // kind: vcpu N, vhost, qemu
  TaskStat st;
  std::string allowed;
};

Thread read_thread(const std::string& pid, const std::string& tid, std::string kind) {
  Thread t{pid, tid, std::move(kind), {}, {}};
  (void)parse_task_stat(sys::read_text(fmt::format("/proc/{}/task/{}/stat", pid, tid)), t.st);
  t.allowed = status_field(fmt::format("/proc/{}/task/{}/status", pid, tid), "Cpus_allowed_list");
  return t;
}

// The processes with an open file on the tap: tun's fdinfo names the interface ("iff:\tvnet0").
std::vector<std::string> tap_holders(const std::string& tap) {
  std::vector<std::string> out;
  const std::string want = "iff:\t" + tap + "\n";
  for (const auto& pid : numeric_entries("/proc")) {
    for (const auto& fd : numeric_entries("/proc/" + pid + "/fdinfo")) {
      if (sys::read_text(fmt::format("/proc/{}/fdinfo/{}", pid, fd)).find(want) != std::string::npos) {
        out.push_back(pid);
        break;
      }
    }
  }
  return out;
}

}  // namespace

bool parse_task_stat(std::string_view text, TaskStat& out) {
  const size_t open = text.find('('), close = text.rfind(')');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open) return false;
  out.comm = std::string(text.substr(open + 1, close - open - 1));
  std::vector<std::string_view> f;  // f[0] = state (field 3)
  size_t i = close + 1;
  while (i < text.size()) {
    while (i < text.size() && text[i] == ' ') i++;
    size_t j = text.find(' ', i);
    if (j == std::string_view::npos) j = text.size();
    if (j > i) f.push_back(text.substr(i, j - i));
    i = j;
  }
  auto num = [&](size_t field, auto& v) {  // field: proc(5)'s 1-based number
    if (field - 3 >= f.size()) return false;
    auto s = f[field - 3];
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    return ec == std::errc();
  };
  if (f.empty()) return false;
  out.state = f[0].empty() ? '?' : f[0][0];
  unsigned flags = 0;
  bool ok = num(9, flags) && num(19, out.nice) && num(39, out.last_cpu);
  (void)num(40, out.rt_priority);
  (void)num(41, out.policy);
  out.kernel_thread = (flags & kPfKthread) != 0;
  return ok;
}

const char* policy_name(unsigned policy) {
  static const char* names[] = {"SCHED_OTHER", "SCHED_FIFO", "SCHED_RR", "SCHED_BATCH", "?", "SCHED_IDLE", "SCHED_DEADLINE"};
  return policy < std::size(names) ? names[policy] : "?";
}

int vcpu_index(std::string_view comm) {
  if (comm.rfind("CPU ", 0) != 0) return -1;
  int n = -1;
  auto [p, ec] = std::from_chars(comm.data() + 4, comm.data() + comm.size(), n);
  if (ec != std::errc() || std::string_view(p, comm.data() + comm.size() - p) != "/KVM") return -1;
  return n;
}

int run_vhost_check(const VhostCheckOptions& o) {
  (void)cli::apply_common(o.common);
  if (!sys::ifindex_of(o.tap))
    throw usage_error(fmt::format("--vhost: no interface '{}' in this network namespace", core::printable(o.tap)));
  if (access(fmt::format("/sys/class/net/{}/tun_flags", o.tap).c_str(), F_OK) != 0)
    throw usage_error(fmt::format("--vhost: '{}' is not a tun/tap device", core::printable(o.tap)));

  const auto nodes = numa_nodes();
  output::Output out(o.common.json);
  output::Report r("vhost_check");
  r.heading(fmt::format("=== vhost scheduling check for {} ===", o.tap)).time(core::realtime_ns());
  r.field("interface", o.tap);

  const auto holders = tap_holders(o.tap);
  auto procs = nlohmann::json::array();
  std::vector<Thread> threads;
  if (holders.empty())
    r.note(fmt::format("No process holds {} open: no VM (or vhost) serves it now.", o.tap));
  for (const auto& pid : holders) {
    const std::string cmd = cmdline_of(pid);
    procs.push_back({{"pid", std::stoul(pid)}, {"comm", sys::read_first_line("/proc/" + pid + "/comm")}, {"cmdline", cmd}});
    r.line(fmt::format("Process {} ({}): {}", pid, sys::read_first_line("/proc/" + pid + "/comm"), cmd));
    const std::string vhost_name = "vhost-" + pid;
    for (const auto& tid : numeric_entries("/proc/" + pid + "/task")) {
      std::string comm = sys::read_first_line(fmt::format("/proc/{}/task/{}/comm", pid, tid));
      int v = vcpu_index(comm);
      if (v >= 0) threads.push_back(read_thread(pid, tid, fmt::format("vcpu {}", v)));
      else if (comm.rfind(vhost_name, 0) == 0) threads.push_back(read_thread(pid, tid, "vhost (task)"));
      else if (tid == pid) threads.push_back(read_thread(pid, tid, "main"));
    }
    // Before 6.4 the worker is a kernel thread of its own, named after the owner.
    for (const auto& kpid : numeric_entries("/proc")) {
      if (sys::read_first_line("/proc/" + kpid + "/comm").rfind(vhost_name, 0) != 0) continue;
      Thread t = read_thread(kpid, kpid, "vhost (kthread)");
      if (t.st.kernel_thread) threads.push_back(std::move(t));
    }
  }
  r.field("processes", procs);

  auto& t = r.table("threads", {{"pid", "PID", 7},
                                {"tid", "TID", 7},
                                {"comm", "COMM", 16, true},
                                {"kind", "KIND", 15, true},
                                {"allowed_cpus", "ALLOWED", 9, true},
                                {"numa", "NUMA", 5, true},
                                {"last_cpu", "LAST", 5},
                                {"policy", "POLICY", 14, true},
                                {"priority", "PRIO", 5},
                                {"nice", "NICE", 5}})
                .empty_text("No vCPU or vhost threads found.");
  bool vhost_seen = false;
  for (const auto& th : threads) {
    vhost_seen |= th.kind.rfind("vhost", 0) == 0;
    t.row()
        .cell(std::stoul(th.pid))
        .cell(std::stoul(th.tid))
        .cell(th.st.comm)
        .cell(th.kind)
        .cell(th.allowed)
        .cell(nodes_for(th.allowed, nodes))
        .cell(th.st.last_cpu)
        .cell(policy_name(th.st.policy))
        .cell(th.st.rt_priority)
        .cell(th.st.nice);
  }
  if (!holders.empty() && !vhost_seen)
    r.note("No vhost worker: the tap is not served by vhost-net (QEMU's user-space virtio, or not a VM).");

  auto& nt = r.table("numa", {{"node", "NODE", 5}, {"cpus", "CPUS", 12, true}}).title("\nNUMA nodes:");
  for (const auto& [n, cpus] : nodes) nt.row().cell(n).cell(sys::read_first_line(fmt::format("/sys/devices/system/node/node{}/cpulist", n)));

  // CPU idle states: deep states add wake-up latency to every vhost/vCPU wake-up.
  const std::string idle_driver = sys::read_first_line("/sys/devices/system/cpu/cpuidle/current_driver");
  const std::string governor = sys::read_first_line("/sys/devices/system/cpu/cpuidle/current_governor_ro").empty()
                                   ? sys::read_first_line("/sys/devices/system/cpu/cpuidle/current_governor")
                                   : sys::read_first_line("/sys/devices/system/cpu/cpuidle/current_governor_ro");
  r.field("cpuidle_driver", idle_driver).field("cpuidle_governor", governor);
  r.line(fmt::format("\nCPU idle: driver {}, governor {}", idle_driver.empty() ? "none" : idle_driver,
                     governor.empty() ? "none" : governor));
  auto& ct = r.table("cstates", {{"state", "STATE", 8, true},
                                 {"name", "NAME", 10, true},
                                 {"latency_us", "EXIT(us)", 9},
                                 {"disabled_cpus", "DISABLED ON", 12, true}})
                 .empty_text("  (no cpuidle states exposed)")
                 .indent(2);
  const long ncpus = sysconf(_SC_NPROCESSORS_CONF);
  for (const auto& s : std::vector<std::string>{"state0", "state1", "state2", "state3", "state4", "state5",
                                                "state6", "state7", "state8", "state9"}) {
    const std::string base = "/sys/devices/system/cpu/cpu0/cpuidle/" + s;
    if (access(base.c_str(), F_OK) != 0) break;
    std::vector<long> off;
    for (long c = 0; c < ncpus; c++)
      if (sys::read_first_line(fmt::format("/sys/devices/system/cpu/cpu{}/cpuidle/{}/disable", c, s)) == "1") off.push_back(c);
    ct.row()
        .cell(s)
        .cell(sys::read_first_line(base + "/name"))
        .cell(std::stoul("0" + sys::read_first_line(base + "/latency")))
        .cell(off.empty() ? "-" : fmt::format("{}", fmt::join(off, ",")));
  }
  std::set<std::string> governors;
  for (long c = 0; c < ncpus; c++) {
    auto g = sys::read_first_line(fmt::format("/sys/devices/system/cpu/cpu{}/cpufreq/scaling_governor", c));
    if (!g.empty()) governors.insert(g);
  }
  r.field("cpufreq_governors", governors);
  r.line(fmt::format("CPU frequency governor: {}", governors.empty() ? "none (no cpufreq)" : fmt::format("{}", fmt::join(governors, ","))));

  // The boot parameters that change where these threads may run or how deep the CPUs sleep.
  std::vector<std::string> params;
  std::istringstream cmdline(sys::read_first_line("/proc/cmdline"));
  for (std::string w; cmdline >> w;)
    for (const char* k : {"isolcpus", "nohz_full", "rcu_nocbs", "irqaffinity", "idle", "intel_idle.max_cstate",
                          "processor.max_cstate", "intel_pstate", "cpuidle.off", "nosmt", "mitigations"})
      if (w == k || w.rfind(std::string(k) + "=", 0) == 0) params.push_back(w);
  r.field("kernel_parameters", params);
  r.line(fmt::format("Kernel parameters: {}", params.empty() ? "none of isolcpus, nohz_full, rcu_nocbs, "
                                                               "irqaffinity, idle, max_cstate"
                                                             : fmt::format("{}", fmt::join(params, " "))));
  out.emit(r);
  return 0;
}

}  // namespace nettrace::tools::doctor
