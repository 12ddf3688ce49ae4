#!/bin/bash
# perf qdisc (qdisc_latency_details): on a quiet veth, the sojourn nettrace measures is the delay the shaper adds
# (netem delay 20ms: every packet ~20 ms; tbf 1mbit: packet k waits (k+1)*len-burst bytes at the rate), the
# measured packets equal `tc -s qdisc` sent over the window, and starts that never end are counted
# (tbf drops, noqueue bypass) rather than left behind. Both start hooks: qdisc:qdisc_enqueue where the kernel
# has it, net:net_dev_queue (the fallback) everywhere.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/perf.sh"
quiet_pair 1
starts=(net_dev_queue)
has_tracepoint qdisc/qdisc_enqueue && starts=(qdisc_enqueue net_dev_queue)
netem=1
ip netns exec "$NS_A" tc qdisc replace dev veth-a root handle 1: netem delay 20ms limit 1000 2>/dev/null || netem=0
[ $netem = 1 ] || echo "note: no netem on $(uname -r); the fixed-delay check runs in the lab, tbf runs here"
# Timing tolerance: real hardware and VMs keep sojourns within a few ms of what the shaper adds. Under the lab's
# single-threaded TCG on a shared host the guest clock runs on while QEMU's thread waits for a CPU, so a vCPU
# "pauses" for tens of ms anywhere (between netem's clock read and the tracepoint, before a timer fires):
# The lab (tests/lab/suite.sh) sets NETTRACE_TIMING_SLACK_US=off, and sojourns are then printed, not judged.
SLACK=${NETTRACE_TIMING_SLACK_US:-10000}
JUDGE=1
[ "$SLACK" = off ] && JUDGE=0 SLACK=10000
timing() { [ $JUDGE = 1 ]; }
LO=$((20000 - SLACK / 20)); HI=$((20000 + SLACK))
S() { jq -s "[.[] | select(.type==\"qdisc_latency_summary\")][0].$1" "$out"; }
# Every packet tc sent is measured or reported unmatched by the tool. 6.18 now and then sends a packet through
# a qdisc without firing qdisc:qdisc_dequeue (about 1 in 5000-10000 here; an independent bpftrace on the same
# tracepoints misses the same packet); its start is then replaced when the skb is reused (restarted), left in
# flight, or, with net_dev_queue starts on a qdisc that never bypasses, ended at the driver (bypassed). Such a
# packet must show up in those counters, never silently, and stay rare.
counted() {  # counted LABEL SENT
  local label=$1 sent=$2 measured unmatched
  # A here-string, not process substitution: the lab has no /dev/fd.
  read -r measured unmatched <<<"$(jq -rs '[.[] | select(.type=="qdisc_latency_summary")][0] |
    "\(.packets) \(.restarted + .in_flight + .bypassed)"' "$out")"
  [ $((measured + unmatched)) -eq "$sent" ] && [ "$unmatched" -le $((1 + sent / 100)) ] ||
    fail "$label: nettrace measured $measured + $unmatched unmatched, tc sent $sent; summary: $(jq -sc '[.[] | select(.type=="qdisc_latency_summary")][0] | del(.hist)' "$out")"
  [ "$unmatched" -eq 0 ] || echo "note: $label: $unmatched packet(s) sent without a traced dequeue, reported as unmatched"
}

for start in "${starts[@]}"; do
  # 1. netem delay 20ms: each packet's sojourn is the delay.
  if [ $netem = 1 ]; then
  ip netns exec "$NS_A" tc qdisc replace dev veth-a root handle 1: netem delay 20ms limit 1000
  out=$TMP/netem-$start.json
  start_nettrace "$NS_A" "$out" perf qdisc --json --dev veth-a --start "$start" -i 0.5
  sent0=$(tc_sent "$NS_A" veth-a)
  ip netns exec "$NS_A" "$PKTSEND" udp 10.201.0.2 9 50 100 40001 >/dev/null || fail "send failed"
  sleep 0.5
  sent=$(($(tc_sent "$NS_A" veth-a) - sent0))
  stop_nettrace "$out"
  [ "$sent" -eq 50 ] || fail "$start netem: tc sent $sent packets, expected 50"
  counted "$start netem" "$sent"
  details=$(jq -s '[.[] | select(.type=="qdisc_latency" and .interface=="veth-a" and .dst_port==9)] | length' "$out")
  [ "$details" -eq "$(S packets)" ] || fail "$start netem: $details per-packet records, $(S packets) measured"
  ivals=$(jq -s '[.[] | select(.type=="qdisc_latency_interval") | .packets] | add' "$out")
  [ "$ivals" -eq "$(S packets)" ] || fail "$start netem: intervals add up to $ivals, $(S packets) measured"
  # netem stamps time_to_send = its clock + 20 ms just before the enqueue returns and the start is taken, so every
  # sojourn is 20 ms plus timer slack, short of it only by the enqueue's own duration: 90 % must lie in [LO, HI),
  # the median in [LO, 20 ms + SLACK/2].
  range=$(jq -sc '[.[] | select(.type=="qdisc_latency") | .delay_us] | sort | [.[0], .[length/10|floor], .[length/2|floor], .[length*9/10|floor], .[-1]]' "$out")
  near=$(jq -s "[.[] | select(.type==\"qdisc_latency\" and .delay_us >= $LO and .delay_us < $HI)] | length" "$out")
  timing || echo "note: $start netem sojourns (us, min/p10/p50/p90/max) $range, not judged under emulation"
  timing && [ $((near * 10)) -lt $((sent * 9)) ] && fail "$start netem: only $near of $sent sojourns within [$LO, $HI) us (min/p10/p50/p90/max: $range)"
  median=$(jq -s '[.[] | select(.type=="qdisc_latency") | .delay_us] | sort | .[length / 2 | floor]' "$out")
  timing && ! awk -v m="$median" -v lo=$LO -v hi=$((20000 + SLACK / 2)) 'BEGIN { exit !(m >= lo && m <= hi) }' &&
    fail "$start netem: median sojourn $median us, netem delays 20000 us (min/p10/p50/p90/max: $range)"
  [ "$(S lost_events)" -eq 0 ] || fail "$start netem: lost $(S lost_events) events"
  pass "$start netem 20ms: $(S packets) packets = tc sent, avg $(S avg_us) us, min/p10/p50/p90/max $range us"
  fi

  # 2. tbf 1mbit, burst 1600: 20 frames of 1042 bytes queue behind the rate; packet k leaves at
  #    max(0, (k+1)*1042 - 1600) / 125000 s after the burst.
  ip netns exec "$NS_A" tc qdisc replace dev veth-a root handle 10: tbf rate 1mbit burst 1600 limit 100000
  out=$TMP/tbf-$start.json
  start_nettrace "$NS_A" "$out" perf qdisc --json --dev veth-a --start "$start" --summary
  sent0=$(tc_sent "$NS_A" veth-a)
  ip netns exec "$NS_A" "$PKTSEND" udp 10.201.0.2 9 20 1000 40002 >/dev/null || fail "send failed"
  sleep 0.5
  sent=$(($(tc_sent "$NS_A" veth-a) - sent0))
  stop_nettrace "$out"
  [ "$sent" -eq 20 ] || fail "$start tbf: tc sent $sent packets, expected 20"
  counted "$start tbf" "$sent"
  want_avg=$(awk 'BEGIN { for (k = 0; k < 20; k++) { w = (k + 1) * 1042 - 1600; s += (w > 0 ? w : 0) / 125000 * 1e6 } print s / 20 }')
  want_max=$(awk 'BEGIN { print (20 * 1042 - 1600) / 125000 * 1e6 }')
  timing && ! awk -v a="$(S avg_us)" -v w="$want_avg" -v s="$SLACK" 'BEGIN { exit !(a >= w * 0.9 - s / 10 && a <= w * 1.1 + s / 3) }' &&
    fail "$start tbf: average sojourn $(S avg_us) us, the rate predicts $want_avg us"
  timing && ! awk -v a="$(S max_us)" -v w="$want_max" -v s="$SLACK" 'BEGIN { exit !(a >= w * 0.9 - s / 10 && a <= w * 1.1 + s / 3) }' &&
    fail "$start tbf: longest sojourn $(S max_us) us, the rate predicts $want_max us"
  [ "$(S events_received)" -eq 0 ] || fail "$start tbf: --summary printed packets"
  pass "$start tbf 1mbit: avg $(S avg_us) us (rate predicts $want_avg), max $(S max_us) us (predicts $want_max)"

  # 3. A tbf too small for a flood: drops. With net_dev_queue the dropped packets had a start, and are counted.
  ip netns exec "$NS_A" tc qdisc replace dev veth-a root handle 10: tbf rate 1mbit burst 1600 limit 3000
  out=$TMP/flood-$start.json
  start_nettrace "$NS_A" "$out" perf qdisc --json --dev veth-a --start "$start" --summary
  sent0=$(tc_sent "$NS_A" veth-a); drop0=$(tc_dropped "$NS_A" veth-a)
  ip netns exec "$NS_A" "$PKTSEND" udp 10.201.0.2 9 300 1000 40003 >/dev/null || fail "send failed"
  sleep 1.5
  sent=$(($(tc_sent "$NS_A" veth-a) - sent0)); dropped=$(($(tc_dropped "$NS_A" veth-a) - drop0))
  stop_nettrace "$out"
  [ "$dropped" -gt 0 ] || fail "$start flood: no tbf drops"
  counted "$start flood" "$sent"
  if [ "$start" = net_dev_queue ]; then
    [ "$(S dropped_in_queue)" -eq "$dropped" ] || fail "flood: $(S dropped_in_queue) starts ended in a drop, tc dropped $dropped"
    [ "$(S started)" -eq $((sent + dropped)) ] || fail "flood: started $(S started) != sent $sent + dropped $dropped"
  else
    [ "$(S started)" -eq "$sent" ] || fail "$start flood: started $(S started), tc sent $sent (drops at enqueue never start)"
  fi
  pass "$start flood: $(S packets) = tc sent $sent, tc dropped $dropped, dropped_in_queue $(S dropped_in_queue), started $(S started)"
done

# 4. No qdisc at all (noqueue): net_dev_queue starts end at the driver without a dequeue, counted as bypassed.
ip netns exec "$NS_A" tc qdisc del dev veth-a root 2>/dev/null
ip netns exec "$NS_A" tc qdisc replace dev veth-a root noqueue 2>/dev/null
out=$TMP/noqueue.json
start_nettrace "$NS_A" "$out" perf qdisc --json --dev veth-a --start net_dev_queue
ip netns exec "$NS_A" "$PKTSEND" udp 10.201.0.2 9 25 100 40004 >/dev/null || fail "send failed"
sleep 0.3
stop_nettrace "$out"
[ "$(S packets)" -eq 0 ] && [ "$(S bypassed)" -eq 25 ] && [ "$(S in_flight)" -eq 0 ] ||
  fail "noqueue: packets $(S packets), bypassed $(S bypassed), in flight $(S in_flight); expected 0, 25, 0"
pass "noqueue: 25 starts at net_dev_queue ended as bypassed, none left in the map"

# 5. Filters: only the matching flow is measured; the alias runs.
ip netns exec "$NS_A" tc qdisc replace dev veth-a root handle 10: tbf rate 10mbit burst 1600 limit 100000
out=$TMP/filter.json
NT_BIN=$NETTRACE_BUILD/qdisc_lateny_details
[ -x "$NT_BIN" ] || { ln -s "$NETTRACE" "$TMP/qdisc_lateny_details.py"; NT_BIN=$TMP/qdisc_lateny_details.py; }
start_nettrace "$NS_A" "$out" --json --dev veth-a --dst-port 9 --src-port 40005
ip netns exec "$NS_A" "$PKTSEND" udp 10.201.0.2 9 10 100 40005 >/dev/null || fail "send failed"
ip netns exec "$NS_A" "$PKTSEND" udp 10.201.0.2 9 7 100 40006 >/dev/null || fail "send failed"
sleep 0.3
stop_nettrace "$out"
unset NT_BIN
counted "filter (10 of 17 packets match --src-port 40005)" 10
pass "qdisc_lateny_details alias with --src-port: 10 of 17 packets measured"
