// SPDX-License-Identifier: GPL-2.0
#include "nettrace/core/status_line.hpp"

#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>

namespace nettrace::core::status_line {
namespace {

bool shown = false;

void write_all(std::string_view s) noexcept {
  while (!s.empty()) {
    const ssize_t n = ::write(2, s.data(), s.size());
    if (n <= 0) return;  // a status line is never worth a retry loop or an error
    s.remove_prefix(static_cast<size_t>(n));
  }
}

}  // namespace

bool enabled() noexcept {
  static const bool on = [] {
    const char* term = std::getenv("TERM");
    return isatty(2) == 1 && std::getenv("NETTRACE_NO_STATUS") == nullptr && !(term && std::strcmp(term, "dumb") == 0);
  }();
  return on;
}

void show(std::string_view text) noexcept {
  if (!enabled()) return;
  std::string line = "\r\033[K";
  line.append(text);
  write_all(line);
  shown = true;
}

void clear() noexcept {
  if (!shown) return;
  write_all("\r\033[K");
  shown = false;
}

}  // namespace nettrace::core::status_line
