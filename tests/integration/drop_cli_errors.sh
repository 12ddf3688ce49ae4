#!/bin/bash
# Bad input gets one line naming the value and exit 2; unknown aliases exit 127; nothing stays attached.
. "$(dirname "$0")/lib/common.sh"
progs_before=$(bpftool prog show 2>/dev/null | grep -c kfree_skb)
check() { # check EXPECTED_RC NEEDLE ARGS…
  local want=$1 needle=$2; shift 2
  local err rc
  err=$("$NETTRACE" "$@" 2>&1 >/dev/null); rc=$?
  [ "$rc" -eq "$want" ] || fail "'$*' exited $rc, expected $want ($err)"
  [ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ] || fail "'$*' printed more than one line: $err"
  [[ $err == *"$needle"* ]] || fail "'$*' error does not name '$needle': $err"
}
check 2 "10.0.0.300" drop --src-ip 10.0.0.300
check 2 "70000" drop --dst-port 70000
check 2 "sctpx" drop --l4-protocol sctpx
check 2 "nosuchif0" drop --interface nosuchif0
check 2 "5000" drop --vlan-id 5000
check 2 "abc" drop --duration abc
check 2 "-5" drop stacks --interval -5
check 2 "ipx" drop --type ipx
check 2 "--bogus" drop --bogus
check 2 "frobnicate" frobnicate
check 2 "fd00::1" drop --src-ip 10.0.0.1 --dst-ip fd00::1
check 2 "sideways" drop stacks --group-by sideways
check 2 "NO_SUCH_REASON" drop --reason NO_SUCH_REASON --duration 0.1
ln -s "$NETTRACE" "$TMP/not_a_tool"
err=$("$TMP/not_a_tool" 2>&1); rc=$?
[ $rc -eq 127 ] && [[ $err == *not_a_tool* ]] || fail "unknown alias: rc $rc, '$err'"
aliases=$("$NETTRACE" --list-aliases)
for a in eth_drop kernel_drop_stack_stats kernel_drop_stack_stats_summary kernel_drop_stack_stats_summary_all qdisc_drop_trace drop_monitor_controller; do
  grep -qx "$a" <<<"$aliases" || fail "--list-aliases lacks $a"
  ln -sf "$NETTRACE" "$TMP/$a.py"
  "$TMP/$a.py" --help >/dev/null || fail "$a.py --help failed"
done
progs_after=$(bpftool prog show 2>/dev/null | grep -c kfree_skb)
[ "$progs_after" -eq "$progs_before" ] || fail "BPF programs left attached: $progs_before before, $progs_after after"
pass "bad input rejected with exit 2 and one line; aliases dispatch; nothing left loaded"
