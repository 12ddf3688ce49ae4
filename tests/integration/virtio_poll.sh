#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# nettrace-lab: --nics 1
# `nettrace virtio poll` from napi:napi_poll alone, against the interface's statistics: the packets its RX queues'
# polls processed (the sum of napi_poll's work over virtnet_poll NAPIs) = the rx_packets delta over the run, within
# the bounds of the counters read before start / after attach and before stop / after exit (see virtio_irq.sh); TX
# NAPIs (virtnet_poll_tx) report no work; work <= budget in every poll; the per-poll events (-v) are the polls
# counted; `virtio rcvbuf` records = the same delta. This host's eth0 is only observed (no traffic is sent out of it). Controlled traffic: tests/lab/tests/virtio/.
cd "$(dirname "$0")/../.." || exit 1
. tests/integration/lib/common.sh

[ "${NETTRACE_LAB:-}" = 1 ] && modprobe virtio_net 2>/dev/null && udevadm settle 2>/dev/null
nic=
for d in /sys/class/net/*; do
	[ "$(basename "$(readlink "$d/device/driver" 2>/dev/null)")" = virtio_net ] && { nic=${d##*/}; break; }
done
[ -n "$nic" ] || skip "no virtio-net interface here"
rx() { cat "/sys/class/net/$nic/statistics/rx_packets"; }

a0=$(rx)
start_nettrace "" "$TMP/out" virtio poll -I "$nic" --json -v -i 3600
a1=$(rx)
sleep 3
b0=$(rx)
stop_nettrace "$TMP/out"
b1=$(rx)
jq -c 'select(.type == "virtio_poll_summary")' "$TMP/out" >"$TMP/sum"
[ -s "$TMP/sum" ] || fail "no summary: $(cat "$TMP/out")"
n=$(jq '[.queues[] | select(.queue | startswith("rx")) | .packets] | add // 0' "$TMP/sum")
{ [ "$n" -ge $((b0 - a1)) ] && [ "$n" -le $((b1 - a0)) ]; } ||
	fail "$nic: RX polls processed $n packets, rx_packets grew by $((b0 - a1))..$((b1 - a0))"
tx=$(jq '[.queues[] | select(.queue | startswith("tx")) | .packets] | add // 0' "$TMP/sum")
[ "$tx" = 0 ] || fail "TX NAPI polls report work $tx (virtnet_poll_tx returns 0)"
polls=$(jq '.polls' "$TMP/sum") events=$(jq -c 'select(.type == "virtio_poll_event")' "$TMP/out" | wc -l)
[ "$polls" = "$events" ] || fail "$polls polls counted, $events poll events"
over=$(jq -c 'select(.type == "virtio_poll_event" and .work > .budget)' "$TMP/out" | wc -l)
[ "$over" = 0 ] || fail "$over polls with work > budget"
bad=$(jq '[.queues[] | select(.max_work > .budget or .full_budget > .polls or .idle > .polls)] | length' "$TMP/sum")
[ "$bad" = 0 ] || fail "inconsistent rows: $(cat "$TMP/sum")"
pass "virtio poll -I $nic: $polls polls, $n packets = rx_packets delta ($((b0 - a1))..$((b1 - a0))), work <= budget"

# The original's command line (--device, --verbose).
ln -s "$NETTRACE" "$TMP/virtnet_poll_monitor.py"
NT_BIN=$TMP/virtnet_poll_monitor.py start_nettrace "" "$TMP/out2" --device "$nic" -v --json -i 3600
sleep 1
stop_nettrace "$TMP/out2"
jq -e 'select(.type == "virtio_poll_summary")' "$TMP/out2" >/dev/null || fail "virtnet_poll_monitor.py: no summary"
pass "virtnet_poll_monitor.py --device $nic -v runs virtio poll"

# virtio rcvbuf: one record per packet received = the rx_packets delta, with the same bounds.
a0=$(rx)
start_nettrace "" "$TMP/out3" virtio rcvbuf -I "$nic" --json
a1=$(rx)
sleep 2
b0=$(rx)
stop_nettrace "$TMP/out3"
b1=$(rx)
n=$(jq -c 'select(.type == "virtio_rcvbuf_event")' "$TMP/out3" | wc -l)
{ [ "$n" -ge $((b0 - a1)) ] && [ "$n" -le $((b1 - a0)) ]; } ||
	fail "rcvbuf: $n records, rx_packets grew by $((b0 - a1))..$((b1 - a0))"
[ "$(jq 'select(.type == "virtio_rcvbuf_summary") | .packets' "$TMP/out3")" = "$n" ] || fail "rcvbuf summary != its records"
pass "virtio rcvbuf -I $nic: $n records = rx_packets delta ($((b0 - a1))..$((b1 - a0)))"
