# Every nettrace tool that attaches BPF, with the minimal arguments that make it run on this host, for the
# reliability tests that run each tool in turn (source after common.sh). A new tool is one line here.
#
# Columns (|-separated): tool words | where it runs | minimal arguments | its interval flag
#   where: A or B = inside $NS_A / $NS_B of two_ns (nsenter --net: the network namespace only, the caller's mount
#          namespace), host = no namespace. Arguments are expanded with eval when a tool runs, so they may name
#          variables that tools_setup sets ($NT_RWLOCK_PID: a live process linked to libc, for the uprobes of cpu
#          rwlock; cpu offcpu follows it too: all threads would take seconds of stack symbolization per report).
NT_TOOL_TABLE='
drop               | B    | -I veth-b                                                   | -i
drop stacks        | B    | -I veth-b                                                   | -i
drop qdisc         | A    | -I veth-a                                                   | -i
cpu schedlat       | host |                                                             | -i
cpu offcpu         | host | --pid $NT_RWLOCK_PID                                        | -i
cpu futex          | host |                                                             | -i
cpu monitor        | host |                                                             | -i
cpu rwlock         | host | --pid $NT_RWLOCK_PID                                        | -i
perf iface         | A    | -I veth-a                                                   | -i
perf qdisc         | A    | -I veth-a                                                   | -i
perf latency       | A    | --phy-interface veth-a --mode summary                       | -i
perf vm-latency    | B    | --vm-interface veth-b --phy-interface phy0 --mode summary   | -i
perf icmp-rtt      | A    | --src-ip 10.200.0.1 --dst-ip 10.200.0.2 --phy-interface veth-a --summary | -i
perf internal-port | B    | --internal-interface veth-b --mode summary                  | -i
perf backlog       | B    | -I veth-b                                                   | -i
tun ring           | host |                                                             | -i
'

# tool_names: one tool per line ("drop stacks").
tool_names() { printf '%s\n' "$NT_TOOL_TABLE" | awk -F'|' 'NF >= 3 { gsub(/^ +| +$/, "", $1); print $1 }'; }
# tool_field TOOL N: column N (1-based) of TOOL's row, trimmed.
tool_field() {
  printf '%s\n' "$NT_TOOL_TABLE" | awk -F'|' -v t="$1" -v n="$2" \
    'NF >= 3 { name = $1; gsub(/^ +| +$/, "", name); if (name == t) { v = $n; gsub(/^ +| +$/, "", v); print v } }'
}
# tool_cmd TOOL: sets TOOL_CMD (an array): the namespace prefix, nettrace, the tool's words and its arguments.
tool_cmd() {
  local where args
  where=$(tool_field "$1" 2)
  args=$(tool_field "$1" 3)
  TOOL_CMD=()
  case $where in
    A) TOOL_CMD=(nsenter "--net=/run/netns/$NS_A") ;;
    B) TOOL_CMD=(nsenter "--net=/run/netns/$NS_B") ;;
  esac
  # shellcheck disable=SC2206 # word splitting of the tool's words and arguments is intended
  TOOL_CMD+=("$NETTRACE" $1)
  eval "TOOL_CMD+=($args)"
}
tool_interval_flag() { tool_field "$1" 4; }

# tools_setup: what the table's arguments need: the two namespaces, a second interface in $NS_B (phy0, a veth
# whose peer stays in $NS_B) and a process for cpu rwlock's uprobes (nt_rwlock blocks opening its start fifo
# until the test ends; its libc is mapped).
tools_setup() {
  two_ns
  ip -n "$NS_B" link add phy0 type veth peer name phy0-peer || fail "cannot create phy0"
  ip -n "$NS_B" link set phy0 up
  local rw=$NETTRACE_BUILD/tests/workloads/nt_rwlock
  [ -x "$rw" ] || fail "$rw not built"
  mkfifo "$TMP/rwlock.go"
  "$rw" "$TMP/rwlock.go" 1 1 1000 >/dev/null &
  NT_RWLOCK_PID=$!
  PIDS+=("$NT_RWLOCK_PID")
  for _ in $(seq 1 50); do grep -q libc "/proc/$NT_RWLOCK_PID/maps" 2>/dev/null && return 0; sleep 0.05; done
  fail "nt_rwlock did not start"
}

# --- BPF objects and mounts a run leaves behind -------------------------------------------------------------

# bpf_snapshot FILE: "prog ID", "map ID", "link ID" lines of every BPF object in the kernel.
bpf_snapshot() {
  local k
  for k in prog map link; do bpftool "$k" show 2>/dev/null | awk -v k=$k '/^[0-9]+:/ { sub(/:$/, "", $1); print k, $1 }'; done |
    sort -u >"$1"
}
# bpf_held: objects some live process holds (an fd to the object, a link fd naming its program, and the maps
# of held programs): other engineers' tests on the same host load BPF too, and their objects are not ours.
bpf_held() {
  { cat /proc/[0-9]*/fdinfo/* 2>/dev/null | awk '/^(prog|map|link)_id:/ { sub(/_id:$/, "", $1); print $1, $2 }' | sort -u
    echo END; bpftool prog show 2>/dev/null; } |
    awk '!body { if ($0 == "END") body = 1; else { print; if ($1 == "prog") held[$2] = 1 }; next }
         /^[0-9]+:/ { id = $1; sub(/:$/, "", id); next }
         held[id] { for (i = 1; i < NF; i++) if ($i == "map_ids") { n = split($(i + 1), m, ","); for (j = 1; j <= n; j++) print "map", m[j] } }' |
    sort -u
}
# bpf_leaks BEFORE_FILE SETTLE_S: prints the objects that exist now, did not before, and no live process holds,
# after waiting up to SETTLE_S seconds for the kernel to free them (deferred frees after a SIGKILL).
bpf_leaks() {
  local before=$1 settle=${2:-2} now=$TMP/bpf.now held=$TMP/bpf.held left
  for _ in $(seq 0 $((settle * 10))); do
    bpf_snapshot "$now"
    left=$(comm -13 "$before" "$now")
    [ -z "$left" ] && return 0
    bpf_held >"$held"
    left=$(printf '%s\n' "$left" | comm -23 - "$held")
    [ -z "$left" ] && return 0
    sleep 0.1
  done
  # Name what is left: program names say which tool they came from.
  printf '%s\n' "$left" | while read -r kind id; do
    echo "$kind $id $(bpftool "$kind" show id "$id" 2>/dev/null | head -n 1)"
  done
}
# mounts_of FILE: the mount points and filesystem types of a mountinfo file (ids dropped), sorted. nsfs mounts are
# left out: other tests' `ip netns del` unlinks theirs in /run/netns, which unmounts them in every namespace.
mounts_of() { awk '{ for (i = 7; i <= NF; i++) if ($i == "-") { if ($(i + 1) != "nsfs") print $5, $(i + 1); break } }' "$1" | sort; }
