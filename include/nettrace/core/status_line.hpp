// SPDX-License-Identifier: GPL-2.0
#pragma once
// The live status line (docs/cli.md, "Output"): elapsed time, events, lost events and "Ctrl-C to stop" on stderr,
// redrawn in place once a second, only when stderr is a terminal (never in a pipe, a file or a log). Anything else
// written to the terminal first erases it (the output layer before stdout writes, the log sink before a log
// line), so it never ends up inside another line.

#include <string_view>

namespace nettrace::core::status_line {

// stderr is a terminal, TERM is not "dumb" and NETTRACE_NO_STATUS is unset. Decided once.
[[nodiscard]] bool enabled() noexcept;
// Draws `text` as the status line (replacing the previous one); nothing when not enabled().
void show(std::string_view text) noexcept;
// Erases the status line if one is drawn.
void clear() noexcept;

}  // namespace nettrace::core::status_line
