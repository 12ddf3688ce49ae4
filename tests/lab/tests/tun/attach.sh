#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Lab test: nettrace tun ring with its xmit hook forced to fentry and then to kprobe on tun_net_xmit (tun is a module
# here: the function and struct tun_struct/tun_file come from /sys/kernel/btf/tun). tests/integration/tun_ring.sh
# runs once per variant; each run checks every figure against the tap's own counters (tx_dropped, tx_queue_len,
# frames sent), so the variants agree with the tracepoint run and with each other. The script also checks that the
# forced variant is the one that attached (the summary's xmit_hook).
set -uo pipefail
cd "$(dirname "$0")/../../../.." || exit 1
. tests/lab/fixtures.sh
lab_require_lab
export NETTRACE=${NETTRACE:-$PWD/build/nettrace}
export NETTRACE_BUILD=${NETTRACE_BUILD:-$PWD/build}
modprobe -q tun 2>/dev/null
[[ -c /dev/net/tun ]] || lab_skip "no /dev/net/tun"
for kind in fentry kprobe; do
	out=$(NETTRACE_ATTACH=$kind bash tests/integration/tun_ring.sh 2>&1)
	rc=$?
	echo "$out" | sed "s/^/[$kind] /"
	[[ $rc -eq 0 ]] || lab_fail "tun_ring.sh with --attach $kind failed (exit $rc)"
	echo "$out" | grep -q "xmit hook: $kind tun_net_xmit" || lab_fail "--attach $kind: the xmit hook did not attach as $kind"
done
echo "PASS"
