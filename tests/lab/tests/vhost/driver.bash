# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
# Sourced by the vhost module's lab checks (not a check itself: the suite runs *.sh only). One nettrace run around
# one run of the user-space vhost-net driver (tests/workloads/nt_vhost_net.c, docs/lab.md "(e) nt_vhost_net"):
#
#   drv_start NAME DRIVER_ARGS...   start the driver on $TAP (down), wait until it is set up; IPv6 off on the tap
#   nt_start NAME NETTRACE_ARGS...  start nettrace (--json, --ready-file) and wait until it is attached
#   drv_go NAME                     bring the tap up and let the driver post buffers and send
#   drv_stop NAME                   let the driver finish; J = its JSON. Start it with --rx-expect K when frames
#                                   are injected: the tap counts a frame when vhost takes it off tun's ring, before
#                                   vhost adds it to the used ring and signals; the driver's last sweep of its call
#                                   eventfds must come after the signal of its last frame.
#   nt_stop NAME                    SIGINT nettrace, check it exited 0; OUT = its file of JSON lines
#   inject K SIZE                   K IPv4/UDP frames of SIZE bytes into the tap (the driver's RX)
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../../../.." || exit 1
. tests/lab/fixtures.sh
lab_require_lab
NETTRACE=${NETTRACE:-$PWD/build/nettrace}
NETTRACE_BUILD=${NETTRACE_BUILD:-$(dirname "$NETTRACE")}
DRV=$NETTRACE_BUILD/tests/workloads/nt_vhost_net
PKTSEND=$NETTRACE_BUILD/tests/nt_pktsend
[[ -x "$NETTRACE" ]] || lab_fail "nettrace not found at $NETTRACE"
[[ -x "$DRV" ]] || lab_fail "nt_vhost_net not found at $DRV"
[[ -x "$PKTSEND" ]] || lab_fail "nt_pktsend not found at $PKTSEND"
command -v jq >/dev/null || lab_skip "needs jq"
lab_modprobe tun vhost_net
W=$(mktemp -d /tmp/lab-vhost.XXXXXX)
lab_defer rm -rf "$W"
TAP=${TAP:-vhnt0}

DRV_PID= NT_PID=
_vh_kill() {
	[[ -z "$NT_PID" ]] || kill -INT "$NT_PID" 2>/dev/null
	[[ -z "$DRV_PID" ]] || kill -TERM "$DRV_PID" 2>/dev/null
	wait 2>/dev/null
}
lab_defer _vh_kill

drv_start() {
	local name=$1
	shift
	rm -f "$W/$name".*
	"$DRV" --tap "$TAP" --no-up --ready-file "$W/$name.ready" --go-file "$W/$name.go" --stop-file "$W/$name.stop" \
		--timeout 120 "$@" >"$W/$name.json" 2>"$W/$name.err" &
	DRV_PID=$!
	lab_wait_until 60 "the driver ($name) to be ready" _drv_ready "$name"
	# The tap's own IPv6 router solicitations and MLD reports would reach the driver's RX ring.
	sysctl -qw "net.ipv6.conf.$TAP.disable_ipv6=1" || lab_fail "cannot disable IPv6 on $TAP"
}
_drv_ready() {
	[[ -e "$W/$1.ready" ]] && return 0
	kill -0 "$DRV_PID" 2>/dev/null && return 1
	cat "$W/$1.err" >&2
	lab_fail "the driver ($1) exited before it was ready"
}
nt_start() {
	local name=$1
	shift
	"$NETTRACE" "$@" --json --ready-file "$W/$name.nt.ready" >"$W/$name.nt.json" 2>"$W/$name.nt.err" &
	NT_PID=$!
	lab_wait_until 180 "nettrace ($name) to attach" _nt_ready "$name"
	lab_log "nettrace ($name) attached: $(grep -m1 -o 'attached.*' "$W/$name.nt.err" || true)"
}
_nt_ready() {
	[[ -e "$W/$1.nt.ready" ]] && return 0
	kill -0 "$NT_PID" 2>/dev/null && return 1
	cat "$W/$1.nt.err" >&2
	lab_fail "nettrace ($1) exited before it attached"
}
drv_go() {
	ip link set "$TAP" up || lab_fail "cannot bring $TAP up"
	B_tx_packets=$(lab_stat "$TAP" tx_packets)
	touch "$W/$1.go"
}
tap_tx_delta() { echo $(($(lab_stat "$TAP" tx_packets) - B_tx_packets)); }
tap_tx_delta_ge() { (($(tap_tx_delta) >= $1)); }
inject() {
	"$PKTSEND" rawudp "$TAP" "$1" "$2" >/dev/null || lab_fail "nt_pktsend rawudp $TAP failed"
	lab_wait_until 60 "vhost to read $1 frames from the tap" tap_tx_delta_ge "$1"
}
drv_stop() {
	local rc=0
	touch "$W/$1.stop"
	wait "$DRV_PID" || rc=$?
	DRV_PID=
	((rc == 0)) || { cat "$W/$1.err" >&2; lab_fail "the driver ($1) exited with status $rc"; }
	J=$(cat "$W/$1.json")
	jq -c '{worker_kind, no_interrupt, per_queue: [.per_queue[] | {rx_packets, tx_packets_completed, call_signals, worker_tid}]}' <<<"$J" >&2
}
j() { jq -r "$1" <<<"$J"; }
nt_stop() {
	local rc=0
	lab_interrupt "$NT_PID" 60 "nettrace ($1)"
	wait "$NT_PID" || rc=$?
	NT_PID=
	((rc == 0)) || { cat "$W/$1.nt.err" >&2; lab_fail "nettrace ($1) exited with status $rc"; }
	OUT=$W/$1.nt.json
	cp "$OUT" "$W/$1.nt.err" "${NETTRACE_LAB_OUT:-/nonexistent}/" 2>/dev/null || true
}
