// SPDX-License-Identifier: GPL-2.0
#pragma once
// nettrace virtio: the guest side of virtio-net. Subcommands: irq (virtnet_irq_monitor.py, trace_int_final.bt),
// poll (virtnet_poll_monitor.py, virtnet_poll_stack_stats.bt), rcvbuf (trace_virtio_net_rcvbuf.bt). See docs/tools/virtio.md.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "nettrace/bpf/probe_plan.hpp"
#include "nettrace/cli/common_options.hpp"
#include "tools/registry.hpp"

namespace nettrace::tools::virtio {

struct IrqOptions {
  cli::CommonOptions common;
  std::vector<std::string> interfaces;  // -I; empty: every virtio-net interface
  std::string irq_list;                 // --irqs
  bool per_cpu = false;                 // one row per IRQ and CPU
  bool spurious = false;                // fexit/kretprobe vring_interrupt: IRQ_NONE returns of the virtqueue handler
  // Resolved at parse time: IRQ -> action name (from /proc/interrupts).
  std::map<int, std::string> irqs;
};

struct PollOptions {
  cli::CommonOptions common;
  std::vector<std::string> interfaces;
  int queue = -1;          // --queue: only this queue index
  bool events = false;     // -v/--events: one line per poll
  bool stacks = false;     // --stacks: kernel stacks of the polls
  int top = 5;             // stacks listed per device/queue
  std::map<uint32_t, std::string> devices;  // resolved: ifindex -> name
};

struct RcvbufOptions {
  cli::CommonOptions common;
  std::vector<std::string> interfaces;
  int queue = -1;
  std::map<uint32_t, std::string> devices;
};

void setup(CLI::App& root, Context& ctx);
[[nodiscard]] std::vector<bpf::Hook> hooks();
[[nodiscard]] std::vector<bpf::Hook> irq_hooks(bool spurious = false);
[[nodiscard]] std::vector<bpf::Hook> poll_hooks();
[[nodiscard]] std::vector<bpf::Hook> rcvbuf_hooks();
int run_rcvbuf(const RcvbufOptions& o);
int run_irq(const IrqOptions& o);
int run_poll(const PollOptions& o);

// ---- pure parts (unit-tested) ----

// What an IRQ action name says about the virtio queue: "virtio2-input.0" -> "rx0", "virtio2-output.1" -> "tx1",
// "virtio2-config" -> "config", "virtio3-rx" -> "rx", anything else -> "".
[[nodiscard]] std::string irq_queue_label(std::string_view action);
// The device part of an action name ("virtio2-input.0" -> "virtio2"): how an INTx/shared device's IRQs are found
// when it has no msi_irqs directory.
[[nodiscard]] bool irq_belongs_to(std::string_view action, std::string_view virtio_dev);
// "0,3,5" -> {0,3,5}; throws usage_error naming --irqs.
[[nodiscard]] std::vector<int> parse_irq_list(const std::string& s);
// The label of a work/budget slot for budget b: "0", "1-8", …, "57-64", ">64".
[[nodiscard]] std::string work_slot_label(unsigned slot, uint64_t budget);

}  // namespace nettrace::tools::virtio
