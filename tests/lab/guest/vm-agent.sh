#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Agent of a nested lab VM (runs in the VM, chrooted into the lab guest's root shared over 9p; started by
# tests/lab/guest/vm-init). It configures the VM's NIC from $IO/config, writes $IO/ready, then executes every
# $IO/cmd/ID.sh that lab_vm_exec / lab_vm_spawn (tests/lab/fixtures.sh) drops there: the script is claimed by
# moving it to $IO/run/, its output goes to $IO/out/ID.out and its exit status to $IO/out/ID.rc (written last,
# atomically). Commands run concurrently, so a test can spawn a receiver and then run a sender.
set -u
IO=$1
# shellcheck disable=SC1091
. "$IO/config"
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 TERM=dumb

fail() {
	echo "vm-agent: $*" >&2
	echo "$*" >"$IO/failed"
	exit 1
}

# The NIC that carries $MAC (the lab's tap); the VM has exactly one, but match on the MAC anyway.
dev=
for d in /sys/class/net/*; do
	[[ "$(cat "$d/address" 2>/dev/null)" == "$MAC" ]] && dev=${d##*/}
done
[[ -n "$dev" ]] || fail "no NIC with MAC $MAC"
ip link set "$dev" up || fail "cannot bring $dev up"
ip addr add "$IP" dev "$dev" || fail "cannot add $IP to $dev"
[[ -n "${IP6:-}" ]] && ip -6 addr add "$IP6" dev "$dev" nodad
echo "dev=$dev" >"$IO/ready.tmp" && mv "$IO/ready.tmp" "$IO/ready"
echo "vm-agent: $NAME ready: $dev $IP"

# read -t on a private FIFO is a fork-free bounded wait between polls of $IO/cmd.
tick=/run/vm-agent.tick
mkfifo "$tick"
exec 7<>"$tick"
while [[ ! -e "$IO/stop" ]]; do
	for f in "$IO"/cmd/*.sh; do
		[[ -e "$f" ]] || continue
		id=${f##*/}
		id=${id%.sh}
		mv "$f" "$IO/run/$id.sh" 2>/dev/null || continue
		(
			bash "$IO/run/$id.sh" >"$IO/out/$id.out" 2>&1 </dev/null
			echo $? >"$IO/out/$id.rc.tmp"
			mv "$IO/out/$id.rc.tmp" "$IO/out/$id.rc"
		) &
	done
	read -r -t 0.05 -u 7 _ || true
done
