#!/usr/bin/env bash
# nettrace cpu monitor against a pinned CPU hog: nt_spin spins 3 s on CPU 1 and reports its own CPU
# time from schedstat (sum_exec_runtime) and the spin's CLOCK_REALTIME bounds. In every interval wholly
# inside the spin CPU 1 must read >= 95% busy (/proc/stat deltas: with the hog always runnable the CPU
# never idles, so 100% is expected; the 5% is tick-accounting slack at the interval's edges). The
# process's life is longer than the spin: taskset, exec and loading come first, and in the lab they
# block on 9p reads and leave CPU 1 idle, so intervals are picked by time, not by the pid appearing.
# The hog's on-CPU time summed over the intervals (sched_switch
# accounting in BPF, slices in progress included) must match its schedstat CPU time within 5% + 20 ms;
# the threshold must trigger perf-event stack sampling on CPU 1 with the hog's nt_spin_loop frame.
# -l/--log must append exactly what stdout shows (JSON and text); the JSON checks read the log.
# A bad CPU list or log path must fail with exit 2 and a one-line error naming it.
. "$(dirname "$0")/lib/common.sh"
BUILD=$NETTRACE_BUILD
SPIN=$BUILD/tests/workloads/nt_spin
[ -x "$SPIN" ] || fail "$SPIN not built (a broken build, not a missing kernel feature)"
[ "$(nproc)" -ge 2 ] || skip "needs CPU 1 (2 CPUs)"

# run NAME SPIN_MS ARGS...: monitor with ARGS while a hog spins SPIN_MS on it; output in
# $TMP/NAME.out, the hog's line in $TMP/NAME.w. Runs in this shell so fail() and cleanup see every process.
run() {
  local name=$1 ms=$2; shift 2
  "$NETTRACE" cpu monitor -i 0.5 --json --ready-file "$TMP/$name.ready" --duration 60 "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" &
  local npid=$!
  PIDS+=("$npid")
  wait_file "$TMP/$name.ready" || { cat "$TMP/$name.err"; fail "$name: nettrace did not attach"; }
  taskset -c 1 "$SPIN" "$ms" >"$TMP/$name.w" || fail "$name: workload failed"
  sleep 0.7
  kill -INT "$npid"
  wait "$npid" || { cat "$TMP/$name.err"; fail "$name: nettrace exited non-zero"; }
}

# Shares and on-CPU time without stack sampling: symbolizing the sampled stacks delays the next report
# (seconds under TCG), which would stretch the intervals past the spin.
# -l/--log appends the same records to a file: the checks below read the log, which must equal stdout
# after the line that was already in the file.
echo "earlier line" >"$TMP/usage.log"
# All CPUs: schedstat also counts the pid's time on CPU 0 before taskset pinned it (fork, exec of taskset).
run usage 3000 --top 64 --log-file "$TMP/usage.log"
[ "$(head -n1 "$TMP/usage.log")" = "earlier line" ] || fail "--log did not append to the existing file"
tail -n +2 "$TMP/usage.log" >"$TMP/out"
cmp -s "$TMP/out" "$TMP/usage.out" || fail "--log file differs from stdout ($(wc -l <"$TMP/out") vs $(wc -l <"$TMP/usage.out") lines)"
cp "$TMP/usage.w" "$TMP/w"
hog=$(jq -r .pid "$TMP/w")
cpu_ns=$(jq -r .cpu_time_ns "$TMP/w")
s0=$(jq -r .spin_start_realtime_ns "$TMP/w"); s1=$(jq -r .spin_end_realtime_ns "$TMP/w")
# Each interval ends at .time (when /proc/stat was read) and lasted .interval_s.
jq -c --argjson p "$hog" 'select(.type=="cpu_interval") |
  ((.time | sub("\\.[0-9]+Z$"; "Z") | fromdateiso8601) * 1e9 + ((.time | capture("(?<f>\\.[0-9]+)Z$").f // "0") | tonumber) * 1e9) as $e |
  .interval_s as $len | .cpus[] | select(.cpu==1) |
  {busy, end: $e, start: ($e - $len * 1e9), hog: ([.top[] | select(.pid==$p) | .runtime_ns] | add // 0)}' "$TMP/out" >"$TMP/iv"
seen=$(jq -s '[.[] | select(.hog > 0)] | length' "$TMP/iv")
total=$(jq -s --argjson p "$hog" '[.[] | select(.type=="cpu_interval") | .cpus[].top[] | select(.pid==$p) | .runtime_ns] | add // 0' "$TMP/out")
inside=$(jq -s --argjson a "$s0" --argjson b "$s1" '[.[] | select(.start >= $a and .end <= $b)] | length' "$TMP/iv")
min_busy=$(jq -s --argjson a "$s0" --argjson b "$s1" '[.[] | select(.start >= $a and .end <= $b) | .busy] | min // 0' "$TMP/iv")
echo "hog pid $hog: schedstat CPU time $cpu_ns ns, nettrace on-CPU time $total ns over $seen intervals; min CPU 1 busy in the $inside intervals inside the spin: $min_busy%"
# A 3 s spin holds at least 2 whole intervals while no interval exceeds 1 s (reports run late under TCG).
[ "$inside" -ge 2 ] || fail "only $inside intervals lie wholly inside the 3 s spin"
diff=$(( total > cpu_ns ? total - cpu_ns : cpu_ns - total ))
tol=$(( cpu_ns / 20 + 20000000 ))
[ "$diff" -le "$tol" ] || fail "on-CPU time differs from schedstat by $diff ns (tolerance $tol ns)"
awk -v b="$min_busy" 'BEGIN { exit !(b >= 95) }' || fail "CPU 1 was only $min_busy% busy while the hog ran"

# Stack sampling: CPU 1 crosses the 90% threshold, a cpu-clock perf event samples it for the next interval.
run stacks 2000 -C 1 --top 8 --min-busy 90
hog=$(jq -r .pid "$TMP/stacks.w")
jq -e -s --argjson p "$hog" '[.[] | select(.type=="cpu_stacks" and .cpu==1) | .stacks[] | select(.pid==$p)] |
   any(.user_stack | any(startswith("nt_spin_loop")))' "$TMP/stacks.out" >/dev/null ||
  fail "no sampled stack of the hog with nt_spin_loop on CPU 1"
echo "sampled hog stacks on CPU 1: $(jq -s --argjson p "$hog" '[.[] | select(.type=="cpu_stacks" and .cpu==1) | .stacks[] | select(.pid==$p) | .count] | add' "$TMP/stacks.out") samples"

# Text mode logs the same text: two 0.5 s intervals in 1.2 s, each with a CPU 1 row, stdout and log equal.
"$NETTRACE" cpu monitor -C 1 -i 0.5 -d 1.2 --log-file "$TMP/text.log" >"$TMP/text.out" 2>"$TMP/text.err" || { cat "$TMP/text.err"; fail "text run failed"; }
cmp -s "$TMP/text.log" "$TMP/text.out" || fail "--log text differs from stdout"
rows=$(grep -c '^ *1 ' "$TMP/text.log")
[ "$rows" -ge 2 ] || fail "--log text has $rows CPU 1 rows, expected at least 2: $(cat "$TMP/text.log")"
"$NETTRACE" cpu monitor -d 1 --log-file /nonexistent-dir/m.log >/dev/null 2>"$TMP/e"; rc=$?
[ "$rc" = 2 ] && grep -q /nonexistent-dir/m.log "$TMP/e" && [ "$(wc -l <"$TMP/e")" = 1 ] ||
  fail "--log to a missing directory: exit $rc, stderr: $(cat "$TMP/e")"

for bad in 0-99 3-1 x; do
  "$NETTRACE" cpu monitor -C "$bad" -d 1 >/dev/null 2>"$TMP/e"; rc=$?
  [ "$rc" = 2 ] && grep -q -- "'$bad'" "$TMP/e" && [ "$(wc -l <"$TMP/e")" = 1 ] ||
    fail "-C $bad: exit $rc, stderr: $(cat "$TMP/e")"
done
echo "PASS"
