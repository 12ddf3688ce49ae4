// SPDX-License-Identifier: GPL-2.0
#pragma once
// The virtio-net devices of this namespace and their IRQs (sysfs, /proc/interrupts).

#include <map>
#include <string>
#include <vector>

#include "tools/doctor/irq.hpp"

namespace nettrace::tools::virtio {

// The driver bound to an interface's device ("virtio_net"), "" when none.
[[nodiscard]] std::string driver_of(const std::string& iface);
[[nodiscard]] std::vector<std::string> virtio_net_interfaces();
// -I names checked (exit 2 for a missing or non-virtio-net one); empty: every virtio-net interface (exit 1 if none).
[[nodiscard]] std::vector<std::string> resolve_interfaces(const std::vector<std::string>& names);
// IRQ -> action name: the device's MSI vectors, else the /proc/interrupts lines named after its virtio device.
[[nodiscard]] std::map<int, std::string> interface_irqs(const std::string& iface,
                                                        const std::vector<doctor::InterruptLine>& lines);
[[nodiscard]] std::vector<doctor::InterruptLine> read_interrupts();

}  // namespace nettrace::tools::virtio
