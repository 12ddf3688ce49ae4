#!/bin/bash
# Peak RSS (VmHWM) of `nettrace drop --json` one second after attach and one second after its first drop was
# printed (one UDP datagram to a closed port on lo: the location and the stack symbolized), N rounds.
# Usage: bench/drop_first_drop_rss.sh [NETTRACE] [ROUNDS]   (root)
set -u
NETTRACE=${1:-build/nettrace}
ROUNDS=${2:-3}
PORT=${PORT:-7791}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
hwm_kb() { awk '/VmHWM/ {print $2}' /proc/$1/status; }
printf '%-6s %12s %14s %s\n' round idle_MB first_drop_MB stack_frames
for r in $(seq 1 "$ROUNDS"); do
  rm -f "$tmp/ready"
  "$NETTRACE" drop --json --dst-port "$PORT" --ready-file "$tmp/ready" >"$tmp/out" 2>"$tmp/err" &
  pid=$!
  while [ ! -e "$tmp/ready" ]; do kill -0 $pid 2>/dev/null || { cat "$tmp/err" >&2; exit 1; }; sleep 0.01; done
  sleep 1; idle=$(hwm_kb $pid)
  echo x >/dev/udp/127.0.0.1/"$PORT"
  until grep -q '"type":"drop"' "$tmp/out" 2>/dev/null; do sleep 0.01; done
  sleep 1; first=$(hwm_kb $pid)
  kill -INT $pid; wait $pid
  frames=$(grep -m1 '"type":"drop"' "$tmp/out" | jq '.stack | length')
  printf '%-6s %12.1f %14.1f %s\n' "$r" "$(echo "$idle / 1024" | bc -l)" "$(echo "$first / 1024" | bc -l)" "$frames"
done
