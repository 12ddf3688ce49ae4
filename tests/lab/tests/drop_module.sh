#!/bin/bash
# The drop module's integration tests inside the lab kernel: same traffic, same kernel counters, plus the
# fentry and kprobe transmit return-code view that the host kernel cannot run.
cd "$(dirname "$0")/../../.." || exit 1
export NETTRACE=${NETTRACE:-$PWD/build/nettrace} NETTRACE_BUILD=${NETTRACE_BUILD:-$PWD/build}
rc=0
for t in tests/integration/drop_*.sh; do
  echo "== $t"
  bash "$t"
  r=$?
  [ $r -eq 0 ] || [ $r -eq 77 ] || rc=1
done
exit $rc
