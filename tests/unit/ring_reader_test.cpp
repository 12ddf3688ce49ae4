// SPDX-License-Identifier: GPL-2.0
// consume_ring on a ring laid out in plain memory as the kernel lays it out: records in order, the ones that
// wrap the data area's end reassembled, discarded ones skipped, a busy one stopping the pass, the consumer
// position published.

#include <linux/bpf.h>

#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "nettrace/bpf/ring_reader.hpp"

namespace nettrace::bpf {
namespace {

struct FakeRing {
  explicit FakeRing(size_t size) : data(size), mask(size - 1) {}
  uint64_t cons = 0, prod = 0;
  std::vector<uint8_t> data;
  uint64_t mask;

  // Writes a record at the producer position as the kernel does (header, then the sample, wrapping).
  void put(const std::string& sample, uint32_t flags = 0) {
    const uint32_t len = static_cast<uint32_t>(sample.size()) | flags;
    std::memcpy(&data[prod & mask], &len, 4);
    for (size_t i = 0; i < sample.size(); i++) data[(prod + BPF_RINGBUF_HDR_SZ + i) & mask] = sample[i];
    prod += (BPF_RINGBUF_HDR_SZ + sample.size() + 7) & ~size_t{7};
  }
  void set_flags_at(uint64_t pos, uint32_t flags) {
    uint32_t len;
    std::memcpy(&len, &data[pos & mask], 4);
    len = (len & ~(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT)) | flags;
    std::memcpy(&data[pos & mask], &len, 4);
  }
  RingView view() { return RingView{&cons, &prod, data.data(), mask}; }
};

std::vector<std::string> drain(FakeRing& r, std::vector<uint8_t>& scratch) {
  std::vector<std::string> got;
  consume_ring(r.view(), scratch, [&](const void* d, size_t n) { got.emplace_back(static_cast<const char*>(d), n); });
  return got;
}

TEST(RingReader, RecordsInOrderAndWrapped) {
  FakeRing r(128);
  std::vector<uint8_t> scratch;
  std::vector<std::string> all;
  // 128-byte ring: records of 13..30 bytes wrap the end at different offsets, many times over.
  for (int i = 0; i < 200; i++) {
    std::string s(13 + i % 18, static_cast<char>('a' + i % 26));
    s[0] = static_cast<char>(i);
    r.put(s);
    all.push_back(s);
    if (i % 2) {
      auto got = drain(r, scratch);
      ASSERT_EQ(got.size(), 2u);
      EXPECT_EQ(got[0], all[all.size() - 2]);
      EXPECT_EQ(got[1], all.back());
      EXPECT_EQ(r.cons, r.prod);
    }
  }
  EXPECT_GT(scratch.size(), 0u);  // some record wrapped
}

TEST(RingReader, DiscardedSkippedBusyStops) {
  FakeRing r(256);
  std::vector<uint8_t> scratch;
  r.put("one");
  const uint64_t second = r.prod;
  r.put("two");
  r.set_flags_at(second, BPF_RINGBUF_DISCARD_BIT);
  r.put("three");
  const uint64_t busy = r.prod;
  r.put("four");
  r.set_flags_at(busy, BPF_RINGBUF_BUSY_BIT);
  r.put("five");
  auto got = drain(r, scratch);
  ASSERT_EQ(got, (std::vector<std::string>{"one", "three"}));
  EXPECT_EQ(r.cons, busy);  // consumed up to the busy record, no further
  r.set_flags_at(busy, 0);  // committed
  got = drain(r, scratch);
  ASSERT_EQ(got, (std::vector<std::string>{"four", "five"}));
  EXPECT_EQ(r.cons, r.prod);
  EXPECT_TRUE(drain(r, scratch).empty());
}

TEST(RingReader, EmptySampleAndExactEnd) {
  FakeRing r(64);
  std::vector<uint8_t> scratch;
  r.put("");                    // 8 bytes: header only
  r.put(std::string(40, 'x'));  // header at 8, sample up to 56
  EXPECT_EQ(drain(r, scratch), (std::vector<std::string>{"", std::string(40, 'x')}));
  r.put("");                    // header at 56: 8 bytes, ends exactly at the data area's end
  r.put(std::string(9, 'y'));   // header at 0 again
  EXPECT_EQ(drain(r, scratch), (std::vector<std::string>{"", std::string(9, 'y')}));
  r.put(std::string(32, 'z'));  // header at 24, sample 32..64: ends exactly at the end, no wrap
  EXPECT_EQ(drain(r, scratch), (std::vector<std::string>{std::string(32, 'z')}));
  EXPECT_EQ(scratch.size(), 0u);
  EXPECT_EQ(r.cons, r.prod);
}

// The window path: records handed over as one block from the window function (here the data area laid out
// twice, as the kernel's mapping is), the wrapped ones included, no scratch copy.
TEST(RingReader, WindowPath) {
  FakeRing r(128);
  std::vector<uint8_t> scratch, doubled;
  std::vector<std::string> all, got;
  size_t calls = 0;
  for (int i = 0; i < 100; i++) {
    std::string s(13 + i % 18, static_cast<char>('a' + i % 26));
    r.put(s);
    all.push_back(s);
    doubled = r.data;
    doubled.insert(doubled.end(), r.data.begin(), r.data.end());
    RingView v = r.view();
    v.data = nullptr;
    v.window = [&](uint64_t pos, size_t n) {
      calls++;
      EXPECT_LE(n, r.data.size());
      return doubled.data() + (pos & r.mask);
    };
    consume_ring(v, scratch, [&](const void* d, size_t n) { got.emplace_back(static_cast<const char*>(d), n); });
  }
  EXPECT_EQ(got, all);
  EXPECT_EQ(calls, 200u);  // header and sample per record
  EXPECT_TRUE(scratch.empty());
}

}  // namespace
}  // namespace nettrace::bpf
