#!/bin/bash
# The drop module's integration tests inside the lab kernel: same traffic, same kernel counters, plus the
# fentry and kprobe transmit return-code view that the host kernel cannot run.
cd "$(dirname "$0")/../../.." || exit 1
exec tests/lab/run_integration.sh tests/integration/drop_*.sh
