#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# nettrace-lab: --tcg multi
# Lab check: perf vm-latency against the nested VM fixture (lab_vm vm0, 10.0.2.10: virtio-net -> vhost-net -> tap
# tap-vm0 on OVS br0) and the "physical" port phy0 (netns ext, 10.0.2.100 behind it).
#
# ONE nettrace run (details mode, --protocol all) covers every part: it attaches before the VM boots and detaches
# after the VM has shut down, so no kernel text is patched (BPF attach/detach) while a nested VM runs under
# multi-threaded TCG (docs/lab.md, "Nested VMs and TCG threading"); for the same reason the lab-side pings use
# `ping -U` (no SO_TIMESTAMP, which flips the netstamp static key) and the links are made quiet (IPv6 off, static
# neighbours) before nettrace attaches. Each part's records are the ones of its protocol whose first stage lies in
# the part's window (CLOCK_MONOTONIC, the clock of the records' timestamp_ns).
#   ICMP  VM -> ext and ext -> VM, N echoes each (VM -> ext: requests VM-tx, replies VM-rx; ext -> VM: the
#         reverse): records per direction = 2N, every record from its receive port to its transmit port with stages
#         in order and non-negative deltas, the OVS stages present, the first VM-tx echo after a datapath flush
#         through the upcall, and the tap's and phy0's packet deltas at least the echoes.
#   UDP   N datagrams of 200 bytes each way, then N of 3000 bytes (3 fragments each): records per direction =
#         datagrams the receiving sink read (VM: nt_pktsend in the VM through labroot) x fragments per datagram.
#   TCP   one nc transfer each way (datapath flushed first): records per direction = phy0's and the tap's packet
#         deltas, in order, and the SYN went through the upcall and the re-inject and completed.
# At exit: the final summary's completed per direction = all records of that direction, nothing incomplete, no
# lost events.
set -uo pipefail
cd "$(dirname "$0")/../../../.." || exit 1
. tests/lab/fixtures.sh
lab_require_lab
NETTRACE=${NETTRACE:-$PWD/build/nettrace}
N=${N:-8}
N_UDP=${N_UDP:-20}
TCP_BYTES=${TCP_BYTES:-131072}
OUT=${NETTRACE_LAB_OUT:-/tmp}
NETTRACE_BUILD=${NETTRACE_BUILD:-$(dirname "$NETTRACE")}
PKTSEND=$NETTRACE_BUILD/tests/nt_pktsend
[[ -x "$PKTSEND" ]] || lab_fail "nt_pktsend not found at $PKTSEND"
command -v ping >/dev/null || lab_fail "iputils ping is not installed (needed for ping -U)"

# mono_ns: CLOCK_MONOTONIC in ns (bpf_ktime_get_ns, the records' timestamp_ns), from /proc/timer_list's "now at".
mono_ns() {
	local l
	while read -r l; do
		[[ $l == "now at "* ]] && { l=${l#now at }; echo "${l%% *}"; return 0; }
	done </proc/timer_list
	lab_fail "no 'now at' in /proc/timer_list"
}
[[ $(mono_ns) =~ ^[0-9]+$ ]] || lab_fail "cannot read CLOCK_MONOTONIC from /proc/timer_list"
# recs DIR PROTO T0 T1 [JQ FILTER]: the records of one part (jq -s over the run's output).
recs() {
	jq -s --arg d "$1" --arg p "$2" --argjson t0 "$3" --argjson t1 "$4" "[.[] | select(.type==\"latency_flow\" and
	    .direction==\$d and .protocol==\$p and .timestamp_ns >= \$t0 and .timestamp_ns <= \$t1)] ${5:-| length}" "$out"
}

lab_udp_bound() { lab_ns "$1" ss -Hlun "sport = :$2" 2>/dev/null | grep -q .; }
_ext_bound() { lab_udp_bound ext "$1"; }

# --- Everything that may patch kernel text happens before nettrace attaches: modules (lab_vm_prepare loads kvm_amd,
# tun, vhost_net, and starts the KVM pin), OVS, the quiet links (IPv6 off in every lab namespace), the tap, ext's
# static neighbour for the VM, the warm-up of the DO_ONCE keys.
lab_vm_prepare vm0
lab_ovs_bridge
VM_IP=$(lab_vm_ip vm0)
TAP=$(lab_vm_tap vm0)
EXT=$LAB_OVS_EXT_IP
for ns in root ext ovs0 ovs1; do
	lab_ns $ns sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 ||
		lab_fail "cannot disable IPv6 in $ns"
done
lab_defer sysctl -qw net.ipv6.conf.all.disable_ipv6=0 net.ipv6.conf.default.disable_ipv6=0
vm_mac=$(sed -n 's/^MAC=//p' "$LAB_VM_DIR/vm0/io/config")
ext_mac=$(lab_ns ext cat /sys/class/net/eth0/address)
ip -n ext neigh replace "$VM_IP" lladdr "$vm_mac" dev eth0 nud permanent || lab_fail "static neighbour $VM_IP in ext"

# The lab kernel's DO_ONCE keys (random secrets on first use: a TCP connect, a TCP accept, IP fragments) flip
# static keys when first used; measured, they fired during the TCP and fragment parts with the VM running. Use them
# here first: the ext side of every part below, against the internal port.
lab_tcp_transfer root ext "$EXT" 5990 4096
lab_tcp_transfer ext root "$LAB_OVS_STORAGE_IP" 5991 4096
lab_ns ext "$PKTSEND" sink 5992 2 30 >/dev/null &
spid=$!
lab_wait_until 30 "warm-up sink in ext" _ext_bound 5992
"$PKTSEND" udp "$EXT" 5992 2 3000 7003 >/dev/null || lab_fail "warm-up: fragmented UDP to ext failed"
wait "$spid" || lab_fail "warm-up: the sink in ext did not get 2 datagrams"
"$PKTSEND" sink 5993 2 30 >/dev/null &
spid=$!
lab_wait_until 30 "warm-up sink in the lab" lab_udp_bound root 5993
lab_ns ext "$PKTSEND" udp "$LAB_OVS_STORAGE_IP" 5993 2 3000 7004 >/dev/null || lab_fail "warm-up: fragmented UDP from ext failed"
wait "$spid" || lab_fail "warm-up: the sink in the lab did not get 2 datagrams"

out=$OUT/vm_perf_latency.json
lab_nettrace_start "$out" --attach-timeout 180 perf vm-latency --vm-interface "$TAP" --phy-interface phy0 --vm-ip "$VM_IP" \
	--dst-ip "$EXT" --protocol all --direction both --mode details --json --disable-kernel-stacks --flow-timeout 10
lab_vm_boot vm0
lab_vm_exec vm0 "sysctl -qw net.ipv6.conf.all.disable_ipv6=1 && labroot ip neigh replace $EXT lladdr $ext_mac dev eth0 nud permanent" ||
	lab_fail "cannot quiet the VM's link"

# --- ICMP.
t0=$(mono_ns)
ovs-appctl dpctl/del-flows system@ovs-system >/dev/null || lab_fail "dpctl/del-flows"
lab_ovs_counters
missed0=$LAB_OVS_MISSED
tap_rx0=$(lab_stat "$TAP" rx_packets) tap_tx0=$(lab_stat "$TAP" tx_packets)
phy_rx0=$(lab_stat phy0 rx_packets) phy_tx0=$(lab_stat phy0 tx_packets)
lab_vm_ping_ok vm0 "$EXT" "$N"    # VM -> ext (busybox ping in the VM)
lab_ping_ok ext "$VM_IP" "$N" -U  # ext -> VM
tap_rx=$(($(lab_stat "$TAP" rx_packets) - tap_rx0)) tap_tx=$(($(lab_stat "$TAP" tx_packets) - tap_tx0))
phy_rx=$(($(lab_stat phy0 rx_packets) - phy_rx0)) phy_tx=$(($(lab_stat phy0 tx_packets) - phy_tx0))
lab_ovs_counters
t_icmp=("$t0" "$(mono_ns)")
lab_log "icmp window: $TAP rx $tap_rx tx $tap_tx, phy0 rx $phy_rx tx $phy_tx, dpctl missed $((LAB_OVS_MISSED - missed0))"
lab_assert_ge "$TAP rx_packets delta (the VM's echoes)" "$tap_rx" $((2 * N))
lab_assert_ge "phy0 tx_packets delta" "$phy_tx" $((2 * N))
lab_assert_ge "phy0 rx_packets delta" "$phy_rx" $((2 * N))
lab_assert_ge "$TAP tx_packets delta" "$tap_tx" $((2 * N))

# --- UDP and fragmented UDP through the VM's path. Nothing on the way reassembles (OVS without conntrack forwards
# fragments as they are), so every fragment is a packet of its own from port to port.
_vm_bound() { lab_vm_exec vm0 --timeout 60 "grep -qi ':$(printf %04X "$1") ' /proc/net/udp" >/dev/null; }
declare -A t_udp
vm_udp() { # vm_udp NAME SIZE N PORT_EXT PORT_VM: N datagrams each way, sinks count them
	local name=$1 size=$2 n=$3 pe=$4 pv=$5 spid job got t0
	t0=$(mono_ns)
	lab_ns ext "$PKTSEND" sink "$pe" "$n" 120 >"$OUT/vm_perf_latency_$name.sink-ext" &
	spid=$!
	job=$(lab_vm_spawn vm0 "labroot $PKTSEND sink $pv $n 120")
	lab_wait_until 60 "udp sink in ext" _ext_bound "$pe"
	lab_wait_until 120 "udp sink in the VM" _vm_bound "$pv"
	lab_vm_exec vm0 "labroot $PKTSEND udp $EXT $pe $n $size 7001" >/dev/null || lab_fail "$name: send VM -> ext failed"
	lab_ns ext "$PKTSEND" udp "$VM_IP" "$pv" "$n" "$size" 7002 >/dev/null || lab_fail "$name: send ext -> VM failed"
	wait "$spid" || lab_fail "$name: the sink in ext got $(cat "$OUT/vm_perf_latency_$name.sink-ext") of $n datagrams"
	got=$(lab_vm_wait vm0 "$job" 120) || lab_fail "$name: the sink in the VM got $got of $n datagrams"
	lab_assert_eq "$name: ext sink (datagrams bytes)" "$(cat "$OUT/vm_perf_latency_$name.sink-ext")" "$n $((n * size))"
	lab_assert_eq "$name: VM sink (datagrams bytes)" "$(tr -d '\r' <<<"$got")" "$n $((n * size))"
	t_udp[$name]="$t0 $(mono_ns)"
}
vm_udp udp 200 "$N_UDP" 6001 6002
vm_udp udp_frag 3000 "$N_UDP" 6003 6004

# --- TCP through the VM's path, one nc transfer each way with the datapath flows flushed first. The links are
# quiet, so that phy0 carries only the transfer in the window: records per direction = phy0's packet delta (tx:
# VM -> ext leaves by phy0; rx: ext -> VM comes in by phy0) = the tap's (rx: from the VM; tx: to the VM).
tcp_closed_ext() { ! lab_ns ext ss -Hant "( sport = :$1 or dport = :$1 )" | grep -qv TIME-WAIT; }
tcp_closed_vm() { ! lab_vm_exec vm0 --timeout 60 "netstat -tn 2>/dev/null" | grep ":$1 " | grep -qv TIME_WAIT; }
_vm_listening() { lab_vm_exec vm0 --timeout 60 "netstat -tln 2>/dev/null" | grep -q ":$1 "; }
declare -A t_tcp tcp_want
vm_tcp() { # vm_tcp NAME PORT to-ext|to-vm
	local name=$1 port=$2 way=$3 fifo hold rpid job got t0
	t0=$(mono_ns)
	ovs-appctl dpctl/del-flows system@ovs-system >/dev/null || lab_fail "dpctl/del-flows"
	local tap_rx0 tap_tx0 phy_rx0 phy_tx0
	tap_rx0=$(lab_stat "$TAP" rx_packets) tap_tx0=$(lab_stat "$TAP" tx_packets)
	phy_rx0=$(lab_stat phy0 rx_packets) phy_tx0=$(lab_stat phy0 tx_packets)
	if [[ $way == to-ext ]]; then
		fifo=$(mktemp -u /tmp/lab-tcp.XXXXXX)
		mkfifo "$fifo"
		exec {hold}<>"$fifo"
		(lab_ns ext busybox nc -l -p "$port" <"$fifo" | wc -c >"$OUT/vm_perf_latency_$name.count") &
		rpid=$!
		lab_wait_until 30 "the receiver in ext to listen on $port" lab_listening ext "$port"
		lab_vm_exec vm0 --timeout 300 "head -c $TCP_BYTES /dev/zero | nc $EXT $port" >/dev/null || lab_fail "$name: VM sender failed"
		wait "$rpid" || lab_fail "$name: receiver in ext failed"
		exec {hold}>&-
		rm -f "$fifo"
		got=$(tr -d ' ' <"$OUT/vm_perf_latency_$name.count")
	else
		job=$(lab_vm_spawn vm0 "mkfifo /tmp/hold$port; sleep 600 >/tmp/hold$port & h=\$!; nc -l -p $port </tmp/hold$port | wc -c; kill \$h")
		lab_wait_until 120 "the receiver in the VM to listen on $port" _vm_listening "$port"
		head -c "$TCP_BYTES" /dev/zero | lab_ns ext busybox nc "$VM_IP" "$port" || lab_fail "$name: sender in ext failed"
		got=$(lab_vm_wait vm0 "$job" 300 | tr -d ' \r') || lab_fail "$name: receiver in the VM failed: $got"
	fi
	lab_assert_eq "$name: bytes received" "$got" "$TCP_BYTES"
	lab_wait_until 60 "$name: sockets closed in ext" tcp_closed_ext "$port"
	lab_wait_until 120 "$name: sockets closed in the VM" tcp_closed_vm "$port"
	local tap_rx=$(($(lab_stat "$TAP" rx_packets) - tap_rx0)) tap_tx=$(($(lab_stat "$TAP" tx_packets) - tap_tx0))
	local phy_rx=$(($(lab_stat phy0 rx_packets) - phy_rx0)) phy_tx=$(($(lab_stat phy0 tx_packets) - phy_tx0))
	lab_log "$name window: $TAP rx $tap_rx tx $tap_tx, phy0 rx $phy_rx tx $phy_tx"
	t_tcp[$name]="$t0 $(mono_ns) $port $way"
	tcp_want[$name]="$phy_tx $tap_rx $phy_rx $tap_tx"
}
vm_tcp tcp_vm_to_ext 5001 to-ext
vm_tcp tcp_ext_to_vm 5002 to-vm

# --- The VM shuts down, then nettrace detaches (kernel text is patched again only once no nested VM runs).
lab_vm_stop vm0
lab_nettrace_stop

# --- ICMP records.
for dir in tx rx; do
	lab_assert_eq "icmp: vm-latency $dir records (echoes crossing it)" "$(recs $dir icmp "${t_icmp[@]}")" $((2 * N))
	first=$([[ $dir == tx ]] && echo "$TAP" || echo phy0) last=$([[ $dir == tx ]] && echo phy0 || echo "$TAP")
	bad=$(recs $dir icmp "${t_icmp[@]}" "| map(select(([.stages[].delta_us] | min) < 0 or
	    ([.stages[].index] != ([.stages[].index] | sort)) or ([.stages[].timestamp_ns] != ([.stages[].timestamp_ns] | sort)) or
	    .stages[0].interface != \"$first\" or .stages[-1].interface != \"$last\")) | length")
	lab_assert_eq "icmp: vm-latency $dir records not from $first to $last in order" "$bad" 0
	stages=$(recs $dir icmp "${t_icmp[@]}" '| last | [.stages[] | "\(.stage)@\(.interface)"] | join(" -> ")' | jq -r .)
	lab_log "icmp $dir: $stages"
	for s in netdev_frame_hook ovs_vport_receive ovs_dp_process_packet ovs_execute_actions ovs_vport_send; do
		grep -q "$s" <<<"$stages" || lab_fail "vm-latency $dir: no $s stage: $stages"
	done
done
first=$(recs tx icmp "${t_icmp[@]}" '| sort_by(.timestamp_ns) | first | "seq \(.icmp_seq): " + ([.stages[].stage] | join(" -> "))' | jq -r .)
grep -q ovs_dp_upcall <<<"$first" || lab_fail "vm-latency: the first VM-tx echo after the flush shows no upcall: $first"
lab_log "ok: first VM-tx echo after the flush went through the upcall: $first"

# --- UDP records: every fragment is a record of its own.
for name in udp udp_frag; do
	k=$([[ $name == udp ]] && echo 1 || echo 3)
	for dir in tx rx; do
		# shellcheck disable=SC2086 # the window: two numbers
		lab_assert_eq "$name: vm-latency $dir records ($k packet(s) per datagram)" "$(recs $dir udp ${t_udp[$name]})" $((k * N_UDP))
	done
done

# --- TCP records.
for name in tcp_vm_to_ext tcp_ext_to_vm; do
	read -r t0 t1 port way <<<"${t_tcp[$name]}"
	read -r phy_tx tap_rx phy_rx tap_tx <<<"${tcp_want[$name]}"
	for dir in tx rx; do
		n=$(recs $dir tcp "$t0" "$t1")
		if [[ $dir == tx ]]; then
			lab_assert_eq "$name: tx records = phy0 tx_packets delta" "$n" "$phy_tx"
			lab_assert_eq "$name: tx records = $TAP rx_packets delta" "$n" "$tap_rx"
		else
			lab_assert_eq "$name: rx records = phy0 rx_packets delta" "$n" "$phy_rx"
			lab_assert_eq "$name: rx records = $TAP tx_packets delta" "$n" "$tap_tx"
		fi
		c=$(recs $dir tcp "$t0" "$t1" '| map(select(([.stages[].delta_us] | min) < 0 or
		    ([.stages[].index] != ([.stages[].index] | sort)))) | length')
		lab_assert_eq "$name: $dir records out of order or with negative deltas" "$c" 0
	done
	# The SYN: VM-tx when the VM connects, VM-rx when ext does; through the upcall, and complete.
	dir=$([[ $way == to-ext ]] && echo tx || echo rx)
	first=$(recs $dir tcp "$t0" "$t1" '| sort_by(.timestamp_ns) | first |
	    "\(.src_port)>\(.dst_port) ack \(.tcp_ack): " + ([.stages[].stage] | join(" -> "))' | jq -r .)
	grep -q ">$port ack 0: .*ovs_dp_upcall -> .*ovs_flow_key_extract_userspace -> .*_xmit$" <<<"$first" ||
		lab_fail "$name: the SYN ($dir) did not go through the upcall and the re-inject to the end: $first"
	lab_log "ok: $name: the SYN ($dir) went through the upcall and completed: $first"
done

# --- The run's final summary: every completed flow is a record, nothing incomplete, nothing lost.
summary() { jq -s "[.[] | select(.type==\"latency_summary\")] | last | $1" "$out"; }
for dir in tx rx; do
	all=$(jq -s --arg d $dir '[.[] | select(.type=="latency_flow" and .direction==$d)] | length' "$out")
	lab_assert_eq "vm-latency $dir summary completed = records" "$(summary ".directions.$dir.completed")" "$all"
	c=$(summary ".directions.$dir.incomplete")
	[ "$c" = 0 ] || lab_log "$dir incomplete by last stage: $(summary ".directions.$dir.incomplete_by_last_stage" | jq -c .);" \
		"counters: $(summary '{started, completed, restarted, stale, duplicates, out_of_order, no_flow, negative_deltas, parse_failures, map_full, emitted}' | jq -c .)"
	lab_assert_eq "vm-latency $dir incomplete" "$c" 0
done
lab_assert_eq "lost events" "$(summary .lost_events)" 0
echo "PASS: perf vm-latency against the nested VM"
