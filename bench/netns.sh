#!/usr/bin/env bash
# Network-namespace test bed for DHCP load tests. Source it, then call `hdb_netns_up`
# (installs an EXIT trap that calls `hdb_netns_down`).
#
#   hdb-srv: srv0 198.18.0.1/16   <— veth —>   hdb-cli: cli0 198.18.0.2/16
#
# Both veth ends are created inside the namespaces; nothing touches the root namespace.
# Addresses are from 198.18.0.0/15 (RFC 2544 benchmarking range).

HDB_SRV_NS=${HDB_SRV_NS:-hdb-srv}
HDB_CLI_NS=${HDB_CLI_NS:-hdb-cli}
HDB_SRV_IF=srv0
HDB_CLI_IF=cli0
HDB_SRV_ADDR=198.18.0.1
HDB_CLI_ADDR=198.18.0.2
HDB_PREFIX=16

# PIDs of processes started through hdb_spawn, killed (by PID) on cleanup.
HDB_PIDS=()
# Temp directories removed on cleanup.
HDB_TMPDIRS=()

hdb_netns_down() {
    local pid
    for pid in "${HDB_PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${HDB_PIDS[@]}"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
    done
    HDB_PIDS=()
    ip netns del "$HDB_SRV_NS" 2>/dev/null || true
    ip netns del "$HDB_CLI_NS" 2>/dev/null || true
    rm -rf "/etc/netns/$HDB_SRV_NS" "/etc/netns/$HDB_CLI_NS"
    local d
    for d in "${HDB_TMPDIRS[@]}"; do
        [ -n "${HDB_KEEP_TMP:-}" ] || rm -rf "$d"
    done
    HDB_TMPDIRS=()
}

hdb_netns_up() {
    trap hdb_netns_down EXIT
    trap 'exit 130' INT TERM
    # Leftovers from an interrupted run.
    ip netns del "$HDB_SRV_NS" 2>/dev/null || true
    ip netns del "$HDB_CLI_NS" 2>/dev/null || true
    ip netns add "$HDB_SRV_NS"
    ip netns add "$HDB_CLI_NS"
    local ns
    for ns in "$HDB_SRV_NS" "$HDB_CLI_NS"; do
        mkdir -p "/etc/netns/$ns"
        : > "/etc/netns/$ns/resolv.conf"
        ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
        ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.disable_ipv6=1
        ip -n "$ns" link set lo up
    done
    ip -n "$HDB_SRV_NS" link add "$HDB_SRV_IF" type veth peer name "$HDB_CLI_IF" netns "$HDB_CLI_NS"
    ip -n "$HDB_SRV_NS" addr add "$HDB_SRV_ADDR/$HDB_PREFIX" dev "$HDB_SRV_IF"
    ip -n "$HDB_CLI_NS" addr add "$HDB_CLI_ADDR/$HDB_PREFIX" dev "$HDB_CLI_IF"
    ip -n "$HDB_SRV_NS" link set "$HDB_SRV_IF" up
    ip -n "$HDB_CLI_NS" link set "$HDB_CLI_IF" up
}

# hdb_tmpdir VAR: creates a temp dir removed on cleanup and stores its path in VAR.
hdb_tmpdir() {
    local d
    d=$(mktemp -d /tmp/hdb.XXXXXX)
    HDB_TMPDIRS+=("$d")
    printf -v "$1" '%s' "$d"
}

# hdb_spawn NS CPU LOG CMD...: starts CMD in namespace NS pinned to CPU, in the background,
# output to LOG; its PID is in $HDB_LAST_PID and is killed on cleanup.
hdb_spawn() {
    local ns=$1 cpu=$2 log=$3
    shift 3
    ip netns exec "$ns" taskset -c "$cpu" "$@" >"$log" 2>&1 &
    HDB_LAST_PID=$!
    HDB_PIDS+=("$HDB_LAST_PID")
}

# hdb_stop PID: stops one process started by hdb_spawn.
hdb_stop() {
    local pid=$1 p
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    local keep=()
    for p in "${HDB_PIDS[@]}"; do [ "$p" = "$pid" ] || keep+=("$p"); done
    HDB_PIDS=("${keep[@]}")
}

# hdb_wait_udp67 NS: waits (up to 10 s) until something listens on UDP port 67 in NS.
hdb_wait_udp67() {
    local ns=$1
    for _ in $(seq 100); do
        if ip netns exec "$ns" ss -Hlun 'sport = :67' | grep -q .; then return 0; fi
        sleep 0.1
    done
    echo "nothing listens on UDP 67 in $ns" >&2
    return 1
}
