#!/bin/bash
# perf vm-latency (vm_network_latency_*) on the host, tracepoints only: a "VM" namespace behind a vnet-like
# veth of a router namespace that forwards to a "physical" veth and a remote namespace. One record per
# datagram each way, the vnet stages before the phy stages (tx = VM -> wire) and after them (rx).
. "$(dirname "$0")/lib/common.sh"
N=${N:-30}
NS_VM=nt$$vm NS_R=nt$$r NS_X=nt$$x
cleanup_vm() { for n in $NS_VM $NS_R $NS_X; do ip netns del "$n" 2>/dev/null; done; cleanup; }
trap cleanup_vm EXIT
for n in $NS_VM $NS_R $NS_X; do ip netns add "$n" || fail "netns"; ip -n "$n" link set lo up; done
ip link add vnet0 netns $NS_R type veth peer name eth0 netns $NS_VM || fail "veth"
ip link add phy0 netns $NS_R type veth peer name eth0 netns $NS_X || fail "veth"
ip -n $NS_VM addr add 10.210.1.2/24 dev eth0
ip -n $NS_R addr add 10.210.1.1/24 dev vnet0
ip -n $NS_R addr add 10.210.2.1/24 dev phy0
ip -n $NS_X addr add 10.210.2.2/24 dev eth0
for l in "$NS_VM eth0" "$NS_R vnet0" "$NS_R phy0" "$NS_X eth0"; do set -- $l; ip -n "$1" link set "$2" up; done
ip -n $NS_VM route add default via 10.210.1.1
ip -n $NS_X route add default via 10.210.2.1
ip netns exec $NS_R sysctl -qw net.ipv4.ip_forward=1
ip netns exec $NS_VM ping -c 1 -W 2 10.210.2.2 >/dev/null || fail "no route VM -> remote"
ip netns exec $NS_X ping -c 1 -W 2 10.210.1.2 >/dev/null || fail "no route remote -> VM"

out=$TMP/vm.json
start_nettrace "$NS_R" "$out" perf vm-latency --vm-interface vnet0 --phy-interface phy0 --vm-ip 10.210.1.2 \
  --dst-ip 10.210.2.2 --protocol udp --direction both --json --disable-kernel-stacks
ip netns exec $NS_VM "$PKTSEND" udp 10.210.2.2 9999 "$N" 64 7000 >/dev/null || fail "send VM -> remote"
ip netns exec $NS_X "$PKTSEND" udp 10.210.1.2 7000 "$N" 64 9999 >/dev/null || fail "send remote -> VM"
sleep 0.3
stop_nettrace "$out"
# The later starts (vnet receive, phy queue) try the skb pointer: flows live in their packet's skb.
keying=$(jq -rs '[.[] | select(.type=="latency_summary")][0].flow_keying' "$out")
[ "$keying" = hybrid ] || { cat "$out.err"; fail "flows keyed by '$keying', not hybrid"; }
for dir in tx rx; do
  n=$(jq -s --arg d $dir '[.[] | select(.type=="latency_flow" and .direction==$d)] | length' "$out")
  [ "$n" -eq "$N" ] || { head -c 2000 "$out"; cat "$out.err"; fail "$dir: $n records for $N datagrams"; }
  first=$([ $dir = tx ] && echo vnet0 || echo phy0) last=$([ $dir = tx ] && echo phy0 || echo vnet0)
  bad=$(jq -s --arg d $dir --arg f $first --arg l $last '[.[] | select(.type=="latency_flow" and .direction==$d) |
        select(([.stages[].delta_us] | min) < 0 or ([.stages[].index] != ([.stages[].index] | sort)) or
               .stages[0].interface != $f or .stages[-1].interface != $l)] | length' "$out")
  [ "$bad" -eq 0 ] || fail "$dir: $bad records not from $first to $last in order"
  stages=$(jq -s -r --arg d $dir '[.[] | select(.type=="latency_flow" and .direction==$d)][0] | [.stages[] | "\(.stage)@\(.interface)"] | join(" -> ")' "$out")
  pass "$dir: $n records = $N datagrams; $stages"
done
