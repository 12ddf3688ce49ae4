#!/bin/bash
# drop stacks (kernel_drop_stack_stats_summary_all): per-interval in-kernel aggregation. The counts of
# the NO_SOCKET entries over all intervals must equal the Udp NoPorts delta, grouped by device and flow,
# and the aliases must behave like the subcommand.
. "$(dirname "$0")/lib/common.sh"
two_ns
ln -sf "$NETTRACE" "$TMP/kernel_drop_stack_stats_summary_all.py"
ln -sf "$NETTRACE" "$TMP/kernel_drop_stack_stats_summary"
# UNKNOWN before 5.17: the location (UDP receive) then tells these drops from the rest (an IPv6 multicast drop on veth-b)
R=$(reason_or_unknown NO_SOCKET)
for tool in "drop stacks" "$TMP/kernel_drop_stack_stats_summary_all.py" "$TMP/kernel_drop_stack_stats_summary"; do
  out=$TMP/stacks.json
  before=$(snmp "$NS_B" Udp: NoPorts)
  if [[ $tool == drop* ]]; then NT_BIN=$NETTRACE; args=$tool; else NT_BIN=$tool; args=; fi
  NT_BIN=$NT_BIN start_nettrace "$NS_B" "$out" $args --json --interval 1 --device veth-b --top 50
  ip netns exec "$NS_A" "$PKTSEND" udp 10.200.0.2 4444 20 >/dev/null
  sleep 1.2
  ip netns exec "$NS_A" "$PKTSEND" udp 10.200.0.2 4445 9 >/dev/null
  sleep 0.3
  stop_nettrace "$out"
  kernel=$(( $(snmp "$NS_B" Udp: NoPorts) - before ))
  if [[ $tool == *summary ]]; then
    # Cumulative counts, grouped by stack only: the last report holds the totals.
    ours=$(jq -s --arg r "$R" '[.[] | select(.type=="drop_stacks")][-1] | [.entries[] | select(.reason==$r and ($r != "UNKNOWN" or (.location|test("udp")))) | .count] | add' "$out")
  else
    ours=$(jq -s --arg r "$R" '[.[] | select(.type=="drop_stacks") | .entries[] | select(.reason==$r and ($r != "UNKNOWN" or (.location|test("udp")))) | .count] | add' "$out")
    flows=$(jq -s --arg r "$R" '[.[] | select(.type=="drop_stacks") | .entries[] | select(.reason==$r and ($r != "UNKNOWN" or (.location|test("udp")))) | .dst_port] | unique | length' "$out")
    [ "$flows" -eq 2 ] || fail "$tool: expected 2 flows (4444, 4445), got $flows"
  fi
  [ "$ours" -eq "$kernel" ] || fail "$tool: $R count $ours, Udp NoPorts delta $kernel"
  dev=$(jq -rs --arg r "$R" '[.[] | select(.type=="drop_stacks") | .entries[] | select(.reason==$r and ($r != "UNKNOWN" or (.location|test("udp")))) | .interface] | unique | join(",")' "$out")
  [ "$dev" = veth-b ] || fail "$tool: drops attributed to '$dev'"
  stack=$(jq -rs --arg r "$R" '[.[] | select(.type=="drop_stacks") | .entries[] | select(.reason==$r and ($r != "UNKNOWN" or (.location|test("udp")))) | .stack[]?] | join(" ")' "$out")
  [[ $stack == *udp* ]] || fail "$tool: $R stack lacks the UDP receive path: $stack"
  pass "$tool: $ours $R drops on veth-b = Udp NoPorts delta $kernel"
done
