// SPDX-License-Identifier: GPL-2.0
#include <gtest/gtest.h>

#include "tools/doctor/irq.hpp"

using nettrace::tools::doctor::irq_name_matches;
using nettrace::tools::doctor::parse_interrupts;

TEST(DoctorIrq, ParsesNumberedLinesOnly) {
  const char* text =
      "           CPU0       CPU1       \n"
      "  0:         44          0   IO-APIC   2-edge      timer\n"
      " 38:          0       2496  PCI-MSIX-0000:00:03.0   1-edge      virtio2-input.0\n"
      " 11:          5          7   IO-APIC  11-fasteoi   uhci_hcd:usb1, eth3\n"
      "NMI:          0          0   Non-maskable interrupts\n"
      "ERR:          0\n";
  auto l = parse_interrupts(text);
  ASSERT_EQ(l.size(), 3u);
  EXPECT_EQ(l[1].irq, 38);
  ASSERT_EQ(l[1].per_cpu.size(), 2u);
  EXPECT_EQ(l[1].per_cpu[1], 2496u);
  EXPECT_EQ(l[1].chip, "PCI-MSIX-0000:00:03.0 1-edge");
  EXPECT_EQ(l[1].name, "virtio2-input.0");
  EXPECT_EQ(l[2].name, "uhci_hcd:usb1, eth3");  // a shared line names every action
  EXPECT_EQ(l[2].per_cpu[0] + l[2].per_cpu[1], 12u);
}

TEST(DoctorIrq, NameMatchesTheInterfaceNotALongerOne) {
  EXPECT_TRUE(irq_name_matches("eth0-TxRx-0", "eth0"));
  EXPECT_TRUE(irq_name_matches("eth0", "eth0"));
  EXPECT_TRUE(irq_name_matches("uhci_hcd:usb1, eth0", "eth0"));
  EXPECT_FALSE(irq_name_matches("eth01-TxRx-0", "eth0"));
  EXPECT_FALSE(irq_name_matches("veth0", "eth0"));
  EXPECT_FALSE(irq_name_matches("virtio2-input.0", "eth0"));
}
