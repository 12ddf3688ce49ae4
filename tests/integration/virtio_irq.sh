#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# nettrace-lab: --nics 1
# `nettrace virtio irq` from tracepoints alone, against /proc/interrupts: each of the virtio-net NIC's IRQs (its MSI
# vectors) counted by nettrace = the delta of that IRQ's row, per CPU. The window is bounded on both sides: the
# counts read before nettrace starts and after it exits hold every interrupt it can have seen (upper bound); those
# read after it attached and before it is stopped are ones it must have seen (lower bound). On an idle NIC (this
# host: eth0 is only observed, never sent to) both bounds are usually equal. Controlled traffic: tests/lab/tests/virtio/.
# Bad input: -I lo, --irqs 99999: exit 2.
cd "$(dirname "$0")/../.." || exit 1
. tests/integration/lib/common.sh

[ "${NETTRACE_LAB:-}" = 1 ] && modprobe virtio_net 2>/dev/null && udevadm settle 2>/dev/null
nic=
for d in /sys/class/net/*; do
	[ "$(basename "$(readlink "$d/device/driver" 2>/dev/null)")" = virtio_net ] && { nic=${d##*/}; break; }
done
[ -n "$nic" ] || skip "no virtio-net interface here"
irqs=$(ls "/sys/class/net/$nic/device/msi_irqs" 2>/dev/null || ls "/sys/class/net/$nic/device/../msi_irqs" 2>/dev/null)
[ -n "$irqs" ] || skip "$nic has no MSI vectors"

# snap FILE: "irq cpu count" for each of the NIC's IRQs and each CPU.
snap() {
	local i
	for i in $irqs; do
		awk -v irq="$i:" '$1 == irq { for (c = 2; c <= NF && $c ~ /^[0-9]+$/; c++) print substr(irq, 1, length(irq) - 1), c - 2, $c }' /proc/interrupts
	done >"$1"
}
# sum_of FILE IRQ [CPU]: that IRQ's count in a snapshot (all CPUs, or one); delta A B IRQ [CPU]: grown from A to B.
sum_of() { awk -v i="$2" -v c="${3:-}" '$1 == i && (c == "" || $2 == c) { s += $3 } END { print s + 0 }' "$1"; }
delta() { echo $(($(sum_of "$2" "$3" "${4:-}") - $(sum_of "$1" "$3" "${4:-}"))); }

check_run() { # check_run OUT: every IRQ's count (total and per CPU) within the window's bounds
	local out=$1 i row n lo hi cpu
	for i in $irqs; do
		row=$(jq -c ".irqs[] | select(.irq == $i)" "$out")
		[ -n "$row" ] || fail "IRQ $i missing from the summary: $(cat "$out")"
		n=$(jq -r .count <<<"$row") lo=$(delta "$TMP/a1" "$TMP/b0" "$i") hi=$(delta "$TMP/a0" "$TMP/b1" "$i")
		{ [ "$n" -ge "$lo" ] && [ "$n" -le "$hi" ]; } ||
			fail "IRQ $i: nettrace counted $n, /proc/interrupts grew by $lo..$hi over the run"
		for cpu in $(awk -v i="$i" '$1 == i { print $2 }' "$TMP/a0"); do
			n=$(jq -r ".cpus[\"$cpu\"] // 0" <<<"$row")
			lo=$(delta "$TMP/a1" "$TMP/b0" "$i" "$cpu") hi=$(delta "$TMP/a0" "$TMP/b1" "$i" "$cpu")
			{ [ "$n" -ge "$lo" ] && [ "$n" -le "$hi" ]; } ||
				fail "IRQ $i CPU $cpu: nettrace counted $n, /proc/interrupts grew by $lo..$hi"
		done
		# Each counted entry has its handler's return (handled, none, wake thread): at most one per CPU differs
		# (an exit before the first entry, an entry whose exit came after the end).
		local rets ncpu
		rets=$(jq -r '.handled + .none + .wake_thread + (.other_ret // 0)' <<<"$row") ncpu=$(nproc --all)
		n=$(jq -r .count <<<"$row")
		[ $((rets - n)) -le "$ncpu" ] && [ $((n - rets)) -le "$ncpu" ] ||
			fail "IRQ $i: $n interrupts but $rets handler returns"
		echo "IRQ $i ($(jq -r .name <<<"$row")): $n interrupts"
	done
}

snap "$TMP/a0"
start_nettrace "" "$TMP/out" virtio irq -I "$nic" --json -i 3600
snap "$TMP/a1"
sleep 3
snap "$TMP/b0"
stop_nettrace "$TMP/out"
snap "$TMP/b1"
jq -c 'select(.type == "virtio_irq_summary")' "$TMP/out" >"$TMP/sum"
[ -s "$TMP/sum" ] || fail "no summary: $(cat "$TMP/out")"
got=$(jq -r '.irqs[].irq' "$TMP/sum" | sort -n | tr '\n' ' ')
want=$(echo $irqs | tr ' ' '\n' | sort -n | tr '\n' ' ')
[ "$got" = "$want" ] || fail "IRQs of $nic: nettrace '$got', msi_irqs '$want'"
check_run "$TMP/sum"
pass "virtio irq -I $nic: per-IRQ and per-CPU counts within the /proc/interrupts deltas of the run"

# The original's command line: the IRQ list, per-CPU rows.
list=$(echo $irqs | tr ' ' ',')
snap "$TMP/a0"
NT_BIN=$TMP/virtnet_irq_monitor.py
ln -s "$NETTRACE" "$NT_BIN"
start_nettrace "" "$TMP/out2" --irqs "$list" --trace-cpu --json -i 3600
unset NT_BIN
snap "$TMP/a1"
sleep 2
snap "$TMP/b0"
stop_nettrace "$TMP/out2"
snap "$TMP/b1"
jq -c 'select(.type == "virtio_irq_summary")' "$TMP/out2" >"$TMP/sum2"
for i in $irqs; do
	n=$(jq "[.irqs[] | select(.irq == $i) | .count] | add // 0" "$TMP/sum2")
	lo=$(delta "$TMP/a1" "$TMP/b0" "$i") hi=$(delta "$TMP/a0" "$TMP/b1" "$i")
	{ [ "$n" -ge "$lo" ] && [ "$n" -le "$hi" ]; } || fail "virtnet_irq_monitor IRQ $i: $n, /proc/interrupts $lo..$hi"
done
pass "virtnet_irq_monitor.py --irqs $list --trace-cpu: per-CPU rows within the /proc/interrupts deltas"

expect_usage() { # expect_usage WORD ARGS…: exit 2 with one line naming WORD
	local msg rc word=$1
	shift
	msg=$("$NETTRACE" "$@" 2>&1 >/dev/null); rc=$?
	[ $rc = 2 ] || fail "nettrace $* exited $rc (want 2): $msg"
	[ "$(wc -l <<<"$msg")" = 1 ] || fail "nettrace $*: want one line, got: $msg"
	grep -q -- "$word" <<<"$msg" || fail "nettrace $*: the message does not name '$word': $msg"
}
expect_usage "'lo' is not a virtio-net device" virtio irq -I lo -d 1
expect_usage "no IRQ 99999" virtio irq --irqs 99999 -d 1
expect_usage "'lo' is not a virtio-net device" virtio poll -I lo -d 1
pass "bad input: -I lo, --irqs 99999: one line, exit 2"

# --spurious needs fentry or kprobes (vring_interrupt): where neither exists (this host) it is exit 1 naming them.
if [ ! -d /sys/bus/event_source/devices/kprobe ] && [ "${NETTRACE_LAB:-}" != 1 ]; then
	msg=$("$NETTRACE" virtio irq -I "$nic" --spurious -d 1 2>&1 >/dev/null); rc=$?
	[ $rc = 1 ] || fail "--spurious without kprobes/fentry exited $rc: $msg"
	grep -q "vring_interrupt" <<<"$msg" || fail "--spurious: the error does not name vring_interrupt: $msg"
	pass "--spurious without fentry/kprobes: exit 1 naming vring_interrupt"
fi
