#!/usr/bin/env bash
# nettrace cpu rwlock against a known rwlock: nt_rwlock runs 3 writer threads that each take one
# pthread_rwlock_t for writing 40 times and hold it 2 ms (sleeping), timing every
# pthread_rwlock_wrlock() call itself. nettrace (uprobe + uretprobe in the workload's own libc) must
# count exactly the workload's calls, and its total wait must be within 10% of the threads' own total
# and not above it (the workload's clock brackets the probes; the difference is the probe overhead).
# The holds guarantee waiting: 3 x 40 x 2 ms = 240 ms of holding means at least 80 ms of waits in
# total. The --stack run (the pthread_rwlock_wrlock-stack alias) must put every call under a stack
# with pthread_rwlock_wrlock innermost and the workload's writer() thread function above it (at a
# function's entry a frame-pointer unwind skips the immediate caller, nt_rwlock_take_write: its
# return address is on the stack, not yet in a frame). An unknown pid is a one-line usage error (exit 2).
. "$(dirname "$0")/lib/common.sh"
BUILD=$NETTRACE_BUILD
RWLOCK=$BUILD/tests/workloads/nt_rwlock
[ -x "$RWLOCK" ] || fail "$RWLOCK not built"
# Only the kernel feature skips; the lab runs this test on 6.1 and 6.12, which have it (lab module cpu, tests/lab/modules).
[ -e /sys/bus/event_source/devices/uprobe ] || skip "kernel has no uprobe PMU (CONFIG_UPROBE_EVENTS)"

THREADS=3 ITER=40
# run_one OUT [nettrace args...]: one workload run traced by nettrace cpu rwlock.
run_one() {
  local out=$1; shift
  rm -f "$TMP/go" "$TMP/ready"
  mkfifo "$TMP/go"
  "$RWLOCK" "$TMP/go" "$THREADS" "$ITER" 2000 >"$TMP/w" &
  wpid=$!; PIDS+=("$wpid")
  "$@" --pid "$wpid" --json --ready-file "$TMP/ready" --duration 60 >"$out" 2>"$TMP/err" &
  npid=$!; PIDS+=("$npid")
  wait_file "$TMP/ready" || { cat "$TMP/err"; fail "nettrace did not attach"; }
  echo go >"$TMP/go"
  wait "$wpid" || fail "workload failed"
  # nettrace notices the exit and prints its summary.
  wait "$npid" || { cat "$TMP/err"; fail "nettrace exited non-zero"; }
}

run_one "$TMP/out" "$NETTRACE" cpu rwlock
calls=$(jq -r .calls "$TMP/w")
user_wait=$(jq -r .wrlock_wait_ns "$TMP/w")
sum='[.[] | select(.type=="rwlock_summary")][0]'
kcalls=$(jq -r -s "$sum.calls" "$TMP/out")
kern=$(jq -r -s "$sum.total_ns" "$TMP/out")
nthreads=$(jq -r -s "$sum.threads | length" "$TMP/out")
echo "nettrace: $kcalls calls, $kern ns waiting in $nthreads threads; workload: $calls calls, $user_wait ns"
[ "$calls" = $((THREADS * ITER)) ] || fail "workload made $calls calls"
[ "$kcalls" = "$calls" ] || fail "nettrace counted $kcalls calls, the workload made $calls"
[ "$nthreads" = "$THREADS" ] || fail "$nthreads threads in the histograms, expected $THREADS"
[ "$kern" -le "$user_wait" ] || fail "traced wait exceeds the wait the threads measured"
[ "$(( kern * 10 ))" -ge "$(( user_wait * 9 ))" ] || fail "traced wait is not within 10% of the measured wait"
[ "$user_wait" -ge 80000000 ] || fail "less than the 80 ms of waiting the holds guarantee"
jq -e -s "$sum.process_exited == true and $sum.hist.count == $calls" "$TMP/out" >/dev/null ||
  fail "summary histogram does not hold every call, or the exit was not noticed"

# The -stack alias: per user stack counts, symbolized.
ln -sf "$(readlink -f "$NETTRACE")" "$TMP/pthread_rwlock_wrlock-stack"
run_one "$TMP/out2" "$TMP/pthread_rwlock_wrlock-stack"
scalls=$(jq -r -s "[$sum.stacks[] | select((.user_stack[0] | startswith(\"pthread_rwlock_wrlock\")) and any(.user_stack[]; startswith(\"writer+\"))) | .count] | add // 0" "$TMP/out2")
echo "--stack: $scalls calls in pthread_rwlock_wrlock under writer()"
[ "$scalls" = $((THREADS * ITER)) ] || { jq -c -s "$sum.stacks" "$TMP/out2" | head -c 2000; fail "stacks hold $scalls calls"; }

"$NETTRACE" cpu rwlock --pid 999999999 -d 1 >/dev/null 2>"$TMP/e"; rc=$?
[ "$rc" = 2 ] && [ "$(wc -l <"$TMP/e")" = 1 ] && grep -q 999999999 "$TMP/e" || fail "unknown pid: exit $rc, $(cat "$TMP/e")"
echo "PASS"
