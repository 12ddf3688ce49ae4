#!/bin/bash
# perf iface / perf qdisc / perf backlog / perf internal-port: bad input gets one line naming the value and exit 2, nothing stays loaded; the
# aliases named after the original scripts dispatch.
. "$(dirname "$0")/lib/common.sh"
count_progs() { bpftool prog show 2>/dev/null | grep -cE "tpbtf_(netif_rec|net_dev_sta|qdisc_deq|qdisc_enq)|rawtp_(qdisc|netif_rec)"; }
progs_before=$(count_progs)
check() { # check EXPECTED_RC NEEDLE ARGS…
  local want=$1 needle=$2; shift 2
  local err rc
  err=$("$NETTRACE" "$@" 2>&1 >/dev/null); rc=$?
  [ "$rc" -eq "$want" ] || fail "'$*' exited $rc, expected $want ($err)"
  [ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ] || fail "'$*' printed more than one line: $err"
  [[ $err == *"$needle"* ]] || fail "'$*' error does not name '$needle': $err"
}
check 2 "nosuchif0" perf iface -I nosuchif0
check 2 "--interface" perf iface
check 2 "'lo' is the loopback device" perf vm-latency --vm-interface lo --phy-interface lo
check 2 "abc" perf iface -I lo -d abc
check 2 "0" perf iface -I lo -i 0
check 2 "-1" perf iface -I lo --interval -1
check 2 "nosuchif0" perf qdisc --dev nosuchif0
check 2 "10.0.0.300" perf qdisc --src-ip 10.0.0.300
check 2 "fe80::zz" perf qdisc --dst-ip fe80::zz
check 2 "70000" perf qdisc --dst-port 70000
check 2 "-3" perf qdisc --src-port -3
check 2 "sctpx" perf qdisc --proto sctpx
check 2 "xyz" perf qdisc --duration xyz
check 2 "-5" perf qdisc --latency-us -5
check 2 "--bogus" perf qdisc --bogus
check 2 "--interface" perf backlog
check 2 "nosuchif0" perf backlog --interface nosuchif0
check 2 "bogus" perf backlog --interface lo --mode bogus
check 2 "--threshold" perf backlog --interface lo --threshold 5 --threshold-us 6
check 2 "'-1'" perf backlog --interface lo --threshold -1
check 2 "'abc'" perf backlog --interface lo --threshold-us abc
check 2 "'0'" perf backlog --interface lo --interval 0
check 2 "10.0.0.300" perf backlog --interface lo --src-ip 10.0.0.300
check 2 "--internal-interface: interface 'nosuchif0'" perf internal-port --internal-interface nosuchif0
check 2 "--phy-interface: interface 'nosuchif0'" perf internal-port --phy-interface nosuchif0
check 2 "sideways" perf internal-port --mode sideways
check 2 "'-2'" perf internal-port --latency-us -2
check 2 "70000" perf internal-port --dst-port 70000
aliases=$("$NETTRACE" --list-aliases)
for a in iface_netstat qdisc_lateny_details qdisc_latency_details system_network_rx_internal_port_latency_details \
  enqueue_to_iprec_latency_summary enqueue_to_iprec_latency_threshold; do
  grep -qx "$a" <<<"$aliases" || fail "--list-aliases lacks $a"
  ln -sf "$NETTRACE" "$TMP/$a.py"
  "$TMP/$a.py" --help >/dev/null || fail "$a.py --help failed"
done
"$TMP/iface_netstat.py" --help | grep -q -- "--throughput" || fail "iface_netstat.py --help is not perf iface's"
"$TMP/iface_netstat.py" --help | grep -q -- "-n/--name is --interface" || fail "iface_netstat.py --help does not say how -n translates"
"$TMP/qdisc_lateny_details.py" --help | grep -q -- "runs \`nettrace perf qdisc\`" || fail "qdisc_lateny_details.py --help is not perf qdisc's"
"$TMP/enqueue_to_iprec_latency_threshold.py" --help | grep -q -- "defaults --mode threshold" ||
  fail "enqueue_to_iprec_latency_threshold.py --help is not perf backlog's"
"$TMP/system_network_rx_internal_port_latency_details.py" --help | grep -q -- "--internal-interface" ||
  fail "system_network_rx_internal_port_latency_details.py --help is not perf internal-port's"
progs_after=$(count_progs)
[ "$progs_after" -eq "$progs_before" ] || fail "BPF programs left loaded: $progs_before before, $progs_after after"
pass "perf iface/qdisc/backlog/internal-port: bad input rejected with exit 2 and one line; aliases dispatch; nothing left loaded"
