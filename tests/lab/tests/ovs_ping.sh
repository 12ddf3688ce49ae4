#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Lab test: pings across the OVS kernel datapath (lab_ovs_bridge): veth port to veth port, to the internal port
# (port-storage) and to the "physical" port, checked against `ovs-appctl dpctl/show` lookups and the flow table.
set -euo pipefail
. "$(dirname "$0")/../fixtures.sh"
lab_require_lab
lab_ovs_bridge

N=20
lab_ovs_counters
hit0=$LAB_OVS_HIT missed0=$LAB_OVS_MISSED
p0_rx=$(lab_stat ovs0-p rx_packets)

lab_ping_ok ovs0 "$LAB_OVS_NS1_IP" "$N"
lab_ovs_counters
# Every echo request and every reply is one datapath lookup (upcall on a miss, megaflow hit afterwards).
lab_assert_ge "dpctl hit+missed delta after ovs0->ovs1" $((LAB_OVS_HIT + LAB_OVS_MISSED - hit0 - missed0)) $((2 * N))
lab_assert_ge "dpctl missed delta (upcalls)" $((LAB_OVS_MISSED - missed0)) 1
lab_assert_ge "dpctl hit delta (megaflow hits)" $((LAB_OVS_HIT - hit0)) "$N"
lab_assert_eq "dpctl lost" "$LAB_OVS_LOST" 0
lab_assert_ge "datapath flows installed" "$LAB_OVS_FLOWS" 2
lab_assert_ge "ovs0-p rx_packets delta" $(($(lab_stat ovs0-p rx_packets) - p0_rx)) "$N"

hit0=$LAB_OVS_HIT missed0=$LAB_OVS_MISSED
lab_ping_ok ovs0 "$LAB_OVS_STORAGE_IP" "$N" # to the internal port (the lab's own stack)
lab_ping_ok root "$LAB_OVS_EXT_IP" "$N"        # from the internal port out of the physical port
lab_ovs_counters
lab_assert_ge "dpctl hit+missed delta after internal/physical pings" \
	$((LAB_OVS_HIT + LAB_OVS_MISSED - hit0 - missed0)) $((4 * N))
lab_assert_eq "dpctl lost" "$LAB_OVS_LOST" 0

flows=$(ovs-appctl dpctl/dump-flows system@ovs-system)
lab_assert_ge "datapath flows with packets" "$(grep -cE 'packets:[1-9]' <<<"$flows")" 2
echo "PASS: ovs ping"
