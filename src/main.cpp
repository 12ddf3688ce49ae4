// SPDX-License-Identifier: GPL-2.0
// Multi-call entry point: `nettrace <tool> …`, or a symlink named after an original script.

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include <bpf/libbpf.h>
#include <fmt/format.h>
#include <spdlog/details/null_mutex.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include "cli_app.hpp"
#include "nettrace/bpf/handles.hpp"
#include "nettrace/core/error.hpp"
#include "nettrace/core/session.hpp"
#include "nettrace/core/status_line.hpp"
#include "tools/registry.hpp"

using namespace nettrace;

namespace {

// stderr, after erasing the live status line (core/status_line.hpp) so a log line never lands inside it.
class StderrSink final : public spdlog::sinks::base_sink<spdlog::details::null_mutex> {
 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    core::status_line::clear();
    spdlog::memory_buf_t line;
    formatter_->format(msg, line);
    std::fwrite(line.data(), 1, line.size(), stderr);
  }
  void flush_() override { std::fflush(stderr); }
};

void setup_logging() {
  auto logger = std::make_shared<spdlog::logger>("nettrace", std::make_shared<StderrSink>());
  logger->set_pattern("nettrace: %l: %v");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::info);
  bpf::install_libbpf_logger();
}

}  // namespace

int main(int argc, char** argv) {
  setup_logging();
  CLI::App app{kAppDescription, kAppName};
  RootFlags flags;
  tools::Context ctx;
  build_app(app, flags, ctx);

  const std::string invoked = invoked_name(argv[0]);
  std::vector<std::string> args;
  try {
    auto native = native_args(invoked, std::vector<std::string>(argv + 1, argv + argc), app);
    if (!native) {
      // An original script not ported yet is a usage error (2); any other name is "command not found" (127).
      bool planned = false;
      const std::string msg = unknown_invocation_message(invoked, planned);
      fmt::print(stderr, "nettrace: error: {}\n", core::printable(msg));
      return planned ? kExitUsage : 127;
    }
    args = std::move(*native);
  } catch (const Error& e) {
    fmt::print(stderr, "nettrace: error: {}\n", core::printable(e.what()));
    return e.exit_code();
  }
  {
    std::string out;
    if (auto rc = introspect(app, args, out)) {  // hidden: man pages and completion are generated from these
      fmt::print("{}", out);
      return *rc;
    }
  }

  std::reverse(args.begin(), args.end());  // CLI11 consumes the vector from its back
  try {
    app.parse(args);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    fmt::print(stderr, "nettrace: error: {}\n", core::printable(parse_error_message(app, e)));
    return kExitUsage;
  } catch (const Error& e) {
    fmt::print(stderr, "nettrace: error: {}\n", core::printable(e.what()));
    return e.exit_code();
  }

  if (flags.version) {
    fmt::print("{}\n", version_line());
    return 0;
  }
  if (flags.list_aliases) {
    for (const auto& a : tools::aliases()) fmt::print("{}\n", a.alias);
    return 0;
  }
  if (flags.list_tools) {
    for (const auto& t : tools::tools()) fmt::print("{}\n", t.name);
    return 0;
  }
  if (!ctx.action) {
    fmt::print("{}", app.help());
    return kExitUsage;
  }
  try {
    return ctx.action();
  } catch (const Error& e) {
    core::status_line::clear();
    fmt::print(stderr, "nettrace: error: {}\n", core::printable(e.what()));
    if (!e.hint().empty()) fmt::print(stderr, "nettrace: hint: {}\n", core::printable(e.hint()));
    return e.exit_code();
  } catch (const std::exception& e) {
    core::status_line::clear();
    fmt::print(stderr, "nettrace: error: {}\n", core::printable(e.what()));
    return kExitFailure;
  }
}
