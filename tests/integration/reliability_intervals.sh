#!/bin/bash
# Interval runs end on the last full interval (issue 15, 6): with -i 1 -d 2 a tool emits exactly 2 interval
# records, each about 1 s long (interval_s within [0.8, 1.2]), and no extra near-empty one at the end; where a tool
# has both interval records and a summary, the intervals add up to the summary. Traffic runs in both intervals.
. "$(dirname "$0")/lib/common.sh"
two_ns
ip netns exec "$NS_A" tc qdisc add dev veth-a root handle 10: tbf rate 1mbit burst 1600 limit 3000 || skip "tbf qdisc unavailable"
FAILS=()
traffic() { # two bursts, one in each interval
  sleep 0.2
  ip netns exec "$NS_A" "$PKTSEND" udp 10.200.0.2 7401 "$1" "${2:-32}" >/dev/null
  sleep 1
  ip netns exec "$NS_A" "$PKTSEND" udp 10.200.0.2 7401 "$1" "${2:-32}" >/dev/null
}
# check NAME OUT INTERVAL_TYPE [INTERVAL_FIELD SUMMARY_TYPE SUMMARY_FIELD]
check() {
  local name=$1 out=$2 it=$3 n lens sum total
  n=$(jq -s --arg t "$it" '[.[] | select(.type==$t)] | length' "$out")
  lens=$(jq -sc --arg t "$it" '[.[] | select(.type==$t) | .interval_s]' "$out")
  echo "$name: $n $it records, interval_s $lens"
  [ "$n" -eq 2 ] || FAILS+=("$name: $n $it records, expected 2 (interval_s $lens)")
  jq -se --arg t "$it" '[.[] | select(.type==$t) | .interval_s] | all(. >= 0.8 and . <= 1.2)' "$out" >/dev/null ||
    FAILS+=("$name: interval lengths $lens, expected each about 1 s")
  if [ $# -gt 3 ]; then
    sum=$(jq -s --arg t "$it" "[.[] | select(.type==\$t) | $4] | add // 0" "$out")
    total=$(jq -s --arg t "$5" "[.[] | select(.type==\$t)][0] | $6" "$out")
    echo "  intervals add up to $sum, summary $total"
    [ "$sum" = "$total" ] || FAILS+=("$name: intervals add up to $sum, the summary says $total")
  fi
}
run() { # run NS OUT ARGS… : with -i 1 -d 2, traffic during both intervals, waits for the end
  local ns=$1 out=$2 burst=$3 size=$4; shift 4
  start_nettrace "$ns" "$out" "$@" -i 1 -d 2 --json
  traffic "$burst" "$size"
  wait "$NT_PID"; local rc=$?
  [ $rc -eq 0 ] || { cat "$out.err"; fail "$* exited $rc"; }
}

before=$(snmp "$NS_B" Udp: NoPorts)
run "$NS_B" "$TMP/stacks.json" 10 32 drop stacks --device veth-b
kernel=$(( $(snmp "$NS_B" Udp: NoPorts) - before ))
check "drop stacks" "$TMP/stacks.json" drop_stacks .drops drop_summary .drops
st=$(jq -s '[.[] | select(.type=="drop_stacks") | .entries[] | select(.reason=="NO_SOCKET") | .count] | add // 0' "$TMP/stacks.json")
[ "$st" -eq "$kernel" ] || FAILS+=("drop stacks: NO_SOCKET entries add up to $st, Udp NoPorts delta $kernel")

run "$NS_A" "$TMP/qdisc.json" 100 1000 drop qdisc --interface veth-a
check "drop qdisc" "$TMP/qdisc.json" qdisc_drop_interval .drops drop_summary .drops

ip netns exec "$NS_A" tc qdisc replace dev veth-a root handle 10: tbf rate 100mbit burst 16000 limit 100000
run "$NS_A" "$TMP/pq.json" 10 32 perf qdisc --dev veth-a
check "perf qdisc" "$TMP/pq.json" qdisc_latency_interval .packets qdisc_latency_summary .packets

mountpoint -q /sys/kernel/tracing || mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
if [ -d /sys/kernel/tracing/events/syscalls/sys_enter_futex ]; then
  start_nettrace "" "$TMP/futex.json" cpu futex -i 1 -d 2 --json
  wait "$NT_PID"; rc=$?
  [ $rc -eq 0 ] || { cat "$TMP/futex.json.err"; fail "cpu futex exited $rc"; }
  check "cpu futex" "$TMP/futex.json" futex_interval
else
  echo "note: no syscalls:sys_enter_futex tracepoint: cpu futex not checked"
fi

[ ${#FAILS[@]} -eq 0 ] || { printf 'FAIL: %s\n' "${FAILS[@]}"; exit 1; }
pass "-i 1 -d 2: exactly two ~1 s intervals, adding up to the summary"
