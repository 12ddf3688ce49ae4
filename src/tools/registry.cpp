// SPDX-License-Identifier: GPL-2.0
#include "tools/registry.hpp"

#include "tools/cpu/cpu.hpp"
#include "tools/doctor/doctor.hpp"
#include "tools/drop/drop.hpp"
#include "tools/perf/perf.hpp"
#include "tools/tun/tun.hpp"
#include "tools/vhost/vhost.hpp"
#include "tools/virtio/virtio.hpp"

namespace nettrace::tools {

const std::vector<ToolSpec>& tools() {
  static const std::vector<ToolSpec> list = {
      {"drop", "Packet path", "Packet drops: reason, location, device, flow, stack; summaries; qdisc drops",
       &drop::setup, &drop::hooks, &drop::commands},
      {"cpu", "Host", "CPU-side latency: run-queue waits, off-CPU time, futex and rwlock waits, CPU usage", &cpu::setup,
       &cpu::hooks, &cpu::commands},
      {"perf", "Packet path", "Packet latency through the host, per stage; interface queues; qdisc sojourn",
       &perf::setup, &perf::hooks, &perf::commands},
      {"tun", "Virtualization", "tun/tap transmit rings: depth, full-ring events, drops per queue", &tun::setup,
       &tun::hooks},
      {"vhost", "Virtualization", "vhost-net workers: guest signals per queue, RX ring peeks, notify decisions",
       &vhost::setup, &vhost::hooks},
      {"virtio", "Guest", "Guest virtio-net: the device's interrupts and NAPI polls", &virtio::setup, &virtio::hooks},
      {"doctor", "Setup", "What this kernel supports and which nettrace tools can run here", &doctor::setup,
       nullptr},
  };
  return list;
}

// Every original script of docs/tools.md that aliases() does not run yet, with the command planned for it
// there. tests/cli/docs_aliases.sh checks that each alias name of docs/tools.md is in aliases() or here.
const std::vector<PlannedSpec>& planned() {
  static const std::vector<PlannedSpec> list = {
      {"deploy_full_mesh_icmp_tracer", "perf icmp-rtt --ovs (on each node)"},
      {"icmp_drop_detector", "drop --mode forward --protocol icmp"},
      {"kvm_irqfd_stats_summary", "kvm irqfd --qemu-pid PID"},
      {"kvm_irqfd_stats_summary_arm", "kvm irqfd --qemu-pid PID"},
      {"kvm_vhost_tun_latency_details", "vhost tx-latency --details"},
      {"kvm_vhost_tun_latency_summary", "vhost tx-latency"},
      {"multi_port_gap", "vmpair gap --ports ... --threshold-ms 100"},
      {"multi_vm_pair_latency", "vmpair latency --pairs ... --ports ..."},
      {"multi_vm_pair_latency_pairid", "vmpair latency --pairs 'a,b=ID;...'"},
      {"multi_vm_pair_multi_port_gap", "vmpair gap --pairs ... --ports ... --threshold-ms 100"},
      {"ovs-kernel-module-drop-monitor", "ovs drop"},
      {"ovs_mcast_action_trace", "ovs actions --dst-ip IPV6"},
      {"ovs_upcall_latency_summary", "ovs upcall-latency"},
      {"ovs_userspace_megaflow", "ovs megaflow"},
      {"phy_net_drop_detector", "drop --mode phy --role sender/receiver"},
      {"queue_userspace_packet_retval", "ovs upcall-retval"},
      {"skb_frag_list_watcher", "vxlan frag-list"},
      {"skb_frag_list_watcher_kprobe_only", "vxlan frag-list"},
      {"skb_vxlan_source_detector", "vxlan gso-source"},
      {"sort_vhost_queue_correlation_monitor_signals", "vhost notify --sorted"},
      {"syscall_recv_latency_summary", "tcp recv-latency"},
      {"tcp_connection_analyzer", "tcp conn"},
      {"tcp_drop_detector", "drop --mode forward --protocol tcp"},
      {"tcp_perf_observer", "tcp observe"},
      {"tcp_rtt_inflight_hist", "tcp rtt-hist"},
      {"tcp_send_rtt_inflight_hist", "tcp rtt-hist --perspective send"},
      {"trace-abnormal-arp", "skb --arp --dev vnet42 --hooks rx,tun-xmit"},
      {"trace-ovs-ct-invalid", "conntrack --tcp-window"},
      {"trace-qdisc-dequeue", "skb --abnormal-gso --dev vnet0,port-storage"},
      {"trace_conntrack", "conntrack"},
      {"trace_dev_queue_xmit", "skb --abnormal-gso --dev vnet13"},
      {"trace_ip_defrag", "defrag"},
      {"trace_offloading_segment", "skb --hooks iptunnel_xmit,skb_udp_tunnel_segment --dport 6081"},
      {"trace_tc_qdisc", "skb --abnormal-gso --hooks sch_direct_xmit,htb_enqueue,fq_codel_enqueue,tcf_classify,..."},
      {"trace_vlanvm_udp_workload", "skb --hooks ... --dev ..."},
      {"tun-abnormal-gso-type", "skb --abnormal-gso --dev vnet0,port-storage"},
      {"tun_to_vhost_queue_stats_details", "tun queue --full"},
      {"tun_to_vhost_queue_stats_full_summary", "tun queue --full"},
      {"tun_to_vhost_queue_status_simple", "tun queue"},
      {"tun_to_vhost_queue_status_simple_summary", "tun queue"},
      {"tun_tx_to_kvm_irq", "tun irq-chain"},
      {"udp_drop_detector", "drop --mode forward --protocol udp"},
      {"virtionet-rx-path-monitor", "virtio rx-path"},
      {"virtionet-rx-path-summary", "virtio rx-path --summary"},
      {"vm_pair_gap", "vmpair gap"},
      {"vm_pair_latency", "vmpair latency"},
      {"vpc-vm-udp-datapath", "skb --hooks ... --dport 6081"},
      {"vxlan_tracer", "vxlan trace"},
  };
  return list;
}

const PlannedSpec* find_planned(std::string name) {
  if (find_alias(name)) return nullptr;
  name = strip_script_extension(std::move(name));
  for (const auto& p : planned())
    if (name == p.alias) return &p;
  return nullptr;
}

}  // namespace nettrace::tools
