// SPDX-License-Identifier: GPL-2.0
#include "nettrace/sys/files.hpp"

#include <fstream>
#include <sstream>

namespace nettrace::sys {

std::string read_text(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string read_first_line(const std::string& path) {
  std::ifstream f(path);
  std::string line;
  std::getline(f, line);
  return line;
}

}  // namespace nettrace::sys
