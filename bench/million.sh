#!/usr/bin/env bash
# One million active leases: server memory, start-up time and DORA rate with a store holding
# 1,000,000 bound leases, against an empty store, measured in the same run with the same
# generator (server pinned to CPU 0, generator to CPU 1, each in its own network namespace).
#
# Usage (as root): bench/million.sh
# Needs: target/release/hyperdhcp and the store filler example; both are built here
# (cargo build --release -p hyperdhcp; cargo build --release -p hyperdhcp-store --example
# fill_store).
# Environment: LEASES (1000000), LOAD_RATE (20000, the fixed-rate memory run), LOAD_SECS (5),
# PAIRS (3, interleaved fixed-rate runs at the empty store's best rate), SKIP_SEARCH=1 (memory and
# start-up only), HDB_OUT (log directory, kept; default a new /tmp/hdb-million.* directory), and
# search.sh's STEP_SECS, CLIENTS, START_RATE, MAX_RATE, ...
#
# Addresses: the load (every packet) uses 198.18.0.0/16 only, like the other scripts. A million
# leases do not fit in 198.18.0.0/15 (131,072 addresses), so the pre-filled leases belong to a
# second, configuration-only subnet, FILL_CIDR (10.64.0.0/12): relay-only (no interface, no
# address anywhere carries it), and no packet is ever sent to, from or about it. Its leases are
# rows written straight into the store by the filler; the server only loads and indexes them.
set -euo pipefail
HDB_ROOT=$(cd "$(dirname "$0")/.." && pwd)
HDB_SRV_NS=${HDB_SRV_NS:-hdb-m-srv}
HDB_CLI_NS=${HDB_CLI_NS:-hdb-m-cli}
. "$HDB_ROOT/bench/netns.sh"
. "$HDB_ROOT/bench/search.sh"
. "$HDB_ROOT/scripts/common.sh"
require_root million.sh
find_cargo

LEASES=${LEASES:-1000000}
LOAD_RATE=${LOAD_RATE:-20000}
LOAD_SECS=${LOAD_SECS:-5}
PAIRS=${PAIRS:-3}
FILL_CIDR=10.64.0.0/12
FILL_POOL_START=10.64.0.1
FILL_POOL_END=10.79.255.254
HDB_OUT=${HDB_OUT:-$(mktemp -d /tmp/hdb-million.XXXXXX)}
mkdir -p "$HDB_OUT"
HYPERDHCP_BIN=${HYPERDHCP_BIN:-$HDB_ROOT/target/release/hyperdhcp}
FILL_BIN=$HDB_ROOT/target/release/examples/fill_store

(cd "$HDB_ROOT" && cargo build --release -q -p hyperdhcp && cargo build --release -q -p hyperdhcp-store --example fill_store)

hdb_netns_up
hdb_tmpdir WORK
TEMPLATE=$WORK/template.db

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), kernel $(uname -r), $(free -g | awk '/Mem:/ {print $2}') GiB" >&2
echo "start $(date -u +%FT%TZ), load average $(cut -d' ' -f1-3 /proc/loadavg); logs in $HDB_OUT" >&2

# The filled store, written once and copied for every server start.
"$FILL_BIN" "$TEMPLATE" "$LEASES" "$FILL_POOL_START" | tee "$HDB_OUT/fill.txt" >&2
echo "store file: $(du -sh "$TEMPLATE"* | awk '{print $1, $2}' | tr '\n' ' ')" >&2

# write_config DIR: the server config (load subnet + configuration-only subnet of the fill).
write_config() {
    cat >"$1/config.toml" <<TOML
[server]
interfaces = ["$HDB_SRV_IF"]
log_level = "info,hyperdhcp_server::logfmt=warn"

[store]
path = "$1/leases.db"

# Every packet of the benchmark: the generator relays from 198.18.0.2.
[[subnet]]
cidr = "198.18.0.0/16"
lease_time = "1h"

[[subnet.pool]]
start = "198.18.1.0"
end = "198.18.255.254"

# Off as in compare.sh: with it every relayed OFFER waits for an ICMP echo timeout.
[conflict_detection]
enabled = false

# Configuration only: holds the pre-filled leases; no interface, no relay, no packet.
[[subnet]]
cidr = "$FILL_CIDR"
lease_time = "30d"

[[subnet.pool]]
start = "$FILL_POOL_START"
end = "$FILL_POOL_END"
TOML
}

# start_server KIND (empty|million): fresh copy of the store, server on SERVER_CPU; sets
# HDB_LAST_PID and STARTUP_MS (spawn to UDP port 67 bound, measured here).
start_server() {
    local kind=$1 dir=$WORK/$1 t0 t1
    rm -rf "$dir" && mkdir -p "$dir"
    write_config "$dir"
    if [ "$kind" = million ]; then
        cp "$TEMPLATE" "$dir/leases.db"
    fi
    sync
    t0=$(date +%s%N)
    hdb_spawn "$HDB_SRV_NS" "$SERVER_CPU" "$dir/serve.log" \
        "$HYPERDHCP_BIN" serve --config "$dir/config.toml"
    while ! ip netns exec "$HDB_SRV_NS" ss -Hlun 'sport = :67' | grep -q .; do
        kill -0 "$HDB_LAST_PID" 2>/dev/null || { cat "$dir/serve.log" >&2; return 1; }
        [ $(( ($(date +%s%N) - t0) / 1000000 )) -lt 60000 ] || { echo "no listener after 60 s" >&2; return 1; }
        sleep 0.01
    done
    t1=$(date +%s%N)
    STARTUP_MS=$(( (t1 - t0) / 1000000 ))
    # The log is written by a background thread: the "loaded N leases" line can reach the file
    # a moment after the socket is bound. Wait for it (memory_run reads it), up to 10 s.
    local waited=0
    until grep -q 'loaded [0-9]* leases' "$dir/serve.log"; do
        [ "$waited" -lt 1000 ] || { echo "no 'loaded' line in $dir/serve.log after 10 s" >&2; return 1; }
        sleep 0.01; waited=$((waited + 1))
    done
    cp "$dir/serve.log" "$HDB_OUT/serve-$kind-last.log"
}
start_empty() { start_server empty; }
start_million() { start_server million; }

# cpu_ms PID: CPU time (user + system) the process has used so far, in ms.
cpu_ms() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%d", ($14 + $15) * 1000 / hz }' "/proc/$1/stat"; }

# rss_kb PID FIELD: VmRSS or VmHWM (peak) of a process, in KiB.
rss_kb() { awk -v f="$2:" '$1 == f {print $2}' "/proc/$1/status"; }

# memory_run KIND: start-up time, RSS after start, RSS after a LOAD_SECS fixed-rate load.
declare -A STARTUP CPU LOADED RSS0 RSS1 HWM GEN
memory_run() {
    local kind=$1 pid
    "start_$kind"
    pid=$HDB_LAST_PID
    STARTUP[$kind]=$STARTUP_MS
    CPU[$kind]=$(cpu_ms "$pid")
    LOADED[$kind]=$(grep -o 'loaded [0-9]* leases from .* in [0-9]* ms' "$WORK/$kind/serve.log" | sed 's/ leases from .* in / leases in /; s/^loaded //')
    RSS0[$kind]=$(rss_kb "$pid" VmRSS)
    local save=$STEP_SECS
    STEP_SECS=$LOAD_SECS
    GEN[$kind]=$(run_gen "$LOAD_RATE" "$HDB_OUT/memory-$kind-gen.log")
    STEP_SECS=$save
    RSS1[$kind]=$(rss_kb "$pid" VmRSS)
    HWM[$kind]=$(rss_kb "$pid" VmHWM)
    hdb_stop "$pid"
    printf '  %-8s start-up %s ms, %s ms CPU (%s), RSS %s KiB after start, %s KiB after %s s at %s/s (peak %s KiB); generator: %s\n' \
        "$kind" "${STARTUP[$kind]}" "${CPU[$kind]}" "${LOADED[$kind]}" "${RSS0[$kind]}" "${RSS1[$kind]}" "$LOAD_SECS" "$LOAD_RATE" "${HWM[$kind]}" "${GEN[$kind]}" >&2
}

memory_run empty
memory_run million

STEP_TOOL=gen
declare -A RATE RESULT
if [ -z "${SKIP_SEARCH:-}" ]; then
    SERVER_START=start_empty; hdb_search empty; RATE[empty]=$BEST_RATE; RESULT[empty]=$BEST_RESULT
    SERVER_START=start_million; hdb_search million; RATE[million]=$BEST_RATE; RESULT[million]=$BEST_RESULT
    # Same offered rate, interleaved, so background load on the shared machine hits both alike.
    declare -A ACH_SUM=([empty]=0 [million]=0) PASSES=([empty]=0 [million]=0)
    HDB_LABEL=pair
    for i in $(seq "$PAIRS"); do
        for kind in empty million; do
            SERVER_START=start_$kind
            hdb_step_once "${RATE[empty]}" "pair$i-$kind"
            read -r _ ach _ <<<"$STEP_RESULT"
            ACH_SUM[$kind]=$(awk -v a="${ACH_SUM[$kind]}" -v b="$ach" 'BEGIN {print a + b}')
            PASSES[$kind]=$(( ${PASSES[$kind]} + STEP_PASS ))
        done
    done
fi

mib() { awk -v k="$1" 'BEGIN { printf "%.0f", k / 1024 }'; }
{
    printf '\n| store | start-up (spawn to listening) | CPU time to listening | server log | RSS after start | RSS after %s s at %s/s | peak RSS |\n' "$LOAD_SECS" "$LOAD_RATE"
    printf '|---|---:|---:|---|---:|---:|---:|\n'
    for kind in empty million; do
        printf '| %s | %s ms | %s ms | loaded %s | %s MiB | %s MiB | %s MiB |\n' "$kind" "${STARTUP[$kind]}" "${CPU[$kind]}" "${LOADED[$kind]}" \
            "$(mib "${RSS0[$kind]}")" "$(mib "${RSS1[$kind]}")" "$(mib "${HWM[$kind]}")"
    done
    if [ -z "${SKIP_SEARCH:-}" ]; then
        printf '\n| store | highest rate < %s %% loss (DORA/s offered) | achieved leases/s | loss %% | p50 ms | p99 ms |\n' "$MAX_LOSS_PCT"
        printf '|---|---:|---:|---:|---:|---:|\n'
        for kind in empty million; do
            read -r off ach loss p50 p99 <<<"${RESULT[$kind]}"
            printf '| %s | %s | %s | %s | %s | %s |\n' "$kind" "${RATE[$kind]}" "$ach" "$loss" "$p50" "$p99"
        done
        printf '\nDORA rate, million / empty (searches): %s\n' \
            "$(awk -v a="${RATE[million]}" -v b="${RATE[empty]}" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')"
        printf 'at %s/s (the empty store'"'"'s best), %s interleaved runs each: mean achieved empty %s/s (%s passed), million %s/s (%s passed), ratio %s\n' \
            "${RATE[empty]}" "$PAIRS" \
            "$(awk -v s="${ACH_SUM[empty]}" -v n="$PAIRS" 'BEGIN {printf "%.0f", s / n}')" "${PASSES[empty]}" \
            "$(awk -v s="${ACH_SUM[million]}" -v n="$PAIRS" 'BEGIN {printf "%.0f", s / n}')" "${PASSES[million]}" \
            "$(awk -v a="${ACH_SUM[million]}" -v b="${ACH_SUM[empty]}" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "n/a" }')"
    fi
    printf '\nfinished %s, load average %s\n' "$(date -u +%FT%TZ)" "$(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$HDB_OUT/table.md"
