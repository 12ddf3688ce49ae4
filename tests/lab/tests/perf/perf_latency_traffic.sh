#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Lab test: perf latency against real TCP, UDP and fragmented UDP traffic across the OVS kernel datapath
# (lab_ovs_bridge), in both directions between the host's internal port port-storage (10.0.2.254) and the ext
# namespace behind the "physical" port phy0 (10.0.2.100). The links are made quiet first (IPv6 off, static
# neighbours), so every packet phy0 carries in the window is test traffic and the kernel's counters can be
# compared exactly:
#   TCP   one transfer each way (nc, byte-exact), details mode, datapath flows flushed before each: the SYN goes
#         through the upcall and the userspace re-inject (ovs_dp_upcall, ovs_flow_key_extract_userspace) and its
#         record still completes (the original tools' TCP keys never matched after the re-inject); records per
#         direction = the summary's completed = phy0's tx (host->ext) / rx (ext->host) packet deltas, every
#         stage in order, non-negative deltas, no incomplete flows.
#   UDP   N datagrams each way, summary mode: completed = N = phy0's packet delta = the receiver's
#         Udp InDatagrams delta, no incomplete flows.
#   frag  N datagrams of 3000 bytes each way (3 IPv4 fragments each at MTU 1500), summary mode: tx completes every
#         fragment (3N = phy0 tx delta; the first fragment continues the datagram's ip_output flow), rx completes
#         one flow per datagram at udp_rcv (N = Udp InDatagrams); the 2N non-first fragments end in reassembly,
#         counted incomplete at ip_rcv (conntrack's defrag at PRE_ROUTING) or ip_local_deliver (ip_defrag).
set -uo pipefail
cd "$(dirname "$0")/../../../.." || exit 1
. tests/lab/fixtures.sh
lab_require_lab
NETTRACE=${NETTRACE:-$PWD/build/nettrace}
NETTRACE_BUILD=${NETTRACE_BUILD:-$(dirname "$NETTRACE")}
PKTSEND=$NETTRACE_BUILD/tests/nt_pktsend
[[ -x "$PKTSEND" ]] || lab_fail "nt_pktsend not found at $PKTSEND"
OUT=${NETTRACE_LAB_OUT:-/tmp}
HOST=$LAB_OVS_STORAGE_IP EXT=$LAB_OVS_EXT_IP
TCP_BYTES=${TCP_BYTES:-262144}
N_UDP=${N_UDP:-40}
N_FRAG=${N_FRAG:-20}
FRAG_SIZE=3000
PARTS=${NETTRACE_LAB_PARTS:-tcp udp frag} # debugging: run only some parts

lab_ovs_bridge

# --- quiet links: no IPv6 (router/neighbour solicitations, MLD), no ARP (static neighbours both ways).
for ns in root ext ovs0 ovs1; do
	lab_ns $ns sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 ||
		lab_fail "cannot disable IPv6 in $ns"
done
lab_defer sysctl -qw net.ipv6.conf.all.disable_ipv6=0 net.ipv6.conf.default.disable_ipv6=0 # the next check's lab
ext_mac=$(lab_ns ext cat /sys/class/net/eth0/address)
host_mac=$(cat /sys/class/net/port-storage/address)
ip neigh replace "$EXT" lladdr "$ext_mac" dev port-storage nud permanent || lab_fail "static neighbour $EXT"
ip -n ext neigh replace "$HOST" lladdr "$host_mac" dev eth0 nud permanent || lab_fail "static neighbour $HOST"
mtu=$(cat /sys/class/net/port-storage/mtu)
lab_assert_eq "port-storage MTU" "$mtu" 1500

# snmp NS PROTO FIELD: a counter of /proc/net/snmp in namespace NS (e.g. snmp ext Udp InDatagrams).
snmp() {
	lab_ns "$1" awk -v p="$2:" -v f="$3" '$1 == p { if (!h) { for (i = 2; i <= NF; i++) if ($i == f) c = i; h = 1 } else print $c }' \
		/proc/net/snmp
}
# snap PREFIX: phy0 tx/rx packets, Udp InDatagrams in root and ext -> PREFIX_tx, PREFIX_rx, PREFIX_udp_root, ...
snap() {
	printf -v "$1_tx" %s "$(lab_stat phy0 tx_packets)"
	printf -v "$1_rx" %s "$(lab_stat phy0 rx_packets)"
	printf -v "$1_udp_root" %s "$(snmp root Udp InDatagrams)"
	printf -v "$1_udp_ext" %s "$(snmp ext Udp InDatagrams)"
}
# delta NAME: after - before of a snap() field.
delta() {
	local a=a_$1 b=b_$1
	echo $((${!a} - ${!b}))
}

flush_flows() { ovs-appctl dpctl/del-flows system@ovs-system >/dev/null || lab_fail "dpctl/del-flows"; }

# tcp_closed NS PORT: no TCP socket on PORT in NS is left but TIME-WAIT (the last ACK was processed).
tcp_closed() { ! lab_ns "$1" ss -Hant "( sport = :$2 or dport = :$2 )" | grep -qv TIME-WAIT; }

summary() { # summary OUT DIR FIELD: a field of the final latency_summary's direction
	jq -s --arg d "$2" "[.[] | select(.type==\"latency_summary\")] | last | .directions[\$d].$3" "$1"
}
check_order() { # check_order OUT DIR: records with stages out of order or negative deltas (must be 0)
	jq -s --arg d "$2" '[.[] | select(.type=="latency_flow" and .direction==$d) |
	    select(([.stages[].delta_us] | min) < 0 or ([.stages[].index] != ([.stages[].index] | sort)) or
	           ([.stages[].timestamp_ns] != ([.stages[].timestamp_ns] | sort)) or (.stages | length) < 2)] | length' "$1"
}
records() { jq -s --arg d "$2" '[.[] | select(.type=="latency_flow" and .direction==$d)] | length' "$1"; }
counter() { jq -s --arg c "$2" '[.[] | select(.type=="latency_summary")] | last | .[$c]' "$1"; }

# ============================================================================================ TCP, details
# tcp_run NAME SRC_NS DST_NS DST_IP PORT: one transfer, traced; then the checks common to both.
tcp_run() {
	local name=$1 src=$2 dst=$3 ip=$4 port=$5 out=$OUT/perf_latency_tcp_$1.json
	lab_nettrace_start "$out" perf latency --phy-interface phy0 --internal-interface port-storage --src-ip "$HOST" \
		--dst-ip "$EXT" --protocol tcp --direction both --mode details --json --disable-kernel-stacks --flow-timeout 5
	flush_flows
	snap b
	lab_tcp_transfer "$src" "$dst" "$ip" "$port" "$TCP_BYTES"
	lab_assert_eq "tcp $name: bytes received" "$LAB_TCP_RECEIVED" "$TCP_BYTES"
	lab_wait_until 30 "tcp $name: sockets closed in $src" tcp_closed "$src" "$port"
	lab_wait_until 30 "tcp $name: sockets closed in $dst" tcp_closed "$dst" "$port"
	snap a
	lab_nettrace_stop
	local dir n want
	for dir in tx rx; do
		want=$(delta "$dir")
		n=$(records "$out" $dir)
		lab_assert_eq "tcp $name: $dir records = phy0 ${dir}_packets delta" "$n" "$want"
		lab_assert_eq "tcp $name: $dir summary completed = phy0 ${dir}_packets delta" "$(summary "$out" $dir completed)" "$want"
		lab_assert_eq "tcp $name: $dir incomplete flows" "$(summary "$out" $dir incomplete)" 0
		lab_assert_eq "tcp $name: $dir records with stages out of order or negative deltas" "$(check_order "$out" $dir)" 0
	done
	lab_assert_eq "tcp $name: lost events" "$(counter "$out" lost_events)" 0
	TCP_OUT=$out
}

# first_record OUT DIR: the direction's first packet (earliest first stage) as "stage -> stage ..."
first_record() {
	jq -s -r --arg d "$2" '[.[] | select(.type=="latency_flow" and .direction==$d)] | sort_by(.timestamp_ns) | first |
	    "\(.src_port)>\(.dst_port) seq \(.tcp_seq) ack \(.tcp_ack): " + ([.stages[].stage] | join(" -> "))' "$1"
}
assert_upcall() { # assert_upcall WHAT "RECORD": the record went through the upcall and the re-inject, and completed
	local s
	for s in ovs_dp_upcall ovs_flow_key_extract_userspace ovs_execute_actions ovs_vport_send; do
		grep -q "$s" <<<"$2" || lab_fail "$1: no $s stage: $2"
	done
	lab_log "ok: $1 went through the upcall and completed: $2"
}

if [[ " $PARTS " == *" tcp "* ]]; then
# host -> ext: the SYN is a tx packet (ip_output ... phy_xmit), the SYN-ACK the first rx packet.
tcp_run host_to_ext root ext "$EXT" 5001
syn=$(first_record "$TCP_OUT" tx)
assert_upcall "tcp host->ext SYN (tx)" "$syn"
grep -q '^[0-9]*>5001 .* ack 0: .*_ip_output -> .*_phy_xmit$' <<<"$syn" || lab_fail "tcp host->ext: first tx record is not the SYN from ip_output to phy_xmit: $syn"
synack=$(first_record "$TCP_OUT" rx)
assert_upcall "tcp host->ext SYN-ACK (rx)" "$synack"
grep -q '^5001>.*_phy_netif_rx -> .*_tcp_v4_rcv$' <<<"$synack" || lab_fail "tcp host->ext: first rx record is not the SYN-ACK from phy_netif_rx to tcp_v4_rcv: $synack"

# ext -> host: the SYN is an rx packet (phy_netif_rx ... tcp_v4_rcv), the SYN-ACK the first tx packet.
tcp_run ext_to_host ext root "$HOST" 5002
syn=$(first_record "$TCP_OUT" rx)
assert_upcall "tcp ext->host SYN (rx)" "$syn"
grep -q '^[0-9]*>5002 .* ack 0: .*_phy_netif_rx -> .*_tcp_v4_rcv$' <<<"$syn" || lab_fail "tcp ext->host: first rx record is not the SYN from phy_netif_rx to tcp_v4_rcv: $syn"
synack=$(first_record "$TCP_OUT" tx)
assert_upcall "tcp ext->host SYN-ACK (tx)" "$synack"
fi

# ============================================================================================ UDP, summary
# udp_run NAME SIZE N: N datagrams host -> ext (port 6001) and N ext -> host (port 6002), traced in summary mode.
udp_run() {
	local name=$1 size=$2 n=$3 out=$OUT/perf_latency_$1.json spid rpid
	lab_nettrace_start "$out" perf latency --phy-interface phy0 --internal-interface port-storage --src-ip "$HOST" \
		--dst-ip "$EXT" --protocol udp --direction both --mode summary --interval 60 --json --flow-timeout 5
	flush_flows
	snap b
	lab_ns ext "$PKTSEND" sink 6001 "$n" 60 >"$out.sink-ext" &
	spid=$!
	"$PKTSEND" sink 6002 "$n" 60 >"$out.sink-root" &
	rpid=$!
	lab_wait_until 30 "udp sink in ext" _udp_bound ext 6001
	lab_wait_until 30 "udp sink in root" _udp_bound root 6002
	"$PKTSEND" udp "$EXT" 6001 "$n" "$size" 7001 >/dev/null || lab_fail "$name: send host->ext failed"
	lab_ns ext "$PKTSEND" udp "$HOST" 6002 "$n" "$size" 7002 >/dev/null || lab_fail "$name: send ext->host failed"
	wait "$spid" || lab_fail "$name: the sink in ext got $(cat "$out.sink-ext") of $n datagrams"
	wait "$rpid" || lab_fail "$name: the sink in root got $(cat "$out.sink-root") of $n datagrams"
	snap a
	lab_nettrace_stop
	lab_assert_eq "$name: ext sink (datagrams bytes)" "$(cat "$out.sink-ext")" "$n $((n * size))"
	lab_assert_eq "$name: root sink (datagrams bytes)" "$(cat "$out.sink-root")" "$n $((n * size))"
	lab_assert_eq "$name: ext Udp InDatagrams delta" "$(delta udp_ext)" "$n"
	lab_assert_eq "$name: root Udp InDatagrams delta" "$(delta udp_root)" "$n"
	lab_assert_eq "$name: lost events" "$(counter "$out" lost_events)" 0
	UDP_OUT=$out
}
_udp_bound() { lab_ns "$1" ss -Hlun "sport = :$2" 2>/dev/null | grep -q .; }

if [[ " $PARTS " == *" udp "* ]]; then
udp_run udp 200 "$N_UDP"
for dir in tx rx; do
	lab_assert_eq "udp: phy0 ${dir}_packets delta" "$(delta $dir)" "$N_UDP"
	lab_assert_eq "udp: $dir summary completed" "$(summary "$UDP_OUT" $dir completed)" "$N_UDP"
	lab_assert_eq "udp: $dir incomplete flows" "$(summary "$UDP_OUT" $dir incomplete)" 0
done
lab_log "udp tx end to end: $(jq -s -c '[.[] | select(.type=="latency_summary")] | last | .directions.tx.histograms | map(select(.kind=="end_to_end")) | map({from,to,count})' "$UDP_OUT")"
lab_log "udp rx end to end: $(jq -s -c '[.[] | select(.type=="latency_summary")] | last | .directions.rx.histograms | map(select(.kind=="end_to_end")) | map({from,to,count})' "$UDP_OUT")"

fi

# ============================================================================================ fragmented UDP
# 3000 bytes of payload + 8 of UDP header at MTU 1500: fragments of 1480, 1480 and 48 bytes of IP payload.
[[ " $PARTS " == *" frag "* ]] || { echo "PASS (parts: $PARTS)"; exit 0; }
frags=$(((FRAG_SIZE + 8 + 1479) / 1480))
lab_assert_eq "fragments per datagram" "$frags" 3
udp_run udp_frag "$FRAG_SIZE" "$N_FRAG"
out=$UDP_OUT
lab_assert_eq "udp_frag: phy0 tx_packets delta (fragments host->ext)" "$(delta tx)" $((frags * N_FRAG))
lab_assert_eq "udp_frag: phy0 rx_packets delta (fragments ext->host)" "$(delta rx)" $((frags * N_FRAG))
lab_assert_eq "udp_frag: tx completed (every fragment to phy_xmit)" "$(summary "$out" tx completed)" $((frags * N_FRAG))
lab_assert_eq "udp_frag: tx incomplete" "$(summary "$out" tx incomplete)" 0
# The first fragment carries on the datagram's flow from ip_output; the others start at the internal port.
n=$(jq -s '[.[] | select(.type=="latency_summary")] | last | .directions.tx.histograms |
    map(select(.kind=="end_to_end" and (.from | test("ip_output")))) | map(.count) | add // 0' "$out")
lab_assert_eq "udp_frag: tx flows from ip_output (first fragments)" "$n" "$N_FRAG"
lab_assert_eq "udp_frag: rx completed (one per datagram, at udp_rcv)" "$(summary "$out" rx completed)" "$N_FRAG"
n=$(jq -s '[.[] | select(.type=="latency_summary")] | last | .directions.rx.histograms |
    map(select(.kind=="end_to_end" and (.to | test("udp_rcv")))) | map(.count) | add // 0' "$out")
lab_assert_eq "udp_frag: rx flows ending at udp_rcv" "$n" "$N_FRAG"
lab_assert_eq "udp_frag: rx incomplete (non-first fragments, consumed by reassembly)" \
	"$(summary "$out" rx incomplete)" $(((frags - 1) * N_FRAG))
# Where the non-first fragments stop is where the kernel reassembles: ip_local_deliver (ip_defrag), or ip_rcv
# when conntrack's defragmentation hook runs at PRE_ROUTING in the namespace. Seen in the lab: 6.1 has conntrack
# active in the root namespace (the datagrams get a conntrack entry) and they stop at ip_rcv; 6.12 has not (no
# entry) and they stop at ip_local_deliver. Either way all of them stop there, and only there.
lab_log "udp_frag: conntrack entries in the root namespace for the ext->host datagrams (hooks active if > 0):" \
	"$(conntrack -L -p udp --dport 6002 2>/dev/null | grep -c 6002); nf_defrag_ipv4 refcnt" \
	"$(cat /sys/module/nf_defrag_ipv4/refcnt 2>/dev/null || echo -), holders: $(ls /sys/module/nf_defrag_ipv4/holders 2>/dev/null | tr '\n' ' ')"
lab_log "udp_frag: rx incomplete by last stage: $(summary "$out" rx incomplete_by_last_stage | jq -c .)"
n=$(summary "$out" rx 'incomplete_by_last_stage | to_entries | map(select(.key | test("_ip_rcv$|_ip_local_deliver$"))) | map(.value) | add // 0')
lab_assert_eq "udp_frag: rx incomplete at ip_rcv or ip_local_deliver (where reassembly happened)" "$n" $(((frags - 1) * N_FRAG))
echo "PASS: perf latency with TCP, UDP and fragmented UDP on OVS"
