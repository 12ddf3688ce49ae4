#!/bin/bash
# An nftables/iptables DROP rule: nettrace's NETFILTER_DROP count for that flow must equal the
# rule's packet counter; traffic the filters exclude (other port, other protocol) must not appear.
. "$(dirname "$0")/lib/common.sh"
command -v iptables >/dev/null || skip "iptables not installed"
two_ns
ip netns exec "$NS_B" iptables -A INPUT -p udp --dport 7777 -j DROP || skip "iptables rules not supported by this kernel"
ip netns exec "$NS_B" iptables -A INPUT -p udp --dport 7778 -j DROP
out=$TMP/ipt.json
start_nettrace "$NS_B" "$out" drop --json --src-ip 10.200.0.1 --dst-port 7777 --l4-protocol udp
ip netns exec "$NS_A" "$PKTSEND" udp 10.200.0.2 7777 25 >/dev/null || fail "send failed"
ip netns exec "$NS_A" "$PKTSEND" udp 10.200.0.2 7778 11 >/dev/null || fail "send failed"   # filtered out
ip netns exec "$NS_A" "$PKTSEND" udp 10.200.0.2 9999 13 >/dev/null || fail "send failed"   # NO_SOCKET, filtered out
sleep 0.3
stop_nettrace "$out"
rule=$(ip netns exec "$NS_B" iptables -L INPUT -v -n -x | awk '/dpt:7777/ {print $1}')
other=$(ip netns exec "$NS_B" iptables -L INPUT -v -n -x | awk '/dpt:7778/ {print $1}')
[ "$rule" -eq 25 ] && [ "$other" -eq 11 ] || fail "rule counters $rule/$other, expected 25/11"
# Before 5.17 the reason is UNKNOWN; the location (nf_hook_slow) then says netfilter dropped it.
R=$(reason_or_unknown NETFILTER_DROP)
ours=$(jq -s --arg r "$R" '[.[] | select(.type=="drop" and .reason==$r and .dst_port==7777 and ($r != "UNKNOWN" or (.location|test("nf_hook"))))] | length' "$out")
all=$(jq -s '[.[] | select(.type=="drop")] | length' "$out")
[ "$ours" -eq "$rule" ] || fail "nettrace saw $ours $R drops, rule counter $rule"
[ "$all" -eq "$ours" ] || fail "filters let $((all - ours)) other drops through"
total=$(jq -s '[.[] | select(.type=="drop_summary")][0].drops' "$out")
[ "$total" -eq "$rule" ] || fail "summary counts $total drops, rule counter $rule"
pass "$ours $R drops = rule counter $rule; other traffic excluded"
