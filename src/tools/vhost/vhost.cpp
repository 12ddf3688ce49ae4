// SPDX-License-Identifier: GPL-2.0
// nettrace vhost: command line of the vhost subcommands, their validation and their hooks. See docs/tools/vhost.md.

#include "tools/vhost/vhost.hpp"

#include <sys/stat.h>

#include <filesystem>
#include <memory>

#include <bpf/bpf.h>
#include <fmt/format.h>

#include "nettrace/cli/help.hpp"
#include "nettrace/core/error.hpp"
#include "nettrace/sys/kernel_info.hpp"
#include "nettrace/sys/netdev.hpp"
#include "tools/cpu/cpu_util.hpp"

namespace nettrace::tools::vhost {

namespace {
constexpr const char* kNotifyGroup = "vhost_notify return (inlined in this build: the decision is read from the call eventfd)";
}  // namespace

std::vector<bpf::Hook> signal_hooks() {
  // vhost_add_used_and_signal is the one-buffer form (vhost_net: zero-copy TX only); it may never run.
  const bpf::FunctionVariants one{.required = false, .group = "vhost_add_used_and_signal (zero-copy TX signalling)"};
  const bpf::FunctionVariants one_ret{.ret = true, .required = false, .group = one.group};
  return {bpf::function_hook("vhost_add_used_and_signal_n"),
          bpf::function_hook("vhost_add_used_and_signal_n", {.ret = true}),
          bpf::function_hook("vhost_add_used_and_signal", one),
          bpf::function_hook("vhost_add_used_and_signal", one_ret),
          // One of the two: eventfd_signal_mask where it exists (5.19+; on 6.1 eventfd_signal jumps into it).
          bpf::function_hook("eventfd_signal_mask", {.required = false}),
          bpf::function_hook("eventfd_signal", {.required = false})};
}

std::vector<bpf::Hook> notify_hooks() {
  auto h = signal_hooks();
  // vhost_notify is static: a clone (vhost_notify.isra.0) or inlined. kretprobe on the kallsyms name.
  h.push_back(bpf::function_hook("vhost_notify", {.ret = true, .fentry = false, .required = false, .group = kNotifyGroup}));
  return h;
}

std::vector<bpf::Hook> buf_peek_hooks() {
  // fexit sees nvq; the kretprobe fallback needs the kprobe at entry to keep it (dropped with fexit).
  return {bpf::function_hook("vhost_net_buf_peek", {.ret = true}),
          bpf::function_hook("vhost_net_buf_peek", {.fentry = false, .required = false, .name = "vhost_net_buf_peek (kretprobe's argument)"})};
}

std::vector<bpf::Hook> hooks() {
  std::vector<bpf::Hook> out;
  bpf::merge_hooks(out, notify_hooks());
  bpf::merge_hooks(out, buf_peek_hooks());
  return out;
}

void require_vhost_net() {
  const auto st = sys::module_state("vhost_net");
  if (st == sys::ModuleState::Loaded || st == sys::ModuleState::Builtin) return;
  if (st == sys::ModuleState::Available)
    throw failure("vhost_net is not loaded: no vhost-net device to trace (modprobe vhost_net loads it)");
  throw failure(fmt::format("this kernel ({}) has no vhost_net module: nothing to trace", sys::kernel_release()));
}

void fill_pid_map(int fd, const VqFilter& f) {
  const uint8_t one = 1;
  for (uint32_t p : f.pids)
    if (bpf_map_update_elem(fd, &p, &one, BPF_ANY) != 0) throw failure(fmt::format("cannot set the --pid filter: {}", strerror(errno)));
}

namespace {

// Parse-time checks: exit 2 naming the value.
void resolve_filter(VqFilter& f) {
  if (!f.pid_list.empty()) {
    f.pids = cpu::parse_id_list(f.pid_list, "--pid");
    if (f.pids.size() > NT_VHOST_MAX_PIDS) throw usage_error(fmt::format("--pid: at most {} processes", NT_VHOST_MAX_PIDS));
    for (uint32_t p : f.pids)
      if (!cpu::process_exists(p)) throw usage_error(fmt::format("--pid: no process with pid {}", p));
  }
  int queues = 256;  // MAX_TAP_QUEUES
  if (!f.interface.empty()) {
    auto idx = sys::ifindex_of(f.interface);
    if (!idx) throw usage_error(fmt::format("--interface: no interface '{}'", f.interface));
    struct stat st {};
    if (stat(("/sys/class/net/" + f.interface + "/tun_flags").c_str(), &st) != 0)
      throw usage_error(fmt::format("--interface: '{}' is not a tun/tap device", f.interface));
    f.ifindex = *idx;
    std::error_code ec;
    int n = 0;
    for (const auto& e : std::filesystem::directory_iterator("/sys/class/net/" + f.interface + "/queues", ec))
      n += e.path().filename().string().rfind("tx-", 0) == 0;
    if (n > 0) queues = n;
  }
  if (f.queue >= queues)
    throw usage_error(f.interface.empty()
                          ? fmt::format("--queue: {} is out of range (a tun device has at most 256 queues)", f.queue)
                          : fmt::format("--queue: {} is out of range ({} has {} queue{})", f.queue, f.interface, queues,
                                        queues == 1 ? "" : "s"));
}

void add_filter_options(CLI::App& app, VqFilter& f, bool with_queue) {
  app.add_option("-p,--pid", f.pid_list, "Only vhost devices owned by these processes (QEMU PIDs, comma list)")
      ->option_text("PID[,PID]");
  app.add_option("-I,--interface,--device", f.interface, "Only queues whose backend is this tun/tap device")
      ->option_text("NAME");
  if (with_queue)
    app.add_option("--queue", f.queue, "Only this tun queue (queue pair) of the backend")->check(CLI::Range(int64_t{0}, int64_t{1} << 20))
        ->option_text("N");
}

void setup_signal_count(CLI::App& vhost, Context& ctx) {
  auto o = std::make_shared<SignalCountOptions>();
  auto* app = vhost.add_subcommand(
      "signal-count",
      "Guest signals per virtqueue and call eventfd: signalling calls, eventfd signals delivered, suppressed "
      "(vhost_eventfd_count)");
  cli::add_output_options(*app, o->common);
  add_filter_options(*app, o->filter, true);
  app->add_flag("--cumulative,!--clear", o->cumulative,
                "Counts since the start in every report (--clear: per interval, the default)");
  app->add_option("--top", o->top, "Rows per report, most signalling calls first (default all)")->check(CLI::Range(1, 100000));
  cli::add_interval_option(*app, o->common, 0);
  cli::add_duration_option(*app, o->common);
  cli::add_examples(*app, {"nettrace vhost signal-count -i 1", "nettrace vhost signal-count -p $(pgrep -o qemu) -d 10 --json",
                           "nettrace vhost signal-count -I vnet0 -i 5 --cumulative"});
  app->callback([o, &ctx] {
    resolve_filter(o->filter);
    ctx.action = [o] { return run_signal_count(*o); };
  });
}

void setup_buf_peek(CLI::App& vhost, Context& ctx) {
  auto o = std::make_shared<BufPeekOptions>();
  auto* app = vhost.add_subcommand(
      "buf-peek",
      "What vhost_net_buf_peek returns per RX queue: 0 (nothing queued) or the next packet's length (vhost_buf_peek_stats)");
  cli::add_output_options(*app, o->common);
  add_filter_options(*app, o->filter, true);
  app->add_flag("--cumulative,!--clear", o->cumulative,
                "Counts since the start in every report (--clear: per interval, the default)");
  app->add_option("--top", o->top, "Return values listed per queue, most frequent first")->check(CLI::Range(1, 100000))
      ->capture_default_str();
  cli::add_interval_option(*app, o->common, 0);
  cli::add_duration_option(*app, o->common);
  cli::add_examples(*app, {"nettrace vhost buf-peek -i 1", "nettrace vhost buf-peek -I vnet0 --top 5 -d 10",
                           "nettrace vhost buf-peek -p 4242 --json -d 5"});
  app->callback([o, &ctx] {
    resolve_filter(o->filter);
    ctx.action = [o] { return run_buf_peek(*o); };
  });
}

void setup_notify(CLI::App& vhost, Context& ctx) {
  auto o = std::make_shared<NotifyOptions>();
  auto* app = vhost.add_subcommand(
      "notify",
      "Each signalling decision of a vhost worker with the vq state and the guest's avail flags / used_event "
      "(vhost_queue_correlation_simple, _details)");
  cli::add_output_options(*app, o->common);
  add_filter_options(*app, o->filter, true);
  app->add_flag("-v,--verbose", o->verbose, "The original's block per event (vq state, features, guest memory)");
  cli::add_interval_option(*app, o->common, 0);
  cli::add_duration_option(*app, o->common);
  cli::add_examples(*app, {"nettrace vhost notify -I vnet0 --queue 0", "nettrace vhost notify -p 4242 -v -d 5",
                           "nettrace vhost notify --json -d 10"});
  app->callback([o, &ctx] {
    resolve_filter(o->filter);
    ctx.action = [o] { return run_notify(*o); };
  });
}

}  // namespace

void setup(CLI::App& root, Context& ctx) {
  auto* vhost = root.add_subcommand("vhost", "vhost-net workers: guest signals per queue, RX ring peeks, notify decisions");
  vhost->require_subcommand(1);
  setup_signal_count(*vhost, ctx);
  setup_buf_peek(*vhost, ctx);
  setup_notify(*vhost, ctx);
}

}  // namespace nettrace::tools::vhost
