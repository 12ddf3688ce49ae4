#!/bin/bash
# The sanitizer tier: builds build-asan (clang; -DNETTRACE_SANITIZE=ON -DNETTRACE_FUZZ=ON: ASan+UBSan on nettrace,
# nettrace_core, the tests and their helpers, any report aborts; libFuzzer targets in tests/fuzz) and runs its
# unit, fuzz and integration labels. Extra arguments go to ctest instead (e.g. `-L fuzz`).
# Every sanitizer report of every process (also one whose test swallowed its stderr or expected a failure exit)
# is kept in build-asan/sanitizer-reports/, printed at the end, and fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f build-asan/CMakeCache.txt ] ||
  cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
    -DNETTRACE_SANITIZE=ON -DNETTRACE_FUZZ=ON -DNETTRACE_LAB_TESTS=OFF >/dev/null
make -C build-asan -j"$(nproc)" --no-print-directory
reports=$PWD/build-asan/sanitizer-reports
rm -rf "$reports"
mkdir -p "$reports"
# Exit status 66 on a report (not 1 or 2, which nettrace itself uses); leaks at exit are reports too.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:exitcode=66:log_path=$reports/asan}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:exitcode=66:log_path=$reports/ubsan}
[ $# -gt 0 ] || set -- -L 'unit|fuzz|integration'
status=0
ctest --test-dir build-asan --output-on-failure "$@" || status=$?
if [ -n "$(ls -A "$reports")" ]; then
  for f in "$reports"/*; do
    echo "=== sanitizer report $f"
    cat "$f"
  done
  echo "test_asan: $(ls "$reports" | wc -l) sanitizer report(s)" >&2
  status=1
fi
exit $status
