// SPDX-License-Identifier: GPL-2.0
#pragma once
// The hooks of bpf/vhost_signal.bpf.c, shared by `vhost signal-count` and `vhost notify`.

#include <string>

#include "nettrace/core/session.hpp"
#include "nettrace/sys/ksyms.hpp"

namespace nettrace::tools::vhost {

struct SignalPlan {
  std::string eventfd_fn;  // eventfd_signal_mask or eventfd_signal: where signals are counted
  bool eventfd_n = false;  // its second argument is the count n (6.1: eventfd_signal_mask(ctx, n, mask))
};

// Which eventfd function counts the signals on this kernel (from its BTF), before the hooks are planned.
[[nodiscard]] SignalPlan signal_plan();
// Adds the hooks of signal-count (notify: and vhost_notify's return) to the session's plan and chooses.
void plan_signal_hooks(core::Session& s, bpf_object* obj, const SignalPlan& p, bool notify);

// Names of kernel functions at addresses (vq->handle_kick), each looked up once.
class KickNames {
 public:
  std::string role(uint64_t handle_kick, uint32_t vq_index);

 private:
  sys::LazyKsyms ksyms_;
};

}  // namespace nettrace::tools::vhost
