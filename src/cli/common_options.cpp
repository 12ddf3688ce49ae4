// SPDX-License-Identifier: GPL-2.0
#include "nettrace/cli/common_options.hpp"

#include <cctype>
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
  else if (unit == "us") scale = 1e-6;
  else if (unit == "ns") scale = 1e-9;
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

double parse_threshold_us(const std::string& value, const std::string& flag, const std::string& bare_unit) {
  bool bare = !value.empty() && (std::isdigit(static_cast<unsigned char>(value.back())) || value.back() == '.');
  return parse_seconds(bare ? value + bare_unit : value, flag) * 1e6;
}

namespace {
std::string with_synonyms(const std::string& names, const std::string& synonyms) {
  return synonyms.empty() ? names : names + "," + synonyms;
}
}  // namespace

CLI::Option* add_threshold_option(CLI::App& app, double& threshold_us, const std::string& what,
                                  const std::string& bare_unit, const std::string& synonyms) {
  const std::string names = with_synonyms("--threshold", synonyms);
  return app
      .add_option_function<std::string>(
          names, [&threshold_us, bare_unit](const std::string& v) { threshold_us = parse_threshold_us(v, "--threshold", bare_unit); },
          fmt::format("{}; 500us, 10ms, 1s, or a bare number in {}", what, bare_unit))
      ->option_text("DURATION")
      ->check([bare_unit](const std::string& v) {
        try {
          (void)parse_threshold_us(v, "--threshold", bare_unit);
          return std::string();
        } catch (const Error&) {
          return fmt::format("invalid duration '{}'", v);
        }
      });
}

void add_duration_option(CLI::App& app, CommonOptions& o, double default_s, const std::string& synonyms) {
  const std::string names = with_synonyms("-d,--duration", synonyms);
  o.duration_s = default_s;
  app.add_option_function<std::string>(
         names, [&o, names](const std::string& v) { o.duration_s = parse_seconds(v, names); },
         default_s > 0 ? fmt::format("Stop after this long (seconds, or 500ms/2m; default {})", default_s)
                       : std::string("Stop after this long (seconds, or 500ms/2m); default: until Ctrl-C"))
      ->option_text("DURATION")
      ->check([names](const std::string& v) { return check_seconds(names, v); });
}

void add_interval_option(CLI::App& app, CommonOptions& o, double default_s, const std::string& synonyms) {
  const std::string names = with_synonyms("-i,--interval", synonyms);
  o.interval_s = default_s;
  app.add_option_function<std::string>(
         names, [&o, names](const std::string& v) { o.interval_s = parse_seconds(v, names); },
         default_s > 0 ? fmt::format("Report every interval (seconds, or 500ms/2m; default {})", default_s)
                       : std::string("Report every interval (seconds, or 500ms/2m); default: only the summary"))
      ->option_text("DURATION")
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
