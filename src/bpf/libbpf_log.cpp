// SPDX-License-Identifier: GPL-2.0
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <string>

#include <spdlog/spdlog.h>

#include "nettrace/bpf/handles.hpp"

namespace nettrace::bpf {
namespace {
int libbpf_print(enum libbpf_print_level level, const char* format, va_list args) {
  va_list copy;
  va_copy(copy, args);
  const int len = vsnprintf(nullptr, 0, format, copy);
  va_end(copy);
  if (len <= 0) return 0;
  std::string text(static_cast<size_t>(len) + 1, '\0');
  vsnprintf(text.data(), text.size(), format, args);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\0')) text.pop_back();
  const char* buf = text.c_str();
  // libbpf warns about every candidate it cannot use; the plan reports what matters.
  if (level == LIBBPF_WARN) spdlog::debug("libbpf: {}", buf);
  else spdlog::trace("libbpf: {}", buf);
  return 0;
}
}  // namespace

void install_libbpf_logger() { libbpf_set_print(libbpf_print); }

}  // namespace nettrace::bpf
