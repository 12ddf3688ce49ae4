#!/usr/bin/env bash
# nettrace cpu offcpu against known sleeps: nt_sleeper sleeps 50 x 20 ms in nanosleep(). Every sleep
# must be one block in a stack with the kernel's do_nanosleep and the user's clock_nanosleep, and the
# stack's off-CPU total must lie between the time asked for (50 x 20 ms: a sleep never ends early)
# and the loop's own wall-clock time (the workload measures it with CLOCK_MONOTONIC).
# Frames are bare names, or func+0xoff with -s inside the function's bounds (kallsyms, nm -S).
# Folded output must carry the same stack; a pid that does not exist must fail with exit 2.
. "$(dirname "$0")/lib/common.sh"
BUILD=$NETTRACE_BUILD
SLEEPER=$BUILD/tests/workloads/nt_sleeper
[ -x "$SLEEPER" ] || fail "$SLEEPER not built (a broken build, not a missing kernel feature)"

N=50; T_US=20000
# run NAME ARGS...: starts a sleeper (it stays in pause() afterwards, so its ELF stays readable),
# traces it with ARGS for 4 s, leaves output in $TMP/NAME.json, the workload's line in $TMP/NAME.w and
# its pid in $TMP/NAME.pid. Runs in this shell so that fail() and cleanup see every process.
run() {
  local name=$1; shift
  mkfifo "$TMP/$name.go"
  "$SLEEPER" "$TMP/$name.go" $T_US $N pause >"$TMP/$name.w" &
  local wpid=$!
  PIDS+=("$wpid")
  "$NETTRACE" cpu offcpu -p "$wpid" "$@" --ready-file "$TMP/$name.ready" -d 4 >"$TMP/$name.json" 2>"$TMP/$name.err" &
  local npid=$!
  PIDS+=("$npid")
  wait_file "$TMP/$name.ready" || { cat "$TMP/$name.err"; fail "$name: nettrace did not attach"; }
  echo go >"$TMP/$name.go"
  wait_line "$TMP/$name.w" || fail "$name: workload did not finish"
  wait "$npid" || { cat "$TMP/$name.err"; fail "$name: nettrace exited non-zero"; }
  kill "$wpid"
  echo "$wpid" >"$TMP/$name.pid"
}

run json --json
wpid=$(cat "$TMP/json.pid")
sel='select(.type=="offcpu_stack" and (.kernel_stack|any(startswith("do_nanosleep"))) and (.user_stack|any(startswith("clock_nanosleep"))))'
total=$(jq -s "[.[] | $sel | .total_ns] | add // 0" "$TMP/json.json")
count=$(jq -s "[.[] | $sel | .count] | add // 0" "$TMP/json.json")
others=$(jq -s --argjson p "$wpid" '[.[] | select(.type=="offcpu_stack" and .pid != $p)] | length' "$TMP/json.json")
wall=$(jq -r .wall_ns "$TMP/json.w")
want=$(( N * T_US * 1000 ))
echo "nanosleep stack: $count blocks, $total ns off-CPU; asked $want ns, loop wall time $wall ns"
[ "$others" = 0 ] || fail "-p $wpid reported $others stacks of other processes"
# On a loaded machine a sleep whose timer fires before the thread reaches schedule() never blocks, and a
# thread preempted inside nanosleep() leaves the CPU twice for one sleep. The workload counts both with
# getrusage(RUSAGE_THREAD) around each call: the sleeps that blocked (a voluntary switch) and every switch
# inside the calls. Each blocking sleep is one block in this stack; at most every switch inside is.
blocking=$(jq -r .blocking_sleeps "$TMP/json.w")
in_sleep=$(jq -r .sleep_switches "$TMP/json.w")
kfail=$(jq -s '[.[] | select(.type=="offcpu_summary") | (.kernel_stack_failures // 0) + (.user_stack_failures // 0)] | add // 0' "$TMP/json.json")
echo "kernel: $blocking of $N sleeps blocked, $in_sleep context switches inside them; $kfail stacks not captured"
[ "$count" -ge $(( blocking - kfail )) ] && [ "$count" -le "$in_sleep" ] ||
  fail "expected one block per blocking sleep ($blocking, at most $in_sleep switches), got $count"
[ "$total" -ge $(( want * count / N * 9 / 10 )) ] || fail "off-CPU total $total ns is far below the $want ns slept"
[ "$total" -le "$wall" ] || fail "off-CPU total $total ns exceeds the loop's wall time $wall ns"
jq -e -s '[.[] | select(.type=="offcpu_summary")] | length == 1' "$TMP/json.json" >/dev/null || fail "no offcpu_summary record"

# Frames carry offsets only with -s/--offset (offcputime's meaning). Without it the sleep's kernel frame
# is the bare name; with it the offset of the return address inside do_nanosleep (kernel) and inside
# main (user: libc has no frame pointers, so its caller nt_sleeper_sleep is skipped and main follows
# the leaf) must lie inside that function: 0 < offset < its size, from /proc/kallsyms (distance to the
# next symbol) and the binary's own symbol table (nm -S).
jq -e -s "[.[] | $sel | .kernel_stack[]] | (any(. == \"do_nanosleep\")) and (all(test(\"[+]0x\") | not))" "$TMP/json.json" >/dev/null ||
  fail "without -s: kernel frames should be bare names (do_nanosleep), got $(jq -c -s "[.[] | $sel | .kernel_stack][0]" "$TMP/json.json")"
run offset --json --offset
koff=$(jq -r -s "[.[] | $sel | .kernel_stack[] | select(startswith(\"do_nanosleep+0x\"))][0] // \"\" | ltrimstr(\"do_nanosleep+\")" "$TMP/offset.json")
uoff=$(jq -r -s "[.[] | $sel | .user_stack[] | select(startswith(\"main+0x\"))][0] // \"\" | ltrimstr(\"main+\") | sub(\" .*\"; \"\")" "$TMP/offset.json")
[ -n "$koff" ] && [ -n "$uoff" ] || fail "-s: no do_nanosleep+0x… / main+0x… frames: $(jq -c -s "[.[] | $sel][0] | [.kernel_stack, .user_stack]" "$TMP/offset.json")"
kaddr=$(awk '$3 == "do_nanosleep" { print $1; exit }' /proc/kallsyms)
knext=$(cut -d' ' -f1 /proc/kallsyms | sort -u | grep -A1 -x "$kaddr" | tail -n1)
ksize=$(( 0x$knext - 0x$kaddr ))
usize=$(( 0x$(nm -S "$SLEEPER" | awk '$4 == "main" { print $2 }') ))
echo "-s: do_nanosleep+$koff (function size $ksize from kallsyms), main+$uoff (size $usize from nm -S)"
[ $((koff)) -gt 0 ] && [ $((koff)) -lt "$ksize" ] || fail "kernel offset $koff outside do_nanosleep's $ksize bytes"
[ $((uoff)) -gt 0 ] && [ $((uoff)) -lt "$usize" ] || fail "user offset $uoff outside main's $usize bytes"

run folded --folded
line=$(grep -E '^nt_sleeper;.*clock_nanosleep;.*do_nanosleep' "$TMP/folded.json" | head -n1)
[ -n "$line" ] || { cat "$TMP/folded.json"; fail "folded output has no nt_sleeper;…clock_nanosleep;…do_nanosleep line"; }
# The sleeps may fold into more than one stack (different kernel paths into the sleep): sum them.
us=$(grep -E '^nt_sleeper;.*clock_nanosleep;.*do_nanosleep' "$TMP/folded.json" | awk '{s += $NF} END {print s + 0}')
echo "folded: ${line:0:100}… total $us us"
[ "$us" -ge $(( want / 1000 * 9 / 10 )) ] || fail "folded total $us us is far below the $(( want / 1000 )) us slept"

# Folded output is flame-graph input: with stack captures failing (a one-entry stack map cannot hold the kernel and
# the user stack) every stdout line is still "frames count", and the warning is on stderr.
run tiny --folded --stack-storage-size 1
bad=$(grep -cvE '^[^ ]+ [0-9]+$' "$TMP/tiny.json")
[ "$bad" = 0 ] || { cat "$TMP/tiny.json"; fail "folded output has $bad lines that are not 'frames count'"; }
grep -q "stacks could not be captured" "$TMP/tiny.err" || { cat "$TMP/tiny.err"; fail "no stack-capture warning on stderr"; }

"$NETTRACE" cpu offcpu -p 4194304 -d 1 >/dev/null 2>"$TMP/err"; rc=$?
[ "$rc" = 2 ] && grep -q 4194304 "$TMP/err" && [ "$(wc -l <"$TMP/err")" = 1 ] ||
  fail "unknown pid: exit $rc, stderr: $(cat "$TMP/err")"
echo "PASS"
