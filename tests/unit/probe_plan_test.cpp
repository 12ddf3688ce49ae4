// SPDX-License-Identifier: GPL-2.0
// The hook builders must name exactly the programs bpf/include/nt/hooks.bpf.h emits.
#include <memory>
#include <set>

#include <gtest/gtest.h>

#include "nettrace/abi/drop.h"
#include "nettrace/abi/filter.h"
#include "drop.skel.h"
#include "nettrace/bpf/probe_plan.hpp"

namespace nettrace::bpf {
namespace {

std::vector<std::string> programs(const Hook& h) {
  std::vector<std::string> out;
  for (const auto& c : h.candidates) out.push_back(c.program);
  return out;
}

TEST(HookBuilders, TracepointRawFirstUnlessTheHandlerReadsDirectly) {
  const Hook h = tracepoint_hook("skb", "kfree_skb", {.classic = true});
  EXPECT_EQ(h.name, "skb:kfree_skb");
  EXPECT_TRUE(h.required);
  EXPECT_EQ(programs(h), (std::vector<std::string>{"rawtp_kfree_skb", "tpbtf_kfree_skb", "tp_skb_kfree_skb"}));
  EXPECT_EQ(h.candidates[0].kind, AttachKind::RawTp);
  EXPECT_EQ(h.candidates[1].kind, AttachKind::TpBtf);
  EXPECT_EQ(h.candidates[2].kind, AttachKind::Tracepoint);
  EXPECT_EQ(h.candidates[2].target, "skb/kfree_skb");
  EXPECT_EQ(h.candidates[0].target, "kfree_skb");

  const Hook typed = tracepoint_hook("net", "net_dev_xmit", {.btf_first = true, .required = false, .group = "g"});
  EXPECT_EQ(programs(typed), (std::vector<std::string>{"tpbtf_net_dev_xmit", "rawtp_net_dev_xmit"}));
  EXPECT_FALSE(typed.required);
  EXPECT_EQ(typed.group, "g");
}

TEST(HookBuilders, ClassicOnly) {
  const Hook h = tracepoint_hook("syscalls", "sys_enter_futex", {.btf = false, .raw = false, .classic = true});
  ASSERT_EQ(h.candidates.size(), 1u);
  EXPECT_EQ(h.candidates[0].program, "tp_syscalls_sys_enter_futex");
  EXPECT_EQ(h.candidates[0].target, "syscalls/sys_enter_futex");
}

TEST(HookBuilders, FunctionEntryAndReturn) {
  const Hook entry = function_hook("__dev_queue_xmit");
  EXPECT_EQ(entry.name, "__dev_queue_xmit");
  EXPECT_EQ(programs(entry), (std::vector<std::string>{"fentry___dev_queue_xmit", "kprobe___dev_queue_xmit"}));
  EXPECT_EQ(entry.candidates[0].kind, AttachKind::Fentry);
  EXPECT_EQ(entry.candidates[1].kind, AttachKind::Kprobe);
  EXPECT_EQ(entry.candidates[1].target, "__dev_queue_xmit");

  const Hook ret = function_hook("dev_hard_start_xmit", {.ret = true});
  EXPECT_EQ(ret.name, "dev_hard_start_xmit return");
  EXPECT_EQ(programs(ret), (std::vector<std::string>{"fexit_dev_hard_start_xmit", "kretprobe_dev_hard_start_xmit"}));
  EXPECT_EQ(ret.candidates[0].kind, AttachKind::Fexit);
  EXPECT_EQ(ret.candidates[1].kind, AttachKind::Kretprobe);

  const Hook kp = function_hook("netdev_frame_hook", {.fentry = false, .name = "ovs rx"});
  EXPECT_EQ(kp.name, "ovs rx");
  EXPECT_EQ(programs(kp), (std::vector<std::string>{"kprobe_netdev_frame_hook"}));
}

}  // namespace
}  // namespace nettrace::bpf


namespace nettrace::bpf {
namespace {

struct SkelClose {
  void operator()(drop_bpf* s) const { drop_bpf::destroy(s); }
};

// Whatever this machine allows (root or not, tracepoints or not), autoload ends up on for exactly the chosen
// variants and the kept programs: every other program of the object, planned or not, stays unloaded.
TEST(ProbePlanChoose, AutoloadOnlyForChosenAndKept) {
  std::unique_ptr<drop_bpf, SkelClose> skel(drop_bpf::open());
  ASSERT_TRUE(skel);
  ProbePlan plan;
  plan.add(tracepoint_hook("skb", "kfree_skb", {.classic = true, .required = false}));
  plan.keep("kprobe_dev_hard_start_xmit");
  Features features;
  plan.choose(skel->obj, features);
  std::set<std::string> expected{"kprobe_dev_hard_start_xmit"};
  for (const auto& ch : plan.choices())
    if (ch.chosen) expected.insert(ch.candidate.program);
  std::set<std::string> on;
  bpf_program* prog;
  bpf_object__for_each_program(prog, skel->obj) if (bpf_program__autoload(prog)) on.insert(bpf_program__name(prog));
  EXPECT_EQ(on, expected);
  EXPECT_LE(on.size(), 2u);
}

}  // namespace
}  // namespace nettrace::bpf
