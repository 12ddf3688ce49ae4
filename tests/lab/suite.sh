#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# tests/lab/suite.sh: run a lab module's checks one after the other in ONE lab guest (see tests/lab/modules and
# docs/lab.md).
#
#   tests/lab/run [--kernel K] -- tests/lab/suite.sh MODULE [CHECK...]   every check of MODULE (or only the named
#                                                                       ones: script names without .sh)
#   tests/lab/suite.sh --list MODULE        the module's check scripts, one per line (host or guest)
#   tests/lab/suite.sh --options MODULE     the lab options the module's checks ask for, merged (tests/lab/run)
#   tests/lab/suite.sh --modules            every module with its kernels column
#
# Each check runs as `bash CHECK` with its own cleanup, under a per-check timeout ($NETTRACE_LAB_CHECK_TIMEOUT,
# default 720 s). Processes a check leaves behind and network namespaces it does not delete are reported and
# removed before the next check starts, so one check's failure does not spill into the next. Every result is
# printed as PASS/FAIL/SKIP with its time; the suite fails if any check failed, and exits 77 only when every check
# skipped. Checks named in $NETTRACE_LAB_SKIP (space-separated script names) are not run.
set -uo pipefail
LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$LAB_DIR/../.." && pwd)
TABLE=$LAB_DIR/modules

# _table: "MODULE KERNELS CHECK..." per module, continuation lines joined.
_table() {
	awk '/^[[:space:]]*(#|$)/ { next }
		/^[[:space:]]/ { if (cur != "") line[cur] = line[cur] " " $0; next }
		{ cur = $1; order[++n] = cur; line[cur] = $0 }
		END { for (i = 1; i <= n; i++) { $0 = line[order[i]]; $1 = $1; print } }' "$TABLE"
}

# _checks MODULE: the module's check scripts (relative to the project root), globs expanded in name order.
_checks() {
	local spec pat f
	spec=$(_table | awk -v m="$1" '$1 == m { $1 = ""; $2 = ""; print; found = 1 } END { exit !found }') ||
		{ echo "suite: no module '$1' in $TABLE" >&2; return 1; }
	(
		cd "$ROOT" || exit 1
		shopt -s nullglob
		for pat in $spec; do
			for f in $pat; do
				[[ -f "$f" ]] && echo "$f"
			done
		done
	)
}

# _options MODULE: merge the checks' "# nettrace-lab:" lines: the largest --nics/--smp/--mem, --tcg multi if any.
_options() {
	local f nics=0 smp=0 mem=0 tcg='' line a
	while read -r f; do
		[[ -n "$f" ]] || continue
		line=$(sed -n 's/^# nettrace-lab:[[:space:]]*//p' "$ROOT/$f" | head -n 1)
		set -- $line
		while [[ $# -gt 0 ]]; do
			a=$1
			case "$a" in
			--*=*) set -- "${a%%=*}" "${a#*=}" "${@:2}"; continue ;;
			esac
			case "$a" in
			--nics) (($2 > nics)) && nics=$2; shift 2 ;;
			--smp) (($2 > smp)) && smp=$2; shift 2 ;;
			--mem) (($2 > mem)) && mem=$2; shift 2 ;;
			--tcg) [[ "$2" == multi ]] && tcg=multi; [[ -z "$tcg" ]] && tcg=$2; shift 2 ;;
			*) echo "suite: $f: lab option $a cannot be merged into a suite" >&2; return 1 ;;
			esac
		done
	done <<<"$(_checks "$1")"
	((nics > 0)) && printf -- '--nics %s ' "$nics"
	((smp > 0)) && printf -- '--smp %s ' "$smp"
	((mem > 0)) && printf -- '--mem %s ' "$mem"
	[[ -n "$tcg" ]] && printf -- '--tcg %s ' "$tcg"
	echo
}

case "${1:-}" in
--list) _checks "$2"; exit ;;
--options) _options "$2"; exit ;;
--modules) _table | awk '{ print $1, $2 }'; exit ;;
"" | -h | --help) sed -n '4,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
esac

MODULE=$1
shift
cd "$ROOT" || exit 1
list=$(_checks "$MODULE") || exit 1
CHECKS=()
while read -r c; do [[ -n "$c" ]] && CHECKS+=("$c"); done <<<"$list"
((${#CHECKS[@]} > 0)) || { echo "suite: module $MODULE has no checks" >&2; exit 1; }
if [[ $# -gt 0 ]]; then # only the named checks
	sel=()
	for want in "$@"; do
		found=
		for c in "${CHECKS[@]}"; do
			[[ "$(basename "$c" .sh)" == "$want" || "$c" == "$want" ]] && { sel+=("$c"); found=1; }
		done
		[[ -n "$found" ]] || { echo "suite: module $MODULE has no check $want" >&2; exit 1; }
	done
	CHECKS=("${sel[@]}")
fi

# Defaults for runs outside ctest (ctest passes NETTRACE and NETTRACE_BUILD).
export NETTRACE=${NETTRACE:-$ROOT/build/nettrace} NETTRACE_BUILD=${NETTRACE_BUILD:-$ROOT/build}
# Under TCG the guest's clock runs on while a vCPU waits for the host: timing thresholds (perf qdisc's sojourns)
# are printed, not judged, in the lab; every count is still compared exactly.
export NETTRACE_TIMING_SLACK_US=${NETTRACE_TIMING_SLACK_US:-off}
CHECK_TIMEOUT=${NETTRACE_LAB_CHECK_TIMEOUT:-720}

# _procs: "pid comm" of every user process (kernel threads, children of kthreadd, excluded), but not this shell's.
_procs() {
	local d stat pid ppid
	for d in /proc/[0-9]*; do
		pid=${d#/proc/}
		[[ $pid == "$$" || $pid == "$BASHPID" ]] && continue
		read -r stat <"$d/stat" 2>/dev/null || continue
		ppid=${stat##*) }
		ppid=${ppid#* }
		ppid=${ppid%% *}
		[[ $pid == 2 || $ppid == 2 ]] && continue
		stat=${stat#*(}
		echo "$pid ${stat%%)*}"
	done
}

# _sweep: kill the processes that did not exist before the check (BEFORE, from _procs) and delete the network
# namespaces it left; both are reported (a check's own cleanup should have removed them).
declare -A BEFORE
_sweep() {
	local pid comm left=() ns
	while read -r pid comm; do
		[[ -z "$pid" || -n "${BEFORE[$pid]:-}" ]] && continue
		[[ -d /proc/$pid ]] || continue
		left+=("$pid($comm)")
		kill -KILL "$pid" 2>/dev/null
	done <<<"$(_procs)"
	((${#left[@]})) && echo "suite: WARNING: $CUR left processes behind, killed: ${left[*]}"
	ns=$(ip netns list 2>/dev/null | awk '{ print $1 }' | tr '\n' ' ')
	if [[ -n "${ns// /}" ]]; then
		echo "suite: WARNING: $CUR left network namespaces behind, deleted: $ns"
		for n in $ns; do ip netns del "$n" 2>/dev/null; done
	fi
}

echo "=== lab suite $MODULE: ${#CHECKS[@]} check(s) on $(uname -r), $(nproc) CPUs, uptime $(cut -d' ' -f1 /proc/uptime) s"
results=() failed=0 passed=0 skipped=0 suite_start=$SECONDS
for CUR in "${CHECKS[@]}"; do
	name=$(basename "$CUR" .sh)
	if [[ " ${NETTRACE_LAB_SKIP:-} " == *" $name "* ]]; then
		results+=("$(printf '%-4s %5ss  %s (excluded by NETTRACE_LAB_SKIP)' SKIP 0 "$CUR")")
		skipped=$((skipped + 1))
		continue
	fi
	echo "=== [$MODULE] $CUR"
	BEFORE=()
	while read -r pid _; do BEFORE[$pid]=1; done <<<"$(_procs)"
	t0=$SECONDS
	timeout -k 10 "$CHECK_TIMEOUT" bash "$CUR" </dev/null
	rc=$?
	dt=$((SECONDS - t0))
	_sweep
	case $rc in
	0) res=PASS; passed=$((passed + 1)) ;;
	77) res=SKIP; skipped=$((skipped + 1)) ;;
	124 | 137) res=FAIL; failed=$((failed + 1)); echo "suite: $CUR did not finish within ${CHECK_TIMEOUT}s" ;;
	*) res=FAIL; failed=$((failed + 1)) ;;
	esac
	echo "=== [$MODULE] $res $CUR (${dt}s, status $rc)"
	results+=("$(printf '%-4s %5ss  %s' "$res" "$dt" "$CUR")")
done
echo "=== lab suite $MODULE on $(uname -r): $passed passed, $failed failed, $skipped skipped in $((SECONDS - suite_start))s"
printf '  %s\n' "${results[@]}"
((failed > 0)) && exit 1
((passed == 0)) && exit 77
exit 0
