#!/bin/bash
# perf latency --direction tx on a tracepoint-only host: every stage after net_dev_queue follows the skb, so
# flows are keyed by skb pointer (the summary's flow_keying is "skb") and completed skb entries are reused in
# place. Checked against the kernel's own counters:
#   - behind a tbf that drops: completed = packets tc sent, incomplete (at phy_dev_queue) = packets tc dropped,
#     completed + incomplete = datagrams sent;
#   - without a qdisc, decoys interleaved: completed = matching datagrams, no incomplete; decoys not counted;
#   - details: one record per datagram, stages in order with non-negative deltas.
. "$(dirname "$0")/lib/common.sh"
two_ns
# Nothing but the test's datagrams through veth-a's qdisc: static neighbours (no ARP probe when an entry goes
# stale), no IPv6 (no ND/MLD). A tbf that has a backlog dequeues in batches (the tracepoint names the head only).
ip -n "$NS_A" neigh replace 10.200.0.2 lladdr "$(ip netns exec "$NS_B" cat /sys/class/net/veth-b/address)" \
  dev veth-a nud permanent || fail "cannot pin the neighbour entry"
# And B's: its ICMP port-unreachable replies would otherwise re-resolve 10.200.0.1 once the entry goes stale, and
# veth-a would send an ARP reply among the counted packets.
ip -n "$NS_B" neigh replace 10.200.0.1 lladdr "$(ip netns exec "$NS_A" cat /sys/class/net/veth-a/address)" \
  dev veth-b nud permanent || fail "cannot pin the neighbour entry"
for ns in "$NS_A" "$NS_B"; do ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1; done
N=${N:-60}
FILTER=(--src-ip 10.200.0.1 --dst-ip 10.200.0.2 --protocol udp --dst-port 9999)
qdisc() { ip netns exec "$NS_A" tc -s -j qdisc show dev veth-a | jq ".[0].$1"; }
summary() { jq -s '[.[] | select(.type=="latency_summary")][0]' "$1"; }

# --- behind a tbf: the burst overflows its 3000-byte limit.
ip netns exec "$NS_A" tc qdisc add dev veth-a root handle 10: tbf rate 1mbit burst 1600 limit 3000 ||
  skip "tbf qdisc unavailable"
out=$TMP/tbf.json
start_nettrace "$NS_A" "$out" perf latency --phy-interface veth-a "${FILTER[@]}" --direction tx --mode summary --json
sent0=$(qdisc packets) drop0=$(qdisc drops)
ip netns exec "$NS_A" "$PKTSEND" udp 10.200.0.2 9999 "$N" 64 7000 >/dev/null || fail "send failed"
# The tbf drains its queue at 1 Mbit/s: wait until it is empty.
for _ in $(seq 1 100); do [ "$(qdisc qlen)" -eq 0 ] && break; sleep 0.05; done
sleep 0.2
stop_nettrace "$out"
sent=$(($(qdisc packets) - sent0)) dropped=$(($(qdisc drops) - drop0))
s=$(summary "$out")
[ "$(jq -r .flow_keying <<<"$s")" = skb ] || { echo "$s"; cat "$out.err"; fail "flows not keyed by skb pointer"; }
completed=$(jq .directions.tx.completed <<<"$s")
incomplete=$(jq .directions.tx.incomplete <<<"$s")
at_queue=$(jq '.directions.tx.incomplete_by_last_stage.TX_S10_phy_dev_queue // 0' <<<"$s")
[ "$dropped" -gt 0 ] || fail "tbf dropped nothing of $N datagrams (sent $sent): no drop to account for"
[ "$completed" -eq "$sent" ] || { echo "$s"; fail "tbf: completed $completed, tc sent $sent"; }
[ "$incomplete" -eq "$dropped" ] || { echo "$s"; fail "tbf: incomplete $incomplete, tc dropped $dropped"; }
[ "$at_queue" -eq "$dropped" ] || { echo "$s"; fail "tbf: $at_queue incomplete at phy_dev_queue, tc dropped $dropped"; }
[ $((completed + incomplete)) -eq "$N" ] || fail "tbf: completed $completed + incomplete $incomplete != $N sent"
pass "tbf: completed $completed = tc sent, incomplete $incomplete at phy_dev_queue = tc dropped, of $N"
ip netns exec "$NS_A" tc qdisc del dev veth-a root

# --- no qdisc (veth noqueue), decoys to another port between the rounds.
out=$TMP/decoys.json
start_nettrace "$NS_A" "$out" perf latency --phy-interface veth-a "${FILTER[@]}" --direction tx --mode summary --json
tx0=$(ip netns exec "$NS_A" cat /sys/class/net/veth-a/statistics/tx_packets)
for _ in 1 2 3; do
  ip netns exec "$NS_A" "$PKTSEND" udp 10.200.0.2 9999 "$N" 64 7000 >/dev/null || fail "send failed"
  ip netns exec "$NS_A" "$PKTSEND" udp 10.200.0.2 9998 "$N" 64 7000 >/dev/null || fail "send failed"
done
sleep 0.2
stop_nettrace "$out"
tx=$(($(ip netns exec "$NS_A" cat /sys/class/net/veth-a/statistics/tx_packets) - tx0))
s=$(summary "$out")
completed=$(jq .directions.tx.completed <<<"$s")
incomplete=$(jq .directions.tx.incomplete <<<"$s")
[ "$tx" -eq $((6 * N)) ] || fail "veth-a sent $tx packets, expected $((6 * N)) (other traffic on the link)"
[ "$completed" -eq $((3 * N)) ] || { echo "$s"; fail "decoys: completed $completed, expected $((3 * N)) of $tx sent"; }
[ "$incomplete" -eq 0 ] || { echo "$s"; fail "decoys: $incomplete incomplete"; }
pass "decoys: completed $completed = matching datagrams of $tx veth-a sent, none incomplete"

# --- details: every record has the stages in order.
out=$TMP/details.json
start_nettrace "$NS_A" "$out" perf latency --phy-interface veth-a "${FILTER[@]}" --direction tx --mode details \
  --json --disable-kernel-stacks
ip netns exec "$NS_A" "$PKTSEND" udp 10.200.0.2 9999 "$N" 64 7000 >/dev/null || fail "send failed"
sleep 0.2
stop_nettrace "$out"
n=$(jq -s '[.[] | select(.type=="latency_flow")] | length' "$out")
[ "$n" -eq "$N" ] || { head -c 2000 "$out"; fail "details: $n records for $N datagrams"; }
stages=$(jq -s -r '[.[] | select(.type=="latency_flow") | [.stages[].stage] | join(" -> ")] | unique | join(" | ")' "$out")
[ "$stages" = "TX_S10_phy_dev_queue -> TX_S12_phy_start_xmit -> TX_S13_phy_xmit" ] ||
  fail "details: stages $stages"
bad=$(jq -s '[.[] | select(.type=="latency_flow") | select(([.stages[].delta_us] | min) < 0 or
      .src_port != 7000 or .dst_port != 9999)] | length' "$out")
[ "$bad" -eq 0 ] || fail "details: $bad records with negative deltas or foreign ports"
pass "details: $n records = $N datagrams; $stages"
