// SPDX-License-Identifier: GPL-2.0
// The ring reader (src/bpf/ring_reader.cpp) on a real kernel ring buffer: bpf/testing/ringbuf_shim.bpf.c writes
// records of varying sizes into a one-page ring through BPF_PROG_TEST_RUN, many times around, some discarded;
// the reader must hand over each written record once, in order, bytes intact (the wrapped ones reassembled),
// and map the data area once.

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "nettrace/bpf/ring_reader.hpp"
#include "ringbuf_shim.skel.h"

namespace nettrace::test {
namespace {

// ring_bytes: the ring's size; window: RingReader's (0: the default, which maps a small ring whole).
void run_ring(uint32_t ring_bytes, size_t window) {
  auto* skel = ringbuf_shim_bpf::open();
  ASSERT_NE(skel, nullptr);
  struct Guard {
    ringbuf_shim_bpf* s;
    ~Guard() { ringbuf_shim_bpf::destroy(s); }
  } guard{skel};
  ASSERT_EQ(bpf_map__set_max_entries(skel->maps.shim_ring, ring_bytes), 0);
  if (ringbuf_shim_bpf::load(skel) != 0) {
    if (errno == EPERM) GTEST_SKIP() << "loading BPF programs needs root";
    FAIL() << "cannot load ringbuf_shim: " << strerror(errno);
  }

  auto reader = window ? std::make_unique<bpf::RingReader>(window) : std::make_unique<bpf::RingReader>();
  std::vector<std::vector<uint8_t>> got;
  reader->add(bpf_map__fd(skel->maps.shim_ring), [&](const void* d, size_t n) {
    got.emplace_back(static_cast<const uint8_t*>(d), static_cast<const uint8_t*>(d) + n);
  });
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  if (!window) EXPECT_EQ(reader->mapped_bytes(), 2 * page + ring_bytes);  // the data area once, not twice

  uint8_t frame[64] = {};
  auto run = [&]() {
    bpf_test_run_opts opts{};
    opts.sz = sizeof(opts);
    opts.data_in = frame;
    opts.data_size_in = sizeof(frame);
    opts.repeat = 1;
    ASSERT_EQ(bpf_prog_test_run_opts(bpf_program__fd(skel->progs.ringbuf_shim), &opts), 0);
    ASSERT_EQ(skel->bss->shim_ret, 0);
  };
  std::vector<uint32_t> sizes;
  uint32_t expect_seq = 0;
  // 4 KiB ring, records of 4..256 bytes: about 300 trips around it; consume after a few records each time.
  for (int i = 0; i < 6000; i++) {
    const uint32_t size = 4 + static_cast<uint32_t>((i * 37) % 253);
    skel->data->shim_size = size;
    skel->bss->shim_discard = (i % 11 == 5);
    run();
    if (!skel->bss->shim_discard) sizes.push_back(size);
    if (i % 7 == 6) {
      ASSERT_GE(reader->poll(0), 0);
      ASSERT_EQ(got.size(), sizes.size());
      for (size_t k = 0; k < got.size(); k++, expect_seq++) {
        ASSERT_EQ(got[k].size(), sizes[k]);
        uint32_t seq;
        std::memcpy(&seq, got[k].data(), 4);
        ASSERT_EQ(seq, expect_seq);
        for (size_t b = 4; b < got[k].size(); b++) ASSERT_EQ(got[k][b], static_cast<uint8_t>(seq + b)) << b;
      }
      got.clear();
      sizes.clear();
    }
  }
  EXPECT_GT(expect_seq, 4000u);
  if (window) {
    EXPECT_LE(reader->mapped_bytes(), 2 * page + window + page);  // a window, not the ring
    EXPECT_GT(reader->remaps(), 100u);                           // moved all around it
  } else {
    EXPECT_EQ(reader->remaps(), 0u);
  }
}

TEST(RingReaderBpf, KernelRingWrapsAndDiscards) { run_ring(4096, 0); }

// A 16 KiB ring read through a 4 KiB window: records cross the window's end and the data area's end (the
// kernel's doubled mapping continues at the start), hundreds of window moves.
TEST(RingReaderBpf, WindowedRing) { run_ring(16384, 4096); }

}  // namespace
}  // namespace nettrace::test
