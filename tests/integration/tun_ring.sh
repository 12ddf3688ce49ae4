#!/usr/bin/env bash
# nettrace tun ring against the tap's own counters. A 2-queue tap in a namespace of its own is held open by a
# process that never reads it (nt_vhost_net --no-vhost: no vhost needed, so this runs on the 6.18 host from
# tracepoints alone, and in the lab where tun is a module with its own BTF). nt_pktsend rawudp sends 4 x
# tx_queue_len IPv4/UDP frames into the tap over AF_PACKET, source ports varied so the tap spreads them over its
# queues; nobody reads, so each queue's ring (tx_queue_len slots) fills and every later frame is a FULL_RING drop.
#   - packets seen on the tap (all queues) = frames sent;
#   - each queue's ring size = the tap's tx_queue_len; its depth never exceeds the size, and reaches it;
#   - ring-full events = FULL_RING drops = the tap's tx_dropped delta;
#   - per queue: packets - full = min(packets, size) (the entries that went into the never-read ring) and
#     sum(packets) = tx_packets delta + tx_dropped delta (tun counts tx_packets only when the reader takes a
#     packet off the ring: here 0; the kernel's accounting is checked, not assumed);
#   - the text run (full-ring events) and the JSON run (--all: an event per packet) report the same figures.
# Then bad input: -I lo, an unknown device, --queue out of range: one line each, exit 2.
# NETTRACE_ATTACH=fentry|kprobe forces the xmit hook's variant (the lab's tests/lab/tests/tun/attach.sh).
. "$(dirname "$0")/lib/common.sh"
DRV=${NT_VHOST_NET:-$NETTRACE_BUILD/tests/workloads/nt_vhost_net}
[ -x "$DRV" ] || fail "$DRV not built (a broken build, not a missing kernel feature)"
modprobe -q tun 2>/dev/null
[ -c /dev/net/tun ] || skip "no /dev/net/tun (CONFIG_TUN)"
has_tracepoint net/net_dev_start_xmit || skip "kernel has no net:net_dev_start_xmit tracepoint"
ATTACH=()
[ -n "${NETTRACE_ATTACH:-}" ] && ATTACH=(--attach "$NETTRACE_ATTACH")

TAP=ntt$$
TAP=${TAP:0:15}
ip netns add "$NS_A" || fail "cannot create a network namespace"
ip -n "$NS_A" link set lo up
# No IPv6 on the tap (router solicitations, MLD): the only frames are the test's.
ip netns exec "$NS_A" sysctl -qw net.ipv6.conf.default.disable_ipv6=1
ip netns exec "$NS_A" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
in_ns() { ip netns exec "$NS_A" "$@"; }
stat_of() { in_ns cat "/sys/class/net/$TAP/statistics/$1"; }

in_ns "$DRV" --tap "$TAP" --queues 2 --no-vhost --hold 300 --ready-file "$TMP/drv.ready" --stop-file "$TMP/drv.stop" \
  >"$TMP/drv.json" 2>"$TMP/drv.err" &
DRV_PID=$!
PIDS+=("$DRV_PID")
wait_file "$TMP/drv.ready" || { cat "$TMP/drv.err"; fail "the tap holder did not start"; }
size=$(in_ns cat "/sys/class/net/$TAP/tx_queue_len")
nq=$(in_ns ls "/sys/class/net/$TAP/queues" | grep -c '^tx-')
[ "$nq" = 2 ] || fail "the tap has $nq transmit queues, not 2"
count=$((size * 4))

# Two runs over the same traffic: text (full-ring events only) and JSON with an event per packet.
start_nettrace "$NS_A" "$TMP/text" tun ring -I "$TAP" -v "${ATTACH[@]}" -d 300
TEXT_PID=$NT_PID
start_nettrace "$NS_A" "$TMP/json" tun ring -I "$TAP" --all --json "${ATTACH[@]}" -d 300
JSON_PID=$NT_PID
# Filters are ANDed (the original ORed them): queue 1 and UDP to port 9 is queue 1's traffic; source port 10005 and
# destination port 10 matches nothing (each alone matches frames).
start_nettrace "$NS_A" "$TMP/fq" tun ring -I "$TAP" --queue 1 --protocol udp --dst-port 9 --json "${ATTACH[@]}" -d 300
FQ_PID=$NT_PID
start_nettrace "$NS_A" "$TMP/fn" tun ring -I "$TAP" --src-port 10005 --dst-port 10 --json "${ATTACH[@]}" -d 300
FN_PID=$NT_PID
for c in tx_packets tx_dropped; do printf -v "B_$c" %s "$(stat_of $c)"; done

sent=$(in_ns "$PKTSEND" rawudp "$TAP" "$count" | tail -1)
[ "$sent" = "$count" ] || fail "nt_pktsend sent '$sent' frames, not $count"
# The tap's counters settle as the frames pass (AF_PACKET sends are synchronous through tun_net_xmit).
for _ in $(seq 50); do
  [ $(( $(stat_of tx_dropped) - B_tx_dropped + $(stat_of tx_packets) - B_tx_packets )) -ge "$((count - 2 * size))" ] && break
  sleep 0.1
done
sleep 0.5
d_dropped=$(( $(stat_of tx_dropped) - B_tx_dropped ))
d_packets=$(( $(stat_of tx_packets) - B_tx_packets ))
NT_PID=$TEXT_PID; stop_nettrace "$TMP/text"
NT_PID=$JSON_PID; stop_nettrace "$TMP/json"
NT_PID=$FQ_PID; stop_nettrace "$TMP/fq"
NT_PID=$FN_PID; stop_nettrace "$TMP/fn"

S='[.[] | select(.type=="tun_ring_summary")][0]'
j() { jq -r -s "$S | $1" "$TMP/json"; }
echo "tap $TAP: tx_queue_len $size, $sent frames sent; tx_dropped +$d_dropped, tx_packets +$d_packets"
echo "nettrace (json): $(j '.queues | map("q\(.queue): packets \(.packets) full \(.full) drops \(.drops) full_ring \(.full_ring_drops) size \(.size) depth_max \(.depth_max)") | join("; ")')"
echo "xmit hook: $(j .xmit_hook)"

[ "$(j '.queues | length')" = 2 ] || fail "expected 2 queues in the summary: $(j .queues)"
[ "$(j '[.queues[].packets] | add')" = "$sent" ] || fail "packets seen $(j '[.queues[].packets] | add') != frames sent $sent"
[ "$(j .packets)" = "$sent" ] || fail "summary packets $(j .packets) != frames sent $sent"
[ "$(j '[.queues[] | select(.size != '"$size"')] | length')" = 0 ] || fail "ring size differs from tx_queue_len $size"
[ "$(j '[.queues[] | select(.depth_max > .size)] | length')" = 0 ] || fail "depth exceeds the ring size"
[ "$(j '[.queues[] | select(.depth_hist.max > .size)] | length')" = 0 ] || fail "a depth histogram exceeds the size"
full=$(j '[.queues[].full] | add')
[ "$d_dropped" -gt 0 ] || fail "the tap dropped nothing: the test did not overflow its ring"
[ "$full" = "$d_dropped" ] || fail "ring-full events $full != tx_dropped delta $d_dropped"
[ "$(j .full)" = "$full" ] || fail "summary full $(j .full) != per-queue sum $full"
[ "$(j '[.queues[].full_ring_drops] | add')" = "$d_dropped" ] || fail "FULL_RING drops != tx_dropped delta $d_dropped"
[ "$(j '[.drop_reasons[] | select(.reason=="FULL_RING") | .count] | add')" = "$d_dropped" ] || fail "drops table FULL_RING != $d_dropped"
# Per queue: what did not find the ring full went into it and stayed (never read).
bad=$(j '[.queues[] | select((.packets - .full) != ([.packets, .size] | min))] | length')
[ "$bad" = 0 ] || fail "a queue's enqueued packets (packets - full) differ from min(packets, size)"
bad=$(j '[.queues[] | select(.packets > .size and .depth_max != .size)] | length')
[ "$bad" = 0 ] || fail "an overflowing queue's depth never reached its size"
# tun counts tx_packets when the reader takes a packet off the ring: sum(packets) = enqueued + tx_dropped, and the
# tap's tx_packets + tx_dropped delta = tx_dropped alone here, as nothing is read.
enq=$(j '[.queues[] | [.packets, .size] | min] | add')
[ "$(( enq + d_dropped ))" = "$sent" ] || fail "enqueued $enq + dropped $d_dropped != sent $sent"
[ "$d_packets" = 0 ] || fail "tx_packets moved by $d_packets although nothing read the tap"

# Events: one per packet with --all; full ones = full count; the text run printed a FULL line per full event.
[ "$(jq -s '[.[] | select(.type=="tun_ring_event")] | length' "$TMP/json")" = "$sent" ] || fail "--all events != frames sent"
[ "$(jq -s '[.[] | select(.type=="tun_ring_event" and .full)] | length' "$TMP/json")" = "$full" ] || fail "full events != $full"
[ "$(jq -s '[.[] | select(.type=="tun_ring_event" and .depth > .size)] | length' "$TMP/json")" = 0 ] || fail "an event's depth exceeds its size"
[ "$(grep -c " FULL  *$TAP q" "$TMP/text")" = "$full" ] || fail "text FULL lines $(grep -c " FULL  *$TAP q" "$TMP/text") != $full"
grep -q "PTR Ring Details: Size: $size " "$TMP/text" || fail "no verbose detail block with Size: $size"
[ "$(jq -s '[.[] | select(.type=="tun_ring_event")][0].flow' "$TMP/json")" = '"udp 10.0.99.1:10000 -> 10.0.99.2:9"' ] ||
  fail "first event's flow: $(jq -s '[.[] | select(.type=="tun_ring_event")][0].flow' "$TMP/json")"

# Text summary = JSON summary, row by row (device queue packets full drops size depth_max).
trow=$(awk -v t="$TAP" '/=== tun ring summary/ {s=1} s && $1==t && $3 ~ /^[0-9]+$/ {print $1, $2, $3, $4, $5, $6, $7}' "$TMP/text" | sort)
jrow=$(j '.queues[] | "\(.device) \(.queue) \(.packets) \(.full) \(.drops) \(.size) \(.depth_max)"' | sort)
echo "text summary rows: $(echo "$trow" | tr '\n' ';')"
[ -n "$trow" ] && [ "$trow" = "$jrow" ] || fail "text summary rows differ from JSON: '$trow' vs '$jrow'"

# The filtered runs.
fq=$(jq -r -s "$S"' | "\(.packets) \(.full) \(.queues | map(.queue) | join(","))"' "$TMP/fq")
want=$(j '.queues[] | select(.queue==1) | "\(.packets) \(.full) 1"')
echo "--queue 1 --protocol udp --dst-port 9: $fq (packets full queues); queue 1 unfiltered: $want"
[ "$fq" = "$want" ] || fail "--queue 1 --protocol udp --dst-port 9 saw '$fq', queue 1 had '$want'"
[ "$(jq -r -s "$S | .packets" "$TMP/fn")" = 0 ] || fail "--src-port 10005 --dst-port 10 matched packets (filters must AND)"
[ "$(jq -r -s "$S | .drops" "$TMP/fn")" = 0 ] || { jq -s -c "$S" "$TMP/fn"; fail "--src-port 10005 --dst-port 10 matched drops"; }

# Bad input: one line naming the value, exit 2.
for args in "-I lo" "-I nosuch$$" "-I $TAP --queue 7"; do
  # shellcheck disable=SC2086
  in_ns "$NETTRACE" tun ring $args -d 1 >"$TMP/o" 2>"$TMP/e"; rc=$?
  val=${args##* }; [ "$args" = "-I $TAP --queue 7" ] && val=7
  [ "$rc" = 2 ] && [ "$(wc -l <"$TMP/e")" = 1 ] && grep -q -- "$val" "$TMP/e" ||
    fail "'tun ring $args': exit $rc, '$(cat "$TMP/e")' (want exit 2, one line naming $val)"
done
touch "$TMP/drv.stop"
wait "$DRV_PID"
echo "PASS"
