#!/usr/bin/env bash
# hyperdhcp as the benchmark scripts run it (source after netns.sh): fresh store, durable commits
# (always on: every ACK follows an fsync), conflict probing off (with it every relayed OFFER
# waits for an ICMP echo probe, up to 500 ms, on addresses nobody holds; Kea 2.2 has none),
# warn-level logs (no per-decision lines), subnet 198.18.0.0/16 with pool 198.18.1.0 –
# 198.18.255.254, lease time 1 h.
#
# Uses HYPERDHCP_BIN, SERVER_CPU and the netns.sh names.

# hdb_hyperdhcp_start DIR [STORE_LINES]: empties DIR, writes DIR/config.toml (STORE_LINES, e.g.
# "history_retention = 0", go into [store]), starts the server pinned to SERVER_CPU with its
# log in DIR/serve.log and waits until it listens; HDB_LAST_PID is its PID.
hdb_hyperdhcp_start() {
    local dir=$1 store_lines=${2:-}
    rm -rf "$dir" && mkdir -p "$dir"
    cat >"$dir/config.toml" <<TOML
[server]
interfaces = ["$HDB_SRV_IF"]
log_level = "warn"

[store]
path = "$dir/leases.db"
$store_lines

[conflict_detection]
enabled = false

[[subnet]]
cidr = "198.18.0.0/16"
lease_time = "1h"

[[subnet.pool]]
start = "198.18.1.0"
end = "198.18.255.254"
TOML
    hdb_spawn "$HDB_SRV_NS" "$SERVER_CPU" "$dir/serve.log" "$HYPERDHCP_BIN" serve --config "$dir/config.toml"
    hdb_wait_udp67 "$HDB_SRV_NS" || { cat "$dir/serve.log" >&2; return 1; }
}
