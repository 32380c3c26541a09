# shellcheck shell=bash
# The shaped network of bench/cluster/run.sh: one namespace per host, origin and scheduler, each joined by a veth pair
# to one bridge in a switch namespace, addresses in 198.18.0.0/15 (the range reserved for benchmarks) and no route
# anywhere else. Sourced by run.sh; every name starts with "$NET_PREFIX-" (namespaces; the links live inside them),
# so cleanup finds everything by that prefix.
#
# Addresses: origin 198.18.0.2, scheduler 198.18.0.3, host n of zone z (0-based) 198.18.<z+1>.<n>; all /15, on-link.
#
# Shaping (HTB, the only shaper every kernel here has):
#   - a host's upload: HTB at its rate on its own end of the veth (egress);
#   - a host's download: HTB at the same rate on the switch's end of its veth (the switch's egress towards it);
#   - the origin the same at its own rate; the scheduler's link is not shaped (a control plane, not a data path).
# Latency, when the kernel has sch_netem: each sender delays its packets by half the round trip, in two HTB leaves
# under the host's rate: one for its own zone, the origin and the scheduler (RTT = latency), one, chosen by a u32
# filter on the destination's /24, for other zones (RTT = latency + cross-zone latency). Without sch_netem the run
# refuses a non-zero latency instead of ignoring it.

NET_PREFIX=${NET_PREFIX:-}
NET_ORIGIN_IP=198.18.0.2
NET_SCHEDULER_IP=198.18.0.3

net_ns() { echo "$NET_PREFIX-$1"; } # name (sw, origin, sched, h<n>) -> its namespace

net_host_ip() { # n, zones -> address of host n (1-based), zone (n-1) % zones
  echo "198.18.$(((($1 - 1) % $2) + 1)).$1"
}

net_has_netem() { # -> true when the kernel can add a netem qdisc (tried on a throwaway dummy namespace)
  local ns="$NET_PREFIX-probe" ok=1
  ip netns add "$ns" || return 1
  ip -n "$ns" link add probe0 type veth peer name probe1 2>/dev/null \
    && tc -n "$ns" qdisc add dev probe0 root netem delay 1ms 2>/dev/null && ok=0
  ip netns del "$ns"
  return "$ok"
}

net_switch() { # -> the switch namespace with bridge br0
  local sw
  sw=$(net_ns sw)
  ip netns add "$sw"
  net_no_ipv6 "$sw"
  ip -n "$sw" link set lo up
  ip -n "$sw" link add br0 type bridge forward_delay 0 stp_state 0
  ip -n "$sw" link set br0 up
}

net_no_ipv6() { # namespace -> IPv6 off inside it, so nothing but the 198.18.0.0/15 addresses ever sends
  ip netns exec "$1" sh -c 'echo 1 >/proc/sys/net/ipv6/conf/all/disable_ipv6; echo 1 >/proc/sys/net/ipv6/conf/default/disable_ipv6' \
    2>/dev/null || true
}

net_htb() { # namespace, device, mbit -> HTB root shaping all egress of the device to that rate (class 1:1)
  tc -n "$1" qdisc add dev "$2" root handle 1: htb default 1
  tc -n "$1" class add dev "$2" parent 1: classid 1:1 htb rate "${3}mbit" ceil "${3}mbit" quantum 60000
}

net_htb_latency() { # namespace, device, mbit, one-way ms near, one-way ms far, far /24 prefixes... -> HTB at the rate
  #                   with two netem leaves: 1:10 (default) delays by "near", 1:20 (destinations in the prefixes) by "far"
  local ns=$1 dev=$2 mbit=$3 near=$4 far=$5 prefix
  shift 5
  tc -n "$ns" qdisc add dev "$dev" root handle 1: htb default 10
  tc -n "$ns" class add dev "$dev" parent 1: classid 1:1 htb rate "${mbit}mbit" ceil "${mbit}mbit" quantum 60000
  tc -n "$ns" class add dev "$dev" parent 1:1 classid 1:10 htb rate "$((mbit / 2 + 1))mbit" ceil "${mbit}mbit" quantum 60000
  tc -n "$ns" class add dev "$dev" parent 1:1 classid 1:20 htb rate "$((mbit / 2 + 1))mbit" ceil "${mbit}mbit" quantum 60000
  tc -n "$ns" qdisc add dev "$dev" parent 1:10 handle 10: netem delay "${near}ms" limit 100000
  tc -n "$ns" qdisc add dev "$dev" parent 1:20 handle 20: netem delay "${far}ms" limit 100000
  for prefix in "$@"; do
    tc -n "$ns" filter add dev "$dev" parent 1: protocol ip prio 1 u32 match ip dst "$prefix" flowid 1:20
  done
}

net_attach() { # name, address, up mbit (0: unshaped), down mbit (0: unshaped), one-way ms near, one-way ms far,
  #              far /24 prefixes... -> namespace <name> with eth0 at the address, joined to the bridge, shaped
  local name=$1 ip=$2 up=$3 down=$4 near=$5 far=$6 ns sw
  shift 6
  ns=$(net_ns "$name")
  sw=$(net_ns sw)
  ip netns add "$ns"
  net_no_ipv6 "$ns"
  ip -n "$ns" link set lo up
  ip link add name eth0 netns "$ns" type veth peer name "$name" netns "$sw"
  ip -n "$sw" link set "$name" master br0
  ip -n "$sw" link set "$name" up
  ip -n "$ns" addr add "$ip/15" dev eth0
  ip -n "$ns" link set eth0 up
  if [ "$near" != 0 ] || [ "$far" != 0 ]; then
    local rate=$up
    [ "$rate" != 0 ] || rate=100000 # unshaped, but the netem leaves need a parent rate
    net_htb_latency "$ns" eth0 "$rate" "$near" "$far" "$@"
  elif [ "$up" != 0 ]; then
    net_htb "$ns" eth0 "$up"
  fi
  if [ "$down" != 0 ]; then net_htb "$sw" "$name" "$down"; fi
}

net_tx_bytes() { # name -> bytes sent by eth0 of namespace <name> (frames as they leave: payload and headers)
  ip netns exec "$(net_ns "$1")" cat /sys/class/net/eth0/statistics/tx_bytes
}

net_kill_ns() { # namespaces... -> TERM every process in them, up to 10 s, then KILL; then delete the namespaces. All
  #                processes go before any namespace, so no agent sees its link vanish while it still runs.
  local ns pids
  for ns in "$@"; do
    pids=$(ip netns pids "$ns" 2>/dev/null || true)
    # shellcheck disable=SC2086 # a list of pids
    [ -z "$pids" ] || kill $pids 2>/dev/null || true
  done
  for _ in $(seq 1 100); do
    pids=$(for ns in "$@"; do ip netns pids "$ns" 2>/dev/null || true; done)
    [ -n "$pids" ] || break
    sleep 0.1
  done
  # shellcheck disable=SC2086
  [ -z "$pids" ] || kill -9 $pids 2>/dev/null || true
  for _ in $(seq 1 50); do
    [ -n "$(for ns in "$@"; do ip netns pids "$ns" 2>/dev/null || true; done)" ] || break
    sleep 0.1
  done
  for ns in "$@"; do ip netns del "$ns" 2>/dev/null || true; done
}

net_teardown() { # prefix -> every namespace named <prefix>-*, with its processes and links (deleting a namespace
  #                deletes its veth ends, and with them their peers)
  local -a all
  mapfile -t all < <(ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^$1-" || true)
  [ "${#all[@]}" = 0 ] || net_kill_ns "${all[@]}"
}
