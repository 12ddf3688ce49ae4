#!/bin/bash
# perf latency over IPv6 between two namespaces, tracepoint stages only, both directions: the IPv6 filter
# selects the datagrams (IPv4 decoys on the same ports are not counted), details records carry the IPv6
# addresses with the stages in order, and the summary's end-to-end counts equal the receivers' Udp6NoPorts
# deltas (nothing listens: every datagram ends there) and the datagrams sent.
. "$(dirname "$0")/lib/common.sh"
two_ns
N=${N:-40}
FILTER=(--src-ip fd00::1 --dst-ip fd00::2 --protocol udp --src-port 7000 --dst-port 9999)
noports6() { ip netns exec "$1" awk '$1=="Udp6NoPorts"{print $2}' /proc/net/snmp6; }
send_both() {
  ip netns exec "$NS_A" "$PKTSEND" udp fd00::2 9999 "$N" 64 7000 >/dev/null || fail "send A->B failed"
  ip netns exec "$NS_B" "$PKTSEND" udp fd00::1 7000 "$N" 64 9999 >/dev/null || fail "send B->A failed"
  # IPv4 decoys with the same ports.
  ip netns exec "$NS_A" "$PKTSEND" udp 10.200.0.2 9999 5 64 7000 >/dev/null
  ip netns exec "$NS_B" "$PKTSEND" udp 10.200.0.1 7000 5 64 9999 >/dev/null
}

out=$TMP/details.json
start_nettrace "$NS_A" "$out" perf latency --phy-interface veth-a "${FILTER[@]}" --direction both --mode details \
  --json --disable-kernel-stacks
send_both
sleep 0.3
stop_nettrace "$out"
for dir in tx rx; do
  want=$([ $dir = tx ] && echo "fd00::1>fd00::2 7000>9999" || echo "fd00::2>fd00::1 9999>7000")
  n=$(jq -s --arg d $dir '[.[] | select(.type=="latency_flow" and .direction==$d)] | length' "$out")
  [ "$n" -eq "$N" ] || { head -c 2000 "$out"; cat "$out.err"; fail "details $dir: $n records for $N datagrams"; }
  got=$(jq -s -r --arg d $dir '[.[] | select(.type=="latency_flow" and .direction==$d) |
        "\(.src_ip)>\(.dst_ip) \(.src_port)>\(.dst_port)"] | unique | join(" | ")' "$out")
  [ "$got" = "$want" ] || fail "details $dir: $got, expected $want"
  bad=$(jq -s --arg d $dir '[.[] | select(.type=="latency_flow" and .direction==$d) |
        select(([.stages[].delta_us] | min) < 0 or ([.stages[].index] != ([.stages[].index] | sort)) or
               (.stages | length) < 2)] | length' "$out")
  [ "$bad" -eq 0 ] || fail "details $dir: $bad records with stages out of order or negative deltas"
  pass "details $dir: $n records = $N datagrams, $got"
done

out=$TMP/summary.json
b0=$(noports6 "$NS_B") a0=$(noports6 "$NS_A")
start_nettrace "$NS_A" "$out" perf latency --phy-interface veth-a "${FILTER[@]}" --direction both --mode summary --json
send_both
sleep 0.3
stop_nettrace "$out"
b1=$(noports6 "$NS_B") a1=$(noports6 "$NS_A")
for dir in tx rx; do
  e2e=$(jq -s --arg d $dir '[.[] | select(.type=="latency_summary")][0].directions[$d].completed' "$out")
  inc=$(jq -s --arg d $dir '[.[] | select(.type=="latency_summary")][0].directions[$d].incomplete' "$out")
  kernel=$([ $dir = tx ] && echo $((b1 - b0)) || echo $((a1 - a0)))
  [ "$kernel" -eq "$N" ] || fail "summary $dir: Udp6NoPorts delta $kernel, sent $N (other IPv6 traffic?)"
  [ "$e2e" -eq "$kernel" ] || { cat "$out"; fail "summary $dir: end-to-end count $e2e, Udp6NoPorts delta $kernel"; }
  [ "$inc" -eq 0 ] || fail "summary $dir: $inc incomplete flows"
  pass "summary $dir: end-to-end count $e2e = Udp6NoPorts delta = datagrams sent"
done
