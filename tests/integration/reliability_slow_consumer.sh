#!/bin/bash
# A slow consumer never makes nettrace lie about loss (issue 15, 2). `nettrace drop --json` writes into a pipe
# nobody reads for 20 s while a bounded UDP flood goes to a closed port between two namespaces; it is stopped
# (SIGINT) while its stdout is still blocked. The kernel side must not wait for the reader: the flood reaches the
# receiver (its Udp NoPorts rises by what was sent) while the pipe is full. When the reader finally drains the pipe,
# the drop records of the flood + the summary's lost_events + the summary's unwritten (records received but not
# written because stdout was blocked at stop; absent = 0) must equal the receiver's Udp NoPorts delta.
. "$(dirname "$0")/lib/common.sh"
two_ns
N=${N:-30000} PORT=7001 READER_SLEEP=${READER_SLEEP:-20}
out=$TMP/out.json
before=$(snmp "$NS_B" Udp: NoPorts)
# The filter is in the kernel (interface, port, reason): every event it emits or loses is one of the flood's drops.
sh -c '"$@" 2>"$0.err" & echo $! >"$0.pid"; wait $!; echo $? >"$0.rc"' "$TMP/nt" \
  ip netns exec "$NS_B" "$NETTRACE" drop --json --interface veth-b --dst-port $PORT --reason NO_SOCKET \
  --ready-file "$TMP/ready" | (sleep "$READER_SLEEP"; cat >"$out") &
pipeline=$!
PIDS+=("$pipeline")
for _ in $(seq 1 200); do [ -e "$TMP/ready" ] && break; sleep 0.05; done
[ -e "$TMP/ready" ] || { cat "$TMP/nt.err"; fail "nettrace did not attach"; }
t0=$(date +%s%N)
ip netns exec "$NS_A" "$PKTSEND" udp 10.200.0.2 $PORT "$N" 32 >/dev/null || fail "send failed"
t1=$(date +%s%N)
sleep 1
kernel=$(( $(snmp "$NS_B" Udp: NoPorts) - before ))
echo "flood: $N datagrams in $(( (t1 - t0) / 1000000 )) ms; receiver's Udp NoPorts +$kernel while nobody read nettrace's stdout"
[ "$kernel" -eq "$N" ] || fail "the receiver counted $kernel of $N datagrams while nettrace's stdout was blocked"
# Stop it while its stdout is blocked: the reader still sleeps.
kill -INT "$(cat "$TMP/nt.pid")"
wait "$pipeline"
rc=$(cat "$TMP/nt.rc" 2>/dev/null)
[ "$rc" = 0 ] || { cat "$TMP/nt.err"; fail "nettrace exited ${rc:-?} after SIGINT with a blocked stdout"; }
grep -q '"type":"drop_summary"' "$out" || { tail -c 500 "$out"; cat "$TMP/nt.err"; fail "no drop_summary after the reader drained the pipe"; }
bad=$(grep -vc '^{.*}$' "$out")
[ "$bad" -eq 0 ] || fail "$bad output lines are not whole JSON objects (a record cut by the blocked write?)"
records=$(jq -s "[.[] | select(.type==\"drop\" and .dst_port==$PORT)] | length" "$out")
lost=$(jq -s '[.[] | select(.type=="drop_summary")][0].lost_events // 0' "$out")
unwritten=$(jq -s '[.[] | select(.type=="drop_summary")][0].unwritten // 0' "$out")
echo "nettrace: $records records + $lost lost_events + $unwritten unwritten; kernel: Udp NoPorts delta $kernel"
[ $((records + lost + unwritten)) -eq "$kernel" ] ||
  fail "records $records + lost_events $lost + unwritten $unwritten = $((records + lost + unwritten)), Udp NoPorts delta $kernel"
pass "slow consumer: records + lost_events + unwritten = Udp NoPorts delta $kernel"
