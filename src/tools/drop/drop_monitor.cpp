// SPDX-License-Identifier: GPL-2.0
// nettrace drop monitor (drop_monitor_controller): watch an interface's dropped counters and keep a
// capture of each interval in which they grew. The default capture is `nettrace drop` on that interface.

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "nettrace/core/error.hpp"
#include "nettrace/core/signals.hpp"
#include "nettrace/core/timefmt.hpp"
#include "nettrace/output/output.hpp"
#include "nettrace/output/report.hpp"
#include "nettrace/sys/netdev.hpp"
#include "tools/drop/drop.hpp"

namespace nettrace::tools::drop {
namespace {

struct DropCounters {
  uint64_t rx = 0, tx = 0;
};

DropCounters read_drop_counters(const std::string& ifname) {
  auto s = sys::link_stats(ifname);
  if (s.empty()) throw failure(fmt::format("interface '{}' disappeared", ifname));
  return {s["rx_dropped"], s["tx_dropped"]};
}

std::string self_path() {
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) return "/proc/self/exe";
  buf[n] = '\0';
  return buf;
}

// Runs argv with stdout and stderr to log_path; returns the child's pid.
pid_t spawn(const std::vector<std::string>& argv, const std::string& log_path) {
  int fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw failure(fmt::format("cannot create {}: {}", log_path, strerror(errno)));
  // Diagnostics apart from the capture, so a JSON capture stays parseable.
  int efd = open((log_path + ".stderr").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (efd < 0) throw failure(fmt::format("cannot create {}.stderr: {}", log_path, strerror(errno)));
  pid_t pid = fork();
  if (pid < 0) throw failure(fmt::format("fork failed: {}", strerror(errno)));
  if (pid == 0) {
    dup2(fd, STDOUT_FILENO);
    dup2(efd, STDERR_FILENO);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    // argv[0] names the tool for multi-call dispatch; the path is the real binary.
    execv(argv[0] == "nettrace" ? self_path().c_str() : args[0], args.data());
    _exit(127);
  }
  close(fd);
  close(efd);
  return pid;
}

bool sleep_until(uint64_t deadline_ns) {
  while (!core::stop_requested()) {
    uint64_t now = core::monotonic_ns();
    if (now >= deadline_ns) return true;
    uint64_t left = deadline_ns - now;
    usleep(static_cast<useconds_t>(std::min<uint64_t>(left / 1000, 100000)));
  }
  return false;
}

void stop_child(pid_t pid) {
  kill(pid, SIGINT);
  for (int i = 0; i < 50; i++) {
    if (waitpid(pid, nullptr, WNOHANG) == pid) return;
    usleep(100000);
  }
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
}

size_t count_lines_with(const std::string& path, const std::string& needle) {
  FILE* f = fopen(path.c_str(), "re");
  if (!f) return 0;
  size_t n = 0;
  char* line = nullptr;
  size_t cap = 0;
  while (getline(&line, &cap, f) > 0)
    if (strstr(line, needle.c_str())) n++;
  free(line);
  fclose(f);
  return n;
}

}  // namespace

int run_monitor(const MonitorOptions& o) {
  (void)cli::apply_common(o.common);
  core::install_stop_handlers();
  output::Output out(o.common.json);
  std::error_code ec;
  std::filesystem::create_directories(o.log_dir, ec);
  if (ec) throw usage_error(fmt::format("--log-dir: cannot create '{}': {}", o.log_dir, ec.message()));
  const bool builtin = o.command.empty();
  const uint64_t start = core::monotonic_ns();
  const uint64_t interval_ns = static_cast<uint64_t>(o.common.interval_s * 1e9);
  out.text(fmt::format("Watching {} drop counters every {}s; captures kept in {}\n", o.interface, o.common.interval_s,
                       o.log_dir));
  uint64_t cycles = 0, kept = 0;
  while (!core::stop_requested()) {
    if (o.common.duration_s > 0 && core::monotonic_ns() - start >= static_cast<uint64_t>(o.common.duration_s * 1e9)) break;
    const std::string stamp = core::format_local(core::realtime_ns(), false);
    std::string file_stamp;  // "2026-11-25-123045"
    for (char c : stamp)
      if (c != ':') file_stamp.push_back(c == ' ' ? '-' : c);
    const std::string log = fmt::format("{}/{}-{}.log", o.log_dir, o.interface, file_stamp);
    const std::string ready = fmt::format("{}/.{}-ready-{}", o.log_dir, o.interface, getpid());
    unlink(ready.c_str());
    std::vector<std::string> argv;
    if (builtin)
      argv = {"nettrace", "drop", "--interface", o.interface, "--json", "--ready-file", ready};
    else
      argv = {"/bin/sh", "-c", o.command};
    pid_t child = spawn(argv, log);
    if (builtin) {
      // Count from the moment the capture is attached, so the log and the counters cover the same window.
      const uint64_t wait_until = core::monotonic_ns() + 10000000000ULL;
      while (access(ready.c_str(), F_OK) != 0 && core::monotonic_ns() < wait_until && !core::stop_requested()) {
        if (waitpid(child, nullptr, WNOHANG) == child) throw failure(fmt::format("capture exited early; see {}", log));
        usleep(5000);
      }
      unlink(ready.c_str());
    }
    const DropCounters before = read_drop_counters(o.interface);
    if (cycles == 0) cli::signal_ready(o.common);  // the first capture window is open
    const bool full = sleep_until(core::monotonic_ns() + interval_ns);
    const DropCounters after = read_drop_counters(o.interface);
    stop_child(child);
    if (!o.stop_command.empty()) {
      int rc = system(o.stop_command.c_str());
      if (rc != 0) spdlog::warn("--stop-command exited with status {}", rc);
    }
    cycles++;
    const uint64_t rx = after.rx - before.rx, tx = after.tx - before.tx;
    const bool keep = rx + tx > 0;
    if (keep) kept++;
    else unlink(log.c_str());
    struct stat st {};
    if (!keep || (stat((log + ".stderr").c_str(), &st) == 0 && st.st_size == 0)) unlink((log + ".stderr").c_str());
    const size_t captured = keep && builtin ? count_lines_with(log, "\"type\":\"drop\"") : 0;
    output::Report r("drop_monitor");
    r.time(core::realtime_ns())
        .heading(fmt::format("{}: rx_dropped +{} tx_dropped +{}{}", o.interface, rx, tx,
                             keep ? fmt::format(" -> kept {}{}", log, builtin ? fmt::format(" ({} drop events)", captured) : "")
                                  : ""));
    r.field("interface", o.interface).field("rx_dropped", rx).field("tx_dropped", tx).field("kept", keep);
    r.field("log", keep ? log : "").field("complete_interval", full);
    if (builtin && keep) r.field("captured_drops", captured);
    out.emit(r);
    if (!full) break;
  }
  out.text(fmt::format("{} cycles, {} captures kept\n", cycles, kept));
  return 0;
}

}  // namespace nettrace::tools::drop
