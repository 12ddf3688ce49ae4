// SPDX-License-Identifier: GPL-2.0
#include "nettrace/cli/common_options.hpp"

#include <cmath>
#include <cstdio>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "nettrace/core/error.hpp"

namespace nettrace::cli {

double parse_seconds(const std::string& value, const std::string& flag) {
  size_t used = 0;
  double v = 0;
  try {
    v = std::stod(value, &used);
  } catch (const std::exception&) {
    throw usage_error(fmt::format("{}: invalid duration '{}'", flag, value));
  }
  std::string unit = value.substr(used);
  double scale = 1;
  if (unit.empty() || unit == "s") scale = 1;
  else if (unit == "ms") scale = 1e-3;
  else if (unit == "m" || unit == "min") scale = 60;
  else if (unit == "h") scale = 3600;
  else throw usage_error(fmt::format("{}: invalid duration '{}' (use e.g. 10, 1.5s, 500ms, 2m)", flag, value));
  v *= scale;
  if (!std::isfinite(v) || v < 0) throw usage_error(fmt::format("{}: invalid duration '{}'", flag, value));
  // Runs turn seconds into uint64_t nanoseconds added to a monotonic timestamp (RunClock, the tools' loops):
  // larger values would overflow that conversion (undefined behaviour; UBSan, found by fuzzing).
  if (v > kMaxSeconds)
    throw usage_error(fmt::format("{}: invalid duration '{}' (at most {} s, ten years)", flag, value, kMaxSeconds));
  return v;
}

namespace {
// CLI11 check: empty string when valid.
std::string check_seconds(const std::string& flag, const std::string& v) {
  try {
    (void)parse_seconds(v, flag);
    return {};
  } catch (const Error& e) {
    return fmt::format("invalid duration '{}'", v);
  }
}

bpf::AttachKind attach_kind(const std::string& v) {
  bpf::AttachKind k;
  if (!bpf::parse_attach_kind(v, k)) throw usage_error(fmt::format("--attach: unknown attach kind '{}'", v));
  return k;
}

}  // namespace

void add_output_options(CLI::App& app, CommonOptions& o) {
  app.add_flag("--json", o.json, "One JSON object per line on stdout (see docs/output.md)");
  app.add_flag("--debug", o.debug, "Log libbpf and attach decisions to stderr (repeat for more)");
  app.add_option_function<std::string>(
         "--attach",
         [&o](const std::string& v) {
           (void)attach_kind(v);  // validated here, so a bad value is a usage error before anything loads
           o.attach = v;
         },
         "Force one attach kind: tp_btf, raw_tp, tracepoint, fentry, kprobe")
      ->group("");
  app.add_option("--ready-file", o.ready_file, "Create this file once attached")->group("");
}

void add_duration_option(CLI::App& app, CommonOptions& o, const std::string& names, double default_s) {
  o.duration_s = default_s;
  app.add_option_function<std::string>(
         names, [&o, names](const std::string& v) { o.duration_s = parse_seconds(v, names); },
         "Stop after this long (seconds, or 500ms/2m); 0 runs until Ctrl-C")
      ->check([names](const std::string& v) { return check_seconds(names, v); });
}

void add_interval_option(CLI::App& app, CommonOptions& o, const std::string& names, double default_s) {
  o.interval_s = default_s;
  app.add_option_function<std::string>(
         names, [&o, names](const std::string& v) { o.interval_s = parse_seconds(v, names); },
         fmt::format("Report every interval (seconds; default {})", default_s))
      ->check([names](const std::string& v) {
        std::string err = check_seconds(names, v);
        if (!err.empty()) return err;
        return parse_seconds(v, names) > 0 ? std::string() : fmt::format("interval must be positive, got '{}'", v);
      });
}

std::optional<bpf::AttachKind> apply_common(const CommonOptions& o) {
  if (o.debug >= 2) spdlog::set_level(spdlog::level::trace);
  else if (o.debug == 1) spdlog::set_level(spdlog::level::debug);
  if (o.attach.empty()) return std::nullopt;
  return attach_kind(o.attach);
}

void signal_ready(const CommonOptions& o) {
  if (o.ready_file.empty()) return;
  if (FILE* f = fopen(o.ready_file.c_str(), "we")) fclose(f);
}

}  // namespace nettrace::cli
