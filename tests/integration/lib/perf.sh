# Helpers for the perf tools' integration tests (source after common.sh).

# A quiet veth pair for exact counting: $NS_A/veth-a 10.201.0.1 <-> $NS_B/veth-b 10.201.0.2, QUEUES tx/rx queues
# per end, IPv6 off before the links exist (no ND/MLD), static neighbours (no ARP): nothing crosses the link
# unless a test sends it.
quiet_pair() {
  local queues=${1:-1} mac_a mac_b
  for m in veth sch_tbf sch_netem; do modprobe -q "$m" 2>/dev/null; done
  ip netns add "$NS_A" && ip netns add "$NS_B" || fail "cannot create network namespaces"
  for ns in "$NS_A" "$NS_B"; do
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
    ip -n "$ns" link set lo up
  done
  ip link add veth-a numtxqueues "$queues" numrxqueues "$queues" netns "$NS_A" type veth \
    peer name veth-b numtxqueues "$queues" numrxqueues "$queues" netns "$NS_B" || fail "cannot create veth"
  ip -n "$NS_A" addr add 10.201.0.1/24 dev veth-a
  ip -n "$NS_B" addr add 10.201.0.2/24 dev veth-b
  mac_a=$(ip -n "$NS_A" -j link show veth-a | jq -r '.[0].address')
  mac_b=$(ip -n "$NS_B" -j link show veth-b | jq -r '.[0].address')
  ip -n "$NS_A" neigh replace 10.201.0.2 lladdr "$mac_b" dev veth-a nud permanent
  ip -n "$NS_B" neigh replace 10.201.0.1 lladdr "$mac_a" dev veth-b nud permanent
  ip -n "$NS_A" link set veth-a up
  ip -n "$NS_B" link set veth-b up
  sleep 0.2
}

# linkstat NS DEV FIELD: an interface statistics counter.
linkstat() { ip netns exec "$1" cat "/sys/class/net/$2/statistics/$3"; }

# tc_sent NS DEV: packets the root qdisc sent.
tc_sent() { ip netns exec "$1" tc -s -j qdisc show dev "$2" root | jq '.[0].packets'; }
tc_dropped() { ip netns exec "$1" tc -s -j qdisc show dev "$2" root | jq '.[0].drops'; }
