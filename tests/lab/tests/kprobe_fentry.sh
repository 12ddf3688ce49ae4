#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Lab test: kprobes, kretprobes, fentry/fexit (vmlinux and module BTF) and tracepoints attach and fire in the lab
# kernel, counted with bpftrace against a known amount of traffic (ping across the two_ns veth pair).
set -euo pipefail
. "$(dirname "$0")/../fixtures.sh"
lab_require_lab
command -v bpftrace >/dev/null || lab_skip "bpftrace is not installed on the host"
lab_two_ns

out=/tmp/kprobe_fentry.bpftrace
# bpftrace 0.17 spells fentry/fexit "kfunc"/"kretfunc"; "kfunc:veth:veth_xmit" uses the veth module's BTF.
bpftrace -e '
kprobe:__dev_queue_xmit { @kprobe = count(); }
kretprobe:__dev_queue_xmit { @kretprobe = count(); }
kfunc:__dev_queue_xmit { @fentry = count(); }
kretfunc:__dev_queue_xmit { @fexit = count(); }
kprobe:veth_xmit { @kprobe_module = count(); }
kfunc:veth:veth_xmit { @fentry_module = count(); }
tracepoint:net:net_dev_xmit { @tracepoint = count(); }
BEGIN { printf("READY\n"); }' >"$out" 2>&1 &
bt=$!
_kf_stop() { [[ -z "$bt" ]] || kill -KILL "$bt" 2>/dev/null; }
lab_defer _kf_stop
lab_wait_until 120 "bpftrace to attach" grep -q READY "$out"

N=10
lab_ping_ok ns0 "$LAB_TWO_NS_IP1" "$N"
lab_interrupt "$bt" 60 bpftrace || lab_fail "bpftrace failed: $(cat "$out")"
bt=
cat "$out" >&2

count() { sed -nE "s/^@$1: ([0-9]+)\$/\\1/p" "$out"; }
# N requests leave veth0 and N replies leave veth1: at least 2N transmissions through __dev_queue_xmit/veth_xmit.
for probe in kprobe kretprobe fentry fexit kprobe_module fentry_module tracepoint; do
	lab_assert_ge "$probe hits" "$(count "$probe")" $((2 * N))
done
echo "PASS: kprobe, kretprobe, fentry, fexit, module kprobe/fentry and tracepoint attach and fire"
