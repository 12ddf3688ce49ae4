// SPDX-License-Identifier: GPL-2.0
#include "tools/doctor/doctor.hpp"

#include <unistd.h>

#include <fstream>
#include <map>
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

// Each with a function only it defines (module_state: how a built-in module without /sys/module entry is found).
constexpr std::pair<const char*, const char*> kModules[] = {
    {"openvswitch", "ovs_dp_process_packet"}, {"vhost_net", "vhost_net_ioctl"}, {"tun", "tun_net_xmit"},
    {"kvm", "kvm_vcpu_ioctl"},                {"virtio_net", "virtnet_poll"},   {"nf_conntrack", "nf_conntrack_in"}};

uint64_t effective_caps() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("CapEff:", 0) == 0) return std::stoull(line.substr(7), nullptr, 16);
  return 0;
}

// Whether a command (or module) can run with these hooks here: the variant each hook gets, the required hooks
// that have none (then it cannot run), and the optional ones that have none, by group, with the reason.
nlohmann::json evaluate(const std::vector<bpf::Hook>& hooks, const std::vector<std::string>& needs, bpf::Features& f) {
  nlohmann::json j{{"can_run", true}};
  auto hooks_json = nlohmann::json::array();
  auto unavailable = nlohmann::json::array();
  std::map<std::string, std::string> groups_missing;  // group -> why (the first hook's reason)
  std::map<std::string, bool> groups_ok;              // a group with one usable hook still runs that part
  std::vector<std::string> why_not;
  for (const auto& h : hooks) {
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
    const bool ok = hj.contains("via");
    if (!ok) hj["why_not"] = fmt::format("{}", fmt::join(reasons, "; "));
    if (!ok && h.required) why_not.push_back(fmt::format("{}: {}", h.name, hj["why_not"].get<std::string>()));
    if (!h.required) {
      const std::string g = h.group.empty() ? h.name : h.group;
      groups_ok[g] = groups_ok[g] || ok;
      if (!ok && !groups_missing.count(g)) groups_missing[g] = hj["why_not"].get<std::string>();
    }
    hooks_json.push_back(hj);
  }
  for (const auto& need : needs) {
    const bpf::Probe* p = need == "uprobe" ? &f.uprobe() : nullptr;
    if (p && !p->ok) why_not.push_back(fmt::format("{}: {}", need, p->detail));
  }
  for (const auto& [g, why] : groups_missing)
    if (!groups_ok[g]) unavailable.push_back({{"what", g}, {"why", why}});
  j["hooks"] = hooks_json;
  j["needs"] = needs;
  j["unavailable"] = unavailable;
  if (!why_not.empty()) {
    j["can_run"] = false;
    j["why_not"] = fmt::format("{}", fmt::join(why_not, "; "));
  }
  return j;
}

// "  perf latency         runs   12 hooks: 8 tp_btf, 4 raw_tp" and a "without" line per missing part.
std::string command_text(const nlohmann::json& cj) {
  std::map<std::string, int> kinds;
  for (const auto& h : cj["hooks"])
    if (h.contains("via")) kinds[h["via"].get<std::string>()]++;
  std::vector<std::string> parts;
  for (const auto& [k, n] : kinds) parts.push_back(fmt::format("{} {}", n, k));
  for (const auto& n : cj["needs"]) parts.push_back(n.get<std::string>());
  std::string t = fmt::format("  {:<20} {:<7} {}\n", cj["command"].get<std::string>(),
                              cj["can_run"].get<bool>() ? "runs" : "CANNOT",
                              parts.empty() ? std::string("-") : fmt::format("{}", fmt::join(parts, ", ")));
  if (cj.contains("why_not")) t += fmt::format("  {:<20} {:<7} {}\n", "", "why", cj["why_not"].get<std::string>());
  for (const auto& u : cj["unavailable"])
    t += fmt::format("  {:<20} {:<7} {}: {}\n", "", "without", u["what"].get<std::string>(), u["why"].get<std::string>());
  return t;
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

  for (const auto& [m, marker] : kModules) {
    auto st = sys::module_state(m, marker);
    j["modules"][m] = st != sys::ModuleState::Missing;
    j["module_state"][m] = sys::to_string(st);
  }

  auto tools_json = nlohmann::json::array();
  auto commands_json = nlohmann::json::array();
  for (const auto& t : tools()) {
    if (!t.hooks) continue;
    nlohmann::json tj = evaluate(t.hooks(), {}, f);
    tj["tool"] = t.name;
    auto aliases_json = nlohmann::json::array();
    for (const auto& a : aliases())
      if (!a.command.empty() && a.command[0] == t.name) aliases_json.push_back(a.alias);
    tj["aliases"] = aliases_json;
    tools_json.push_back(tj);
    std::vector<CommandSpec> cmds = t.commands ? t.commands() : std::vector<CommandSpec>{{t.name, t.hooks(), {}}};
    for (auto& c : cmds) {
      nlohmann::json cj = evaluate(c.hooks, c.needs, f);
      cj["command"] = c.name;
      commands_json.push_back(std::move(cj));
    }
  }
  j["tools"] = tools_json;
  j["commands"] = commands_json;

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
  for (const auto& [m, marker] : kModules) t += fmt::format("  {:<13} {}\n", m, j["module_state"][m].get<std::string>());
  t += "\nCommands (runs / CANNOT run here; without: what is missing, and why):\n";
  for (const auto& cj : commands_json) t += command_text(cj);
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
