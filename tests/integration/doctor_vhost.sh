#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# `nettrace doctor --vhost TAP` (vhost_sched_config_check) against /proc: the process holding the tap (the
# user-space vhost-net driver nt_vhost_net playing QEMU) with its command line, and — where vhost_net exists (the
# lab) — its vhost workers: threads of the process named vhost-PID since 6.4 (vhost_task), kernel threads of that
# name before; the driver itself reports its workers' tids, an independent oracle. Each thread's allowed CPUs and
# last CPU match /proc/PID/task/TID. On the host (no vhost_net) the tap is held without vhost and doctor says no
# vhost worker serves it. Bad input: exit 2.
cd "$(dirname "$0")/../.." || exit 1
. tests/integration/lib/common.sh
DRIVER=$NETTRACE_BUILD/tests/workloads/nt_vhost_net
[ -x "$DRIVER" ] || fail "nt_vhost_net not found at $DRIVER"

mode=--no-vhost
if [ "${NETTRACE_LAB:-}" = 1 ]; then
	modprobe vhost_net 2>/dev/null || fail "the lab kernel has no vhost_net"
	mode=
fi
TAP=ntvh$$
"$DRIVER" --tap "$TAP" --queues 2 $mode --hold 60 --stop-file "$TMP/stop" --ready-file "$TMP/ready" \
	>"$TMP/driver.json" 2>"$TMP/driver.err" &
drv=$!
PIDS+=("$drv")
for _ in $(seq 100); do [ -e "$TMP/ready" ] && break; sleep 0.1; done
[ -e "$TMP/ready" ] || fail "nt_vhost_net did not get ready: $(cat "$TMP/driver.err")"

out=$("$NETTRACE" doctor --vhost "$TAP" --json) || fail "doctor --vhost $TAP failed: $out"
[ "$(jq -r '.processes[].pid' <<<"$out")" = "$drv" ] || fail "holder: doctor says $(jq -c .processes <<<"$out"), the driver is $drv"
jq -r '.processes[0].cmdline' <<<"$out" | grep -q "nt_vhost_net --tap $TAP" || fail "cmdline: $(jq -r '.processes[0].cmdline' <<<"$out")"
check_thread() {  # TID: doctor's row for it matches /proc
	local row allowed
	row=$(jq -c ".threads[] | select(.tid == $1)" <<<"$out")
	[ -n "$row" ] || fail "doctor lists no thread $1: $(jq -c .threads <<<"$out")"
	allowed=$(awk '/^Cpus_allowed_list:/ { print $2 }' "/proc/$1/status")
	[ "$(jq -r .allowed_cpus <<<"$row")" = "$allowed" ] || fail "thread $1 allowed: doctor $(jq -r .allowed_cpus <<<"$row"), /proc $allowed"
	[ "$(jq -r .comm <<<"$row")" = "$(cat "/proc/$1/comm")" ] || fail "thread $1 comm: $row"
}
check_thread "$drv"
workers=$(jq -r '.threads[] | select(.kind | startswith("vhost")) | .tid' <<<"$out" | sort -n | tr '\n' ' ')
touch "$TMP/stop"
wait "$drv"; rc=$?
[ "$rc" = 0 ] || fail "nt_vhost_net exited $rc: $(cat "$TMP/driver.err")"
if [ -z "$mode" ]; then
	want=$(jq -r '.per_queue[].worker_tid' "$TMP/driver.json" | sort -n | uniq | tr '\n' ' ')
	[ -n "$workers" ] && [ "$workers" = "$want" ] || fail "vhost workers: doctor '$workers', the driver's '$want' ($(jq -c .worker_kind "$TMP/driver.json"))"
	kind=$(jq -r .worker_kind "$TMP/driver.json")
	want_kind="vhost (task)"; [ "$kind" = kthread ] && want_kind="vhost (kthread)"
	[ "$(jq -r "[.threads[] | select(.kind | startswith(\"vhost\")) | .kind] | unique | .[]" <<<"$out")" = "$want_kind" ] ||
		fail "worker kind: doctor $(jq -c '[.threads[].kind]' <<<"$out"), the driver $kind"
	pass "doctor --vhost $TAP: holder $drv and its 2 vhost workers ($kind) with their CPUs"
else
	[ -z "$workers" ] || fail "no vhost here, doctor lists workers: $workers"
	jq -e '.notes | any(test("No vhost worker"))' <<<"$out" >/dev/null || fail "no 'No vhost worker' note: $out"
	pass "doctor --vhost $TAP: holder $drv, no vhost worker (no vhost_net here)"
fi

expect_usage() {
	local msg rc
	msg=$("$NETTRACE" "$@" 2>&1 >/dev/null); rc=$?
	[ "$rc" = 2 ] || fail "'$*' exited $rc, not 2: $msg"
	[ "$(wc -l <<<"$msg")" = 1 ] || fail "'$*' printed more than one line: $msg"
}
expect_usage doctor --vhost lo
expect_usage doctor --vhost nt-no-such-tap
expect_usage doctor --vhost lo --irq lo
pass "bad --vhost values: exit 2"
