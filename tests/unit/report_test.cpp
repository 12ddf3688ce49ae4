// SPDX-License-Identifier: GPL-2.0
// output::Report: one record, rendered as JSON or as text by the output layer.
#include "nettrace/output/report.hpp"

#include <unistd.h>

#include <gtest/gtest.h>

#include "nettrace/core/session.hpp"
#include "nettrace/output/output.hpp"

namespace nettrace::output {
namespace {

Report sample() {
  Report r("demo_interval");
  r.heading("=== demo ===");
  r.field("waits", 3);
  r.line("3 waits");
  auto& t = r.table("groups", {{"comm", "COMM", 8, true},
                               {"count", "WAITS", 6},
                               {"total_ns", "TOTAL(ms)", 10, false, "{:.3f}", 1e6},
                               {"", "MAX(us)", 8},
                               {"pid", "", 0}});
  t.row().cell("a").cell(2).cell(1500000).cell(nullptr, "<5").cell(7).json("max_ns_le", 4096);
  t.row().cell("longname1").cell(10).cell(250000).cell(nullptr, "12.0").cell(8);
  return r;
}

TEST(Report, JsonHasFieldsTablesAndType) {
  const auto j = sample().to_json();
  EXPECT_EQ(j["type"], "demo_interval");
  EXPECT_EQ(j["waits"], 3);
  ASSERT_EQ(j["groups"].size(), 2u);
  EXPECT_EQ(j["groups"][0]["comm"], "a");
  EXPECT_EQ(j["groups"][0]["total_ns"], 1500000);
  EXPECT_EQ(j["groups"][0]["pid"], 7);              // a JSON-only column
  EXPECT_EQ(j["groups"][0]["max_ns_le"], 4096);     // a row's own field
  EXPECT_FALSE(j["groups"][0].contains(""));        // a text-only column has no key
  EXPECT_FALSE(j["groups"][1].contains("max_ns_le"));
  EXPECT_FALSE(j.contains("notes"));
}

TEST(Report, TextAlignsColumns) {
  EXPECT_EQ(sample().to_text(),
            "=== demo ===\n"
            "3 waits\n"
            "COMM       WAITS  TOTAL(ms)  MAX(us)\n"
            "a              2      1.500       <5\n"
            "longname1     10      0.250     12.0\n");  // a wider value widens its column, never cut
}

TEST(Report, EmptyTableSaysSoInTextAndIsAnEmptyArray) {
  Report r("x");
  r.table("rows", {{"a", "A", 3}}).title("Rows:").empty_text("No rows.").indent(2);
  EXPECT_EQ(r.to_text(), "No rows.\n");
  EXPECT_TRUE(r.to_json()["rows"].is_array());
  EXPECT_TRUE(r.to_json()["rows"].empty());
  Report r2("x");
  r2.table("rows", {{"a", "A", 3}}).title("Rows:").indent(2).row().cell(1);
  EXPECT_EQ(r2.to_text(), "Rows:\n    A\n    1\n");
}

TEST(Report, NotesInBothFormats) {
  Report r("x");
  r.note("WARNING: 2 stacks not captured");
  EXPECT_EQ(r.to_text(), "WARNING: 2 stacks not captured\n");
  EXPECT_EQ(r.to_json()["notes"], nlohmann::json::array({"WARNING: 2 stacks not captured"}));
}

TEST(Report, HistogramBccInTextShapeInJson) {
  core::Histogram h;
  for (uint64_t ns : {1500, 1600, 3000, 70000}) h.add(ns);
  Report r("x");
  r.histogram("hist", h);
  EXPECT_EQ(r.to_text(), h.render());
  EXPECT_NE(r.to_text().find("usecs"), std::string::npos);
  EXPECT_EQ(r.to_json()["hist"], h.to_json());
  EXPECT_EQ(r.to_json()["hist"]["count"], 4);
  Report r2("x");
  r2.histogram("hist", h, false);
  EXPECT_EQ(r2.to_text(), "");
  auto& t = r2.table("rows", {{"n", "N", 2}});
  t.row().cell(1).hist("hist", h, true);
  EXPECT_EQ(r2.to_text(), " N\n 1\n\n" + h.render() + "\n");
  EXPECT_EQ(r2.to_json()["rows"][0]["hist"], h.to_json());
}

TEST(Report, SessionCountersSameNamesEverywhere) {
  core::Summary s{0, 2000000000, 2.0, 2, 10, {}};
  s.totals.lost_events = 1;
  Report r("demo_summary");
  r.summary(s, false);
  auto j = r.to_json();
  EXPECT_EQ(j["duration_s"], 2.0);
  EXPECT_EQ(j["intervals"], 2);
  EXPECT_FALSE(j.contains("events_received"));  // no ring buffer
  EXPECT_EQ(j["lost_events"], 1);
  EXPECT_EQ(j["map_full"], 0);
  EXPECT_EQ(r.to_text(), "Lost events: 1\n");

  core::Interval iv{0, 1000000000, 1.0, 1, false, {}};
  Report i("demo_interval");
  i.interval(iv);
  EXPECT_EQ(i.to_json()["interval_s"], 1.0);
  EXPECT_EQ(i.to_json()["probe_misses"], 0);
  EXPECT_EQ(i.to_text(), "");  // nothing to say: no counter moved
  iv.delta.probe_misses = 4;
  Report i2("demo_interval");
  i2.interval(iv);
  EXPECT_NE(i2.to_text().find(": 4\n"), std::string::npos);
  EXPECT_EQ(i2.to_text().find("Lost events"), std::string::npos);
}

TEST(Report, TimeIsIsoInJsonAndLocalInText) {
  Report r("x");
  r.heading("=== h ===").time(1700000000123456789ULL);
  EXPECT_EQ(r.to_json()["time"], "2023-11-14T22:13:20.123456Z");
  const auto t = r.to_text();
  EXPECT_EQ(t.front(), '[');
  EXPECT_NE(t.find("] === h ===\n"), std::string::npos);
}

TEST(Report, OutputEmitChoosesTheFormat) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  {
    Output json(true, fds[1]);
    json.emit(sample());
    Output text(false, fds[1]);
    text.emit(sample());
    Report quiet("only_json");
    quiet.field("n", 1);
    text.emit(quiet);  // no text: nothing written
    json.finish();
    text.finish();
  }
  close(fds[1]);
  std::string got;
  char buf[4096];
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;) got.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  const auto nl = got.find('\n');
  ASSERT_NE(nl, std::string::npos);
  EXPECT_EQ(nlohmann::json::parse(got.substr(0, nl)), sample().to_json());
  EXPECT_EQ(got.substr(nl + 1), sample().to_text());
}

}  // namespace
}  // namespace nettrace::output
