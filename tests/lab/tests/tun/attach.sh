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
# How BPF recognises tun devices: by tun.c's netdev_ops when /proc/kallsyms lists it (module data symbols are listed:
# the lab), else by rtnl_link_ops kind "tun" (the 6.18 host's tun_ring.sh runs that path). Here it must be the first.
want=$(awk '$3=="tun_netdev_ops" {print $1; exit}' /proc/kallsyms)
got=$("$NETTRACE" tun ring -d 0.1 --debug 2>&1 | grep -o 'tun_netdev_ops 0x[0-9a-f]*' | head -1)
echo "kallsyms tun_netdev_ops: ${want:-absent}; nettrace: ${got:-nothing}"
if [[ -n "$want" ]]; then
	[[ "$got" == "tun_netdev_ops 0x$(echo "$want" | sed 's/^0*//')" ]] || lab_fail "nettrace did not take tun_netdev_ops from kallsyms ($got)"
fi
for kind in fentry kprobe; do
	out=$(NETTRACE_ATTACH=$kind bash tests/integration/tun_ring.sh 2>&1)
	rc=$?
	echo "$out" | sed "s/^/[$kind] /"
	[[ $rc -eq 0 ]] || lab_fail "tun_ring.sh with --attach $kind failed (exit $rc)"
	echo "$out" | grep -q "xmit hook: $kind tun_net_xmit" || lab_fail "--attach $kind: the xmit hook did not attach as $kind"
done
echo "PASS"
