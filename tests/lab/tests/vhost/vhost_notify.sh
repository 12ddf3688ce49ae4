#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vhost notify against the user-space vhost-net driver, one queue pair with VRING_AVAIL_F_NO_INTERRUPT set by the
# driver on its TX ring only:
#   - every TX decision shows the guest's avail flags with NO_INTERRUPT (read from the driver's memory) and is false;
#     every RX decision shows the flag clear and is true;
#   - per vq: suppressed (false) + signalled (true) = decisions = the signalling calls (start events), and the
#     signals delivered = the driver's call-eventfd reads (RX: > 0, TX: 0).
# Then the same with VIRTIO_RING_F_EVENT_IDX: every decision has event_idx and the guest's used_event (avail->ring[num]
# in the driver's memory); on TX, where the driver holds used_event at 0xffff, every decision reads 65535 and is
# true only while signalled_used was not valid yet; after a decision signalled_used is valid; true + false =
# decisions; signals = the driver's.
. "$(dirname "$0")/driver.bash"

drv_start nf --queues 1 --rx-buffers 32 --tx-packets 20 --no-interrupt tx --rx-expect 10
nt_start nf vhost notify -I "$TAP" --queue 0
drv_go nf
inject 10 100
drv_stop nf
nt_stop nf
lab_log "$(jq -c 'select(.type == "vhost_notify_summary") | {decision_from, notify_function, queues: [.queues[] | {role, calls, notify_calls, signalled, suppressed, signals, no_interrupt}]}' "$OUT")"
ev() { jq -s --arg r "$1" "[.[] | select(.type == \"vhost_notify_event\" and .role == \$r) | $2] | length" "$OUT"; }
sq() { jq -r --arg r "$1" "select(.type == \"vhost_notify_summary\") | .queues[] | select(.role == \$r) | .$2" "$OUT"; }
for r in rx tx; do
	decisions=$(ev "$r" 'select(.event == "notify" and .decision_from != "no_call_eventfd")')
	lab_assert_ge "$r: decisions" "$decisions" 1
	lab_assert_eq "$r: decisions = signalling calls (start events)" "$(ev "$r" 'select(.event == "signal")')" "$decisions"
	lab_assert_eq "$r: summary notify calls = decision events" "$(sq "$r" notify_calls)" "$decisions"
	lab_assert_eq "$r: true + false = notify calls" $(($(sq "$r" signalled) + $(sq "$r" suppressed))) "$decisions"
	lab_assert_eq "$r: signals delivered = the driver's call-eventfd reads" "$(sq "$r" signals)" "$(j ".per_queue[0].call_signals.$r")"
	lab_assert_eq "$r: guest avail flags read at every decision" \
		"$(ev "$r" 'select(.event == "notify" and .decision_from != "no_call_eventfd" and has("guest_avail_flags"))')" "$decisions"
done
lab_assert_eq "tx: every decision sees NO_INTERRUPT" "$(ev tx 'select(.event == "notify" and .guest_no_interrupt == true)')" "$(sq tx notify_calls)"
lab_assert_eq "tx: every decision is false" "$(sq tx suppressed)" "$(sq tx notify_calls)"
lab_assert_eq "rx: no decision sees NO_INTERRUPT" "$(ev rx 'select(.event == "notify" and .guest_no_interrupt == true)')" 0
lab_assert_eq "rx: every decision is true" "$(sq rx signalled)" "$(sq rx notify_calls)"
lab_assert_ge "rx: signals" "$(sq rx signals)" 1
lab_assert_eq "tx: signals" "$(sq tx signals)" 0

# EVENT_IDX.
drv_start ei --queues 1 --rx-buffers 32 --tx-packets 20 --no-interrupt tx --event-idx --rx-expect 10
nt_start ei vhost notify -I "$TAP"
drv_go ei
inject 10 100
drv_stop ei
nt_stop ei
lab_assert_eq "event-idx: driver event_idx" "$(j .event_idx)" true
lab_log "$(jq -c 'select(.type == "vhost_notify_summary") | [.queues[] | {role, notify_calls, signalled, suppressed, signals}]' "$OUT")"
lab_log "$(jq -c 'select(.type == "vhost_notify_event" and .event == "notify") | {role, notify, guest_used_event, signalled_used, signalled_used_valid, last_used_idx}' "$OUT")"
for r in rx tx; do
	decisions=$(ev "$r" 'select(.event == "notify" and .decision_from != "no_call_eventfd")')
	lab_assert_ge "event-idx $r: decisions" "$decisions" 1
	lab_assert_eq "event-idx $r: every decision with EVENT_IDX and used_event read" \
		"$(ev "$r" 'select(.event == "notify" and .event_idx == true and has("guest_used_event"))')" "$decisions"
	lab_assert_eq "event-idx $r: signalled_used valid after each decision" \
		"$(ev "$r" 'select(.event == "notify" and .signalled_used_valid == true)')" "$decisions"
	lab_assert_eq "event-idx $r: true + false = decisions" $(($(sq "$r" signalled) + $(sq "$r" suppressed))) "$decisions"
	lab_assert_eq "event-idx $r: signals = the driver's call-eventfd reads" "$(sq "$r" signals)" "$(j ".per_queue[0].call_signals.$r")"
done
lab_assert_eq "event-idx tx: used_event 0xffff in every decision" \
	"$(ev tx 'select(.event == "notify" and .guest_used_event == 65535)')" "$(sq tx notify_calls)"
# With EVENT_IDX vhost_notify ignores avail->flags; used_event 0xffff is never crossed, so a TX decision is true only
# when signalled_used was not valid yet (the vq's first decision): exactly those signal events.
lab_assert_eq "event-idx tx: true exactly when signalled_used was not valid yet" "$(sq tx signalled)" \
	"$(ev tx 'select(.event == "signal" and .signalled_used_valid == false)')"
lab_assert_ge "event-idx rx: signals" "$(sq rx signals)" 1
