#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# nettrace-lab: --tcg multi
# Lab test: two nested VMs (lab_vm_pair) with 2-queue virtio-net (mq=on, multi_queue taps, vhost=on) on the OVS
# bridge: both taps have 2 queues attached, each VM's driver enabled 2 queue pairs, VM-to-VM ping and two TCP
# transfers of a known size pinned to vCPU 0 and vCPU 1 (so XPS sends them through TX queue 0 and TX queue 1), checked
# against the receiver's byte counts, the taps' and OVS's counters and the per-queue virtio interrupts in the VM.
set -euo pipefail
. "$(dirname "$0")/../../fixtures.sh"
lab_require_lab
Q=2
lab_vm_pair --queues "$Q" --no-wait # both boot while lab_ovs_bridge waits for uptime >= 12 s
lab_ovs_bridge
lab_vm_wait_ready vm0
lab_vm_wait_ready vm1

for vm in vm0 vm1; do
	pid=$(lab_vm_pid "$vm")
	lab_assert_eq "$vm: tap queues attached by QEMU" \
		"$(grep -l "^iff:[[:space:]]*$(lab_vm_tap "$vm")\$" /proc/"$pid"/fdinfo/* 2>/dev/null | wc -l)" "$Q"
	lab_assert_eq "$vm: vhost workers" "$(cat /proc/[0-9]*/task/*/comm 2>/dev/null | grep -c "^vhost-$pid\$" || true)" "$Q"
	lab_assert_eq "$vm: eth0 rx queues" "$(lab_vm_exec "$vm" 'ls -d /sys/class/net/eth0/queues/rx-* | wc -l')" "$Q"
done

# Per-queue interrupt counts of the VM's virtio-net device: "input.0 output.0 input.1 output.1".
queue_irqs() {
	lab_vm_exec "$1" 'd=$(basename "$(readlink /sys/class/net/eth0/device)")
		for q in 0 1; do for k in input output; do
			awk -v n="$d-$k.$q" '\''$NF == n { s = 0; for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) s += $i; print s }'\'' /proc/interrupts
		done; done | tr "\n" " "'
}

N=20
lab_ovs_counters
hit0=$LAB_OVS_HIT missed0=$LAB_OVS_MISSED
rx1=$(lab_stat tap-vm1 tx_packets)
lab_vm_ping_ok vm0 "$(lab_vm_ip vm1)" "$N"
lab_vm_ping_ok vm1 "$(lab_vm_ip vm0)" "$N"
lab_ovs_counters
lab_assert_eq "dpctl lost" "$LAB_OVS_LOST" 0
lab_assert_ge "dpctl hit+missed delta" $((LAB_OVS_HIT + LAB_OVS_MISSED - hit0 - missed0)) $((4 * N))
lab_assert_ge "tap-vm1 tx_packets delta (to vm1)" $(($(lab_stat tap-vm1 tx_packets) - rx1)) $((2 * N))

# Two TCP transfers vm0 -> vm1, one pinned to each vCPU of vm0. The receiver holds its stdin open (FIFO) so busybox nc
# does not half-close early; the sender retries until the listener is up (bounded) and half-closes when done.
BYTES=$((2 * 1024 * 1024))
read -r -a irq0 <<<"$(queue_irqs vm0)"
lab_vm_exec vm1 'mkfifo /tmp/hold && (exec 3<>/tmp/hold; sleep 100000) >/dev/null 2>&1 &' >/dev/null
for cpu in 0 1; do
	port=$((5001 + cpu))
	lab_vm_spawn vm1 "nc -l -p $port </tmp/hold | wc -c" >/dev/null
	rjob=$LAB_VM_JOB
	lab_vm_exec vm0 "i=0
		until head -c $BYTES /dev/zero | taskset $((1 << cpu)) nc $(lab_vm_ip vm1) $port 2>/dev/null; do
			i=\$((i + 1)); [ \$i -lt 300 ] || { echo 'cannot connect'; exit 1; }; usleep 100000
		done" || lab_fail "TCP sender on vm0 vCPU $cpu failed"
	lab_assert_eq "TCP bytes received by vm1 (flow on vm0 vCPU $cpu)" "$(lab_vm_wait vm1 "$rjob" | tr -d ' ')" "$BYTES"
done
read -r -a irq1 <<<"$(queue_irqs vm0)"
lab_log "vm0 virtio-net interrupts (input.0 output.0 input.1 output.1): before ${irq0[*]}, after ${irq1[*]}"
lab_assert_ge "vm0 TX queue 0 interrupts delta" $((irq1[1] - irq0[1])) 1
lab_assert_ge "vm0 TX queue 1 interrupts delta" $((irq1[3] - irq0[3])) 1
lab_assert_ge "vm0 RX interrupts delta (both queues)" $((irq1[0] + irq1[2] - irq0[0] - irq0[2])) 1
lab_ovs_counters
lab_assert_eq "dpctl lost" "$LAB_OVS_LOST" 0
echo "PASS: vm pair"
