// SPDX-License-Identifier: GPL-2.0
#pragma once
// Results go to stdout, logs to stderr. A tool renders each record either as text or, with --json,
// as one JSON object per line with a "type" field (NDJSON). Field names are snake_case (docs/output.md).

#include <cstdio>
#include <string_view>

#include <nlohmann/json.hpp>

namespace nettrace::output {

class Output {
 public:
  explicit Output(bool json, FILE* out = stdout) : json_(json), out_(out) {}
  [[nodiscard]] bool json() const noexcept { return json_; }
  // One NDJSON line. j must contain "type".
  void record(const nlohmann::json& j);
  // Text for humans; ignored in JSON mode.
  void text(std::string_view s);
  void flush();

 private:
  bool json_;
  FILE* out_;
};

}  // namespace nettrace::output
