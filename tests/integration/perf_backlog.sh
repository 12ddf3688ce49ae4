#!/bin/bash
# perf backlog (enqueue_to_iprec_latency_*) and perf internal-port (system_network_rx_internal_port_latency_details)
# on the host, tracepoints only: veth delivers through netif_rx and the receive backlog, so net:netif_rx (the
# enqueue CPU) -> net:netif_receive_skb (the backlog-processing CPU) is the measured boundary. The sender is
# pinned to CPU 0. Without RPS the backlog is processed where it was queued: every packet on one CPU, no
# migration. With rps_cpus of the receiving veth set to CPU 1 only, get_rps_cpu() steers every packet to CPU 1's
# backlog: every packet migrates 0 -> 1. Counts equal the datagrams the receiver's UDP saw (Udp NoPorts: no
# socket listens), and the datagrams sent.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/perf.sh"
N=${N:-40}
[ "$(nproc)" -ge 2 ] || skip "needs 2 CPUs (RPS to another CPU)"
quiet_pair
RPS=/sys/class/net/veth-b/queues/rx-0/rps_cpus
ip netns exec "$NS_B" test -w "$RPS" || skip "kernel without RPS (no $RPS)"
FILTER=(--src-ip 10.201.0.2 --dst-ip 10.201.0.1 --protocol udp) # src = this (receiving) host, as in every latency tool

set_rps() { ip netns exec "$NS_B" sh -c "echo $1 > $RPS" || fail "cannot set rps_cpus to $1"; }
send() { # send N [PORT] : N datagrams from CPU 0, A -> B port PORT (9999; closed)
  local before after
  before=$(snmp "$NS_B" Udp: NoPorts)
  ip netns exec "$NS_A" taskset -c 0 "$PKTSEND" udp 10.201.0.2 "${2:-9999}" "$1" 64 7000 >/dev/null || fail "send failed"
  for _ in $(seq 1 40); do
    after=$(snmp "$NS_B" Udp: NoPorts)
    [ $((after - before)) -ge "$1" ] && break
    sleep 0.05
  done
  SEEN=$((after - before))
  [ "$SEEN" -eq "$1" ] || fail "receiver's Udp NoPorts rose by $SEEN for $1 datagrams sent"
}
summary() { jq -s '[.[] | select(.type=="latency_summary")][0]' "$1"; }

# --- perf backlog, summary: without RPS, then with RPS to CPU 1.
for rps in 0 2; do
  set_rps $rps
  out=$TMP/backlog.$rps.json
  start_nettrace "$NS_B" "$out" perf backlog --interface veth-b "${FILTER[@]}" --src-port 9999 --interval 1 --json
  send 5 9998 # decoys the port filter (this host's port) rejects
  send "$N"
  sleep 0.3
  stop_nettrace "$out"
  s=$(summary "$out")
  e2e=$(jq '.directions.rx.histograms | map(select(.kind=="end_to_end") | .count) | add // 0' <<<"$s")
  same=$(jq '.cpu_migration.same_cpu' <<<"$s")
  mig=$(jq '.cpu_migration.migrated' <<<"$s")
  pairs=$(jq -c '[.cpu_migration.pairs[] | {(("\(.enqueue_cpu)->\(.receive_cpu)")): .count}] | add // {}' <<<"$s")
  inc=$(jq '.directions.rx.incomplete' <<<"$s")
  [ "$e2e" -eq "$SEEN" ] || { cat "$out" "$out.err"; fail "backlog rps=$rps: end-to-end $e2e, receiver's UDP saw $SEEN"; }
  [ "$inc" -eq 0 ] || fail "backlog rps=$rps: $inc incomplete"
  [ $((same + mig)) -eq "$N" ] || { echo "$s"; fail "backlog rps=$rps: same $same + migrated $mig != $N"; }
  if [ $rps = 0 ]; then
    [ "$mig" -eq 0 ] || { echo "$s"; fail "backlog without RPS: $mig cross-CPU packets (pairs $pairs)"; }
    [ "$pairs" = "{\"0->0\":$N}" ] || fail "backlog without RPS: CPU pairs $pairs, expected 0->0: $N"
  else
    [ "$mig" -eq "$N" ] || { echo "$s"; fail "backlog RPS to CPU 1: $mig cross-CPU of $N (pairs $pairs)"; }
    [ "$pairs" = "{\"0->1\":$N}" ] || fail "backlog RPS to CPU 1: CPU pairs $pairs, expected 0->1: $N"
  fi
  # The histogram of the pairs adds up to the counters.
  hsum=$(jq '[.cpu_migration.pairs[].count] | add' <<<"$s")
  [ "$hsum" -eq "$N" ] || fail "backlog rps=$rps: pair histograms count $hsum, expected $N"
  pass "backlog summary rps_cpus=$rps: $e2e measured = $SEEN at UDP; same CPU $same, cross-CPU $mig; pairs $pairs"
done

# --- perf backlog, threshold (0 us: every packet is an event): JSON events carry both CPUs; text says MIGRATION.
set_rps 2
out=$TMP/threshold.json
start_nettrace "$NS_B" "$out" perf backlog --mode threshold --threshold-us 0 --interface veth-b "${FILTER[@]}" --json
send "$N"
sleep 0.3
stop_nettrace "$out"
n=$(jq -s '[.[] | select(.type=="latency_flow")] | length' "$out")
cross=$(jq -s '[.[] | select(.type=="latency_flow" and .enqueue_cpu==0 and .receive_cpu==1 and .cross_cpu)] | length' "$out")
bad=$(jq -s '[.[] | select(.type=="latency_flow") | select(([.stages[].delta_us] | min) < 0 or (.stages | length) != 2 or
       .stages[0].cpu != .enqueue_cpu or .stages[1].cpu != .receive_cpu or (.stages[0].stack | length) == 0)] | length' "$out")
[ "$n" -eq "$N" ] || { cat "$out.err"; fail "threshold: $n events for $N datagrams"; }
[ "$cross" -eq "$N" ] || fail "threshold: $cross of $N events 0 -> 1 cross-CPU"
[ "$bad" -eq 0 ] || fail "threshold: $bad events with a negative delta, a stage missing, CPUs not the stages' or no stack"
pass "backlog threshold: $n events = $N datagrams, all enqueue CPU 0 -> receive CPU 1, with stacks"
out=$TMP/threshold.txt
start_nettrace "$NS_B" "$out" perf backlog --mode threshold --threshold-us 0 --interface veth-b "${FILTER[@]}"
send 3
sleep 0.3
stop_nettrace "$out"
ev=$(grep -c "^\[.*=== HIGH LATENCY EVENT #" "$out")
mig=$(grep -c "^Enqueue CPU: 0 / Receive CPU: 1 (CROSS-CPU MIGRATION DETECTED)" "$out")
[ "$ev" -eq 3 ] && [ "$mig" -eq 3 ] || { cat "$out"; fail "threshold text: $ev events, $mig migration lines for 3 datagrams"; }
pass "backlog threshold text: HIGH LATENCY EVENT #1..3 with CROSS-CPU MIGRATION DETECTED"

# --- perf internal-port on the veth (no OVS here: the OVS/function stages are bridged), details.
out=$TMP/internal.json
start_nettrace "$NS_B" "$out" perf internal-port --internal-interface veth-b "${FILTER[@]}" --mode details --json \
  --disable-kernel-stacks
send "$N"
sleep 0.3
stop_nettrace "$out"
n=$(jq -s '[.[] | select(.type=="latency_flow" and .direction=="rx")] | length' "$out")
cross=$(jq -s '[.[] | select(.type=="latency_flow" and .enqueue_cpu==0 and .receive_cpu==1)] | length' "$out")
stages=$(jq -s -r '[.[] | select(.type=="latency_flow")][0] | [.stages[].stage] | join(" -> ")' "$out")
mig=$(summary "$out" | jq '.cpu_migration.migrated')
[ "$n" -eq "$N" ] || { cat "$out.err"; fail "internal-port: $n records for $N datagrams"; }
[ "$cross" -eq "$N" ] && [ "$mig" -eq "$N" ] || fail "internal-port: $cross records / $mig counted 0 -> 1 of $N"
pass "internal-port details: $n records = $N datagrams, all cross-CPU; $stages"

# Without the OVS stages (no kprobes, no fentry here) and without --internal-interface, the first stage that
# can run (net:netif_rx) would begin a flow for every device's packets in every namespace: refused, naming the flag
# (it used to count the host's loopback traffic from inside a namespace).
if ! "$NETTRACE" doctor --json | jq -e '.attach.kprobe or .attach.fentry' >/dev/null; then
  msg=$(ip netns exec "$NS_B" "$NETTRACE" perf internal-port --phy-interface veth-b -d 1 2>&1 >/dev/null); rc=$?
  [ "$rc" = 1 ] && grep -q "error: .*ovs_vport_send.*--internal-interface" <<<"$msg" ||
    fail "internal-port --phy-interface without OVS stages: exit $rc, $msg"
  pass "internal-port --phy-interface without OVS stages: refused (exit 1), naming --internal-interface"
fi

set_rps 0
out=$TMP/internal.txt
start_nettrace "$NS_B" "$out" perf internal-port --internal-interface veth-b "${FILTER[@]}" --interval 1
send "$N"
sleep 1.3
stop_nettrace "$out"
grep -qE "^CPU migration \(enqueue CPU RX_S[0-9]+_[a-z_]+ -> receive CPU RX_S[0-9]+_[a-z_]+\): same CPU $N, cross-CPU 0" \
  "$out" || { cat "$out"; fail "internal-port summary text: no 'same CPU $N, cross-CPU 0' line"; }
pass "internal-port summary without RPS: same CPU $N, cross-CPU 0"
