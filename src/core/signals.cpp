// SPDX-License-Identifier: GPL-2.0
#include "nettrace/core/signals.hpp"

#include <atomic>
#include <csignal>

namespace nettrace::core {
namespace {
std::atomic<bool> g_stop{false};
std::atomic<unsigned> g_signals{0};
void on_signal(int) {
  g_stop.store(true);
  g_signals.fetch_add(1);
}
}  // namespace

void install_stop_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGHUP, &sa, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
}

bool stop_requested() noexcept { return g_stop.load(std::memory_order_relaxed); }
void request_stop() noexcept { g_stop.store(true); }
unsigned stop_signals() noexcept { return g_signals.load(std::memory_order_relaxed); }

}  // namespace nettrace::core
