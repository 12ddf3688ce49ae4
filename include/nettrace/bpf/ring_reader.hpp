// SPDX-License-Identifier: GPL-2.0
#pragma once
// A BPF ring buffer (BPF_MAP_TYPE_RINGBUF) consumer that maps the data area once.
//
// libbpf's ring_buffer maps the data area twice, back to back, so a record that wraps reads as one block;
// the kernel's ringbuf mmap inserts every page at mmap time, so both copies count in the reader's RSS from
// the start (an 8 MiB ring: ≈ 16 MB). Here the consumer page is mapped read-write (the only writable page the
// kernel allows), the producer page and the data area read-only, once; the few records that wrap the end of
// the data area are copied into a scratch buffer first. Same protocol as libbpf's ringbuf_process_ring:
// read the producer position (acquire), hand over each committed record, skip discarded ones, stop at one
// still busy, publish the consumer position (release) after each record.
//
// A ring larger than twice the window (1 MiB by default) is not mapped whole: the reader maps a window of
// the data area around the consumer position and moves it (munmap, mmap) when a record leaves it. The
// kernel's own mapping of the data area is doubled (vmap), so a window past the end continues at the
// start and a record that wraps needs no copy. The kernel inserts a mapping's pages at mmap time, so RSS
// holds the window, not the ring: a 4 MiB ring costs ≈ 1 MB of RSS instead of 4 (8 with libbpf).

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

namespace nettrace::bpf {

// One ring's memory as the kernel lays it out (a test may lay it out in plain memory).
struct RingView {
  uint64_t* consumer_pos;        // the consumer page, read-write
  const uint64_t* producer_pos;  // the producer page, read-only
  const uint8_t* data;           // the data area, mask + 1 bytes (a power of two); unused with window
  uint64_t mask;
  // When set: the n bytes at absolute position pos as one block (a window onto the kernel's doubled
  // mapping); valid until the next call.
  std::function<const uint8_t*(uint64_t pos, size_t n)> window = {};
};

using RingFn = std::function<void(const void* data, size_t size)>;

// Hands every committed record of view to fn, in order; returns how many (discarded records not counted).
// scratch holds a record that wraps (grown as needed).
size_t consume_ring(const RingView& view, std::vector<uint8_t>& scratch, const RingFn& fn);

class RingReader {
 public:
  // window_bytes: the most of a ring's data area mapped at once (rounded up to pages; 0: always whole).
  explicit RingReader(size_t window_bytes = size_t{1} << 20);
  ~RingReader();
  RingReader(const RingReader&) = delete;
  RingReader& operator=(const RingReader&) = delete;

  // Maps the ring map_fd and watches it; throws nettrace::Error.
  void add(int map_fd, RingFn fn);
  // Waits up to timeout_ms for a wake-up (epoll), then consumes every ring. Returns records handed over, or
  // -errno (-EINTR when a signal ended the wait).
  int poll(int timeout_ms);
  // Consumes every ring without waiting.
  int consume();
  // Bytes mapped now over all rings (consumer page + producer page + data area or window), for tests.
  [[nodiscard]] size_t mapped_bytes() const;
  // Window moves so far (tests).
  [[nodiscard]] uint64_t remaps() const;

 private:
  struct Ring;
  std::vector<std::unique_ptr<Ring>> rings_;
  std::vector<uint8_t> scratch_;
  size_t window_bytes_;
  int epoll_fd_ = -1;
};

}  // namespace nettrace::bpf
