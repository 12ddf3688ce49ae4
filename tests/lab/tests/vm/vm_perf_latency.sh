#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# nettrace-lab: --tcg multi
# Lab test: perf vm-latency against the nested VM fixture (lab_vm vm0, 10.0.2.10: virtio-net -> vhost-net -> tap
# tap-vm0 on OVS br0) and the "physical" port phy0 (netns ext, 10.0.2.100 behind it), pings both ways:
#   VM -> ext: the requests are VM-tx (tap receive ... OVS ... phy0 transmit), the replies VM-rx;
#   ext -> VM: the requests are VM-rx, the replies VM-tx.
# Checks: records per direction = echoes crossing it (2N), every record from its receive port to its transmit port
# with stages in order and non-negative deltas, the OVS stages present, the first VM-tx packet after a datapath
# flush shows the upcall stages and completes, the final summary's completed counts = the records, and the tap's
# and phy0's packet counts in the window are at least the echoes ping counted. Then UDP (N datagrams of 200 bytes
# each way) and fragmented UDP (N of 3000 bytes, 3 fragments each): completed per direction = datagrams the
# receiving sink read (VM: nt_pktsend in the VM through labroot) x fragments per datagram, nothing incomplete.
# Then TCP (nc, one transfer each way, quiet links): records = summary completed = phy0's and the tap's packet
# deltas per direction, nothing incomplete, and the SYN went through the upcall and the re-inject and completed.
set -uo pipefail
cd "$(dirname "$0")/../../../.." || exit 1
. tests/lab/fixtures.sh
lab_require_lab
NETTRACE=${NETTRACE:-$PWD/build/nettrace}
N=${N:-8}
OUT=${NETTRACE_LAB_OUT:-/tmp}

lab_vm vm0 --no-wait # boots while lab_ovs_bridge waits for uptime >= 12 s
lab_ovs_bridge
lab_vm_wait_ready vm0
VM_IP=$(lab_vm_ip vm0)
TAP=$(lab_vm_tap vm0)
EXT=$LAB_OVS_EXT_IP
# One warm-up echo each way (ARP, MAC learning), so that the traced window carries only ICMP echoes.
lab_vm_ping_ok vm0 "$EXT" 1
lab_ping_ok ext "$VM_IP" 1

out=$OUT/vm_perf_latency.json
lab_nettrace_start "$out" --attach-timeout 180 perf vm-latency --vm-interface "$TAP" --phy-interface phy0 --vm-ip "$VM_IP" --dst-ip "$EXT" \
	--protocol icmp --direction both --mode details --json --disable-kernel-stacks --flow-timeout 10
ovs-appctl dpctl/del-flows system@ovs-system >/dev/null || lab_fail "dpctl/del-flows"
lab_ovs_counters
missed0=$LAB_OVS_MISSED
tap_rx0=$(lab_stat "$TAP" rx_packets) tap_tx0=$(lab_stat "$TAP" tx_packets)
phy_rx0=$(lab_stat phy0 rx_packets) phy_tx0=$(lab_stat phy0 tx_packets)
lab_vm_ping_ok vm0 "$EXT" "$N"  # VM -> ext
lab_ping_ok ext "$VM_IP" "$N"   # ext -> VM
tap_rx=$(($(lab_stat "$TAP" rx_packets) - tap_rx0)) tap_tx=$(($(lab_stat "$TAP" tx_packets) - tap_tx0))
phy_rx=$(($(lab_stat phy0 rx_packets) - phy_rx0)) phy_tx=$(($(lab_stat phy0 tx_packets) - phy_tx0))
lab_ovs_counters
lab_nettrace_stop
lab_log "window: $TAP rx $tap_rx tx $tap_tx, phy0 rx $phy_rx tx $phy_tx, dpctl missed $((LAB_OVS_MISSED - missed0))"

for dir in tx rx; do
	n=$(jq -s --arg d $dir '[.[] | select(.type=="latency_flow" and .direction==$d)] | length' "$out")
	lab_assert_eq "vm-latency $dir records (echoes crossing it)" "$n" $((2 * N))
	first=$([[ $dir == tx ]] && echo "$TAP" || echo phy0) last=$([[ $dir == tx ]] && echo phy0 || echo "$TAP")
	bad=$(jq -s --arg d $dir --arg f "$first" --arg l "$last" '[.[] | select(.type=="latency_flow" and .direction==$d) |
	    select(([.stages[].delta_us] | min) < 0 or ([.stages[].index] != ([.stages[].index] | sort)) or
	           ([.stages[].timestamp_ns] != ([.stages[].timestamp_ns] | sort)) or
	           .stages[0].interface != $f or .stages[-1].interface != $l)] | length' "$out")
	lab_assert_eq "vm-latency $dir records not from $first to $last in order" "$bad" 0
	stages=$(jq -s -r --arg d $dir '[.[] | select(.type=="latency_flow" and .direction==$d)] | last |
	    [.stages[] | "\(.stage)@\(.interface)"] | join(" -> ")' "$out")
	lab_log "$dir: $stages"
	for s in netdev_frame_hook ovs_vport_receive ovs_dp_process_packet ovs_execute_actions ovs_vport_send; do
		grep -q "$s" <<<"$stages" || lab_fail "vm-latency $dir: no $s stage: $stages"
	done
	c=$(jq -s --arg d $dir '[.[] | select(.type=="latency_summary")] | last | .directions[$d].completed' "$out")
	lab_assert_eq "vm-latency $dir summary completed" "$c" $((2 * N))
	c=$(jq -s --arg d $dir '[.[] | select(.type=="latency_summary")] | last | .directions[$d].incomplete' "$out")
	lab_assert_eq "vm-latency $dir incomplete" "$c" 0
done
# The kernel's packet counters in the window: every echo crossed the tap and phy0 (ARP may add a few).
lab_assert_ge "$TAP rx_packets delta (the VM's echoes)" "$tap_rx" $((2 * N))
lab_assert_ge "phy0 tx_packets delta" "$phy_tx" $((2 * N))
lab_assert_ge "phy0 rx_packets delta" "$phy_rx" $((2 * N))
lab_assert_ge "$TAP tx_packets delta" "$tap_tx" $((2 * N))
first=$(jq -s -r '[.[] | select(.type=="latency_flow" and .direction=="tx")] | sort_by(.timestamp_ns) | first |
    "seq \(.icmp_seq): " + ([.stages[].stage] | join(" -> "))' "$out")
grep -q ovs_dp_upcall <<<"$first" || lab_fail "vm-latency: the first VM-tx echo after the flush shows no upcall: $first"
lab_log "ok: first VM-tx echo after the flush went through the upcall: $first"
lab_assert_eq "lost events" "$(jq -s '[.[] | select(.type=="latency_summary")] | last | .lost_events' "$out")" 0

# --- UDP and fragmented UDP through the VM's path, summary mode. Nothing on the way reassembles (OVS without
# conntrack forwards fragments as they are), so every fragment is a packet of its own from port to port.
NETTRACE_BUILD=${NETTRACE_BUILD:-$(dirname "$NETTRACE")}
PKTSEND=$NETTRACE_BUILD/tests/nt_pktsend
[[ -x "$PKTSEND" ]] || lab_fail "nt_pktsend not found at $PKTSEND"
_ext_bound() { lab_ns ext ss -Hlun "sport = :6001" 2>/dev/null | grep -q .; }
_vm_bound() { lab_vm_exec vm0 --timeout 60 "grep -qi ':1772 ' /proc/net/udp" >/dev/null; } # 6002 = 0x1772
vm_udp() { # vm_udp NAME SIZE N FRAGMENTS_PER_DATAGRAM
	local name=$1 size=$2 n=$3 k=$4 out=$OUT/vm_perf_latency_$1.json spid job got dir c
	lab_nettrace_start "$out" --attach-timeout 180 perf vm-latency --vm-interface "$TAP" --phy-interface phy0 --vm-ip "$VM_IP" --dst-ip "$EXT" \
		--protocol udp --direction both --mode summary --interval 600 --json --flow-timeout 10
	lab_ns ext "$PKTSEND" sink 6001 "$n" 120 >"$out.sink-ext" &
	spid=$!
	job=$(lab_vm_spawn vm0 "labroot $PKTSEND sink 6002 $n 120")
	lab_wait_until 60 "udp sink in ext" _ext_bound
	lab_wait_until 120 "udp sink in the VM" _vm_bound
	lab_vm_exec vm0 "labroot $PKTSEND udp $EXT 6001 $n $size 7001" >/dev/null || lab_fail "$name: send VM -> ext failed"
	lab_ns ext "$PKTSEND" udp "$VM_IP" 6002 "$n" "$size" 7002 >/dev/null || lab_fail "$name: send ext -> VM failed"
	wait "$spid" || lab_fail "$name: the sink in ext got $(cat "$out.sink-ext") of $n datagrams"
	got=$(lab_vm_wait vm0 "$job" 120) || lab_fail "$name: the sink in the VM got $got of $n datagrams"
	lab_nettrace_stop
	lab_assert_eq "$name: ext sink (datagrams bytes)" "$(cat "$out.sink-ext")" "$n $((n * size))"
	lab_assert_eq "$name: VM sink (datagrams bytes)" "$(tr -d '\r' <<<"$got")" "$n $((n * size))"
	for dir in tx rx; do
		c=$(jq -s --arg d $dir '[.[] | select(.type=="latency_summary")] | last | .directions[$d].completed' "$out")
		lab_assert_eq "$name: vm-latency $dir completed ($k packet(s) per datagram)" "$c" $((k * n))
		c=$(jq -s --arg d $dir '[.[] | select(.type=="latency_summary")] | last | .directions[$d].incomplete' "$out")
		lab_assert_eq "$name: vm-latency $dir incomplete" "$c" 0
	done
	lab_assert_eq "$name: lost events" "$(jq -s '[.[] | select(.type=="latency_summary")] | last | .lost_events' "$out")" 0
}
N_UDP=${N_UDP:-20}
vm_udp udp 200 "$N_UDP" 1
vm_udp udp_frag 3000 "$N_UDP" 3

# --- TCP through the VM's path, details mode, one nc transfer each way with the datapath flows flushed first.
# Quiet links (IPv6 off everywhere, static neighbours between the VM and ext), so that phy0 carries only the
# transfer in the window: records per direction = the summary's completed = phy0's packet delta (tx: VM -> ext
# leaves by phy0; rx: ext -> VM comes in by phy0) = the tap's (rx: from the VM; tx: to the VM).
TCP_BYTES=${TCP_BYTES:-131072}
for ns in root ext ovs0 ovs1; do
	lab_ns $ns sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 ||
		lab_fail "cannot disable IPv6 in $ns"
done
vm_mac=$(sed -n 's/^MAC=//p' "$LAB_VM_DIR/vm0/io/config")
ext_mac=$(lab_ns ext cat /sys/class/net/eth0/address)
lab_vm_exec vm0 "sysctl -qw net.ipv6.conf.all.disable_ipv6=1 && labroot ip neigh replace $EXT lladdr $ext_mac dev eth0 nud permanent" ||
	lab_fail "cannot quiet the VM's link"
ip -n ext neigh replace "$VM_IP" lladdr "$vm_mac" dev eth0 nud permanent || lab_fail "static neighbour $VM_IP in ext"
tcp_closed_ext() { ! lab_ns ext ss -Hant "( sport = :$1 or dport = :$1 )" | grep -qv TIME-WAIT; }
tcp_closed_vm() { ! lab_vm_exec vm0 --timeout 60 "netstat -tn 2>/dev/null" | grep ":$1 " | grep -qv TIME_WAIT; }
vm_tcp() { # vm_tcp NAME PORT to-ext|to-vm
	local name=$1 port=$2 way=$3 out=$OUT/vm_perf_latency_$1.json fifo hold rpid job got dir n want first
	lab_nettrace_start "$out" --attach-timeout 180 perf vm-latency --vm-interface "$TAP" --phy-interface phy0 --vm-ip "$VM_IP" --dst-ip "$EXT" \
		--protocol tcp --direction both --mode details --json --disable-kernel-stacks --flow-timeout 10
	ovs-appctl dpctl/del-flows system@ovs-system >/dev/null || lab_fail "dpctl/del-flows"
	local tap_rx0 tap_tx0 phy_rx0 phy_tx0
	tap_rx0=$(lab_stat "$TAP" rx_packets) tap_tx0=$(lab_stat "$TAP" tx_packets)
	phy_rx0=$(lab_stat phy0 rx_packets) phy_tx0=$(lab_stat phy0 tx_packets)
	if [[ $way == to-ext ]]; then
		fifo=$(mktemp -u /tmp/lab-tcp.XXXXXX)
		mkfifo "$fifo"
		exec {hold}<>"$fifo"
		(lab_ns ext busybox nc -l -p "$port" <"$fifo" | wc -c >"$out.count") &
		rpid=$!
		lab_wait_until 30 "the receiver in ext to listen on $port" lab_listening ext "$port"
		lab_vm_exec vm0 --timeout 300 "head -c $TCP_BYTES /dev/zero | nc $EXT $port" >/dev/null || lab_fail "$name: VM sender failed"
		wait "$rpid" || lab_fail "$name: receiver in ext failed"
		exec {hold}>&-
		rm -f "$fifo"
		got=$(tr -d ' ' <"$out.count")
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
	lab_nettrace_stop
	lab_log "$name window: $TAP rx $tap_rx tx $tap_tx, phy0 rx $phy_rx tx $phy_tx"
	for dir in tx rx; do
		n=$(jq -s --arg d $dir '[.[] | select(.type=="latency_flow" and .direction==$d)] | length' "$out")
		want=$([[ $dir == tx ]] && echo "$phy_tx" || echo "$phy_rx")
		lab_assert_eq "$name: $dir records = phy0 $([[ $dir == tx ]] && echo tx || echo rx)_packets delta" "$n" "$want"
		want=$([[ $dir == tx ]] && echo "$tap_rx" || echo "$tap_tx")
		lab_assert_eq "$name: $dir records = $TAP $([[ $dir == tx ]] && echo rx || echo tx)_packets delta" "$n" "$want"
		c=$(jq -s --arg d $dir '[.[] | select(.type=="latency_summary")] | last | .directions[$d].completed' "$out")
		lab_assert_eq "$name: $dir summary completed = records" "$c" "$n"
		c=$(jq -s --arg d $dir '[.[] | select(.type=="latency_summary")] | last | .directions[$d].incomplete' "$out")
		[ "$c" = 0 ] || lab_log "$name: $dir incomplete by last stage: $(jq -s -c --arg d $dir \
			'[.[] | select(.type=="latency_summary")] | last | .directions[$d].incomplete_by_last_stage' "$out")"
		[ "$c" = 0 ] || jq -s -r --arg d $dir '[.[] | select(.type=="latency_flow" and .direction==$d) |
			[.stages[].stage] | join(" ")] | group_by(.) | map("  \(length) records: \(.[0])") | .[]' "$out" >&2
		lab_assert_eq "$name: $dir incomplete" "$c" 0
		c=$(jq -s --arg d $dir '[.[] | select(.type=="latency_flow" and .direction==$d) |
		    select(([.stages[].delta_us] | min) < 0 or ([.stages[].index] != ([.stages[].index] | sort)))] | length' "$out")
		lab_assert_eq "$name: $dir records out of order or with negative deltas" "$c" 0
	done
	# The SYN: VM-tx when the VM connects, VM-rx when ext does; through the upcall, and complete.
	dir=$([[ $way == to-ext ]] && echo tx || echo rx)
	first=$(jq -s -r --arg d $dir '[.[] | select(.type=="latency_flow" and .direction==$d)] | sort_by(.timestamp_ns) | first |
	    "\(.src_port)>\(.dst_port) ack \(.tcp_ack): " + ([.stages[].stage] | join(" -> "))' "$out")
	grep -q ">$port ack 0: .*ovs_dp_upcall -> .*ovs_flow_key_extract_userspace -> .*_xmit$" <<<"$first" ||
		lab_fail "$name: the SYN ($dir) did not go through the upcall and the re-inject to the end: $first"
	lab_log "ok: $name: the SYN ($dir) went through the upcall and completed: $first"
}
_vm_listening() { lab_vm_exec vm0 --timeout 60 "netstat -tln 2>/dev/null" | grep -q ":$1 "; }
vm_tcp tcp_vm_to_ext 5001 to-ext
vm_tcp tcp_ext_to_vm 5002 to-vm
echo "PASS: perf vm-latency against the nested VM"
