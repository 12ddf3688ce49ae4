// SPDX-License-Identifier: GPL-2.0
// The minimal CO-RE BTF cut from the running kernel's BTF for the drop object: libbpf parses it, it is a
// small fraction of vmlinux BTF, and every struct member it keeps sits at the kernel's own offset.
#include "nettrace/bpf/min_btf.hpp"

#include <bpf/btf.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "nettrace/abi/drop.h"
#include "nettrace/abi/filter.h"
#include "drop.skel.h"
#include "nettrace/sys/btf_scan.hpp"

namespace {

struct BtfFree {
  void operator()(btf* b) const { btf__free(b); }
};
using BtfPtr = std::unique_ptr<btf, BtfFree>;

TEST(MinimalCoreBtf, DropObjectAgainstRunningKernel) {
  const auto& kernel = nettrace::sys::kernel_btf();
  if (!kernel.ok()) GTEST_SKIP() << "kernel has no BTF (CONFIG_DEBUG_INFO_BTF): no /sys/kernel/btf/vmlinux";
  size_t size = 0;
  const void* elf = drop_bpf::elf_bytes(&size);
  auto blob = nettrace::bpf::minimal_core_btf(elf, size, kernel);
  ASSERT_TRUE(blob.has_value());
  BtfPtr small(btf__new(blob->data(), static_cast<__u32>(blob->size())));
  ASSERT_TRUE(small) << "libbpf rejects the minimal BTF";
  BtfPtr full(btf__parse("/sys/kernel/btf/vmlinux", nullptr));
  ASSERT_TRUE(full);
  __u32 full_size = 0;
  ASSERT_NE(btf__raw_data(full.get(), &full_size), nullptr);
  EXPECT_LT(blob->size() * 100, static_cast<size_t>(full_size));

  int checked = 0;
  for (__u32 id = 1; id < btf__type_cnt(small.get()); id++) {
    const btf_type* t = btf__type_by_id(small.get(), id);
    if (!btf_is_composite(t) || t->name_off == 0) continue;
    const std::string name = btf__name_by_offset(small.get(), t->name_off);
    const int fid = btf__find_by_name_kind(full.get(), name.c_str(), btf_kind(t));
    ASSERT_GT(fid, 0) << name;
    const btf_type* ft = btf__type_by_id(full.get(), static_cast<__u32>(fid));
    EXPECT_EQ(t->size, ft->size) << name;
    for (int i = 0; i < btf_vlen(t); i++) {
      const btf_member* m = btf_members(t) + i;
      const std::string mname = btf__name_by_offset(small.get(), m->name_off);
      bool found = false;
      for (int j = 0; j < btf_vlen(ft) && !found; j++) {
        const btf_member* fm = btf_members(ft) + j;
        if (mname == btf__name_by_offset(full.get(), fm->name_off) && m->offset == fm->offset) found = true;
      }
      EXPECT_TRUE(found) << name << "." << mname << " is not at the kernel's offset";
      checked++;
    }
  }
  EXPECT_GT(checked, 10);
  // The drop program reads skb->len and dev->ifindex through CO-RE.
  const int skb = btf__find_by_name_kind(small.get(), "sk_buff", BTF_KIND_STRUCT);
  ASSERT_GT(skb, 0);
  EXPECT_GT(btf_vlen(btf__type_by_id(small.get(), static_cast<__u32>(skb))), 0);
}

}  // namespace
