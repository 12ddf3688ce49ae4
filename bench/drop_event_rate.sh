#!/bin/bash
# The drop event path under a drop storm: COUNT UDP datagrams to a closed port between two namespaces at the
# sender's full speed, traced by `nettrace drop --json` (stacks on) and by a bpftrace program printing the
# same fields per event (time, reason, location, device, ports, symbolized kernel stack), one after the other on
# the same netns pair. Each writes into a pipe (tail keeps the last line). Reported per tracer: the kernel's
# truth (Udp NoPorts delta), events delivered, events lost, delivered events per second of the tracer's CPU
# time, peak RSS.
# Usage: bench/drop_event_rate.sh [NETTRACE] [COUNT] [ROUNDS]   (root; bpftrace, tests/tools/nt_pktsend)
# TRACERS="nettrace" skips bpftrace (default: "nettrace bpftrace", alternating in each round).
set -u
NETTRACE=${1:-build/nettrace}
COUNT=${2:-300000}
ROUNDS=${3:-1}
NETTRACE_ARGS=${NETTRACE_ARGS:-}
TRACERS=${TRACERS:-nettrace bpftrace}
PKTSEND=${PKTSEND:-$(dirname "$NETTRACE")/tests/nt_pktsend}
[[ " $TRACERS " != *" bpftrace "* ]] || command -v bpftrace >/dev/null || { echo "bpftrace not installed" >&2; exit 1; }
[ -x "$PKTSEND" ] || { echo "nt_pktsend not found at $PKTSEND" >&2; exit 1; }
tmp=$(mktemp -d) A=ntb$$a B=ntb$$b
cleanup() { ip netns del $A 2>/dev/null; ip netns del $B 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
ip netns add $A && ip netns add $B
ip link add va netns $A type veth peer name vb netns $B
ip -n $A addr add 10.201.0.1/24 dev va && ip -n $B addr add 10.201.0.2/24 dev vb
ip -n $A link set va up && ip -n $B link set vb up
ip netns exec $A "$PKTSEND" udp 10.201.0.2 9 1 >/dev/null; sleep 0.3
noports() { ip netns exec $B awk '$1=="Udp:" { if (!h) { for (i=2;i<=NF;i++) idx[$i]=i; h=1 } else print $idx["NoPorts"] }' /proc/net/snmp; }
cpu_ms() { awk -v hz="$(getconf CLK_TCK)" '{print int(($14 + $15) * 1000 / hz)}' /proc/$1/stat; }
hwm_kb() { awk '/VmHWM/ {print $2}' /proc/$1/status; }
flood() { ip netns exec $A "$PKTSEND" udp 10.201.0.2 7777 "$COUNT" 16 >/dev/null; }

# measure NAME PID: flood, then wait until the tracer's CPU time stops growing (less than 20 ms in half a
# second: an idle bpftrace still ticks now and then; at most 120 s); prints kernel cpu_ms rss_kb.
measure() {
  local pid=$1 before t0 t1 prev n=0
  before=$(noports); t0=$(cpu_ms "$pid")
  flood
  prev=-100; t1=$(cpu_ms "$pid")
  while [ $((t1 - prev)) -ge 20 ] && [ $((n += 1)) -le 240 ]; do prev=$t1; sleep 0.5; t1=$(cpu_ms "$pid"); done
  echo "$(( $(noports) - before )) $(( t1 - t0 )) $(hwm_kb "$pid")"
}

run_nettrace() {
  rm -f "$tmp/ready"
  # shellcheck disable=SC2086
  "$NETTRACE" drop --json --dst-port 7777 $NETTRACE_ARGS --ready-file "$tmp/ready" 2>"$tmp/nt.err" | tail -n 1 >"$tmp/nt.last" &
  local pid
  while [ ! -e "$tmp/ready" ]; do sleep 0.01; done
  pid=$(pgrep -n -f -- "--ready-file $tmp/ready")
  read -r kernel cpu rss < <(measure "$pid")
  kill -INT "$pid"; wait
  local got lost
  got=$(jq .events_received "$tmp/nt.last"); lost=$(jq .lost_events "$tmp/nt.last")
  report nettrace "$kernel" "$got" "$lost" "$cpu" "$rss"
}

run_bpftrace() {
  local prog='tracepoint:skb:kfree_skb { $skb = (struct sk_buff *)args->skbaddr;
    $uh = (struct udphdr *)($skb->head + $skb->transport_header);
    if ($uh->dest == 0x611e) {
      printf("{\"time\":%llu,\"reason\":%d,\"location\":\"%s\",\"ifindex\":%d,\"src_port\":%d,\"dst_port\":%d,\"stack\":\"%s\"}\n",
        nsecs, args->reason, ksym(args->location), $skb->skb_iif, bswap($uh->source), bswap($uh->dest), kstack);
    } }'
  # Its "Attaching" line waits in a full stdio buffer when stdout is a pipe: ready is its tracepoint attached.
  bpftrace -e "$prog" 2>"$tmp/bt.err" | awk '/^\{/ {n++} END {print n+0}' >"$tmp/bt.n" &
  local pid=
  while [ -z "$pid" ]; do sleep 0.05; pid=$(pgrep -n -x bpftrace); done
  until bpftool perf list 2>/dev/null | grep -q "pid $pid .*kfree_skb"; do sleep 0.05; done
  read -r kernel cpu rss < <(measure "$pid")
  kill -INT "$pid"; wait
  local lost; lost=$(grep -o 'Lost [0-9]* events' "$tmp/bt.err" | awk '{s+=$2} END {print s+0}')
  report bpftrace "$kernel" "$(cat "$tmp/bt.n")" "$lost" "$cpu" "$rss"
}

report() {
  printf '%-9s %8s %10s %8s %12s %8.1f\n' "$1" "$2" "$3" "$4" \
    "$(awk -v n="$3" -v c="$5" 'BEGIN { printf "%d", c ? n * 1000 / c : 0 }')" "$(awk -v r="$6" 'BEGIN { print r / 1024 }')"
}

printf '%-9s %8s %10s %8s %12s %8s\n' tracer kernel delivered lost "ev/cpu-s" "rss_MB"
for _ in $(seq 1 "$ROUNDS"); do
  for t in $TRACERS; do "run_$t"; done
done
