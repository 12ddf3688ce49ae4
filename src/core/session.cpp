// SPDX-License-Identifier: GPL-2.0
#include "nettrace/core/session.hpp"

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "nettrace/bpf/maps.hpp"
#include "nettrace/core/error.hpp"
#include "nettrace/core/signals.hpp"
#include "nettrace/core/status_line.hpp"
#include "nettrace/core/timefmt.hpp"
#include "nettrace/sys/mounts.hpp"

namespace nettrace::core {
namespace {

constexpr uint64_t kSecond = 1000000000ULL;

// Effective capabilities from /proc/self/status (no libcap): loading and attaching tracing programs needs
// CAP_BPF and CAP_PERFMON (5.8+), or CAP_SYS_ADMIN.
void require_bpf_privileges() {
  std::ifstream f("/proc/self/status");
  std::string line;
  uint64_t eff = 0;
  bool found = false;
  while (std::getline(f, line))
    if (line.rfind("CapEff:", 0) == 0) {
      eff = std::stoull(line.substr(7), nullptr, 16);
      found = true;
    }
  if (!found) return;  // no procfs: let the kernel answer
  constexpr int kSysAdmin = 21, kPerfmon = 38, kBpf = 39;
  auto has = [eff](int cap) { return (eff >> cap) & 1; };
  if (has(kSysAdmin) || (has(kBpf) && has(kPerfmon))) return;
  std::vector<std::string> missing;
  if (!has(kBpf)) missing.emplace_back("CAP_BPF");
  if (!has(kPerfmon)) missing.emplace_back("CAP_PERFMON");
  throw failure(fmt::format("needs root, or CAP_BPF and CAP_PERFMON (this process lacks {})", fmt::join(missing, " and ")));
}

uint64_t sum_slot(int fd, int slot) { return fd >= 0 && slot >= 0 ? bpf::read_percpu_sum(fd, static_cast<uint32_t>(slot)) : 0; }

}  // namespace

std::string printable(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) out += fmt::format("\\x{:02x}", c);
    else out.push_back(static_cast<char>(c));
  }
  return out;
}

Housekeeping Housekeeping::since(const Housekeeping& e) const {
  auto d = [](uint64_t a, uint64_t b) { return a > b ? a - b : 0; };
  return {d(lost_events, e.lost_events),       d(map_full, e.map_full),   d(stack_failures, e.stack_failures),
          d(probe_misses, e.probe_misses),     d(unwritten, e.unwritten), d(render_errors, e.render_errors)};
}

void Housekeeping::add_to(nlohmann::json& j) const {
  j["lost_events"] = lost_events;
  j["map_full"] = map_full;
  j["stack_failures"] = stack_failures;
  j["probe_misses"] = probe_misses;
  if (unwritten) j["unwritten"] = unwritten;
  if (render_errors) j["render_errors"] = render_errors;
}

std::string Housekeeping::text() const {
  std::string t = fmt::format("Lost events: {}\n", lost_events);
  if (map_full) t += fmt::format("Updates lost (map full): {}\n", map_full);
  if (stack_failures) t += fmt::format("Stacks not captured: {}\n", stack_failures);
  if (probe_misses) t += fmt::format("Probe runs skipped by the kernel (nested in an interrupt): {}\n", probe_misses);
  if (render_errors) t += fmt::format("Events that could not be rendered: {}\n", render_errors);
  return t;
}

void Summary::add_to(nlohmann::json& j) const {
  j["duration_s"] = seconds;
  j["events_received"] = events_received;
  j["intervals"] = intervals;
  totals.add_to(j);
}

struct Session::Rb {
  Session* session;
  EventFn fn;
};

Session::Session(std::string tool, const cli::CommonOptions& common)
    : tool_(std::move(tool)), common_(common), out_(common.json) {
  auto forced = cli::apply_common(common_);
  require_bpf_privileges();
  (void)bpf::possible_cpus();  // fail here, loudly, rather than misread a per-CPU map later
  if (forced) plan_.force(*forced);
  install_stop_handlers();
}

Session::~Session() {
  detach();
}

void Session::adapt(bpf_object* obj) {
  const bpf::Probe& p = features_.global_func_ptr_args();
  // NETTRACE_STATIC_SUBPROGS=1 takes the older kernels' way on any kernel (tests: its verifier complexity).
  const char* force = getenv("NETTRACE_STATIC_SUBPROGS");
  if (p.ok && !(force && *force == '1')) return;
  std::vector<std::string> names = bpf::make_ptr_subprogs_static(obj);
  if (!names.empty())
    spdlog::debug("{}: {}: verifying {} at each call site (static)", tool_, p.ok ? "forced" : p.detail,
                  fmt::join(names, ", "));
}

void Session::choose(bpf_object* obj) {
  plan_.choose(obj, features_);
  chosen_ = true;
}

void Session::add_links(std::vector<bpf::Link> links) {
  for (auto& l : links) links_.push_back(std::move(l));
}

void Session::add_link(bpf_link* link) { links_.emplace_back(link); }

void Session::attach() {
  // A tool whose hooks are all its own (uprobes, perf events) has no variant to force.
  if (!common_.attach.empty() && !chosen_)
    throw failure(fmt::format("--attach {}: no hook of {} attaches that way", common_.attach, tool_));
  if (!obj_) throw failure(fmt::format("internal: {} attached before load", tool_));
  // libbpf looks up /sys/kernel/debug/tracing to attach a classic tracepoint or a legacy kprobe, which
  // automounts tracefs there: only in a mount namespace of our own, so the host never sees it. Not for every
  // tool: in the lab's chrooted guest, other processes' /proc/PID/root paths (uprobes, user symbols) do not
  // resolve from another mount namespace.
  for (const auto& ch : plan_.choices())
    if (ch.chosen && (ch.candidate.kind == bpf::AttachKind::Tracepoint || ch.candidate.kind == bpf::AttachKind::Kprobe ||
                      ch.candidate.kind == bpf::AttachKind::Kretprobe)) {
      sys::enter_private_mount_namespace();
      break;
    }
  add_links(plan_.attach(obj_));
  start_ns_ = monotonic_ns();
  spdlog::info("attached: {}", plan_.describe());
  cli::signal_ready(common_);
}

void Session::add_ring_buffer(int map_fd, EventFn fn) {
  handlers_.push_back(std::make_unique<Rb>(Rb{this, std::move(fn)}));
  Rb* h = handlers_.back().get();
  if (!rb_) rb_ = std::make_unique<bpf::RingReader>();
  rb_->add(map_fd, [this, h](const void* data, size_t size) { on_sample(*h, data, size); });
}

void Session::on_sample(Rb& h, const void* data, size_t size) noexcept {
  Session& s = *this;
  s.received_++;
  try {
    h.fn(data, size);
  } catch (const std::exception& e) {
    s.render_errors_++;
    if (!s.render_error_logged_) spdlog::warn("cannot render an event: {} (counted as render_errors)", e.what());
    s.render_error_logged_ = true;
  } catch (...) {
    s.render_errors_++;
  }
}

int Session::poll_events(int timeout_ms) {
  if (!rb_) {
    // No ring buffer: sleep until the next check; a signal ends the wait early.
    (void)poll(nullptr, 0, timeout_ms);
    return 0;
  }
  const int n = rb_->poll(timeout_ms);
  if (n < 0 && n != -EINTR) throw failure(fmt::format("ring buffer poll failed: {}", strerror(-n)));
  return n;
}

void Session::drain() {
  if (rb_) (void)rb_->consume();
  (void)out_.flush();
}

Housekeeping Session::housekeeping() const {
  Housekeeping h;
  h.lost_events = sum_slot(slots_.fd, slots_.lost);
  h.map_full = sum_slot(slots_.fd, slots_.map_full);
  for (int s : slots_.stack_failures) h.stack_failures += sum_slot(slots_.fd, s);
  h.probe_misses = obj_ ? bpf::recursion_misses(obj_) : 0;
  h.unwritten = out_.unwritten();
  h.render_errors = render_errors_;
  return h;
}

void Session::housekeeping_second(uint64_t now) {
  out_.check_reader();  // `nettrace … | head -1` ends when head does, even if nothing more is written
  const uint64_t lost = slots_.lost < 0 ? 0 : sum_slot(slots_.fd, slots_.lost);
  if (lost > warned_lost_) {
    spdlog::warn("{} events lost (ring buffer full); the totals still count them", lost - warned_lost_);
    warned_lost_ = lost;
  }
  if (status_line::enabled()) {
    const uint64_t secs = (now - start_ns_) / kSecond;
    std::string s = fmt::format("nettrace {}: {:02}:{:02}:{:02}", tool_, secs / 3600, secs / 60 % 60, secs % 60);
    if (!handlers_.empty()) s += fmt::format(", {} events, {} lost", events_received(), lost);
    status_line::show(s + " (Ctrl-C to stop)");
  }
}

void Session::detach() noexcept { links_.clear(); }

int Session::run(SessionTool& tool) {
  if (!start_ns_) start_ns_ = monotonic_ns();
  cli::RunClock clock(common_, start_ns_);
  const uint64_t deadline = common_.duration_s > 0 ? start_ns_ + static_cast<uint64_t>(common_.duration_s * 1e9) : 0;
  out_.set_deadline(deadline);
  const uint64_t interval_ns = static_cast<uint64_t>(common_.interval_s * 1e9);
  uint64_t next_second = start_ns_ + kSecond, last_tick = start_ns_, intervals = 0;
  Housekeeping last_hk;

  auto report = [&](uint64_t now, bool last) {
    Housekeeping hk = housekeeping();
    intervals++;
    tool.on_interval(Interval{last_tick, now, static_cast<double>(now - last_tick) / 1e9, intervals, last, hk.since(last_hk)});
    last_hk = hk;
    last_tick = now;
  };

  while (!stop_requested()) {
    uint64_t now = monotonic_ns();
    // Wake for whichever comes first: the next second, the next interval, the end.
    uint64_t wake = next_second;
    if (interval_ns) wake = std::min(wake, last_tick + interval_ns);
    if (deadline) wake = std::min(wake, deadline);
    const int timeout = wake > now ? static_cast<int>(std::min<uint64_t>((wake - now) / 1000000 + 1, 100)) : 0;
    poll_events(timeout);
    (void)out_.flush();
    now = monotonic_ns();
    if (deadline && now >= deadline) break;  // the last interval is reported after detach
    if (now >= next_second) {
      housekeeping_second(now);
      tool.on_second(now);
      next_second = now + kSecond;
    }
    if (clock.report_due(now)) {
      drain();
      report(now, false);
    }
  }
  // The end, in this order for every tool: drain, detach, drain what came in meanwhile, write out the
  // events (waiting for a slow reader; a second stop signal gives up), then the last reads and the summary.
  drain();
  detach();
  status_line::clear();
  drain();
  out_.finish();
  if (out_.unwritten() && !out_.error())
    spdlog::warn("gave up on a blocked stdout: {} records not written (counted as unwritten)", out_.unwritten());
  const uint64_t now = monotonic_ns();
  const uint64_t end = deadline && now >= deadline ? deadline : now;
  // The tail since the last report, so interval figures add up to the summary; an interval that just
  // ended (Ctrl-C right after a report) has nothing to add.
  if (interval_ns && end > last_tick + 1000000) report(end, true);
  tool.on_end(Summary{start_ns_, end, static_cast<double>(end - start_ns_) / 1e9, intervals, events_received(),
                      housekeeping()});
  out_.finish();
  if (out_.error()) throw failure(fmt::format("cannot write to stdout: {}", strerror(out_.error())));
  return 0;
}

}  // namespace nettrace::core
