// SPDX-License-Identifier: GPL-2.0
#pragma once
// The stage-correlation engine, host side: stage tables (what each latency tool traces), their turning into
// per-hook BPF roles, the run loop, and pure rendering of flows and histograms. BPF side:
// bpf/perf_latency.bpf.c; shared logic: include/nettrace/abi/stage.h. See docs/architecture.md.

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "nettrace/abi/stage.h"
#include "nettrace/bpf/probe_plan.hpp"
#include "nettrace/cli/common_options.hpp"
#include "nettrace/cli/filter_options.hpp"
#include "nettrace/core/histogram.hpp"

namespace nettrace::tools::perf {

enum StageNeed : unsigned {
  kNeedNone = 0,
  kNeedCt = 1 << 0,  // only with --enable-ct
};

// Which side of the table's CPU pair a stage is on (the receive backlog: queued on one CPU, processed on
// another). finalize() pairs the last enabled kCpuFrom stage with the first enabled kCpuTo stage after it.
enum class CpuSide : uint8_t { None, From, To };

struct Stage {
  std::string name;  // "TX_S3_ovs_dp_process_packet"
  nt_lat_hook hook;
  uint8_t dir = 0;
  uint8_t dev = NT_LAT_DEV_ANY;
  uint8_t pkt = NT_LAT_PKT_ANY;
  uint8_t flags = 0;
  unsigned need = kNeedNone;
  CpuSide cpu = CpuSide::None;
  // Only when this hook cannot attach (a tracepoint standing in for a kernel function): NT_LH_COUNT = always.
  nt_lat_hook instead_of = NT_LH_COUNT;
  // Filled by finalize():
  uint8_t index = 0;  // position in its direction
  bool enabled = false;
};

struct StageTable {
  std::string kind;                                   // "latency", "icmp_rtt"
  std::array<std::string, NT_LAT_DIRS> dir_names{};   // "tx"/"rx", or "rtt"
  std::vector<Stage> stages;
  // The CPU pair (finalize()): stage indices, -1 when the table has none or no stage of a side can run.
  std::string cpu_from_label = "from", cpu_to_label = "to";  // "enqueue", "receive"
  int cpu_from = -1, cpu_to = -1;
  uint8_t cpu_dir = 0;
  // Said when a direction's device-bound START stages cannot run here and the first stage that can would take
  // every device's packets (finalize() refuses): the flag that gives those stages a device.
  std::string start_device_hint;
  [[nodiscard]] const Stage* find(uint8_t dir, uint8_t index) const;
};

// What can run: hooks that attached, device classes configured, optional stage groups asked for.
struct Availability {
  std::function<bool(nt_lat_hook)> hook_ok;
  bool internal = false;
  bool vnet = false;
  bool ct = false;
};

// Assigns per-direction indices, enables the stages that can run, makes the first enabled stage of each
// direction a START stage and, when none of a direction's END stages can run, its last enabled stage the
// END. Returns an error message when a used direction has no START or END, or when its declared START stages
// pick packets by device but cannot run and the first enabled stage has no device (it would start a flow for
// every device's packets, in every namespace); empty string when fine.
[[nodiscard]] std::string finalize(StageTable& t, const Availability& a);
// The per-hook roles for .rodata. Throws std::logic_error when a hook has more than NT_LAT_ROLES roles.
using Roles = std::array<std::array<nt_lat_role, NT_LAT_ROLES>, NT_LH_COUNT>;
[[nodiscard]] Roles roles_of(const StageTable& t);

// True when every enabled stage but the first of its direction finds its packet by skb pointer (BY_SKB):
// then the skb pointer alone identifies a packet from start to end.
[[nodiscard]] bool keyed_by_skb(const StageTable& t);

// Which histograms go to the per-CPU array (nt_lat_fast_slot): each enabled stage's predecessor, each
// direction's first enabled stage.
[[nodiscard]] nt_lat_fast_cfg fast_cfg_of(const StageTable& t);

// The attach candidates of a hook (tp_btf -> raw_tp -> tracepoint, fentry -> kprobe).
[[nodiscard]] bpf::Hook hook_spec(nt_lat_hook h);
// skb:kfree_skb and skb:consume_skb: what TRY_SKB stages need to take a key by pointer.
[[nodiscard]] std::vector<bpf::Hook> skb_free_hooks();
[[nodiscard]] const char* hook_label(nt_lat_hook h);

// Stage tables of the tools.
enum class Direction { Tx, Rx, Both };
[[nodiscard]] StageTable system_latency_table(Direction d);
[[nodiscard]] StageTable icmp_rtt_table(Direction d);
// VM traffic through a vnet/tap port: tx = VM -> wire (vnet receive .. phy transmit), rx = wire -> VM.
[[nodiscard]] StageTable vm_latency_table(Direction d);  // Tx: local pings remote; Rx: remote pings local
// Wire -> host through an OVS internal port, the receive backlog broken down: ovs_vport_send .. netif_rx ..
// enqueue_to_backlog | __netif_receive_skb .. ip_rcv .. tcp/udp. Device-bound stages use the internal port
// when one is given (else any device). CPU pair: enqueue -> receive.
[[nodiscard]] StageTable internal_port_table(bool internal_given);
// One interface's receive backlog: enqueue_to_backlog -> __netif_receive_skb [-> ip_rcv]; tracepoints
// net:netif_rx / net:netif_receive_skb stand in where the functions cannot be traced. CPU pair: enqueue -> receive.
[[nodiscard]] StageTable backlog_table(bool to_ip_rcv);

struct EngineOptions {
  cli::CommonOptions common;
  cli::FilterOptions filter;            // src = local side, dst = remote side
  std::vector<std::string> phy;          // --phy-interface a[,b]
  std::string internal;                  // --internal-interface
  std::string vnet;                      // --vm-interface
  bool details = true;                   // per-packet records (else histograms only)
  uint64_t threshold_ns = 0;
  bool stacks = false;
  bool enable_ct = false;
  bool verbose = false;
  uint32_t max_flows = 8192;
  double max_gap_s = 1.0;                // a flow idle this long is incomplete
  std::string title;                     // header line
};

int run_engine(StageTable table, const EngineOptions& o);

// Pure rendering (unit-tested).
struct FlowView {
  const nt_lat_flow* flow;
  const StageTable* table;
  uint64_t wall_ns;  // realtime of the first stage
  std::function<std::vector<std::string>(int32_t)> stack;  // stack id -> frames (may be empty)
  uint64_t seq = 0;  // event number (1-based) in this run
};
[[nodiscard]] nlohmann::json flow_to_json(const FlowView& v);
[[nodiscard]] std::string flow_to_text(const FlowView& v, bool verbose);
// "icmp 10.0.0.1 -> 10.0.0.2 id 5 seq 3", "tcp 10.0.0.1:5 -> 10.0.0.2:80 seq 1", …
[[nodiscard]] std::string key_string(const nt_lat_key& k);

}  // namespace nettrace::tools::perf
