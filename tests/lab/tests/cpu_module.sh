#!/bin/bash
# The cpu module's integration tests inside the lab kernels (6.1, 6.12): the same workloads compared with
# the same kernel truth as on the host (schedstat, /proc/stat, getrusage, the workloads' own timing), on
# kernels with other verifiers, tracepoint layouts and, under QEMU TCG, a much slower scheduler path.
cd "$(dirname "$0")/../../.." || exit 1
exec tests/lab/run_integration.sh tests/integration/cpu_*.sh
