#!/bin/bash
# drop monitor: frames of an unknown EtherType raise veth-b's rx_dropped; the monitor must keep the
# capture of that interval, and the capture must hold exactly rx_dropped-delta drop events on veth-b.
. "$(dirname "$0")/lib/common.sh"
two_ns
out=$TMP/mon.json
logs=$TMP/logs
start_nettrace "$NS_B" "$out" drop monitor --json --interface veth-b --interval 2 --duration 2 --log-dir "$logs"
ip netns exec "$NS_A" "$PKTSEND" raw veth-a 0x88b5 17 >/dev/null || fail "send failed"
wait "$NT_PID" || fail "monitor exited with $?"
rec=$(jq -c 'select(.type=="drop_monitor")' "$out" | head -1)
[ -n "$rec" ] || fail "no drop_monitor record: $(cat "$out" "$out.err")"
rx=$(jq .rx_dropped <<<"$rec"); kept=$(jq .kept <<<"$rec"); log=$(jq -r .log <<<"$rec")
[ "$rx" -eq 17 ] || fail "rx_dropped delta $rx, expected 17"
[ "$kept" = true ] && [ -s "$log" ] || fail "capture not kept ($kept, $log)"
captured=$(jq -s '[.[] | select(.type=="drop" and .interface=="veth-b" and .eth_type=="0x88b5")] | length' "$log")
[ "$captured" -eq "$rx" ] || fail "capture holds $captured drops of 0x88b5 on veth-b, rx_dropped grew by $rx"
reason=$(jq -rs '[.[] | select(.type=="drop" and .eth_type=="0x88b5")][0].reason' "$log")
pass "rx_dropped +$rx, capture kept with $captured drops (reason $reason)"
