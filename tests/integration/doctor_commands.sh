#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# `nettrace doctor` per command (issue #21): every leaf command of `nettrace --list-commands` (modules that declare
# their commands) has a verdict; what a command runs without is said in JSON and in the text, with the reason, and
# matches what the kernel offers: without kprobes and fentry (the 6.18 host) perf's kernel-function stages and drop
# qdisc's transmit return codes are missing and every command still runs; where they exist (the lab) nothing is.
cd "$(dirname "$0")/../.." || exit 1
. tests/integration/lib/common.sh

j=$("$NETTRACE" doctor --json) || fail "doctor --json failed"
text=$("$NETTRACE" doctor 2>/dev/null) || fail "doctor failed"
for c in "drop" "drop stacks" "drop qdisc" "drop monitor" "cpu schedlat" "cpu offcpu" "cpu futex" "cpu rwlock" \
	"cpu monitor" "perf iface" "perf qdisc" "perf latency" "perf vm-latency" "perf icmp-rtt" "perf internal-port" \
	"perf backlog"; do
	"$NETTRACE" --list-commands | cut -f1 | grep -qx "$c" || fail "'$c' is not a command any more: update this test"
	v=$(jq -r --arg c "$c" '.commands[] | select(.command == $c) | .can_run' <<<"$j")
	[ "$v" = true ] || fail "doctor: '$c' can_run = '$v' on $(uname -r): $(jq -c --arg c "$c" '.commands[] | select(.command == $c)' <<<"$j")"
	grep -qE "^  $c +runs " <<<"$text" || fail "doctor text has no '$c runs' line"
done
probe=$(jq -r '.attach.kprobe or .attach.fentry' <<<"$j")
missing() { jq -r --arg c "$1" '.commands[] | select(.command == $c) | .unavailable[].what' <<<"$j"; }
if [ "$probe" = false ]; then
	missing "perf latency" | grep -q "kernel-function stages" || fail "perf latency: kernel-function stages not reported missing"
	jq -r '.commands[] | select(.command == "perf latency") | .unavailable[].why' <<<"$j" | grep -q "CONFIG_KPROBES\|kprobe" ||
		fail "perf latency: the reason does not name kprobes"
	missing "drop qdisc" | grep -q "transmit return codes" || fail "drop qdisc: transmit return codes not reported missing"
	grep -A3 -E "^  perf latency +runs" <<<"$text" | grep -q "without kernel-function stages" ||
		fail "doctor text does not say what perf latency runs without"
	[ -z "$(missing "drop")" ] || fail "drop misses nothing, doctor says: $(missing drop)"
	pass "doctor per command without kprobes/fentry: all run; perf's kernel-function stages and drop qdisc's return codes missing, with the reason"
else
	for c in "perf latency" "drop qdisc" "drop"; do
		[ -z "$(missing "$c")" ] || fail "$c: nothing should be missing with kprobes/fentry, doctor says: $(missing "$c")"
	done
	pass "doctor per command with kprobes/fentry: all run, nothing missing"
fi
