// SPDX-License-Identifier: GPL-2.0
#pragma once
// What the running kernel lets BPF do, found by trying: each probe loads and attaches a
// two-instruction program, then closes it. Results are cached for the process.

#include <optional>
#include <string>

namespace nettrace::bpf {

struct Probe {
  bool ok = false;
  std::string detail;  // why not, or what was used
};

class Features {
 public:
  const Probe& tracepoint();
  const Probe& raw_tp();
  const Probe& tp_btf();
  const Probe& fentry();
  const Probe& kprobe();
  const Probe& kprobe_multi();
  const Probe& uprobe();
  const Probe& ringbuf();

 private:
  std::optional<Probe> tracepoint_, raw_tp_, tp_btf_, fentry_, kprobe_, kprobe_multi_, uprobe_, ringbuf_;
};

}  // namespace nettrace::bpf
