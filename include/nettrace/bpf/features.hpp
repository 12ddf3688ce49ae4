// SPDX-License-Identifier: GPL-2.0
#pragma once
// What the running kernel lets BPF do, found by trying: each probe loads and attaches a
// two-instruction program, then closes it. Results are cached for the process.

#include <optional>
#include <string>
#include <vector>

struct bpf_object;

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
  // Global BPF functions (verified once, on their own) may take pointers to memory, not only the context and
  // scalars (5.12; 5.10's verifier rejects "Arg#0 type PTR in f() is not supported yet").
  const Probe& global_func_ptr_args();

 private:
  std::optional<Probe> tracepoint_, raw_tp_, tp_btf_, fentry_, kprobe_, kprobe_multi_, uprobe_, ringbuf_,
      global_ptr_args_;
};

// Before the object is loaded: turns its global subprograms that take a pointer into static ones (BTF linkage),
// which the verifier checks at each call site instead of once on their own, as an older kernel accepts them
// (see global_func_ptr_args). Returns their names.
std::vector<std::string> make_ptr_subprogs_static(bpf_object* obj);

}  // namespace nettrace::bpf
