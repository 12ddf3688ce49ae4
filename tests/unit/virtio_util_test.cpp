// SPDX-License-Identifier: GPL-2.0
#include <gtest/gtest.h>

#include "nettrace/core/error.hpp"
#include "tools/virtio/virtio.hpp"

using namespace nettrace::tools::virtio;

TEST(VirtioUtil, QueueLabelFromVirtioPciVectorNames) {
  EXPECT_EQ(irq_queue_label("virtio2-input.0"), "rx0");
  EXPECT_EQ(irq_queue_label("virtio2-output.11"), "tx11");
  EXPECT_EQ(irq_queue_label("virtio2-config"), "config");
  EXPECT_EQ(irq_queue_label("virtio3-rx"), "rx");
  EXPECT_EQ(irq_queue_label("virtio1-req.0"), "");
  EXPECT_EQ(irq_queue_label("timer"), "");
}

TEST(VirtioUtil, IrqBelongsToTheVirtioDeviceNotALongerName) {
  EXPECT_TRUE(irq_belongs_to("virtio2-input.0", "virtio2"));
  EXPECT_TRUE(irq_belongs_to("virtio2", "virtio2"));
  EXPECT_TRUE(irq_belongs_to("uhci_hcd:usb1, virtio2", "virtio2"));
  EXPECT_FALSE(irq_belongs_to("virtio21-input.0", "virtio2"));
  EXPECT_FALSE(irq_belongs_to("xvirtio2-input.0", "virtio2"));
  EXPECT_FALSE(irq_belongs_to("virtio2-input.0", ""));
}

TEST(VirtioUtil, IrqListParsesOrNamesTheBadValue) {
  EXPECT_EQ(parse_irq_list("38,39, 40"), (std::vector<int>{38, 39, 40}));
  EXPECT_EQ(parse_irq_list("5"), (std::vector<int>{5}));
  EXPECT_THROW((void)parse_irq_list("38,x"), nettrace::Error);
  EXPECT_THROW((void)parse_irq_list(""), nettrace::Error);
  EXPECT_THROW((void)parse_irq_list("38,"), nettrace::Error);
  EXPECT_THROW((void)parse_irq_list("-1"), nettrace::Error);
}

TEST(VirtioUtil, WorkSlotLabelsCoverTheBudget) {
  EXPECT_EQ(work_slot_label(0, 64), "0");
  EXPECT_EQ(work_slot_label(1, 64), "1-8");
  EXPECT_EQ(work_slot_label(8, 64), "57-64");
  EXPECT_EQ(work_slot_label(9, 64), ">64");
  EXPECT_EQ(work_slot_label(1, 8), "1");
}
