#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# nettrace-lab: --tcg multi
# Lab test: a nested VM (lab_vm) on the OVS bridge: virtio-net (VM) -> vhost-net -> tap -> OVS -> netns and back,
# checked with ping loss, `ovs-appctl dpctl/show` lookups, the tap's counters, the vhost worker, KVM and the VM's
# virtio interrupts.
set -euo pipefail
. "$(dirname "$0")/../../fixtures.sh"
lab_require_lab
lab_vm vm0 --no-wait # boots while lab_ovs_bridge waits for uptime >= 12 s; its tap joins br0 when br0 exists
lab_ovs_bridge
lab_vm_wait_ready vm0

N=20
VM_IP=$(lab_vm_ip vm0)
TAP=$(lab_vm_tap vm0)
lab_ovs_counters
hit0=$LAB_OVS_HIT missed0=$LAB_OVS_MISSED
tap_rx0=$(lab_stat "$TAP" rx_packets) tap_tx0=$(lab_stat "$TAP" tx_packets)
irq0=$(lab_vm_exec vm0 "awk '/virtio.*-input/ { for (i = 2; i <= NF && \$i ~ /^[0-9]+\$/; i++) s += \$i } END { print s + 0 }' /proc/interrupts")

lab_vm_ping_ok vm0 "$LAB_OVS_NS0_IP" "$N"      # VM -> veth port in netns ovs0
lab_ping_ok ovs0 "$VM_IP" "$N"                 # netns ovs0 -> VM
lab_ping_ok root "$VM_IP" "$N"                 # internal port (port-storage) -> VM

lab_ovs_counters
lab_assert_eq "dpctl lost" "$LAB_OVS_LOST" 0
# 3 x N requests and 3 x N replies, each one datapath lookup.
lab_assert_ge "dpctl hit+missed delta" $((LAB_OVS_HIT + LAB_OVS_MISSED - hit0 - missed0)) $((6 * N))
# The tap's rx is what the VM sent (vhost-net -> tap), its tx what the VM received.
lab_assert_ge "$TAP rx_packets delta (VM -> OVS)" $(($(lab_stat "$TAP" rx_packets) - tap_rx0)) $((3 * N))
lab_assert_ge "$TAP tx_packets delta (OVS -> VM)" $(($(lab_stat "$TAP" tx_packets) - tap_tx0)) $((3 * N))
lab_assert_eq "$TAP tx_dropped" "$(lab_stat "$TAP" tx_dropped)" 0

pid=$(lab_vm_pid vm0)
lab_assert_ge "vhost worker threads of the VM (vhost-$pid)" \
	"$(cat /proc/[0-9]*/task/*/comm 2>/dev/null | grep -c "^vhost-$pid\$" || true)" 1
if [[ "$(lab_vm_accel vm0)" == kvm ]]; then
	lab_assert_ge "KVM VMs of the VM's QEMU in /sys/kernel/debug/kvm" \
		"$(find /sys/kernel/debug/kvm -maxdepth 1 -name "$pid-*" | wc -l)" 1
else
	lab_log "VM runs on TCG (no KVM in the lab): skipping the KVM check"
fi
irq1=$(lab_vm_exec vm0 "awk '/virtio.*-input/ { for (i = 2; i <= NF && \$i ~ /^[0-9]+\$/; i++) s += \$i } END { print s + 0 }' /proc/interrupts")
lab_assert_ge "virtio-net input interrupts in the VM (irqfd)" $((irq1 - irq0)) 1
echo "PASS: vm ping"
