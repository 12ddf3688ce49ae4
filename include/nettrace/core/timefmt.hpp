// SPDX-License-Identifier: GPL-2.0
#pragma once
// BPF timestamps are CLOCK_MONOTONIC; users read wall-clock time. One offset, taken once, converts.

#include <cstdint>
#include <string>

namespace nettrace::core {

[[nodiscard]] uint64_t monotonic_ns();
[[nodiscard]] uint64_t realtime_ns();
// Wall-clock nanoseconds for a CLOCK_MONOTONIC timestamp.
[[nodiscard]] uint64_t mono_to_realtime(uint64_t mono_ns);
// "2026-11-25 12:30:45.123" in local time.
[[nodiscard]] std::string format_local(uint64_t realtime_ns, bool with_ms = true);
// "2026-11-25T12:30:45.123456Z".
[[nodiscard]] std::string format_iso8601(uint64_t realtime_ns);

}  // namespace nettrace::core
