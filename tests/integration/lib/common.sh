# Shared helpers for integration tests: root check, a two-namespace veth topology with cleanup,
# waiting for nettrace to attach, and JSON counting with jq.
set -u
NETTRACE=${NETTRACE:-$(pwd)/build/nettrace}
NETTRACE_BUILD=${NETTRACE_BUILD:-$(dirname "$NETTRACE")}
PKTSEND=${PKTSEND:-$NETTRACE_BUILD/tests/nt_pktsend}
TMP=$(mktemp -d /tmp/nettrace-it.XXXXXX)
NS_A=nt$$a
NS_B=nt$$b
PIDS=()

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }
pass() { echo "PASS: $*"; }

cleanup() {
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  ip netns del "$NS_A" 2>/dev/null
  ip netns del "$NS_B" 2>/dev/null
  rm -rf "$TMP"
}
trap cleanup EXIT

[ "$(id -u)" = 0 ] || skip "needs root"
[ -x "$NETTRACE" ] || fail "nettrace binary not found at $NETTRACE"
command -v jq >/dev/null || fail "jq is required"
[ -x "$PKTSEND" ] || fail "nt_pktsend not found at $PKTSEND"

# has_tracepoint CATEGORY/NAME: the running kernel has that tracepoint. tracefs is not mounted at boot on some
# hosts and nettrace mounts it itself, so mount it first: the answer must not depend on which test ran before.
has_tracepoint() {
  mountpoint -q /sys/kernel/tracing || mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
  [ -d "/sys/kernel/tracing/events/$1" ]
}

# has_drop_reasons: the kernel passes a drop reason to skb:kfree_skb (5.17+). Before that (the lab's 5.10) nettrace
# reports every drop's reason as UNKNOWN and warns so; the location and the stack still say where it was dropped.
has_drop_reasons() {
  has_tracepoint skb/kfree_skb && grep -q 'reason' /sys/kernel/tracing/events/skb/kfree_skb/format
}
# reason_or_unknown NAME: the reason nettrace must report for a drop of reason NAME on this kernel.
reason_or_unknown() { if has_drop_reasons; then echo "$1"; else echo UNKNOWN; fi; }

# Two namespaces joined by a veth pair: $NS_A/veth-a 10.200.0.1, fd00::1 <-> $NS_B/veth-b 10.200.0.2, fd00::2
two_ns() {
  # On modular kernels (the lab's) load what the tests use; built-in or absent modules are fine here.
  for m in veth sch_tbf nf_tables nft_compat xt_tcpudp iptable_filter; do modprobe -q "$m" 2>/dev/null; done
  ip netns add "$NS_A" && ip netns add "$NS_B" || fail "cannot create network namespaces"
  ip link add veth-a netns "$NS_A" type veth peer name veth-b netns "$NS_B" || fail "cannot create veth"
  ip -n "$NS_A" addr add 10.200.0.1/24 dev veth-a
  ip -n "$NS_B" addr add 10.200.0.2/24 dev veth-b
  ip -n "$NS_A" addr add fd00::1/64 dev veth-a nodad
  ip -n "$NS_B" addr add fd00::2/64 dev veth-b nodad
  for ns in "$NS_A" "$NS_B"; do
    ip -n "$ns" link set lo up
    # No IPv6 router/MLD chatter: the tests count exact drops.
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=0
  done
  ip -n "$NS_A" link set veth-a up
  ip -n "$NS_B" link set veth-b up
  # Resolve neighbours once, and wait until both warm-up datagrams arrived, so no packet queued
  # behind ARP/ND resolution lands while a test counts.
  ip netns exec "$NS_A" "$PKTSEND" udp 10.200.0.2 9 1 >/dev/null
  ip netns exec "$NS_A" "$PKTSEND" udp fd00::2 9 1 >/dev/null
  for _ in $(seq 1 100); do
    [ "$(snmp "$NS_B" Udp: NoPorts)" -ge 1 ] &&
      [ "$(ip netns exec "$NS_B" awk '$1=="Udp6NoPorts"{print $2}' /proc/net/snmp6)" -ge 1 ] && return 0
    sleep 0.05
  done
  fail "warm-up datagrams did not arrive"
}

# start_nettrace NS OUTFILE ARGS… : runs nettrace (or $NT_BIN, e.g. an alias symlink) in NS in the
# background and waits until it is attached.
start_nettrace() {
  local ns=$1 out=$2; shift 2
  local ready=$TMP/ready.$RANDOM bin=${NT_BIN:-$NETTRACE}
  if [ -n "$ns" ]; then
    ip netns exec "$ns" "$bin" "$@" --ready-file "$ready" >"$out" 2>"$out.err" &
  else
    "$bin" "$@" --ready-file "$ready" >"$out" 2>"$out.err" &
  fi
  NT_PID=$!
  PIDS+=("$NT_PID")
  for _ in $(seq 1 200); do
    [ -e "$ready" ] && return 0
    kill -0 "$NT_PID" 2>/dev/null || { cat "$out.err"; fail "nettrace exited before attaching"; }
    sleep 0.05
  done
  cat "$out.err"
  fail "nettrace did not attach within 10 s"
}

# stop_nettrace: SIGINT and wait; fails on a non-zero exit.
stop_nettrace() {
  kill -INT "$NT_PID" 2>/dev/null
  wait "$NT_PID"
  local rc=$?
  [ $rc -eq 0 ] || { cat "$1.err" 2>/dev/null; fail "nettrace exited with $rc"; }
}

# wait_file FILE: up to 20 s for FILE to exist; wait_line FILE: for it to be non-empty.
wait_file() { for _ in $(seq 200); do [ -e "$1" ] && return 0; sleep 0.1; done; return 1; }
wait_line() { for _ in $(seq 200); do [ -s "$1" ] && return 0; sleep 0.1; done; return 1; }

snmp() { # snmp NS "Udp:" FIELD
  ip netns exec "$1" cat /proc/net/snmp | awk -v p="$2" -v f="$3" '$1==p { if (!h) { for (i=2;i<=NF;i++) idx[$i]=i; h=1 } else print $idx[f] }'
}
