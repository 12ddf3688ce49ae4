#!/bin/bash
# Start-up time (exec -> attached) and peak RSS of `nettrace cpu schedlat` versus a bpftrace run-queue
# latency program on the same sched tracepoints (sched_wakeup, sched_wakeup_new, sched_switch; per-name
# log2 histograms, like runqlat.bt), run side by side, N rounds each, medians reported as a table and
# as ratios. Each run traces the whole machine for 1 s after attaching (the RSS includes that).
# Usage: bench/cpu_startup.sh [NETTRACE] [ROUNDS]   (root)
set -u
NETTRACE=${1:-build/nettrace}
ROUNDS=${2:-7}
command -v bpftrace >/dev/null || { echo "bpftrace not installed" >&2; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

now_ms() { date +%s%3N; }
hwm_kb() { awk '/VmHWM/ {print $2}' /proc/$1/status 2>/dev/null; }

run_nettrace() {
  rm -f "$tmp/ready"
  local t0 t1 pid
  t0=$(now_ms)
  "$NETTRACE" cpu schedlat --json --ready-file "$tmp/ready" >/dev/null 2>&1 &
  pid=$!
  while [ ! -e "$tmp/ready" ]; do kill -0 $pid 2>/dev/null || { echo "nettrace failed" >&2; exit 1; }; sleep 0.002; done
  t1=$(now_ms)
  sleep 1
  echo "$((t1 - t0)) $(hwm_kb $pid)"
  kill -TERM $pid; wait $pid 2>/dev/null  # SIGINT is ignored by background jobs of a script
}

BT='tracepoint:sched:sched_wakeup, tracepoint:sched:sched_wakeup_new { @qtime[args->pid] = nsecs; }
tracepoint:sched:sched_switch {
  if (args->prev_state == 0) { @qtime[args->prev_pid] = nsecs; }
  $ns = @qtime[args->next_pid];
  if ($ns) { @usecs[args->next_comm] = hist((nsecs - $ns) / 1000); }
  delete(@qtime[args->next_pid]);
}'

run_bpftrace() {
  local t0 t1 pid
  : >"$tmp/bt.out"
  t0=$(now_ms)
  bpftrace -e "$BT" >"$tmp/bt.out" 2>&1 &
  pid=$!
  until grep -q Attaching "$tmp/bt.out"; do kill -0 $pid 2>/dev/null || { cat "$tmp/bt.out" >&2; echo "bpftrace failed" >&2; exit 1; }; sleep 0.002; done
  t1=$(now_ms)
  sleep 1
  echo "$((t1 - t0)) $(hwm_kb $pid)"
  kill -TERM $pid; wait $pid 2>/dev/null  # SIGINT is ignored by background jobs of a script
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

for i in $(seq 1 "$ROUNDS"); do
  run_nettrace >>"$tmp/nt"
  run_bpftrace >>"$tmp/bt"
done
nt_ms=$(cut -d' ' -f1 "$tmp/nt" | median); nt_kb=$(cut -d' ' -f2 "$tmp/nt" | median)
bt_ms=$(cut -d' ' -f1 "$tmp/bt" | median); bt_kb=$(cut -d' ' -f2 "$tmp/bt" | median)
echo "| tool | exec -> attached (median ms) | peak RSS (median MB) |"
echo "|---|---|---|"
printf '| nettrace cpu schedlat | %s | %.1f |\n' "$nt_ms" "$(echo "$nt_kb/1024" | bc -l)"
printf '| bpftrace run-queue latency (sched_wakeup/_new + sched_switch) | %s | %.1f |\n' "$bt_ms" "$(echo "$bt_kb/1024" | bc -l)"
printf 'ratios: start-up %.3fx, peak RSS %.3fx (nettrace / bpftrace, %s rounds, kernel %s)\n' \
  "$(echo "$nt_ms/$bt_ms" | bc -l)" "$(echo "$nt_kb/$bt_kb" | bc -l)" "$ROUNDS" "$(uname -r)"
