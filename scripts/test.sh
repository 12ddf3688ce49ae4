#!/bin/bash
# Builds (if needed) and runs every test tier: unit, bpf, integration (netns + real traffic), lab (QEMU); then the
# sanitizer tier: build-asan (clang, ASan+UBSan on every host target, libFuzzer targets) runs the unit, fuzz and
# integration labels.
# Extra arguments go to ctest, e.g. `scripts/test.sh -L unit`; with arguments the sanitizer tier is skipped unless
# NETTRACE_ASAN=1 (then it gets the same arguments). NETTRACE_ASAN=0 skips it on a full run too; NETTRACE_ASAN=only
# runs only the sanitizer tier (e.g. `NETTRACE_ASAN=only scripts/test.sh -L fuzz`).
set -euo pipefail
cd "$(dirname "$0")/.."
asan=${NETTRACE_ASAN:-$([ $# -eq 0 ] && echo 1 || echo 0)}
status=0
if [ "$asan" != only ]; then
  [ -f build/CMakeCache.txt ] || cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
  make -C build -j"$(nproc)" --no-print-directory
  ctest --test-dir build --output-on-failure "$@" || status=$?
fi
if [ "$asan" = 1 ] || [ "$asan" = only ]; then
  bash scripts/test_asan.sh "$@" || status=$?
fi
exit $status
