#!/usr/bin/env bash
# CPU time each server spends for the same fixed DORA load: Kea single-threaded (memfile) and
# hyperdhcp (durable commits; with its default history and with history_retention = 0), server
# pinned to CPU 0 and generator to CPU 1, each in its own network namespace, fresh state per
# run. Prints, per run, the generator's result and the server's user/system CPU seconds from
# /proc/PID/stat, so CPU per completed DORA can be compared independently of how much CPU the
# shared machine gave each process.
#
# Usage (as root): bench/cpu.sh     Environment: RATE (4000), SECS (5), ROUNDS (2),
# HYPERDHCP_BIN, BENCH_BIN (as in search.sh), CLIENTS (60000).
set -euo pipefail
HDB_ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$HDB_ROOT/bench/netns.sh"
. "$HDB_ROOT/bench/hyperdhcp.sh"
. "$HDB_ROOT/bench/kea.sh"
. "$HDB_ROOT/bench/search.sh"

RATE=${RATE:-4000}
SECS=${SECS:-5}
ROUNDS=${ROUNDS:-2}
HYPERDHCP_BIN=${HYPERDHCP_BIN:-$HDB_ROOT/target/release/hyperdhcp}

hdb_netns_up
hdb_tmpdir WORK

# cpu_of PID: "user system" CPU seconds so far.
cpu_of() { awk -v t="$(getconf CLK_TCK)" '{ printf "%.2f %.2f", $14 / t, $15 / t }' "/proc/$1/stat"; }

# start_hyperdhcp HISTORY_LINE: fresh store, as in compare.sh (bench/hyperdhcp.sh).
start_hyperdhcp() { hdb_hyperdhcp_start "$WORK/h" "$1"; }

echo "start $(date -u +%FT%TZ), load average $(cut -d' ' -f1-3 /proc/loadavg); $RATE DORA/s for $SECS s" >&2
for round in $(seq "$ROUNDS"); do
    for s in kea-st hyperdhcp hyperdhcp-nohistory; do
        case $s in
            kea-st) hdb_kea_start "$WORK" 0 "$SERVER_CPU" ;;
            hyperdhcp) start_hyperdhcp "" ;;
            hyperdhcp-nohistory) start_hyperdhcp "history_retention = 0" ;;
        esac
        # ip netns exec and taskset exec the server: the spawned PID is the server's.
        pid=$HDB_LAST_PID
        read -r u0 s0 <<<"$(cpu_of "$pid")"
        read -r off ach loss p50 p99 <<<"$(run_gen "$RATE" "$WORK/gen-$s-$round.log")"
        read -r u1 s1 <<<"$(cpu_of "$pid")"
        hdb_stop "$pid"
        awk -v s="$s" -v r="$round" -v ach="$ach" -v loss="$loss" -v u="$(echo "$u1 - $u0" | bc)" \
            -v y="$(echo "$s1 - $s0" | bc)" -v secs="$SECS" 'BEGIN {
                n = ach * secs; t = u + y
                printf "round %s %-20s achieved %6s/s loss %7s %%  cpu user %.2f sys %.2f total %.2f s  per DORA %s\n",
                    r, s, ach, loss, u, y, t, (n > 0 ? sprintf("%.0f us", t * 1e6 / n) : "n/a") }'
    done
done
