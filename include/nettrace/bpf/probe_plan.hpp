// SPDX-License-Identifier: GPL-2.0
#pragma once
// Attach planning: every logical hook lists its program variants in order of preference
// (tp_btf -> raw_tp -> tracepoint, fentry -> kprobe); the running kernel decides which one loads.

#include <string>
#include <vector>

#include <bpf/libbpf.h>

#include "nettrace/bpf/features.hpp"
#include "nettrace/bpf/handles.hpp"

namespace nettrace::bpf {

enum class AttachKind { TpBtf, RawTp, Tracepoint, Fentry, Fexit, Kprobe, Kretprobe };
[[nodiscard]] const char* to_string(AttachKind k);
// "tp_btf", "raw_tp", "tracepoint", "fentry", "kprobe" (fexit/kretprobe follow their entry kinds).
[[nodiscard]] bool parse_attach_kind(const std::string& s, AttachKind& out);

struct Candidate {
  AttachKind kind;
  std::string program;  // program name in the BPF object
  std::string target;   // function, or "category/event" for tracepoints, or the raw tracepoint name
};

struct Hook {
  std::string name;  // what the user reads: "skb:kfree_skb"
  std::vector<Candidate> candidates;
  bool required = true;
  std::string group;  // optional hooks of one group are reported once, under this name
};

// Builders for the program names bpf/include/nt/hooks.bpf.h gives a hook's variants.
struct TracepointVariants {
  bool btf = true;        // tpbtf_<event> (NT_HOOK_TP)
  bool raw = true;        // rawtp_<event> (NT_HOOK_TP)
  bool classic = false;   // tp_<category>_<event> (NT_HOOK_TP_CLASSIC)
  // tp_btf before raw_tp: per-event handlers that read the arguments directly (hot per-packet paths). Otherwise
  // raw_tp first: the same arguments, without libbpf parsing all of vmlinux BTF at start-up (docs/benchmarks.md).
  bool btf_first = false;
  bool required = true;
  std::string group;      // see Hook::group
};
// The hook "category:event".
[[nodiscard]] Hook tracepoint_hook(const std::string& category, const std::string& event, TracepointVariants v = {});

struct FunctionVariants {
  bool ret = false;     // the return variants fexit_<fn> / kretprobe_<fn> (NT_HOOK_FN_RET); else fentry_ / kprobe_
  bool fentry = true;   // false: kprobe only
  bool required = true;
  std::string group;
  std::string name;     // what the user reads; default "<fn>", "<fn> return" for the return variants
};
[[nodiscard]] Hook function_hook(const std::string& function, FunctionVariants v = {});

// Appends the hooks of `more` not yet in `out` (by name): a module's hook list for `nettrace doctor` is
// the union of its tools' lists.
void merge_hooks(std::vector<Hook>& out, std::vector<Hook> more);

struct Choice {
  std::string hook;
  bool chosen = false;
  Candidate candidate;
  std::string resolved_target;  // kprobe target after clone resolution
  std::string why_not;          // when nothing could be chosen
  bool dropped = false;         // chosen, then found not needed (drop())
};

// Decide whether a candidate can run here, with the reason when it cannot.
[[nodiscard]] bool candidate_viable(const Candidate& c, Features& features, std::string& why, std::string& resolved);

class ProbePlan {
 public:
  void add(Hook hook) { hooks_.push_back(std::move(hook)); }
  // Restricts every hook that has a variant of this kind to it (the hidden --attach flag; tests, debugging).
  void force(AttachKind kind) {
    forced_ = true;
    forced_kind_ = kind;
  }
  // A program the tool attaches itself (perf_event, uprobe): loaded, not planned.
  void keep(std::string program) { kept_.push_back(std::move(program)); }
  // Picks a candidate per hook; autoload stays on only for the chosen programs and the kept ones. Call after open,
  // before load.
  // Throws nettrace::Error (exit 1) naming the hook when a required hook has no usable variant.
  void choose(bpf_object* obj, Features& features);
  // A chosen hook the caller found it does not need after all: neither loaded nor attached nor listed.
  // Call after choose, before load.
  void drop(bpf_object* obj, const std::string& hook);
  // Attaches the chosen programs. Call after load.
  [[nodiscard]] std::vector<Link> attach(bpf_object* obj);
  [[nodiscard]] const std::vector<Choice>& choices() const { return choices_; }
  // "skb:kfree_skb via tp_btf" lines for the log.
  [[nodiscard]] std::string describe() const;

 private:
  std::vector<Hook> hooks_;
  std::vector<Choice> choices_;
  std::vector<std::string> kept_;
  bool forced_ = false;
  AttachKind forced_kind_ = AttachKind::TpBtf;
};

}  // namespace nettrace::bpf
