#!/bin/bash
# Without privileges (issue 15, 4). As `nobody` with no capabilities every tool exits 1 with ONE line on stderr
# naming what is missing (CAP_BPF / CAP_PERFMON / root), and never crashes. With exactly CAP_BPF, CAP_PERFMON and
# CAP_NET_ADMIN (no CAP_SYS_ADMIN, uid nobody): `drop` and `drop stacks` run and count exactly (Udp NoPorts), and
# every other tool either runs (exit 0) or exits 1 with one line naming what it needs, never blaming "tracefs not
# available" while tracefs is mounted (it is root's 0700 directory: not readable is not absent).
# The tools run in the caller's mount namespace (nsenter --net), where this test mounts tracefs.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/tools.sh"
command -v setpriv >/dev/null || skip "needs setpriv (util-linux)"
id nobody >/dev/null 2>&1 || skip "no user nobody"
NOGROUP=$(id -gn nobody)
setpriv --reuid=nobody --regid="$NOGROUP" --clear-groups --inh-caps=+bpf,+perfmon,+net_admin \
  --ambient-caps=+bpf,+perfmon,+net_admin true 2>/dev/null || skip "setpriv cannot grant ambient CAP_BPF/CAP_PERFMON"
mountpoint -q /sys/kernel/tracing || mount -t tracefs tracefs /sys/kernel/tracing || skip "cannot mount tracefs"
tools_setup
NOBODY=(setpriv --reuid=nobody --regid="$NOGROUP" --clear-groups --inh-caps=-all)
CAPS=(setpriv --reuid=nobody --regid="$NOGROUP" --clear-groups --inh-caps=+bpf,+perfmon,+net_admin
  --ambient-caps=+bpf,+perfmon,+net_admin)
FAILS=()
# run_as TOOL PRIV...: runs the tool's command line with PRIV inserted after the namespace prefix.
run_as() {
  local tool=$1; shift
  tool_cmd "$tool"
  local pre=() i=0
  [ "${TOOL_CMD[0]}" = nsenter ] && { pre=("${TOOL_CMD[@]:0:2}"); i=2; }
  timeout -s KILL 20 "${pre[@]}" "$@" "${TOOL_CMD[@]:$i}" --duration 1 >"$TMP/out" 2>"$TMP/err"
}

echo "as nobody, no capabilities:"
while read -r tool; do
  run_as "$tool" "${NOBODY[@]}"; rc=$?
  lines=$(wc -l <"$TMP/err")
  echo "  $tool: exit $rc: $(head -c 200 "$TMP/err" | tr '\n' '|')"
  [ "$rc" -eq 1 ] || FAILS+=("nobody $tool: exit $rc, expected 1 ($(head -c 200 "$TMP/err"))")
  [ "$lines" -eq 1 ] || FAILS+=("nobody $tool: $lines lines on stderr, expected one")
  grep -qE "CAP_BPF|CAP_PERFMON|root" "$TMP/err" || FAILS+=("nobody $tool: stderr does not name CAP_BPF, CAP_PERFMON or root")
done <<<"$(tool_names)"

echo "as nobody with CAP_BPF, CAP_PERFMON, CAP_NET_ADMIN:"
while read -r tool; do
  run_as "$tool" "${CAPS[@]}"; rc=$?
  echo "  $tool: exit $rc: $(head -c 300 "$TMP/err" | tr '\n' '|')"
  if [ "$rc" -ne 0 ]; then
    [ "$rc" -eq 1 ] || FAILS+=("caps $tool: exit $rc, expected 0 or 1 ($(head -c 200 "$TMP/err"))")
    [ "$(wc -l <"$TMP/err")" -eq 1 ] || FAILS+=("caps $tool: exit 1 with $(wc -l <"$TMP/err") lines on stderr, expected one")
    grep -qiE "CAP_[A-Z_]+|root" "$TMP/err" || FAILS+=("caps $tool: exit 1 without naming the capability it needs")
  fi
  grep -qi "tracefs not available" "$TMP/err" && FAILS+=("caps $tool: blames \"tracefs not available\" while tracefs is mounted")
done <<<"$(tool_names)"

# drop and drop stacks must run with these capabilities and count exactly. nobody creates the ready file.
chmod 711 "$TMP"
mkdir -m 1777 "$TMP/nobody"
for tool in "drop" "drop stacks"; do
  out=$TMP/caps.json
  before=$(snmp "$NS_B" Udp: NoPorts)
  extra=(--json --dst-port 7301)
  [ "$tool" = "drop stacks" ] && extra+=(-i 1)
  # shellcheck disable=SC2086
  ip netns exec "$NS_B" "${CAPS[@]}" "$NETTRACE" $tool "${extra[@]}" --ready-file "$TMP/nobody/ready" >"$out" 2>"$out.err" &
  pid=$!
  PIDS+=("$pid")
  for _ in $(seq 1 200); do [ -e "$TMP/nobody/ready" ] || ! kill -0 $pid 2>/dev/null && break; sleep 0.05; done
  if ! [ -e "$TMP/nobody/ready" ]; then
    kill -KILL $pid 2>/dev/null; wait $pid; FAILS+=("caps $tool: did not attach (exit $?): $(head -c 300 "$out.err")"); continue
  fi
  rm -f "$TMP/nobody/ready"
  ip netns exec "$NS_A" "$PKTSEND" udp 10.200.0.2 7301 23 >/dev/null || fail "send failed"
  sleep 0.3
  kill -INT $pid; wait $pid; rc=$?
  kernel=$(( $(snmp "$NS_B" Udp: NoPorts) - before ))
  if [ "$tool" = drop ]; then
    got=$(jq -s '[.[] | select(.type=="drop" and .dst_port==7301)] | length' "$out")
  else
    got=$(jq -s '[.[] | select(.type=="drop_stacks") | .entries[] | select(.reason=="NO_SOCKET") | .count] | add // 0' "$out")
  fi
  echo "  $tool with the three capabilities: exit $rc, $got drops, Udp NoPorts delta $kernel"
  [ "$rc" -eq 0 ] && [ "$got" -eq "$kernel" ] && [ "$kernel" -eq 23 ] ||
    FAILS+=("caps $tool: exit $rc, counted $got, Udp NoPorts delta $kernel: $(head -c 300 "$out.err")")
done
[ ${#FAILS[@]} -eq 0 ] || { printf 'FAIL: %s\n' "${FAILS[@]}"; exit 1; }
pass "no privileges: exit 1 naming the capability; CAP_BPF+CAP_PERFMON+CAP_NET_ADMIN: drop and drop stacks count exactly"
