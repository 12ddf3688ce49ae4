#!/bin/bash
# The cpu module's integration tests inside the lab kernels (6.1, 6.12): the same workloads compared with
# the same kernel truth as on the host (schedstat, /proc/stat, getrusage, the workloads' own timing), on
# kernels with other verifiers, tracepoint layouts and, under QEMU TCG, a much slower scheduler path.
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
