// SPDX-License-Identifier: GPL-2.0
#pragma once
// nettrace drop: per-drop events (eth_drop), stack/flow summaries (kernel_drop_stack_stats*),
// qdisc drops (qdisc_drop_trace) and the counter-triggered capture (drop_monitor_controller).

#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "nettrace/abi/drop.h"
#include "nettrace/cli/common_options.hpp"
#include "nettrace/cli/filter_options.hpp"
#include "nettrace/sys/btf_enums.hpp"
#include "tools/registry.hpp"

namespace nettrace::tools::drop {

enum class Mode { Events, Stacks, Qdisc };

struct DropOptions {
  Mode mode = Mode::Events;
  cli::CommonOptions common;
  cli::FilterOptions filter;
  bool verbose = false;
  bool no_stack = false;
  bool stack_text = false;  // --stack: the event text as a block with its stack (default: one line)
  bool disable_normal_filter = false;
  bool require_device = false;
  std::vector<std::string> reasons;  // only these drop reasons
  // stacks
  int top = 5;
  uint32_t max_entries = 10240;
  std::string group_by = "all";
  bool cumulative = false;
  // qdisc
  bool drops_only = false;
  bool summary = false;
};

struct MonitorOptions {
  cli::CommonOptions common;
  std::string interface;
  std::string command;
  std::string stop_command;
  std::string log_dir = "./logs";
};

void setup(CLI::App& root, Context& ctx);
[[nodiscard]] std::vector<bpf::Hook> hooks();
[[nodiscard]] std::vector<CommandSpec> commands();
// The transmit return-code view of `drop qdisc` (fentry/fexit or kprobes; optional).
[[nodiscard]] std::vector<bpf::Hook> xmit_hooks();
int run(const DropOptions& o);
int run_monitor(const MonitorOptions& o);

// Rendering, free of libbpf (unit-tested).
using Symbolizer = std::function<std::string(uint64_t)>;

class RenderCache;

struct RenderContext {
  Symbolizer symbolize;                 // address -> "func+0x1a"
  const sys::DropReasons* reasons;      // reason names from BTF
  bool verbose = false;
  bool stacks = true;
  bool block = true;                    // text: the original's block per event; false: one line per event
  RenderCache* cache = nullptr;         // names and stacks rendered once (a run keeps one; nullptr: none)
  // The frames of an event's stack_id (the event_stacks map): fills NT_DROP_STACK_DEPTH addresses, zero
  // padded; false when the id is unknown. Unset: stack ids render as no stack.
  std::function<bool(int32_t id, uint64_t* frames)> stack_frames;
  // Called with the addresses of a new stack not named yet, before symbolize() is asked for each (a lazy
  // symbolizer resolves them in one pass). Optional.
  std::function<void(const uint64_t* addrs, size_t n)> prefetch;
};

// What a drop storm repeats: symbol names, reason names and whole stacks (a stack is rendered once per
// stack id, or per distinct frame list for inline frames, as JSON and as text lines), so an event costs a
// few hash lookups, not a symbolization per frame (and, with an id, one map lookup per new id). Bounded:
// cleared when it grows past a few thousand stacks.
class RenderCache {
 public:
  struct Stack {
    std::vector<uint64_t> addrs;
    std::vector<std::string> frames;  // tracing frames trimmed
    std::string json;                 // ["f+0x1", …]
  };
  const std::string& symbol(uint64_t addr, const RenderContext& rc);
  const std::string& reason(uint32_t value, const RenderContext& rc);
  const Stack& stack(const nt_drop_event& e, const RenderContext& rc);
  // Map lookups made for stack ids (one per id while cached; tests).
  [[nodiscard]] uint64_t id_lookups() const { return id_lookups_; }

 private:
  // also: one more address to name in the same prefetch batch (the event's location; 0: none).
  Stack build(const uint64_t* frames, int n, const RenderContext& rc, uint64_t also = 0);
  std::unordered_map<uint64_t, std::string> syms_;
  std::unordered_map<uint32_t, std::string> reasons_;
  std::unordered_map<uint64_t, Stack> stacks_;
  std::unordered_map<int32_t, Stack> by_id_;
  uint64_t id_lookups_ = 0;
};

[[nodiscard]] std::string ip_to_string(const uint8_t* addr, uint8_t l3);
[[nodiscard]] std::string mac_to_string(const uint8_t* mac);
[[nodiscard]] std::string eth_type_name(uint16_t proto);
// The inline frames of e (stack_bytes), zeros skipped; empty for a stack in stack_id.
[[nodiscard]] std::vector<uint64_t> event_stack(const nt_drop_event& e);
// One NDJSON line (with its newline) appended to out: the event path, no JSON tree, no per-event allocation
// once the caches are warm.
void append_event_json(std::string& out, const nt_drop_event& e, uint64_t wall_ns, const RenderContext& rc);
// The same record parsed back (tests, and callers that want a tree).
[[nodiscard]] nlohmann::json event_to_json(const nt_drop_event& e, uint64_t wall_ns, const RenderContext& rc);
[[nodiscard]] std::string event_to_text(const nt_drop_event& e, uint64_t wall_ns, const RenderContext& rc);
// "udp 10.0.0.1:1234 -> 10.0.0.2:9", "arp 10.0.0.1 -> 10.0.0.2", "ipv6 …", "0x88b5"
[[nodiscard]] std::string flow_string(const nt_pkt& p);

}  // namespace nettrace::tools::drop
