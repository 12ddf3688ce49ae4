// SPDX-License-Identifier: GPL-2.0
#pragma once
// Options every tool shares: output format, run length, report interval, logging, attach mode.

#include <cstdint>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "nettrace/bpf/probe_plan.hpp"

namespace nettrace::cli {

struct CommonOptions {
  bool json = false;
  int debug = 0;
  double duration_s = 0;  // 0: until Ctrl-C
  double interval_s = 0;  // 0: no periodic report
  std::string attach;     // force one attach kind (hidden; tests)
  std::string ready_file; // touched once attached (hidden; tests and benchmarks)
};

// Parses "10", "2.5", "250ns", "50us", "500ms", "10s", "2m", "1h" into seconds, at most kMaxSeconds (so seconds * 1e9 fits a
// uint64_t next to any monotonic timestamp). Throws nettrace::Error (usage) naming flag and value.
inline constexpr double kMaxSeconds = 10.0 * 365 * 86400;
[[nodiscard]] double parse_seconds(const std::string& value, const std::string& flag);

// --json, --debug, hidden --attach and --ready-file.
void add_output_options(CLI::App& app, CommonOptions& o);
// -d,--duration and -i,--interval (docs/cli.md): a DURATION, bare numbers in seconds. synonyms: extra long
// spellings still accepted (shown nowhere in --help).
void add_duration_option(CLI::App& app, CommonOptions& o, double default_s = 0, const std::string& synonyms = "");
void add_interval_option(CLI::App& app, CommonOptions& o, double default_s, const std::string& synonyms = "");

// A latency threshold (docs/cli.md): "500us", "10ms", "1s", or a bare number in bare_unit ("us" or "ms").
// Returns microseconds; throws nettrace::Error (usage) naming flag and value.
[[nodiscard]] double parse_threshold_us(const std::string& value, const std::string& flag, const std::string& bare_unit);
// --threshold DURATION (plus synonyms such as "--threshold-us", whose bare numbers are in bare_unit), into
// threshold_us.
CLI::Option* add_threshold_option(CLI::App& app, double& threshold_us, const std::string& what,
                                  const std::string& bare_unit = "us", const std::string& synonyms = "");

// Applies logging level and returns the forced attach kind, if any. Call at the start of a run.
[[nodiscard]] std::optional<bpf::AttachKind> apply_common(const CommonOptions& o);
// Creates the ready file (if asked). Call right after attach.
void signal_ready(const CommonOptions& o);

// A run's schedule from --duration and --interval, on the monotonic clock: when to stop, when to report.
class RunClock {
 public:
  RunClock(const CommonOptions& o, uint64_t start_ns)
      : deadline_(o.duration_s > 0 ? start_ns + static_cast<uint64_t>(o.duration_s * 1e9) : 0),
        interval_ns_(static_cast<uint64_t>(o.interval_s * 1e9)),
        next_(interval_ns_ ? start_ns + interval_ns_ : 0) {}
  [[nodiscard]] bool expired(uint64_t now) const { return deadline_ && now >= deadline_; }
  // True once per interval when an interval report is due (never without --interval).
  [[nodiscard]] bool report_due(uint64_t now) {
    if (!next_ || now < next_) return false;
    next_ += interval_ns_;
    return true;
  }

 private:
  uint64_t deadline_, interval_ns_, next_;
};

}  // namespace nettrace::cli
