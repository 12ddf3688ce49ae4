#!/bin/bash
# UDP to a closed port: nettrace's NO_SOCKET drops must equal the namespace's Udp NoPorts delta,
# through each attach kind this kernel offers, and carry the right interface and flow.
. "$(dirname "$0")/lib/common.sh"
two_ns
N=37
R=$(reason_or_unknown NO_SOCKET) # UNKNOWN before 5.17: the location (udp) and the flow then identify the drop
for kind in tp_btf raw_tp tracepoint; do
  out=$TMP/$kind.json
  before=$(snmp "$NS_B" Udp: NoPorts)
  start_nettrace "$NS_B" "$out" drop --json --attach "$kind" --interface veth-b
  ip netns exec "$NS_A" "$PKTSEND" udp 10.200.0.2 9999 $N 40 >/dev/null || fail "send failed"
  sleep 0.3
  stop_nettrace "$out"
  after=$(snmp "$NS_B" Udp: NoPorts)
  kernel=$((after - before))
  ours=$(jq -s --arg r "$R" '[.[] | select(.type=="drop" and .reason==$r and .protocol=="udp" and .dst_port==9999)] | length' "$out")
  [ "$kernel" -eq "$N" ] || fail "$kind: kernel NoPorts delta is $kernel, expected $N"
  [ "$ours" -eq "$kernel" ] || fail "$kind: nettrace saw $ours $R drops, kernel NoPorts delta $kernel"
  # Attribution: every one on veth-b in NS_B, from 10.200.0.1 to 10.200.0.2, location in the UDP receive path.
  bad=$(jq -s '[.[] | select(.type=="drop" and .dst_port==9999) | select(.interface!="veth-b" or .src_ip!="10.200.0.1" or .dst_ip!="10.200.0.2" or (.location|test("udp")|not))] | length' "$out")
  [ "$bad" -eq 0 ] || fail "$kind: $bad drops misattributed"
  summary=$(jq -s '[.[] | select(.type=="drop_summary")][0].lost_events' "$out")
  [ "$summary" = 0 ] || fail "$kind: summary reports $summary lost events"
  pass "$kind: $ours $R drops = Udp NoPorts delta $kernel"
done
# IPv6 too.
out=$TMP/v6.json
before=$(ip netns exec "$NS_B" cat /proc/net/snmp6 | awk '$1=="Udp6NoPorts"{print $2}')
start_nettrace "$NS_B" "$out" drop --json --interface veth-b --dst-ip fd00::2
ip netns exec "$NS_A" "$PKTSEND" udp fd00::2 9998 $N >/dev/null || fail "send failed"
sleep 0.3
stop_nettrace "$out"
after=$(ip netns exec "$NS_B" cat /proc/net/snmp6 | awk '$1=="Udp6NoPorts"{print $2}')
ours=$(jq -s --arg r "$R" '[.[] | select(.type=="drop" and .reason==$r and .dst_port==9998 and .src_ip=="fd00::1" and (.location|test("udp")))] | length' "$out")
kernel=$((after - before))
# The kernel must have counted every datagram: 0 = 0 would pass without a single IPv6 drop traced.
[ "$kernel" -eq "$N" ] || fail "IPv6: kernel Udp6NoPorts delta is $kernel, expected $N"
[ "$ours" -eq "$kernel" ] || fail "IPv6: nettrace $ours, Udp6NoPorts delta $kernel"
pass "IPv6: $ours $R drops = Udp6NoPorts delta $kernel"
# Text: one line per drop by default (docs/cli.md), the original's block with its stack through eth_drop (--stack).
out=$TMP/lines.txt
before=$(snmp "$NS_B" Udp: NoPorts)
start_nettrace "$NS_B" "$out" drop --interface veth-b --dst-port 9997
ip netns exec "$NS_A" "$PKTSEND" udp 10.200.0.2 9997 $N 40 >/dev/null || fail "send failed"
sleep 0.3
stop_nettrace "$out"
kernel=$(($(snmp "$NS_B" Udp: NoPorts) - before))
lines=$(grep -cE "^[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]+ $R +[a-z_0-9]*udp[a-z_0-9.]*\+0x[0-9a-f]+ +veth-b +UDP 10\.200\.0\.1:[0-9]+ -> 10\.200\.0\.2:9997 len [0-9]+ cpu [0-9]+ " "$out")
[ "$lines" -eq "$kernel" ] && [ "$kernel" -eq "$N" ] || { cat "$out"; fail "text: $lines drop lines, NoPorts delta $kernel"; }
grep -q "Stack trace" "$out" && fail "the default text carries stacks"
pass "text: one line per drop, $lines = Udp NoPorts delta $kernel"
ln -sf "$NETTRACE" "$TMP/eth_drop"
out=$TMP/block.txt
NT_BIN="$TMP/eth_drop" start_nettrace "$NS_B" "$out" --interface veth-b --dst-port 9996
ip netns exec "$NS_A" "$PKTSEND" udp 10.200.0.2 9996 3 40 >/dev/null || fail "send failed"
sleep 0.3
stop_nettrace "$out"
[ "$(grep -c "DROP DETECTED" "$out")" -eq 3 ] && [ "$(grep -c "^Stack trace:" "$out")" -eq 3 ] ||
  { cat "$out"; fail "eth_drop: not 3 blocks with stacks"; }
pass "eth_drop: the original's block with its stack per drop"
