// SPDX-License-Identifier: GPL-2.0
#include "nettrace/bpf/ring_reader.hpp"

#include <linux/bpf.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cstring>

#include <bpf/bpf.h>
#include <fmt/format.h>

#include "nettrace/bpf/handles.hpp"
#include "nettrace/core/error.hpp"

namespace nettrace::bpf {
namespace {

// The record header the kernel writes before each sample (struct bpf_ringbuf_hdr): len with the busy and
// discard bits, then the page offset the kernel uses itself.
constexpr uint32_t kBusy = BPF_RINGBUF_BUSY_BIT;
constexpr uint32_t kDiscard = BPF_RINGBUF_DISCARD_BIT;
constexpr uint64_t kHdr = BPF_RINGBUF_HDR_SZ;

uint64_t round_up8(uint64_t n) { return (n + 7) & ~uint64_t{7}; }

}  // namespace

size_t consume_ring(const RingView& v, std::vector<uint8_t>& scratch, const RingFn& fn) {
  size_t n = 0;
  uint64_t cons = __atomic_load_n(v.consumer_pos, __ATOMIC_ACQUIRE);
  for (;;) {
    const uint64_t prod = __atomic_load_n(v.producer_pos, __ATOMIC_ACQUIRE);
    if (cons >= prod) break;
    while (cons < prod) {
      // The header is 8-aligned and the data area a power of two of at least a page: it never wraps.
      const uint64_t off = cons & v.mask;
      const auto* len_p = reinterpret_cast<const uint32_t*>(v.window ? v.window(cons, kHdr) : v.data + off);
      const uint32_t len = __atomic_load_n(len_p, __ATOMIC_ACQUIRE);
      if (len & kBusy) return n;  // the producer has not committed it yet: the next poll takes it
      const uint32_t size = len & ~(kBusy | kDiscard);
      const uint64_t total = round_up8(kHdr + size);
      if (!(len & kDiscard) && v.window) {
        fn(v.window(cons + kHdr, size), size);
        n++;
      } else if (!(len & kDiscard)) {
        const uint64_t start = (off + kHdr) & v.mask;
        const uint64_t ring = v.mask + 1;
        if (start + size <= ring) {
          fn(v.data + start, size);
        } else {
          if (scratch.size() < size) scratch.resize(size);
          const uint64_t first = ring - start;
          std::memcpy(scratch.data(), v.data + start, first);
          std::memcpy(scratch.data() + first, v.data, size - first);
          fn(scratch.data(), size);
        }
        n++;
      }
      cons += total;
      __atomic_store_n(v.consumer_pos, cons, __ATOMIC_RELEASE);
    }
  }
  return n;
}

struct RingReader::Ring {
  RingFn fn;
  int fd = -1;
  void* consumer = MAP_FAILED;
  void* producer = MAP_FAILED;  // producer page, then the data area (whole) or only the producer page (window)
  size_t page = 0, data_size = 0;
  // The window: absolute positions [wbase, wbase + wlen) mapped at win.
  void* win = MAP_FAILED;
  uint64_t wbase = 0;
  size_t wlen = 0, window = 0;
  uint64_t remaps = 0;
  RingView view{};

  const uint8_t* at(uint64_t pos, size_t n) {
    if (win != MAP_FAILED && pos >= wbase && pos + n <= wbase + wlen) return static_cast<const uint8_t*>(win) + (pos - wbase);
    const uint64_t base = pos & ~uint64_t{page - 1};
    // A record longer than the window gets a longer one; data offset + length stays within the kernel's
    // doubled mapping (offset < data_size, length <= data_size + page - offset % data_size).
    const size_t len = std::max(window, (pos + n - base + page - 1) & ~(page - 1));
    if (win != MAP_FAILED) munmap(win, wlen);  // first: the old and new pages never count at once
    win = mmap(nullptr, len, PROT_READ, MAP_SHARED, fd, static_cast<off_t>(2 * page + (base & (data_size - 1))));
    if (win == MAP_FAILED) throw failure(fmt::format("cannot map the ring buffer: {}", errno_text(errno)));
    wbase = base;
    wlen = len;
    remaps++;
    return static_cast<const uint8_t*>(win) + (pos - wbase);
  }

  ~Ring() {
    if (consumer != MAP_FAILED) munmap(consumer, page);
    if (producer != MAP_FAILED) munmap(producer, window ? page : page + data_size);
    if (win != MAP_FAILED) munmap(win, wlen);
  }
};

RingReader::RingReader(size_t window_bytes) : window_bytes_(window_bytes) {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) throw failure(fmt::format("cannot create an epoll instance: {}", errno_text(errno)));
}

RingReader::~RingReader() {
  rings_.clear();
  if (epoll_fd_ >= 0) close(epoll_fd_);
}

void RingReader::add(int map_fd, RingFn fn) {
  bpf_map_info info{};
  uint32_t len = sizeof(info);
  if (bpf_obj_get_info_by_fd(map_fd, &info, &len) != 0)
    throw failure(fmt::format("cannot read the ring buffer's map info: {}", errno_text(errno)));
  if (info.type != BPF_MAP_TYPE_RINGBUF || info.max_entries == 0 || (info.max_entries & (info.max_entries - 1)))
    throw failure("internal: not a ring buffer map");
  auto r = std::make_unique<Ring>();
  r->fn = std::move(fn);
  r->fd = map_fd;
  r->page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  r->data_size = info.max_entries;
  r->consumer = mmap(nullptr, r->page, PROT_READ | PROT_WRITE, MAP_SHARED, map_fd, 0);
  if (r->consumer == MAP_FAILED) throw failure(fmt::format("cannot map the ring buffer: {}", errno_text(errno)));
  if (window_bytes_ && r->data_size > 2 * window_bytes_) r->window = (window_bytes_ + r->page - 1) & ~(r->page - 1);
  r->producer = mmap(nullptr, r->window ? r->page : r->page + r->data_size, PROT_READ, MAP_SHARED, map_fd,
                     static_cast<off_t>(r->page));
  if (r->producer == MAP_FAILED) throw failure(fmt::format("cannot map the ring buffer: {}", errno_text(errno)));
  r->view = RingView{static_cast<uint64_t*>(r->consumer), static_cast<const uint64_t*>(r->producer),
                     r->window ? nullptr : static_cast<const uint8_t*>(r->producer) + r->page, r->data_size - 1};
  if (r->window) {
    Ring* raw = r.get();
    r->view.window = [raw](uint64_t pos, size_t n) { return raw->at(pos, n); };
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u32 = static_cast<uint32_t>(rings_.size());
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, map_fd, &ev) != 0)
    throw failure(fmt::format("cannot watch the ring buffer: {}", errno_text(errno)));
  rings_.push_back(std::move(r));
}

int RingReader::consume() {
  size_t n = 0;
  for (auto& r : rings_) n += consume_ring(r->view, scratch_, r->fn);
  return static_cast<int>(std::min<size_t>(n, INT32_MAX));
}

int RingReader::poll(int timeout_ms) {
  epoll_event evs[8];
  const int k = epoll_wait(epoll_fd_, evs, 8, timeout_ms);
  if (k < 0) return -errno;
  // Every ring, not only the woken ones: the producer skips most wake-ups in a storm (bpf/drop.bpf.c).
  return consume();
}

size_t RingReader::mapped_bytes() const {
  size_t b = 0;
  for (const auto& r : rings_) b += 2 * r->page + (r->window ? (r->win != MAP_FAILED ? r->wlen : 0) : r->data_size);
  return b;
}

uint64_t RingReader::remaps() const {
  uint64_t n = 0;
  for (const auto& r : rings_) n += r->remaps;
  return n;
}

}  // namespace nettrace::bpf
