// SPDX-License-Identifier: GPL-2.0
#pragma once
// One run of a tool: common options, privileges, signals, the attach plan, load, attach, ring buffers, the
// ready file, the run clock (duration, interval ticks), housekeeping counters and the end — stop, drain,
// detach, drain again, final read, summary — in that order for every tool. A tool supplies only what
// differs: it opens and configures its skeleton, registers its ring buffers and counter slots, and
// implements SessionTool (interval report, end report, optional once-a-second work).
//
//   core::Session s("drop", o.common);
//   auto skel = bpf::Skeleton<drop_bpf>::open("drop", bpf::CoreBtf::Minimal);
//   ... configure rodata, s.plan().add(hook) ...
//   s.load(skel);                      // chooses variants (honours --attach), verifies
//   s.attach();                        // links, "attached" log, --ready-file, start of the clock
//   s.add_ring_buffer(bpf_map__fd(skel->maps.events), [&](const void* d, size_t n) { ... });
//   s.set_counters({fd, NT_DROP_RB_LOST, NT_DROP_MAP_FULL, {NT_DROP_STACK_FAIL}});
//   return s.run(tool);

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <bpf/libbpf.h>
#include <nlohmann/json.hpp>

#include "nettrace/bpf/features.hpp"
#include "nettrace/bpf/handles.hpp"
#include "nettrace/bpf/probe_plan.hpp"
#include "nettrace/bpf/ring_reader.hpp"
#include "nettrace/cli/common_options.hpp"
#include "nettrace/output/output.hpp"

namespace nettrace::core {

// What every tool reports under the same names, in every interval and summary (docs/output.md).
struct Housekeeping {
  uint64_t lost_events = 0;     // events the kernel could not queue (ring buffer full)
  uint64_t map_full = 0;        // updates lost because a map was full
  uint64_t stack_failures = 0;  // stacks that could not be captured
  uint64_t probe_misses = 0;    // program runs the kernel skipped (a probe nested in an interrupt)
  uint64_t unwritten = 0;       // events received but never written (stdout blocked at the end)
  uint64_t render_errors = 0;   // events received that could not be rendered

  [[nodiscard]] Housekeeping since(const Housekeeping& earlier) const;
  void add_to(nlohmann::json& j) const;  // lost_events, map_full, stack_failures, probe_misses (+ the rest if set)
  // "Lost events: N" and one line per other non-zero counter, each ending in '\n'.
  [[nodiscard]] std::string text() const;
};

// Where a tool's housekeeping counters live: slots of a per-CPU u64 array map (-1: the tool has none).
struct CounterSlots {
  int fd = -1;
  int lost = -1;
  int map_full = -1;
  std::vector<int> stack_failures;
};

struct Interval {
  uint64_t start_ns, end_ns;  // monotonic
  double seconds;
  uint64_t index;             // 1, 2, …
  bool last;                  // the run's last interval (after detach: nothing follows it)
  Housekeeping delta;
};

struct Summary {
  uint64_t start_ns, end_ns;
  double seconds;
  uint64_t intervals;
  uint64_t events_received;  // ring-buffer records handed to the tool (less those it discarded)
  Housekeeping totals;
  void add_to(nlohmann::json& j) const;  // duration_s, events_received, intervals, housekeeping
};

class SessionTool {
 public:
  virtual ~SessionTool() = default;
  virtual void on_second(uint64_t /*now_ns*/) {}
  virtual void on_interval(const Interval& /*iv*/) {}
  virtual void on_end(const Summary& s) = 0;
};

class Session {
 public:
  // Applies the common options (logging, --attach), checks privileges, installs the stop signals.
  Session(std::string tool, const cli::CommonOptions& common);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  [[nodiscard]] output::Output& out() noexcept { return out_; }
  [[nodiscard]] const cli::CommonOptions& common() const noexcept { return common_; }
  [[nodiscard]] bpf::ProbePlan& plan() noexcept { return plan_; }
  [[nodiscard]] bpf::Features& features() noexcept { return features_; }
  [[nodiscard]] const std::string& tool() const noexcept { return tool_; }

  // Picks a variant per planned hook (and the forced kind of --attach); all other programs stay unloaded.
  // load() calls it if the tool did not (tools that read the choices before configuring call it first).
  void choose(bpf_object* obj);
  template <class Skel>
  void load(bpf::Skeleton<Skel>& skel) {
    if (!chosen_) choose(skel->obj);
    adapt(skel->obj);
    skel.load(tool_.c_str());
    obj_ = skel->obj;
  }
  // Attaches the plan's programs; tools that attach more themselves (uprobes, perf events) hand their links
  // over with add_links() before. Logs "attached", creates --ready-file, starts the clock.
  void attach();
  void add_links(std::vector<bpf::Link> links);
  void add_link(bpf_link* link);

  using EventFn = std::function<void(const void* data, size_t size)>;
  void add_ring_buffer(int map_fd, EventFn fn);
  void set_counters(CounterSlots slots) { slots_ = std::move(slots); }
  // An event the tool chose not to report after all (filtered in user space): not counted as received.
  void discard_event() noexcept { discarded_++; }

  [[nodiscard]] uint64_t start_ns() const noexcept { return start_ns_; }
  [[nodiscard]] Housekeeping housekeeping() const;
  [[nodiscard]] const bpf_object* object() const noexcept { return obj_; }
  [[nodiscard]] uint64_t events_received() const noexcept { return received_ - discarded_; }

  // Runs until --duration, a stop signal or a closed stdout; then ends as described above. Returns the exit
  // status; throws nettrace::Error when stdout failed for another reason than a closed reader.
  int run(SessionTool& tool);
  // Detaches everything now (the run's end; also on the way out of a failed run).
  void detach() noexcept;

 private:
  // What the kernel's verifier needs changed in the object before its load (global_func_ptr_args).
  void adapt(bpf_object* obj);
  struct Rb;
  void on_sample(Rb& h, const void* data, size_t size) noexcept;
  int poll_events(int timeout_ms);
  void drain();
  void housekeeping_second(uint64_t now);

  std::string tool_;
  const cli::CommonOptions& common_;
  output::Output out_;
  bpf::Features features_;
  bpf::ProbePlan plan_;
  bool chosen_ = false;
  bpf_object* obj_ = nullptr;
  std::vector<bpf::Link> links_;
  std::vector<std::unique_ptr<Rb>> handlers_;
  std::unique_ptr<bpf::RingReader> rb_;  // maps each ring's data area once (not libbpf's ring_buffer)
  CounterSlots slots_;
  uint64_t start_ns_ = 0, received_ = 0, discarded_ = 0, render_errors_ = 0, warned_lost_ = 0;
  bool render_error_logged_ = false;
};

// A value from the user made printable for one error line: control bytes become \xNN.
[[nodiscard]] std::string printable(std::string_view s);

}  // namespace nettrace::core
