// SPDX-License-Identifier: GPL-2.0
#pragma once
// One exception type for failures the user must see; main() prints it once and exits with its code.

#include <stdexcept>
#include <string>

namespace nettrace {

enum ExitCode : int {
  kExitOk = 0,
  kExitFailure = 1,  // missing privilege or kernel feature, runtime failure
  kExitUsage = 2,    // bad flag or value (as argparse did)
};

class Error : public std::runtime_error {
 public:
  Error(int exit_code, const std::string& message, std::string hint = {})
      : std::runtime_error(message), exit_code_(exit_code), hint_(std::move(hint)) {}
  [[nodiscard]] int exit_code() const noexcept { return exit_code_; }
  [[nodiscard]] const std::string& hint() const noexcept { return hint_; }

 private:
  int exit_code_;
  std::string hint_;
};

[[nodiscard]] inline Error usage_error(const std::string& message) { return Error(kExitUsage, message); }
[[nodiscard]] inline Error failure(const std::string& message, std::string hint = {}) {
  return Error(kExitFailure, message, std::move(hint));
}

}  // namespace nettrace
