// SPDX-License-Identifier: GPL-2.0
#pragma once
// Reading procfs and sysfs files: whole, or their first line. A file that cannot be read reads as empty (the
// callers treat an absent attribute as "not there", never as an error).

#include <string>

namespace nettrace::sys {

[[nodiscard]] std::string read_text(const std::string& path);
[[nodiscard]] std::string read_first_line(const std::string& path);

}  // namespace nettrace::sys
