// SPDX-License-Identifier: GPL-2.0
#pragma once
// Clean stop on SIGINT/SIGTERM: handlers only set a flag that poll loops check.

namespace nettrace::core {

void install_stop_handlers();
[[nodiscard]] bool stop_requested() noexcept;
void request_stop() noexcept;
// Stop signals received so far (a second one while the last output waits for a stalled reader gives up).
[[nodiscard]] unsigned stop_signals() noexcept;

}  // namespace nettrace::core
