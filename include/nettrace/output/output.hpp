// SPDX-License-Identifier: GPL-2.0
#pragma once
// Results go to stdout, logs to stderr. A tool renders each record either as text or, with --json,
// as one JSON object per line with a "type" field (NDJSON). Field names are snake_case (docs/output.md).
//
// Output is buffered and written with write(2) in batches (the session flushes after every ring-buffer
// poll). A blocked reader never blocks a stop: writes wait in poll(2) and give up when a stop is requested
// or the run's deadline passes; at the end (nothing attached any more) it waits for the reader, and a second
// stop signal gives up: records not written are then counted as unwritten, never silently lost. A closed reader (EPIPE) ends the run quietly;
// any other write error ends it and is reported once (error()).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace nettrace::output {

class Report;

class Output {
 public:
  explicit Output(bool json, int fd = 1);
  ~Output() { finish(); }  // a tool that returns without finish() still gets its last lines out
  Output(const Output&) = delete;
  Output& operator=(const Output&) = delete;
  [[nodiscard]] bool json() const noexcept { return json_; }

  // One NDJSON line (JSON mode only). j must contain "type". event: counts as one delivered event.
  void record(const nlohmann::json& j, bool event = false);
  // Text for humans (text mode only): a banner or a line that has no record.
  void text(std::string_view s, bool event = false);
  // A report, as one NDJSON line or as its text: the one place that chooses (report.hpp). A report with no
  // text (a record only JSON carries) writes nothing in text mode.
  void emit(const Report& r, bool event = false);
  // Raw bytes in either mode, built by the caller into buffer() (no allocation per record): append, then
  // call commit(event).
  [[nodiscard]] std::string& buffer() noexcept { return buf_; }
  void commit(bool event);

  // Writes what is buffered. Returns false when it stopped early (stop requested, deadline, closed, error).
  bool flush();
  // The end of a run (everything is detached by then): writes what is left, waiting for a slow reader as any
  // tool writing to a pipe would; another stop signal gives up, and what is left is counted as unwritten.
  void finish();
  // A monotonic time (ns) after which flush() stops waiting for a blocked reader (the run's end).
  void set_deadline(uint64_t mono_ns) noexcept { deadline_ns_ = mono_ns; }

  // A pipe or socket whose reader went away counts as closed (and requests a stop) without a write.
  void check_reader();
  [[nodiscard]] bool closed() const noexcept { return closed_; }       // the reader went away (EPIPE)
  [[nodiscard]] int error() const noexcept { return error_; }          // errno of a failed write, 0 if none
  [[nodiscard]] uint64_t events_written() const noexcept { return events_written_; }
  [[nodiscard]] uint64_t unwritten() const noexcept { return unwritten_; }  // events never written

 private:
  enum class Wait { Ready, Stop, Fail };
  Wait wait_writable(bool at_end);
  bool write_out(bool at_end);
  void abandon();
  [[nodiscard]] size_t pipe_room() const;

  bool json_;
  int fd_;
  bool fifo_ = false, socket_ = false;
  int pipe_size_ = 0;
  std::string buf_;
  size_t written_ = 0;                // bytes of buf_ already written
  std::vector<size_t> event_ends_;    // end offset in buf_ of each buffered event
  uint64_t deadline_ns_ = 0;
  unsigned signals_at_end_ = 0;
  bool ending_ = false;
  bool closed_ = false;
  int error_ = 0;
  uint64_t events_written_ = 0, unwritten_ = 0;
};

}  // namespace nettrace::output
