#!/bin/bash
# vhost signal-count / buf-peek / notify: bad input gets one line naming the value and exit 2 (whatever the kernel);
# on a kernel without vhost_net loaded (the 6.18 build host has none) every vhost command exits 1 with one line
# naming it; nothing stays loaded; the original scripts' names dispatch.
. "$(dirname "$0")/lib/common.sh"
count_progs() { bpftool prog show 2>/dev/null | grep -cE "vhost|eventfd_signal"; }
progs_before=$(count_progs)
check() { # check EXPECTED_RC NEEDLE ARGS…
  local want=$1 needle=$2; shift 2
  local err rc
  err=$("$NETTRACE" "$@" 2>&1 >/dev/null); rc=$?
  [ "$rc" -eq "$want" ] || fail "'$*' exited $rc, expected $want ($err)"
  [ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ] || fail "'$*' printed more than one line: $err"
  [[ $err == *"$needle"* ]] || fail "'$*' error does not name '$needle': $err"
}
# A PID that does not exist: above pid_max.
nopid=$(($(cat /proc/sys/kernel/pid_max) + 1))
for cmd in signal-count buf-peek notify; do
  check 2 "$nopid" vhost "$cmd" -p "$nopid"
  check 2 "abc" vhost "$cmd" --pid abc
  check 2 "nosuchif0" vhost "$cmd" -I nosuchif0
  check 2 "'lo' is not a tun/tap device" vhost "$cmd" -I lo
  check 2 "--queue" vhost "$cmd" --queue 300
  check 2 "-1" vhost "$cmd" --queue -1
  check 2 "xyz" vhost "$cmd" -d xyz
  check 2 "-1" vhost "$cmd" -i -1
  check 2 "--bogus" vhost "$cmd" --bogus
done
check 2 "--top" vhost buf-peek --top 0

# A tap with one queue: --queue 1 is out of its range.
ip tuntap add dev ntvh$$ mode tap || fail "cannot create a tap"
trap 'ip link del ntvh$$ 2>/dev/null; cleanup' EXIT
check 2 "--queue: 1 is out of range (ntvh$$ has 1 queue)" vhost signal-count -I ntvh$$ --queue 1

state=$(sed -n 's/^vhost_net .*/loaded/p' /proc/modules 2>/dev/null)
if [ "$state" != loaded ]; then
  # No vhost_net here: every command refuses with the module's name, exit 1, one line.
  for cmd in signal-count buf-peek notify; do
    check 1 "vhost_net" vhost "$cmd" -d 1
    check 1 "vhost_net" vhost "$cmd" -I ntvh$$ --queue 0 -d 1
  done
  ln -sf "$NETTRACE" "$TMP/vhost_eventfd_count.py"
  out=$("$TMP/vhost_eventfd_count.py" -i 1 -c 2>&1 >/dev/null); rc=$?
  [ "$rc" -eq 1 ] || fail "vhost_eventfd_count.py on a kernel without vhost_net exited $rc ($out)"
  [[ $out == *vhost_net* ]] || fail "vhost_eventfd_count.py does not name vhost_net: $out"
  echo "ok: no vhost_net: every vhost command exits 1 naming it"
fi

aliases=$("$NETTRACE" --list-aliases)
for a in vhost_eventfd_count vhost_buf_peek_stats vhost_queue_correlation_simple vhost_queue_correlation_details; do
  grep -qx "$a" <<<"$aliases" || fail "--list-aliases lacks $a"
  ln -sf "$NETTRACE" "$TMP/$a.py"
  "$TMP/$a.py" --help >/dev/null || fail "$a.py --help failed"
done
"$TMP/vhost_eventfd_count.py" --help | grep -q -- "-c/--clear is --clear" || fail "vhost_eventfd_count.py --help does not say how -c translates"
"$TMP/vhost_queue_correlation_simple.py" --help | grep -q -- "-d/--device is --interface" ||
  fail "vhost_queue_correlation_simple.py --help does not say how -d translates"
"$NETTRACE" doctor --json | jq -e '.tools[] | select(.tool == "vhost") | .hooks | map(.hook) |
  index("vhost_add_used_and_signal_n") != null and index("vhost_net_buf_peek return") != null and
  index("vhost_notify return") != null' >/dev/null || fail "doctor does not list the vhost hooks"
progs_after=$(count_progs)
[ "$progs_after" -eq "$progs_before" ] || fail "BPF programs left loaded: $progs_before before, $progs_after after"
pass "vhost: bad input rejected with exit 2 and one line; no vhost_net -> exit 1 naming it; aliases dispatch; doctor lists the hooks"
