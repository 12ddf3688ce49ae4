#!/bin/bash
# Slowdown of a traced workload: the cpu test workloads' own CLOCK_MONOTONIC run time (wall_ns, measured by
# the workload from "go" to its last thread's end) untraced, traced by nettrace, and traced by the bpftrace
# equivalent, side by side in one run (the three modes alternate every round, so drifting machine load hits
# all three alike). Medians over ROUNDS, and ratios against the untraced run.
#
#   workload                                      nettrace                bpftrace equivalent
#   nt_sleeper: 4000 x nanosleep(100 us)          cpu offcpu -p PID       sched_switch: kstack+ustack per block (offcputime)
#   nt_mutex:   4 threads x 4000 lock/unlock      cpu futex --pid PID     futex.bt: sys_enter/exit_futex per op histograms
#   nt_rwlock:  4 threads x 4000 wrlock/unlock    cpu rwlock -p PID       pthread_rwlock_wrlock.bt: uprobe + uretprobe
#
# Each tracer is attached before the workload is told to go (nettrace: --ready-file; bpftrace: it starts
# the workload with -c after attaching, and the FIFO write blocks until the workload opens it), so the
# workload's own timing covers only traced work.
# Usage: bench/cpu_slowdown.sh [NETTRACE] [ROUNDS]   (root; prints a markdown table for docs/benchmarks.md)
set -u
NETTRACE=${1:-build/nettrace}
ROUNDS=${2:-5}
BUILD=$(dirname "$NETTRACE")
W=$BUILD/tests/workloads
command -v bpftrace >/dev/null || { echo "bpftrace not installed" >&2; exit 1; }
for w in nt_sleeper nt_mutex nt_rwlock; do [ -x "$W/$w" ] || { echo "$W/$w not built" >&2; exit 1; }; done
LIBC=$(ldd "$W/nt_rwlock" | awk '/libc\.so/ {print $3; exit}')  # what the workload maps, as nettrace finds it
tmp=$(mktemp -d)
bgpid=
trap '[ -n "$bgpid" ] && kill -INT $bgpid 2>/dev/null; rm -rf "$tmp"' EXIT

N=4000
workload_args() {  # NAME -> the workload's arguments after GO_FIFO
  case $1 in
    sleeper) echo "100 $N" ;;
    mutex | rwlock) echo "4 $N 0" ;;
  esac
}

nettrace_args() {  # NAME PID
  case $1 in
    sleeper) echo "cpu offcpu -p $2" ;;
    mutex) echo "cpu futex --pid $2" ;;
    rwlock) echo "cpu rwlock -p $2" ;;
  esac
}

# bpftrace programs, filtered on cpid: bpftrace -c starts the workload once every probe is
# attached (the documented way to trace a command from its start).
bpftrace_prog() {  # NAME
  case $1 in
    sleeper) cat <<'EOF2'
tracepoint:sched:sched_switch /pid == cpid/ { @start[tid] = nsecs; @ks[tid] = kstack; @us[tid] = ustack; }
tracepoint:sched:sched_switch /@start[args->next_pid]/ { $t = args->next_pid;
  @off[@ks[$t], @us[$t]] = sum(nsecs - @start[$t]); delete(@start[$t]); delete(@ks[$t]); delete(@us[$t]); }
EOF2
    ;;
    mutex) cat <<'EOF2'
tracepoint:syscalls:sys_enter_futex /pid == cpid/ { @start[tid] = nsecs; @op[tid] = args->op & 127; }
tracepoint:syscalls:sys_exit_futex /@start[tid]/ { @us[pid, @op[tid]] = hist((nsecs - @start[tid]) / 1000);
  delete(@start[tid]); delete(@op[tid]); }
EOF2
    ;;
    rwlock) cat <<EOF2
uprobe:$LIBC:pthread_rwlock_wrlock /pid == cpid/ { @start[tid] = nsecs; }
uretprobe:$LIBC:pthread_rwlock_wrlock /@start[tid]/ { @us[tid] = hist((nsecs - @start[tid]) / 1000); delete(@start[tid]); }
EOF2
    ;;
  esac
}

# one NAME MODE: prints the workload's wall_ns under MODE (none | nettrace | bpftrace).
one() {
  local name=$1 mode=$2 wpid
  rm -f "$tmp/go" "$tmp/ready" "$tmp/w"
  mkfifo "$tmp/go"
  case $mode in
    none | nettrace)
      # shellcheck disable=SC2046
      "$W/nt_$name" "$tmp/go" $(workload_args "$name") >"$tmp/w" &
      wpid=$!
      if [ "$mode" = nettrace ]; then
        # shellcheck disable=SC2046
        "$NETTRACE" $(nettrace_args "$name" $wpid) --json --ready-file "$tmp/ready" >/dev/null 2>"$tmp/err" &
        bgpid=$!
        until [ -e "$tmp/ready" ]; do kill -0 $bgpid 2>/dev/null || { cat "$tmp/err" >&2; exit 1; }; sleep 0.01; done
      fi
      echo go >"$tmp/go"
      wait $wpid ;;
    bpftrace)
      bpftrace_prog "$name" >"$tmp/bt"
      bpftrace -c "$W/nt_$name $tmp/go $(workload_args "$name")" "$tmp/bt" >"$tmp/bt.out" 2>&1 &
      bgpid=$!
      echo go >"$tmp/go"  # blocks until the workload opens the FIFO: after bpftrace attached
      wait $bgpid; bgpid=
      grep '^{"' "$tmp/bt.out" >"$tmp/w" || { cat "$tmp/bt.out" >&2; exit 1; } ;;
  esac
  if [ -n "$bgpid" ]; then kill -INT $bgpid; wait $bgpid 2>/dev/null; bgpid=; fi
  jq -r .wall_ns "$tmp/w"
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

modes=(none nettrace bpftrace)
for r in $(seq 1 "$ROUNDS"); do
  for name in sleeper mutex rwlock; do
    for i in 0 1 2; do
      m=${modes[$(( (i + r) % 3 ))]}
      one "$name" "$m" >>"$tmp/$name.$m"
    done
  done
done

echo "| workload | untraced ms | nettrace ms | ratio | bpftrace ms | ratio |"
echo "|---|---|---|---|---|---|"
for name in sleeper mutex rwlock; do
  u=$(median <"$tmp/$name.none"); n=$(median <"$tmp/$name.nettrace"); b=$(median <"$tmp/$name.bpftrace")
  printf '| nt_%s %s | %.1f | %.1f | %.3f× | %.1f | %.3f× |\n' "$name" "$(workload_args "$name")" \
    "$(echo "$u/1000000" | bc -l)" "$(echo "$n/1000000" | bc -l)" "$(echo "$n/$u" | bc -l)" \
    "$(echo "$b/1000000" | bc -l)" "$(echo "$b/$u" | bc -l)"
done
echo "median of $ROUNDS rounds, kernel $(uname -r), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
