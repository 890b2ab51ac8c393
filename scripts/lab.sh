#!/usr/bin/env bash
# The project's run command: `./scripts/lab.sh [--once]` (as root).
#
# Builds hyperdhcp, creates a throw-away lab of network namespaces (nothing touches the
# machine's own interfaces), starts `hyperdhcp serve` with its built-in configuration
# (examples/lab.toml: 198.18.0.0/16 on srv0, leases in /tmp/hyperdhcp-lab/leases.db), lets
# three real DHCP clients get leases (dhclient, udhcpc with the reserved MAC
# 02:00:00:00:00:aa, dhcpcd), prints the lease table, then keeps serving until Ctrl-C.
# With --once it exits after printing. Everything is removed on exit.
#
#   hd-lab-cli1 (dhclient) ─┐
#   hd-lab-cli2 (udhcpc)   ─┼─ bridge srv0 198.18.0.1/16 in hd-lab-srv ── hyperdhcp serve
#   hd-lab-cli3 (dhcpcd)   ─┘
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/common.sh

ONCE=0
case "${1:-}" in
    --once) ONCE=1 ;;
    "") ;;
    *) echo "usage: $0 [--once]" >&2; exit 2 ;;
esac

require_root lab.sh
find_cargo
./scripts/install-deps.sh
cargo build --release -p hyperdhcp
BIN="${CARGO_TARGET_DIR:-$PWD/target}/release/hyperdhcp"

SRV=hd-lab-srv
CLIENTS=(hd-lab-cli1 hd-lab-cli2 hd-lab-cli3)
STORE_DIR=/tmp/hyperdhcp-lab            # examples/lab.toml keeps leases.db here
RUN=$STORE_DIR/run                      # hooks, client files, logs of this run
RESERVED_MAC=02:00:00:00:00:aa
SERVER_PID=""

cleanup() {
    set +e
    if [[ -n $SERVER_PID ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID"
        wait "$SERVER_PID" 2>/dev/null
    fi
    for ns in "${CLIENTS[@]}" "$SRV"; do
        if [[ -e /run/netns/$ns ]]; then
            # Every process left in our namespaces is one this script started (dhclient
            # daemon, dhcpcd helpers): kill them by PID.
            for pid in $(ip netns pids "$ns"); do kill -KILL "$pid" 2>/dev/null; done
            ip netns del "$ns"
        fi
        rm -rf "/etc/netns/$ns"
    done
    rm -f /var/lib/dhcpcd/lab3.lease /var/lib/dhcpcd/lab3-4.lease /run/dhcpcd/lab3*
}
trap cleanup EXIT
trap 'exit 130' INT TERM
cleanup   # leftovers of an earlier run that was killed

make_ns() {
    ip netns add "$1"
    # `ip netns exec` bind-mounts this over /etc/resolv.conf: client hooks can't touch ours.
    mkdir -p "/etc/netns/$1"
    echo "# hyperdhcp lab namespace $1" > "/etc/netns/$1/resolv.conf"
    ip -n "$1" link set lo up
    ip netns exec "$1" sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
}

echo "== creating the lab namespaces"
make_ns "$SRV"
ip -n "$SRV" link add srv0 type bridge
ip -n "$SRV" addr add 198.18.0.1/16 dev srv0
ip -n "$SRV" link set srv0 up
for i in 1 2 3; do
    ns=${CLIENTS[$((i - 1))]}
    make_ns "$ns"
    # Created inside the client namespace, peer moved straight into the server namespace.
    ip -n "$ns" link add "lab$i" type veth peer name "port$i" netns "$SRV"
    ip -n "$SRV" link set "port$i" master srv0 up
    ip -n "$ns" link set "lab$i" up
done
# Fixed MACs, so a second run of the lab finds the same clients in the store.
ip -n hd-lab-cli1 link set lab1 address 02:00:00:00:00:01
ip -n hd-lab-cli2 link set lab2 address "$RESERVED_MAC"
ip -n hd-lab-cli3 link set lab3 address 02:00:00:00:00:03

mkdir -p "$STORE_DIR"
rm -rf "$RUN"
mkdir -p "$RUN"

echo "== starting hyperdhcp serve (built-in lab configuration) in $SRV"
ip netns exec "$SRV" "$BIN" serve > "$RUN/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 100); do
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
        echo "hyperdhcp serve exited:" >&2
        cat "$RUN/server.log" >&2
        exit 1
    fi
    if ip netns exec "$SRV" ss -H -u -l -n 'sport = :67' | grep -q .; then break; fi
    sleep 0.1
done

# Client hook scripts: record what each client got; dhclient and udhcpc also configure the
# address (inside their namespace), dhcpcd does that itself.
cat > "$RUN/hook-dhclient.sh" <<HOOK
#!/bin/sh
case "\$reason" in
  PREINIT) ip link set dev "\$interface" up ;;
  BOUND|RENEW|REBIND|REBOOT)
    ip -4 addr flush dev "\$interface"
    ip addr add "\$new_ip_address/\$new_subnet_mask" dev "\$interface"
    echo "dhclient  \$reason \$new_ip_address router=\$new_routers dns=\$new_domain_name_servers host=\$new_host_name lease=\${new_dhcp_lease_time}s" >> "$RUN/clients.log" ;;
esac
exit 0
HOOK
cat > "$RUN/hook-udhcpc.sh" <<HOOK
#!/bin/sh
case "\$1" in
  bound|renew)
    ip -4 addr flush dev "\$interface"
    ip addr add "\$ip/\${mask:-16}" dev "\$interface"
    echo "udhcpc    \$1 \$ip router=\$router dns=\$dns host=\$hostname lease=\${lease}s" >> "$RUN/clients.log" ;;
esac
exit 0
HOOK
cat > "$RUN/hook-dhcpcd.sh" <<HOOK
#!/bin/sh
case "\$reason" in
  BOUND|RENEW|REBIND|REBOOT)
    echo "dhcpcd    \$reason \$new_ip_address router=\$new_routers dns=\$new_domain_name_servers host=\$new_host_name lease=\${new_dhcp_lease_time}s" >> "$RUN/clients.log" ;;
esac
exit 0
HOOK
cat > "$RUN/dhcpcd.conf" <<'CONF'
clientid
noarp
noipv4ll
nodelay
ipv4only
option domain_name_servers, domain_name, host_name
require dhcp_server_identifier
CONF
chmod +x "$RUN"/hook-*.sh
: > "$RUN/clients.log"

echo "== dhclient in hd-lab-cli1"
ip netns exec hd-lab-cli1 dhclient -4 -1 -v -lf "$RUN/dhclient.leases" -pf "$RUN/dhclient.pid" \
    -sf "$RUN/hook-dhclient.sh" lab1 > "$RUN/dhclient.log" 2>&1 \
    || { echo "dhclient failed:"; cat "$RUN/dhclient.log"; }
echo "== udhcpc in hd-lab-cli2 (MAC $RESERVED_MAC, reserved)"
ip netns exec hd-lab-cli2 busybox udhcpc -i lab2 -n -q -t 5 -T 2 -s "$RUN/hook-udhcpc.sh" \
    > "$RUN/udhcpc.log" 2>&1 || { echo "udhcpc failed:"; cat "$RUN/udhcpc.log"; }
echo "== dhcpcd in hd-lab-cli3"
ip netns exec hd-lab-cli3 dhcpcd -4 -1 -t 20 -f "$RUN/dhcpcd.conf" -c "$RUN/hook-dhcpcd.sh" lab3 \
    > "$RUN/dhcpcd.log" 2>&1 || { echo "dhcpcd failed:"; cat "$RUN/dhcpcd.log"; }

echo
echo "== what the clients got"
cat "$RUN/clients.log"
echo
echo "== hyperdhcp leases list --store $STORE_DIR/leases.db"
"$BIN" leases list --store "$STORE_DIR/leases.db"

if [[ $ONCE -eq 1 ]]; then
    exit 0
fi
echo
echo "== serving; server log follows ($RUN/server.log). Ctrl-C stops and removes the lab."
tail -n +1 -f --pid="$SERVER_PID" "$RUN/server.log"
