#!/bin/bash
# The cpu module's integration tests inside the lab kernel: the same workloads with known waits, run-queue
# delays and CPU use, checked against the kernel's own schedstat and the workloads' own clocks.
cd "$(dirname "$0")/../../.." || exit 1
export NETTRACE=${NETTRACE:-$PWD/build/nettrace} NETTRACE_BUILD=${NETTRACE_BUILD:-$PWD/build}
rc=0
for t in tests/integration/cpu_*.sh; do
  echo "== $t"
  bash "$t"
  r=$?
  [ $r -eq 0 ] || [ $r -eq 77 ] || rc=1
done
exit $rc
