#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vhost signal-count against the user-space vhost-net driver's call eventfds (exact: a read returns the signals since
# the last read):
#   1. 2 queue pairs, TX frames and injected RX frames: per queue pair and direction, the signals nettrace counted on
#      that vq's call eventfd = the driver's call_signals, calls >= signals; the rows name the tap queue, rx/tx, the
#      driver as owner (-p) and its vhost worker (kthread before 6.4, vhost_task after).
#   2. VRING_AVAIL_F_NO_INTERRUPT on both rings: calls go on, signals 0 = the driver's, every call suppressed; this
#      run attaches through the kprobe/kretprobe fallback (--attach kprobe); a second instance filtered on another
#      owner (-p 1) sees no row.
. "$(dirname "$0")/driver.bash"

# row QUEUE ROLE FIELD: FIELD of the summary row of tap queue QUEUE, direction ROLE.
row() {
	jq -r --arg t "$TAP" --argjson q "$1" --arg r "$2" \
		"select(.type == \"vhost_signal_summary\") | .queues[] | select(.interface == \$t and .tap_queue == \$q and .role == \$r) | .$3" "$OUT"
}

# 1. 2 queue pairs.
drv_start sc --queues 2 --rx-buffers 64 --tx-packets 30 --tx-size 128 --rx-expect 40
nt_start sc vhost signal-count -p "$DRV_PID" -I "$TAP" -i 1
drv_go sc
inject 40 100
drv_stop sc
nt_stop sc
lab_log "$(jq -c 'select(.type == "vhost_signal_summary") | .queues[] | {tap_queue, role, calls, signals, suppressed, worker_comm}' "$OUT")"
total=0
for q in 0 1; do
	for r in rx tx; do
		want=$(j ".per_queue[$q].call_signals.$r")
		lab_assert_eq "queue $q $r: signals = the driver's call-eventfd reads" "$(row "$q" "$r" signals)" "$want"
		calls=$(row "$q" "$r" calls)
		lab_assert_ge "queue $q $r: calls >= signals" "$calls" "$want"
		lab_assert_eq "queue $q $r: owner = the driver" "$(row "$q" "$r" owner_pid)" "$(j .pid)"
		lab_assert_eq "queue $q $r: worker = the driver's vhost worker" "$(row "$q" "$r" worker_tid)" "$(j ".per_queue[$q].worker_tid")"
		lab_assert_eq "queue $q $r: vq index" "$(row "$q" "$r" vq_index)" "$([[ $r == rx ]] && echo 0 || echo 1)"
		total=$((total + want))
	done
done
lab_assert_ge "signals in all (RX and TX both signalled)" "$total" 2
lab_assert_eq "rows (2 queue pairs x rx/tx)" "$(jq -s '[.[] | select(.type == "vhost_signal_summary") | .queues[]] | length' "$OUT")" 4
# The intervals add up to the summary.
lab_assert_eq "sum of interval signals = summary" \
	"$(jq -s '[.[] | select(.type == "vhost_signal_interval") | .queues[].signals] | add // 0' "$OUT")" \
	"$(jq -s '[.[] | select(.type == "vhost_signal_summary") | .queues[].signals] | add' "$OUT")"

# 2. NO_INTERRUPT on both rings: vhost still completes (calls) but never signals.
drv_start ni --queues 1 --rx-buffers 32 --tx-packets 30 --no-interrupt both --rx-expect 20
nt_start ni vhost signal-count -I "$TAP" --attach kprobe
grep -q "vhost_add_used_and_signal_n return via kretprobe" "$W/ni.nt.err" || lab_fail "not attached by kretprobe: $(cat "$W/ni.nt.err")"
"$NETTRACE" vhost signal-count -p 1 --json --ready-file "$W/other.ready" >"$W/other.json" 2>"$W/other.err" &
OTHER=$!
lab_wait_until 180 "nettrace (-p 1) to attach" test -e "$W/other.ready"
drv_go ni
inject 20 100
drv_stop ni
nt_stop ni
lab_interrupt "$OTHER" 60 "nettrace (-p 1)"
wait "$OTHER" || lab_fail "nettrace -p 1 failed: $(cat "$W/other.err")"
lab_assert_eq "-p 1: no row (the driver is not owned by pid 1)" \
	"$(jq -s '[.[] | select(.type == "vhost_signal_summary") | .queues[]] | length' "$W/other.json")" 0
lab_log "$(jq -c 'select(.type == "vhost_signal_summary") | .queues[] | {tap_queue, role, calls, signals, suppressed}' "$OUT")"
for r in rx tx; do
	lab_assert_eq "no-interrupt $r: driver call_signals" "$(j ".per_queue[0].call_signals.$r")" 0
	lab_assert_eq "no-interrupt $r: signals" "$(row 0 "$r" signals)" 0
	calls=$(row 0 "$r" calls)
	lab_assert_ge "no-interrupt $r: calls go on" "$calls" 1
	lab_assert_eq "no-interrupt $r: every call suppressed" "$(row 0 "$r" suppressed)" "$calls"
done
