// SPDX-License-Identifier: GPL-2.0
#include "nettrace/output/output.hpp"

namespace nettrace::output {

void Output::record(const nlohmann::json& j) {
  if (!json_) return;
  // Invalid UTF-8 (a comm or ifname with odd bytes) is replaced rather than thrown.
  std::string line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  line.push_back('\n');
  fwrite(line.data(), 1, line.size(), out_);
  fflush(out_);
}

void Output::text(std::string_view s) {
  if (json_) return;
  fwrite(s.data(), 1, s.size(), out_);
  fflush(out_);
}

void Output::flush() { fflush(out_); }

}  // namespace nettrace::output
