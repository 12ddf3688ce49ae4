#!/bin/bash
# cpu monitor and cpu schedlat inside the lab kernels, compared with /proc/stat and schedstat
# (-DNETTRACE_LAB_CPU=OFF leaves it out; ~40 s of guest time per kernel).
cd "$(dirname "$0")/../../.." || exit 1
exec tests/lab/run_integration.sh tests/integration/cpu_monitor.sh tests/integration/cpu_schedlat.sh
