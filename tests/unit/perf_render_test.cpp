// SPDX-License-Identifier: GPL-2.0
// perf iface / perf qdisc: interval arithmetic and rendering.

#include <arpa/inet.h>

#include <gtest/gtest.h>

#include "tools/perf/iface.hpp"
#include "tools/perf/qdisc.hpp"

namespace iface = nettrace::tools::perf::iface;
namespace qd = nettrace::tools::perf::qdisc;

namespace {

iface::QueueCounts qc(uint64_t packets, uint64_t bytes, uint32_t slot) {
  iface::QueueCounts q;
  q.packets = packets;
  q.bytes = bytes;
  q.sizes[slot] = packets;
  return q;
}

}  // namespace

TEST(IfaceRender, SizeSlotsFollowNetqtop) {
  EXPECT_EQ(nt_iface_size_slot(0), 0u);
  EXPECT_EQ(nt_iface_size_slot(63), 0u);
  EXPECT_EQ(nt_iface_size_slot(64), 1u);
  EXPECT_EQ(nt_iface_size_slot(511), 1u);
  EXPECT_EQ(nt_iface_size_slot(512), 2u);
  EXPECT_EQ(nt_iface_size_slot(2047), 2u);
  EXPECT_EQ(nt_iface_size_slot(2048), 3u);
  EXPECT_EQ(nt_iface_size_slot(16383), 3u);
  EXPECT_EQ(nt_iface_size_slot(16384), 4u);
  EXPECT_EQ(nt_iface_size_slot(65536 * 4), 4u);
}

TEST(IfaceRender, SumsCpus) {
  nt_iface_queue v[3] = {};
  v[0].packets = 1;
  v[0].bytes = 60;
  v[0].sizes[0] = 1;
  v[2].packets = 2;
  v[2].bytes = 3000;
  v[2].sizes[2] = 2;
  auto q = iface::sum_cpus(v, 3);
  EXPECT_EQ(q.packets, 3u);
  EXPECT_EQ(q.bytes, 3060u);
  EXPECT_EQ(q.sizes[0], 1u);
  EXPECT_EQ(q.sizes[2], 2u);
}

TEST(IfaceRender, DeltasAndTotalsOverQueues) {
  iface::Snapshot before, now;
  before.tx.rows = {qc(10, 740, 1), qc(0, 0, 0), {}};
  before.rx.rows = {qc(5, 300, 0), {}, {}};
  now.tx.rows = {qc(15, 1110, 1), qc(4, 6000, 2), {}};
  now.rx.rows = {qc(5, 300, 0), qc(2, 128, 1), qc(1, 100, 1)};  // last row: queue index beyond the device's
  auto d = now.minus(before);
  EXPECT_EQ(d.tx.rows[0].packets, 5u);
  EXPECT_EQ(d.tx.rows[0].bytes, 370u);
  EXPECT_EQ(d.tx.total().packets, 9u);
  EXPECT_EQ(d.tx.total().bytes, 6370u);
  EXPECT_EQ(d.rx.total().packets, 3u);

  iface::Report r{"veth0", 7, 2.0, 0, false, d};
  auto j = iface::report("iface_interval", r).to_json();
  EXPECT_EQ(j["type"], "iface_interval");
  EXPECT_EQ(j["interface"], "veth0");
  EXPECT_EQ(j["tx_packets"], 9u);
  EXPECT_EQ(j["tx_bytes"], 6370u);
  EXPECT_EQ(j["rx_packets"], 3u);
  EXPECT_EQ(j["rx_bytes"], 228u);
  EXPECT_DOUBLE_EQ(j["tx_packets_per_s"].get<double>(), 4.5);
  EXPECT_DOUBLE_EQ(j["tx_bytes_per_s"].get<double>(), 3185.0);
  ASSERT_EQ(j["tx_queues"].size(), 2u);  // empty overflow row left out
  EXPECT_EQ(j["tx_queues"][1]["queue"], 1);
  EXPECT_EQ(j["tx_queues"][1]["sizes"]["512_2k"], 4u);
  EXPECT_DOUBLE_EQ(j["tx_queues"][1]["avg_size"].get<double>(), 1500.0);
  ASSERT_EQ(j["rx_queues"].size(), 3u);
  EXPECT_EQ(j["rx_queues"][2]["queue"], "overflow");
  EXPECT_TRUE(j.contains("interval_s"));
  EXPECT_TRUE(iface::report("iface_summary", r).to_json().contains("duration_s"));
}

TEST(IfaceRender, CountersThatWentBackwardsSaturate) {
  auto d = qc(1, 10, 0).minus(qc(5, 50, 0));
  EXPECT_EQ(d.packets, 0u);
  EXPECT_EQ(d.bytes, 0u);
}

TEST(IfaceRender, TextHasBothTablesAndThroughputOnRequest) {
  iface::Snapshot s;
  s.tx.rows = {qc(2, 148, 1), {}};
  s.rx.rows = {qc(1, 60, 0), {}};
  iface::Report r{"eth0", 2, 1.0, 0, false, s};
  auto t = iface::report("iface_interval", r).to_text();
  EXPECT_NE(t.find("TX\n QueueID    avg_size   [0, 64)"), std::string::npos) << t;
  EXPECT_NE(t.find("RX\n"), std::string::npos);
  EXPECT_NE(t.find(" Total      74.00      0          2"), std::string::npos) << t;
  EXPECT_EQ(t.find("BPS"), std::string::npos);
  r.throughput = true;
  t = iface::report("iface_interval", r).to_text();
  EXPECT_NE(t.find("BPS"), std::string::npos);
  EXPECT_NE(t.find("148.00"), std::string::npos) << t;
}

TEST(IfaceRender, HumanRates) {
  EXPECT_EQ(iface::human(12), "12.00");
  EXPECT_EQ(iface::human(1234), "1.23K");
  EXPECT_EQ(iface::human(2500000), "2.50M");
  EXPECT_EQ(iface::human(3e9), "3.00G");
}

TEST(QdiscRender, SumsCpusWithExtremes) {
  nt_hist st[2] = {};
  nt_qdisc_extrema ex[2] = {};
  nt_hist_add(&st[0], 19000000);
  nt_hist_add(&st[0], 21000000);
  nt_hist_add(&st[1], 10000000);
  ex[0] = {19000000, 21000000};
  ex[1] = {10000000, 10000000};
  auto s = qd::sum_cpus(st, ex, 2);
  EXPECT_EQ(s.hist.count(), 3u);
  EXPECT_EQ(s.hist.sum(), 50000000u);
  EXPECT_EQ(s.min_ns, 10000000u);
  EXPECT_EQ(s.max_ns, 21000000u);
  ex[1] = {0, 0};  // a CPU with nothing: 0 is "none", not a minimum
  s = qd::sum_cpus(st, ex, 2);
  EXPECT_EQ(s.min_ns, 19000000u);
}

TEST(QdiscRender, WindowJson) {
  qd::Stats before, now;
  before.hist.add(5000);
  now.hist = before.hist;
  for (uint64_t v : {19990000ULL, 20000000ULL, 20010000ULL}) now.hist.add(v);
  now.min_ns = 19990000;
  now.max_ns = 20010000;
  qd::Window w{"qdisc_latency_interval"};
  w.secs = 1;
  w.stats = now.minus(before);
  w.counters[NT_QDISC_STARTED] = 3;
  w.counters[NT_QDISC_DEQ_SEEN] = 4;
  w.counters[NT_QDISC_FINISHED] = 3;
  w.counters[NT_QDISC_DROPPED] = 2;
  auto j = qd::window_report(w).to_json();
  EXPECT_EQ(j["type"], "qdisc_latency_interval");
  EXPECT_EQ(j["packets"], 3u);
  EXPECT_DOUBLE_EQ(j["avg_us"].get<double>(), 20000.0);
  EXPECT_DOUBLE_EQ(j["min_us"].get<double>(), 19990.0);
  EXPECT_DOUBLE_EQ(j["max_us"].get<double>(), 20010.0);
  EXPECT_EQ(j["dequeued_without_start"], 1u);
  EXPECT_EQ(j["dropped_in_queue"], 2u);
  EXPECT_EQ(j["hist"]["count"], 3u);
  EXPECT_LE(j["p99_us"].get<double>(), 20010.0);  // never above the window's exact maximum
  EXPECT_FALSE(j.contains("in_flight"));
  w.type = "qdisc_latency_summary";
  w.in_flight = 0;
  j = qd::window_report(w).to_json();
  EXPECT_TRUE(j.contains("duration_s"));
  EXPECT_EQ(j["in_flight"], 0u);
  auto t = qd::window_report(w).to_text();
  EXPECT_NE(t.find("Packets: 3  avg 20000.000 us"), std::string::npos) << t;
  EXPECT_NE(t.find("dropped in queue: 2"), std::string::npos) << t;
}

TEST(QdiscRender, EmptyWindowHasNoLatencyFields) {
  qd::Window w{"qdisc_latency_interval"};
  auto j = qd::window_report(w).to_json();
  EXPECT_EQ(j["packets"], 0u);
  EXPECT_FALSE(j.contains("avg_us"));
}

TEST(QdiscRender, Event) {
  nt_qdisc_event e{};
  e.enqueue_ns = 1000;
  e.dequeue_ns = 1000 + 20000000;
  e.ifindex = 3;
  e.handle = 0x100000;
  e.len = 74;
  strcpy(e.ifname, "veth-a");
  e.pkt.l3 = NT_L3_IPV4;
  e.pkt.l4_proto = 17;
  e.pkt.flags = NT_PKT_HAS_L4;
  inet_pton(AF_INET, "10.0.0.1", e.pkt.saddr);
  inet_pton(AF_INET, "10.0.0.2", e.pkt.daddr);
  e.pkt.sport = 4000;
  e.pkt.dport = 5001;
  auto j = qd::event_json(e, 0);
  EXPECT_EQ(j["type"], "qdisc_latency");
  EXPECT_DOUBLE_EQ(j["delay_us"].get<double>(), 20000.0);
  EXPECT_EQ(j["qdisc_handle"], "10:0");
  EXPECT_EQ(j["src_ip"], "10.0.0.1");
  EXPECT_EQ(j["dst_port"], 5001);
  EXPECT_EQ(j["protocol"], "udp");
  auto t = qd::event_text(e, 0);
  EXPECT_NE(t.find("udp 10.0.0.1:4000 -> 10.0.0.2:5001 dev=veth-a txq=0 qdisc=10:0 len=74"), std::string::npos) << t;
  EXPECT_NE(t.find("qdisc delay: 20000.000us"), std::string::npos) << t;
}
