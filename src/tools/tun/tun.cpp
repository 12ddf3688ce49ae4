// SPDX-License-Identifier: GPL-2.0
// nettrace tun: command line and hooks. See docs/tools/tun.md.

#include "tools/tun/tun.hpp"

#include <fmt/format.h>

#include "nettrace/cli/help.hpp"
#include "nettrace/core/error.hpp"
#include "nettrace/core/session.hpp"
#include "nettrace/sys/netdev.hpp"

namespace nettrace::tools::tun {

std::vector<bpf::Hook> ring_hooks() {
  // One hook, four ways: the tracepoint right before ndo_start_xmit (tun_net_xmit on a tun/tap), else the
  // function itself. Forcing --attach fentry/kprobe picks the function variants (the lab checks they agree).
  bpf::Hook xmit{"net:net_dev_start_xmit",
                 {{bpf::AttachKind::TpBtf, "tpbtf_net_dev_start_xmit", "net_dev_start_xmit"},
                  {bpf::AttachKind::RawTp, "rawtp_net_dev_start_xmit", "net_dev_start_xmit"},
                  {bpf::AttachKind::Fentry, "fentry_tun_net_xmit", "tun_net_xmit"},
                  {bpf::AttachKind::Kprobe, "kprobe_tun_net_xmit", "tun_net_xmit"}}};
  return {xmit, bpf::tracepoint_hook("skb", "kfree_skb")};
}

std::vector<bpf::Hook> hooks() { return ring_hooks(); }

namespace {

void setup_ring(CLI::App& tun, Context& ctx) {
  auto o = std::make_shared<RingOptions>();
  auto* app = tun.add_subcommand("ring", "Transmit ring (ptr_ring) of each tun/tap queue: depth, full events, drops "
                                         "(tun_ring_monitor, tun-tx-ring-stas)");
  cli::add_output_options(*app, o->common);
  app->add_option("-I,--interface,--device,--dev", o->interface_arg, "Only these tun/tap devices (in this network namespace)")
      ->group("Filter")
      ->option_text("NAME[,NAME]");
  app->add_option("--queue", o->queue, "Only this transmit queue (skb->queue_mapping)")
      ->group("Filter")
      ->option_text("N")
      ->check(CLI::Range(0, 255));
  cli::add_filter_options(*app, o->filter, cli::kFilterAddresses | cli::kFilterPorts | cli::kFilterProtocol);
  app->add_flag("--all", o->all, "An event line for every packet, not only for packets that find the ring full");
  app->add_flag("--stack", o->stack, "Kernel stack under each event line");
  app->add_flag("-v,--verbose", o->verbose, "The ring detail block under each event line (size, producer, consumers)");
  cli::add_interval_option(*app, o->common, 0);
  cli::add_duration_option(*app, o->common);
  cli::add_examples(*app, {"nettrace tun ring -d 10", "nettrace tun ring -I vnet0,vnet1 -i 5",
                           "nettrace tun ring -I vnet0 --queue 1 --all -v --dst-port 5201",
                           "nettrace tun ring --all --stack --json -d 5"});
  app->callback([o, &ctx] {
    if (!o->interface_arg.empty()) o->interfaces = split_names(o->interface_arg, "-I");
    // Existence in this process's network namespace first (sysfs may show another namespace's devices).
    for (const auto& n : o->interfaces)
      if (!sys::ifindex_of(n))
        throw usage_error(fmt::format("-I: interface '{}' does not exist in this network namespace", core::printable(n)));
    check_ring_args(o->interfaces, o->queue);
    ctx.action = [o] { return run_ring(*o); };
  });
}

}  // namespace

void setup(CLI::App& root, Context& ctx) {
  auto* tun = root.add_subcommand("tun", "tun/tap devices: transmit rings, queues");
  tun->require_subcommand(1);
  setup_ring(*tun, ctx);
}

}  // namespace nettrace::tools::tun
