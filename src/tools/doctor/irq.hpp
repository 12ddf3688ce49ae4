// SPDX-License-Identifier: GPL-2.0
#pragma once
// `nettrace doctor --irq IFACE [--set-affinity CPULIST]` (nic_irq_numa_map.sh, nic_irq_set_affinity.sh): an
// interface's interrupts, the CPUs they may run on and do run on, and those CPUs' NUMA nodes; the one write
// action of doctor, explicit, with the affinity before and after. The pure parts are here for the unit tests.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "nettrace/cli/common_options.hpp"

namespace nettrace::tools::doctor {

// One line of /proc/interrupts: "  38:   0   2496  PCI-MSIX-0000:00:03.0   1-edge   virtio2-input.0".
struct InterruptLine {
  int irq = -1;
  std::vector<uint64_t> per_cpu;  // one count per CPU column of the header
  std::string chip, name;         // the controller ("PCI-MSIX-0000:00:03.0 1-edge") and the action name(s)
};
// The numbered IRQ lines of /proc/interrupts (NMI, LOC, … are skipped); the header gives the CPU count.
[[nodiscard]] std::vector<InterruptLine> parse_interrupts(std::string_view text);

// The IRQ numbers of an interface's MSI/MSI-X vectors (sysfs msi_irqs of its device or the device's parent),
// sorted; empty when it has none (INTx, virtio-mmio, no device).
[[nodiscard]] std::vector<int> msi_irqs(const std::string& iface);

// IRQs whose action name names the interface itself ("eth0-TxRx-0", "mlx5_comp0@pci:…" does not): the fallback
// for devices without an msi_irqs directory.
[[nodiscard]] bool irq_name_matches(std::string_view action, std::string_view iface);

struct IrqOptions {
  cli::CommonOptions common;
  std::string iface;
  std::string set_affinity;  // CPU list; empty: read only
};

int run_irq(const IrqOptions& o);

}  // namespace nettrace::tools::doctor
