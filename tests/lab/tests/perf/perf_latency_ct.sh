#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Lab test: perf latency --enable-ct on the OVS fixture with an OpenFlow rule that sends ICMP through
# conntrack (ct(commit,zone=5), then NORMAL): OVS's ct() action runs nf_conntrack_in inside
# ovs_execute_actions. A zone of its own: the host stack's own conntrack (LOCAL_OUT, zone 0) has already
# attached an entry to the skb, which OVS reuses for zone 0 without calling nf_conntrack_in again.
# Checks: one record per echo per direction, each with the nf_conntrack_in stage right after
# ovs_execute_actions and before ovs_vport_send, in order with non-negative deltas; the number of records
# with the stage equals the echoes; conntrack's table then holds the ICMP flow (the kernel did run it); without
# --enable-ct the stage is absent.
set -uo pipefail
cd "$(dirname "$0")/../../../.." || exit 1
. tests/lab/fixtures.sh
lab_require_lab
NETTRACE=${NETTRACE:-$PWD/build/nettrace}
command -v conntrack >/dev/null || lab_fail "conntrack (conntrack-tools) not installed: scripts/setup.sh installs it"
lab_ovs_bridge
N=6
OUT=${NETTRACE_LAB_OUT:-/tmp}

ovs-ofctl add-flow br0 "priority=100,icmp,actions=ct(commit,zone=5),NORMAL" || lab_fail "cannot add the ct flow"
lab_defer ovs-ofctl --strict del-flows br0 "priority=100,icmp"

run_traced() { # run_traced OUTFILE ARGS...: trace N pings from root with a flushed datapath
	lab_nettrace_start "$@"
	ovs-appctl dpctl/del-flows system@ovs-system >/dev/null
	lab_ping_ok root "$LAB_OVS_EXT_IP" "$N"
	sleep 0.5
	lab_nettrace_stop
}

args=(perf latency --phy-interface phy0 --internal-interface port-storage --src-ip "$LAB_OVS_STORAGE_IP"
	--dst-ip "$LAB_OVS_EXT_IP" --protocol icmp --direction both --mode details --json --disable-kernel-stacks)

out=$OUT/perf_latency_ct.json
conntrack -F >/dev/null 2>&1
run_traced "$out" "${args[@]}" --enable-ct
for dir in tx rx; do
	n=$(jq -s --arg d $dir '[.[] | select(.type=="latency_flow" and .direction==$d)] | length' "$out")
	lab_assert_eq "$dir records" "$n" "$N"
	bad=$(jq -s --arg d $dir '[.[] | select(.type=="latency_flow" and .direction==$d) |
	        select(([.stages[].delta_us] | min) < 0 or ([.stages[].index] != ([.stages[].index] | sort)))] | length' "$out")
	lab_assert_eq "$dir records out of order or with negative deltas" "$bad" 0
	# nf_conntrack_in between ovs_execute_actions and ovs_vport_send, in every record.
	ct=$(jq -s --arg d $dir '[.[] | select(.type=="latency_flow" and .direction==$d) | [.stages[].stage | sub("^[A-Z]+_S[0-9]+_"; "")] |
	       select(index("nf_conntrack_in") != null and index("ovs_execute_actions") != null and index("ovs_vport_send") != null and
	              index("ovs_execute_actions") < index("nf_conntrack_in") and index("nf_conntrack_in") < index("ovs_vport_send"))] | length' "$out")
	lab_log "$dir: $(jq -s -r --arg d $dir '[.[] | select(.type=="latency_flow" and .direction==$d)] | last | [.stages[].stage] | join(" -> ")' "$out")"
	lab_assert_eq "$dir records with nf_conntrack_in between ovs_execute_actions and ovs_vport_send" "$ct" "$N"
done
entries=$(conntrack -L -w 5 -p icmp 2>/dev/null | grep -c "dst=$LAB_OVS_EXT_IP")
lab_assert_ge "zone-5 conntrack entries for the pinged address (OVS ran conntrack)" "$entries" 1

out=$OUT/perf_latency_noct.json
run_traced "$out" "${args[@]}"
n=$(jq -s '[.[] | select(.type=="latency_flow") | select([.stages[].stage | test("nf_conntrack_in")] | any)] | length' "$out")
lab_assert_eq "records with nf_conntrack_in without --enable-ct" "$n" 0
n=$(jq -s '[.[] | select(.type=="latency_flow")] | length' "$out")
lab_assert_eq "records without --enable-ct" "$n" $((2 * N))
echo "PASS: perf latency --enable-ct through OVS ct()"
