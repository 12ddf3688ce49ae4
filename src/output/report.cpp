// SPDX-License-Identifier: GPL-2.0
#include "nettrace/output/report.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "nettrace/core/session.hpp"
#include "nettrace/core/timefmt.hpp"

namespace nettrace::output {
namespace {

// A number in a column's text format, scaled; a format meant for a fraction gets a double.
std::string format_value(const Column& c, const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "yes" : "no";
  if (!v.is_number()) return v.is_null() ? "-" : v.dump();
  const bool fractional = c.scale != 1 || v.is_number_float() || c.format.find_first_of("fFeEgG%") != std::string::npos;
  if (fractional) return fmt::format(fmt::runtime(c.format), v.get<double>() / c.scale);
  if (v.is_number_unsigned()) return fmt::format(fmt::runtime(c.format), v.get<uint64_t>());
  return fmt::format(fmt::runtime(c.format), v.get<int64_t>());
}

void trim_right(std::string& s) {
  while (!s.empty() && s.back() == ' ') s.pop_back();
}

}  // namespace

Table::Row& Table::Row::cell(nlohmann::json v) {
  values_.push_back(std::move(v));
  texts_.emplace_back();
  has_text_.push_back(false);
  return *this;
}

Table::Row& Table::Row::cell(nlohmann::json v, std::string text) {
  values_.push_back(std::move(v));
  texts_.push_back(std::move(text));
  has_text_.push_back(true);
  return *this;
}

Table::Row& Table::Row::json(const std::string& key, nlohmann::json v) {
  extra_[key] = std::move(v);
  return *this;
}

Table::Row& Table::Row::hist(const std::string& key, const core::Histogram& h, bool in_text) {
  extra_[key] = h.to_json();
  if (in_text) after_ += "\n" + h.render() + "\n";
  return *this;
}

Table::Row& Table::Row::text_after(std::string lines) {
  after_ += lines;
  return *this;
}

Table::Row& Table::row() {
  rows_.push_back(std::make_unique<Row>());
  return *rows_.back();
}

nlohmann::json Table::to_json() const {
  auto arr = nlohmann::json::array();
  for (const auto& r : rows_) {
    nlohmann::json o = r->extra_;
    for (size_t i = 0; i < cols_.size() && i < r->values_.size(); i++)
      if (!cols_[i].key.empty() && !r->values_[i].is_null()) o[cols_[i].key] = r->values_[i];
    arr.push_back(std::move(o));
  }
  return arr;
}

std::string Table::cell_text(const Column& c, const Row& r, size_t i) const {
  if (i >= r.values_.size()) return "";
  return r.has_text_[i] ? r.texts_[i] : format_value(c, r.values_[i]);
}

std::string Table::to_text() const {
  const std::string pad(static_cast<size_t>(indent_), ' ');
  if (rows_.empty()) return empty_.empty() ? "" : empty_ + "\n";
  // Each column as wide as its widest cell: a long name shifts the column, never one row.
  std::vector<std::vector<std::string>> cells;
  std::vector<size_t> width(cols_.size());
  for (size_t i = 0; i < cols_.size(); i++)
    width[i] = std::max(static_cast<size_t>(std::max(cols_[i].width, 0)), cols_[i].header.size());
  for (const auto& r : rows_) {
    auto& row = cells.emplace_back();
    for (size_t i = 0; i < cols_.size(); i++) {
      row.push_back(cols_[i].header.empty() ? std::string() : cell_text(cols_[i], *r, i));
      width[i] = std::max(width[i], row.back().size());
    }
  }
  auto line = [&](auto&& text_of) {
    std::string l = pad;
    bool first = true;
    for (size_t i = 0; i < cols_.size(); i++) {
      const Column& c = cols_[i];
      if (c.header.empty()) continue;  // JSON only
      if (!first) l += ' ';
      first = false;
      const std::string& s = text_of(i);
      l += c.left ? fmt::format("{:<{}}", s, width[i]) : fmt::format("{:>{}}", s, width[i]);
    }
    trim_right(l);
    return l + "\n";
  };
  std::string t = title_.empty() ? "" : title_ + "\n";
  t += line([&](size_t i) -> const std::string& { return cols_[i].header; });
  for (size_t r = 0; r < rows_.size(); r++) {
    t += line([&](size_t i) -> const std::string& { return cells[r][i]; });
    t += rows_[r]->after_;
  }
  return t;
}

Report::Report(std::string type) : type_(std::move(type)) { j_["type"] = type_; }

Report& Report::heading(std::string text) {
  heading_ = std::move(text);
  return *this;
}

Report& Report::time(uint64_t realtime_ns) {
  time_ = realtime_ns;
  j_["time"] = core::format_iso8601(realtime_ns);
  return *this;
}

Report& Report::field(const std::string& key, nlohmann::json v) {
  j_[key] = std::move(v);
  return *this;
}

Report& Report::line(std::string text) {
  parts_.push_back(Part{Part::Line, std::move(text) + "\n", {}, nullptr});
  return *this;
}

Report& Report::note(std::string text) {
  j_["notes"].push_back(text);
  return line(std::move(text));
}

Report& Report::histogram(const std::string& key, const core::Histogram& h, bool in_text) {
  j_[key] = h.to_json();
  if (in_text) parts_.push_back(Part{Part::Hist, {}, h, nullptr});
  return *this;
}

Table& Report::table(const std::string& key, std::vector<Column> cols) {
  parts_.push_back(Part{Part::Tab, {}, {}, std::make_unique<Table>(key, std::move(cols))});
  return *parts_.back().table;
}

Report& Report::housekeeping(const core::Housekeeping& hk, bool all_lines) {
  hk.add_to(j_);
  std::string t = hk.text();
  if (!all_lines && !hk.lost_events) t.erase(0, t.find('\n') + 1);  // "Lost events: 0" is news only at the end
  if (!t.empty()) parts_.push_back(Part{Part::Line, std::move(t), {}, nullptr});
  return *this;
}

Report& Report::interval(const core::Interval& iv) {
  j_["interval_s"] = iv.seconds;
  return housekeeping(iv.delta, false);
}

Report& Report::summary(const core::Summary& s, bool ring_buffer, bool in_text) {
  s.add_to(j_);
  if (!ring_buffer) j_.erase("events_received");
  if (!in_text) return *this;  // add_to has put the counters
  return housekeeping(s.totals, true);
}

nlohmann::json Report::to_json() const {
  nlohmann::json j = j_;
  for (const auto& p : parts_)
    if (p.kind == Part::Tab) j[p.table->key_] = p.table->to_json();
  return j;
}

std::string Report::to_text() const {
  std::string t;
  if (!heading_.empty())
    t = (time_ ? fmt::format("[{}] ", core::format_local(time_)) : std::string()) + heading_ + "\n";
  for (const auto& p : parts_) {
    switch (p.kind) {
      case Part::Line: t += p.text; break;
      case Part::Hist: t += p.hist.render(); break;
      case Part::Tab: t += p.table->to_text(); break;
    }
  }
  return t;
}

}  // namespace nettrace::output
