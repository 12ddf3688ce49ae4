#!/bin/bash
# run_integration.sh SCRIPT...: runs host integration scripts inside a lab guest, one after the other, and
# fails when any fails (77, skip, is not a failure). The lab's module tests are this loop over their module's
# scripts; they set NETTRACE/NETTRACE_BUILD defaults for runs outside ctest.
cd "$(dirname "$0")/../.." || exit 1
export NETTRACE=${NETTRACE:-$PWD/build/nettrace} NETTRACE_BUILD=${NETTRACE_BUILD:-$PWD/build}
rc=0
for t in "$@"; do
  echo "== $t"
  bash "$t"
  r=$?
  [ $r -eq 0 ] || [ $r -eq 77 ] || rc=1
done
exit $rc
