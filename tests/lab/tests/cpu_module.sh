#!/bin/bash
# The cpu module's integration tests that pass inside both lab kernels (6.1, 6.12): futex and off-CPU time from
# tracepoints, rwlock waits from uprobes — the same workloads and kernel truth as on the host (getrusage, the
# workloads' own timing), under other verifiers and tracepoint layouts. cpu monitor and schedlat are in
# cpu_sched.sh.
cd "$(dirname "$0")/../../.." || exit 1
exec tests/lab/run_integration.sh tests/integration/cpu_futex.sh tests/integration/cpu_offcpu.sh \
  tests/integration/cpu_rwlock.sh
