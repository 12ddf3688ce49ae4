// SPDX-License-Identifier: GPL-2.0
#include "nettrace/output/output.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "nettrace/core/signals.hpp"
#include "nettrace/core/status_line.hpp"
#include "nettrace/core/timefmt.hpp"
#include "nettrace/output/report.hpp"

namespace nettrace::output {
namespace {
constexpr size_t kFlushAt = 256 * 1024;  // batch size before a write is forced between polls
constexpr size_t kPipeChunk = 4096;      // PIPE_BUF: a pipe reported writable takes this much without blocking
}  // namespace

Output::Output(bool json, int fd) : json_(json), fd_(fd) {
  struct stat st {};
  if (fstat(fd_, &st) == 0) {
    fifo_ = S_ISFIFO(st.st_mode);
    // A bigger pipe absorbs bursts (a drop storm) while the reader catches up; best effort.
    if (fifo_) pipe_size_ = fcntl(fd_, F_SETPIPE_SZ, 1 << 20) > 0 ? fcntl(fd_, F_GETPIPE_SZ) : fcntl(fd_, F_GETPIPE_SZ);
    socket_ = S_ISSOCK(st.st_mode);
  }
  buf_.reserve(kFlushAt + 64 * 1024);
}

void Output::record(const nlohmann::json& j, bool event) {
  if (!json_) return;
  // Invalid UTF-8 (a comm or ifname with odd bytes) is replaced rather than thrown.
  buf_ += j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  buf_.push_back('\n');
  commit(event);
}

void Output::text(std::string_view s, bool event) {
  if (json_) return;
  buf_.append(s);
  commit(event);
}

void Output::emit(const Report& r, bool event) {
  if (json_) record(r.to_json(), event);
  else if (std::string t = r.to_text(); !t.empty()) text(t, event);
}

void Output::commit(bool event) {
  if (closed_ || error_) {  // nobody will read it: a closed reader is not a loss the user can see
    if (event && error_) unwritten_++;
    buf_.clear();
    written_ = 0;
    event_ends_.clear();
    return;
  }
  if (event) event_ends_.push_back(buf_.size());
  if (buf_.size() - written_ >= kFlushAt) (void)flush();
}

Output::Wait Output::wait_writable(bool at_end) {
  for (;;) {
    pollfd p{fd_, POLLOUT, 0};
    const int n = poll(&p, 1, 100);
    if (n > 0) {
      if (p.revents & POLLOUT) return Wait::Ready;
      if (p.revents & (POLLERR | POLLHUP)) return Wait::Ready;  // write() reports the error
    } else if (n < 0 && errno != EINTR) {
      return Wait::Ready;  // not pollable: let write() decide
    }
    if (at_end) {
      if (core::stop_signals() > signals_at_end_) return Wait::Stop;
    } else if (core::stop_requested() || (deadline_ns_ && core::monotonic_ns() >= deadline_ns_)) {
      return Wait::Stop;
    }
  }
}

bool Output::write_out(bool at_end) {
  if (written_ < buf_.size()) core::status_line::clear();  // stdout may be the same terminal
  while (written_ < buf_.size()) {
    if (fifo_ || at_end) {
      Wait w = wait_writable(at_end);
      if (w == Wait::Stop) return false;
    }
    size_t len = buf_.size() - written_;
    if (fifo_) len = std::min(len, pipe_room());
    const ssize_t n = ::write(fd_, buf_.data() + written_, len);
    if (n > 0) {
      written_ += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) {
      if (!at_end && core::stop_requested()) return false;
      if (at_end && core::stop_signals() > signals_at_end_) return false;
      continue;
    }
    if (n < 0 && errno == EAGAIN) {
      if (wait_writable(at_end) == Wait::Stop) return false;
      continue;
    }
    if (n < 0 && errno == EPIPE) {
      closed_ = true;
    } else {
      error_ = n < 0 ? errno : EIO;
    }
    abandon();
    core::request_stop();
    return false;
  }
  events_written_ += event_ends_.size();
  event_ends_.clear();
  buf_.clear();
  written_ = 0;
  return true;
}

void Output::abandon() {
  // Events whose bytes were not all written are lost to the reader; a closed reader asked for no more.
  size_t done = 0;
  while (done < event_ends_.size() && event_ends_[done] <= written_) done++;
  events_written_ += done;
  if (!closed_) unwritten_ += event_ends_.size() - done;
  event_ends_.clear();
  buf_.clear();
  written_ = 0;
}

// Bytes a write can put into our pipe without blocking: its size less what is unread, less a page of slack
// (the pipe holds whole pages); at least PIPE_BUF, which poll's POLLOUT guarantees.
size_t Output::pipe_room() const {
  int unread = 0;
  if (pipe_size_ <= 0 || ioctl(fd_, FIONREAD, &unread) != 0) return kPipeChunk;
  const long room = static_cast<long>(pipe_size_) - unread - 4096;
  return room > static_cast<long>(kPipeChunk) ? static_cast<size_t>(room) : kPipeChunk;
}

void Output::check_reader() {
  if (closed_ || error_ || !(fifo_ || socket_)) return;
  pollfd p{fd_, 0, 0};
  if (poll(&p, 1, 0) == 1 && (p.revents & (POLLERR | POLLHUP))) {
    closed_ = true;
    buf_.clear();
    written_ = 0;
    event_ends_.clear();
    core::request_stop();
  }
}

bool Output::flush() {
  if (closed_ || error_) return false;
  if (buf_.empty()) return true;
  return write_out(false);
}

void Output::finish() {
  if (closed_ || error_ || buf_.empty()) return;
  // The signal that stopped the run is not the one that gives up.
  if (!ending_) signals_at_end_ = core::stop_signals();
  ending_ = true;
  if (!write_out(true) && !closed_ && !error_) abandon();
}

}  // namespace nettrace::output
