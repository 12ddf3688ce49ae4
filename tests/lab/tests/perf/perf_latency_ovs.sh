#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Lab test: perf latency and perf icmp-rtt across the OVS kernel datapath (lab_ovs_bridge). The host's address
# is on the internal port port-storage; pings go out of the "physical" port phy0 to the ext namespace.
# Checks: one record per echo per direction, every stage in order with non-negative deltas, the OVS stages
# present, the first packet of the flow (datapath flows flushed) shows the upcall stages and later packets do
# not, and the records with upcalls agree with the `ovs-appctl dpctl/show` missed delta; fragmented echoes are
# one record each, with an RTT no larger than ping's.
set -uo pipefail
cd "$(dirname "$0")/../../../.." || exit 1
. tests/lab/fixtures.sh
lab_require_lab
NETTRACE=${NETTRACE:-$PWD/build/nettrace}
lab_ovs_bridge
N=8
OUT=${NETTRACE_LAB_OUT:-/tmp}

run_traced() { # run_traced OUTFILE ARGS... : start nettrace, ping N from root, stop
  lab_nettrace_start "$@"
  ovs-appctl dpctl/del-flows system@ovs-system >/dev/null
  lab_ovs_counters
  hit0=$LAB_OVS_HIT missed0=$LAB_OVS_MISSED
  lab_ping_ok root "$LAB_OVS_EXT_IP" "$N"
  lab_ovs_counters
  sleep 0.5
  lab_nettrace_stop
}

check_records() { # check_records OUT TYPE DIRECTION
  local out=$1 type=$2 dir=$3 n bad
  n=$(jq -s --arg t "$type" --arg d "$dir" '[.[] | select(.type==$t and .direction==$d)] | length' "$out")
  lab_assert_eq "$type $dir records" "$n" "$N"
  bad=$(jq -s --arg t "$type" --arg d "$dir" '[.[] | select(.type==$t and .direction==$d) |
        select(([.stages[].delta_us] | min) < 0 or ([.stages[].index] != ([.stages[].index] | sort)) or
               ([.stages[].timestamp_ns] != ([.stages[].timestamp_ns] | sort)))] | length' "$out")
  lab_assert_eq "$type $dir records with stages out of order or negative deltas" "$bad" 0
}

upcalls() { # upcalls OUT TYPE DIRECTION -> number of records with an upcall stage
  jq -s --arg t "$1" --arg d "$2" '[.[] | select(.type==$t and .direction==$d) |
     select([.stages[].stage | test("ovs_dp_upcall|ovs_flow_key_extract_userspace")] | any)] | length' "$3"
}

# --- perf latency, both directions, ICMP between port-storage and ext.
out=$OUT/perf_latency_ovs.json
run_traced "$out" perf latency --phy-interface phy0 --internal-interface port-storage --src-ip "$LAB_OVS_STORAGE_IP" \
  --dst-ip "$LAB_OVS_EXT_IP" --protocol icmp --direction both --mode details --json --disable-kernel-stacks --flow-timeout 5
missed=$((LAB_OVS_MISSED - missed0)) hit=$((LAB_OVS_HIT - hit0))
lab_log "dpctl delta: hit $hit missed $missed"
check_records "$out" latency_flow tx
check_records "$out" latency_flow rx
for dir in tx rx; do
  stages=$(jq -s -r --arg d $dir '[.[] | select(.type=="latency_flow" and .direction==$d)] | last | [.stages[].stage] | join(" -> ")' "$out")
  lab_log "$dir (fast path): $stages"
  for s in ovs_dp_process_packet ovs_vport_send; do
    grep -q "$s" <<<"$stages" || lab_fail "$dir: no $s stage in the fast path: $stages"
  done
  first=$(jq -s -r --arg d $dir '[.[] | select(.type=="latency_flow" and .direction==$d)] | sort_by(.icmp_seq) | first | [.stages[].stage] | join(" -> ")' "$out")
  lab_log "$dir (first packet): $first"
  grep -q ovs_dp_upcall <<<"$first" || lab_fail "$dir: the first packet after the flush shows no upcall: $first"
  seqs=$(jq -s -r --arg d $dir '[.[] | select(.type=="latency_flow" and .direction==$d) |
          select([.stages[].stage | test("ovs_dp_upcall")] | any) | .icmp_seq] | sort | map(tostring) | join(",")' "$out")
  lab_log "$dir: echoes with upcall stages: seq $seqs"
  later=$(jq -s --arg d $dir '[.[] | select(.type=="latency_flow" and .direction==$d and .icmp_seq > 1) |
          select([.stages[].stage | test("ovs_dp_upcall")] | any)] | length' "$out")
  eval "later_$dir=$later"
done
up=$(($(upcalls latency_flow tx "$out") + $(upcalls latency_flow rx "$out")))
# Every upcall nettrace shows is a datapath miss: the first request and reply of the flushed flow always,
# later echoes only when the datapath missed again (dpctl counts those too, with ARP's).
lab_assert_ge "dpctl missed delta >= records with upcalls" "$missed" "$up"
lab_assert_le "later echoes with upcalls (tx+rx) <= misses beyond the first request/reply" $((later_tx + later_rx)) $((missed - 2))
lab_assert_le "later echoes with upcalls (tx+rx)" $((later_tx + later_rx)) $(((2 * N - 2) / 4))
lab_assert_ge "dpctl hit delta >= records without upcalls" "$hit" $((2 * N - up))
# (no process substitution: the lab has no /dev/fd)
n=$(jq -s '[.[] | select(.direction=="tx") | select([.stages[].stage | test("internal_dev_xmit")] | any)] | length' "$out")
lab_assert_eq "tx records through internal_dev_xmit" "$n" "$N"
n=$(jq -s '[.[] | select(.direction=="rx") | select([.stages[].stage | test("icmp_rcv")] | any)] | length' "$out")
lab_assert_eq "rx records ending in icmp_rcv" "$n" "$N"

# --- perf latency summary: end-to-end counts equal the pings.
out=$OUT/perf_latency_ovs_summary.json
run_traced "$out" perf latency --phy-interface phy0 --internal-interface port-storage --src-ip "$LAB_OVS_STORAGE_IP" \
  --dst-ip "$LAB_OVS_EXT_IP" --protocol icmp --direction both --mode summary --interval 1 --json
for dir in tx rx; do
  c=$(jq -s --arg d $dir '[.[] | select(.type=="latency_summary")][0].directions[$d].histograms |
      map(select(.kind=="end_to_end") | .count) | add' "$out")
  lab_assert_eq "summary $dir end-to-end count" "$c" "$N"
done

# --- perf icmp-rtt (system_network_icmp_rtt): RTT per echo through OVS.
out=$OUT/perf_icmp_rtt_ovs.json
run_traced "$out" perf icmp-rtt --phy-interface phy0 --internal-interface port-storage --src-ip "$LAB_OVS_STORAGE_IP" \
  --dst-ip "$LAB_OVS_EXT_IP" --json --disable-kernel-stacks
check_records "$out" icmp_rtt rtt
stages=$(jq -s -r '[.[] | select(.type=="icmp_rtt")] | last | [.stages[].stage] | join(" -> ")' "$out")
lab_log "icmp-rtt: $stages"
grep -q "P2_.*icmp_rcv" <<<"$stages" || lab_fail "icmp-rtt: no reply icmp_rcv stage"

# --- perf icmp-rtt with fragmented echoes (ping -s 3000: 3 fragments each way at MTU 1500): one record per echo,
# from the whole request at ip_output through its first fragment to the reassembled reply at icmp_rcv, each RTT
# no larger than ping's own for that sequence number.
out=$OUT/perf_icmp_rtt_frag_ovs.json
lab_nettrace_start "$out" perf icmp-rtt --phy-interface phy0 --internal-interface port-storage \
  --src-ip "$LAB_OVS_STORAGE_IP" --dst-ip "$LAB_OVS_EXT_IP" --json --disable-kernel-stacks
ping -n -c "$N" -i 0.2 -s 3000 "$LAB_OVS_EXT_IP" >"$OUT/ping_frag.txt" || lab_fail "fragmented ping failed"
sleep 0.5
lab_nettrace_stop
check_records "$out" icmp_rtt rtt
stages=$(jq -s -r '[.[] | select(.type=="icmp_rtt")] | last | [.stages[].stage] | join(" -> ")' "$out")
lab_log "icmp-rtt, fragmented: $stages"
for s in "^P1_S0_ip_output " "P1_.*phy_dev_queue" "P2_.*icmp_rcv\$"; do
  grep -qE "$s" <<<"$stages" || lab_fail "icmp-rtt, fragmented: no stage matching '$s'"
done
jq -r 'select(.type=="icmp_rtt") | "\(.icmp_seq) \(.rtt_us)"' "$out" | sort -n >"$OUT/frag_ours"
sed -n 's/.*icmp_seq=\([0-9]*\) .*time=\([0-9.]*\) ms.*/\1 \2/p' "$OUT/ping_frag.txt" |
  awk '{ printf "%d %.3f\n", $1, $2 * 1000 }' | sort -n >"$OUT/frag_ping"
lab_assert_eq "icmp-rtt, fragmented: echoes in both ping and nettrace" "$(join "$OUT/frag_ours" "$OUT/frag_ping" | wc -l)" "$N"
lab_assert_eq "icmp-rtt, fragmented: echoes with an RTT above ping's" \
  "$(join "$OUT/frag_ours" "$OUT/frag_ping" | awk '$2 > $3 + 0.5 { n++ } END { print n + 0 }')" 0
lab_log "icmp-rtt, fragmented: $(join "$OUT/frag_ours" "$OUT/frag_ping" | awk '{ a += $2; b += $3 } END { printf "avg %.1f us vs ping %.1f us", a/NR, b/NR }')"
echo "PASS: perf latency on OVS"
