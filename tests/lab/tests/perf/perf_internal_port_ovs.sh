#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Lab test: perf internal-port (system_network_rx_internal_port_latency_details) and perf backlog
# (enqueue_to_iprec_latency_*) on the OVS fixture (lab_ovs_bridge): UDP from the ext namespace through phy0 and
# the OVS kernel datapath into the host's address on the internal port port-storage. The sender is pinned to
# CPU 0; port-storage's rps_cpus is CPU 1 only, so its backlog is processed on CPU 1.
# Checks: one record per datagram, the OVS / internal-port / backlog function stages present and in order with
# non-negative deltas, the counts equal the root namespace's Udp NoPorts delta (no socket listens), every packet
# enqueued on CPU 0 and received on CPU 1, and none cross without RPS; a TCP transfer (iperf3) ends at tcp_v4_rcv
# once per skb the internal port received. Then the host's tracepoint-only script
# (tests/integration/perf_backlog.sh) runs here too, where kprobes/fentry give it the function stages.
set -uo pipefail
cd "$(dirname "$0")/../../../.." || exit 1
. tests/lab/fixtures.sh
lab_require_lab
NETTRACE=${NETTRACE:-$PWD/build/nettrace}
NETTRACE_BUILD=${NETTRACE_BUILD:-$PWD/build}
PKTSEND=$NETTRACE_BUILD/tests/nt_pktsend
[[ -x "$PKTSEND" ]] || lab_fail "nt_pktsend not found at $PKTSEND"
[[ $(nproc) -ge 2 ]] || lab_skip "needs 2 CPUs"
lab_ovs_bridge
N=20
OUT=${NETTRACE_LAB_OUT:-/tmp}
RPS=/sys/class/net/port-storage/queues/rx-0/rps_cpus
[[ -w $RPS ]] || lab_skip "no $RPS (kernel without RPS)"
# ext must send to port-storage's MAC: br0 (also an internal port) answers ARP for the address too (arp_ignore 0),
# and a packet to br0's MAC is received on br0, not on the internal port traced (seen on 6.1).
ip -n ext neigh replace "$LAB_OVS_STORAGE_IP" lladdr "$(cat /sys/class/net/port-storage/address)" dev eth0 nud permanent ||
  lab_fail "cannot pin ext's neighbour entry for $LAB_OVS_STORAGE_IP"
lab_ping_ok ext "$LAB_OVS_STORAGE_IP" 2 # ARP back, datapath flows

noports() { awk '$1=="Udp:" { if (!h) { for (i=2;i<=NF;i++) if ($i=="NoPorts") c=i; h=1 } else print $c }' /proc/net/snmp; }
export -f noports
run_traced() { # run_traced OUTFILE ARGS... : start nettrace, send N datagrams ext -> port-storage from CPU 0, stop
  local before after
  lab_nettrace_start "$@"
  before=$(noports)
  ip netns exec ext taskset -c 0 "$PKTSEND" udp "$LAB_OVS_STORAGE_IP" 9999 "$N" 64 7000 >/dev/null ||
    lab_fail "send ext -> port-storage failed"
  lab_wait_until 20 "datagrams at UDP" bash -c "[ \$(noports) -ge $((before + N)) ]"
  after=$(noports)
  SEEN=$((after - before))
  sleep 1
  lab_nettrace_stop
}

# --- perf internal-port, details, RPS to CPU 1.
echo 2 >"$RPS"
out=$OUT/perf_internal_port_ovs.json
run_traced "$out" perf internal-port --phy-interface phy0 --internal-interface port-storage \
  --src-ip "$LAB_OVS_STORAGE_IP" --dst-ip "$LAB_OVS_EXT_IP" --protocol udp --mode details --json \
  --disable-kernel-stacks --flow-timeout 5
lab_assert_eq "Udp NoPorts delta" "$SEEN" "$N"
n=$(jq -s '[.[] | select(.type=="latency_flow" and .direction=="rx")] | length' "$out")
lab_assert_eq "internal-port records" "$n" "$N"
bad=$(jq -s '[.[] | select(.type=="latency_flow") |
      select(([.stages[].delta_us] | min) < 0 or ([.stages[].index] != ([.stages[].index] | sort)) or
             ([.stages[].timestamp_ns] != ([.stages[].timestamp_ns] | sort)))] | length' "$out")
lab_assert_eq "internal-port records with stages out of order or negative deltas" "$bad" 0
stages=$(jq -s -r '[.[] | select(.type=="latency_flow")] | last | [.stages[].stage] | join(" -> ")' "$out")
lab_log "internal-port stages: $stages"
for s in ovs_vport_send internal_dev_recv netif_rx enqueue_to_backlog __netif_receive_skb ip_rcv ip_local_deliver udp_rcv; do
  all=$(jq -s --arg s "_$s\$" '[.[] | select(.type=="latency_flow") | select([.stages[].stage | test($s)] | any)] | length' "$out")
  lab_assert_eq "records with stage $s" "$all" "$N"
done
first=$(jq -s -r '[.[] | select(.type=="latency_flow")][0].stages[0].stage' "$out")
lab_assert_eq "first stage" "$first" RX_S0_ovs_vport_send
cross=$(jq -s '[.[] | select(.type=="latency_flow" and .enqueue_cpu==0 and .receive_cpu==1 and .cross_cpu)] | length' "$out")
lab_assert_eq "records enqueued on CPU 0, received on CPU 1" "$cross" "$N"
s=$(jq -s '[.[] | select(.type=="latency_summary")][0]' "$out")
lab_assert_eq "summary cross-CPU count" "$(jq .cpu_migration.migrated <<<"$s")" "$N"
lab_assert_eq "summary CPU pair stages" "$(jq -r '"\(.cpu_migration.from) \(.cpu_migration.to)"' <<<"$s")" \
  "RX_S5_enqueue_to_backlog RX_S6___netif_receive_skb"
lab_assert_eq "summary end-to-end count" \
  "$(jq '.directions.rx.histograms | map(select(.kind=="end_to_end") | .count) | add' <<<"$s")" "$N"

# --- perf internal-port, summary, no RPS: the backlog is processed where it was queued.
echo 0 >"$RPS"
out=$OUT/perf_internal_port_ovs_summary.json
run_traced "$out" perf internal-port --phy-interface phy0 --internal-interface port-storage \
  --src-ip "$LAB_OVS_STORAGE_IP" --dst-ip "$LAB_OVS_EXT_IP" --protocol udp --json --interval 1 --flow-timeout 5
s=$(jq -s '[.[] | select(.type=="latency_summary")][0]' "$out")
lab_assert_eq "no RPS: end-to-end count" \
  "$(jq '.directions.rx.histograms | map(select(.kind=="end_to_end") | .count) | add' <<<"$s")" "$SEEN"
lab_assert_eq "no RPS: same-CPU count" "$(jq .cpu_migration.same_cpu <<<"$s")" "$N"
lab_assert_eq "no RPS: cross-CPU count" "$(jq .cpu_migration.migrated <<<"$s")" 0
# Every adjacent pair into the end stage adds up to the completed flows.
lab_assert_eq "no RPS: pairs into udp_rcv" \
  "$(jq '.directions.rx.histograms | map(select(.kind=="pair" and (.to | test("udp_rcv"))) | .count) | add' <<<"$s")" "$N"

# --- perf backlog on port-storage, summary with RPS to CPU 1: enqueue_to_backlog -> __netif_receive_skb -> ip_rcv.
echo 2 >"$RPS"
out=$OUT/perf_backlog_ovs.json
run_traced "$out" perf backlog --interface port-storage --src-ip "$LAB_OVS_STORAGE_IP" --dst-ip "$LAB_OVS_EXT_IP" --protocol udp --json --interval 1
grep -E "BL_S1_enqueue_to_backlog +enqueue_to_backlog +(fentry|kprobe) start cpu:enqueue" "$out.err" >/dev/null ||
  lab_fail "perf backlog: enqueue_to_backlog is not the start stage"
s=$(jq -s '[.[] | select(.type=="latency_summary")][0]' "$out")
lab_assert_eq "backlog end-to-end (enqueue_to_backlog -> ip_rcv)" \
  "$(jq '.directions.rx.histograms | map(select(.kind=="end_to_end" and .from=="BL_S1_enqueue_to_backlog" and .to=="BL_S4_ip_rcv") | .count) | add' <<<"$s")" "$SEEN"
lab_assert_eq "backlog cross-CPU 0 -> 1" \
  "$(jq '[.cpu_migration.pairs[] | select(.enqueue_cpu==0 and .receive_cpu==1) | .count] | add' <<<"$s")" "$N"
echo 0 >"$RPS"

# --- perf internal-port, summary, TCP: an iperf3 transfer ext -> the host ends at tcp_v4_rcv, once per IPv4 skb
# the root namespace receives (Ip InReceives: one per skb, GSO skbs included; nothing but the transfer is IPv4
# here, both neighbours are pinned). port-storage's rx_packets and Tcp InSegs are logged beside it (the first
# also counts ext's IPv6 chatter, the second counts a GSO skb's segments on some kernels).
echo 0 >"$RPS"
command -v iperf3 >/dev/null || lab_fail "iperf3 not installed"
ip neigh replace "$LAB_OVS_EXT_IP" lladdr "$(ip netns exec ext cat /sys/class/net/eth0/address)" dev port-storage \
  nud permanent || lab_fail "cannot pin the host's neighbour entry for $LAB_OVS_EXT_IP"
iperf3 -s -1 -B "$LAB_OVS_STORAGE_IP" -p 5201 >/dev/null 2>&1 &
srv=$!
lab_wait_until 20 "iperf3 listening" bash -c "ss -ltn | grep -q '$LAB_OVS_STORAGE_IP:5201 '"
out=$OUT/perf_internal_port_ovs_tcp.json
lab_nettrace_start "$out" perf internal-port --phy-interface phy0 --internal-interface port-storage \
  --src-ip "$LAB_OVS_STORAGE_IP" --dst-ip "$LAB_OVS_EXT_IP" --protocol tcp --json --flow-timeout 5
snmp() { awk -v p="$1" -v f="$2" '$1==p { if (!h) { for (i=2;i<=NF;i++) if ($i==f) c=i; h=1 } else print $c }' /proc/net/snmp; }
rx0=$(cat /sys/class/net/port-storage/statistics/rx_packets) ip0=$(snmp Ip: InReceives) segs0=$(snmp Tcp: InSegs)
ip netns exec ext timeout 120 iperf3 -c "$LAB_OVS_STORAGE_IP" -p 5201 -n 256K >/dev/null ||
  lab_fail "iperf3 ext -> port-storage failed"
wait "$srv" # -1: the server exits after the one test
sleep 1
rx=$(($(cat /sys/class/net/port-storage/statistics/rx_packets) - rx0))
ipin=$(($(snmp Ip: InReceives) - ip0)) segs=$(($(snmp Tcp: InSegs) - segs0))
lab_nettrace_stop
s=$(jq -s '[.[] | select(.type=="latency_summary")][0]' "$out")
e2e=$(jq '.directions.rx.histograms | map(select(.kind=="end_to_end" and (.to | test("_tcp_v4_rcv$"))) | .count) | add // 0' <<<"$s")
lab_log "TCP: $e2e flows ended at tcp_v4_rcv; Ip InReceives +$ipin, Tcp InSegs +$segs, port-storage rx_packets +$rx;" \
  "incomplete $(jq -c .directions.rx.incomplete_by_last_stage <<<"$s")"
[[ $ipin -gt 10 ]] || lab_fail "TCP: the host received only $ipin IPv4 packets"
lab_assert_eq "TCP: flows ended at tcp_v4_rcv = Ip InReceives delta" "$e2e" "$ipin"
lab_assert_eq "TCP: incomplete" "$(jq .directions.rx.incomplete <<<"$s")" 0

# --- the host's script, with the function stages this kernel can trace.
bash tests/integration/perf_backlog.sh || lab_fail "tests/integration/perf_backlog.sh failed in the lab"
lab_log "perf internal-port / backlog on $(uname -r): ok"
