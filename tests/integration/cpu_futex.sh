#!/usr/bin/env bash
# nettrace cpu futex against a known mutex: nt_mutex runs 3 threads that each take one pthread mutex
# 50 times and hold it 2 ms (sleeping), timing every pthread_mutex_lock() itself. The most contended
# futex word nettrace reports must be that mutex's address, and its total FUTEX_WAIT time must be
# at most the threads' own lock-wait time and at least 90% of it (the rest is the user-space spin
# and syscall entry/exit around the wait). The holds alone guarantee waits: 3 x 50 x 2 ms = 300 ms
# of holding means the other threads wait at least 100 ms in total.
set -u
NETTRACE=${NETTRACE:?NETTRACE must point to the nettrace binary}
BUILD=${NETTRACE_BUILD:-$(dirname "$NETTRACE")}
MUTEX=$BUILD/tests/workloads/nt_mutex
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (BPF)"; exit 77; }
[ -x "$MUTEX" ] || { echo "SKIP: $MUTEX not built"; exit 77; }
# tracefs is not mounted at boot here; nettrace mounts it itself, so whether this kernel has the tracepoint
# must not depend on which test ran first.
mountpoint -q /sys/kernel/tracing || mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
[ -d /sys/kernel/tracing/events/syscalls/sys_enter_futex ] || [ -d /sys/kernel/debug/tracing/events/syscalls/sys_enter_futex ] ||
  { echo "SKIP: kernel has no syscalls:sys_enter_futex tracepoint (CONFIG_FTRACE_SYSCALLS)"; exit 77; }
command -v jq >/dev/null || { echo "SKIP: needs jq"; exit 77; }

tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$tmp"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
wait_file() { for _ in $(seq 200); do [ -e "$1" ] && return 0; sleep 0.1; done; return 1; }

mkfifo "$tmp/go"
"$MUTEX" "$tmp/go" 3 50 2000 >"$tmp/w" &
wpid=$!; pids+=("$wpid")
"$NETTRACE" cpu futex --pid "$wpid" --json --ready-file "$tmp/ready" --duration 60 >"$tmp/out" 2>"$tmp/err" &
npid=$!; pids+=("$npid")
wait_file "$tmp/ready" || { cat "$tmp/err"; fail "nettrace did not attach"; }
echo go >"$tmp/go"
wait "$wpid" || fail "workload failed"
kill -INT "$npid"
wait "$npid" || { cat "$tmp/err"; fail "nettrace exited non-zero"; }

mutex=$(jq -r .mutex "$tmp/w")
user_wait=$(jq -r .lock_wait_ns "$tmp/w")
top=$(jq -r -s '[.[] | select(.type=="futex_summary")][0].contended[0].uaddr' "$tmp/out")
kern=$(jq -r -s --arg m "$mutex" '[.[] | select(.type=="futex_summary")][0].contended[] | select(.uaddr==$m) | .total_ns' "$tmp/out")
waits=$(jq -r -s --arg m "$mutex" '[.[] | select(.type=="futex_summary")][0].contended[] | select(.uaddr==$m) | .waits' "$tmp/out")
echo "mutex $mutex: nettrace $waits waits, ${kern:-0} ns in FUTEX_WAIT; the threads timed ${user_wait} ns in pthread_mutex_lock"
[ "$top" = "$mutex" ] || fail "most contended futex word is $top, not the mutex $mutex"
[ "${kern:-0}" -le "$user_wait" ] || fail "futex wait time exceeds the lock-wait time the threads measured"
[ "$(( kern * 10 ))" -ge "$(( user_wait * 9 ))" ] || fail "futex wait time is below 90% of the measured lock-wait time"
[ "$kern" -ge 100000000 ] || fail "less than the 100 ms of waiting the holds guarantee"
jq -e -s '[.[] | select(.type=="futex_summary")][0].groups | any(.op=="WAIT" and .hist_us.count > 0)' "$tmp/out" >/dev/null ||
  fail "no FUTEX_WAIT histogram"

"$NETTRACE" cpu futex -p no-such-task -d 1 >/dev/null 2>"$tmp/e"; rc=$?
[ "$rc" = 2 ] && grep -q no-such-task "$tmp/e" || fail "unknown name: exit $rc, $(cat "$tmp/e")"
echo "PASS"
