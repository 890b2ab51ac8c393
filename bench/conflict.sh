#!/usr/bin/env bash
# DORA rate with conflict detection on (issue 5) and the probe cache warm, against the same
# server with probing off. Relay mode (like perfdhcp), so every OFFER is preceded by an ICMP
# echo probe of the candidate (no host answers in the test bed: each probe ends at its
# timeout and the address is cached as free for cache_ttl).
#
# 1. warm-up: each of CLIENTS clients does one DORA at WARM_RATE; every offered address is
#    probed once (one timeout each, in parallel with the rest: the loop keeps serving);
# 2. then DORA ladders at RATES with the same clients (walked in order): their addresses are
#    in the probe cache, so OFFERs leave without waiting.
# The same ladder runs against a server with [conflict_detection] enabled = false.
#
# Usage (as root): bench/conflict.sh
# Tunables: CLIENTS (20000), WARM_RATE (2000), RATES ("2000 5000 10000 20000"), STEP_SECS (5),
# PROBE_TIMEOUT ("500ms"), ORDER ("true false": probing on first), SERVER_CPU (0), GEN_CPU (1).
set -euo pipefail
HDB_ROOT=$(cd "$(dirname "$0")/.." && pwd)
# Own namespace names, so this can run beside the other benchmark scripts.
HDB_SRV_NS=${HDB_SRV_NS:-hdb-cd-srv}
HDB_CLI_NS=${HDB_CLI_NS:-hdb-cd-cli}
# Before search.sh, whose own default is 60000.
CLIENTS=${CLIENTS:-20000}
. "$HDB_ROOT/bench/netns.sh"
. "$HDB_ROOT/bench/search.sh"

WARM_RATE=${WARM_RATE:-2000}
RATES=${RATES:-"2000 5000 10000 20000"}
PROBE_TIMEOUT=${PROBE_TIMEOUT:-500ms}
HYPERDHCP_BIN=${HYPERDHCP_BIN:-$HDB_ROOT/target/release/hyperdhcp}

hdb_netns_up
hdb_tmpdir WORK
echo "date $(date -u +%FT%TZ), load average $(cut -d' ' -f1-3 /proc/loadavg)"

# start_server PROBING(true|false): a fresh store and server; its PID in HDB_LAST_PID.
start_server() {
    rm -rf "$WORK/srv" && mkdir -p "$WORK/srv"
    cat >"$WORK/srv/config.toml" <<TOML
[server]
interfaces = ["$HDB_SRV_IF"]
log_level = "warn"

[store]
path = "$WORK/srv/leases.db"

[conflict_detection]
enabled = $1
timeout = "$PROBE_TIMEOUT"
cache_ttl = "10m"

[[subnet]]
cidr = "198.18.0.0/16"
lease_time = "1h"

[[subnet.pool]]
start = "198.18.1.0"
end = "198.18.255.254"
TOML
    hdb_spawn "$HDB_SRV_NS" "$SERVER_CPU" "$WORK/srv/serve.log" \
        "$HYPERDHCP_BIN" serve --config "$WORK/srv/config.toml"
    hdb_wait_udp67 "$HDB_SRV_NS" || { cat "$WORK/srv/serve.log" >&2; return 1; }
}

# ladder LABEL: one run per rate against the running server.
ladder() {
    local rate r
    for rate in $RATES; do
        r=$(run_gen "$rate" "$WORK/gen-$1-$rate.json")
        # shellcheck disable=SC2086
        printf '%-10s %8s  %s\n' "$1" "$rate" "$(printf 'achieved %s/s loss %s %% p50 %s ms p99 %s ms' $(echo "$r" | cut -d' ' -f2-5))"
    done
}

for probing in ${ORDER:-true false}; do
    start_server "$probing"
    pid=$HDB_LAST_PID
    label=$([ "$probing" = true ] && echo probing || echo off)
    # Warm-up: every client once (count = CLIENTS), at WARM_RATE.
    warm_secs=$(( (CLIENTS + WARM_RATE - 1) / WARM_RATE ))
    w=$(STEP_SECS=$warm_secs run_gen "$WARM_RATE" "$WORK/gen-$label-warm.json")
    echo "$label warm-up ($CLIENTS clients at $WARM_RATE/s): offered achieved loss p50 p99 = $w"
    ladder "$label"
    hdb_stop "$pid"
done
