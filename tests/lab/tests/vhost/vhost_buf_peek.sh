#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vhost buf-peek against the user-space vhost-net driver: 2 queue pairs with RX buffers enough for every frame, K
# frames of SIZE bytes injected into the tap: per queue, the non-zero returns (the next packet's length) = the
# packets the driver received on that queue, all of them SIZE; zero returns (nothing queued) happen on every queue
# that received (each handle_rx pass ends on one); the RX queues only (vq 0). Then the same on one queue pair through
# the kretprobe fallback (the argument kept by a kprobe at entry).
. "$(dirname "$0")/driver.bash"

K=40 SIZE=100
drv_start bp --queues 2 --rx-buffers 64 --rx-expect "$K"
nt_start bp vhost buf-peek -I "$TAP" -i 1
drv_go bp
inject "$K" "$SIZE"
drv_stop bp
nt_stop bp
S='select(.type == "vhost_buf_peek_summary")'
lab_log "$(jq -c "$S | .queues[] | {tap_queue, role, calls, empty, nonempty, returns}" "$OUT")"
lab_assert_eq "driver rx_packets" "$(j .totals.rx_packets)" "$K"
lab_assert_eq "non-zero returns (all queues) = frames received" "$(jq -s "[.[] | $S | .queues[].nonempty] | add" "$OUT")" "$K"
for q in 0 1; do
	got=$(j ".per_queue[$q].rx_packets")
	sel="$S | .queues[] | select(.interface == \"$TAP\" and .tap_queue == $q)"
	lab_assert_eq "queue $q: non-zero returns = driver rx_packets" "$(jq -s "[.[] | $sel | .nonempty] | add // 0" "$OUT")" "$got"
	lab_assert_eq "queue $q: returns of $SIZE (the frame length)" \
		"$(jq -s "[.[] | $sel | .returns[] | select(.ret == $SIZE) | .count] | add // 0" "$OUT")" "$got"
	if ((got > 0)); then
		lab_assert_ge "queue $q: zero returns (ring empty)" "$(jq -s "[.[] | $sel | .empty] | add // 0" "$OUT")" 1
		lab_assert_eq "queue $q: the RX vq" "$(jq -r "$sel | .vq_index" "$OUT")" 0
	fi
done
lab_assert_eq "sum of interval calls = summary" \
	"$(jq -s '[.[] | select(.type == "vhost_buf_peek_interval") | .queues[].calls] | add // 0' "$OUT")" \
	"$(jq -s '[.[] | select(.type == "vhost_buf_peek_summary") | .queues[].calls] | add' "$OUT")"

# The kretprobe fallback.
drv_start kp --queues 1 --rx-buffers 32 --rx-expect 20
nt_start kp vhost buf-peek -I "$TAP" --attach kprobe
grep -q "vhost_net_buf_peek return via kretprobe" "$W/kp.nt.err" || lab_fail "not attached by kretprobe: $(cat "$W/kp.nt.err")"
drv_go kp
inject 20 "$SIZE"
drv_stop kp
nt_stop kp
lab_log "$(jq -c "$S | .queues[] | {tap_queue, role, calls, empty, nonempty, returns}" "$OUT")"
lab_assert_eq "kretprobe: non-zero returns = driver rx_packets" "$(jq -s "[.[] | $S | .queues[].nonempty] | add" "$OUT")" "$(j .totals.rx_packets)"
lab_assert_eq "kretprobe: returns without their argument" "$(jq -r "$S | .returns_without_argument" "$OUT")" 0
