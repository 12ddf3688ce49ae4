#!/bin/bash
# cpu monitor and cpu schedlat inside the lab kernels, compared with /proc/stat and schedstat. Opt-in
# (-DNETTRACE_LAB_CPU=ON): on 6.12 under TCG monitor's on-CPU time still reads ~8% above schedstat, and
# schedlat's 300 waits behind a spinner take ~80 s there.
cd "$(dirname "$0")/../../.." || exit 1
exec tests/lab/run_integration.sh tests/integration/cpu_monitor.sh tests/integration/cpu_schedlat.sh
