#!/bin/bash
# nettrace cpu offcpu versus BCC's offcputime (bpfcc-tools 0.26), side by side inside the lab: exec -> attached,
# peak RSS, the traced workload's slowdown, and each tool's off-CPU total for the workload's nanosleep stack
# against the time the workload asked to sleep. nt_sleeper sleeps N x T_US in nanosleep(); both tools trace
# only its pid (-p), with kernel and user stacks; medians of ROUNDS, the three runs alternating every round.
#
# BCC compiles its C program at every start and needs the running kernel's headers: Debian's 6.1 and 6.12 do
# not embed them (no CONFIG_IKHEADERS), and the host runs another kernel without kprobes, where offcputime
# cannot attach (finish_task_switch kprobe). So the host part installs bpfcc-tools, fetches
# linux-headers-KVER into the lab cache, and runs this script again inside the lab guest.
#
# Usage: bench/cpu_offcpu_bcc.sh [NETTRACE] [ROUNDS] [KERNEL]   (root, on the host; KERNEL 6.1 or 6.12)
# Prints a markdown table for docs/benchmarks.md.
set -u
cd "$(dirname "$0")/.." || exit 1

if [ "${NETTRACE_LAB:-}" != 1 ]; then
	NETTRACE=$(realpath "${1:-build/nettrace}")
	ROUNDS=${2:-5}
	KERNEL=${3:-6.1}
	CACHE=${NETTRACE_LAB_CACHE:-/var/cache/nettrace-lab}
	[ -x "$NETTRACE" ] || { echo "nettrace binary not found at $NETTRACE" >&2; exit 1; }
	command -v offcputime-bpfcc >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q bpfcc-tools >/dev/null ||
		{ echo "cannot install bpfcc-tools" >&2; exit 1; }
	kver=$(tests/lab/run --prepare-only --kernel "$KERNEL" | sed -n 's/^kernel=\([^ ]*\) .*/\1/p')
	[ -n "$kver" ] || { echo "cannot prepare lab kernel $KERNEL" >&2; exit 1; }
	hdr=$CACHE/headers/$kver
	if [ ! -e "$hdr/.ready" ]; then
		tmp=$(mktemp -d)
		(cd "$tmp" && apt-get download -q "linux-headers-$kver" "linux-headers-${kver%-amd64}-common") >/dev/null ||
			{ rm -rf "$tmp"; echo "cannot download linux-headers-$kver" >&2; exit 1; }
		mkdir -p "$hdr"
		for d in "$tmp"/*.deb; do dpkg -x "$d" "$hdr"; done
		rm -rf "$tmp"
		# Debian splits the headers into -common (sources) and -amd64 (config, generated); BCC_KERNEL_SOURCE
		# takes one tree, so merge them, the flavour's files on top.
		mkdir -p "$hdr/merged"
		cp -a "$hdr/usr/src/linux-headers-${kver%-amd64}-common/." "$hdr/merged/"
		cp -a "$hdr/usr/src/linux-headers-$kver/." "$hdr/merged/"
		: >"$hdr/.ready"
	fi
	NETTRACE=$NETTRACE NETTRACE_BENCH_ROUNDS=$ROUNDS NETTRACE_BENCH_HEADERS=$hdr/merged \
		exec tests/lab/run --kernel "$KERNEL" --timeout 3000 -- bash bench/cpu_offcpu_bcc.sh
fi

# ---- inside the lab guest
NETTRACE=${NETTRACE:?}
ROUNDS=${NETTRACE_BENCH_ROUNDS:-5}
export BCC_KERNEL_SOURCE=${NETTRACE_BENCH_HEADERS:?}
SLEEPER=$(dirname "$NETTRACE")/tests/workloads/nt_sleeper
[ -x "$SLEEPER" ] || { echo "$SLEEPER not built" >&2; exit 1; }
BCC=$(command -v offcputime-bpfcc) || { echo "offcputime-bpfcc not installed" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
T_US=100
N=4000
DURATION=60 # an upper bound: each run is stopped with SIGINT when the workload has finished

now_ms() { date +%s%3N; }
hwm_kb() { awk '/VmHWM/ {print $2}' "/proc/$1/status" 2>/dev/null; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# attached PID: the tracer holds a perf event (BCC's kprobe) or has written its ready file (nettrace).
bcc_attached() { ls -l "/proc/$1/fd" 2>/dev/null | grep -q 'perf_event'; }

# round TOOL: one traced (or untraced: TOOL=none) workload run; appends "attach_ms rss_kb wall_ns sleep_us" to
# $tmp/TOOL (attach_ms, rss_kb and sleep_us are 0 for none).
round() {
	local tool=$1 go=$tmp/go pid wpid t0 t1 rss=0 us=0 wall
	rm -f "$go" "$tmp/ready" "$tmp/out"
	mkfifo "$go"
	"$SLEEPER" "$go" $T_US $N pause >"$tmp/w" &
	wpid=$!
	t0=$(now_ms)
	case $tool in
	nettrace)
		"$NETTRACE" cpu offcpu -p "$wpid" --json --ready-file "$tmp/ready" -d $DURATION >"$tmp/out" 2>"$tmp/err" &
		pid=$!
		until [ -e "$tmp/ready" ]; do kill -0 $pid 2>/dev/null || { cat "$tmp/err" >&2; exit 1; }; sleep 0.005; done ;;
	bcc)
		# A script's background jobs start with SIGINT ignored, and Python then never raises KeyboardInterrupt:
		# restore its handler, then run offcputime as its own __main__.
		/usr/bin/python3 -c 'import runpy, signal, sys
signal.signal(signal.SIGINT, signal.default_int_handler)
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")' "$BCC" -p "$wpid" -f $DURATION >"$tmp/out" 2>"$tmp/err" &
		pid=$!
		until bcc_attached $pid; do kill -0 $pid 2>/dev/null || { cat "$tmp/err" >&2; exit 1; }; sleep 0.05; done ;;
	none) pid= ;;
	esac
	t1=$(now_ms)
	echo go >"$go"
	until [ -s "$tmp/w" ]; do sleep 0.01; done
	wall=$(jq -r .wall_ns "$tmp/w")
	kill "$wpid"
	wait "$wpid" 2>/dev/null
	if [ -n "$pid" ]; then
		rss=$(hwm_kb $pid)
		# Both print their totals on SIGINT (offcputime catches KeyboardInterrupt; SIGTERM would lose them).
		kill -INT $pid
		wait $pid 2>/dev/null
	fi
	case $tool in
	nettrace) us=$(jq -s '[.[] | select(.type=="offcpu_stack" and (.kernel_stack|any(startswith("do_nanosleep")))) | .total_ns] | add // 0 | . / 1000 | floor' "$tmp/out") ;;
	bcc) us=$(awk '/do_nanosleep/ { s += $NF } END { print s + 0 }' "$tmp/out") ;;
	none) t1=$t0 ;;
	esac
	echo "$((t1 - t0)) ${rss:-0} $wall $us" >>"$tmp/$tool"
}

for i in $(seq "$ROUNDS"); do
	for tool in none nettrace bcc; do round $tool; done
	echo "round $i: $(tail -qn1 "$tmp/none" "$tmp/nettrace" "$tmp/bcc" | tr '\n' '|')" >&2
done

col() { cut -d' ' -f"$2" "$tmp/$1" | median; }
base=$(col none 3)
echo "kernel $(uname -r), lab (TCG); nt_sleeper $N x nanosleep($T_US us) = $((N * T_US / 1000)) ms asked; medians of $ROUNDS"
echo
echo "| tool | exec -> attached (ms) | peak RSS (MB) | workload wall time (ms) | slowdown | nanosleep stack off-CPU (ms) |"
echo "|---|---|---|---|---|---|"
printf '| untraced | - | - | %d | 1.00 | - |\n' $((base / 1000000))
for tool in nettrace bcc; do
	name="nettrace cpu offcpu -p"
	[ $tool = bcc ] && name="offcputime-bpfcc -p -f"
	printf '| %s | %d | %.1f | %d | %.2f | %d |\n' "$name" "$(col $tool 1)" "$(echo "$(col $tool 2)/1024" | bc -l)" \
		$(($(col $tool 3) / 1000000)) "$(echo "$(col $tool 3)/$base" | bc -l)" $(($(col $tool 4) / 1000))
done
