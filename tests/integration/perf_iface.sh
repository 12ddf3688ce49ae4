#!/bin/bash
# perf iface (iface_netstat): over one window on a quiet 4-queue veth, the RX/TX packet and byte totals equal the
# interface statistics deltas; the per-interval objects add up to the summary; TX spreads over queues; the
# size buckets count what was sent.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/perf.sh"
quiet_pair 4
out=$TMP/iface.json
start_nettrace "$NS_A" "$out" perf iface --json -I veth-a -i 0.3
declare -A before after
for f in rx_packets rx_bytes tx_packets tx_bytes; do before[$f]=$(linkstat "$NS_A" veth-a "$f"); done
# TX from veth-a: 8 flows (distinct source ports, so distinct queues by hash) of four sizes; 3000-byte datagrams
# leave as three IPv4 fragments. RX: datagrams from veth-b, and the port-unreachable errors both sides answer.
for i in 0 1 2 3 4 5 6 7; do
  ip netns exec "$NS_A" "$PKTSEND" udp 10.201.0.2 9 20 16 $((41000 + i)) >/dev/null || fail "send failed"
  ip netns exec "$NS_A" "$PKTSEND" udp 10.201.0.2 9 5 600 $((42000 + i)) >/dev/null || fail "send failed"
  ip netns exec "$NS_A" "$PKTSEND" udp 10.201.0.2 9 3 3000 $((43000 + i)) >/dev/null || fail "send failed"
done
ip netns exec "$NS_B" "$PKTSEND" udp 10.201.0.1 9 30 100 >/dev/null || fail "send failed"
sleep 0.7
for f in rx_packets rx_bytes tx_packets tx_bytes; do after[$f]=$(linkstat "$NS_A" veth-a "$f"); done
stop_nettrace "$out"
jq -e 'select(.type=="iface_summary")' "$out" >/dev/null || fail "no iface_summary: $(tail -3 "$out")"
for f in rx_packets rx_bytes tx_packets tx_bytes; do
  want=$((after[$f] - before[$f]))
  got=$(jq -s "[.[] | select(.type==\"iface_summary\")][0].$f" "$out")
  sum=$(jq -s "[.[] | select(.type==\"iface_interval\") | .$f] | add" "$out")
  [ "$got" -eq "$want" ] || fail "$f: nettrace $got, interface statistics delta $want"
  [ "$sum" -eq "$got" ] || fail "$f: intervals add up to $sum, summary $got"
  echo "  $f: $got = statistics delta $want (intervals: $sum)"
done
[ "$(jq -s '[.[] | select(.type=="iface_summary")][0].tx_packets' "$out")" -ge $((8 * (20 + 5 + 9))) ] || fail "fewer TX packets than sent"
intervals=$(jq -s '[.[] | select(.type=="iface_interval")] | length' "$out")
[ "$intervals" -ge 2 ] || fail "only $intervals interval objects"
used=$(jq -s '[.[] | select(.type=="iface_summary")][0].tx_queues | map(select(.packets > 0)) | length' "$out")
[ "$used" -ge 2 ] || fail "TX used $used queue(s) of 4 for 24 flows"
small=$(jq -s '[.[] | select(.type=="iface_summary")][0].tx_queues | map(.sizes["0_64"]) | add' "$out")
[ "$small" -eq 160 ] || fail "TX [0,64) bucket $small, sent 160 frames of 58 bytes"
jq -se '[.[] | select(.type=="iface_summary")][0] | (.tx_queues + .rx_queues) | all(.packets == (.sizes | add))' "$out" >/dev/null ||
  fail "size buckets do not add up to the packets per queue"
jq -se '[.[] | select(.type=="iface_summary")][0] | (.tx_queues | map(.bytes) | add) == .tx_bytes' "$out" >/dev/null ||
  fail "TX queues do not add up to tx_bytes"
pass "iface totals = interface statistics over the window ($intervals intervals, TX on $used queues, 160 small frames)"

# The alias, text output with throughput columns, and --duration.
ln -s "$NETTRACE" "$TMP/iface_netstat.py"
txt=$(ip netns exec "$NS_A" "$TMP/iface_netstat.py" -n veth-a -i 0.2 -d 0.5 -t 2>&1) || fail "iface_netstat.py failed: $txt"
grep -q "^TX" <<<"$txt" && grep -q "^RX" <<<"$txt" && grep -q "BPS" <<<"$txt" && grep -q "^ Total" <<<"$txt" ||
  fail "text output lacks the TX/RX tables: $txt"
pass "iface_netstat.py alias: text tables with BPS/PPS, --duration ends it"
