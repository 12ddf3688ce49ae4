#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# nettrace-lab: --nics 2
# Lab test: the lab's own two virtio-net NICs (QEMU hub) in netns vp0/vp1: ping and a TCP transfer of a known size,
# checked against /sys/class/net/*/statistics and the NICs' virtio interrupts (real virtio-net RX/TX and NAPI).
set -euo pipefail
. "$(dirname "$0")/../fixtures.sh"
lab_require_lab
lab_virtio_pair

# virtio IRQ count of a NIC: sum of its "virtioN-input.*" lines in /proc/interrupts.
virtio_irqs() {
	local v
	v=$(lab_ns "$1" readlink "/sys/class/net/$2/device")
	v=${v##*/}
	awk -v dev="$v-input" '$NF ~ "^" dev { for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) s += $i } END { print s + 0 }' \
		/proc/interrupts
}

N=20
tx0=$(lab_stat vp0 vnic0 tx_packets) rx1=$(lab_stat vp1 vnic1 rx_packets)
irq0=$(virtio_irqs vp0 vnic0) irq1=$(virtio_irqs vp1 vnic1)
lab_ping_ok vp0 "$LAB_VP_IP1" "$N"
lab_assert_ge "vnic0 tx_packets delta" $(($(lab_stat vp0 vnic0 tx_packets) - tx0)) "$N"
lab_assert_ge "vnic1 rx_packets delta" $(($(lab_stat vp1 vnic1 rx_packets) - rx1)) "$N"
lab_assert_ge "vnic0 virtio input interrupts delta" $(($(virtio_irqs vp0 vnic0) - irq0)) 1
lab_assert_ge "vnic1 virtio input interrupts delta" $(($(virtio_irqs vp1 vnic1) - irq1)) 1

# TCP: exactly BYTES bytes from vp0 to vp1 with busybox nc, counted by the receiver and by both NICs' counters.
BYTES=$((4 * 1024 * 1024))
rxb0=$(lab_stat vp1 vnic1 rx_bytes) txb0=$(lab_stat vp0 vnic0 tx_bytes)
lab_tcp_transfer vp0 vp1 "$LAB_VP_IP1" 5001 "$BYTES"
lab_assert_eq "TCP bytes received by vp1" "$LAB_TCP_RECEIVED" "$BYTES"
# virtio-net accounts TX bytes when it reclaims completed buffers, which happens on a later transmission or TX
# interrupt: nudge with single pings until vnic0's counter has caught up (bounded).
tx_caught_up() {
	lab_ns vp0 busybox ping -c 1 -W 2 "$LAB_VP_IP1" >/dev/null 2>&1
	(($(lab_stat vp0 vnic0 tx_bytes) - txb0 >= BYTES))
}
lab_wait_until 30 "vnic0 tx_bytes to account the transfer" tx_caught_up
lab_assert_ge "vnic0 tx_bytes delta" $(($(lab_stat vp0 vnic0 tx_bytes) - txb0)) "$BYTES"
lab_assert_ge "vnic1 rx_bytes delta" $(($(lab_stat vp1 vnic1 rx_bytes) - rxb0)) "$BYTES"
lab_assert_eq "vnic0 tx_dropped" "$(lab_stat vp0 vnic0 tx_dropped)" 0
lab_assert_eq "vnic1 rx_dropped" "$(lab_stat vp1 vnic1 rx_dropped)" 0
echo "PASS: virtio pair"
