#!/bin/sh
# Two NATed peers (a, b) and a "public" namespace (pub) with coturn.
# (From the issue 12 research probe; documentation addresses only.)
#   a 192.0.2.2 --- 192.0.2.1 [nat1] 203.0.113.11 ---+
#                                                    br0 (pub: 203.0.113.1, coturn)
#   b 198.51.100.2 - 198.51.100.1 [nat2] 203.0.113.12 +
# usage: topo.sh up <mode1> <mode2> | nat <side> <mode> | rebind <side> | bytes <side> | down
#   mode: eim | symmetric | udpblock | only443
# Each NAT counts the bytes it forwards by far end (`bytes` prints them): "turn" is
# the server's listening ports (the side's own allocation), "relayed" its other ports
# (the peer's relayed address), "direct" anything else (the peer's NAT).
set -eu
P=${PFX:-t$$}            # unique prefix per test: namespaces $P-pub, $P-nat1, ...
ns() { n=$1; shift; ip netns exec "$P-$n" "$@"; }
up() {
  for n in pub nat1 nat2 a b; do ip netns add "$P-$n"; ip -n "$P-$n" link set lo up; done
  ip -n "$P-pub" link add br0 type bridge; ip -n "$P-pub" link set br0 up
  ip -n "$P-pub" addr add 203.0.113.1/24 dev br0
  # The rest of the "Internet": a default route into a veth pair whose far
  # end answers nothing, so that a send to an address nobody can reach (a
  # peer's private host address) vanishes as on a real server instead of
  # failing at once with ENETUNREACH (which makes coturn close the allocation).
  ip -n "$P-pub" link add inet0 type veth peer name inet1
  ip -n "$P-pub" link set inet0 up; ip -n "$P-pub" link set inet1 up
  ip -n "$P-pub" route add default dev inet0
  i=1
  for side in 1 2; do
    lan=$([ $side = 1 ] && echo 192.0.2 || echo 198.51.100); peer=$([ $side = 1 ] && echo a || echo b)
    # WAN: nat<side>:wan <-> pub:w<side> (on br0)
    ip link add "$P-w$side" type veth peer name wan netns "$P-nat$side"
    ip link set "$P-w$side" netns "$P-pub" name "w$side"
    ip -n "$P-pub" link set "w$side" master br0 up
    ip -n "$P-nat$side" addr add "203.0.113.1$side/24" dev wan; ip -n "$P-nat$side" link set wan up
    # LAN: nat<side>:lan <-> peer:eth0
    ip link add "$P-l$side" type veth peer name eth0 netns "$P-$peer"
    ip link set "$P-l$side" netns "$P-nat$side" name lan
    ip -n "$P-nat$side" addr add "$lan.1/24" dev lan; ip -n "$P-nat$side" link set lan up
    ip -n "$P-$peer" addr add "$lan.2/24" dev eth0; ip -n "$P-$peer" link set eth0 up
    ip -n "$P-$peer" route add default via "$lan.1"
    ns "nat$side" sysctl -qw net.ipv4.ip_forward=1
    nat "$side" "$([ $side = 1 ] && echo "$1" || echo "$2")"
  done
}
nat() { # nat <side> <mode>
  case $2 in
    eim)       masq="masquerade persistent"; filt="" ;;
    symmetric) masq="masquerade fully-random"; filt="" ;;
    udpblock)  masq="masquerade persistent"; filt="iifname \"lan\" meta l4proto udp drop" ;;
    only443)   masq="masquerade persistent"; filt="iifname \"lan\" tcp dport != 443 drop; iifname \"lan\" meta l4proto != tcp drop" ;;
  esac
  ns "nat$1" nft -f - <<NFT
flush ruleset
table ip nat {
  chain post { type nat hook postrouting priority srcnat; policy accept; oifname "wan" $masq; }
}
table ip filter {
  counter turn {}
  counter relayed {}
  counter direct {}
  chain forward { type filter hook forward priority filter; policy accept;
    ct state established,related goto pass
    $filt
    iifname "wan" ct state new drop
    goto pass
  }
  # What is forwarded, counted by far end (see \`bytes\`).
  chain pass {
    oifname "wan" ip daddr 203.0.113.1 meta l4proto { tcp, udp } th dport { 443, 3478, 3479 } counter name "turn" accept
    iifname "wan" ip saddr 203.0.113.1 meta l4proto { tcp, udp } th sport { 443, 3478, 3479 } counter name "turn" accept
    oifname "wan" ip daddr 203.0.113.1 meta l4proto { tcp, udp } counter name "relayed" accept
    iifname "wan" ip saddr 203.0.113.1 meta l4proto { tcp, udp } counter name "relayed" accept
    meta l4proto { tcp, udp } counter name "direct" accept
  }
  # Unsolicited datagrams to the NAT itself must not leave a conntrack entry:
  # one would clash with the mapping of the peer's later outgoing packet, and
  # masquerade would then pick another port (no longer endpoint-independent).
  chain input { type filter hook input priority filter; policy accept;
    ct state established,related accept
    iifname "wan" ct state new drop
  }
}
NFT
}
case $1 in
  up) up "$2" "$3" ;;
  nat) nat "$2" "$3" ;;                       # change a NAT's behaviour mid-test
  rebind) # NAT "flush": new public address; masquerade drops its conntrack entries
    ip -n "$P-nat$2" addr del "203.0.113.1$2/24" dev wan
    ip -n "$P-nat$2" addr add "203.0.113.2$2/24" dev wan ;;
  bytes) # bytes <side>: "turn N", "relayed N", "direct N", one a line
    ns "nat$2" nft list counters table ip filter | awk '$1 == "counter" { n = $2 } $1 == "packets" { print n, $4 }' ;;
  down) for n in pub nat1 nat2 a b; do ip netns del "$P-$n" 2>/dev/null || true; done ;;
esac
