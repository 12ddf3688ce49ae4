#!/bin/bash
# Five at once (issue 15, 3): four `drop --json` with different filters and one `drop stacks --json` run together
# during the same known traffic, and each counts exactly what the kernel counted for its filter:
#   A -> B 10.200.0.2:7101  N1 datagrams   B -> A 10.200.0.1:7104  N4 datagrams
#   A -> B 10.200.0.2:7102  N2 datagrams   A -> B [fd00::2]:7103    N3 datagrams
# Kernel: Udp NoPorts of B rises by N1 + N2, Udp6NoPorts of B by N3, Udp NoPorts of A by N4 (every port is closed).
#   1. drop --dst-port 7101                                      = N1
#   2. drop --src-ip 10.200.0.2 --l4-protocol udp                = N4 (B's datagrams, dropped in A)
#   3. drop --dst-ip fd00::2 --l4-protocol udp                   = N3 = Udp6NoPorts delta of B
#   4. drop --interface veth-b --l4-protocol udp --dst-ip 10.200.0.2 = N1 + N2 = Udp NoPorts delta of B
#   5. drop stacks --device veth-b, NO_SOCKET entries summed     = N1 + N2 + N3 = both NoPorts deltas of B
. "$(dirname "$0")/lib/common.sh"
two_ns
N1=300 N2=200 N3=150 N4=250
snmp6() { ip netns exec "$1" awk -v f="$2" '$1==f { print $2 }' /proc/net/snmp6; }
b4=$(snmp "$NS_B" Udp: NoPorts) b6=$(snmp6 "$NS_B" Udp6NoPorts) a4=$(snmp "$NS_A" Udp: NoPorts)
declare -a PID OUT
i=0
for args in "drop --json --dst-port 7101" \
  "drop --json --src-ip 10.200.0.2 --l4-protocol udp" \
  "drop --json --dst-ip fd00::2 --l4-protocol udp" \
  "drop --json --interface veth-b --l4-protocol udp --dst-ip 10.200.0.2" \
  "drop stacks --json -i 1 --device veth-b --top 1000"; do
  i=$((i + 1))
  # shellcheck disable=SC2086 # the arguments are words
  start_nettrace "$NS_B" "$TMP/$i.json" $args
  PID[$i]=$NT_PID OUT[$i]=$TMP/$i.json
done
ip netns exec "$NS_A" "$PKTSEND" udp 10.200.0.2 7101 $N1 >/dev/null || fail "send failed"
ip netns exec "$NS_A" "$PKTSEND" udp 10.200.0.2 7102 $N2 >/dev/null || fail "send failed"
ip netns exec "$NS_A" "$PKTSEND" udp fd00::2 7103 $N3 >/dev/null || fail "send failed"
ip netns exec "$NS_B" "$PKTSEND" udp 10.200.0.1 7104 $N4 >/dev/null || fail "send failed"
sleep 0.5
kb4=$(( $(snmp "$NS_B" Udp: NoPorts) - b4 )) kb6=$(( $(snmp6 "$NS_B" Udp6NoPorts) - b6 )) ka4=$(( $(snmp "$NS_A" Udp: NoPorts) - a4 ))
echo "kernel: B Udp NoPorts +$kb4 (sent $((N1 + N2))), B Udp6NoPorts +$kb6 (sent $N3), A Udp NoPorts +$ka4 (sent $N4)"
[ "$kb4" -eq $((N1 + N2)) ] && [ "$kb6" -eq $N3 ] && [ "$ka4" -eq $N4 ] || fail "the kernel did not count what was sent"
for i in 1 2 3 4 5; do NT_PID=${PID[$i]}; stop_nettrace "${OUT[$i]}"; done
FAILS=()
check() { # check I LABEL GOT WANT
  local lost
  lost=$(jq -s '[.[] | select(.type=="drop_summary")][0].lost_events // 0' "${OUT[$1]}")
  echo "  $1. $2: $3 (+ $lost lost), kernel $4"
  [ $(($3 + lost)) -eq "$4" ] || FAILS+=("$2: counted $3 + $lost lost, the kernel's counter says $4")
}
drops() { jq -s "[.[] | select(.type==\"drop\") | $2] | length" "${OUT[$1]}"; }
check 1 "drop --dst-port 7101" "$(drops 1 'select(.dst_port==7101)')" $N1
check 2 "drop --src-ip 10.200.0.2 --l4-protocol udp" "$(drops 2 'select(.src_ip=="10.200.0.2")')" "$ka4"
check 3 "drop --dst-ip fd00::2 --l4-protocol udp" "$(drops 3 'select(.dst_ip=="fd00::2")')" "$kb6"
check 4 "drop --interface veth-b --l4-protocol udp --dst-ip 10.200.0.2" "$(drops 4 'select(.dst_ip=="10.200.0.2")')" "$kb4"
# Records outside the filter would be a filter leaking between instances.
for i in 1 2 3 4; do
  n=$(jq -s '[.[] | select(.type=="drop")] | length' "${OUT[$i]}")
  m=$(jq -s '[.[] | select(.type=="drop_summary")][0].events_received' "${OUT[$i]}")
  [ "$n" -eq "$m" ] || FAILS+=("instance $i: $n drop records, its summary says $m events received")
done
st=$(jq -s '[.[] | select(.type=="drop_stacks") | .entries[] | select(.reason=="NO_SOCKET") | .count] | add // 0' "${OUT[5]}")
check 5 "drop stacks --device veth-b (NO_SOCKET)" "$st" $((kb4 + kb6))
[ ${#FAILS[@]} -eq 0 ] || { printf 'FAIL: %s\n' "${FAILS[@]}"; exit 1; }
pass "five instances at once, each equal to the kernel's counter for its filter"
