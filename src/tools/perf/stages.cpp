// SPDX-License-Identifier: GPL-2.0
// Stage tables of the latency tools and their pure helpers: finalize, roles, rendering. No libbpf here
// (unit-tested in tests/unit/perf_engine_test.cpp).

#include <arpa/inet.h>

#include <algorithm>
#include <cmath>
#include <optional>
#include <stdexcept>

#include <fmt/format.h>

#include "tools/perf/engine.hpp"

namespace nettrace::tools::perf {

const Stage* StageTable::find(uint8_t dir, uint8_t index) const {
  for (const auto& s : stages)
    if (s.dir == dir && s.index == index) return &s;
  return nullptr;
}

std::string finalize(StageTable& t, const Availability& a) {
  std::array<uint8_t, NT_LAT_DIRS> next{};
  std::array<bool, NT_LAT_DIRS> used{}, has_start{}, has_end{};
  for (auto& s : t.stages) {
    if (s.dir >= NT_LAT_DIRS) throw std::logic_error("stage direction out of range");
    if (next[s.dir] >= NT_LAT_MAX_STAGES) throw std::logic_error("too many stages in one direction");
    s.index = next[s.dir]++;
    used[s.dir] = true;
    s.enabled = (!a.hook_ok || a.hook_ok(s.hook)) && (s.dev != NT_LAT_DEV_INTERNAL || a.internal) &&
                (s.dev != NT_LAT_DEV_VNET || a.vnet) && (!(s.need & kNeedCt) || a.ct) &&
                (s.instead_of == NT_LH_COUNT || (a.hook_ok && !a.hook_ok(s.instead_of)));
  }
  // The CPU pair: the last enabled stage of the first side, then the first enabled one of the second after it.
  t.cpu_from = t.cpu_to = -1;
  for (const auto& s : t.stages)
    if (s.enabled && s.cpu == CpuSide::From) {
      t.cpu_from = s.index;
      t.cpu_dir = s.dir;
    }
  for (const auto& s : t.stages)
    if (t.cpu_from >= 0 && s.enabled && s.cpu == CpuSide::To && s.dir == t.cpu_dir && s.index > t.cpu_from) {
      t.cpu_to = s.index;
      break;
    }
  if (t.cpu_to < 0) t.cpu_from = -1;
  for (uint8_t d = 0; d < NT_LAT_DIRS; d++) {
    if (!used[d]) continue;
    Stage* first = nullptr;
    Stage* last = nullptr;
    for (auto& s : t.stages) {
      if (s.dir != d || !s.enabled) continue;
      if (!first) first = &s;
      last = &s;
      has_end[d] = has_end[d] || (s.flags & NT_LAT_END);
    }
    if (!first) return fmt::format("no stage of direction {} can be traced on this kernel", t.dir_names[d]);
    const Stage* declared = nullptr;  // the table's own first START stage of this direction
    for (const auto& s : t.stages)
      if (s.dir == d && (s.flags & NT_LAT_START)) {
        declared = &s;
        break;
      }
    if (declared && !declared->enabled && declared->dev != NT_LAT_DEV_ANY && first->dev == NT_LAT_DEV_ANY &&
        !(first->flags & NT_LAT_START))
      return fmt::format("{} (where direction {} begins, on its device) cannot be traced on this kernel, and {} "
                         "would begin a flow for every device's packets{}",
                         declared->name, t.dir_names[d], first->name,
                         t.start_device_hint.empty() ? "" : ": " + t.start_device_hint);
    first->flags |= NT_LAT_START;
    if (!has_end[d]) last->flags |= NT_LAT_END;
    for (auto& s : t.stages)
      if (s.dir == d && s.enabled && (s.flags & NT_LAT_START)) has_start[d] = true;
    if (first == last)
      return fmt::format("direction {} has only one stage that can be traced here ({}): nothing to measure",
                         t.dir_names[d], first->name);
  }
  return {};
}

Roles roles_of(const StageTable& t) {
  Roles r{};
  std::array<int, NT_LAT_DIRS> chain{-1, -1};  // per direction: the last enabled stage that is not BY_SKB
  for (const auto& s : t.stages) {
    if (!s.enabled) continue;
    auto& slots = r[s.hook];
    size_t i = 0;
    while (i < NT_LAT_ROLES && slots[i].stage) i++;
    if (i == NT_LAT_ROLES) throw std::logic_error(fmt::format("hook {} has too many roles", hook_label(s.hook)));
    const bool follows = (s.flags & NT_LAT_BY_SKB) && !(s.flags & NT_LAT_START) && chain[s.dir] >= 0;
    slots[i] = nt_lat_role{static_cast<uint8_t>(s.index + 1), s.dir, s.dev, s.pkt, s.flags,
                           static_cast<uint8_t>(follows ? chain[s.dir] + 1 : 0), {}};
    if (!(s.flags & NT_LAT_BY_SKB)) chain[s.dir] = s.index;
  }
  return r;
}

nt_lat_fast_cfg fast_cfg_of(const StageTable& t) {
  nt_lat_fast_cfg c{};
  std::array<int, NT_LAT_DIRS> last{-1, -1};
  for (const auto& s : t.stages) {
    if (!s.enabled) continue;
    if (last[s.dir] < 0) c.first[s.dir] = static_cast<uint8_t>(s.index + 1);
    else c.prev[s.dir][s.index] = static_cast<uint8_t>(last[s.dir] + 1);
    last[s.dir] = s.index;
  }
  return c;
}

bool keyed_by_skb(const StageTable& t) {
  std::array<bool, NT_LAT_DIRS> first_seen{};
  bool any = false;
  for (const auto& s : t.stages) {
    if (!s.enabled) continue;
    if (first_seen[s.dir] && !(s.flags & NT_LAT_BY_SKB)) return false;
    first_seen[s.dir] = true;
    any = any || (s.flags & NT_LAT_BY_SKB);
  }
  return any;
}

namespace {

struct HookInfo {
  nt_lat_hook hook;
  const char* label;
  const char* target;  // tracepoint name or function
  bool tracepoint;
  bool classic;  // has a tracepoint/net/<name> variant
  bool kprobe_only = false;  // no fentry variant (see bpf/perf_latency.bpf.c)
};

constexpr HookInfo kHooks[] = {
    {NT_LH_NET_DEV_QUEUE, "net:net_dev_queue", "net_dev_queue", true, true},
    {NT_LH_NET_DEV_START_XMIT, "net:net_dev_start_xmit", "net_dev_start_xmit", true, false},
    {NT_LH_NET_DEV_XMIT, "net:net_dev_xmit", "net_dev_xmit", true, false},
    {NT_LH_NETIF_RX, "net:netif_rx", "netif_rx", true, true},
    {NT_LH_NAPI_GRO_RECEIVE, "net:napi_gro_receive_entry", "napi_gro_receive_entry", true, false},
    {NT_LH_NETIF_RECEIVE_SKB, "net:netif_receive_skb", "netif_receive_skb", true, true},
    {NT_LH_QDISC_DEQUEUE, "qdisc:qdisc_dequeue", "qdisc_dequeue", true, false},
    {NT_LH_IP_LOCAL_OUT, "ip_local_out", "ip_local_out", false, false},
    {NT_LH_IP_OUTPUT, "ip_output", "ip_output", false, false},
    {NT_LH_IP_RCV, "ip_rcv", "ip_rcv", false, false},
    {NT_LH_IP_LOCAL_DELIVER, "ip_local_deliver", "ip_local_deliver", false, false},
    {NT_LH_TCP_V4_RCV, "tcp_v4_rcv", "tcp_v4_rcv", false, false},
    {NT_LH_UDP_RCV, "udp_rcv", "udp_rcv", false, false},
    {NT_LH_ICMP_RCV, "icmp_rcv", "icmp_rcv", false, false},
    {NT_LH_INTERNAL_DEV_XMIT, "internal_dev_xmit", "internal_dev_xmit", false, false},
    {NT_LH_NETDEV_FRAME_HOOK, "netdev_frame_hook", "netdev_frame_hook", false, false, true},
    {NT_LH_OVS_VPORT_RECEIVE, "ovs_vport_receive", "ovs_vport_receive", false, false},
    {NT_LH_OVS_DP_PROCESS_PACKET, "ovs_dp_process_packet", "ovs_dp_process_packet", false, false},
    {NT_LH_OVS_DP_UPCALL, "ovs_dp_upcall", "ovs_dp_upcall", false, false},
    {NT_LH_QUEUE_USERSPACE_PACKET, "queue_userspace_packet", "queue_userspace_packet", false, false},
    {NT_LH_OVS_FLOW_KEY_EXTRACT_USERSPACE, "ovs_flow_key_extract_userspace", "ovs_flow_key_extract_userspace", false,
     false},
    {NT_LH_OVS_EXECUTE_ACTIONS, "ovs_execute_actions", "ovs_execute_actions", false, false},
    {NT_LH_OVS_VPORT_SEND, "ovs_vport_send", "ovs_vport_send", false, false},
    {NT_LH_INTERNAL_DEV_RECV, "internal_dev_recv", "internal_dev_recv", false, false},
    {NT_LH_NF_CONNTRACK_IN, "nf_conntrack_in", "nf_conntrack_in", false, false},
    {NT_LH_NETIF_RX_FN, "netif_rx", "netif_rx", false, false},
    {NT_LH_NETIF_RX_INTERNAL, "netif_rx_internal", "netif_rx_internal", false, false},
    {NT_LH_ENQUEUE_TO_BACKLOG, "enqueue_to_backlog", "enqueue_to_backlog", false, false},
    {NT_LH_NETIF_RECEIVE_SKB_FN, "__netif_receive_skb", "__netif_receive_skb", false, false},
};
static_assert(sizeof(kHooks) / sizeof(kHooks[0]) == NT_LH_COUNT);

const HookInfo& info(nt_lat_hook h) {
  for (const auto& i : kHooks)
    if (i.hook == h) return i;
  throw std::logic_error("unknown hook");
}

// Stage lists of one packet path, named with a prefix ("TX", "P1", …).
struct PathBuilder {
  StageTable& t;
  std::string prefix;
  uint8_t dir;
  uint8_t pkt;
  uint8_t flags;  // added to every stage (REVERSE, SWAP_KEY, SPLIT)
  int n = 0;
  Stage& add(const std::string& what, nt_lat_hook h, uint8_t dev = NT_LAT_DEV_ANY, uint8_t f = 0,
             unsigned need = kNeedNone) {
    t.stages.push_back(Stage{fmt::format("{}_S{}_{}", prefix, n++, what), h, dir, dev, pkt,
                             static_cast<uint8_t>(flags | f), need});
    return t.stages.back();
  }
};

// Stages whose skb is the previous stage's unless the path replaced it: the key is taken by pointer while the
// skb is neither freed nor reshaped (do_role in bpf/perf_latency.bpf.c), saving a header parse per stage.
constexpr uint8_t kTry = NT_LAT_TRY_SKB;
// A later start of a path: takes the key by pointer for a packet it advances, parses for one it begins.
constexpr uint8_t kStartTry = NT_LAT_START | NT_LAT_TRY_SKB;

// The OVS kernel datapath from its receive to its send. The upcall frees the skb; ovs-vswitchd's re-inject
// is a new one, parsed at ovs_flow_key_extract_userspace.
void ovs_datapath(PathBuilder& b, bool ct) {
  b.add("ovs_vport_receive", NT_LH_OVS_VPORT_RECEIVE, NT_LAT_DEV_ANY, kTry);
  b.add("ovs_dp_process_packet", NT_LH_OVS_DP_PROCESS_PACKET, NT_LAT_DEV_ANY, kTry);
  b.add("ovs_dp_upcall", NT_LH_OVS_DP_UPCALL, NT_LAT_DEV_ANY, kTry);
  b.add("ovs_flow_key_extract_userspace", NT_LH_OVS_FLOW_KEY_EXTRACT_USERSPACE, NT_LAT_DEV_ANY, NT_LAT_FROM_DATA);
  b.add("ovs_execute_actions", NT_LH_OVS_EXECUTE_ACTIONS, NT_LAT_DEV_ANY, kTry);
  // OVS's ct() action runs inside the actions: ovs_execute_actions -> ovs_ct_execute -> nf_conntrack_in. Its
  // defragmentation turns the completing fragment's skb into the datagram (a reshape: parsed again).
  if (ct) b.add("nf_conntrack_in", NT_LH_NF_CONNTRACK_IN, NT_LAT_DEV_ANY, kTry, kNeedCt);
  b.add("ovs_vport_send", NT_LH_OVS_VPORT_SEND, NT_LAT_DEV_ANY, kTry);
}

// Host -> wire: local stack, OVS internal port, OVS datapath, physical port.
void out_path(PathBuilder b, bool ct) {
  // ip_output, not ip_local_out: __ip_local_out fills tot_len, which is part of the key.
  b.add("ip_output", NT_LH_IP_OUTPUT, NT_LAT_DEV_ANY, NT_LAT_START);
  b.add("internal_dev_queue", NT_LH_NET_DEV_QUEUE, NT_LAT_DEV_INTERNAL, kStartTry);
  b.add("internal_dev_xmit", NT_LH_INTERNAL_DEV_XMIT, NT_LAT_DEV_INTERNAL, kTry);
  ovs_datapath(b, ct);
  b.add("phy_dev_queue", NT_LH_NET_DEV_QUEUE, NT_LAT_DEV_PHY, kStartTry);
  b.add("phy_qdisc_dequeue", NT_LH_QDISC_DEQUEUE, NT_LAT_DEV_PHY, NT_LAT_BY_SKB);
  b.add("phy_start_xmit", NT_LH_NET_DEV_START_XMIT, NT_LAT_DEV_PHY, NT_LAT_BY_SKB);
  b.add("phy_xmit", NT_LH_NET_DEV_XMIT, NT_LAT_DEV_PHY, NT_LAT_BY_SKB | NT_LAT_END);
}

// Wire -> host: physical port, OVS datapath, internal port, local stack.
void in_path(PathBuilder b, bool ct, bool icmp_only) {
  b.add("phy_gro_receive", NT_LH_NAPI_GRO_RECEIVE, NT_LAT_DEV_PHY, NT_LAT_START);
  b.add("phy_netif_rx", NT_LH_NETIF_RX, NT_LAT_DEV_PHY, kStartTry);
  b.add("phy_netif_receive_skb", NT_LH_NETIF_RECEIVE_SKB, NT_LAT_DEV_PHY, kStartTry);
  b.add("netdev_frame_hook", NT_LH_NETDEV_FRAME_HOOK, NT_LAT_DEV_ANY, kTry);
  ovs_datapath(b, ct);
  b.add("internal_dev_recv", NT_LH_INTERNAL_DEV_RECV, NT_LAT_DEV_INTERNAL, kTry);
  b.add("internal_netif_rx", NT_LH_NETIF_RX, NT_LAT_DEV_INTERNAL, kTry);
  b.add("internal_netif_receive_skb", NT_LH_NETIF_RECEIVE_SKB, NT_LAT_DEV_INTERNAL, kTry);
  b.add("ip_rcv", NT_LH_IP_RCV, NT_LAT_DEV_ANY, kTry);
  // Fragments are reassembled inside ip_local_deliver: the L4 stages after it parse the datagram.
  b.add("ip_local_deliver", NT_LH_IP_LOCAL_DELIVER, NT_LAT_DEV_ANY, kTry);
  if (!icmp_only) {
    b.add("tcp_v4_rcv", NT_LH_TCP_V4_RCV, NT_LAT_DEV_ANY, NT_LAT_END);
    b.add("udp_rcv", NT_LH_UDP_RCV, NT_LAT_DEV_ANY, NT_LAT_END);
  }
  b.add("icmp_rcv", NT_LH_ICMP_RCV, NT_LAT_DEV_ANY, NT_LAT_END);
}

// The OVS datapath between a receive and a transmit port.
void ovs_path(PathBuilder& b, bool ct) {
  b.add("netdev_frame_hook", NT_LH_NETDEV_FRAME_HOOK, NT_LAT_DEV_ANY, kTry);
  ovs_datapath(b, ct);
}

// A port to another: receive on `from`, the datapath (or the host's forwarding), transmit on `to`.
void port_to_port(PathBuilder b, uint8_t from, uint8_t to, const char* fname, const char* tname) {
  const std::string f = fname, t = tname;
  b.add(f + "_gro_receive", NT_LH_NAPI_GRO_RECEIVE, from, NT_LAT_START);
  b.add(f + "_netif_rx", NT_LH_NETIF_RX, from, kStartTry);
  b.add(f + "_netif_receive_skb", NT_LH_NETIF_RECEIVE_SKB, from, kStartTry);
  ovs_path(b, true);
  b.add(t + "_dev_queue", NT_LH_NET_DEV_QUEUE, to, kStartTry);
  b.add(t + "_qdisc_dequeue", NT_LH_QDISC_DEQUEUE, to, NT_LAT_BY_SKB);
  b.add(t + "_start_xmit", NT_LH_NET_DEV_START_XMIT, to, NT_LAT_BY_SKB);
  b.add(t + "_xmit", NT_LH_NET_DEV_XMIT, to, NT_LAT_BY_SKB | NT_LAT_END);
}

}  // namespace

StageTable vm_latency_table(Direction d) {
  StageTable t;
  t.kind = "vm_latency";
  t.dir_names = {"tx", "rx"};  // the VM's perspective: tx = VM -> wire, rx = wire -> VM
  if (d != Direction::Rx) port_to_port(PathBuilder{t, "TX", 0, NT_LAT_PKT_ANY, 0}, NT_LAT_DEV_VNET, NT_LAT_DEV_PHY, "vnet", "phy");
  if (d != Direction::Tx)
    port_to_port(PathBuilder{t, "RX", 1, NT_LAT_PKT_ANY, NT_LAT_REVERSE}, NT_LAT_DEV_PHY, NT_LAT_DEV_VNET, "phy", "vnet");
  return t;
}

StageTable internal_port_table(bool internal_given) {
  StageTable t;
  t.kind = "internal_port";
  t.dir_names = {"unused", "rx"};
  t.cpu_from_label = "enqueue";
  t.cpu_to_label = "receive";
  t.start_device_hint = "name the internal port with --internal-interface";
  PathBuilder b{t, "RX", 1, NT_LAT_PKT_ANY, NT_LAT_REVERSE};
  const uint8_t in = internal_given ? NT_LAT_DEV_INTERNAL : NT_LAT_DEV_ANY;
  b.add("ovs_vport_send", NT_LH_OVS_VPORT_SEND, NT_LAT_DEV_PHY, NT_LAT_START);
  b.add("internal_dev_recv", NT_LH_INTERNAL_DEV_RECV, in, kTry);
  // With the internal port named, its receive (netif_rx) also begins a packet that OVS's stages missed, or
  // that did not come through OVS; without it only OVS's transmit does (else any device's receive would).
  const uint8_t rx_start = internal_given ? static_cast<uint8_t>(NT_LAT_START) : kTry;
  b.add("netif_rx", NT_LH_NETIF_RX_FN, in, rx_start).cpu = CpuSide::From;
  b.add("netif_rx_internal", NT_LH_NETIF_RX_INTERNAL, in, rx_start).cpu = CpuSide::From;
  b.add("tp_netif_rx", NT_LH_NETIF_RX, in, rx_start).cpu = CpuSide::From;
  b.add("enqueue_to_backlog", NT_LH_ENQUEUE_TO_BACKLOG, in, kTry).cpu = CpuSide::From;
  // process_backlog(napi, quota) has no skb: the receive side begins at __netif_receive_skb.
  b.add("__netif_receive_skb", NT_LH_NETIF_RECEIVE_SKB_FN, in, kTry).cpu = CpuSide::To;
  b.add("tp_netif_receive_skb", NT_LH_NETIF_RECEIVE_SKB, in, kTry).cpu = CpuSide::To;
  b.add("ip_rcv", NT_LH_IP_RCV, in, kTry).cpu = CpuSide::To;
  b.add("ip_local_deliver", NT_LH_IP_LOCAL_DELIVER, NT_LAT_DEV_ANY, kTry);
  b.add("tcp_v4_rcv", NT_LH_TCP_V4_RCV, NT_LAT_DEV_ANY, NT_LAT_END);
  b.add("udp_rcv", NT_LH_UDP_RCV, NT_LAT_DEV_ANY, NT_LAT_END);
  return t;
}

StageTable backlog_table(bool to_ip_rcv) {
  StageTable t;
  t.kind = "backlog";
  t.dir_names = {"rx", "unused"};
  t.cpu_from_label = "enqueue";
  t.cpu_to_label = "receive";
  PathBuilder b{t, "BL", 0, NT_LAT_PKT_ANY, NT_LAT_REVERSE};  // wire -> host: --src-ip is this host
  // The tracepoints sit next to the functions on the same CPU (net:netif_rx just before the enqueue,
  // net:netif_receive_skb inside __netif_receive_skb): stand-ins only.
  Stage& tp_rx = b.add("tp_netif_rx", NT_LH_NETIF_RX, NT_LAT_DEV_PHY);
  tp_rx.cpu = CpuSide::From;
  tp_rx.instead_of = NT_LH_ENQUEUE_TO_BACKLOG;
  b.add("enqueue_to_backlog", NT_LH_ENQUEUE_TO_BACKLOG, NT_LAT_DEV_PHY).cpu = CpuSide::From;
  b.add("__netif_receive_skb", NT_LH_NETIF_RECEIVE_SKB_FN, NT_LAT_DEV_PHY, to_ip_rcv ? 0 : NT_LAT_END).cpu =
      CpuSide::To;
  Stage& tp_recv = b.add("tp_netif_receive_skb", NT_LH_NETIF_RECEIVE_SKB, NT_LAT_DEV_PHY, to_ip_rcv ? 0 : NT_LAT_END);
  tp_recv.cpu = CpuSide::To;
  tp_recv.instead_of = NT_LH_NETIF_RECEIVE_SKB_FN;
  if (to_ip_rcv) b.add("ip_rcv", NT_LH_IP_RCV, NT_LAT_DEV_PHY, NT_LAT_END).cpu = CpuSide::To;
  return t;
}

const char* hook_label(nt_lat_hook h) { return info(h).label; }

std::vector<bpf::Hook> skb_free_hooks() {
  std::vector<bpf::Hook> out;
  for (const std::string tp : {"kfree_skb", "consume_skb"})
    out.push_back(bpf::tracepoint_hook(
        "skb", tp,
        {.classic = true, .btf_first = true, .required = false, .group = "skb frees (without them every OVS stage parses its packet)"}));
  return out;
}

bpf::Hook hook_spec(nt_lat_hook h) {
  const HookInfo& i = info(h);
  if (i.tracepoint) {
    // tp_btf first: the handlers read the skb directly, on every packet.
    const std::string label = i.label;
    return bpf::tracepoint_hook(label.substr(0, label.find(':')), i.target,
                                {.classic = i.classic, .btf_first = true, .required = false});
  }
  return bpf::function_hook(i.target, {.fentry = !i.kprobe_only,
                                       .required = false,
                                       .group = "kernel-function stages (need fentry or kprobes; bridged)",
                                       .name = i.label});
}

StageTable system_latency_table(Direction d) {
  StageTable t;
  t.kind = "latency";
  t.dir_names = {"tx", "rx"};
  if (d != Direction::Rx) out_path(PathBuilder{t, "TX", 0, NT_LAT_PKT_ANY, 0}, true);
  if (d != Direction::Tx) in_path(PathBuilder{t, "RX", 1, NT_LAT_PKT_ANY, NT_LAT_REVERSE}, true, false);
  return t;
}

StageTable icmp_rtt_table(Direction d) {
  StageTable t;
  t.kind = "icmp_rtt";
  t.dir_names = {"rtt", "unused"};
  if (d == Direction::Rx) {
    // Remote pings local: request in (remote -> local), reply out (key swapped onto the request's).
    in_path(PathBuilder{t, "P1", 0, NT_LAT_PKT_ICMP_REQUEST, NT_LAT_REVERSE}, false, true);
    for (auto& s : t.stages) s.flags &= static_cast<uint8_t>(~NT_LAT_END);
    out_path(PathBuilder{t, "P2", 0, NT_LAT_PKT_ICMP_REPLY, NT_LAT_SWAP_KEY | NT_LAT_SPLIT}, false);
  } else {
    out_path(PathBuilder{t, "P1", 0, NT_LAT_PKT_ICMP_REQUEST, 0}, false);
    for (auto& s : t.stages) s.flags &= static_cast<uint8_t>(~NT_LAT_END);
    in_path(PathBuilder{t, "P2", 0, NT_LAT_PKT_ICMP_REPLY, NT_LAT_REVERSE | NT_LAT_SWAP_KEY | NT_LAT_SPLIT}, false,
            true);
  }
  // Only the first path begins a flow: the reply's early stages are not START stages.
  for (auto& s : t.stages)
    if (s.flags & NT_LAT_SPLIT) s.flags &= static_cast<uint8_t>(~NT_LAT_START);
  return t;
}

// ---- rendering ----

namespace {

std::string addr(const uint8_t* a, uint8_t l3) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (l3 == NT_L3_IPV6) inet_ntop(AF_INET6, a, buf, sizeof(buf));
  else inet_ntop(AF_INET, a, buf, sizeof(buf));
  return buf;
}

const char* proto_name(uint8_t p) {
  switch (p) {
    case NT_IPPROTO_TCP: return "tcp";
    case NT_IPPROTO_UDP: return "udp";
    case NT_IPPROTO_ICMP: return "icmp";
    case NT_IPPROTO_ICMPV6: return "icmpv6";
    default: return nullptr;
  }
}

std::string us(uint64_t ns) { return fmt::format("{:.3f}", static_cast<double>(ns) / 1e3); }

// The CPU pair of a flow, when the table has one and the flow passed both of its stages.
std::optional<std::pair<uint16_t, uint16_t>> flow_cpus(const nt_lat_flow& f, const StageTable& t) {
  if (t.cpu_from < 0 || t.cpu_to < 0 || (f.dir & 1) != t.cpu_dir) return std::nullopt;
  if (!(f.seen & (1U << t.cpu_from)) || !(f.seen & (1U << t.cpu_to))) return std::nullopt;
  return std::pair<uint16_t, uint16_t>{f.st[t.cpu_from].cpu, f.st[t.cpu_to].cpu};
}

}  // namespace

std::string key_string(const nt_lat_key& k) {
  const char* p = proto_name(k.l4_proto);
  std::string proto = p ? p : fmt::format("proto {}", k.l4_proto);
  const std::string s = addr(k.saddr, k.l3), d = addr(k.daddr, k.l3);
  if (k.l4_proto == NT_IPPROTO_ICMP || k.l4_proto == NT_IPPROTO_ICMPV6)
    return fmt::format("{} {} -> {} id {} seq {}", proto, s, d, k.ident >> 16, k.ident & 0xffff);
  if (k.l4_proto == NT_IPPROTO_TCP)
    return fmt::format("{} {}:{} -> {}:{} seq {} ack {}", proto, s, k.sport, d, k.dport, k.ident, k.ident2);
  if (k.l4_proto == NT_IPPROTO_UDP) {
    std::string r = fmt::format("{} {}:{} -> {}:{} ip_id {}", proto, s, k.sport, d, k.dport, k.ip_id);
    if (k.frag_off) r += fmt::format(" frag_off {}", k.frag_off);
    return r;
  }
  return fmt::format("{} {} -> {}", proto, s, d);
}

nlohmann::json flow_to_json(const FlowView& v) {
  const nt_lat_flow& f = *v.flow;
  const StageTable& t = *v.table;
  const nt_lat_key& k = f.key;
  nlohmann::json j{{"type", t.kind == "icmp_rtt" ? "icmp_rtt" : "latency_flow"},
                   {"direction", t.dir_names[f.dir & 1]},
                   {"timestamp_ns", f.first_ts},
                   {"src_ip", addr(k.saddr, k.l3)},
                   {"dst_ip", addr(k.daddr, k.l3)}};
  const char* p = proto_name(k.l4_proto);
  j["protocol"] = p ? nlohmann::json(p) : nlohmann::json(k.l4_proto);
  if (k.l4_proto == NT_IPPROTO_ICMP || k.l4_proto == NT_IPPROTO_ICMPV6) {
    j["icmp_id"] = k.ident >> 16;
    j["icmp_seq"] = k.ident & 0xffff;
  } else if (k.l4_proto == NT_IPPROTO_TCP || k.l4_proto == NT_IPPROTO_UDP) {
    j["src_port"] = k.sport;
    j["dst_port"] = k.dport;
    if (k.l4_proto == NT_IPPROTO_TCP) {
      j["tcp_seq"] = k.ident;
      j["tcp_ack"] = k.ident2;
    } else {
      j["ip_id"] = k.ip_id;
    }
  }
  if (k.frag_off) j["frag_off"] = k.frag_off;
  j["pid"] = f.pid;
  j["comm"] = std::string(f.comm, strnlen(f.comm, sizeof(f.comm)));
  auto stages = nlohmann::json::array();
  uint64_t prev = 0;
  for (uint32_t i = 0; i < NT_LAT_MAX_STAGES; i++) {
    if (!(f.seen & (1U << i))) continue;
    const nt_lat_stage_rec& r = f.st[i];
    const Stage* s = t.find(f.dir, static_cast<uint8_t>(i));
    nlohmann::json sj{{"stage", s ? s->name : fmt::format("stage{}", i)},
                      {"index", i},
                      {"timestamp_ns", r.ts},
                      {"delta_us", prev ? static_cast<double>(r.ts - prev) / 1e3 : 0.0},
                      {"since_start_us", static_cast<double>(r.ts - f.first_ts) / 1e3},
                      {"interface", std::string(r.ifname, strnlen(r.ifname, sizeof(r.ifname)))},
                      {"ifindex", r.ifindex},
                      {"netns", r.netns},
                      {"cpu", r.cpu},
                      {"queue", r.queue},
                      {"len", r.len},
                      {"skb", fmt::format("0x{:x}", r.skb)}};
    if (r.stack_id >= 0 && v.stack) sj["stack"] = v.stack(r.stack_id);
    stages.push_back(sj);
    prev = r.ts;
  }
  j["stages"] = stages;
  j["total_us"] = static_cast<double>(f.last_ts - f.first_ts) / 1e3;
  if (auto c = flow_cpus(f, t)) {
    j[t.cpu_from_label + "_cpu"] = c->first;
    j[t.cpu_to_label + "_cpu"] = c->second;
    j["cross_cpu"] = c->first != c->second;
  }
  if (f.split_ts) j["rtt_us"] = static_cast<double>(f.split_ts - f.first_ts) / 1e3;
  return j;
}

std::string flow_to_text(const FlowView& v, bool verbose) {
  const nt_lat_flow& f = *v.flow;
  const StageTable& t = *v.table;
  std::string out;
  const bool rtt = t.kind == "icmp_rtt";
  const auto cpus = flow_cpus(f, t);
  if (t.kind == "backlog") {
    // enqueue_to_iprec_latency_threshold's event: number, latency, the two CPUs.
    out += fmt::format("=== HIGH LATENCY EVENT #{} === {}\n", v.seq, key_string(f.key));
    out += fmt::format("Latency: {:.3f} ms ({} us)\n", static_cast<double>(f.last_ts - f.first_ts) / 1e6,
                       us(f.last_ts - f.first_ts));
    if (cpus)
      out += fmt::format("Enqueue CPU: {} / Receive CPU: {}{}\n", cpus->first, cpus->second,
                         cpus->first != cpus->second ? " (CROSS-CPU MIGRATION DETECTED)" : "");
  } else {
    out += fmt::format("=== {} {} ===\n", rtt ? "ICMP RTT" : fmt::format("Latency {}", t.dir_names[f.dir & 1]),
                       key_string(f.key));
  }
  out += fmt::format("Process at first stage: PID={} COMM={}\n", f.pid, std::string(f.comm, strnlen(f.comm, sizeof(f.comm))));
  const nt_lat_stage_rec* prev = nullptr;
  const Stage* prev_s = nullptr;
  for (uint32_t i = 0; i < NT_LAT_MAX_STAGES; i++) {
    if (!(f.seen & (1U << i))) continue;
    const nt_lat_stage_rec& r = f.st[i];
    const Stage* s = t.find(f.dir, static_cast<uint8_t>(i));
    const std::string name = s ? s->name : fmt::format("stage{}", i);
    const std::string dev(r.ifname, strnlen(r.ifname, sizeof(r.ifname)));
    if (prev)
      out += fmt::format("  [{:>2}->{:<2}] {} -> {}: {} us\n", prev_s ? prev_s->index : 0, i,
                         prev_s ? prev_s->name : "?", name, us(r.ts - prev->ts));
    if (verbose || !prev)
      out += fmt::format("        {} at +{} us  dev={} ifindex={} cpu={} queue={} len={} skb=0x{:x}\n", name,
                         us(r.ts - f.first_ts), dev.empty() ? "-" : dev, r.ifindex, r.cpu, r.queue, r.len, r.skb);
    if (r.stack_id >= 0 && v.stack)
      for (const auto& fr : v.stack(r.stack_id)) out += fmt::format("            {}\n", fr);
    prev = &r;
    prev_s = s;
  }
  if (f.split_ts) out += fmt::format("  RTT (request first stage -> reply first stage): {} us\n", us(f.split_ts - f.first_ts));
  if (cpus && t.kind != "backlog")
    out += fmt::format("  {} CPU {} -> {} CPU {}{}\n", t.cpu_from_label, cpus->first, t.cpu_to_label, cpus->second,
                       cpus->first != cpus->second ? " (cross-CPU)" : "");
  out += fmt::format("  Total ({} stages): {} us\n\n", f.nseen, us(f.last_ts - f.first_ts));
  return out;
}

}  // namespace nettrace::tools::perf
