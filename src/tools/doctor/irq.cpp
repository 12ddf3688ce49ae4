// SPDX-License-Identifier: GPL-2.0
#include "tools/doctor/irq.hpp"

#include <dirent.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "nettrace/bpf/maps.hpp"
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

std::vector<std::string_view> words(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) i++;
    size_t j = i;
    while (j < s.size() && s[j] != ' ' && s[j] != '\t') j++;
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

bool to_u64(std::string_view s, uint64_t& v) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && p == s.data() + s.size();
}

// The NUMA node of each CPU (sysfs: cpuN/nodeM links); -1 where the kernel has no NUMA.
int cpu_node(int cpu) {
  std::string dir = fmt::format("/sys/devices/system/cpu/cpu{}", cpu);
  DIR* d = opendir(dir.c_str());
  int node = -1;
  if (!d) return node;
  while (auto* e = readdir(d)) {
    uint64_t n = 0;
    if (std::strncmp(e->d_name, "node", 4) == 0 && to_u64(e->d_name + 4, n)) node = static_cast<int>(n);
  }
  closedir(d);
  return node;
}

std::string nodes_of(const std::vector<int>& cpus) {
  std::vector<int> nodes;
  for (int c : cpus) nodes.push_back(cpu_node(c));
  std::sort(nodes.begin(), nodes.end());
  nodes.erase(std::unique(nodes.begin(), nodes.end()), nodes.end());
  if (nodes.size() == 1 && nodes[0] < 0) return "-";
  return fmt::format("{}", fmt::join(nodes, ","));
}

std::vector<int> cpus_of(const std::string& list) {
  if (list.empty()) return {};
  try {
    return cpu::parse_cpu_list(list, 1 << 20, "affinity");
  } catch (const Error&) {
    return {};
  }
}

struct Irq {
  int irq;
  std::string name, affinity, effective;
  uint64_t count = 0;
};

Irq read_irq(int irq, const std::map<int, InterruptLine>& lines) {
  Irq r{irq, "", sys::read_first_line(fmt::format("/proc/irq/{}/smp_affinity_list", irq)),
        sys::read_first_line(fmt::format("/proc/irq/{}/effective_affinity_list", irq))};
  if (auto it = lines.find(irq); it != lines.end()) {
    r.name = it->second.name;
    for (auto c : it->second.per_cpu) r.count += c;
  }
  return r;
}

}  // namespace

std::vector<InterruptLine> parse_interrupts(std::string_view text) {
  std::vector<InterruptLine> out;
  size_t ncpus = 0;
  bool header = true;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    auto w = words(line);
    if (header) {
      ncpus = w.size();  // "CPU0 CPU1 …"
      header = false;
      continue;
    }
    if (w.empty() || w[0].back() != ':') continue;
    uint64_t irq = 0;
    if (!to_u64(w[0].substr(0, w[0].size() - 1), irq)) continue;  // NMI:, LOC:, …
    InterruptLine l;
    l.irq = static_cast<int>(irq);
    size_t i = 1;
    for (; i < w.size() && l.per_cpu.size() < ncpus; i++) {
      uint64_t c = 0;
      if (!to_u64(w[i], c)) break;
      l.per_cpu.push_back(c);
    }
    // Then the controller, its hwirq and trigger, and the action names (the last word; "a, b" when shared).
    if (i < w.size()) {
      size_t name_at = w.size() - 1;
      while (name_at > i && w[name_at - 1].back() == ',') name_at--;
      for (size_t k = i; k < name_at; k++) l.chip += (l.chip.empty() ? "" : " ") + std::string(w[k]);
      for (size_t k = name_at; k < w.size(); k++) l.name += (l.name.empty() ? "" : " ") + std::string(w[k]);
    }
    out.push_back(std::move(l));
  }
  return out;
}

// A virtio NIC's net device hangs off the virtio device, whose parent is the PCI function that owns the vectors.
std::vector<int> msi_irqs(const std::string& iface) {
  std::vector<int> out;
  for (const char* rel : {"device/msi_irqs", "device/../msi_irqs"}) {
    std::string dir = fmt::format("/sys/class/net/{}/{}", iface, rel);
    DIR* d = opendir(dir.c_str());
    if (!d) continue;
    while (auto* e = readdir(d)) {
      uint64_t n = 0;
      if (to_u64(e->d_name, n)) out.push_back(static_cast<int>(n));
    }
    closedir(d);
    if (!out.empty()) break;
  }
  std::sort(out.begin(), out.end());
  return out;
}

bool irq_name_matches(std::string_view action, std::string_view iface) {
  // "eth0", "eth0-TxRx-0", "eth0-rx-1": the name then a separator, never a longer name ("eth01").
  size_t at = action.find(iface);
  while (at != std::string_view::npos) {
    bool start = at == 0 || action[at - 1] == ' ' || action[at - 1] == ',';
    size_t end = at + iface.size();
    bool stop = end == action.size() || action[end] == '-' || action[end] == ',' || action[end] == ' ' ||
                action[end] == '@';
    if (start && stop) return true;
    at = action.find(iface, at + 1);
  }
  return false;
}

int run_irq(const IrqOptions& o) {
  (void)cli::apply_common(o.common);
  if (!sys::ifindex_of(o.iface))
    throw usage_error(fmt::format("--irq: no interface '{}' in this network namespace", core::printable(o.iface)));
  const int ncpus = static_cast<int>(bpf::possible_cpus());
  std::vector<int> target;
  if (!o.set_affinity.empty()) target = cpu::parse_cpu_list(o.set_affinity, ncpus, "--set-affinity");

  std::map<int, InterruptLine> lines;
  for (auto& l : parse_interrupts(sys::read_text("/proc/interrupts"))) lines[l.irq] = std::move(l);
  std::vector<int> irqs = msi_irqs(o.iface);
  const char* source = "MSI vectors of the device";
  if (irqs.empty()) {
    source = "/proc/interrupts names";
    for (const auto& [n, l] : lines)
      if (irq_name_matches(l.name, o.iface)) irqs.push_back(n);
  }

  std::string drv_link;
  {
    char buf[512];
    std::string p = fmt::format("/sys/class/net/{}/device/driver", o.iface);
    ssize_t n = readlink(p.c_str(), buf, sizeof(buf) - 1);
    if (n > 0) {
      buf[n] = 0;
      drv_link = std::string(buf).substr(std::string(buf).rfind('/') + 1);
    }
  }
  std::string node = sys::read_first_line(fmt::format("/sys/class/net/{}/device/numa_node", o.iface));
  if (node.empty()) node = sys::read_first_line(fmt::format("/sys/class/net/{}/device/../numa_node", o.iface));
  if (node.empty()) node = "-1";

  output::Output out(o.common.json);
  output::Report r(o.set_affinity.empty() ? "irq" : "irq_affinity");
  r.heading(fmt::format("{}: driver {}, device NUMA node {}{}", o.iface, drv_link.empty() ? "none" : drv_link, node,
                        node == "-1" ? " (none: one node, or the firmware does not say)" : ""))
      .time(core::realtime_ns());
  r.field("interface", o.iface).field("driver", drv_link).field("numa_node", std::stoi(node)).field("source", source);

  std::vector<std::string> refused;
  std::vector<Irq> before;
  for (int n : irqs) before.push_back(read_irq(n, lines));
  if (!target.empty()) {
    const std::string list = fmt::format("{}", fmt::join(target, ","));
    for (int n : irqs) {
      std::string path = fmt::format("/proc/irq/{}/smp_affinity_list", n);
      std::ofstream f(path);
      f << list << '\n';
      f.flush();
      if (!f) refused.push_back(fmt::format("{} ({})", n, std::strerror(errno ? errno : EIO)));
    }
  }

  std::vector<output::Column> cols{{"irq", "IRQ", 5, true}, {"name", "NAME", 18, true}};
  if (!target.empty()) cols.push_back({"affinity_before", "BEFORE", 9, true});
  cols.insert(cols.end(), {{"affinity", target.empty() ? "AFFINITY" : "AFTER", 9, true},
                           {"effective", "EFFECTIVE", 10, true},
                           {"numa", "NUMA", 5, true},
                           {"interrupts", "INTERRUPTS", 11}});
  auto& t = r.table("irqs", std::move(cols))
                .empty_text(fmt::format("No interrupts: {} has no MSI vectors and no /proc/interrupts line names it "
                                        "(a virtual device: veth, bridge, tap, …).",
                                        o.iface));
  std::vector<std::string> original;
  for (size_t i = 0; i < irqs.size(); i++) {
    Irq now = read_irq(irqs[i], lines);
    auto& row = t.row().cell(now.irq).cell(now.name.empty() ? "-" : now.name);
    if (!target.empty()) row.cell(before[i].affinity);
    row.cell(now.affinity).cell(now.effective.empty() ? "-" : now.effective);
    const auto& shown = now.effective.empty() ? now.affinity : now.effective;
    row.cell(nodes_of(cpus_of(shown))).cell(now.count);
    original.push_back(fmt::format("IRQ {} -> CPU {}  NUMA {}", now.irq, shown, nodes_of(cpus_of(shown))));
  }
  // The original's lines (CPU: where the IRQ runs), for whoever greps for them.
  if (!original.empty()) r.line("");
  for (auto& l : original) r.line(l);
  out.emit(r);
  if (!refused.empty())
    throw failure(fmt::format("--set-affinity {}: the kernel refused IRQ {} (a managed IRQ keeps the affinity its "
                              "driver chose)",
                              o.set_affinity, fmt::join(refused, ", ")));
  return 0;
}

}  // namespace nettrace::tools::doctor
