// SPDX-License-Identifier: GPL-2.0
#pragma once
// A record built once and rendered by the output layer: as one NDJSON object (--json) or as text. A tool
// fills a Report with typed parts — JSON fields, text lines, notes, histograms, tables, the session's
// counters — and hands it to Output::emit(), the one place that chooses the format. Parts keep their order
// in text; JSON is one object (its keys are those of nlohmann::json, sorted).
//
//   output::Report r("schedlat_interval");
//   r.heading("=== Run-queue latency ===").time(core::realtime_ns()).interval(iv);
//   r.field("waits", n);
//   auto& t = r.table("groups", {{"comm", "COMM", 16, true}, {"count", "WAITS", 8}});
//   t.row().cell(comm).cell(count).hist("hist", h, false);
//   out.emit(r);

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "nettrace/core/histogram.hpp"

namespace nettrace::core {
struct Housekeeping;
struct Interval;
struct Summary;
}  // namespace nettrace::core

namespace nettrace::output {

struct Column {
  std::string key;            // the JSON key in a row object; empty: text only
  std::string header;         // the text header; empty: JSON only
  int width = 0;              // text width (a wider value widens its cell, never cut)
  bool left = false;          // names left-aligned, numbers right-aligned
  std::string format = "{}";  // text format of a number, e.g. "{:.1f}"
  double scale = 1;           // text shows value / scale (total_ns in JSON, TOTAL(ms) in text: 1e6)
};

class Table {
 public:
  class Row {
   public:
    // The next column's value; text: its formatted value, or `text` when given.
    Row& cell(nlohmann::json v);
    Row& cell(nlohmann::json v, std::string text);
    Row& json(const std::string& key, nlohmann::json v);  // a field of the JSON row alone
    // JSON: key → the histogram's JSON shape; text (when in_text): bcc's table under the row.
    Row& hist(const std::string& key, const core::Histogram& h, bool in_text);
    Row& text_after(std::string lines);  // text alone, under the row (stack frames, …)

   private:
    friend class Table;
    std::vector<nlohmann::json> values_;
    std::vector<std::string> texts_;
    std::vector<bool> has_text_;
    nlohmann::json extra_ = nlohmann::json::object();
    std::string after_;
  };

  Table(std::string key, std::vector<Column> cols) : key_(std::move(key)), cols_(std::move(cols)) {}
  Row& row();
  Table& title(std::string t) { title_ = std::move(t); return *this; }        // text line above the header
  Table& empty_text(std::string t) { empty_ = std::move(t); return *this; }   // text instead, without rows
  Table& indent(int n) { indent_ = n; return *this; }
  [[nodiscard]] bool empty() const noexcept { return rows_.empty(); }

  [[nodiscard]] nlohmann::json to_json() const;  // an array of row objects
  [[nodiscard]] std::string to_text() const;

 private:
  [[nodiscard]] std::string cell_text(const Column& c, const Row& r, size_t i) const;
  std::string key_, title_, empty_;
  std::vector<Column> cols_;
  std::vector<std::unique_ptr<Row>> rows_;  // stable references for row()'s callers
  int indent_ = 0;
  friend class Report;
};

class Report {
 public:
  explicit Report(std::string type);
  Report(const Report&) = delete;
  Report& operator=(const Report&) = delete;
  Report(Report&&) = default;

  Report& heading(std::string text);        // the text's first line (no newline)
  Report& time(uint64_t realtime_ns);       // JSON "time" (ISO 8601); text: "[local time] " before the heading
  Report& field(const std::string& key, nlohmann::json v);  // JSON alone (the text says it in a line)
  Report& line(std::string text);           // text alone, one line (no newline)
  Report& note(std::string text);           // a text line and, in JSON, an entry of "notes"
  Report& histogram(const std::string& key, const core::Histogram& h, bool in_text = true);
  Table& table(const std::string& key, std::vector<Column> cols);
  // The session's counters, the same names for every tool. Interval: interval_s and the counters' deltas
  // (text: a line per non-zero counter). Summary: duration_s, intervals, events_received (a tool reading a
  // ring buffer) and the totals (text: "Lost events: N" and a line per other non-zero counter).
  Report& interval(const core::Interval& iv);
  // in_text false: the counters in JSON alone (output that is another program's input: folded stacks).
  Report& summary(const core::Summary& s, bool ring_buffer, bool in_text = true);
  Report& housekeeping(const core::Housekeeping& hk, bool all_lines);

  [[nodiscard]] const std::string& type() const noexcept { return type_; }
  [[nodiscard]] nlohmann::json to_json() const;
  [[nodiscard]] std::string to_text() const;

 private:
  struct Part {
    enum Kind { Line, Hist, Tab } kind;
    std::string text;
    core::Histogram hist;
    std::unique_ptr<Table> table;
  };
  std::string type_, heading_;
  uint64_t time_ = 0;
  nlohmann::json j_ = nlohmann::json::object();
  std::vector<Part> parts_;
};

}  // namespace nettrace::output
