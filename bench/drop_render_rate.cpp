// SPDX-License-Identifier: GPL-2.0
// The consumer side of `nettrace drop --json` alone: events of the drop storm's shape (UDP 10.201.0.1 ->
// 10.201.0.2:7777 freed with NO_SOCKET, a 24-frame stack whose first 3 frames are tracing frames) rendered with
// append_event_json and written through output::Output to stdout (run it with stdout on /dev/null), as the
// ring-buffer callback does (the stack as an id, as bpf/drop.bpf.c sends it). Prints events per second of this process's CPU time (utime+stime), the best of
// ROUNDS rounds. Usage: nt_drop_render_bench [EVENTS] [ROUNDS] >/dev/null
// (The records come from memory, so this is rendering and writing only: no ring buffer, no kernel.)

#include <sys/resource.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include "nettrace/output/output.hpp"
#include "test_packets.hpp"
#include "tools/drop/drop.hpp"

using namespace nettrace;
using namespace nettrace::tools::drop;

static double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

int main(int argc, char** argv) {
  const long events = argc > 1 ? std::atol(argv[1]) : 2000000;
  const int rounds = argc > 2 ? std::atoi(argv[2]) : 3;
  using namespace nettrace::test;
  const Bytes frame = cat({eth(NT_ETH_P_IP), ipv4(NT_IPPROTO_UDP, 16), udp(40000, 7777)});
  nt_drop_event e{};
  e.location = 0xffffffff81a0b0c4ULL;
  e.reason = 3;
  e.ifindex = 2;
  e.netns = 4026532300u;
  e.pid = 4242;
  e.tid = 4242;
  e.cpu = 1;
  e.len = static_cast<uint32_t>(frame.size());
  std::strncpy(e.comm, "nt_pktsend", sizeof(e.comm));
  std::strncpy(e.ifname, "vb", sizeof(e.ifname));
  (void)nt_parse_eth(frame.data(), frame.size(), &e.pkt);
  // The stack as the tool gets it: an id, its frames looked up (once) as from the event_stacks map.
  const int depth = 24;
  uint64_t stack[NT_DROP_STACK_DEPTH] = {};
  for (int i = 0; i < depth; i++) stack[i] = 0xffffffff81000000ULL + 0x1000 * static_cast<uint64_t>(i) + 0x2c;
  e.stack_bytes = 0;
  e.stack_id = 17;
  // Names of the lengths a real stack has ("__netif_receive_skb_one_core+0x9a"); the first three are the
  // tracing frames the renderer trims.
  auto symbolize = [](uint64_t a) -> std::string {
    const uint64_t i = (a - 0xffffffff81000000ULL) / 0x1000;
    if (i == 0) return "bpf_prog_6deef7357e7b4530_kfree_skb+0x2c [bpf]";
    if (i == 1) return "bpf_trace_run3+0x2c";
    if (i == 2) return "__bpf_trace_kfree_skb+0x2c";
    return fmt::format("{}_kernel_function_{}+0x{:x}", i % 2 ? "__netif_receive" : "ip_local_deliver", i, a & 0xfff);
  };
  static const sys::DropReasons reasons({{2, "NOT_SPECIFIED"}, {3, "NO_SOCKET"}});
  RenderCache cache;
  RenderContext rc{symbolize, &reasons, false, true, true, &cache, [&](int32_t, uint64_t* frames) {
                     std::memcpy(frames, stack, sizeof(stack));
                     return true;
                   }};
  output::Output out(true, 1);
  double best = 0;
  for (int r = 0; r < rounds; r++) {
    const double t0 = cpu_seconds();
    for (long n = 0; n < events; n++) {
      e.ts_ns = 1000000000ULL * 3600 + static_cast<uint64_t>(n) * 3000;
      e.pkt.sport = static_cast<uint16_t>(40000 + (n & 1023));
      append_event_json(out.buffer(), e, 1733600000000000000ULL + e.ts_ns, rc);
      out.commit(true);
      if ((n & 63) == 63) (void)out.flush();  // the session flushes after each batch of records
    }
    (void)out.flush();
    const double rate = static_cast<double>(events) / (cpu_seconds() - t0);
    best = std::max(best, rate);
    std::fprintf(stderr, "round %d: %.0f events per CPU second\n", r + 1, rate);
  }
  std::fprintf(stderr, "best: %.0f events per CPU second\n", best);
  return 0;
}
