#!/bin/bash
# Builds (if needed) and runs every test tier: unit, bpf, integration (netns + real traffic), lab (QEMU).
# Extra arguments go to ctest, e.g. `scripts/test.sh -L unit`.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f build/CMakeCache.txt ] || cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
make -C build -j"$(nproc)" --no-print-directory
ctest --test-dir build --output-on-failure "$@"
