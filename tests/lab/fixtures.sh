# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0
#
# tests/lab/fixtures.sh: topology fixtures and assertion helpers for tests running inside the kernel lab
# (tests/lab/run). Source it from a bash test script:
#
#     . "$(dirname "$0")/../fixtures.sh"      # or . "$NETTRACE_LAB_DIR/fixtures.sh"
#     lab_ovs_bridge
#     ...
#
# Sourcing installs `trap lab_cleanup EXIT`; every fixture registers its own teardown with lab_defer, and
# lab_cleanup runs them in reverse order (it is idempotent, so a test with its own EXIT trap just calls it).
# Fixtures fail the test (exit 1) when they cannot build their topology, and skip it (exit 77) when the lab lacks
# something they need (e.g. lab_virtio_pair without `--nics 2`). Names and addresses: see docs/lab.md.

# shellcheck disable=SC2034 # LAB_* variables are the fixtures' API, used by the tests that source this file.
LAB_DIR=${NETTRACE_LAB_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}
LAB_START=${LAB_START:-$SECONDS}

# Addresses used by the fixtures (documented in docs/lab.md).
LAB_TWO_NS_IP0=10.0.1.1 LAB_TWO_NS_IP1=10.0.1.2
LAB_OVS_NS0_IP=10.0.2.1 LAB_OVS_NS1_IP=10.0.2.2 LAB_OVS_STORAGE_IP=10.0.2.254 LAB_OVS_EXT_IP=10.0.2.100
LAB_VP_IP0=10.0.3.1 LAB_VP_IP1=10.0.3.2
LAB_NIC_MAC_PREFIX=52:54:00:4c:ab # tests/lab/run --nics N gives NIC i the MAC $LAB_NIC_MAC_PREFIX:0i
LAB_OVS_DIR=/tmp/lab-ovs
LAB_VM_DIR=/tmp/lab-vm

# ------------------------------------------------------------------------------------------------ basic helpers
lab_log() { echo "[lab +$((SECONDS - LAB_START))s] $*" >&2; }
lab_fail() {
	echo "FAIL: $*" >&2
	exit 1
}
lab_skip() {
	echo "SKIP: $*" >&2
	exit 77
}

_LAB_DEFERRED=()
# lab_defer CMD...: register a teardown command (run by lab_cleanup, last registered first).
lab_defer() {
	local q
	printf -v q '%q ' "$@"
	_LAB_DEFERRED+=("$q")
}
lab_cleanup() {
	local i
	for ((i = ${#_LAB_DEFERRED[@]} - 1; i >= 0; i--)); do
		eval "${_LAB_DEFERRED[i]}" >/dev/null 2>&1 || true
	done
	_LAB_DEFERRED=()
}
trap lab_cleanup EXIT

# lab_require_lab: skip unless running inside the lab guest (tests/lab/run sets NETTRACE_LAB=1).
lab_require_lab() {
	[[ "${NETTRACE_LAB:-}" == 1 ]] || lab_skip "not inside the kernel lab (run it with tests/lab/run -- $0)"
	[[ $(id -u) -eq 0 ]] || lab_skip "needs root"
}

# lab_modprobe MOD...: load modules or fail the test.
lab_modprobe() {
	local m
	for m in "$@"; do
		modprobe "$m" || lab_fail "modprobe $m failed"
	done
}

# lab_wait_until TIMEOUT_SEC DESCRIPTION CMD...: poll CMD (every 50 ms, then 200 ms after 2 s) until it succeeds;
# fail the test with DESCRIPTION when TIMEOUT_SEC pass first.
lab_wait_until() {
	local timeout=$1 what=$2 start=$SECONDS n=0
	shift 2
	until "$@"; do
		((SECONDS - start < timeout)) || lab_fail "timed out after ${timeout}s waiting for $what"
		n=$((n + 1))
		if ((n < 40)); then _lab_sleep 0.05; else _lab_sleep 0.2; fi
	done
}

# lab_nettrace_start OUT [--attach-timeout SEC] ARGS...: run "$NETTRACE ARGS... --ready-file F" in the background,
# stdout to OUT and stderr to OUT.err, and wait until it has attached (default 120 s), failing at once (with its
# stderr) if it exits first. Sets LAB_NT_PID; a test that fails before lab_nettrace_stop stops it on exit (one
# deferred stop for all runs, so a stopped run's pid is never signalled again).
LAB_NT_PID=
_LAB_NT_DEFERRED=
lab_nettrace_start() {
	local timeout=120
	_LAB_NT_OUT=$1
	shift
	[[ "${1:-}" == --attach-timeout ]] && { timeout=$2; shift 2; }
	_LAB_NT_READY=/tmp/lab-nettrace.$$.ready
	rm -f "$_LAB_NT_READY"
	"${NETTRACE:?NETTRACE must point to the nettrace binary}" "$@" --ready-file "$_LAB_NT_READY" \
		>"$_LAB_NT_OUT" 2>"$_LAB_NT_OUT.err" &
	LAB_NT_PID=$!
	[[ -n "$_LAB_NT_DEFERRED" ]] || { lab_defer _lab_nt_kill; _LAB_NT_DEFERRED=1; }
	lab_wait_until "$timeout" "nettrace attached ($*)" _lab_nt_ready
}
_lab_nt_ready() {
	[[ -e "$_LAB_NT_READY" ]] && return 0
	kill -0 "$LAB_NT_PID" 2>/dev/null && return 1
	cat "$_LAB_NT_OUT.err" >&2
	lab_fail "nettrace exited before attaching"
}
_lab_nt_kill() { [[ -z "$LAB_NT_PID" ]] || kill -INT "$LAB_NT_PID"; }
# lab_nettrace_stop: SIGINT the nettrace of lab_nettrace_start, fail unless it exits 0, copy its stderr to ours.
lab_nettrace_stop() {
	local rc=0
	kill -INT "$LAB_NT_PID"
	wait "$LAB_NT_PID" || rc=$?
	((rc == 0)) || { cat "$_LAB_NT_OUT.err" >&2; lab_fail "nettrace exited with status $rc"; }
	grep -v '^$' "$_LAB_NT_OUT.err" | tail -n 40 >&2
	LAB_NT_PID=
}

# lab_interrupt PID TIMEOUT_SEC WHAT: SIGINT a child once a second until it exits, fail after TIMEOUT_SEC; returns
# its exit status (reaped). One SIGINT can be lost: a background job of a non-interactive shell starts with SIGINT
# ignored until the program installs its own handler, and bpftrace 0.17 does that after it has printed its first
# output (seen: one run in four of kprobe_fentry on 6.1 hung in epoll_wait after the only SIGINT).
lab_interrupt() {
	local pid=$1 timeout=$2 what=$3 start=$SECONDS i
	while _lab_alive "$pid"; do
		((SECONDS - start < timeout)) || { kill -KILL "$pid" 2>/dev/null; lab_fail "$what did not exit on SIGINT within ${timeout}s"; }
		kill -INT "$pid" 2>/dev/null
		for ((i = 0; i < 10; i++)); do _lab_alive "$pid" || break; _lab_sleep 0.1; done
	done
	wait "$pid"
}
# _lab_alive PID: the process exists and is not a zombie (an exited child stays one until it is reaped).
_lab_alive() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	[[ ${stat:0:1} != Z ]]
}

# _lab_sleep SECS: sleep without forking (read -t on a private FIFO); forks are slow under TCG.
_LAB_SLEEP_FD=
_lab_sleep() {
	if [[ -z "$_LAB_SLEEP_FD" ]]; then
		local f
		f=$(mktemp -u /tmp/lab-sleep.XXXXXX)
		mkfifo "$f" && exec {_LAB_SLEEP_FD}<>"$f" && rm -f "$f" || { sleep "$1"; return 0; }
	fi
	read -r -t "$1" -u "$_LAB_SLEEP_FD" _ || true
}

# lab_uptime: seconds since the guest booted (integer).
lab_uptime() {
	local up _
	read -r up _ </proc/uptime
	echo "${up%.*}"
}

# lab_assert_eq NAME ACTUAL EXPECTED / lab_assert_ge NAME ACTUAL MIN / lab_assert_le NAME ACTUAL MAX
lab_assert_eq() {
	[[ "$2" == "$3" ]] || lab_fail "$1: expected $3, got $2"
	lab_log "ok: $1 = $2"
}
lab_assert_ge() {
	[[ "$2" =~ ^-?[0-9]+$ ]] || lab_fail "$1: not a number: '$2'"
	(($2 >= $3)) || lab_fail "$1: expected >= $3, got $2"
	lab_log "ok: $1 = $2 (>= $3)"
}
lab_assert_le() {
	[[ "$2" =~ ^-?[0-9]+$ ]] || lab_fail "$1: not a number: '$2'"
	(($2 <= $3)) || lab_fail "$1: expected <= $3, got $2"
	lab_log "ok: $1 = $2 (<= $3)"
}

# lab_ns NS CMD...: run CMD in network namespace NS ("", "-" or "root" = the lab's root namespace).
lab_ns() {
	local ns=$1
	shift
	if [[ -z "$ns" || "$ns" == - || "$ns" == root ]]; then "$@"; else ip netns exec "$ns" "$@"; fi
}

# lab_stat [NS] IFACE COUNTER: /sys/class/net/IFACE/statistics/COUNTER (rx_packets, tx_bytes, ...).
lab_stat() {
	if [[ $# -eq 3 ]]; then
		lab_ns "$1" cat "/sys/class/net/$2/statistics/$3"
	else
		cat "/sys/class/net/$1/statistics/$2"
	fi
}

# lab_listening NS PORT: something listens on TCP PORT in namespace NS (for lab_wait_until).
lab_listening() { lab_ns "$1" ss -Hltn "sport = :$2" 2>/dev/null | grep -q LISTEN; }

# lab_tcp_transfer SRC_NS DST_NS DST_IP PORT BYTES: send exactly BYTES zero bytes over one TCP connection from SRC_NS
# to a busybox nc listener in DST_NS; sets LAB_TCP_RECEIVED to the byte count the receiver read. The receiver's
# stdin is a FIFO held open, so it neither sends anything nor half-closes early; the sender half-closes after the
# last byte and both exit once the receiver has read everything.
lab_tcp_transfer() {
	local src=$1 dst=$2 ip=$3 port=$4 bytes=$5 fifo out hold rpid
	fifo=$(mktemp -u /tmp/lab-tcp.XXXXXX)
	out=$fifo.count
	mkfifo "$fifo"
	exec {hold}<>"$fifo"
	(lab_ns "$dst" busybox nc -l -p "$port" <"$fifo" | wc -c >"$out") &
	rpid=$!
	lab_wait_until 30 "the receiver in $dst to listen on $port" lab_listening "$dst" "$port"
	head -c "$bytes" /dev/zero | lab_ns "$src" busybox nc "$ip" "$port" || lab_fail "TCP sender in $src failed"
	wait "$rpid" || lab_fail "TCP receiver in $dst failed"
	exec {hold}>&-
	# shellcheck disable=SC2034 # result for the caller
	LAB_TCP_RECEIVED=$(tr -d ' ' <"$out")
	rm -f "$fifo" "$out"
}

# lab_ping NS DST COUNT [PING ARGS...]: ping from namespace NS; prints ping's summary (all of its output when a
# reply is missing) and sets LAB_PING_TX and LAB_PING_RX (packets transmitted / received). Uses ping(8) if
# installed, else busybox ping. Returns ping's status.
lab_ping() {
	local ns=$1 dst=$2 count=$3 out rc=0
	shift 3
	local ping=(ping) a args=()
	if ! command -v ping >/dev/null; then
		ping=(busybox ping)
		# busybox ping has no -U (and never asks for SO_TIMESTAMP, which is all -U is used for here)
		for a in "$@"; do [[ "$a" == -U ]] || args+=("$a"); done
		set -- "${args[@]}"
	fi
	out=$(lab_ns "$ns" "${ping[@]}" -c "$count" -i 0.1 -W 5 "$@" "$dst" 2>&1) || rc=$?
	_lab_parse_ping "$out" "$count"
	return $rc
}
_lab_parse_ping() {
	LAB_PING_TX=$(sed -nE 's/^([0-9]+) packets transmitted.*/\1/p' <<<"$1")
	LAB_PING_RX=$(sed -nE 's/^[0-9]+ packets transmitted, ([0-9]+) (packets )?received.*/\1/p' <<<"$1")
	LAB_PING_TX=${LAB_PING_TX:-0} LAB_PING_RX=${LAB_PING_RX:-0}
	if [[ "$LAB_PING_RX" != "$2" ]]; then echo "$1" >&2; else grep -A2 -- '--- .* statistics' <<<"$1" >&2; fi
}

# lab_ping_ok NS DST COUNT [PING ARGS...]: ping and assert that all COUNT echo replies came back (0% loss).
# `-U` (iputils: user-to-user latency) keeps ping from enabling SO_TIMESTAMP, whose first user flips the kernel's
# netstamp static key, i.e. patches kernel text: tests with a nested VM running pass it (docs/lab.md).
lab_ping_ok() {
	lab_ping "$@" || true
	lab_assert_eq "ping ${1:-root} -> $2: transmitted" "$LAB_PING_TX" "$3"
	lab_assert_eq "ping ${1:-root} -> $2: received" "$LAB_PING_RX" "$3"
}

# ------------------------------------------------------------------------------------------------ (a) two_ns
# lab_two_ns: netns ns0 (veth0, 10.0.1.1/24, fd00:1::1/64) <-> veth <-> netns ns1 (veth1, 10.0.1.2/24, fd00:1::2/64).
lab_two_ns() {
	lab_modprobe veth
	ip netns add ns0 || lab_fail "ip netns add ns0"
	lab_defer ip netns del ns0
	ip netns add ns1 || lab_fail "ip netns add ns1"
	lab_defer ip netns del ns1
	ip link add veth0 netns ns0 type veth peer name veth1 netns ns1 || lab_fail "cannot create veth0/veth1"
	local i
	for i in 0 1; do
		ip -n ns$i link set lo up
		ip -n ns$i addr add "10.0.1.$((i + 1))/24" dev veth$i
		ip -n ns$i -6 addr add "fd00:1::$((i + 1))/64" dev veth$i nodad
		ip -n ns$i link set veth$i up
	done
	lab_wait_until 10 "veth0/veth1 up" _lab_ns_ifaces_up ns0 veth0 ns1 veth1
	lab_log "two_ns: ns0/veth0 $LAB_TWO_NS_IP0 <-> ns1/veth1 $LAB_TWO_NS_IP1"
}

# _lab_ns_ifaces_up NS IFACE [NS IFACE...]: all are up (operstate "up", or "unknown" for devices without carrier
# reporting such as OVS internal ports, with IFF_UP set).
_lab_ns_ifaces_up() {
	local st
	while [[ $# -gt 0 ]]; do
		st=$(lab_ns "$1" cat "/sys/class/net/$2/operstate" 2>/dev/null)
		case "$st" in
		up) ;;
		unknown) (($(lab_ns "$1" cat "/sys/class/net/$2/flags") & 1)) || return 1 ;;
		*) return 1 ;;
		esac
		shift 2
	done
}

# ------------------------------------------------------------------------------------------------ (b) OVS
# lab_ovs_start: start ovsdb-server and ovs-vswitchd (the host's binaries) with their run/db/log files in
# $LAB_OVS_DIR and export OVS_RUNDIR/OVS_DBDIR/OVS_LOGDIR so ovs-vsctl/ovs-appctl find them. Idempotent.
#
# Trap (measured): ovs-vswitchd 3.1 refreshes its CPU count on a 10 s timer of CLOCK_MONOTONIC that starts at 0
# (count_cpu_cores()), so when started less than 10 s after boot it sees 0 CPUs, sizes its per-CPU upcall handlers
# to 0 ("Overriding n-handler-threads to 0") and every upcall is counted as lost, forever. So it is started only
# once uptime >= 12 s (the lab boots in ~5 s, so this costs ~5-7 s per OVS test), and the handler count is checked
# from its log. (Starting it in a time namespace with CLOCK_MONOTONIC shifted ahead avoids the wait but breaks flow
# aging: the kernel reports flow "used" times in the root namespace's clock, so the revalidator sees every flow as
# idle and evicts it; do not do that.)
lab_ovs_start() {
	export OVS_RUNDIR=$LAB_OVS_DIR OVS_DBDIR=$LAB_OVS_DIR OVS_LOGDIR=$LAB_OVS_DIR OVS_PKGDATADIR=/usr/share/openvswitch
	[[ -S "$LAB_OVS_DIR/db.sock" ]] && ovs-appctl -t ovs-vswitchd version >/dev/null 2>&1 && return 0
	lab_modprobe openvswitch nf_conntrack nfnetlink nf_conntrack_netlink veth
	mkdir -p "$LAB_OVS_DIR"
	ovsdb-tool create "$LAB_OVS_DIR/conf.db" /usr/share/openvswitch/vswitch.ovsschema || lab_fail "ovsdb-tool create"
	ovsdb-server --remote="punix:$LAB_OVS_DIR/db.sock" --pidfile --detach --log-file "$LAB_OVS_DIR/conf.db" \
		2>>"$LAB_OVS_DIR/stderr.log" || lab_fail "ovsdb-server did not start: $(cat "$LAB_OVS_DIR/stderr.log")"
	lab_defer _lab_ovs_stop
	ovs-vsctl --no-wait init || lab_fail "ovs-vsctl init"
	if (($(lab_uptime) < 12)); then
		lab_log "ovs: waiting for uptime >= 12 s before starting ovs-vswitchd (upcall handler trap)"
		lab_wait_until 30 "uptime >= 12 s" _lab_uptime_ge 12
	fi
	ovs-vswitchd --pidfile --detach --log-file 2>>"$LAB_OVS_DIR/stderr.log" ||
		lab_fail "ovs-vswitchd did not start: $(cat "$LAB_OVS_DIR/stderr.log")"
	lab_wait_until 30 "ovs-vswitchd to answer" _lab_quiet ovs-appctl -t ovs-vswitchd version
}
_lab_quiet() { "$@" >/dev/null 2>&1; }
_lab_uptime_ge() { (($(lab_uptime) >= $1)); }
_lab_ovs_stop() {
	ovs-appctl -t ovs-vswitchd exit
	ovs-appctl -t ovsdb-server exit
	rm -rf "$LAB_OVS_DIR"
}

# _lab_ovs_check_handlers: the datapath has upcall handlers (see the trap above).
_lab_ovs_check_handlers() {
	local line n
	line=$(grep -h 'Overriding n-handler-threads to' "$LAB_OVS_DIR/ovs-vswitchd.log" | tail -n 1) || true # no match under pipefail: 5.10 has no per-CPU upcall dispatch
	[[ -n "$line" ]] || return 0 # older/newer OVS without the per-CPU dispatch log line
	n=$(sed -nE 's/.*n-handler-threads to ([0-9]+).*/\1/p' <<<"$line")
	[[ "${n:-0}" -gt 0 ]] || lab_fail "ovs-vswitchd sized its upcall handlers to 0 ($line); upcalls would be lost"
}

# lab_ovs_bridge [--phy veth|virtio]: OVS bridge br0 on the kernel datapath (ovs-system) with
#   ovs0-p  veth port, peer eth0 in netns ovs0 (10.0.2.1/24)
#   ovs1-p  veth port, peer eth0 in netns ovs1 (10.0.2.2/24)
#   port-storage  internal port in the lab's root netns (10.0.2.254/24), like the spec's storage port
#   phy0    the "physical" port: a veth whose peer eth0 sits in netns ext (10.0.2.100/24); with --phy virtio
#           it is the lab's first virtio NIC and ext's eth0 is the second (needs tests/lab/run --nics 2), so
#           traffic through it crosses a real virtio-net device and QEMU's hub.
lab_ovs_bridge() {
	local phy=veth i
	while [[ $# -gt 0 ]]; do
		case "$1" in
		--phy) phy=$2; shift 2 ;;
		*) lab_fail "lab_ovs_bridge: unknown option $1" ;;
		esac
	done
	lab_modprobe veth
	# Links and namespaces first (cheap), then OVS (which may have to wait for uptime), then one transaction.
	for i in 0 1; do
		ip netns add ovs$i || lab_fail "ip netns add ovs$i"
		lab_defer ip netns del ovs$i
		ip link add ovs$i-p type veth peer name eth0 netns ovs$i || lab_fail "cannot create ovs$i-p"
		ip -n ovs$i link set lo up
		ip -n ovs$i addr add "10.0.2.$((i + 1))/24" dev eth0
		ip -n ovs$i link set eth0 up
		ip link set ovs$i-p up
	done
	ip netns add ext || lab_fail "ip netns add ext"
	lab_defer ip netns del ext
	case "$phy" in
	veth)
		ip link add phy0 type veth peer name eth0 netns ext || lab_fail "cannot create phy0"
		;;
	virtio)
		local n0 n1
		n0=$(lab_nic 1) && n1=$(lab_nic 2) || lab_skip "lab_ovs_bridge --phy virtio needs tests/lab/run --nics 2"
		ip link set "$n0" name phy0 || lab_fail "cannot rename $n0 to phy0"
		ip link set "$n1" netns ext || lab_fail "cannot move $n1 to netns ext"
		ip -n ext link set "$n1" name eth0 || lab_fail "cannot rename $n1 to eth0 in ext"
		;;
	*) lab_fail "lab_ovs_bridge: --phy veth|virtio" ;;
	esac
	ip -n ext link set lo up
	ip -n ext addr add "$LAB_OVS_EXT_IP/24" dev eth0
	ip -n ext link set eth0 up
	ip link set phy0 up

	lab_ovs_start
	# max-idle 60 s (default 10 s): under TCG on a loaded host a test's next step can come more than 10 s after its
	# traffic, and the revalidator had by then evicted the megaflows whose stats it checks (6.12 ovs_ping, load 10).
	ovs-vsctl --timeout=60 set Open_vSwitch . other_config:max-idle=60000 \
		-- add-br br0 -- add-port br0 ovs0-p -- add-port br0 ovs1-p -- add-port br0 phy0 \
		-- add-port br0 port-storage -- set interface port-storage type=internal ||
		lab_fail "cannot create OVS bridge br0"
	lab_defer ovs-vsctl --timeout=10 --if-exists del-br br0
	_lab_ovs_check_handlers
	local p
	for p in "${_LAB_PENDING_PORTS[@]}"; do
		[[ "${p%% *}" == br0 ]] && _lab_ovs_add_port br0 "${p#* }"
	done
	ip link set br0 up
	ip addr add "$LAB_OVS_STORAGE_IP/24" dev port-storage
	ip link set port-storage up
	lab_wait_until 10 "OVS ports up" _lab_ns_ifaces_up - ovs0-p - ovs1-p - phy0 - port-storage \
		ovs0 eth0 ovs1 eth0 ext eth0
	lab_log "ovs_bridge: br0 ports ovs0-p(ns ovs0 $LAB_OVS_NS0_IP) ovs1-p(ns ovs1 $LAB_OVS_NS1_IP)" \
		"port-storage($LAB_OVS_STORAGE_IP) phy0[$phy](ns ext $LAB_OVS_EXT_IP)"
}

_lab_ovs_add_port() {
	ovs-vsctl --timeout=60 add-port "$1" "$2" || lab_fail "ovs-vsctl add-port $1 $2"
	lab_defer ovs-vsctl --timeout=10 --if-exists del-port "$1" "$2"
}

# lab_ovs_counters: read `ovs-appctl dpctl/show` into LAB_OVS_HIT, LAB_OVS_MISSED, LAB_OVS_LOST, LAB_OVS_FLOWS.
lab_ovs_counters() {
	local out
	out=$(ovs-appctl dpctl/show system@ovs-system) || lab_fail "ovs-appctl dpctl/show failed"
	LAB_OVS_HIT=$(sed -nE 's/.*lookups: hit:([0-9]+) .*/\1/p' <<<"$out")
	LAB_OVS_MISSED=$(sed -nE 's/.*lookups: .* missed:([0-9]+) .*/\1/p' <<<"$out")
	LAB_OVS_LOST=$(sed -nE 's/.*lookups: .* lost:([0-9]+).*/\1/p' <<<"$out")
	# shellcheck disable=SC2034 # result for the caller
	LAB_OVS_FLOWS=$(sed -nE 's/^ *flows: ([0-9]+).*/\1/p' <<<"$out")
	[[ -n "$LAB_OVS_HIT" && -n "$LAB_OVS_MISSED" && -n "$LAB_OVS_LOST" ]] ||
		lab_fail "cannot parse dpctl/show: $out"
}

# lab_nic I: name of the lab's I-th virtio NIC (tests/lab/run --nics N, MAC $LAB_NIC_MAC_PREFIX:0I), loading
# virtio_net and waiting for it; fails (status 1) when the lab has no such NIC.
lab_nic() {
	local mac d
	mac=$(printf '%s:%02x' "$LAB_NIC_MAC_PREFIX" "$1")
	(("${NETTRACE_LAB_NICS:-0}" >= $1)) || return 1
	modprobe virtio_net || return 1
	lab_wait_until 10 "the NIC with MAC $mac" _lab_find_mac "$mac"
	for d in /sys/class/net/*; do
		[[ "$(cat "$d/address" 2>/dev/null)" == "$mac" ]] && { echo "${d##*/}"; return 0; }
	done
	return 1
}
_lab_find_mac() { grep -qx "$1" /sys/class/net/*/address 2>/dev/null; }

# ------------------------------------------------------------------------------------------------ (d) virtio pair
# lab_virtio_pair: the lab's own two virtio-net NICs (tests/lab/run --nics 2; QEMU joins them with a hub) moved into
#   netns vp0 as vnic0 (10.0.3.1/24) and netns vp1 as vnic1 (10.0.3.2/24),
# so traffic between vp0 and vp1 runs the real virtio-net TX/RX paths, NAPI and interrupts of the lab kernel.
# Skips (77) when the lab was started without the NICs.
lab_virtio_pair() {
	local n0 n1 i
	n0=$(lab_nic 1) && n1=$(lab_nic 2) || lab_skip "lab_virtio_pair needs tests/lab/run --nics 2"
	for i in 0 1; do
		ip netns add vp$i || lab_fail "ip netns add vp$i"
		lab_defer ip netns del vp$i
	done
	ip link set "$n0" netns vp0 && ip -n vp0 link set "$n0" name vnic0 || lab_fail "cannot move $n0 to vp0"
	ip link set "$n1" netns vp1 && ip -n vp1 link set "$n1" name vnic1 || lab_fail "cannot move $n1 to vp1"
	for i in 0 1; do
		ip -n vp$i link set lo up
		ip -n vp$i addr add "10.0.3.$((i + 1))/24" dev vnic$i
		ip -n vp$i link set vnic$i up
	done
	lab_wait_until 10 "vnic0/vnic1 up" _lab_ns_ifaces_up vp0 vnic0 vp1 vnic1
	lab_log "virtio_pair: vp0/vnic0 $LAB_VP_IP0 <-> (QEMU hub) <-> vp1/vnic1 $LAB_VP_IP1"
}

# ------------------------------------------------------------------------------------------------ (c) nested VM
_LAB_VM_COUNT=0
_LAB_PENDING_PORTS=()
# lab_vm NAME [--ip CIDR] [--ip6 CIDR] [--queues N] [--smp N] [--mem MB] [--bridge BR] [--no-wait]
#
# Boot a nested VM (the lab's kernel; KVM inside the lab through kvm_amd on the SVM that QEMU's TCG emulates) whose
# virtio-net NIC is backed by tap "tap-NAME" (vhost=on; multi_queue + mq=on when --queues > 1) added as a port of
# OVS bridge BR (default br0; --bridge none leaves the tap unattached). If BR does not exist yet, the tap is added
# when lab_ovs_bridge creates it, so `lab_vm vm0 --no-wait; lab_ovs_bridge; lab_vm_wait_ready vm0` boots the VM
# while OVS waits out its uptime trap (the fastest order). The n-th VM
# (n = 0, 1, ...) gets MAC 52:54:00:12:34:1n and, unless --ip, IP 10.0.2.(10+n)/24. --smp defaults to the number
# of queues, so that virtio-net enables every queue pair. Waits (bounded) until the VM is up unless --no-wait
# (then call lab_vm_wait_ready). Run commands in it with lab_vm_exec / lab_vm_spawn; its console log is
# $LAB_VM_DIR/NAME/console.log.
# lab_vm = lab_vm_prepare NAME [options] (the tap, on its bridge, and the VM's configuration; nothing runs yet) +
# lab_vm_boot NAME [--no-wait]. A test that must not patch kernel text while the VM runs (tracing under
# multi-threaded TCG, docs/lab.md) attaches between the two: the tap exists, the VM does not run yet.
lab_vm() {
	local name=$1 wait=1 a opts=()
	shift
	for a in "$@"; do
		if [[ "$a" == --no-wait ]]; then wait=0; else opts+=("$a"); fi
	done
	lab_vm_prepare "$name" "${opts[@]}"
	if ((wait)); then lab_vm_boot "$name"; else lab_vm_boot "$name" --no-wait; fi
}
lab_vm_prepare() {
	local name=$1 ip='' ip6='' queues=1 smp='' mem=256 bridge=br0
	shift
	while [[ $# -gt 0 ]]; do
		case "$1" in
		--ip) ip=$2; shift 2 ;;
		--ip6) ip6=$2; shift 2 ;;
		--queues) queues=$2; shift 2 ;;
		--smp) smp=$2; shift 2 ;;
		--mem) mem=$2; shift 2 ;;
		--bridge) bridge=$2; shift 2 ;;
		*) lab_fail "lab_vm: unknown option $1" ;;
		esac
	done
	local n=$_LAB_VM_COUNT
	_LAB_VM_COUNT=$((n + 1))
	[[ -n "$ip" ]] || ip=10.0.2.$((10 + n))/24
	[[ -n "$smp" ]] || smp=$queues
	local dir=$LAB_VM_DIR/$name tap=tap-$name mac
	mac=$(printf '52:54:00:12:34:%02x' $((0x10 + n)))
	[[ ${#tap} -le 15 ]] || lab_fail "lab_vm: name $name too long for a tap name"
	[[ -n "${NETTRACE_LAB_BZIMAGE:-}" && -n "${NETTRACE_LAB_VM_INITRD:-}" ]] || lab_fail "lab_vm: not in the lab"

	local accel=(-enable-kvm -cpu host) kind=kvm
	modprobe kvm_amd 2>/dev/null || modprobe kvm_intel 2>/dev/null
	# A halted nested vCPU would otherwise make the lab's KVM busy-poll for up to 200 us, emulated by TCG.
	[[ -w /sys/module/kvm/parameters/halt_poll_ns ]] && echo 0 >/sys/module/kvm/parameters/halt_poll_ns
	if [[ ! -c /dev/kvm ]]; then
		lab_log "lab_vm: WARNING: no /dev/kvm in the lab; the nested VM falls back to TCG (very slow)"
		accel=(-accel tcg -cpu max) kind=tcg
	fi
	lab_modprobe tun vhost_net
	((${#_LAB_VM_COUNT_PINNED} == 0)) && [[ "$kind" == kvm ]] && _lab_kvm_pin

	rm -rf "$dir"
	mkdir -p "$dir/io/cmd" "$dir/io/out"
	mkfifo "$dir/ctl.in" "$dir/ctl.out"
	{
		echo "NAME=$name"
		echo "IP=$ip"
		echo "IP6=$ip6"
		echo "MAC=$mac"
		echo "ACCEL=$kind"
	} >"$dir/io/config"
	local mq=()
	((queues > 1)) && mq=(multi_queue)
	ip tuntap add dev "$tap" mode tap "${mq[@]}" || lab_fail "cannot create $tap"
	lab_defer ip link del "$tap"
	ip link set "$tap" up
	if [[ "$bridge" != none ]]; then
		if [[ -S "$LAB_OVS_DIR/db.sock" ]] && ovs-vsctl --timeout=30 br-exists "$bridge" 2>/dev/null; then
			_lab_ovs_add_port "$bridge" "$tap"
		else
			# Boot now, attach when lab_ovs_bridge creates the bridge: the VM boots while OVS waits for uptime.
			_LAB_PENDING_PORTS+=("$bridge $tap")
		fi
	fi
	local netdev="tap,id=n0,ifname=$tap,script=no,downscript=no,vhost=on"
	local nic="virtio-net-pci,netdev=n0,mac=$mac"
	((queues > 1)) && netdev+=",queues=$queues" && nic+=",mq=on,vectors=$((2 * queues + 2))"
	# Every I/O exit of a nested guest is emulated by TCG, twice: quiet keeps the console short, pci=noearly skips
	# the early PCI scans (the AGP aperture check alone took 13 s of port I/O), pci=noacpi the ACPI PCI IRQ link
	# setup (~3 s); MSI-X is unaffected. (acpi=off would save more but leaves the VM with one CPU, so one queue.)
	# $NETTRACE_LAB_VM_APPEND and $NETTRACE_LAB_VM_QEMU_ARGS are debugging knobs (extra kernel/QEMU arguments).
	local vm_append="pci=noearly,noacpi ${NETTRACE_LAB_VM_APPEND:-}"
	# shellcheck disable=SC2054,SC2206 # QEMU's commas; the debugging knob is split on purpose
	local args=("${accel[@]}" -m "$mem" -smp "$smp" -nodefaults -display none -no-reboot ${NETTRACE_LAB_VM_QEMU_ARGS:-}
		-pidfile "$dir/pid" -D "$dir/qemu.debug" -d cpu_reset
		-kernel "$NETTRACE_LAB_BZIMAGE" -initrd "$NETTRACE_LAB_VM_INITRD"
		-append "console=ttyS0 panic=-1 rdinit=/init mitigations=off quiet loglevel=3 $vm_append"
		-serial "file:$dir/console.log"
		-virtfs local,path=/,mount_tag=labroot,security_model=none,readonly=on,multidevs=remap
		-virtfs "local,path=$dir/io,mount_tag=vmio,security_model=none"
		-device virtio-serial-pci -chardev "pipe,id=ctl,path=$dir/ctl"
		-device virtserialport,chardev=ctl,name=lab.ctl
		-netdev "$netdev" -device "$nic")
	printf '%q ' "${args[@]}" >"$dir/qemu.args"
	printf '%s\n' "$tap on $bridge, $queues queue(s), $smp vCPU(s), ip $ip, ${accel[*]}" >"$dir/summary"
}

# lab_vm_boot NAME [--no-wait]: start the VM lab_vm_prepare configured; waits until it is ready unless --no-wait.
lab_vm_boot() {
	local name=$1 wait=1 dir=$LAB_VM_DIR/$1
	[[ "${2:-}" == --no-wait ]] && wait=0
	[[ -s "$dir/qemu.args" ]] || lab_fail "lab_vm_boot: VM $name was not prepared (lab_vm_prepare)"
	# QEMU runs under a subshell that records how it ended ($dir/qemu.rc: exit status, 128+N for signal N); its own
	# pid comes from -pidfile. -d cpu_reset logs every vCPU reset with its registers, so a guest that triple-faults
	# (with -no-reboot, a silent exit) shows where.
	rm -f "$dir/pid" "$dir/qemu.rc"
	(
		rc=0
		eval "qemu-system-x86_64 $(cat "$dir/qemu.args")" </dev/null >"$dir/qemu.log" 2>&1 || rc=$?
		echo "$rc" >"$dir/qemu.rc"
	) &
	local i
	for ((i = 0; i < 300; i++)); do
		[[ -s "$dir/pid" || -e "$dir/qemu.rc" ]] && break
		_lab_sleep 0.1
	done
	[[ -s "$dir/pid" ]] || { cat "$dir/qemu.log" >&2; lab_fail "lab_vm: QEMU for $name did not start"; }
	lab_defer _lab_vm_stop "$name"
	lab_log "vm $name: booting ($(cat "$dir/summary"))"
	((wait)) && lab_vm_wait_ready "$name"
	return 0
}

# _lab_kvm_pin: keep KVM's static keys from flipping while nested VMs run. KVM patches the lab kernel's text
# (jump labels, text_poke_bp) when the first VM is created (preempt notifiers) and destroyed, when a vCPU's local
# APIC is created software-disabled (apic_sw_disabled) and again, deferred by a second, when the guest enables it,
# and whenever a guest disables and re-enables its APIC: measured on 6.1 with a kprobe on
# arch_jump_label_transform_apply, docs/lab.md "Nested VMs and TCG threading". Under multi-threaded TCG, patching
# kernel text while the other vCPU runs is the hazard that froze CI guests. A paused KVM VM (QEMU -S: in-kernel
# irqchip, one vCPU whose APIC is never enabled) created before the first nested VM holds every one of those keys
# above zero, so the real VMs' create, APIC enable/disable and destroy no longer patch anything. It is created
# (and, at cleanup, destroyed) while no nested VM runs.
_LAB_VM_COUNT_PINNED=
_lab_kvm_pin() {
	local dir=$LAB_VM_DIR/.pin i
	mkdir -p "$dir"
	rm -f "$dir/pid"
	qemu-system-x86_64 -enable-kvm -cpu host -S -m 16 -smp 1 -nodefaults -display none -no-reboot \
		-pidfile "$dir/pid" </dev/null >"$dir/qemu.log" 2>&1 &
	lab_defer _lab_kvm_unpin
	# The VM's vCPU is in KVM's debugfs once created (after its local APIC): the keys are held from then on.
	lab_wait_until 120 "the KVM pin VM (qemu -S) to create its vCPU" _lab_kvm_pinned "$dir" $!
	_LAB_VM_COUNT_PINNED=1
	lab_log "kvm pin: paused VM $(cat "$dir/pid") holds KVM's static keys while nested VMs run"
}
_lab_kvm_pinned() {
	kill -0 "$2" 2>/dev/null || { cat "$1/qemu.log" >&2; lab_fail "the KVM pin VM (qemu -S) exited"; }
	[[ -s "$1/pid" ]] && compgen -G "/sys/kernel/debug/kvm/$(cat "$1/pid")-*/vcpu0" >/dev/null
}
_lab_kvm_unpin() {
	local pid
	pid=$(cat "$LAB_VM_DIR/.pin/pid" 2>/dev/null) || return 0
	kill -TERM "$pid" 2>/dev/null
	lab_wait_until 10 "the KVM pin VM to stop" _lab_not_running "$pid"
	_LAB_VM_COUNT_PINNED=
}

# lab_vm_wait_ready NAME [TIMEOUT_SEC]: wait until the VM has configured its NIC (default 300 s; unloaded, a nested
# KVM VM is up in ~5 s, but TCG slows down a lot when the host is busy).
lab_vm_wait_ready() {
	local name=$1 timeout=${2:-300} dir=$LAB_VM_DIR/$1 start=$SECONDS n=0
	until _lab_vm_ready_or_dead "$name"; do
		if ((SECONDS - start >= timeout)); then
			_lab_vm_diagnose "$name"
			lab_fail "timed out after ${timeout}s waiting for VM $name to boot"
		fi
		n=$((n + 1))
		if ((n < 40)); then _lab_sleep 0.05; else _lab_sleep 0.2; fi
	done
	if [[ ! -s "$dir/io/ready" ]]; then
		_lab_vm_diagnose "$name"
		lab_fail "VM $name failed to boot"
	fi
	lab_log "vm $name: ready after $((SECONDS - start))s ($(cat "$dir/io/ready"))"
}
_lab_vm_diagnose() {
	local dir=$LAB_VM_DIR/$1 pid
	pid=$(cat "$dir/pid" 2>/dev/null)
	{
		echo "--- VM $1: qemu pid $pid $(kill -0 "$pid" 2>/dev/null && echo running || echo "exited (status $(cat "$dir/qemu.rc" 2>/dev/null))"), lab load $(cat /proc/loadavg)"
		echo "--- $1 qemu.log:"
		cat "$dir/qemu.log"
		echo "--- $1 vCPU resets (qemu -d cpu_reset): $(grep -c '^CPU Reset' "$dir/qemu.debug" 2>/dev/null)"
		grep -A3 '^CPU Reset' "$dir/qemu.debug" 2>/dev/null | tail -n 12
		echo "--- $1 console.log (tail):"
		tail -n 40 "$dir/console.log"
		[[ -e "$dir/io/failed" ]] && echo "--- $1 init failed: $(cat "$dir/io/failed")"
		echo "--- lab dmesg (tail):"
		dmesg | tail -n 15
	} >&2 2>/dev/null
}
_lab_vm_ready_or_dead() {
	[[ -s "$LAB_VM_DIR/$1/io/ready" || -e "$LAB_VM_DIR/$1/io/failed" ]] && return 0
	! kill -0 "$(cat "$LAB_VM_DIR/$1/pid")" 2>/dev/null
}
# lab_vm_stop NAME: stop the VM now (SIGTERM to its QEMU, wait until it has exited); also deferred by lab_vm_boot.
lab_vm_stop() { _lab_vm_stop "$1"; }
_lab_vm_stop() {
	local dir=$LAB_VM_DIR/$1 pid
	pid=$(cat "$dir/pid" 2>/dev/null) || return 0
	kill -TERM "$pid" 2>/dev/null
	lab_wait_until 10 "VM $1 to stop" _lab_not_running "$pid"
}
_lab_not_running() { ! kill -0 "$1" 2>/dev/null; }

# lab_vm_pid NAME: pid of the VM's QEMU process. lab_vm_ip NAME: its IPv4 address (without the prefix length).
# lab_vm_tap NAME: its tap device.
lab_vm_pid() { cat "$LAB_VM_DIR/$1/pid"; }
lab_vm_ip() {
	local ip
	ip=$(sed -n 's/^IP=//p' "$LAB_VM_DIR/$1/io/config")
	echo "${ip%/*}"
}
lab_vm_tap() { echo "tap-$1"; }
# lab_vm_accel NAME: "kvm" when the VM runs on the lab's KVM, "tcg" when it fell back to TCG.
lab_vm_accel() {
	sed -n 's/^ACCEL=//p' "$LAB_VM_DIR/$1/io/config"
}

# lab_vm_spawn NAME SCRIPT: start SCRIPT (busybox sh, cwd /) in the VM without waiting; sets LAB_VM_JOB (and prints
# it) for lab_vm_wait / lab_vm_output. The VM's PATH has only busybox applets (ping, nc, ip, ...); the helper
# `labroot CMD...` runs CMD chrooted into the lab's root (cwd = the project root), where every host binary
# (iperf3, bash, $NETTRACE) exists. NETTRACE* and PROJECT_ROOT are exported to the script.
lab_vm_spawn() {
	local name=$1 dir=$LAB_VM_DIR/$1 id v
	shift
	[[ -s "$dir/io/ready" ]] || lab_fail "lab_vm_spawn: VM $name is not ready"
	id=${EPOCHREALTIME/./}-$BASHPID
	{
		for v in $(compgen -e); do
			case "$v" in NETTRACE | NETTRACE_* | PROJECT_ROOT) printf 'export %s=%q\n' "$v" "${!v}" ;; esac
		done
		# shellcheck disable=SC2016
		echo 'labroot() { chroot /lab /bin/sh -c '\''cd "$0" && exec "$@"'\'' "${PROJECT_ROOT:-/}" "$@"; }'
		printf '%s\n' "$*"
	} >"$dir/io/cmd/$id.sh"
	echo "$id" >"$dir/ctl.in"
	LAB_VM_JOB=$id
	echo "$id"
}

# lab_vm_wait NAME ID [TIMEOUT_SEC]: wait (default 300 s) for a spawned script; print its output; return its exit
# status. A timeout fails the test.
lab_vm_wait() {
	local name=$1 id=$2 timeout=${3:-300} dir=$LAB_VM_DIR/$1/io
	lab_wait_until "$timeout" "command $id in VM $name" test -s "$dir/out/$id.rc"
	cat "$dir/out/$id.out"
	return "$(cat "$dir/out/$id.rc")"
}

# lab_vm_output NAME ID: the output a spawned script produced so far.
lab_vm_output() { cat "$LAB_VM_DIR/$1/io/out/$2.out" 2>/dev/null; }

# lab_vm_exec NAME [--timeout SEC] SCRIPT: run SCRIPT in the VM (see lab_vm_spawn) and wait for it; prints its
# output (stdout and stderr) and returns its status.
lab_vm_exec() {
	local name=$1 timeout=300
	shift
	if [[ "${1:-}" == --timeout ]]; then
		timeout=$2
		shift 2
	fi
	lab_vm_spawn "$name" "$@" >/dev/null
	lab_vm_wait "$name" "$LAB_VM_JOB" "$timeout"
}

# lab_vm_ping_ok NAME DST COUNT: ping from VM NAME (busybox ping) and assert 0% loss; sets LAB_PING_TX/RX.
lab_vm_ping_ok() {
	local out
	out=$(lab_vm_exec "$1" "ping -c $3 -i 0.1 -W 5 $2") || true
	_lab_parse_ping "$out" "$3"
	lab_assert_eq "ping vm $1 -> $2: transmitted" "$LAB_PING_TX" "$3"
	lab_assert_eq "ping vm $1 -> $2: received" "$LAB_PING_RX" "$3"
}

# lab_vm_pair [lab_vm options]: two VMs vm0 (10.0.2.10) and vm1 (10.0.2.11) on br0, booted in parallel; with
# --no-wait it returns at once (then lab_vm_wait_ready vm0; lab_vm_wait_ready vm1).
lab_vm_pair() {
	lab_vm vm0 --no-wait "$@"
	lab_vm vm1 --no-wait "$@"
	[[ " $* " == *" --no-wait "* ]] && return 0
	lab_vm_wait_ready vm0
	lab_vm_wait_ready vm1
}
