#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vhost buf-peek against the user-space vhost-net driver: 2 queue pairs with RX buffers enough for every frame, K
# frames of SIZE bytes injected into the tap: per queue, the non-zero returns (the next packet's length) = the
# packets the driver received on that queue, all of them SIZE; zero returns (nothing queued) happen on every queue
# that received (each handle_rx pass ends on one); the RX queues only (vq 0).
. "$(dirname "$0")/driver.bash"

K=40 SIZE=100
drv_start bp --queues 2 --rx-buffers 64
nt_start bp vhost buf-peek -I "$TAP" -i 1
drv_go bp
inject "$K" "$SIZE"
drv_stop bp
nt_stop bp
S='select(.type == "vhost_buf_peek_summary")'
lab_log "$(jq -c "$S | .queues[] | {tap_queue, role, calls, empty, nonempty, returns}" "$OUT")"
lab_assert_eq "driver rx_packets" "$(j .totals.rx_packets)" "$K"
lab_assert_eq "non-zero returns (all queues) = frames received" "$(jq "[$S | .queues[].nonempty] | add" "$OUT")" "$K"
for q in 0 1; do
	got=$(j ".per_queue[$q].rx_packets")
	sel="$S | .queues[] | select(.interface == \"$TAP\" and .tap_queue == $q)"
	lab_assert_eq "queue $q: non-zero returns = driver rx_packets" "$(jq "[$sel | .nonempty] | add // 0" "$OUT")" "$got"
	lab_assert_eq "queue $q: returns of $SIZE (the frame length)" \
		"$(jq "[$sel | .returns[] | select(.ret == $SIZE) | .count] | add // 0" "$OUT")" "$got"
	if ((got > 0)); then
		lab_assert_ge "queue $q: zero returns (ring empty)" "$(jq "[$sel | .empty] | add // 0" "$OUT")" 1
		lab_assert_eq "queue $q: the RX vq" "$(jq -r "$sel | .vq_index" "$OUT")" 0
	fi
done
lab_assert_eq "sum of interval calls = summary" \
	"$(jq -s '[.[] | select(.type == "vhost_buf_peek_interval") | .queues[].calls] | add // 0' "$OUT")" \
	"$(jq -s '[.[] | select(.type == "vhost_buf_peek_summary") | .queues[].calls] | add' "$OUT")"
