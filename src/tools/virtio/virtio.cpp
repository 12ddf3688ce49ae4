// SPDX-License-Identifier: GPL-2.0
// nettrace virtio: command line of the virtio subcommands, the virtio-net devices and their IRQs. See
// docs/tools/virtio.md.

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <memory>
#include <sstream>

#include <fmt/format.h>

#include "nettrace/cli/help.hpp"
#include "nettrace/core/error.hpp"
#include "nettrace/core/session.hpp"
#include "nettrace/sys/netdev.hpp"
#include "tools/doctor/irq.hpp"
#include "tools/virtio/virtio.hpp"
#include "tools/virtio/virtio_sys.hpp"

namespace nettrace::tools::virtio {

std::vector<bpf::Hook> irq_hooks(bool spurious) {
  std::vector<bpf::Hook> out{bpf::tracepoint_hook("irq", "irq_handler_entry"), bpf::tracepoint_hook("irq", "irq_handler_exit")};
  if (spurious) out.push_back(bpf::function_hook("vring_interrupt", {.ret = true}));
  return out;
}

std::vector<bpf::Hook> poll_hooks() { return {bpf::tracepoint_hook("napi", "napi_poll")}; }

// Per packet: the BTF-typed variant first (docs/benchmarks.md, TracepointVariants::btf_first).
std::vector<bpf::Hook> rcvbuf_hooks() { return {bpf::tracepoint_hook("net", "napi_gro_receive_entry", {.btf_first = true})}; }

std::vector<bpf::Hook> hooks() {
  std::vector<bpf::Hook> out;
  bpf::merge_hooks(out, irq_hooks());
  // Only `virtio irq --spurious` needs it (fexit, else kretprobe): doctor shows whether this kernel has it.
  bpf::merge_hooks(out, {bpf::function_hook("vring_interrupt", {.ret = true, .required = false})});
  bpf::merge_hooks(out, poll_hooks());
  bpf::merge_hooks(out, rcvbuf_hooks());
  return out;
}

namespace {

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string link_base(const std::string& path) {
  char buf[512];
  ssize_t n = readlink(path.c_str(), buf, sizeof(buf) - 1);
  if (n <= 0) return "";
  buf[n] = 0;
  std::string s(buf);
  return s.substr(s.rfind('/') + 1);
}

}  // namespace

std::string driver_of(const std::string& iface) { return link_base(fmt::format("/sys/class/net/{}/device/driver", iface)); }

std::vector<std::string> virtio_net_interfaces() {
  std::vector<std::string> out;
  DIR* d = opendir("/sys/class/net");
  if (!d) return out;
  while (auto* e = readdir(d)) {
    std::string n = e->d_name;
    if (n == "." || n == "..") continue;
    if (driver_of(n) == "virtio_net" && sys::ifindex_of(n)) out.push_back(n);
  }
  closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

// -I names: each must exist in this namespace and be driven by virtio_net; none: every such interface.
std::vector<std::string> resolve_interfaces(const std::vector<std::string>& names) {
  if (names.empty()) {
    auto all = virtio_net_interfaces();
    if (all.empty()) throw failure("no virtio-net interface in this network namespace (driver virtio_net)");
    return all;
  }
  for (const auto& n : names) {
    if (!sys::ifindex_of(n)) throw usage_error(fmt::format("-I: no interface '{}' in this network namespace", core::printable(n)));
    std::string drv = driver_of(n);
    if (drv != "virtio_net")
      throw usage_error(fmt::format("-I: '{}' is not a virtio-net device (driver: {})", core::printable(n),
                                    drv.empty() ? "none" : drv));
  }
  return names;
}

std::map<int, std::string> interface_irqs(const std::string& iface, const std::vector<doctor::InterruptLine>& lines) {
  std::map<int, std::string> names;
  for (const auto& l : lines) names[l.irq] = l.name;
  std::map<int, std::string> out;
  for (int n : doctor::msi_irqs(iface)) out[n] = names.count(n) ? names[n] : "";
  if (out.empty()) {
    // INTx or virtio-mmio: the lines named after the virtio device ("virtio2"); a shared line counts too.
    std::string vdev = link_base(fmt::format("/sys/class/net/{}/device", iface));
    for (const auto& l : lines)
      if (irq_belongs_to(l.name, vdev)) out[l.irq] = l.name;
  }
  return out;
}

std::vector<doctor::InterruptLine> read_interrupts() {
  auto text = slurp("/proc/interrupts");
  if (text.empty()) throw failure("cannot read /proc/interrupts");
  return doctor::parse_interrupts(text);
}

namespace {

void add_interface_option(CLI::App& app, std::vector<std::string>& v) {
  app.add_option("-I,--interface,--dev,--device", v, "virtio-net interfaces (default: every one in this namespace)")
      ->delimiter(',')
      ->option_text("NAME[,NAME]");
}

void setup_irq(CLI::App& parent, Context& ctx) {
  auto o = std::make_shared<IrqOptions>();
  auto* app = parent.add_subcommand("irq", "A virtio-net device's interrupts: count per CPU, handler return values, "
                                           "inter-arrival time, handler duration (virtnet_irq_monitor, trace_int_final)");
  cli::add_output_options(*app, o->common);
  add_interface_option(*app, o->interfaces);
  app->add_option("--irqs", o->irq_list, "These IRQs instead of the devices' own (comma list)")->option_text("LIST");
  app->add_flag("--per-cpu", o->per_cpu, "One row per IRQ and CPU");
  app->add_flag("--spurious", o->spurious,
                "Also count vring_interrupt calls and IRQ_NONE returns (no new used entries; needs fentry or kprobes)");
  cli::add_interval_option(*app, o->common, 5);
  cli::add_duration_option(*app, o->common);
  cli::add_examples(*app, {"nettrace virtio irq", "nettrace virtio irq -I eth0 -i 1 -d 10",
                           "nettrace virtio irq --irqs 38,39 --per-cpu --json"});
  app->callback([o, &ctx] {
    auto lines = read_interrupts();
    if (!o->irq_list.empty()) {
      std::map<int, std::string> names;
      for (const auto& l : lines) names[l.irq] = l.name;
      for (int n : parse_irq_list(o->irq_list)) {
        auto it = names.find(n);
        if (it == names.end()) throw usage_error(fmt::format("--irqs: no IRQ {} in /proc/interrupts", n));
        o->irqs[n] = it->second;
      }
    } else {
      for (const auto& i : resolve_interfaces(o->interfaces)) {
        auto irqs = interface_irqs(i, lines);
        if (irqs.empty()) throw failure(fmt::format("{}: no IRQ found (no msi_irqs, no /proc/interrupts line)", i));
        o->irqs.insert(irqs.begin(), irqs.end());
      }
    }
    ctx.action = [o] { return run_irq(*o); };
  });
}

void setup_poll(CLI::App& parent, Context& ctx) {
  auto o = std::make_shared<PollOptions>();
  auto* app = parent.add_subcommand("poll", "NAPI polls of virtio-net queues: polls, packets, full-budget and idle "
                                            "polls, work/budget; stacks; per poll events (virtnet_poll_monitor)");
  cli::add_output_options(*app, o->common);
  add_interface_option(*app, o->interfaces);
  app->add_option("-q,--queue", o->queue, "Only this queue index")->check(CLI::Range(0, 65535))->option_text("N");
  app->add_flag("-v,--events,--verbose", o->events, "One line per poll (processed=work/budget)");
  app->add_flag("--stacks", o->stacks, "Count the kernel stacks of the polls");
  app->add_option("--top", o->top, "Stacks listed per queue")->check(CLI::Range(1, 1000))->capture_default_str();
  cli::add_interval_option(*app, o->common, 5);
  cli::add_duration_option(*app, o->common);
  cli::add_examples(*app, {"nettrace virtio poll", "nettrace virtio poll -I eth0 -q 0 -v",
                           "nettrace virtio poll --stacks -d 10 --json"});
  app->callback([o, &ctx] {
    for (const auto& i : resolve_interfaces(o->interfaces)) o->devices[*sys::ifindex_of(i)] = i;
    ctx.action = [o] { return run_poll(*o); };
  });
}

void setup_rcvbuf(CLI::App& parent, Context& ctx) {
  auto o = std::make_shared<RcvbufOptions>();
  auto* app = parent.add_subcommand("rcvbuf", "One line per packet a virtio-net device receives: queue, length, "
                                              "flow, TCP seq/ack, ICMP id/seq (trace_virtio_net_rcvbuf)");
  cli::add_output_options(*app, o->common);
  add_interface_option(*app, o->interfaces);
  app->add_option("-q,--queue", o->queue, "Only this receive queue")->check(CLI::Range(0, 65535))->option_text("N");
  cli::add_interval_option(*app, o->common, 0);
  cli::add_duration_option(*app, o->common);
  cli::add_examples(*app, {"nettrace virtio rcvbuf -I eth0", "nettrace virtio rcvbuf -q 1 -d 5 --json"});
  app->callback([o, &ctx] {
    for (const auto& i : resolve_interfaces(o->interfaces)) o->devices[*sys::ifindex_of(i)] = i;
    ctx.action = [o] { return run_rcvbuf(*o); };
  });
}

}  // namespace

void setup(CLI::App& root, Context& ctx) {
  auto* v = root.add_subcommand("virtio", "Guest virtio-net: the device's interrupts, NAPI polls and received packets");
  v->require_subcommand(1);
  setup_irq(*v, ctx);
  setup_poll(*v, ctx);
  setup_rcvbuf(*v, ctx);
}

}  // namespace nettrace::tools::virtio
