// SPDX-License-Identifier: GPL-2.0
#include "nettrace/bpf/probe_plan.hpp"

#include <sys/mount.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <set>

#include <bpf/btf.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "nettrace/core/error.hpp"
#include "nettrace/sys/kernel_info.hpp"
#include "nettrace/sys/ksyms.hpp"
#include "nettrace/sys/mounts.hpp"

namespace nettrace::bpf {
namespace {

bool is_entry_kind(AttachKind k, AttachKind forced) {
  if (k == forced) return true;
  if (forced == AttachKind::Fentry && k == AttachKind::Fexit) return true;
  if (forced == AttachKind::Kprobe && k == AttachKind::Kretprobe) return true;
  return false;
}

const sys::Ksyms& kallsyms() {
  static const sys::Ksyms k = sys::Ksyms::load();
  return k;
}

std::string tp_name(const std::string& target) {
  auto slash = target.find('/');
  return slash == std::string::npos ? target : target.substr(slash + 1);
}

}  // namespace

const char* to_string(AttachKind k) {
  switch (k) {
    case AttachKind::TpBtf: return "tp_btf";
    case AttachKind::RawTp: return "raw_tp";
    case AttachKind::Tracepoint: return "tracepoint";
    case AttachKind::Fentry: return "fentry";
    case AttachKind::Fexit: return "fexit";
    case AttachKind::Kprobe: return "kprobe";
    case AttachKind::Kretprobe: return "kretprobe";
  }
  return "?";
}

bool parse_attach_kind(const std::string& s, AttachKind& out) {
  for (AttachKind k : {AttachKind::TpBtf, AttachKind::RawTp, AttachKind::Tracepoint, AttachKind::Fentry,
                       AttachKind::Kprobe}) {
    if (s == to_string(k)) {
      out = k;
      return true;
    }
  }
  return false;
}

bool candidate_viable(const Candidate& c, Features& features, std::string& why, std::string& resolved) {
  resolved = c.target;
  switch (c.kind) {
    case AttachKind::TpBtf:
      if (!features.tp_btf().ok) return why = "tp_btf: " + features.tp_btf().detail, false;
      if (!sys::btf_has_type("btf_trace_" + tp_name(c.target), BTF_KIND_TYPEDEF))
        return why = fmt::format("tp_btf: no tracepoint {} in kernel BTF", c.target), false;
      return true;
    case AttachKind::RawTp:
      if (!features.raw_tp().ok) return why = "raw_tp: " + features.raw_tp().detail, false;
      if (!sys::btf_has_type("btf_trace_" + tp_name(c.target), BTF_KIND_TYPEDEF))
        return why = fmt::format("raw_tp: no tracepoint {} in kernel BTF", c.target), false;
      return true;
    case AttachKind::Tracepoint: {
      if (!features.tracepoint().ok) return why = "tracepoint: " + features.tracepoint().detail, false;
      struct stat st {};
      std::string tracefs = sys::tracefs_path(true);
      if (stat((tracefs + "/events/" + c.target).c_str(), &st) != 0)
        return why = fmt::format("tracepoint: no event {}", c.target), false;
      return true;
    }
    case AttachKind::Fentry:
    case AttachKind::Fexit:
      if (!features.fentry().ok) return why = "fentry: " + features.fentry().detail, false;
      if (!sys::btf_has_type(c.target, BTF_KIND_FUNC)) {
        // A module's function (openvswitch): in that module's BTF, where libbpf finds it too.
        auto module = kallsyms().module_of(c.target);
        if (!module || module->empty() || !sys::module_btf_has_func(*module, c.target))
          return why = fmt::format("fentry: no function {} in kernel or module BTF", c.target), false;
      }
      return true;
    case AttachKind::Kprobe:
    case AttachKind::Kretprobe: {
      if (!features.kprobe().ok) return why = "kprobe: " + features.kprobe().detail, false;
      auto sym = kallsyms().resolve(c.target);
      if (!sym) return why = fmt::format("kprobe: no symbol {} in kallsyms", c.target), false;
      resolved = *sym;
      return true;
    }
  }
  return false;
}

void ProbePlan::choose(bpf_object* obj, Features& features) {
  choices_.clear();
  std::set<std::string> warned_groups;
  for (const auto& hook : hooks_) {
    Choice choice;
    choice.hook = hook.name;
    std::vector<std::string> reasons;
    // A forced kind narrows the hooks that offer it; hooks without such a variant keep their own choice.
    bool narrow = false;
    if (forced_)
      for (const auto& c : hook.candidates) narrow |= is_entry_kind(c.kind, forced_kind_);
    for (const auto& c : hook.candidates) {
      if (choice.chosen) break;
      if (narrow && !is_entry_kind(c.kind, forced_kind_)) continue;
      std::string why, resolved;
      if (candidate_viable(c, features, why, resolved)) {
        choice.chosen = true;
        choice.candidate = c;
        choice.resolved_target = resolved;
      } else {
        reasons.push_back(why);
      }
    }
    if (!choice.chosen) {
      choice.why_not = reasons.empty() ? std::string("no variant of the forced attach kind") : fmt::format("{}", fmt::join(reasons, "; "));
      if (hook.required) {
        // A missing privilege is not a kernel limit: the message names it, no pointer to doctor.
        const bool privilege = choice.why_not.find("needs root") != std::string::npos;
        throw failure(fmt::format("cannot attach to {}{}: {}", hook.name, privilege ? "" : " on this kernel", choice.why_not),
                      privilege ? "" : "see `nettrace doctor` for what this kernel supports");
      }
      if (hook.group.empty())
        spdlog::warn("{} unavailable, its stage is skipped: {}", hook.name, choice.why_not);
      else if (warned_groups.insert(hook.group).second)
        spdlog::warn("{} unavailable: {}", hook.group, choice.why_not);
    }
    choices_.push_back(choice);
  }
  // A forced kind that no hook offers, or that none of them could use, attaches nothing of what was asked.
  if (forced_) {
    bool offered = false, used = false;
    for (const auto& hook : hooks_)
      for (const auto& c : hook.candidates) offered |= is_entry_kind(c.kind, forced_kind_);
    for (const auto& ch : choices_) used |= ch.chosen && is_entry_kind(ch.candidate.kind, forced_kind_);
    if (!offered)
      throw failure(fmt::format("--attach {}: no hook of this tool attaches that way", to_string(forced_kind_)));
    if (!used)
      throw failure(fmt::format("--attach {}: no hook can attach that way on this kernel", to_string(forced_kind_)),
                    "see `nettrace doctor` for what this kernel supports");
  }
  // Autoload exactly the chosen and the kept programs: a variant of a hook this tool did not ask for must not
  // be loaded (it may not even verify on this kernel).
  for (const auto& hook : hooks_)
    for (const auto& c : hook.candidates)
      if (!bpf_object__find_program_by_name(obj, c.program.c_str()))
        throw failure(fmt::format("internal: BPF program {} missing", c.program));
  std::set<std::string> wanted(kept_.begin(), kept_.end());
  for (const auto& ch : choices_)
    if (ch.chosen) wanted.insert(ch.candidate.program);
  bpf_program* prog;
  bpf_object__for_each_program(prog, obj) bpf_program__set_autoload(prog, wanted.count(bpf_program__name(prog)) > 0);
}

void ProbePlan::drop(bpf_object* obj, const std::string& hook) {
  for (auto& ch : choices_) {
    if (ch.hook != hook || !ch.chosen) continue;
    if (bpf_program* prog = bpf_object__find_program_by_name(obj, ch.candidate.program.c_str()))
      bpf_program__set_autoload(prog, false);
    ch.chosen = false;
    ch.dropped = true;
  }
}

std::vector<Link> ProbePlan::attach(bpf_object* obj) {
  std::vector<Link> links;
  for (const auto& ch : choices_) {
    if (!ch.chosen) continue;
    bpf_program* prog = bpf_object__find_program_by_name(obj, ch.candidate.program.c_str());
    bpf_link* link = nullptr;
    switch (ch.candidate.kind) {
      case AttachKind::Kprobe:
      case AttachKind::Kretprobe:
        link = bpf_program__attach_kprobe(prog, ch.candidate.kind == AttachKind::Kretprobe, ch.resolved_target.c_str());
        break;
      default:
        link = bpf_program__attach(prog);
        break;
    }
    if (!link)
      throw failure(fmt::format("cannot attach {} via {} ({}): {}", ch.hook, to_string(ch.candidate.kind),
                                ch.resolved_target, errno_text(errno)));
    links.emplace_back(link);
    spdlog::debug("attached {} via {} {}", ch.hook, to_string(ch.candidate.kind), ch.resolved_target);
  }
  return links;
}

std::string ProbePlan::describe() const {
  std::vector<std::string> parts;
  for (const auto& ch : choices_)
    if (!ch.dropped)
      parts.push_back(ch.chosen ? fmt::format("{} via {}", ch.hook, to_string(ch.candidate.kind))
                              : fmt::format("{} unavailable", ch.hook));
  return fmt::format("{}", fmt::join(parts, ", "));
}

Hook tracepoint_hook(const std::string& category, const std::string& event, TracepointVariants v) {
  Hook h{category + ":" + event, {}, v.required, v.group};
  const Candidate btf{AttachKind::TpBtf, "tpbtf_" + event, event}, raw{AttachKind::RawTp, "rawtp_" + event, event};
  if (v.btf_first && v.btf) h.candidates.push_back(btf);
  if (v.raw) h.candidates.push_back(raw);
  if (!v.btf_first && v.btf) h.candidates.push_back(btf);
  if (v.classic)
    h.candidates.push_back({AttachKind::Tracepoint, "tp_" + category + "_" + event, category + "/" + event});
  return h;
}

Hook function_hook(const std::string& function, FunctionVariants v) {
  Hook h{v.name.empty() ? (v.ret ? function + " return" : function) : v.name, {}, v.required, v.group};
  if (v.fentry)
    h.candidates.push_back({v.ret ? AttachKind::Fexit : AttachKind::Fentry, (v.ret ? "fexit_" : "fentry_") + function,
                            function});
  h.candidates.push_back(
      {v.ret ? AttachKind::Kretprobe : AttachKind::Kprobe, (v.ret ? "kretprobe_" : "kprobe_") + function, function});
  return h;
}

void merge_hooks(std::vector<Hook>& out, std::vector<Hook> more) {
  for (auto& h : more) {
    bool seen = false;
    for (const auto& o : out) seen = seen || o.name == h.name;
    if (!seen) out.push_back(std::move(h));
  }
}

}  // namespace nettrace::bpf
