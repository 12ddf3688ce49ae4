#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# nettrace-lab: --nics 2
# Lab test: `nettrace virtio rcvbuf` (trace_virtio_net_rcvbuf) on vnic1 (lab_virtio_pair) while vp0 pings vp1 N times:
# one record per packet vnic1 received (= its rx_packets delta, bounded as in pair.sh), N of them ICMP echo requests
# 10.0.3.1 -> 10.0.3.2 of one ICMP id with N consecutive sequence numbers (what ping sent), all on rx0.
set -euo pipefail
. "$(dirname "$0")/../../fixtures.sh"
lab_require_lab
NETTRACE=${NETTRACE:-build/nettrace}
[[ -x "$NETTRACE" ]] || lab_skip "no nettrace binary at $NETTRACE"
NT=$(realpath "$NETTRACE")
command -v jq >/dev/null || lab_skip "jq is not installed"
lab_virtio_pair
N=20
T=$(mktemp -d /tmp/lab-virtio.XXXXXX)
lab_defer rm -rf "$T"

rx() { lab_stat vp1 vnic1 rx_packets; }
a0=$(rx)
NETTRACE=ip lab_nettrace_start "$T/out" netns exec vp1 "$NT" virtio rcvbuf -I vnic1 --json
a1=$(rx)
lab_ping_ok vp0 "$LAB_VP_IP1" "$N"
b0=$(rx)
lab_nettrace_stop
b1=$(rx)
jq -c 'select(.type == "virtio_rcvbuf_event")' "$T/out" >"$T/ev"
n=$(wc -l <"$T/ev")
((n >= b0 - a1 && n <= b1 - a0)) || lab_fail "rcvbuf: $n records, vnic1 rx_packets grew by $((b0 - a1))..$((b1 - a0))"
jq -c 'select(.icmp_type == 8)' "$T/ev" >"$T/echo"
[[ $(wc -l <"$T/echo") == "$N" ]] || head -n 5 "$T/ev" >&2
lab_assert_eq "echo requests recorded" "$(wc -l <"$T/echo")" "$N"
lab_assert_eq "their flow" "$(jq -r .flow "$T/echo" | sort -u)" "icmp $LAB_VP_IP0 -> $LAB_VP_IP1"
lab_assert_eq "distinct ICMP ids" "$(jq .icmp_id "$T/echo" | sort -u | wc -l)" 1
lab_assert_eq "distinct ICMP sequence numbers" "$(jq .icmp_seq "$T/echo" | sort -un | wc -l)" "$N"
lo=$(jq .icmp_seq "$T/echo" | sort -n | head -1) hi=$(jq .icmp_seq "$T/echo" | sort -n | tail -1)
lab_assert_eq "ICMP sequence span" $((hi - lo + 1)) "$N"
lab_assert_eq "queues" "$(jq -r .queue "$T/ev" | sort -u)" rx0
lab_assert_eq "summary packets" "$(jq 'select(.type == "virtio_rcvbuf_summary") | .packets' "$T/out")" "$n"
echo "PASS: virtio rcvbuf -I vnic1: $n records = rx_packets delta, $N echo requests seq $lo..$hi, one id, rx0"
