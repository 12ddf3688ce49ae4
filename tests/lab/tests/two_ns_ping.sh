#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Lab test: ping across the two_ns fixture (ns0/veth0 <-> ns1/veth1), checked against the veth counters.
set -euo pipefail
. "$(dirname "$0")/../fixtures.sh"
lab_require_lab
lab_two_ns

N=20
tx0=$(lab_stat ns0 veth0 tx_packets)
rx1=$(lab_stat ns1 veth1 rx_packets)
lab_ping_ok ns0 "$LAB_TWO_NS_IP1" "$N"
lab_ping_ok ns1 fd00:1::1 "$N"
# Each direction: N echo requests out of veth0 and N replies out of veth1 (+ ARP/ND).
lab_assert_ge "veth0 tx_packets delta" $(($(lab_stat ns0 veth0 tx_packets) - tx0)) $((2 * N))
lab_assert_ge "veth1 rx_packets delta" $(($(lab_stat ns1 veth1 rx_packets) - rx1)) $((2 * N))
lab_assert_le "veth0 tx_packets delta" $(($(lab_stat ns0 veth0 tx_packets) - tx0)) $((3 * N))
lab_assert_eq "veth0 rx_dropped" "$(lab_stat ns0 veth0 rx_dropped)" 0
echo "PASS: two_ns ping"
