#!/usr/bin/env bash
# nettrace cpu monitor against a pinned CPU hog: nt_spin spins 3 s on CPU 1 and reports its own CPU
# time from schedstat (sum_exec_runtime). While it runs CPU 1 must read >= 95% busy (/proc/stat
# deltas, whoever else shares the CPU); the hog's on-CPU time summed over the intervals (sched_switch
# accounting in BPF, slices in progress included) must match its schedstat CPU time within 5% + 20 ms;
# the threshold must trigger perf-event stack sampling on CPU 1 with the hog's nt_spin_loop frame.
# A bad CPU list must fail with exit 2 and a one-line error naming it.
set -u
NETTRACE=${NETTRACE:?NETTRACE must point to the nettrace binary}
BUILD=${NETTRACE_BUILD:-$(dirname "$NETTRACE")}
SPIN=$BUILD/tests/workloads/nt_spin
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (BPF)"; exit 77; }
[ -x "$SPIN" ] || { echo "SKIP: $SPIN not built"; exit 77; }
[ "$(nproc)" -ge 2 ] || { echo "SKIP: needs CPU 1 (2 CPUs)"; exit 77; }
command -v jq >/dev/null || { echo "SKIP: needs jq"; exit 77; }

tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$tmp"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
wait_file() { for _ in $(seq 200); do [ -e "$1" ] && return 0; sleep 0.1; done; return 1; }

"$NETTRACE" cpu monitor -c 1 -i 0.5 -k 64 -t 90 --json --ready-file "$tmp/ready" --duration 60 >"$tmp/out" 2>"$tmp/err" &
npid=$!; pids+=("$npid")
wait_file "$tmp/ready" || { cat "$tmp/err"; fail "nettrace did not attach"; }
taskset -c 1 "$SPIN" 3000 >"$tmp/w" || fail "workload failed"
sleep 0.7
kill -INT "$npid"
wait "$npid" || { cat "$tmp/err"; fail "nettrace exited non-zero"; }

hog=$(jq -r .pid "$tmp/w")
cpu_ns=$(jq -r .cpu_time_ns "$tmp/w")
# Intervals of CPU 1 with the hog's runtime in them.
jq -c --argjson p "$hog" 'select(.type=="cpu_interval") | .cpus[] | select(.cpu==1) |
  {busy, hog: ([.top[] | select(.pid==$p) | .runtime_ns] | add // 0)}' "$tmp/out" >"$tmp/iv"
seen=$(jq -s '[.[] | select(.hog > 0)] | length' "$tmp/iv")
total=$(jq -s '[.[] | .hog] | add // 0' "$tmp/iv")
# Intervals wholly inside the hog's life: drop the first and the last that contain it.
min_busy=$(jq -s '[.[] | select(.hog > 0)] | .[1:-1] | map(.busy) | min // 0' "$tmp/iv")
echo "hog pid $hog: schedstat CPU time $cpu_ns ns, nettrace on-CPU time $total ns over $seen intervals; min CPU 1 busy inside: $min_busy%"
[ "$seen" -ge 4 ] || fail "the hog appears in only $seen intervals of 0.5 s over its 3 s"
diff=$(( total > cpu_ns ? total - cpu_ns : cpu_ns - total ))
tol=$(( cpu_ns / 20 + 20000000 ))
[ "$diff" -le "$tol" ] || fail "on-CPU time differs from schedstat by $diff ns (tolerance $tol ns)"
awk -v b="$min_busy" 'BEGIN { exit !(b >= 95) }' || fail "CPU 1 was only $min_busy% busy while the hog ran"
jq -e -s --argjson p "$hog" '[.[] | select(.type=="cpu_stacks" and .cpu==1) | .stacks[] | select(.pid==$p)] |
   any(.user_stack | any(startswith("nt_spin_loop")))' "$tmp/out" >/dev/null ||
  fail "no sampled stack of the hog with nt_spin_loop on CPU 1"
echo "sampled hog stacks on CPU 1: $(jq -s --argjson p "$hog" '[.[] | select(.type=="cpu_stacks" and .cpu==1) | .stacks[] | select(.pid==$p) | .count] | add' "$tmp/out") samples"

for bad in 0-99 3-1 x; do
  "$NETTRACE" cpu monitor -c "$bad" -d 1 >/dev/null 2>"$tmp/e"; rc=$?
  [ "$rc" = 2 ] && grep -q -- "'$bad'" "$tmp/e" && [ "$(wc -l <"$tmp/e")" = 1 ] ||
    fail "-c $bad: exit $rc, stderr: $(cat "$tmp/e")"
done
echo "PASS"
