// SPDX-License-Identifier: GPL-2.0
#include "tools/doctor/doctor.hpp"

#include <unistd.h>

#include <fstream>
#include <memory>

#include <fmt/format.h>

#include "nettrace/bpf/features.hpp"
#include "nettrace/bpf/probe_plan.hpp"
#include "nettrace/cli/common_options.hpp"
#include "nettrace/cli/help.hpp"
#include "nettrace/output/output.hpp"
#include "nettrace/output/report.hpp"
#include "nettrace/sys/kernel_info.hpp"
#include "nettrace/sys/mounts.hpp"
#include "tools/doctor/irq.hpp"
#include "tools/doctor/vhost_check.hpp"

namespace nettrace::tools::doctor {
namespace {

constexpr const char* kModules[] = {"openvswitch", "vhost_net", "tun", "kvm", "virtio_net", "nf_conntrack"};

uint64_t effective_caps() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("CapEff:", 0) == 0) return std::stoull(line.substr(7), nullptr, 16);
  return 0;
}

int run(const cli::CommonOptions& o) {
  (void)cli::apply_common(o);
  output::Output out(o.json);
  bpf::Features f;
  nlohmann::json j;
  j["type"] = "doctor";
  j["kernel"] = sys::kernel_release();
  j["btf"] = sys::has_vmlinux_btf();

  auto fs = sys::ensure_pseudo_filesystems(true);
  for (const auto& p : fs)
    j["filesystems"][p.name] = {{"path", p.path}, {"mounted", p.mounted}, {"mounted_by_nettrace", p.mounted_by_us}};

  const std::pair<const char*, const bpf::Probe*> probes[] = {
      {"tracepoint", &f.tracepoint()}, {"raw_tp", &f.raw_tp()},     {"tp_btf", &f.tp_btf()},
      {"fentry", &f.fentry()},         {"kprobe", &f.kprobe()},     {"kprobe_multi", &f.kprobe_multi()},
      {"uprobe", &f.uprobe()},         {"ringbuf", &f.ringbuf()}};
  for (const auto& [name, p] : probes) {
    j["attach"][name] = p->ok;
    j["attach_detail"][name] = p->detail;
  }
  // Verifier features nettrace adapts its objects to (not attach types).
  const bpf::Probe& gp = f.global_func_ptr_args();
  j["verifier"]["global_func_ptr_args"] = gp.ok;
  j["verifier_detail"]["global_func_ptr_args"] =
      gp.ok ? gp.detail : gp.detail + " (such functions are verified at each call site instead: slower loads)";

  const uint64_t caps = effective_caps();
  j["privileges"] = {{"uid", geteuid()},
                     {"cap_net_admin", (caps >> 12 & 1) != 0},
                     {"cap_sys_admin", (caps >> 21 & 1) != 0},
                     {"cap_perfmon", (caps >> 38 & 1) != 0},
                     {"cap_bpf", (caps >> 39 & 1) != 0}};

  for (const char* m : kModules) {
    auto st = sys::module_state(m);
    j["modules"][m] = st != sys::ModuleState::Missing;
    j["module_state"][m] = sys::to_string(st);
  }

  auto tools_json = nlohmann::json::array();
  for (const auto& t : tools()) {
    if (!t.hooks) continue;
    nlohmann::json tj{{"tool", t.name}, {"can_run", true}};
    auto aliases_json = nlohmann::json::array();
    for (const auto& a : aliases())
      if (!a.command.empty() && a.command[0] == t.name) aliases_json.push_back(a.alias);
    tj["aliases"] = aliases_json;
    auto hooks_json = nlohmann::json::array();
    std::string why_not;
    for (const auto& h : t.hooks()) {
      nlohmann::json hj{{"hook", h.name}, {"required", h.required}};
      std::vector<std::string> reasons;
      for (const auto& c : h.candidates) {
        std::string why, resolved;
        if (bpf::candidate_viable(c, f, why, resolved)) {
          hj["via"] = bpf::to_string(c.kind);
          break;
        }
        reasons.push_back(why);
      }
      if (!hj.contains("via")) {
        hj["why_not"] = fmt::format("{}", fmt::join(reasons, "; "));
        if (h.required) {
          tj["can_run"] = false;
          why_not = fmt::format("{}: {}", h.name, hj["why_not"].get<std::string>());
        }
      }
      hooks_json.push_back(hj);
    }
    tj["hooks"] = hooks_json;
    if (!why_not.empty()) tj["why_not"] = why_not;
    tools_json.push_back(tj);
  }
  j["tools"] = tools_json;

  // The findings are gathered as JSON above; the report carries them and the text that reads them.
  output::Report r("doctor");
  for (const auto& [k, v] : j.items()) r.field(k, v);
  std::string t = fmt::format("Kernel: {}\nBTF: {}\n\nAttach types:\n", j["kernel"].get<std::string>(),
                              j["btf"].get<bool>() ? "/sys/kernel/btf/vmlinux" : "missing (CO-RE needs BTF)");
  for (const auto& [name, p] : probes) t += fmt::format("  {:<13} {:<4} {}\n", name, p->ok ? "yes" : "no", p->detail);
  t += fmt::format("\nVerifier:\n  {:<21} {:<4} {}\n", "global_func_ptr_args", gp.ok ? "yes" : "no",
                   j["verifier_detail"]["global_func_ptr_args"].get<std::string>());
  t += "\nFilesystems:\n";
  for (const auto& p : fs)
    t += fmt::format("  {:<8} {:<22} {}\n", p.name, p.path,
                     p.mounted_by_us ? "mounted now by nettrace" : p.mounted ? "mounted" : "NOT mounted");
  t += fmt::format("\nPrivileges: uid {}, CAP_BPF {}, CAP_PERFMON {}, CAP_NET_ADMIN {}, CAP_SYS_ADMIN {}\n",
                   geteuid(), caps >> 39 & 1 ? "yes" : "no", caps >> 38 & 1 ? "yes" : "no",
                   caps >> 12 & 1 ? "yes" : "no", caps >> 21 & 1 ? "yes" : "no");
  t += "\nKernel modules:\n";
  for (const char* m : kModules) t += fmt::format("  {:<13} {}\n", m, j["module_state"][m].get<std::string>());
  t += "\nTools:\n";
  for (const auto& tj : tools_json) {
    std::string via;
    for (const auto& h : tj["hooks"]) via += fmt::format(" {}={}", h["hook"].get<std::string>(), h.value("via", std::string("none")));
    t += fmt::format("  {:<10} {:<7}{}{}\n", tj["tool"].get<std::string>(), tj["can_run"].get<bool>() ? "ok" : "CANNOT", via,
                     tj.contains("why_not") ? " (" + tj["why_not"].get<std::string>() + ")" : "");
  }
  t += "\nOriginal tools not yet ported are listed in docs/tools.md.";
  out.emit(r.line(t));
  return 0;
}

}  // namespace

void setup(CLI::App& root, Context& ctx) {
  auto opts = std::make_shared<IrqOptions>();
  auto* app = root.add_subcommand("doctor", "What this kernel supports and which tools can run here");
  cli::add_output_options(*app, opts->common);
  auto* irq = app->add_option("--irq", opts->iface,
                              "Instead: the interface's interrupts, their CPU affinity (set and effective) and NUMA "
                              "nodes (nic_irq_numa_map)")
                  ->option_text("IFACE");
  app->add_option("--set-affinity", opts->set_affinity,
                  "With --irq: write this CPU list to every interrupt of the interface and show the affinity before "
                  "and after (nic_irq_set_affinity; the only thing doctor ever changes)")
      ->option_text("LIST")
      ->needs(irq);
  auto vhost = std::make_shared<std::string>();
  app->add_option("--vhost", *vhost,
                  "Instead: who serves this tap (the process holding it, its vCPU and vhost threads: allowed and "
                  "last CPUs, scheduling policy) and the host's NUMA, idle-state and isolation settings "
                  "(vhost_sched_config_check)")
      ->option_text("TAP")
      ->excludes(irq);
  cli::add_examples(*app, {"nettrace doctor", "nettrace doctor --irq eth0", "nettrace doctor --irq eth0 --set-affinity 2-3",
                           "nettrace doctor --vhost vnet0"});
  app->callback([opts, vhost, &ctx] {
    ctx.action = [opts, vhost] {
      if (!vhost->empty()) return run_vhost_check({opts->common, *vhost});
      return opts->iface.empty() ? run(opts->common) : run_irq(*opts);
    };
  });
}

}  // namespace nettrace::tools::doctor
