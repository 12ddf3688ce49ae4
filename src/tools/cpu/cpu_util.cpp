// SPDX-License-Identifier: GPL-2.0
#include "tools/cpu/cpu_util.hpp"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "nettrace/core/error.hpp"
#include "nettrace/sys/files.hpp"

namespace nettrace::tools::cpu {
namespace {

bool parse_uint(std::string_view s, uint64_t& out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t pos = s.find(sep, start);
    out.push_back(s.substr(start, pos == std::string_view::npos ? std::string_view::npos : pos - start));
    if (pos == std::string_view::npos) break;
    start = pos + 1;
  }
  return out;
}

}  // namespace

std::vector<int> parse_cpu_list(const std::string& value, int ncpus, const std::string& flag) {
  auto bad = [&](const std::string& why) {
    return usage_error(fmt::format("{}: invalid CPU list '{}': {}", flag, value, why));
  };
  if (value.empty()) throw bad("empty");
  std::vector<int> out;
  for (auto part : split(value, ',')) {
    if (part.empty()) throw bad("empty element");
    uint64_t lo = 0, hi = 0;
    auto dash = part.find('-');
    if (dash == std::string_view::npos) {
      if (!parse_uint(part, lo)) throw bad(fmt::format("'{}' is not a CPU number", part));
      hi = lo;
    } else {
      if (!parse_uint(part.substr(0, dash), lo) || !parse_uint(part.substr(dash + 1), hi))
        throw bad(fmt::format("'{}' is not a range like 2-5", part));
      if (hi < lo) throw bad(fmt::format("range '{}' is reversed", part));
    }
    if (hi >= static_cast<uint64_t>(ncpus))
      throw bad(fmt::format("CPU {} does not exist (CPUs are 0-{})", hi, ncpus - 1));
    for (uint64_t c = lo; c <= hi; c++) out.push_back(static_cast<int>(c));
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::vector<uint32_t> parse_id_list(const std::string& value, const std::string& flag) {
  std::vector<uint32_t> out;
  for (auto part : split(value, ',')) {
    uint64_t v = 0;
    if (!parse_uint(part, v) || v == 0 || v > UINT32_MAX)
      throw usage_error(fmt::format("{}: invalid id '{}' in '{}'", flag, part, value));
    out.push_back(static_cast<uint32_t>(v));
  }
  if (out.empty()) throw usage_error(fmt::format("{}: empty list", flag));
  return out;
}

std::vector<std::pair<uint32_t, std::string>> threads_named(std::string_view prefix, const std::string& proc) {
  std::vector<std::pair<uint32_t, std::string>> out;
  DIR* d = opendir(proc.c_str());
  if (!d) return out;
  while (dirent* pe = readdir(d)) {
    uint64_t pid = 0;
    if (!parse_uint(pe->d_name, pid)) continue;
    const std::string task_dir = fmt::format("{}/{}/task", proc, pe->d_name);
    DIR* t = opendir(task_dir.c_str());
    if (!t) continue;
    while (dirent* te = readdir(t)) {
      uint64_t tid = 0;
      if (!parse_uint(te->d_name, tid)) continue;
      std::string comm = sys::read_first_line(fmt::format("{}/{}/comm", task_dir, te->d_name));
      if (comm.compare(0, prefix.size(), prefix) == 0) out.emplace_back(static_cast<uint32_t>(tid), comm);
    }
    closedir(t);
  }
  closedir(d);
  return out;
}

bool process_exists(uint32_t pid, const std::string& proc) {
  std::ifstream f(fmt::format("{}/{}/status", proc, pid));
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("Tgid:", 0) == 0) {
      uint64_t tgid = 0;
      std::string v = line.substr(5);
      v.erase(0, v.find_first_not_of(" \t"));
      return parse_uint(v, tgid) && tgid == pid;
    }
  return false;
}

bool thread_exists(uint32_t tid, const std::string& proc) {
  struct stat st {};
  // /proc/<tid> resolves for any thread id even though it is not listed.
  return ::stat(fmt::format("{}/{}/status", proc, tid).c_str(), &st) == 0;
}

std::vector<std::string> mapped_files(uint32_t pid, const std::string& proc) {
  std::vector<std::string> out;
  std::ifstream f(fmt::format("{}/{}/maps", proc, pid));
  std::string line;
  while (std::getline(f, line)) {
    // address perms offset dev inode pathname; the pathname may contain spaces.
    std::istringstream in(line);
    std::string addr, perms, offset, dev, inode;
    if (!(in >> addr >> perms >> offset >> dev >> inode) || inode == "0") continue;
    std::string path;
    std::getline(in, path);
    path.erase(0, path.find_first_not_of(' '));
    if (path.empty() || path[0] != '/' || path.find(" (deleted)") != std::string::npos) continue;
    if (std::find(out.begin(), out.end(), path) == out.end()) out.push_back(path);
  }
  return out;
}

std::string fold_stack(std::string_view comm, const std::vector<std::string>& user_inner_first,
                       const std::vector<std::string>& kernel_inner_first, bool delimited) {
  std::string out(comm);
  for (auto it = user_inner_first.rbegin(); it != user_inner_first.rend(); ++it) out += ";" + *it;
  if (delimited && !user_inner_first.empty() && !kernel_inner_first.empty()) out += ";-";
  for (auto it = kernel_inner_first.rbegin(); it != kernel_inner_first.rend(); ++it) out += ";" + *it;
  // Folded lines split on ';' and the last ' ': neither may appear inside a frame.
  for (size_t i = comm.size(); i < out.size(); i++)
    if (out[i] == ' ') out[i] = '_';
  for (size_t i = 0; i < comm.size() && i < out.size(); i++)
    if (out[i] == ' ' || out[i] == ';') out[i] = '_';
  return out;
}

std::vector<CpuTimes> parse_proc_stat(std::string_view text) {
  std::vector<CpuTimes> out;
  for (auto line : split(text, '\n')) {
    if (line.rfind("cpu", 0) != 0) continue;
    auto fields = split(line, ' ');
    std::vector<std::string_view> f;
    for (auto x : fields)
      if (!x.empty()) f.push_back(x);
    if (f.size() < 5) continue;
    CpuTimes t;
    if (f[0] != "cpu") {
      uint64_t n = 0;
      if (!parse_uint(f[0].substr(3), n)) continue;
      t.cpu = static_cast<int>(n);
    }
    uint64_t* dst[] = {&t.user, &t.nice, &t.system, &t.idle, &t.iowait, &t.irq, &t.softirq, &t.steal};
    for (size_t i = 0; i < 8 && i + 1 < f.size(); i++) parse_uint(f[i + 1], *dst[i]);
    out.push_back(t);
  }
  return out;
}

CpuUsage usage_between(const CpuTimes& a, const CpuTimes& b) {
  CpuUsage u;
  u.cpu = b.cpu;
  const double total = static_cast<double>(b.total() - a.total());
  if (total <= 0) {
    u.idle = 100;
    return u;
  }
  auto pct = [&](uint64_t x, uint64_t y) { return 100.0 * static_cast<double>(y - x) / total; };
  u.user = pct(a.user + a.nice, b.user + b.nice);
  u.system = pct(a.system, b.system);
  u.irq = pct(a.irq, b.irq);
  u.softirq = pct(a.softirq, b.softirq);
  u.idle = pct(a.idle, b.idle);
  u.iowait = pct(a.iowait, b.iowait);
  u.steal = pct(a.steal, b.steal);
  u.busy = pct(a.busy(), b.busy());
  return u;
}

}  // namespace nettrace::tools::cpu
