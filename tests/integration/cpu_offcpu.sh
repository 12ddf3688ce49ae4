#!/usr/bin/env bash
# nettrace cpu offcpu against known sleeps: nt_sleeper sleeps 50 x 20 ms in nanosleep(). Every sleep
# must be one block in a stack with the kernel's do_nanosleep and the user's clock_nanosleep, and the
# stack's off-CPU total must lie between the time asked for (50 x 20 ms: a sleep never ends early)
# and the loop's own wall-clock time (the workload measures it with CLOCK_MONOTONIC).
# Frames are bare names, or func+0xoff with -s inside the function's bounds (kallsyms, nm -S).
# Folded output must carry the same stack; a pid that does not exist must fail with exit 2.
set -u
NETTRACE=${NETTRACE:?NETTRACE must point to the nettrace binary}
BUILD=${NETTRACE_BUILD:-$(dirname "$NETTRACE")}
SLEEPER=$BUILD/tests/workloads/nt_sleeper
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (BPF)"; exit 77; }
[ -x "$SLEEPER" ] || { echo "SKIP: $SLEEPER not built"; exit 77; }
command -v jq >/dev/null || { echo "SKIP: needs jq"; exit 77; }

tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$tmp"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
wait_file() { for _ in $(seq 200); do [ -e "$1" ] && return 0; sleep 0.1; done; return 1; }
wait_line() { for _ in $(seq 200); do [ -s "$1" ] && return 0; sleep 0.1; done; return 1; }

N=50; T_US=20000
# run NAME ARGS...: starts a sleeper (it stays in pause() afterwards, so its ELF stays readable),
# traces it with ARGS for 4 s, leaves output in $tmp/NAME.json, the workload's line in $tmp/NAME.w and
# its pid in $tmp/NAME.pid. Runs in this shell so that fail() and cleanup see every process.
run() {
  local name=$1; shift
  mkfifo "$tmp/$name.go"
  "$SLEEPER" "$tmp/$name.go" $T_US $N pause >"$tmp/$name.w" &
  local wpid=$!
  pids+=("$wpid")
  "$NETTRACE" cpu offcpu -p "$wpid" "$@" --ready-file "$tmp/$name.ready" 4 >"$tmp/$name.json" 2>"$tmp/$name.err" &
  local npid=$!
  pids+=("$npid")
  wait_file "$tmp/$name.ready" || { cat "$tmp/$name.err"; fail "$name: nettrace did not attach"; }
  echo go >"$tmp/$name.go"
  wait_line "$tmp/$name.w" || fail "$name: workload did not finish"
  wait "$npid" || { cat "$tmp/$name.err"; fail "$name: nettrace exited non-zero"; }
  kill "$wpid"
  echo "$wpid" >"$tmp/$name.pid"
}

run json --json
wpid=$(cat "$tmp/json.pid")
sel='select(.type=="offcpu_stack" and (.kernel_stack|any(startswith("do_nanosleep"))) and (.user_stack|any(startswith("clock_nanosleep"))))'
total=$(jq -s "[.[] | $sel | .total_ns] | add // 0" "$tmp/json.json")
count=$(jq -s "[.[] | $sel | .count] | add // 0" "$tmp/json.json")
others=$(jq -s --argjson p "$wpid" '[.[] | select(.type=="offcpu_stack" and .pid != $p)] | length' "$tmp/json.json")
wall=$(jq -r .wall_ns "$tmp/json.w")
want=$(( N * T_US * 1000 ))
echo "nanosleep stack: $count blocks, $total ns off-CPU; asked $want ns, loop wall time $wall ns"
[ "$others" = 0 ] || fail "-p $wpid reported $others stacks of other processes"
# On a loaded machine a sleep whose timer fires before the thread reaches schedule() never blocks, and a
# thread preempted inside nanosleep() leaves the CPU twice for one sleep. The workload counts both with
# getrusage(RUSAGE_THREAD) around each call: the sleeps that blocked (a voluntary switch) and every switch
# inside the calls. Each blocking sleep is one block in this stack; at most every switch inside is.
blocking=$(jq -r .blocking_sleeps "$tmp/json.w")
in_sleep=$(jq -r .sleep_switches "$tmp/json.w")
kfail=$(jq -s '[.[] | select(.type=="offcpu_summary") | (.kernel_stack_failures // 0) + (.user_stack_failures // 0)] | add // 0' "$tmp/json.json")
echo "kernel: $blocking of $N sleeps blocked, $in_sleep context switches inside them; $kfail stacks not captured"
[ "$count" -ge $(( blocking - kfail )) ] && [ "$count" -le "$in_sleep" ] ||
  fail "expected one block per blocking sleep ($blocking, at most $in_sleep switches), got $count"
[ "$total" -ge $(( want * count / N * 9 / 10 )) ] || fail "off-CPU total $total ns is far below the $want ns slept"
[ "$total" -le "$wall" ] || fail "off-CPU total $total ns exceeds the loop's wall time $wall ns"
jq -e -s '[.[] | select(.type=="offcpu_summary")] | length == 1' "$tmp/json.json" >/dev/null || fail "no offcpu_summary record"

# Frames carry offsets only with -s/--offset (offcputime's meaning). Without it the sleep's kernel frame
# is the bare name; with it the offset of the return address inside do_nanosleep (kernel) and inside
# main (user: libc has no frame pointers, so its caller nt_sleeper_sleep is skipped and main follows
# the leaf) must lie inside that function: 0 < offset < its size, from /proc/kallsyms (distance to the
# next symbol) and the binary's own symbol table (nm -S).
jq -e -s "[.[] | $sel | .kernel_stack[]] | (any(. == \"do_nanosleep\")) and (all(test(\"[+]0x\") | not))" "$tmp/json.json" >/dev/null ||
  fail "without -s: kernel frames should be bare names (do_nanosleep), got $(jq -c -s "[.[] | $sel | .kernel_stack][0]" "$tmp/json.json")"
run offset --json -s
koff=$(jq -r -s "[.[] | $sel | .kernel_stack[] | select(startswith(\"do_nanosleep+0x\"))][0] // \"\" | ltrimstr(\"do_nanosleep+\")" "$tmp/offset.json")
uoff=$(jq -r -s "[.[] | $sel | .user_stack[] | select(startswith(\"main+0x\"))][0] // \"\" | ltrimstr(\"main+\") | sub(\" .*\"; \"\")" "$tmp/offset.json")
[ -n "$koff" ] && [ -n "$uoff" ] || fail "-s: no do_nanosleep+0x… / main+0x… frames: $(jq -c -s "[.[] | $sel][0] | [.kernel_stack, .user_stack]" "$tmp/offset.json")"
kaddr=$(awk '$3 == "do_nanosleep" { print $1; exit }' /proc/kallsyms)
knext=$(cut -d' ' -f1 /proc/kallsyms | sort -u | grep -A1 -x "$kaddr" | tail -n1)
ksize=$(( 0x$knext - 0x$kaddr ))
usize=$(( 0x$(nm -S "$SLEEPER" | awk '$4 == "main" { print $2 }') ))
echo "-s: do_nanosleep+$koff (function size $ksize from kallsyms), main+$uoff (size $usize from nm -S)"
[ $((koff)) -gt 0 ] && [ $((koff)) -lt "$ksize" ] || fail "kernel offset $koff outside do_nanosleep's $ksize bytes"
[ $((uoff)) -gt 0 ] && [ $((uoff)) -lt "$usize" ] || fail "user offset $uoff outside main's $usize bytes"

run folded -f
line=$(grep -E '^nt_sleeper;.*clock_nanosleep;.*do_nanosleep' "$tmp/folded.json" | head -n1)
[ -n "$line" ] || { cat "$tmp/folded.json"; fail "folded output has no nt_sleeper;…clock_nanosleep;…do_nanosleep line"; }
# The sleeps may fold into more than one stack (different kernel paths into the sleep): sum them.
us=$(grep -E '^nt_sleeper;.*clock_nanosleep;.*do_nanosleep' "$tmp/folded.json" | awk '{s += $NF} END {print s + 0}')
echo "folded: ${line:0:100}… total $us us"
[ "$us" -ge $(( want / 1000 * 9 / 10 )) ] || fail "folded total $us us is far below the $(( want / 1000 )) us slept"

"$NETTRACE" cpu offcpu -p 4194304 1 >/dev/null 2>"$tmp/err"; rc=$?
[ "$rc" = 2 ] && grep -q 4194304 "$tmp/err" && [ "$(wc -l <"$tmp/err")" = 1 ] ||
  fail "unknown pid: exit $rc, stderr: $(cat "$tmp/err")"
echo "PASS"
