#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Lab test: `nettrace doctor --json` inside the lab reports what the lab kernel really provides: kprobes, fentry and
# the other attach types, and the openvswitch/vhost_net/tun/kvm/virtio_net/nf_conntrack modules, cross-checked
# against the kernel (uname, the kprobe PMU, /sys/kernel/btf, modules.dep/modules.builtin).
set -euo pipefail
. "$(dirname "$0")/../../fixtures.sh"
lab_require_lab
NETTRACE=${NETTRACE:-build/nettrace}
[[ -x "$NETTRACE" ]] || lab_skip "no nettrace binary at $NETTRACE (build it, or set NETTRACE)"
command -v jq >/dev/null || lab_skip "jq is not installed"

out=$("$NETTRACE" doctor --json) || lab_fail "nettrace doctor --json failed (status $?): $out"
jq -e 'type == "object"' <<<"$out" >/dev/null || lab_fail "doctor output is not one JSON object: $out"
jq -c '{kernel, attach, modules}' <<<"$out" >&2

lab_assert_eq "doctor kernel" "$(jq -r .kernel <<<"$out")" "$(uname -r)"
# The lab kernels have these (CONFIG_KPROBES, BTF, ...); the host kernel lacks kprobes and fentry.
[[ -d /sys/bus/event_source/devices/kprobe ]] || lab_fail "the lab kernel has no kprobe PMU"
[[ -f /sys/kernel/btf/vmlinux ]] || lab_fail "the lab kernel has no BTF"
for a in kprobe fentry tracepoint tp_btf raw_tp ringbuf; do
	lab_assert_eq "doctor attach.$a" "$(jq -r ".attach.$a" <<<"$out")" true
done
for m in openvswitch vhost_net tun kvm virtio_net nf_conntrack; do
	# Cross-check: the module exists in the lab kernel (loadable or built in). For kvm, the lab's -cpu max has
	# SVM, so kvm_amd (which pulls in kvm) must be there too.
	if [[ "$m" == kvm ]]; then
		{ modprobe -n kvm && modprobe -n kvm_amd; } 2>/dev/null || lab_fail "module kvm or kvm_amd is not available in $(uname -r)"
	else
		modprobe -n "$m" 2>/dev/null || lab_fail "module $m is not available in $(uname -r)"
	fi
	lab_assert_eq "doctor modules.$m" "$(jq -r ".modules.$m" <<<"$out")" true
done
echo "PASS: doctor"
