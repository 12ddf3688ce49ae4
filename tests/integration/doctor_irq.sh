#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# nettrace-lab: --nics 1
# `nettrace doctor --irq` (nic_irq_numa_map) against the kernel's own files: every MSI vector of a real NIC
# (the host's or the lab guest's virtio NIC), its smp_affinity_list and effective_affinity_list, and its
# interrupt count from /proc/interrupts (read before and after: counts only grow). A veth in a namespace has
# no interrupts. `--set-affinity` (nic_irq_set_affinity) runs only in the lab: it changes the guest's IRQs, checks
# /proc/irq/N/smp_affinity_list after, and puts every IRQ back as it found it. Bad input: exit 2.
cd "$(dirname "$0")/../.." || exit 1
. tests/integration/lib/common.sh

irq_count() { awk -v irq="$1:" '$1 == irq { s = 0; for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) s += $i; print s }' /proc/interrupts; }

# The lab guest's NICs are there once their driver is (the module is not loaded at boot).
[ "${NETTRACE_LAB:-}" = 1 ] && modprobe -a virtio_net veth 2>/dev/null && udevadm settle 2>/dev/null
nic=
for d in /sys/class/net/*; do
	n=${d##*/}
	if ls "$d/device/msi_irqs" "$d/device/../msi_irqs" 2>/dev/null | grep -q '^[0-9]'; then nic=$n; break; fi
done
[ -n "$nic" ] || skip "no interface with MSI interrupts here"

declare -A before_count
irqs=$(ls "/sys/class/net/$nic/device/msi_irqs" 2>/dev/null || ls "/sys/class/net/$nic/device/../msi_irqs")
for i in $irqs; do before_count[$i]=$(irq_count "$i"); done
out=$("$NETTRACE" doctor --irq "$nic" --json) || fail "doctor --irq $nic failed: $out"
want=$(echo $irqs | tr ' ' '\n' | sort -n | tr '\n' ' ')
got=$(jq -r '.irqs[].irq' <<<"$out" | sort -n | tr '\n' ' ')
[ "$got" = "$want" ] || fail "IRQs of $nic: doctor says '$got', msi_irqs has '$want'"
for i in $irqs; do
	row=$(jq -c ".irqs[] | select(.irq == $i)" <<<"$out")
	aff=$(cat "/proc/irq/$i/smp_affinity_list")
	[ "$(jq -r .affinity <<<"$row")" = "$aff" ] || fail "IRQ $i affinity: doctor $(jq -r .affinity <<<"$row"), kernel $aff"
	if [ -r "/proc/irq/$i/effective_affinity_list" ]; then
		eff=$(cat "/proc/irq/$i/effective_affinity_list")
		[ "$(jq -r .effective <<<"$row")" = "$eff" ] || fail "IRQ $i effective: doctor $(jq -r .effective <<<"$row"), kernel $eff"
	fi
	c=$(jq -r .interrupts <<<"$row") after=$(irq_count "$i")
	{ [ "$c" -ge "${before_count[$i]}" ] && [ "$c" -le "$after" ]; } ||
		fail "IRQ $i interrupts: doctor $c, /proc/interrupts ${before_count[$i]} before and $after after"
	name=$(awk -v irq="$i:" '$1 == irq { print $NF }' /proc/interrupts)
	[ "$(jq -r .name <<<"$row")" = "$name" ] || fail "IRQ $i name: doctor $(jq -r .name <<<"$row"), /proc/interrupts $name"
done
text=$(bash -c 'exec -a nic_irq_numa_map.sh "$0" "$1"' "$NETTRACE" "$nic") || fail "nic_irq_numa_map.sh $nic failed"
for i in $irqs; do
	grep -q "^IRQ $i -> CPU " <<<"$text" || fail "nic_irq_numa_map.sh prints no 'IRQ $i -> CPU' line: $text"
done
pass "doctor --irq $nic: $(wc -w <<<"$irqs") IRQs, affinity, effective CPU and counts match the kernel"

# A virtual device has no interrupts: an empty table, exit 0.
ip netns add "$NS_A" || fail "cannot create a namespace"
ip -n "$NS_A" link add ntv0 type veth peer name ntv1 || fail "cannot create a veth pair"
v=$(ip netns exec "$NS_A" "$NETTRACE" doctor --irq ntv0 --json) || fail "doctor --irq on a veth failed: $v"
[ "$(jq '.irqs | length' <<<"$v")" = 0 ] || fail "a veth has no interrupts, doctor lists: $v"
pass "doctor --irq on a veth: no interrupts"

# Bad input: one line, exit 2.
expect_usage() {
	local msg rc
	msg=$("$NETTRACE" "$@" 2>&1 >/dev/null); rc=$?
	[ "$rc" = 2 ] || fail "'$*' exited $rc, not 2: $msg"
	[ "$(wc -l <<<"$msg")" = 1 ] || fail "'$*' printed more than one line: $msg"
}
expect_usage doctor --irq nt-no-such-if
expect_usage doctor --irq "$nic" --set-affinity 4096
expect_usage doctor --irq "$nic" --set-affinity 1-0
expect_usage doctor --set-affinity 0
pass "bad --irq / --set-affinity values: exit 2"

[ "${NETTRACE_LAB:-}" = 1 ] || { pass "--set-affinity is only exercised in the lab (it changes the host's IRQs)"; exit 0; }
declare -A orig
for i in $irqs; do orig[$i]=$(cat "/proc/irq/$i/smp_affinity_list"); done
restore() { for i in $irqs; do echo "${orig[$i]}" >"/proc/irq/$i/smp_affinity_list" 2>/dev/null; done; }
trap 'restore; cleanup' EXIT
out=$(bash -c 'exec -a nic_irq_set_affinity "$0" "$1" 0 --json' "$NETTRACE" "$nic"); rc=$?
[ "$rc" = 0 ] || [ "$rc" = 1 ] || fail "nic_irq_set_affinity $nic 0 exited $rc: $out"
for i in $irqs; do
	row=$(jq -c ".irqs[] | select(.irq == $i)" <<<"$out")
	[ "$(jq -r .affinity_before <<<"$row")" = "${orig[$i]}" ] || fail "IRQ $i before: $(jq -r .affinity_before <<<"$row"), was ${orig[$i]}"
	now=$(cat "/proc/irq/$i/smp_affinity_list")
	[ "$(jq -r .affinity <<<"$row")" = "$now" ] || fail "IRQ $i after: doctor $(jq -r .affinity <<<"$row"), kernel $now"
	[ "$rc" = 1 ] || [ "$now" = 0 ] || fail "IRQ $i affinity is $now after --set-affinity 0 (exit 0)"
done
restore
for i in $irqs; do
	[ "$(cat "/proc/irq/$i/smp_affinity_list")" = "${orig[$i]}" ] || fail "IRQ $i not restored"
done
pass "doctor --irq $nic --set-affinity 0: before/after match /proc/irq, restored"
