// SPDX-License-Identifier: GPL-2.0
#include <dirent.h>
#include <sys/resource.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <string>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "nettrace/bpf/handles.hpp"

namespace nettrace::bpf {
namespace {
bool g_saw_emfile = false;  // libbpf said "Too many open files" somewhere, whatever it returned

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
  if (text.find("Too many open files") != std::string::npos || text.find("-EMFILE") != std::string::npos)
    g_saw_emfile = true;
  // libbpf warns about every candidate it cannot use; the plan reports what matters.
  if (level == LIBBPF_WARN) spdlog::debug("libbpf: {}", buf);
  else spdlog::trace("libbpf: {}", buf);
  return 0;
}

// True when no more file descriptors can be opened (the limit is reached or almost).
bool out_of_fds() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return false;
  DIR* d = opendir("/proc/self/fd");
  if (!d) return errno == EMFILE || errno == ENFILE;
  rlim_t n = 0;
  while (readdir(d)) n++;
  closedir(d);
  return n + 4 >= rl.rlim_cur;  // ".", "..", the dir's own fd
}
}  // namespace

std::string errno_text(int err) {
  if (err != EMFILE && err != ENFILE) return strerror(err);
  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  return fmt::format("too many open files (EMFILE; limit {}, raise `ulimit -n`)", static_cast<unsigned long long>(rl.rlim_cur));
}

Error load_error(const char* what, int err) {
  if (err == EMFILE || err == ENFILE || g_saw_emfile || out_of_fds()) {
    rlimit rl{};
    getrlimit(RLIMIT_NOFILE, &rl);
    return failure(fmt::format("cannot load BPF programs for {}: too many open files (EMFILE; limit {}, raise `ulimit -n`)",
                               what, static_cast<unsigned long long>(rl.rlim_cur)));
  }
  if (err == EPERM || err == EACCES)
    return failure(fmt::format("cannot load BPF programs for {}: {}", what, strerror(err)),
                   "needs root, or CAP_BPF and CAP_PERFMON; kernel lockdown or unprivileged_bpf_disabled may also refuse");
  return failure(fmt::format("cannot load BPF programs for {}: {}", what, strerror(err)), "run with --debug for the verifier log");
}

void install_libbpf_logger() { libbpf_set_print(libbpf_print); }

}  // namespace nettrace::bpf
