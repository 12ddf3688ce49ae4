#!/bin/bash
# perf latency (system_network_latency_*) on the host stack between two namespaces, tracepoint stages
# only: in details mode one record per datagram sent, per direction, stages in order with non-negative
# deltas; in summary mode the end-to-end count equals the datagrams sent, and the adjacent-stage counts
# add up (every completed flow passed through one pair into its end stage).
. "$(dirname "$0")/lib/common.sh"
two_ns
N=${N:-50}
FILTER=(--src-ip 10.200.0.1 --dst-ip 10.200.0.2 --protocol udp)

# details, both directions: local port 7000 <-> remote port 9999 (filters name the local side as src).
out=$TMP/details.json
start_nettrace "$NS_A" "$out" perf latency --phy-interface veth-a "${FILTER[@]}" --src-port 7000 --dst-port 9999 \
  --direction both --mode details --json --disable-kernel-stacks
ip netns exec "$NS_A" "$PKTSEND" udp 10.200.0.2 9999 "$N" 64 7000 >/dev/null || fail "send A->B failed"
ip netns exec "$NS_B" "$PKTSEND" udp 10.200.0.1 7000 "$N" 64 9999 >/dev/null || fail "send B->A failed"
# Decoys that the port filter must reject.
ip netns exec "$NS_A" "$PKTSEND" udp 10.200.0.2 9998 5 64 7000 >/dev/null
ip netns exec "$NS_B" "$PKTSEND" udp 10.200.0.1 7000 5 64 9998 >/dev/null
sleep 0.3
stop_nettrace "$out"
for dir in tx rx; do
  n=$(jq -s --arg d $dir '[.[] | select(.type=="latency_flow" and .direction==$d)] | length' "$out")
  [ "$n" -eq "$N" ] || { head -c 2000 "$out"; cat "$out.err"; fail "details $dir: $n records for $N datagrams"; }
  bad=$(jq -s --arg d $dir '[.[] | select(.type=="latency_flow" and .direction==$d) |
        select(([.stages[].delta_us] | min) < 0 or ([.stages[].index] != ([.stages[].index] | sort)) or
               ([.stages[].timestamp_ns] != ([.stages[].timestamp_ns] | sort)) or (.stages | length) < 2 or
               ((.stages | map(.interface) | unique) != ["veth-a"]))] | length' "$out")
  [ "$bad" -eq 0 ] || fail "details $dir: $bad records with stages out of order, negative deltas or foreign devices"
  ports=$(jq -s -r --arg d $dir '[.[] | select(.type=="latency_flow" and .direction==$d) | "\(.src_port)>\(.dst_port)"] | unique | join(" ")' "$out")
  want=$([ $dir = tx ] && echo "7000>9999" || echo "9999>7000")
  [ "$ports" = "$want" ] || fail "details $dir: ports $ports, expected $want"
  stages=$(jq -s -r --arg d $dir '[.[] | select(.type=="latency_flow" and .direction==$d)][0] | [.stages[].stage] | join(" -> ")' "$out")
  pass "details $dir: $n records = $N datagrams; $stages"
done

# summary: counts equal datagrams sent. The run ends by --duration on an interval boundary (2 intervals of 1 s,
# the traffic in the first), so every completion lies in a reported interval.
out=$TMP/summary.json
start_nettrace "$NS_A" "$out" perf latency --phy-interface veth-a "${FILTER[@]}" --direction both --mode summary \
  --interval 1 --duration 2 --json
ip netns exec "$NS_A" "$PKTSEND" udp 10.200.0.2 9999 "$N" 64 7000 >/dev/null || fail "send A->B failed"
ip netns exec "$NS_B" "$PKTSEND" udp 10.200.0.1 7000 "$N" 64 9999 >/dev/null || fail "send B->A failed"
wait "$NT_PID"; rc=$?
[ $rc -eq 0 ] || { cat "$out.err"; fail "summary run exited $rc"; }
for dir in tx rx; do
  e2e=$(jq -s --arg d $dir '[.[] | select(.type=="latency_summary")][0].directions[$d].histograms |
        map(select(.kind=="end_to_end") | .count) | add' "$out")
  [ "$e2e" -eq "$N" ] || { cat "$out"; fail "summary $dir: end-to-end count $e2e, sent $N"; }
  inc=$(jq -s --arg d $dir '[.[] | select(.type=="latency_summary")][0].directions[$d].incomplete' "$out")
  [ "$inc" -eq 0 ] || fail "summary $dir: $inc incomplete flows"
  # Interval reports add up to the summary: every completion is in exactly one interval, so their sum equals the
  # summary's completed count and its end-to-end count.
  sum=$(jq -s --arg d $dir '[.[] | select(.type=="latency_interval") | .directions[$d].completed // 0] | add // 0' "$out")
  total=$(jq -s --arg d $dir '[.[] | select(.type=="latency_summary")][0].directions[$d].completed' "$out")
  [ "$sum" -eq "$total" ] && [ "$total" -eq "$e2e" ] ||
    fail "summary $dir: intervals add up to $sum completed, the summary says $total completed, $e2e end to end"
  pass "summary $dir: end-to-end count $e2e = datagrams sent = intervals' completed $sum"
done

# Bad input: one line naming the value, exit 2.
for args in "--phy-interface nosuchdev0" "--phy-interface veth-a --direction sideways" \
  "--phy-interface a,b,c" "--phy-interface veth-a --latency-us -3"; do
  msg=$(ip netns exec "$NS_A" "$NETTRACE" perf latency $args 2>&1); rc=$?
  [ "$rc" -eq 2 ] && [ "$(echo "$msg" | wc -l)" -eq 1 ] || fail "bad input '$args': rc $rc, '$msg'"
done
pass "bad input: exit 2, one line"
