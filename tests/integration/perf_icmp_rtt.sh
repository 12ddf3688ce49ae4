#!/bin/bash
# perf icmp-rtt (kernel_icmp_rtt) between two namespaces, tracepoints only: one record per echo, the
# stages in order with non-negative deltas, and for every sequence number an RTT no larger than the RTT
# ping itself reports (ping times from before sendmsg to the reply's receive timestamp; nettrace from
# the request's first traced stage to the reply's first).
. "$(dirname "$0")/lib/common.sh"
two_ns
N=${N:-20}
ping_rtts() { # ping output -> "seq rtt_us" lines
  sed -n 's/.*icmp_seq=\([0-9]*\) .*time=\([0-9.]*\) ms.*/\1 \2/p' "$1" | awk '{ printf "%d %.3f\n", $1, $2 * 1000 }'
}
check() { # check NAME OUT PINGOUT
  local name=$1 out=$2 pout=$3
  local recs sent
  recs=$(jq -s '[.[] | select(.type=="icmp_rtt")] | length' "$out")
  sent=$(ping_rtts "$pout" | wc -l)
  [ "$sent" -eq "$N" ] || fail "$name: ping got $sent replies of $N"
  [ "$recs" -eq "$N" ] || { head -c 3000 "$out"; fail "$name: $recs icmp_rtt records for $N echoes"; }
  # Stages in order, deltas non-negative, timestamps non-decreasing.
  bad=$(jq -s '[.[] | select(.type=="icmp_rtt") | select(([.stages[].delta_us] | min) < 0 or
        ([.stages[].timestamp_ns] != ([.stages[].timestamp_ns] | sort)) or
        ([.stages[].index] != ([.stages[].index] | sort)) or (.stages | length) < 3)] | length' "$out")
  [ "$bad" -eq 0 ] || fail "$name: $bad records with stages out of order or negative deltas"
  # Per sequence number: ours <= ping's (ping prints 3 decimals in ms: allow its rounding, 0.5 us).
  jq -r 'select(.type=="icmp_rtt") | "\(.icmp_seq) \(.rtt_us)"' "$out" | sort -n >"$TMP/ours"
  ping_rtts "$pout" | sort -n >"$TMP/ping"
  joined=$(join "$TMP/ours" "$TMP/ping" | wc -l)
  [ "$joined" -eq "$N" ] || fail "$name: only $joined sequence numbers in both ping and nettrace"
  worse=$(join "$TMP/ours" "$TMP/ping" | awk '$2 > $3 + 0.5 { n++; print "seq " $1 ": nettrace " $2 " us > ping " $3 " us" > "/dev/stderr" } END { print n + 0 }')
  [ "$worse" -eq 0 ] || fail "$name: $worse echoes with an RTT above ping's"
  lost=$(jq -s '[.[] | select(.type=="latency_summary")][0].lost_events' "$out")
  [ "$lost" = 0 ] || fail "$name: summary reports $lost lost events"
  pass "$name: $recs echoes, each RTT <= ping's ($(join "$TMP/ours" "$TMP/ping" | awk '{ a += $2; b += $3 } END { printf "avg %.1f us vs ping %.1f us", a/NR, b/NR }'))"
}

# tx: this namespace pings the remote.
out=$TMP/tx.json
start_nettrace "$NS_A" "$out" perf icmp-rtt --src-ip 10.200.0.1 --dst-ip 10.200.0.2 --interface veth-a --json \
  --disable-kernel-stacks
ip netns exec "$NS_A" ping -n -c "$N" -i 0.05 10.200.0.2 >"$TMP/ping_tx" || fail "ping failed"
sleep 0.2
stop_nettrace "$out"
check "tx" "$out" "$TMP/ping_tx"
first=$(jq -r -s '[.[] | select(.type=="icmp_rtt")][0] | [.stages[].stage] | join(",")' "$out")
echo "  stages: $first"

# rx: the remote pings this namespace (same --src-ip/--dst-ip: local and remote).
out=$TMP/rx.json
NT_BIN=$NETTRACE start_nettrace "$NS_A" "$out" perf icmp-rtt --src-ip 10.200.0.1 --dst-ip 10.200.0.2 \
  --direction rx --interface veth-a --json --disable-kernel-stacks
ip netns exec "$NS_B" ping -n -c "$N" -i 0.05 10.200.0.1 >"$TMP/ping_rx" || fail "ping failed"
sleep 0.2
stop_nettrace "$out"
check "rx" "$out" "$TMP/ping_rx"

# Fragmented echoes (ping -s 3000: 3 fragments each way at veth's MTU 1500): one record per echo.
out=$TMP/frag.json
start_nettrace "$NS_A" "$out" perf icmp-rtt --src-ip 10.200.0.1 --dst-ip 10.200.0.2 --interface veth-a --json \
  --disable-kernel-stacks
ip netns exec "$NS_A" ping -n -c "$N" -i 0.05 -s 3000 10.200.0.2 >"$TMP/ping_frag" || fail "ping failed"
sleep 0.2
stop_nettrace "$out"
check "fragmented" "$out" "$TMP/ping_frag"

# The alias with the original's flags and text output.
ln -sf "$NETTRACE" "$TMP/kernel_icmp_rtt"
out=$TMP/alias.txt
NT_BIN=$TMP/kernel_icmp_rtt start_nettrace "$NS_A" "$out" --src-ip 10.200.0.1 --dst-ip 10.200.0.2 --interface veth-a \
  --latency-ms 0
ip netns exec "$NS_A" ping -n -c 3 -i 0.05 10.200.0.2 >/dev/null || fail "ping failed"
sleep 0.2
stop_nettrace "$out"
n=$(grep -c '^\[.*=== ICMP RTT icmp 10.200.0.1 -> 10.200.0.2' "$out")
[ "$n" -eq 3 ] || { cat "$out"; fail "alias: $n text records for 3 echoes"; }
pass "kernel_icmp_rtt alias: 3 text records"

# --src-ip is this host's address in both directions: a remote one (the original system_network_icmp_rtt's rx
# convention) is warned about on stderr, a local one is not.
ip netns exec "$NS_A" "$NETTRACE" perf icmp-rtt --src-ip 10.200.0.2 --dst-ip 10.200.0.1 --interface veth-a \
  --duration 0.3 >/dev/null 2>"$TMP/remote.err" || { cat "$TMP/remote.err"; fail "icmp-rtt with a remote --src-ip failed"; }
grep -q "10.200.0.2 is not an address of this host" "$TMP/remote.err" || { cat "$TMP/remote.err"; fail "no warning for a remote --src-ip"; }
ip netns exec "$NS_A" "$NETTRACE" perf icmp-rtt --src-ip 10.200.0.1 --dst-ip 10.200.0.2 --interface veth-a \
  --duration 0.3 >/dev/null 2>"$TMP/local.err" || { cat "$TMP/local.err"; fail "icmp-rtt failed"; }
! grep -q "not an address of this host" "$TMP/local.err" || fail "warning for the local --src-ip 10.200.0.1"
pass "a remote --src-ip is warned about, a local one is not"

# Bad input: one line naming the value, exit 2.
msg=$("$NETTRACE" perf icmp-rtt --src-ip 10.200.0.300 --dst-ip 10.0.0.1 2>&1); rc=$?
[ "$rc" -eq 2 ] && [ "$(echo "$msg" | wc -l)" -eq 1 ] && echo "$msg" | grep -q '10.200.0.300' ||
  fail "bad --src-ip: rc $rc, message '$msg'"
pass "bad input: exit 2, one line"
