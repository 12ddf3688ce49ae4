#!/usr/bin/env bash
# nettrace cpu futex against a known mutex: nt_mutex runs 3 threads that each take one pthread mutex
# 50 times and hold it 2 ms (sleeping), timing every pthread_mutex_lock() itself. The most contended
# futex word nettrace reports must be that mutex's address, and its total FUTEX_WAIT time must be
# at most the threads' own lock-wait time and at least 90% of it (the rest is the user-space spin
# and syscall entry/exit around the wait). The holds alone guarantee waits: 3 x 50 x 2 ms = 300 ms
# of holding means the other threads wait at least 100 ms in total.
. "$(dirname "$0")/lib/common.sh"
BUILD=$NETTRACE_BUILD
MUTEX=$BUILD/tests/workloads/nt_mutex
[ -x "$MUTEX" ] || fail "$MUTEX not built (a broken build, not a missing kernel feature)"
# has_tracepoint mounts tracefs first: whether this kernel has the tracepoint must not depend on which test ran first.
has_tracepoint syscalls/sys_enter_futex || [ -d /sys/kernel/debug/tracing/events/syscalls/sys_enter_futex ] ||
  skip "kernel has no syscalls:sys_enter_futex tracepoint (CONFIG_FTRACE_SYSCALLS)"

mkfifo "$TMP/go"
"$MUTEX" "$TMP/go" 3 50 2000 >"$TMP/w" &
wpid=$!; PIDS+=("$wpid")
"$NETTRACE" cpu futex --pid "$wpid" --json --ready-file "$TMP/ready" --duration 60 >"$TMP/out" 2>"$TMP/err" &
npid=$!; PIDS+=("$npid")
wait_file "$TMP/ready" || { cat "$TMP/err"; fail "nettrace did not attach"; }
echo go >"$TMP/go"
wait "$wpid" || fail "workload failed"
kill -INT "$npid"
wait "$npid" || { cat "$TMP/err"; fail "nettrace exited non-zero"; }

mutex=$(jq -r .mutex "$TMP/w")
user_wait=$(jq -r .lock_wait_ns "$TMP/w")
top=$(jq -r -s '[.[] | select(.type=="futex_summary")][0].contended[0].uaddr' "$TMP/out")
kern=$(jq -r -s --arg m "$mutex" '[.[] | select(.type=="futex_summary")][0].contended[] | select(.uaddr==$m) | .total_ns' "$TMP/out")
waits=$(jq -r -s --arg m "$mutex" '[.[] | select(.type=="futex_summary")][0].contended[] | select(.uaddr==$m) | .waits' "$TMP/out")
echo "mutex $mutex: nettrace $waits waits, ${kern:-0} ns in FUTEX_WAIT; the threads timed ${user_wait} ns in pthread_mutex_lock"
[ "$top" = "$mutex" ] || fail "most contended futex word is $top, not the mutex $mutex"
[ "${kern:-0}" -le "$user_wait" ] || fail "futex wait time exceeds the lock-wait time the threads measured"
[ "$(( kern * 10 ))" -ge "$(( user_wait * 9 ))" ] || fail "futex wait time is below 90% of the measured lock-wait time"
[ "$kern" -ge 100000000 ] || fail "less than the 100 ms of waiting the holds guarantee"
jq -e -s '[.[] | select(.type=="futex_summary")][0].groups | any(.op=="WAIT" and .hist.count > 0)' "$TMP/out" >/dev/null ||
  fail "no FUTEX_WAIT histogram"

"$NETTRACE" cpu futex --comm no-such-task -d 1 >/dev/null 2>"$TMP/e"; rc=$?
[ "$rc" = 2 ] && grep -q no-such-task "$TMP/e" || fail "unknown name: exit $rc, $(cat "$TMP/e")"
echo "PASS"
