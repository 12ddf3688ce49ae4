#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# nettrace-lab: --nics 2
# Lab test: `nettrace virtio irq` and `nettrace virtio poll` on the lab's own virtio-net NICs (lab_virtio_pair: vnic0 in
# vp0, vnic1 in vp1), run in vp1 against vnic1 while vp0 pings vp1 N times. Oracles, read around each run (the counts
# before start / after attach and before stop / after exit bound the window, see tests/integration/virtio_irq.sh):
#  irq:  each of vnic1's IRQs (its MSI vectors) counted = its /proc/interrupts delta, total and per CPU; the
#        input vector took at least one interrupt;
#  poll: packets processed by vnic1's RX NAPIs (queue from receive_queue via CO-RE on virtio_net's module BTF) =
#        vnic1's rx_packets delta (>= N); TX NAPIs report no work; work <= budget in every poll (-v events).
set -euo pipefail
. "$(dirname "$0")/../../fixtures.sh"
lab_require_lab
NETTRACE=${NETTRACE:-build/nettrace}
[[ -x "$NETTRACE" ]] || lab_skip "no nettrace binary at $NETTRACE"
NT=$(realpath "$NETTRACE")
command -v jq >/dev/null || lab_skip "jq is not installed"
lab_virtio_pair
N=20
T=$(mktemp -d /tmp/lab-virtio.XXXXXX)
lab_defer rm -rf "$T"

irqs=$(lab_ns vp1 sh -c 'ls /sys/class/net/vnic1/device/msi_irqs 2>/dev/null || ls /sys/class/net/vnic1/device/../msi_irqs')
[[ -n "$irqs" ]] || lab_fail "vnic1 has no MSI vectors"
snap() {
	local i
	for i in $irqs; do
		awk -v irq="$i:" '$1 == irq { for (c = 2; c <= NF && $c ~ /^[0-9]+$/; c++) print substr(irq, 1, length(irq) - 1), c - 2, $c }' /proc/interrupts
	done >"$1"
}
sum_of() { awk -v i="$2" -v c="${3:-}" '$1 == i && (c == "" || $2 == c) { s += $3 } END { print s + 0 }' "$1"; }
delta() { echo $(($(sum_of "$2" "$3" "${4:-}") - $(sum_of "$1" "$3" "${4:-}"))); }
# in_bounds WHAT N LO HI
in_bounds() { (($2 >= $3 && $2 <= $4)) || lab_fail "$1: nettrace $2, kernel counters $3..$4"; echo "$1: $2 (kernel $3..$4)" >&2; }

# ---- irq
snap "$T/a0"
NETTRACE=ip lab_nettrace_start "$T/irq" netns exec vp1 "$NT" virtio irq -I vnic1 --json -i 3600
snap "$T/a1"
lab_ping_ok vp0 "$LAB_VP_IP1" "$N"
snap "$T/b0"
lab_nettrace_stop
snap "$T/b1"
jq -c 'select(.type == "virtio_irq_summary")' "$T/irq" >"$T/irq.sum"
[[ -s "$T/irq.sum" ]] || lab_fail "virtio irq: no summary: $(cat "$T/irq")"
input=0
for i in $irqs; do
	row=$(jq -c ".irqs[] | select(.irq == $i)" "$T/irq.sum")
	[[ -n "$row" ]] || lab_fail "IRQ $i missing: $(cat "$T/irq.sum")"
	n=$(jq -r .count <<<"$row")
	in_bounds "IRQ $i ($(jq -r .name <<<"$row")) interrupts" "$n" "$(delta "$T/a1" "$T/b0" "$i")" "$(delta "$T/a0" "$T/b1" "$i")"
	for cpu in $(awk -v i="$i" '$1 == i { print $2 }' "$T/a0"); do
		in_bounds "IRQ $i CPU $cpu" "$(jq -r ".cpus[\"$cpu\"] // 0" <<<"$row")" \
			"$(delta "$T/a1" "$T/b0" "$i" "$cpu")" "$(delta "$T/a0" "$T/b1" "$i" "$cpu")"
	done
	[[ "$(jq -r .queue <<<"$row")" == rx* ]] && input=$((input + n))
done
((input >= 1)) || lab_fail "no interrupt on vnic1's input vector while it received $N pings"
echo "PASS: virtio irq -I vnic1: per-IRQ and per-CPU counts = /proc/interrupts deltas ($input input interrupts)"

# ---- irq --spurious (fexit vring_interrupt, kretprobe where fentry is missing): on the queue vectors, vring_interrupt
# is the handler itself, so its calls = the interrupts and its IRQ_NONE returns = irq_handler_exit's NONE, from two
# different hooks (up to one per CPU apart: an interrupt in flight while the programs attach or detach).
ncpu=$(nproc --all)
for attach in fexit kprobe; do # kprobe: --attach forces the kretprobe variant (it sees the return value only)
	force=()
	[[ $attach == kprobe ]] && force=(--attach kprobe)
	NETTRACE=ip lab_nettrace_start "$T/sp" netns exec vp1 "$NT" virtio irq -I vnic1 --spurious "${force[@]}" --json -i 3600
	lab_ping_ok vp0 "$LAB_VP_IP1" 10
	lab_nettrace_stop
	grep -q "vring_interrupt return via ${attach/kprobe/kretprobe}" "$T/sp.err" ||
		lab_fail "--spurious $attach: not attached via ${attach/kprobe/kretprobe}: $(cat "$T/sp.err")"
	jq -c 'select(.type == "virtio_irq_summary") | .irqs[]' "$T/sp" >"$T/sp.rows"
	[[ -s "$T/sp.rows" ]] || lab_fail "--spurious: no rows: $(cat "$T/sp")"
	while read -r row; do
		q=$(jq -r .queue <<<"$row") n=$(jq .count <<<"$row") vc=$(jq .vring_calls <<<"$row")
		sp=$(jq .spurious <<<"$row") none=$(jq .none <<<"$row")
		echo "--spurious ($attach) $q: $n interrupts, $vc vring_interrupt, $sp spurious, $none IRQ_NONE" >&2
		if [[ "$q" == config ]]; then
			lab_assert_eq "vring_interrupt calls on the config vector" "$vc" 0
			continue
		fi
		((vc - n <= ncpu && n - vc <= ncpu)) || lab_fail "$q: $n interrupts but $vc vring_interrupt calls"
		((vc >= 1 || n == 0)) || lab_fail "$q: no vring_interrupt counted"
		((sp - none <= ncpu && none - sp <= ncpu)) || lab_fail "$q: $sp spurious vring_interrupt, $none IRQ_NONE handler returns"
	done <"$T/sp.rows"
done
echo "PASS: virtio irq --spurious: vring_interrupt calls = interrupts, IRQ_NONE returns = spurious, per queue vector"

# ---- poll
rx() { lab_stat vp1 vnic1 rx_packets; }
a0=$(rx)
NETTRACE=ip lab_nettrace_start "$T/poll" netns exec vp1 "$NT" virtio poll -I vnic1 --json -v -i 3600
a1=$(rx)
lab_ping_ok vp0 "$LAB_VP_IP1" "$N"
b0=$(rx)
lab_nettrace_stop
b1=$(rx)
jq -c 'select(.type == "virtio_poll_summary")' "$T/poll" >"$T/poll.sum"
[[ -s "$T/poll.sum" ]] || lab_fail "virtio poll: no summary: $(cat "$T/poll")"
jq -c '.queues[]' "$T/poll.sum" >&2
n=$(jq '[.queues[] | select(.queue | startswith("rx")) | .packets] | add // 0' "$T/poll.sum")
in_bounds "vnic1 RX packets polled" "$n" $((b0 - a1)) $((b1 - a0))
((n >= N)) || lab_fail "vnic1 RX polls processed $n packets, fewer than the $N pings"
rx0=$(jq '[.queues[] | select(.queue == "rx0") | .packets] | add // 0' "$T/poll.sum")
lab_assert_eq "packets on rx0 (queue index from receive_queue->vq->index)" "$rx0" "$n"
lab_assert_eq "TX NAPI work" "$(jq '[.queues[] | select(.queue | startswith("tx")) | .packets] | add // 0' "$T/poll.sum")" 0
lab_assert_eq "polls = poll events" "$(jq .polls "$T/poll.sum")" "$(jq -c 'select(.type == "virtio_poll_event")' "$T/poll" | wc -l)"
lab_assert_eq "polls with work > budget" "$(jq -c 'select(.type == "virtio_poll_event" and .work > .budget)' "$T/poll" | wc -l)" 0
echo "PASS: virtio poll -I vnic1: $n RX packets = rx_packets delta, rx0, work <= budget"

# ---- poll --stacks: the polls' kernel stacks, each through the NAPI poll loop
NETTRACE=ip lab_nettrace_start "$T/stk" netns exec vp1 "$NT" virtio poll -I vnic1 --stacks --json -i 3600
lab_ping_ok vp0 "$LAB_VP_IP1" 5
lab_nettrace_stop
jq -c 'select(.type == "virtio_poll_summary")' "$T/stk" >"$T/stk.sum"
st=$(jq '[.stacks[].count] | add // 0' "$T/stk.sum")
((st >= 1)) || lab_fail "--stacks: no stack counted: $(cat "$T/stk.sum")"
jq -e '[.stacks[].stack[] | select(test("net_rx_action|napi_poll|__napi_poll"))] | length > 0' "$T/stk.sum" >/dev/null ||
	lab_fail "--stacks: no frame in the NAPI poll loop: $(jq -c .stacks "$T/stk.sum")"
echo "PASS: virtio poll --stacks: $st polls' stacks through net_rx_action"
