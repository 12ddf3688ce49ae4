#!/bin/bash
# Per-packet cost of `nettrace perf vm-latency` (summary mode) on a UDP flood across the OVS kernel datapath, in
# the lab (kprobes/fentry give the OVS stages), against a bpftrace program on the same hooks and against the
# same probes with empty bodies. Modes alternate every round; medians; ratios against the untraced rounds.
#
# Topology (tests/lab/fixtures.sh lab_ovs_bridge): ns ovs0 eth0 10.0.2.1 = ovs0-p -- OVS br0 -- ovs1-p = ns ovs1
# eth0 10.0.2.2. ovs0-p plays the VM's vnet port and ovs1-p the physical port, so the TX direction (VM -> wire)
# of `perf vm-latency --vm-interface ovs0-p --phy-interface ovs1-p` is the flood's path:
#   vnet_netif_rx (net:netif_rx, start) -> vnet_netif_receive_skb -> netdev_frame_hook -> ovs_vport_receive ->
#   ovs_dp_process_packet -> ovs_execute_actions -> ovs_vport_send -> phy_dev_queue -> phy_start_xmit -> phy_xmit
# (the datapath flow is installed by a warm-up ping: no upcall in the timed rounds).
# The sender (the tests' nt_pktsend: 64-byte datagrams into a bound socket in ovs1 that is never read) is pinned to
# CPU 0: veth delivery, the datapath and the peer's receive all run in its softirqs. Tracers' user space on CPU 1.
# rate = delta of ovs1's eth0 rx_packets over WINDOW seconds, one second into the flood.
# bpftrace: skb-keyed timestamps, a histogram per stage pair and end to end, entries deleted at the end (the skb
# survives the fast path; nettrace keys by packet identity, which also survives OVS's upcall).
# Times are TCG's (the lab emulates the CPU): read the ratios, not the rates.
#
# Usage (root, on the host): bench/perf_latency_ovs_cost.sh [NETTRACE] [ROUNDS] [WINDOW_S] [KERNEL]
# NETTRACE_BENCH_PROFILE_ONLY=1: only the BPF run time windows; NETTRACE_BENCH_PROFILE_MODES="summary": which;
# mode "baseline" profiles NETTRACE_BENCH_BASELINE (another nettrace binary) in the same boot, for before/after.
set -u
cd "$(dirname "$0")/.." || exit 1

if [ "${NETTRACE_LAB:-}" != 1 ]; then
	NETTRACE=$(realpath "${1:-build/nettrace}")
	[ -x "$NETTRACE" ] || { echo "nettrace binary not found at $NETTRACE" >&2; exit 1; }
	NETTRACE=$NETTRACE NETTRACE_BENCH_ROUNDS=${2:-5} NETTRACE_BENCH_WINDOW=${3:-4} \
		exec tests/lab/run --kernel "${4:-6.1}" --timeout 3000 -- bash bench/perf_latency_ovs_cost.sh
fi

# ---- inside the lab guest
. tests/lab/fixtures.sh
NETTRACE=${NETTRACE:?}
ROUNDS=${NETTRACE_BENCH_ROUNDS:-5}
WINDOW=${NETTRACE_BENCH_WINDOW:-4}
PKTSEND=$(dirname "$NETTRACE")/tests/nt_pktsend
[ -x "$PKTSEND" ] || lab_fail "$PKTSEND not built"
command -v bpftrace >/dev/null || lab_fail "bpftrace not installed"
mountpoint -q /sys/kernel/tracing || mount -t tracefs nodev /sys/kernel/tracing
lab_ovs_bridge
tmp=$(mktemp -d)
lab_defer rm -rf "$tmp"
for ns in ovs0 ovs1; do ip netns exec $ns sysctl -qw net.ipv6.conf.all.disable_ipv6=1; done
ip -n ovs0 neigh replace "$LAB_OVS_NS1_IP" lladdr "$(ip netns exec ovs1 cat /sys/class/net/eth0/address)" dev eth0 nud permanent
ip -n ovs1 neigh replace "$LAB_OVS_NS0_IP" lladdr "$(ip netns exec ovs0 cat /sys/class/net/eth0/address)" dev eth0 nud permanent
ip netns exec ovs1 python3 -c 'import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("10.0.2.2", 9)); time.sleep(1e6)' &
sink=$!
lab_defer kill "$sink"
lab_wait_until 10 "the sink socket" bash -c "ip netns exec ovs1 ss -lun | grep -q '10.0.2.2:9 '"
# br0 learns ovs1's MAC from a ping (the sink never answers: without it br0 floods every datagram to all
# four ports). Then the datapath flow for the flood (its first packet goes up to ovs-vswitchd): one output.
ip netns exec ovs1 ping -c 2 -i 0.2 -W 2 "$LAB_OVS_NS0_IP" >/dev/null || lab_fail "ovs1 cannot ping ovs0"
ip netns exec ovs0 "$PKTSEND" udp "$LAB_OVS_NS1_IP" 9 20 64 >/dev/null
sleep 1
flood_flow=$(ovs-appctl dpctl/dump-flows | grep "eth(src=$(ip netns exec ovs0 cat /sys/class/net/eth0/address)," |
	grep 'eth_type(0x0800)' | grep -o 'actions:.*' | head -1)
case $flood_flow in
actions:*,* | '') lab_fail "the flood's datapath flow is '$flood_flow', not a single output: $(ovs-appctl dpctl/dump-flows 2>&1)" ;;
esac

rx() { ip netns exec ovs1 cat /sys/class/net/eth0/statistics/rx_packets; }
flood() {
	local t=$((WINDOW + 2)) p0 p1 t0 t1 gen
	ip netns exec ovs0 taskset -c 0 timeout "$t" "$PKTSEND" udp "$LAB_OVS_NS1_IP" 9 2000000000 64 >/dev/null 2>&1 &
	gen=$!
	sleep 1
	p0=$(rx); t0=$(date +%s%N)
	sleep "$WINDOW"
	p1=$(rx); t1=$(date +%s%N)
	wait $gen
	echo $(((p1 - p0) * 1000000000 / (t1 - t0)))
}

# shellcheck disable=SC2016 # bpftrace programs, not shell
BT_STAGE='{ $k = KEY; if (@t[$k]) { @NAME = hist(nsecs - @t[$k]); @t[$k] = nsecs; } }'
bt_prog() { # EMPTY(0|1)
	local empty=$1 p probe key name
	p='tracepoint:net:netif_rx /str(args->name) == "ovs0-p"/ { $k = (uint64)args->skbaddr; @t[$k] = nsecs; @t0[$k] = nsecs; }'
	while IFS=';' read -r probe key name; do
		p+=" $probe ${BT_STAGE/KEY/$key}"
		p=${p/NAME/$name}
	done <<'STAGES'
tracepoint:net:netif_receive_skb;(uint64)args->skbaddr;vnet_rcv
kprobe:netdev_frame_hook;*(uint64 *)arg0;frame_hook
kprobe:ovs_vport_receive;arg1;vport_receive
kprobe:ovs_dp_process_packet;arg0;dp_process
kprobe:ovs_execute_actions;arg1;execute
kprobe:ovs_vport_send;arg1;vport_send
tracepoint:net:net_dev_queue;(uint64)args->skbaddr;dev_queue
tracepoint:net:net_dev_start_xmit;(uint64)args->skbaddr;start_xmit
STAGES
	# The end on ovs1-p only: the sender's own veth transmit (eth0 in ns ovs0) fires net_dev_xmit after its
	# netif_rx on ovs0-p returns, before any later stage ran.
	p+=' tracepoint:net:net_dev_xmit /str(args->name) == "ovs1-p"/ { $k = (uint64)args->skbaddr; if (@t0[$k]) { @xmit = hist(nsecs - @t[$k]);
	  @total = hist(nsecs - @t0[$k]); @completed = count(); delete(@t[$k]); delete(@t0[$k]); } }'
	if [ "$empty" = 1 ]; then
		p='tracepoint:net:netif_rx {} tracepoint:net:netif_receive_skb {} kprobe:netdev_frame_hook {}
		  kprobe:ovs_vport_receive {} kprobe:ovs_dp_process_packet {} kprobe:ovs_execute_actions {}
		  kprobe:ovs_vport_send {} tracepoint:net:net_dev_queue {} tracepoint:net:net_dev_start_xmit {}
		  tracepoint:net:net_dev_xmit {}'
	fi
	echo "$p"
}

_bt_attached() { # PID: bpftrace printed "Attaching"; fails the bench when it exited (a program error)
	grep -q Attaching "$tmp/bt.out" && return 0
	_lab_alive "$1" && return 1
	cat "$tmp/bt.out" >&2
	lab_fail "bpftrace exited before attaching"
}

# bpftrace's samples per stage histogram: every stage must have measured (nearly) every completed packet, or
# the comparison is against a program that skipped its work (a stage whose skb lookup missed).
bt_check() {
	awk '/^@completed:/ {c = $2} /^@[a-z_0-9]+:/ {m = $1} /^\[/ {n[m] += $3}
	     END {s = "  bpftrace samples:"; bad = 0
	          for (k in n) {s = s " " k n[k]; if (n[k] < 0.9 * c) bad = 1}
	          print s; exit bad}' "$tmp/bt.out" >>"$tmp/check" ||
		lab_fail "a bpftrace stage measured too few packets: $(tail -1 "$tmp/check")"
}

one() { # MODE -> rate; appends the tracer's totals to $tmp/check
	local mode=$1 rate pid x0 x1
	x0=$(cat /sys/class/net/ovs1-p/statistics/tx_packets)
	case $mode in
	none) rate=$(flood) ;;
	summary)
		rm -f "$tmp/ready"
		taskset -c 1 "$NETTRACE" perf vm-latency --vm-interface ovs0-p --phy-interface ovs1-p --direction tx \
			--vm-ip "$LAB_OVS_NS0_IP" --dst-ip "$LAB_OVS_NS1_IP" --protocol udp --mode summary --interval 3600 --json \
			--ready-file "$tmp/ready" >"$tmp/nt.out" 2>"$tmp/nt.err" &
		pid=$!
		lab_wait_until 120 "nettrace attached" test -e "$tmp/ready"
		rate=$(flood)
		kill -INT $pid
		wait $pid || lab_fail "nettrace failed: $(cat "$tmp/nt.err")"
		x1=$(cat /sys/class/net/ovs1-p/statistics/tx_packets)
		jq -r --argjson tx $((x1 - x0)) 'select(.type=="latency_summary") | "summary ovs1-p tx_packets=\($tx) " +
			"completed=\(.directions.tx.completed) incomplete=\(.directions.tx.incomplete) map_full=\(.map_full)"' \
			"$tmp/nt.out" >>"$tmp/check" ;;
	bpftrace | bpftrace_empty)
		taskset -c 1 bpftrace -e "$(bt_prog "$([ $mode = bpftrace_empty ] && echo 1 || echo 0)")" >"$tmp/bt.out" 2>&1 &
		pid=$!
		lab_wait_until 300 "bpftrace attached" _bt_attached $pid
		sleep 1
		rate=$(flood)
		lab_interrupt $pid 120 bpftrace || lab_fail "bpftrace failed: $(cat "$tmp/bt.out")"
		x1=$(cat /sys/class/net/ovs1-p/statistics/tx_packets)
		echo "$mode ovs1-p tx_packets=$((x1 - x0)) completed=$(awk '/^@completed:/ {print $2}' "$tmp/bt.out")" >>"$tmp/check"
		[ $mode = bpftrace ] && bt_check ;;
	esac
	echo "$rate"
}

modes=(none summary bpftrace bpftrace_empty)
[ "${NETTRACE_BENCH_PROFILE_ONLY:-0}" = 1 ] && ROUNDS=0 # only the BPF run time windows below
n=${#modes[@]}
for r in $(seq 1 "$ROUNDS"); do
	for i in $(seq 0 $((n - 1))); do
		m=${modes[$(((i + r) % n))]}
		one "$m" >>"$tmp/rate.$m"
	done
done
if [ "$ROUNDS" -gt 0 ]; then
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
base=$(median <"$tmp/rate.none")
echo "| mode | median pps | ratio | cost | all rounds (pps) |"
echo "|---|---|---|---|---|"
for m in "${modes[@]}"; do
	v=$(median <"$tmp/rate.$m")
	printf '| %s | %d | %.3f× | %.1f%% | %s |\n' "$m" "$v" "$(echo "$v/$base" | bc -l)" \
		"$(echo "(1-$v/$base)*100" | bc -l)" "$(tr '\n' ' ' <"$tmp/rate.$m" | sed 's/ $//')"
done
echo
echo "tracer totals per round:"
sed 's/^/  /' "$tmp/check"
grep -m1 "stages (tx)" -A14 "$tmp/nt.err" | sed 's/^/  /'
fi

# One more window per tracer with kernel.bpf_stats_enabled (its clock reads cost too: not in the rounds above):
# BPF run time per flooded packet, by program.
sysctl -qw kernel.bpf_stats_enabled=1
prof() { # MODE: "program runs-per-packet ns-per-run" lines and the total, packets = ovs1-p tx delta
	local x0=$1 x1
	x1=$(cat /sys/class/net/ovs1-p/statistics/tx_packets)
	bpftool prog show -j | jq -r --argjson n $((x1 - x0)) '[.[] | select((.run_cnt // 0) > 0)] |
		(.[] | "    \(.name) \(.run_cnt / $n * 100 | floor / 100) runs/pkt \(.run_time_ns / .run_cnt | floor) ns/run"),
		"    total \((map(.run_time_ns) | add) / $n | floor) ns of BPF per packet"'
}
echo "BPF run time per packet (kernel.bpf_stats_enabled, one ${WINDOW} s window each):"
for m in ${NETTRACE_BENCH_PROFILE_MODES:-summary bpftrace}; do
	echo "  $m:"
	x0=$(cat /sys/class/net/ovs1-p/statistics/tx_packets)
	if [ $m = summary ] || [ $m = baseline ]; then
		nt=$NETTRACE
		[ $m = baseline ] && nt=${NETTRACE_BENCH_BASELINE:?baseline: set NETTRACE_BENCH_BASELINE to another nettrace}
		rm -f "$tmp/ready"
		taskset -c 1 "$nt" perf vm-latency --vm-interface ovs0-p --phy-interface ovs1-p --direction tx \
			--vm-ip "$LAB_OVS_NS0_IP" --dst-ip "$LAB_OVS_NS1_IP" --protocol udp --mode summary --interval 3600 \
			--ready-file "$tmp/ready" >/dev/null 2>&1 &
		pid=$!
		lab_wait_until 120 "nettrace attached" test -e "$tmp/ready"
		flood >/dev/null
		prof "$x0"
		kill -INT $pid
		wait $pid
	else
		taskset -c 1 bpftrace -e "$(bt_prog 0)" >"$tmp/bt.out" 2>&1 &
		pid=$!
		lab_wait_until 300 "bpftrace attached" _bt_attached $pid
		sleep 1
		x0=$(cat /sys/class/net/ovs1-p/statistics/tx_packets)
		flood >/dev/null
		prof "$x0"
		lab_interrupt $pid 120 bpftrace
		bt_check
		tail -1 "$tmp/check" | sed 's/^/  /'
	fi
done
sysctl -qw kernel.bpf_stats_enabled=0
echo "kernel $(uname -r), $(nproc) vCPUs (TCG), $ROUNDS rounds x ${WINDOW} s"
