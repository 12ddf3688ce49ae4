// SPDX-License-Identifier: GPL-2.0
#pragma once
// nettrace vhost: the vhost-net worker's side of the virtio datapath. Subcommands: signal-count (vhost_eventfd_count),
// buf-peek (vhost_buf_peek_stats), notify (vhost_queue_correlation_simple / _details). See docs/tools/vhost.md.

#include <cstdint>
#include <string>
#include <vector>

#include "nettrace/abi/vhost.h"
#include "nettrace/bpf/probe_plan.hpp"
#include <nlohmann/json.hpp>

#include "nettrace/cli/common_options.hpp"
#include "tools/registry.hpp"

namespace nettrace::tools::vhost {

// Which vhost queues a tool looks at; validated at parse time (exit 2 on a bad value).
struct VqFilter {
  std::string pid_list;          // -p/--pid: the QEMU processes owning the vhost devices
  std::vector<uint32_t> pids;
  std::string interface;         // -I/--interface: the tun/tap backend
  uint32_t ifindex = 0;
  int64_t queue = -1;            // --queue: the tun queue (needs --interface)
};

struct SignalCountOptions {
  cli::CommonOptions common;
  VqFilter filter;
  bool cumulative = false;  // totals since the start in every interval (the original without -c)
  int top = 0;              // 0: every row
};

struct BufPeekOptions {
  cli::CommonOptions common;
  VqFilter filter;
  bool cumulative = false;
  int top = 10;  // return values listed per queue
};

struct NotifyOptions {
  cli::CommonOptions common;
  VqFilter filter;
  bool verbose = false;  // the original's event blocks
};

int run_signal_count(const SignalCountOptions& o);
int run_buf_peek(const BufPeekOptions& o);
int run_notify(const NotifyOptions& o);

void setup(CLI::App& root, Context& ctx);
[[nodiscard]] std::vector<bpf::Hook> hooks();
[[nodiscard]] std::vector<bpf::Hook> signal_hooks();
[[nodiscard]] std::vector<bpf::Hook> notify_hooks();
[[nodiscard]] std::vector<bpf::Hook> buf_peek_hooks();

// ---- shared by the subcommands (vhost.cpp, vhost_util.cpp) ----

// Exit 1 naming what is missing when this kernel has no vhost_net loaded (nothing to trace), before any BPF.
void require_vhost_net();
// The rodata/maps of the filter (nt/vhost.bpf.h), for any skeleton that includes it.
template <class Skel>
void configure_filter(Skel* s, const VqFilter& f) {
  s->rodata->cfg_pid_filter = !f.pids.empty();
  s->rodata->cfg_ifindex = f.ifindex;
  s->rodata->cfg_queue = f.queue < 0 ? NT_VHOST_NO_INDEX : static_cast<uint32_t>(f.queue);
}
void fill_pid_map(int fd, const VqFilter& f);

// "rx" / "tx" from the vq's handle_kick function (vhost_net), else "vq<index>"; kick_fn is the function's name.
[[nodiscard]] std::string vq_role(const std::string& kick_fn, uint32_t vq_index);
// "tap0:q1", "tap0", or "-" when the backend is not a tun/tap queue.
[[nodiscard]] std::string backend_name(const nt_vhost_vq_id& id);
[[nodiscard]] std::string hex_ptr(uint64_t p);
[[nodiscard]] std::string comm_of(const char* comm, size_t n);
// The JSON fields every vhost row or event carries about its vq.
void add_vq_fields(nlohmann::json& j, const nt_vhost_vq_id& id, const std::string& role);

}  // namespace nettrace::tools::vhost
