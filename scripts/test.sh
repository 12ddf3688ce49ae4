#!/bin/bash
# Builds (if needed) and runs every test tier: unit, bpf, integration (netns + real traffic), package (.deb),
# lab (QEMU); then the sanitizer tier: build-asan (clang, ASan+UBSan on every host target, libFuzzer targets) runs the unit, fuzz and
# integration labels; then prints the time each tier took (the lab per module and kernel).
# Extra arguments go to ctest, e.g. `scripts/test.sh -L unit`; with arguments the sanitizer tier is skipped unless
# NETTRACE_ASAN=1 (then it gets the same arguments). NETTRACE_ASAN=0 skips it on a full run too; NETTRACE_ASAN=only
# runs only the sanitizer tier (e.g. `NETTRACE_ASAN=only scripts/test.sh -L fuzz`).
set -euo pipefail
cd "$(dirname "$0")/.."
asan=${NETTRACE_ASAN:-$([ $# -eq 0 ] && echo 1 || echo 0)}
if [ "$asan" = only ]; then
	exec bash scripts/test_asan.sh "$@"
fi
[ -f build/CMakeCache.txt ] || cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
t0=$SECONDS
make -C build -j"$(nproc)" --no-print-directory
build_s=$((SECONDS - t0))

log=$(mktemp /tmp/nettrace-ctest.XXXXXX)
tiers=$(mktemp /tmp/nettrace-tiers.XXXXXX)
trap 'rm -f "$log" "$tiers"' EXIT
# Test name -> tier, from the labels (gtest names its tests Suite.Case, so the name alone does not say).
for tier in unit bpf integration package lab; do
	ctest --test-dir build -N -L "^$tier\$" 2>/dev/null | sed -nE "s/^ *Test +#[0-9]+: ([^ ]+).*/\\1 $tier/p"
done >"$tiers"

t0=$SECONDS
rc=0
ctest --test-dir build --output-on-failure "$@" 2>&1 | tee "$log" || rc=$?
ctest_s=$((SECONDS - t0))
asan_s=-1
if [ "$asan" = 1 ]; then
	t0=$SECONDS
	bash scripts/test_asan.sh "$@" || rc=1
	asan_s=$((SECONDS - t0))
fi

# Per-tier table from ctest's result lines ("  3/97 Test  #3: name ....   Passed    0.01 sec"); lab rows per
# module suite (lab.<kernel>.<module>).
awk -v build="$build_s" -v total="$ctest_s" -v asan="$asan_s" '
	FNR == NR { tier[$1] = $2; next }
	match($0, /Test +#[0-9]+: [^ ]+ /) {
		name = $0; sub(/.*Test +#[0-9]+: /, "", name); sub(/ .*/, "", name)
		if (!match($0, /[0-9.]+ sec *$/)) next
		secs = substr($0, RSTART); sub(/ sec.*/, "", secs)
		st = ($0 ~ /Passed/) ? "pass" : ($0 ~ /Skipped/) ? "skip" : "fail"
		t = (name in tier) ? tier[name] : "other"
		row = (t == "lab") ? name : t
		if (!(row in n)) order[++rows] = row
		n[row]++; s[row] += secs; c[row, st]++
		if (t == "lab") { n["lab (all)"]++; s["lab (all)"] += secs; c["lab (all)", st]++ }
	}
	END {
		if (!rows) exit
		printf "\n%-28s %6s %5s %5s %5s %9s\n", "tier", "tests", "pass", "fail", "skip", "seconds"
		printf "%-28s %6s %5s %5s %5s %9d\n", "build", "", "", "", "", build
		for (i = 1; i <= rows; i++) {
			r = order[i]
			printf "%-28s %6d %5d %5d %5d %9.1f\n", r, n[r], c[r, "pass"], c[r, "fail"], c[r, "skip"], s[r]
		}
		if ("lab (all)" in n)
			printf "%-28s %6d %5d %5d %5d %9.1f\n", "lab (all)", n["lab (all)"], c["lab (all)", "pass"], c["lab (all)", "fail"], c["lab (all)", "skip"], s["lab (all)"]
		printf "%-28s %6s %5s %5s %5s %9d\n", "ctest wall time", "", "", "", "", total
		if (asan >= 0) printf "%-28s %6s %5s %5s %5s %9d\n", "sanitizer tier (build+test)", "", "", "", "", asan
	}' "$tiers" "$log"
exit "$rc"
