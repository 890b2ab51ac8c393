#!/usr/bin/env bash
# Hooks must not slow DHCP down: the same DORA load against hyperdhcp without hooks ("plain")
# and with a script hook that never returns on every event, one script slot and a small event
# queue ("hooked": the slot hangs at the first event, the hook's queue and then the bus fill,
# and every later event is dropped and counted). Interleaved on one rate ladder (5 % apart, a
# fresh server per step) so background load hits both alike; each side stops after two
# consecutive failed rungs. Prints both sustained rates, their ratio, and the hooked server's
# event counters scraped from /metrics at the end of its last passing step.
#
# Usage (as root): bench/hooks.sh
# Needs: target/release/hyperdhcp (cargo build --release -p hyperdhcp), busybox (wget).
# Environment: LO (4000), HI (40000), ORDER ("plain hooked": which side runs first on each
# rung), STEP_SECS (5), CLIENTS, ... (see search.sh),
# HDB_OUT (log directory; default a new /tmp/hdb-hooks.* directory, kept).
set -euo pipefail
HDB_ROOT=$(cd "$(dirname "$0")/.." && pwd)
# Own namespace names: other benchmark scripts may run at the same time.
HDB_SRV_NS=${HDB_SRV_NS:-hdbh-srv}
HDB_CLI_NS=${HDB_CLI_NS:-hdbh-cli}
. "$HDB_ROOT/bench/netns.sh"
. "$HDB_ROOT/bench/search.sh"

LO=${LO:-4000}
ORDER=${ORDER:-"plain hooked"}
HI=${HI:-40000}
HDB_OUT=${HDB_OUT:-$(mktemp -d /tmp/hdb-hooks.XXXXXX)}
mkdir -p "$HDB_OUT"
HYPERDHCP_BIN=${HYPERDHCP_BIN:-$HDB_ROOT/target/release/hyperdhcp}
[ -x "$HYPERDHCP_BIN" ] || { echo "missing $HYPERDHCP_BIN" >&2; exit 1; }
METRICS_URL=http://127.0.0.1:9167/metrics

hdb_netns_up
hdb_tmpdir WORK

# start_server MODE: a fresh hyperdhcp (store, config) in $HDB_SRV_NS; MODE plain or hooked.
start_server() {
    local mode=$1 dir="$WORK/$1"
    rm -rf "$dir" && mkdir -p "$dir"
    cat >"$dir/config.toml" <<TOML
[server]
interfaces = ["$HDB_SRV_IF"]
log_level = "warn"

[store]
path = "$dir/leases.db"

[[subnet]]
cidr = "198.18.0.0/16"
lease_time = "1h"

[[subnet.pool]]
start = "198.18.1.0"
end = "198.18.255.254"
TOML
    if [ "$mode" = hooked ]; then
        cat >>"$dir/config.toml" <<TOML

[events]
queue = 256
script_workers = 1

# Blocks forever (well, for 11 days; the timeout is longer than any run).
[[hooks.script]]
command = "$(command -v sleep)"
args = ["1000000"]
events = ["*"]
timeout = "1h"
TOML
    fi
    hdb_spawn "$HDB_SRV_NS" "$SERVER_CPU" "$dir/serve.log" \
        "$HYPERDHCP_BIN" serve --config "$dir/config.toml"
    hdb_wait_udp67 "$HDB_SRV_NS" || { cat "$dir/serve.log" >&2; return 1; }
}

# step MODE RATE: one load step; sets STEP_PASS and STEP_RESULT; keeps the hooked server's
# /metrics of the step in $HDB_OUT/metrics-RATE.txt.
step() {
    local mode=$1 rate=$2 log pid
    log="$HDB_OUT/$mode-$rate.log"
    start_server "$mode"
    pid=$HDB_LAST_PID
    STEP_RESULT=$(run_gen "$rate" "$log")
    if [ "$mode" = hooked ]; then
        ip netns exec "$HDB_SRV_NS" busybox wget -q -O - "$METRICS_URL" \
            >"$HDB_OUT/metrics-$rate.txt" 2>/dev/null || true
    fi
    hdb_stop "$pid"
    STEP_PASS=$(echo "$STEP_RESULT" | awk -v r="$rate" -v max="$MAX_LOSS_PCT" -v share="$MIN_OFFERED_SHARE" \
        '{ print ($3 < max && $1 >= r * share) ? 1 : 0 }')
    printf '  %-7s rate %7d: offered %7s achieved %7s loss %7s%% p50 %7s p99 %7s  %s\n' \
        "$mode" "$rate" $STEP_RESULT "$([ "$STEP_PASS" = 1 ] && echo ok || echo FAIL)" >&2
    echo "$mode $rate $STEP_RESULT $STEP_PASS" >>"$HDB_OUT/steps.txt"
}

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), kernel $(uname -r)" >&2
echo "generator: $(hdb_bench_bin); logs in $HDB_OUT" >&2
echo "start $(date -u +%FT%TZ), load average $(cut -d" " -f1-3 /proc/loadavg)" >&2
declare -A RATE RESULT FAILS FAILED
for m in plain hooked; do RATE[$m]=0; RESULT[$m]="0 0 100 0 0"; FAILS[$m]=0; FAILED[$m]=0; done
LAST_HOOKED_METRICS=""
rate=$LO
while [ "$rate" -le "$HI" ] && { [ "${FAILS[plain]}" -lt 2 ] || [ "${FAILS[hooked]}" -lt 2 ]; }; do
    for m in $ORDER; do
        [ "${FAILS[$m]}" -lt 2 ] || continue
        step "$m" "$rate"
        if [ "$STEP_PASS" = 1 ]; then
            FAILS[$m]=0
            if [ "${FAILED[$m]}" = 0 ]; then
                RATE[$m]=$rate; RESULT[$m]=$STEP_RESULT
                [ "$m" = hooked ] && LAST_HOOKED_METRICS="$HDB_OUT/metrics-$rate.txt"
            fi
        else
            FAILS[$m]=$((FAILS[$m] + 1)); FAILED[$m]=1
        fi
    done
    rate=$(((rate * 105 + 99) / 100))
done

{
    printf '\n| server | highest sustained rate < %s %% loss (DORA/s offered) | achieved leases/s | loss %% | p50 ms | p99 ms |\n' "$MAX_LOSS_PCT"
    printf '|---|---:|---:|---:|---:|---:|\n'
    for m in plain hooked; do
        read -r off ach loss p50 p99 <<<"${RESULT[$m]}"
        printf '| %s | %s | %s | %s | %s | %s |\n' "$m" "${RATE[$m]}" "$ach" "$loss" "$p50" "$p99"
    done
    printf '\nratio hooked / plain: %s\n' "$(awk -v a="${RATE[hooked]}" -v b="${RATE[plain]}" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "n/a" }')"
    if [ -n "$LAST_HOOKED_METRICS" ]; then
        printf '\nhooked server at %s DORA/s, event counters:\n\n```\n' "${RATE[hooked]}"
        grep -E '^hyperdhcp_(events_|hook_)' "$LAST_HOOKED_METRICS" || true
        printf '```\n'
    fi
    printf '\nfinished %s, load average %s\n' "$(date -u +%FT%TZ)" "$(cut -d" " -f1-3 /proc/loadavg)"
} | tee "$HDB_OUT/table.md"
