#!/bin/bash
# Per-packet cost of `nettrace perf latency` on a UDP flood over a veth pair between two network namespaces:
# packets per second with no tracing, with nettrace in summary mode, in details mode (a high threshold: almost
# no record emitted; threshold 0: every packet emitted, ring-buffer cost and lost events), and with a bpftrace
# program on the same tracepoints doing the equivalent per-packet work. The modes alternate every round, so
# drifting machine load hits all alike; medians over ROUNDS, ratios against the untraced rounds.
#
# Topology: $NS_A/veth-a 10.201.0.1 <-> $NS_B/veth-b 10.201.0.2, noqueue (the veth default), static
# neighbours, IPv6 off: only the flood crosses the link. The sender (GEN=iperf3: iperf3 -u -b 0 -l 64, the
# default; GEN=nt_pktsend: the tests' sendto() loop, 64-byte datagrams into a socket that is never read, a
# tighter loop and so a higher rate; GEN=tcp: one iperf3 TCP stream, GSO-sized skbs, rated in Mbit/s of
# veth-b's rx_bytes instead of pps) is pinned to CPU $SEND_CPU; on a veth the whole transmit path and the receive
# softirq up to the socket run on the sender's CPU, so that CPU is the bottleneck and every per-packet cost
# of a tracer lands on it. The receiver (iperf3 -s) and the tracers' user-space halves are pinned to
# CPU $OTHER_CPU.
#
# pps = delta of veth-b's rx_packets (/sys/class/net/veth-b/statistics, read in $NS_B) over WINDOW seconds,
# starting one second into the flood; never the generator's own claim.
#
# What is traced (all tracepoints; the only stages this 6.18 host can attach for a veth):
#   nettrace perf latency --phy-interface veth-a --direction tx --protocol udp --src-ip/--dst-ip:
#     phy_dev_queue (net:net_dev_queue, start) -> phy_start_xmit (net:net_dev_start_xmit)
#     -> phy_xmit (net:net_dev_xmit, end); qdisc_dequeue attaches but never fires on noqueue.
#   bpftrace: the same three tracepoints on veth-a, timestamp keyed by skb pointer at the start, a pair
#     histogram at each later stage and an end-to-end histogram at the end, entries deleted at the end.
#   bpftrace_empty: the same three tracepoints with empty bodies: what merely running a classic-tracepoint
#     program per hook costs (the floor of any such tracer).
# Each tracer's totals are checked: nettrace's end-to-end count must be nonzero and within 1% of veth-a's
# tx_packets over the tracer's lifetime (both printed), its lost/incomplete counters are reported.
#
# Usage: bench/perf_latency_cost.sh [NETTRACE] [ROUNDS] [WINDOW_S]
#   (root; hold the lab lock: flock /tmp/nettrace-lab.lock bash bench/perf_latency_cost.sh ...)
#   GEN=iperf3|nt_pktsend|tcp chooses the sender; MODES="none summary details_hi details_0 bpftrace bpftrace_empty" to choose modes; HI_US (default 1000) is the
#   details threshold of details_hi. PROFILE=1 adds one flood per tracer with kernel.bpf_stats_enabled and
#   prints each BPF program's average run time (bpftool).
set -u
NETTRACE=${1:-build/nettrace}
ROUNDS=${2:-5}
WINDOW=${3:-4}
HI_US=${HI_US:-1000}
SEND_CPU=${SEND_CPU:-1}
OTHER_CPU=${OTHER_CPU:-0}
read -r -a modes <<<"${MODES:-none summary details_hi details_0 bpftrace bpftrace_empty}"
PKTSEND=${PKTSEND:-$(dirname "$NETTRACE")/tests/nt_pktsend}
command -v bpftrace >/dev/null || { echo "bpftrace not installed" >&2; exit 1; }
command -v jq >/dev/null || { echo "jq not installed" >&2; exit 1; }
[ -x "$NETTRACE" ] || { echo "$NETTRACE not built" >&2; exit 1; }
[ -d /sys/kernel/tracing/events/net ] || { echo "tracefs not mounted at /sys/kernel/tracing (bpftrace needs it): mount -t tracefs nodev /sys/kernel/tracing" >&2; exit 1; }
GEN=${GEN:-iperf3}
PROTO=udp RATE_STAT=rx_packets RATE_UNIT=pps
case $GEN in
  tcp) PROTO=tcp RATE_STAT=rx_bytes RATE_UNIT="Mbit/s"
    command -v iperf3 >/dev/null || { echo "iperf3 not installed" >&2; exit 1; } ;;
  iperf3) command -v iperf3 >/dev/null || { echo "iperf3 not installed (GEN=nt_pktsend uses the test sender)" >&2; exit 1; } ;;
  nt_pktsend) [ -x "$PKTSEND" ] || { echo "$PKTSEND not built" >&2; exit 1; } ;;
  *) echo "GEN: iperf3, nt_pktsend or tcp" >&2; exit 2 ;;
esac

NS_A=ntb$$a NS_B=ntb$$b
tmp=$(mktemp -d)
bgpid='' srvpid='' genpid='' tailpid='' PROFILE_OUT=''
cleanup() {
  for p in $bgpid $genpid $srvpid $tailpid; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  ip netns del "$NS_A" 2>/dev/null; ip netns del "$NS_B" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

ip netns add "$NS_A" && ip netns add "$NS_B" || exit 1
ip link add veth-a netns "$NS_A" type veth peer name veth-b netns "$NS_B" || exit 1
for ns in "$NS_A" "$NS_B"; do
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  ip -n "$ns" link set lo up
done
ip -n "$NS_A" addr add 10.201.0.1/24 dev veth-a
ip -n "$NS_B" addr add 10.201.0.2/24 dev veth-b
ip -n "$NS_A" link set veth-a up
ip -n "$NS_B" link set veth-b up
mac_a=$(ip netns exec "$NS_A" cat /sys/class/net/veth-a/address)
mac_b=$(ip netns exec "$NS_B" cat /sys/class/net/veth-b/address)
ip -n "$NS_A" neigh replace 10.201.0.2 lladdr "$mac_b" dev veth-a nud permanent
ip -n "$NS_B" neigh replace 10.201.0.1 lladdr "$mac_a" dev veth-b nud permanent

stat_a() { ip netns exec "$NS_A" cat /sys/class/net/veth-a/statistics/"$1"; }
stat_b() { ip netns exec "$NS_B" cat /sys/class/net/veth-b/statistics/"$1"; }

if [ "$GEN" != nt_pktsend ]; then
  ip netns exec "$NS_B" taskset -c "$OTHER_CPU" iperf3 -s -B 10.201.0.2 -p 5201 >/dev/null 2>&1 &
  srvpid=$!
  for _ in $(seq 1 50); do ip netns exec "$NS_B" ss -ltn | grep -q ':5201 ' && break; sleep 0.1; done
else
  # A bound socket that is never read: once its queue is full the datagrams are dropped at the socket
  # (RcvbufErrors), no ICMP port unreachable flows back, and the receiver costs no CPU.
  ip netns exec "$NS_B" python3 -c 'import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("10.201.0.2", 9)); time.sleep(1e6)' &
  srvpid=$!
  for _ in $(seq 1 50); do ip netns exec "$NS_B" ss -lun | grep -q '10.201.0.2:9 ' && break; sleep 0.1; done
fi

# flood: runs the generator for WINDOW + 2 s on SEND_CPU, prints the rate (pps, or Mbit/s for tcp) of the
# middle WINDOW seconds.
flood() {
  local t=$((WINDOW + 2)) p0 p1 t0 t1
  if [ "$GEN" = tcp ]; then
    ip netns exec "$NS_A" taskset -c "$SEND_CPU" iperf3 -c 10.201.0.2 -p 5201 -t "$t" >"$tmp/gen.out" 2>&1 &
  elif [ "$GEN" = iperf3 ]; then
    ip netns exec "$NS_A" taskset -c "$SEND_CPU" iperf3 -c 10.201.0.2 -p 5201 -u -b 0 -l 64 -t "$t" \
      >"$tmp/gen.out" 2>&1 &
  else
    ip netns exec "$NS_A" taskset -c "$SEND_CPU" timeout "$t" "$PKTSEND" udp 10.201.0.2 9 2000000000 64 >/dev/null 2>&1 &
  fi
  genpid=$!
  sleep 1
  p0=$(stat_b $RATE_STAT); t0=$(date +%s%N)
  sleep "$WINDOW"
  p1=$(stat_b $RATE_STAT); t1=$(date +%s%N)
  wait $genpid; genpid=
  if [ "$RATE_STAT" = rx_bytes ]; then
    echo "$(( (p1 - p0) * 8000 / (t1 - t0) ))"  # Mbit/s
  else
    echo "$(( (p1 - p0) * 1000000000 / (t1 - t0) ))"
  fi
}

nt_args() {  # MODE
  local a=(perf latency --phy-interface veth-a --direction tx --src-ip 10.201.0.1 --dst-ip 10.201.0.2 --protocol "$PROTO"
    --json --disable-kernel-stacks)
  case $1 in
    summary) a+=(--mode summary --interval 3600) ;;
    details_hi) a+=(--mode details --latency-us "$HI_US") ;;
    details_0) a+=(--mode details --latency-us 0) ;;
  esac
  echo "${a[@]}"
}

# shellcheck disable=SC2016 # a bpftrace program, not shell
BT_PROG='
tracepoint:net:net_dev_queue /str(args->name) == "veth-a"/ { @q[args->skbaddr] = nsecs; }
tracepoint:net:net_dev_start_xmit /@q[args->skbaddr]/ { $k = args->skbaddr; @s[$k] = nsecs;
  @queue_to_start_ns = hist(nsecs - @q[$k]); }
tracepoint:net:net_dev_xmit /@s[args->skbaddr]/ { $k = args->skbaddr;
  @start_to_xmit_ns = hist(nsecs - @s[$k]); @total_ns = hist(nsecs - @q[$k]); @completed = count();
  delete(@q[$k]); delete(@s[$k]); }'
BT_EMPTY='tracepoint:net:net_dev_queue {} tracepoint:net:net_dev_start_xmit {} tracepoint:net:net_dev_xmit {}'

# one MODE: prints "pps" and appends the tracer's check line to $tmp/check.
one() {
  local mode=$1 pps tx0 tx1 sum
  tx0=$(stat_a tx_packets)
  case $mode in
    none) ;;
    bpftrace | bpftrace_empty)
      # Not in $NS_A: ip netns exec mounts a fresh /sys without tracefs (tracepoints are global anyway).
      local prog=$BT_PROG
      [ "$mode" = bpftrace_empty ] && prog=$BT_EMPTY
      taskset -c "$OTHER_CPU" bpftrace -e "$prog" >"$tmp/bt.out" 2>&1 &
      bgpid=$!
      until grep -q Attaching "$tmp/bt.out"; do kill -0 $bgpid 2>/dev/null || { cat "$tmp/bt.out" >&2; exit 1; }; sleep 0.05; done
      sleep 0.5 ;;  # "Attaching N probes" is printed before the last probe is attached
    *)
      rm -f "$tmp/ready" "$tmp/nt.fifo"
      # Only the last object (latency_summary) is kept: details_0 writes one JSON line per packet.
      mkfifo "$tmp/nt.fifo"
      taskset -c "$OTHER_CPU" tail -n 1 <"$tmp/nt.fifo" >"$tmp/nt.out" &
      tailpid=$!
      # shellcheck disable=SC2046
      ip netns exec "$NS_A" taskset -c "$OTHER_CPU" "$NETTRACE" $(nt_args "$mode") --ready-file "$tmp/ready" \
        >"$tmp/nt.fifo" 2>"$tmp/nt.err" &
      bgpid=$!  # ip netns exec and taskset exec: this is nettrace's pid
      until [ -e "$tmp/ready" ]; do kill -0 $bgpid 2>/dev/null || { cat "$tmp/nt.err" >&2; exit 1; }; sleep 0.05; done ;;
  esac
  if [ -n "$PROFILE_OUT" ]; then
    # Per-program run time (kernel.bpf_stats_enabled) over the flood: the tracer's own per-packet BPF cost,
    # without the attach overhead (tp_btf trampoline; a classic tracepoint's record) and the stats' own cost.
    sysctl -qw kernel.bpf_stats_enabled=1
    pps=$(flood)
    bpftool prog show -j | jq -r --arg m "$mode" '[.[] | select(.run_cnt > 0 and (.name | test("net_dev|qdisc|netif|napi")))] |
      "\($m): " + (map("\(.name) \(.run_time_ns / .run_cnt | floor) ns × \(.run_cnt)") | join(", ")) +
      " = \(map(.run_time_ns / .run_cnt) | add | floor) ns per packet"' >>"$PROFILE_OUT"
    sysctl -qw kernel.bpf_stats_enabled=0
  else
    pps=$(flood)
  fi
  if [ -n "$bgpid" ]; then
    # nettrace and bpftrace install their own SIGINT handlers (print the summary / the maps and exit). bpftrace
    # is signalled until it exits: a background job starts with SIGINT ignored until the program installs its
    # handler, and bpftrace does that late (one SIGINT can be lost; nettrace installs its handler before it
    # reports ready, and a second SIGINT could interrupt its writes to the FIFO).
    kill -INT $bgpid 2>/dev/null
    case $mode in bpftrace*)
      while sleep 0.5 && [ -e /proc/$bgpid ] && [ "$(sed -E 's/^.*\) (.).*/\1/' /proc/$bgpid/stat 2>/dev/null)" != Z ]; do
        kill -INT $bgpid 2>/dev/null
      done ;;
    esac
    wait $bgpid 2>/dev/null; bgpid=
    if [ -n "$tailpid" ]; then wait $tailpid; tailpid=; fi
  fi
  tx1=$(stat_a tx_packets)
  case $mode in
    bpftrace)
      sum=$(awk '/^@completed:/ {print $2}' "$tmp/bt.out")
      echo "$mode tx_packets=$((tx1 - tx0)) completed=${sum:-0}" >>"$tmp/check" ;;
    summary | details_hi | details_0)
      jq -r --arg m "$mode" --argjson tx $((tx1 - tx0)) 'select(.type=="latency_summary") |
        "\($m) tx_packets=\($tx) completed=\(.directions.tx.completed) incomplete=\(.directions.tx.incomplete) " +
        "started=\(.started) emitted=\(.emitted // 0) lost_events=\(.lost_events) map_full=\(.map_full) " +
        "events_received=\(.events_received // 0)"' "$tmp/nt.out" >>"$tmp/check" ||
        { echo "$mode: no latency_summary" >&2; cat "$tmp/nt.err" >&2; }
      ;;
  esac
  echo "$pps"
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

load0=$(cut -d' ' -f1-3 /proc/loadavg)
n=${#modes[@]}
for r in $(seq 1 "$ROUNDS"); do
  for i in $(seq 0 $((n - 1))); do
    m=${modes[$(( (i + r) % n ))]}
    one "$m" >>"$tmp/pps.$m"
  done
done
load1=$(cut -d' ' -f1-3 /proc/loadavg)
PROFILE_OUT=
if [ "${PROFILE:-0}" = 1 ] && command -v bpftool >/dev/null; then
  # Not during the timed rounds: the stats cost two clock reads per program run.
  PROFILE_OUT=$tmp/profile
  cp "$tmp/check" "$tmp/check.rounds"
  for m in summary bpftrace; do one "$m" >/dev/null; done
  mv "$tmp/check.rounds" "$tmp/check"
fi

base=$(median <"$tmp/pps.none" 2>/dev/null)
echo "| mode | median $RATE_UNIT | ratio | cost | all rounds ($RATE_UNIT) |"
echo "|---|---|---|---|---|"
for m in "${modes[@]}"; do
  v=$(median <"$tmp/pps.$m")
  if [ -n "$base" ] && [ "$base" -gt 0 ]; then
    printf '| %s | %d | %.3f× | %.1f%% | %s |\n' "$m" "$v" "$(echo "$v/$base" | bc -l)" \
      "$(echo "(1-$v/$base)*100" | bc -l)" "$(tr '\n' ' ' <"$tmp/pps.$m" | sed 's/ $//')"
  else
    printf '| %s | %d | | | %s |\n' "$m" "$v" "$(tr '\n' ' ' <"$tmp/pps.$m")"
  fi
done
echo
echo "tracer totals per round (tx_packets: veth-a over the tracer's lifetime):"
sed 's/^/  /' "$tmp/check" 2>/dev/null
if [ -n "$PROFILE_OUT" ]; then
  echo
  echo "BPF run time per program (kernel.bpf_stats_enabled, one extra flood each; programs on the traced tracepoints):"
  sed 's/^/  /' "$PROFILE_OUT"
fi
echo "generator $GEN, $ROUNDS rounds × ${WINDOW} s, sender CPU $SEND_CPU, kernel $(uname -r), $(nproc) CPUs," \
  "load average $load0 (start) / $load1 (end)"
